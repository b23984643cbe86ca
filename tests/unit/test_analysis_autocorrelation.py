"""Effective sample size against an AR(1) series, whose variance of the mean is known analytically."""

from __future__ import annotations

import numpy as np
import pytest

from hil.analysis.autocorrelation import effective_sample_size


def ar1(phi: float, n: int, rng: np.random.Generator, series: int = 1) -> np.ndarray:
    """``series`` AR(1) series x_t = phi x_(t-1) + e_t, started in the stationary distribution."""
    x = np.empty((series, n))
    x[:, 0] = rng.normal(0.0, 1.0 / np.sqrt(1.0 - phi * phi), series)
    noise = rng.normal(0.0, 1.0, (series, n))
    for t in range(1, n):
        x[:, t] = phi * x[:, t - 1] + noise[:, t]
    return x


def analytic_n_eff(phi: float, n: int) -> float:
    # Var(mean) = sigma^2 / n * (1 + 2 sum_{k=1}^{n-1} (1 - k/n) phi^k); n_eff = sigma^2 / Var(mean)
    k = np.arange(1, n)
    return n / (1.0 + 2.0 * np.sum((1.0 - k / n) * phi**k))


@pytest.mark.parametrize("phi", [0.5, 0.9])
def test_ar1_effective_sample_size_matches_the_analytic_value(phi: float) -> None:
    rng = np.random.default_rng(7)
    n = 300  # a 30 s dwell at 10 Hz
    runs = ar1(phi, n, rng, series=400)
    estimates = np.array([effective_sample_size(x) for x in runs])
    expected = analytic_n_eff(phi, n)  # 100.3 for phi = 0.5, 16.4 for phi = 0.9
    assert np.median(estimates) == pytest.approx(expected, rel=0.2)
    # the point of it: the tick count overstates the independent information several-fold
    assert np.median(estimates) < n / 2.5


def test_ar1_uncertainty_of_the_mean_from_n_eff_covers_the_observed_scatter() -> None:
    # Monte Carlo: the standard deviation of 400 dwell means, against std / sqrt(n_eff) of one dwell.
    rng = np.random.default_rng(11)
    phi, n = 0.8, 300
    runs = ar1(phi, n, rng, series=400)
    observed = float(np.std(runs.mean(axis=1), ddof=1))
    sigma = 1.0 / np.sqrt(1.0 - phi * phi)
    assert observed == pytest.approx(sigma / np.sqrt(analytic_n_eff(phi, n)), rel=0.1)
    predicted = np.median([np.std(x, ddof=1) / np.sqrt(effective_sample_size(x)) for x in runs])
    assert predicted == pytest.approx(observed, rel=0.2)
    naive = np.median([np.std(x, ddof=1) / np.sqrt(n) for x in runs])
    assert naive < observed / 2.5  # with n = every tick the uncertainty is understated


def test_white_noise_is_worth_nearly_every_sample_and_bounds_hold() -> None:
    rng = np.random.default_rng(3)
    assert effective_sample_size(rng.normal(size=1000)) == pytest.approx(1000, rel=0.15)
    assert effective_sample_size(np.full(50, 2.0)) == 50.0
    assert effective_sample_size([1.0, 2.0]) == 2.0
    trend = np.linspace(0.0, 1.0, 200)  # perfectly correlated: worth very little
    assert 1.0 <= effective_sample_size(trend) < 10.0
