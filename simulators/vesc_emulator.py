"""The VESC motor controller's side of its UART protocol, over a motor plant.

:class:`VescEmulator` parses frames from the byte stream a driver sends, applies setpoints to a
:class:`MotorPlant` and answers GET_VALUES from the plant's state, byte for byte as laid out in the
VESC section of ``shared/reference/protocols.md``. Framing, CRC and the reply encoder are written
here independently of ``drivers/vesc_codec.py``: the two meet only on the wire, so a shared mistake
cannot hide, and both are tested against the reference frames.

Behaviour copied from the firmware:

* frames with a bad CRC, bad end byte or impossible length, and commands it does not know, are
  dropped silently (no reply); the parser resynchronises by skipping one byte, as the firmware does;
* SET_* and ALIVE get no reply;
* when no SET_* or ALIVE arrived within ``timeout_s`` of *bench* time (checked in :meth:`tick`),
  the motor is released (current 0) and status bit 0 "command timeout active" is set until the next
  command. ``timeout_s <= 0`` disables the timeout, like a firmware timeout of 0.

Approximations (the plant is a pump loop, not a FOC model):

* SET_CURRENT_BRAKE is applied as current 0, i.e. coasting instead of braking;
* SET_DUTY becomes a speed command of duty x ``full_duty_speed_rpm`` (the motor's no-load speed at
  the bus voltage), since the plant takes speed or current commands only;
* id is reported as 0 and iq as the motor current (no field weakening); vq as duty x bus voltage,
  vd as 0; temp_mos1..3 all equal the FET temperature; charged amp- and watt-hours are 0 (a pump does
  not regenerate); tachometer_abs is the magnitude of the tachometer (the pump turns one way);
  pid_pos is 0. Values beyond a field's range saturate instead of wrapping, and a non-finite value is
  sent as 0, so the emulator never dies on odd plant states.
* a partial frame with no new bytes over two ticks is dropped, standing in for the firmware's
  receive timeout (otherwise one corrupt length byte could swallow every later request).

Must not import drivers/.
"""

from __future__ import annotations

import binascii
import math
import struct
from typing import Final, Protocol

# Command ids (payload byte 0), from the reference.
GET_VALUES: Final = 4
SET_DUTY: Final = 5
SET_CURRENT: Final = 6
SET_CURRENT_BRAKE: Final = 7
SET_RPM: Final = 8
ALIVE: Final = 30

STATUS_COMMAND_TIMEOUT: Final = 0x01

MAX_PAYLOAD_LEN: Final = 512  # firmware receive buffer as far as we know (unverified)
_LENGTH_BYTES: Final = {0x02: 1, 0x03: 2, 0x04: 3}
_END_BYTE: Final = 0x03
WHOLE_FRAMES_KEPT: Final = 64
FIRMWARES: Final = ("new", "old")


class MotorState(Protocol):
    """What the plant reports about the motor, in SI units (speeds mechanical); read-only."""

    @property
    def speed_rpm(self) -> float: ...
    @property
    def motor_current_a(self) -> float: ...
    @property
    def input_current_a(self) -> float: ...
    @property
    def bus_voltage_v(self) -> float: ...
    @property
    def duty(self) -> float: ...
    @property
    def temp_fet_c(self) -> float: ...
    @property
    def temp_motor_c(self) -> float: ...
    @property
    def fault_code(self) -> int: ...
    @property
    def amp_hours(self) -> float: ...
    @property
    def watt_hours(self) -> float: ...
    @property
    def tachometer(self) -> int: ...
    @property
    def pole_pairs(self) -> int: ...


class MotorPlant(Protocol):
    """The motor (and whatever it drives) as the emulated controller sees it."""

    @property
    def time_s(self) -> float:
        """Bench time of the plant's current state."""
        ...

    def command_speed_rpm(self, mechanical_rpm: float) -> None: ...

    def command_current_a(self, current_a: float) -> None:
        """Motor current command; 0 releases the motor to coast."""
        ...

    def motor_state(self) -> MotorState: ...


def _crc16_xmodem(data: bytes) -> int:
    """CRC-16/XMODEM, the firmware's frame CRC: the standard library's ``binascii.crc_hqx`` from 0 (in C;
    the table-driven Python loop cost 26 us per GET_VALUES reply, on the path of every tick)."""
    return binascii.crc_hqx(data, 0)


def frame(payload: bytes) -> bytes:
    """Frame a payload the way the firmware sends it (shortest length form)."""
    size = len(payload)
    if size < 0x100:
        header = bytes((0x02, size))
    elif size < 0x10000:
        header = b"\x03" + size.to_bytes(2, "big")
    else:
        header = b"\x04" + size.to_bytes(3, "big")
    return header + payload + _crc16_xmodem(payload).to_bytes(2, "big") + bytes((_END_BYTE,))


