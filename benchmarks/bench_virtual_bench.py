"""How fast the virtual bench runs, and what the harness costs on top of the raw transports.

Run: ``.venv/bin/python benchmarks/bench_virtual_bench.py [--quick] [--runs N] [--rounds N]
[--links tcp,pty] [--serve inline,thread]``

For each way the virtual bench can serve its serial instruments (``[virtual] serial_link``: loopback
TCP, the sim bench's default, and pty) and each way its TCP links can be served (``[virtual] serve``:
``inline``, in the harness's own thread, the default, and ``thread``, by the emulator server's
thread):

(a) the raw floors, measured in the same process, in every round beside the ticks (in the same
    session, so on the same CPU when the session pins one): the round trip of
    a 32-byte message through an echo emulator, on a raw socket served inline (the client asks the
    server to serve its connection after sending, as the virtual bench's transports do) and served
    by the server thread, on a pty (pyserial), and on pyserial's ``socket://`` (what pyserial adds);
    the project's TCP transport through the same inline echo; what flushing a serial port's input
    costs;
(b) each driver's ``read()`` through the virtual bench's emulators, and one full runner tick (every
    instrument read, the drive's watchdog, interlocks, the log), against the raw round trips of the
    same exchanges served the same way, measured in the same round: per round the ratio, then the
    median and spread of the ratios. For serial on TCP served inline, the tick is split in two: the
    part that simulates the bench (the plant's steps, and what the emulators' answers cost beyond
    the echo's), which a real bench spends in its instruments and its pump, and the harness's own
    part (drivers, transports, runner, interlocks, log), each over the floor. The floor is an echo,
    so the simulated part alone sets the least a tick can cost over it;
(c) the Modbus TCP clients on the DAQ's link (served by the server thread: neither pymodbus nor a raw
    socket asks for inline serving): pymodbus's ``ModbusTcpClient`` and the project's MBAP master
    (:mod:`hil.bench.modbus_tcp`) reading two registers, against the raw socket round trip of the same
    frames, in interleaved rounds;
(d) the virtual-time speed-up of the ``performance-curve`` run in-process (bench seconds per wall
    second), ``--runs`` times per configuration, interleaved, with its median, minimum and maximum.

Ratios, not absolute times, are what carry from one machine to another; the shared development
machine's load drifts several-fold within an hour, so floors and ticks are measured in the same
rounds, every figure is a median of batches and the spread is printed.
"""

from __future__ import annotations

import argparse
import itertools
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
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
SERVING = ("inline", "thread")
SERIAL_INSTRUMENTS = ("motor", "p_inlet", "p_outlet", "flow")
MESSAGE = b"\x55" * 32  # binary, as the framed protocols send (a newline costs extra on a pty)


class Echo:
    """The cheapest possible instrument: answers every message with itself."""

    def receive(self, data: bytes) -> bytes:
        return data


ECHO_ANSWER = "server's answer to an echo, inline"
"""The server's part of an inline echo round trip (reading the request, the echo, sending it): what
the simulators' part of a tick is counted above, exchange by exchange."""

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


@contextmanager
def timing(owner: type, name: str) -> Iterator[list[float]]:
    """While open, every call of ``owner.name`` adds its seconds to ``total[0]`` and one to ``total[1]``
    (``total`` is what this yields): how the simulators' part of a tick (the emulator server answering,
    the virtual clock stepping the plant) is told from the harness's own. About 0.3 us a call."""
    original = getattr(owner, name)
    total = [0.0, 0.0]
    clock = time.perf_counter

    def timed(*args: object, **kwargs: object) -> object:
        start = clock()
        try:
            return original(*args, **kwargs)
        finally:
            total[0] += clock() - start
            total[1] += 1

    setattr(owner, name, timed)
    try:
        yield total
    finally:
        setattr(owner, name, original)


