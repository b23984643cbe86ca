"""The run catalogue: what it holds is read independently from the run files; rebuilt equals
incremental; two writer processes at once leave it consistent; queries cannot write."""

from __future__ import annotations

import csv
import hashlib
import json
import multiprocessing
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from hil.core.errors import ConfigError
from hil.fleet import catalogue
from hil.fleet.catalogue import RunFilter

FIXTURES = Path(__file__).parents[1] / "fixtures" / "runs_v0_1_0"


@pytest.fixture
def runs(tmp_path: Path) -> Path:
    """The release-0.1.0 runs, one nested as in a campaign, with a replay directory inside one."""
    root = tmp_path / "runs"
    shutil.copytree(FIXTURES / "performance-curve-accepted", root / "20260101T000000_accepted")
    shutil.copytree(FIXTURES / "performance-curve-tripped", root / "20260102T000000_tripped")
    campaign = root / "spread"
    shutil.copytree(FIXTURES / "npsh3", campaign / "npsh3-s1-abc" / "20260103T000000_npsh3")
    (campaign / "campaign.json").write_text("{}")
    replay = root / "20260101T000000_accepted" / "replay-20260105T000000"
    replay.mkdir()
    (replay / "metadata.json").write_text("{}")
    return root


def test_what_the_catalogue_holds_comes_from_the_files(runs: Path) -> None:
    outcome = catalogue.rebuild(runs)
    assert outcome.indexed == 3 and not outcome.unreadable  # the replay directory is not a run
    accepted = catalogue.show_run(runs, "20260101T000000_accepted")
    directory = runs / "20260101T000000_accepted"
    metadata = json.loads((directory / "metadata.json").read_text())
    assert accepted["pump_serial"] == metadata["acceptance_settings"]["pump"]["serial"] == "SIM-0001"
    document = json.loads((directory / "acceptance.json").read_text())
    # release 0.1.0 stated no overall verdict: guarantees met but a test condition violated is INVALID
    assert document["passed"] is False and document["guarantees_met"] is True and document["violations"]
    assert accepted["verdict"] == "INVALID"
    assert accepted["grade"] == "2B" and accepted["campaign"] is None
    files = json.loads(accepted["files"])
    assert (
        files["samples.parquet"] == hashlib.sha256((directory / "samples.parquet").read_bytes()).hexdigest()
    )
    assert set(files) == {p.name for p in directory.iterdir() if p.is_file()}
    # best point: the converted point of highest overall efficiency, read here with the csv module
    with open(directory / "points_converted.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    best = max(rows, key=lambda r: float(r["converted_overall_efficiency"]))
    assert accepted["quantities"]["bep_head_m"] == float(best["converted_head_m"])
    assert accepted["quantities"]["bep_flow_m3_s"] == float(best["converted_flow_m3_s"])
    head = next(v for v in document["verdicts"] if v["quantity"] == "head")
    assert accepted["quantities"]["guarantee_head_m"] == head["measured"]
    assert accepted["points"] == len(rows)

    tripped = catalogue.show_run(runs, "tripped")
    assert tripped["status"] == "aborted" and tripped["trips"] == 1
    assert "drive reports a fault" in tripped["trip_reason"]

    npsh3 = catalogue.show_run(runs, "npsh3")
    assert npsh3["campaign"] == "spread"
    with open(runs / npsh3["path"] / "npsh3.csv", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert npsh3["npsh3"][0]["npsh3_m"] == float(row["npsh3_m"])
    assert npsh3["quantities"][f"npsh3_m@{float(row['flow_target_m3_s'])!r}"] == float(row["npsh3_m"])


def test_rebuilt_from_the_directories_equals_built_run_by_run(runs: Path) -> None:
    for run_dir in reversed(catalogue.find_run_directories(runs)):
        catalogue.add_run(runs, run_dir)
    catalogue.add_run(runs, catalogue.find_run_directories(runs)[0])  # added twice: still one row
    incremental = catalogue.dump(runs)
    assert len(incremental["runs"]) == 3
    catalogue.catalogue_path(runs).unlink()
    for suffix in ("-wal", "-shm"):
        Path(str(catalogue.catalogue_path(runs)) + suffix).unlink(missing_ok=True)
    catalogue.rebuild(runs)
    assert catalogue.dump(runs) == incremental


def test_a_run_without_its_bench_file_is_catalogued_all_the_same(runs: Path) -> None:
    """The catalogue reads runs through the run-directory reader, which parses the bench file only
    when asked for the geometry: without ``bench.toml`` a run is catalogued with the same entry."""
    original = runs / "20260101T000000_accepted"
    copy = runs / "tampered-no-bench"  # named so the session's replay check leaves it out
    shutil.copytree(original, copy, ignore=shutil.ignore_patterns("bench.toml", "replay-*"))
    catalogue.rebuild(runs)
    before, after = catalogue.show_run(runs, original.name), catalogue.show_run(runs, copy.name)
    assert set(json.loads(before["files"])) - set(json.loads(after["files"])) == {"bench.toml"}
    for entry in (before, after):
        del entry["files"], entry["path"]
    assert after == before and after["points"] > 0 and after["verdict"] == "INVALID"


def test_filters_trend_and_errors(runs: Path) -> None:
    catalogue.rebuild(runs)
    assert [r["path"] for r in catalogue.list_runs(runs, RunFilter(status="aborted"))] == [
        "20260102T000000_tripped"
    ]
    assert len(catalogue.list_runs(runs, RunFilter(pump_serial="SIM-0001"))) == 1
    assert len(catalogue.list_runs(runs, RunFilter(procedure="performance-curve"))) == 2
    assert len(catalogue.list_runs(runs, RunFilter(campaign="spread"))) == 1
    # the fixtures all started on 2026-11-29: a date range includes or excludes them whole
    assert len(catalogue.list_runs(runs, RunFilter(since_utc="2026-11-29", until_utc="2026-11-29"))) == 3
    assert catalogue.list_runs(runs, RunFilter(until_utc="2026-11-28")) == []
    trend = catalogue.trend(runs, "bep_head_m")
    assert [t["start_utc"] for t in trend] == sorted(t["start_utc"] for t in trend)
    assert len(trend) == 3
    with pytest.raises(ConfigError, match="known: bep_"):
        catalogue.trend(runs, "head_at_nowhere_m")
    with pytest.raises(ConfigError, match="names 2 runs"):
        catalogue.show_run(runs, "ed")  # _accepted, _tripped
    with pytest.raises(ConfigError, match="no run"):
        catalogue.show_run(runs, "nothing-like-it")


def test_queries_are_read_only(runs: Path) -> None:
    catalogue.rebuild(runs)
    columns, rows = catalogue.query(runs, "SELECT procedure, count(*) FROM runs GROUP BY procedure")
    assert columns == ["procedure", "count(*)"] and sorted(rows) == [("npsh3", 1), ("performance-curve", 2)]
    with pytest.raises(ConfigError, match="readonly"):
        catalogue.query(runs, "DELETE FROM runs")
    assert len(catalogue.list_runs(runs)) == 3


def test_a_catalogue_that_is_not_one_is_named(tmp_path: Path) -> None:
    (tmp_path / catalogue.CATALOGUE).write_bytes(b"this is not a database, it is text" * 100)
    with pytest.raises(catalogue.CatalogueError, match="hil runs index"):
        catalogue.list_runs(tmp_path)
    with pytest.raises(ConfigError, match="no catalogue here"):
        catalogue.list_runs(tmp_path / "empty")


# --------------------------------------------------------------------------- two writers at once


def _small_run(directory: Path, number: int) -> None:
    directory.mkdir(parents=True)
    metadata = {
        "procedure": "performance-curve",
        "status": "completed",
        "reason": "",
        "start_utc": f"2026-01-01T00:{number // 60:02d}:{number % 60:02d}+00:00",
        "seed": number,
    }
    (directory / "metadata.json").write_text(json.dumps(metadata))
    (directory / "events.jsonl").write_text(
        json.dumps({"time_s": 1.0, "kind": "trip", "reason": f"r{number}"}) + "\n"
    )


def _writer(runs: str, directories: list[str], start: Any) -> None:
    start.wait()
    for directory in directories:
        catalogue.add_run(Path(runs), Path(directory))


def test_two_processes_writing_at_once_leave_it_consistent(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    directories = [runs / f"run-{n:03d}" for n in range(80)]
    for number, directory in enumerate(directories):
        _small_run(directory, number)
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    # both write every run (each row is rewritten by the other process too), in opposite orders
    paths = [str(d) for d in directories]
    writers = [
        context.Process(target=_writer, args=(str(runs), paths, start)),
        context.Process(target=_writer, args=(str(runs), paths[::-1], start)),
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=300)
    assert [p.exitcode for p in writers] == [0, 0]
    connection = sqlite3.connect(catalogue.catalogue_path(runs))
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        connection.close()
    written = catalogue.dump(runs)
    assert len(written["runs"]) == 80
    catalogue.rebuild(runs)
    assert catalogue.dump(runs) == written
