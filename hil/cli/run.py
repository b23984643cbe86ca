"""``hil run``: a procedure on a bench, then the derived results, the catalogue entry and the tables
printed for the operator (operating points, NPSH3, verdict, declared measurements).

May import :mod:`hil.cli.common` and, inside the handler, everything below the CLI it needs (bench
file, session, procedure catalogue, derive step, console, fleet catalogue): imported only when the
command runs, so ``hil --help`` and the run's first tick stay quick.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from hil.cli.common import (
    EXIT_ABORTED,
    EXIT_ERROR,
    EXIT_FAIL,
    EXIT_OK,
    FAULT_HELP,
    acceptance_options,
    check_output_directory,
    check_output_file,
    console_options,
    parse_overrides,
    verdict_status,
    warn,
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
    from hil.results.acceptance_settings import SETTINGS_KEY, resolve_settings
    from hil.run.procedure_catalogue import load
    from hil.run.session import run_procedure
    from hil.run.stream import RunStream

    check_output_directory(args.out, "--out")
    if args.json:
        check_output_file(args.json, "--json")
    config = load_bench(args.bench)  # parsed once; everything below gets the parsed file
    settings = resolve_settings(
        config.geometry.rated_speed_rpm, args.pump, args.guarantee, args.grade, args.grades
    )
    spec, source = load(args.procedure)
    values = spec.resolve(parse_overrides(args.param))
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
            procedure_file=source.content,
        )
    if result.storage_error:
        return _refused_write(result, out)
    # Derived from the closed run directory, exactly as ``hil replay`` derives them (imported only
    # now: the derive step needs pandas, the catalogue the fleet package (tomlkit, the campaign
    # model), which would delay the run's first tick).
    from hil.fleet.catalogue import record_run
    from hil.results.derive import derive_run
    from hil.results.npsh3 import format_npsh3_table
    from hil.results.verdict_text import format_verdict_table

    derived = derive_run(result.directory)
    acceptance = derived.acceptance
    warn(record_run(Path(args.out), result.directory))  # the catalogue of --out indexes it at once
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
    status = verdict_status(acceptance)
    if status == EXIT_OK and isinstance(measured, list) and any(r["verdict"] != "PASS" for r in measured):
        return EXIT_FAIL  # a declared measurement outside its limits fails the run like a verdict
    return status


def _refused_write(result: Any, out: TextIO) -> int:
    """A run the disk stopped (full, or an I/O error): it stopped safely; say what was not written
    and where everything measured is. Its results are derived by ``hil replay`` once there is space."""
    ended = (
        "the run had completed"
        if result.status == "completed"
        else f"the run was stopped safely ({result.status})"
    )
    print(
        f"hil: error: {result.storage_error}; {ended}: its {len(result.points)} point(s) and its log "
        f"up to the failure are in {result.directory}; once there is space, "
        f"'hil replay {result.directory}' derives its results",
        file=sys.stderr,
    )
    for instrument, problem in result.safe_state_problems.items():
        print(f"hil: SAFE STATE NOT CONFIRMED: {instrument}: {problem}", file=sys.stderr)
    out.write(f"\nrun directory: {result.directory}\nstatus: {result.status} ({result.reason})\n")
    if result.points:
        out.write(_points_table(result.points) + "\n")
    return EXIT_ABORTED if result.status == "aborted" else EXIT_ERROR


def _measurements_table(rows: list[dict[str, Any]]) -> str:
    lines = [f"{'measurement':<30} {'value':>12} {'unit':<6} {'limits':<24} verdict"]
    for r in rows:
        low = "-inf" if r["low"] != r["low"] else f"{r['low']:g}"
        high = "+inf" if r["high"] != r["high"] else f"{r['high']:g}"
        tolerance = f"  ({r['tolerance']})" if r.get("tolerance") else ""
        lines.append(
            f"{r['name']:<30} {r['value']:>12.6g} {r['unit']:<6} {'[' + low + ', ' + high + ']':<24} {r['verdict']}"
            + tolerance
        )
    return "\n".join(lines)


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


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hil run``."""
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
    console_options(run)
    run.add_argument(
        "--attach",
        default=None,
        metavar="HOST:PORT",
        help="drive a virtual bench served by 'hil sim serve --clock lockstep' (its clock endpoint)",
    )
    run.add_argument("--fault", action="append", default=[], metavar="KIND@SECONDS", help=FAULT_HELP)
    acceptance_options(run)
    run.add_argument(
        "--operator", default=None, help="who ran the test (recorded in the metadata and report)"
    )
    run.add_argument("--witness", default=None, help="who witnessed it (recorded in the metadata and report)")
    run.set_defaults(handler=cmd_run)
