"""``kill -9`` of the harness at random moments of a run, and SIGTERM / SIGINT as safe stops.

The harness runs as its own process (``hil run ... --attach``: ``python -m hil.cli`` for the safe
stops; for the twenty kills, a child forked from a server that has hil and CoolProp loaded already,
tests/preloaded_harness.py, which spares each of them 3 s of loading what every one would load alike)
against a virtual bench served from this test process in lockstep. Bench time moves only when the
harness asks, so the bench sees every tick the harness starts: that is the count of rows the harness
can have produced, to set against the rows that survive on disk. The kill moment is a condition,
not a sleep: the harness is killed once it has advanced bench time to a tick drawn at random
(seeded). Half the kills come from this test's thread, wherever the harness then is in that tick
(sampling, writing a row or an event); the other half come from inside the bench's advance, while
the harness waits between two ticks.

After each kill the run directory must read back (samples, events, metadata), have a row for every
tick up to the last one on disk, read as "interrupted", and replay: every operating point whose
window lies in the journal is recomputed bit for bit equal to the same point of a complete run with
the same seed, and reported. The most data lost over all kills is printed at the end (and written to
``kill_test.json`` in pytest's base temporary directory); the design allows at most the last second.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hil.bench.config import BenchConfig, load_bench
from hil.cli import main
from hil.core.clock import WallClock
from hil.results.replay import replay_run
from hil.results.report import write_report
from hil.store.run_directory import POINTS, read_events, read_metadata, read_samples, run_status
from simulators.virtual_bench import VirtualBench
from tests import summaries
from tests.preloaded_harness import HilProcess

SHORT_RUN = (
    "-p",
    "speeds_fraction=0.6",
    "-p",
    "valve_openings=0.5,1.0",
    "-p",
    "dwell_s=3",
    "-p",
    "steady_window_s=1",
)
"""143 ticks of 0.1 s; operating points recorded at 7.2 s and 12.6 s of bench time."""
LAST_TICK = 140
KILLS = 20
SEED = 20261121
KILL_TICKS = sorted(random.Random(SEED).sample(range(1, LAST_TICK + 1), KILLS))
WORKERS = 2  # the machine's two cores: one harness process running while the bench serves another
WAIT_S = 120.0
MAX_LOSS_WALL_S = 1.0  # design.md: "survives kill -9 with at most the last second lost"


class WatchedBench(VirtualBench):
    """The sim bench, served in lockstep, noting every tick the harness starts (bench and wall time)
    and signalling when bench time reaches ``stop_at_s``."""

    def __init__(self, config: BenchConfig, stop_at_s: float) -> None:
        assert config.virtual is not None
        super().__init__(config.virtual.plant, seed=config.virtual.seed, source=config.source)
        self.stop_at_s = stop_at_s
        self.advances: list[tuple[float, float]] = []
        self.reached = threading.Event()
        self.wall = WallClock()
        self.kill_pid: int | None = None  # set: SIGKILL this process from inside the advance, before replying
        self.killed_wall_s: float | None = None

    def advance_to(self, time_s: float) -> None:
        super().advance_to(time_s)
        self.advances.append((time_s, self.wall.now_s()))
        if time_s >= self.stop_at_s - 1e-9 and not self.reached.is_set():
            if self.kill_pid is not None:
                os.kill(self.kill_pid, signal.SIGKILL)
                self.killed_wall_s = self.wall.now_s()
            self.reached.set()


@dataclass
class Stopped:
    """One harness process stopped by a signal at a given tick."""

    tick: int
    signal_name: str
    exit_code: int
    run_dir: Path
    advances: list[tuple[float, float]]
    signal_wall_s: float
    stderr: str
    between_ticks: bool


def run_and_signal(tick: int, sig: signal.Signals, out_dir: Path, between_ticks: bool = False) -> Stopped:
    """Run the harness against a watched bench and send ``sig`` once it has started ``tick``: from
    this thread, or (``between_ticks``, SIGKILL only) from inside the bench's advance. A harness to
    be killed is forked from the preloaded one (tests/preloaded_harness.py: what a kill -9 leaves on
    disk does not depend on how the process started); one to be stopped safely is started as
    ``python -m hil.cli``, the way an operator's Ctrl-C or a service manager's SIGTERM meets it."""
    config = load_bench("sim")
    bench = WatchedBench(config, stop_at_s=tick * config.tick_s)
    endpoints = bench.start(lockstep_control=True)
    command = [
        sys.executable,
        "-m",
        "hil.cli",
        "run",
        "performance-curve",
        "--bench",
        "sim",
        "--quiet",
        "--attach",
        f"127.0.0.1:{endpoints['clock'].port}",
        "--out",
        str(out_dir),
        *SHORT_RUN,
    ]
    process: subprocess.Popen[str] | HilProcess
    if sig == signal.SIGKILL:
        process = HilProcess(command[3:], out_dir.with_name(f"{out_dir.name}.stderr"))
    else:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if between_ticks:
        bench.kill_pid = process.pid
    try:
        waited = WallClock()
        while not bench.reached.wait(timeout=0.5):  # a condition with a liveness check, not a sleep
            if process.poll() is not None or waited.now_s() > WAIT_S:
                break
        signal_wall_s = bench.killed_wall_s if bench.killed_wall_s is not None else bench.wall.now_s()
        if process.poll() is None and not between_ticks:
            os.kill(process.pid, sig)
        _, stderr = process.communicate(timeout=WAIT_S)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=WAIT_S)
        bench.stop()
    exit_code = process.returncode
    assert exit_code is not None
    runs = sorted(p for p in out_dir.iterdir() if p.is_dir()) if out_dir.exists() else []
    assert len(runs) == 1, f"tick {tick}: expected one run directory, got {runs}; stderr: {stderr}"
    return Stopped(
        tick,
        sig.name,
        exit_code,
        runs[0],
        list(bench.advances),
        signal_wall_s,
        stderr,
        between_ticks,
    )


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The operating points of the same run, completed, in this process (same bench, same seed)."""
    out = tmp_path_factory.mktemp("reference")
    assert main(["run", "performance-curve", "--bench", "sim", "--out", str(out), "--quiet", *SHORT_RUN]) == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    assert len(read_samples(run_dir)) >= LAST_TICK
    return pd.read_csv(run_dir / POINTS)


