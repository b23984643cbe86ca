"""Tamper evidence: the SHA-256 of every raw and derived file of a run, recorded in its metadata.

When a run closes, and again once its derived results are written, :func:`record_checksums` puts
under the metadata's ``checksums`` key the SHA-256 of each file of :data:`CHECKED_FILES` present in
the run directory, and of the metadata itself (its canonical JSON without that key). Replay, the
report and calibration call :func:`verify_checksums` and say, for each file that differs,
"``<file>`` modified after the run (SHA-256 differs)", and name files removed or added since.

Both copies of the samples are covered, so an edit to ``samples.csv`` is noticed even though readers
take the samples from ``samples.parquet`` when it exists (and the reverse). A run recorded before
this existed, or one that never closed (killed, or ended on a full disk), has no checksums: that is
said too ("no checksums recorded"), and the run is used as before.

A checksum in the same directory proves nothing against someone who rewrites it too; it catches
the common case, a file opened in a spreadsheet, fixed by hand or damaged, and makes any edit a
deliberate act. Signing the metadata would be the next step.

Imports only the run directory's file names.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.store.names import (
    BENCH_SNAPSHOT,
    EVENTS,
    METADATA,
    PROCEDURE_COPY,
    RESULT_FILES,
    SAMPLES_CSV,
    SAMPLES_PARQUET,
)

CHECKSUMS_KEY = "checksums"
CHECKED_FILES = (SAMPLES_CSV, SAMPLES_PARQUET, EVENTS, BENCH_SNAPSHOT, PROCEDURE_COPY, *RESULT_FILES)
"""The raw and derived files of a run (the report and its exports, made later by ``hil report``,
are not: they are outputs anyone may make again)."""
CHUNK_BYTES = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def metadata_sha256(metadata: dict[str, Any]) -> str:
    """The metadata's own digest: its canonical JSON (as written and read back), without the checksums."""
    document = {k: v for k, v in metadata.items() if k != CHECKSUMS_KEY}
    as_read = json.loads(json.dumps(document, default=str))
    canonical = json.dumps(as_read, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canonical.encode("ascii")).hexdigest()


def record_checksums(directory: Path, metadata: dict[str, Any]) -> None:
    """Put the SHA-256 of every present raw and derived file, and of the metadata, into ``metadata``
    (the caller writes it)."""
    files = {name: file_sha256(directory / name) for name in CHECKED_FILES if (directory / name).is_file()}
    metadata[CHECKSUMS_KEY] = {"algorithm": "sha256", "files": files}
    metadata[CHECKSUMS_KEY]["metadata"] = metadata_sha256(metadata)


@dataclass
class Integrity:
    """What checking a run's files against its recorded checksums found."""

    directory: Path
    recorded: bool
    problems: list[str] = field(default_factory=list)
    """One line per file modified, removed or added after the run."""
    note: str = ""
    """Why nothing could be checked (no checksums recorded), else empty."""

    @property
    def modified(self) -> bool:
        return bool(self.problems)

    def lines(self) -> list[str]:
        return list(self.problems) if self.recorded else [self.note]


def verify_checksums(directory: Path, metadata: dict[str, Any]) -> Integrity:
    """Check every file the metadata has a checksum for, the metadata itself, and files added since."""
    recorded = metadata.get(CHECKSUMS_KEY)
    if not isinstance(recorded, dict) or not isinstance(recorded.get("files"), dict):
        status = str(metadata.get("status", "running"))
        why = (
            "the run never closed"
            if status == "running"
            else "the run could not write them: " + str(metadata.get("storage_error"))
            if metadata.get("storage_error")
            else "a run recorded before checksums existed"
        )
        return Integrity(
            directory, False, note=f"{directory}: no checksums recorded ({why}): its files cannot be checked"
        )
    integrity = Integrity(directory, True)
    files: dict[str, Any] = recorded["files"]
    for name, expected in files.items():
        path = directory / str(name)
        try:
            actual = file_sha256(path)
        except FileNotFoundError:
            integrity.problems.append(f"{path} removed after the run (its SHA-256 was recorded)")
            continue
        except OSError as exc:
            integrity.problems.append(f"{path} unreadable after the run ({exc.strerror or exc})")
            continue
        if actual != expected:
            integrity.problems.append(f"{path} modified after the run (SHA-256 differs)")
    for name in CHECKED_FILES:
        if name not in files and (directory / name).exists():
            integrity.problems.append(f"{directory / name} added after the run (no SHA-256 recorded for it)")
    if recorded.get("metadata") != metadata_sha256(metadata):
        integrity.problems.append(f"{directory / METADATA} modified after the run (SHA-256 differs)")
    return integrity
