"""Measurement uncertainty of an operating point: averaging, combination and propagation.

Each reading is the mean of the samples of a steady window. Its uncertainty has two parts that the
pump-test standards combine as a root-sum-square:

- random: ``t(1 - (1 - confidence)/2, n - 1) * s / sqrt(n)`` (Student-t on the mean, because ``s`` is
  itself estimated from the few readings);
- instrument (systematic): the instrument's stated accuracy as a fraction of the reading, taken as an
  expanded uncertainty at the same confidence (that is how calibration certificates state it).

Propagation into derived quantities is linearised (first-order Taylor, independent inputs):
``u_f^2 = sum (df/dx_i * u_i)^2``. The partial derivatives used are written beside each function.
Correlation between inputs is neglected: for head it would come from a shared density or a common
pressure reference, both small next to the pressure-transducer terms.

All uncertainties here are absolute (same unit as the quantity) unless the name says ``fraction``.

Imports numpy, scipy.special (for the Student-t quantile, on first use), :mod:`hil.core.errors`
and :mod:`hil.core.fluids`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from hil.core.errors import ConfigError
from hil.core.fluids import STANDARD_GRAVITY_M_S2

G = STANDARD_GRAVITY_M_S2


@dataclass(frozen=True)
class AveragedQuantity:
    """A reading averaged over a steady window, with its uncertainty (absolute, quantity's unit).

    ``random_uncertainty`` is infinite for a single sample: one sample says nothing about scatter,
    and an infinite uncertainty fails any limit rather than passing unnoticed.
    """

    mean: float
    std: float
    n: int
    random_uncertainty: float
    instrument_uncertainty: float
    combined_uncertainty: float
    confidence: float

    @property
    def combined_fraction(self) -> float:
        """Combined uncertainty relative to the mean (infinite for a zero mean)."""
        return self.combined_uncertainty / abs(self.mean) if self.mean != 0 else math.inf


def _check_fraction(function: str, field: str, value: float, allow_zero: bool = True) -> None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = math.nan
    low_ok = number >= 0 if allow_zero else number > 0
    if not (math.isfinite(number) and low_ok and number < 1):
        raise ConfigError(function, field, f"expected a fraction in [0, 1), got {value!r}")


def student_t_factor(n: int, confidence: float = 0.95) -> float:
    """Two-sided Student-t coverage factor for the mean of ``n`` readings (2.262 for n = 10, 95 %)."""
    if not (isinstance(n, int) and n >= 2):
        raise ConfigError("student_t_factor", "n", f"expected an integer >= 2, got {n!r}")
    if not 0 < confidence < 1:
        raise ConfigError(
            "student_t_factor", "confidence", f"expected 0 < confidence < 1, got {confidence!r}"
        )
    # scipy.special's inverse Student-t (what scipy.stats.t.ppf calls, same values bit for bit),
    # imported here: importing scipy.stats costs seconds that a command listing procedures or
    # starting a run should not pay.
    from scipy.special import stdtrit

    return float(stdtrit(n - 1, 0.5 + confidence / 2.0))


def average_with_uncertainty(
    values: ArrayLike, instrument_accuracy_fraction: float, confidence: float = 0.95
) -> AveragedQuantity:
    """Mean of ``values`` with random (Student-t), instrument and combined (RSS) uncertainty.

    ``instrument_accuracy_fraction`` is the instrument's stated accuracy relative to the reading
    (0.015 for 1.5 %). A full-scale accuracy must be converted by the caller to a fraction of the
    reading first, since only the caller knows the range.
    """
    _check_fraction("average_with_uncertainty", "instrument_accuracy_fraction", instrument_accuracy_fraction)
    if not 0 < confidence < 1:
        raise ConfigError(
            "average_with_uncertainty", "confidence", f"expected 0 < confidence < 1, got {confidence!r}"
        )
    data = np.asarray(values, dtype=float).ravel()
    if data.size == 0:
        raise ConfigError("average_with_uncertainty", "values", "expected at least one value, got none")
    if not np.all(np.isfinite(data)):
        raise ConfigError("average_with_uncertainty", "values", "contains NaN or infinite samples")
    n = int(data.size)
    mean = float(data.mean())
    if n >= 2:
        std = float(data.std(ddof=1))
        random_u = student_t_factor(n, confidence) * std / math.sqrt(n)
    else:
        std = math.nan
        random_u = math.inf
    instrument_u = instrument_accuracy_fraction * abs(mean)
    combined = math.hypot(random_u, instrument_u)
    return AveragedQuantity(mean, std, n, random_u, instrument_u, combined, confidence)


def combine_rss(*uncertainties: float) -> float:
    """Root-sum-square of independent uncertainty components."""
    return math.sqrt(sum(float(u) ** 2 for u in uncertainties))


def head_uncertainty_m(
    p_inlet_pa: ArrayLike,
    u_p_inlet_pa: ArrayLike,
    p_outlet_pa: ArrayLike,
    u_p_outlet_pa: ArrayLike,
    flow_m3_s: ArrayLike,
    u_flow_m3_s: ArrayLike,
    density_kg_m3: float,
    inlet_diameter_m: float,
    outlet_diameter_m: float,
    u_density_kg_m3: float = 0.0,
) -> float | np.ndarray:
    """Uncertainty of total head from the pressure, flow and density uncertainties.

    With ``H = (p2 - p1)/(rho g) + Q^2 (1/A2^2 - 1/A1^2)/(2 g) + dz``:

    - ``dH/dp2 = 1/(rho g)``, ``dH/dp1 = -1/(rho g)``
    - ``dH/dQ = Q (1/A2^2 - 1/A1^2) / g``
    - ``dH/drho = -(p2 - p1)/(rho^2 g)``

    Tap heights and diameters are taken as exact (their error is a fixed offset the calibration of
    the bench removes).
    """
    if not (density_kg_m3 > 0 and inlet_diameter_m > 0 and outlet_diameter_m > 0):
        raise ConfigError(
            "head_uncertainty_m", "density/diameters", "expected positive density and diameters"
        )
    a1 = math.pi / 4.0 * inlet_diameter_m**2
    a2 = math.pi / 4.0 * outlet_diameter_m**2
    q = np.asarray(flow_m3_s, dtype=float)
    dp = np.asarray(p_outlet_pa, dtype=float) - np.asarray(p_inlet_pa, dtype=float)
    d_p = 1.0 / (density_kg_m3 * G)
    d_q = q * (1.0 / a2**2 - 1.0 / a1**2) / G
    d_rho = -dp / (density_kg_m3**2 * G)
    u = np.sqrt(
        (d_p * np.asarray(u_p_outlet_pa, dtype=float)) ** 2
        + (d_p * np.asarray(u_p_inlet_pa, dtype=float)) ** 2
        + (d_q * np.asarray(u_flow_m3_s, dtype=float)) ** 2
        + (d_rho * u_density_kg_m3) ** 2
    )
    return float(u) if u.ndim == 0 else u


def hydraulic_power_uncertainty_w(
    flow_m3_s: ArrayLike,
    u_flow_m3_s: ArrayLike,
    head_m: ArrayLike,
    u_head_m: ArrayLike,
    density_kg_m3: float,
    u_density_kg_m3: float = 0.0,
) -> float | np.ndarray:
    """Uncertainty of ``P_h = rho g Q H``: a product, so relative uncertainties add in quadrature.

    ``dP/dQ = rho g H``, ``dP/dH = rho g Q``, ``dP/drho = g Q H``. The small correlation between Q and
    H through the head's velocity term is neglected.
    """
    q = np.asarray(flow_m3_s, dtype=float)
    h = np.asarray(head_m, dtype=float)
    u = np.sqrt(
        (density_kg_m3 * G * h * np.asarray(u_flow_m3_s, dtype=float)) ** 2
        + (density_kg_m3 * G * q * np.asarray(u_head_m, dtype=float)) ** 2
        + (G * q * h * u_density_kg_m3) ** 2
    )
    return float(u) if u.ndim == 0 else u


def shaft_power_uncertainty_w(
    torque_n_m: ArrayLike, u_torque_n_m: ArrayLike, speed_rpm: ArrayLike, u_speed_rpm: ArrayLike
) -> float | np.ndarray:
    """Uncertainty of ``P = T omega``: ``dP/dT = omega``, ``dP/dn = T 2 pi / 60``."""
    k = 2.0 * math.pi / 60.0
    t = np.asarray(torque_n_m, dtype=float)
    n = np.asarray(speed_rpm, dtype=float)
    u = np.sqrt(
        (n * k * np.asarray(u_torque_n_m, dtype=float)) ** 2
        + (t * k * np.asarray(u_speed_rpm, dtype=float)) ** 2
    )
    return float(u) if u.ndim == 0 else u


def efficiency_uncertainty(
    output_power_w: ArrayLike,
    u_output_power_w: ArrayLike,
    input_power_w: ArrayLike,
    u_input_power_w: ArrayLike,
) -> float | np.ndarray:
    """Absolute uncertainty of ``eta = P_out / P_in`` (a fraction, e.g. 0.012 for +-1.2 points).

    ``deta/dP_out = 1/P_in`` and ``deta/dP_in = -P_out/P_in^2``, i.e. relative uncertainties add in
    quadrature: ``u_eta/eta = sqrt((u_out/P_out)^2 + (u_in/P_in)^2)``. With ``P_out`` from
    :func:`hydraulic_power_uncertainty_w` and ``P_in`` from :func:`shaft_power_uncertainty_w` this
    gives the usual ``sqrt(e_Q^2 + e_H^2 + e_T^2 + e_n^2)``; with the electrical input it gives the
    overall efficiency's uncertainty.
    """
    p_out = np.asarray(output_power_w, dtype=float)
    p_in = np.asarray(input_power_w, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.sqrt(
            (np.asarray(u_output_power_w, dtype=float) / p_in) ** 2
            + (p_out * np.asarray(u_input_power_w, dtype=float) / p_in**2) ** 2
        )
    return float(u) if u.ndim == 0 else u
