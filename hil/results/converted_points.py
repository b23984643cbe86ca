"""Every operating point of a run with its uncertainties, raw and converted to the specified speed:
the rows of ``points_converted.csv`` (:func:`converted_rows`), which the acceptance judgement
(:mod:`hil.results.acceptance`) and the report read.

Uncertainty of a point (95 %): each averaged channel combines its random part (Student-t on the
mean, from the window's standard deviation and sample count) and its instrument part (the stated
accuracy from the bench file, a fraction of the reading) as a root-sum-square
(:mod:`hil.analysis.uncertainty`); head, hydraulic power and efficiency take them by linear
propagation. A channel without a stated accuracy contributes only its random part (the report
lists every stated accuracy, so an omission is visible). Converting to the specified speed with
``k = n_sp / n`` adds the speed's relative uncertainty once for Q, twice for H and three times for
P (they scale with n, n^2, n^3); efficiency does not change.

Imports hil's analysis, the bench file's geometry and the acceptance settings only; writes no file.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from hil.analysis import AnalysisError
from hil.analysis.grades import GradeTable, load_grade_table
from hil.analysis.speed_conversion import convert_to_speed
from hil.analysis.uncertainty import (
    combine_rss,
    efficiency_uncertainty,
    head_uncertainty_m,
    hydraulic_power_uncertainty_w,
    shaft_power_uncertainty_w,
    student_t_factor,
)
from hil.bench.config import BenchGeometry
from hil.results.acceptance_settings import AcceptanceSettings

CONFIDENCE = 0.95


UNCERTAIN_CHANNELS = ("speed_rpm", "flow_m3_s", "p_inlet_pa", "p_outlet_pa", "electrical_power_w")


def independent_readings(point: Mapping[str, Any], channel: str) -> float:
    """The effective sample size of a channel's window (``_n_eff``); the sample count for points
    recorded before it existed."""
    n_eff = point.get(f"{channel}_n_eff")
    if n_eff is not None and math.isfinite(float(n_eff)):
        return float(n_eff)
    return float(point.get(f"{channel}_n", 0) or 0)


def _channel_uncertainty(point: Mapping[str, Any], channel: str, accuracy: Mapping[str, float]) -> float:
    """Combined (random RSS instrument) uncertainty of one averaged channel of a point."""
    mean = float(point[channel])
    std = float(point.get(f"{channel}_std", math.nan))
    n = independent_readings(point, channel)
    random_u = (
        student_t_factor(max(2, round(n)), CONFIDENCE) * std / math.sqrt(n)
        if n >= 2 and math.isfinite(std)
        else math.inf
    )
    return combine_rss(random_u, float(accuracy.get(channel, 0.0)) * abs(mean))


def _shaft_columns(
    point: Mapping[str, Any],
    accuracy: Mapping[str, float],
    hydraulic_w: float,
    u_hydraulic_w: float,
    electrical_w: float,
    u_electrical_w: float,
) -> dict[str, float]:
    """With a torque sensor: shaft power, the pump's and the drive's efficiency, with uncertainties."""
    speed_channel = "shaft_speed_rpm" if "shaft_speed_rpm" in point else "speed_rpm"
    u_torque = _channel_uncertainty(point, "shaft_torque_nm", accuracy)
    u_speed = _channel_uncertainty(point, speed_channel, accuracy)
    shaft_w = float(point["shaft_power_w"])
    u_shaft = float(
        shaft_power_uncertainty_w(point["shaft_torque_nm"], u_torque, point[speed_channel], u_speed)
    )
    return {
        "shaft_power_w": shaft_w,
        "u_shaft_power_w": u_shaft,
        "pump_efficiency": float(point["pump_efficiency"]),
        "u_pump_efficiency": float(efficiency_uncertainty(hydraulic_w, u_hydraulic_w, shaft_w, u_shaft)),
        "drive_efficiency": float(point["drive_efficiency"]),
        "u_drive_efficiency": float(efficiency_uncertainty(shaft_w, u_shaft, electrical_w, u_electrical_w)),
    }


def converted_point(
    point: Mapping[str, Any],
    index: int,
    specified_speed_rpm: float,
    accuracy: Mapping[str, float],
    geometry: BenchGeometry,
    table: GradeTable,
) -> dict[str, Any]:
    """One row of ``points_converted.csv``: the raw point and its conversion, with uncertainties."""
    u = {channel: _channel_uncertainty(point, channel, accuracy) for channel in UNCERTAIN_CHANNELS}
    flow, head = float(point["flow_m3_s"]), float(point["head_m"])
    density = float(point["density_kg_m3"])
    p_el, p_h = float(point["electrical_power_w"]), float(point["hydraulic_power_w"])
    eta, speed = float(point["overall_efficiency"]), float(point["speed_rpm"])
    u_head = float(
        head_uncertainty_m(
            point["p_inlet_pa"],
            u["p_inlet_pa"],
            point["p_outlet_pa"],
            u["p_outlet_pa"],
            flow,
            u["flow_m3_s"],
            density,
            geometry.inlet_diameter_m,
            geometry.outlet_diameter_m,
        )
    )
    u_hydraulic = float(hydraulic_power_uncertainty_w(flow, u["flow_m3_s"], head, u_head, density))
    u_eta = float(efficiency_uncertainty(p_h, u_hydraulic, p_el, u["electrical_power_w"]))
    row: dict[str, Any] = {"point": index}
    row.update({k: point[k] for k in ("speed_setpoint_rpm", "valve_opening", "steady") if k in point})
    row.update(
        {
            "speed_rpm": speed,
            "u_speed_rpm": u["speed_rpm"],
            "flow_m3_s": flow,
            "u_flow_m3_s": u["flow_m3_s"],
            "head_m": head,
            "u_head_m": u_head,
            "electrical_power_w": p_el,
            "u_electrical_power_w": u["electrical_power_w"],
            "hydraulic_power_w": p_h,
            "u_hydraulic_power_w": u_hydraulic,
            "overall_efficiency": eta,
            "u_overall_efficiency": u_eta,
            "fluid_temperature_c": float(point["fluid_temperature_c"]),
            "specified_speed_rpm": specified_speed_rpm,
        }
    )
    if "shaft_power_w" in point:
        row.update(_shaft_columns(point, accuracy, p_h, u_hydraulic, p_el, u["electrical_power_w"]))
    if not (math.isfinite(speed) and speed > 0):
        row.update({"speed_ratio": math.nan, "speed_in_range": False})
        for name in ("flow_m3_s", "head_m", "electrical_power_w", "hydraulic_power_w", "overall_efficiency"):
            row[f"converted_{name}"] = math.nan
            row[f"u_converted_{name}"] = math.nan
        return row
    converted = convert_to_speed(
        speed,
        specified_speed_rpm,
        flow_m3_s=flow,
        head_m=head,
        power_w=p_el,
        efficiency=eta,
        limits=table.speed_range,
    )
    k = float(converted.speed_ratio)
    e_n = u["speed_rpm"] / speed
    hydraulic_converted = p_h * k**3

    def rel(value: float, uncertainty: float) -> float:
        return uncertainty / abs(value) if value != 0 else math.inf

    row.update(
        {
            "speed_ratio": k,
            "speed_in_range": not converted.violations,
            "converted_flow_m3_s": converted.flow_m3_s,
            "u_converted_flow_m3_s": abs(_converted(converted.flow_m3_s))
            * combine_rss(rel(flow, u["flow_m3_s"]), e_n),
            "converted_head_m": converted.head_m,
            "u_converted_head_m": abs(_converted(converted.head_m)) * combine_rss(rel(head, u_head), 2 * e_n),
            "converted_electrical_power_w": converted.power_w,
            "u_converted_electrical_power_w": abs(_converted(converted.power_w))
            * combine_rss(rel(p_el, u["electrical_power_w"]), 3 * e_n),
            "converted_hydraulic_power_w": hydraulic_converted,
            "u_converted_hydraulic_power_w": abs(hydraulic_converted)
            * combine_rss(rel(p_h, u_hydraulic), 3 * e_n),
            "converted_overall_efficiency": converted.efficiency,
            "u_converted_overall_efficiency": u_eta,
            # ticks averaged, and the independent readings they are worth (the least of the channels)
            "samples_n": float(point.get("flow_m3_s_n", math.nan)),
            "n_eff": min(independent_readings(point, channel) for channel in UNCERTAIN_CHANNELS),
        }
    )
    return {
        key: (float(value) if isinstance(value, (np.floating, np.integer)) else value)
        for key, value in row.items()
    }


def _converted(value: float | np.ndarray | None) -> float:
    """One converted quantity of one point (given, since the point's measured value was)."""
    if value is None:
        raise AnalysisError("a measured quantity has no speed-converted value")
    return float(value)


def converted_rows(
    points: Sequence[Mapping[str, Any]],
    accuracy: Mapping[str, float],
    geometry: BenchGeometry,
    settings: AcceptanceSettings,
) -> list[dict[str, Any]]:
    """Every point, raw and converted to the specified speed, with uncertainties
    (``points_converted.csv``)."""
    table = load_grade_table(settings.grade_table)
    return [
        converted_point(p, i, settings.specified_speed_rpm, accuracy, geometry, table)
        for i, p in enumerate(points)
    ]
