"""How fast the virtual bench runs, and what the harness costs on top of the raw transports.

Run: ``.venv/bin/python benchmarks/bench_virtual_bench.py [--quick] [--runs N]``

For each way the virtual bench can serve its serial instruments (``[virtual] serial_link``: loopback
TCP, the sim bench's default, and pty):

(a) the raw floor: the round trip of a 32-byte message through an echo emulator on the same kind of
    link, measured in the same process (a raw socket for TCP, pyserial for a pty, and pyserial's
    ``socket://`` for serial over TCP, to show what pyserial adds), and what flushing a serial port's
    input costs (the Modbus RTU master does it only after a failed exchange);
(b) each driver's ``read()`` through the virtual bench's emulators, and one full runner tick (every
    instrument read, the drive's watchdog, interlocks, the log), against the raw round trips of the
    same exchanges;
(d) the Modbus TCP clients on the DAQ's link: pymodbus's ``ModbusTcpClient`` and the project's MBAP
    master (:mod:`hil.bench.modbus_tcp`) reading two registers, against the raw socket round trip of
    the same frames, in interleaved rounds;
(c) the virtual-time speed-up of the ``performance-curve`` run in-process (bench seconds per wall
    second), ``--runs`` times, with its spread.

Ratios, not absolute times, are what carry from one machine to another; the shared development
machine's load drifts several-fold within an hour, so every figure is a median of batches and the
spread is printed.
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

from hil.bench.config import load_bench
from hil.bench.transport import SerialTransport, TcpTransport
from hil.run.procedure_catalogue import load as load_procedure
from hil.run.session import open_session, run_procedure
from hil.store.run_directory import read_samples
from simulators.server import EmulatorServer

SIM_BENCH = Path(__file__).resolve().parents[1] / "hil" / "data" / "sim_bench.toml"
LINKS = ("tcp", "pty")
SERIAL_INSTRUMENTS = ("motor", "p_inlet", "p_outlet", "flow")


class Echo:
    """The cheapest possible instrument: answers every message with itself."""

    def receive(self, data: bytes) -> bytes:
        return data


STALLS: list[str] = []
"""Calls that timed out (the machine stalled the process past a 0.25 s timeout): retried, counted."""


def _retrying(action: Callable[[], object]) -> Callable[[], object]:
    from hil.core.errors import TransportTimeout

    def call() -> object:
        try:
            return action()
        except TransportTimeout as exc:
            STALLS.append(str(exc))
            return action()

    return call


def per_call_s(action: Callable[[], object], repeats: int) -> float:
    """Median of 5 batches, in seconds per call (warm-up excluded)."""
    action = _retrying(action)
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
    """Seconds per echo round trip: pty (pyserial), tcp (raw socket), serial-over-tcp (pyserial)."""
    message = b"\x55" * 32  # binary, as the framed protocols send (a newline costs extra on a pty)
    with EmulatorServer() as server:
        endpoint = server.add_tcp("echo-tcp", Echo)
        echo_line = Echo()
        serial_endpoint = server.add_tcp("echo-serial", lambda: echo_line)
        transports: dict[str, SerialTransport | TcpTransport] = {
            "pty": SerialTransport(server.add_pty("echo", Echo()).address),
            "tcp": TcpTransport(endpoint.address, endpoint.port or 0),
            "serial over tcp": SerialTransport(f"socket://{serial_endpoint.address}:{serial_endpoint.port}"),
        }

        def over(transport: SerialTransport | TcpTransport) -> Callable[[], bytes]:
            def exchange() -> bytes:
                transport.write(message)
                return transport.read_exactly(len(message))

            return exchange

        result = {name: per_call_s(over(transport), repeats) for name, transport in transports.items()}
        for name in ("pty", "serial over tcp"):
            result[f"input flush on {name}"] = per_call_s(transports[name].discard_input, repeats)
        for transport in transports.values():
            transport.close()
    return result


def modbus_tcp_clients(repeats: int, rounds: int = 3) -> dict[str, list[float]]:
    """Seconds per two-register read of the DAQ (unit 1) over its Modbus TCP link, per client, in
    ``rounds`` interleaved rounds: the raw socket (the same request and reply frames), pymodbus, the
    project's MBAP master."""
    import socket
    import struct

    from hil.bench.library_transports import PymodbusTransport
    from hil.bench.modbus_tcp import ModbusTcpTransport
    from simulators.virtual_bench import VirtualBench

    virtual = VirtualBench(seed=1, serial_link="tcp")
    endpoint = virtual.start()["daq"]
    host, port = endpoint.address, endpoint.port or 0
    raw = socket.create_connection((host, port))
    raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    request = struct.pack(">HHHBBHH", 1, 0, 6, 1, 3, 0, 2)

    def raw_read() -> bytes:
        raw.sendall(request)
        reply = b""
        while len(reply) < 13:
            reply += raw.recv(64)
        return reply

    pymodbus = PymodbusTransport.tcp(host, port)
    thin = ModbusTcpTransport(TcpTransport(host, port))
    clients: dict[str, Callable[[], object]] = {
        "raw socket": raw_read,
        "pymodbus": lambda: pymodbus.read_holding_registers(0, 2, unit=1),
        "project MBAP master": lambda: thin.read_holding_registers(0, 2, unit=1),
    }
    result: dict[str, list[float]] = {name: [] for name in clients}
    try:
        for _ in range(rounds):
            for name, read in clients.items():
                result[name].append(per_call_s(read, repeats))
    finally:
        raw.close()
        pymodbus.close()
        thin.close()
        virtual.stop()
    return result


