"""Studies made of repeated optimisations: Pareto front by power limit, sensitivities, uncertainty.

* :func:`pareto_by_power_limit`: mass-optimal designs for a series of peak-power limits
  (epsilon-constraint Pareto front).
* :func:`mass_sensitivities`: how the optimum system mass moves when a pump requirement is made
  harder (re-optimising each time, so the design adapts as an engineer would).
* :func:`calibration_uncertainty`: how the calibration's coefficient covariance moves the system
  mass: linearised at the optimum design, plus redesigns with pessimistic and optimistic curves.

Imports :mod:`hil.model.pump_model` and the sizing modules only from the project.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from hil.model.pump_model import FittedPolynomial, PumpModel
from hil.model.sizing.inputs import SizingInputs
from hil.model.sizing.model import DESIGN_VARIABLES, CurveAdjustment, DesignPoint, evaluate_electric
from hil.model.sizing.optimise import OptimisationResult, design_bounds, optimise_electric

__all__ = [
    "Sensitivity",
    "UncertaintyResult",
    "calibration_uncertainty",
    "mass_sensitivities",
    "pareto_by_power_limit",
]


@dataclass
class Sensitivity:
    """Optimum mass change when one pump requirement is made harder by a stated step."""

    requirement: str
    change: str
    delta_mass_kg: float
    redesigned: DesignPoint | None
    feasible: bool


@dataclass
class UncertaintyResult:
    """How the calibration's uncertainty moves the electric-feed system mass."""

    mass_std_kg: float
    mass_std_by_curve_kg: dict[str, float]
    k_sigma: float
    min_npsh_ratio_pessimistic: float
    pessimistic_mass_kg: float | None
    optimistic_mass_kg: float | None
    pessimistic_feasible: bool
    optimistic_feasible: bool
    note: str


def pareto_by_power_limit(
    inputs: SizingInputs,
    pump_model: PumpModel | None = None,
    levels: int = 6,
    *,
    extrapolate: bool = False,
    unconstrained: OptimisationResult | None = None,
) -> list[OptimisationResult]:
    """Mass-optimal designs for a series of peak-power limits (epsilon-constraint Pareto front).

    The limits run from the least peak power any feasible design needs to the peak power of the
    unconstrained mass optimum; each point is a full optimisation under that limit.
    """
    best = unconstrained or optimise_electric(inputs, pump_model, extrapolate=extrapolate)
    least = optimise_electric(
        inputs, pump_model, extrapolate=extrapolate, objective="peak_power", start=best.design
    )
    if not (best.feasible and least.feasible):
        return [r for r in (least, best) if r.feasible]
    p_lo, p_hi = least.peak_electrical_power_w, best.peak_electrical_power_w
    if p_hi <= p_lo * (1 + 1e-6):
        return [best]
    results = []
    previous = least.design
    for limit in np.linspace(p_lo * (1 + 1e-6), p_hi, levels):
        r = optimise_electric(
            inputs, pump_model, extrapolate=extrapolate, power_limit_w=float(limit), start=previous
        )
        if r.feasible:
            results.append(r)
            previous = r.design
    return results


def mass_sensitivities(
    inputs: SizingInputs,
    pump_model: PumpModel | None,
    base: OptimisationResult,
    *,
    extrapolate: bool = False,
) -> list[Sensitivity]:
    """Re-optimised mass change for each pump requirement made harder by a stated step.

    Steps: pump efficiency -0.02 (absolute), NPSH3 +10 %, pressure rise +1 bar, flow +2 %, drive
    (motor x inverter) efficiency -0.02, and pump speeds held 10 % above and below the optimum.
    """
    cases: Sequence[tuple[str, str, CurveAdjustment | None, dict[str, float] | None]] = (
        ("minimum pump efficiency", "-0.02 absolute", CurveAdjustment(efficiency_delta=-0.02), None),
        ("maximum NPSH3", "+10 %", CurveAdjustment(npsh3_factor=1.10), None),
        ("pressure rise", "+1 bar", CurveAdjustment(extra_pressure_rise_pa=1.0e5), None),
        ("flow", "+2 %", CurveAdjustment(flow_factor=1.02), None),
        (
            "electrical power (drive efficiency)",
            "-0.02 absolute",
            CurveAdjustment(drive_efficiency_delta=-0.02),
            None,
        ),
        (
            "pump speed",
            "+10 % (held)",
            None,
            {
                "fuel_pump_speed_rpm": base.design.fuel_pump_speed_rpm * 1.1,
                "oxidiser_pump_speed_rpm": base.design.oxidiser_pump_speed_rpm * 1.1,
            },
        ),
        (
            "pump speed",
            "-10 % (held)",
            None,
            {
                "fuel_pump_speed_rpm": base.design.fuel_pump_speed_rpm * 0.9,
                "oxidiser_pump_speed_rpm": base.design.oxidiser_pump_speed_rpm * 0.9,
            },
        ),
    )
    lo, hi = design_bounds(inputs)
    out: list[Sensitivity] = []
    for requirement, change, adjustment, fixed in cases:
        if fixed is not None:
            fixed = {
                k: float(np.clip(v, lo[DESIGN_VARIABLES.index(k)], hi[DESIGN_VARIABLES.index(k)]))
                for k, v in fixed.items()
            }
        r = optimise_electric(
            inputs, pump_model, adjustment=adjustment, extrapolate=extrapolate, fixed=fixed, start=base.design
        )
        out.append(
            Sensitivity(
                requirement=requirement,
                change=change,
                delta_mass_kg=r.total_mass_kg - base.total_mass_kg,
                redesigned=r.design if r.feasible else None,
                feasible=r.feasible,
            )
        )
    return out


