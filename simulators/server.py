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

Inline serving (:meth:`EmulatorServer.serve`). A client in this very process (the virtual bench's
own transports, given the server as their :class:`hil.bench.transport.ReplyWitness`) may have its TCP
connection served in its own thread: right after it writes (and again whenever a wait for the reply
ends empty) it asks the server to serve that connection, which then reads the request, runs the
emulator and writes the reply there and then, so the reply is in the client's buffer before it
reads. Served by the server thread, every exchange hands the interpreter lock to that thread and back
(the client's send wakes it, the client waits for the lock to come back): two context switches, or a
cross-CPU wake-up. Served inline, an exchange costs the system calls of the bytes' own round trip.
On loopback the bytes a client has sent are readable by the server's socket as soon as its send
returns (20,000 times of 20,000 in a probe on the development machine). Measured with
``benchmarks/bench_virtual_bench.py`` on the 2-core development machine (load average 4-6, runs
interleaved): the default performance curve ran at 131x real time served inline against 88x served
by the thread (medians of 3 runs; 123-137x and 88-94x).

A connection served inline leaves the server thread's selector (the server thread itself takes it
out: only that thread touches the selector) and the server thread never reads it again;
:attr:`EmulatorServer.serving`, held by whichever thread handles a link, keeps the two from ever
handling the same link at once. Every guarantee above holds for it too: the same code answers (under
:attr:`EmulatorServer.lock`), with the same bounded output and the same flow control, and a client
that sends and then does not read only fills its own buffers. A request that has not reached the
server's socket at the first ask (the kernel may defer delivery under load), or a reply too big for
the client's socket buffer, is served on at the client's next ask, after one short wait for bytes;
nothing is lost or reordered. Everything else keeps the thread exactly as before: ptys, listeners
and accepting, clients that never call :meth:`serve` (pyvisa, pymodbus, a harness in another
process), and a connection until its first :meth:`serve`.

