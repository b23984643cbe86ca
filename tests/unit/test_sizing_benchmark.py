"""Smoke test: the sizing benchmark runs and reports both timings."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_sizing.py"


def test_benchmark_reports_optimisation_and_sweep_times(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_sizing", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["--repeats", "1", "--points", "200"]) == 0
    out = capsys.readouterr().out
    assert "(a) one optimisation:" in out and "feasible True" in out
    assert "(b) 200-point sweep:" in out
