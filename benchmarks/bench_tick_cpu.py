"""CPU time per tick of the default performance curve, run in-process as ``hil run`` runs it.

Run: ``.venv/bin/python benchmarks/bench_tick_cpu.py [--runs N] [--quick] [--keep DIR]``

The whole process's CPU time (:func:`time.process_time`: every thread, system calls included) over
one run, divided by its ticks, after one warm-up run. CPU time moves far less with the machine's
load than wall time does, so two versions of the code can be compared by running this on each in
turn (``PYTHONPATH=OTHER_TREE``), alternating, and comparing the best runs. ``--keep DIR`` copies the
last run's samples, events and points there, to check that two versions log the same bytes.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from hil.bench.config import load_bench
from hil.run.procedure_catalogue import load as load_procedure
from hil.run.session import run_procedure

QUICK = {"speeds_fraction": "1.0", "valve_openings": "0.3,1.0", "dwell_s": "10"}
KEPT = ("samples.csv", "events.jsonl", "operating_points.csv")


def one_run(parameters: dict[str, str], keep: Path | None) -> tuple[int, float, float]:
    """Ticks, CPU seconds a tick and the speed-up (bench s per wall s) of one performance curve."""
    spec, _ = load_procedure("performance-curve")
    values = spec.resolve(parameters)
    bench = load_bench("sim")
    with tempfile.TemporaryDirectory() as scratch:
        cpu, wall = time.process_time(), time.perf_counter()
        result = run_procedure(spec, bench, values, Path(scratch))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        ticks = (result.directory / "samples.csv").read_bytes().count(b"\n") - 1
        bench_s = ticks * bench.tick_s
        if keep is not None:
            keep.mkdir(parents=True, exist_ok=True)
            for name in KEPT:
                shutil.copy(result.directory / name, keep / name)
    return ticks, cpu / ticks, bench_s / wall


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="measured runs after one warm-up (default 3)")
    parser.add_argument("--quick", action="store_true", help="a short curve (two points) instead")
    parser.add_argument("--keep", type=Path, help="copy the last run's journal files here")
    args = parser.parse_args(argv)
    parameters = QUICK if args.quick else {}
    one_run(parameters, None)
    per_tick_us, speeds = [], []
    for run in range(args.runs):
        ticks, cpu_s, speed = one_run(parameters, args.keep if run == args.runs - 1 else None)
        per_tick_us.append(cpu_s * 1e6)
        speeds.append(speed)
        print(
            f"  run {run + 1}: {ticks} ticks, {per_tick_us[-1]:.1f} us CPU a tick, {speeds[-1]:.0f}x real time"
        )
    print(
        f"CPU a tick: best {min(per_tick_us):.1f} us, median {statistics.median(per_tick_us):.1f} us; "
        f"speed-up: best {max(speeds):.0f}x, median {statistics.median(speeds):.0f}x"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
