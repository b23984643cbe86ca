"""Replay: re-derive every result of a run from its raw log with the current code, and compare.

``hil replay RUN_DIR`` reads the samples (Parquet, or the CSV journal when the run never closed), the
events and the metadata, and recomputes:

- every operating point, on the window its ``point`` event names, with
  :func:`hil.run.operating_points.operating_point` (the function the live run called);
- every steady-state judgement (``steady`` / ``steady_timeout`` events: verdict and the fluctuation
  and trend of each quantity) over the same last ``steady_window_s`` of samples, with the runner's
  limits;
- ``points_converted.csv`` and ``acceptance.json`` with :func:`hil.results.acceptance.write_derived_results`,
  under the settings recorded in the metadata;
- ``npsh3.csv`` (NPSH3 runs) with :func:`hil.results.npsh3.write_npsh3_results`, as live.

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

Imports hil only (the replay bench, which plays a log back through the emulators, is in
:mod:`hil.run.virtual` and used by :func:`replay_through_bench`).
"""

from __future__ import annotations

import csv
import io
import json
import math
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hil import __version__
from hil.analysis.steady import (
    DEFAULT_STEADY_LIMITS,
    judge_run_window,
    steady_detail,
    steady_window_count,
)
from hil.bench.config import BenchConfig, parse_bench
from hil.core.config import load_toml
from hil.core.errors import ConfigError, RunLogError
from hil.results.acceptance import (
    ACCEPTANCE,
    POINTS_CONVERTED,
    SETTINGS_KEY,
    AcceptanceSettings,
    resolve_settings,
    write_derived_results,
)
from hil.run.operating_points import operating_point, window_samples
from hil.store.run_directory import (
    BENCH_SNAPSHOT,
    POINTS,
    read_events,
    read_metadata,
    read_samples,
    write_json_atomic,
    write_points_csv,
)

NPSH3 = "npsh3.csv"
REPLAY_INFO = "replay.json"
STEADY_KINDS = ("steady", "steady_timeout")


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


# ------------------------------------------------------------------------------------ the run


@dataclass(frozen=True)
class RunLog:
    """A run directory read back: what every recomputation starts from."""

    directory: Path
    metadata: dict[str, Any]
    bench: BenchConfig
    samples: pd.DataFrame
    events: list[dict[str, Any]]

    @property
    def closed(self) -> bool:
        return self.metadata.get("status", "running") != "running"

    def settings(self) -> AcceptanceSettings:
        recorded = self.metadata.get(SETTINGS_KEY)
        if recorded is None:
            return AcceptanceSettings(self.bench.geometry.rated_speed_rpm)
        return AcceptanceSettings.from_dict(recorded)


def read_run(directory: Path) -> RunLog:
    """Read a run directory; a missing or damaged file raises RunLogError naming it."""
    metadata = read_metadata(directory)
    snapshot = directory / BENCH_SNAPSHOT
    if not snapshot.exists():
        raise RunLogError(f"{directory}: no {BENCH_SNAPSHOT}: the bench file used is needed for the geometry")
    bench = parse_bench(load_toml(snapshot), str(snapshot), snapshot.read_text(encoding="utf-8"))
    return RunLog(directory, metadata, bench, read_samples(directory), read_events(directory))


