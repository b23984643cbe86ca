"""The run directory: everything a run produced, readable without this software.

Layout of one run (all SI, the unit in every column name)::

    metadata.json          procedure, parameters, bench, instrument identities, versions, times,
                           status ("running", "completed", "aborted", "error", "interrupted") and reason
    bench.toml             the bench file exactly as it was used
    samples.csv            raw samples of every channel, one row a tick, appended as the run goes
    samples.parquet        the same samples, columnar, written when the run closes
    events.jsonl           setpoints, steady windows, points, trips: one JSON object a line
    operating_points.csv   the derived points with standard deviations and sample counts

The journal (``samples.csv``, ``events.jsonl``) is flushed to the operating system at least once a
second of wall time, so a ``kill -9`` loses at most the last second. Floats are written with ``repr``,
which round-trips exactly: re-analysing the log gives bit-for-bit the numbers the live run computed.

Imports only hil's errors and clock.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Sequence

import pandas as pd

from hil.errors import RunLogError

SAMPLES_CSV = "samples.csv"
SAMPLES_PARQUET = "samples.parquet"
EVENTS = "events.jsonl"
POINTS = "operating_points.csv"
METADATA = "metadata.json"
BENCH_SNAPSHOT = "bench.toml"
FLUSH_INTERVAL_S = 0.5


def _format(value: float) -> str:
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else repr(value)


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write JSON so that a crash leaves either the old or the new file, never half of one."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(json.dumps(document, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8")
    os.replace(temporary, path)


def new_run_directory(parent: Path, procedure: str) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S")
    for attempt in range(1000):
        suffix = "" if attempt == 0 else f"-{attempt}"
        candidate = parent / f"{stamp}_{procedure}{suffix}"
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise RunLogError(f"{parent}: cannot create a new run directory")


class RunWriter:
    """Appends samples and events to a run directory while the run goes."""

    def __init__(self, directory: Path, channels: Sequence[str], metadata: dict[str, Any], bench_text: str) -> None:
        self.directory = directory
        self.channels = list(channels)
        self.metadata = dict(metadata)
        self.metadata.setdefault("status", "running")
        (directory / BENCH_SNAPSHOT).write_text(bench_text, encoding="utf-8")
        write_json_atomic(directory / METADATA, self.metadata)
        self._samples = open(directory / SAMPLES_CSV, "w", encoding="utf-8", newline="")
        self._samples.write(",".join(["time_s", *self.channels]) + "\n")
        self._events = open(directory / EVENTS, "w", encoding="utf-8")
        self._last_flush = time.monotonic()

    def append_sample(self, time_s: float, values: Sequence[float]) -> None:
        self._samples.write(repr(time_s) + "," + ",".join(_format(v) for v in values) + "\n")
        self._maybe_flush()

    def append_event(self, event: dict[str, Any]) -> None:
        self._events.write(json.dumps(event, default=_json_default) + "\n")
        self._maybe_flush()

    def _maybe_flush(self) -> None:
        now = time.monotonic()
        if now - self._last_flush >= FLUSH_INTERVAL_S:
            self.flush()
            self._last_flush = now

    def flush(self) -> None:
        self._samples.flush()
        self._events.flush()

    def update_metadata(self, **fields: Any) -> None:
        self.metadata.update(fields)
        write_json_atomic(self.directory / METADATA, self.metadata)

    def write_points(self, points: Iterable[dict[str, Any]]) -> None:
        write_points_csv(self.directory / POINTS, list(points))

    def close(self, status: str, reason: str = "") -> None:
        """Close the journal, write the columnar copy and the final status."""
        self.flush()
        self._samples.close()
        self._events.close()
        frame = read_samples(self.directory)
        frame.to_parquet(self.directory / SAMPLES_PARQUET, index=False)
        self.update_metadata(status=status, reason=reason, end_utc=datetime.now(timezone.utc).isoformat())


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def write_points_csv(path: Path, points: list[dict[str, Any]]) -> None:
    if not points:
        path.write_text("", encoding="utf-8")
        return
    columns: list[str] = []
    for point in points:
        columns.extend(key for key in point if key not in columns)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for point in points:
        writer.writerow([_format(point[c]) if isinstance(point.get(c), float) else point.get(c, "") for c in columns])
    path.write_text(buffer.getvalue(), encoding="utf-8")


def read_samples(directory: Path) -> pd.DataFrame:
    """The raw samples of a run, from Parquet if the run closed, else from the CSV journal.

    A journal cut short by a crash loses only its last, partial line; anything else malformed raises
    RunLogError naming the file and the line.
    """
    parquet = directory / SAMPLES_PARQUET
    if parquet.exists():
        try:
            return pd.read_parquet(parquet)
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            raise RunLogError(f"{parquet}: unreadable Parquet file: {exc}") from exc
    journal = directory / SAMPLES_CSV
    if not journal.exists():
        raise RunLogError(f"{directory}: no {SAMPLES_CSV} or {SAMPLES_PARQUET}: not a run directory")
    text = journal.read_text(encoding="utf-8")
    lines = text.split("\n")
    if not lines or not lines[0].startswith("time_s"):
        raise RunLogError(f"{journal}: line 1: expected a header starting with time_s")
    header = lines[0].split(",")
    # The last element is "" when the file ends in a newline, else a line cut short by a crash:
    # either way it holds no complete sample.
    complete = lines[1:-1]
    rows: list[list[float]] = []
    for number, line in enumerate(complete, start=2):
        fields = line.split(",")
        if len(fields) != len(header):
            raise RunLogError(f"{journal}: line {number}: expected {len(header)} fields, got {len(fields)}")
        try:
            rows.append([float(f) if f else math.nan for f in fields])
        except ValueError as exc:
            raise RunLogError(f"{journal}: line {number}: not a number: {exc}") from exc
    return pd.DataFrame(rows, columns=header, dtype="float64")


def read_events(directory: Path) -> list[dict[str, Any]]:
    path = directory / EVENTS
    if not path.exists():
        raise RunLogError(f"{directory}: no {EVENTS}")
    events = []
    text = path.read_text(encoding="utf-8")
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]  # a partial last line after a crash
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise RunLogError(f"{path}: line {number}: not valid JSON: {exc.msg}") from exc
    return events


def read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise RunLogError(f"{directory}: no {METADATA}: not a run directory") from exc
    except json.JSONDecodeError as exc:
        raise RunLogError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc


def read_points(directory: Path) -> pd.DataFrame:
    path = directory / POINTS
    if not path.exists() or path.stat().st_size == 0:
        return pd.DataFrame()
    return pd.read_csv(path)


@dataclass(frozen=True)
class RunSummary:
    directory: Path
    status: str
    reason: str
    points: int
