"""Verdicts a witness can sign: a tripped or interrupted run is never judged PASS, on the console,
in ``acceptance.json`` and in the report; FAIL and INVALID have their own exit statuses; guarantees
accept units; output paths are checked before anything moves. Through the command line."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest

from hil.cli import EXIT_ABORTED, EXIT_INVALID, EXIT_USAGE, main
from hil.results.acceptance_settings import parse_guarantee_text
from tests.system.test_acceptance import ACCEPTANCE_RUN, SIM_PUMP


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


@pytest.fixture(scope="module")
def tripped(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """A run judged at the sim pump's guarantee that trips on a drive fault late in the curve."""
    parent = tmp_path_factory.mktemp("tripped")
    code, output = cli(
        "run", "performance-curve", "--bench", "sim", "--out", str(parent), "--quiet", "--pump", SIM_PUMP,
        *ACCEPTANCE_RUN, "--fault", "controller-fault@70",
    )  # fmt: skip
    return code, output, sorted(p for p in parent.iterdir() if p.is_dir())[-1]


def test_a_tripped_run_is_invalid_never_pass(tripped: tuple[int, str, Path]) -> None:
    code, output, run_dir = tripped
    assert code == EXIT_ABORTED, output
    assert "RESULT: INVALID" in output and "RESULT: PASS" not in output
    assert "the run did not complete: status aborted" in output
    document = json.loads((run_dir / "acceptance.json").read_text())
    assert document["verdict"] == "INVALID" and document["passed"] is False
    assert document["run_status"] == "aborted"
    assert cli("report", str(run_dir))[0] == 0
    html = (run_dir / "report.html").read_text()
    assert "INVALID" in html and "PASS</" not in html


def test_an_interrupted_run_is_invalid_never_pass(tripped: tuple[int, str, Path], tmp_path: Path) -> None:
    # What a kill -9 leaves: metadata still "running", the CSV journal, no Parquet, no results.
    _, _, run_dir = tripped
    copy = tmp_path / f"tampered-{run_dir.name}"
    shutil.copytree(run_dir, copy)
    metadata = json.loads((copy / "metadata.json").read_text())
    metadata["status"] = "running"
    metadata.pop("checksums")  # recorded only at the close
    (copy / "metadata.json").write_text(json.dumps(metadata))
    for name in ("samples.parquet", "acceptance.json", "points_converted.csv"):
        (copy / name).unlink()
    code, output = cli("replay", str(copy))
    assert code == EXIT_INVALID, output
    assert "RESULT: INVALID" in output and "status interrupted" in output
    (written,) = [p for p in copy.iterdir() if p.name.startswith("replay-")]
    assert json.loads((written / "acceptance.json").read_text())["verdict"] == "INVALID"
    assert cli("report", str(copy))[0] == 0
    assert "interrupted" in (copy / "report.html").read_text()


def test_a_guarantee_with_units_is_judged_in_si_on_replay(
    tripped: tuple[int, str, Path], tmp_path: Path
) -> None:
    # The unit hint itself is asserted on a healthy run (tests/system/test_acceptance.py): here the
    # run is tripped, so its verdict is INVALID before any guarantee is looked at.
    _, _, run_dir = tripped
    second = tmp_path / f"tampered-units-{run_dir.name}"
    shutil.copytree(run_dir, second)
    code, output = cli("replay", str(second), "--guarantee", "0.45 L/s, 200 m, 43 %")
    assert code == EXIT_INVALID, output
    document = json.loads(next(second.glob("replay-*/acceptance.json")).read_text())
    assert document["guarantee"]["flow_m3_s"] == pytest.approx(0.00045, rel=1e-12)
    assert document["guarantee"]["efficiency"] == pytest.approx(0.43, rel=1e-12)


def test_guarantee_units_are_parsed_into_si() -> None:
    g = parse_guarantee_text("0.45 L/s, 200 m, 45 %")
    assert (g.flow_m3_s, g.head_m, g.efficiency) == pytest.approx((0.00045, 200.0, 0.45))
    g = parse_guarantee_text("7.1 gallon/minute, 656 ft, 2.1 kW")  # 7.1 US gpm = 0.44793 L/s
    assert g.flow_m3_s == pytest.approx(7.1 * 3.785411784e-3 / 60.0)
    assert g.head_m == pytest.approx(656 * 0.3048) and g.power_w == pytest.approx(2100.0)
    assert parse_guarantee_text("0.00045,200,0.43").flow_m3_s == 0.00045  # bare numbers: SI
    for bad in ("0.45 L/s, 200 kg", "0.45 m, 200 m", "0.45 L/s, 200 m, 143 %"):
        with pytest.raises(Exception, match="--guarantee"):
            parse_guarantee_text(bad)


def test_an_unwritable_output_is_refused_before_anything_moves(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    code, _ = cli(
        "run", "performance-curve", "--bench", "sim", "--out", str(out), "--quiet",
        "--json", str(tmp_path / "no-such-dir" / "result.json"),
    )  # fmt: skip
    assert code == EXIT_USAGE
    assert not out.exists()  # nothing was started
    code, _ = cli("report", str(tmp_path), "--out", str(tmp_path / "missing" / "r.html"))
    assert code == EXIT_USAGE
