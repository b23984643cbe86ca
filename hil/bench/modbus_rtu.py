"""A small Modbus RTU master: register reads (FC 3, FC 4) and writes (FC 6, FC 16) over a byte transport.

:class:`ModbusRtuTransport` implements :class:`hil.bench.transport.RegisterTransport` on top of any
:class:`hil.bench.transport.ByteTransport` (a serial port, a pty slave, a serial-over-IP socket), so every
device on one RS-485 line shares one instance.

Why not pymodbus's ``ModbusSerialClient``: it polls the port for a reply with sleeps of at least 1 ms,
which measured ~2.2 ms per exchange on a pty whose raw round trip is ~0.1 ms. A virtual bench reading
several RTU instruments per tick would spend nearly all of its time in those sleeps. This master
instead reads each reply by its known length with one blocking read per part, which costs about the
raw round trip. pymodbus's TCP client has no such polling and stays in use for Modbus TCP
(:class:`hil.bench.library_transports.PymodbusTransport`). The CRC is pymodbus's (``FramerRTU.compute_CRC``), not
a second implementation.

Reply handling: the first three bytes (unit, function, third byte) decide the length: an exception
reply (function | 0x80) is 5 bytes in all; an FC 3 reply is 5 + byte count; an FC 16 reply is 8.
Exception replies become :class:`~hil.core.errors.DeviceError` carrying the exception code; a reply with a
bad CRC, from the wrong unit or of the wrong shape becomes :class:`~hil.core.errors.ProtocolError` after
the input is discarded (its tail would otherwise be read as the next reply); a missing or partial
reply re-raises the transport's :class:`~hil.core.errors.TransportTimeout` with unit and address added.
Input is also discarded before a request that follows an exchange that did not end with a whole
reply (a timeout, a transport error), because a reply that arrived after an earlier timeout would
otherwise be taken for the answer to the next request, shifting every later reply by one. After a
clean exchange nothing is pending (slaves speak only when asked), so that flush is skipped: it costs
6-11 us a request (a ``tcflush`` on a pty, a ``select`` poll on a socket, measured with
``benchmarks/bench_virtual_bench.py``), three times a tick on the sim bench's RS-485 line. Stray bytes that
do arrive between requests (line noise on real hardware) spoil at most the next reply, which then
fails its checks, is discarded, and is retried by the runner.

Imports :mod:`hil.core.errors` and :mod:`hil.bench.transport` only from the project.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pymodbus.framer import FramerRTU

from hil.bench.transport import ByteTransport
from hil.core.errors import DeviceError, LimitError, ProtocolError, TransportError, TransportTimeout

READ_HOLDING_REGISTERS = 3
READ_INPUT_REGISTERS = 4
WRITE_SINGLE_REGISTER = 6
WRITE_MULTIPLE_REGISTERS = 16
MAX_READ_COUNT = 125  # Modbus application protocol limit for FC 3
MAX_WRITE_COUNT = 123  # Modbus application protocol limit for FC 16

EXCEPTION_NAMES = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


def crc_bytes(frame: bytes) -> bytes:
    """The two CRC bytes that follow ``frame`` on the wire (low byte first, as Modbus RTU sends them).

    pymodbus's table-driven ``compute_CRC`` returns the CRC already byte-swapped, so its big-endian
    bytes are the wire order.
    """
    return FramerRTU.compute_CRC(frame).to_bytes(2, "big")


def _check_unit(unit: int) -> None:
    # Unit 0 is broadcast: devices execute but never answer, so a master waiting for a reply
    # would always time out. 248..255 are reserved.
    if not 1 <= unit <= 247:
        raise LimitError(f"Modbus RTU unit id {unit} is outside 1..247")


def check_register_span(address: int, count: int, limit: int) -> None:
    if not 1 <= count <= limit:
        raise LimitError(f"Modbus register count {count} is outside 1..{limit}")
    if address < 0 or address + count > 0x10000:
        raise LimitError(f"Modbus registers {address}..{address + count - 1} lie outside 0..65535")


class ModbusRtuTransport:
    """Modbus RTU master for one serial line; implements :class:`hil.bench.transport.RegisterTransport`."""

    def __init__(self, transport: ByteTransport, name: str | None = None) -> None:
        self.name = name if name is not None else f"modbus-rtu:{transport.name}"
        self._transport = transport
        self._clean = False  # whether the last exchange ended with a whole reply read

    def read_holding_registers(self, address: int, count: int, unit: int) -> list[int]:
        return self._read(READ_HOLDING_REGISTERS, "holding", address, count, unit)

    def read_input_registers(self, address: int, count: int, unit: int) -> list[int]:
        return self._read(READ_INPUT_REGISTERS, "input", address, count, unit)

    def _read(self, function: int, kind: str, address: int, count: int, unit: int) -> list[int]:
        _check_unit(unit)
        check_register_span(address, count, MAX_READ_COUNT)
        what = f"read {count} {kind} registers at {address}"
        pdu = struct.pack(">BHH", function, address, count)
        reply = self._exchange(unit, pdu, what, reply_size=5 + 2 * count)
        return list(struct.unpack(f">{count}H", reply[3:-2]))

    def write_register(self, address: int, value: int, unit: int) -> None:
        """Function 6: one register; the device echoes the request."""
        _check_unit(unit)
        check_register_span(address, 1, 1)
        if not 0 <= value <= 0xFFFF:
            raise LimitError(f"{self.name} unit {unit}: register value {value} is not a 16-bit word")
        what = f"write register {address}"
        pdu = struct.pack(">BHH", WRITE_SINGLE_REGISTER, address, value)
        reply = self._exchange(unit, pdu, what, reply_size=8)
        if reply[1:6] != pdu:
            self._discard()
            raise ProtocolError(f"{self.name} unit {unit}: {what}: reply does not echo the request")

    def write_registers(self, address: int, values: Sequence[int], unit: int) -> None:
        _check_unit(unit)
        count = len(values)
        check_register_span(address, count, MAX_WRITE_COUNT)
        for value in values:
            if not 0 <= value <= 0xFFFF:
                raise LimitError(f"{self.name} unit {unit}: register value {value} is not a 16-bit word")
        what = f"write {count} registers at {address}"
        pdu = struct.pack(f">BHHB{count}H", WRITE_MULTIPLE_REGISTERS, address, count, 2 * count, *values)
        reply = self._exchange(unit, pdu, what, reply_size=8)
        echoed_address, echoed_count = struct.unpack(">HH", reply[2:6])
        if (echoed_address, echoed_count) != (address, count):
            self._discard()
            raise ProtocolError(
                f"{self.name} unit {unit}: {what}: reply confirms {echoed_count} registers at "
                f"{echoed_address}"
            )

    def close(self) -> None:
        self._transport.close()

    def _discard(self) -> None:
        self._transport.discard_input()

    def _exchange(self, unit: int, pdu: bytes, what: str, reply_size: int) -> bytes:
        """Send one request and return the whole normal reply (``reply_size`` bytes, CRC checked).

        The first three bytes decide what follows: an exception reply is 5 bytes long; a normal reply
        must be ``reply_size`` long, and for FC 3 its third byte (the byte count) must say so before
        anything more is read, so that a corrupt count cannot make us wait for bytes that never come.
        Unit, function and CRC are verified here; function-specific echoes by the caller.
        """
        function = pdu[0]
        request = bytes((unit,)) + pdu
        if not self._clean:
            self._discard()
        self._clean = False
        self._transport.write(request + crc_bytes(request))
        try:
            head = self._transport.read_exactly(3)
            if head[0] != unit:
                self._discard()
                raise ProtocolError(f"{self.name} unit {unit}: {what}: reply comes from unit {head[0]}")
            is_exception = head[1] == function | 0x80
            if is_exception:
                size = 5
            elif head[1] != function:
                self._discard()
                raise ProtocolError(
                    f"{self.name} unit {unit}: {what}: reply has function {head[1]}, expected {function}"
                )
            elif function in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS) and head[2] != reply_size - 5:
                self._discard()
                raise ProtocolError(
                    f"{self.name} unit {unit}: {what}: reply announces {head[2]} data bytes, "
                    f"expected {reply_size - 5}"
                )
            else:
                size = reply_size
            reply = head + self._transport.read_exactly(size - 3)
        except TransportTimeout as exc:
            raise TransportTimeout(f"{self.name} unit {unit}: no complete reply to {what}: {exc}") from exc
        except TransportError as exc:
            raise TransportError(f"{self.name} unit {unit}: {what}: {exc}") from exc
        if crc_bytes(reply[:-2]) != reply[-2:]:
            self._discard()
            raise ProtocolError(f"{self.name} unit {unit}: {what}: bad CRC in reply {reply.hex(' ')}")
        self._clean = True
        if is_exception:
            code = reply[2]
            meaning = EXCEPTION_NAMES.get(code, "unknown exception")
            raise DeviceError(
                f"{self.name} unit {unit}: function {function} ({what}) refused with Modbus "
                f"exception {code} ({meaning})",
                code,
            )
        return reply
