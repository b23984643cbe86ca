"""Each pump's flight duty against what the bench calibrated: flow coefficient, head coefficient and
speed.

The sizing scales the tested pump by similarity, so a duty is "inside the calibrated envelope" when
its dimensionless operating point was measured: the flow coefficient ``phi`` and the head coefficient
``psi`` within their tested ranges, and the speed within the tested one *by similarity*, that is the
tip speed ``pi n D`` of the flight impeller within the tip speeds the tested impeller ran at (tip
speed sets the head, the stresses and the NPSH3 scaling; a flight pump twice the tested size at half
its speed runs the same tip speed). :func:`envelope_excursions` lists every quantity that leaves its
range over the burn, with the value and the range, for the optimiser's warnings (console and JSON).

Imports :mod:`hil.model.pump_model` and :mod:`hil.model.sizing.batches` only from the project.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from hil.model.pump_model import PumpModel
from hil.model.sizing.batches import PumpBatch

__all__ = ["EnvelopeExcursion", "envelope_excursions"]

_TOLERANCE = 1e-6


@dataclass(frozen=True)
class EnvelopeExcursion:
    """One quantity of one pump outside the calibrated range (``value`` is the farthest point)."""

    pump: str
    quantity: str  # "flow coefficient", "head coefficient" or "tip speed"
    value: float
    calibrated_min: float
    calibrated_max: float
    unit: str
    detail: str = ""

    @property
    def text(self) -> str:
        side = "below" if self.value < self.calibrated_min else "above"
        unit = f" {self.unit}" if self.unit else ""
        return (
            f"{self.pump} pump: {self.quantity} {_fmt(self.value)}{unit} {side} the calibrated range "
            f"{_fmt(self.calibrated_min)}..{_fmt(self.calibrated_max)}{unit}{self.detail}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "pump": self.pump,
            "quantity": self.quantity,
            "value": self.value,
            "unit": self.unit,
            "calibrated_min": self.calibrated_min,
            "calibrated_max": self.calibrated_max,
            "text": self.text,
        }


def _fmt(value: float) -> str:
    return f"{value:.4g}"


def _outside(values: ArrayLike, lo: float, hi: float) -> float | None:
    """The value farthest outside ``[lo, hi]`` (relative to the range), or None if all inside."""
    arr = np.asarray(values, dtype=float).reshape(-1)
    arr = arr[np.isfinite(arr)]
    if arr.size == 0:
        return None
    vmin, vmax = float(np.min(arr)), float(np.max(arr))
    below = (lo - vmin) / max(abs(lo), 1e-300) if vmin < lo * (1 - _TOLERANCE) else 0.0
    above = (vmax - hi) / max(abs(hi), 1e-300) if vmax > hi * (1 + _TOLERANCE) else 0.0
    if below == 0.0 and above == 0.0:
        return None
    return vmin if below >= above else vmax


def envelope_excursions(
    pump: PumpBatch, label: str, model: PumpModel, row: int = 0
) -> list[EnvelopeExcursion]:
    """Every calibrated quantity that ``pump`` (design ``row``, all points of the burn) leaves.

    The head coefficient is checked only where the model recorded its tested range.
    """
    env = model.envelope
    out: list[EnvelopeExcursion] = []
    phi = _outside(pump.phi[row], env.phi_min, env.phi_max)
    if phi is not None:
        out.append(EnvelopeExcursion(label, "flow coefficient", phi, env.phi_min, env.phi_max, ""))
    if env.psi_min is not None and env.psi_max is not None:
        psi = _outside(pump.head_coefficient[row], env.psi_min, env.psi_max)
        if psi is not None:
            out.append(EnvelopeExcursion(label, "head coefficient", psi, env.psi_min, env.psi_max, ""))
    lo_u, hi_u = env.tip_speed_range_m_s(model.impeller_diameter_m)
    tip = _outside(pump.tip_speed_m_s[row], lo_u, hi_u)
    if tip is not None:
        diameter = float(pump.diameter_m[row])
        speed = tip * 60.0 / (np.pi * diameter)
        detail = (
            f" ({speed:,.0f} rpm at its {diameter * 1e3:.1f} mm impeller; the bench ran "
            f"{env.speed_rpm_min:,.0f}..{env.speed_rpm_max:,.0f} rpm at {model.impeller_diameter_m * 1e3:.1f} mm)"
        )
        out.append(EnvelopeExcursion(label, "tip speed", tip, lo_u, hi_u, "m/s", detail))
    return out
