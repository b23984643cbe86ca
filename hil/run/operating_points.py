"""Derive an operating point from the raw samples of one averaging window.

This is the one function both the live run and ``hil replay`` call, on the same float64 arrays, so a
replay reproduces the live numbers bit for bit. Quantities are averaged first and the head, powers
and efficiency computed from the means (the pump-test convention); the standard deviation of each
quantity comes from its per-sample series, and every averaged quantity carries its sample count
``_n`` and its effective sample size ``_n_eff`` (:mod:`hil.analysis.autocorrelation`: successive
ticks are correlated, so the random uncertainty of the mean uses ``n_eff``, not ``n``).

Imports hil's analysis and fluids only.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from hil.analysis.autocorrelation import effective_sample_size
from hil.analysis.head import hydraulic_power_w, npsha_m, total_head_m
from hil.bench.config import STANDARD_CHANNELS, BenchGeometry
from hil.core.fluids import water_state

AVERAGED_CHANNELS = STANDARD_CHANNELS
"""The channels every bench provides (speed, flow, both pressures, electrical power, temperature)."""

SHAFT_CHANNELS = ("shaft_torque_nm", "shaft_speed_rpm")
"""Channels of a torque and speed sensor on the shaft, when the bench has one: with them the shaft
power is measured, so the pump's efficiency (hydraulic / shaft) and the motor-drive's (shaft /
electrical) are separated. Without ``shaft_speed_rpm`` the drive's ``speed_rpm`` is used."""


def operating_point(samples: Mapping[str, np.ndarray], geometry: BenchGeometry) -> dict[str, float]:
    """The operating point of one window: means, standard deviations, counts and derived values.

    ``samples`` maps channel names to float64 arrays of equal length (NaN marks a failed read; such
    samples are left out of that channel's mean and count).
    """
    point: dict[str, float] = {}
    means: dict[str, float] = {}
    for channel in AVERAGED_CHANNELS:
        values = np.asarray(samples[channel], dtype=np.float64)
        valid = values[~np.isnan(values)]
        means[channel] = float(np.mean(valid)) if valid.size else float("nan")
        point[channel] = means[channel]
        point[f"{channel}_std"] = float(np.std(valid, ddof=1)) if valid.size > 1 else float("nan")
        point[f"{channel}_n"] = float(valid.size)
        point[f"{channel}_n_eff"] = effective_sample_size(valid)

    density, vapour = water_state(means["fluid_temperature_c"])
    head = float(
        total_head_m(
            means["p_inlet_pa"],
            means["p_outlet_pa"],
            means["flow_m3_s"],
            density,
            geometry.inlet_diameter_m,
            geometry.outlet_diameter_m,
            geometry.inlet_height_m,
            geometry.outlet_height_m,
        )
    )
    head_series = total_head_m(
        np.asarray(samples["p_inlet_pa"], dtype=np.float64),
        np.asarray(samples["p_outlet_pa"], dtype=np.float64),
        np.asarray(samples["flow_m3_s"], dtype=np.float64),
        density,
        geometry.inlet_diameter_m,
        geometry.outlet_diameter_m,
        geometry.inlet_height_m,
        geometry.outlet_height_m,
    )
    head_valid = np.asarray(head_series)[~np.isnan(head_series)]
    hydraulic = float(hydraulic_power_w(means["flow_m3_s"], head, density))
    point["density_kg_m3"] = density
    point["head_m"] = head
    point["head_m_std"] = float(np.std(head_valid, ddof=1)) if head_valid.size > 1 else float("nan")
    point["head_m_n"] = float(head_valid.size)
    point["head_m_n_eff"] = effective_sample_size(head_valid)
    point["hydraulic_power_w"] = hydraulic
    electrical = means["electrical_power_w"]
    point["overall_efficiency"] = hydraulic / electrical if electrical > 0 else float("nan")
    # NPSH available at the inlet tap, from the absolute inlet pressure and the vapour pressure at the
    # measured temperature; the bench file's inlet_height_m is taken as the tap's height above the
    # NPSH reference plane (the impeller's centre line), 0 on the virtual bench.
    if "shaft_torque_nm" in samples:
        _shaft_power(point, samples, means, hydraulic, electrical)
    point["vapour_pressure_pa"] = vapour
    point["npsha_m"] = float(
        npsha_m(
            means["p_inlet_pa"],
            vapour,
            density,
            means["flow_m3_s"],
            geometry.inlet_diameter_m,
            geometry.inlet_height_m,
        )
    )
    return point


def _shaft_power(
    point: dict[str, float],
    samples: Mapping[str, np.ndarray],
    means: Mapping[str, float],
    hydraulic_w: float,
    electrical_w: float,
) -> None:
    """Shaft power from the means of torque and speed, and the two efficiencies it separates."""
    for channel in SHAFT_CHANNELS:
        if channel not in samples:
            continue
        values = np.asarray(samples[channel], dtype=np.float64)
        valid = values[~np.isnan(values)]
        point[channel] = float(np.mean(valid)) if valid.size else float("nan")
        point[f"{channel}_std"] = float(np.std(valid, ddof=1)) if valid.size > 1 else float("nan")
        point[f"{channel}_n"] = float(valid.size)
    speed_rpm = point.get("shaft_speed_rpm", means["speed_rpm"])
    shaft_w = point["shaft_torque_nm"] * speed_rpm * (np.pi / 30.0)
    point["shaft_power_w"] = float(shaft_w)
    point["pump_efficiency"] = hydraulic_w / shaft_w if shaft_w > 0 else float("nan")
    point["drive_efficiency"] = shaft_w / electrical_w if electrical_w > 0 else float("nan")


def window_samples(
    times_s: np.ndarray, columns: Mapping[str, np.ndarray], start_s: float, end_s: float
) -> dict[str, np.ndarray]:
    """The samples with ``start_s <= t <= end_s`` of every column (inclusive on both ends)."""
    mask = (times_s >= start_s) & (times_s <= end_s)
    return {name: np.asarray(values, dtype=np.float64)[mask] for name, values in columns.items()}
