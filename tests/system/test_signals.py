"""Ctrl-C and SIGTERM at every stage of ``hil run``, one at a time and in bursts: always one safe stop.

``hil run`` runs as its own process on the in-process sim bench; real signals go to it at moments
chosen by conditions, never by sleeps: at once after the process starts (interpreter start-up and
imports), on its ``connecting`` progress line (starting the virtual bench and connecting), on
``run started`` (the runner's first ticks), and on ``closing the run`` (safe state, close, derived
results). A burst is four signals back to back (SIGINT, SIGINT, SIGTERM, SIGINT).

Before the run starts nothing may move and the exit must be non-zero, with no run directory; once
it has started the exit is 3, the run directory is closed with a status and every derived file is
written, and no traceback is printed. Each run's outcome is collected into ``signal_runs.json`` in
pytest's base temporary directory.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from hil.store.run_directory import read_metadata

SHORT = [
    "-p",
    "speeds_fraction=0.6",
    "-p",
    "valve_openings=1.0",
    "-p",
    "dwell_s=2",
    "-p",
    "steady_window_s=1",
]
BURST = (signal.SIGINT, signal.SIGINT, signal.SIGTERM, signal.SIGINT)
WAIT_S = 300.0
OUTCOMES: list[dict[str, object]] = []


def _interactive_signals() -> None:
    """In the child: SIGINT as a terminal gives it. A shell without job control starts background
    commands with SIGINT ignored, and Python keeps an inherited SIG_IGN until hil installs its own
    handler, so a start-up Ctrl-C would be dropped by the test's environment, not by hil."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _run_and_signal(out: Path, stage: str, signals: tuple[signal.Signals, ...]) -> tuple[int, str, str]:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hil.cli",
            "run",
            "performance-curve",
            "--bench",
            "sim",
            "--out",
            str(out),
            *SHORT,
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=_interactive_signals,
    )
    assert process.stderr is not None
    seen = []
    if stage != "start-up":
        for line in process.stderr:  # the condition: the stage's progress line
            seen.append(line)
            if line.startswith(stage):
                break
    for number in signals:
        process.send_signal(number)
    stdout, rest = process.communicate(timeout=WAIT_S)
    return process.returncode, stdout, "".join(seen) + rest


@pytest.mark.parametrize(
    ("stage", "signals"),
    [
        ("start-up", (signal.SIGINT,)),
        ("start-up", BURST),
        ("connecting", (signal.SIGTERM,)),
        ("connecting", BURST),
        ("run started", (signal.SIGINT,)),
        ("run started", BURST),
        ("closing the run", BURST),
    ],
    ids=[
        "start-up",
        "start-up-burst",
        "connecting",
        "connecting-burst",
        "running",
        "running-burst",
        "closing-burst",
    ],
)
def test_a_signal_or_a_burst_at_any_stage_is_one_safe_stop(
    tmp_path: Path, stage: str, signals: tuple[signal.Signals, ...], tmp_path_factory: pytest.TempPathFactory
) -> None:
    out = tmp_path / "runs"
    code, stdout, stderr = _run_and_signal(out, stage, signals)
    runs = sorted(m.parent for m in out.glob("*/metadata.json"))  # the catalogue sits beside them
    outcome: dict[str, object] = {"stage": stage, "signals": len(signals), "exit": code, "runs": len(runs)}
    OUTCOMES.append(outcome)
    try:
        _check(stage, code, stderr, runs, outcome)
        outcome["clean"] = True
    finally:
        (tmp_path_factory.getbasetemp() / "signal_runs.json").write_text(json.dumps(OUTCOMES, indent=1))


def _check(stage: str, code: int, stderr: str, runs: list[Path], outcome: dict[str, object]) -> None:
    if stage == "start-up" and not runs and code != 3:
        # the signal beat hil to its handlers: the process died of it before Python ran (negative
        # code) or in Python's own start-up (KeyboardInterrupt); either way nothing had started
        assert code < 0 or (code == 1 and "KeyboardInterrupt" in stderr), stderr
        return
    assert code > 0, stderr  # never 0, never killed by the signal (negative)
    assert "Traceback" not in stderr, stderr
    if not runs:  # stopped before the run started
        assert code == 3 and "nothing was moved" in stderr, stderr
        assert stage in ("start-up", "connecting")
        return
    assert stage != "start-up" or code == 3
    (run_dir,) = runs
    metadata = read_metadata(run_dir)
    outcome["status"] = metadata["status"]
    assert code == 3, stderr
    if stage == "closing the run":
        assert metadata["status"] == "completed"  # the close was not cut short
        assert "nothing was cut short" in stderr
    else:
        assert metadata["status"] == "aborted" and "SIG" in metadata["reason"]
    points = (run_dir / "operating_points.csv").read_text().splitlines()[1:]
    outcome["points"] = len(points)
    if points:  # the derived step ran to its end (it writes nothing for a run without points)
        assert (run_dir / "points_converted.csv").read_text().count("\n") == len(points) + 1
