"""Put device emulators on real transports: pseudo-terminals and TCP sockets on loopback.

An emulator is the instrument's side of a protocol: it takes the bytes a driver sent and returns the
bytes the instrument would answer (possibly nothing: real devices stay silent on a frame with a bad
checksum). :class:`EmulatorServer` runs one thread that multiplexes every endpoint with
``selectors``, so a bench of a dozen instruments costs one thread, and every reply is computed while
holding :attr:`EmulatorServer.lock`, the same lock the virtual bench holds while it advances the plant:
a reply never sees a half-stepped plant.

Serial instruments get a pty: the driver opens the slave path exactly like ``/dev/ttyUSB0``. TCP
instruments get a listening socket bound to loopback unless told otherwise; each connection gets a
fresh session from the endpoint's factory (protocol framing state is per connection, device state is
shared through whatever the factory closes over).

No client can stall the bench. All I/O is non-blocking and every link has its own bounded output
buffer, so a client that floods one link, or never reads its replies, costs that link alone: the
server thread never waits on any one file descriptor, and the plant (stepped under the same lock)
and every other link keep going. When a link's buffer is full the link behaves as its device would:

* a serial line (pty) has no flow control; a device keeps transmitting and whatever the host does
  not read is lost. Replies that do not fit in :data:`PTY_PENDING_LIMIT_BYTES` are dropped (counted
  in :attr:`LinkStats.dropped_bytes`).
* a TCP instrument stops reading once :data:`TCP_PENDING_LIMIT_BYTES` of replies wait unsent: its
  input buffer fills and TCP flow control pushes back on that client only (the client's own sends
  block or fail, nobody else's).

An emulator that raises on some input (a bug, or input no device should see) ends that session:
a TCP connection is closed, a pty drops the input; the server and every other link keep serving.
What happened is counted in :attr:`EmulatorServer.stats` per endpoint.

Must not import drivers/.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol, cast

LOOPBACK = "127.0.0.1"

READ_CHUNK_BYTES = 4096
"""Bytes taken from one link per turn: a flooding client gets its turn like every other link, and
the lock (which the plant also needs) is never held for a whole megabyte of frames."""

PTY_PENDING_LIMIT_BYTES = 16384
"""Replies a serial link keeps for a host that does not read; more is lost, as on a real line."""

TCP_PENDING_LIMIT_BYTES = 16384
"""Unsent replies after which a TCP link stops reading its client's requests (flow control)."""

TCP_SEND_BUFFER_BYTES = 16384
"""Kernel send buffer of an accepted connection: an instrument's output queue is small, so a client
that does not read meets the push-back within a few hundred replies, not after megabytes."""


class Emulator(Protocol):
    """The device side of one protocol session."""

    def receive(self, data: bytes) -> bytes:
        """Consume bytes from the wire; return the bytes to send back (``b""`` for silence)."""
        ...


EmulatorFactory = Callable[[], Emulator]


@dataclass(frozen=True)
class Endpoint:
    """Where an emulated instrument can be reached."""

    name: str
    transport: str  # "pty" or "tcp"
    address: str  # pty slave path, or host
    port: int | None = None

    def as_dict(self) -> dict[str, object]:
        entry: dict[str, object] = {"transport": self.transport, "address": self.address}
        if self.port is not None:
            entry["port"] = self.port
        return entry


@dataclass
class LinkStats:
    """What one endpoint's links have done (all its connections together)."""

    received_bytes: int = 0
    sent_bytes: int = 0
    dropped_bytes: int = 0
    paused: int = 0  # times a TCP link stopped reading because its client did not read replies
    emulator_errors: list[str] = field(default_factory=list)


