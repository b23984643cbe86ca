"""Steady-state judgement: hand-computed statistics and the three textbook cases."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hil.analysis.steady import (
    SteadyLimits,
    judge_steady,
    judge_steady_all,
    judge_steady_windows,
)
from hil.core.errors import ConfigError

RATE_HZ = 100.0


def _times(n: int = 300) -> np.ndarray:
    return np.arange(n) / RATE_HZ


def test_statistics_match_hand_calculation() -> None:
    # mean 10; half range (11 - 9)/2 = 1 -> 0.1; centred t = -1.5,-0.5,0.5,1.5, deviations -1,1,0,0:
    # slope = (1.5 - 0.5)/5 = 0.2 /s, over 3 s -> 0.6 -> 0.06 of the mean; std = sqrt(2/3).
    verdict = judge_steady(np.array([0.0, 1.0, 2.0, 3.0]), np.array([9.0, 11.0, 10.0, 10.0]), 0.2, 0.1)
    assert verdict.mean == pytest.approx(10.0)
    assert verdict.fluctuation_fraction == pytest.approx(0.1)
    assert verdict.trend_fraction == pytest.approx(0.06)
    assert verdict.std == pytest.approx(math.sqrt(2.0 / 3.0))
    assert verdict.n_samples == 4
    assert verdict.duration_s == pytest.approx(3.0)
    assert verdict.steady
    # Same data, trend limit just below 6 %: not steady, and the reason says trend.
    tight = judge_steady(np.array([0.0, 1.0, 2.0, 3.0]), np.array([9.0, 11.0, 10.0, 10.0]), 0.2, 0.059)
    assert not tight.steady
    assert "trend" in tight.reason


def test_constant_plus_noise_is_steady() -> None:
    rng = np.random.default_rng(1)
    values = 10.0 + rng.normal(0.0, 0.05, 300)  # 0.5 % noise, limits +-3 % and 1 %
    verdict = judge_steady(_times(), values, 0.03, 0.01)
    assert verdict.steady, verdict.reason
    assert verdict.mean == pytest.approx(10.0, abs=0.02)
    assert 0.005 < verdict.fluctuation_fraction < 0.03
    assert abs(verdict.trend_fraction) < 0.003


def test_ramp_is_not_steady_because_of_its_trend() -> None:
    times = _times()
    # 10 -> 10.2 over the window: swing +-1 % (inside +-3 %) but a 2 % drift (limit 1 %).
    values = 10.0 + 0.2 * times / times[-1]
    verdict = judge_steady(times, values, 0.03, 0.01)
    assert not verdict.steady
    assert verdict.fluctuation_fraction < 0.03
    assert verdict.trend_fraction == pytest.approx(0.2 / 10.1, rel=1e-9)
    assert "trend" in verdict.reason


def test_falling_ramp_has_negative_trend_and_fails_on_magnitude() -> None:
    times = _times()
    verdict = judge_steady(times, 10.0 - 0.2 * times / times[-1], 0.03, 0.01)
    assert verdict.trend_fraction < -0.01
    assert not verdict.steady


def test_too_much_fluctuation_is_not_steady() -> None:
    times = _times()
    # +-5 % oscillation, even about the window centre (so no least-squares trend), over a +-3 % limit.
    values = 10.0 * (1.0 + 0.05 * np.cos(2.0 * math.pi * (times - times[-1] / 2.0)))
    verdict = judge_steady(times, values, 0.03, 0.01)
    assert not verdict.steady
    assert verdict.fluctuation_fraction == pytest.approx(0.05, rel=5e-3)
    assert "fluctuation" in verdict.reason
    assert judge_steady(times, values, 0.06, 0.01).steady


def test_nan_is_never_steady() -> None:
    values = np.full(300, 5.0)
    values[100] = np.nan
    verdict = judge_steady(_times(), values, 0.5, 0.5)
    assert not verdict.steady
    assert "non-finite" in verdict.reason
    times = _times()
    times[3] = np.nan
    assert not judge_steady(times, np.full(300, 5.0), 0.5, 0.5).steady


def test_too_few_samples_and_zero_duration_are_not_steady() -> None:
    assert not judge_steady(np.array([0.0]), np.array([1.0]), 0.5, 0.5).steady
    assert not judge_steady(np.array([]), np.array([]), 0.5, 0.5).steady
    assert not judge_steady(np.array([1.0, 1.0, 1.0]), np.array([2.0, 2.0, 2.0]), 0.5, 0.5).steady


def test_zero_mean_uses_reference_scale() -> None:
    times = _times()
    values = 0.001 * np.sin(2.0 * math.pi * 2.0 * times)  # swing 0.001 around zero
    without_floor = judge_steady(times, values, 0.03, 0.03)
    assert not without_floor.steady  # 0.001 over a mean of ~1e-18
    with_floor = judge_steady(times, values, 0.03, 0.03, reference_scale=0.1)
    assert with_floor.steady
    assert with_floor.fluctuation_fraction == pytest.approx(0.01, rel=5e-3)


def test_constant_zero_is_steady() -> None:
    verdict = judge_steady(_times(), np.zeros(300), 0.03, 0.01)
    assert verdict.steady
    assert verdict.fluctuation_fraction == 0.0
    assert verdict.trend_fraction == 0.0


@pytest.mark.parametrize("bad", [0.0, -0.1, math.nan, math.inf])
def test_bad_limits_are_config_errors(bad: float) -> None:
    with pytest.raises(ConfigError, match="max_fluctuation_fraction"):
        judge_steady(_times(3), np.ones(3), bad, 0.1)
    with pytest.raises(ConfigError, match="max_trend_fraction"):
        SteadyLimits(0.1, bad)


def test_shape_mismatch_is_config_error() -> None:
    with pytest.raises(ConfigError, match="equal length"):
        judge_steady(_times(3), np.ones(4), 0.1, 0.1)


def test_judge_all_is_steady_only_if_every_quantity_is() -> None:
    times = _times()
    flat = np.full(300, 2.0)
    ramp = 2.0 + times  # 150 % drift
    limits = {"flow_m3_s": SteadyLimits(0.03, 0.01), "speed_rpm": SteadyLimits(0.01, 0.005)}
    judgement = judge_steady_all(times, {"flow_m3_s": flat, "speed_rpm": flat, "temperature_c": ramp}, limits)
    assert judgement.steady  # temperature has no limits: not judged
    assert set(judgement.verdicts) == {"flow_m3_s", "speed_rpm"}
    judgement = judge_steady_all(times, {"flow_m3_s": flat, "speed_rpm": ramp}, limits)
    assert not judgement.steady
    assert judgement.unsteady_quantities == ("speed_rpm",)
    assert judgement.verdicts["speed_rpm"].max_fluctuation_fraction == 0.01


def test_judge_all_per_quantity_time_bases() -> None:
    judgement = judge_steady_all(
        {"a": _times(10), "b": _times(20)},
        {"a": np.ones(10), "b": np.ones(20)},
        {"a": SteadyLimits(0.01, 0.01), "b": SteadyLimits(0.01, 0.01)},
    )
    assert judgement.steady
    assert judgement.verdicts["b"].n_samples == 20


def test_judge_all_refuses_limits_without_values() -> None:
    with pytest.raises(ConfigError, match="head_m"):
        judge_steady_all(_times(), {"flow_m3_s": np.ones(300)}, {"head_m": SteadyLimits(0.03, 0.01)})


def test_windows_agree_with_single_window_judgement() -> None:
    rng = np.random.default_rng(7)
    times = _times(2000)
    values = 5.0 + rng.normal(0.0, 0.03, 2000) + np.where(times > 10.0, 0.5 * (times - 10.0), 0.0)
    windows = judge_steady_windows(times, values, 200, 50, 0.03, 0.01)
    assert windows.start_index.tolist() == list(range(0, 1801, 50))
    for k, start in enumerate(windows.start_index):
        single = judge_steady(times[start : start + 200], values[start : start + 200], 0.03, 0.01)
        assert windows.steady[k] == single.steady
        assert windows.mean[k] == pytest.approx(single.mean, rel=1e-12)
        assert windows.fluctuation_fraction[k] == pytest.approx(single.fluctuation_fraction, rel=1e-9)
        assert windows.trend_fraction[k] == pytest.approx(single.trend_fraction, rel=1e-9, abs=1e-15)
    # The steady stretch before 10 s and the ramp after it are told apart.
    assert windows.steady[0] and not windows.steady[-1]


def test_windows_with_too_short_log_are_empty() -> None:
    windows = judge_steady_windows(_times(10), np.ones(10), 20, 5, 0.03, 0.01)
    assert windows.steady.size == 0


@pytest.mark.parametrize(("window", "step"), [(200, 10), (200, 1), (30, 7), (64, 64), (5, 12), (2, 1)])
def test_windows_agree_with_single_window_judgement_for_any_window_and_step(window: int, step: int) -> None:
    # A long log late in a run (times in the thousands of seconds, values near 1.5e5 as pressures are)
    # with noise, a ramp, a step, a flat stretch, a constant zero and a dropped sample: where cumulative
    # sums lose digits of the trend.
    rng = np.random.default_rng(window * 1000 + step)
    n = 3000
    times = 3000.0 + np.arange(n) / 100.0
    values = 1.5e5 + rng.normal(0.0, 300.0, n)
    values[800:1400] += np.linspace(0.0, 2.0e4, 600)
    values[1400:] += 2.0e4
    values[2000:2300] = 1.5e5
    values[2300:2500] = 0.0
    values[2700] = np.nan
    windows = judge_steady_windows(times, values, window, step, 0.005, 0.002)
    starts = list(range(0, n - window + 1, step))
    assert windows.start_index.tolist() == starts
    for k, start in enumerate(starts):
        single = judge_steady(times[start : start + window], values[start : start + window], 0.005, 0.002)
        assert windows.steady[k] == single.steady, start
        if np.isfinite(single.mean):
            assert windows.mean[k] == pytest.approx(single.mean, rel=1e-12)
            assert windows.std[k] == pytest.approx(single.std, rel=1e-7, abs=1e-9)
            assert windows.fluctuation_fraction[k] == pytest.approx(single.fluctuation_fraction, rel=1e-12)
            assert windows.trend_fraction[k] == pytest.approx(single.trend_fraction, rel=1e-6, abs=1e-12)
        else:
            assert not np.isfinite(windows.mean[k])
    # Each kind of stretch is there and judged as such.
    assert windows.steady.any() and not windows.steady.all()
