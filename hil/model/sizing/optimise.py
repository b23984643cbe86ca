"""Optimisation over the sizing model: best designs, sweeps, Pareto front, sensitivities, uncertainty.

What lives here:

* :func:`optimise_electric`: minimise the loaded propulsion-system mass of the electric-pump-fed
  option (for a delta-v mission that is the stage mass less the fixed dry mass) over chamber pressure,
  tank pressures and pump speeds, subject to the model's constraints (NPSH margin through the burn,
  calibrated envelope, pressurant, power limit). Method: a vectorised Latin-hypercube screening of
  the design box picks starting points, then SLSQP (scipy) polishes the best of them, with gradients
  by forward differences evaluated as one vectorised batch.
* :func:`optimise_pressure_fed`: the baseline's best chamber pressure (it has no other freedom).
* :func:`sweep_electric` and :func:`pareto_front`: the mass against peak electrical power trade from
  a sampled sweep (non-dominated points).

Studies built from repeated optimisations (Pareto front by power limit, sensitivities, calibration
uncertainty) live in :mod:`hil.model.sizing.studies`.

The problem as SLSQP sees it (normalised logarithmic coordinates, batched finite-difference
gradients) is :class:`~hil.model.sizing.design_problem.DesignProblem`.

Uses numpy and scipy; imports only :mod:`hil.model.sizing`, :mod:`hil.model.pump_model` and :mod:`hil.core.errors`
from the project.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray
from scipy import optimize
from scipy.stats import qmc

from hil.core.errors import HilError
from hil.model.pump_model import PumpModel
from hil.model.sizing.design_problem import DesignProblem, design_bounds
from hil.model.sizing.envelope import EnvelopeExcursion, envelope_excursions
from hil.model.sizing.mission import SizingInputs
from hil.model.sizing.model import (
    DESIGN_VARIABLES,
    CurveAdjustment,
    DesignPoint,
    ElectricBatch,
    PressureFedBatch,
    evaluate_electric,
    evaluate_pressure_fed,
)

__all__ = [
    "InfeasibleDesignError",
    "OptimisationResult",
    "PressureFedResult",
    "SweepResult",
    "design_bounds",
    "optimise_electric",
    "optimise_pressure_fed",
    "pareto_front",
    "sweep_electric",
]

_FEASIBILITY_TOLERANCE = 1e-6
_SCREENING_POINTS = 1024


class InfeasibleDesignError(HilError, ValueError):
    """No design within the bounds (and the calibrated envelope) satisfies the constraints."""


@dataclass(frozen=True)
class Binding:
    """A bound or constraint active at the optimum, and what relaxing it would save.

    ``mass_change_kg`` is the first-order change of the optimum's objective (kg, or W for the power
    objective) if the bound moves 1 % outward or the constraint is relaxed by 1 % of its normalised
    value, from the Lagrange multipliers of the active set (non-negative least squares on the
    gradients at the optimum). Negative: relaxing it would make the design lighter.
    """

    kind: str  # "bound", "fixed" or "constraint"
    name: str
    text: str
    mass_change_kg: float | None


@dataclass
class OptimisationResult:
    """The best electric-pump-fed design found, with its full evaluation (a batch of one row)."""

    design: DesignPoint
    evaluation: ElectricBatch
    total_mass_kg: float
    peak_electrical_power_w: float
    feasible: bool
    message: str
    evaluations: int
    warnings: list[str] = field(default_factory=list)
    binding: list[Binding] = field(default_factory=list)
    envelope_excursions: list[EnvelopeExcursion] = field(default_factory=list)
    """Each pump quantity outside the calibrated envelope (also among ``warnings`` as text)."""


@dataclass
class PressureFedResult:
    """The pressure-fed baseline at its best chamber pressure (and mixture ratio, where free)."""

    chamber_pressure_pa: float
    evaluation: PressureFedBatch
    total_mass_kg: float
    feasible: bool
    mixture_ratio: float = float("nan")


@dataclass
class SweepResult:
    """A sampled sweep of the design box: one entry per design."""

    designs: NDArray[np.float64]
    total_mass_kg: NDArray[np.float64]
    peak_electrical_power_w: NDArray[np.float64]
    feasible: NDArray[np.bool_]


def _violation(batch: ElectricBatch) -> NDArray[np.float64]:
    """Worst (most negative) constraint per design, zero when feasible; mass non-convergence counts."""
    worst = np.minimum(np.min(batch.constraints, axis=1), 0.0)
    return np.where(batch.masses.converged, worst, np.minimum(worst, -1.0))


def _with_power_limit(inputs: SizingInputs, limit_w: float | None) -> SizingInputs:
    if limit_w is None:
        return inputs
    return dataclasses.replace(
        inputs, electric=dataclasses.replace(inputs.electric, max_electrical_power_w=limit_w)
    )


def optimise_electric(
    inputs: SizingInputs,
    pump_model: PumpModel | None = None,
    *,
    adjustment: CurveAdjustment | None = None,
    extrapolate: bool = False,
    fixed: dict[str, float] | None = None,
    power_limit_w: float | None = None,
    start: DesignPoint | None = None,
    objective: str = "mass",
    seed: int = 0,
) -> OptimisationResult:
    """Minimise the electric-pump-fed system mass (or its peak electrical power).

    ``fixed`` holds some design variables at given values; ``power_limit_w`` overrides the mission's
    electrical power limit (for the Pareto front); ``start`` adds a starting point to the screening
    (a previous optimum, for warm restarts). Deterministic for a given ``seed``.
    """
    model = pump_model if pump_model is not None else PumpModel.default()
    adj = adjustment if adjustment is not None else CurveAdjustment()
    problem = DesignProblem(
        _with_power_limit(inputs, power_limit_w), model, adj, extrapolate, dict(fixed or {}), objective
    )
    dim = problem.dimension
    if dim == 0:  # every variable fixed (minimum == maximum): nothing to search, only to evaluate
        return _result(problem, np.zeros(0), model, "every design variable is fixed")

    # Screening: a Latin hypercube over the (log) design box, evaluated in one batch.
    sampler = qmc.LatinHypercube(d=dim, rng=np.random.default_rng(seed))
    candidates = sampler.random(_SCREENING_POINTS)
    if start is not None:
        candidates = np.vstack([problem.to_unit(start.as_array()), candidates])
    screen = problem.evaluate(candidates)
    violation = _violation(screen)
    values = problem.objective_values(screen)
    feasible = violation >= -_FEASIBILITY_TOLERANCE
    if np.any(feasible):
        order = np.flatnonzero(feasible)[np.argsort(values[feasible])]
        starts = list(order[:3])
        if start is not None and 0 not in starts:
            starts.append(0)
    else:
        starts = list(np.argsort(-violation)[:3])
    problem.scale = float(np.median(np.abs(values[starts]))) or 1.0

    best_u: NDArray[np.float64] | None = None
    best_key: tuple[float, float] | None = None
    message = "no optimisation run"
    constraints = [{"type": "ineq", "fun": problem.cons, "jac": problem.cons_jac}]
    for index in starts:
        u0 = candidates[index]
        result = optimize.minimize(
            problem.fun,
            u0,
            jac=problem.jac,
            method="SLSQP",
            bounds=[(0.0, 1.0)] * dim,
            constraints=constraints,
            options={"maxiter": 200, "ftol": 1e-10},
        )
        for u in (np.clip(result.x, 0.0, 1.0), u0):
            batch = problem.evaluate(u)
            v = float(_violation(batch)[0])
            key = (
                min(v, 0.0) if v < -_FEASIBILITY_TOLERANCE else 0.0,
                -float(problem.objective_values(batch)[0]),
            )
            if best_key is None or key > best_key:
                best_key, best_u, message = key, u, str(result.message)

    assert best_u is not None
    return _result(problem, best_u, model, message)


def _result(
    problem: DesignProblem, u: NDArray[np.float64], model: PumpModel, message: str
) -> OptimisationResult:
    final = problem.evaluate(u)
    design = DesignPoint.from_array(final.designs[0])
    warnings, excursions = _design_warnings(final, model)
    return OptimisationResult(
        design=design,
        evaluation=final,
        total_mass_kg=float(final.total_mass_kg[0]),
        peak_electrical_power_w=float(final.peak_electrical_power_w[0]),
        feasible=bool(final.feasible(_FEASIBILITY_TOLERANCE)[0]),
        message=message,
        evaluations=problem.evaluations,
        warnings=warnings,
        binding=_binding(problem, u, final),
        envelope_excursions=excursions,
    )


_VARIABLE_TEXT = {
    "chamber_pressure_pa": ("chamber pressure", 1e-6, "MPa"),
    "fuel_tank_pressure_pa": ("fuel tank pressure", 1e-5, "bar"),
    "oxidiser_tank_pressure_pa": ("oxidiser tank pressure", 1e-5, "bar"),
    "fuel_pump_speed_rpm": ("fuel pump speed", 1.0, "rpm"),
    "oxidiser_pump_speed_rpm": ("oxidiser pump speed", 1.0, "rpm"),
    "mixture_ratio": ("mixture ratio", 1.0, ""),
}
_ACTIVE_BOUND = 1e-5
_ACTIVE_CONSTRAINT = 1e-4


def _value(value: float, unit: str) -> str:
    return f"{value:,.0f} {unit}" if unit == "rpm" else f"{value:.4g} {unit}".rstrip()


def _binding(problem: DesignProblem, u: NDArray[np.float64], batch: ElectricBatch) -> list[Binding]:
    """Bounds and constraints active at ``u``, each with its multiplier as a mass change."""
    out: list[Binding] = []
    lo, hi = np.exp(problem.log_lo), np.exp(problem.log_hi)
    design = batch.designs[0]
    for i, name in enumerate(DESIGN_VARIABLES):
        if not problem.free[i]:
            label, scale, unit = _VARIABLE_TEXT[name]
            out.append(Binding("fixed", name, f"{label} fixed at {_value(design[i] * scale, unit)}", None))
    if problem.dimension == 0 or not bool(batch.feasible(_FEASIBILITY_TOLERANCE)[0]):
        return out  # an infeasible point has no active set worth pricing
    _, grad_f, g, jac_g = problem.linearise(np.asarray(u, dtype=float))
    if not (np.all(np.isfinite(grad_f)) and np.all(np.isfinite(jac_g))):
        return out
    free_names = [n for n, free in zip(DESIGN_VARIABLES, problem.free) if free]
    free_idx = np.flatnonzero(problem.free)
    columns: list[NDArray[np.float64]] = []
    entries: list[tuple[str, str, str, float]] = []  # kind, name, text, relaxation per 1 %
    for k, name in enumerate(free_names):
        i = free_idx[k]
        label, scale, unit = _VARIABLE_TEXT[name]
        span = problem.log_hi[i] - problem.log_lo[i]
        for side, at, value, sign in (
            ("lower", u[k] < _ACTIVE_BOUND, lo[i], 1.0),
            ("upper", u[k] > 1 - _ACTIVE_BOUND, hi[i], -1.0),
        ):
            if at:
                columns.append(sign * np.eye(problem.dimension)[k])
                text = f"{label} at its {side} bound {_value(value * scale, unit)}"
                entries.append(("bound", name, text, float(np.log(1.01) / span)))
    for j, name in enumerate(batch.constraint_names):
        if g[j] < _ACTIVE_CONSTRAINT:
            columns.append(jac_g[:, j])
            entries.append(("constraint", name, f"{name} (active)", 0.01))
    if not columns:
        return out
    matrix = np.stack(columns, axis=1)
    multipliers, _ = optimize.nnls(matrix, grad_f)
    for (kind, name, text, relaxation), lam in zip(entries, multipliers):
        change = -float(lam) * relaxation * problem.scale
        out.append(Binding(kind, name, text, change))
    return out


def _design_warnings(batch: ElectricBatch, model: PumpModel) -> tuple[list[str], list[EnvelopeExcursion]]:
    """Warnings on the design, and each pump's excursions from the calibrated envelope.

    Every pump whose duty over the burn leaves the calibrated flow-coefficient, head-coefficient or
    (by similarity, tip) speed range is named with the quantity, its value and the range, whether or
    not extrapolation was allowed (without it the flow coefficient is a constraint, so only an
    infeasible optimum can leave that range).
    """
    warnings: list[str] = []
    excursions: list[EnvelopeExcursion] = []
    for label, pump in (("fuel", batch.fuel), ("oxidiser", batch.oxidiser)):
        found = envelope_excursions(pump, label, model)
        excursions.extend(found)
        warnings.extend(f"outside the calibrated envelope: {e.text}" for e in found)
        if not bool(pump.drive_map_covered[0]):
            warnings.append(
                f"{label} pump: the flight duty leaves the speed/load range of the calibrated drive map; "
                "its efficiency was held at the edge of the tested range"
            )
    if batch.uses_assumed_npsh3:
        warnings.append("the pump model has no NPSH3 fit: NPSH3 from the assumed suction specific speed")
    return warnings, excursions


_BASELINE_PRESSURES = 200
_BASELINE_RATIOS = 41


def optimise_pressure_fed(inputs: SizingInputs) -> PressureFedResult:
    """Best chamber pressure (and mixture ratio) of the pressure-fed baseline within the mission's bounds.

    Higher chamber pressure buys specific impulse at the price of heavier tanks and pressurant. The
    mixture ratio is a design variable here exactly where it is one for the electric option (the
    same ``bounds.mixture_ratio``), so the comparison is like for like. A log-spaced scan (a grid
    over both where the ratio is free) finds the region; a bounded search refines it.
    """
    lo, hi = inputs.bounds.chamber_pressure_pa
    pressures = np.geomspace(lo, hi, _BASELINE_PRESSURES if hi > lo else 1)
    r_lo, r_hi = inputs.bounds.mixture_ratio or (inputs.engine.mixture_ratio,) * 2
    ratios = np.linspace(r_lo, r_hi, _BASELINE_RATIOS if r_hi > r_lo else 1)
    grid_pc, grid_r = (a.reshape(-1) for a in np.meshgrid(pressures, ratios, indexing="ij"))
    batch = evaluate_pressure_fed(inputs, grid_pc, grid_r)
    ok = batch.feasible()
    mass = np.where(ok, batch.total_mass_kg, np.inf)
    i = int(np.argmin(mass)) if np.any(ok) else 0
    pc, r = float(grid_pc[i]), float(grid_r[i])
    if np.any(ok):
        # Refine within one grid cell of the best point, in (log pc, r).
        ip, ir = divmod(i, ratios.size)
        box = [
            (np.log(pressures[max(ip - 1, 0)]), np.log(pressures[min(ip + 1, pressures.size - 1)])),
            (ratios[max(ir - 1, 0)], ratios[min(ir + 1, ratios.size - 1)]),
        ]
        free = [k for k, (a, b) in enumerate(box) if b > a]

        def objective(x: NDArray[np.float64]) -> float:
            point = [np.log(pc), r]
            for k, value in zip(free, x):
                point[k] = float(value)
            single = evaluate_pressure_fed(inputs, np.array([np.exp(point[0])]), point[1])
            return float(single.total_mass_kg[0]) if bool(single.feasible()[0]) else float("inf")

        if free:
            start = np.array([[np.log(pc), r][k] for k in free])
            res = optimize.minimize(
                objective, start, method="Powell", bounds=[box[k] for k in free], options={"xtol": 1e-9}
            )
            if np.isfinite(res.fun) and res.fun <= mass[i]:
                point = [np.log(pc), r]
                for k, value in zip(free, np.atleast_1d(res.x)):
                    point[k] = float(value)
                pc, r = float(np.exp(point[0])), float(point[1])
    final = evaluate_pressure_fed(inputs, np.array([pc]), r)
    return PressureFedResult(
        chamber_pressure_pa=pc,
        evaluation=final,
        total_mass_kg=float(final.total_mass_kg[0]),
        feasible=bool(final.feasible()[0]),
        mixture_ratio=r,
    )


def sweep_electric(
    inputs: SizingInputs,
    pump_model: PumpModel | None = None,
    n_points: int = 1000,
    *,
    extrapolate: bool = False,
    seed: int = 0,
) -> SweepResult:
    """Evaluate ``n_points`` designs spread over the design box (Latin hypercube in log coordinates)."""
    model = pump_model if pump_model is not None else PumpModel.default()
    lo, hi = design_bounds(inputs)
    free = hi > lo
    unit = np.zeros((n_points, len(DESIGN_VARIABLES)))
    unit[:, free] = qmc.LatinHypercube(d=int(free.sum()), rng=np.random.default_rng(seed)).random(n_points)
    designs = np.exp(np.log(lo) + unit * (np.log(hi) - np.log(lo)))
    batch = evaluate_electric(inputs, model, designs, extrapolate=extrapolate)
    return SweepResult(
        designs=designs,
        total_mass_kg=batch.total_mass_kg,
        peak_electrical_power_w=batch.peak_electrical_power_w,
        feasible=batch.feasible(),
    )


def pareto_front(
    mass_kg: NDArray[np.float64], power_w: NDArray[np.float64], feasible: NDArray[np.bool_] | None = None
) -> NDArray[np.intp]:
    """Indices of the non-dominated (mass, peak power) points, in increasing power.

    A point is dominated if another is no heavier and needs no more power, and is better in one.
    """
    idx = np.flatnonzero(np.ones(mass_kg.shape, dtype=bool) if feasible is None else feasible)
    order = idx[np.lexsort((mass_kg[idx], power_w[idx]))]
    front: list[int] = []
    best_mass = np.inf
    for i in order:
        if mass_kg[i] < best_mass:
            front.append(int(i))
            best_mass = float(mass_kg[i])
    return np.array(front, dtype=np.intp)
