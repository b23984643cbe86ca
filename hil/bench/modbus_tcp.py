"""A small Modbus TCP master: register reads (FC 3, FC 4) and writes (FC 6, FC 16) in MBAP frames.

:class:`ModbusTcpTransport` implements :class:`hil.bench.transport.InputRegisterTransport` on top of a
:class:`hil.bench.transport.TcpTransport` (any :class:`~hil.bench.transport.ByteTransport`), one per
connection, shared by the units behind it.

Why not pymodbus's ``ModbusTcpClient`` (:class:`hil.bench.library_transports.PymodbusTransport`): its
generality (request and response objects, a framer and a transaction manager per call, retries and
logging hooks) costs more than the exchange itself on a loopback link. Measured in one process on the
2-core development machine with ``benchmarks/bench_virtual_bench.py`` (the DAQ's two-register read
over the virtual bench's Modbus TCP link, five interleaved rounds, load average 10): pymodbus 3.16
took a median 2.95x the raw socket round trip of the same frames (about 100 us against 35 us), this
master 1.6x (about 60 us). Importing ``pymodbus.client`` also cost half the numpy import at start-up,
before the first tick. A request is one ``send``, a reply two
reads by its announced length; nothing else happens per exchange. Being built on the project's own
transport, it also shares its timeouts, its error messages and, on the virtual bench, its
:class:`~hil.bench.transport.ReplyWitness`.

Reply handling: the MBAP header's length decides how much follows. A reply whose transaction id is
not the request's is a late answer to an earlier request that timed out: it is read and dropped, so
replies never shift by one (Modbus TCP carries ids for exactly that). A protocol id other than 0 or a
length outside 2..254 cannot be framed: the input is discarded and it is a
:class:`~hil.core.errors.ProtocolError`, as is a reply from another unit, of another function or of
the wrong size. Exception replies become :class:`~hil.core.errors.DeviceError` with the exception
code. Timeouts and I/O errors are the transport's, with the unit and request added.

Imports :mod:`hil.core.errors`, :mod:`hil.bench.transport` and :mod:`hil.bench.modbus_rtu` (function
codes, limits, exception names) only.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from hil.bench.modbus_rtu import (
    EXCEPTION_NAMES,
    MAX_READ_COUNT,
    MAX_WRITE_COUNT,
    READ_HOLDING_REGISTERS,
    READ_INPUT_REGISTERS,
    WRITE_MULTIPLE_REGISTERS,
    WRITE_SINGLE_REGISTER,
    check_register_span,
)
from hil.bench.transport import ByteTransport
from hil.core.errors import DeviceError, LimitError, ProtocolError, TransportError, TransportTimeout

MBAP_HEADER = struct.Struct(">HHHB")  # transaction id, protocol id (0), length (unit + PDU), unit


class ModbusTcpTransport:
    """Modbus TCP master for one connection; implements
    :class:`hil.bench.transport.InputRegisterTransport`."""

    def __init__(self, transport: ByteTransport, name: str | None = None) -> None:
        self.name = name if name is not None else f"modbus-tcp:{transport.name}"
        self._transport = transport
        self._transaction = 0

    def read_holding_registers(self, address: int, count: int, unit: int) -> list[int]:
        return self._read(READ_HOLDING_REGISTERS, "holding", address, count, unit)

    def read_input_registers(self, address: int, count: int, unit: int) -> list[int]:
        return self._read(READ_INPUT_REGISTERS, "input", address, count, unit)

    def _read(self, function: int, kind: str, address: int, count: int, unit: int) -> list[int]:
        check_register_span(address, count, MAX_READ_COUNT)
        what = f"read {count} {kind} registers at {address}"
        reply = self._exchange(unit, struct.pack(">BHH", function, address, count), what, 2 + 2 * count)
        if reply[1] != 2 * count:
            raise ProtocolError(f"{self.name} unit {unit}: {what}: reply announces {reply[1]} data bytes")
        return list(struct.unpack(f">{count}H", reply[2:]))

    def write_register(self, address: int, value: int, unit: int) -> None:
        """Function 6: one register; the device echoes the request."""
        check_register_span(address, 1, 1)
        self._check_words(unit, (value,))
        what = f"write register {address}"
        pdu = struct.pack(">BHH", WRITE_SINGLE_REGISTER, address, value)
        if self._exchange(unit, pdu, what, 5) != pdu:
            raise ProtocolError(f"{self.name} unit {unit}: {what}: reply does not echo the request")

    def write_registers(self, address: int, values: Sequence[int], unit: int) -> None:
        count = len(values)
        check_register_span(address, count, MAX_WRITE_COUNT)
        self._check_words(unit, values)
        what = f"write {count} registers at {address}"
        pdu = struct.pack(f">BHHB{count}H", WRITE_MULTIPLE_REGISTERS, address, count, 2 * count, *values)
        reply = self._exchange(unit, pdu, what, 5)
        if reply[1:5] != pdu[1:5]:
            echoed_address, echoed_count = struct.unpack(">HH", reply[1:5])
            raise ProtocolError(
                f"{self.name} unit {unit}: {what}: reply confirms {echoed_count} registers at {echoed_address}"
            )

    def close(self) -> None:
        self._transport.close()

    def _check_words(self, unit: int, values: Sequence[int]) -> None:
        for value in values:
            if not 0 <= value <= 0xFFFF:
                raise LimitError(f"{self.name} unit {unit}: register value {value} is not a 16-bit word")

    def _exchange(self, unit: int, pdu: bytes, what: str, reply_size: int) -> bytes:
        """Send one request; return the reply's PDU (function code first), ``reply_size`` bytes long."""
        if not 0 <= unit <= 255:
            raise LimitError(f"Modbus TCP unit id {unit} is outside 0..255")
        self._transaction = (self._transaction + 1) & 0xFFFF
        transaction = self._transaction
        try:
            self._transport.write(MBAP_HEADER.pack(transaction, 0, len(pdu) + 1, unit) + pdu)
            while True:
                answered, protocol, length, from_unit = MBAP_HEADER.unpack(self._transport.read_exactly(7))
                if protocol != 0 or not 2 <= length <= 254:
                    self._transport.discard_input()
                    raise ProtocolError(
                        f"{self.name} unit {unit}: {what}: not a Modbus TCP reply "
                        f"(protocol id {protocol}, length {length})"
                    )
                reply = self._transport.read_exactly(length - 1)
                if answered == transaction:
                    break  # otherwise the late reply to an earlier request: dropped
        except TransportTimeout as exc:
            raise TransportTimeout(f"{self.name} unit {unit}: no complete reply to {what}: {exc}") from exc
        except TransportError as exc:
            raise TransportError(f"{self.name} unit {unit}: {what}: {exc}") from exc
        function = pdu[0]
        if from_unit != unit:
            raise ProtocolError(f"{self.name} unit {unit}: {what}: reply comes from unit {from_unit}")
        if reply[0] == function | 0x80 and len(reply) == 2:
            code = reply[1]
            raise DeviceError(
                f"{self.name} unit {unit}: function {function} ({what}) refused with Modbus "
                f"exception {code} ({EXCEPTION_NAMES.get(code, 'unknown exception')})",
                code,
            )
        if reply[0] != function or len(reply) != reply_size:
            raise ProtocolError(
                f"{self.name} unit {unit}: {what}: unexpected reply {reply.hex(' ')} "
                f"(function {reply[0]}, {len(reply)} bytes)"
            )
        return reply
