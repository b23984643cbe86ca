"""``hil calibrate`` and ``hil optimize``: the model side, from bench runs to a pump model and from a
mission to a sized feed system.

May import :mod:`hil.cli.common` and, inside the handlers, :mod:`hil.model`.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TextIO

from hil.cli.common import EXIT_OK
from hil.core.errors import ConfigError


def cmd_calibrate(args: argparse.Namespace, out: TextIO) -> int:
    from hil.model.calibration import calibrate_runs, format_calibration
    from hil.model.pump_model import save_pump_model

    calibration = calibrate_runs([Path(p) for p in args.run_dirs], accept_modified=args.accept_modified)
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


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hil calibrate`` and ``hil optimize``."""
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
    calibrate.add_argument(
        "--accept-modified",
        action="store_true",
        help="calibrate also from runs whose files were modified after the run (their SHA-256 "
        "differs from the one recorded at the close); the model's description says so",
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
