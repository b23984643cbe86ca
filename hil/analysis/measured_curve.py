"""The measured curve through points already converted to the specified speed, over the measured flow
range only: nothing is extrapolated, so a tolerance bar lying outside the data cannot be "met".

:class:`PolynomialCurve` is a least-squares polynomial through the points (the fit averages out the
scatter of single points, which is what drawing "the measured curve" through them means);
:class:`LinearCurve` joins the points with straight segments (duplicated flows averaged), for few
points or when no model shape should be imposed. Both answer the three questions the acceptance
judgement (:mod:`hil.analysis.acceptance`) asks: the value at a flow, the extremes over a flow
interval, and the flows where the curve crosses a straight line.

Imports numpy and :mod:`hil.analysis.fits` only.
"""

from __future__ import annotations

import math
from typing import TypeAlias

import numpy as np

from hil.analysis.fits import PolynomialFit, fit_polynomial


class PolynomialCurve:
    """A fitted polynomial restricted to its fitted range."""

    def __init__(self, fit: PolynomialFit) -> None:
        self.fit = fit
        self.q_min = fit.x_min
        self.q_max = fit.x_max

    def value(self, q: float) -> float:
        return float(self.fit(q)) if self.fit.contains(q) else math.nan

    def extremes(self, a: float, b: float) -> tuple[float, float, float, float] | None:
        """(min, q at min, max, q at max) over [a, b] within the domain; None if they do not overlap."""
        lo, hi = max(a, self.q_min), min(b, self.q_max)
        if lo > hi:
            return None
        candidates = [lo, hi]
        derivative = self.fit.derivative_coefficients()
        if len(derivative) > 1:
            for root in np.roots(derivative):
                if abs(root.imag) <= 1e-12 * max(abs(root.real), 1e-300) and lo < root.real < hi:
                    candidates.append(float(root.real))
        values = [float(self.fit(q)) for q in candidates]
        i_min, i_max = int(np.argmin(values)), int(np.argmax(values))
        return values[i_min], candidates[i_min], values[i_max], candidates[i_max]

    def crossings(self, slope: float, intercept: float) -> np.ndarray:
        """Flows in the domain where the curve equals ``intercept + slope q``."""
        line = np.zeros_like(self.fit.coefficients)
        line[-1] = intercept
        if len(line) >= 2:
            line[-2] = slope
        difference = np.trim_zeros(self.fit.coefficients - line, "f")
        if len(difference) < 2:
            return np.empty(0)
        span = max(self.q_max - self.q_min, abs(self.q_max))
        found = [
            float(root.real)
            for root in np.roots(difference)
            if abs(root.imag) <= 1e-7 * span and self.fit.contains(root.real)
        ]
        return np.array(sorted(min(max(q, self.q_min), self.q_max) for q in found))


class LinearCurve:
    """Straight segments through the points sorted by flow (points at the same flow averaged)."""

    def __init__(self, flow: np.ndarray, values: np.ndarray) -> None:
        unique, inverse = np.unique(flow, return_inverse=True)
        sums = np.bincount(inverse, weights=values)
        counts = np.bincount(inverse)
        self.q = unique
        self.h = sums / counts
        self.q_min = float(unique[0])
        self.q_max = float(unique[-1])

    def value(self, q: float) -> float:
        if not self.q_min <= q <= self.q_max:
            return math.nan
        return float(np.interp(q, self.q, self.h))

    def extremes(self, a: float, b: float) -> tuple[float, float, float, float] | None:
        lo, hi = max(a, self.q_min), min(b, self.q_max)
        if lo > hi:
            return None
        inside = (self.q > lo) & (self.q < hi)
        candidates = [lo, hi, *self.q[inside].tolist()]
        values = [self.value(q) for q in candidates]
        i_min, i_max = int(np.argmin(values)), int(np.argmax(values))
        return values[i_min], candidates[i_min], values[i_max], candidates[i_max]

    def crossings(self, slope: float, intercept: float) -> np.ndarray:
        g = self.h - (intercept + slope * self.q)
        found = [float(q) for q, gi in zip(self.q, g, strict=True) if gi == 0.0]
        for i in range(len(self.q) - 1):
            if g[i] * g[i + 1] < 0:
                found.append(float(self.q[i] + g[i] * (self.q[i + 1] - self.q[i]) / (g[i] - g[i + 1])))
        return np.array(sorted(set(found)))


MeasuredCurve: TypeAlias = PolynomialCurve | LinearCurve


def make_curve(method: str, flow: np.ndarray, values: np.ndarray, degree: int) -> MeasuredCurve:
    """``"fit"``: a least-squares polynomial of ``degree``; otherwise straight segments."""
    if method == "fit":
        return PolynomialCurve(fit_polynomial(flow, values, degree))
    return LinearCurve(flow, values)
