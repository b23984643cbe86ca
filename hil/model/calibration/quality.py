"""How well a calibration curve fits its points: residuals, chi-squared per degree of freedom, Birge ratio.

Each point carries its own random uncertainty, so chi-squared per degree of freedom says whether the
scatter about the curve is what those uncertainties predict. Consecutive samples are correlated, so
the stated ``s / sqrt(n)`` can understate the scatter: above 1, the random covariance is scaled up by
that ratio (the Birge ratio), never down (a ratio below 1 is as likely chance as overstated
uncertainties, and shrinking the covariance on it would claim a precision the data do not show).

Imports numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]

#: chi-squared per degree of freedom above which a fit is flagged. The Birge ratio already widens the
#: covariance above 1, but far above it (3 is well outside the chance spread of chi2/dof for the
#: handful of dof a bench run gives) the curve itself is suspect, not just its uncertainty.
CHI2_PER_DOF_WARNING = 3.0

NO_DOF_NOTE = "no degrees of freedom left to estimate the scatter (as many points as coefficients)"


@dataclass(frozen=True)
class FitSummary:
    """How well one curve fits its points: what ``hil calibrate`` prints as residuals."""

    name: str
    points: int
    dof: int
    chi2_per_dof: float  # NaN without degrees of freedom
    rms_relative_residual: float
    max_relative_residual: float
    birge_scale: float  # factor the random covariance was multiplied by (>= 1)


def birge_ratio(chi2: float, dof: int) -> float:
    """The factor the random covariance is multiplied by: ``max(1, chi2 / dof)``, 1 without dof."""
    return max(1.0, chi2 / dof) if dof > 0 else 1.0


def fit_summary(
    name: str, y: np.ndarray, fitted: np.ndarray, chi2: float, dof: int, birge: float
) -> FitSummary:
    """The summary of one fit from its data, fitted values, chi-squared, dof and Birge scale."""
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(y != 0, (y - fitted) / np.abs(y), np.nan)
    finite = relative[np.isfinite(relative)]
    return FitSummary(
        name=name,
        points=int(y.size),
        dof=dof,
        chi2_per_dof=chi2 / dof if dof > 0 else math.nan,
        rms_relative_residual=float(np.sqrt(np.mean(finite**2))) if finite.size else math.nan,
        max_relative_residual=float(np.max(np.abs(finite))) if finite.size else math.nan,
        birge_scale=birge,
    )


def fit_quality_warnings(summaries: list[FitSummary]) -> list[str]:
    """A warning for each fit whose chi2/dof exceeds :data:`CHI2_PER_DOF_WARNING` or has no dof."""
    warnings = []
    for summary in summaries:
        if summary.dof <= 0:
            warnings.append(f"fit '{summary.name}': {NO_DOF_NOTE}; its +- is not shown")
        elif summary.chi2_per_dof > CHI2_PER_DOF_WARNING:
            warnings.append(
                f"fit '{summary.name}': chi2/dof {summary.chi2_per_dof:.1f} > {CHI2_PER_DOF_WARNING:g}: "
                "the points scatter far more than their stated uncertainty; likely causes: polynomial "
                "order too low for the curve, unsteady operating points, or a bad instrument"
            )
    return warnings
