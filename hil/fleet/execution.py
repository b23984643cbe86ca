"""Running a campaign: each run a pure function of its inputs and seed, on any executor.

:func:`execute_run` makes one campaign run in whatever process it is called in (this one, a pool
worker, a Dask worker on another machine): it calls :func:`hil.run.session.run_procedure`, exactly
what ``hil run`` calls, with the run's procedure, parameters, bench file, seed, faults and acceptance
settings, so the run directory it writes is the one ``hil run`` writes for the same command line
(``CampaignRun.command_line``), byte for byte, but for the wall-clock start and end times in
``metadata.json`` and the directory's time-stamped name.

Each run owns a slot directory in the campaign directory, named by the run's key; its run directory
is made inside. That gives resume and retry for free:

- a slot holding a run that ended (completed, aborted by an interlock or an injected fault, or ended
  in error) is finished: a resumed campaign skips it, and so does a worker handed it again;
- a slot holding a run that never ended (its worker was killed: status ``interrupted``, see
  :func:`hil.store.run_directory.run_status`) is run again; the broken attempt is moved aside into
  ``.attempts/`` of the campaign directory (kept, never deleted, out of the catalogue's way);
- a slot whose run is still being written by a live process is refused (RunLogError), never raced.

Dask reschedules the runs a dying worker held (see :mod:`hil.fleet.executor`); a process pool or
the synchronous executor has no such retry, and a campaign stopped any way is simply started again.

Imports :mod:`hil.core`, :mod:`hil.store`, :mod:`hil.run`, :mod:`hil.results` and this package.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.core.clock import WallClock
from hil.core.errors import HilError, RunLogError
from hil.fleet.campaign import CAMPAIGN_COPY, CAMPAIGN_PLAN, Campaign, CampaignRun, plan_document
from hil.fleet.entry import CatalogueEntry, read_entry
from hil.store.run_directory import METADATA, read_metadata, run_status, write_json_atomic

ATTEMPTS = ".attempts"
FINAL_STATUSES = ("completed", "aborted", "error")
"""A run that reached one of these ended on its own: its result is the run's result."""


@dataclass(frozen=True)
class RunRecord:
    """What a worker hands back about one campaign run."""

    key: str
    directory: str
    status: str
    reason: str
    skipped: bool
    """True when the slot already held the finished run (nothing was run)."""
    wall_s: float
    """Wall time the run took in its worker (0 when skipped)."""
    entry: CatalogueEntry | None = None
    """What the catalogue holds about the run, read by the worker beside it (None when skipped, or
    when the run directory could not be read): the campaign's one catalogue writer then only writes."""


def finished_run(slot: Path) -> Path | None:
    """The run directory of a slot whose run ended, or None (empty slot, or an interrupted attempt).

    Raises RunLogError when a live process is still writing a run in the slot.
    """
    if not slot.is_dir():
        return None
    found = None
    for child in sorted(slot.iterdir()):
        if not (child / METADATA).exists():
            continue
        status = run_status(child)
        if status == "running":
            raise RunLogError(f"{child}: a process is still writing this run; not running it twice")
        if status in FINAL_STATUSES:
            found = child
    return found


def _set_aside_attempts(slot: Path) -> None:
    """Move every unfinished attempt out of the slot (kept under the campaign's ``.attempts/``)."""
    attic = slot.parent / ATTEMPTS / slot.name
    for child in sorted(slot.iterdir()):
        attic.mkdir(parents=True, exist_ok=True)
        target = attic / child.name
        suffix = 0
        while target.exists():
            suffix += 1
            target = attic / f"{child.name}-{suffix}"
        os.replace(child, target)


def execute_run(run: CampaignRun, progress: Callable[[str], None] | None = None) -> RunRecord:
    """Make one campaign run (or find it already made) in this process; a pure function of ``run``.

    ``progress`` receives the runner's progress messages (a campaign passes none).
    """
    from hil.bench.config import load_bench
    from hil.results.acceptance_settings import SETTINGS_KEY, resolve_settings
    from hil.results.derive import derive_run
    from hil.run.procedure_catalogue import load
    from hil.run.session import run_procedure

    slot = Path(run.slot)
    done = finished_run(slot)
    if done is not None:
        metadata = read_metadata(done)
        return RunRecord(
            run.key, str(done), str(metadata["status"]), str(metadata.get("reason", "")), True, 0.0
        )
    if slot.is_dir():
        _set_aside_attempts(slot)
    slot.mkdir(parents=True, exist_ok=True)
    acc = run.acceptance
    config = load_bench(run.bench)  # parsed once for the whole run
    settings = resolve_settings(
        config.geometry.rated_speed_rpm, acc.pump, acc.guarantee, acc.grade, acc.grades
    )
    spec, source = load(run.procedure)  # as `hil run` finds it, so the metadata says the same
    # Wall time of a worker's run, for the campaign's throughput only; never part of any result.
    stopwatch = WallClock()
    result = run_procedure(
        procedure=spec.name,
        config=config,
        values=spec.resolve(dict(run.parameters)),
        out_dir=slot,
        seed=run.seed,
        progress=progress,
        metadata={SETTINGS_KEY: settings.as_dict(), "procedure_source": source.describe()},
        faults=list(run.faults),
    )
    derive_run(result.directory)  # the derived results, from the closed log, as `hil run` makes them
    wall_s = stopwatch.now_s()
    try:
        entry: CatalogueEntry | None = read_entry(result.directory, slot.parent.parent)
    except (RunLogError, ValueError, OSError):
        entry = None  # the client reads it again (and reports why) when it catalogues the run
    return RunRecord(run.key, str(result.directory), result.status, result.reason, False, wall_s, entry)


