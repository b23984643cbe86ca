"""The fleet's commands: ``hil runs index|list|show|query|trend``, ``hil campaign`` and the work of
``hil replay --all``.

:func:`add_commands` adds the subcommands to the CLI's parser; each handler takes the parsed
arguments and the output stream and returns the exit status (0 done, 1 a run or replay failed;
a ConfigError, which the CLI turns into status 2, for bad input). Progress goes to stderr, results
to the output as tables, and with ``--json FILE`` to a file for scripts.

Imports this package and :mod:`hil.results` (replay settings); never the CLI module.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from hil.core.errors import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1

LIST_COLUMNS = ("path", "procedure", "pump_serial", "status", "verdict", "points", "trips", "start_utc")


def _progress(quiet: bool) -> Any:
    def show(message: str) -> None:
        if not quiet:
            print(message, file=sys.stderr, flush=True)

    return show


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join(line.rstrip() for line in lines)


def _write_json(path: str | None, document: Any) -> None:
    if path:
        Path(path).write_text(json.dumps(document, indent=2, default=str) + "\n", encoding="utf-8")


def _filter(args: argparse.Namespace) -> Any:
    from hil.fleet.catalogue import RunFilter

    return RunFilter(
        pump_serial=args.pump,
        procedure=args.procedure,
        status=args.status,
        verdict=args.verdict,
        campaign=args.campaign,
        since_utc=args.since,
        until_utc=args.until,
    )


# --------------------------------------------------------------------------- hil runs
def cmd_runs_index(args: argparse.Namespace, out: TextIO) -> int:
    from hil.fleet.catalogue import catalogue_path, rebuild

    runs_dir = Path(args.dir)
    if not runs_dir.is_dir():
        raise ConfigError(str(runs_dir), "", "no such runs directory")
    outcome = rebuild(runs_dir)
    out.write(f"indexed {outcome.indexed} runs into {catalogue_path(runs_dir)}\n")
    for path, why in sorted(outcome.unreadable.items()):
        out.write(f"  not indexed: {path}: {why}\n")
    return EXIT_OK


def cmd_runs_list(args: argparse.Namespace, out: TextIO) -> int:
    from hil.fleet.catalogue import as_rows, list_runs

    runs = list_runs(Path(args.dir), _filter(args))
    out.write(_table(LIST_COLUMNS, as_rows(runs, LIST_COLUMNS)) + "\n")
    out.write(f"{len(runs)} runs\n")
    _write_json(args.json, runs)
    return EXIT_OK


def cmd_runs_show(args: argparse.Namespace, out: TextIO) -> int:
    from hil.fleet.catalogue import show_run

    run = show_run(Path(args.dir), args.run)
    for key, value in run.items():
        if key in ("quantities", "npsh3"):
            continue
        out.write(f"{key:<14} {value if value is not None else '-'}\n")
    for name, value in run["quantities"].items():
        out.write(f"  {name:<26} {value:.6g}\n")
    for row in run["npsh3"]:
        out.write(
            f"  NPSH3 at {row['flow_target_m3_s'] * 1000:.4g} L/s: {row['npsh3_m']} m "
            f"(+/- {row['npsh3_uncertainty_m']} m, {row['status']})\n"
        )
    _write_json(args.json, run)
    return EXIT_OK


def cmd_runs_query(args: argparse.Namespace, out: TextIO) -> int:
    from hil.fleet.catalogue import query

    columns, rows = query(Path(args.dir), args.sql)
    out.write(_table(columns, [["-" if v is None else str(v) for v in row] for row in rows]) + "\n")
    _write_json(args.json, [dict(zip(columns, row)) for row in rows])
    return EXIT_OK


def cmd_runs_trend(args: argparse.Namespace, out: TextIO) -> int:
    from hil.fleet.catalogue import trend

    rows = trend(Path(args.dir), args.quantity, _filter(args))
    columns = ("start_utc", "pump_serial", "pump_build", "status", "verdict", "value", "path")
    cells = [
        ["-" if r[c] is None else (f"{r[c]:.6g}" if c == "value" else str(r[c])) for c in columns]
        for r in rows
    ]
    out.write(_table(columns, cells) + "\n")
    if args.plot:
        _plot_trend(rows, args.quantity, Path(args.plot))
        out.write(f"plot written to {args.plot}\n")
    _write_json(args.json, rows)
    return EXIT_OK


def _plot_trend(rows: Sequence[dict[str, Any]], quantity: str, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, axes = plt.subplots(figsize=(8, 4))
    try:
        labels = [f"{r['start_utc'][:16] if r['start_utc'] else r['path']}" for r in rows]
        values = [r["value"] for r in rows]
        axes.plot(range(len(values)), values, marker="o")
        axes.set_xticks(range(len(values)))
        axes.set_xticklabels(labels, rotation=45, ha="right", fontsize=7)
        axes.set_ylabel(quantity)
        axes.set_title(f"{quantity} across {len(values)} runs")
        axes.grid(True, alpha=0.3)
        figure.tight_layout()
        figure.savefig(path)
    finally:
        plt.close(figure)


def _runs_dir_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "dir", nargs="?", default="runs", metavar="DIR", help="runs directory (default: runs)"
    )


def _filter_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pump", default=None, metavar="SERIAL", help="pump serial (from the pump file)")
    parser.add_argument("--procedure", default=None)
    parser.add_argument(
        "--status", default=None, choices=("completed", "aborted", "error", "interrupted", "running")
    )
    parser.add_argument(
        "--verdict", default=None, type=str.upper, choices=("PASS", "FAIL", "INVALID", "NOT JUDGED")
    )
    parser.add_argument("--campaign", default=None, metavar="NAME")
    parser.add_argument(
        "--since", default=None, metavar="DATE", help="started on or after (ISO date or time, UTC)"
    )
    parser.add_argument(
        "--until", default=None, metavar="DATE", help="started before the end of (ISO date, UTC)"
    )
    parser.add_argument("--json", default=None, metavar="FILE", help="also write the rows as JSON")


# --------------------------------------------------------------------------- hil campaign
def cmd_campaign(args: argparse.Namespace, out: TextIO) -> int:
    from hil.fleet.campaign import load_campaign
    from hil.fleet.catalogue import record_run
    from hil.fleet.execution import RunRecord, run_campaign
    from hil.fleet.executor import open_executor
    from hil.fleet.reanalysis import campaign_summary, format_distributions

    source = Path(args.file)
    campaign = load_campaign(source, Path(args.out) if args.out else None)
    runs_dir = campaign.directory.parent
    show = _progress(args.quiet)

    def catalogue(record: RunRecord) -> None:
        warning = record_run(runs_dir, Path(record.directory), record.entry)
        if warning:
            print(f"hil: warning: {warning}", file=sys.stderr)

    with open_executor(args.scheduler, args.workers) as executor:
        outcome = run_campaign(campaign, executor, show, catalogue, campaign_file=source)
    counts = ", ".join(f"{n} {status}" for status, n in sorted(outcome.by_status().items()))
    out.write(f"campaign {campaign.name}: {len(campaign.runs)} runs in {campaign.directory}\n")
    out.write(f"  {counts or 'no run'}; {outcome.skipped} were already finished\n")
    for key, error in sorted(outcome.failures.items()):
        out.write(f"  FAILED {key}: {error}\n")
    out.write(
        "\n" + format_distributions(campaign_summary([Path(r.directory) for r in outcome.records], runs_dir))
    )
    out.write("\n")
    _write_json(
        args.json,
        {
            "campaign": campaign.name,
            "directory": str(campaign.directory),
            "runs": [{k: v for k, v in vars(r).items() if k != "entry"} for r in outcome.records],
            "failures": outcome.failures,
        },
    )
    return EXIT_FAILED if outcome.failures else EXIT_OK


def executor_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scheduler",
        default=None,
        metavar="tcp://HOST:PORT",
        help="run on an existing Dask cluster (its workers must see the same files at the same paths)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes of a local Dask cluster on loopback (default: one per core; 0: in this process)",
    )


def add_commands(sub: Any) -> None:
    """Add ``runs`` and ``campaign`` to the CLI's subcommands."""
    runs = sub.add_parser("runs", help="the run catalogue: index, list, show, query, trend").add_subparsers(
        dest="runs_command", required=True
    )
    index = runs.add_parser(
        "index", help="rebuild the catalogue of a runs directory from its run directories"
    )
    _runs_dir_argument(index)
    index.set_defaults(handler=cmd_runs_index)

    listing = runs.add_parser("list", help="list catalogued runs, filtered")
    _runs_dir_argument(listing)
    _filter_options(listing)
    listing.set_defaults(handler=cmd_runs_list)

    show = runs.add_parser("show", help="everything the catalogue holds about one run")
    show.add_argument(
        "run", metavar="RUN", help="the run's path in the runs directory, or a unique end of it"
    )
    _runs_dir_argument(show)
    show.add_argument("--json", default=None, metavar="FILE")
    show.set_defaults(handler=cmd_runs_show)

    query = runs.add_parser(
        "query", help="a read-only SQL query on the catalogue (tables runs, quantities, npsh3)"
    )
    query.add_argument("sql", metavar="SQL")
    _runs_dir_argument(query)
    query.add_argument("--json", default=None, metavar="FILE")
    query.set_defaults(handler=cmd_runs_query)

    trend = runs.add_parser(
        "trend", help="one quantity across runs (e.g. guarantee_head_m), as a table and a plot"
    )
    trend.add_argument(
        "quantity", metavar="QUANTITY", help="e.g. bep_head_m, guarantee_head_m, npsh3_m@0.0004"
    )
    _runs_dir_argument(trend)
    _filter_options(trend)
    trend.add_argument("--plot", default=None, metavar="FILE", help="also plot it (PNG, SVG or PDF)")
    trend.set_defaults(handler=cmd_runs_trend)

    campaign = sub.add_parser(
        "campaign", help="run a campaign file's matrix of virtual-bench runs in parallel"
    )
    campaign.add_argument("file", metavar="CAMPAIGN.toml")
    executor_options(campaign)
    campaign.add_argument(
        "--out",
        default=None,
        metavar="DIR",
        help="runs directory to put the campaign in (default: the file's out)",
    )
    campaign.add_argument("--quiet", action="store_true", help="no progress display")
    campaign.add_argument(
        "--json", default=None, metavar="FILE", help="also write every run's outcome as JSON"
    )
    campaign.set_defaults(handler=cmd_campaign)


