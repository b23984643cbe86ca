"""What watching a run costs: the same virtual run with the web console open (and a client reading
every frame, as a browser does) against the run without it, measured in the same process.

Run: ``.venv/bin/python benchmarks/bench_console.py [--repeats N] [--quick]``

Runs alternate (plain, watched, plain, watched, ...) so that a machine's drift hits both alike; the
result is the ratio of the median wall times. The console's budget is 5 % (design.md: the run
never waits for the console; the console decimates to about ten updates a wall second).
"""

from __future__ import annotations

import argparse
import io
import json
import statistics
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from websockets.sync.client import connect

from hil.bench.config import load_bench
from hil.console.watch import watching
from hil.run.procedure_api import load_procedure
from hil.run.session import run_procedure
from hil.run.stream import RunStream

PARAMETERS = {"speeds_fraction": "0.6,1.0", "valve_openings": "0.2,0.4,0.7,1.0", "dwell_s": "20"}
QUICK = {"speeds_fraction": "1.0", "valve_openings": "0.3,1.0", "dwell_s": "10"}


def run(parameters: dict[str, str], out: Path, stream: RunStream | None = None) -> None:
    spec = load_procedure("performance-curve")
    run_procedure(spec.name, load_bench("sim"), spec.resolve(parameters), out, seed=1, stream=stream)


def plain_run(parameters: dict[str, str], out: Path) -> float:
    start = time.perf_counter()
    run(parameters, out)
    return time.perf_counter() - start


def watched_run(parameters: dict[str, str], out: Path) -> tuple[float, int]:
    """Wall time of the run with the console open and a client reading every frame; frames read."""
    stream = RunStream()
    frames = [0]
    with ExitStack() as stack:
        server = stack.enter_context(
            watching(stream, load_bench("sim").limits, io.StringIO(), console=True, terminal=False)
        )
        assert server is not None
        socket = stack.enter_context(connect(server.url.replace("http://", "ws://") + "api/stream"))

        def read() -> None:
            try:
                while True:
                    json.loads(socket.recv())
                    frames[0] += 1
            except Exception:  # noqa: BLE001 - the console closes the socket when the run ends
                return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        start = time.perf_counter()
        run(parameters, out, stream)
        elapsed = time.perf_counter() - start
    reader.join(timeout=10.0)
    return elapsed, frames[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="runs of each kind (default 5)")
    parser.add_argument("--quick", action="store_true", help="a shorter run (a smoke test)")
    args = parser.parse_args()
    parameters = QUICK if args.quick else PARAMETERS
    plain, watched, frames = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for k in range(args.repeats):
            plain.append(plain_run(parameters, Path(scratch) / f"plain-{k}"))
            seconds, count = watched_run(parameters, Path(scratch) / f"watched-{k}")
            watched.append(seconds)
            frames.append(count / seconds)
            print(f"run {k + 1}: plain {plain[-1]:.2f} s, console open {seconds:.2f} s, {count} frames")
    ratio = statistics.median(watched) / statistics.median(plain)
    print(
        f"\nmedian wall time: plain {statistics.median(plain):.2f} s, console open "
        f"{statistics.median(watched):.2f} s: ratio {ratio:.3f} ({(ratio - 1) * 100:+.1f} %, budget +5 %)"
    )
    print(f"frames to the client: {statistics.median(frames):.1f} per wall second (decimated to about 10)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
