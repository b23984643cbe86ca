"""The derive step: every result derived from a run is a function of its recorded log and the judging
settings, computed here and nowhere else.

:func:`derive` reads a :class:`~hil.store.run_log.RunLog` and returns the run's derived results:

- the operating points, recomputed from the raw samples on the windows the ``point`` events name,
  with :func:`hil.run.operating_points.operating_point` (the function the runner called live);
- each derived product the run's procedure declares (:attr:`hil.run.procedure_api.ProcedureSpec.products`):
  ``points_converted`` (every point converted to the specified speed, with uncertainties),
  ``acceptance`` (the verdict at the guarantee point, when one is set), ``npsh3`` (NPSH3 per
  tested flow), and the transient and mission products of :mod:`hil.results.flight`
  (``mission_profile``, ``startup``, ``steps``, ``endurance``). A new kind of result is one more
  entry in :data:`PRODUCTS` and one more file name in :mod:`hil.store.names`; no caller names a
  procedure.

``hil run`` calls :func:`derive_run` once the run directory is closed; ``hil replay`` calls
:func:`derive` on the recorded log and compares, so the live and the replayed results cannot differ.
Procedures never write files.

Imports hil's analysis, results (acceptance, NPSH3), the procedure declarations, operating points and
the run store.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

from hil.analysis.grades import load_grade_table
from hil.analysis.measurements import measurement_rows
from hil.analysis.steady import (
    DEFAULT_STEADY_LIMITS,
    judge_run_window,
    steady_detail,
    steady_window_count,
)
from hil.core.errors import RunLogError, StorageError
from hil.results import flight
from hil.results.acceptance import acceptance_document
from hil.results.acceptance_settings import SETTINGS_KEY, AcceptanceSettings
from hil.results.converted_points import converted_rows
from hil.results.npsh3 import METADATA_KEY as NPSH3_METADATA_KEY
from hil.results.npsh3 import Npsh3Row, npsh3_rows, npsh3_table
from hil.run.operating_points import operating_point, window_samples
from hil.run.procedure_api import Point, declared_products
from hil.store.run_directory import EVENTS, METADATA, POINTS, write_derived, write_points_csv
from hil.store.run_log import RunLog
from hil.store.run_writer import seal_run, storage_message

STEADY_KINDS = ("steady", "steady_timeout")
Product = list[dict[str, Any]] | dict[str, Any]
"""A derived product's content: rows (written as CSV) or a document (written as JSON)."""
SteadyLimits = Mapping[str, tuple[float, float]]


def recorded_settings(log: RunLog) -> AcceptanceSettings:
    """The judging settings the run recorded (the bench's rated speed and no guarantee if none)."""
    recorded = log.metadata.get(SETTINGS_KEY)
    if recorded is None:
        return AcceptanceSettings(log.bench.geometry.rated_speed_rpm)
    return AcceptanceSettings.from_dict(recorded)


# ------------------------------------------------------------------------------- the raw log