def _replace_curve(model: PumpModel, curve: str, coefficients: NDArray[np.float64]) -> PumpModel:
    fit: FittedPolynomial = getattr(model, f"{curve}_fit")
    changed = fit.with_coefficients(coefficients)
    if curve == "psi":
        return dataclasses.replace(model, psi_fit=changed)
    if curve == "eta":
        return dataclasses.replace(model, eta_fit=changed)
    return dataclasses.replace(model, sigma3_fit=changed)


def calibration_uncertainty(
    inputs: SizingInputs,
    pump_model: PumpModel | None,
    base: OptimisationResult,
    *,
    extrapolate: bool = False,
    k_sigma: float = 2.0,
) -> UncertaintyResult:
    """Propagate the fitted curves' coefficient covariance into the electric-feed system mass.

    1. Linearised, at the optimum design held fixed: the mass gradient with respect to each curve's
       coefficients (finite differences) contracted with that curve's covariance; the curves are
       taken as independent fits.
    2. The NPSH margin left at that design when the curves move ``k_sigma`` standard deviations the
       wrong way (head and efficiency down, sigma3 up).
    3. Redesigns with the curves ``k_sigma`` pessimistic and optimistic: the mass range the
       uncertainty allows once the design adapts to it.
    """
    model = pump_model if pump_model is not None else PumpModel.default()
    x0 = base.design.as_array()[None, :]

    def mass_of(m: PumpModel) -> float:
        return float(evaluate_electric(inputs, m, x0, extrapolate=extrapolate).total_mass_kg[0])

    m0 = mass_of(model)
    by_curve: dict[str, float] = {}
    for curve in ("psi", "eta", "sigma3"):
        fit: FittedPolynomial | None = getattr(model, f"{curve}_fit")
        if fit is None:
            continue
        coeffs = np.asarray(fit.coefficients)
        cov = np.asarray(fit.covariance)
        grad = np.zeros(coeffs.size)
        for i in range(coeffs.size):
            step = 1e-3 * np.sqrt(cov[i, i]) if cov[i, i] > 0 else 0.0
            if step == 0.0:
                continue
            perturbed = coeffs.copy()
            perturbed[i] += step
            grad[i] = (mass_of(_replace_curve(model, curve, perturbed)) - m0) / step
        by_curve[curve] = float(np.sqrt(max(grad @ cov @ grad, 0.0)))
    total_std = float(np.sqrt(sum(v**2 for v in by_curve.values())))

    pessimistic = CurveAdjustment(psi_sigma=-k_sigma, eta_sigma=-k_sigma, sigma3_sigma=k_sigma)
    optimistic = CurveAdjustment(psi_sigma=k_sigma, eta_sigma=k_sigma, sigma3_sigma=-k_sigma)
    at_design = evaluate_electric(inputs, model, x0, adjustment=pessimistic, extrapolate=extrapolate)
    ratios = np.concatenate(
        [
            at_design.fuel.npsha_m[0] / at_design.fuel.npsh3_m[0],
            at_design.oxidiser.npsha_m[0] / at_design.oxidiser.npsh3_m[0],
        ]
    )
    worse = optimise_electric(
        inputs, model, adjustment=pessimistic, extrapolate=extrapolate, start=base.design
    )
    better = optimise_electric(
        inputs, model, adjustment=optimistic, extrapolate=extrapolate, start=base.design
    )
    note = (
        "calibrated fit covariance"
        if model.calibrated
        else "uncalibrated default: the covariance is an assumed literature scatter, not a measurement"
    )
    return UncertaintyResult(
        mass_std_kg=total_std,
        mass_std_by_curve_kg=by_curve,
        k_sigma=k_sigma,
        min_npsh_ratio_pessimistic=float(np.min(ratios)),
        pessimistic_mass_kg=worse.total_mass_kg if worse.feasible else None,
        optimistic_mass_kg=better.total_mass_kg if better.feasible else None,
        pessimistic_feasible=worse.feasible,
        optimistic_feasible=better.feasible,
        note=note,
    )
