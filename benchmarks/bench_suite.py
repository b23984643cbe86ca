"""The test suite's wall time, and where it goes.

Run: ``.venv/bin/python benchmarks/bench_suite.py [PYTEST_ARGS ...]``

Runs the whole suite (or what the arguments select) in a fresh process, as CI does, and prints its
wall time, the fifteen slowest tests (pytest's ``--durations``) and the time a bare interpreter
takes to start and import numpy, measured just before, as a yardstick of the machine's load at that
moment: the shared development machine's speed drifts 2-4x within an hour.
"""

from __future__ import annotations

import subprocess
import sys

from hil.core.clock import WallClock


def main(argv: list[str]) -> int:
    clock = WallClock()
    start = clock.now_s()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    yardstick_s = clock.now_s() - start
    start = clock.now_s()
    completed = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--durations=15", *argv],
        stdout=subprocess.PIPE,
        text=True,
    )
    wall_s = clock.now_s() - start
    lines = completed.stdout.splitlines()
    slowest = [line for line in lines if line.strip() and line.split()[0].endswith("s") and "::" in line]
    outcome = [line for line in lines if line.startswith("FAILED") or " passed" in line or " failed" in line]
    print("\n".join(slowest + outcome))
    print(
        f"suite: {wall_s:.0f} s wall (exit {completed.returncode}); "
        f"python -c 'import numpy' just before: {yardstick_s:.2f} s "
        f"(suite = {wall_s / yardstick_s:.0f}x that)"
    )
    return completed.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
