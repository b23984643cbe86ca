"""Averaging with uncertainty and its propagation: published t factors, hand and Monte Carlo checks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hil.analysis.head import total_head_m
from hil.analysis.uncertainty import (
    average_with_uncertainty,
    combine_rss,
    efficiency_uncertainty,
    head_uncertainty_m,
    hydraulic_power_uncertainty_w,
    shaft_power_uncertainty_w,
    student_t_factor,
)
from hil.core.errors import ConfigError


@pytest.mark.parametrize(
    ("n", "published"),
    [(2, 12.706), (5, 2.776), (10, 2.262), (30, 2.045)],  # two-sided 95 % t table, dof = n - 1
)
def test_student_t_factor_matches_published_table(n: int, published: float) -> None:
    assert student_t_factor(n, 0.95) == pytest.approx(published, abs=1e-3)


def test_average_of_one_to_ten_by_hand() -> None:
    # mean 5.5; s = sqrt(82.5/9) = 3.02765; random = 2.262 * 3.02765 / sqrt(10) = 2.1658;
    # instrument 1 % of 5.5 = 0.055; combined sqrt(2.1658^2 + 0.055^2) = 2.1665
    avg = average_with_uncertainty(np.arange(1.0, 11.0), 0.01)
    assert avg.mean == pytest.approx(5.5)
    assert avg.std == pytest.approx(3.02765, abs=1e-5)
    assert avg.n == 10
    assert avg.random_uncertainty == pytest.approx(2.1658, abs=2e-4)
    assert avg.instrument_uncertainty == pytest.approx(0.055)
    assert avg.combined_uncertainty == pytest.approx(2.1665, abs=2e-4)
    assert avg.combined_fraction == pytest.approx(2.1665 / 5.5, abs=1e-4)


def test_constant_readings_leave_only_the_instrument_part() -> None:
    avg = average_with_uncertainty(np.full(50, 20.0), 0.015)
    assert avg.random_uncertainty == 0.0
    assert avg.combined_uncertainty == pytest.approx(0.3)


def test_single_reading_has_unbounded_random_uncertainty() -> None:
    avg = average_with_uncertainty([3.0], 0.01)
    assert math.isinf(avg.random_uncertainty) and math.isinf(avg.combined_uncertainty)


def test_bad_inputs_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="instrument_accuracy_fraction"):
        average_with_uncertainty([1.0, 2.0], -0.01)
    with pytest.raises(ConfigError, match="values"):
        average_with_uncertainty([1.0, math.nan], 0.01)
    with pytest.raises(ConfigError, match="values"):
        average_with_uncertainty([], 0.01)


def test_combine_rss() -> None:
    assert combine_rss(3.0, 4.0) == 5.0


def test_head_uncertainty_by_hand() -> None:
    # dH/dp = 1/(1000 g) = 1.019716e-4 m/Pa: 1000 Pa -> 0.1019716 m, 500 Pa -> 0.0509858 m;
    # dH/dQ = Q (1/A2^2 - 1/A1^2)/g = 0.01 * (39578.6 - 16211.4)/9.80665 = 23.828 m/(m3/s)
    # -> 1e-4 m3/s gives 0.0023828 m; RSS = 0.114033 m
    u = head_uncertainty_m(1e5, 500.0, 4e5, 1000.0, 0.01, 1e-4, 1000.0, 0.1, 0.08)
    assert u == pytest.approx(0.114033, abs=2e-6)


def test_head_uncertainty_agrees_with_monte_carlo() -> None:
    rng = np.random.default_rng(3)
    n = 200_000
    args = dict(p1=1.2e5, u1=800.0, p2=5.5e5, u2=1500.0, q=0.02, uq=3e-4, rho=998.0, urho=2.0)
    heads = total_head_m(
        rng.normal(args["p1"], args["u1"], n),
        rng.normal(args["p2"], args["u2"], n),
        rng.normal(args["q"], args["uq"], n),
        rng.normal(args["rho"], args["urho"], n),
        0.08,
        0.05,
    )
    linear = head_uncertainty_m(
        args["p1"],
        args["u1"],
        args["p2"],
        args["u2"],
        args["q"],
        args["uq"],
        args["rho"],
        0.08,
        0.05,
        args["urho"],
    )
    assert float(np.std(heads)) == pytest.approx(linear, rel=0.01)


def test_power_and_efficiency_uncertainty_by_hand() -> None:
    # P_h = 2941.995 W with Q +-1.5 % and H +-1 %: relative sqrt(1.5^2 + 1^2) = 1.80278 % -> 53.037 W
    u_ph = hydraulic_power_uncertainty_w(0.01, 0.00015, 30.0, 0.3, 1000.0)
    assert u_ph == pytest.approx(53.037, abs=1e-3)
    # Shaft 10 N m +-1.4 %, 3000 rpm +-0.2 %: sqrt(1.96 + 0.04) = 1.41421 % of 3141.593 W = 44.429 W
    u_shaft = shaft_power_uncertainty_w(10.0, 0.14, 3000.0, 6.0)
    assert u_shaft == pytest.approx(44.429, abs=1e-3)
    # eta = 2941.995/3141.593 = 0.936466; relative sqrt(1.80278^2 + 1.41421^2) = 2.29129 % -> 0.021457
    u_eta = efficiency_uncertainty(2941.995, u_ph, 3141.593, u_shaft)
    assert u_eta == pytest.approx(0.021457, abs=1e-6)
