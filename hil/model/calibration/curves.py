"""The calibration's curve fits: psi(phi), sigma3(phi), eta(phi) and the drive's efficiency.

Without torque: the wire-to-water eta(phi) with its relative drive map. With torque: the pump's own
eta(phi) (the same through-origin polynomial, no drive factor) and the drive's absolute efficiency
over speed and load fractions.

Why these forms, what the uncertainties mean and how the systematic part enters: see the package
docstring (:mod:`hil.model.calibration`). Linear fits solve through
:func:`hil.analysis.fits.weighted_least_squares`, the harness's one least-squares solver; the
wire-to-water fit is bilinear in its two coefficient sets and finishes with a Levenberg-Marquardt
refinement (:func:`scipy.optimize.least_squares`) started from that solver's answer.

Imports numpy, scipy.optimize, :mod:`hil.analysis`, :mod:`hil.model.pump_model` and
:mod:`hil.model.calibration.quality`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from hil.analysis import AnalysisError
from hil.analysis.fits import weighted_least_squares
from hil.model.calibration.quality import FitSummary, birge_ratio, fit_summary
from hil.model.pump_model import FittedPolynomial

DISTINCT_RELATIVE_GAP = 0.02
"""Flow coefficients (or speeds) closer than 2 % count as one value when choosing a fit's degree."""
DEFAULT_PSI_DEGREE = 2
DEFAULT_ETA_DEGREE = 4
DEFAULT_SIGMA3_DEGREE = 2
MAX_DRIVE_DEGREE = 2

Array = NDArray[np.float64]


@dataclass(frozen=True)
class CurveFit:
    """A fitted polynomial in phi (numpy.polyval order) with its 1-sigma covariance and fit summary."""

    polynomial: FittedPolynomial
    summary: FitSummary
    residuals: Array  # data minus fit, one per point


@dataclass(frozen=True)
class WireToWaterFit:
    """``eta_ww = eta(phi) x drive(s, l)``: the efficiency curve at the reference speed and the drive factor.

    ``drive_coefficients[i][j]`` multiplies ``s**i * l**j`` (the :class:`~hil.model.pump_model.DriveEfficiencyMap`
    convention); ``drive(1, l) = 1`` for every ``l``.
    """

    eta: FittedPolynomial
    drive_coefficients: tuple[tuple[float, ...], ...]
    drive_values: Array  # the fitted drive factor at each point
    drive_std: Array  # its 1-sigma at each point
    summary: FitSummary
    residuals: Array

    def drive(self, speed_fraction: ArrayLike, load_fraction: ArrayLike) -> Array:
        """The drive factor (relative wire-to-water efficiency) at speed and load fractions."""
        return np.polynomial.polynomial.polyval2d(
            np.asarray(speed_fraction, dtype=float),
            np.asarray(load_fraction, dtype=float),
            np.asarray(self.drive_coefficients),
        )


def distinct_count(values: Array) -> int:
    """How many values differ from their sorted neighbour by more than DISTINCT_RELATIVE_GAP."""
    ordered = np.sort(np.asarray(values, dtype=float))
    if ordered.size == 0:
        return 0
    scale = np.maximum(np.abs(ordered[1:]), np.abs(ordered[:-1]))
    gaps = np.diff(ordered) > DISTINCT_RELATIVE_GAP * np.where(scale > 0, scale, 1.0)
    return 1 + int(np.count_nonzero(gaps))


def _weighted_lstsq(design: Array, y: Array, u: Array) -> tuple[Array, Array, float, int]:
    """Weighted linear least squares: (parameters, covariance from the stated u, chi2, dof)."""
    fit = weighted_least_squares(design, y, u)
    return fit.parameters, fit.covariance, fit.chi2, fit.dof


def _systematic_covariance(coefficients: Array, rel_y: float, rel_x: float) -> Array:
    """Covariance of polyval-order coefficients from common scale errors of the value and of phi."""
    powers = np.arange(coefficients.size - 1, -1, -1, dtype=float)
    jy = coefficients
    jx = -powers * coefficients
    return rel_y**2 * np.outer(jy, jy) + rel_x**2 * np.outer(jx, jx)


def _as_fitted(coefficients: Array, covariance: Array) -> FittedPolynomial:
    return FittedPolynomial(
        tuple(float(c) for c in coefficients), tuple(tuple(float(v) for v in row) for row in covariance)
    )


