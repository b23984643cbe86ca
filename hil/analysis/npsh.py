"""NPSH3 from a suction-pressure sweep at constant flow and speed, its NPSH3(Q) curve and tolerance.

A sweep is a series of (NPSHA, head) readings taken while the inlet pressure is lowered step by
step at constant flow and speed. NPSH3 is the NPSHA at which the head has fallen 3 % below its
non-cavitating (reference) value.

Choices, and why:

- Reference head: the mean head of the ``reference_points`` readings with the highest NPSHA
  (default 3): they are the "ample inlet pressure" readings of the procedure. A caller who measured
  the reference separately passes ``reference_head_m`` instead. Every reference reading must itself
  lie above the threshold, otherwise the sweep started inside cavitation and there is no reference.
- Crossing: walking from high to low NPSHA, the first pair of consecutive readings whose heads
  bracket the threshold ``(1 - drop) H_ref``; NPSH3 is interpolated linearly between the two
  (the reference's own wording, and with the step refined near the knee the two points are close,
  so a higher-order fit through the steep breakdown would add model error, not accuracy).
- Uncertainty: first-order propagation through that interpolation. With ``s = (T - h_i)/(h_j - h_i)``
  and ``NPSH3 = (1 - s) a_i + s a_j``:
  ``dN/da_i = 1 - s``, ``dN/da_j = s``, ``dN/dh_i = (a_j - a_i)(s - 1)/(h_j - h_i)``,
  ``dN/dh_j = -(a_j - a_i) s/(h_j - h_i)``, ``dN/dH_ref = (1 - drop)(a_j - a_i)/(h_j - h_i)``.
  The reference head's uncertainty is taken equal to a single reading's (not divided by the square
  root of the number of reference points: head uncertainty is mostly systematic and does not
  average out), which is conservative.

Imports numpy, :mod:`hil.core.errors` and sibling :mod:`hil.analysis` modules only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hil.analysis import AnalysisError
from hil.analysis.acceptance import QuantityVerdict
from hil.analysis.fits import PolynomialFit, fit_polynomial
from hil.analysis.grades import Grade
from hil.core.errors import ConfigError

DEFAULT_HEAD_DROP_FRACTION = 0.03


@dataclass(frozen=True)
class Npsh3Result:
    """NPSH3 of one sweep with the numbers that produced it."""

    npsh3_m: float
    uncertainty_m: float
    reference_head_m: float
    threshold_head_m: float
    head_drop_fraction: float
    bracket_indices: tuple[int, int]  # indices into the caller's arrays: last above, first below


def npsh3_from_sweep(
    npsha_m: ArrayLike,
    head_m: ArrayLike,
    *,
    head_drop_fraction: float = DEFAULT_HEAD_DROP_FRACTION,
    reference_head_m: float | None = None,
    reference_points: int = 3,
    head_uncertainty_m: ArrayLike = 0.0,
    npsha_uncertainty_m: ArrayLike = 0.0,
    reference_head_uncertainty_m: float | None = None,
) -> Npsh3Result:
    """Interpolate the NPSHA at which the head has dropped ``head_drop_fraction`` below the reference.

    Readings may come in any order (they are sorted by NPSHA, highest first). Uncertainties are a
    scalar for every reading or one value per reading. Raises :class:`AnalysisError` when the sweep
    never reaches the drop (continue lowering the inlet pressure) or starts inside cavitation.
    """
    if not 0 < head_drop_fraction < 1:
        raise ConfigError(
            "npsh3_from_sweep",
            "head_drop_fraction",
            f"expected a fraction in (0, 1), got {head_drop_fraction!r}",
        )
    npsha = np.asarray(npsha_m, dtype=float).ravel()
    head = np.asarray(head_m, dtype=float).ravel()
    if npsha.shape != head.shape:
        raise ConfigError(
            "npsh3_from_sweep", "head_m", f"expected {npsha.size} values (one per NPSHA), got {head.size}"
        )
    if not (np.all(np.isfinite(npsha)) and np.all(np.isfinite(head))):
        raise ConfigError("npsh3_from_sweep", "npsha_m/head_m", "contain NaN or infinite values")
    u_head = np.broadcast_to(np.asarray(head_uncertainty_m, dtype=float), head.shape)
    u_npsha = np.broadcast_to(np.asarray(npsha_uncertainty_m, dtype=float), npsha.shape)

    order = np.argsort(-npsha, kind="stable")
    if reference_head_m is None:
        if not (isinstance(reference_points, int) and reference_points >= 1):
            raise ConfigError(
                "npsh3_from_sweep", "reference_points", f"expected an integer >= 1, got {reference_points!r}"
            )
        if npsha.size < reference_points + 1:
            raise AnalysisError(
                f"a sweep needs the {reference_points} reference reading(s) plus at least one more, "
                f"got {npsha.size}"
            )
        reference = float(head[order[:reference_points]].mean())
        u_reference = float(np.max(u_head[order[:reference_points]]))
        start = reference_points
    else:
        if not (math.isfinite(reference_head_m) and reference_head_m > 0):
            raise ConfigError(
                "npsh3_from_sweep", "reference_head_m", f"expected a positive head, got {reference_head_m!r}"
            )
        reference = float(reference_head_m)
        u_reference = float(np.max(u_head)) if u_head.size else 0.0
        start = 0
    if reference_head_uncertainty_m is not None:
        u_reference = float(reference_head_uncertainty_m)
    threshold = (1.0 - head_drop_fraction) * reference

    if np.any(head[order[: max(start, 1)]] < threshold):
        raise AnalysisError(
            "the sweep starts inside cavitation: its highest-NPSHA reading(s) lie below the "
            f"{head_drop_fraction:.0%} threshold; start at a higher inlet pressure"
        )
    if order.size < 2:
        raise AnalysisError(f"a sweep needs at least two readings, got {order.size}")
    # Walk from high to low NPSHA; the first reading below the threshold closes the bracket.
    for k in range(max(start, 1), order.size):
        i, j = int(order[k - 1]), int(order[k])
        if head[i] >= threshold > head[j]:
            break
    else:
        raise AnalysisError(
            f"the head never fell {head_drop_fraction:.0%} below the reference {reference:.4g} m "
            f"(lowest {head.min():.4g} m, threshold {threshold:.4g} m): lower the inlet pressure further"
        )

    a_i, a_j, h_i, h_j = npsha[i], npsha[j], head[i], head[j]
    s = (threshold - h_i) / (h_j - h_i)
    npsh3 = float((1.0 - s) * a_i + s * a_j)
    slope = (a_j - a_i) / (h_j - h_i)
    uncertainty = math.sqrt(
        ((1.0 - s) * u_npsha[i]) ** 2
        + (s * u_npsha[j]) ** 2
        + (slope * (s - 1.0) * u_head[i]) ** 2
        + (slope * s * u_head[j]) ** 2
        + ((1.0 - head_drop_fraction) * slope * u_reference) ** 2
    )
    return Npsh3Result(npsh3, uncertainty, reference, threshold, head_drop_fraction, (i, j))


def fit_npsh3_curve(flow_m3_s: ArrayLike, npsh3_m: ArrayLike, degree: int = 2) -> PolynomialFit:
    """NPSH3(Q) through the NPSH3 values of several sweeps (a type I test)."""
    return fit_polynomial(flow_m3_s, npsh3_m, degree)


def npsh3_tolerance_m(grade: Grade, guaranteed_npsh3_m: float) -> float:
    """Allowed excess of NPSH3 over its guarantee: the larger of the fraction and the absolute floor."""
    grade_class = grade.grade_class
    return max(
        grade_class.npsh3_tolerance_fraction.value * guaranteed_npsh3_m,
        grade_class.npsh3_tolerance_min_m.value,
    )


def judge_npsh3(guaranteed_npsh3_m: float, measured_npsh3_m: float, grade: Grade) -> QuantityVerdict:
    """NPSH3 guarantee met when ``measured <= guaranteed + tolerance`` (lower NPSH3 is better)."""
    if not (math.isfinite(guaranteed_npsh3_m) and guaranteed_npsh3_m > 0):
        raise ConfigError(
            "judge_npsh3", "guaranteed_npsh3_m", f"expected a positive value, got {guaranteed_npsh3_m!r}"
        )
    tolerance = npsh3_tolerance_m(grade, guaranteed_npsh3_m)
    limit = guaranteed_npsh3_m + tolerance
    passed = math.isfinite(measured_npsh3_m) and measured_npsh3_m <= limit * (1 + 1e-12)
    grade_class = grade.grade_class
    return QuantityVerdict(
        quantity="npsh3",
        guaranteed=guaranteed_npsh3_m,
        measured=measured_npsh3_m,
        deviation_fraction=(measured_npsh3_m - guaranteed_npsh3_m) / guaranteed_npsh3_m,
        tolerance_minus_fraction=None,
        tolerance_plus_fraction=tolerance / guaranteed_npsh3_m,
        passed=passed,
        tolerance_verified=grade_class.npsh3_tolerance_fraction.verified
        and grade_class.npsh3_tolerance_min_m.verified,
        detail=f"NPSH3 {measured_npsh3_m:.3f} m, allowed up to {limit:.3f} m "
        f"(+{tolerance:.3f} m: larger of {grade_class.npsh3_tolerance_fraction.value:.0%} and "
        f"{grade_class.npsh3_tolerance_min_m.value:.2f} m)",
    )
