"""The pump model as the sizing model uses it: adjusted curves, their usable range and inverse solvers.

:class:`CurveAdjustment` shifts the curves for sensitivity and uncertainty studies; :class:`PumpCurves`
holds the (adjusted) psi, eta and sigma3 curves over a usable flow-coefficient bracket and solves the
similarity relations for the operating flow coefficient; :func:`power_basis` says whether the
model's efficiency gives shaft or electrical power.

Imports :mod:`hil.model.pump_model` only from the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from hil.model.pump_model import PumpModel, PumpModelError

__all__ = ["CurveAdjustment", "PumpCurves", "power_basis"]

Array = NDArray[np.float64]

# Points of the inverse-interpolation tables of the pump solvers (log-spaced over the phi bracket).
_SOLVER_TABLE_POINTS = 2001


@dataclass(frozen=True)
class CurveAdjustment:
    """Changes to the pump, for sensitivities and uncertainty.

    ``*_sigma`` shift the fitted curves by that many standard deviations of the fit (psi and eta
    down and sigma3 up for positive pessimism: pass negative psi/eta and positive sigma3 values).
    ``efficiency_delta`` is added to eta, ``npsh3_factor`` multiplies NPSH3,
    ``extra_pressure_rise_pa`` is added to the rise each pump must deliver, ``flow_factor``
    multiplies the flow each pump must deliver, ``drive_efficiency_delta`` is added to the drive
    (motor x inverter) efficiency.
    """

    psi_sigma: float = 0.0
    eta_sigma: float = 0.0
    sigma3_sigma: float = 0.0
    efficiency_delta: float = 0.0
    npsh3_factor: float = 1.0
    extra_pressure_rise_pa: float = 0.0
    flow_factor: float = 1.0
    drive_efficiency_delta: float = 0.0


class PumpCurves:
    """The pump model as the sizing model uses it: adjusted curves over a usable phi bracket.

    Without extrapolation the bracket is the calibrated envelope. With it, the bracket widens to the
    largest range around best efficiency where the fitted polynomials still describe a pump (positive
    head and efficiency, positive sigma3, and the monotonic relations the solver relies on), so a
    badly behaved polynomial is never used beyond where it makes sense.
    """

    def __init__(
        self,
        model: PumpModel,
        adjustment: CurveAdjustment,
        assumed_suction_specific_speed: float,
        extrapolate: bool,
    ) -> None:
        self.model = model
        self.adjustment = adjustment
        self.assumed_suction_specific_speed = assumed_suction_specific_speed
        self.extrapolate = extrapolate
        self.envelope_lo = model.envelope.phi_min
        self.envelope_hi = model.envelope.phi_max
        self.uses_assumed_npsh3 = model.sigma3_fit is None
        if extrapolate:
            self.phi_lo, self.phi_hi = self._usable_range()
        else:
            self.phi_lo, self.phi_hi = self.envelope_lo, self.envelope_hi
        self._phi_table = np.geomspace(self.phi_lo, self.phi_hi, _SOLVER_TABLE_POINTS)
        self._h_table = self._design_function(self._phi_table)
        self._k_table = self._operating_function(self._phi_table)
        if np.any(np.diff(self._h_table) <= 0) or np.any(np.diff(self._k_table) <= 0):
            raise PumpModelError(
                "the pump model's head curve psi(phi) is not usable over the envelope: the specific "
                "speed and flow-to-head relations must increase with phi (check the psi fit)"
            )
        self._h_lo, self._h_hi = float(self._h_table[0]), float(self._h_table[-1])
        self._k_lo, self._k_hi = float(self._k_table[0]), float(self._k_table[-1])
        # The solvers interpolate in log space: the logs of the tables are taken once, here.
        self._log_phi_table = np.log(self._phi_table)
        self._log_h_table = np.log(self._h_table)
        self._log_k_table = np.log(self._k_table)
        self._h_edge_slopes = self._edge_slopes(self._design_function)
        self._k_edge_slopes = self._edge_slopes(self._operating_function)

    # curves ---------------------------------------------------------------------------
    def psi(self, phi: Array) -> Array:
        return np.asarray(self.model.psi(phi, self.adjustment.psi_sigma), dtype=float)

    def eta(self, phi: Array) -> Array:
        eta = (
            np.asarray(self.model.eta(phi, self.adjustment.eta_sigma), dtype=float)
            + self.adjustment.efficiency_delta
        )
        return np.minimum(np.maximum(eta, 0.02), 1.0)

    def sigma3(self, phi: Array) -> Array:
        if self.uses_assumed_npsh3:
            # Suction specific speed S = 2 pi phi^0.5 / sigma3^0.75 held constant.
            sigma = (2.0 * np.pi * np.sqrt(phi) / self.assumed_suction_specific_speed) ** (4.0 / 3.0)
        else:
            sigma = np.asarray(self.model.sigma3(phi, self.adjustment.sigma3_sigma), dtype=float)
        return np.maximum(sigma, 1e-6) * self.adjustment.npsh3_factor

    # monotonic relations used by the solvers ------------------------------------------
    def _design_function(self, phi: Array) -> Array:
        """``(phi^0.5 / psi^0.75)^2``: the squared specific speed, increasing with phi."""
        return phi / np.maximum(self.psi(phi), 1e-12) ** 1.5

    def _operating_function(self, phi: Array) -> Array:
        """``phi / psi^0.5``: the flow-to-head relation at fixed diameter, increasing with phi."""
        return phi / np.sqrt(np.maximum(self.psi(phi), 1e-12))

    def _usable_range(self) -> tuple[float, float]:
        lo_env, hi_env = self.envelope_lo, self.envelope_hi
        grid = np.geomspace(lo_env * 0.2, hi_env * 3.0, 4001)
        psi = np.asarray(self.model.psi(grid, self.adjustment.psi_sigma), dtype=float)
        eta = (
            np.asarray(self.model.eta(grid, self.adjustment.eta_sigma), dtype=float)
            + self.adjustment.efficiency_delta
        )
        ok = (psi > 0.05 * float(np.max(psi))) & (eta > 0.02)
        if not self.uses_assumed_npsh3:
            ok &= np.asarray(self.model.sigma3(grid, self.adjustment.sigma3_sigma), dtype=float) > 0.0
        safe_psi = np.where(psi > 0, psi, np.nan)
        h = grid / safe_psi**1.5
        k = grid / np.sqrt(safe_psi)
        increasing = np.ones_like(ok)
        increasing[1:] = (np.diff(h) > 0) & (np.diff(k) > 0)
        ok &= increasing
        start = int(np.argmin(np.abs(grid - self.model.best_efficiency_phi())))
        if not ok[start]:
            return lo_env, hi_env
        i = start
        while i > 0 and ok[i - 1]:
            i -= 1
        j = start
        while j < len(grid) - 1 and ok[j + 1]:
            j += 1
        return float(grid[i]), float(grid[j])

    # solvers --------------------------------------------------------------------------
    def _edge_slopes(self, func: Any) -> tuple[float, float]:
        """``d ln func / d ln phi`` at the two ends of the bracket (central differences)."""
        edges = np.array([self.phi_lo, self.phi_hi])
        step = 1e-6
        rise = np.log(func(edges * (1.0 + step))) - np.log(func(edges * (1.0 - step)))
        slopes = rise / (np.log1p(step) - np.log1p(-step))
        return float(slopes[0]), float(slopes[1])

    def _solve(
        self,
        func: Any,
        log_table: Array,
        target: Array,
        f_lo: float,
        f_hi: float,
        edge_slopes: tuple[float, float],
    ) -> Array:
        """Solve ``func(phi) = target`` for an increasing ``func`` roughly proportional to phi.

        Inverse interpolation in a fine log-spaced table of ``func`` (``log_table`` holds its logs)
        gives the root to about 1e-6, two Newton steps polish it to rounding. Outside the bracket the
        answer is extended as the power law that continues ``func`` with its slope at the edge
        (``phi = edge (target / f(edge))^(1 / s)``, ``s = d ln f / d ln phi`` there), so a duty the
        curves cannot meet gives a phi beyond the bracket and a negative envelope constraint,
        continuously and with a continuous slope, instead of a silent clip. (A proportional
        extension, ``s = 1``, left a kink in the flow-coefficient constraints exactly where they
        cross zero: an optimum on the envelope's edge then stalled SLSQP, which differentiates
        across it, at its iteration limit.)

        Each Newton step evaluates ``func`` once, on ``phi + h``, ``phi - h`` and ``phi`` stacked
        into one array: the curves are elementwise, so the values are those of three separate calls,
        at a third of the numpy calls (the optimiser solves small batches, where the per-call cost
        dominates). ``np.minimum(np.maximum(...))`` is ``np.clip`` without its Python wrapper.
        """
        target = np.asarray(target, dtype=float)
        inside = np.minimum(np.maximum(target, f_lo), f_hi)
        phi = np.exp(np.interp(np.log(inside), log_table, self._log_phi_table))
        for _ in range(2):
            h = 1e-6 * phi
            f_plus, f_minus, f_mid = func(np.array([phi + h, phi - h, phi]))
            slope = (f_plus - f_minus) / (2.0 * h)
            phi = np.minimum(np.maximum(phi - (f_mid - inside) / slope, self.phi_lo), self.phi_hi)
        s_lo, s_hi = edge_slopes
        phi = np.where(target < f_lo, self.phi_lo * (target / f_lo) ** (1.0 / s_lo), phi)
        phi = np.where(target > f_hi, self.phi_hi * (target / f_hi) ** (1.0 / s_hi), phi)
        return phi

    def design_phi(self, specific_speed_squared: Array) -> Array:
        """Flow coefficient at which the pump runs at the given squared specific speed."""
        return self._solve(
            self._design_function,
            self._log_h_table,
            specific_speed_squared,
            self._h_lo,
            self._h_hi,
            self._h_edge_slopes,
        )

    def operating_phi(self, flow_to_head: Array) -> Array:
        """Flow coefficient at which a pump of fixed diameter meets ``Q sqrt(rho) / (D^2 sqrt(dp))``."""
        return self._solve(
            self._operating_function,
            self._log_k_table,
            flow_to_head,
            self._k_lo,
            self._k_hi,
            self._k_edge_slopes,
        )

    def clip(self, phi: Array) -> Array:
        return np.minimum(np.maximum(phi, self.phi_lo), self.phi_hi)

    def drive_efficiency(self, speed_fraction: Array, load_fraction: Array, fallback: float) -> Array:
        if self.model.drive is None:
            eta = np.full(np.broadcast(speed_fraction, load_fraction).shape, fallback)
        else:
            eta = self.model.drive.efficiency(speed_fraction, load_fraction)
        return np.minimum(np.maximum(eta + self.adjustment.drive_efficiency_delta, 0.02), 1.0)


def power_basis(model: PumpModel, stated_efficiency: float | None) -> str:
    """``shaft`` where a pump-only efficiency exists, ``electrical`` where only wire-to-water does.

    A model calibrated without torque is wire-to-water (see :mod:`hil.model.calibration`), so
    ``Q dp / eta`` is electrical power at the bench's drive efficiency; one calibrated with a torque
    sensor, the literature default and a stated efficiency are pump-only (shaft), and the mission's
    motor and inverter efficiencies follow.
    """
    if stated_efficiency is not None or not model.calibrated or model.power_basis == "shaft":
        return "shaft"
    return "electrical"
