"""Least-squares polynomial fits of the characteristic curves: H(Q), P(Q), eta(Q), psi(phi), eta(phi).

Fit the points *after* conversion to the specified speed (or in dimensionless form, which needs no
conversion). Each fit carries its coefficients in :func:`numpy.polyval` order (highest power first),
the parameter covariance, the residual standard deviation and the range of x it was fitted over, so
that nobody evaluates it outside the data without saying so.

Method: ordinary least squares on the Vandermonde matrix by :func:`weighted_least_squares`, the one
linear solver of the harness (calibration's weighted fits use it too): columns scaled to unit norm
(flows in m3/s make the raw columns differ by many orders of magnitude), solved by SVD
(:func:`numpy.linalg.lstsq`). The covariance is ``s^2 (X^T X)^-1`` with ``s^2`` the residual variance
on ``n - (degree + 1)`` degrees of freedom, i.e. the scatter of the points about the curve sets the
parameter uncertainty. With exactly ``degree + 1`` points the curve interpolates them and the
covariance and residual std are NaN (no scatter information).

Imports numpy, :mod:`hil.core.errors` and :mod:`hil.analysis` (for :class:`AnalysisError`) only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hil.analysis import AnalysisError
from hil.core.errors import ConfigError

FloatOrArray = float | np.ndarray

_RANGE_SLACK = 1e-9  # relative to the fitted span: rounding at the ends is not extrapolation


@dataclass(frozen=True)
class PolynomialFit:
    """A fitted polynomial ``y(x)``; coefficients highest power first (numpy.polyval convention)."""

    coefficients: np.ndarray
    covariance: np.ndarray
    residual_std: float
    x_min: float
    x_max: float
    n_points: int

    @property
    def degree(self) -> int:
        return len(self.coefficients) - 1

    def __call__(self, x: ArrayLike) -> FloatOrArray:
        """Evaluate without any range check (for plotting or when the caller has checked)."""
        y = np.polyval(self.coefficients, np.asarray(x, dtype=float))
        return float(y) if np.ndim(y) == 0 else y

    def contains(self, x: ArrayLike) -> bool:
        """Whether every ``x`` lies inside the fitted range (ends included, rounding forgiven)."""
        slack = _RANGE_SLACK * max(self.x_max - self.x_min, abs(self.x_max), 1e-300)
        xs = np.asarray(x, dtype=float)
        return bool(np.all((xs >= self.x_min - slack) & (xs <= self.x_max + slack)))

    def evaluate(self, x: ArrayLike, allow_extrapolation: bool = False) -> FloatOrArray:
        """Evaluate, refusing x outside the fitted range unless extrapolation is asked for."""
        if not allow_extrapolation and not self.contains(x):
            raise AnalysisError(
                f"x = {x!r} lies outside the fitted range {self.x_min:.6g}..{self.x_max:.6g}; "
                "pass allow_extrapolation=True to extrapolate deliberately"
            )
        return self(x)

    def standard_error(self, x: ArrayLike) -> FloatOrArray:
        """Standard error of the fitted curve at ``x`` (from the covariance: ``sqrt(v^T C v)``)."""
        xs = np.asarray(x, dtype=float)
        powers = np.stack([xs ** (self.degree - i) for i in range(self.degree + 1)], axis=-1)
        variance = np.einsum("...i,ij,...j->...", powers, self.covariance, powers)
        se = np.sqrt(np.maximum(variance, 0.0))
        return float(se) if se.ndim == 0 else se

    def derivative_coefficients(self) -> np.ndarray:
        """Coefficients of dy/dx, same convention."""
        return np.polyder(self.coefficients)


@dataclass(frozen=True)
class LinearFit:
    """Result of :func:`weighted_least_squares`: parameters, their covariance, chi-squared, dof."""

    parameters: np.ndarray
    covariance: np.ndarray
    chi2: float
    dof: int


def weighted_least_squares(
    design: np.ndarray, y: np.ndarray, uncertainty: np.ndarray | None = None, what: str = "a fit"
) -> LinearFit:
    """Linear least squares ``design @ p ~ y``, the one solver every fit of the harness uses.

    With ``uncertainty`` (each point's 1-sigma), rows are weighted by ``1 / u``, ``chi2`` is the
    weighted residual sum of squares and the covariance ``(A^T A)^-1`` follows from the stated
    uncertainties alone (a caller may scale it by a Birge ratio). Without, every point weighs the same,
    ``chi2`` is the residual sum of squares and the covariance is ``s^2 (X^T X)^-1`` with
    ``s^2 = chi2 / dof`` (NaN without degrees of freedom): the scatter sets the uncertainty.

    Columns are scaled to unit norm before an SVD solve (:func:`numpy.linalg.lstsq`): raw columns
    (powers of flows in m3/s) differ by many orders of magnitude. A rank-deficient design raises
    :class:`~hil.analysis.AnalysisError` naming ``what`` was being fitted.
    """
    a = design if uncertainty is None else design / uncertainty[:, None]
    b = y if uncertainty is None else y / uncertainty
    n_terms = design.shape[1]
    norms = np.sqrt((a * a).sum(axis=0))
    norms[norms == 0] = 1.0
    scaled = a / norms
    solution, _, rank, _ = np.linalg.lstsq(scaled, b, rcond=None)
    if rank < n_terms:
        raise AnalysisError(
            f"{what} with {n_terms} coefficients needs at least {n_terms} distinct points; "
            f"the points span only rank {rank}"
        )
    parameters = solution / norms
    residual = b - a @ parameters
    chi2 = float(residual @ residual)
    dof = int(y.size - n_terms)
    if uncertainty is not None:
        covariance = np.linalg.inv(scaled.T @ scaled) / np.outer(norms, norms)
    elif dof > 0:
        covariance = chi2 / dof * np.linalg.inv(scaled.T @ scaled) / np.outer(norms, norms)
    else:
        covariance = np.full((n_terms, n_terms), np.nan)
    return LinearFit(parameters, covariance, chi2, dof)


def fit_polynomial(x: ArrayLike, y: ArrayLike, degree: int) -> PolynomialFit:
    """Least-squares polynomial of ``degree`` through the points (x, y); see the module docstring."""
    if isinstance(degree, bool) or not isinstance(degree, int) or degree < 0:
        raise ConfigError("fit_polynomial", "degree", f"expected an integer >= 0, got {degree!r}")
    xs = np.asarray(x, dtype=float).ravel()
    ys = np.asarray(y, dtype=float).ravel()
    if xs.shape != ys.shape:
        raise ConfigError("fit_polynomial", "y", f"expected as many values as x ({xs.size}), got {ys.size}")
    if not (np.all(np.isfinite(xs)) and np.all(np.isfinite(ys))):
        raise ConfigError("fit_polynomial", "x/y", "contain NaN or infinite values; drop those points first")
    n_terms = degree + 1
    if xs.size < n_terms:
        raise AnalysisError(f"a degree-{degree} fit needs at least {n_terms} points, got {xs.size}")
    fit = weighted_least_squares(np.vander(xs, n_terms), ys, what=f"a degree-{degree} fit")
    residual_std = math.sqrt(fit.chi2 / fit.dof) if fit.dof > 0 else math.nan
    return PolynomialFit(
        fit.parameters, fit.covariance, residual_std, float(xs.min()), float(xs.max()), int(xs.size)
    )


def fit_head_curve(flow_m3_s: ArrayLike, head_m: ArrayLike, degree: int = 2) -> PolynomialFit:
    """H(Q) at the specified speed; a parabola is the usual shape of a centrifugal pump's curve."""
    return fit_polynomial(flow_m3_s, head_m, degree)


def fit_power_curve(flow_m3_s: ArrayLike, power_w: ArrayLike, degree: int = 2) -> PolynomialFit:
    """P(Q) (shaft or electrical input) at the specified speed."""
    return fit_polynomial(flow_m3_s, power_w, degree)


def fit_efficiency_curve(flow_m3_s: ArrayLike, efficiency: ArrayLike, degree: int = 2) -> PolynomialFit:
    """eta(Q) at the specified speed; degree 3 follows a skewed efficiency hill better."""
    return fit_polynomial(flow_m3_s, efficiency, degree)


def fit_head_coefficient_curve(
    flow_coefficient: ArrayLike, head_coefficient: ArrayLike, degree: int = 2
) -> PolynomialFit:
    """psi(phi): the speed-independent form of H(Q), what a pump model file stores."""
    return fit_polynomial(flow_coefficient, head_coefficient, degree)


def fit_efficiency_vs_flow_coefficient(
    flow_coefficient: ArrayLike, efficiency: ArrayLike, degree: int = 2
) -> PolynomialFit:
    """eta(phi): efficiency against the flow coefficient."""
    return fit_polynomial(flow_coefficient, efficiency, degree)


@dataclass(frozen=True)
class PumpCurveFits:
    """The characteristic's fits at the specified speed (None where the quantity was not measured)."""

    head: PolynomialFit
    power: PolynomialFit | None
    efficiency: PolynomialFit | None


def fit_pump_curves(
    flow_m3_s: ArrayLike,
    head_m: ArrayLike,
    power_w: ArrayLike | None = None,
    efficiency: ArrayLike | None = None,
    head_degree: int = 2,
    power_degree: int = 2,
    efficiency_degree: int = 2,
) -> PumpCurveFits:
    """Fit H(Q), and P(Q) and eta(Q) when given, over the same speed-converted points."""
    return PumpCurveFits(
        head=fit_head_curve(flow_m3_s, head_m, head_degree),
        power=None if power_w is None else fit_power_curve(flow_m3_s, power_w, power_degree),
        efficiency=None
        if efficiency is None
        else fit_efficiency_curve(flow_m3_s, efficiency, efficiency_degree),
    )
