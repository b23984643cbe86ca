"""Sliding-window statistics against the direct computation (every window as a row), on the logs
where cumulative sums lose digits: late times, a large offset with tiny noise, a step of a million."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from hil.analysis.sliding import SlidingWindows, sliding_window_statistics
from hil.analysis.steady import (
    SteadyLimits,
    judge_steady,
    judge_steady_windows,
    judge_steady_windows_all,
)
from hil.core.errors import ConfigError


def _direct(times: np.ndarray, values: np.ndarray, window: int, step: int) -> dict[str, np.ndarray]:
    """The textbook two-pass statistics of every window, one row per window."""
    rows_t = sliding_window_view(times, window)[::step]
    rows_v = sliding_window_view(values, window)[::step]
    centred_t = rows_t - rows_t.mean(axis=1)[:, np.newaxis]
    centred_v = rows_v - rows_v.mean(axis=1)[:, np.newaxis]
    return {
        "mean_v": rows_v.mean(axis=1),
        "t_m2": (centred_t * centred_t).sum(axis=1),
        "v_m2": (centred_v * centred_v).sum(axis=1),
        "cross": (centred_t * centred_v).sum(axis=1),
        "v_max": rows_v.max(axis=1),
        "v_min": rows_v.min(axis=1),
    }


def _hostile_log(n: int = 4000) -> tuple[np.ndarray, np.ndarray]:
    """A day into a run (times near 1e5 s), a signal of 1e6 with 1e-3 noise that steps by 1e6
    halfway, then drifts slowly."""
    rng = np.random.default_rng(11)
    times = 1.0e5 + np.arange(n) / 100.0
    values = 1.0e6 + rng.normal(0.0, 1.0e-3, n)
    values[n // 2 :] += 1.0e6
    values[3 * n // 4 :] += np.linspace(0.0, 0.5, n - 3 * n // 4)
    return times, values


@pytest.mark.parametrize(("window", "step"), [(200, 10), (200, 1), (30, 7), (64, 64), (5, 12), (1, 1)])
def test_statistics_match_the_direct_computation_on_a_hostile_log(window: int, step: int) -> None:
    times, values = _hostile_log()
    stats = sliding_window_statistics(times, values, window, step)
    direct = _direct(times, values, window, step)
    assert stats.start_index.tolist() == list(range(0, times.size - window + 1, step))
    np.testing.assert_array_equal(stats.v_max, direct["v_max"])
    np.testing.assert_array_equal(stats.v_min, direct["v_min"])
    np.testing.assert_allclose(stats.mean_v, direct["mean_v"], rtol=1e-13)
    np.testing.assert_allclose(stats.t_m2, direct["t_m2"], rtol=1e-9)
    # The noise is 1e-3 on 1e6: the samples themselves hold it to about 1e-7, and the direct
    # computation is no better; sums of squares about any fixed reference would keep nothing.
    np.testing.assert_allclose(stats.v_m2, direct["v_m2"], rtol=1e-6, atol=1e-12)
    # The cross product decides the trend, judged as a fraction of the mean: what matters is its
    # error on that scale (slope * duration / mean), about 1e-15 here.
    if window > 1:
        duration = (window - 1) / 100.0
        trend_error = np.abs(stats.cross - direct["cross"]) / direct["t_m2"] * duration
        assert np.max(trend_error / np.abs(direct["mean_v"])) < 1e-13


def test_cumulative_sums_would_fail_the_hostile_log() -> None:
    # What the test above guards against: the same statistics from cumulative sums of the log.
    times, values = _hostile_log()
    window = 200
    direct = _direct(times, values, window, 10)
    sums = np.concatenate([[0.0], np.cumsum(values)])
    squares = np.concatenate([[0.0], np.cumsum(values * values)])
    products = np.concatenate([[0.0], np.cumsum(times * values)])
    times_sum = np.concatenate([[0.0], np.cumsum(times)])
    start = np.arange(0, times.size - window + 1, 10)
    s1 = sums[start + window] - sums[start]
    m2 = squares[start + window] - squares[start] - s1 * s1 / window
    cross = (
        products[start + window]
        - products[start]
        - (times_sum[start + window] - times_sum[start]) * s1 / window
    )
    assert np.max(np.abs(m2 - direct["v_m2"]) / direct["v_m2"]) > 1.0
    assert np.max(np.abs(cross - direct["cross"]) / direct["t_m2"] * 2.0 / direct["mean_v"]) > 1e-9


def test_ramps_either_side_of_the_trend_limit_are_told_apart() -> None:
    # Late times, a 1e6 offset and 1e-6 noise; ramps whose trend is 1e-7 above or below the limit
    # (0.2 % of a reference scale of 1e7 over a 2 s window). Verdicts must be exactly the
    # single-window ones, and exactly as built.
    limit, scale = 0.002, 1.0e7
    n, window = 2000, 200
    times = 2.0e4 + np.arange(n) / 100.0
    duration = (window - 1) / 100.0
    rate = limit * scale / duration
    rng = np.random.default_rng(5)
    values = 1.0e6 + rng.normal(0.0, 1.0e-6, n)
    values[:1000] += rate * (1.0 - 1e-7) * (times[:1000] - times[0])
    values[1000:] += values[999] - 1.0e6 + rate * (1.0 + 1e-7) * (times[1000:] - times[999])
    windows = judge_steady_windows(times, values, window, 10, 0.5, limit, scale)
    for k, start in enumerate(windows.start_index):
        chunk = np.s_[start : start + window]
        single = judge_steady(times[chunk], values[chunk], 0.5, limit, scale)
        assert windows.steady[k] == single.steady, start
        if start + window <= 1000 or start >= 1000:  # on one ramp only
            assert windows.steady[k] == (start < 1000), start


@pytest.mark.parametrize(("window", "step"), [(200, 10), (1, 1), (3, 3)])
def test_inputs_are_left_untouched(window: int, step: int) -> None:
    times, values = _hostile_log(600)
    times_before, values_before = times.copy(), values.copy()
    judge_steady_windows(times, values, max(window, 2), step, 0.03, 0.01).std  # noqa: B018 - computes
    sliding_window_statistics(times, values, window, step)
    np.testing.assert_array_equal(times, times_before)
    np.testing.assert_array_equal(values, values_before)


def test_all_channels_judge_as_each_alone() -> None:
    rng = np.random.default_rng(3)
    times = 3000.0 + np.arange(3000) / 100.0
    columns = {
        "flow_m3_s": 0.01 * (1 + rng.normal(0.0, 0.004, 3000)) + np.where(times > 3012.0, 1e-3, 0.0),
        "speed_rpm": 3000.0 + rng.normal(0.0, 2.0, 3000) + 0.05 * (times - 3000.0),
        "unjudged": rng.normal(size=3000),
    }
    limits = {
        "flow_m3_s": SteadyLimits(0.02, 0.005),
        "speed_rpm": SteadyLimits(0.002, 0.0001, reference_scale=1.0),
    }
    together = judge_steady_windows_all(times, columns, limits, 200, 10)
    assert set(together) == set(limits)
    for name, limit in limits.items():
        alone = judge_steady_windows(
            times,
            columns[name],
            200,
            10,
            limit.max_fluctuation_fraction,
            limit.max_trend_fraction,
            limit.reference_scale,
        )
        np.testing.assert_array_equal(together[name].steady, alone.steady)
        np.testing.assert_array_equal(together[name].trend_fraction, alone.trend_fraction)
        np.testing.assert_array_equal(together[name].std, alone.std)
        assert together[name].steady.any() and not together[name].steady.all()


def test_all_channels_refuses_limits_without_values() -> None:
    with pytest.raises(ConfigError, match="head_m"):
        judge_steady_windows_all(
            np.arange(300.0), {"flow_m3_s": np.ones(300)}, {"head_m": SteadyLimits(0.03, 0.01)}, 20, 5
        )


def test_one_time_axis_serves_every_channel_and_refuses_another_length() -> None:
    times = np.arange(1000) / 100.0
    windows = SlidingWindows(times, 200, 10)
    assert not windows.duration.flags.writeable
    np.testing.assert_allclose(windows.duration, 1.99)
    with pytest.raises(ValueError, match="999"):
        windows.sums(np.ones(999))
