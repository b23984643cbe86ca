"""The runner's in-memory sample log: rows in, the same values out as columns, across growth."""

from __future__ import annotations

import math

import numpy as np

from hil.run.sample_log import SampleLog


def test_columns_and_windows_hold_exactly_the_appended_values_across_growth() -> None:
    log = SampleLog(["a", "b"], capacity=4)
    rows = [(0.1 * k, [float(k), math.nan if k == 5 else -float(k)]) for k in range(11)]
    for time_s, values in rows:
        log.append(time_s, values)
    assert len(log) == 11
    assert log.times().tolist() == [t for t, _ in rows]
    columns = log.columns()
    assert columns["a"].tolist() == [float(k) for k in range(11)]
    assert np.isnan(columns["b"][5]) and columns["b"][10] == -10.0
    assert log.times(3).tolist() == [t for t, _ in rows[-3:]]
    assert log.columns(3)["a"].tolist() == [8.0, 9.0, 10.0]
    assert log.columns(50)["a"].size == 11  # more than there is: all of it
    assert columns["a"].flags["C_CONTIGUOUS"]  # a channel is one contiguous row: sums as a list's array
    assert log.latest("a") == 10.0


def test_latest_before_any_tick_or_of_an_unknown_channel_is_nan() -> None:
    log = SampleLog(["a"])
    assert math.isnan(log.latest("a"))
    log.append(0.0, [1.0])
    assert math.isnan(log.latest("zzz"))


def test_a_window_is_every_sample_between_its_ends_inclusive_as_a_mask_would_choose() -> None:
    log = SampleLog(["a", "b"], capacity=4)  # grows twice on the way
    times = np.round(np.arange(13) * 0.1, 10)
    for k, t in enumerate(times):
        log.append(float(t), [float(k), math.nan if k % 5 == 0 else -float(k)])
    edges = [-1.0, 0.0, 0.05, 0.1, 0.3, 0.35, 1.2, 1.25, 5.0]
    for start in edges:
        for end in edges:
            mask = (times >= start) & (times <= end)
            window = log.window(start, end)
            assert window["a"].tolist() == np.arange(13, dtype=float)[mask].tolist(), (start, end)
            assert np.array_equal(window["b"], log.columns()["b"][mask], equal_nan=True), (start, end)