def bench_file(link: str, directory: Path) -> str:
    """The sim bench with its serial instruments on ``link``."""
    if link == "tcp":
        return "sim"
    text = SIM_BENCH.read_text(encoding="utf-8").replace('serial_link = "tcp"', f'serial_link = "{link}"')
    path = directory / f"sim_{link}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def driver_exchanges(bench: str, repeats: int) -> tuple[dict[str, float], float]:
    """Each instrument's read() and one whole tick, on the in-process virtual bench."""
    from hil.run.runner import Runner
    from hil.store.run_writer import RunWriter

    with open_session(bench, seed=1) as session, tempfile.TemporaryDirectory() as scratch:
        reads = {
            name: per_call_s(instrument.read, repeats)
            for name, instrument in session.bench.instruments.items()
        }
        channels = [c for inst in session.config.instruments.values() for c in inst.channels]
        writer = RunWriter(Path(scratch), channels, {}, session.config.text)
        runner = Runner(session.bench, session.clock, writer)
        tick = per_call_s(runner.tick, max(50, repeats // 5))
        writer.close("completed")
    return reads, tick


def speed_up(bench: str, parameters: dict[str, str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        spec, _ = load_procedure("performance-curve")
        values = spec.resolve(parameters)
        result = run_procedure(spec, load_bench(bench), values, Path(scratch))
        wall_s = time.perf_counter() - start
        bench_s = float(read_samples(result.directory)["time_s"].iloc[-1])
    return bench_s, wall_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run and fewer repeats (a smoke test)")
    parser.add_argument("--runs", type=int, default=3, help="performance-curve runs per link (default 3)")
    parser.add_argument(
        "--links", default=",".join(LINKS), help="serial links to measure, of tcp,pty (default both)"
    )
    args = parser.parse_args(argv)
    repeats = 300 if args.quick else 2000
    raw = raw_round_trips(repeats)
    rows = [
        {
            "exchange": name if name.startswith("input flush") else f"raw {name} round trip",
            "us": seconds * 1e6,
            "x raw": 1.0,
        }
        for name, seconds in raw.items()
    ]
    modbus = modbus_tcp_clients(repeats)
    for name, values in modbus.items():
        ratios = sorted(v / r for v, r in zip(values, modbus["raw socket"], strict=True))
        rows.append(
            {
                "exchange": f"DAQ 2-register read, {name} (x raw: rounds {', '.join(f'{x:.2f}' for x in ratios)})",
                "us": statistics.median(values) * 1e6,
                "x raw": statistics.median(ratios),
            }
        )
    parameters = (
        {"speeds_fraction": "1.0", "valve_openings": "0.3,1.0", "dwell_s": "10"} if args.quick else {}
    )
    speed: dict[str, list[float]] = {}
    bench_s = 0.0
    with tempfile.TemporaryDirectory() as directory:
        for link in args.links.split(","):
            bench = bench_file(link, Path(directory))
            reads, tick_s = driver_exchanges(bench, repeats)
            serial_raw = raw[link]
            # The same exchanges, raw: four serial round trips (motor, three on the RS-485 line),
            # two TCP ones (power, DAQ) and the watchdog's write (half a round trip).
            floor = 4 * serial_raw + 2 * raw["tcp"] + serial_raw / 2
            for name, seconds in reads.items():
                kind = link if name in SERIAL_INSTRUMENTS else "tcp"
                rows.append(
                    {
                        "exchange": f"{name}.read() over {kind}",
                        "us": seconds * 1e6,
                        "x raw": seconds / raw[kind],
                    }
                )
            rows.append(
                {
                    "exchange": f"one runner tick, serial on {link}",
                    "us": tick_s * 1e6,
                    "x raw": tick_s / floor,
                }
            )
            rows.append(
                {"exchange": f"raw floor of a tick, serial on {link}", "us": floor * 1e6, "x raw": 1.0}
            )
            speed[link] = []
            for _ in range(args.runs):
                bench_s, wall_s = speed_up(bench, parameters)
                speed[link].append(bench_s / wall_s)
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:9.1f}"))
    if STALLS:
        print(f"{len(STALLS)} call(s) timed out and were retried (a stalled machine), first: {STALLS[0]}")
    label = "quick performance-curve" if args.quick else "default performance-curve"
    print(f"\n{label} ({bench_s:.0f} bench s), in-process, {args.runs} run(s) per link:")
    for link, values in speed.items():
        values.sort()
        print(
            f"  serial on {link}: median {statistics.median(values):.0f}x real time "
            f"(min {values[0]:.0f}x, max {values[-1]:.0f}x)"
        )
    if "pty" in speed and "tcp" in speed:
        print(
            f"  loopback TCP over pty: {statistics.median(speed['tcp']) / statistics.median(speed['pty']):.2f}x"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
