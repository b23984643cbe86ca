"""The run directory: everything a run produced, readable without this software.

Layout of one run (all SI, the unit in every column name)::

    metadata.json          procedure, parameters, bench, instrument identities, versions, times,
                           status ("running", "completed", "aborted", "error", "interrupted") and reason
    bench.toml             the bench file exactly as it was used
    procedure.py           a procedure given as a file: the file exactly as it ran (its SHA-256 in
                           the metadata as ``procedure_file``), for ``hil replay --through-bench``
    samples.csv            raw samples of every channel, one row a tick, appended as the run goes
    samples.parquet        the same samples, columnar, written when the run closes
    events.jsonl           setpoints, steady windows, points, trips: one JSON object a line
    operating_points.csv   the points the run recorded, with standard deviations and sample counts

and the results derived from them (:mod:`hil.results.derive` computes them, this module names and
writes them)::

    points_converted.csv   every point, raw and converted to the specified speed, with uncertainties
    acceptance.json        the verdict at the guarantee point (runs judged against one)
    npsh3.csv              NPSH3 per tested flow (NPSH3 runs)
    replay-<UTC time>/     results re-judged by ``hil replay`` with other settings, and replay.json
    report.html            the test report (``hil report``), with verdicts.csv beside it

This module is the only one that spells a run directory's file names; :class:`hil.store.run_log.RunLog`
is the one reader of a run directory.

Durability. The writer (:class:`hil.store.run_writer.RunWriter`) hands every row and event of the
journal (``samples.csv``, ``events.jsonl``) and every operating point to the operating system as soon as
it is recorded, so a crash or ``kill -9`` of the harness loses at most the line being written, which a
reader drops as a partial last line. Against the machine itself going down the journal is also
``fsync``-ed, at most a second apart while the run appends. The Parquet copy is written to a temporary
file and renamed, metadata likewise, so neither is ever half a file. Floats are written with ``repr``,
which round-trips exactly: re-analysing the log gives bit-for-bit the numbers the live run computed.
A full disk stops the run safely (see :mod:`hil.store.run_writer`). At the close, and again once the
derived results are written, the metadata records the SHA-256 of every raw and derived file
(:mod:`hil.store.checksums`), so that a file edited afterwards is noticed.

While a run writes, it holds an exclusive lock (``flock``) on its ``samples.csv``; the kernel drops it
when the process ends, however it ends. :func:`run_status` uses that to tell a run still going from
one that was killed: a run whose metadata still says "running" but whose journal nobody holds is
"interrupted". Its journal reads back, replays and reports like any other run's.

Imports only hil's errors and the file names.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hil.core.errors import RunLogError

if TYPE_CHECKING:
    import pandas as pd

try:  # POSIX; elsewhere a run's liveness cannot be checked and "running" reads as interrupted
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms the harness runs on (ptys are POSIX)
    fcntl = None  # type: ignore[assignment]

from hil.store.names import (  # noqa: F401 - re-exported beside the writer and readers
    ACCEPTANCE,
    BENCH_SNAPSHOT,
    DERIVED_FILES,
    EVENTS,
    MEASUREMENTS,
    METADATA,
    NPSH3,
    POINTS,
    POINTS_CONVERTED,
    PROCEDURE_COPY,
    REPLAY_INFO,
    REPLAY_PREFIX,
    REPORT,
    RESULT_FILES,
    RUN_FORMAT,
    SAMPLES_CSV,
    SAMPLES_PARQUET,
    STORAGE_ERROR_KEY,
    VERDICTS,
)

INTERRUPTED = "interrupted"


def format_float(value: float) -> str:
    """Shortest text that reads back as exactly the same double; empty for a missing value."""
    if value is None or math.isnan(value):
        return ""
    return repr(float(value))


def write_json_atomic(path: Path, document: dict[str, Any]) -> None:
    """Write JSON so that a crash leaves either the old or the new file, never half of one."""
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(
        json.dumps(document, indent=2, sort_keys=False, default=str) + "\n", encoding="utf-8"
    )
    os.replace(temporary, path)


def new_replay_directory(run_dir: Path) -> Path:
    """A new ``replay-<UTC time>`` directory inside a run, for results re-judged by ``hil replay``."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for attempt in range(1000):
        candidate = run_dir / (REPLAY_PREFIX + stamp + ("" if attempt == 0 else f"-{attempt}"))
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RunLogError(f"{run_dir}: cannot create a replay directory")


def is_replay_directory(path: Path) -> bool:
    """A ``replay-*`` directory inside a run (it holds ``replay.json``)."""
    return (path / REPLAY_INFO).exists()


def write_replay_info(directory: Path, document: dict[str, Any]) -> None:
    write_json_atomic(directory / REPLAY_INFO, document)


