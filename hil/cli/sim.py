"""``hil sim serve``: the virtual bench's instruments on ptys and loopback TCP, for another process.

May import :mod:`hil.cli.common` and, inside the handler, :mod:`hil.core`, :mod:`hil.bench` and
:mod:`hil.run.virtual` (the one module that assembles simulators).
"""

from __future__ import annotations

import argparse
import json
import signal
from typing import Any, TextIO

from hil.cli.common import EXIT_OK, FAULT_HELP


def cmd_sim_serve(args: argparse.Namespace, out: TextIO) -> int:
    from hil.bench.config import load_bench
    from hil.core.clock import WallClock
    from hil.run.virtual import build_virtual_bench, fault_specs

    config = load_bench(args.bench)
    faults = fault_specs(config, args.fault)
    assert config.virtual is not None
    bench = build_virtual_bench(
        config,
        seed=args.seed if args.seed is not None else config.virtual.seed,
        faults=faults,
        host=args.host,
    )
    endpoints = bench.start(lockstep_control=args.clock == "lockstep")
    if args.clock == "wall":
        bench.run_wall_clock()
    listing = {name: _endpoint_entry(endpoint, bench.rs485_units) for name, endpoint in endpoints.items()}
    if args.json:
        out.write(json.dumps(listing) + "\n")
    else:
        mode = (
            "wall-clock time"
            if args.clock == "wall"
            else "lockstep: bench time moves only when a harness advances it"
        )
        out.write(f"virtual bench '{config.name}' serving ({mode}; Ctrl-C stops):\n")
        for name, entry in listing.items():
            where = entry["address"] + (f":{entry['port']}" if "port" in entry else "")
            units = f"  units {entry['units']}" if "units" in entry else ""
            out.write(f"  {name:<8} {entry['transport']:<4} {where}{units}\n")
    out.flush()
    stop = {"now": False}

    def request_stop(*_: Any) -> None:
        stop["now"] = True

    signal.signal(signal.SIGTERM, request_stop)
    clock = WallClock()
    try:
        while not stop["now"] and (args.duration_s is None or clock.now_s() < args.duration_s):
            clock.sleep(0.1)
    except KeyboardInterrupt:
        pass
    finally:
        bench.stop()
    return EXIT_OK


def _endpoint_entry(endpoint: Any, rs485_units: dict[str, int]) -> dict[str, Any]:
    entry = endpoint.as_dict()
    if endpoint.name == "rs485":
        entry["units"] = dict(rs485_units)
    if endpoint.name == "daq":
        entry["unit"] = 1
    return entry


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hil sim serve``."""
    sim = sub.add_parser("sim", help="the virtual bench").add_subparsers(dest="sim_command", required=True)
    serve = sim.add_parser("serve", help="serve the virtual bench's instruments on ptys and loopback TCP")
    serve.add_argument("--bench", default="sim", help="bench file with a [virtual] table (default: sim)")
    serve.add_argument("--json", action="store_true", help="print one JSON object of endpoints, then serve")
    serve.add_argument("--seed", type=int, default=None)
    serve.add_argument(
        "--host", default="127.0.0.1", help="address TCP instruments bind to (default loopback)"
    )
    serve.add_argument(
        "--clock",
        choices=("wall", "lockstep"),
        default="wall",
        help="wall: the plant follows real time; lockstep: a harness drives bench time through "
        "the 'clock' endpoint (hil run --attach HOST:PORT)",
    )
    serve.add_argument(
        "--duration-s", type=float, default=None, help="stop after this many wall-clock seconds"
    )
    serve.add_argument("--fault", action="append", default=[], metavar="KIND@SECONDS", help=FAULT_HELP)
    serve.set_defaults(handler=cmd_sim_serve)