def _raw_socket_exchange(
    server: EmulatorServer, port: int, inline: bool
) -> tuple[socket.socket, Callable[[], bytes]]:
    """A plain socket's echo round trip; ``inline``: served in this thread, as the transports ask."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.settimeout(0.25)
    client = sock.getsockname()[:2]

    def exchange() -> bytes:
        sock.sendall(MESSAGE)
        if inline:
            server.serve(client)
        reply = b""
        while len(reply) < len(MESSAGE):
            if inline:
                server.serve(client)  # a request the kernel had not delivered yet: once more
            reply += sock.recv(4096)
        return reply

    return sock, exchange


@contextmanager
def echo_floors() -> Iterator[Callable[[int], dict[str, float]]]:
    """An echo server in this process; yields a function measuring every raw floor (seconds per
    round trip, or per flush), called in each round."""
    with EmulatorServer() as server, ExitStack() as closing:
        tcp = server.add_tcp("echo-tcp", Echo)
        echo_line = Echo()
        serial = server.add_tcp("echo-serial", lambda: echo_line)
        exchanges: dict[str, Callable[[], object]] = {}
        for serve in SERVING:
            sock, exchanges[f"tcp, {serve}"] = _raw_socket_exchange(server, tcp.port or 0, serve == "inline")
            closing.callback(sock.close)
        ports: dict[str, SerialTransport | TcpTransport] = {
            "pty": SerialTransport(server.add_pty("echo", Echo()).address),
            "serial over tcp": SerialTransport(f"socket://{serial.address}:{serial.port}"),
            "project tcp transport, inline": TcpTransport(tcp.address, tcp.port or 0, 0.25, witness=server),
        }
        for transport in ports.values():
            closing.callback(transport.close)

        def over(transport: SerialTransport | TcpTransport) -> Callable[[], bytes]:
            def exchange() -> bytes:
                transport.write(MESSAGE)
                return transport.read_exactly(len(MESSAGE))

            return exchange

        exchanges |= {name: over(transport) for name, transport in ports.items()}
        flushes = {f"input flush on {name}": ports[name].discard_input for name in ("pty", "serial over tcp")}

        def measure(repeats: int) -> dict[str, float]:
            floors = {name: per_call_s(action, repeats) for name, action in (exchanges | flushes).items()}
            with timing(EmulatorServer, "_answer") as answers:  # the echo's answer: read, echo, send
                per_call_s(exchanges["tcp, inline"], repeats)
            floors[ECHO_ANSWER] = answers[0] / answers[1]
            return floors

        yield measure


def tick_floor_s(floors: dict[str, float], link: str, serve: str) -> float:
    """The raw round trips of one tick's exchanges, served as the configuration serves them: four
    serial round trips (motor, three on the RS-485 line), two TCP ones (power, DAQ) and the
    watchdog's write (half a round trip)."""
    tcp = floors[f"tcp, {serve}"]
    serial = tcp if link == "tcp" else floors["pty"]
    return 4 * serial + 2 * tcp + serial / 2


def modbus_tcp_clients(repeats: int, rounds: int = 3) -> dict[str, list[float]]:
    """Seconds per two-register read of the DAQ (unit 1) over its Modbus TCP link, per client, in
    ``rounds`` interleaved rounds: the raw socket (the same request and reply frames), pymodbus, the
    project's MBAP master."""
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


def bench_file(link: str, serve: str, directory: Path) -> str:
    """The sim bench with its serial instruments on ``link`` and its TCP links served by ``serve``."""
    text = SIM_BENCH.read_text(encoding="utf-8")
    for key, value in (("serial_link", link), ("serve", serve)):
        default = {"serial_link": '"tcp"', "serve": '"inline"'}[key]
        assert f"{key} = {default}" in text, f"the sim bench no longer sets {key} = {default}"
        text = text.replace(f"{key} = {default}", f'{key} = "{value}"')
    path = directory / f"sim_{link}_{serve}.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@contextmanager
def open_runner(
    bench: str, scratch: Path
) -> Iterator[tuple[Callable[[], None], dict[str, Callable[[], object]]]]:
    """A session on ``bench`` and a runner logging to ``scratch``: yields its tick and the reads."""
    from hil.run.runner import Runner
    from hil.store.run_writer import RunWriter

    with open_session(bench, seed=1) as session:
        channels = [c for inst in session.config.instruments.values() for c in inst.channels]
        writer = RunWriter(scratch, channels, {}, session.config.text)
        try:
            reads: dict[str, Callable[[], object]] = {
                name: instrument.read for name, instrument in session.bench.instruments.items()
            }
            runner = Runner(session.bench, session.clock, writer)
            # the pump turning, as in a run (its plant and emulators then do all their work)
            session.bench.pump_drive.set_speed_rpm(0.8 * session.config.geometry.rated_speed_rpm)
            yield runner.tick, reads
        finally:
            writer.close("completed")