def check_killed_run(stopped: Stopped, reference: pd.DataFrame) -> dict[str, Any]:
    """Every check on one killed run; returns what it lost. Raises AssertionError naming the tick."""
    where = f"killed at tick {stopped.tick} ({stopped.run_dir})"
    assert stopped.exit_code == -signal.SIGKILL, f"{where}: exit {stopped.exit_code}: {stopped.stderr}"
    metadata = read_metadata(stopped.run_dir)
    assert metadata["status"] == "running", where  # as the dead process left it
    assert run_status(stopped.run_dir) == "interrupted", where
    samples = read_samples(stopped.run_dir)
    events = read_events(stopped.run_dir)
    rows = len(samples)
    tick_s = float(metadata["tick_s"])
    assert np.allclose(samples["time_s"], np.arange(1, rows + 1) * tick_s, rtol=0, atol=1e-9), where
    assert rows >= 1 and samples.iloc[:, 1:].notna().all().all(), f"{where}: a row on disk is incomplete"
    started = len(stopped.advances)  # ticks the harness began: it cannot have produced more rows
    assert stopped.tick <= started, where
    lost_rows = started - rows
    assert lost_rows >= 0, where
    lost_wall_s = 0.0 if lost_rows == 0 else stopped.signal_wall_s - stopped.advances[rows][1]
    assert lost_wall_s <= MAX_LOSS_WALL_S, f"{where}: lost the last {lost_wall_s:.3f} s"
    assert all(e["time_s"] <= rows * tick_s + 1e-9 for e in events), where

    outcome = replay_run(stopped.run_dir)
    assert outcome.equal, f"{where}: {outcome.differences}"
    recorded_points = [e for e in events if e["kind"] == "point"]
    whole = [e for e in recorded_points if e["window_end_s"] <= samples["time_s"].iloc[-1] + 1e-9]
    if whole:
        assert outcome.written_to is not None, where
        replayed = pd.read_csv(outcome.written_to / POINTS)
        assert len(replayed) == len(whole), where
        for index, row in replayed.iterrows():
            expected = reference.iloc[index]
            for column in replayed.columns:
                a, b = row[column], expected[column]
                same = (a == b) or (isinstance(a, float) and np.isnan(a) and np.isnan(b))
                assert same, f"{where}: replayed point {index} {column}: {a!r} != live {b!r}"
        assert write_report(outcome.written_to), where
    return {
        "tick": stopped.tick,
        "between_ticks": stopped.between_ticks,
        "rows_on_disk": rows,
        "ticks_started": started,
        "rows_lost": lost_rows,
        "bench_s_lost": lost_rows * tick_s,
        "wall_s_lost": lost_wall_s,
        "points_replayed": len(whole),
    }


