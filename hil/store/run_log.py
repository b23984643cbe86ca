"""The one reader of a run directory: :class:`RunLog`.

Replay, the derive step, the report and calibration all read a run through it, so a run directory is
read one way only, whatever wrote it (a live run, a run that crashed and left only its CSV journal,
a run recorded by an earlier release). The raw log (samples, events) is read on first use: a reader
that needs only the metadata and the points (calibration over many runs) never loads the samples.

The bench file (``bench.toml``) is parsed when first needed (:attr:`RunLog.bench`); :meth:`RunLog.open`
needs it at once, while the catalogue (:mod:`hil.fleet.entry`) reads runs without one.

A ``replay-*`` directory inside a run holds results re-judged with other settings; opened through
:meth:`RunLog.open` it reads the run's own log and metadata, and its derived files from the replay
directory (``results_dir``).

Imports hil's bench file parser, config reader, errors and the run-directory files only.
"""

from __future__ import annotations

import hashlib
import math
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hil.bench.config import STANDARD_CHANNELS, BenchConfig, parse_bench
from hil.core.config_files import parse_toml_text
from hil.core.errors import ConfigError, RunLogError

if TYPE_CHECKING:
    import pandas as pd

from hil.store.checksums import Integrity, verify_checksums
from hil.store.names import RUN_FORMAT, SAMPLES_CSV, SAMPLES_PARQUET, STORAGE_ERROR_KEY
from hil.store.run_directory import (
    ACCEPTANCE,
    BENCH_SNAPSHOT,
    METADATA,
    NPSH3,
    POINTS,
    POINTS_CONVERTED,
    PROCEDURE_COPY,
    REPLAY_INFO,
    is_replay_directory,
    read_csv_table,
    read_events,
    read_json_document,
    read_metadata,
    read_samples,
    read_text_file,
    run_status,
)

ACCEPTANCE_PARTS: dict[str, type] = {
    "guarantee": dict,
    "grade": dict,
    "verdicts": list,
    "violations": list,
    "flow_head_met": bool,
    "valid": bool,
    "passed": bool,
}
"""The parts of ``acceptance.json`` every release has written (format 1 and 2), and their JSON types."""