def _saturated_ints(
    values: tuple[float, ...], scales: tuple[float, ...], limits: tuple[tuple[int, int], ...]
) -> list[int]:
    """Each ``value x scale`` rounded to an integer and saturated at its field's ``(low, high)``; a
    value that is not finite is sent as 0. (Comparing before rounding gives what rounding and then
    clamping gives: the limits are integers.)"""
    raws = []
    isfinite = math.isfinite
    for value, scale, (low, high) in zip(values, scales, limits):
        scaled = value * scale
        if not isfinite(scaled):
            raws.append(0)
        elif scaled >= high:
            raws.append(high)
        elif scaled <= low:
            raws.append(low)
        else:
            raws.append(round(scaled))
    return raws


_FIELD_LIMITS: Final = {
    code: (0, (1 << bits) - 1) if code.isupper() else (-(1 << (bits - 1)), (1 << (bits - 1)) - 1)
    for code, bits in (("B", 8), ("h", 16), ("H", 16), ("i", 32), ("I", 32))
}

_VALUES_FIELDS: Final = (
    # (struct code, scale, what): the GET_VALUES reply after its command byte, in wire order
    ("h", 10.0, "temp_fet"),
    ("h", 10.0, "temp_motor"),
    ("i", 100.0, "current_motor"),
    ("i", 100.0, "current_in"),
    ("i", 100.0, "id"),
    ("i", 100.0, "iq"),
    ("h", 1000.0, "duty_now"),
    ("i", 1.0, "rpm (electrical)"),
    ("h", 10.0, "v_in"),
    ("i", 1e4, "amp_hours"),
    ("i", 1e4, "amp_hours_charged"),
    ("i", 1e4, "watt_hours"),
    ("i", 1e4, "watt_hours_charged"),
    ("i", 1.0, "tachometer"),
    ("i", 1.0, "tachometer_abs"),
    ("B", 1.0, "fault_code"),
    ("i", 1e6, "pid_pos"),
    ("B", 1.0, "controller_id"),
    ("h", 10.0, "temp_mos1"),
    ("h", 10.0, "temp_mos2"),
    ("h", 10.0, "temp_mos3"),
    ("i", 1000.0, "vd"),
    ("i", 1000.0, "vq"),
    ("B", 1.0, "status (new firmware only)"),
)
_VALUES_CODES: Final = "".join(code for code, _, _ in _VALUES_FIELDS)
_VALUES_SCALES: Final = tuple(scale for _, scale, _ in _VALUES_FIELDS)
_VALUES_LIMITS: Final = tuple(_FIELD_LIMITS[code] for code in _VALUES_CODES)
_VALUES_PACK: Final = {
    True: struct.Struct(">B" + _VALUES_CODES).pack,
    False: struct.Struct(">B" + _VALUES_CODES[:-1]).pack,
}


def encode_values_payload(state: MotorState, controller_id: int, status: int | None) -> bytes:
    """The GET_VALUES reply payload for ``state``; ``status=None`` omits the status byte (old firmware).

    One table of fields (:data:`_VALUES_FIELDS`) and one :func:`struct.pack` for the whole payload:
    packing each of the 24 fields by its own call, with its limits worked out from its format each
    time, cost 25-28 us a reply, now 7-9 us (the same bytes, checked on 200,000 random states;
    5,000 calls, best of 30, Python 3.11), on the path of every tick.
    """
    values: tuple[float, ...] = (
        state.temp_fet_c,
        state.temp_motor_c,
        state.motor_current_a,
        state.input_current_a,
        0.0,  # id
        state.motor_current_a,  # iq
        state.duty,
        state.speed_rpm * state.pole_pairs,
        state.bus_voltage_v,
        state.amp_hours,
        0.0,  # amp hours charged
        state.watt_hours,
        0.0,  # watt hours charged
        state.tachometer,
        abs(state.tachometer),
        state.fault_code,
        0.0,  # pid_pos
        controller_id,
        state.temp_fet_c,  # temp_mos1..3
        state.temp_fet_c,
        state.temp_fet_c,
        0.0,  # vd
        state.duty * state.bus_voltage_v,  # vq
    )
    if status is not None:
        values += (float(status),)
    return _VALUES_PACK[status is not None](
        GET_VALUES, *_saturated_ints(values, _VALUES_SCALES, _VALUES_LIMITS)
    )


