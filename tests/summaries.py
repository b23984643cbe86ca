"""End-of-session summaries the tests report: the fault matrix, the kill test, the corruption matrix and
the replay of every run directory, printed in pytest's terminal summary (and the matrices written as
JSON in pytest's base temporary directory).

A test records what it found with :func:`record` as it runs; nothing is printed until the session ends.
That way the summaries come out whole whether the suite runs in one process or spread over pytest-xdist
workers: a worker's records travel to the controller in ``config.workeroutput`` when it finishes
(``pytest_testnodedown`` in ``tests/conftest.py``), and the controller, which runs no test, prints the
merged totals.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RECORDS = pytest.StashKey[list[dict[str, Any]]]()
WORKER_OUTPUT = "hil_summaries"


def _records(config: pytest.Config) -> list[dict[str, Any]]:
    return config.stash.setdefault(RECORDS, [])


def record(config: pytest.Config, summary: str, **fields: Any) -> None:
    """Note one finding of ``summary`` (JSON-serialisable fields) for the end of the session."""
    entry = {"summary": summary, **fields}
    worker_output = getattr(config, "workeroutput", None)  # set on an xdist worker only
    if worker_output is not None:
        worker_output.setdefault(WORKER_OUTPUT, []).append(entry)
    else:
        _records(config).append(entry)


def receive_from_worker(config: pytest.Config, worker_output: dict[str, Any]) -> None:
    """On the controller: take over what one finished worker recorded."""
    _records(config).extend(worker_output.get(WORKER_OUTPUT, []))


def _write_json(base: Path, name: str, content: dict[str, Any]) -> Path:
    path = base / name
    path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
    return path


def _fault_matrix(cases: list[dict[str, Any]], base: Path) -> str:
    cases = sorted(cases, key=lambda case: case["fault"])
    safe = sum(1 for case in cases if case["ends_safe"])
    wall_s = round(sum(case.pop("wall_s") for case in cases), 1)
    path = _write_json(
        base,
        "fault_matrix.json",
        {"cases_run": len(cases), "cases_ending_safe": safe, "wall_s": wall_s, "cases": cases},
    )
    return f"fault matrix: cases run {len(cases)}, ending safe {safe} ({wall_s} s of runs; {path})"


def _kill_test(summaries: list[dict[str, Any]], base: Path) -> str:
    (summary,) = summaries  # one test makes every kill
    _write_json(base, "kill_test.json", summary)
    return (
        f"kill test: {summary['runs']} runs killed, all interrupted and replayable; most lost: "
        f"{summary['most_rows_lost']} row(s) = {summary['most_bench_s_lost']:.1f} s of bench time (the tick "
        f"in progress), produced in the last {summary['most_wall_s_lost'] * 1000:.1f} ms of wall time"
    )


def _corruption_matrix(cases: list[dict[str, Any]], base: Path) -> str:
    corruptions = len({case["corruption"] for case in cases})
    commands = len({case["command"] for case in cases})
    clean = sum(1 for case in cases if case["clean"])
    return (
        f"corruption matrix: {corruptions} corruptions x {commands} commands = {len(cases)} cases, "
        f"{clean} ended clean (documented exit, one message naming the file, no traceback, directory "
        "unchanged)"
    )


def _replay(counts: list[dict[str, Any]], base: Path) -> str:
    runs = sum(count["runs"] for count in counts)
    return f"replay: all {runs} run directories made by the tests replay exactly"


FORMATS: dict[str, Callable[[list[dict[str, Any]], Path], str]] = {
    "fault matrix": _fault_matrix,
    "kill test": _kill_test,
    "corruption matrix": _corruption_matrix,
    "replay": _replay,
}
"""Each summary's lines, in the order printed, from its records (with the summary name removed)."""


def lines(config: pytest.Config, base: Path) -> list[str]:
    """The summary lines of everything recorded this session, JSON files written under ``base``."""
    records = _records(config)
    out = []
    for name, format_summary in FORMATS.items():
        mine = [
            {k: v for k, v in entry.items() if k != "summary"}
            for entry in records
            if entry["summary"] == name
        ]
        if mine:
            out.append(format_summary(mine, base))
    return out
