"""The test suite's wall time, its CPU time, and where they go.

Run: ``.venv/bin/python benchmarks/bench_suite.py [--serial | --both] [PYTEST_ARGS ...]``

Runs the whole suite (or what the arguments select) in a fresh process, as CI does: by default on the
pytest-xdist workers ``tests/conftest.py`` chooses, ``--serial`` in one process (``-n 0``), ``--both``
one after the other. For each it prints the wall time, the CPU time of the run and every process it
started (user + system, from the kernel's accounting of reaped children), the cores that kept busy
on average (CPU / wall), the twenty slowest test phases (pytest's ``--durations``) and the outcome.

The shared development machine's speed drifts 2-4x within an hour, so the time a bare interpreter
takes to start and import numpy is measured just before each run, as a yardstick of the load at that
moment. The CPU time moves much less with the load than the wall time does: on a quiet machine with
two cores the suite cannot take less than CPU / 2, and takes about that when the workers keep both
cores busy.
"""

from __future__ import annotations

import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from hil.core.clock import WallClock

SLOWEST = 20


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_suite(label: str, pytest_args: list[str]) -> int:
    clock = WallClock()
    start = clock.now_s()
    subprocess.run([sys.executable, "-c", "import numpy"], check=True)
    yardstick_s = clock.now_s() - start
    cpu_before = _children_cpu_s()
    start = clock.now_s()
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            f"--durations={SLOWEST}",
            *pytest_args,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    wall_s = clock.now_s() - start
    cpu_s = _children_cpu_s() - cpu_before
    log = Path(tempfile.gettempdir()) / f"bench_suite_{label}.log"
    log.write_text(completed.stdout, encoding="utf-8")  # the whole output: failures with their tracebacks
    lines = completed.stdout.splitlines()
    slowest = [line for line in lines if line.strip() and line.split()[0].endswith("s") and "::" in line]
    outcome = [line for line in lines if line.startswith("FAILED") or " passed" in line or " failed" in line]
    print(f"== {label}: pytest {' '.join(pytest_args)}")
    print("\n".join(slowest + outcome))
    print(
        f"{label}: {wall_s:.0f} s wall, {cpu_s:.0f} s CPU (user + system, every process), "
        f"{cpu_s / wall_s:.2f} cores busy on average (exit {completed.returncode}); "
        f"python -c 'import numpy' just before: {yardstick_s:.2f} s (suite = {wall_s / yardstick_s:.0f}x that)",
        flush=True,
    )
    return completed.returncode


def main(argv: list[str]) -> int:
    modes = {"--serial": [("serial", ["-n", "0"])], "--both": [("workers", []), ("serial", ["-n", "0"])]}
    chosen = modes.get(argv[0], None) if argv else None
    runs = chosen if chosen is not None else [("workers", [])]
    rest = argv[1:] if chosen is not None else argv
    codes = [run_suite(label, extra + rest) for label, extra in runs]
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