def _columns(samples: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    times = samples["time_s"].to_numpy(dtype=np.float64)
    return times, {c: samples[c].to_numpy(dtype=np.float64) for c in samples.columns if c != "time_s"}


def recompute_points(log: RunLog, notes: list[str]) -> list[dict[str, Any]]:
    """Every operating point of the run, from its ``point`` events, exactly as the runner made it."""
    times, columns = _columns(log.samples)
    last = float(times[-1]) if times.size else -math.inf
    points = []
    for event in log.events:
        if event.get("kind") != "point":
            continue
        start, end = float(event["window_start_s"]), float(event["window_end_s"])
        if end > last:
            notes.append(
                f"point {event.get('index')}: its window {start:g}..{end:g} s runs past the end of the "
                f"sample log ({last:g} s): lost in the crash, not recomputed"
            )
            continue
        point: dict[str, Any] = {**event.get("labels", {}), "window_start_s": start, "window_end_s": end}
        point.update(operating_point(window_samples(times, columns, start, end), log.bench.geometry))
        points.append(point)
    return points


def _steady_window_s(log: RunLog, event: Mapping[str, Any]) -> float | None:
    if "window_s" in event:
        return float(event["window_s"])
    window = log.metadata.get("parameters", {}).get("steady_window_s")
    return None if window is None else float(window)


def recompute_steady(
    log: RunLog, limits: Mapping[str, tuple[float, float]] | None = None
) -> Iterator[tuple[int, dict[str, Any], bool, dict[str, dict[str, float]]]]:
    """For each steady-state event: (line number, event, recomputed verdict, recomputed detail).

    The runner judged the last ``round(window_s / tick_s)`` samples (at least 2) at the event's time,
    with ``delta_p_pa = p_outlet_pa - p_inlet_pa``; so does this.
    """
    times, columns = _columns(log.samples)
    tick_s = float(log.metadata.get("tick_s", log.bench.tick_s))
    for line, event in enumerate(log.events, start=1):
        if event.get("kind") not in STEADY_KINDS:
            continue
        window_s = _steady_window_s(log, event)
        if window_s is None:
            continue
        used = dict(event.get("limits") or DEFAULT_STEADY_LIMITS)
        used.update(limits or {})
        count = steady_window_count(window_s, tick_s)
        end = int(np.searchsorted(times, float(event["time_s"]), side="right"))
        recent = {name: values[max(0, end - count) : end] for name, values in columns.items()}
        judgement = judge_run_window(times[max(0, end - count) : end], recent, used)
        yield line, event, judgement.steady, steady_detail(judgement)


def _rejudge_point_steadiness(
    log: RunLog, points: list[dict[str, Any]], limits: Mapping[str, tuple[float, float]]
) -> None:
    """Give each point the verdict of the last steady-state judgement before its window."""
    judgements = [(float(event["time_s"]), steady) for _, event, steady, _ in recompute_steady(log, limits)]
    for point in points:
        before = [steady for time_s, steady in judgements if time_s <= point["window_start_s"]]
        if before:
            point["steady"] = before[-1]


# ---------------------------------------------------------------------------------- derivation


def derive_all(
    log: RunLog,
    directory: Path,
    settings: AcceptanceSettings,
    steady_limits: Mapping[str, tuple[float, float]] | None,
    notes: list[str],
) -> dict[str, Any] | None:
    """Write every derived file of the run into ``directory``; returns the acceptance document."""
    points = recompute_points(log, notes)
    if steady_limits:
        _rejudge_point_steadiness(log, points, steady_limits)
    write_points_csv(directory / POINTS, points)
    accuracy = log.metadata.get("accuracy", {})
    acceptance = write_derived_results(directory, points, log.samples, accuracy, log.bench.geometry, settings)
    if (log.directory / NPSH3).exists() or log.metadata.get("procedure") == "npsh3":
        _derive_npsh3(log, points, directory)
    return acceptance


def _derive_npsh3(log: RunLog, points: list[dict[str, Any]], directory: Path) -> None:
    """NPSH3 results with the function the NPSH3 procedure called live."""
    from hil.results.npsh3 import write_npsh3_results

    write_npsh3_results(directory, points, log.metadata)


# ---------------------------------------------------------------------------------- comparison


def _csv_rows(path: Path) -> list[list[str]]:
    text = path.read_text(encoding="utf-8")
    return list(csv.reader(io.StringIO(text))) if text else []


def compare_csv(name: str, recorded: Path, recomputed: Path) -> list[Difference]:
    """Cell by cell, as written (floats in ``repr``, so equal text means equal bits)."""
    old, new = _csv_rows(recorded), _csv_rows(recomputed)
    differences: list[Difference] = []
    old_header, new_header = (old[0] if old else []), (new[0] if new else [])
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
        outcome.compared.append("events.jsonl (steady-state judgements)")
    for line, event, steady, detail in judged:
        kind = "steady" if steady else "steady_timeout"
        if kind != event["kind"]:
            outcome.differences.append(Difference("events.jsonl", str(line), "kind", event["kind"], kind))
        recomputed = json.loads(json.dumps(detail))
        for difference in compare_json("events.jsonl", event.get("detail", {}), recomputed):
            outcome.differences.append(
                Difference(
                    "events.jsonl",
                    f"{line} detail.{difference.row}",
                    difference.column,
                    difference.recorded,
                    difference.recomputed,
                )
            )


def _compare_file(name: str, log: RunLog, scratch: Path, outcome: ReplayOutcome) -> None:
    recorded, recomputed = log.directory / name, scratch / name
    if not recorded.exists() and not recomputed.exists():
        return
    if not recorded.exists():
        if log.closed:
            outcome.differences.append(Difference(name, "(file)", "(file)", "(missing)", "(written)"))
        return
    if not recomputed.exists():
        outcome.differences.append(Difference(name, "(file)", "(file)", "(present)", "(not produced)"))
        return
    outcome.compared.append(name)
    if name.endswith(".csv"):
        outcome.differences += compare_csv(name, recorded, recomputed)
    else:
        outcome.differences += compare_json(
            name,
            json.loads(recorded.read_text(encoding="utf-8")),
            json.loads(recomputed.read_text(encoding="utf-8")),
        )


def new_replay_directory(run_dir: Path) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    for attempt in range(1000):
        candidate = run_dir / (f"replay-{stamp}" + ("" if attempt == 0 else f"-{attempt}"))
        try:
            candidate.mkdir()
            return candidate
        except FileExistsError:
            continue
    raise RunLogError(f"{run_dir}: cannot create a replay directory")


def _write_replay_info(
    directory: Path, log: RunLog, settings: AcceptanceSettings, changes: ReplayChanges, notes: list[str]
) -> None:
    write_json_atomic(
        directory / REPLAY_INFO,
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


def replay_run(run_dir: Path, changes: ReplayChanges | None = None) -> ReplayOutcome:
    """Recompute everything and compare (no changes), or re-judge into a replay directory."""
    changes = changes or ReplayChanges()
    log = read_run(run_dir)
    outcome = ReplayOutcome(run_dir)
    recorded = log.settings()
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
        directory = new_replay_directory(run_dir)
        outcome.acceptance = derive_all(log, directory, settings, changes.steady_limits, outcome.notes)
        _write_replay_info(directory, log, settings, changes, outcome.notes)
        outcome.written_to, outcome.rejudged = directory, True
        return outcome

    with tempfile.TemporaryDirectory(prefix="hil-replay-") as scratch_name:
        scratch = Path(scratch_name)
        outcome.acceptance = derive_all(log, scratch, recorded, None, outcome.notes)
        for name in (POINTS, POINTS_CONVERTED, ACCEPTANCE, NPSH3):
            _compare_file(name, log, scratch, outcome)
        compare_steady_events(log, outcome)
        if not log.closed:
            outcome.notes.append(
                f"the run never closed (status {log.metadata.get('status', 'running')!r}): "
                "replayed from the CSV journal; its results were never recorded"
            )
            directory = new_replay_directory(run_dir)
            for name in (POINTS, POINTS_CONVERTED, ACCEPTANCE, NPSH3):
                if (scratch / name).exists() and not (run_dir / name).exists():
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
    times, columns = _columns(log.samples)
    drive = log.bench.instruments[log.bench.roles["pump_drive"].split(".")[0]]
    plant = replay_plant(times, columns, pole_pairs=int(drive.options.data.get("pole_pairs", 2)))
    overrides = {
        name: ",".join(repr(float(v)) for v in value) if isinstance(value, list) else repr(value)
        for name, value in log.metadata.get("parameters", {}).items()
    }
    result = run_procedure(
        log.metadata["procedure"],
        str(run_dir / BENCH_SNAPSHOT),
        overrides,
        out_dir,
        seed=log.metadata.get("seed"),
        settings=log.settings(),
        plant=plant,
    )
    original = pd.read_csv(run_dir / POINTS) if (run_dir / POINTS).stat().st_size else pd.DataFrame()
    replayed = (
        pd.read_csv(result.directory / POINTS)
        if (result.directory / POINTS).stat().st_size
        else pd.DataFrame()
    )
    differences: dict[str, float] = {}
    if len(original) == len(replayed):
        for column in original.columns:
            if column in replayed.columns and pd.api.types.is_float_dtype(original[column]):
                a, b = original[column].to_numpy(float), replayed[column].to_numpy(float)
                with np.errstate(divide="ignore", invalid="ignore"):
                    relative = np.where(a == b, 0.0, np.abs(a - b) / np.maximum(np.abs(a), np.abs(b)))
                differences[column] = float(np.nanmax(relative)) if relative.size else 0.0
    return BenchReplay(result.directory, result.status, differences, len(original), len(replayed))
