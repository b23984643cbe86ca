"""The ``hil`` command: one subcommand for each job a user has.

Exit status: 0 done (and, for a judged run, PASS), 1 error (instrument, I/O, a bug; for replay: a
recomputed result differs), 2 usage or configuration error, 3 aborted (interlock trip or operator
stop), 4 the acceptance verdict is FAIL, 5 the verdict is INVALID or NOT JUDGED (the test cannot
prove the guarantee either way). Input errors print one clear line, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from hil import __version__
from hil.core.errors import ConfigError, HilError, InterlockTrip, OperatorStop
from hil.fleet.commands import add_commands, executor_options
from hil.store.names import REPORT

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_ABORTED, EXIT_FAIL, EXIT_INVALID = 0, 1, 2, 3, 4, 5


def _check_output_file(path: str, option: str) -> None:
    """Refuse at start-up, before anything moves, an output file that could not be written later."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ConfigError("command line", option, f"{path} is a directory, expected a file to write")
    if not parent.is_dir():
        raise ConfigError("command line", option, f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ConfigError("command line", option, f"cannot write {path}: permission denied")


def _check_output_directory(path: str, option: str) -> None:
    """The directory runs go into: it, or the nearest directory above it that exists (it is created
    when the run starts), must be a writable directory."""
    directory = Path(path)
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError("command line", option, f"cannot create {path}: {existing} is not a directory")
    if not os.access(existing, os.W_OK):
        raise ConfigError("command line", option, f"cannot write into {existing}: permission denied")


def _verdict_status(acceptance: dict[str, Any] | None) -> int:
    """0 without a judgement or on PASS; 4 on FAIL; 5 on INVALID or NOT JUDGED."""
    if acceptance is None:
        return EXIT_OK
    from hil.results.acceptance import FAIL, PASS, legacy_verdict

    verdict = acceptance.get("verdict") or legacy_verdict(acceptance)
    return {PASS: EXIT_OK, FAIL: EXIT_FAIL}.get(verdict, EXIT_INVALID)


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


# --------------------------------------------------------------------------- hil procedures
def cmd_procedures(args: argparse.Namespace, out: TextIO) -> int:
    """Every procedure that runs by name, where it comes from, its parameters and measurements."""
    from hil.run.procedure_catalogue import available, load

    for source in available():
        if source.origin == "shadowed":
            out.write(f"{source.name}: (installed, {source.where}; shadowed by the built-in one)\n")
            continue
        spec, _ = load(source.name)
        out.write(f"{spec.name}: {spec.summary}\n    from: {source.origin}, {source.where}\n")
        for p in spec.parameters:
            if isinstance(p.default, str):
                default = p.default
            elif isinstance(p.default, list):
                default = ",".join(f"{v:g}" for v in p.default)
            else:
                default = f"{p.default:g}"
            bounds = (
                f" [{p.minimum:g}..{p.maximum:g}]" if p.minimum is not None and p.maximum is not None else ""
            )
            out.write(f"  -p {p.name}={default}{bounds}\n      {p.help}\n")
        for m in getattr(spec, "measurements", ()):
            out.write(f"  measures {m.name} {m.describe_limits()}\n      {m.help}\n")
    out.write("Or run a procedure file: hil run path/to/procedure.py --bench BENCH\n")
    return EXIT_OK


# --------------------------------------------------------------------------- hil bench check
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


# --------------------------------------------------------------------------- hil bench read / set
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

    try:
        value = float(args.value)
    except ValueError:
        raise ConfigError("command line", "VALUE", f"expected a number, got {args.value!r}") from None

    def show(line: str) -> None:
        out.write(line + "\n")
        out.flush()

    with open_session(args.bench, seed=None) as session:
        set_and_hold(
            session.bench,
            session.clock,
            args.instrument,
            args.quantity,
            value,
            args.hold,
            show,
            args.interval,
        )
    return EXIT_OK


# --------------------------------------------------------------------------- hil run
def _acceptance_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pump",
        default=None,
        metavar="FILE",
        help="pump definition file (identity, specified speed, optional [guarantee])",
    )
    parser.add_argument(
        "--guarantee",
        default=None,
        metavar="Q_M3_S,H_M[,ETA]",
        help="guarantee point at the specified speed (overrides the pump file's)",
    )
    parser.add_argument("--grade", default=None, help="acceptance grade, e.g. 2B (overrides the pump file's)")
    parser.add_argument(
        "--grades",
        default=None,
        metavar="FILE",
        help="grade table override file (same layout as hil/data/grades.toml)",
    )


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    """Ctrl-C and SIGTERM are one safe stop from here on, even during the imports (hil.run.stop)."""
    from hil.run.stop import StopRequests

    stop = StopRequests()
    with stop.installed():
        return _run(args, out, stop)


