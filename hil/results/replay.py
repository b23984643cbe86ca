"""Replay: re-derive every result of a run from its raw log with the current code, and compare.

``hil replay RUN_DIR`` reads the samples (Parquet, or the CSV journal when the run never closed), the
events and the metadata, and recomputes:

- every operating point and every derived product the run's procedure declares, with
  :func:`hil.results.derive.derive` (what the live run called once it closed), under the settings
  recorded in the metadata;
- every steady-state judgement (``steady`` / ``steady_timeout`` events: verdict and the fluctuation
  and trend of each quantity) over the same last ``steady_window_s`` of samples, with the runner's
  limits;

and compares them with the recorded files exactly: CSV cells as written (floats are written with
``repr``, so equal text is equal bits), JSON values by type and ``repr``. Each difference names the
file, the row, the column, the recorded and the recomputed value. Equal: exit 0; any difference: 1.

With changed settings (``--grade``, ``--guarantee``, ``--pump``, ``--grades``, ``--steady``) the run
is re-judged instead: the new results go into ``RUN_DIR/replay-<UTC timestamp>/`` beside the old ones,
with ``replay.json`` saying what changed, and nothing recorded is touched. New steady-state limits
re-judge each point's steadiness over the window the live run judged (the points' windows themselves
were chosen live and cannot move); a point that is no longer steady is a violated test condition.

A run that never closed (a crash: status ``running``, no Parquet file, no derived files) replays from
its journal: the points whose window lies inside the journal are recomputed and written to a replay
directory, since nothing was recorded to compare them with; a point whose window runs past the end
of the journal is reported as lost.

Reads the run through :class:`hil.store.run_log.RunLog` and has no case for any procedure.

Imports hil only (the replay bench, which plays a log back through the emulators, is in
:mod:`hil.run.virtual` and used by :func:`replay_through_bench`).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hil import __version__
from hil.analysis.steady import DEFAULT_STEADY_LIMITS
from hil.core.errors import ConfigError, RunLogError
from hil.results.acceptance_settings import SETTINGS_KEY, AcceptanceSettings, resolve_settings
from hil.results.derive import (
    STEADY_KINDS,
    columns_of,
    derive,
    derive_run,
    recompute_steady,
    recorded_settings,
    write_results,
)
from hil.run.procedure_api import load_procedure
from hil.run.procedure_catalogue import load as load_procedure_source
from hil.store.checksums import Integrity
from hil.store.run_directory import (
    ACCEPTANCE,
    BENCH_SNAPSHOT,
    EVENTS,
    METADATA,
    RESULT_FILES,
    RUN_FORMAT,
    STORAGE_ERROR_KEY,
    new_replay_directory,
    read_json_value,
    read_text_file,
    write_replay_info,
)
from hil.store.run_log import RunLog
from hil.store.run_writer import refused_as_storage_error


@dataclass(frozen=True)
class Difference:
    """One value that the replay computed differently from the live run."""

    file: str
    row: str
    column: str
    recorded: str
    recomputed: str

    def __str__(self) -> str:
        return (
            f"{self.file}: row {self.row}, column {self.column}: recorded {self.recorded}, "
            f"recomputed {self.recomputed}"
        )


@dataclass
class ReplayOutcome:
    """What a replay compared, what differed, and where it wrote anything."""

    run_dir: Path
    compared: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    written_to: Path | None = None
    acceptance: dict[str, Any] | None = None
    rejudged: bool = False
    integrity: Integrity | None = None
    """The run's files checked against the SHA-256 recorded at its close."""

    @property
    def equal(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class ReplayChanges:
    """Settings to re-judge a run with (None: as recorded)."""

    pump: str | None = None
    guarantee: str | None = None
    grade: str | None = None
    grades: str | None = None
    steady_limits: dict[str, tuple[float, float]] | None = None

    def any(self) -> bool:
        return any(
            v is not None for v in (self.pump, self.guarantee, self.grade, self.grades, self.steady_limits)
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "pump": self.pump,
            "guarantee": self.guarantee,
            "grade": self.grade,
            "grades": self.grades,
            "steady_limits": None
            if self.steady_limits is None
            else {k: list(v) for k, v in self.steady_limits.items()},
        }


def parse_steady_limit(text: str) -> tuple[str, tuple[float, float]]:
    """``QUANTITY=FLUCT,TREND`` (fractions) from the command line."""
    name, sep, values = text.partition("=")
    if not sep or name.strip() not in DEFAULT_STEADY_LIMITS:
        raise ConfigError(
            "command line",
            f"--steady {text}",
            f"expected QUANTITY=FLUCT,TREND with QUANTITY one of {', '.join(DEFAULT_STEADY_LIMITS)}",
        )
    try:
        fluctuation, trend = (float(v) for v in values.split(","))
    except ValueError as exc:
        raise ConfigError("command line", f"--steady {text}", "expected two fractions FLUCT,TREND") from exc
    if not (0 < fluctuation < 1 and 0 < trend < 1):
        raise ConfigError("command line", f"--steady {text}", "fractions must lie in (0, 1)")
    return name.strip(), (fluctuation, trend)


def read_run(directory: Path) -> RunLog:
    """Read a run directory; a missing or damaged file raises RunLogError naming it."""
    return RunLog.open(directory)


def _derive_into(
    log: RunLog,
    directory: Path,
    settings: AcceptanceSettings,
    steady_limits: Mapping[str, tuple[float, float]] | None,
    notes: list[str],
) -> dict[str, Any] | None:
    """Write the recomputed points and every derived file into ``directory``; the acceptance document."""
    derived = derive(log, settings, steady_limits)
    notes.extend(derived.notes)
    write_results(directory, derived, with_points=True)
    return derived.acceptance


# ---------------------------------------------------------------------------------- comparison


def _csv_rows(path: Path, cut_short: bool = False) -> list[list[str]]:
    """The cells of a CSV file; with ``cut_short`` (a file of a run that did not close) a last line
    without its newline, half written when the run died, is left out."""
    text = read_text_file(path)
    if cut_short and text and not text.endswith("\n"):
        text = text[: text.rfind("\n") + 1]
    try:
        return list(csv.reader(io.StringIO(text))) if text else []
    except csv.Error as exc:
        raise RunLogError(f"{path}: unreadable CSV: {exc}") from exc


def compare_csv(
    name: str,
    recorded: Path,
    recomputed: Path,
    added_columns: list[str] | None = None,
    recorded_so_far: list[str] | None = None,
) -> list[Difference]:
    """Cell by cell, as written (floats in ``repr``, so equal text means equal bits).

    With ``added_columns`` (a run of an older format), columns the recomputation has and the
    recording lacks are listed there instead of counted as differences. With ``recorded_so_far`` (a
    run that stopped before its close wrote its results), the recorded rows are compared with as
    many recomputed ones, and the rows recomputed beyond them are listed there.
    """
    old = _csv_rows(recorded, cut_short=recorded_so_far is not None)
    new = _csv_rows(recomputed)
    if recorded_so_far is not None and len(new) > len(old):
        recorded_so_far += [str(i) for i in range(max(len(old) - 1, 0), len(new) - 1)]  # point indices
        if not old:
            return []
        new = new[: len(old)]
    differences: list[Difference] = []
    old_header, new_header = (old[0] if old else []), (new[0] if new else [])
    if added_columns is not None and old_header:
        added_columns += [c for c in new_header if c not in old_header]
        new_header_kept = [c for c in new_header if c in old_header]
        keep = [new_header.index(c) for c in new_header_kept]
        new = [new_header_kept] + [[row[i] if i < len(row) else "" for i in keep] for row in new[1:]]
        new_header = new_header_kept
    differences += [
        Difference(name, "header", c, "(column present)", "(no such column)")
        for c in old_header
        if c not in new_header
    ]
    differences += [
        Difference(name, "header", c, "(no such column)", "(column present)")
        for c in new_header
        if c not in old_header
    ]
    if len(old) != len(new):
        differences.append(
            Difference(name, "(count)", "(rows)", str(max(len(old) - 1, 0)), str(max(len(new) - 1, 0)))
        )
    common = [(c, old_header.index(c), new_header.index(c)) for c in old_header if c in new_header]
    for number, (a, b) in enumerate(zip(old[1:], new[1:]), start=1):
        for column, i, j in common:
            x, y = (a[i] if i < len(a) else ""), (b[j] if j < len(b) else "")
            if x != y:
                differences.append(Difference(name, str(number), column, x or "(empty)", y or "(empty)"))
    return differences


def _same(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return repr(a) == repr(b)
    return bool(a == b)


def compare_json(name: str, recorded: Any, recomputed: Any, path: str = "") -> list[Difference]:
    """Every leaf by type and ``repr`` (bit for bit on floats); the row is the value's path."""
    if isinstance(recorded, dict) and isinstance(recomputed, dict):
        differences = []
        for key in list(recorded) + [k for k in recomputed if k not in recorded]:
            where = f"{path}.{key}" if path else str(key)
            if key not in recomputed or key not in recorded:
                differences.append(
                    Difference(
                        name,
                        where,
                        key,
                        json.dumps(recorded.get(key, "(missing)")),
                        json.dumps(recomputed.get(key, "(missing)")),
                    )
                )
            else:
                differences += compare_json(name, recorded[key], recomputed[key], where)
        return differences
    if isinstance(recorded, list) and isinstance(recomputed, list):
        differences = []
        if len(recorded) != len(recomputed):
            differences.append(
                Difference(name, path or "(top)", "(length)", str(len(recorded)), str(len(recomputed)))
            )
        for i, (a, b) in enumerate(zip(recorded, recomputed)):
            differences += compare_json(name, a, b, f"{path}[{i}]")
        return differences
    if _same(recorded, recomputed):
        return []
    row, _, column = path.rpartition(".")
    return [Difference(name, row or path, column or path, json.dumps(recorded), json.dumps(recomputed))]


def compare_steady_events(log: RunLog, outcome: ReplayOutcome) -> None:
    judged = list(recompute_steady(log))
    if not judged and any(e.get("kind") in STEADY_KINDS for e in log.events):
        outcome.notes.append(
            "steady-state judgements not re-checked: the run records no steady window length"
        )
        return
    if judged:
        outcome.compared.append(f"{EVENTS} (steady-state judgements)")
    for line, event, steady, detail in judged:
        kind = "steady" if steady else "steady_timeout"
        if kind != event["kind"]:
            outcome.differences.append(Difference(EVENTS, str(line), "kind", event["kind"], kind))
        recomputed = json.loads(json.dumps(detail))
        for difference in compare_json(EVENTS, event.get("detail", {}), recomputed):
            outcome.differences.append(
                Difference(
                    EVENTS,
                    f"{line} detail.{difference.row}",
                    difference.column,
                    difference.recorded,
                    difference.recomputed,
                )
            )


def _compare_file(name: str, log: RunLog, scratch: Path, outcome: ReplayOutcome) -> None:
    recorded, recomputed = log.directory / name, scratch / name
    older = log.format < RUN_FORMAT
    if not recorded.exists() and not recomputed.exists():
        return
    if not recorded.exists():
        if older:
            outcome.notes.append(
                f"{name}: not recorded by this run's format {log.format}; the current code derives it"
            )
        elif log.results_recorded:
            outcome.differences.append(Difference(name, "(file)", "(file)", "(missing)", "(written)"))
        return
    if not recomputed.exists():
        outcome.differences.append(Difference(name, "(file)", "(file)", "(present)", "(not produced)"))
        return
    if older and name == ACCEPTANCE:
        outcome.notes.append(
            f"{name}: judged by an older release (format {log.format}: no overall verdict, the grade table "
            "since corrected); not compared. 'hil replay --grade G' re-judges the run beside it"
        )
        return
    outcome.compared.append(name)
    if name.endswith(".csv"):
        added: list[str] | None = [] if older else None
        so_far: list[str] | None = None if log.results_recorded else []
        outcome.differences += compare_csv(name, recorded, recomputed, added, so_far)
        if so_far:
            outcome.notes.append(
                f"{name}: {len(so_far)} row(s) recomputed from the journal beyond those recorded "
                "before the run stopped"
            )
        if added:
            outcome.notes.append(
                f"{name}: columns added since format {log.format} not compared: {', '.join(added)}"
            )
    else:
        outcome.differences += compare_json(
            name, read_json_value(recorded), json.loads(recomputed.read_text(encoding="utf-8"))
        )


def _write_replay_info(
    directory: Path, log: RunLog, settings: AcceptanceSettings, changes: ReplayChanges, notes: list[str]
) -> None:
    write_replay_info(
        directory,
        {
            "source_run": str(log.directory.resolve()),
            "source_status": log.metadata.get("status"),
            "replayed_utc": datetime.now(UTC).isoformat(),
            "software": {"hil": __version__},
            "changes": changes.as_dict(),
            SETTINGS_KEY: settings.as_dict(),
            "notes": notes,
        },
    )


@contextmanager
def _removed_if_unfinished() -> Iterator[list[Path]]:
    """A replay directory that could not be written whole (a full disk) is removed, not left half."""
    made: list[Path] = []
    try:
        yield made
    except BaseException:
        for directory in made:
            shutil.rmtree(directory, ignore_errors=True)
        raise


def replay_run(run_dir: Path, changes: ReplayChanges | None = None) -> ReplayOutcome:
    """Recompute everything and compare (no changes), or re-judge into a replay directory."""
    changes = changes or ReplayChanges()
    log = read_run(run_dir)
    outcome = ReplayOutcome(run_dir, integrity=log.integrity)
    recorded = recorded_settings(log)
    if changes.any():
        settings = recorded
        if any(v is not None for v in (changes.pump, changes.guarantee, changes.grade, changes.grades)):
            settings = resolve_settings(
                log.bench.geometry.rated_speed_rpm,
                changes.pump,
                changes.guarantee,
                changes.grade,
                changes.grades,
                base=recorded,
            )
        with refused_as_storage_error(run_dir), _removed_if_unfinished() as directories:
            directory = new_replay_directory(run_dir)
            directories.append(directory)
            outcome.acceptance = _derive_into(log, directory, settings, changes.steady_limits, outcome.notes)
            _write_replay_info(directory, log, settings, changes, outcome.notes)
        outcome.written_to, outcome.rejudged = directory, True
        return outcome

    with tempfile.TemporaryDirectory(prefix="hil-replay-") as scratch_name:
        scratch = Path(scratch_name)
        with refused_as_storage_error(scratch):
            outcome.acceptance = _derive_into(log, scratch, recorded, None, outcome.notes)
        for name in RESULT_FILES:
            _compare_file(name, log, scratch, outcome)
        compare_steady_events(log, outcome)
        if not log.results_recorded:
            outcome.notes.append(
                f"the run never closed (status {log.metadata.get('status', 'running')!r}): "
                "replayed from the CSV journal; its results were never recorded"
                if not log.closed
                else f"the run stopped on a refused write ({log.metadata.get(STORAGE_ERROR_KEY)}): "
                "its derived results were never recorded"
            )
            with refused_as_storage_error(run_dir), _removed_if_unfinished() as directories:
                directory = new_replay_directory(run_dir)
                directories.append(directory)
                for name in RESULT_FILES:
                    if (scratch / name).exists():
                        (directory / name).write_bytes((scratch / name).read_bytes())
                _write_replay_info(directory, log, recorded, ReplayChanges(), outcome.notes)
            outcome.written_to = directory
    return outcome


def format_outcome(outcome: ReplayOutcome) -> str:
    lines = []
    if outcome.rejudged:
        lines.append(f"re-judged with new settings; results written to {outcome.written_to}")
    else:
        lines.append(f"compared: {', '.join(outcome.compared) if outcome.compared else 'nothing recorded'}")
    lines.extend(f"note: {note}" for note in outcome.notes)
    if outcome.differences:
        lines.append(
            f"{len(outcome.differences)} difference(s) between the recorded and the recomputed results:"
        )
        lines.extend(f"  {d}" for d in outcome.differences)
    elif not outcome.rejudged:
        lines.append("replay equals the recorded results exactly")
    if outcome.written_to is not None and not outcome.rejudged:
        lines.append(f"recomputed results written to {outcome.written_to}")
    return "\n".join(lines)


# --------------------------------------------------------------------------------- replay bench


BENCH_REPLAY_TOLERANCE = 1.0e-6
"""Largest relative difference accepted between a replay-bench point and the recorded one: float32's
resolution (6e-8) with margin, for values that cross an analog-input conversion on the way."""


@dataclass(frozen=True)
class BenchReplay:
    """A run played back through the replay bench, and how its points compare with the original's."""

    directory: Path
    status: str
    max_relative_difference: dict[str, float]  # per operating-point column, over every point
    points_original: int
    points_replayed: int


def replay_through_bench(run_dir: Path, out_dir: Path) -> BenchReplay:
    """Run the run's procedure again on a bench whose plant serves the logged values.

    Everything but the physics is live: the virtual bench's emulators, the real drivers over ptys and
    TCP, the runner (steady-state waits decide on the replayed values), the run store and the derived
    results. The new run directory goes under ``out_dir``.
    """
    from hil.run.session import run_procedure
    from hil.run.virtual import replay_plant

    log = read_run(run_dir)
    if log.bench.virtual is None:
        raise ConfigError(
            str(run_dir / BENCH_SNAPSHOT),
            "virtual",
            "the replay bench stands in for a virtual bench's physics; this run's bench has none",
        )
    times, columns = columns_of(log)
    drive = log.bench.instruments[log.bench.roles["pump_drive"].split(".")[0]]
    plant = replay_plant(times, columns, pole_pairs=int(drive.options.data.get("pole_pairs", 2)))
    try:
        copy = log.procedure_file()
    except RunLogError as exc:
        raise ConfigError(
            str(run_dir), "procedure", f"cannot re-run the procedure through the bench: {exc}"
        ) from exc
    if copy is None:
        spec, procedure_file = load_procedure(log.procedure), None
    else:  # a file procedure: exactly the code that ran, from the run's own verified copy
        spec, loaded = load_procedure_source(str(copy))
        procedure_file = loaded.content
        if spec.name != log.procedure:
            raise ConfigError(
                str(copy), "PROCEDURE", f"declares {spec.name!r}, the run ran {log.procedure!r}"
            )
    source = str(log.directory / METADATA)
    recorded_source = log.metadata.get("procedure_source")
    result = run_procedure(
        spec,
        log.bench,
        spec.values(log.parameters, source),  # the recorded values, as values
        out_dir,
        seed=log.metadata.get("seed"),
        metadata={
            SETTINGS_KEY: recorded_settings(log).as_dict(),
            **({"procedure_source": recorded_source} if recorded_source else {}),
        },
        plant=plant,
        procedure_file=procedure_file,
    )
    derive_run(result.directory)
    original = log.points()
    replayed = RunLog.open(result.directory).points()
    differences: dict[str, float] = {}
    if len(original) == len(replayed):
        for column in original.columns:
            if column in replayed.columns and pd.api.types.is_float_dtype(original[column]):
                a, b = original[column].to_numpy(float), replayed[column].to_numpy(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    relative = np.where(a == b, 0.0, np.abs(a - b) / np.maximum(np.abs(a), np.abs(b)))
                differences[column] = float(np.nanmax(relative)) if relative.size else 0.0
    return BenchReplay(result.directory, result.status, differences, len(original), len(replayed))
