"""Fleet re-analysis: replay many run directories at once, and summarise a campaign.

:func:`replay_many` hands :func:`hil.results.replay.replay_run` (the derive step on the recorded
log, exactly what ``hil replay RUN_DIR`` does) one run directory at a time to any executor, so a
hundred runs are re-judged under a new grade, or checked bit for bit against the current code, on
every core or a cluster. Each unit is a pure function of its directory and the new settings.

:func:`campaign_summary` reads what a campaign's runs wrote (through the catalogue's reader, so it
reads exactly what the catalogue indexes) and gives the distribution of each key result over the
runs: for example the NPSH3 at each flow over a manufacturing spread.

Imports :mod:`hil.core`, :mod:`hil.results` and this package.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hil.core.errors import HilError
from hil.results.replay import ReplayChanges, replay_run


@dataclass(frozen=True)
class ReplaySummary:
    """What one replay gave, small enough to send back from a worker."""

    directory: str
    equal: bool
    differences: int
    first_difference: str
    rejudged: bool
    written_to: str | None
    verdict: str | None
    """With a guarantee: PASS, FAIL, INVALID or NOT JUDGED under the settings replayed with."""
    error: str | None = None


def replay_one(directory: str, changes: ReplayChanges) -> ReplaySummary:
    """Replay one run directory (a pure function of it and ``changes``); errors are reported, not raised."""
    try:
        outcome = replay_run(Path(directory), changes)
    except HilError as exc:
        return ReplaySummary(directory, False, 0, "", changes.any(), None, None, str(exc))
    from hil.results.acceptance import stated_verdict

    verdict = None if outcome.acceptance is None else stated_verdict(outcome.acceptance)
    return ReplaySummary(
        directory,
        outcome.equal,
        len(outcome.differences),
        str(outcome.differences[0]) if outcome.differences else "",
        outcome.rejudged,
        None if outcome.written_to is None else str(outcome.written_to),
        verdict,
    )


def replay_many(
    directories: Sequence[Path],
    executor: Executor,
    changes: ReplayChanges | None = None,
    progress: Callable[[str], None] | None = None,
) -> list[ReplaySummary]:
    """Replay every directory on ``executor``; results in the order of ``directories``."""
    changes = changes or ReplayChanges()
    show = progress or (lambda message: None)
    futures = {executor.submit(replay_one, str(d), changes): index for index, d in enumerate(directories)}
    results: list[ReplaySummary | None] = [None] * len(futures)
    for done, future in enumerate(as_completed(futures), start=1):
        summary = future.result()
        results[futures[future]] = summary
        state = summary.error or summary.verdict or ("equal" if summary.equal else "DIFFERENT")
        show(f"[{done}/{len(futures)}] {summary.directory}: {state}")
    return [r for r in results if r is not None]


@dataclass(frozen=True)
class Distribution:
    quantity: str
    count: int
    mean: float
    sd: float
    minimum: float
    maximum: float


def distributions(values_by_quantity: dict[str, list[float]]) -> list[Distribution]:
    """Mean, sample standard deviation (0 for one value), minimum and maximum of each quantity."""
    result = []
    for quantity in sorted(values_by_quantity):
        values = np.asarray(values_by_quantity[quantity], dtype=float)
        if values.size == 0:
            continue
        sd = float(values.std(ddof=1)) if values.size > 1 else 0.0
        result.append(
            Distribution(
                quantity, int(values.size), float(values.mean()), sd, float(values.min()), float(values.max())
            )
        )
    return result


def campaign_summary(run_directories: Sequence[Path], runs_dir: Path) -> list[Distribution]:
    """The distribution of every key result (see :mod:`hil.fleet.catalogue`) over completed runs."""
    from hil.fleet.catalogue import read_entry

    values: dict[str, list[float]] = {}
    for directory in run_directories:
        entry = read_entry(directory, runs_dir)
        if entry.row["status"] != "completed":
            continue
        for name, value in entry.quantities.items():
            values.setdefault(name, []).append(value)
    return distributions(values)


def format_distributions(rows: Sequence[Distribution]) -> str:
    if not rows:
        return "no completed run gave a key result"
    width = max(len("quantity"), *(len(r.quantity) for r in rows))
    lines = [f"{'quantity':<{width}} {'runs':>5} {'mean':>12} {'sd':>12} {'min':>12} {'max':>12}"]
    lines += [
        f"{r.quantity:<{width}} {r.count:>5} {r.mean:>12.6g} {r.sd:>12.4g} {r.minimum:>12.6g} {r.maximum:>12.6g}"
        for r in rows
    ]
    return "\n".join(lines)
