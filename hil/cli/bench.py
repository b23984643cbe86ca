"""``hil bench check|read|set``: commissioning a bench file, with no procedure and no run directory.

May import :mod:`hil.cli.common` and, inside the handlers, :mod:`hil.core`, :mod:`hil.bench` and
:mod:`hil.run` (session, commissioning).
"""

from __future__ import annotations

import argparse
from typing import TextIO

from hil.cli.common import EXIT_OK
from hil.core.errors import ConfigError, OperatorStop


def cmd_bench_check(args: argparse.Namespace, out: TextIO) -> int:
    from hil.bench.config import load_bench
    from hil.run.session import open_session

    with open_session(load_bench(args.bench), seed=None) as session:
        out.write(
            f"bench '{session.bench.config.name}' ({session.bench.config.source}): all instruments answer\n"
        )
        for name, identity in session.bench.identities.items():
            out.write(f"  {name:<10} {identity}\n")
    return EXIT_OK


def cmd_bench_read(args: argparse.Namespace, out: TextIO) -> int:
    """Every channel of every instrument; with --watch again every --interval s until Ctrl-C."""
    from hil.core.clock import VirtualClock, WallClock
    from hil.run.commissioning import channel_readings, format_readings, setpoint_ranges, targets
    from hil.run.session import open_session

    with open_session(args.bench, seed=None) as session:
        bench, clock = session.bench, session.clock
        # A virtual bench's clock is instant: pace a live watch by real time so a person can follow it.
        pace = WallClock() if args.watch and args.count is None and isinstance(clock, VirtualClock) else None
        shown = 0
        try:
            while True:
                out.write(format_readings(channel_readings(bench), clock.now_s()) + "\n")
                out.flush()
                shown += 1
                if not args.watch or (args.count is not None and shown >= args.count):
                    break
                clock.sleep(args.interval)
                if pace is not None:
                    pace.sleep(args.interval)
        except KeyboardInterrupt:
            pass
        if not args.watch:
            for name, target in targets(bench).items():
                ranges = setpoint_ranges(bench, target)
                if ranges:
                    listed = ", ".join(f"{q} {lo:g} .. {hi:g}" for q, (lo, hi) in ranges.items())
                    out.write(f"  settable: {name}: {listed}\n")
    return EXIT_OK


def cmd_bench_set(args: argparse.Namespace, out: TextIO) -> int:
    """One setpoint within the bench limits, held for --hold s of bench time, then the safe state."""
    from hil.run.commissioning import set_and_hold
    from hil.run.session import open_session
    from hil.run.stop import StopRequests

    try:
        value = float(args.value)
    except ValueError:
        raise ConfigError("command line", "VALUE", f"expected a number, got {args.value!r}") from None

    def show(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    # Ctrl-C and SIGTERM only record a stop (as in hil run), so that they can never interrupt the
    # safe state: before the setpoint is sent nothing moves; during the hold it ends, then goes safe.
    stop = StopRequests()
    with stop.installed(), open_session(args.bench, seed=None) as session:
        stop.check("connecting")
        held = set_and_hold(
            session.bench,
            session.clock,
            args.instrument,
            args.quantity,
            value,
            args.hold,
            show,
            args.interval,
            stop_requested=lambda: stop.requested,
        )
    if not held:
        raise OperatorStop(f"{stop.received[0]} during the hold: the instrument was put in its safe state")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hil bench check``, ``hil bench read`` and ``hil bench set``."""
    bench = sub.add_parser("bench", help="bench files").add_subparsers(dest="bench_command", required=True)
    check = bench.add_parser("check", help="validate a bench file, connect and identify every instrument")
    check.add_argument("--bench", required=True)
    check.set_defaults(handler=cmd_bench_check)
    read = bench.add_parser("read", help="print every channel of every instrument (live with --watch)")
    read.add_argument("--bench", required=True)
    read.add_argument("--watch", action="store_true", help="read again every --interval s until Ctrl-C")
    read.add_argument("--interval", type=float, default=1.0, help="seconds between readings (default 1)")
    read.add_argument("--count", type=int, default=None, help="with --watch: stop after this many readings")
    read.set_defaults(handler=cmd_bench_read)
    setp = bench.add_parser(
        "set", help="send one setpoint within the bench limits; the instrument is left in its safe state"
    )
    setp.add_argument("--bench", required=True)
    setp.add_argument("instrument", help="instrument or role target, e.g. motor, daq.valve, supply")
    setp.add_argument("quantity", help="e.g. speed_rpm, opening_fraction, pressure_pa, voltage_v")
    setp.add_argument("value")
    setp.add_argument("--hold", type=float, default=0.0, help="seconds to hold the setpoint (default 0)")
    setp.add_argument("--interval", type=float, default=1.0, help="seconds between readings while holding")
    setp.set_defaults(handler=cmd_bench_set)