def test_kill_minus_9_at_random_moments_loses_at_most_the_row_in_progress(
    tmp_path: Path,
    reference: pd.DataFrame,
    request: pytest.FixtureRequest,
) -> None:
    assert len(KILL_TICKS) >= 20
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        stopped = list(
            pool.map(
                lambda i_tick: run_and_signal(
                    i_tick[1],
                    signal.SIGKILL,
                    tmp_path / f"kill-{i_tick[1]}",
                    between_ticks=i_tick[0] % 2 == 1,
                ),
                enumerate(KILL_TICKS),
            )
        )
    losses = [check_killed_run(s, reference) for s in stopped]
    worst = max(losses, key=lambda loss: (loss["rows_lost"], loss["wall_s_lost"]))
    summary = {
        "runs": len(losses),
        "most_rows_lost": worst["rows_lost"],
        "most_bench_s_lost": worst["bench_s_lost"],
        "most_wall_s_lost": max(loss["wall_s_lost"] for loss in losses),
        "points_replayed": sum(loss["points_replayed"] for loss in losses),
        "kills": losses,
    }
    summaries.record(request.config, "kill test", **summary)  # printed at the end of the session
    # Every row is handed to the operating system as it is written: only the tick in progress can be lost.
    assert summary["most_rows_lost"] <= 1
    assert sum(loss["points_replayed"] for loss in losses) > 0  # some kills came after a recorded point


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_and_sigint_are_safe_stops(tmp_path: Path, sig: signal.Signals) -> None:
    stopped = run_and_signal(50, sig, tmp_path / "runs")
    assert stopped.exit_code == 3, stopped.stderr  # aborted, not a crash
    assert "Traceback" not in stopped.stderr
    metadata = read_metadata(stopped.run_dir)
    assert (metadata["status"], run_status(stopped.run_dir)) == ("aborted", "aborted")
    assert sig.name in metadata["reason"]
    events = read_events(stopped.run_dir)
    (stop,) = [e for e in events if e["kind"] == "operator_stop"]
    assert sig.name in stop["reason"]
    assert stop["time_s"] >= 5.0 - 1e-9  # not before the signal
    safe = [e for e in events if e["kind"] == "safe_state" and e["time_s"] >= stop["time_s"] - 1e-9]
    assert safe and safe[0]["time_s"] == stop["time_s"] and safe[0]["commanded"][0] == "motor"
    samples = read_samples(stopped.run_dir)  # closed properly: from the Parquet copy
    assert (stopped.run_dir / "samples.parquet").exists()
    after = samples[samples["time_s"] > stop["time_s"] + 1e-9]
    assert after["motor_current_a"].iloc[0] == 0.0  # released in the next tick
    assert after["speed_rpm"].iloc[-1] <= 0.1 * load_bench("sim").limits.running_speed_rpm  # logged to a stop
