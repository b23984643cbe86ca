"""Opening and closing the live views around one run (``hil run --console``, the terminal view).

Imports the console's own modules and :mod:`hil.run.stream`. The web server (uvicorn, starlette,
asyncio) and the terminal view (rich) are imported only when the run asks for them: every ``hil run``
imports this module, and the web server alone took a third of a second of its start-up.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import TYPE_CHECKING, TextIO

from hil.bench.config import BenchLimits
from hil.core.errors import ConfigError
from hil.run.stream import RunStream

if TYPE_CHECKING:
    from hil.console.server import ConsoleServer


@contextmanager
def watching(
    stream: RunStream,
    limits: BenchLimits,
    err: TextIO = sys.stderr,
    console: bool = False,
    bind: str = "127.0.0.1",
    port: int = 0,
    terminal: bool = True,
) -> Iterator[ConsoleServer | None]:
    """Serve the web console and/or draw the terminal view while the ``with`` body runs the run.

    The console's address, with the run's token, goes on ``err`` as one line ``console: URL``
    before the run starts. A console that cannot listen (address in use, no such address) is a
    usage error before anything moves.
    """
    with ExitStack() as stack:
        server = None
        if console:
            from hil.console.feeds import StreamFeed
            from hil.console.server import ConsoleServer, is_loopback

            try:
                server = ConsoleServer(StreamFeed(stream), limits, stream, bind=bind, port=port)
            except OSError as exc:
                raise ConfigError(
                    "command line",
                    "--console-bind/--console-port",
                    f"cannot listen on {bind} port {port}: {exc.strerror or exc}",
                ) from exc
            server.start()
            stack.callback(server.close)
            err.write(f"console: {server.url_with_token}\n")
            if not is_loopback(bind):
                err.write(
                    f"console: warning: listening on {bind}: whoever reaches it can watch the run "
                    "(Stop still needs the token)\n"
                )
            err.flush()
        if terminal:
            from hil.console.terminal import TerminalView

            view = TerminalView(stream, limits, err, interactive=err.isatty())
            view.start()
            stack.callback(view.close)
        yield server
