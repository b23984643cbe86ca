"""The web console: a live page for one run, served by Starlette on uvicorn in a background thread.

One hub task in the server's event loop takes what the feed has (a live run's stream subscription,
or a run directory's journal), folds it into a :class:`~hil.console.view.RunView`, and every
:data:`UPDATE_INTERVAL_S` of wall time encodes one delta frame, shared by every browser. So in
virtual time, however many ticks a wall second brings, a browser gets about ten updates a second,
and the run's thread does no more than append to the subscription's bounded deques. Each browser
has its own WebSocket task that sends the frames it has not had yet: a slow browser holds up only
its own task, and one that falls too far behind gets a fresh snapshot instead of the frames it
missed.

Security model (see the README): the socket binds to loopback unless told otherwise; on loopback,
requests must name a loopback host (against DNS rebinding) and a WebSocket's ``Origin``, when
given, must be the console's own page. Reading is open to whoever reaches the socket; the only
state-changing request, ``POST /api/stop``, needs the per-run random token in the ``X-Hil-Token``
header (a cross-site form cannot set a header); without it the answer is 403 and the refusal goes
in the run's event log. No GET changes anything. The page loads nothing from the internet: uPlot
(MIT, its licence beside it) is served from the package.

Imports :mod:`hil.console.view` and :mod:`hil.run.stream` (message types); the feed and the stop
callback are handed in, so the server never touches a runner or a run directory itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import secrets
import socket
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from hil.bench.config import BenchLimits
from hil.console.view import RunView
from hil.run.stream import Message

STATIC = Path(__file__).with_name("static")
UPDATE_INTERVAL_S = 0.1
"""Wall time between two updates to the browsers: about ten a second, whatever the run's pace."""
FRAMES_KEPT = 50
"""Frames kept for browsers that are behind; one further behind gets a snapshot."""
FINAL_FLUSH_S = 3.0
"""Longest wall time the console waits, once the run has ended, for browsers to get the end."""
TOKEN_HEADER = "x-hil-token"

Row = tuple[float, tuple[float, ...]]


class Feed(Protocol):
    """Where a console's data comes from: a live run's subscription or a run directory's journal."""

    def poll(self) -> tuple[list[Row], list[Message]]:
        """Everything new since the last call: rows (run time, values) and messages."""
        ...


class Control(Protocol):
    """How the console reaches the run: the same safe-stop request as Ctrl-C, and the event log."""

    def request_stop(self, reason: str) -> None: ...

    def request_event(self, kind: str, /, **fields: Any) -> None: ...


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


