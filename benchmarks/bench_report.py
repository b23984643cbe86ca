"""Benchmark: what ``hil report`` costs against merely reading the run it reports on.

Run: ``.venv/bin/python benchmarks/bench_report.py [--repeats N] [--long]``

Makes one run on the virtual bench in a temporary directory (by default the test suite's short
performance curve: one speed, three valve openings, 3 s dwell, judged at a guarantee point, 19 s of
bench time and 190 samples; ``--long`` the default performance curve, 1,144 bench s and 11,440
samples), then times, in this process and interleaved (one of each per repeat, after one warm-up of
each):

  (a) the baseline: reading the run's files plainly (samples, operating points and converted points
      with pandas, the events line by line with :mod:`json`, metadata and acceptance documents), and
  (b) ``hil report RUN --out FILE`` through :func:`hil.cli.main`, as the console script runs it.

It prints the median, lowest and highest of each (wall time through :class:`hil.core.clock.WallClock`,
and the process's CPU time beside it), and the median and quartiles of the ratio (b)/(a) of each
pair: absolute times on a shared machine move 2-4x within an hour, the ratio much less. To compare
two versions of the code, run this on each in turn (``PYTHONPATH=OTHER_TREE``), alternating.

Imports pandas and hil (clock, CLI) only.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from hil.cli import main as hil_main
from hil.core.clock import WallClock

CLOCK = WallClock()
SHORT_RUN = (
    "-p",
    "speeds_fraction=0.6",
    "-p",
    "valve_openings=0.4,0.7,1.0",
    "-p",
    "dwell_s=3",
    "-p",
    "steady_window_s=1",
    "--guarantee",
    "0.0003,80",
    "--grade",
    "2B",
)
LONG_RUN = ("--guarantee", "0.0003,200", "--grade", "2B")


def make_run(out: Path, long: bool) -> Path:
    """One completed run on the virtual bench; its directory."""
    arguments = ["run", "performance-curve", "--bench", "sim", "--out", str(out), "--quiet"]
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        hil_main([*arguments, *(LONG_RUN if long else SHORT_RUN)])
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def read_plainly(run_dir: Path) -> int:
    """The baseline: every file the report draws on, read with no analysis; rows read."""
    samples = (
        pd.read_parquet(run_dir / "samples.parquet")
        if (run_dir / "samples.parquet").exists()
        else pd.read_csv(run_dir / "samples.csv")
    )
    points = pd.read_csv(run_dir / "operating_points.csv")
    converted = pd.read_csv(run_dir / "points_converted.csv")
    with (run_dir / "events.jsonl").open(encoding="utf-8") as lines:
        events = [json.loads(line) for line in lines if line.strip()]
    documents = [json.loads((run_dir / name).read_text()) for name in ("metadata.json", "acceptance.json")]
    return len(samples) + len(points) + len(converted) + len(events) + len(documents)


def report(run_dir: Path, out: Path) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        code = hil_main(["report", str(run_dir), "--out", str(out)])
    if code not in (0, None):
        raise RuntimeError(f"hil report exited {code}")


def timed(action: Callable[[], object]) -> tuple[float, float]:
    """Wall and CPU seconds of one call."""
    wall, cpu = CLOCK.now_s(), time.process_time()
    action()
    return CLOCK.now_s() - wall, time.process_time() - cpu


def spread(values: list[float], unit: float = 1e3, suffix: str = " ms") -> str:
    return (
        f"median {statistics.median(values) * unit:7.1f}{suffix} "
        f"({min(values) * unit:.1f}-{max(values) * unit:.1f})"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeats", type=int, default=7, help="interleaved pairs after a warm-up (default 7)"
    )
    parser.add_argument("--long", action="store_true", help="report on the default performance curve")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        run_dir = make_run(Path(scratch) / "runs", args.long)
        out = Path(scratch) / "report" / "report.html"
        out.parent.mkdir()
        rows = read_plainly(run_dir)
        report(run_dir, out)  # warm-up: matplotlib's import and font cache, pandas' readers
        reads: list[tuple[float, float]] = []
        reports: list[tuple[float, float]] = []
        for _ in range(args.repeats):
            reads.append(timed(lambda: read_plainly(run_dir)))
            reports.append(timed(lambda: report(run_dir, out)))
        size = out.stat().st_size
    ratios = [r[0] / b[0] for b, r in zip(reads, reports)]
    cpu_ratios = [r[1] / b[1] for b, r in zip(reads, reports) if b[1] > 0]
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
    print(f"run: {run_dir.name}, {rows} rows read by the baseline; report {size / 1e3:.0f} kB")
    for name, pairs in (("read the run's files (baseline)", reads), ("hil report", reports)):
        wall, cpu = [p[0] for p in pairs], [p[1] for p in pairs]
        print(f"{name + ':':33s}wall {spread(wall)}, CPU {spread(cpu)}")
    print(
        f"report / read: median {statistics.median(ratios):.1f}x (quartiles {quartiles[0]:.1f}-{quartiles[2]:.1f}x, "
        f"pairs {min(ratios):.1f}-{max(ratios):.1f}x); CPU median {statistics.median(cpu_ratios):.1f}x "
        f"over {args.repeats} pairs"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