def speed_up(bench: str, parameters: dict[str, str]) -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as scratch:
        start = time.perf_counter()
        spec, _ = load_procedure("performance-curve")
        values = spec.resolve(parameters)
        result = run_procedure(spec, load_bench(bench), values, Path(scratch))
        wall_s = time.perf_counter() - start
        bench_s = float(read_samples(result.directory)["time_s"].iloc[-1])
    return bench_s, wall_s


def _spread(values: list[float], unit: str = "x") -> str:
    ordered = sorted(values)
    return f"median {statistics.median(ordered):.2f}{unit} (min {ordered[0]:.2f}, max {ordered[-1]:.2f})"


Config = tuple[str, str]  # (serial_link, serve)


def measure_rounds(
    configs: list[Config], rounds: int, repeats: int, directory: Path
) -> tuple[
    dict[Config, list[dict[str, float]]],
    dict[Config, list[float]],
    dict[Config, list[float]],
    dict[str, list[tuple[float, float]]],
    dict[Config, list[tuple[float, float]]],
]:
    """In each round, per configuration, in one session (pinned to one CPU as a run is, see
    hil.run.virtual.pin_to_one_cpu): the raw floors, one tick and each read.
    Returns per configuration the floors of every round, the ticks (seconds) and the ticks over
    their floors, each read's seconds with its floor's (per round), and for serial on TCP served
    inline (the sim bench's way) the simulated and the harness's parts of a tick over its floor."""
    floors: dict[Config, list[dict[str, float]]] = {config: [] for config in configs}
    ticks_s: dict[Config, list[float]] = {config: [] for config in configs}
    tick_ratios: dict[Config, list[float]] = {config: [] for config in configs}
    reads_s: dict[str, list[tuple[float, float]]] = {}  # (seconds a read, its floor) per round
    parts: dict[Config, list[tuple[float, float]]] = {config: [] for config in configs}
    for round_index in range(rounds):
        for link, serve in configs:
            scratch = directory / f"{link}-{serve}-{round_index}"
            scratch.mkdir()
            # the echo server starts after the session, so that it shares its CPU if it pinned one
            with (
                open_runner(bench_file(link, serve, directory), scratch) as (tick, reads),
                echo_floors() as measure,
            ):
                floor = measure(repeats)
                floors[link, serve].append(floor)
                tick_s = per_call_s(tick, max(50, repeats // 5))
                ticks_s[link, serve].append(tick_s)
                tick_floor = tick_floor_s(floor, link, serve)
                tick_ratios[link, serve].append(tick_s / tick_floor)
                if serve == "inline" and link == "tcp":
                    simulated = simulated_part_s(tick, floor[ECHO_ANSWER], max(50, repeats // 5))
                    parts[link, serve].append((simulated / tick_floor, (tick_s - simulated) / tick_floor))
                for name, read in reads.items():
                    kind = "pty" if name in SERIAL_INSTRUMENTS and link == "pty" else f"tcp, {serve}"
                    key = f"{name}.read() over {kind} [{link}/{serve}]"
                    reads_s.setdefault(key, []).append((per_call_s(read, repeats // 2), floor[kind]))
    return floors, ticks_s, tick_ratios, reads_s, parts


def simulated_part_s(tick: Callable[[], None], echo_answer_s: float, repeats: int) -> float:
    """Seconds a tick spends simulating the bench, which a real bench spends elsewhere: the plant's
    steps (the virtual clock's advance) and what the emulators' answers cost beyond an echo's (the
    echo's answer, with its reads and sends, belongs to the raw floor). Tick minus this is the
    harness's own part: drivers, transports, runner, interlocks, log."""
    from hil.core.clock import VirtualClock

    with timing(EmulatorServer, "_answer") as answers, timing(VirtualClock, "advance_to") as advances:
        for _ in range(repeats):
            tick()
    return (answers[0] - answers[1] * echo_answer_s + advances[0]) / repeats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a shorter run and fewer repeats (a smoke test)")
    parser.add_argument(
        "--runs", type=int, default=3, help="performance-curve runs per configuration (default 3)"
    )
    parser.add_argument("--rounds", type=int, default=3, help="rounds of floors and ticks (default 3)")
    parser.add_argument("--links", default="tcp", help="serial links to measure, of tcp,pty (default tcp)")
    parser.add_argument("--serve", default=",".join(SERVING), help="serving of TCP links, of inline,thread")
    args = parser.parse_args(argv)
    repeats = 300 if args.quick else 2000
    configs = list(itertools.product(args.links.split(","), args.serve.split(",")))
    parameters = (
        {"speeds_fraction": "1.0", "valve_openings": "0.3,1.0", "dwell_s": "10"} if args.quick else {}
    )
    speed: dict[Config, list[float]] = {config: [] for config in configs}
    bench_s = 0.0
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        floors, ticks_s, tick_ratios, reads_s, parts = measure_rounds(
            configs, args.rounds, repeats, directory
        )
        speed_up(
            bench_file(*configs[0], directory),
            {"speeds_fraction": "1.0", "valve_openings": "1.0", "dwell_s": "3"},
        )
        for _ in range(args.runs):  # (after a short run that did the first run's imports)
            for link, serve in configs:
                bench_s, wall_s = speed_up(bench_file(link, serve, directory), parameters)
                speed[link, serve].append(bench_s / wall_s)
    modbus = modbus_tcp_clients(repeats)

    rows: list[dict[str, object]] = []
    for (link, serve), measured in floors.items():
        for name in measured[0]:
            rows.append(
                {
                    "exchange": (
                        name if name.startswith(("input flush", "server's")) else f"echo round trip, {name}"
                    )
                    + f" [{link}/{serve}]",
                    "us": statistics.median(floor[name] for floor in measured) * 1e6,
                    "x floor": statistics.median(floor[name] / floor["tcp, inline"] for floor in measured),
                }
            )
    rows += [
        {
            "exchange": name,
            "us": statistics.median(read_s for read_s, _ in rounds) * 1e6,
            "x floor": statistics.median(read_s / floor_s for read_s, floor_s in rounds),
        }
        for name, rounds in reads_s.items()
    ]
    for name, values in modbus.items():
        ratios = sorted(v / r for v, r in zip(values, modbus["raw socket"], strict=True))
        rounds = ", ".join(f"{x:.2f}" for x in ratios)
        rows.append(
            {
                "exchange": f"DAQ 2-register read, {name}, server thread (x raw socket: rounds {rounds})",
                "us": statistics.median(values) * 1e6,
                "x floor": statistics.median(ratios),
            }
        )
    print("x floor: times the raw round trip of the same exchange served the same way")
    print("(echo round trips: times the raw socket's echo served inline)")
    print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:9.2f}"))
    if STALLS:
        print(f"{len(STALLS)} call(s) timed out and were retried (a stalled machine), first: {STALLS[0]}")
    print(
        f"\none runner tick / raw round trips of its exchanges served the same way, {args.rounds} round(s):"
    )
    for (link, serve), ratios in tick_ratios.items():
        tick_us = statistics.median(ticks_s[link, serve]) * 1e6
        print(f"  serial on {link}, served {serve}: tick {tick_us:.0f} us, {_spread(ratios)}")
        if parts[link, serve]:
            simulated = [s for s, _ in parts[link, serve]]
            harness = [h for _, h in parts[link, serve]]
            print(
                f"    of which simulating the bench (plant, emulators beyond an echo), x the floor: "
                f"{_spread(simulated)}; so no tick can cost less than {_spread([1 + x for x in simulated])};"
                f"\n    the harness's own part (drivers, transports, runner, log) x the floor: {_spread(harness)}"
            )
    label = "quick performance-curve" if args.quick else "default performance-curve"
    print(
        f"\n{label} ({bench_s:.0f} bench s), in-process, {args.runs} run(s) per configuration, x real time:"
    )
    for (link, serve), values in speed.items():
        print(f"  serial on {link}, served {serve}: {_spread(values, 'x')}")
    for link in args.links.split(","):
        if (link, "inline") in speed and (link, "thread") in speed:
            gain = statistics.median(speed[link, "inline"]) / statistics.median(speed[link, "thread"])
            print(f"  serial on {link}: inline / thread {gain:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
