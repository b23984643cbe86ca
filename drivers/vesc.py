"""VESC motor controller over UART as a :class:`hil.bench.roles.PumpDrive`.

The driver turns role calls into VESC frames (built by :mod:`drivers.vesc_codec`) and GET_VALUES
replies into SI readings. It never opens a port itself: it takes any
:class:`hil.bench.transport.ByteTransport`, so the same code drives a controller on ``/dev/ttyUSB0`` and
the emulator on a pty.

Choices worth knowing:

* Speed is commanded as SET_RPM with *electrical* rpm = mechanical rpm x pole pairs. A setpoint
  outside ``[0, max_speed_rpm]`` raises :class:`~hil.core.errors.LimitError` before a byte is written;
  it is never clipped.
* SET_* and ALIVE get no reply from the firmware, so only GET_VALUES is an exchange. After a
  timeout or a garbled reply the driver discards pending input before its next exchange, so a late
  reply to the failed request is not taken for the answer to the next one.
* A fault code is part of the reading (``fault_code``); deciding whether it trips the bench is the
  runner's interlock's job, not the driver's.
* The safe state is SET_CURRENT 0 (coast): the reference lists no e-stop command.
* :meth:`VescDrive.identify` reports the controller id from GET_VALUES. Real firmware also has
  COMM_FW_VERSION (command 0), but it is not in our protocol reference, so it is not relied on.

Imports hil's errors and transport types only; must never import simulators/.
"""

from __future__ import annotations

import math

from drivers.vesc_codec import (
    END_BYTE,
    START_SHORT,
    FrameDecoder,
    VescValues,
    alive_payload,
    crc16_xmodem,
    decode_values,
    encode_frame,
    get_values_payload,
    set_current_payload,
    set_rpm_payload,
)
from hil.bench.roles import Reading
from hil.bench.transport import ByteTransport
from hil.core.errors import ConfigError, LimitError, ProtocolError, TransportError

_GET_VALUES_FRAME = encode_frame(get_values_payload())
_ALIVE_FRAME = encode_frame(alive_payload())
_COAST_FRAME = encode_frame(set_current_payload(0.0))


