"""``hil replay``: every derived result recomputed from the raw log equals what the live run recorded;
a changed value is found and named; new settings re-judge a run beside its old results; a crashed
run replays from its journal; and the replay bench plays a log back through emulators and drivers.
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hil.cli import EXIT_INVALID, main
from hil.results.replay import replay_through_bench
from tests.system.test_performance_curve import SHORT_RUN

GUARANTEE = ["--guarantee", "0.00045,200,0.43", "--grade", "2B"]
DERIVED = ("operating_points.csv", "points_converted.csv", "acceptance.json")


def cli(*args: str) -> tuple[int, str]:
    out = io.StringIO()
    return main(list(args), out=out), out.getvalue()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A short performance-curve run with a guarantee point given on the command line."""
    parent = tmp_path_factory.mktemp("replay")
    code, output = cli(
        "run", "performance-curve", "--bench", "sim", "--out", str(parent), "--quiet", *SHORT_RUN, *GUARANTEE
    )
    # two speeds x three openings: too few points near Q_G for any grade, so the verdict is INVALID
    assert code == EXIT_INVALID and "RESULT: INVALID" in output
    return sorted(p for p in parent.iterdir() if p.is_dir())[-1]


@pytest.fixture()
def run_copy(recorded: Path, tmp_path: Path) -> Path:
    """A copy of the recorded run for a test to tamper with (the session's replay-every-run check
    leaves directories named ``tampered-*`` alone)."""
    copy = tmp_path / f"tampered-{recorded.name}"
    shutil.copytree(recorded, copy)
    return copy


def rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text())))


def test_replay_reproduces_every_derived_result_exactly(recorded: Path) -> None:
    before = {name: (recorded / name).read_bytes() for name in DERIVED}
    code, output = cli("replay", str(recorded))
    assert code == EXIT_INVALID, output  # equal; the exit status tells the (recorded) verdict
    assert "compared: operating_points.csv, points_converted.csv, acceptance.json, events.jsonl" in output
    assert "equals the recorded results exactly" in output
    assert {name: (recorded / name).read_bytes() for name in DERIVED} == before  # nothing rewritten
    assert not list(recorded.glob("replay-*"))


def test_replay_of_a_run_without_guarantee(tmp_path: Path) -> None:
    code, _ = cli("run", "performance-curve", "--bench", "sim", "--out", str(tmp_path), "--quiet", *SHORT_RUN)
    assert code == 0
    run_dir = sorted(p for p in tmp_path.iterdir() if p.is_dir())[-1]
    assert not (run_dir / "acceptance.json").exists() and (run_dir / "points_converted.csv").exists()
    assert cli("replay", str(run_dir))[0] == 0