class _Link:
    """One open line: a pty master or an accepted TCP connection, with its pending output."""

    def __init__(self, name: str, fileobj: int | socket.socket, emulator: Emulator, stats: LinkStats) -> None:
        self.name = name
        self.fileobj = fileobj
        self.emulator = emulator
        self.stats = stats
        self.pending = bytearray()
        self.reading = True
        self.sent_bytes = 0  # to this client, on this link
        self.answered_bytes = 0  # of this client's bytes, those whose replies are all queued

    @property
    def is_tcp(self) -> bool:
        return isinstance(self.fileobj, socket.socket)

    def read(self) -> bytes | None:
        """Bytes from the client; ``b""`` when nothing is there now, None when the line is gone."""
        try:
            if isinstance(self.fileobj, socket.socket):
                data = self.fileobj.recv(READ_CHUNK_BYTES)
                return data if data else None
            return os.read(self.fileobj, READ_CHUNK_BYTES)
        except (BlockingIOError, InterruptedError):
            return b""
        except OSError as exc:
            if not self.is_tcp and exc.errno == errno.EIO:
                return b""  # no process has the pty slave open right now; the pty stays usable
            return None

    def write_pending(self) -> bool:
        """Send what the client will take now; False when the line is gone."""
        while self.pending:
            try:
                if isinstance(self.fileobj, socket.socket):
                    written = self.fileobj.send(self.pending)
                else:
                    written = os.write(self.fileobj, self.pending)
            except (BlockingIOError, InterruptedError):
                return True
            except OSError:
                if self.is_tcp:
                    return False
                # a pty whose slave nobody holds: the bytes go nowhere, as on an unplugged line
                self.stats.dropped_bytes += len(self.pending)
                self.pending.clear()
                return True
            self.stats.sent_bytes += written
            self.sent_bytes += written  # before the pending bytes go: see EmulatorServer.settled
            del self.pending[:written]
        return True

    def queue(self, reply: bytes) -> None:
        if self.is_tcp:
            self.pending += reply
            return
        room = PTY_PENDING_LIMIT_BYTES - len(self.pending)
        if room < len(reply):
            self.stats.dropped_bytes += len(reply) - max(room, 0)
            reply = reply[: max(room, 0)]
        self.pending += reply


