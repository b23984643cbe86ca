"""The electric design problem as the optimiser searches it: normalised log coordinates and
finite-difference gradients in one batch.

Design variables are searched in logarithmic coordinates normalised to [0, 1] over their bounds
(pressures and speeds span a decade), which keeps SLSQP's steps well scaled; a variable whose
minimum equals its maximum, or that the caller fixes, is held and not searched.

Imports only :mod:`hil.model.sizing` and :mod:`hil.model.pump_model` from the project.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hil.model.pump_model import PumpModel
from hil.model.sizing.inputs import SizingInputs
from hil.model.sizing.model import (
    DESIGN_VARIABLES,
    CurveAdjustment,
    ElectricBatch,
    PumpCurves,
    evaluate_electric,
)

__all__ = ["DesignProblem", "design_bounds"]

Array = NDArray[np.float64]

_FD_STEP = 1e-6
_UNPHYSICAL_OBJECTIVE = 1e12


def design_bounds(inputs: SizingInputs) -> tuple[Array, Array]:
    """Lower and upper bounds of the design variables in DESIGN_VARIABLES order (equal: fixed)."""
    b = inputs.bounds
    mixture = b.mixture_ratio or (inputs.engine.mixture_ratio, inputs.engine.mixture_ratio)
    ranges = (
        b.chamber_pressure_pa,
        b.tank("fuel"),
        b.tank("oxidiser"),
        b.pump_speed_rpm,
        b.pump_speed_rpm,
        mixture,
    )
    return np.array([r[0] for r in ranges], dtype=float), np.array([r[1] for r in ranges], dtype=float)


class DesignProblem:
    """The electric design problem in normalised logarithmic coordinates, with batched gradients.

    A point ``u`` holds the free design variables in DESIGN_VARIABLES order.
    """

    def __init__(
        self,
        inputs: SizingInputs,
        model: PumpModel,
        adjustment: CurveAdjustment,
        extrapolate: bool,
        fixed: dict[str, float],
        objective: str,
    ) -> None:
        self.inputs = inputs
        self.model = model
        self.adjustment = adjustment
        self.extrapolate = extrapolate
        self.objective = objective
        self.curves = PumpCurves(
            model, adjustment, inputs.electric.assumed_suction_specific_speed, extrapolate
        )
        lo, hi = design_bounds(inputs)
        self.log_lo, self.log_hi = np.log(lo), np.log(hi)
        self.base = lo.copy()
        self.free = hi > lo  # minimum == maximum fixes a variable
        for name, value in fixed.items():
            i = DESIGN_VARIABLES.index(name)
            self.free[i] = False
            self.base[i] = value
        self.evaluations = 0
        self.scale = 1.0
        self._cache_key: bytes | None = None
        self._cache: tuple[float, Array, Array, Array] | None = None

    @property
    def dimension(self) -> int:
        """How many design variables are searched."""
        return int(self.free.sum())

    def designs(self, u: Array) -> Array:
        """Design rows (DESIGN_VARIABLES order) of points ``u``."""
        u = np.atleast_2d(u)
        x = np.tile(self.base, (u.shape[0], 1))
        free_idx = np.flatnonzero(self.free)
        span = self.log_hi[free_idx] - self.log_lo[free_idx]
        x[:, free_idx] = np.exp(self.log_lo[free_idx] + u * span)
        return x

    def to_unit(self, design: Array) -> Array:
        """A design's free variables as a (screening) point, clipped to the box."""
        free_idx = np.flatnonzero(self.free)
        u = (np.log(design[free_idx]) - self.log_lo[free_idx]) / (
            self.log_hi[free_idx] - self.log_lo[free_idx]
        )
        return np.clip(u, 0.0, 1.0)

    def evaluate(self, u: Array) -> ElectricBatch:
        """The model at points ``u`` (one batch)."""
        batch = evaluate_electric(
            self.inputs,
            self.model,
            self.designs(u),
            adjustment=self.adjustment,
            extrapolate=self.extrapolate,
            curves=self.curves,
        )
        self.evaluations += batch.designs.shape[0]
        return batch

    def objective_values(self, batch: ElectricBatch) -> Array:
        values = batch.peak_electrical_power_w if self.objective == "peak_power" else batch.total_mass_kg
        # An overflowed design (flagged infeasible by the model) must not poison the search.
        return np.where(np.isfinite(values), values, _UNPHYSICAL_OBJECTIVE)

    def linearise(self, u: Array) -> tuple[float, Array, Array, Array]:
        """Objective, its gradient, constraints and their Jacobian (one row per coordinate) at ``u``.

        Forward differences, all points in one batch; the last point asked for is cached (SLSQP
        asks for the four at the same point).
        """
        key = np.asarray(u, dtype=float).tobytes()
        if key != self._cache_key:
            points = np.vstack([u, u + _FD_STEP * np.eye(len(u))])
            batch = self.evaluate(points)
            f = self.objective_values(batch) / self.scale
            g = batch.constraints
            self._cache = (float(f[0]), (f[1:] - f[0]) / _FD_STEP, g[0], (g[1:] - g[0]) / _FD_STEP)
            self._cache_key = key
        assert self._cache is not None
        return self._cache

    def fun(self, u: Array) -> float:
        return self.linearise(u)[0]

    def jac(self, u: Array) -> Array:
        return self.linearise(u)[1]

    def cons(self, u: Array) -> Array:
        return self.linearise(u)[2]

    def cons_jac(self, u: Array) -> Array:
        return self.linearise(u)[3].T
