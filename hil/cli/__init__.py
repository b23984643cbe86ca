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
from collections.abc import Callable, Sequence
from typing import Any, TextIO

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


_GROUPS: tuple[tuple[Callable[[Any], None], tuple[str, ...]], ...] = (
    (sim.add_commands, ("sim",)),
    (bench.add_commands, ("bench",)),
    (procedures.add_commands, ("procedures",)),
    (run.add_commands, ("run",)),
    (console.add_commands, ("console",)),
    (replay.add_commands, ("replay", "report")),
    (model.add_commands, ("calibrate", "optimize")),
    (add_fleet_commands, ("runs", "campaign")),
)
"""Each module's ``add_commands`` and the subcommands it adds, in the order ``hil --help`` lists them
(``tests/unit/test_cli_parser.py`` checks the names against the parsers the modules make)."""
_COMMANDS = "{" + ",".join(name for _, names in _GROUPS for name in names) + "}"


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The ``hil`` parser; given a subcommand's name, only its module's subcommands are built.

    Building every subcommand's parser costs 8-13 ms of CPU (63 parsers, each looking up its
    translated help texts on disk, and about 120 options), that of ``replay`` and ``report`` alone
    1.2-1.8 ms, ``procedures`` 0.5-0.8 ms (medians of 40 interleaved in one process, load 4): paid
    by every command before it starts and by every in-process call of :func:`main` (the test suite
    makes hundreds). With one module's,
    ``hil replay`` parses exactly as before: the list of subcommands the usage line shows is written
    out (``metavar``), so help and error messages read the same whichever parser is built. A name
    that is no subcommand (``--help``, ``--version``, a typo, nothing) gets the whole parser.
    """
    parser = argparse.ArgumentParser(
        prog="hil", description="Hardware-in-the-loop test harness for electric pumps."
    )
    parser.add_argument("--version", action="version", version=f"hil {__version__}")
    chosen = [add for add, names in _GROUPS if command in names]
    # Written out only for a part: the whole parser's own list is the same text, and its errors about
    # the subcommand itself ("argument command: invalid choice") name the argument as before.
    sub = parser.add_subparsers(dest="command", required=True, metavar=_COMMANDS if chosen else None)
    for add_commands in chosen or [add for add, _ in _GROUPS]:
        add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(arguments[0] if arguments else None)
    args = parser.parse_args(arguments)
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
