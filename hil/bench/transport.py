"""Transports: move bytes, lines or registers to an instrument, and nothing else.

Three shapes, one per kind of protocol:

* :class:`ByteTransport` for binary framed protocols (VESC over a serial port or pty);
* :class:`MessageTransport` for text protocols (SCPI over pyvisa, or lines over any byte transport);
* :class:`RegisterTransport` for Modbus (the project's RTU and MBAP masters, or pymodbus clients, one
  per bus).

The transports that wrap pyvisa and pymodbus are in :mod:`hil.bench.library_transports`.

Drivers take one of these in their constructor and never open a port by name. Every timeout and I/O
failure becomes :class:`~hil.core.errors.TransportTimeout` / :class:`~hil.core.errors.TransportError` here,
naming the transport and chaining the cause; Modbus exception replies become
:class:`~hil.core.errors.DeviceError` with the exception code.

Time-outs are real (monotonic) time even on the virtual bench: they bound how long we wait for bytes
on a real file descriptor, which is not bench time. On the virtual bench the wait itself can be
skipped when the far end can vouch that no reply is coming, and the far end can serve the request in
the transport's own thread: see :class:`ReplyWitness`.

Imports only :mod:`hil.core.errors` from the project.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Sequence
from typing import Any, Protocol

from hil.core.errors import ProtocolError, TransportError, TransportTimeout

DEFAULT_TIMEOUT_S = 0.5

WITNESS_POLL_S = 0.002
"""With a :class:`ReplyWitness`, how long one wait for bytes lasts before the witness is asked
whether any are coming: the most a silent instrument of the virtual bench costs in wall time
(instead of the whole timeout), and no cost at all when the reply comes first."""


class ReplyWitness(Protocol):
    """The far end of a simulated TCP link in this process, which knows when no reply is coming and
    can serve the link in the caller's thread.

    A real instrument that stays silent can only be found out by waiting out the timeout. The
    virtual bench's emulator server (:meth:`simulators.server.EmulatorServer.settled`) knows more:
    its emulators speak only in reply, and it counts what each connection sent and was answered.
    Given one, :class:`TcpTransport` and :class:`SerialTransport` (on a ``socket://`` URL) wait in
    slices of :data:`WITNESS_POLL_S` and raise the same :class:`~hil.core.errors.TransportTimeout`,
    with the same message, as soon as the witness says the link is settled with the reply short.
    What a driver, the runner and the run directory see is unchanged (a timeout, in the same
    exchange); only the wall time spent waiting for it goes. Bench time is not involved either way:
    on the virtual bench it stands still during every exchange. Without a witness (every real bench,
    and a virtual bench in another process) a transport waits out its timeout exactly as before.

    The same transports call :meth:`serve` right after each write, so that the server answers in
    their own thread instead of waking its own for every exchange (see :mod:`simulators.server`):
    the reply is then in their socket's buffer before they read. The wait in slices stays, and a
    slice that ends empty asks again: a request the kernel had not delivered at the first ask is
    answered one slice later, so nothing depends on the timing.
    """

    def settled(self, client: tuple[str, int], sent_bytes: int, received_bytes: int) -> bool:
        """True once the far end has answered all ``sent_bytes`` written on the connection whose
        local address is ``client`` and has sent it exactly ``received_bytes``: nothing is in flight
        and nothing more will come unless the client writes."""
        ...

    def serve(self, client: tuple[str, int]) -> None:
        """Answer, in the calling thread, whatever the connection whose local address is ``client``
        has sent so far (nothing if the far end serves it from a thread of its own)."""
        ...


class ByteTransport(Protocol):
    """A bidirectional byte stream."""

    name: str

    def write(self, data: bytes) -> None: ...

    def read_exactly(self, size: int) -> bytes:
        """Return exactly ``size`` bytes or raise TransportTimeout."""
        ...

    def read_until(self, terminator: bytes = b"\n", max_size: int = 65536) -> bytes:
        """Return bytes up to and including ``terminator``."""
        ...

    def discard_input(self) -> None:
        """Drop whatever was received but not read (stale replies after a timeout)."""
        ...

    def close(self) -> None: ...


class MessageTransport(Protocol):
    """A text command/response channel (SCPI)."""

    name: str

    def write_line(self, command: str) -> None: ...

    def query(self, command: str) -> str:
        """Send ``command`` and return the reply without its terminator."""
        ...

    def close(self) -> None: ...


class RegisterTransport(Protocol):
    """Modbus register access to the devices on one bus or connection."""

    name: str

    def read_holding_registers(self, address: int, count: int, unit: int) -> list[int]: ...

    def write_registers(self, address: int, values: Sequence[int], unit: int) -> None: ...

    def close(self) -> None: ...


class InputRegisterTransport(RegisterTransport, Protocol):
    """A register transport that also reads input registers (FC 4) and writes one register (FC 6),
    which instruments described in the bench file may use."""

    def read_input_registers(self, address: int, count: int, unit: int) -> list[int]: ...

    def write_register(self, address: int, value: int, unit: int) -> None: ...


class SerialTransport:
    """A pyserial port: a device path (``/dev/ttyUSB0``, a pty slave) or a pyserial URL."""

    def __init__(
        self,
        port: str,
        baudrate: int = 115200,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        witness: ReplyWitness | None = None,
    ) -> None:
        """``witness`` (a ``socket://`` URL only; ignored otherwise): see :class:`ReplyWitness`."""
        import serial  # pyserial: imported here so that non-serial users need not load it

        self.name = port
        self._timeout_s = timeout_s
        try:
            self._port = serial.serial_for_url(port, baudrate=baudrate, timeout=timeout_s)
        except (serial.SerialException, OSError, ValueError) as exc:
            raise TransportError(f"{port}: cannot open serial port: {exc}") from exc
        self._serial_exception = serial.SerialException
        # pyserial's socket:// leaves Nagle's algorithm on; a request-reply exchange of small
        # frames wants every frame on the wire at once.
        raw_socket = getattr(self._port, "_socket", None)
        if raw_socket is not None:
            raw_socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._witnessed: _WitnessedSocket | None = None
        if witness is not None and raw_socket is not None:
            self._witnessed = _WitnessedSocket(witness, raw_socket)
            self._port.timeout = min(timeout_s, WITNESS_POLL_S)  # one slice of a witnessed wait

    def write(self, data: bytes) -> None:
        try:
            self._port.write(data)
        except (self._serial_exception, OSError) as exc:
            raise TransportError(f"{self.name}: write failed: {exc}") from exc
        if self._witnessed is not None:
            self._witnessed.sent_bytes += len(data)
            self._witnessed.serve()

    def read_exactly(self, size: int) -> bytes:
        try:
            if self._witnessed is None:
                data = self._port.read(size)
            else:
                data = self._witnessed_read(lambda have: self._port.read(size - len(have)), size, b"")
        except (self._serial_exception, OSError) as exc:
            raise TransportError(f"{self.name}: read failed: {exc}") from exc
        if len(data) < size:
            raise TransportTimeout(
                f"{self.name}: no reply within {self._timeout_s:g} s: waited for {size} bytes, "
                + (f"got {len(data)}: {data.hex(' ')}" if data else "got none")
            )
        return bytes(data)

    def read_until(self, terminator: bytes = b"\n", max_size: int = 65536) -> bytes:
        try:
            if self._witnessed is None:
                data = self._port.read_until(terminator, max_size)
            else:
                data = self._witnessed_read(
                    lambda have: self._port.read_until(terminator, max_size - len(have)), max_size, terminator
                )
        except (self._serial_exception, OSError) as exc:
            raise TransportError(f"{self.name}: read failed: {exc}") from exc
        if not data.endswith(terminator):
            raise TransportTimeout(
                f"{self.name}: no reply within {self._timeout_s:g} s: waited for {terminator!r}, "
                + (f"got {bytes(data)!r}" if data else "got none")
            )
        return bytes(data)

    def _witnessed_read(self, read_more: Any, size: int, terminator: bytes) -> bytes:
        """Read in slices (the port's timeout) until ``size`` bytes or ``terminator`` came, the
        timeout passed, or the witness says nothing more is coming; returns what came."""
        witnessed = self._witnessed
        assert witnessed is not None
        deadline = time.monotonic() + self._timeout_s
        data = bytearray()
        while True:
            if witnessed.settled():
                return bytes(data)  # short, and nothing more is coming
            chunk = read_more(data)
            witnessed.received_bytes += len(chunk)
            data += chunk
            if len(data) >= size or (terminator and data.endswith(terminator)):
                return bytes(data)
            if time.monotonic() >= deadline:
                return bytes(data)
            witnessed.serve()  # bytes its first ask did not find (delivery deferred): ask again

    def discard_input(self) -> None:
        try:
            if self._witnessed is None:
                self._port.reset_input_buffer()
            else:
                self._witnessed.discard_input()
        except (self._serial_exception, OSError) as exc:
            raise TransportError(f"{self.name}: flush failed: {exc}") from exc

    def close(self) -> None:
        # pyserial's socket:// handler skips closing its socket when the shutdown before it fails
        # (the peer is gone), leaking the descriptor: close it here as well (closing twice is harmless)
        sock = getattr(self._port, "_socket", None)
        self._port.close()
        if sock is not None:
            sock.close()
        if self._witnessed is not None:
            self._witnessed.serve()  # the far end sees the connection end


class TcpTransport:
    """A TCP stream socket (raw SCPI port, a serial-over-IP server)."""

    def __init__(
        self, host: str, port: int, timeout_s: float = DEFAULT_TIMEOUT_S, witness: ReplyWitness | None = None
    ) -> None:
        """``witness``: see :class:`ReplyWitness` (the virtual bench's server; None on a real bench)."""
        self.name = f"tcp://{host}:{port}"
        self._timeout_s = timeout_s
        try:
            self._sock = socket.create_connection((host, port), timeout=timeout_s)
        except OSError as exc:
            raise TransportError(f"{self.name}: cannot connect: {exc}") from exc
        self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._buffer = bytearray()
        self._witnessed = None if witness is None else _WitnessedSocket(witness, self._sock)

    def write(self, data: bytes) -> None:
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise TransportError(f"{self.name}: send failed: {exc}") from exc
        if self._witnessed is not None:
            self._witnessed.sent_bytes += len(data)
            self._witnessed.serve()

    def _receive_more(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        witnessed = self._witnessed
        if witnessed is None:
            self._sock.settimeout(remaining)
            chunk = self._sock.recv(65536)
        else:
            # The write asked the far end to serve: a reply is normally in our buffer already.
            if witnessed.settled():
                raise TimeoutError  # the reply is short, and nothing more is coming
            slice_s = min(remaining, WITNESS_POLL_S)
            if self._sock.gettimeout() != slice_s:
                self._sock.settimeout(slice_s)
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                witnessed.serve()  # bytes its first ask did not find (delivery deferred): ask again
                return  # and wait again, up to the caller's deadline
            witnessed.received_bytes += len(chunk)
        if not chunk:
            raise TransportError(f"{self.name}: connection closed by the instrument")
        self._buffer.extend(chunk)

    def read_exactly(self, size: int) -> bytes:
        deadline = time.monotonic() + self._timeout_s
        try:
            while len(self._buffer) < size:
                self._receive_more(deadline)
        except TimeoutError as exc:
            raise TransportTimeout(
                f"{self.name}: no reply within {self._timeout_s:g} s: waited for {size} bytes, "
                f"got {len(self._buffer) or 'none'}"
            ) from exc
        except OSError as exc:
            raise TransportError(f"{self.name}: receive failed: {exc}") from exc
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data

    def read_until(self, terminator: bytes = b"\n", max_size: int = 65536) -> bytes:
        deadline = time.monotonic() + self._timeout_s
        try:
            while (end := self._buffer.find(terminator)) < 0:
                if len(self._buffer) > max_size:
                    raise ProtocolError(f"{self.name}: no {terminator!r} within {max_size} bytes")
                self._receive_more(deadline)
        except TimeoutError as exc:
            raise TransportTimeout(
                f"{self.name}: no reply within {self._timeout_s:g} s: waited for {terminator!r}, "
                + (f"got {bytes(self._buffer)!r}" if self._buffer else "got none")
            ) from exc
        except OSError as exc:
            raise TransportError(f"{self.name}: receive failed: {exc}") from exc
        end += len(terminator)
        data = bytes(self._buffer[:end])
        del self._buffer[:end]
        return data

    def discard_input(self) -> None:
        self._buffer.clear()
        if self._witnessed is not None:
            self._witnessed.discard_input()
            return
        self._sock.setblocking(False)
        try:
            while self._sock.recv(65536):
                pass
        except (BlockingIOError, OSError):
            pass
        finally:
            self._sock.setblocking(True)

    def close(self) -> None:
        self._sock.close()
        if self._witnessed is not None:
            self._witnessed.serve()  # the far end sees the connection end


class _WitnessedSocket:
    """The byte counts of one client socket that a :class:`ReplyWitness` compares with its own."""

    def __init__(self, witness: ReplyWitness, sock: socket.socket) -> None:
        self._witness = witness
        self._sock = sock
        self._client: tuple[str, int] = sock.getsockname()[:2]
        self.sent_bytes = 0
        self.received_bytes = 0

    def settled(self) -> bool:
        return self._witness.settled(self._client, self.sent_bytes, self.received_bytes)

    def serve(self) -> None:
        self._witness.serve(self._client)

    def discard_input(self) -> None:
        """Drop what has arrived, counting it (the counts must stay exact); the far end first answers
        whatever it still owes, so that a late reply is dropped now, not read as the next one."""
        if self.settled():
            return  # every byte it sent has been read, and nothing more is coming: nothing to drop
        self.serve()
        timeout = self._sock.gettimeout()
        self._sock.setblocking(False)
        try:
            while chunk := self._sock.recv(65536):
                self.received_bytes += len(chunk)
        except (BlockingIOError, OSError):
            pass
        finally:
            self._sock.settimeout(timeout)


class LineTransport:
    """SCPI-style text over any byte transport: one command per line, replies end in ``\\n``.

    Line protocols carry no request ids, so a reply that comes after its query timed out would be
    read as the answer to the next query, and every reading after it would be one behind. Two rules
    keep replies in step: every query first discards whatever input is pending (a reply nobody asked
    for now is stale by definition), and after a timeout the next query first waits up to one more
    timeout for the late reply and throws it away. Only a reply later than twice the timeout could
    still be taken once for a fresh one, and the discard before the following query ends that.
    """

    def __init__(self, transport: ByteTransport, encoding: str = "ascii") -> None:
        self.name = transport.name
        self._transport = transport
        self._encoding = encoding
        self._reply_owed = False  # a query timed out: its reply may still come

    def write_line(self, command: str) -> None:
        self._transport.write((command + "\n").encode(self._encoding))

    def query(self, command: str) -> str:
        if self._reply_owed:
            self._reply_owed = False
            try:
                self._transport.read_until(b"\n")  # the late reply, if it comes at all
            except TransportTimeout:
                pass
        self._transport.discard_input()
        self.write_line(command)
        try:
            raw = self._transport.read_until(b"\n")
        except TransportTimeout:
            self._reply_owed = True
            raise
        try:
            return raw.decode(self._encoding).rstrip("\r\n")
        except UnicodeDecodeError as exc:
            raise ProtocolError(
                f"{self.name}: reply to {command!r} is not {self._encoding}: {raw!r}"
            ) from exc

    def close(self) -> None:
        self._transport.close()
