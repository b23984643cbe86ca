"""The run's samples in memory, for the runner's own judgements: one growing array per channel.

The runner appends one row per tick and, at every steady-state check and every point, needs recent or
windowed columns as numpy arrays. Kept as Python lists, every point rebuilt every column of the whole
run as an array (about 3 % of a default run's time, growing with its length). Here each channel is a
contiguous row of one preallocated float64 array whose capacity doubles when full, so appending costs
one row write and reading a column or a window is a view: no copy, and the values (and so every mean
and verdict computed from them) are exactly those the lists held.

Imports numpy only.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np

INITIAL_CAPACITY = 4096
"""Rows before the first doubling: about 7 minutes at 10 Hz."""


class SampleLog:
    """Times and channel values of every tick so far; columns are views valid until the next append."""

    def __init__(self, channels: Iterable[str], capacity: int = INITIAL_CAPACITY) -> None:
        self.channels = list(channels)
        self._row = {name: i for i, name in enumerate(self.channels)}
        self._times = np.empty(capacity)
        self._values = np.empty((len(self.channels), capacity))
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def append(self, time_s: float, values: Sequence[float]) -> None:
        """One tick's row, ``values`` in :attr:`channels` order."""
        if self._size == self._times.size:
            self._grow()
        self._times[self._size] = time_s
        self._values[:, self._size] = values
        self._size += 1

    def _grow(self) -> None:
        capacity = 2 * self._times.size
        times = np.empty(capacity)
        times[: self._size] = self._times[: self._size]
        values = np.empty((len(self.channels), capacity))
        values[:, : self._size] = self._values[:, : self._size]
        self._times, self._values = times, values

    def times(self, last: int | None = None) -> np.ndarray:
        """Every time so far, or the ``last`` ones."""
        start = 0 if last is None else max(0, self._size - last)
        return self._times[start : self._size]

    def columns(self, last: int | None = None) -> dict[str, np.ndarray]:
        """Every channel's values so far (or the ``last`` ones), by name."""
        start = 0 if last is None else max(0, self._size - last)
        return {name: self._values[i, start : self._size] for name, i in self._row.items()}

    def window(self, start_s: float, end_s: float) -> dict[str, np.ndarray]:
        """Every channel's values at the times ``start_s <= t <= end_s``, by name: views, found by
        bisection (the times only grow), so a window costs the same late in a run as early on. A
        mask over every time so far made a procedure that looks at the last tick on every tick
        (``mission-profile``, ``throttle-steps``) quadratic in the run's length."""
        times = self._times[: self._size]
        start = int(np.searchsorted(times, start_s, side="left"))
        end = int(np.searchsorted(times, end_s, side="right"))
        return {name: self._values[i, start:end] for name, i in self._row.items()}

    def latest(self, name: str) -> float:
        """The channel's value at the last tick; NaN before the first tick or for an unknown one."""
        if self._size == 0 or name not in self._row:
            return math.nan
        return float(self._values[self._row[name], self._size - 1])
