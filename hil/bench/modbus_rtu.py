"""A small Modbus RTU master: register reads (FC 3, FC 4) and writes (FC 6, FC 16) over a byte transport.

:class:`ModbusRtuTransport` implements :class:`hil.bench.transport.RegisterTransport` on top of any
:class:`hil.bench.transport.ByteTransport` (a serial port, a pty slave, a serial-over-IP socket), so every
device on one RS-485 line shares one instance.

Why not pymodbus's ``ModbusSerialClient``: it polls the port for a reply with sleeps of at least 1 ms,
which measured ~2.2 ms per exchange on a pty whose raw round trip is ~0.1 ms. A virtual bench reading
several RTU instruments per tick would spend nearly all of its time in those sleeps. This master
instead reads each reply by its known length with one blocking read per part, which costs about the
raw round trip. pymodbus's TCP client has no such polling and stays in use for Modbus TCP
(:class:`hil.bench.library_transports.PymodbusTransport`).

The CRC (:func:`crc_bytes`) is a table over ``bytes`` here rather than pymodbus's
``FramerRTU.compute_CRC``: the same table-driven CRC-16/MODBUS, but pymodbus's loop converts every
byte with ``int()``, indexes its table through the class and byte-swaps the result, which made it
2.1-2.3x slower on the frames this master sends and reads (1.69 us against 0.81 us for a 7-byte
request, 2.35 us against 1.04 us for an 11-byte reply; 200,000 calls, best of 5, Python 3.11). Two
CRCs per exchange and three RS-485 exchanges a tick on the sim bench make that about 7 us a tick,
and 2-3 % of one Keller reading's time against the raw round trip (``benchmarks/bench_peers.py``).
No CRC package is a dependency: for frames this short a C extension's call overhead is most of
the cost. The emulators (:mod:`simulators.modbus_device`) have their own table (simulators may not
import this package); the tests check both against the specification's CRC.

Errors are described (``"read 4 holding registers at 256"``) only when one is raised: building
that text for every request cost about 0.5 us an exchange.

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


def _crc16_table() -> tuple[int, ...]:
    """CRC-16/MODBUS of each byte value alone (polynomial 0x8005 reflected, i.e. 0xA001)."""
    table = []
    for value in range(256):
        crc = value
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


CRC16_TABLE = _crc16_table()


def crc_bytes(frame: bytes) -> bytes:
    """The two CRC bytes that follow ``frame`` on the wire (low byte first, as Modbus RTU sends them).

    Why not pymodbus's ``compute_CRC``: see the module docstring (measured 2.1-2.3x slower).
    """
    crc = 0xFFFF
    for byte in frame:
        crc = (crc >> 8) ^ CRC16_TABLE[(crc ^ byte) & 0xFF]
    return crc.to_bytes(2, "little")


READ_REQUESTS_KEPT = 64
"""Most read requests a master remembers framed (then forgotten all at once)."""


def _framed(unit: int, pdu: bytes) -> bytes:
    """The request on the wire: unit, PDU, CRC."""
    request = bytes((unit,)) + pdu
    return request + crc_bytes(request)


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


def _describe(pdu: bytes) -> str:
    """What a request asks, as errors say it (``"read 4 holding registers at 256"``); built only for an
    error, from the request itself."""
    function, address, count = struct.unpack(">BHH", pdu[:5])
    if function == READ_HOLDING_REGISTERS:
        return f"read {count} holding registers at {address}"
    if function == READ_INPUT_REGISTERS:
        return f"read {count} input registers at {address}"
    if function == WRITE_SINGLE_REGISTER:
        return f"write register {address}"
    return f"write {count} registers at {address}"


class ModbusRtuTransport:
    """Modbus RTU master for one serial line; implements :class:`hil.bench.transport.RegisterTransport`."""

    def __init__(self, transport: ByteTransport, name: str | None = None) -> None:
        self.name = name if name is not None else f"modbus-rtu:{transport.name}"
        self._transport = transport
        self._clean = False  # whether the last exchange ended with a whole reply read
        self._read_requests: dict[tuple[int, int, int, int], bytes] = {}
        """Each read request sent so far, checked and framed (CRC included), by (function, address,
        count, unit): a bench reads the same blocks every tick, and checking, packing and the CRC were
        a quarter of the master's own time (a Keller read over a transport that answers at once:
        3.8 -> 2.9 us; 100,000 calls, best of 15, Python 3.11)."""

    def read_holding_registers(self, address: int, count: int, unit: int) -> list[int]:
        return self._read(READ_HOLDING_REGISTERS, address, count, unit)

    def read_input_registers(self, address: int, count: int, unit: int) -> list[int]:
        return self._read(READ_INPUT_REGISTERS, address, count, unit)

    def _read(self, function: int, address: int, count: int, unit: int) -> list[int]:
        key = (function, address, count, unit)
        request = self._read_requests.get(key)
        if request is None:
            _check_unit(unit)
            check_register_span(address, count, MAX_READ_COUNT)
            request = _framed(unit, struct.pack(">BHH", function, address, count))
            if len(self._read_requests) >= READ_REQUESTS_KEPT:
                self._read_requests.clear()
            self._read_requests[key] = request
        reply = self._exchange(request, reply_size=5 + 2 * count)
        return list(struct.unpack(f">{count}H", reply[3:-2]))

    def write_register(self, address: int, value: int, unit: int) -> None:
        """Function 6: one register; the device echoes the request."""
        _check_unit(unit)
        check_register_span(address, 1, 1)
        if not 0 <= value <= 0xFFFF:
            raise LimitError(f"{self.name} unit {unit}: register value {value} is not a 16-bit word")
        pdu = struct.pack(">BHH", WRITE_SINGLE_REGISTER, address, value)
        reply = self._exchange(_framed(unit, pdu), reply_size=8)
        if reply[1:6] != pdu:
            self._discard()
            raise ProtocolError(f"{self._about(unit, pdu)}: reply does not echo the request")

    def write_registers(self, address: int, values: Sequence[int], unit: int) -> None:
        _check_unit(unit)
        count = len(values)
        check_register_span(address, count, MAX_WRITE_COUNT)
        for value in values:
            if not 0 <= value <= 0xFFFF:
                raise LimitError(f"{self.name} unit {unit}: register value {value} is not a 16-bit word")
        pdu = struct.pack(f">BHHB{count}H", WRITE_MULTIPLE_REGISTERS, address, count, 2 * count, *values)
        reply = self._exchange(_framed(unit, pdu), reply_size=8)
        echoed_address, echoed_count = struct.unpack(">HH", reply[2:6])
        if (echoed_address, echoed_count) != (address, count):
            self._discard()
            raise ProtocolError(
                f"{self._about(unit, pdu)}: reply confirms {echoed_count} registers at {echoed_address}"
            )

    def close(self) -> None:
        self._transport.close()

    def _about(self, unit: int, pdu: bytes) -> str:
        """Whom and what an error is about (built only for an error)."""
        return f"{self.name} unit {unit}: {_describe(pdu)}"

    def _discard(self) -> None:
        self._transport.discard_input()

    def _exchange(self, request: bytes, reply_size: int) -> bytes:
        """Send one framed request (unit, PDU, CRC: :func:`_framed`) and return the whole normal
        reply (``reply_size`` bytes, CRC checked).

        The first three bytes decide what follows: an exception reply is 5 bytes long; a normal reply
        must be ``reply_size`` long, and for FC 3 its third byte (the byte count) must say so before
        anything more is read, so that a corrupt count cannot make us wait for bytes that never come.
        Unit, function and CRC are verified here; function-specific echoes by the caller.
        """
        unit, function = request[0], request[1]
        pdu = request[1:-2]
        if not self._clean:
            self._discard()
        self._clean = False
        self._transport.write(request)
        try:
            head = self._transport.read_exactly(3)
            if head[0] != unit:
                self._discard()
                raise ProtocolError(f"{self._about(unit, pdu)}: reply comes from unit {head[0]}")
            is_exception = head[1] == function | 0x80
            if is_exception:
                size = 5
            elif head[1] != function:
                self._discard()
                raise ProtocolError(
                    f"{self._about(unit, pdu)}: reply has function {head[1]}, expected {function}"
                )
            elif function in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS) and head[2] != reply_size - 5:
                self._discard()
                raise ProtocolError(
                    f"{self._about(unit, pdu)}: reply announces {head[2]} data bytes, "
                    f"expected {reply_size - 5}"
                )
            else:
                size = reply_size
            reply = head + self._transport.read_exactly(size - 3)
        except TransportTimeout as exc:
            raise TransportTimeout(
                f"{self.name} unit {unit}: no complete reply to {_describe(pdu)}: {exc}"
            ) from exc
        except TransportError as exc:
            raise TransportError(f"{self._about(unit, pdu)}: {exc}") from exc
        if crc_bytes(reply[:-2]) != reply[-2:]:
            self._discard()
            raise ProtocolError(f"{self._about(unit, pdu)}: bad CRC in reply {reply.hex(' ')}")
        self._clean = True
        if is_exception:
            code = reply[2]
            meaning = EXCEPTION_NAMES.get(code, "unknown exception")
            raise DeviceError(
                f"{self.name} unit {unit}: function {function} ({_describe(pdu)}) refused with Modbus "
                f"exception {code} ({meaning})",
                code,
            )
        return reply
