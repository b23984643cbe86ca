"""``hil replay`` and ``hil report``: a recorded run directory recomputed, compared or re-judged, and
written up as an HTML report with CSV exports.

May import :mod:`hil.cli.common`, :mod:`hil.store.names` and :mod:`hil.fleet.commands` (the executor
options of ``--all``) and, inside the handlers, :mod:`hil.results` and :mod:`hil.fleet`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from hil.cli.common import (
    EXIT_ERROR,
    EXIT_OK,
    acceptance_options,
    check_output_file,
    verdict_status,
)
from hil.core.errors import ConfigError
from hil.fleet.commands import executor_options
from hil.store.names import REPORT

if TYPE_CHECKING:
    from hil.store.checksums import Integrity


def cmd_replay(args: argparse.Namespace, out: TextIO) -> int:
    from hil.results.replay import ReplayChanges, format_outcome, parse_steady_limit, replay_run
    from hil.results.verdict_text import format_verdict_table

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
    modified = _say_integrity(outcome.integrity, out)
    out.write(format_outcome(outcome) + "\n")
    if outcome.acceptance is not None:
        out.write("\n" + format_verdict_table(outcome.acceptance) + "\n")
    if not outcome.equal or modified:
        return EXIT_ERROR
    return verdict_status(outcome.acceptance)


def _say_integrity(integrity: Integrity | None, out: TextIO) -> bool:
    """Files modified after the run, as warnings on stderr before anything else (True if any);
    a run without checksums, as a note."""
    if integrity is None:
        return False
    for problem in integrity.problems:
        print(f"hil: warning: {problem}", file=sys.stderr)
    if not integrity.recorded:
        out.write(f"note: {integrity.note}\n")
    return integrity.modified


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


def cmd_report(args: argparse.Namespace, out: TextIO) -> int:
    from hil.results.report import write_report

    if args.out:
        check_output_file(args.out, "--out")
    from hil.store.run_log import RunLog

    modified = _say_integrity(RunLog.open(Path(args.run_dir)).integrity, out)
    written = write_report(Path(args.run_dir), Path(args.out) if args.out else None)
    for path in written:
        out.write(f"wrote {path}\n")
    if modified:
        out.write("the report opens with a banner naming the files modified after the run\n")
        return EXIT_ERROR
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hil replay`` and ``hil report``."""
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
    acceptance_options(replay)
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
