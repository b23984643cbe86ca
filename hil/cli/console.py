"""``hil console``: the web console of a run directory, following a running run or showing a
finished one.

May import :mod:`hil.cli.common` and, inside the handler, :mod:`hil.console`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

from hil.cli.common import EXIT_OK, console_options
from hil.core.errors import ConfigError


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


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hil console``."""
    console = sub.add_parser(
        "console", help="the web console of a run directory: follows a running run, or shows a finished one"
    )
    console.add_argument("run_dir", metavar="RUN_DIR")
    console_options(console)
    console.set_defaults(handler=cmd_console)
