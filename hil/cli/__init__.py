"""The ``hil`` command: one subcommand for each job a user has.

Exit status: 0 done (and, for a judged run, PASS), 1 error (instrument, I/O, a bug; for replay: a
recomputed result differs), 2 usage or configuration error, 3 aborted (interlock trip or operator
stop), 4 the acceptance verdict is FAIL, 5 the verdict is INVALID or NOT JUDGED (the test cannot
prove the guarantee either way). Input errors print one clear line, never a traceback.

This package is the top layer: it may import every other ``hil`` package. Each subcommand group has
its module, which adds its subcommands to the parser and holds their handlers: :mod:`.sim`
(``sim serve``), :mod:`.bench` (``bench check|read|set``), :mod:`.procedures`, :mod:`.run`,
:mod:`.console`, :mod:`.replay` (``replay``, ``report``), :mod:`.model` (``calibrate``,
``optimize``); ``runs`` and ``campaign`` come from :mod:`hil.fleet.commands`. What they share (exit
statuses, output-path checks, common options) is in :mod:`.common`. Here: the parser, in the order
``hil --help`` lists the subcommands, and :func:`main`, the one place errors become exit statuses.
Handlers import what they need when they run, so ``hil --help`` stays quick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TextIO

from hil import __version__
from hil.cli import bench, console, model, procedures, replay, run, sim
from hil.cli.common import (
    EXIT_ABORTED,
    EXIT_ERROR,
    EXIT_FAIL,
    EXIT_INVALID,
    EXIT_OK,
    EXIT_USAGE,
    FAULT_HELP,
)
from hil.core.errors import ConfigError, HilError, InterlockTrip, OperatorStop
from hil.fleet.commands import add_commands as add_fleet_commands

__all__ = [
    "EXIT_ABORTED",
    "EXIT_ERROR",
    "EXIT_FAIL",
    "EXIT_INVALID",
    "EXIT_OK",
    "EXIT_USAGE",
    "FAULT_HELP",
    "build_parser",
    "main",
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hil", description="Hardware-in-the-loop test harness for electric pumps."
    )
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (sim, bench, procedures, run, console, replay, model):
        group.add_commands(sub)
    add_fleet_commands(sub)
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
