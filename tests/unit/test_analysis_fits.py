"""Polynomial fits against textbook least-squares formulas and exact curves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hil.analysis import AnalysisError
from hil.analysis.fits import (
    fit_efficiency_curve,
    fit_head_coefficient_curve,
    fit_head_curve,
    fit_polynomial,
    fit_pump_curves,
)
from hil.core.errors import ConfigError


def test_straight_line_matches_textbook_formulas() -> None:
    # x = 0..3, y = 1, 3, 2, 5: xbar 1.5, ybar 2.75, Sxx 5, Sxy 5.5 -> slope 1.1, intercept 1.1;
    # residuals -0.1, 0.8, -1.3, 0.6 -> SSR 2.7, s^2 = 2.7/2 = 1.35;
    # var(slope) = s^2/Sxx = 0.27; var(intercept) = s^2 (1/n + xbar^2/Sxx) = 0.945;
    # cov = -xbar s^2/Sxx = -0.405
    fit = fit_polynomial([0.0, 1.0, 2.0, 3.0], [1.0, 3.0, 2.0, 5.0], 1)
    np.testing.assert_allclose(fit.coefficients, [1.1, 1.1])
    assert fit.residual_std == pytest.approx(math.sqrt(1.35))
    np.testing.assert_allclose(fit.covariance, [[0.27, -0.405], [-0.405, 0.945]])
    # Standard error of the line at the mean x is s/sqrt(n) = sqrt(1.35/4).
    assert fit.standard_error(1.5) == pytest.approx(math.sqrt(1.35 / 4.0))
    assert (fit.x_min, fit.x_max, fit.n_points, fit.degree) == (0.0, 3.0, 4, 1)


def test_exact_pump_parabola_is_recovered_in_si_units() -> None:
    # H = 40 - 1e5 Q^2 with Q in m3/s: columns of the raw Vandermonde differ by 1e-6.
    flow = np.linspace(0.002, 0.018, 9)
    fit = fit_head_curve(flow, 40.0 - 1.0e5 * flow**2)
    np.testing.assert_allclose(fit.coefficients, [-1.0e5, 0.0, 40.0], atol=1e-6)
    assert fit.residual_std < 1e-9
    assert fit(0.01) == pytest.approx(30.0)


def test_cubic_efficiency_is_recovered() -> None:
    flow = np.linspace(0.001, 0.02, 12)
    coefficients = [-5.0e4, 1.0e3, 80.0, 0.05]
    fit = fit_efficiency_curve(flow, np.polyval(coefficients, flow), degree=3)
    np.testing.assert_allclose(fit.coefficients, coefficients, rtol=1e-7)


def test_noise_sets_the_residual_std() -> None:
    rng = np.random.default_rng(11)
    phi = np.linspace(0.01, 0.04, 400)
    fit = fit_head_coefficient_curve(phi, 3.0 - 800.0 * phi**2 + rng.normal(0.0, 0.02, phi.size))
    assert fit.residual_std == pytest.approx(0.02, rel=0.1)
    # The true coefficients lie within 4 standard errors.
    errors = np.sqrt(np.diag(fit.covariance))
    assert np.all(np.abs(fit.coefficients - [-800.0, 0.0, 3.0]) < 4 * errors)


def test_extrapolation_is_refused_unless_asked() -> None:
    fit = fit_head_curve([0.0, 0.01, 0.02], [40.0, 30.0, 0.0])
    assert fit.evaluate(0.02) == pytest.approx(0.0, abs=1e-9)
    with pytest.raises(AnalysisError, match="outside the fitted range"):
        fit.evaluate(0.021)
    assert fit.evaluate(0.021, allow_extrapolation=True) < 0.0
    assert math.isnan(fit.residual_std)  # three points, three parameters: no scatter information


def test_too_few_points_or_bad_degree() -> None:
    with pytest.raises(AnalysisError, match="at least 3 points"):
        fit_polynomial([1.0, 2.0], [1.0, 2.0], 2)
    with pytest.raises(AnalysisError, match="distinct"):
        fit_polynomial([1.0, 1.0, 1.0, 1.0], [1.0, 2.0, 3.0, 4.0], 2)
    with pytest.raises(ConfigError, match="degree"):
        fit_polynomial([1.0, 2.0], [1.0, 2.0], -1)
    with pytest.raises(ConfigError, match="NaN"):
        fit_polynomial([1.0, 2.0, math.nan], [1.0, 2.0, 3.0], 1)


def test_fit_pump_curves_fits_what_was_given() -> None:
    flow = np.linspace(0.004, 0.016, 7)
    curves = fit_pump_curves(flow, 40.0 - 1e5 * flow**2, power_w=1000.0 + 1e5 * flow)
    assert curves.efficiency is None
    assert curves.power is not None and curves.power(0.01) == pytest.approx(2000.0)
