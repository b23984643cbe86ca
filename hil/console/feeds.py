"""Where a live view gets a run from: the live run's stream, or a run directory's journal.

:class:`StreamFeed` reads a subscription of :class:`~hil.run.stream.RunStream` (``hil run
--console``). :class:`JournalFeed` follows a run directory (``hil console RUN_DIR``): the rows and
events appended to ``samples.csv`` and ``events.jsonl`` since the last look, only whole lines (a line
being written is left for the next look), and the run's end from its metadata. A run that is still
running in another process is followed as it goes; a finished or interrupted one is read whole.
Operating points: a finished run's come from ``operating_points.csv``; while a run goes, each
``point`` event's window is averaged from the journal by the runner's own function
(:func:`hil.run.operating_points.operating_point`), so both give the numbers the run records.

Imports :mod:`hil.store` (the run directory's files), :mod:`hil.bench.config` (the bench snapshot)
and, from :mod:`hil.run`, the stream and the operating-point function.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np

from hil.bench.config import BenchConfig, load_bench
from hil.run.operating_points import operating_point, window_samples
from hil.run.stream import Message, RunStream, Subscription
from hil.store.run_directory import (
    BENCH_SNAPSHOT,
    EVENTS,
    SAMPLES_CSV,
    read_metadata,
    read_points,
    run_status,
)

Row = tuple[float, tuple[float, ...]]


class StreamFeed:
    """A live run's stream, through one bounded subscription."""

    def __init__(self, stream: RunStream) -> None:
        self.stream = stream
        self.subscription: Subscription = stream.subscribe()

    def poll(self) -> tuple[list[Row], list[Message]]:
        # messages first: a row is never shown before the start that names its channels
        messages = self.subscription.take_messages()
        return self.subscription.take_rows(), messages

    def close(self) -> None:
        self.stream.unsubscribe(self.subscription)


class _Tail:
    """The whole lines appended to a file since the last call."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0

    def lines(self) -> list[str]:
        try:
            with open(self.path, "rb") as handle:
                handle.seek(self.offset)
                data = handle.read()
        except FileNotFoundError:
            return []
        end = data.rfind(b"\n")
        if end < 0:
            return []
        self.offset += end + 1
        return data[: end + 1].decode("utf-8", errors="replace").splitlines()


class JournalFeed:
    """A run directory, followed as its journal grows (see the module docstring)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.metadata = read_metadata(directory)  # raises RunLogError for a non-run directory
        self.bench: BenchConfig = load_bench(str(directory / BENCH_SNAPSHOT))
        self._samples = _Tail(directory / SAMPLES_CSV)
        self._events = _Tail(directory / EVENTS)
        self._channels: list[str] | None = None
        self._times: list[float] = []
        self._columns: dict[str, list[float]] = {}
        self._ended = False
        self._points_sent = 0

    def poll(self) -> tuple[list[Row], list[Message]]:
        if self._ended:
            return [], []
        status = run_status(self.directory)  # before reading: a run ending meanwhile is read whole
        messages: list[Message] = []
        lines = self._samples.lines()
        if self._channels is None:
            if not lines:
                return [], []
            self._channels = lines.pop(0).split(",")[1:]
            self._columns = {name: [] for name in self._channels}
            start = {k: v for k, v in self.metadata.items() if k not in ("status", "reason", "end_utc")}
            messages.append(
                Message("start", {"channels": self._channels, **start, "directory": str(self.directory)})
            )
        rows = [self._row(line) for line in lines if line]
        for line in self._events.lines():
            if line:
                event = json.loads(line)
                messages.append(Message("event", event))
        if status == "running":
            points = [self._live_point(m.fields) for m in messages if m.fields.get("kind") == "point"]
        else:
            self._ended = True
            metadata = read_metadata(self.directory)
            points = self._recorded_points()[self._points_sent :]
        self._points_sent += len(points)
        messages += points
        if self._ended:
            messages.append(Message("end", {"status": status, "reason": metadata.get("reason", "")}))
        return rows, messages

    def _row(self, line: str) -> Row:
        fields = line.split(",")
        time_s = float(fields[0])
        values = tuple(float(f) if f else math.nan for f in fields[1:])
        self._times.append(time_s)
        for name, value in zip(self._columns, values):
            self._columns[name].append(value)
        return time_s, values

    def _live_point(self, event: dict[str, Any]) -> Message:
        times = np.asarray(self._times, dtype=np.float64)
        columns = {name: np.asarray(values, dtype=np.float64) for name, values in self._columns.items()}
        window = window_samples(times, columns, event["window_start_s"], event["window_end_s"])
        values = operating_point(window, self.bench.geometry)
        return Message("point", {"index": event.get("index"), **event.get("labels", {}), **values})

    def _recorded_points(self) -> list[Message]:
        frame = read_points(self.directory)
        return [
            Message("point", {"index": index, **{k: _plain(v) for k, v in row.items()}})
            for index, row in enumerate(frame.to_dict(orient="records"))
        ]


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value
