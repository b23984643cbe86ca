"""The device side of Modbus: register devices, an RTU serial line and Modbus TCP sessions.

Written independently of pymodbus's server (whose simulator is marked experimental) so that the
drivers' master code and these emulators are two implementations that meet only on the wire. The
RTU CRC is this side's own table over ``bytes`` too: pymodbus's ``FramerRTU.compute_CRC`` (used
here before) was a quarter of the time the bus took to answer a Keller read (2.6 of 10 us: two
CRCs a frame), about twice what the table costs (see :mod:`hil.bench.modbus_rtu`).

* :class:`RegisterDevice`: what one unit is: read a block of holding registers, write a block;
  undefined addresses raise :class:`~hil.core.errors.DeviceError` with code 2, which becomes a Modbus
  exception reply (any code a device raises is sent back as that exception).
* :class:`RegisterMap`: a RegisterDevice assembled from fields backed by callables (the instrument
  emulators build theirs from it).
* :class:`ModbusRtuBus`: one RS-485 line with several units, as an emulator for
  :meth:`simulators.server.EmulatorServer.add_pty`.
* :class:`ModbusTcpSession`: MBAP framing for one TCP connection, for
  :meth:`~simulators.server.EmulatorServer.add_tcp` (use :func:`tcp_session_factory`).

Function codes served: 3 (read holding registers), 4 (read input registers, for devices that have a
``read_input_registers`` method), 6 (write single register), 16 (write multiple registers); any other
function with a valid frame gets exception 1.

RTU framing without timing. A real device delimits frames by 3.5 characters of silence; a pty has no
such timing and may deliver a frame in pieces, so frames are cut by the length their function code
implies (a table of the standard request sizes) and buffered until complete. A frame with a bad CRC
is ignored (silence, like a real device) and the parser resyncs by dropping one byte and trying
again. When the head of the buffer is an incomplete frame but a complete, valid frame starts further
on, the head is taken for noise that a real line's silence would have ended, and dropped. A frame
with a non-standard function code (length unknown) is recognised only when it arrives alone as one
chunk on an empty buffer (a master writes a frame at once); otherwise it is silence. Frames for
units not on the bus are silence; broadcasts (unit 0) of writes are executed by every unit without a
reply.

Must not import drivers/.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from hil.core.errors import ConfigError, DeviceError

ILLEGAL_FUNCTION = 1
ILLEGAL_DATA_ADDRESS = 2
ILLEGAL_DATA_VALUE = 3
SERVER_DEVICE_FAILURE = 4
GATEWAY_TARGET_FAILED = 11

READ_HOLDING_REGISTERS = 3
READ_INPUT_REGISTERS = 4
WRITE_SINGLE_REGISTER = 6
WRITE_MULTIPLE_REGISTERS = 16

MAX_RTU_ADU = 256
WHOLE_FRAMES_KEPT = 64
READ_BLOCKS_KEPT = 64
MIN_RTU_ADU = 4  # unit, function, CRC
BROADCAST_UNIT = 0

# Request sizes by function code (Modbus application protocol and serial line specifications):
# fixed-size requests, and requests whose size follows from a byte count at a known index.
_FIXED_REQUEST_SIZES = {
    1: 8,
    2: 8,
    3: 8,
    4: 8,
    5: 8,
    6: 8,
    7: 4,
    8: 8,
    11: 4,
    12: 4,
    17: 4,
    22: 10,
    24: 6,
    43: 7,
}
_COUNTED_REQUEST_SIZES = {15: (6, 9), 16: (6, 9), 20: (2, 5), 21: (2, 5), 23: (10, 13)}

WordOrder = Literal["big", "little"]


class RegisterDevice(Protocol):
    """One Modbus unit's holding registers."""

    def read_registers(self, address: int, count: int) -> list[int]:
        """``count`` register values from ``address``; DeviceError(code 2) if any is undefined."""
        ...

    def write_registers(self, address: int, values: Sequence[int]) -> None:
        """Store ``values`` from ``address``; DeviceError(code 2 or 3) when refused."""
        ...


# --- 32-bit values in two registers (this side's own implementation; the drivers have theirs) ---


def _ordered(words: list[int], word_order: WordOrder) -> list[int]:
    if word_order == "big":
        return words
    if word_order == "little":
        return words[::-1]
    raise ConfigError("modbus device", "word_order", f"expected 'big' or 'little', got {word_order!r}")


_FLOAT32_MAX = 3.4028234663852886e38
_FLOAT32 = struct.Struct(">f")
_TWO_WORDS = struct.Struct(">HH")


