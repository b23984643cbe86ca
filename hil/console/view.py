"""What a live view shows of a run, whatever draws it: a state kept from the run's stream.

:class:`RunView` takes what a feed delivers (rows of samples and messages: start, events, points,
progress, steady-state judgements, end) and keeps what the operator needs: the latest reading of
every channel with its margin to the bench limit, a bounded history for the strip charts, the
operating points, the last events, the procedure's step with an estimate of the time left, the
steady-state judgement of the current point, the trip with its safe-state actions, and every declared
measurement the procedure recorded with its limits and PASS/FAIL (in every update's summary). The web
console sends :meth:`RunView.snapshot` and :meth:`RunView.delta` as JSON; the terminal view draws
the same state. It is plain data in, plain data out: no threads, no I/O, no clock of its own.

Imports :mod:`hil.bench.config` (the bench limits), :mod:`hil.analysis.measurements` (the one
judgement of a measurement) and :mod:`hil.run.stream` (the message type).
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hil.analysis.measurements import MEASUREMENT_EVENT, judge
from hil.bench.config import BenchLimits
from hil.run.stream import Message

HISTORY_ROWS = 20_000
"""Rows kept for the strip charts; past that every other row is dropped (the charts thin out)."""
ROWS_PER_DELTA = 60
"""Most rows one update carries: a virtual run's thousands of ticks a second are strided down."""
EVENTS_KEPT = 500
NOTABLE_EVENTS = (
    "trip",
    "operator_stop",
    "safe_state",
    "read_error",
    "steady",
    "steady_timeout",
    "point",
    "error",
    "control_refused",
    "watchdog_error",
    "safe_state_error",
    "safe_state_unconfirmed",
    MEASUREMENT_EVENT,
)
"""Events the terminal view lists; the web console lists every event."""

GROUPS = (
    ("speed", ("_rpm",)),
    ("pressures", ("_pa",)),
    ("flow", ("_m3_s", "_kg_s")),
    ("electrical power", ("_w",)),
    ("currents", ("_a",)),
    ("voltages", ("_v",)),
    ("temperatures", ("_c",)),
)
"""Strip-chart groups by the unit at the end of a channel's name; the rest goes in "other"."""


@dataclass(frozen=True)
class Redline:
    """A bench limit drawn on a channel's chart: the run trips beyond it (``kind`` "max" or "min")."""

    channel: str
    kind: str
    limit: float
    field: str
    while_running: bool = False

    def margin(self, value: float) -> float:
        """Distance to the limit in the channel's unit; negative beyond it."""
        return self.limit - value if self.kind == "max" else value - self.limit


def redlines(limits: BenchLimits) -> dict[str, Redline]:
    """The limits the runner checks on channels, by channel (see :mod:`hil.run.runner`)."""
    lines = [
        Redline("speed_rpm", "max", limits.max_speed_rpm, "max_speed_rpm"),
        Redline("p_outlet_pa", "max", limits.max_outlet_pressure_pa, "max_outlet_pressure_pa"),
        Redline("motor_current_a", "max", limits.max_motor_current_a, "max_motor_current_a"),
        Redline("motor_temperature_c", "max", limits.max_motor_temperature_c, "max_motor_temperature_c"),
        Redline(
            "controller_temperature_c",
            "max",
            limits.max_controller_temperature_c,
            "max_controller_temperature_c",
        ),
        Redline("fluid_temperature_c", "max", limits.max_fluid_temperature_c, "max_fluid_temperature_c"),
        Redline("p_inlet_pa", "min", limits.min_inlet_pressure_pa, "min_inlet_pressure_pa", True),
        Redline("flow_m3_s", "min", limits.min_flow_while_running_m3_s, "min_flow_while_running_m3_s", True),
    ]
    return {line.channel: line for line in lines}


