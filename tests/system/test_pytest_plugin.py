"""The pytest plugin, used by the project's own tests (the fixtures below) and run on the user-style
example file as a user runs it: ``pytest examples/test_pump_bench.py --bench sim``.

Those pytest sessions run in processes of their own forked from a server that has hil and CoolProp
loaded (``tests/preloaded_harness.py``): each is ``pytest.main(ARGS)`` in its own process and
directory, with its own configuration, plugins, collection, report and exit status, as ``pytest`` on
the command line gives. Only the interpreter's start-up differs: a fresh one spent about 5 s of CPU a
session, most of it loading CoolProp's fluid library again for the first operating point."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.preloaded_harness import HilProcess

REPO = Path(__file__).resolve().parents[2]


def test_hil_bench_is_a_connected_bench(hil_bench) -> None:  # type: ignore[no-untyped-def]
    assert "YOKOGAWA,WT310" in hil_bench.bench.identities["power"]
    assert hil_bench.bench.pump_drive.read()["speed_rpm"] == 0.0


def test_hil_run_records_into_its_own_run_directory(hil_run, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    hil_run.set_valve_opening(1.0)
    hil_run.ramp_speed_rpm(12_000.0, 20_000.0)
    start_s, end_s = hil_run.average(2.0)
    point = hil_run.record_point(start_s, end_s)
    assert point["speed_rpm"] == pytest.approx(12_000.0, rel=0.01)
    (directory,) = [p for p in tmp_path.iterdir() if (p / "metadata.json").exists()]
    assert json.loads((directory / "metadata.json").read_text())["status"] == "running"


def run_pytest(*args: str, cwd: Path) -> tuple[int, str]:
    """``pytest ARGS`` in ``cwd``; its exit status and what it printed."""
    # The process has hil imported before its session starts, so assertion rewriting warns (an error
    # under the project's filterwarnings) that it cannot rewrite hil's modules; a fresh pytest does
    # not meet that.
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    stdout = cwd / "pytest-stdout.txt"
    process = HilProcess(
        ["-p", "no:cacheprovider", *quiet, *args],
        cwd / "pytest-stderr.txt",
        program="pytest",
        stdout_path=stdout,
        cwd=cwd,
    )
    _, stderr = process.communicate(timeout=600)
    assert process.returncode is not None
    return process.returncode, stdout.read_text() + stderr


def test_the_example_file_runs_with_bench_sim_and_names_its_run_directories(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    example = str(REPO / "examples" / "test_pump_bench.py")
    status, stdout = run_pytest(example, "--bench", "sim", "--hil-runs", str(runs), "-rs", cwd=tmp_path)
    assert status == 0, stdout
    assert "3 passed, 1 skipped" in stdout
    assert "needs a real bench: --bench sim is virtual" in stdout
    directories = sorted(p for p in runs.iterdir() if (p / "metadata.json").exists())
    assert len(directories) == 2
    for directory in directories:
        assert str(directory) in stdout  # named in the report
        metadata = json.loads((directory / "metadata.json").read_text())
        assert metadata["status"] == "completed"
        assert (directory / "points_converted.csv").exists()  # derived like any run


def test_a_tripped_test_fails_with_the_trip_and_leaves_the_bench_safe(tmp_path: Path) -> None:
    test_file = tmp_path / "test_trip.py"
    test_file.write_text(
        "def test_dead_head(hil_run):\n"
        "    hil_run.set_valve_opening(0.0)\n"
        "    hil_run.ramp_speed_rpm(30000.0, 30000.0)\n"
        "    hil_run.hold(10.0)\n"
    )
    runs = tmp_path / "runs"
    status, stdout = run_pytest(str(test_file), "--bench", "sim", "--hil-runs", str(runs), cwd=tmp_path)
    assert status == 1
    assert "InterlockTrip" in stdout or "aborted" in stdout
    (directory,) = [p for p in runs.iterdir() if (p / "metadata.json").exists()]
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["status"] == "aborted"
    events = [json.loads(line) for line in (directory / "events.jsonl").read_text().splitlines()]
    assert any(e.get("kind") == "safe_state" for e in events)