def float32_to_words(value: float, word_order: WordOrder = "big") -> list[int]:
    """Two registers holding ``value`` as IEEE float32; beyond float32's range a device reports +-inf.

    (Every register read of the virtual bench's sensors comes through here: compiled structs and
    one range test for the usual finite value: 1.0 -> 0.5 us a value, best of 9, Python 3.11.)
    """
    if not -_FLOAT32_MAX <= value <= _FLOAT32_MAX and math.isfinite(value):
        value = math.copysign(math.inf, value)
    words = list(_TWO_WORDS.unpack(_FLOAT32.pack(value)))
    return words if word_order == "big" else _ordered(words, word_order)


def words_to_float32(words: Sequence[int], word_order: WordOrder = "big") -> float:
    high, low = _ordered(list(words), word_order)
    value: float = struct.unpack(">f", struct.pack(">HH", high, low))[0]
    return value


def uint32_to_words(value: int, word_order: WordOrder = "big") -> list[int]:
    return _ordered([(value >> 16) & 0xFFFF, value & 0xFFFF], word_order)


# --- register devices ---


@dataclass(frozen=True)
class _Field:
    address: int
    width: int
    read: Callable[[], list[int]] | None
    write: Callable[[list[int]], None] | None


class RegisterMap:
    """A RegisterDevice made of fields: runs of registers read and written through callables.

    A read may cover several fields and parts of them (each field's getter is called once per
    request); a write must cover whole writable fields, so half a float32 is never stored, and is
    checked in full before any setter runs. Anything else is exception 2, as on the real devices.
    """

    def __init__(self) -> None:
        self._fields: dict[int, _Field] = {}  # every register address of a field -> the field
        self._reads: dict[tuple[int, int], tuple[tuple[Callable[[], list[int]], int, int], ...]] = {}
        """Each readable block asked for so far, by (address, count): the getters it calls and the
        part of each one's words it takes (a map's fields do not change once it serves)."""

    def add_field(
        self,
        address: int,
        width: int,
        read: Callable[[], list[int]] | None,
        write: Callable[[list[int]], None] | None = None,
    ) -> None:
        field = _Field(address, width, read, write)
        for register in range(address, address + width):
            if register in self._fields:
                raise ConfigError("register map", f"register {register}", "is defined twice")
            self._fields[register] = field
        self._reads.clear()

    def read_registers(self, address: int, count: int) -> list[int]:
        """The block's words, each field's getter called once, in address order.

        Which getters a block calls, and which of their words it takes, is worked out the first time
        the block is read and remembered (a bench reads the same blocks every tick): a Keller's
        two-float block 4.1 -> 2.5 us, with the faster :func:`float32_to_words` (best of 9, Python
        3.11). A block that is not all readable raises every time and is never remembered.
        """
        reads = self._reads.get((address, count))
        if reads is None:
            reads = self._plan_read(address, count)
            if len(self._reads) >= READ_BLOCKS_KEPT:
                self._reads.clear()
            self._reads[(address, count)] = reads
        values: list[int] = []
        for read, start, stop in reads:
            values.extend(read()[start:stop])
        return values

    def _plan_read(self, address: int, count: int) -> tuple[tuple[Callable[[], list[int]], int, int], ...]:
        reads = []
        register, end = address, address + count
        while register < end:
            field = self._fields.get(register)
            if field is None or field.read is None:
                raise DeviceError(f"register {register} is not readable", ILLEGAL_DATA_ADDRESS)
            stop = min(end, field.address + field.width)
            reads.append((field.read, register - field.address, stop - field.address))
            register = stop
        return tuple(reads)

    def write_registers(self, address: int, values: Sequence[int]) -> None:
        writes: list[tuple[_Field, list[int]]] = []
        offset = 0
        while offset < len(values):
            register = address + offset
            field = self._fields.get(register)
            if (
                field is None
                or field.write is None
                or field.address != register
                or offset + field.width > len(values)
            ):
                raise DeviceError(f"register {register} is not a writable field start", ILLEGAL_DATA_ADDRESS)
            writes.append((field, list(values[offset : offset + field.width])))
            offset += field.width
        for field, words in writes:
            assert field.write is not None
            field.write(words)


# --- protocol data units (shared by RTU and TCP) ---


