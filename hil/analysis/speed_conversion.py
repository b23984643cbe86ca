"""Conversion of measured points to the specified speed by the affinity laws, with range checks.

With ``k = n_sp / n``: ``Q_T = Q k``, ``H_T = H k^2``, ``T_T = T k^2``, ``P_T = P k^3``,
``eta_T = eta`` and ``NPSH_T = NPSH k^x`` with ``x`` agreed between 1.3 and 2 (NPSH does not follow
the square law well, so the exponent is the caller's, and checked).

The conversion is only trusted within a band of test speeds around the specified speed (ratios
from the grade table: performance and NPSH have separate bands). A point outside its band is still
converted, so a report can show it, but every such point comes back as a
:class:`SpeedRangeViolation` with the limits beside the value: never a silent conversion.

Imports numpy, :mod:`hil.core.errors` and :mod:`hil.analysis.grades` (for the speed range) only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hil.analysis.grades import SpeedRangeLimits, load_grade_table
from hil.core.errors import ConfigError

NPSH_EXPONENT_MIN = 1.3
NPSH_EXPONENT_MAX = 2.0

FloatOrArray = float | np.ndarray


@dataclass(frozen=True)
class SpeedRangeViolation:
    """A point whose test speed lies outside the band allowed for converting ``kind`` quantities."""

    kind: str  # "performance" (Q, H, P, T, eta) or "npsh"
    point_index: int | None  # None for scalar input
    test_speed_rpm: float
    specified_speed_rpm: float
    ratio: float  # test / specified
    min_ratio: float
    max_ratio: float
    verified: bool

    @property
    def message(self) -> str:
        where = "" if self.point_index is None else f"point {self.point_index}: "
        flag = "" if self.verified else " (limits unverified)"
        return (
            f"{where}test speed {self.test_speed_rpm:.1f} rpm is {self.ratio:.1%} of the specified "
            f"{self.specified_speed_rpm:.1f} rpm, outside {self.min_ratio:.0%}..{self.max_ratio:.0%} "
            f"allowed for {self.kind} conversion{flag}"
        )


@dataclass(frozen=True)
class ConvertedPoints:
    """Quantities converted to the specified speed (None where not supplied) and any violations."""

    speed_ratio: FloatOrArray  # n_sp / n
    flow_m3_s: FloatOrArray | None
    head_m: FloatOrArray | None
    torque_n_m: FloatOrArray | None
    power_w: FloatOrArray | None
    efficiency: FloatOrArray | None
    npsh_m: FloatOrArray | None
    violations: tuple[SpeedRangeViolation, ...]


def _scaled(value: ArrayLike | None, factor: np.ndarray) -> FloatOrArray | None:
    if value is None:
        return None
    result = np.asarray(value, dtype=float) * factor
    return float(result) if result.ndim == 0 else result


def convert_to_speed(
    test_speed_rpm: ArrayLike,
    specified_speed_rpm: float,
    *,
    flow_m3_s: ArrayLike | None = None,
    head_m: ArrayLike | None = None,
    torque_n_m: ArrayLike | None = None,
    power_w: ArrayLike | None = None,
    efficiency: ArrayLike | None = None,
    npsh_m: ArrayLike | None = None,
    npsh_exponent: float = 2.0,
    limits: SpeedRangeLimits | None = None,
) -> ConvertedPoints:
    """Convert measured quantities from ``test_speed_rpm`` (scalar or one per point) to the specified speed.

    ``limits`` defaults to the shipped grade table's speed range (read from the file on each call;
    pass a table's ``speed_range`` to use an override). Performance limits are checked when any of
    Q, H, T, P or eta is given; NPSH limits when ``npsh_m`` is given.
    """
    if not (
        isinstance(npsh_exponent, (int, float)) and NPSH_EXPONENT_MIN <= npsh_exponent <= NPSH_EXPONENT_MAX
    ):
        raise ConfigError(
            "convert_to_speed",
            "npsh_exponent",
            f"expected a value in {NPSH_EXPONENT_MIN}..{NPSH_EXPONENT_MAX} (agreed between parties), "
            f"got {npsh_exponent!r}",
        )
    if not (math.isfinite(specified_speed_rpm) and specified_speed_rpm > 0):
        raise ConfigError(
            "convert_to_speed",
            "specified_speed_rpm",
            f"expected a positive speed, got {specified_speed_rpm!r}",
        )
    speeds = np.asarray(test_speed_rpm, dtype=float)
    if not np.all(np.isfinite(speeds)) or np.any(speeds <= 0):
        raise ConfigError(
            "convert_to_speed",
            "test_speed_rpm",
            "expected positive finite speed(s); a stopped pump cannot be converted",
        )
    if limits is None:
        limits = load_grade_table().speed_range

    k = specified_speed_rpm / speeds
    performance_given = any(v is not None for v in (flow_m3_s, head_m, torque_n_m, power_w, efficiency))
    violations: list[SpeedRangeViolation] = []
    if performance_given:
        violations += _check_range(
            speeds,
            specified_speed_rpm,
            "performance",
            limits.performance_min_ratio.value,
            limits.performance_max_ratio.value,
            limits.performance_min_ratio.verified and limits.performance_max_ratio.verified,
        )
    if npsh_m is not None:
        violations += _check_range(
            speeds,
            specified_speed_rpm,
            "npsh",
            limits.npsh_min_ratio.value,
            limits.npsh_max_ratio.value,
            limits.npsh_min_ratio.verified and limits.npsh_max_ratio.verified,
        )
    eta = None
    if efficiency is not None:
        eta = _scaled(efficiency, np.ones_like(k))
    return ConvertedPoints(
        speed_ratio=float(k) if k.ndim == 0 else k,
        flow_m3_s=_scaled(flow_m3_s, k),
        head_m=_scaled(head_m, k**2),
        torque_n_m=_scaled(torque_n_m, k**2),
        power_w=_scaled(power_w, k**3),
        efficiency=eta,
        npsh_m=_scaled(npsh_m, k**npsh_exponent),
        violations=tuple(violations),
    )


def _check_range(
    speeds: np.ndarray, specified: float, kind: str, low: float, high: float, verified: bool
) -> list[SpeedRangeViolation]:
    ratios = speeds / specified
    flat_speeds = speeds.ravel()
    flat_ratios = ratios.ravel()
    bad = np.flatnonzero((flat_ratios < low) | (flat_ratios > high))
    return [
        SpeedRangeViolation(
            kind=kind,
            point_index=None if speeds.ndim == 0 else int(i),
            test_speed_rpm=float(flat_speeds[i]),
            specified_speed_rpm=specified,
            ratio=float(flat_ratios[i]),
            min_ratio=low,
            max_ratio=high,
            verified=verified,
        )
        for i in bad
    ]
