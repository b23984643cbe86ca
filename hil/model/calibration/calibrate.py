"""From run directories to the pump model: dimensionless points, uncertainties, the fits, the envelope.

What is fitted and why: the package docstring (:mod:`hil.model.calibration`).

Imports numpy, pandas, :mod:`hil.analysis`, :mod:`hil.core`, :mod:`hil.model.pump_model` and the
package's ``runs``, ``curves`` and ``quality``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from hil.analysis import AnalysisError
from hil.analysis.head import flow_coefficient, head_coefficient
from hil.core.errors import ConfigError
from hil.core.fluids import STANDARD_GRAVITY_M_S2
from hil.model.calibration.curves import (
    DEFAULT_ETA_DEGREE,
    DEFAULT_PSI_DEGREE,
    DEFAULT_SIGMA3_DEGREE,
    DISTINCT_RELATIVE_GAP,
    CurveFit,
    distinct_count,
    fit_psi,
    fit_sigma3,
)
from hil.model.calibration.efficiency import (
    RELATIVE_UNCERTAINTY_FLOOR,
    EfficiencyInputs,
    shaft_efficiency,
    wire_to_water_efficiency,
)
from hil.model.calibration.quality import FitSummary, fit_quality_warnings
from hil.model.calibration.runs import CalibrationRun, column, load_run, standard_error
from hil.model.pump_model import POWER_BASIS_LABELS, PumpEnvelope, PumpModel
from hil.store.run_directory import BENCH_SNAPSHOT

G = STANDARD_GRAVITY_M_S2
COVERAGE_95 = 1.96
"""Stated accuracies and the NPSH3 uncertainties are 95 % expanded: divided by this for 1 sigma."""


@dataclass(frozen=True)
class Calibration:
    """The fitted model with everything ``hil calibrate`` reports about how it was obtained."""

    model: PumpModel
    points: pd.DataFrame  # performance points: run, speed, phi, psi, eta and the fits' residuals
    npsh3_points: pd.DataFrame  # run, speed, phi, sigma3, NPSH3 and the residual
    fits: dict[str, FitSummary]
    used_runs: tuple[str, ...]
    skipped_runs: tuple[str, ...]
    performance_phi_range: tuple[float, float]
    npsh3_phi_range: tuple[float, float] | None
    reference_speed_rpm: float
    warnings: tuple[str, ...] = field(default=())


def calibrate(run_dirs: Sequence[Path | str]) -> PumpModel:
    """The pump model fitted to the runs (see :func:`calibrate_runs` for the report around it)."""
    return calibrate_runs(run_dirs).model


def calibrate_runs(
    run_dirs: Sequence[Path | str],
    *,
    psi_degree: int = DEFAULT_PSI_DEGREE,
    eta_degree: int = DEFAULT_ETA_DEGREE,
    sigma3_degree: int = DEFAULT_SIGMA3_DEGREE,
    accept_modified: bool = False,
) -> Calibration:
    """Fit psi(phi), eta(phi) on the power basis the runs support (shaft power where every
    performance point has torque, else wire-to-water with its drive map) and sigma3(phi)."""
    if not run_dirs:
        raise ConfigError("hil calibrate", "RUN_DIR", "expected at least one run directory")
    runs: list[CalibrationRun] = []
    skipped: list[str] = []
    for item in run_dirs:
        run, why = load_run(Path(item), accept_modified)
        if run is None:
            skipped.append(str(why))
        else:
            runs.append(run)
    if not runs:
        listing = "; ".join(skipped)
        raise ConfigError(
            "hil calibrate", "RUN_DIR", f"no completed run with results to calibrate from ({listing})"
        )

    first = runs[0]
    diameter = first.config.geometry.impeller_diameter_m
    for run in runs[1:]:
        other = run.config.geometry.impeller_diameter_m
        if abs(other / diameter - 1.0) > 1e-9:
            raise ConfigError(
                str(run.directory / BENCH_SNAPSHOT),
                "bench.impeller_diameter_m",
                f"{other:g} m differs from {diameter:g} m of run {first.run_id}: "
                "a model calibrates one impeller",
            )
        if run.config.fluid != first.config.fluid:
            raise ConfigError(
                str(run.directory / BENCH_SNAPSHOT),
                "bench.fluid",
                f"{run.config.fluid!r} differs from {first.config.fluid!r} of run {first.run_id}",
            )

    perf_runs = [r for r in runs if not r.points.empty]
    if not perf_runs:
        raise ConfigError(
            "hil calibrate",
            "RUN_DIR",
            "no run has non-cavitating operating points: run performance-curve first",
        )
    frames = []
    for run in perf_runs:
        frame = run.points.copy()
        frame.insert(0, "run", run.run_id)
        frames.append(frame)
    perf = pd.concat(frames, ignore_index=True)
    warnings: list[str] = []

    # Dimensionless points and their random standard uncertainties.
    q = perf["flow_m3_s"].to_numpy(float)
    rpm = perf["speed_rpm"].to_numpy(float)
    head = perf["head_m"].to_numpy(float)
    p_el = perf["electrical_power_w"].to_numpy(float)
    phi = np.asarray(flow_coefficient(q, rpm, diameter))
    psi = np.asarray(head_coefficient(head, rpm, diameter))
    rel_q = standard_error(perf, "flow_m3_s") / q
    rel_n = standard_error(perf, "speed_rpm") / rpm
    rel_h = standard_error(perf, "head_m") / np.abs(head)
    rel_p = standard_error(perf, "electrical_power_w") / p_el
    floor = RELATIVE_UNCERTAINTY_FLOOR
    rel_phi = np.maximum(np.hypot(rel_q, rel_n), floor)
    rel_psi = np.maximum(np.hypot(rel_h, 2.0 * rel_n), floor)

    # Systematic (common) relative scale errors from the stated accuracies, worst over the runs.
    def accuracy(channel: str) -> float:
        return max(float(r.accuracy.get(channel, 0.0)) for r in perf_runs) / COVERAGE_95

    a_q, a_n = accuracy("flow_m3_s"), accuracy("speed_rpm")
    p1, p2 = column(perf, "p_inlet_pa", 0.0), column(perf, "p_outlet_pa", 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_dp = np.hypot(accuracy("p_inlet_pa") * p1, accuracy("p_outlet_pa") * p2) / np.abs(p2 - p1)
    rel_dp = rel_dp[np.isfinite(rel_dp)]
    a_h = float(np.max(rel_dp)) if rel_dp.size else 0.0
    sys_phi = math.hypot(a_q, a_n)
    sys_psi = math.hypot(a_h, 2.0 * a_n)

    psi_fit = fit_psi(phi, psi, rel_psi * np.abs(psi), rel_phi * phi, psi_degree, sys_psi, sys_phi)

    # Reference speed: the mean of the highest speed group.
    top = rpm >= np.max(rpm) * (1.0 - DISTINCT_RELATIVE_GAP)
    reference_rpm = float(np.mean(rpm[top]))
    speed_fraction = rpm / reference_rpm
    rho = float(np.nanmean(column(perf, "density_kg_m3", 1000.0)))
    perf_range = (float(np.min(phi)), float(np.max(phi)))
    shaft_basis = all(r.has_shaft_power for r in perf_runs)
    if not shaft_basis and any(r.has_shaft_power for r in perf_runs):
        without = ", ".join(r.run_id for r in perf_runs if not r.has_shaft_power)
        warnings.append(
            f"run(s) {without} have no shaft torque: the efficiency is calibrated wire-to-water for all "
            "runs (calibrate the torque-sensor runs on their own for the pump's own efficiency)"
        )
    inputs = EfficiencyInputs(
        perf=perf,
        phi=phi,
        rel_phi=rel_phi,
        rel_q=rel_q,
        rel_h=rel_h,
        rel_p=rel_p,
        speed_fraction=speed_fraction,
        top=top,
        reference_rpm=reference_rpm,
        density_kg_m3=rho,
        diameter_m=diameter,
        psi=psi_fit.polynomial,
        accuracy=accuracy,
        systematic_head=a_h,
        systematic_phi=sys_phi,
        eta_degree=eta_degree,
    )
    eff = shaft_efficiency(inputs) if shaft_basis else wire_to_water_efficiency(inputs)
    phi_lo, phi_hi = perf_range

    # NPSH3.
    sigma3_curve: CurveFit | None = None
    npsh3_range: tuple[float, float] | None = None
    npsh_frames = []
    for run in runs:
        if not run.npsh3.empty:
            frame = run.npsh3.copy()
            frame.insert(0, "run", run.run_id)
            npsh_frames.append(frame)
    npsh_table = pd.DataFrame()
    if npsh_frames:
        npsh_table = pd.concat(npsh_frames, ignore_index=True)
        nq = npsh_table["flow_m3_s"].to_numpy(float)
        n_rpm = npsh_table["speed_rpm"].to_numpy(float)
        n_phi = np.asarray(flow_coefficient(nq, n_rpm, diameter))
        # sigma3 = g NPSH3 / (n D)^2: the head coefficient of NPSH3 (and of its uncertainty).
        sigma3 = np.asarray(head_coefficient(npsh_table["npsh3_m"].to_numpy(float), n_rpm, diameter))
        u_npsh3_m = npsh_table["npsh3_uncertainty_m"].to_numpy(float) / COVERAGE_95
        u_sigma3 = np.asarray(head_coefficient(u_npsh3_m, n_rpm, diameter))
        u_sigma3 = np.maximum(u_sigma3, floor * np.abs(sigma3))
        sigma3_curve = fit_sigma3(n_phi, sigma3, u_sigma3, sigma3_degree)
        npsh_table = npsh_table.assign(
            flow_coefficient=n_phi, sigma3=sigma3, sigma3_fit=sigma3 - sigma3_curve.residuals
        )
        npsh3_range = (float(np.min(n_phi)), float(np.max(n_phi)))
        if distinct_count(n_phi) < 2:
            warnings.append(
                f"NPSH3 measured at one flow coefficient only ({npsh3_range[0]:.4g}): sigma3 is taken "
                "constant (NPSH3 ~ tip speed squared) over the whole envelope; measure NPSH3 at more flows"
            )
        else:
            lo, hi = max(phi_lo, npsh3_range[0]), min(phi_hi, npsh3_range[1])
            if lo >= hi:
                warnings.append(
                    f"the NPSH3 points (phi {npsh3_range[0]:.4g}..{npsh3_range[1]:.4g}) lie outside the "
                    f"performance range (phi {phi_lo:.4g}..{phi_hi:.4g}): NPSH3 left out of the model"
                )
                sigma3_curve = None
            else:
                phi_lo, phi_hi = lo, hi
        if sigma3_curve is not None and np.any(
            np.asarray(sigma3_curve.polynomial.value(np.linspace(phi_lo, phi_hi, 50))) <= 0
        ):
            warnings.append("the fitted sigma3(phi) is not positive over the whole envelope: NPSH3 left out")
            sigma3_curve = None
    else:
        warnings.append(
            "no NPSH3 results among the runs: the model has no NPSH3 curve "
            "(the sizing falls back to its assumed suction specific speed)"
        )

    grid = np.linspace(phi_lo, phi_hi, 201)
    for label, values in (("psi", psi_fit.polynomial.value(grid)), ("eta", eff.eta.value(grid))):
        if np.any(np.asarray(values) <= 0):
            raise AnalysisError(
                f"the fitted {label}(phi) is not positive over phi {phi_lo:.4g}..{phi_hi:.4g}: "
                "the operating points do not describe a pump curve there"
            )

    if distinct_count(speed_fraction) < 2 and eff.drive is not None:
        warnings.append(
            f"one tested speed only ({reference_rpm:.0f} rpm): the drive map is flat; test at least two "
            "speeds to measure how the drive's efficiency falls at part speed"
        )

    speeds = np.concatenate(
        [
            rpm,
            npsh_table["speed_rpm"].to_numpy(float)
            if sigma3_curve is not None and not npsh_table.empty
            else np.zeros(0),
        ]
    )
    envelope = PumpEnvelope(
        phi_min=phi_lo,
        phi_max=phi_hi,
        speed_rpm_min=float(np.min(speeds)),
        speed_rpm_max=float(np.max(speeds)),
        psi_min=float(np.min(psi)),
        psi_max=float(np.max(psi)),
    )
    used = tuple(r.run_id for r in runs)
    fits = {"psi": psi_fit.summary, **eff.fits}
    if sigma3_curve is not None:
        fits["sigma3"] = sigma3_curve.summary
    fit_warnings = fit_quality_warnings(list(fits.values()))
    warnings.extend(fit_warnings)
    description = (
        f"calibrated from {len(used)} run(s) on bench '{first.config.name}': psi from {len(phi)} points; "
        + _efficiency_description(eff.basis, reference_rpm)
        + (f"NPSH3 from {len(npsh_table)} point(s)" if sigma3_curve is not None else "no NPSH3 curve")
        + (f"; skipped: {'; '.join(skipped)}" if skipped else "")
        + "".join(f"; WARNING {w}" for w in fit_warnings)
        + "".join(f"; WARNING {line}" for run in runs for line in run.modified)
    )
    model = PumpModel(
        impeller_diameter_m=diameter,
        fluid=first.config.fluid,
        psi_fit=psi_fit.polynomial,
        eta_fit=eff.eta,
        sigma3_fit=None if sigma3_curve is None else sigma3_curve.polynomial,
        drive=eff.drive,
        bench_drive=eff.bench_drive,
        power_basis=eff.basis,
        envelope=envelope,
        source_runs=used,
        calibrated=True,
        description=description,
    )
    points = pd.DataFrame(
        {
            "run": perf["run"],
            "speed_rpm": rpm,
            "flow_m3_s": q,
            "flow_coefficient": phi,
            "psi": psi,
            "psi_fit": psi - psi_fit.residuals,
            "speed_fraction": speed_fraction,
            **eff.columns,
        }
    )
    if skipped:
        warnings.insert(0, "skipped run(s): " + "; ".join(skipped))
    warnings[:0] = [line for run in runs for line in (*run.modified, run.unchecked) if line]
    return Calibration(
        model=model,
        points=points,
        npsh3_points=npsh_table,
        fits=fits,
        used_runs=used,
        skipped_runs=tuple(skipped),
        performance_phi_range=perf_range,
        npsh3_phi_range=npsh3_range,
        reference_speed_rpm=reference_rpm,
        warnings=tuple(warnings),
    )


def _efficiency_description(basis: str, reference_rpm: float) -> str:
    """What eta is, for the model's description (and so for every output that shows it)."""
    label = POWER_BASIS_LABELS[basis]
    if basis == "shaft":
        return (
            f"power basis: {label}: eta is the PUMP's own efficiency (hydraulic power over shaft power "
            "from the torque sensor), speed-independent at equal phi; the bench drive's efficiency is "
            "recorded apart (bench_drive) and the sizing model uses its own motor and inverter; "
        )
    return (
        f"power basis: {label}: eta is the WIRE-TO-WATER efficiency (hydraulic power over the drive's "
        f"DC input; no torque was measured) at {reference_rpm:.0f} rpm, the drive map its measured "
        f"change with speed and load (1 at {reference_rpm:.0f} rpm), so drive losses are counted once; "
    )