# --------------------------------------------------------------------------- hil replay --all
def replay_all(args: argparse.Namespace, changes: Any, out: TextIO) -> int:
    """``hil replay --all DIR``: every run directory under DIR, on the executor the options name."""
    from hil.fleet.catalogue import find_run_directories
    from hil.fleet.executor import open_executor
    from hil.fleet.reanalysis import replay_many

    root = Path(args.all)
    if not root.is_dir():
        raise ConfigError(str(root), "", "no such runs directory")
    directories = find_run_directories(root)
    with open_executor(args.scheduler, args.workers) as executor:
        summaries = replay_many(directories, executor, changes, _progress(args.quiet))
    columns = ("run", "result", "written to")
    rows = []
    for s in summaries:
        if s.error:
            result = f"error: {s.error}"
        elif s.rejudged:
            result = s.verdict or "re-judged"
        else:
            result = "equal" if s.equal else f"{s.differences} differences, first: {s.first_difference}"
        rows.append([s.directory, result, s.written_to or "-"])
    out.write(_table(columns, rows) + "\n")
    bad = [s for s in summaries if s.error or (not s.rejudged and not s.equal)]
    out.write(f"{len(summaries)} runs replayed, {len(bad)} failed or differ\n")
    return EXIT_FAILED if bad else EXIT_OK
