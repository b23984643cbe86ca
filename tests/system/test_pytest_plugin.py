"""The pytest plugin, used by the project's own tests (the fixtures below) and run on the user-style
example file as a user runs it: ``pytest examples/test_pump_bench.py --bench sim``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

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


def run_pytest(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "hil.pytest_plugin", "-p", "no:cacheprovider", *args],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=600,
    )  # fmt: skip


def test_the_example_file_runs_with_bench_sim_and_names_its_run_directories(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    result = run_pytest(
        str(REPO / "examples" / "test_pump_bench.py"),
        "--bench",
        "sim",
        "--hil-runs",
        str(runs),
        "-rs",
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed, 1 skipped" in result.stdout
    assert "needs a real bench: --bench sim is virtual" in result.stdout
    directories = sorted(p for p in runs.iterdir() if (p / "metadata.json").exists())
    assert len(directories) == 2
    for directory in directories:
        assert str(directory) in result.stdout  # named in the report
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
    result = run_pytest(str(test_file), "--bench", "sim", "--hil-runs", str(runs), cwd=tmp_path)
    assert result.returncode == 1
    assert "InterlockTrip" in result.stdout or "aborted" in result.stdout
    (directory,) = [p for p in runs.iterdir() if (p / "metadata.json").exists()]
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["status"] == "aborted"
    events = [json.loads(line) for line in (directory / "events.jsonl").read_text().splitlines()]
    assert any(e.get("kind") == "safe_state" for e in events)