def _stage_printer(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _run(args: argparse.Namespace, out: TextIO, stop: Any) -> int:
    from hil.bench.config import load_bench
    from hil.console.watch import watching
    from hil.fleet.catalogue import record_run
    from hil.results.acceptance import SETTINGS_KEY, format_verdict_table, resolve_settings
    from hil.results.npsh3 import format_npsh3_table
    from hil.run.procedure_catalogue import load
    from hil.run.session import run_procedure
    from hil.run.stream import RunStream

    _check_output_directory(args.out, "--out")
    if args.json:
        _check_output_file(args.json, "--json")
    config = load_bench(args.bench)  # parsed once; everything below gets the parsed file
    settings = resolve_settings(
        config.geometry.rated_speed_rpm, args.pump, args.guarantee, args.grade, args.grades
    )
    spec, source = load(args.procedure)
    values = spec.resolve(_parse_overrides(args.param))
    notes = {k: v for k, v in (("operator", args.operator), ("witness", args.witness)) if v}
    stream = RunStream() if args.console or not args.quiet else None
    with watching(
        stream or RunStream(),
        config.limits,
        sys.stderr,
        console=args.console,
        bind=args.console_bind,
        port=args.console_port,
        terminal=not args.quiet,
    ):
        result = run_procedure(
            procedure=spec,
            config=config,
            values=values,
            out_dir=Path(args.out),
            seed=args.seed,
            attach=args.attach,
            metadata={
                SETTINGS_KEY: settings.as_dict(),
                "procedure_source": source.describe(),
                **({"notes": notes} if notes else {}),
            },
            faults=args.fault,
            stream=stream,
            stop=stop,
            stages=None if args.quiet else _stage_printer,
        )
    # Derived from the closed run directory, exactly as ``hil replay`` derives them (imported only
    # now: the derive step needs pandas, which would delay the run's first tick).
    from hil.results.derive import derive_run

    derived = derive_run(result.directory)
    acceptance = derived.acceptance
    _warn(record_run(Path(args.out), result.directory))  # the catalogue of --out indexes it at once
    out.write(f"\nrun directory: {result.directory}\n")
    out.write(f"status: {result.status}" + (f" ({result.reason})" if result.reason else "") + "\n")
    if result.points:
        out.write(_points_table(result.points) + "\n")
    if derived.npsh3_table is not None:
        out.write("\n" + format_npsh3_table(derived.npsh3_table) + "\n")
    if acceptance is not None:
        out.write("\n" + format_verdict_table(acceptance) + "\n")
    measured = derived.products.get("measurements")
    if isinstance(measured, list) and measured:
        out.write("\n" + _measurements_table(measured) + "\n")
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "directory": str(result.directory),
                    "status": result.status,
                    "reason": result.reason,
                    "points": result.points,
                    "acceptance": acceptance,
                    "npsh3": derived.npsh3_table,
                },
                indent=2,
                default=str,
            )
        )
    for instrument, problem in result.safe_state_problems.items():
        print(f"hil: SAFE STATE NOT CONFIRMED: {instrument}: {problem}", file=sys.stderr)
    if result.status != "completed":
        if not result.safe_state_problems:
            out.write("safe state: commanded and confirmed on every instrument\n")
        return EXIT_ABORTED if result.status == "aborted" else EXIT_ERROR
    if stop.requested:
        print(
            f"hil: {stop.received[0]} after the procedure had ended: the run is complete, nothing was cut short",
            file=sys.stderr,
        )
        return EXIT_ABORTED
    status = _verdict_status(acceptance)
    if status == EXIT_OK and isinstance(measured, list) and any(r["verdict"] != "PASS" for r in measured):
        return EXIT_FAIL  # a declared measurement outside its limits fails the run like a verdict
    return status


