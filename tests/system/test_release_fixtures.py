"""Run directories written by release 0.1.0 (``tests/fixtures/runs_v0_1_0``: a performance curve
judged at a guarantee point, an NPSH3 test, a run that tripped) still read, replay exactly and
report, through the command line. Each is copied first: replay and report write beside the run."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import pytest

from hil.cli import main
from hil.store.run_log import RunLog

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "runs_v0_1_0"


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


@pytest.fixture(params=["performance-curve-accepted", "npsh3", "performance-curve-tripped"])
def release_run(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    copy = tmp_path / str(request.param)
    shutil.copytree(FIXTURES / str(request.param), copy)
    return copy


def test_a_release_run_reads(release_run: Path) -> None:
    log = RunLog.open(release_run)
    assert log.metadata["software"]["hil"] == "0.1.0"
    assert len(log.samples) > 100 and "speed_rpm" in log.samples.columns  # npsh3: from Parquet only
    assert any(event["kind"] == "point" for event in log.events)
    assert not log.points().empty


def test_a_release_run_replays_exactly(release_run: Path) -> None:
    code, output = cli("replay", str(release_run))
    assert code != 1, output  # 1: a difference; 0, 4 or 5 tell the verdict
    assert "replay equals the recorded results exactly" in output
    assert "operating_points.csv" in output and "points_converted.csv" in output
    if release_run.name == "npsh3":
        assert "npsh3.csv" in output
    if release_run.name == "performance-curve-accepted":
        assert "acceptance.json" in output


def test_a_release_run_reports(release_run: Path) -> None:
    code, output = cli("report", str(release_run))
    assert code == 0, output
    html = (release_run / "report.html").read_text(encoding="utf-8")
    assert release_run.name in html and "<svg" in html
    if release_run.name == "npsh3":
        assert 'id="fig-NPSH3-Q"' in html
    if release_run.name == "performance-curve-accepted":
        assert (release_run / "verdicts.csv").exists()