@dataclass
class CampaignOutcome:
    campaign: Campaign
    records: list[RunRecord] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)
    """Runs whose worker raised (not a run that ended in error: that is a record): key -> error."""

    @property
    def skipped(self) -> int:
        return sum(1 for r in self.records if r.skipped)

    def by_status(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for record in self.records:
            counts[record.status] = counts.get(record.status, 0) + 1
        return counts


def prepare_campaign(campaign: Campaign, campaign_file: Path | None = None) -> None:
    """Write the campaign directory's plan, its copy of the file and the bench variant files.

    Idempotent: a file already holding the same text is left alone, so resuming changes nothing.
    """
    campaign.directory.mkdir(parents=True, exist_ok=True)
    for path_text, text in campaign.bench_texts.items():
        _write_if_changed(Path(path_text), text)
    if campaign_file is not None:
        _write_if_changed(campaign.directory / CAMPAIGN_COPY, campaign_file.read_text(encoding="utf-8"))
    plan = campaign.directory / CAMPAIGN_PLAN
    document = plan_document(campaign)
    if not plan.exists() or _read_json(plan) != document:
        write_json_atomic(plan, document)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return None


def _write_if_changed(path: Path, text: str) -> None:
    if path.exists() and path.read_text(encoding="utf-8") == text:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(path.suffix + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def run_campaign(
    campaign: Campaign,
    executor: Executor,
    progress: Callable[[str], None] | None = None,
    on_record: Callable[[RunRecord], None] | None = None,
    execute: Callable[[CampaignRun], RunRecord] = execute_run,
    campaign_file: Path | None = None,
) -> CampaignOutcome:
    """Run every unfinished run of ``campaign`` on ``executor``; returns what each gave.

    Finished slots are skipped without being submitted. ``on_record`` is called in this process as
    each run is done (the command adds it to the catalogue there: one writer, wherever the workers
    are). ``execute`` is the function the executor runs (default :func:`execute_run`).
    """
    show = progress or (lambda message: None)
    prepare_campaign(campaign, campaign_file)
    outcome = CampaignOutcome(campaign)
    pending: list[CampaignRun] = []
    for run in campaign.runs:
        done = finished_run(Path(run.slot))
        if done is None:
            pending.append(run)
            continue
        metadata = read_metadata(done)
        outcome.records.append(
            RunRecord(run.key, str(done), str(metadata["status"]), str(metadata.get("reason", "")), True, 0.0)
        )
    total = len(campaign.runs)
    show(
        f"campaign {campaign.name}: {total} runs, {len(outcome.records)} already finished, "
        f"{len(pending)} to run"
    )
    futures: dict[Future[RunRecord], CampaignRun] = {executor.submit(execute, run): run for run in pending}
    for future in as_completed(futures):
        run = futures[future]
        try:
            record = future.result()
        except (HilError, OSError) as exc:
            outcome.failures[run.key] = str(exc)
            show(f"[{len(outcome.records) + len(outcome.failures)}/{total}] {run.key}: FAILED: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001 - a worker's unexpected error fails that run, not the campaign
            outcome.failures[run.key] = f"{type(exc).__name__}: {exc}"
            show(f"[{len(outcome.records) + len(outcome.failures)}/{total}] {run.key}: FAILED: {exc!r}")
            continue
        outcome.records.append(record)
        if on_record is not None:
            on_record(record)
        reason = f" ({record.reason})" if record.reason else ""
        show(
            f"[{len(outcome.records) + len(outcome.failures)}/{total}] {run.key}: {record.status}{reason}"
            f" in {record.wall_s:.1f} s"
        )
    order = {run.key: index for index, run in enumerate(campaign.runs)}
    outcome.records.sort(key=lambda r: order[r.key])
    return outcome