def test_one_changed_float_is_found_and_named(run_copy: Path) -> None:
    path = run_copy / "operating_points.csv"
    table = rows(path)
    column = table[0].index("head_m")
    original = float(table[3][column])
    tampered = np.nextafter(original, np.inf)  # one unit in the last place
    table[3][column] = repr(float(tampered))
    with path.open("w", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(table)
    code, output = cli("replay", str(run_copy))
    assert code == 1
    assert (
        f"operating_points.csv: row 3, column head_m: recorded {float(tampered)!r}, recomputed {original!r}"
        in output
    )
    assert "1 difference(s)" in output


def test_a_changed_verdict_number_is_found_by_its_path(run_copy: Path) -> None:
    path = run_copy / "acceptance.json"
    document = json.loads(path.read_text())
    document["verdicts"][0]["measured"] += 0.5
    path.write_text(json.dumps(document))
    code, output = cli("replay", str(run_copy))
    assert code == 1
    assert "acceptance.json: row verdicts[0], column measured" in output


def test_a_changed_raw_sample_changes_the_recomputed_point(run_copy: Path) -> None:
    points = pd.read_csv(run_copy / "operating_points.csv")
    samples = pd.read_parquet(run_copy / "samples.parquet")
    start, end = points.loc[2, "window_start_s"], points.loc[2, "window_end_s"]
    inside = samples.index[(samples.time_s >= start) & (samples.time_s <= end)][3]
    samples.loc[inside, "p_outlet_pa"] += 1000.0
    samples.to_parquet(run_copy / "samples.parquet", index=False)
    code, output = cli("replay", str(run_copy))
    assert code == 1
    assert "operating_points.csv: row 3, column head_m" in output  # point 2 is the third data row
    assert "operating_points.csv: row 2," not in output and "operating_points.csv: row 4," not in output


def test_another_grade_rejudges_beside_the_old_results(run_copy: Path) -> None:
    before = {name: (run_copy / name).read_bytes() for name in DERIVED}
    code, output = cli("replay", str(run_copy), "--grade", "1B")
    assert code == EXIT_INVALID, output  # too few points near Q_G for grade 1: INVALID
    assert "grade 1B" in output
    (replay_dir,) = run_copy.glob("replay-*")
    new = json.loads((replay_dir / "acceptance.json").read_text())
    old = json.loads((run_copy / "acceptance.json").read_text())
    assert old["grade"]["name"] == "2B" and new["grade"]["name"] == "1B"
    # grade 1 needs at least 5 points near Q_G; a 6-point short run has fewer: now a violated condition
    assert any(v["condition"] == "points_near_guarantee" and v["limit"] == 5 for v in new["violations"])
    assert {name: (run_copy / name).read_bytes() for name in DERIVED} == before
    info = json.loads((replay_dir / "replay.json").read_text())
    assert info["changes"]["grade"] == "1B" and info["acceptance_settings"]["grade"] == "1B"
    # the operating points themselves did not change
    assert (replay_dir / "operating_points.csv").read_bytes() == (
        run_copy / "operating_points.csv"
    ).read_bytes()
    # and the re-judged results have a report of their own
    assert cli("report", str(replay_dir))[0] == 0
    html = (replay_dir / "report.html").read_text()
    assert "1B" in html and "re-judged by replay" in html


def test_another_guarantee_point_fails_where_the_pump_cannot_reach(run_copy: Path) -> None:
    code, output = cli("replay", str(run_copy), "--guarantee", "0.00045,260")
    # missed by far, but on a test with too few points near Q_G: INVALID, never a verdict it cannot prove
    assert code == EXIT_INVALID and "RESULT: INVALID" in output and "head H" in output and "FAIL" in output
    (replay_dir,) = run_copy.glob("replay-*")
    document = json.loads((replay_dir / "acceptance.json").read_text())
    assert document["guarantee"]["head_m"] == 260.0 and not document["guarantees_met"]


def test_tighter_steady_limits_rejudge_the_points(run_copy: Path) -> None:
    code, output = cli("replay", str(run_copy), "--steady", "flow_m3_s=0.00001,0.00001")
    assert code == EXIT_INVALID, output  # every point unsteady now: INVALID
    (replay_dir,) = run_copy.glob("replay-*")
    points = pd.read_csv(replay_dir / "operating_points.csv")
    assert not points["steady"].any()  # 1e-5 is far below the flow meter's noise
    assert pd.read_csv(run_copy / "operating_points.csv")["steady"].all()
    document = json.loads((replay_dir / "acceptance.json").read_text())
    assert sum(v["condition"] == "steady" for v in document["violations"]) == len(points)


def test_a_crashed_run_replays_from_its_journal(run_copy: Path, recorded: Path) -> None:
    # what a kill -9 leaves: no Parquet copy, no derived files, no checksums, status "running", cut-off
    # last lines
    for name in ("samples.parquet", *DERIVED):
        (run_copy / name).unlink()
    meta = json.loads((run_copy / "metadata.json").read_text())
    meta["status"] = "running"
    meta.pop("end_utc", None)
    meta.pop("checksums")  # recorded only at the close
    (run_copy / "metadata.json").write_text(json.dumps(meta))
    # the points are written as they are recorded: the first four, the fifth's row cut short
    points = (recorded / "operating_points.csv").read_text().splitlines(keepends=True)
    (run_copy / "operating_points.csv").write_text("".join(points[:5]) + points[5][:40])
    events = [json.loads(line) for line in (run_copy / "events.jsonl").read_text().splitlines()]
    point_events = [e for e in events if e["kind"] == "point"]
    cut_s = point_events[3]["time_s"] + 0.05  # the journal ends just after the fourth point
    journal = (run_copy / "samples.csv").read_text().splitlines(keepends=True)
    kept = [journal[0]] + [line for line in journal[1:] if float(line.split(",")[0]) <= cut_s]
    (run_copy / "samples.csv").write_text("".join(kept) + "12.3,4")  # a half-written line
    # the events file reached one point further than the samples (its buffer was flushed first)
    survived = [e for e in events if e["time_s"] <= cut_s] + [point_events[4]]
    (run_copy / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in survived) + '{"time_s": 9')

    code, output = cli("replay", str(run_copy))
    assert code == EXIT_INVALID, output  # an interrupted run is never PASS
    assert "RESULT: INVALID" in output
    assert "never closed" in output and "point 4" in output and "lost in the crash" in output
    (replay_dir,) = run_copy.glob("replay-*")
    replayed = (replay_dir / "operating_points.csv").read_text().splitlines()
    original = (recorded / "operating_points.csv").read_text().splitlines()
    assert replayed == original[:5]  # header and the four complete points, bit for bit


