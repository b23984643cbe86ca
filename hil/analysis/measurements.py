"""Declarative measurements: a named value with its unit and limits, judged as it is recorded.

A procedure declares what it measures (``Measurement("head_drift_fraction", "1", low=-0.02,
high=0.02)``) and records a value with ``runner.measure(MEASUREMENT, value)``; the runner judges it at
once (:func:`judge`), shows it live and logs it as a ``measurement`` event carrying the value, the unit
and the limits. The run's ``measurements.csv`` is derived from those events (:func:`measurement_rows`),
the verdict computed again from the recorded value and limits, so a replay gives it exactly. Limits
are inclusive; a missing bound is open; NaN fails (no value is no pass).

**A grade's tolerance instead of numbers.** ``Measurement("flow_at_rated_head_m3_s", "m3/s",
grade="2B", quantity="flow", guarantee=0.00045)`` takes its limits from the acceptance grade table
(``hil/data/grades.toml``, or the ``grades`` file given): flow and head ``G (1 - minus) .. G (1 + plus)``
(a unilateral grade has no minus tolerance), power ``<= G (1 + power_plus)``, efficiency
``>= G (1 + t_eta)`` (t_eta <= 0). With ``pump_input_power_w`` the table's small-pump widening applies
where the table says it does. The limits are resolved once, when the measurement is declared, and the
``measurement`` event records them with the grade, quantity, guarantee and whether the table's values
are verified, so the run is judged, and replayed, on what was recorded, whatever the table says later.

Imports :mod:`hil.analysis.grades` (the grade table) and nothing else of the project.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hil.analysis.grades import Grade, GradeValue

MEASUREMENT_EVENT = "measurement"
COLUMNS = ("name", "value", "unit", "low", "high", "verdict", "time_s", "help")
GRADED_COLUMN = "tolerance"
"""Added after ``help`` to every row of a run that has at least one measurement judged by a grade."""
GRADE_QUANTITIES = ("flow", "head", "power", "efficiency")


@dataclass(frozen=True)
class Measurement:
    """What a procedure measures: a name with the unit in it, the unit, the limits and what it means."""

    name: str
    unit: str
    low: float | None = None
    high: float | None = None
    help: str = ""
    grade: str | None = None
    """An acceptance grade (``"2B"``): the limits are its tolerance around ``guarantee``."""
    quantity: str | None = None
    """With ``grade``: which tolerance, one of :data:`GRADE_QUANTITIES`."""
    guarantee: float | None = None
    """With ``grade``: the guaranteed value, in the measurement's unit."""
    pump_input_power_w: float | None = None
    """With ``grade``: the pump's input power, for the table's small-pump widening (None: not applied)."""
    grades: str | Path | None = None
    """With ``grade``: a grade table override file (same layout as ``hil/data/grades.toml``)."""
    tolerance: str = ""
    """With ``grade``: how the limits were obtained (filled in when declared)."""

    def __post_init__(self) -> None:
        if not self.name.isidentifier():
            raise ValueError(
                f"measurement name must be an identifier like head_drift_fraction, got {self.name!r}"
            )
        if self.grade is not None:
            self._resolve_grade()
        elif self.quantity is not None or self.guarantee is not None:
            raise ValueError(f"measurement {self.name}: quantity and guarantee go with a grade")
        for bound in (self.low, self.high):
            if bound is not None and not math.isfinite(bound):
                raise ValueError(f"measurement {self.name}: limits must be finite numbers, got {bound!r}")
        if self.low is not None and self.high is not None and self.low > self.high:
            raise ValueError(f"measurement {self.name}: low {self.low} is above high {self.high}")

    def _resolve_grade(self) -> None:
        where = f"measurement {self.name}"
        if self.low is not None or self.high is not None:
            raise ValueError(f"{where}: give either limits or a grade, not both")
        if self.quantity not in GRADE_QUANTITIES:
            raise ValueError(f"{where}: quantity must be one of {GRADE_QUANTITIES}, got {self.quantity!r}")
        if self.guarantee is None or not math.isfinite(self.guarantee) or self.guarantee <= 0:
            raise ValueError(f"{where}: a grade needs a positive guarantee value, got {self.guarantee!r}")
        assert self.grade is not None
        # imported here: the grade table brings numpy (via the steady-state limits), and every procedure
        # module imports this one, so `hil procedures` would pay for it on every listing
        from hil.analysis.grades import load_grade_table

        grade = load_grade_table(self.grades).grade(self.grade, self.pump_input_power_w)
        low, high, used = grade_limits(grade, self.quantity, self.guarantee, where)
        verified = "verified" if all(v.verified for v in used) else "UNVERIFIED table values"
        widened = (
            ", small-pump widening"
            if grade.small_pump_rule_applied and self.quantity in ("flow", "head")
            else ""
        )
        object.__setattr__(self, "low", low)
        object.__setattr__(self, "high", high)
        object.__setattr__(
            self,
            "tolerance",
            f"grade {grade.name} {self.quantity} tolerance around {self.guarantee:g} {self.unit}{widened} "
            f"({verified})",
        )

    def judge(self, value: float) -> bool:
        return judge(value, self.low, self.high)

    def describe_limits(self) -> str:
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "+inf" if self.high is None else f"{self.high:g}"
        return f"[{low}, {high}] {self.unit}"


def grade_limits(
    grade: Grade, quantity: str, guarantee: float, where: str
) -> tuple[float | None, float | None, list[GradeValue]]:
    """``(low, high, table values used)`` of a grade's tolerance on ``quantity`` around ``guarantee``."""
    if quantity in ("flow", "head"):
        minus, plus = getattr(grade, f"{quantity}_minus"), getattr(grade, f"{quantity}_plus")
        return guarantee * (1.0 - minus.value), guarantee * (1.0 + plus.value), [minus, plus]
    if quantity == "power":
        if grade.power_plus is None:
            raise ValueError(f"{where}: grade {grade.name} has no power tolerance in the grade table")
        return None, guarantee * (1.0 + grade.power_plus.value), [grade.power_plus]
    if grade.efficiency is None:
        raise ValueError(f"{where}: grade {grade.name} has no efficiency tolerance in the grade table")
    return guarantee * (1.0 + grade.efficiency.value), None, [grade.efficiency]


def judge(value: float, low: float | None, high: float | None) -> bool:
    """Within the inclusive limits; NaN never passes."""
    if math.isnan(value):
        return False
    return (low is None or value >= low) and (high is None or value <= high)


def measurement_rows(events: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """One row per recorded measurement, in order, with the verdict judged from the recorded limits."""
    rows = []
    graded = False
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
                GRADED_COLUMN: event.get(GRADED_COLUMN, ""),
            }
        )
        graded = graded or bool(event.get(GRADED_COLUMN))
    if not graded:  # runs without graded measurements keep the columns they always had
        for row in rows:
            del row[GRADED_COLUMN]
    return rows