def columns_of(log: RunLog) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The sample times and every channel, as float64 arrays."""
    samples = log.samples
    times = samples["time_s"].to_numpy(dtype=np.float64)
    return times, {c: samples[c].to_numpy(dtype=np.float64) for c in samples.columns if c != "time_s"}


def recompute_points(log: RunLog, notes: list[str]) -> list[Point]:
    """Every operating point of the run, from its ``point`` events, exactly as the runner made it."""
    times, columns = columns_of(log)
    last = float(times[-1]) if times.size else -math.inf
    points = []
    for line, event in enumerate(log.events, start=1):
        if event.get("kind") != "point":
            continue
        start, end = (_event_number(log, line, event, key) for key in ("window_start_s", "window_end_s"))
        if not isinstance(event.get("labels", {}), dict):
            raise RunLogError(f"{log.directory / EVENTS}: event {line} (point): labels: expected an object")
        if end > last:
            notes.append(
                f"point {event.get('index')}: its window {start:g}..{end:g} s runs past the end of the "
                f"sample log ({last:g} s): lost in the crash, not recomputed"
            )
            continue
        point: Point = {**event.get("labels", {}), "window_start_s": start, "window_end_s": end}
        point.update(operating_point(window_samples(times, columns, start, end), log.bench.geometry))
        points.append(point)
    return points


def _event_number(log: RunLog, line: int, event: Mapping[str, Any], key: str) -> float:
    """A number an event must hold; a missing or malformed one names the file, the event and the field."""
    value = event.get(key)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise RunLogError(
            f"{log.directory / EVENTS}: event {line} ({event.get('kind')}): {key}: expected a number, got {value!r}"
        )
    return float(value)


def _steady_window_s(log: RunLog, line: int, event: Mapping[str, Any]) -> float | None:
    if "window_s" in event:
        return _event_number(log, line, event, "window_s")
    window = log.parameters.get("steady_window_s")
    if window is None:
        return None
    if isinstance(window, bool) or not isinstance(window, (int, float)):
        raise RunLogError(
            f"{log.directory / METADATA}: parameters.steady_window_s: expected a number, got {window!r}"
        )
    return float(window)


def _steady_limits(log: RunLog, line: int, event: Mapping[str, Any]) -> dict[str, tuple[float, float]]:
    recorded = event.get("limits") or DEFAULT_STEADY_LIMITS
    try:
        return {str(q): (float(v[0]), float(v[1])) for q, v in dict(recorded).items()}
    except (TypeError, ValueError, IndexError, KeyError) as exc:
        raise RunLogError(
            f"{log.directory / EVENTS}: event {line} ({event.get('kind')}): limits: expected "
            "{quantity: [fluctuation, trend]}"
        ) from exc


def recompute_steady(
    log: RunLog, limits: SteadyLimits | None = None
) -> Iterator[tuple[int, dict[str, Any], bool, dict[str, dict[str, float]]]]:
    """For each steady-state event: (line number, event, recomputed verdict, recomputed detail).

    The runner judged the last ``round(window_s / tick_s)`` samples (at least 2) at the event's time,
    with ``delta_p_pa = p_outlet_pa - p_inlet_pa``; so does this.
    """
    times, columns = columns_of(log)
    tick_s = log.tick_s
    for line, event in enumerate(log.events, start=1):
        if event.get("kind") not in STEADY_KINDS:
            continue
        window_s = _steady_window_s(log, line, event)
        if window_s is None:
            continue
        used = _steady_limits(log, line, event)
        used.update(limits or {})
        count = steady_window_count(window_s, tick_s)
        end = int(np.searchsorted(times, float(event["time_s"]), side="right"))
        recent = {name: values[max(0, end - count) : end] for name, values in columns.items()}
        judgement = judge_run_window(times[max(0, end - count) : end], recent, used)
        yield line, event, judgement.steady, steady_detail(judgement)


def _rejudge_point_steadiness(log: RunLog, points: list[Point], limits: SteadyLimits) -> None:
    """Give each point the verdict of the last steady-state judgement before its window."""
    judgements = [(float(event["time_s"]), steady) for _, event, steady, _ in recompute_steady(log, limits)]
    for point in points:
        before = [steady for time_s, steady in judgements if time_s <= point["window_start_s"]]
        if before:
            point["steady"] = before[-1]


# ------------------------------------------------------------------------------- the products


@dataclass
class Derivation:
    """What every product is computed from: the log, its points and the judging settings."""

    log: RunLog
    points: list[Point]
    settings: AcceptanceSettings

    @cached_property
    def converted(self) -> list[dict[str, Any]]:
        return converted_rows(self.points, self.log.accuracy, self.log.bench.geometry, self.settings)

    @cached_property
    def npsh3(self) -> list[Npsh3Row]:
        metadata = dict(self.log.metadata)
        geometry = self.log.bench.geometry
        # the NPSH3 test records its tap bores; any other run takes them from its bench file
        metadata.setdefault(
            NPSH3_METADATA_KEY,
            {"inlet_diameter_m": geometry.inlet_diameter_m, "outlet_diameter_m": geometry.outlet_diameter_m},
        )
        return npsh3_rows(self.points, metadata)


def _points_converted(d: Derivation) -> Product | None:
    return d.converted if d.points else None  # nothing to convert: no file


def _acceptance(d: Derivation) -> Product | None:
    if d.settings.guarantee is None:
        return None
    # Judged even without a point, so that a run that stopped early says INVALID, never nothing.
    return acceptance_document(
        d.points,
        d.converted,
        d.log.samples,
        d.log.accuracy,
        d.log.bench.geometry,
        d.settings,
        run_status=d.log.status,
        run_reason=str(d.log.metadata.get("reason") or ""),
    )


def _npsh3(d: Derivation) -> Product | None:
    return [asdict(row) for row in d.npsh3]  # written even without a sweep: the test found none


def _mission_profile(d: Derivation) -> Product | None:
    return flight.mission_profile_document(d.log.samples, d.log.events)


def _startup(d: Derivation) -> Product | None:
    return flight.startup_document(d.log.samples, d.log.events, d.log.tick_s, d.log.bench.geometry)


def _steps(d: Derivation) -> Product | None:
    return flight.steps_document(d.log.samples, d.log.events, d.log.tick_s, d.log.bench.geometry)


def _endurance(d: Derivation) -> Product | None:
    return flight.endurance_document(d.log.samples, d.points, d.log.parameters)


PRODUCTS: dict[str, Callable[[Derivation], Product | None]] = {
    "points_converted": _points_converted,
    "acceptance": _acceptance,
    "npsh3": _npsh3,
    "mission_profile": _mission_profile,
    "startup": _startup,
    "steps": _steps,
    "endurance": _endurance,
}
"""Every kind of derived result, by the name procedures declare it with."""


@dataclass
class DerivedResults:
    """A run's derived results: its points and each product it has (None: the run has none)."""

    points: list[Point]
    products: dict[str, Product] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    npsh3_rows: list[Npsh3Row] | None = None
    npsh3_table: list[dict[str, Any]] | None = None
    """NPSH3 per flow with uncertainty and the judged grade's tolerance (2B when none is set)."""

    @property
    def acceptance(self) -> dict[str, Any] | None:
        document = self.products.get("acceptance")
        return document if isinstance(document, dict) else None