def _measurements_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'measurement':<30} {'value':>12} {'unit':<6} {'limits':<24} verdict"]
    for r in rows:
        low = "-inf" if r["low"] != r["low"] else f"{r['low']:g}"
        high = "+inf" if r["high"] != r["high"] else f"{r['high']:g}"
        lines.append(
            f"{r['name']:<30} {r['value']:>12.6g} {r['unit']:<6} {'[' + low + ', ' + high + ']':<24} {r['verdict']}"
        )
    return "\n".join(lines)


def _warn(warning: str | None) -> None:
    if warning:
        print(f"hil: warning: {warning}", file=sys.stderr)


# --------------------------------------------------------------------------- hil console
def cmd_console(args: argparse.Namespace, out: TextIO) -> int:
    from hil.console.feeds import JournalFeed
    from hil.console.server import ConsoleServer

    feed = JournalFeed(Path(args.run_dir))
    try:
        server = ConsoleServer(feed, feed.bench.limits, None, bind=args.console_bind, port=args.console_port)
    except OSError as exc:
        raise ConfigError(
            "command line",
            "--console-bind/--console-port",
            f"cannot listen on {args.console_bind} port {args.console_port}: {exc.strerror or exc}",
        ) from exc
    server.start()
    print(f"console: {server.url} (Ctrl-C ends it)", file=sys.stderr, flush=True)
    try:
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
    return EXIT_OK


def _console_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--console-bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address the console listens on (default 127.0.0.1, loopback only)",
    )
    parser.add_argument(
        "--console-port", type=int, default=0, metavar="PORT", help="console port (default: a free one)"
    )


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
    if points and all("shaft_power_w" in point for point in points):  # a bench with a torque sensor
        columns[-1:-1] = [
            ("shaft_power_w", "P_sh W", 1.0, "{:7.1f}"),
            ("pump_efficiency", "eta_p", 1.0, "{:6.3f}"),
            ("drive_efficiency", "eta_d", 1.0, "{:6.3f}"),
        ]
    header = " ".join(f"{title:>{len(fmt.format(0.0))}}" for _, title, _, fmt in columns)
    lines = [header]
    for point in points:
        lines.append(" ".join(fmt.format(point[key] * scale) for key, _, scale, fmt in columns))
    return "\n".join(lines)


# --------------------------------------------------------------------------- hil replay
def cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    from hil.results.acceptance import format_verdict_table
    from hil.results.replay import ReplayChanges, format_outcome, parse_steady_limit, replay_run

    if (args.run_dir is None) == (args.all is None):
        raise ConfigError("command line", "RUN_DIR", "give one run directory, or --all DIR")
    if args.through_bench and args.all is not None:
        raise ConfigError("command line", "--through-bench", "plays back one run: give RUN_DIR, not --all")
    if args.through_bench:
        return _replay_through_bench(args, out)
    steady = dict(parse_steady_limit(item) for item in args.steady) if args.steady else None
    changes = ReplayChanges(
        pump=args.pump, guarantee=args.guarantee, grade=args.grade, grades=args.grades, steady_limits=steady
    )
    if args.all is not None:
        from hil.fleet.commands import replay_all

        return replay_all(args, changes, out)
    outcome = replay_run(Path(args.run_dir), changes)
    out.write(format_outcome(outcome) + "\n")
    if outcome.acceptance is not None:
        out.write("\n" + format_verdict_table(outcome.acceptance) + "\n")
    if not outcome.equal:
        return EXIT_ERROR
    return _verdict_status(outcome.acceptance)