def _polyfit(
    name: str, phi: Array, y: Array, u_y: Array, u_phi: Array, degree: int, rel_y_sys: float, rel_x_sys: float
) -> CurveFit:
    """Weighted polynomial fit in phi (effective variance for the phi error), plus the systematic part."""
    scale = float(np.max(np.abs(phi)))
    x = phi / scale
    design = np.vander(x, degree + 1)
    u_eff = u_y
    params = np.zeros(degree + 1)
    for _ in range(2):  # the second pass uses the first pass's slope for the phi uncertainty
        params, cov, chi2, dof = _weighted_lstsq(design, y, u_eff)
        slope = np.polyval(np.polyder(params), x) / scale if degree > 0 else np.zeros_like(x)
        u_eff = np.sqrt(u_y**2 + (slope * u_phi) ** 2)
    birge = birge_ratio(chi2, dof)
    powers = np.arange(degree, -1, -1, dtype=float)
    to_phi = scale**-powers
    coefficients = params * to_phi
    covariance = birge * cov * np.outer(to_phi, to_phi)
    covariance = covariance + _systematic_covariance(coefficients, rel_y_sys, rel_x_sys)
    fitted = np.polyval(coefficients, phi)
    return CurveFit(
        _as_fitted(coefficients, covariance), fit_summary(name, y, fitted, chi2, dof, birge), y - fitted
    )


def fit_psi(
    phi: ArrayLike,
    psi: ArrayLike,
    u_psi: ArrayLike,
    u_phi: ArrayLike | float = 0.0,
    degree: int = DEFAULT_PSI_DEGREE,
    systematic_relative_psi: float = 0.0,
    systematic_relative_phi: float = 0.0,
) -> CurveFit:
    """Head coefficient curve ``psi(phi)``: weighted polynomial, degree lowered to fit the data.

    ``u_psi`` and ``u_phi`` are each point's random 1-sigma uncertainties; the ``systematic_relative_*``
    arguments are the common 1-sigma scale errors (see the module docstring).
    """
    x, y = np.asarray(phi, dtype=float), np.asarray(psi, dtype=float)
    u_y = np.broadcast_to(np.asarray(u_psi, dtype=float), x.shape)
    u_x = np.broadcast_to(np.asarray(u_phi, dtype=float), x.shape)
    distinct = distinct_count(x)
    if distinct < 1:
        raise AnalysisError("no operating points to fit psi(phi) to")
    return _polyfit(
        "psi", x, y, u_y, u_x, min(degree, distinct - 1), systematic_relative_psi, systematic_relative_phi
    )


def fit_sigma3(
    phi: ArrayLike, sigma3: ArrayLike, u_sigma3: ArrayLike, degree: int = DEFAULT_SIGMA3_DEGREE
) -> CurveFit:
    """Cavitation coefficient curve ``sigma3(phi)`` from NPSH3 points (1-sigma uncertainties)."""
    x, y = np.asarray(phi, dtype=float), np.asarray(sigma3, dtype=float)
    u_y = np.broadcast_to(np.asarray(u_sigma3, dtype=float), x.shape)
    distinct = distinct_count(x)
    if distinct < 1:
        raise AnalysisError("no NPSH3 points to fit sigma3(phi) to")
    return _polyfit("sigma3", x, y, u_y, np.zeros_like(x), min(degree, distinct - 1), 0.0, 0.0)


_DRIVE_TERMS = (((1, 0), (1, 1)), ((1, 0), (1, 1), (2, 0), (2, 1)))
"""Drive-factor terms with two and with three or more tested speeds: ``(p, j)`` is the basis function
``(s - 1)^p l^j``. Every term vanishes at s = 1, so the factor is 1 at the reference speed."""


def _drive_basis(speed_fraction: Array, load_fraction: Array, terms: Sequence[tuple[int, int]]) -> Array:
    ds = speed_fraction - 1.0
    if not terms:
        return np.zeros((speed_fraction.size, 0))
    return np.stack([ds**p * load_fraction**j for p, j in terms], axis=1)


def _drive_coefficients(a: Array, terms: Sequence[tuple[int, int]]) -> Array:
    """``1 + sum_k a_k (s - 1)^p_k l^j_k`` as a polyval2d matrix in s (rows) and l (columns)."""
    rows = 1 + max((p for p, _ in terms), default=0)
    cols = 1 + max((j for _, j in terms), default=0)
    out = np.zeros((rows, cols))
    out[0, 0] = 1.0
    for coefficient, (p, j) in zip(a, terms):
        for i in range(p + 1):  # (s - 1)^p = sum_i C(p, i) s^i (-1)^(p - i)
            out[i, j] += coefficient * math.comb(p, i) * (-1.0) ** (p - i)
    return out


