"""The terminal view of a live run: what the operator needs without a browser.

On a terminal (stderr is a TTY) a panel redrawn a few times a wall second with rich: the live readings
with their margins to the bench limits, the procedure's step with progress and time left, the
steady-state judgement of the current point, the procedure's declared measurements with their limits
and PASS/FAIL, the last events, and the trip or stop with its reason. When stderr is not a terminal (a
log file, CI) it degrades to plain lines: one per progress message and one per notable event (read
errors, steady windows, trips, stops, refused control requests), in the order they happened.

Like the web console it is a subscriber of the run's stream, drawn from its own thread: it never
slows or changes the run; only its pace is wall time (:data:`REFRESH_S`).

Imports :mod:`hil.console.view`, :mod:`hil.console.feeds`, :mod:`hil.analysis.measurements` and
:mod:`hil.run.stream`.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping
from typing import Any, TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from hil.analysis.measurements import MEASUREMENT_EVENT
from hil.bench.config import BenchLimits
from hil.console.feeds import StreamFeed
from hil.console.view import NOTABLE_EVENTS, RunView, measurement_entry
from hil.run.stream import Message, RunStream

REFRESH_S = 0.25
"""Wall time between two redraws (or two batches of plain lines)."""
EVENTS_SHOWN = 8
UNITS = {"_rpm": ("rpm", 1.0), "_pa": ("kPa", 1e-3), "_m3_s": ("L/s", 1e3), "_kg_s": ("kg/s", 1.0)}
UNITS |= {"_w": ("W", 1.0), "_a": ("A", 1.0), "_v": ("V", 1.0), "_c": ("degC", 1.0)}


def display(channel: str, value: float) -> tuple[str, str]:
    """A value in the unit an operator reads (kPa, L/s), and that unit."""
    unit, scale = next(((u, s) for end, (u, s) in UNITS.items() if channel.endswith(end)), ("", 1.0))
    if value is None or not math.isfinite(value):
        return "-", unit
    shown = value * scale
    return (f"{shown:.0f}" if abs(shown) >= 1000 else f"{shown:.4g}"), unit


def measurement_line(entry: Mapping[str, Any]) -> str:
    """A measurement as the operator reads it: name = value unit [limits]: PASS or FAIL."""
    low = "-inf" if entry.get("low") is None else f"{entry['low']:.6g}"
    high = "+inf" if entry.get("high") is None else f"{entry['high']:.6g}"
    tolerance = f" ({entry['tolerance']})" if entry.get("tolerance") else ""
    return (
        f"{entry['name']} = {entry['value']:.6g} {entry['unit']}, limits [{low}, {high}]{tolerance}: "
        f"{entry['verdict']}"
    )


def event_line(event: dict[str, Any]) -> str:
    """One event as a short line: time, kind and its main fields."""
    kind = event.get("kind", "?")
    if kind == MEASUREMENT_EVENT:
        return f"{float(event.get('time_s', 0.0)):9.1f} s  measurement: " + measurement_line(
            measurement_entry(event)
        )
    skip = ("time_s", "kind", "detail", "limits", "labels")
    fields = ", ".join(f"{k}={_short(v)}" for k, v in event.items() if k not in skip)
    return f"{float(event.get('time_s', 0.0)):9.1f} s  {kind}" + (f": {fields}" if fields else "")


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_short(v)}" for k, v in value.items()) + "}"
    return str(value)


def duration(seconds: float | None) -> str:
    if seconds is None or not math.isfinite(seconds):
        return "-"
    minutes, secs = divmod(int(round(seconds)), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


class TerminalView:
    """Draws one run on a terminal, or writes plain lines (see the module docstring)."""

    def __init__(self, stream: RunStream, limits: BenchLimits, out: TextIO, interactive: bool) -> None:
        self.feed = StreamFeed(stream)
        self.view = RunView(limits)
        self.out = out
        self.interactive = interactive
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="hil-terminal-view", daemon=True)
        self._live: Live | None = None

    def start(self) -> None:
        if self.interactive:
            console = Console(file=self.out, force_terminal=True)
            self._live = Live(console=console, auto_refresh=False, transient=False)
            self._live.start()
        self._thread.start()

    def close(self) -> None:
        """Draw what is left (the run's end) and stop."""
        self._stop.set()
        self._thread.join(timeout=10.0)
        self._update()
        if self._live is not None:
            self._live.stop()
        self.feed.close()

    def _loop(self) -> None:
        while not self._stop.wait(REFRESH_S):
            try:
                self._update()
            except Exception as exc:  # noqa: BLE001 - a drawing error must not reach the run
                self.out.write(f"terminal view: {exc}\n")
                return

    def _update(self) -> None:
        rows, messages = self.feed.poll()
        self.view.feed(rows, messages)
        if self._live is not None:
            self._live.update(self.render(), refresh=True)
        else:
            self._plain(messages)

    def _plain(self, messages: list[Message]) -> None:
        lines = []
        for message in messages:
            if message.kind == "progress":
                lines.append(str(message.fields.get("message", "")))
            elif message.kind == "event" and message.fields.get("kind") in NOTABLE_EVENTS:
                # a point is announced by its progress message, a measurement by the runner's own line
                if message.fields.get("kind") not in ("point", MEASUREMENT_EVENT):
                    lines.append(event_line(message.fields))
        if lines:
            self.out.write("".join(line + "\n" for line in lines))
            self.out.flush()

    # ------------------------------------------------------------------ the panel
    def render(self) -> Panel:
        view = self.view
        meta = view.meta
        title = f"{meta.get('procedure', 'run')} on {meta.get('bench_name', '?')}: {view.status()}"
        progress = view.progress
        head = Table.grid(padding=(0, 2))
        head.add_row(
            Text(f"bench time {duration(view.now_s())}"),
            Text(str(progress.get("message", ""))),
            Text(f"time left {duration(view.time_left_s())}"),
        )
        parts: list[Any] = [head]
        if progress.get("steps"):
            done = max(0, int(progress.get("step") or 1) - 1)
            bar = Table.grid(padding=(0, 2))
            bar.add_row(
                ProgressBar(total=float(progress["steps"]), completed=float(done), width=50),
                Text(f"step {progress.get('step')} of {progress['steps']}"),
            )
            parts.append(bar)
        if view.trip is not None:
            parts.append(self._trip_text())
        parts.append(self._readings())
        if view.steady:
            steady = view.steady
            verdict = "steady" if steady.get("steady") else "settling"
            parts.append(
                Text(
                    f"current point: {verdict} after {steady.get('waited_s', 0.0):.1f} s "
                    f"(timeout {steady.get('timeout_s', 0.0):.0f} s)",
                    style="green" if steady.get("steady") else "yellow",
                )
            )
            parts.append(self._steady())
        if view.measurements:
            parts.append(self._measurements())
        events = [e for e in view.events if e.get("kind") in NOTABLE_EVENTS][-EVENTS_SHOWN:]
        if events:
            parts.append(Text("\n".join(event_line(e) for e in events), style="dim"))
        return Panel(Group(*parts), title=title, border_style="red" if view.trip else "blue")

    def _trip_text(self) -> Text:
        trip = self.view.trip or {}
        safe = trip.get("safe_state") or {}
        what = "TRIP" if trip.get("kind") == "trip" else "STOPPED"
        text = f"{what}: {trip.get('reason', '')}"
        if safe:
            text += f"  safe state: {', '.join(safe.get('commanded', []))}"
            if safe.get("failed"):
                text += f"  FAILED: {', '.join(safe['failed'])}"
        return Text(text, style="bold white on red")

    def _measurements(self) -> Table:
        table = Table(box=None, padding=(0, 1), show_edge=False)
        for heading in ("measurement", "value", "unit", "limits", "verdict"):
            table.add_column(heading, justify="right" if heading == "value" else "left")
        for entry in self.view.measurements:
            low = "-inf" if entry.get("low") is None else f"{entry['low']:.6g}"
            high = "+inf" if entry.get("high") is None else f"{entry['high']:.6g}"
            limits = f"[{low}, {high}]" + (f" {entry['tolerance']}" if entry.get("tolerance") else "")
            verdict = entry["verdict"]
            table.add_row(
                entry["name"],
                f"{entry['value']:.6g}",
                str(entry["unit"]),
                limits,
                Text(verdict, style="bold green" if verdict == "PASS" else "bold red"),
            )
        return table

    def _readings(self) -> Table:
        table = Table(box=None, padding=(0, 1), show_edge=False)
        for heading in ("channel", "value", "unit", "limit", "margin", ""):
            table.add_column(heading, justify="right" if heading in ("value", "limit", "margin") else "left")
        margins = self.view.margins()
        for channel, value in self.view.readings().items():
            shown, unit = display(channel, value)
            limit = margin = note = ""
            style = ""
            if channel in margins:
                line = margins[channel]
                limit = ("<= " if line["kind"] == "max" else ">= ") + display(channel, line["limit"])[0]
                margin = display(channel, line["margin"])[0]
                fraction = line["margin_fraction"]
                if math.isfinite(fraction):
                    note = f"{fraction:.0%}"
                    style = "red" if fraction < 0.1 else "yellow" if fraction < 0.25 else "green"
            table.add_row(channel, shown, unit, limit, Text(margin, style=style), Text(note, style=style))
        return table

    def _steady(self) -> Table:
        steady = self.view.steady
        table = Table(box=None, padding=(0, 1))
        for heading in ("quantity", "fluctuation", "limit", "trend", "limit"):
            table.add_column(heading)
        limits = steady.get("limits", {})
        for quantity, detail in steady.get("detail", {}).items():
            fluct_limit, trend_limit = limits.get(quantity, (math.nan, math.nan))
            fluct, trend = detail.get("fluctuation_fraction"), detail.get("trend_fraction")
            table.add_row(
                quantity,
                Text(f"{fluct:.2%}", style="green" if fluct <= fluct_limit else "yellow"),
                f"{fluct_limit:.2%}",
                Text(f"{trend:.2%}", style="green" if abs(trend) <= trend_limit else "yellow"),
                f"{trend_limit:.2%}",
            )
        return table
