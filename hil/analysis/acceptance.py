"""Acceptance at the guarantee point: tolerance cross, efficiency and power, violated test conditions.

Inputs are the measured points already converted to the specified speed (see
:mod:`hil.analysis.speed_conversion`) and a grade resolved from the table (see
:meth:`hil.analysis.grades.GradeTable.grade`, which applies the small-pump rule).

The measured curve. By default (``curve_method="fit"``) H(Q), eta(Q) and P(Q) are least-squares
polynomials through the points (degree 2 unless told): the fit averages out the scatter of single
points, which is what drawing "the measured curve" through them means. ``curve_method="linear"``
joins the points with straight segments instead (duplicated flows averaged), for few points or when
no model shape should be imposed. Either way the curve exists only over the measured flow range:
nothing is extrapolated, so a bar lying outside the data cannot be "met". The curves are in
:mod:`hil.analysis.measured_curve`.

Tolerance cross (flow and head). Horizontal bar at H_G from Q_G (1 - t_Q-) to Q_G (1 + t_Q+);
vertical bar at Q_G from H_G (1 - t_H-) to H_G (1 + t_H+). The flow-and-head guarantee is met when
the curve crosses or touches either bar ("touch" forgives a relative 1e-9 of rounding). For the
horizontal bar the curve is continuous, so it meets the bar exactly when H_G lies between the
curve's minimum and maximum over the bar's flow interval (found at the interval ends, the vertices,
or the polynomial's stationary points): robust for tangent touches, where root finding is not.
Two verdicts are reported: ``head`` (vertical bar: H(Q_G) against H_G) and ``flow`` (horizontal bar:
the flow at which the curve has H_G, against Q_G).

Efficiency and power. Both are read where the H(Q) curve crosses the straight line from the origin
through (Q_G, H_G) (the nearest crossing to Q_G if the curve crosses it more than once). The
efficiency guarantee is met if ``eta >= eta_G (1 + t_eta)`` (t_eta <= 0); the power guarantee if
``P <= P_G (1 + t_P)``. Reading power at the same point as efficiency is this harness's choice
(it is the operating point the same system would reach).

Test conditions checked and returned as :class:`ConditionViolation` (never silently dropped): speed
out of range (from the speed conversion), fluctuation above the grade's limit, too few points in the
band around Q_G, instrument uncertainty above the grade's limit. Conditions the table has no limit
for are listed in ``unchecked_conditions``.

Imports numpy, :mod:`hil.core.errors` and sibling modules of :mod:`hil.analysis` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hil.analysis import AnalysisError
from hil.analysis.fits import PolynomialFit
from hil.analysis.grades import QUANTITIES_FLUCTUATION, QUANTITIES_UNCERTAINTY, Grade, GradeValue
from hil.analysis.measured_curve import MeasuredCurve, PolynomialCurve, make_curve
from hil.analysis.speed_conversion import SpeedRangeViolation
from hil.core.errors import ConfigError

TOUCH_RELATIVE = 1e-9
_NO_OPERATING_POINT = (
    "the H(Q) curve does not cross the line through the origin and the guarantee point in the measured range"
)


@dataclass(frozen=True)
class GuaranteePoint:
    """What the maker guarantees at the specified speed: flow and head, optionally eta or power."""

    flow_m3_s: float
    head_m: float
    efficiency: float | None = None
    power_w: float | None = None

    def __post_init__(self) -> None:
        for field in ("flow_m3_s", "head_m", "efficiency", "power_w"):
            value = getattr(self, field)
            if value is None and field in ("efficiency", "power_w"):
                continue
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ConfigError("GuaranteePoint", field, f"expected a positive number, got {value!r}")
        if self.efficiency is not None and self.efficiency > 1:
            raise ConfigError(
                "GuaranteePoint", "efficiency", f"expected a fraction <= 1, got {self.efficiency!r}"
            )


@dataclass(frozen=True)
class QuantityVerdict:
    """One guaranteed quantity judged: the limit beside the value.

    Tolerances are magnitudes of the allowed relative deviation below (``minus``) and above
    (``plus``) the guaranteed value; None means unbounded on that side.
    """

    quantity: str
    guaranteed: float
    measured: float
    deviation_fraction: float
    tolerance_minus_fraction: float | None
    tolerance_plus_fraction: float | None
    passed: bool
    tolerance_verified: bool
    detail: str = ""


@dataclass(frozen=True)
class ConditionViolation:
    """A test condition the run broke (speed range, fluctuation, points near Q_G, uncertainty)."""

    condition: str
    quantity: str
    value: float
    limit: float
    limit_verified: bool
    message: str


@dataclass(frozen=True)
class AcceptanceResult:
    """Verdicts per guaranteed quantity and the violated test conditions.

    ``guarantees_met`` says whether the pump meets its guarantee; ``valid`` whether the test was done
    under the grade's conditions. A report needs both: a pump can meet its guarantee in an invalid
    test.
    """

    grade: str
    small_pump_rule_applied: bool
    curve_method: str
    flow_head_met: bool
    verdicts: tuple[QuantityVerdict, ...]
    violations: tuple[ConditionViolation, ...]
    unchecked_conditions: tuple[str, ...]
    operating_flow_m3_s: float  # where H(Q) meets the line through the origin and (Q_G, H_G)
    head_fit: PolynomialFit | None

    def verdict(self, quantity: str) -> QuantityVerdict:
        for verdict in self.verdicts:
            if verdict.quantity == quantity:
                return verdict
        raise KeyError(quantity)

    @property
    def guarantees_met(self) -> bool:
        others = [v.passed for v in self.verdicts if v.quantity not in ("flow", "head")]
        return self.flow_head_met and all(others)

    @property
    def valid(self) -> bool:
        return not self.violations

    @property
    def passed(self) -> bool:
        return self.guarantees_met and self.valid


# --------------------------------------------------------------------------------------- judgement


def _points(name: str, data: ArrayLike, n: int | None) -> np.ndarray:
    array = np.asarray(data, dtype=float).ravel()
    if n is not None and array.size != n:
        raise ConfigError("judge_acceptance", name, f"expected {n} values (one per point), got {array.size}")
    if not np.all(np.isfinite(array)):
        raise ConfigError(
            "judge_acceptance", name, "contains NaN or infinite values; drop those points first"
        )
    return array


def _required_tolerance(grade: Grade, field: str, quantity: str) -> GradeValue:
    value = getattr(grade, field)
    if value is None:
        raise ConfigError(
            grade.source,
            f"grades.{grade.name}.{field}",
            f"a {quantity} guarantee was given but grade {grade.name} has no {quantity} tolerance; "
            "add one in a grade override file",
        )
    return value


def judge_acceptance(
    guarantee: GuaranteePoint,
    grade: Grade,
    flow_m3_s: ArrayLike,
    head_m: ArrayLike,
    efficiency: ArrayLike | None = None,
    power_w: ArrayLike | None = None,
    *,
    curve_method: str = "fit",
    head_degree: int = 2,
    efficiency_degree: int = 2,
    power_degree: int = 2,
    speed_violations: Sequence[SpeedRangeViolation] = (),
    fluctuation_fractions: Mapping[str, float] | None = None,
    instrument_uncertainty_fractions: Mapping[str, float] | None = None,
) -> AcceptanceResult:
    """Judge the guarantee against speed-converted measured points under ``grade``.

    ``fluctuation_fractions`` holds the largest fluctuation seen per quantity kind over the test's
    readings (keys: flow, head, power, torque, speed); ``instrument_uncertainty_fractions`` the
    instrument (systematic) uncertainty per quantity kind (flow, head, speed, torque, input_power).
    """
    if curve_method not in ("fit", "linear"):
        raise ConfigError(
            "judge_acceptance", "curve_method", f"expected 'fit' or 'linear', got {curve_method!r}"
        )
    flow = _points("flow_m3_s", flow_m3_s, None)
    head = _points("head_m", head_m, flow.size)
    minimum = head_degree + 1 if curve_method == "fit" else 2
    if np.unique(flow).size < minimum:
        raise AnalysisError(
            f"the {curve_method} H(Q) curve needs at least {minimum} distinct flows, "
            f"got {np.unique(flow).size}"
        )
    if guarantee.efficiency is not None and efficiency is None:
        raise ConfigError(
            "judge_acceptance", "efficiency", "an efficiency guarantee needs measured efficiencies"
        )
    if guarantee.power_w is not None and power_w is None:
        raise ConfigError("judge_acceptance", "power_w", "a power guarantee needs measured powers")
    eta_tolerance = _required_tolerance(grade, "efficiency", "efficiency") if guarantee.efficiency else None
    power_tolerance = _required_tolerance(grade, "power_plus", "power") if guarantee.power_w else None

    head_curve = make_curve(curve_method, flow, head, head_degree)
    verdicts = [_head_verdict(guarantee, grade, head_curve), _flow_verdict(guarantee, grade, head_curve)]
    flow_head_met = verdicts[0].passed or verdicts[1].passed

    operating_flow = _operating_flow(guarantee, head_curve)
    # (efficiency and power_w are known given when their guarantee is: checked above)
    if guarantee.efficiency is not None and eta_tolerance is not None and efficiency is not None:
        eta_curve = make_curve(
            curve_method, flow, _points("efficiency", efficiency, flow.size), efficiency_degree
        )
        verdicts.append(_efficiency_verdict(guarantee.efficiency, eta_tolerance, eta_curve, operating_flow))
    if guarantee.power_w is not None and power_tolerance is not None and power_w is not None:
        power_curve = make_curve(curve_method, flow, _points("power_w", power_w, flow.size), power_degree)
        verdicts.append(_power_verdict(guarantee.power_w, power_tolerance, power_curve, operating_flow))

    violations, unchecked = _condition_violations(
        guarantee,
        grade,
        flow,
        speed_violations,
        fluctuation_fractions or {},
        instrument_uncertainty_fractions or {},
    )
    return AcceptanceResult(
        grade=grade.name,
        small_pump_rule_applied=grade.small_pump_rule_applied,
        curve_method=curve_method,
        flow_head_met=flow_head_met,
        verdicts=tuple(verdicts),
        violations=tuple(violations),
        unchecked_conditions=tuple(unchecked),
        operating_flow_m3_s=operating_flow,
        head_fit=head_curve.fit if isinstance(head_curve, PolynomialCurve) else None,
    )


def _head_verdict(guarantee: GuaranteePoint, grade: Grade, curve: MeasuredCurve) -> QuantityVerdict:
    h_g = guarantee.head_m
    low, high = h_g * (1 - grade.head_minus.value), h_g * (1 + grade.head_plus.value)
    touch = TOUCH_RELATIVE * h_g
    measured = curve.value(guarantee.flow_m3_s)
    passed = math.isfinite(measured) and low - touch <= measured <= high + touch
    if math.isfinite(measured):
        detail = f"H(Q_G) = {measured:.4g} m, vertical bar {low:.4g}..{high:.4g} m"
    else:
        detail = f"Q_G lies outside the measured flow range {curve.q_min:.4g}..{curve.q_max:.4g} m3/s"
    return QuantityVerdict(
        quantity="head",
        guaranteed=h_g,
        measured=measured,
        deviation_fraction=(measured - h_g) / h_g,
        tolerance_minus_fraction=grade.head_minus.value,
        tolerance_plus_fraction=grade.head_plus.value,
        passed=passed,
        tolerance_verified=grade.head_minus.verified and grade.head_plus.verified,
        detail=detail,
    )


def _flow_verdict(guarantee: GuaranteePoint, grade: Grade, curve: MeasuredCurve) -> QuantityVerdict:
    q_g, h_g = guarantee.flow_m3_s, guarantee.head_m
    low, high = q_g * (1 - grade.flow_minus.value), q_g * (1 + grade.flow_plus.value)
    touch = TOUCH_RELATIVE * h_g
    extremes = curve.extremes(low, high)
    passed = extremes is not None and extremes[0] - touch <= h_g <= extremes[2] + touch
    crossings = curve.crossings(0.0, h_g)
    in_bar = crossings[(crossings >= low) & (crossings <= high)]
    if in_bar.size:
        measured = float(in_bar[np.argmin(np.abs(in_bar - q_g))])
    elif passed and extremes is not None:
        # A tangent touch within rounding: root finding may miss it; the extreme is where it touches.
        measured = extremes[1] if abs(extremes[0] - h_g) <= abs(extremes[2] - h_g) else extremes[3]
    elif crossings.size:
        measured = float(crossings[np.argmin(np.abs(crossings - q_g))])
    else:
        measured = math.nan
    if math.isfinite(measured):
        detail = f"H(Q) = H_G at Q = {measured:.6g} m3/s, horizontal bar {low:.6g}..{high:.6g} m3/s"
    else:
        detail = f"the curve does not reach H_G = {h_g:.4g} m within the measured flow range"
    return QuantityVerdict(
        quantity="flow",
        guaranteed=q_g,
        measured=measured,
        deviation_fraction=(measured - q_g) / q_g,
        tolerance_minus_fraction=grade.flow_minus.value,
        tolerance_plus_fraction=grade.flow_plus.value,
        passed=passed,
        tolerance_verified=grade.flow_minus.verified and grade.flow_plus.verified,
        detail=detail,
    )


def _operating_flow(guarantee: GuaranteePoint, curve: MeasuredCurve) -> float:
    """Where H(Q) crosses the line from the origin through (Q_G, H_G), nearest Q_G; NaN if nowhere."""
    crossings = curve.crossings(guarantee.head_m / guarantee.flow_m3_s, 0.0)
    if crossings.size == 0:
        return math.nan
    return float(crossings[np.argmin(np.abs(crossings - guarantee.flow_m3_s))])


def _efficiency_verdict(
    eta_g: float, tolerance: GradeValue, curve: MeasuredCurve, q: float
) -> QuantityVerdict:
    threshold = eta_g * (1 + tolerance.value)
    measured = curve.value(q) if math.isfinite(q) else math.nan
    passed = math.isfinite(measured) and measured >= threshold - TOUCH_RELATIVE * eta_g
    detail = (
        f"eta = {measured:.4f} at Q = {q:.6g} m3/s on the line through the origin, needs >= {threshold:.4f}"
        if math.isfinite(measured)
        else _NO_OPERATING_POINT
    )
    return QuantityVerdict(
        quantity="efficiency",
        guaranteed=eta_g,
        measured=measured,
        deviation_fraction=(measured - eta_g) / eta_g,
        tolerance_minus_fraction=-tolerance.value,
        tolerance_plus_fraction=None,
        passed=passed,
        tolerance_verified=tolerance.verified,
        detail=detail,
    )


def _power_verdict(p_g: float, tolerance: GradeValue, curve: MeasuredCurve, q: float) -> QuantityVerdict:
    limit = p_g * (1 + tolerance.value)
    measured = curve.value(q) if math.isfinite(q) else math.nan
    passed = math.isfinite(measured) and measured <= limit + TOUCH_RELATIVE * p_g
    detail = (
        f"P = {measured:.4g} W at Q = {q:.6g} m3/s on the line through the origin, needs <= {limit:.4g} W"
        if math.isfinite(measured)
        else _NO_OPERATING_POINT
    )
    return QuantityVerdict(
        quantity="power",
        guaranteed=p_g,
        measured=measured,
        deviation_fraction=(measured - p_g) / p_g,
        tolerance_minus_fraction=None,
        tolerance_plus_fraction=tolerance.value,
        passed=passed,
        tolerance_verified=tolerance.verified,
        detail=detail,
    )


def _condition_violations(
    guarantee: GuaranteePoint,
    grade: Grade,
    flow: np.ndarray,
    speed_violations: Sequence[SpeedRangeViolation],
    fluctuations: Mapping[str, float],
    uncertainties: Mapping[str, float],
) -> tuple[list[ConditionViolation], list[str]]:
    violations: list[ConditionViolation] = []
    unchecked: list[str] = []
    for speed in speed_violations:
        ratio_limit = speed.min_ratio if speed.ratio < speed.min_ratio else speed.max_ratio
        violations.append(
            ConditionViolation(
                "speed_range", speed.kind, speed.ratio, ratio_limit, speed.verified, speed.message
            )
        )

    grade_class = grade.grade_class
    for quantity, value in fluctuations.items():
        if quantity not in grade_class.fluctuation:
            raise ConfigError(
                "judge_acceptance",
                f"fluctuation_fractions.{quantity}",
                f"unknown quantity; expected one of {list(QUANTITIES_FLUCTUATION)}",
            )
        limit = grade_class.fluctuation[quantity]
        if not value <= limit.value:
            violations.append(
                ConditionViolation(
                    "fluctuation",
                    quantity,
                    value,
                    limit.value,
                    limit.verified,
                    f"{quantity} fluctuated +-{value:.2%}, grade {grade.name} allows +-{limit.value:.2%}",
                )
            )

    band = grade_class.guarantee_band_fraction
    required = grade_class.min_points_near_guarantee
    q_g = guarantee.flow_m3_s
    near = int(np.count_nonzero(np.abs(flow / q_g - 1.0) <= band.value * (1 + 1e-12)))
    if near < required.value:
        violations.append(
            ConditionViolation(
                "points_near_guarantee",
                "flow",
                float(near),
                required.value,
                required.verified and band.verified,
                f"{near} point(s) within {1 - band.value:.2f}..{1 + band.value:.2f} Q_G, grade {grade.name} "
                f"needs at least {int(required.value)}",
            )
        )

    for quantity, value in uncertainties.items():
        if quantity not in QUANTITIES_UNCERTAINTY:
            raise ConfigError(
                "judge_acceptance",
                f"instrument_uncertainty_fractions.{quantity}",
                f"unknown quantity; expected one of {list(QUANTITIES_UNCERTAINTY)}",
            )
        uncertainty_limit = grade_class.uncertainty_limits.get(quantity)
        if uncertainty_limit is None:
            unchecked.append(f"uncertainty of {quantity}: grade {grade.name} has no limit")
            continue
        if not value <= uncertainty_limit.value:
            violations.append(
                ConditionViolation(
                    "uncertainty",
                    quantity,
                    value,
                    uncertainty_limit.value,
                    uncertainty_limit.verified,
                    f"{quantity} instrument uncertainty {value:.2%} exceeds the grade {grade.name} "
                    f"limit {uncertainty_limit.value:.2%}",
                )
            )
    return violations, unchecked