def channel_groups(channels: Sequence[str]) -> dict[str, list[str]]:
    groups: dict[str, list[str]] = {name: [] for name, _ in GROUPS}
    groups["other"] = []
    for channel in channels:
        group = next((name for name, ends in GROUPS if channel.endswith(ends)), "other")
        groups[group].append(channel)
    return {name: members for name, members in groups.items() if members}


def json_number(value: Any) -> Any:
    """A float as JSON can carry it: NaN and infinities (no data, overload) become None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (list, dict, str)):
        return json_number(value.item())  # a numpy scalar
    if isinstance(value, dict):
        return {k: json_number(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_number(v) for v in value]
    return value


def measurement_entry(event: Mapping[str, Any]) -> dict[str, Any]:
    """A ``measurement`` event as a viewer shows it, judged from its recorded value and limits
    (:func:`hil.analysis.measurements.judge`, as the run directory's ``measurements.csv`` is)."""
    low, high = event.get("low"), event.get("high")
    value = float(event.get("value", math.nan))
    return {
        "name": event.get("name", "?"),
        "value": value,
        "unit": event.get("unit", ""),
        "low": low,
        "high": high,
        "verdict": "PASS" if judge(value, low, high) else "FAIL",
        "time_s": event.get("time_s"),
        "tolerance": event.get("tolerance", ""),
    }


class RunView:
    """The state of one run as a viewer sees it (see the module docstring)."""

    def __init__(self, limits: BenchLimits | None = None) -> None:
        self.redlines = redlines(limits) if limits is not None else {}
        self.meta: dict[str, Any] = {}
        self.channels: list[str] = []
        self.history: list[tuple[float, tuple[float, ...]]] = []
        self.latest: tuple[float, tuple[float, ...]] | None = None
        self.events: deque[dict[str, Any]] = deque(maxlen=EVENTS_KEPT)
        self.points: list[dict[str, Any]] = []
        self.measurements: list[dict[str, Any]] = []
        self.progress: dict[str, Any] = {}
        self.steady: dict[str, Any] = {}
        self.trip: dict[str, Any] | None = None
        self.end: dict[str, Any] | None = None
        self.running = False
        self._pending_rows: list[tuple[float, tuple[float, ...]]] = []
        self._pending_events: list[dict[str, Any]] = []
        self._pending_points: list[dict[str, Any]] = []
        self._changed = False
        self._started = False
        self.sequence = 0

    # ------------------------------------------------------------------ input
    def feed(self, rows: Iterable[tuple[float, Sequence[float]]], messages: Iterable[Message]) -> None:
        for message in messages:
            self._message(message)
        for time_s, values in rows:
            row = (float(time_s), tuple(float(v) for v in values))
            self.latest = row
            self.history.append(row)
            self._pending_rows.append(row)
            self._changed = True
        if len(self.history) > HISTORY_ROWS:
            self.history = self.history[::2]

    def _message(self, message: Message) -> None:
        fields = message.fields
        self._changed = True
        if message.kind == "start":
            self.channels = list(fields.get("channels", []))
            self.meta = {k: v for k, v in fields.items() if k != "channels"}
            self.running = True
            self._started = True  # the next update is a whole snapshot: it names the channels
        elif message.kind == "event":
            self.events.append(fields)
            self._pending_events.append(fields)
            if fields.get("kind") in ("trip", "operator_stop"):
                self.trip = {
                    "kind": fields["kind"],
                    "time_s": fields.get("time_s"),
                    "reason": fields.get("reason", ""),
                    "values": fields.get("values", {}),
                    "safe_state": None,
                }
            elif fields.get("kind") == MEASUREMENT_EVENT:
                self.measurements.append(measurement_entry(fields))
            elif fields.get("kind") == "safe_state" and self.trip is not None:
                self.trip["safe_state"] = {
                    "commanded": fields.get("commanded", []),
                    "failed": fields.get("failed", []),
                }
        elif message.kind == "point":
            self.points.append(fields)
            self._pending_points.append(fields)
        elif message.kind == "progress":
            self.progress = dict(fields)
            self.progress.setdefault("started_s", fields.get("time_s"))
        elif message.kind == "steady":
            self.steady = dict(fields)
        elif message.kind == "end":
            self.end = dict(fields)
            self.running = False

    # ------------------------------------------------------------------ derived
    def now_s(self) -> float:
        return self.latest[0] if self.latest else 0.0

    def readings(self) -> dict[str, float]:
        if self.latest is None:
            return {}
        return dict(zip(self.channels, self.latest[1]))

    def margins(self) -> dict[str, dict[str, Any]]:
        """Each limited channel's latest value, limit and margin (absolute and as a fraction)."""
        values = self.readings()
        result = {}
        for channel, line in self.redlines.items():
            value = values.get(channel, math.nan)
            margin = line.margin(value)
            result[channel] = {
                "kind": line.kind,
                "limit": line.limit,
                "field": line.field,
                "while_running": line.while_running,
                "value": value,
                "margin": margin,
                "margin_fraction": margin / abs(line.limit) if line.limit else math.nan,
            }
        return result

    def time_left_s(self) -> float | None:
        """Bench seconds left, from the time the finished steps took; None before the first is done."""
        step, steps = self.progress.get("step"), self.progress.get("steps")
        started = self.progress.get("time_s")
        if not self.running or not step or not steps or started is None or step <= 1:
            return None
        per_step = float(started) / (step - 1)
        done_in_step = max(0.0, self.now_s() - float(started))
        return max(0.0, per_step * (steps - step + 1) - done_in_step)

    def status(self) -> str:
        if self.end is not None:
            return str(self.end.get("status", "ended"))
        return "running" if self.running else "waiting"

    def summary(self) -> dict[str, Any]:
        """What every update carries in full: small, and always current."""
        return json_number(
            {
                "sequence": self.sequence,
                "status": self.status(),
                "end": self.end,
                "time_s": self.now_s(),
                "readings": self.readings(),
                "margins": self.margins(),
                "progress": {**self.progress, "time_left_s": self.time_left_s()},
                "steady": self.steady,
                "trip": self.trip,
                "measurements": self.measurements,
            }
        )

    # ------------------------------------------------------------------ output
    def snapshot(self, max_rows: int = 5000) -> dict[str, Any]:
        """Everything, for a viewer that has just connected (history thinned to ``max_rows``)."""
        stride = max(1, math.ceil(len(self.history) / max_rows))
        rows = self.history[::stride]
        if self.history and rows[-1] is not self.history[-1]:
            rows.append(self.history[-1])
        return {
            "type": "snapshot",
            "meta": json_number(self.meta),
            "channels": self.channels,
            "groups": channel_groups(self.channels),
            "redlines": {c: json_number(vars(line)) for c, line in self.redlines.items()},
            "rows": [json_number([t, *values]) for t, values in rows],
            "events": json_number(list(self.events)),
            "points": json_number(self.points),
            **self.summary(),
        }

    def delta(self) -> dict[str, Any] | None:
        """What changed since the last delta, or None if nothing did; rows strided to at most
        :data:`ROWS_PER_DELTA` (the last row always included). Right after the run's start it is a
        whole snapshot instead, which names the channels."""
        if not self._changed:
            return None
        self.sequence += 1
        if self._started:
            self._started = False
            self._pending_rows, self._pending_events, self._pending_points = [], [], []
            self._changed = False
            return self.snapshot()
        rows = self._pending_rows
        if len(rows) > ROWS_PER_DELTA:
            stride = math.ceil(len(rows) / ROWS_PER_DELTA)
            rows = rows[::stride] + ([rows[-1]] if (len(rows) - 1) % stride else [])
        frame = {
            "type": "delta",
            "rows": [json_number([t, *values]) for t, values in rows],
            "events": json_number(self._pending_events),
            "points": json_number(self._pending_points),
            **self.summary(),
        }
        self._pending_rows, self._pending_events, self._pending_points = [], [], []
        self._changed = False
        return frame
