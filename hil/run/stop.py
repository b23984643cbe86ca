"""Ctrl-C and SIGTERM as one safe stop, from the first instant of ``hil run`` to its last.

A signal handler that raises (Python's default ``KeyboardInterrupt``) can interrupt anything: an
import, the start of the virtual bench, the final safe state, the close of the run directory, the
derived results. So while a run command lives, SIGINT and SIGTERM only *record* a stop request:

* before the run starts (imports, connecting, starting the virtual bench) the request is honoured at
  the next checkpoint (:meth:`StopRequests.check`) by an :class:`~hil.core.errors.OperatorStop`:
  nothing has been commanded, nothing moves, the command exits non-zero;
* from the moment the runner exists (:meth:`StopRequests.attach`) a request becomes the runner's safe
  stop at its next tick: every actuator to its safe state, the spin-down logged, status ``aborted``;
* after the procedure (safe state, close, derived results) further requests change nothing: the
  close always completes, so a burst of signals never leaves a run directory half written.

Repeated signals are one request (the first one's name is recorded). Handlers can only be installed
from the main thread; elsewhere (a test harness calling the library) they are left alone.

Imports only :mod:`hil.core.errors`.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from hil.core.errors import OperatorStop

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stoppable(Protocol):
    def request_stop(self, reason: str) -> None: ...


class StopRequests:
    """The stop requests of one command, and where they go at each stage of its life."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self._runner: Stoppable | None = None
        self._run_over = False

    @property
    def requested(self) -> bool:
        return bool(self.received)

    @contextmanager
    def installed(self) -> Iterator[StopRequests]:
        """SIGINT and SIGTERM record a request while the block runs; the old handlers afterwards."""
        previous: dict[int, Any] = {}
        for number in STOP_SIGNALS:
            try:
                previous[number] = signal.signal(number, self._handle)
            except ValueError:  # not the main thread: leave the handlers alone
                pass
        try:
            yield self
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def _handle(self, signum: int, _frame: object) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if self._runner is not None and not self._run_over:
            self._runner.request_stop(self.received[0])

    def request(self, name: str) -> None:
        """Record a request as a signal would (a stop from elsewhere, and tests)."""
        self._handle(signal.Signals[name].value, None)

    def check(self, stage: str) -> None:
        """A checkpoint before the run starts: raise OperatorStop if a stop was asked for."""
        if self.received and self._runner is None:
            raise OperatorStop(
                f"{self.received[0]} while {stage}: stopped before the run started, nothing was moved"
            )

    def attach(self, runner: Stoppable) -> None:
        """From now on a request is the runner's safe stop; one already received becomes it at once."""
        self._runner = runner
        if self.received:
            runner.request_stop(self.received[0])

    def run_over(self) -> None:
        """The procedure has ended (completed, stopped or failed): later requests change nothing."""
        self._run_over = True
