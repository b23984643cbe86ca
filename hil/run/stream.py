"""The run's outbound stream: what a live view (web console, terminal view) sees of a run.

The runner publishes, as they happen, each tick's row of samples, every event, every operating point
with its values, the procedure's progress and the steady-state judgement of the current point as it
evolves; the session publishes the run's start (its metadata) and end (status and reason). Viewers
subscribe.

A subscription is two bounded deques (rows; everything else) that drop their oldest item when full.
So publishing never blocks, never raises and costs one ``deque.append`` per subscriber: a viewer that
reads slowly, or never, only loses what it did not read, and the run goes on exactly as without it.
Rows and messages are kept apart so that a flood of rows never pushes out an event.

Viewers never call into the runner. What a viewer asks for (a safe stop, a refused request that
must go in the event log) is queued here, and the runner takes it at its next tick, in its own
thread, exactly as a signal handler's stop request: the run directory changes only through the
runner, at a tick boundary.

The deques are shared between the runner's thread and a viewer's thread: ``append`` and ``popleft``
of :class:`collections.deque` are atomic in CPython, which is all the synchronisation this needs.

Imports nothing from the rest of the project.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

ROW_CAPACITY = 4096
"""Rows a subscription keeps unread before it drops the oldest (minutes of a real bench at 10 Hz)."""
MESSAGE_CAPACITY = 2048
"""Events, points, progress and steady-state messages kept unread before the oldest is dropped."""


@dataclass(frozen=True)
class Message:
    """One published item other than a row: ``kind`` is "start", "event", "point", "progress",
    "steady" or "end"; ``fields`` is JSON-ready."""

    kind: str
    fields: dict[str, Any]


@dataclass
class Subscription:
    """What one viewer has not read yet; bounded, dropping the oldest."""

    rows: deque[tuple[float, tuple[float, ...]]] = field(default_factory=lambda: deque(maxlen=ROW_CAPACITY))
    messages: deque[Message] = field(default_factory=lambda: deque(maxlen=MESSAGE_CAPACITY))

    def take_rows(self) -> list[tuple[float, tuple[float, ...]]]:
        """Every unread row, oldest first: (run time in s, values in the stream's channel order)."""
        return _drain(self.rows)

    def take_messages(self) -> list[Message]:
        return _drain(self.messages)


def _drain(queue: deque[Any]) -> list[Any]:
    items = []
    while True:
        try:
            items.append(queue.popleft())
        except IndexError:
            return items


class RunStream:
    """Fan-out of one run to any number of viewers, and their requests back to the runner."""

    def __init__(self) -> None:
        self.channels: tuple[str, ...] = ()
        self._subscribers: tuple[Subscription, ...] = ()
        self._requests: deque[tuple[str, dict[str, Any]]] = deque(maxlen=64)
        self._history: list[Message] = []

    # ------------------------------------------------------------------ viewers
    def subscribe(self) -> Subscription:
        """A new subscription; it first receives the run's start and end messages, if already sent."""
        subscription = Subscription()
        for message in self._history:
            subscription.messages.append(message)
        self._subscribers = (*self._subscribers, subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        self._subscribers = tuple(s for s in self._subscribers if s is not subscription)

    def request_stop(self, reason: str) -> None:
        """Ask for the safe stop of Ctrl-C; the runner performs it at its next tick."""
        self._requests.append(("stop", {"reason": reason}))

    def request_event(self, kind: str, /, **fields: Any) -> None:
        """Ask the runner to log an event (a refused control request) at its next tick."""
        self._requests.append((kind, fields))

    # ------------------------------------------------------------------ the run's side
    def start(self, channels: Sequence[str], metadata: dict[str, Any]) -> None:
        """The run has started: its channels (the order of every row's values) and its metadata."""
        self.channels = tuple(channels)
        self.publish_message(Message("start", {"channels": list(channels), **metadata}))

    def row(self, time_s: float, values: Sequence[float]) -> None:
        item = (time_s, tuple(values))
        for subscription in self._subscribers:
            subscription.rows.append(item)

    def publish(self, kind: str, /, **fields: Any) -> None:
        self.publish_message(Message(kind, fields))

    def publish_message(self, message: Message) -> None:
        if message.kind in ("start", "end"):
            self._history.append(message)  # a viewer that subscribes late still learns of these
        for subscription in self._subscribers:
            subscription.messages.append(message)

    def take_requests(self) -> list[tuple[str, dict[str, Any]]]:
        """The viewers' requests since the last call, oldest first (the runner's tick calls this)."""
        return _drain(self._requests) if self._requests else []
