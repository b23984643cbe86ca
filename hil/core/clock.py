"""Clocks: the only place in the harness that reads time or waits.

A :class:`WallClock` serves the real bench. A :class:`VirtualClock` serves the virtual bench: time
moves only when the runner advances it, and every listener (the simulator's plant and its emulators)
is stepped to the new time before ``advance`` returns. That is what makes a simulated run
deterministic for a given seed and as fast as the transports allow.

Imports nothing from the rest of the project.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

AdvanceListener = Callable[[float], None]
"""Called with the new bench time in seconds after the virtual clock moved."""


class Clock(Protocol):
    """What the runner, procedures and drivers use for time."""

    def now_s(self) -> float:
        """Seconds since the clock's epoch (the start of the run), monotonic."""
        ...

    def sleep(self, duration_s: float) -> None:
        """Let ``duration_s`` of bench time pass."""
        ...

    def sleep_until(self, time_s: float) -> None:
        """Wait until bench time ``time_s`` (the runner's ticks are deadlines, so a slow tick does
        not shift every later one); returns at once when already past."""
        ...


class WallClock:
    """Real time for a real bench: monotonic, never affected by changes of the system time."""

    def __init__(self) -> None:
        self._start = time.monotonic()

    def now_s(self) -> float:
        return time.monotonic() - self._start

    def sleep(self, duration_s: float) -> None:
        if duration_s > 0:
            time.sleep(duration_s)

    def sleep_until(self, time_s: float) -> None:
        """Wait until bench time ``time_s``; returns at once when already past."""
        self.sleep(time_s - self.now_s())

    @staticmethod
    def timestamp_utc() -> float:
        """Seconds since the Unix epoch, for metadata only (never for measuring intervals)."""
        return time.time()


class VirtualClock:
    """Bench time that advances only when told, stepping every listener in lockstep."""

    def __init__(self, start_s: float = 0.0) -> None:
        self._now_s = start_s
        self._listeners: list[AdvanceListener] = []

    def add_listener(self, listener: AdvanceListener) -> None:
        self._listeners.append(listener)

    def now_s(self) -> float:
        return self._now_s

    def sleep(self, duration_s: float) -> None:
        if duration_s > 0:
            self.advance_to(self._now_s + duration_s)

    def sleep_until(self, time_s: float) -> None:
        self.advance_to(time_s)

    def advance_to(self, time_s: float) -> None:
        if time_s <= self._now_s:
            return
        self._now_s = time_s
        for listener in self._listeners:
            listener(time_s)

    @staticmethod
    def timestamp_utc() -> float:
        return time.time()
