"""Smoke test: the analysis benchmark runs end to end on a short log and finds every point."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_analysis.py"


def test_benchmark_runs_on_a_short_log(capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("bench_analysis", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.main(["--duration-s", "320", "--repeats", "1"])
    out = capsys.readouterr().out
    assert "operating points found: 16" in out  # 16 setpoints, each held 20 s
    assert "(a) read only" in out and "(b) read + full analysis" in out and "ratio" in out
