"""Effective sample size of an autocorrelated series: how many independent readings it is worth.

Successive samples of a transducer read every tick are not independent (sensor lag, flow inertia,
the plant's own dynamics), so the Student-t uncertainty of a dwell's mean computed with n = the tick
count is too small. The variance of the mean of n samples of a stationary series is
``sigma^2 / n * (1 + 2 sum_{k=1}^{n-1} (1 - k/n) rho_k)``; the effective sample size is the n_eff
for which ``sigma^2 / n_eff`` equals it. It is estimated from the sample autocorrelation with
Geyer's initial positive sequence: the sum over lags stops at the first pair of lags whose
autocorrelations add up to a non-positive number, where the estimate would be mostly noise.
(Hand-written: a few lines of numpy; the libraries that provide it, such as ArviZ, pull in a whole
Bayesian stack for this one function.)

Imports numpy only.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def autocorrelation(values: ArrayLike) -> np.ndarray:
    """Sample autocorrelation ``rho_k`` for lags 0..n-1 (biased estimator, ``rho_0 = 1``)."""
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n == 0:
        return np.zeros(0)
    d = x - x.mean()
    spectrum = np.fft.rfft(d, 2 * n)
    covariance = np.fft.irfft(spectrum * np.conj(spectrum), 2 * n)[:n] / n
    if covariance[0] <= 0.0:
        result = np.zeros(n)
        result[0] = 1.0
        return result
    return covariance / covariance[0]


def effective_sample_size(values: ArrayLike) -> float:
    """The number of independent readings the finite samples in ``values`` are worth, in ``[1, n]``.

    A constant series (no scatter) or one of fewer than 4 samples counts as ``n``.
    """
    rho = autocorrelation(values)
    n = rho.size
    if n < 4 or not np.any(rho[1:]):
        return float(n)
    tau = -1.0  # integrated autocorrelation time: -1 + 2 * sum of the positive pair sums
    for m in range(0, (n - 1) // 2):
        pair = rho[2 * m] + rho[2 * m + 1]
        if pair <= 0.0:
            break
        tau += 2.0 * pair
    tau = max(tau, 1.0 / n)
    return float(min(max(n / tau, 1.0), n))