def fit_wire_to_water(
    phi: ArrayLike,
    eta: ArrayLike,
    u_eta: ArrayLike,
    speed_fraction: ArrayLike,
    load_fraction: ArrayLike,
    u_phi: ArrayLike | float = 0.0,
    eta_degree: int = DEFAULT_ETA_DEGREE,
    systematic_relative_eta: float = 0.0,
    systematic_relative_phi: float = 0.0,
) -> WireToWaterFit:
    """Fit ``eta_ww = eta(phi) x drive(s, l)`` with ``eta(0) = 0`` and ``drive(1, l) = 1``.

    ``eta(phi) = sum_k c_k phi^k`` (k = 1..eta_degree, fewer with fewer distinct phi). The drive factor
    is ``1 + (s - 1)(a1 + a2 l)`` with two tested speeds, ``+ (s - 1)^2 (a3 + a4 l)`` with three or
    more, 1 with one: at part speed its efficiency falls more at light load, where fixed and switching losses
    weigh more (the bench shows exactly that). Terms the data cannot separate are dropped.
    ``speed_fraction`` is each point's speed over the reference speed, ``load_fraction`` its
    shaft-power equivalent ``P_h / eta(phi)`` over the rated one (see the module docstring).
    """
    x_phi = np.asarray(phi, dtype=float)
    y = np.asarray(eta, dtype=float)
    s = np.asarray(speed_fraction, dtype=float)
    load = np.asarray(load_fraction, dtype=float)
    u_y = np.broadcast_to(np.asarray(u_eta, dtype=float), x_phi.shape)
    u_x = np.broadcast_to(np.asarray(u_phi, dtype=float), x_phi.shape)
    distinct_phi = distinct_count(x_phi)
    if distinct_phi < 1:
        raise AnalysisError("no operating points to fit eta(phi) to")
    m = min(eta_degree, distinct_phi)
    if m > y.size:
        raise AnalysisError(f"fitting eta(phi) with {m} terms needs at least {m} points, got {y.size}")
    speeds = distinct_count(s)
    terms = list(_DRIVE_TERMS[min(speeds, 3) - 2]) if speeds > 1 else []
    scale = float(np.max(np.abs(x_phi)))
    x = x_phi / scale
    phi_powers = np.stack([x**k for k in range(1, m + 1)], axis=1)  # eta = sum b_k x^k
    slope_powers = np.stack([k * x ** (k - 1) for k in range(1, m + 1)], axis=1) / scale

    while True:
        basis = _drive_basis(s, load, terms)
        count = m + len(terms)
        if count <= y.size and np.linalg.matrix_rank(np.hstack([phi_powers, basis])) == count:
            break
        if not terms:
            raise AnalysisError("the efficiency points cannot support an eta(phi) fit")
        terms.pop()

    def model(theta: Array) -> tuple[Array, Array]:
        eta_ref = phi_powers @ theta[:m]
        return eta_ref, 1.0 + basis @ theta[m:]

    def jacobian(theta: Array, u: Array) -> Array:
        eta_ref, drive = model(theta)
        return np.hstack([phi_powers * drive[:, None], basis * eta_ref[:, None]]) / u[:, None]

    u_eff = u_y.copy()
    start, _, _, _ = _weighted_lstsq(phi_powers, y, u_eff)  # start: no drive effect
    theta = np.concatenate([start, np.zeros(len(terms))])
    for _ in range(2):  # the second pass uses the first pass's slope for the phi uncertainty
        result = optimize.least_squares(
            lambda t, u=u_eff: np.prod(model(t), axis=0) / u - y / u,
            theta,
            jac=lambda t, u=u_eff: jacobian(t, u),
            method="lm",
            xtol=1e-14,
            ftol=1e-14,
            gtol=1e-14,
        )
        theta = result.x
        drive_now = model(theta)[1]
        u_eff = np.sqrt(u_y**2 + (slope_powers @ theta[:m] * drive_now * u_x) ** 2)
    j = jacobian(theta, u_eff)
    try:
        cov = np.linalg.inv(j.T @ j)
    except np.linalg.LinAlgError as exc:
        raise AnalysisError(
            "the efficiency points cannot separate eta(phi) from the speed and load effect; "
            "test more flow coefficients at each speed"
        ) from exc
    eta_ref, drive_values = model(theta)
    fitted = eta_ref * drive_values
    residual = (fitted - y) / u_eff
    chi2, dof = float(residual @ residual), int(y.size - theta.size)
    birge = birge_ratio(chi2, dof)
    cov = birge * cov

    # eta in polyval order: [c_m, ..., c_1, 0] with c_k = b_k / scale^k; the constant is exactly 0.
    to_phi = scale ** -np.arange(1, m + 1, dtype=float)
    coefficients = np.concatenate([(theta[:m] * to_phi)[::-1], [0.0]])
    eta_cov = np.zeros((m + 1, m + 1))
    eta_cov[:m, :m] = (cov[:m, :m] * np.outer(to_phi, to_phi))[::-1, ::-1]
    eta_cov += _systematic_covariance(coefficients, systematic_relative_eta, systematic_relative_phi)
    drive_cov = cov[m:, m:]
    drive_std = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", basis, drive_cov, basis), 0.0))
    return WireToWaterFit(
        eta=_as_fitted(coefficients, eta_cov),
        drive_coefficients=tuple(
            tuple(float(v) for v in row) for row in _drive_coefficients(theta[m:], terms)
        ),
        drive_values=drive_values,
        drive_std=drive_std,
        summary=fit_summary("eta", y, fitted, chi2, dof, birge),
        residuals=y - fitted,
    )