class EmulatorServer:
    """Serves emulators on ptys and TCP sockets from one background thread that never blocks."""

    def __init__(self, lock: threading.Lock | threading.RLock | None = None) -> None:
        self.lock = lock if lock is not None else threading.RLock()
        self._selector = selectors.DefaultSelector()
        self._endpoints: dict[str, Endpoint] = {}
        self.stats: dict[str, LinkStats] = {}
        self._closables: list[Callable[[], None]] = []
        self._links: list[_Link] = []
        self._tcp_links: dict[tuple[str, int], _Link] = {}  # by the client's address
        self._wake_read, self._wake_write = os.pipe()
        self._selector.register(self._wake_read, selectors.EVENT_READ, ("wake", None))
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return dict(self._endpoints)

    def add_pty(self, name: str, emulator: Emulator) -> Endpoint:
        """Serve ``emulator`` on a new pseudo-terminal; returns the slave path to open."""
        master_fd, slave_fd = os.openpty()
        tty.setraw(master_fd)
        tty.setraw(slave_fd)
        os.set_blocking(master_fd, False)
        path = os.ttyname(slave_fd)
        stats = self.stats.setdefault(name, LinkStats())
        link = _Link(name, master_fd, emulator, stats)
        self._links.append(link)
        self._selector.register(master_fd, selectors.EVENT_READ, ("link", link))
        # the server keeps the slave open too, so the master never reads EIO between clients
        self._closables.append(lambda: _close_fds(master_fd, slave_fd))
        endpoint = Endpoint(name, "pty", path)
        self._endpoints[name] = endpoint
        return endpoint

    def add_tcp(self, name: str, factory: EmulatorFactory, host: str = LOOPBACK, port: int = 0) -> Endpoint:
        """Serve a fresh ``factory()`` session per connection on ``host:port`` (0 picks a free port)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen()
        listener.setblocking(False)
        self.stats.setdefault(name, LinkStats())
        self._selector.register(listener, selectors.EVENT_READ, ("listen", (name, factory)))
        self._closables.append(listener.close)
        endpoint = Endpoint(name, "tcp", host, listener.getsockname()[1])
        self._endpoints[name] = endpoint
        return endpoint

    def start(self) -> None:
        self._running = True
        self._thread = threading.Thread(target=self._serve, name="emulator-server", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._running = False
        os.write(self._wake_write, b"x")
        if self._thread is not None:
            self._thread.join(timeout=5)
        for close in self._closables:
            close()
        for link in self._links:
            if isinstance(link.fileobj, socket.socket):
                link.fileobj.close()
        self._selector.close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def settled(self, client: tuple[str, int], sent_bytes: int, received_bytes: int) -> bool:
        """Whether no byte will ever reach the TCP client at address ``client`` (its socket's own
        address) unless it sends more: the server has taken in all ``sent_bytes`` the client wrote on
        that connection and answered them, and has sent it exactly the ``received_bytes`` it read.

        This is what lets the virtual bench's transports (:mod:`hil.bench.transport`, given this
        server as their ``witness``) give up on a reply at once instead of waiting out their timeout
        in wall time, when the instrument is silent (a ``silence``, ``timeout`` or ``disconnect``
        fault, a request the device ignores): the outcome is the same timeout, decided without
        waiting. It is exact, not a guess, because an emulator speaks only in reply (every byte the
        server sends is the reply of :meth:`Emulator.receive` to bytes it read), and the counts
        leave no byte unaccounted: a reply still in the kernel's buffers shows as ``sent`` bytes the
        client has not read yet. Called from the client's thread without the lock; the server
        thread updates a link's counts in an order that makes any snapshot safe (``sent_bytes``
        before its pending bytes are dropped, ``answered_bytes`` after the reply is queued). A
        client the server has not accepted yet is not settled. Ptys are not covered (one pty is
        reopened by successive clients, so byte counts do not belong to one client).
        """
        link = self._tcp_links.get(client)
        if link is None or link.answered_bytes < sent_bytes:
            return False
        return not link.pending and link.sent_bytes == received_bytes

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        while self._running:
            for key, events in self._selector.select():
                kind, target = key.data
                if kind == "wake":
                    return
                if kind == "listen":
                    name, factory = target
                    self._accept(cast(socket.socket, key.fileobj), name, factory)
                    continue
                link: _Link = target
                if events & selectors.EVENT_WRITE and not link.write_pending():
                    self._drop(link)
                    continue
                if events & selectors.EVENT_READ and not self._serve_link(link):
                    self._drop(link)
                    continue
                self._update_interest(link)

    def _serve_link(self, link: _Link) -> bool:
        data = link.read()
        if data is None:
            return False
        if not data:
            return True
        link.stats.received_bytes += len(data)
        try:
            with self.lock:
                reply = link.emulator.receive(data)
        except Exception as exc:  # noqa: BLE001 - one session's failure must not stop the bench
            link.stats.emulator_errors.append(f"{type(exc).__name__}: {exc}")
            return not link.is_tcp  # a TCP session ends; a pty drops the input and keeps serving
        if reply:
            link.queue(reply)
            if not link.write_pending():
                return False
        link.answered_bytes += len(data)  # last: its reply is queued or sent (see settled)
        return True

    def _update_interest(self, link: _Link) -> None:
        if link.is_tcp:
            backlog = len(link.pending) >= TCP_PENDING_LIMIT_BYTES
            if backlog and link.reading:
                link.stats.paused += 1
            link.reading = not backlog
        events = (selectors.EVENT_READ if link.reading else 0) | (
            selectors.EVENT_WRITE if link.pending else 0
        )
        if events != self._selector.get_key(link.fileobj).events:
            self._selector.modify(link.fileobj, events, ("link", link))

    def _accept(self, listener: socket.socket, name: str, factory: EmulatorFactory) -> None:
        try:
            connection, peer = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # e.g. out of file descriptors: refuse this client, keep serving
            return
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, TCP_SEND_BUFFER_BYTES)
        connection.setblocking(False)
        try:
            with self.lock:
                session = factory()
        except Exception as exc:  # noqa: BLE001
            self.stats[name].emulator_errors.append(f"{type(exc).__name__}: {exc}")
            connection.close()
            return
        link = _Link(name, connection, session, self.stats[name])
        self._links.append(link)
        self._tcp_links[peer] = link
        self._selector.register(connection, selectors.EVENT_READ, ("link", link))

    def _drop(self, link: _Link) -> None:
        if not link.is_tcp:
            return  # a pty lives as long as the server
        self._selector.unregister(link.fileobj)
        self._tcp_links = {peer: kept for peer, kept in self._tcp_links.items() if kept is not link}
        cast(socket.socket, link.fileobj).close()
        self._links.remove(link)


def _close_fds(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
