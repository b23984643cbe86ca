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
