"""How fast the virtual bench runs, and what the harness costs on top of the raw transports.

Run: ``.venv/bin/python benchmarks/bench_virtual_bench.py [--quick]``

(a) Virtual-time speed-up of the default ``performance-curve`` run: bench seconds per wall second,
    for the in-process virtual bench (what ``hil run --bench sim`` uses).
(b) Cost per instrument exchange: each driver's ``read()`` through the virtual bench's emulators,
    and one full runner tick, against the raw round trip of the same transport measured in the same
    process (an echo emulator on a pty and on a loopback TCP socket, through the same transport
    classes). Ratios, not absolute times, are what carries from one machine to another.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from hil.bench.transport import SerialTransport, TcpTransport
from hil.run.session import open_session, run_procedure
from hil.store.run_directory import read_samples
from simulators.server import EmulatorServer


class Echo:
    """The cheapest possible instrument: answers every line with itself."""

    def receive(self, data: bytes) -> bytes:
        return data


def per_call_s(action: Callable[[], object], repeats: int) -> float:
    """Median of 5 batches, in seconds per call (warm-up excluded)."""
    for _ in range(min(200, repeats)):
        action()
    batches = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            action()
        batches.append((time.perf_counter() - start) / repeats)
    return statistics.median(batches)


def raw_round_trips(repeats: int) -> dict[str, float]:
    message = b"\x55" * 32  # binary, as the framed protocols send (a newline costs extra on a pty)
    with EmulatorServer() as server:
        pty = SerialTransport(server.add_pty("echo", Echo()).address)
        tcp_endpoint = server.add_tcp("echo-tcp", Echo)
        tcp = TcpTransport(tcp_endpoint.address, tcp_endpoint.port or 0)

        def over(transport: SerialTransport | TcpTransport) -> Callable[[], bytes]:
            def exchange() -> bytes:
                transport.write(message)
                return transport.read_exactly(len(message))

            return exchange

        result = {"pty": per_call_s(over(pty), repeats), "tcp": per_call_s(over(tcp), repeats)}
        pty.close()
        tcp.close()
    return result


def driver_exchanges(repeats: int) -> tuple[dict[str, float], float, int]:
    """Each instrument's read() and one whole tick, on the in-process virtual bench."""
    from hil.run.runner import Runner
    from hil.store.run_directory import RunWriter

    with open_session("sim", seed=1) as session, tempfile.TemporaryDirectory() as scratch:
        reads = {
            name: per_call_s(instrument.read, repeats)
            for name, instrument in session.bench.instruments.items()
        }
        channels = [c for inst in session.config.instruments.values() for c in inst.channels]
        writer = RunWriter(Path(scratch), channels, {}, session.config.text)
        runner = Runner(session.bench, session.clock, writer)
        tick = per_call_s(runner.tick, max(50, repeats // 5))
        writer.close("completed")
        exchanges_per_tick = len(session.bench.instruments) + 1  # one read each + the watchdog write
    return reads, tick, exchanges_per_tick


def speed_up(parameters: dict[str, str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        result = run_procedure("performance-curve", "sim", parameters, Path(scratch))
        wall_s = time.perf_counter() - start
        bench_s = float(read_samples(result.directory)["time_s"].iloc[-1])
    return bench_s, wall_s


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run and fewer repeats (a smoke test)")
    args = parser.parse_args()
    repeats = 300 if args.quick else 2000
    raw = raw_round_trips(repeats)
    reads, tick_s, exchanges = driver_exchanges(repeats)
    transports = {
        "motor": "pty",
        "p_inlet": "pty",
        "p_outlet": "pty",
        "flow": "pty",
        "power": "tcp",
        "daq": "tcp",
    }
    rows = [{"exchange": f"raw {name} round trip", "us": raw[name] * 1e6, "x raw": 1.0} for name in raw]
    for name, seconds in reads.items():
        kind = transports.get(name, "pty")
        rows.append(
            {"exchange": f"{name}.read() over {kind}", "us": seconds * 1e6, "x raw": seconds / raw[kind]}
        )
    raw_sum = (
        4 * raw["pty"] + 2 * raw["tcp"] + raw["pty"] / 2
    )  # the same exchanges, raw (watchdog: write only)
    rows.append(
        {
            "exchange": f"one runner tick ({exchanges} exchanges, log, limits)",
            "us": tick_s * 1e6,
            "x raw": tick_s / raw_sum,
        }
    )
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:9.1f}"))

    parameters = (
        {"speeds_fraction": "1.0", "valve_openings": "0.3,1.0", "dwell_s": "10"} if args.quick else {}
    )
    bench_s, wall_s = speed_up(parameters)
    label = "quick performance-curve" if args.quick else "default performance-curve"
    print(f"\n{label}: {bench_s:.0f} bench s in {wall_s:.1f} wall s = {bench_s / wall_s:.0f}x real time")
    print(
        f"tick cost floor: {raw_sum * 1e6:.0f} us of raw round trips per tick -> at most "
        f"{0.1 / raw_sum:.0f}x real time at 10 Hz, whatever the harness does"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