def _replay_through_bench(args: argparse.Namespace, out: TextIO) -> int:
    from hil.results.replay import BENCH_REPLAY_TOLERANCE, replay_through_bench

    run_dir = Path(args.run_dir)
    replay = replay_through_bench(run_dir, Path(args.out) if args.out else run_dir / "replay-bench")
    out.write(f"played back through the replay bench: {replay.directory} (status {replay.status})\n")
    if replay.points_original != replay.points_replayed:
        out.write(
            f"different number of points: recorded {replay.points_original}, replayed {replay.points_replayed}\n"
        )
        return EXIT_ERROR
    worst = {k: v for k, v in replay.max_relative_difference.items() if v > 0}
    for column, value in sorted(worst.items(), key=lambda kv: -kv[1]):
        out.write(f"  {column}: largest relative difference {value:.3g}\n")
    if not worst:
        out.write(f"all {replay.points_replayed} operating points identical to the recorded ones\n")
    within = all(v <= BENCH_REPLAY_TOLERANCE for v in worst.values())
    if worst:
        out.write(
            ("within" if within else "BEYOND")
            + f" the wire formats' resolution ({BENCH_REPLAY_TOLERANCE:g})\n"
        )
    return EXIT_OK if within else EXIT_ERROR


# --------------------------------------------------------------------------- hil report
def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from hil.results.report import write_report

    if args.out:
        _check_output_file(args.out, "--out")
    written = write_report(Path(args.run_dir), Path(args.out) if args.out else None)
    for path in written:
        out.write(f"wrote {path}\n")
    return EXIT_OK


# --------------------------------------------------------------------------- hil calibrate / optimize
def cmd_calibrate(args: argparse.Namespace, out: TextIO) -> int:
    from hil.model.calibration import calibrate_runs, format_calibration
    from hil.model.pump_model import save_pump_model

    calibration = calibrate_runs([Path(p) for p in args.run_dirs])
    out.write(format_calibration(calibration))
    try:
        save_pump_model(calibration.model, args.out)
    except OSError as exc:
        raise ConfigError(str(args.out), "", f"cannot write the pump model: {exc.strerror or exc}") from exc
    out.write(f"\npump model written to {args.out}\n")
    return EXIT_OK


def cmd_optimize(args: argparse.Namespace, out: TextIO) -> int:
    from hil.model.sizing.command import optimize_command

    return optimize_command(
        Path(args.mission),
        Path(args.pump_model) if args.pump_model else None,
        Path(args.json) if args.json else None,
        args.extrapolate,
        out,
        monte_carlo_samples=args.monte_carlo,
        seed=args.seed,
    )


