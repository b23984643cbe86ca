"""The readable summary ``hil calibrate`` prints: the curves at a few flow coefficients, the envelope,
the drive map and each fit's residuals.

Imports numpy, :mod:`hil.core.fluids` and :mod:`hil.model.calibration.calibrate`.
"""

from __future__ import annotations

import math

import numpy as np

from hil.core.fluids import STANDARD_GRAVITY_M_S2
from hil.model.calibration.calibrate import Calibration
from hil.model.calibration.quality import NO_DOF_NOTE

G = STANDARD_GRAVITY_M_S2


def format_calibration(calibration: Calibration, samples: int = 5) -> str:
    """The readable summary ``hil calibrate`` prints: curves at a few phi, envelope, residuals."""
    model = calibration.model
    env = model.envelope
    d = model.impeller_diameter_m
    n_ref = calibration.reference_speed_rpm / 60.0
    lines = [f"hil calibrate: {len(calibration.used_runs)} run(s): {', '.join(calibration.used_runs)}"]
    lines.append(
        f"  impeller {d * 1e3:.1f} mm, fluid {model.fluid}, reference speed "
        f"{calibration.reference_speed_rpm:,.0f} rpm"
    )
    why = (
        "torque measured: eta is the pump's own efficiency"
        if model.power_basis == "shaft"
        else "no torque measured: eta includes the drive's losses"
    )
    lines.append(f"  power basis: {model.power_basis_label} ({why})")
    lines.append("")
    lines.append("Envelope")
    lo, hi = calibration.performance_phi_range
    lines.append(f"  performance points: phi {lo:.5f} .. {hi:.5f} ({len(calibration.points)} points)")
    if calibration.npsh3_phi_range is not None:
        nlo, nhi = calibration.npsh3_phi_range
        lines.append(
            f"  NPSH3 points:       phi {nlo:.5f} .. {nhi:.5f} ({len(calibration.npsh3_points)} points)"
        )
    lines.append(
        f"  model envelope:     phi {env.phi_min:.5f} .. {env.phi_max:.5f}, speed "
        f"{env.speed_rpm_min:,.0f} .. {env.speed_rpm_max:,.0f} rpm"
    )
    lines.append("  (the model refuses operating points outside it unless told to extrapolate)")
    lines.append("")
    grid = np.linspace(env.phi_min, env.phi_max, samples)
    sigma_fit = model.sigma3_fit
    lines.append("Fitted curves (+- 1 sigma); Q, H, NPSH3 for this impeller at the reference speed")
    eta_label = "eta (pump)" if model.power_basis == "shaft" else "eta (w-t-w)"
    header = f"  {'phi':>8} {'psi':>17} {eta_label:>17}"
    header += f" {'sigma3':>17}" if sigma_fit is not None else ""
    header += f" {'Q L/s':>8} {'H m':>8}" + (f" {'NPSH3 m':>8}" if sigma_fit is not None else "")
    lines.append(header)

    no_dof = {name for name, fit in calibration.fits.items() if fit.dof <= 0}

    def with_std(value: float, std: float, name: str) -> str:
        # Without dof the scatter is unknown: a +- there would be the stated uncertainty only.
        return f"{value:9.4f}{'(no +-)':<8}" if name in no_dof else f"{value:9.4f}+-{std:<6.2g}"

    for phi in grid:
        psi = float(model.psi_fit.value(phi))
        row = f"  {phi:8.5f} {with_std(psi, float(model.psi_fit.std(phi)), 'psi')}"
        row += f" {with_std(float(model.eta_fit.value(phi)), float(model.eta_fit.std(phi)), 'eta')}"
        if sigma_fit is not None:
            row += f" {with_std(float(sigma_fit.value(phi)), float(sigma_fit.std(phi)), 'sigma3')}"
        row += f" {phi * n_ref * d**3 * 1e3:8.3f} {psi * (n_ref * d) ** 2 / G:8.1f}"
        if sigma_fit is not None:
            row += f" {float(sigma_fit.value(phi)) * (n_ref * d) ** 2 / G:8.2f}"
        lines.append(row)
    for name in sorted(no_dof):
        lines.append(f"  {name}: no +- shown: {NO_DOF_NOTE}")
    lines.append("")
    drive = model.drive
    if drive is not None:
        lines.append(
            "Drive map: wire-to-water efficiency relative to the reference speed at equal phi (+- 1 sigma)"
        )
        frame = calibration.points
        for _, group in frame.groupby(np.round(frame["speed_fraction"], 2), sort=True):
            lo_i, hi_i = group["load_fraction"].idxmin(), group["load_fraction"].idxmax()
            lines.append(
                f"  {group['speed_rpm'].mean():9,.0f} rpm: {frame.at[lo_i, 'drive_factor']:.3f}"
                f"+-{frame.at[lo_i, 'drive_factor_std']:.3f} at load "
                f"{frame.at[lo_i, 'load_fraction']:.2f} .. "
                f"{frame.at[hi_i, 'drive_factor']:.3f}+-{frame.at[hi_i, 'drive_factor_std']:.3f} at load "
                f"{frame.at[hi_i, 'load_fraction']:.2f}"
            )
        lines.append(
            f"  load fraction of {drive.rated_power_w:.0f} W (reference speed, best efficiency); "
            f"tested {drive.load_fraction_range[0]:.2f} .. {drive.load_fraction_range[1]:.2f}"
        )
        lines.append("")
    bench_drive = model.bench_drive
    if bench_drive is not None:
        frame = calibration.points
        lines.append("Bench drive: efficiency measured with the torque sensor (shaft over DC input power)")
        for _, group in frame.groupby(np.round(frame["speed_fraction"], 2), sort=True):
            lo_i, hi_i = group["load_fraction"].idxmin(), group["load_fraction"].idxmax()
            lines.append(
                f"  {group['speed_rpm'].mean():9,.0f} rpm: {frame.at[lo_i, 'eta_drive']:.3f} at load "
                f"{frame.at[lo_i, 'load_fraction']:.2f} .. {frame.at[hi_i, 'eta_drive']:.3f} at load "
                f"{frame.at[hi_i, 'load_fraction']:.2f}"
            )
        lines.append(
            f"  load fraction of {bench_drive.rated_power_w:.0f} W shaft power (reference speed, best "
            "efficiency); recorded in the model for comparison, the sizing uses its own motor and inverter"
        )
        lines.append("")
    lines.append("Residuals (data minus fit)")
    for summary in calibration.fits.values():
        chi = "n/a (no dof)" if math.isnan(summary.chi2_per_dof) else f"{summary.chi2_per_dof:.2f}"
        lines.append(
            f"  {summary.name:<7} {summary.points:3d} points, dof {summary.dof:2d}, chi2/dof {chi}, rms "
            f"{summary.rms_relative_residual * 100:.2f} %, max {summary.max_relative_residual * 100:.2f} %"
            + (f" (covariance scaled x{summary.birge_scale:.2f})" if summary.birge_scale > 1.0 else "")
        )
    if calibration.warnings:
        lines.append("")
        lines.append("Warnings:")
        lines.extend(f"  - {w}" for w in calibration.warnings)
    return "\n".join(lines) + "\n"