def derive(
    log: RunLog, settings: AcceptanceSettings | None = None, steady_limits: SteadyLimits | None = None
) -> DerivedResults:
    """Every derived result of a run, from its log and the judging settings (as recorded if None).

    ``steady_limits`` re-judge each point's steadiness over the window the live run judged (a
    replay with other limits); the points' windows themselves were chosen live and do not move.
    """
    with np.errstate(all="ignore"):  # an overload (inf) or a failed read (NaN) in the log stays what it is
        return _derive(log, settings, steady_limits)


def _derive(
    log: RunLog, settings: AcceptanceSettings | None, steady_limits: SteadyLimits | None
) -> DerivedResults:
    notes: list[str] = []
    points = recompute_points(log, notes)
    if log.format < 2:
        # Format 1 (release 0.1.0) took the random uncertainty from the sample count: keep its
        # method, so that its results replay as recorded (the current method is noted, not forced).
        for point in points:
            for key in [k for k in point if k.endswith("_n_eff")]:
                del point[key]
        notes.append(
            f"format {log.format}: random uncertainties from the sample count n, as that release "
            "computed them (format 2 uses the effective sample size n_eff)"
        )
    if steady_limits:
        _rejudge_point_steadiness(log, points, steady_limits)
    derivation = Derivation(log, points, settings if settings is not None else recorded_settings(log))
    derived = DerivedResults(points, notes=notes)
    for name in declared_products(log.procedure):
        content = PRODUCTS[name](derivation)
        if content is not None:
            derived.products[name] = content
    # Declared measurements, whatever the procedure: judged again from the recorded values and limits.
    measured = measurement_rows(log.events)
    if measured:
        derived.products["measurements"] = measured
    if "npsh3" in derived.products:
        derived.npsh3_rows = derivation.npsh3
        grade = load_grade_table(derivation.settings.grade_table).grade(derivation.settings.grade or "2B")
        derived.npsh3_table = npsh3_table(derivation.npsh3, grade)
    return derived


def write_results(directory: Path, derived: DerivedResults, with_points: bool) -> None:
    """Write the derived products (and, for a replay, the recomputed points) into ``directory``."""
    if with_points:
        write_points_csv(directory / POINTS, derived.points)
    write_derived(directory, derived.products)


def derive_run(directory: Path) -> DerivedResults:
    """Derive a closed run's results under its recorded settings, write them beside its log and
    record the SHA-256 of every file in its metadata (what ``hil run`` does once the run is closed).

    A derived file the disk refuses raises :class:`~hil.core.errors.StorageError` naming it.
    """
    log = RunLog.open(directory)
    derived = derive(log)
    try:
        write_results(log.directory, derived, with_points=False)
    except OSError as exc:
        if isinstance(exc, StorageError):
            raise
        raise StorageError(storage_message(Path(exc.filename or log.directory), exc)) from exc
    seal_run(log.directory)
    return derived