class VescDrive:
    """A VESC speed-controlling a pump motor; implements :class:`hil.bench.roles.PumpDrive`."""

    READINGS: tuple[str, ...] = (
        "speed_rpm",
        "motor_current_a",
        "input_current_a",
        "bus_voltage_v",
        "duty",
        "temp_fet_c",
        "temp_motor_c",
        "fault_code",
        "electrical_power_w",
    )
    """The keys of :meth:`read`: what a bench file's ``channels`` may map (checked before connecting)."""

    def __init__(
        self,
        transport: ByteTransport,
        pole_pairs: int,
        max_speed_rpm: float,
        name: str = "vesc",
        command_timeout_s: float = 1.0,
    ) -> None:
        if isinstance(pole_pairs, bool) or not isinstance(pole_pairs, int) or pole_pairs < 1:
            raise ConfigError(name, "pole_pairs", f"expected a positive integer, got {pole_pairs!r}")
        if not (math.isfinite(max_speed_rpm) and max_speed_rpm > 0):
            problem = f"expected a positive finite speed in rpm, got {max_speed_rpm!r}"
            raise ConfigError(name, "max_speed_rpm", problem)
        if not (math.isfinite(command_timeout_s) and command_timeout_s > 0):
            problem = f"expected a positive finite time in s, got {command_timeout_s!r}"
            raise ConfigError(name, "command_timeout_s", problem)
        self.name = name
        # The firmware releases the motor when no command came for its timeout (the app setting,
        # 1 s by default); feeding it at a quarter of that still survives two lost ALIVE frames.
        self.keep_alive_interval_s = command_timeout_s / 4.0
        self.pole_pairs = pole_pairs
        self.max_speed_rpm = float(max_speed_rpm)
        self._transport = transport
        self._input_suspect = False  # a failed exchange may have left a late reply on the line

    # --- PumpDrive ---------------------------------------------------------------------------------

    def set_speed_rpm(self, speed_rpm: float) -> None:
        """Command a mechanical speed in rpm within ``[0, max_speed_rpm]``; raises LimitError outside."""
        if not (math.isfinite(speed_rpm) and 0.0 <= speed_rpm <= self.max_speed_rpm):
            raise LimitError(
                f"{self.name}: speed {speed_rpm} rpm outside [0, {self.max_speed_rpm:g}] rpm; "
                "nothing was sent"
            )
        self._transport.write(encode_frame(set_rpm_payload(speed_rpm * self.pole_pairs)))

    def keep_alive(self) -> None:
        """Send ALIVE, feeding the firmware's command timeout without changing the setpoint."""
        self._transport.write(_ALIVE_FRAME)

    def read(self) -> Reading:
        """One GET_VALUES exchange as SI quantities; a fault is reported in ``fault_code``, not raised."""
        values = self.read_values()
        return {
            "speed_rpm": values.erpm / self.pole_pairs,
            "motor_current_a": values.motor_current_a,
            "input_current_a": values.input_current_a,
            "bus_voltage_v": values.v_in_v,
            "duty": values.duty,
            "temp_fet_c": values.temp_fet_c,
            "temp_motor_c": values.temp_motor_c,
            "fault_code": float(values.fault_code),
            "electrical_power_w": values.v_in_v * values.input_current_a,
        }

    def identify(self) -> str:
        """``"VESC controller_id=N"`` from GET_VALUES (``unknown`` if the firmware does not send it)."""
        controller_id = self.read_values().controller_id
        return f"VESC controller_id={'unknown' if controller_id is None else controller_id}"

    def safe_state(self) -> None:
        """Coast: SET_CURRENT 0. Always attempted; a dead transport's error propagates for the runner."""
        self._transport.write(_COAST_FRAME)

    def stop(self) -> None:
        """Same as :meth:`safe_state`."""
        self.safe_state()

    # --- beyond the role ---------------------------------------------------------------------------

    def read_values(self) -> VescValues:
        """One GET_VALUES exchange, every field of the reply decoded."""
        payload = self._exchange(_GET_VALUES_FRAME, "GET_VALUES")
        try:
            return decode_values(payload)
        except ProtocolError as exc:
            request = _GET_VALUES_FRAME.hex(" ")
            raise ProtocolError(f"{self.name}: reply to GET_VALUES ({request}): {exc}") from exc

    def _exchange(self, frame: bytes, command: str) -> bytes:
        """Send ``frame`` (a short-form frame) and return the reply payload for the same command."""
        command_id = frame[2]
        if self._input_suspect:
            self._transport.discard_input()
            self._input_suspect = False
        self._transport.write(frame)
        decoder = FrameDecoder()
        try:
            payloads: list[bytes] = []
            # A reply in a short frame (GET_VALUES' is) is read as the decoder would read it, its
            # header and then the rest, and taken at once when its end byte and CRC are right: the
            # decoder's general bookkeeping was 40 % of the driver's time (a reading from a canned
            # reply 11.6-14.0 -> 6.8-8.5 us, alternated pairs, best of 15). Anything else, or a
            # frame that fails its checks, goes through the decoder from those bytes on (the same
            # errors, from the same bytes read in the same order).
            data = self._transport.read_exactly(2)
            if data[0] == START_SHORT and 0 < data[1] <= decoder.max_payload_len:
                data += self._transport.read_exactly(data[1] + 3)
                payload = data[2:-3]
                if data[-1] == END_BYTE and crc16_xmodem(payload) == int.from_bytes(data[-3:-1], "big"):
                    payloads = [payload]
            if not payloads:
                payloads = decoder.feed(data)
            while not payloads:
                needed = decoder.bytes_needed()
                payloads = decoder.feed(self._transport.read_exactly(needed) if needed else b"")
        except TransportError:
            self._input_suspect = True
            raise
        except ProtocolError as exc:
            self._input_suspect = True
            raise ProtocolError(f"{self.name}: garbled reply to {command} ({frame.hex(' ')}): {exc}") from exc
        payload = payloads[0]
        if payload[0] != command_id:
            self._input_suspect = True
            raise ProtocolError(
                f"{self.name}: reply to {command} ({frame.hex(' ')}) carries command byte "
                f"0x{payload[0]:02x}, expected 0x{command_id:02x}: {payload.hex(' ')}"
            )
        return payload