def write_derived(
    directory: Path, products: Mapping[str, Sequence[Mapping[str, Any]] | Mapping[str, Any]]
) -> None:
    """Write derived products (see :data:`DERIVED_FILES`) into ``directory``: rows as CSV, a
    document as JSON."""
    for product, content in products.items():
        if product not in DERIVED_FILES:
            raise RunLogError(f"{directory}: no file is named for the derived product {product!r}")
        path = directory / DERIVED_FILES[product]
        if isinstance(content, Mapping):
            write_json_atomic(path, dict(content))
        else:
            write_points_csv(path, [dict(row) for row in content])


def new_run_directory(parent: Path, procedure: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for attempt in range(1000):
        suffix = "" if attempt == 0 else f"-{attempt}"
        candidate = parent / f"{stamp}_{procedure}{suffix}"
        try:
            candidate.mkdir(parents=True)
            return candidate
        except FileExistsError:
            continue
    raise RunLogError(f"{parent}: cannot create a new run directory")


def json_default(value: Any) -> Any:
    """numpy scalars as plain numbers; anything else JSON cannot hold as its text."""
    if hasattr(value, "item"):
        return value.item()
    return str(value)


def points_header(points: Iterable[Mapping[str, Any]]) -> list[str]:
    """The columns of a points table: every key of every point, in the order they first appear."""
    columns: list[str] = []
    for point in points:
        columns.extend(key for key in point if key not in columns)
    return columns


def points_row(point: Mapping[str, Any], columns: Sequence[str]) -> str:
    """One point as a CSV line (floats in ``repr``; a column the point lacks is empty)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(
        [
            format_float(point[c]) if isinstance(point.get(c), (float, np.floating)) else point.get(c, "")
            for c in columns
        ]
    )
    return buffer.getvalue()


def write_points_csv(path: Path, points: list[dict[str, Any]]) -> None:
    if not points:
        path.write_text("", encoding="utf-8")
        return
    columns = points_header(points)
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(columns)
    for point in points:
        buffer.write(points_row(point, columns))
    path.write_text(buffer.getvalue(), encoding="utf-8")


def read_samples(directory: Path) -> pd.DataFrame:
    """The raw samples of a run, from Parquet if the run closed, else from the CSV journal.

    A journal cut short by a crash loses only its last, partial line; anything else malformed raises
    RunLogError naming the file and the line.
    """
    import pandas as pd  # on use: importing pandas costs most of a second

    parquet = directory / SAMPLES_PARQUET
    journal = directory / SAMPLES_CSV
    if parquet.exists() or parquet.is_symlink():
        try:
            frame = pd.read_parquet(parquet)
        except Exception as exc:  # pyarrow raises several unrelated types for a damaged file
            hint = f"; the CSV journal {journal.name} is kept beside it" if journal.exists() else ""
            raise RunLogError(f"{parquet}: unreadable Parquet file: {exc}{hint}") from exc
        return _checked_samples(frame, parquet)
    if not journal.exists() and not journal.is_symlink():
        raise RunLogError(f"{directory}: no {SAMPLES_CSV} or {SAMPLES_PARQUET}: not a run directory")
    text = read_text_file(journal)
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
    return _checked_samples(pd.DataFrame(rows, columns=header, dtype="float64"), journal)


def _checked_samples(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """Samples as a run writes them: ``time_s`` first, distinct column names, every column float64,
    times finite and strictly increasing (one row a tick). Anything else is a RunLogError naming
    the file and what is wrong."""
    columns = [str(c) for c in frame.columns]
    if not columns or columns[0] != "time_s":
        raise RunLogError(f"{path}: expected time_s as the first column, got {columns[:3]}")
    if len(set(columns)) != len(columns):
        raise RunLogError(
            f"{path}: a column appears twice: {sorted(c for c in set(columns) if columns.count(c) > 1)}"
        )
    wrong = [c for c, dtype in zip(columns, frame.dtypes) if dtype != "float64"]
    if wrong:
        raise RunLogError(f"{path}: column(s) {', '.join(wrong)} are not numbers (float64)")
    times = frame["time_s"].to_numpy()
    if len(times) and not np.isfinite(times).all():
        raise RunLogError(
            f"{path}: row {int(np.argmin(np.isfinite(times))) + 1}: time_s is not a finite number"
        )
    steps = np.diff(times)
    if len(steps) and not (steps > 0).all():
        row = int(np.argmin(steps > 0)) + 2
        raise RunLogError(f"{path}: row {row}: time_s {times[row - 1]!r} does not follow {times[row - 2]!r}")
    return frame


def read_events(directory: Path) -> list[dict[str, Any]]:
    path = directory / EVENTS
    if not path.exists() and not path.is_symlink():
        raise RunLogError(f"{directory}: no {EVENTS}")
    events = []
    text = read_text_file(path)
    lines = text.split("\n")
    if not text.endswith("\n"):
        lines = lines[:-1]  # a partial last line after a crash
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError as exc:
            raise RunLogError(f"{path}: line {number}: not valid JSON: {exc.msg}") from exc
        except (RecursionError, ValueError) as exc:
            raise RunLogError(f"{path}: line {number}: not valid JSON: {exc}") from exc
        if not isinstance(event, dict):
            raise RunLogError(f"{path}: line {number}: expected a JSON object, got {type(event).__name__}")
        if not isinstance(event.get("kind"), str) or not _is_time(event.get("time_s")):
            raise RunLogError(f"{path}: line {number}: an event needs a kind (text) and a time_s (a number)")
        _check_event(event, f"{path}: line {number}")
        events.append(event)
    return events


def run_status(directory: Path) -> str:
    """The run's status: as its metadata records it, except that a run still marked "running" whose
    journal no process holds any more (killed, crashed, machine down) is "interrupted"."""
    status = str(read_metadata(directory).get("status", "running"))
    if status != "running":
        return status
    return "running" if _journal_is_held(directory / SAMPLES_CSV) else INTERRUPTED


def _journal_is_held(journal: Path) -> bool:
    if fcntl is None or not journal.exists():
        return False
    with open(journal, "rb") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
    return False


def read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA
    if not path.exists() and not path.is_symlink():
        raise RunLogError(f"{directory}: no {METADATA}: not a run directory")
    document = read_json_value(path)
    if not isinstance(document, dict):
        raise RunLogError(f"{path}: expected a JSON object, got {type(document).__name__}")
    return document


def read_points(directory: Path) -> pd.DataFrame:
    """``operating_points.csv`` (an empty frame when there is none or it is empty)."""
    return read_csv_table(directory / POINTS)


def read_csv_table(path: Path) -> pd.DataFrame:
    """A CSV table of a run directory; an empty frame when the file is absent or empty.

    A last line without its newline (a run that died while appending a point) is left out.
    """
    import pandas as pd  # on use, as in read_samples

    if not path.exists() and not path.is_symlink():
        return pd.DataFrame()
    text = read_text_file(path)
    if text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    if not text.strip():
        return pd.DataFrame()
    try:
        return pd.read_csv(io.StringIO(text))
    except (pd.errors.ParserError, pd.errors.EmptyDataError, ValueError) as exc:
        raise RunLogError(f"{path}: unreadable CSV: {exc}") from exc


def read_json_document(path: Path) -> dict[str, Any] | None:
    """A JSON document of a run directory; None when the file is absent."""
    if not path.exists() and not path.is_symlink():
        return None
    document = read_json_value(path)
    if not isinstance(document, dict):
        raise RunLogError(f"{path}: expected a JSON object, got {type(document).__name__}")
    return document


def read_json_value(path: Path) -> Any:
    """A JSON file of a run directory, whatever its top-level value; any damage is a RunLogError
    naming the file (and the line)."""
    text = read_text_file(path)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise RunLogError(f"{path}: line {exc.lineno}: not valid JSON: {exc.msg}") from exc
    except RecursionError as exc:
        raise RunLogError(f"{path}: not valid JSON: nested too deeply") from exc
    except ValueError as exc:  # an integer beyond Python's digit limit
        raise RunLogError(f"{path}: not valid JSON: {exc}") from exc


EVENT_NUMBERS = {"point": ("window_start_s", "window_end_s")}
"""Fields an event of a kind must hold as numbers: what replay recomputes it from."""
EVENT_OPTIONAL: dict[str, dict[str, type | tuple[type, ...]]] = {
    "point": {"labels": dict},
    "steady": {"window_s": (int, float), "limits": dict, "detail": dict},
    "steady_timeout": {"window_s": (int, float), "limits": dict, "detail": dict},
}
"""Fields an event of a kind may hold, and their JSON types."""


def _check_event(event: dict[str, Any], where: str) -> None:
    kind = event["kind"]
    for key in EVENT_NUMBERS.get(kind, ()):
        if not _is_time(event.get(key)):
            raise RunLogError(f"{where}: a {kind} event needs {key} (a number), got {event.get(key)!r}")
    for key, types in EVENT_OPTIONAL.get(kind, {}).items():
        if key in event and (not isinstance(event[key], types) or isinstance(event[key], bool)):
            raise RunLogError(f"{where}: {kind} event: {key}: unexpected {type(event[key]).__name__}")


def _is_time(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def read_text_file(path: Path) -> str:
    """A file of a run directory as text: a missing, unreadable or non-UTF-8 file is a RunLogError
    naming it (and, for bytes that are not UTF-8, the line they are on)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise RunLogError(f"{path}: missing") from exc
    except IsADirectoryError as exc:
        raise RunLogError(f"{path}: is a directory, expected a file") from exc
    except OSError as exc:  # permission, a symlink loop, an I/O error
        raise RunLogError(f"{path}: unreadable: {exc.strerror or exc}") from exc
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise RunLogError(
            f"{path}: line {line}: byte {exc.start} is not UTF-8 text: the file is damaged"
        ) from exc


@dataclass(frozen=True)
class RunSummary:
    directory: Path
    status: str
    reason: str
    points: int
