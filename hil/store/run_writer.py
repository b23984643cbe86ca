"""The writer of a run directory: :class:`RunWriter` appends the journal and the points as the run goes.

What it writes, and when (the layout is in :mod:`hil.store.run_directory`):

* ``samples.csv`` and ``events.jsonl``: a row each tick, an event as it happens, each handed to the
  operating system at once (a crash or ``kill -9`` loses at most the line being written);
* ``operating_points.csv``: each point appended the moment the runner records it, so a run that dies
  keeps every point measured before. A point that brings a column no earlier point had rewrites the
  file whole (temporary file, then rename) with the wider header, so the file is always exactly what
  :func:`~hil.store.run_directory.write_points_csv` would write for the points so far;
* ``metadata.json`` (replaced whole, never half a file) and, at the close, ``samples.parquet`` and the
  SHA-256 of the raw files (:mod:`hil.store.checksums`).

**A full disk, or any other failed write.** The first write the operating system refuses raises
:class:`~hil.core.errors.StorageError` naming the file and, for ENOSPC, that the disk is full. The
runner takes it as a trip: every actuator is commanded safe and the run ends ``aborted`` with that
reason. From then on the writer writes nothing more of the journal (the run keeps the rest in memory
for its safe stop), so that what it needs at the close fits in the space it set aside when it
started: a reserve file (:data:`RESERVE_BYTES`, ``.space_reserve``, deleted at every close) which it
deletes at the close to write the final metadata (status, reason, ``storage_error``) first, then, as
far as the space goes, the rest of the lines it could not write and the points. Were even that
refused (another process took the space back), the metadata is rewritten in place as a last resort;
failing that, the run reads as ``interrupted``, which is what it then is. Every point recorded before
the failure is already on disk, and every sample before it is in the journal.

Imports hil's clock, errors and the run directory's names and file helpers only.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hil.core.clock import WallClock
from hil.core.errors import RunLogError, StorageError
from hil.store.checksums import record_checksums
from hil.store.names import (
    BENCH_SNAPSHOT,
    EVENTS,
    METADATA,
    POINTS,
    PROCEDURE_COPY,
    SAMPLES_CSV,
    SAMPLES_PARQUET,
    SPACE_RESERVE,
    STORAGE_ERROR_KEY,
)
from hil.store.run_directory import (
    fcntl,
    format_float,
    json_default,
    points_header,
    points_row,
    read_samples,
    write_json_atomic,
    write_points_csv,
)

FSYNC_INTERVAL_S = 1.0
"""Longest wall time between two fsyncs of the journal while the run appends to it."""
RESERVE_BYTES = 256 * 1024
"""Space set aside for the close after a full disk: the final metadata (a few kB, written to a
temporary file beside the old one) and the points of a long run."""


def storage_message(path: Path, exc: OSError) -> str:
    """What a refused write says: the file, and that the disk is full when it is."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT) or "No space left on device" in str(exc):
        return f"{path}: cannot write: the disk is full ({exc.strerror or 'no space left on device'})"
    return f"{path}: cannot write: {exc.strerror or exc}"


SAMPLE_TEXTS_KEPT = 4096
"""Most distinct sample values whose text a writer remembers (see :meth:`RunWriter.append_sample`)."""

KEPT_BYTES = RESERVE_BYTES // 2
"""Most journal text kept in memory after a refused write, to be written at the close: a safe stop's
spin-down (at most ten seconds of rows) and its events fit."""