def fit_pump_efficiency(
    phi: ArrayLike,
    eta: ArrayLike,
    u_eta: ArrayLike,
    u_phi: ArrayLike | float = 0.0,
    eta_degree: int = DEFAULT_ETA_DEGREE,
    systematic_relative_eta: float = 0.0,
    systematic_relative_phi: float = 0.0,
) -> CurveFit:
    """The pump's own efficiency ``eta(phi)`` (hydraulic over shaft power) through the origin.

    The same polynomial as the wire-to-water fit with the drive factor left out: at equal phi the
    pump's efficiency does not depend on speed (affinity), so every speed's points lie on one curve.
    """
    x = np.asarray(phi, dtype=float)
    fit = fit_wire_to_water(
        x,
        eta,
        u_eta,
        np.ones_like(x),
        np.ones_like(x),
        u_phi,
        eta_degree,
        systematic_relative_eta,
        systematic_relative_phi,
    )
    return CurveFit(fit.eta, fit.summary, fit.residuals)


@dataclass(frozen=True)
class DriveEfficiencyFit:
    """The drive's absolute efficiency (shaft over DC input) as a polyval2d matrix in (s, l)."""

    coefficients: tuple[tuple[float, ...], ...]
    summary: FitSummary
    residuals: Array
    fitted: Array


def fit_drive_efficiency(
    speed_fraction: ArrayLike, load_fraction: ArrayLike, efficiency: ArrayLike, u_efficiency: ArrayLike
) -> DriveEfficiencyFit:
    """Weighted fit of ``eta_d = (c00 + c01 l + c02 l^2) + s (c10 + c11 l + c12 l^2)``.

    Quadratic in load because a drive's efficiency peaks at part load (fixed losses dominate light
    load, copper losses heavy load); linear in speed over a bench's few tested speeds. Terms the data
    cannot separate are dropped. It describes the bench's drive over the tested speeds and loads, for
    the record and for a comparison with the flight drive's assumed efficiency; it is not a loss
    model to extrapolate.
    """
    s = np.asarray(speed_fraction, dtype=float)
    load = np.asarray(load_fraction, dtype=float)
    y = np.asarray(efficiency, dtype=float)
    u = np.broadcast_to(np.asarray(u_efficiency, dtype=float), y.shape)
    loads = min(distinct_count(load), 3)
    terms = [(0, j) for j in range(loads)]
    if distinct_count(s) > 1:
        terms += [(1, j) for j in range(loads)]
    while True:
        design = np.stack([s**i * load**j for i, j in terms], axis=1)
        if len(terms) <= y.size and np.linalg.matrix_rank(design) == len(terms):
            break
        terms.pop()
    params, _, chi2, dof = _weighted_lstsq(design, y, u)
    matrix = np.zeros((1 + max(i for i, _ in terms), 1 + max(j for _, j in terms)))
    for value, (i, j) in zip(params, terms):
        matrix[i, j] = value
    fitted = design @ params
    return DriveEfficiencyFit(
        coefficients=tuple(tuple(float(v) for v in row) for row in matrix),
        summary=fit_summary("eta_d", y, fitted, chi2, dof, birge_ratio(chi2, dof)),
        residuals=y - fitted,
        fitted=fitted,
    )
