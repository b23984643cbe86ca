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

Must not import drivers/: emulators and drivers meet only on the wire.
"""

from __future__ import annotations

import os
import select
import selectors
import socket
import threading
import tty
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

LOOPBACK = "127.0.0.1"


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


class _PtyChannel:
    def __init__(self, emulator: Emulator) -> None:
        self.master_fd, self.slave_fd = os.openpty()
        tty.setraw(self.master_fd)
        tty.setraw(self.slave_fd)
        os.set_blocking(self.master_fd, False)
        self.path = os.ttyname(self.slave_fd)
        self.emulator = emulator

    def close(self) -> None:
        for fd in (self.master_fd, self.slave_fd):
            try:
                os.close(fd)
            except OSError:
                pass


class EmulatorServer:
    """Serves emulators on ptys and TCP sockets from one background thread."""

    def __init__(self, lock: threading.Lock | threading.RLock | None = None) -> None:
        self.lock = lock if lock is not None else threading.RLock()
        self._selector = selectors.DefaultSelector()
        self._endpoints: dict[str, Endpoint] = {}
        self._closables: list[Callable[[], None]] = []
        self._wake_read, self._wake_write = os.pipe()
        self._selector.register(self._wake_read, selectors.EVENT_READ, ("wake", None))
        self._thread: threading.Thread | None = None
        self._running = False

    @property
    def endpoints(self) -> dict[str, Endpoint]:
        return dict(self._endpoints)

    def add_pty(self, name: str, emulator: Emulator) -> Endpoint:
        """Serve ``emulator`` on a new pseudo-terminal; returns the slave path to open."""
        channel = _PtyChannel(emulator)
        self._selector.register(channel.master_fd, selectors.EVENT_READ, ("pty", channel))
        self._closables.append(channel.close)
        endpoint = Endpoint(name, "pty", channel.path)
        self._endpoints[name] = endpoint
        return endpoint

    def add_tcp(self, name: str, factory: EmulatorFactory, host: str = LOOPBACK, port: int = 0) -> Endpoint:
        """Serve a fresh ``factory()`` session per connection on ``host:port`` (0 picks a free port)."""
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen()
        listener.setblocking(False)
        self._selector.register(listener, selectors.EVENT_READ, ("listen", factory))
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
        for key in list(self._selector.get_map().values()):
            if isinstance(key.fileobj, socket.socket):
                key.fileobj.close()
        self._selector.close()
        os.close(self._wake_read)
        os.close(self._wake_write)

    def __enter__(self) -> EmulatorServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _serve(self) -> None:
        while self._running:
            for key, _ in self._selector.select():
                kind, target = key.data
                if kind == "wake":
                    return
                if kind == "pty":
                    self._serve_pty(target)
                elif kind == "listen":
                    self._accept(cast(socket.socket, key.fileobj), target)
                else:
                    self._serve_connection(cast(socket.socket, key.fileobj), target)

    def _serve_pty(self, channel: _PtyChannel) -> None:
        try:
            data = os.read(channel.master_fd, 65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # EIO: no process has the slave open right now; the pty stays usable
            return
        with self.lock:
            reply = channel.emulator.receive(data)
        if reply:
            _write_all_fd(channel.master_fd, reply)

    def _accept(self, listener: socket.socket, factory: EmulatorFactory) -> None:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setblocking(True)
        with self.lock:
            session = factory()
        self._selector.register(connection, selectors.EVENT_READ, ("conn", session))

    def _serve_connection(self, connection: socket.socket, session: Emulator) -> None:
        try:
            data = connection.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._selector.unregister(connection)
            connection.close()
            return
        with self.lock:
            reply = session.receive(data)
        if reply:
            try:
                connection.sendall(reply)
            except OSError:
                self._selector.unregister(connection)
                connection.close()


def _write_all_fd(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:  # the reader is slow: wait until the pty can take more
            select.select([], [fd], [], 1.0)
            continue
        view = view[written:]
