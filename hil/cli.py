"""The ``hil`` command: one subcommand for each job a user has.

Exit status: 0 done, 1 error (instrument, I/O, a bug), 2 usage or configuration error,
3 aborted (interlock trip or operator stop). Input errors print one clear line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path
from typing import Any, Sequence, TextIO

from hil import __version__
from hil.errors import ConfigError, HilError, InterlockTrip, OperatorStop

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_ABORTED = 0, 1, 2, 3


def _parse_overrides(items: Sequence[str]) -> dict[str, str]:
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError("command line", f"-p {item}", "expected NAME=VALUE")
        overrides[name.strip()] = value.strip()
    return overrides


# --------------------------------------------------------------------------- hil sim serve
def cmd_sim_serve(args: argparse.Namespace, out: TextIO) -> int:
    from hil.bench_config import load_bench
    from hil.clock import WallClock
    from simulators.virtual_bench import VirtualBench

    config = load_bench(args.bench)
    if config.virtual is None:
        raise ConfigError(config.source, "virtual", "this bench file has no [virtual] table: nothing to simulate")
    bench = VirtualBench(config.virtual.plant, seed=args.seed if args.seed is not None else config.virtual.seed,
                         source=config.source, host=args.host)
    endpoints = bench.start(lockstep_control=args.clock == "lockstep")
    if args.clock == "wall":
        bench.run_wall_clock()
    listing = {name: _endpoint_entry(endpoint) for name, endpoint in endpoints.items()}
    if args.json:
        out.write(json.dumps(listing) + "\n")
    else:
        mode = "wall-clock time" if args.clock == "wall" else "lockstep: bench time moves only when a harness advances it"
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


def _endpoint_entry(endpoint: Any) -> dict[str, Any]:
    entry = endpoint.as_dict()
    if endpoint.name == "rs485":
        entry["units"] = {"p_inlet": 1, "p_outlet": 2, "flow": 3}
    if endpoint.name == "daq":
        entry["unit"] = 1
    return entry


# --------------------------------------------------------------------------- hil procedures
def cmd_procedures(args: argparse.Namespace, out: TextIO) -> int:
    from hil.procedure_api import PROCEDURES, load_procedure

    for name in PROCEDURES:
        spec = load_procedure(name)
        out.write(f"{spec.name}: {spec.summary}\n")
        for p in spec.parameters:
            default = ",".join(f"{v:g}" for v in p.default) if isinstance(p.default, list) else f"{p.default:g}"
            bounds = f" [{p.minimum:g}..{p.maximum:g}]" if p.minimum is not None and p.maximum is not None else ""
            out.write(f"  -p {p.name}={default}{bounds}\n      {p.help}\n")
    return EXIT_OK


# --------------------------------------------------------------------------- hil bench check
def cmd_bench_check(args: argparse.Namespace, out: TextIO) -> int:
    from hil.session import open_session

    with open_session(args.bench, seed=None) as session:
        out.write(f"bench '{session.bench.config.name}' ({session.bench.config.source}): all instruments answer\n")
        for name, identity in session.bench.identities.items():
            out.write(f"  {name:<10} {identity}\n")
    return EXIT_OK


# --------------------------------------------------------------------------- hil run
def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from hil.session import run_procedure

    result = run_procedure(
        procedure=args.procedure,
        bench=args.bench,
        overrides=_parse_overrides(args.param),
        out_dir=Path(args.out),
        seed=args.seed,
        progress=_progress_printer(sys.stderr, quiet=args.quiet),
        attach=args.attach,
    )
    out.write(f"\nrun directory: {result.directory}\n")
    out.write(f"status: {result.status}" + (f" ({result.reason})" if result.reason else "") + "\n")
    if result.points:
        out.write(_points_table(result.points) + "\n")
    if args.json:
        Path(args.json).write_text(json.dumps({"directory": str(result.directory), "status": result.status,
                                               "reason": result.reason, "points": result.points}, indent=2, default=str))
    return {"completed": EXIT_OK, "aborted": EXIT_ABORTED}.get(result.status, EXIT_ERROR)


def _progress_printer(stream: TextIO, quiet: bool) -> Any:
    interactive = stream.isatty()

    def show(message: str) -> None:
        if quiet:
            return
        stream.write(("\r\033[K" if interactive else "") + message + ("" if interactive else "\n"))
        stream.flush()

    return show


def _points_table(points: list[dict[str, Any]]) -> str:
    columns = [
        ("speed_rpm", "speed rpm", 1.0, "{:9.0f}"),
        ("flow_m3_s", "Q L/s", 1000.0, "{:7.4f}"),
        ("head_m", "H m", 1.0, "{:7.2f}"),
        ("p_inlet_pa", "p1 kPa", 1e-3, "{:7.1f}"),
        ("p_outlet_pa", "p2 kPa", 1e-3, "{:8.1f}"),
        ("electrical_power_w", "P_el W", 1.0, "{:7.0f}"),
        ("hydraulic_power_w", "P_h W", 1.0, "{:7.1f}"),
        ("overall_efficiency", "eta_ov", 1.0, "{:6.3f}"),
        ("fluid_temperature_c", "T degC", 1.0, "{:6.2f}"),
    ]
    header = " ".join(f"{title:>{len(fmt.format(0.0))}}" for _, title, _, fmt in columns)
    lines = [header]
    for point in points:
        lines.append(" ".join(fmt.format(point[key] * scale) for key, _, scale, fmt in columns))
    return "\n".join(lines)


# --------------------------------------------------------------------------- parser and main
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hil", description="Hardware-in-the-loop test harness for electric pumps.")
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    sim = sub.add_parser("sim", help="the virtual bench").add_subparsers(dest="sim_command", required=True)
    serve = sim.add_parser("serve", help="serve the virtual bench's instruments on ptys and loopback TCP")
    serve.add_argument("--bench", default="sim", help="bench file with a [virtual] table (default: sim)")
    serve.add_argument("--json", action="store_true", help="print one JSON object of endpoints, then serve")
    serve.add_argument("--seed", type=int, default=None)
    serve.add_argument("--host", default="127.0.0.1", help="address TCP instruments bind to (default loopback)")
    serve.add_argument("--clock", choices=("wall", "lockstep"), default="wall",
                       help="wall: the plant follows real time; lockstep: a harness drives bench time through "
                            "the 'clock' endpoint (hil run --attach HOST:PORT)")
    serve.add_argument("--duration-s", type=float, default=None, help="stop after this many wall-clock seconds")
    serve.set_defaults(handler=cmd_sim_serve)

    bench = sub.add_parser("bench", help="bench files").add_subparsers(dest="bench_command", required=True)
    check = bench.add_parser("check", help="validate a bench file, connect and identify every instrument")
    check.add_argument("--bench", required=True)
    check.set_defaults(handler=cmd_bench_check)

    procs = sub.add_parser("procedures", help="list procedures and their parameters")
    procs.set_defaults(handler=cmd_procedures)

    run = sub.add_parser("run", help="run a procedure on a bench")
    run.add_argument("procedure")
    run.add_argument("--bench", required=True, help="bench file, or 'sim' for the built-in virtual bench")
    run.add_argument("--out", default="runs", help="parent directory of the run directory (default: runs)")
    run.add_argument("--seed", type=int, default=None, help="virtual bench seed (default: the bench file's)")
    run.add_argument("-p", "--param", action="append", default=[], metavar="NAME=VALUE",
                     help="procedure parameter (see 'hil procedures'); repeatable")
    run.add_argument("--json", default=None, metavar="FILE", help="also write the result as JSON")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.add_argument("--attach", default=None, metavar="HOST:PORT",
                     help="drive a virtual bench served by 'hil sim serve --clock lockstep' (its clock endpoint)")
    run.set_defaults(handler=cmd_run)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.handler(args, out))
    except ConfigError as exc:
        print(f"hil: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except (InterlockTrip, OperatorStop) as exc:
        print(f"hil: aborted: {exc}", file=sys.stderr)
        return EXIT_ABORTED
    except HilError as exc:
        print(f"hil: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("hil: stopped by the operator", file=sys.stderr)
        return EXIT_ABORTED


if __name__ == "__main__":
    sys.exit(main())