class ConsoleServer:
    """Serves the console of one run until :meth:`close`."""

    def __init__(
        self,
        feed: Feed,
        limits: BenchLimits | None,
        control: Control | None = None,
        bind: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.feed = feed
        self.view = RunView(limits)
        self.control = control
        self.token = secrets.token_urlsafe(24)
        self.bind = bind
        self._socket = socket.create_server((bind, port), family=_family(bind))
        self.port = int(self._socket.getsockname()[1])
        self._frames: deque[tuple[int, str]] = deque(maxlen=FRAMES_KEPT)
        self._new_frame: asyncio.Event | None = None
        self._sent: dict[int, int] = {}  # browser id -> last sequence sent
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._closing = False
        self._reported = False
        middleware = []
        if is_loopback(bind):
            middleware.append(
                Middleware(TrustedHostMiddleware, allowed_hosts=["127.0.0.1", "localhost", "::1", "[::1]"])
            )
        app = Starlette(
            routes=[
                Route("/", self._page, methods=["GET"]),
                Route("/api/snapshot", self._snapshot, methods=["GET"]),
                Route("/api/stop", self._stop, methods=["POST"]),
                WebSocketRoute("/api/stream", self._stream),
                Mount("/static", StaticFiles(directory=STATIC), name="static"),
            ],
            middleware=middleware,
            lifespan=self._lifespan,
        )
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="websockets-sansio",
            ws_ping_interval=None,  # loopback: a browser that goes away closes its TCP connection
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._serve, name="hil-console", daemon=True)

    @property
    def url(self) -> str:
        host = f"[{self.bind}]" if ":" in self.bind else self.bind
        return f"http://{host}:{self.port}/"

    @property
    def url_with_token(self) -> str:
        """The page's address with the token in the fragment: a browser never sends a fragment to a
        server, so the token stays out of logs and Referer headers; the page reads it from there."""
        return f"{self.url}#token={self.token}" if self.control is not None else self.url

    def start(self) -> ConsoleServer:
        self._thread.start()
        self._ready.wait(timeout=10.0)
        return self

    def wait(self) -> None:
        """Serve until the thread ends (Ctrl-C in the caller's thread interrupts the wait)."""
        while self._thread.is_alive():
            self._thread.join(timeout=1.0)

    def close(self) -> None:
        """Let browsers get the last frames (the run's end), then stop serving."""
        loop = self._loop
        if loop is not None and self._thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(self._final_flush(), loop)
            with contextlib.suppress(Exception):
                done.result(timeout=FINAL_FLUSH_S + 1.0)
        self._server.should_exit = True
        self._thread.join(timeout=10.0)
        self._socket.close()

    # ------------------------------------------------------------------ the hub
    def _serve(self) -> None:
        self._server.run(sockets=[self._socket])

    @contextlib.asynccontextmanager
    async def _lifespan(self, _app: Starlette) -> AsyncIterator[None]:
        self._loop = asyncio.get_running_loop()
        self._new_frame = asyncio.Event()
        hub = asyncio.create_task(self._hub())
        self._ready.set()
        try:
            yield
        finally:
            hub.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await hub

    async def _hub(self) -> None:
        while True:
            self.pump()
            await asyncio.sleep(UPDATE_INTERVAL_S)

    def pump(self) -> None:
        """Fold the feed's news into the view and publish one frame if anything changed."""
        try:
            rows, messages = self.feed.poll()
            self.view.feed(rows, messages)
            frame = self.view.delta()
            if frame is None:
                return
            if frame["type"] == "snapshot":
                frame["control"] = self.control is not None
            text = json.dumps(frame, allow_nan=False)
        except Exception as exc:  # noqa: BLE001 - a console fault must end neither the console nor the run
            self._report(exc)
            return
        self._frames.append((frame["sequence"], text))
        assert self._new_frame is not None
        self._new_frame.set()
        self._new_frame = asyncio.Event()

    async def _final_flush(self) -> None:
        self.pump()
        last = self.view.sequence
        deadline = asyncio.get_running_loop().time() + FINAL_FLUSH_S
        while any(sent < last for sent in self._sent.values()):
            if asyncio.get_running_loop().time() > deadline:
                break
            await asyncio.sleep(0.02)
        self._closing = True  # every browser's task ends, closing its socket
        assert self._new_frame is not None
        self._new_frame.set()

    def _report(self, exc: BaseException) -> None:
        """Say once on stderr that the console has a fault; the run is not affected."""
        if not self._reported:
            self._reported = True
            print(f"console: internal error (the run goes on): {exc!r}", file=sys.stderr, flush=True)

    def _snapshot_frame(self) -> dict[str, Any]:
        return {**self.view.snapshot(), "control": self.control is not None}

    # ------------------------------------------------------------------ routes
    async def _page(self, _request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def _snapshot(self, _request: Request) -> Response:
        return JSONResponse(self._snapshot_frame())

    async def _stop(self, request: Request) -> Response:
        client = request.client.host if request.client else "unknown"
        if self.control is None:
            return JSONResponse(
                {"error": "this console shows a run directory: stop the run where it runs"}, status_code=409
            )
        token = request.headers.get(TOKEN_HEADER, "")
        if not secrets.compare_digest(token.encode(), self.token.encode()):
            why = "no token" if not token else "wrong token"
            self.control.request_event("control_refused", request="stop", client=client, why=why)
            return JSONResponse(
                {"error": f"refused ({why}): Stop needs the token printed with the console's address"},
                status_code=403,
            )
        self.control.request_stop(f"stop from the console ({client})")
        return JSONResponse({"stopping": True}, status_code=202)

    async def _stream(self, websocket: WebSocket) -> None:
        origin = websocket.headers.get("origin")
        host = websocket.headers.get("host", "")
        if origin is not None and origin.rstrip("/") not in (f"http://{host}", f"https://{host}"):
            await websocket.close(code=1008)  # another site's page may not read the run
            return
        await websocket.accept()
        browser = id(websocket)
        sequence = self.view.sequence
        self._sent[browser] = sequence
        try:
            await websocket.send_text(json.dumps(self._snapshot_frame(), allow_nan=False))
            while not self._closing:
                waiting = self._new_frame
                if not self._frames or self._frames[-1][0] <= sequence:
                    assert waiting is not None
                    await waiting.wait()
                    continue
                if self._frames[0][0] > sequence + 1:  # fell behind: start afresh
                    sequence = self.view.sequence
                    await websocket.send_text(json.dumps(self._snapshot_frame(), allow_nan=False))
                else:
                    for number, text in list(self._frames):
                        if number > sequence:
                            await websocket.send_text(text)
                            sequence = number
                self._sent[browser] = sequence
            await websocket.close(code=1001)  # going away: the run has ended
        except (WebSocketDisconnect, OSError):
            pass  # the browser went away
        except Exception as exc:  # noqa: BLE001 - one browser's fault ends only its own connection
            self._report(exc)
        finally:
            self._sent.pop(browser, None)


def _family(bind: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in bind else socket.AF_INET
