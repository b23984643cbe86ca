"""Fleet re-analysis gives the same answers on any executor; summaries are plain statistics."""

from __future__ import annotations

import shutil
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from hil.fleet.executor import SynchronousExecutor, preloaded_fork_context
from hil.fleet.reanalysis import distributions, replay_many
from hil.results.replay import ReplayChanges

FIXTURES = Path(__file__).parents[1] / "fixtures" / "runs_v0_1_0"


def test_replay_on_a_process_pool_equals_replay_in_this_process(tmp_path: Path) -> None:
    """The pool's processes come from the fork server a local cluster uses: like spawned ones they
    inherit nothing from this process (every call and its arguments travel pickled), but they do not
    each import the replay stack and CoolProp again."""
    runs = [
        shutil.copytree(FIXTURES / name, tmp_path / name) for name in ("npsh3", "performance-curve-tripped")
    ]
    here = replay_many(runs, SynchronousExecutor())
    with ProcessPoolExecutor(2, mp_context=preloaded_fork_context()) as pool:
        there = replay_many(runs, pool)
    assert here == there
    assert [s.directory for s in here] == [str(r) for r in runs]
    assert all(s.equal and s.error is None and not s.rejudged for s in here)


def test_without_a_fork_server_the_workers_are_spawned(monkeypatch: pytest.MonkeyPatch) -> None:
    """Windows has no fork server: the pool and cluster workers are then spawned, not refused."""
    import multiprocessing

    monkeypatch.setattr(multiprocessing, "get_all_start_methods", lambda: ["spawn"])
    assert preloaded_fork_context().get_start_method() == "spawn"


def test_rejudging_a_run_without_a_guarantee_is_reported_not_raised(tmp_path: Path) -> None:
    run = shutil.copytree(FIXTURES / "npsh3", tmp_path / "npsh3")
    (summary,) = replay_many([run], SynchronousExecutor(), ReplayChanges(grade="2B"))
    assert summary.error is not None and "guarantee" in summary.error


def test_distributions_are_mean_sample_sd_and_range() -> None:
    values = [2.7, 2.9, 3.4, 3.1]
    (row,) = distributions({"npsh3_m@0.0004": values, "empty": []})
    assert row.count == 4 and row.quantity == "npsh3_m@0.0004"
    assert row.mean == statistics.fmean(values)
    assert abs(row.sd - statistics.stdev(values)) < 1e-15
    assert (row.minimum, row.maximum) == (2.7, 3.4)
    (single,) = distributions({"x": [1.5]})
    assert single.sd == 0.0


def test_a_ctrl_c_in_the_synchronous_executor_is_not_kept_for_later() -> None:
    """An error is the run's result, kept in its future; a Ctrl-C leaves at once, so nothing after it
    is started."""
    started: list[int] = []

    def task(index: int) -> int:
        started.append(index)
        if index == 1:
            raise KeyboardInterrupt
        if index == 0:
            raise ValueError("a broken run")
        return index

    executor = SynchronousExecutor()
    failed = executor.submit(task, 0)
    assert isinstance(failed.exception(), ValueError)
    with pytest.raises(KeyboardInterrupt):
        for index in (1, 2, 3):
            executor.submit(task, index)
    assert started == [0, 1]