def test_replay_bench_plays_the_log_back_through_emulators_and_drivers(
    recorded: Path, tmp_path: Path
) -> None:
    """The logged values go out again through the emulators' wire formats (float32 Modbus registers,
    VESC fixed point, SCPI numbers, LabJack volts) and come back through the real drivers, runner and
    run store; the same procedure, deciding on the same values, must take the same points."""
    replay = replay_through_bench(recorded, tmp_path)
    assert replay.status == "completed" and replay.points_replayed == replay.points_original == 6
    original = pd.read_parquet(recorded / "samples.parquet")
    again = pd.read_parquet(replay.directory / "samples.parquet")
    assert list(again.columns) == list(original.columns) and len(again) == len(original)
    # digital wire formats re-encode a decoded value exactly
    exact = [
        c
        for c in original.columns
        if c not in ("valve_position_fraction", "fluid_temperature_c", "tank_pressure_pa")
    ]
    for column in exact:
        assert np.array_equal(original[column].to_numpy(), again[column].to_numpy(), equal_nan=True), column
    # analog inputs: SI -> volts -> float32 -> SI, within float32's resolution
    for column in ("valve_position_fraction", "fluid_temperature_c", "tank_pressure_pa"):
        assert np.allclose(original[column], again[column], rtol=1e-6, atol=0.0), column
    assert max(replay.max_relative_difference.values()) <= 1e-6
    # the replay-bench run is itself a run that replays exactly
    assert cli("replay", str(replay.directory))[0] == EXIT_INVALID  # equal; INVALID as recorded


def test_an_aborted_run_replays_exactly_and_reports_what_it_could_not_judge(tmp_path: Path) -> None:
    # the power meter stops answering at 12 s: a stale-data trip after the first point
    code, output = cli(
        "run",
        "performance-curve",
        "--bench",
        "sim",
        "--out",
        str(tmp_path),
        "--quiet",
        *SHORT_RUN,
        *GUARANTEE,
        "--fault",
        "silence:power@12",
    )
    assert code == 3 and "cannot judge" in output
    run_dir = sorted(p for p in tmp_path.iterdir() if p.is_dir())[-1]
    assert json.loads((run_dir / "metadata.json").read_text())["status"] == "aborted"
    code, output = cli("replay", str(run_dir))
    assert code == 5, output  # replays exactly; the verdict of an aborted run is INVALID
    assert "replay equals the recorded results exactly" in output and "RESULT: INVALID" in output
    assert cli("report", str(run_dir))[0] == 0
    assert "INVALID" in (run_dir / "report.html").read_text()
