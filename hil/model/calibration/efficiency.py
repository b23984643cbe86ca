"""The efficiency part of a calibration, on the power basis the runs support.

* **Without torque** (wire-to-water): ``eta_ww = P_h / P_el`` is fitted as ``eta(phi) x drive(s, l)``,
  the drive factor being the measured relative change with speed and load (1 at the reference
  speed). The model's ``drive`` carries it and the sizing model uses it in place of its own motor and
  inverter efficiencies, so drive losses are counted once. Its power basis is ``wire_to_water``.
* **With torque on every point** (shaft): ``eta_p = P_h / P_shaft`` is the pump's own efficiency,
  fitted as one through-origin curve over every speed (at equal phi it is speed-independent), and the
  drive's ``eta_d = P_shaft / P_el`` is fitted on its own over speed and load fractions (absolute,
  not relative). The model's ``drive`` stays empty and ``bench_drive`` records the bench drive: the
  flight pump will not run behind the bench's motor and controller, so the sizing model puts its own
  motor and inverter efficiencies behind the pump-only efficiency. Its power basis is ``shaft``.

Why these forms and what the uncertainties mean: the package docstring (:mod:`hil.model.calibration`).

Imports numpy, pandas, :mod:`hil.analysis`, :mod:`hil.model.pump_model` and the package's
``curves``, ``quality`` and ``runs``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hil.analysis import AnalysisError
from hil.model.calibration.curves import fit_drive_efficiency, fit_pump_efficiency, fit_wire_to_water
from hil.model.calibration.quality import FitSummary
from hil.model.calibration.runs import column, standard_error
from hil.model.pump_model import DriveEfficiencyMap, FittedPolynomial

Array = NDArray[np.float64]

RELATIVE_UNCERTAINTY_FLOOR = 1.0e-4
"""Least relative random uncertainty of a point (see the package docstring)."""


@dataclass(frozen=True)
class EfficiencyInputs:
    """What both efficiency fits need of the performance points (one entry per point)."""

    perf: pd.DataFrame
    phi: Array
    rel_phi: Array  # random 1-sigma relative uncertainty of phi
    rel_q: Array
    rel_h: Array
    rel_p: Array  # of the electrical power
    speed_fraction: Array  # speed over the reference speed
    top: NDArray[np.bool_]  # the points of the reference (highest) speed group
    reference_rpm: float
    density_kg_m3: float
    diameter_m: float
    psi: FittedPolynomial
    accuracy: Callable[[str], float]  # a channel's systematic 1-sigma relative error
    systematic_head: float
    systematic_phi: float
    eta_degree: int

    @property
    def hydraulic_w(self) -> Array:
        return self.perf["hydraulic_power_w"].to_numpy(float)

    @property
    def electrical_w(self) -> Array:
        return self.perf["electrical_power_w"].to_numpy(float)

    def rated_power_w(self, eta: FittedPolynomial) -> float:
        """Power at the reference speed at best efficiency: ``rho n^3 D^5 phi psi / eta`` there."""
        grid = np.linspace(float(np.min(self.phi)), float(np.max(self.phi)), 201)
        phi_bep = float(grid[int(np.argmax(np.asarray(eta.value(grid))))])
        n_ref = self.reference_rpm / 60.0
        psi_bep = float(self.psi.value(phi_bep))
        return (
            self.density_kg_m3 * n_ref**3 * self.diameter_m**5 * phi_bep * psi_bep / float(eta.value(phi_bep))
        )


@dataclass(frozen=True)
class EfficiencyFit:
    """The fitted efficiency on its power basis, with what the points table and the summary show."""

    basis: str  # "shaft" or "wire_to_water" (see hil.model.pump_model.POWER_BASES)
    eta: FittedPolynomial
    fits: dict[str, FitSummary]
    drive: DriveEfficiencyMap | None  # what the sizing model uses (wire-to-water only)
    bench_drive: DriveEfficiencyMap | None  # the bench drive measured with torque (shaft only)
    columns: dict[str, Array]
    warnings: list[str] = field(default_factory=list)


def _check_positive(eta: FittedPolynomial, phi: Array, what: str) -> None:
    lo, hi = float(np.min(phi)), float(np.max(phi))
    grid = np.linspace(lo, hi, 201)
    if np.any(np.asarray(eta.value(phi)) <= 0) or np.any(np.asarray(eta.value(grid)) <= 0):
        raise AnalysisError(
            f"the fitted {what} eta(phi) is not positive over phi {lo:.4g}..{hi:.4g}: "
            "the operating points do not describe a pump"
        )


def _ranges(speed_fraction: Array, load_fraction: Array) -> dict[str, tuple[float, float]]:
    return {
        "speed_fraction_range": (float(np.min(speed_fraction)), float(np.max(speed_fraction))),
        "load_fraction_range": (float(np.min(load_fraction)), float(np.max(load_fraction))),
    }


def wire_to_water_efficiency(inputs: EfficiencyInputs) -> EfficiencyFit:
    """``eta_ww = eta(phi) drive(s, l)``; the load fraction depends on the fitted eta, so refit thrice."""
    p_h, p_el = inputs.hydraulic_w, inputs.electrical_w
    eta_ww = p_h / p_el
    rel_eta = np.maximum(
        np.sqrt(inputs.rel_q**2 + inputs.rel_h**2 + inputs.rel_p**2), RELATIVE_UNCERTAINTY_FLOOR
    )
    a = inputs.accuracy
    sys_eta = math.sqrt(a("flow_m3_s") ** 2 + inputs.systematic_head**2 + a("electrical_power_w") ** 2)
    load_fraction = p_el / float(np.max(p_el[inputs.top]))
    rated_power = float("nan")
    load_used = load_fraction
    for _ in range(3):
        ww = fit_wire_to_water(
            inputs.phi,
            eta_ww,
            rel_eta * eta_ww,
            inputs.speed_fraction,
            load_fraction,
            inputs.rel_phi * inputs.phi,
            inputs.eta_degree,
            sys_eta,
            inputs.systematic_phi,
        )
        _check_positive(ww.eta, inputs.phi, "wire-to-water")
        rated_power = inputs.rated_power_w(ww.eta)
        load_used = load_fraction
        load_fraction = p_h / np.asarray(ww.eta.value(inputs.phi)) / rated_power
    drive = DriveEfficiencyMap(
        coefficients=ww.drive_coefficients,
        rated_speed_rpm=inputs.reference_rpm,
        rated_power_w=rated_power,
        **_ranges(inputs.speed_fraction, load_used),
    )
    return EfficiencyFit(
        basis="wire_to_water",
        eta=ww.eta,
        fits={"eta": ww.summary},
        drive=drive,
        bench_drive=None,
        columns={
            "eta_wire_to_water": eta_ww,
            "eta_fit": eta_ww - ww.residuals,
            "load_fraction": load_used,
            "drive_factor": ww.drive_values,
            "drive_factor_std": ww.drive_std,
        },
    )


def shaft_efficiency(inputs: EfficiencyInputs) -> EfficiencyFit:
    """The pump's own ``eta(phi)`` from shaft power, and the bench drive's efficiency on its own."""
    perf = inputs.perf
    p_h, p_el = inputs.hydraulic_w, inputs.electrical_w
    p_shaft = perf["shaft_power_w"].to_numpy(float)
    torque = column(perf, "shaft_torque_nm")
    shaft_rpm = column(perf, "shaft_speed_rpm")
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_torque = standard_error(perf, "shaft_torque_nm") / np.abs(torque)
        rel_speed = standard_error(perf, "shaft_speed_rpm") / np.abs(shaft_rpm)
    rel_shaft = np.hypot(np.nan_to_num(rel_torque), np.nan_to_num(rel_speed))
    floor = RELATIVE_UNCERTAINTY_FLOOR
    eta_pump = p_h / p_shaft
    rel_eta = np.maximum(np.sqrt(inputs.rel_q**2 + inputs.rel_h**2 + rel_shaft**2), floor)
    a = inputs.accuracy
    # A torque flange's speed pickup stands in for the drive's speed where the bench has none.
    speed_accuracy = a("shaft_speed_rpm") if "shaft_speed_rpm" in perf.columns else a("speed_rpm")
    sys_shaft = math.hypot(a("shaft_torque_nm"), speed_accuracy)
    sys_eta = math.sqrt(a("flow_m3_s") ** 2 + inputs.systematic_head**2 + sys_shaft**2)
    pump = fit_pump_efficiency(
        inputs.phi,
        eta_pump,
        rel_eta * eta_pump,
        inputs.rel_phi * inputs.phi,
        inputs.eta_degree,
        sys_eta,
        inputs.systematic_phi,
    )
    _check_positive(pump.polynomial, inputs.phi, "pump")
    rated_power = inputs.rated_power_w(pump.polynomial)
    load_fraction = p_shaft / rated_power
    eta_drive = p_shaft / p_el
    rel_drive = np.maximum(np.hypot(rel_shaft, inputs.rel_p), floor)
    drive_fit = fit_drive_efficiency(inputs.speed_fraction, load_fraction, eta_drive, rel_drive * eta_drive)
    bench_drive = DriveEfficiencyMap(
        coefficients=drive_fit.coefficients,
        rated_speed_rpm=inputs.reference_rpm,
        rated_power_w=rated_power,
        **_ranges(inputs.speed_fraction, load_fraction),
    )
    return EfficiencyFit(
        basis="shaft",
        eta=pump.polynomial,
        fits={"eta": pump.summary, "eta_d": drive_fit.summary},
        drive=None,
        bench_drive=bench_drive,
        columns={
            "eta_pump": eta_pump,
            "eta_fit": eta_pump - pump.residuals,
            "eta_wire_to_water": p_h / p_el,
            "load_fraction": load_fraction,
            "eta_drive": eta_drive,
            "eta_drive_fit": drive_fit.fitted,
        },
    )