Must not import drivers/.
"""

from __future__ import annotations

import errno
import os
import selectors
import socket
import threading
import traceback
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

    def __init__(
        self,
        name: str,
        fileobj: int | socket.socket,
        emulator: Emulator,
        stats: LinkStats,
        peer: tuple[str, int] = ("", 0),
    ) -> None:
        self.name = name
        self.fileobj = fileobj
        self.emulator = emulator
        self.stats = stats
        self.peer = peer  # the TCP client's address (none for a pty)
        self.is_tcp = isinstance(fileobj, socket.socket)  # (an attribute: asked several times an exchange)
        self.pending = bytearray()
        self.reading = True
        self.sent_bytes = 0  # to this client, on this link
        self.answered_bytes = 0  # of this client's bytes, those whose replies are all queued
        self.inline = False  # served in its client's thread (EmulatorServer.serve) from now on
        self.registered = True  # in the server thread's selector
        self.gone = False  # dropped: closed, or to be closed by the server thread

    def read(self) -> bytes | None:
        """Bytes from the client; ``b""`` when nothing is there now, None when the line is gone."""
        try:
            if self.is_tcp:
                data = cast(socket.socket, self.fileobj).recv(READ_CHUNK_BYTES)
                return data if data else None
            return os.read(cast(int, self.fileobj), READ_CHUNK_BYTES)
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
                if self.is_tcp:
                    written = cast(socket.socket, self.fileobj).send(self.pending)
                else:
                    written = os.write(cast(int, self.fileobj), self.pending)
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
    """Serves emulators on ptys and TCP sockets from one background thread that never blocks, and
    TCP connections whose client asks for it in the client's own thread (:meth:`serve`).

    ``inline`` False makes :meth:`serve` do nothing, so every connection is served by the thread (to
    compare the two, or to rule inline serving out when looking for a fault)."""

    def __init__(self, lock: threading.Lock | threading.RLock | None = None, inline: bool = True) -> None:
        self.lock = lock if lock is not None else threading.RLock()
        self.inline = inline
        self.serving = threading.Lock()
        """Held by the thread that handles a link (the server thread, or a client in :meth:`serve`),
        and while the registry of links changes. Taken before :attr:`lock`, never after it."""
        self._handed_over: list[_Link] = []  # links now served inline, still in the selector
        self._selector = selectors.DefaultSelector()
        self._endpoints: dict[str, Endpoint] = {}
        self.stats: dict[str, LinkStats] = {}
        self._closables: list[Callable[[], None]] = []
        self._links: list[_Link] = []
        self._tcp_links: dict[tuple[str, int], _Link] = {}  # by the client's address
        self._wake_read, self._wake_write = os.pipe()
        os.set_blocking(self._wake_read, False)
        os.set_blocking(self._wake_write, False)  # a full pipe wakes the thread already
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
        _wake(self._wake_write)
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self.serving:  # a client's serve() from now on finds the server stopped
            self._let_go()  # links handed over (or dropped inline) since the thread last woke
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

    def serve(self, client: tuple[str, int]) -> None:
        """Serve the TCP connection of the client at address ``client`` (its socket's own address)
        in the calling thread, now: send it what its earlier replies left pending, then read every
        request byte that has arrived and answer it, as the server thread would (see the module's
        docstring, "Inline serving"). The first call takes the connection from the server thread for
        good. Does nothing for a client not accepted yet (the server thread serves it meanwhile), or
        one that is gone, or when :attr:`inline` is off.

        Call it from the client's own thread (the one that writes and reads that connection) right
        after writing, and again whenever a wait for the reply ends empty (the request may not have
        been in the server's socket at the first call); a client that closes its socket calls it once
        more, so that the server sees the end of the connection and drops it.
        """
        link = self._tcp_links.get(client)
        if link is None or not self.inline:
            return
        with self.serving:
            if link.gone or not self._running:
                return
            if not link.inline:  # (in this order: an inline link is always in _handed_over)
                self._handed_over.append(link)
                _wake(self._wake_write)  # the server thread takes it out of its selector
                link.inline = True
            alive = link.write_pending()
            while alive and self._takes_requests(link):
                data = link.read()
                if not data:
                    alive = data is not None
                    break
                alive = self._answer(link, data)
                if len(data) < READ_CHUNK_BYTES:
                    break  # that was all the socket held: no second read to find it empty
            if not alive:
                self._drop(link)

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
                    _drain(self._wake_read)
                    with self.serving:
                        self._let_go()
                    if not self._running:
                        return
                    continue
                if kind == "listen":
                    name, factory = target
                    self._accept(cast(socket.socket, key.fileobj), name, factory)
                    continue
                with self.serving:
                    self._handle(target, events)

    def _handle(self, link: _Link, events: int) -> None:
        """The server thread's turn on one link (holding :attr:`serving`)."""
        if link.inline or link.gone:
            self._let_go()  # its client serves it now (or it went): not this thread's any more
            return
        if events & selectors.EVENT_WRITE and not link.write_pending():
            self._drop(link)
            return
        if events & selectors.EVENT_READ and not self._serve_link(link):
            self._drop(link)
            return
        self._update_interest(link)

    def _let_go(self) -> None:
        """Take the links handed over to inline serving out of the selector (holding :attr:`serving`;
        the server thread, or :meth:`stop` once it has ended); close those dropped meanwhile, whose
        descriptors could not be closed while still registered (a new connection could reuse one)."""
        for link in self._handed_over:
            if link.registered:
                self._selector.unregister(link.fileobj)
                link.registered = False
            if link.gone:
                cast(socket.socket, link.fileobj).close()
        self._handed_over.clear()

    def _serve_link(self, link: _Link) -> bool:
        data = link.read()
        if data is None:
            return False
        return not data or self._answer(link, data)

    def _answer(self, link: _Link, data: bytes) -> bool:
        """Run the emulator on ``data`` and queue or send its reply; False when the line is gone."""
        link.stats.received_bytes += len(data)
        try:
            with self.lock:
                reply = link.emulator.receive(data)
        except Exception as exc:  # noqa: BLE001 - one session's failure must not stop the bench
            link.stats.emulator_errors.append(_described(exc))
            return not link.is_tcp  # a TCP session ends; a pty drops the input and keeps serving
        if reply:
            link.queue(reply)
            if not link.write_pending():
                return False
        link.answered_bytes += len(data)  # last: its reply is queued or sent (see settled)
        return True

    def _takes_requests(self, link: _Link) -> bool:
        """Whether to read the link's client now: not while a TCP client leaves
        :data:`TCP_PENDING_LIMIT_BYTES` of replies unread (its requests then wait in the kernel)."""
        if link.is_tcp:
            backlog = len(link.pending) >= TCP_PENDING_LIMIT_BYTES
            if backlog and link.reading:
                link.stats.paused += 1
            link.reading = not backlog
        return link.reading

    def _update_interest(self, link: _Link) -> None:
        events = (selectors.EVENT_READ if self._takes_requests(link) else 0) | (
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
            self.stats[name].emulator_errors.append(_described(exc))
            connection.close()
            return
        link = _Link(name, connection, session, self.stats[name], peer)
        with self.serving:
            self._links.append(link)
            self._tcp_links[peer] = link
            self._selector.register(connection, selectors.EVENT_READ, ("link", link))

    def _drop(self, link: _Link) -> None:
        """End a TCP session (holding :attr:`serving`): forget the link and close its socket, or leave
        the close to the server thread while the link is still in its selector."""
        if not link.is_tcp:
            return  # a pty lives as long as the server
        link.gone = True
        if self._tcp_links.get(link.peer) is link:  # (a new client may have its address by now)
            del self._tcp_links[link.peer]
        self._links.remove(link)
        if link.inline and link.registered:
            return  # in self._handed_over: the server thread closes it as it lets go
        if link.registered:
            self._selector.unregister(link.fileobj)
            link.registered = False
        cast(socket.socket, link.fileobj).close()


def _described(exc: Exception) -> str:
    """An emulator's failure as one line: the exception and where it was raised (an emulator error is
    a bug in the simulators; its client only sees the link close)."""
    where = traceback.extract_tb(exc.__traceback__)[-1] if exc.__traceback__ else None
    place = f" (at {os.path.basename(where.filename)}:{where.lineno})" if where else ""
    return f"{type(exc).__name__}: {exc}{place}"


def _wake(fd: int) -> None:
    try:
        os.write(fd, b"x")
    except BlockingIOError:
        pass  # the pipe is full of wake-ups already


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 4096):
            pass
    except BlockingIOError:
        pass


def _close_fds(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass
