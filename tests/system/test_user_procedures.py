"""Users' own procedures: a file written from the README tutorial, and a procedure package installed
beside hil, run exactly like the built-in ones; declared measurements are judged, stored and replayed."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from websockets.sync.client import connect

from hil.cli import main
from hil.console.feeds import JournalFeed
from hil.console.server import ConsoleServer

REPO = Path(__file__).resolve().parents[2]
RUN_IN = REPO / "examples" / "run_in.py"
PACKAGE = REPO / "tests" / "procedure_package"


def only_run(parent: Path) -> Path:
    (directory,) = [p for p in parent.iterdir() if (p / "metadata.json").exists()]
    return directory


@pytest.mark.parametrize("bench", ["sim", "sim-odrive"])
def test_the_tutorial_run_in_procedure_runs_on_both_virtual_benches(bench: str, tmp_path: Path) -> None:
    out = io.StringIO()
    args = [
        "run",
        str(RUN_IN),
        "--bench",
        bench,
        "--out",
        str(tmp_path),
        "-p",
        "duration_s=20",
        "-p",
        "interval_s=10",
    ]
    assert main(args, out=out) == 0, out.getvalue()
    directory = only_run(tmp_path)
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["procedure"] == "run-in" and metadata["status"] == "completed"
    assert metadata["procedure_source"] == f"file: {RUN_IN}"
    measured = pd.read_csv(directory / "measurements.csv")
    assert list(measured["name"]) == [
        "head_drift_fraction",
        "efficiency_drift_fraction",
        "max_motor_temperature_c",
    ]
    assert (measured["verdict"] == "PASS").all()
    assert abs(measured["value"].iloc[0]) < 0.01  # a healthy pump's head does not drift in 20 s
    assert "head_drift_fraction" in out.getvalue() and "PASS" in out.getvalue()


def test_a_parameter_beyond_the_bench_limit_is_refused_before_anything_moves(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["run", str(RUN_IN), "--bench", "sim", "--out", str(tmp_path), "-p", "speed_fraction=1.15"]) == 2
    )
    assert "max_speed_rpm" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_a_measurement_outside_its_limits_fails_the_run_and_replays_as_failed(tmp_path: Path) -> None:
    strict = tmp_path / "strict_run_in.py"
    strict.write_text(RUN_IN.read_text().replace('high=80.0, help="hottest', 'high=20.0, help="hottest'))
    out_dir = tmp_path / "runs"
    out = io.StringIO()
    assert (
        main(["run", str(strict), "--bench", "sim", "--out", str(out_dir), "-p", "duration_s=10"], out=out)
        == 4
    )
    measured = pd.read_csv(only_run(out_dir) / "measurements.csv").set_index("name")
    assert measured.loc["max_motor_temperature_c", "verdict"] == "FAIL"
    assert measured.loc["max_motor_temperature_c", "high"] == 20.0
    assert main(["replay", str(only_run(out_dir))], out=io.StringIO()) == 0  # the FAIL replays exactly


def test_a_broken_procedure_file_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def run(:\n")
    assert main(["run", str(broken), "--bench", "sim", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert f"{broken}: line 1: syntax error" in err and "Traceback" not in err
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    assert main(["run", str(empty), "--bench", "sim", "--out", str(tmp_path)]) == 2
    assert "PROCEDURE: expected a hil.run.procedure_api.ProcedureSpec" in capsys.readouterr().err


def install(package: Path, site: Path, scratch: Path) -> None:
    """Install the package into ``site`` with pip, offline: its wheel built by setuptools from its own
    pyproject.toml in the test's environment (no build isolation, no index), so the modules, the
    dist-info and its entry points are what an installer makes. Built from a copy: the build leaves
    ``build/`` and ``*.egg-info`` beside the sources."""
    source = scratch / package.name
    shutil.copytree(package, source)
    result = subprocess.run(
        [
            sys.executable, "-m", "pip", "install", "--quiet", "--no-index", "--no-deps",
            "--no-build-isolation", "--target", str(site), str(source),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    (dist_info,) = site.glob("hil_demo_procedures-0.1.0.dist-info")
    assert "spin-check = hil_demo_procedures.spin_check" in (dist_info / "entry_points.txt").read_text()


def hil(site: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), str(REPO)])}
    return subprocess.run(
        [sys.executable, "-m", "hil.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_an_installed_procedure_package_is_listed_with_its_origin_and_runs(tmp_path: Path) -> None:
    # setuptools builds wheels itself from 70.1 (before, it needed the separate wheel package, which
    # an offline machine may not have); the test extra asks for it.
    pytest.importorskip(
        "setuptools.command.bdist_wheel", reason="needs setuptools>=70.1 (pip install -e '.[test]')"
    )
    site = tmp_path / "site"
    site.mkdir()
    install(PACKAGE, site, tmp_path)
    listing = hil(site, "procedures", cwd=tmp_path)
    assert listing.returncode == 0, listing.stderr
    assert "spin-check: spin up to one speed" in listing.stdout
    assert "from: installed, hil-demo-procedures 0.1.0: hil_demo_procedures.spin_check" in listing.stdout
    assert "from: built-in, procedures.performance_curve" in listing.stdout
    assert "measures speed_error_rpm [-100, 100] rpm" in listing.stdout
    runs = tmp_path / "runs"
    run = hil(
        site, "run", "spin-check", "--bench", "sim", "--out", str(runs), "-p", "speed_rpm=12000", cwd=tmp_path
    )
    assert run.returncode == 0, run.stderr
    directory = only_run(runs)
    assert json.loads((directory / "metadata.json").read_text())["procedure"] == "spin-check"
    assert pd.read_csv(directory / "measurements.csv")["verdict"].tolist() == ["PASS"]
    too_fast = hil(
        site, "run", "spin-check", "--bench", "sim", "--out", str(runs), "-p", "speed_rpm=39000", cwd=tmp_path
    )
    assert (
        too_fast.returncode == 2 and "exceeds max_speed_rpm" in too_fast.stderr
    )  # refused before connecting


def test_replay_through_the_bench_reruns_exactly_the_procedure_file_that_ran(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The tutorial's file, copied: the run must keep what it ran, whatever happens to the file later.
    procedure = tmp_path / "my_run_in.py"
    shutil.copy(RUN_IN, procedure)
    runs = tmp_path / "runs"
    args = ["run", str(procedure), "--bench", "sim", "--out", str(runs), "--quiet", "-p", "duration_s=10"]
    assert main(args, out=io.StringIO()) == 0
    directory = only_run(runs)
    metadata = json.loads((directory / "metadata.json").read_text())
    kept = directory / "procedure.py"
    assert kept.read_bytes() == RUN_IN.read_bytes()
    digest = hashlib.sha256(RUN_IN.read_bytes()).hexdigest()
    assert metadata["procedure_file"] == {"copy": "procedure.py", "sha256": digest}
    procedure.write_text("raise SystemExit('edited after the run')\n")  # the original changes or goes
    out = io.StringIO()
    assert main(["replay", str(directory), "--through-bench", "--out", str(tmp_path / "bench")], out=out) == 0
    assert "identical to the recorded ones" in out.getvalue() or "within the wire formats'" in out.getvalue()
    replayed = only_run(tmp_path / "bench")
    assert json.loads((replayed / "metadata.json").read_text())["procedure"] == "run-in"
    assert (replayed / "procedure.py").read_bytes() == kept.read_bytes()  # a replay keeps it too
    original = pd.read_csv(directory / "measurements.csv")
    again = pd.read_csv(replayed / "measurements.csv")
    assert list(again["name"]) == list(original["name"]) and (again["verdict"] == original["verdict"]).all()

    # A copy edited after the run is refused, naming the file: it is not the code that ran.
    kept.write_text(kept.read_text().replace("high=80.0", "high=90.0"))
    assert main(["replay", str(directory), "--through-bench", "--out", str(tmp_path / "bench2")]) == 2
    err = capsys.readouterr().err
    assert f"{kept}: changed since the run" in err and "Traceback" not in err
    # A run of a file procedure that kept no copy (an older run) cannot be re-run, and says why.
    kept.unlink()
    del metadata["procedure_file"]
    (directory / "metadata.json").write_text(json.dumps(metadata))
    assert main(["replay", str(directory), "--through-bench", "--out", str(tmp_path / "bench3")]) == 2
    assert "keeps no copy of it" in capsys.readouterr().err
    assert not (tmp_path / "bench2").exists() and not (tmp_path / "bench3").exists()
    kept.write_bytes(RUN_IN.read_bytes())  # left as it ran, for the end-of-session replay of every run
    metadata["procedure_file"] = {"copy": "procedure.py", "sha256": digest}
    (directory / "metadata.json").write_text(json.dumps(metadata))


SPOT_CHECK = REPO / "examples" / "spot_check.py"


def test_grade_tolerance_measurements_are_judged_stored_replayed_and_streamed_to_the_console(
    tmp_path: Path,
) -> None:
    # The example's data-sheet values pass at grade 2B; a copy guaranteeing 0.50 L/s at grade 1U
    # (0 .. +10 %: nothing short of the guarantee) fails on the same pump's 0.43 L/s.
    strict = tmp_path / "strict_spot_check.py"
    text = SPOT_CHECK.read_text()
    assert 'grade="2B", quantity="flow", guarantee=0.00043' in text
    strict.write_text(
        text.replace(
            'grade="2B", quantity="flow", guarantee=0.00043', 'grade="1U", quantity="flow", guarantee=0.00050'
        )
    )
    out = io.StringIO()
    runs = tmp_path / "runs"
    assert main(["run", str(strict), "--bench", "sim", "--out", str(runs), "--quiet"], out=out) == 4
    directory = only_run(runs)
    measured = pd.read_csv(directory / "measurements.csv").set_index("name")
    assert measured.loc["flow_m3_s", "verdict"] == "FAIL"
    limits = (measured.loc["flow_m3_s", "low"], measured.loc["flow_m3_s", "high"])
    assert limits == pytest.approx((0.00050, 0.00055))
    assert measured.loc["flow_m3_s", "tolerance"].startswith("grade 1U flow tolerance around 0.0005 m3/s")
    assert measured.loc["head_m", "verdict"] == "PASS"  # 203.5 m within 203 m +-5 %
    assert (measured.loc["head_m", "low"], measured.loc["head_m", "high"]) == pytest.approx((192.85, 213.15))
    assert "grade 1U flow tolerance" in out.getvalue()  # the run's closing table names the grade
    assert main(["replay", str(directory)], out=io.StringIO()) == 0  # judged as recorded: replays exactly

    # The console's stream (here of the finished run's journal, as `hil console RUN_DIR` serves it)
    # carries every measurement with its limits and verdict.
    feed = JournalFeed(directory)
    server = ConsoleServer(feed, feed.bench.limits).start()
    try:
        with connect(server.url.replace("http://", "ws://") + "api/stream", open_timeout=120.0) as socket:
            frames: list[dict[str, Any]] = []
            while not frames or frames[-1]["status"] != "completed":
                frames.append(json.loads(socket.recv(timeout=120.0)))
    finally:
        server.close()
    shown = {m["name"]: m for m in frames[-1]["measurements"]}
    assert shown["flow_m3_s"]["verdict"] == "FAIL" and shown["head_m"]["verdict"] == "PASS"
    assert shown["flow_m3_s"]["low"] == pytest.approx(0.00050)
    assert shown["flow_m3_s"]["tolerance"] == measured.loc["flow_m3_s", "tolerance"]
    assert [e["name"] for f in frames for e in f["events"] if e["kind"] == "measurement"] == [
        "flow_m3_s",
        "head_m",
    ]