def handle_pdu(device: RegisterDevice, pdu: bytes) -> bytes:
    """The reply PDU a device gives to request ``pdu``: normal reply or exception reply."""
    function = pdu[0]
    try:
        if function in (READ_HOLDING_REGISTERS, READ_INPUT_REGISTERS):
            # Input registers (FC 4) are a separate space; a device without any refuses the function.
            read = (
                device.read_registers
                if function == READ_HOLDING_REGISTERS
                else getattr(device, "read_input_registers", None)
            )
            if read is None:
                raise DeviceError("this device has no input registers", ILLEGAL_FUNCTION)
            if len(pdu) != 5:
                raise DeviceError(f"FC {function} request must be 5 bytes", ILLEGAL_DATA_VALUE)
            address, count = struct.unpack(">HH", pdu[1:5])
            if not 1 <= count <= 125:
                raise DeviceError(f"FC {function} count {count} outside 1..125", ILLEGAL_DATA_VALUE)
            if address + count > 0x10000:
                raise DeviceError(f"FC {function} block runs past register 65535", ILLEGAL_DATA_ADDRESS)
            values = read(address, count)
            return struct.pack(f">BB{count}H", function, 2 * count, *values)
        if function == WRITE_SINGLE_REGISTER:
            if len(pdu) != 5:
                raise DeviceError("FC 6 request must be 5 bytes", ILLEGAL_DATA_VALUE)
            address, value = struct.unpack(">HH", pdu[1:5])
            device.write_registers(address, [value])
            return pdu
        if function == WRITE_MULTIPLE_REGISTERS:
            if len(pdu) < 6:
                raise DeviceError("FC 16 request too short", ILLEGAL_DATA_VALUE)
            address, count, byte_count = struct.unpack(">HHB", pdu[1:6])
            if not 1 <= count <= 123 or byte_count != 2 * count or len(pdu) != 6 + byte_count:
                raise DeviceError("FC 16 count and byte count disagree", ILLEGAL_DATA_VALUE)
            if address + count > 0x10000:
                raise DeviceError("FC 16 block runs past register 65535", ILLEGAL_DATA_ADDRESS)
            device.write_registers(address, struct.unpack(f">{count}H", pdu[6:]))
            return struct.pack(">BHH", function, address, count)
        raise DeviceError(f"function {function} is not supported", ILLEGAL_FUNCTION)
    except DeviceError as exc:
        code = exc.code if exc.code is not None and 1 <= exc.code <= 255 else SERVER_DEVICE_FAILURE
        return bytes((function | 0x80, code))


def _crc_table() -> tuple[int, ...]:
    """CRC-16/MODBUS of each byte value (the reflected polynomial 0xA001, as the serial-line spec)."""
    table = []
    for byte in range(256):
        crc = byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
        table.append(crc)
    return tuple(table)


_CRC_TABLE = _crc_table()


def _crc(frame: bytes | bytearray) -> bytes:
    """The CRC of ``frame`` in wire order (low byte first)."""
    crc = 0xFFFF
    for byte in frame:
        crc = (crc >> 8) ^ _CRC_TABLE[(crc ^ byte) & 0xFF]
    return crc.to_bytes(2, "little")


def _request_size(buffer: bytes | bytearray, start: int = 0) -> int | None:
    """Size of the request starting at ``buffer[start]``: None if more bytes are needed to tell, 0 if
    the function code is non-standard (size unknown)."""
    function = buffer[start + 1]
    if function in _FIXED_REQUEST_SIZES:
        return _FIXED_REQUEST_SIZES[function]
    if function in _COUNTED_REQUEST_SIZES:
        index, base = _COUNTED_REQUEST_SIZES[function]
        return base + buffer[start + index] if len(buffer) > start + index else None
    return 0