class RunLog:
    """A run directory read back: metadata, bench, raw samples and events, recorded and derived files."""

    def __init__(self, directory: Path, results_dir: Path | None = None) -> None:
        self.directory = Path(directory)
        self.results_dir = Path(results_dir) if results_dir is not None else self.directory
        self.metadata: dict[str, Any] = read_metadata(self.directory)
        self._check_metadata()

    @classmethod
    def open(cls, path: Path) -> RunLog:
        """A run directory, or a ``replay-*`` directory inside one (its results, the run's log).

        Its bench file is parsed at once: whatever opens a run this way (replay, derive, report,
        calibration) needs the geometry, and a missing or bad bench file is said before any work.
        """
        path = Path(path)
        if not path.is_dir():
            what = "no such directory" if not path.exists() else "not a directory"
            raise RunLogError(f"{path}: not a run directory ({what})")
        log = cls(path.parent, results_dir=path) if is_replay_directory(path) else cls(path)
        _ = log.bench
        return log

    @cached_property
    def bench(self) -> BenchConfig:
        """The bench file the run used (``bench.toml``), parsed on first use.

        Only what needs the geometry, limits or tick reads it: the catalogue reads a run's metadata,
        points and derived files through the same reader, also for a directory without a bench file.
        """
        snapshot = self.directory / BENCH_SNAPSHOT
        if not snapshot.exists() and not snapshot.is_symlink():
            raise RunLogError(
                f"{self.directory}: no {BENCH_SNAPSHOT}: the bench file used is needed for the geometry"
            )
        text = read_text_file(snapshot)  # names the file if it cannot be read
        try:
            return parse_bench(parse_toml_text(text, str(snapshot)), str(snapshot), text)
        except ConfigError as exc:
            raise RunLogError(str(exc)) from exc

    # ------------------------------------------------------------------------- the raw log
    @cached_property
    def samples(self) -> pd.DataFrame:
        """Every tick's channels: from Parquet if the run closed, else from the CSV journal; every
        channel every bench provides (:data:`hil.bench.config.STANDARD_CHANNELS`) must have its column."""
        frame = read_samples(self.directory)
        missing = [c for c in STANDARD_CHANNELS if c not in frame.columns]
        if missing:
            parquet = self.directory / SAMPLES_PARQUET
            source = parquet if parquet.exists() else self.directory / SAMPLES_CSV
            raise RunLogError(f"{source}: no column for the channel(s) {', '.join(missing)}")
        return frame

    @cached_property
    def events(self) -> list[dict[str, Any]]:
        return read_events(self.directory)

    # ------------------------------------------------------------------------- the metadata
    @property
    def procedure(self) -> str:
        return str(self.metadata.get("procedure", "?"))

    def procedure_file(self) -> Path | None:
        """The copy of the procedure file this run ran, checked against its recorded SHA-256.

        None for a procedure run by name (built-in or installed). A run of a file procedure made
        before copies were kept, a missing copy or one that no longer matches its hash is a
        :class:`~hil.core.errors.RunLogError` saying which: re-running "the same procedure" from
        anything else could silently run other code.
        """
        recorded = self.metadata.get("procedure_file")
        source = str(self.metadata.get("procedure_source", ""))
        if recorded is None:
            if source.startswith("file:"):
                raise RunLogError(
                    f"{self.directory}: the procedure came from a file ({source[5:].strip()}) but the run "
                    f"directory keeps no copy of it (recorded before copies were kept): which code ran "
                    "cannot be checked"
                )
            return None
        if not isinstance(recorded, dict) or not isinstance(recorded.get("sha256"), str):
            raise RunLogError(f"{self.directory / METADATA}: procedure_file: expected {{copy, sha256}}")
        copy = self.directory / str(recorded.get("copy", PROCEDURE_COPY))
        if not copy.is_file():
            raise RunLogError(f"{copy}: missing: the copy of the procedure file this run ran")
        digest = hashlib.sha256(copy.read_bytes()).hexdigest()
        if digest != recorded["sha256"]:
            raise RunLogError(
                f"{copy}: changed since the run (SHA-256 {digest[:12]}..., recorded "
                f"{recorded['sha256'][:12]}...): it is not the procedure that ran"
            )
        return copy

    @property
    def parameters(self) -> dict[str, Any]:
        recorded = self.metadata.get("parameters")
        return dict(recorded) if isinstance(recorded, dict) else {}

    @property
    def recorded_status(self) -> str:
        """The status the metadata records ("running" for a run that never closed)."""
        return str(self.metadata.get("status", "running"))

    @property
    def status(self) -> str:
        """As recorded, except that a run marked "running" that no process writes is "interrupted"."""
        return run_status(self.directory)

    @property
    def closed(self) -> bool:
        return self.recorded_status != "running"

    @cached_property
    def integrity(self) -> Integrity:
        """The run's files checked against the SHA-256 its metadata recorded (:mod:`hil.store.checksums`)."""
        return verify_checksums(self.directory, self.metadata)

    @property
    def results_recorded(self) -> bool:
        """The run closed with all its results written: not killed, not stopped by a full disk.

        A run that did not has only the points recorded before it stopped (``operating_points.csv``
        is written as the run goes) and no derived files; replay recomputes them from the journal.
        """
        return self.closed and not self.metadata.get(STORAGE_ERROR_KEY)

    @property
    def format(self) -> int:
        """The run directory's format version (:data:`hil.store.names.RUN_FORMAT`); 1 before it existed."""
        value = self.metadata.get("format", 1)
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= RUN_FORMAT:
            raise RunLogError(f"{self._metadata_path}: format: expected 1 to {RUN_FORMAT}, got {value!r}")
        return value

    @property
    def accuracy(self) -> dict[str, float]:
        """Stated accuracy per channel (fraction of reading), as recorded, else from the bench file."""
        stated = self.metadata.get("accuracy")
        if not isinstance(stated, dict):
            stated = self.bench.channel_accuracy()
        accuracy = {}
        for channel, value in stated.items():
            if not _is_number(value) or not 0.0 <= float(value) < 1.0:
                raise RunLogError(
                    f"{self._metadata_path}: accuracy.{channel}: expected a fraction of reading, got {value!r}"
                )
            accuracy[str(channel)] = float(value)
        return accuracy

    @property
    def tick_s(self) -> float:
        value = self.metadata.get("tick_s", self.bench.tick_s)
        if not _is_number(value) or not 0.0 < float(value) < 3600.0:
            raise RunLogError(
                f"{self._metadata_path}: tick_s: expected a positive number of seconds, got {value!r}"
            )
        return float(value)

    def _check_metadata(self) -> None:
        """The fields every reader relies on, checked once when the run is opened."""
        path, m = self._metadata_path, self.metadata
        _ = self.format
        if "tick_s" in m and (not _is_number(m["tick_s"]) or not 0.0 < float(m["tick_s"]) < 3600.0):
            raise RunLogError(f"{path}: tick_s: expected a positive number of seconds, got {m['tick_s']!r}")
        for key, kind in (("status", str), ("procedure", str), ("parameters", dict), ("accuracy", dict)):
            if key in m and not isinstance(m[key], kind):
                raise RunLogError(f"{path}: {key}: expected {kind.__name__}, got {type(m[key]).__name__}")
        for channel, value in (m.get("accuracy") or {}).items():
            if not _is_number(value) or not 0.0 <= float(value) < 1.0:
                raise RunLogError(
                    f"{path}: accuracy.{channel}: expected a fraction of reading, got {value!r}"
                )

    @property
    def _metadata_path(self) -> Path:
        return self.directory / METADATA

    @cached_property
    def replay_info(self) -> dict[str, Any] | None:
        """What a replay directory's ``replay.json`` says (None for the run's own results)."""
        if self.results_dir == self.directory:
            return None
        return read_json_document(self.results_dir / REPLAY_INFO)

    # ------------------------------------------------------------------------- recorded and derived files
    def points(self) -> pd.DataFrame:
        """The operating points (``operating_points.csv`` of the results directory)."""
        return read_csv_table(self.results_dir / POINTS)

    def converted_points(self) -> pd.DataFrame | None:
        """``points_converted.csv``, or None when the results have none."""
        path = self.results_dir / POINTS_CONVERTED
        return read_csv_table(path) if path.exists() else None

    def acceptance(self) -> dict[str, Any] | None:
        """``acceptance.json``, or None when the run was not judged against a guarantee; a document
        without the parts every release wrote is a RunLogError naming the part."""
        path = self.results_dir / ACCEPTANCE
        document = read_json_document(path)
        if document is None:
            return None
        for key, kind in ACCEPTANCE_PARTS.items():
            if not isinstance(document.get(key), kind):
                raise RunLogError(
                    f"{path}: {key}: missing or not a {kind.__name__}: not an acceptance document"
                )
        for index, verdict in enumerate(document["verdicts"]):
            if not isinstance(verdict, dict) or not isinstance(verdict.get("quantity"), str):
                raise RunLogError(f"{path}: verdicts[{index}]: expected an object with a quantity")
        return document

    def npsh3(self) -> pd.DataFrame | None:
        """``npsh3.csv`` of the results directory (else of the run), or None (no NPSH3 results)."""
        for directory in (self.results_dir, self.directory):
            path = directory / NPSH3
            if path.exists():
                return read_csv_table(path)
        return None

    def location(self, product_file: str) -> Path:
        """Where a recorded file of the results lives (for messages naming it)."""
        return self.results_dir / product_file


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
