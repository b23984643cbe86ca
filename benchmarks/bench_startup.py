"""Start-up: how long ``hil procedures`` takes, and how long ``hil run`` takes to reach its first tick.

Run: ``.venv/bin/python benchmarks/bench_startup.py [--repeats N]``

Each is a fresh process, timed with the clock from launch; interleaved with the baseline, a fresh
interpreter that imports numpy and exits (every ``hil`` command needs at least that), so that the
ratio carries from machine to machine and from a quiet hour to a busy one. ``hil run`` reaches its
first tick right after it prints the first point's line on stderr (``point 1/N: ...``): the bench is
connected and the procedure starts moving it; the benchmark stops the run there.

Heavy imports are deferred to where they are used so that these stay short: scipy.stats (the
Student-t quantile comes from scipy.special), pandas (imported where a run directory is read),
CoolProp (the virtual plant uses IAPWS-IF97; CoolProp loads at the first operating point),
matplotlib (the report).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile

from hil.core.clock import WallClock

CLOCK = WallClock()


def timed(command: list[str]) -> float:
    start = CLOCK.now_s()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return CLOCK.now_s() - start


def time_to_first_tick(out_dir: str) -> float:
    start = CLOCK.now_s()
    process = subprocess.Popen(
        [sys.executable, "-m", "hil.cli", "run", "performance-curve", "--bench", "sim", "--out", out_dir],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("point 1/"):
                return CLOCK.now_s() - start
        raise RuntimeError("hil run ended without starting its first point")
    finally:
        process.terminate()
        process.communicate(timeout=30)


def summary(values: list[float]) -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):6.3f} s (min {ordered[0]:.3f}, max {ordered[-1]:.3f})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    baseline: list[float] = []
    procedures: list[float] = []
    first_tick: list[float] = []
    with tempfile.TemporaryDirectory() as out_dir:
        for _ in range(args.repeats):
            baseline.append(timed([sys.executable, "-c", "import numpy"]))
            procedures.append(timed([sys.executable, "-m", "hil.cli", "procedures"]))
            first_tick.append(time_to_first_tick(out_dir))
    base = statistics.median(baseline)
    print(f"python -c 'import numpy' (baseline): {summary(baseline)}")
    print(
        f"hil procedures:                      {summary(procedures)}  "
        f"= {statistics.median(procedures) / base:.2f}x the baseline"
    )
    print(
        f"hil run: first tick after            {summary(first_tick)}  "
        f"= {statistics.median(first_tick) / base:.2f}x the baseline"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