# --------------------------------------------------------------------------- parser and main
FAULT_HELP = (
    "inject a fault into the virtual bench at a bench time: KIND[:TARGET]@SECONDS[+DURATION], e.g. "
    "silence@5, disconnect:power@5+0.5; repeatable; kinds: timeout, silence, garble, bad-checksum, "
    "modbus-exception, disconnect, stuck, drift, nan, overload, overpressure, cavitation, "
    "motor-overtemp, controller-fault (see README, 'Safety and faults')"
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hil", description="Hardware-in-the-loop test harness for electric pumps."
    )
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

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

    procs = sub.add_parser("procedures", help="list procedures and their parameters")
    procs.set_defaults(handler=cmd_procedures)

    run = sub.add_parser("run", help="run a procedure on a bench")
    run.add_argument(
        "procedure", help="a procedure name (see hil procedures) or the path of a procedure file"
    )
    run.add_argument("--bench", required=True, help="bench file, or 'sim' for the built-in virtual bench")
    run.add_argument("--out", default="runs", help="parent directory of the run directory (default: runs)")
    run.add_argument("--seed", type=int, default=None, help="virtual bench seed (default: the bench file's)")
    run.add_argument(
        "-p",
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="procedure parameter (see 'hil procedures'); repeatable",
    )
    run.add_argument("--json", default=None, metavar="FILE", help="also write the result as JSON")
    run.add_argument("--quiet", action="store_true", help="no progress display")
    run.add_argument(
        "--console",
        action="store_true",
        help="serve a live web console of the run (address and token printed on stderr)",
    )
    _console_options(run)
    run.add_argument(
        "--attach",
        default=None,
        metavar="HOST:PORT",
        help="drive a virtual bench served by 'hil sim serve --clock lockstep' (its clock endpoint)",
    )
    run.add_argument("--fault", action="append", default=[], metavar="KIND@SECONDS", help=FAULT_HELP)
    _acceptance_options(run)
    run.add_argument(
        "--operator", default=None, help="who ran the test (recorded in the metadata and report)"
    )
    run.add_argument("--witness", default=None, help="who witnessed it (recorded in the metadata and report)")
    run.set_defaults(handler=cmd_run)

    console = sub.add_parser(
        "console", help="the web console of a run directory: follows a running run, or shows a finished one"
    )
    console.add_argument("run_dir", metavar="RUN_DIR")
    _console_options(console)
    console.set_defaults(handler=cmd_console)

    replay = sub.add_parser(
        "replay", help="recompute a run's results from its raw log and compare, or re-judge it"
    )
    replay.add_argument("run_dir", metavar="RUN_DIR", nargs="?", default=None)
    replay.add_argument(
        "--all",
        default=None,
        metavar="DIR",
        help="replay every run directory under DIR on the executor below (each compared, or re-judged)",
    )
    executor_options(replay)
    replay.add_argument("--quiet", action="store_true", help="with --all: no progress display")
    _acceptance_options(replay)
    replay.add_argument(
        "--steady",
        action="append",
        default=[],
        metavar="QUANTITY=FLUCT,TREND",
        help="re-judge steadiness with these limits (fractions), e.g. flow_m3_s=0.03,0.01; repeatable",
    )
    replay.add_argument(
        "--through-bench",
        action="store_true",
        help="play the logged values back through the emulators, drivers and runner (a replay "
        "bench) and compare the new run's points with the recorded ones",
    )
    replay.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="with --through-bench: parent of the new run directory (default RUN_DIR/replay-bench)",
    )
    replay.set_defaults(handler=cmd_replay)

    report = sub.add_parser(
        "report", help="write a self-contained HTML test report and CSV exports for a run"
    )
    report.add_argument(
        "run_dir", metavar="RUN_DIR", help="a run directory, or a replay-* directory inside one"
    )
    report.add_argument(
        "--out", default=None, metavar="FILE", help=f"HTML file to write (default RUN_DIR/{REPORT})"
    )
    report.set_defaults(handler=cmd_report)

    calibrate = sub.add_parser(
        "calibrate", help="fit the pump model (psi, eta, NPSH3, drive map) to bench runs"
    )
    calibrate.add_argument(
        "run_dirs",
        nargs="+",
        metavar="RUN_DIR",
        help="run directories (performance-curve and npsh3 runs); non-completed runs are skipped",
    )
    calibrate.add_argument(
        "--out",
        default="pump_model.json",
        metavar="FILE",
        help="pump model file to write (default: pump_model.json)",
    )
    calibrate.set_defaults(handler=cmd_calibrate)

    optimize = sub.add_parser(
        "optimize", help="size the feed system for a mission: pump requirements and masses"
    )
    optimize.add_argument(
        "--mission", required=True, metavar="FILE", help="mission file (sample: hil/data/lander_mission.toml)"
    )
    optimize.add_argument(
        "--pump-model",
        default=None,
        metavar="FILE",
        help="pump model from 'hil calibrate' (default: an uncalibrated literature pump)",
    )
    optimize.add_argument("--json", default=None, metavar="FILE", help="also write the full report as JSON")
    optimize.add_argument(
        "--extrapolate",
        action="store_true",
        help="allow the pump outside its calibrated envelope (warns loudly instead of refusing)",
    )
    optimize.add_argument(
        "--monte-carlo",
        type=int,
        default=0,
        metavar="N",
        help="also sample the calibration covariance and the mission's [uncertainty] N times at the optimum",
    )
    optimize.add_argument("--seed", type=int, default=0, help="seed of the Monte Carlo draws (default 0)")
    optimize.set_defaults(handler=cmd_optimize)
    add_commands(sub)
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