class VescEmulator:
    """One emulated VESC on one serial line (serve it with ``EmulatorServer.add_pty``)."""

    def __init__(
        self,
        motor: MotorPlant,
        timeout_s: float = 1.0,
        firmware: str = "new",
        *,
        controller_id: int = 0,
        full_duty_speed_rpm: float = 10_000.0,
    ) -> None:
        if firmware not in FIRMWARES:
            raise ValueError(f"VESC emulator: firmware must be one of {FIRMWARES}, got {firmware!r}")
        if not 0 <= controller_id <= 255:
            raise ValueError(f"VESC emulator: controller_id must fit a byte, got {controller_id}")
        self.motor = motor
        self.timeout_s = timeout_s
        self.firmware = firmware
        self.controller_id = controller_id
        self.full_duty_speed_rpm = full_duty_speed_rpm
        self.timeout_active = False
        self._last_command_s = motor.time_s
        self._buffer = bytearray()
        self._received_since_tick = False
        self._whole_frames: dict[bytes, bytes] = {}
        """Chunks that arrived on an empty buffer and were exactly one valid frame, with its payload."""

    @property
    def status(self) -> int:
        return STATUS_COMMAND_TIMEOUT if self.timeout_active else 0

    def receive(self, data: bytes) -> bytes:
        """Consume bytes from the driver; return the reply bytes (``b""`` if none are due).

        A driver writes each frame whole, and the same few (GET_VALUES, ALIVE) every tick: a chunk
        that arrives on an empty buffer and was exactly one valid frame before is one now (validity
        is a function of the bytes alone), so its payload is taken without framing it again: a
        GET_VALUES exchange 26.9-30.9 -> 23.1-26.5 us (both versions in one process, interleaved,
        best of 15, at load 6 on two cores; Python 3.11). At most :data:`WHOLE_FRAMES_KEPT` are
        remembered (then forgotten all at once: setpoints differ each time).
        """
        if data:
            self._received_since_tick = True
        buffer = self._buffer
        if not buffer and data.__class__ is bytes:
            payload = self._whole_frames.get(data)
            if payload is not None:
                reply = self._handle(payload)
                return frame(reply) if reply else b""
        whole_chunk = not buffer
        buffer.extend(data)
        replies = []
        while (payload := self._next_payload()) is not None:
            if whole_chunk and not buffer:
                if len(self._whole_frames) >= WHOLE_FRAMES_KEPT:
                    self._whole_frames.clear()
                self._whole_frames[bytes(data)] = payload
            whole_chunk = False
            reply = self._handle(payload)
            if reply:
                replies.append(frame(reply))
        return b"".join(replies)

    def tick(self, time_s: float) -> None:
        """Called after each plant advance: apply the command timeout, expire stale partial frames."""
        if self._buffer and not self._received_since_tick:
            self._buffer.clear()
        self._received_since_tick = False
        if self.timeout_s > 0 and not self.timeout_active and time_s - self._last_command_s >= self.timeout_s:
            self.motor.command_current_a(0.0)
            self.timeout_active = True

    def _next_payload(self) -> bytes | None:
        """Pop the next valid frame's payload, skipping garbage a byte at a time like the firmware."""
        buffer = self._buffer
        while buffer:
            length_bytes = _LENGTH_BYTES.get(buffer[0])
            if length_bytes is None:
                del buffer[0]
                continue
            header_len = 1 + length_bytes
            if len(buffer) < header_len:
                return None
            size = int.from_bytes(buffer[1:header_len], "big")
            if size == 0 or size > MAX_PAYLOAD_LEN:
                del buffer[0]
                continue
            frame_len = header_len + size + 3
            if len(buffer) < frame_len:
                return None
            payload = bytes(buffer[header_len : header_len + size])
            crc = int.from_bytes(buffer[frame_len - 3 : frame_len - 1], "big")
            if buffer[frame_len - 1] != _END_BYTE or crc != _crc16_xmodem(payload):
                del buffer[0]
                continue
            del buffer[:frame_len]
            return payload
        return None

    def _handle(self, payload: bytes) -> bytes:
        command = payload[0]
        if command == GET_VALUES:
            status = self.status if self.firmware == "new" else None
            return encode_values_payload(self.motor.motor_state(), self.controller_id, status)
        if command == ALIVE:
            self._fed()
            return b""
        if command in (SET_DUTY, SET_CURRENT, SET_CURRENT_BRAKE, SET_RPM):
            if len(payload) < 5:
                return b""  # too short to carry its int32 argument: ignored
            (argument,) = struct.unpack_from(">i", payload, 1)
            self._fed()
            if command == SET_RPM:
                self.motor.command_speed_rpm(argument / self.motor.motor_state().pole_pairs)
            elif command == SET_CURRENT:
                self.motor.command_current_a(argument / 1000.0)
            elif command == SET_CURRENT_BRAKE:
                self.motor.command_current_a(0.0)
            else:
                self.motor.command_speed_rpm(argument / 1e5 * self.full_duty_speed_rpm)
        return b""  # unknown command: silence, as the firmware gives for commands it lacks

    def _fed(self) -> None:
        self._last_command_s = self.motor.time_s
        self.timeout_active = False