class RunWriter:
    """Appends samples, events and points to a run directory while the run goes."""

    def __init__(
        self,
        directory: Path,
        channels: Sequence[str],
        metadata: dict[str, Any],
        bench_text: str,
        procedure_file: bytes | None = None,
    ) -> None:
        self.directory = directory
        self.channels = list(channels)
        self.metadata = dict(metadata)
        self.metadata.setdefault("status", "running")
        if procedure_file is not None:
            self.metadata["procedure_file"] = {
                "copy": PROCEDURE_COPY,
                "sha256": hashlib.sha256(procedure_file).hexdigest(),
            }
        self.failure: StorageError | None = None
        """The first write refused (the run ends on it); None while every write succeeds."""
        self._points: list[Mapping[str, Any]] = []
        self._point_columns: list[str] = []
        self._kept: dict[str, list[bytes]] = {SAMPLES_CSV: [], EVENTS: []}
        self._kept_bytes = 0
        self._sample_texts: dict[float, str] = {}
        # Unbuffered: each line is one write of its own, on disk (in the OS) when the call returns.
        # Lock first, truncate after: a writer refused because the run is live touches nothing of it.
        try:
            self._samples = open(directory / SAMPLES_CSV, "ab", buffering=0)
        except OSError as exc:
            raise StorageError(storage_message(directory / SAMPLES_CSV, exc)) from exc
        if fcntl is not None:
            try:
                fcntl.flock(self._samples.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError as exc:
                self._samples.close()
                raise RunLogError(
                    f"{directory / SAMPLES_CSV}: another process is writing this run: {exc}"
                ) from exc
        self._events: io.RawIOBase | None = None
        current = directory / BENCH_SNAPSHOT
        try:
            self._samples.truncate(0)
            self._reserve_space()
            current.write_text(bench_text, encoding="utf-8")
            if procedure_file is not None:
                current = directory / PROCEDURE_COPY
                current.write_bytes(procedure_file)
            current = directory / METADATA
            write_json_atomic(current, self.metadata)
            current = directory / SAMPLES_CSV
            _write_line(self._samples, (",".join(["time_s", *self.channels]) + "\n").encode("utf-8"))
            current = directory / EVENTS
            self._events = open(current, "wb", buffering=0)
        except OSError as exc:  # nothing has moved yet: the run does not start
            self._samples.close()
            self._release_reserve()
            raise StorageError(storage_message(current, exc)) from exc
        self._streams = {SAMPLES_CSV: self._samples, EVENTS: self._events}
        self._clock = WallClock()
        self._last_sync_s = self._clock.now_s()

    # ------------------------------------------------------------------ the space for the close
    def _reserve_space(self) -> None:
        path = self.directory / SPACE_RESERVE
        with open(path, "wb") as handle:
            try:
                os.posix_fallocate(handle.fileno(), 0, RESERVE_BYTES)
            except (AttributeError, OSError) as exc:  # a file system without fallocate: write it
                if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
                    raise
                handle.write(b"\0" * RESERVE_BYTES)

    def _release_reserve(self) -> None:
        try:
            (self.directory / SPACE_RESERVE).unlink()
        except OSError:
            pass

    # ------------------------------------------------------------------ writes during the run
    def _refused(self, path: Path, exc: OSError) -> StorageError:
        """Record the first refused write; every later one is not attempted."""
        if self.failure is None:
            self.failure = StorageError(storage_message(path, exc))
        return self.failure

    def append_sample(self, time_s: float, values: Sequence[float]) -> None:
        """One row: the time, then each value as :func:`~hil.store.run_directory.format_float` writes it.

        The text of each value is remembered (up to :data:`SAMPLE_TEXTS_KEPT` distinct values, then
        forgotten all at once): the shortest ``repr`` of a double costs about 0.6 us, and most of a
        row repeats the tick before (quantised readings, a steady speed: 85 % of the default
        performance curve's values), so a row of 18 values went from 10.4 us to 4.9 us (its 11,439
        rows, best of 5, Python 3.11). Zero is never remembered, since ``0.0 == -0.0`` as a key while
        their texts differ (every other pair of equal doubles has the same text), nor NaN, which
        equals no key.
        """
        texts = self._sample_texts
        parts = []
        for value in values:
            text = texts.get(value)
            if text is None:
                text = format_float(value)
                if value and value == value:  # neither zero nor NaN (see above)
                    if len(texts) >= SAMPLE_TEXTS_KEPT:
                        texts.clear()
                    texts[value] = text
            parts.append(text)
        self._append(SAMPLES_CSV, repr(float(time_s)) + "," + ",".join(parts) + "\n")

    def append_event(self, event: dict[str, Any]) -> None:
        self._append(EVENTS, json.dumps(event, default=json_default) + "\n")

    def _append(self, name: str, line: str) -> None:
        data = line.encode("utf-8")
        if self.failure is not None:
            self._keep(name, data)  # the run is stopping safely: written at the close if it fits
            return
        try:
            _write_line(self._streams[name], data)
            self._maybe_sync()
        except OSError as exc:
            self._keep(name, data)
            raise self._refused(self.directory / name, exc) from exc

    def _keep(self, name: str, data: bytes) -> None:
        if self._kept_bytes + len(data) <= KEPT_BYTES:
            self._kept[name].append(data)
            self._kept_bytes += len(data)

    def _maybe_sync(self) -> None:
        now = self._clock.now_s()
        if now - self._last_sync_s >= FSYNC_INTERVAL_S:
            self._last_sync_s = now
            for stream in self._streams.values():
                os.fsync(stream.fileno())

    def flush(self) -> None:
        """Nothing to do: every line is in the operating system's hands when its append returns."""

    def update_metadata(self, **fields: Any) -> None:
        self.metadata.update(fields)
        if self.failure is not None:
            return  # written at the close, from the reserve
        try:
            write_json_atomic(self.directory / METADATA, self.metadata)
        except OSError as exc:
            raise self._refused(self.directory / METADATA, exc) from exc

    def append_point(self, point: Mapping[str, Any]) -> None:
        """One operating point, on disk the moment it is recorded (see the module docstring)."""
        self._points.append(point)
        if self.failure is not None:
            return
        path = self.directory / POINTS
        try:
            if len(self._points) > 1 and all(key in self._point_columns for key in point):
                with open(path, "ab", buffering=0) as handle:
                    _write_line(handle, points_row(point, self._point_columns).encode("utf-8"))
            else:
                self._rewrite_points(list(self._points))
        except OSError as exc:
            raise self._refused(path, exc) from exc

    def _rewrite_points(self, points: list[Mapping[str, Any]]) -> None:
        temporary = self.directory / (POINTS + ".tmp")
        write_points_csv(temporary, [dict(p) for p in points])
        os.replace(temporary, self.directory / POINTS)
        self._point_columns = points_header(points)

    def write_points(self, points: Iterable[Mapping[str, Any]]) -> None:
        """Every point of the run (at the close): the file replaced whole. Never raises for a
        refused write; the failure is kept (:attr:`failure`)."""
        points = list(points)
        self._points = points
        if self.failure is not None:
            return  # written at the close, after the metadata
        try:
            self._rewrite_points(points)
        except OSError as exc:
            self._refused(self.directory / POINTS, exc)

    # ------------------------------------------------------------------ the close
    def close(self, status: str, reason: str = "") -> None:
        """Close the journal, write the columnar copy, the checksums and the final status.

        Never raises for a refused write: a failure (before or during the close) is recorded in the
        metadata as ``storage_error``, and kept in :attr:`failure`.
        """
        try:
            if self.failure is None:
                try:
                    for stream in self._streams.values():
                        os.fsync(stream.fileno())
                    self._write_parquet()
                    self.metadata.update(status=status, reason=reason, end_utc=_now())
                    record_checksums(self.directory, self.metadata)
                    write_json_atomic(self.directory / METADATA, self.metadata)
                    return
                except OSError as exc:
                    self._refused(self.directory / _failed_file(exc, SAMPLES_PARQUET), exc)
            self._close_after_failure(status, reason)
        finally:
            # the lock goes with the journal, only once the final status is on disk
            for stream in self._streams.values():
                stream.close()
            self._release_reserve()
            for leftover in (SAMPLES_PARQUET + ".tmp", POINTS + ".tmp", METADATA + ".tmp"):
                try:
                    (self.directory / leftover).unlink()
                except OSError:
                    pass

    def _write_parquet(self) -> None:
        frame = read_samples(self.directory)
        temporary = self.directory / (SAMPLES_PARQUET + ".tmp")
        frame.to_parquet(temporary, index=False)
        os.replace(temporary, self.directory / SAMPLES_PARQUET)

    def _close_after_failure(self, status: str, reason: str) -> None:
        """The close of a run whose disk refused a write: the final status first, from the reserve;
        then, as far as the space goes, the journal lines kept since and every point. No Parquet
        copy: readers take the samples from the journal."""
        assert self.failure is not None
        self._release_reserve()
        for leftover in (SAMPLES_PARQUET + ".tmp", POINTS + ".tmp", SAMPLES_PARQUET):
            try:
                (self.directory / leftover).unlink()
            except OSError:
                pass
        self.metadata.update(
            status=status, reason=reason, end_utc=_now(), **{STORAGE_ERROR_KEY: str(self.failure)}
        )
        _write_metadata_anyhow(self.directory / METADATA, self.metadata)
        for name, lines in self._kept.items():
            try:
                for data in lines:
                    _write_line(self._streams[name], data)
            except OSError:
                continue  # the journal ends at its last whole line
        try:
            self._rewrite_points(list(self._points))
        except OSError:
            pass


def _write_line(stream: Any, data: bytes) -> None:
    """Write one line to an unbuffered file: whole, or (refused part way) not at all."""
    written = 0
    try:
        while written < len(data):
            written += stream.write(memoryview(data)[written:]) or 0
    except OSError:
        if written:
            start = stream.tell() - written
            os.ftruncate(stream.fileno(), start)
            stream.seek(start)
        raise


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _failed_file(exc: OSError, default: str) -> str:
    """The file an OSError names (pyarrow's name none: then ``default``)."""
    return Path(exc.filename).name if isinstance(exc.filename, str) else default


def _write_metadata_anyhow(path: Path, document: dict[str, Any]) -> None:
    """Replace the metadata whole; on a disk that refuses even that, rewrite it in place."""
    try:
        write_json_atomic(path, document)
        return
    except OSError:
        pass
    try:
        with open(path, "r+", encoding="utf-8") as handle:
            handle.truncate(0)
            handle.write(json.dumps(document, indent=2, default=str) + "\n")
    except OSError:
        pass  # nothing left to write with: the run reads as interrupted


def seal_run(directory: Path) -> None:
    """Record the SHA-256 of every raw and derived file of a closed run in its metadata (once its
    derived results are written beside the log: what ``hil run`` does last)."""
    from hil.store.run_directory import read_metadata

    metadata = read_metadata(directory)
    record_checksums(directory, metadata)
    try:
        write_json_atomic(directory / METADATA, metadata)
    except OSError as exc:
        raise StorageError(storage_message(directory / METADATA, exc)) from exc


@contextmanager
def refused_as_storage_error(path: Path) -> Iterator[None]:
    """Writes into ``path`` (a file or a directory) that the system refuses become one
    :class:`~hil.core.errors.StorageError` naming the file (or ``path``) and saying why."""
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        named = Path(exc.filename) if isinstance(exc.filename, str) else path
        raise StorageError(storage_message(named, exc)) from exc
