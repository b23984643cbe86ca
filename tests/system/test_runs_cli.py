"""``hil run`` catalogues each run as it closes; ``hil runs`` reads the catalogue; ``hil replay --all``
re-derives a whole runs directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from hil.cli import main
from hil.fleet import catalogue

FIXTURES = Path(__file__).parents[1] / "fixtures" / "runs_v0_1_0"
SHORT = [
    "-p",
    "speeds_fraction=1.0",
    "-p",
    "valve_openings=0.3,0.6,1.0",
    "-p",
    "dwell_s=2",
    "-p",
    "steady_window_s=1",
]


def test_hil_run_adds_each_run_to_the_catalogue_of_its_out_directory(tmp_path: Path) -> None:
    out = tmp_path / "runs"
    for seed in (1, 2):
        code = main(
            [
                "run",
                "performance-curve",
                "--bench",
                "sim",
                "--seed",
                str(seed),
                "--out",
                str(out),
                "--quiet",
                *SHORT,
            ]
        )
        assert code == 0
    rows = catalogue.list_runs(out)
    assert [r["seed"] for r in rows] == [1, 2]
    assert all(r["status"] == "completed" and r["points"] == 3 for r in rows)
    incremental = catalogue.dump(out)
    catalogue.rebuild(out)
    assert catalogue.dump(out) == incremental


def test_runs_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    runs = tmp_path / "runs"
    for name in ("performance-curve-accepted", "performance-curve-tripped", "npsh3"):
        shutil.copytree(FIXTURES / name, runs / name)
    assert main(["runs", "index", str(runs)]) == 0
    assert "indexed 3 runs" in capsys.readouterr().out

    assert main(["runs", "list", str(runs), "--status", "aborted", "--json", str(tmp_path / "l.json")]) == 0
    out = capsys.readouterr().out
    assert "performance-curve-tripped" in out and "accepted" not in out and "1 runs" in out
    assert [r["path"] for r in json.loads((tmp_path / "l.json").read_text())] == ["performance-curve-tripped"]

    assert main(["runs", "show", "npsh3", str(runs)]) == 0
    assert "NPSH3 at 0.4 L/s: 2.7158" in capsys.readouterr().out

    assert main(["runs", "query", "SELECT path FROM runs WHERE verdict IS NOT NULL", str(runs)]) == 0
    assert "performance-curve-accepted" in capsys.readouterr().out

    plot = tmp_path / "trend.png"
    assert main(["runs", "trend", "bep_head_m", str(runs), "--plot", str(plot)]) == 0
    assert plot.read_bytes().startswith(b"\x89PNG")
    out = capsys.readouterr().out
    assert out.count("20") >= 3

    # bad input: one clear line, status 2
    assert main(["runs", "trend", "no_such_quantity", str(runs)]) == 2
    assert "known: bep_" in capsys.readouterr().err
    assert main(["runs", "list", str(tmp_path / "nowhere")]) == 2


def test_replay_all_compares_or_rejudges_a_whole_directory(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    runs = tmp_path / "runs"
    for name in ("performance-curve-accepted", "npsh3"):
        shutil.copytree(FIXTURES / name, runs / name)
    assert main(["replay", "--all", str(runs), "--workers", "0", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("equal") == 2 and "2 runs replayed, 0 failed or differ" in out

    # re-judged under another grade: a replay directory in the run with a guarantee; the NPSH3 run
    # has none to judge, which is named, and fails the command
    assert main(["replay", "--all", str(runs), "--grade", "3B", "--workers", "0", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "a grade needs a guarantee point" in out and "1 failed or differ" in out
    assert len(list((runs / "performance-curve-accepted").glob("replay-*"))) == 1
    assert main(["replay", "--all", str(runs), str(runs)]) == 2
    assert "give one run directory, or --all DIR" in capsys.readouterr().err
