"""Declarative measurements: a named value with its unit and limits, judged as it is recorded.

A procedure declares what it measures (``Measurement("head_drift_fraction", "1", low=-0.02,
high=0.02)``) and records a value with ``runner.measure(MEASUREMENT, value)``; the runner judges it at
once (:func:`judge`), shows it live and logs it as a ``measurement`` event carrying the value, the unit
and the limits. The run's ``measurements.csv`` is derived from those events (:func:`measurement_rows`),
the verdict computed again from the recorded value and limits, so a replay gives it exactly. Limits
are inclusive; a missing bound is open; NaN fails (no value is no pass).

Imports nothing from the rest of the project.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

MEASUREMENT_EVENT = "measurement"
COLUMNS = ("name", "value", "unit", "low", "high", "verdict", "time_s", "help")


@dataclass(frozen=True)
class Measurement:
    """What a procedure measures: a name with the unit in it, the unit, the limits and what it means."""

    name: str
    unit: str
    low: float | None = None
    high: float | None = None
    help: str = ""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(
                f"measurement name must be an identifier like head_drift_fraction, got {self.name!r}"
            )
        for bound in (self.low, self.high):
            if bound is not None and not math.isfinite(bound):
                raise ValueError(f"measurement {self.name}: limits must be finite numbers, got {bound!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"measurement {self.name}: low {self.low} is above high {self.high}")

    def judge(self, value: float) -> bool:
        return judge(value, self.low, self.high)

    def describe_limits(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "+inf" if self.high is None else f"{self.high:g}"
        return f"[{low}, {high}] {self.unit}"


def judge(value: float, low: float | None, high: float | None) -> bool:
    """Within the inclusive limits; NaN never passes."""
    if math.isnan(value):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def measurement_rows(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per recorded measurement, in order, with the verdict judged from the recorded limits."""
    rows = []
    for event in events:
        if event.get("kind") != MEASUREMENT_EVENT:
            continue
        low, high = event.get("low"), event.get("high")
        value = float(event["value"])
        rows.append(
            {
                "name": event["name"],
                "value": value,
                "unit": event.get("unit", ""),
                "low": math.nan if low is None else float(low),
                "high": math.nan if high is None else float(high),
                "verdict": "PASS" if judge(value, low, high) else "FAIL",
                "time_s": float(event["time_s"]),
                "help": event.get("help", ""),
            }
        )
    return rows