class ModbusRtuBus:
    """Several Modbus units sharing one serial line (see the module docstring for the framing)."""

    def __init__(self, devices: Mapping[int, RegisterDevice]) -> None:
        for unit in devices:
            if not 1 <= unit <= 247:
                raise ConfigError("modbus rtu bus", f"unit {unit}", "unit ids on a bus lie in 1..247")
        self._devices = dict(devices)
        self._buffer = bytearray()
        self._whole_frames: set[bytes] = set()
        """Chunks that arrived on an empty buffer and were exactly one valid frame (see receive)."""

    def receive(self, data: bytes) -> bytes:
        """The replies to every frame ``data`` completes (see the module docstring for the framing).

        A master writes each request whole, and a bench's master repeats the same few requests every
        tick, so a chunk that arrives on an empty buffer and was exactly one valid frame before is
        answered at once: whether it is one is a function of its bytes alone, so what it was the first
        time it is every time. That skips the framing and the request's CRC: a Keller read's
        8.5-10.9 us -> 7.6-7.9 us (alternated pairs; 100,000 calls, best of 15, Python 3.11). At
        most :data:`WHOLE_FRAMES_KEPT` are remembered (then forgotten all at once: setpoint writes
        differ each time).
        """
        buffer = self._buffer
        if not buffer and data.__class__ is bytes and data in self._whole_frames:
            return self._answer(data)
        # A chunk that arrives on an empty buffer may be one whole frame of a non-standard function.
        whole_chunk = not buffer
        buffer.extend(data)
        replies: list[bytes] = []
        while len(buffer) >= MIN_RTU_ADU:
            size = self._valid_frame_size(buffer, 0, whole_chunk)
            if size:
                frame = bytes(buffer[:size])
                del buffer[:size]
                if whole_chunk and not buffer:
                    if len(self._whole_frames) >= WHOLE_FRAMES_KEPT:
                        self._whole_frames.clear()
                    self._whole_frames.add(frame)
                whole_chunk = False
                replies.append(self._answer(frame))
                continue
            whole_chunk = False
            if not self._may_still_complete(buffer):
                del buffer[:1]  # bad CRC or impossible frame: resync one byte on
                continue
            starts = range(1, len(buffer) - MIN_RTU_ADU + 1)
            later = next((start for start in starts if self._valid_frame_size(buffer, start, False)), None)
            if later is None:
                break  # a partial frame: wait for the rest
            del buffer[:later]
        return b"".join(replies)

    @staticmethod
    def _may_still_complete(buffer: bytearray) -> bool:
        size = _request_size(buffer)
        if size is None:
            return True
        return size != 0 and size <= MAX_RTU_ADU and len(buffer) < size

    @staticmethod
    def _valid_frame_size(buffer: bytearray, start: int, whole_chunk: bool) -> int:
        """Size of a complete frame with a valid CRC at ``start``, else 0.

        A non-standard function's size is unknown: such a frame is recognised only when it is
        exactly a chunk that arrived on an empty buffer (``whole_chunk``).
        """
        available = len(buffer) - start
        if available < MIN_RTU_ADU:
            return 0
        size = _request_size(buffer, start)
        if size is None or size > MAX_RTU_ADU:
            return 0
        if size == 0:
            if not whole_chunk or available > MAX_RTU_ADU:
                return 0
            size = available
        if available < size:
            return 0
        end = start + size
        return size if _crc(buffer[start : end - 2]) == buffer[end - 2 : end] else 0

    def _answer(self, frame: bytes) -> bytes:
        unit, pdu = frame[0], frame[1:-2]
        if unit == BROADCAST_UNIT:
            if pdu[0] in (WRITE_SINGLE_REGISTER, WRITE_MULTIPLE_REGISTERS):
                for device in self._devices.values():
                    handle_pdu(device, pdu)
            return b""
        addressed = self._devices.get(unit)
        if addressed is None:
            return b""
        reply = bytes((unit,)) + handle_pdu(addressed, pdu)
        return reply + _crc(reply)


class ModbusTcpSession:
    """MBAP framing for one Modbus TCP connection to the given units.

    The transaction id is echoed; a frame whose protocol id is not 0 is ignored (it is not Modbus);
    a unit that is not served gets exception 11 (gateway target failed to respond), as from a
    gateway. An MBAP length outside 2..254 cannot be framed, and since TCP has no resync point the
    buffered input is dropped.
    """

    def __init__(self, devices: Mapping[int, RegisterDevice]) -> None:
        self._devices = devices
        self._buffer = bytearray()

    def receive(self, data: bytes) -> bytes:
        buffer = self._buffer
        buffer.extend(data)
        replies: list[bytes] = []
        while len(buffer) >= 7:
            transaction, protocol, length, unit = struct.unpack(">HHHB", buffer[:7])
            if not 2 <= length <= 254:
                buffer.clear()
                break
            if len(buffer) < 6 + length:
                break
            pdu = bytes(buffer[7 : 6 + length])
            del buffer[: 6 + length]
            if protocol != 0:
                continue
            device = self._devices.get(unit)
            if device is None:
                reply = bytes((pdu[0] | 0x80, GATEWAY_TARGET_FAILED))
            else:
                reply = handle_pdu(device, pdu)
            replies.append(struct.pack(">HHHB", transaction, 0, len(reply) + 1, unit) + reply)
        return b"".join(replies)


def tcp_session_factory(devices: Mapping[int, RegisterDevice]) -> Callable[[], ModbusTcpSession]:
    """A factory for ``EmulatorServer.add_tcp``: each connection frames on its own, devices are shared."""
    return lambda: ModbusTcpSession(devices)
