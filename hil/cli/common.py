"""What every ``hil`` subcommand shares: the exit statuses, the start-up checks of output paths, the
verdict-to-status mapping, ``-p NAME=VALUE`` parsing, warnings on stderr and the option groups
several subcommands take (acceptance settings, console address, fault injection).

Exit status: 0 done (and, for a judged run, PASS), 1 error (instrument, I/O, a bug; for replay: a
recomputed result differs), 2 usage or configuration error, 3 aborted (interlock trip or operator
stop), 4 the acceptance verdict is FAIL, 5 the verdict is INVALID or NOT JUDGED.

May import :mod:`hil.core` and, inside functions, :mod:`hil.results`; never another ``hil.cli`` module.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hil.core.errors import ConfigError

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_ABORTED, EXIT_FAIL, EXIT_INVALID = 0, 1, 2, 3, 4, 5

FAULT_HELP = (
    "inject a fault into the virtual bench at a bench time: KIND[:TARGET]@SECONDS[+DURATION], e.g. "
    "silence@5, disconnect:power@5+0.5; repeatable; kinds: timeout, silence, garble, bad-checksum, "
    "modbus-exception, disconnect, stuck, drift, nan, overload, overpressure, cavitation, "
    "motor-overtemp, controller-fault (see README, 'Safety and faults')"
)


def check_output_file(path: str, option: str) -> None:
    """Refuse at start-up, before anything moves, an output file that could not be written later."""
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise ConfigError("command line", option, f"{path} is a directory, expected a file to write")
    if not parent.is_dir():
        raise ConfigError("command line", option, f"cannot write {path}: directory {parent} does not exist")
    if not os.access(parent, os.W_OK) or (target.exists() and not os.access(target, os.W_OK)):
        raise ConfigError("command line", option, f"cannot write {path}: permission denied")


def check_output_directory(path: str, option: str) -> None:
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


def verdict_status(acceptance: dict[str, Any] | None) -> int:
    """0 without a judgement or on PASS; 4 on FAIL; 5 on INVALID or NOT JUDGED."""
    if acceptance is None:
        return EXIT_OK
    from hil.results.acceptance import FAIL, PASS, stated_verdict

    verdict = stated_verdict(acceptance)
    return {PASS: EXIT_OK, FAIL: EXIT_FAIL}.get(verdict, EXIT_INVALID)


def parse_overrides(items: Sequence[str]) -> dict[str, str]:
    """``-p NAME=VALUE`` items as a mapping of name to (unparsed) value text."""
    overrides = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ConfigError("command line", f"-p {item}", "expected NAME=VALUE")
        overrides[name.strip()] = value.strip()
    return overrides


def warn(warning: str | None) -> None:
    """One ``hil: warning:`` line on stderr, if there is a warning."""
    if warning:
        print(f"hil: warning: {warning}", file=sys.stderr)


def acceptance_options(parser: argparse.ArgumentParser) -> None:
    """The judging settings ``hil run`` and ``hil replay`` take."""
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


def console_options(parser: argparse.ArgumentParser) -> None:
    """Where the web console listens (``hil run --console`` and ``hil console``)."""
    parser.add_argument(
        "--console-bind",
        default="127.0.0.1",
        metavar="ADDRESS",
        help="address the console listens on (default 127.0.0.1, loopback only)",
    )
    parser.add_argument(
        "--console-port", type=int, default=0, metavar="PORT", help="console port (default: a free one)"
    )
