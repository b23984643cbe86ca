"""Emulator of an ODrive motor controller's ASCII protocol (the controller's side of the wire).

Serve :class:`ODriveEmulator` with ``EmulatorServer.add_pty``. It speaks the line protocol of
shared/reference/protocols.md (ODrive): one command per line, no echo, optional `` *NN`` checksum
(XOR of the bytes before ``*``, decimal; a line whose checksum is wrong is ignored, as the firmware
does, and a reply carries a checksum only if its request did), ``r``/``w`` properties, ``f``, ``v``,
``u``, ``sc``. Property paths follow the firmware generation given (``"0.5"`` or ``"0.6"``); a path
of the other generation answers ``invalid property``.

Behaviour the drivers must meet:

* ``w axisN.requested_state 8`` enters closed-loop velocity control only with the DC bus powered
  and no error latched; otherwise the axis stays idle and (bus down) latches DC_BUS_UNDER_VOLTAGE.
* The watchdog, once enabled, must be fed (``u N``, or any ``v``) within ``watchdog_timeout``;
  otherwise the axis latches WATCHDOG_TIMER_EXPIRED and drops to idle: the motor coasts.
* Losing the bus while running latches DC_BUS_UNDER_VOLTAGE and drops to idle.
* A fault the motor model latches (the ``controller-fault`` fault kind) shows as DRV_FAULT.
* Idle releases the motor (current 0: coast). ``sc`` clears the latched errors.

Error bit values (one table, **unverified** against the firmware's enums, kept apart so they are easy
to change): the driver only relies on "non-zero means a fault".

Must not import drivers/.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import reduce

from simulators.vesc_emulator import MotorPlant

AXIS_STATE_IDLE = 1
AXIS_STATE_CLOSED_LOOP = 8
CONTROL_MODE_VELOCITY = 2

ERROR_BITS = {
    "0.5": {"dc_bus_under_voltage": 0x4, "motor_failed": 0x40, "watchdog_timer_expired": 0x800},
    "0.6": {"dc_bus_under_voltage": 0x200, "motor_failed": 0x8, "watchdog_timer_expired": 0x800},
}

FIRMWARE_VERSIONS = {"0.5": (0, 5, 6), "0.6": (0, 6, 9)}
MAX_LINE_BYTES = 256


def _checksum(text: str) -> int:
    return reduce(lambda acc, byte: acc ^ byte, text.encode("ascii", "replace"), 0)


class ODriveEmulator:
    """One emulated ODrive (axis 0) on one serial line."""

    def __init__(
        self,
        motor: MotorPlant,
        firmware: str = "0.5",
        bus_powered: Callable[[], bool] = lambda: True,
        serial_number: int = 0x2061377C3548,
    ) -> None:
        if firmware not in FIRMWARE_VERSIONS:
            raise ValueError(f"ODrive emulator: firmware must be one of {sorted(FIRMWARE_VERSIONS)}")
        self.motor = motor
        self.firmware = firmware
        self.bus_powered = bus_powered
        self.serial_number = serial_number
        self.errors = 0
        self.disarm_reason = 0
        self.state = AXIS_STATE_IDLE
        self.control_mode = CONTROL_MODE_VELOCITY
        self.watchdog_enabled = False
        self.watchdog_timeout_s = 0.0
        self.velocity_setpoint_turns_s = 0.0
        self._last_feed_s = motor.time_s
        self._buffer = b""
        self._bits = ERROR_BITS[firmware]

    # ---- plant side --------------------------------------------------------------------------------

    def tick(self, time_s: float) -> None:
        """After each plant advance: watchdog, bus and motor faults."""
        if self.state != AXIS_STATE_CLOSED_LOOP:
            return
        if self.watchdog_enabled and time_s - self._last_feed_s > self.watchdog_timeout_s:
            self._disarm(self._bits["watchdog_timer_expired"])
        elif not self.bus_powered():
            self._disarm(self._bits["dc_bus_under_voltage"])
        elif self.motor.motor_state().fault_code:
            self._disarm(self._bits["motor_failed"])

    def _disarm(self, error_bit: int) -> None:
        self.errors |= error_bit
        self.disarm_reason = error_bit
        self.state = AXIS_STATE_IDLE
        self.motor.command_current_a(0.0)

    # ---- wire side ---------------------------------------------------------------------------------

    def receive(self, data: bytes) -> bytes:
        self._buffer += data
        replies = []
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            reply = self._line(raw.rstrip(b"\r"))
            if reply is not None:
                replies.append(reply.encode("ascii") + b"\n")
        if len(self._buffer) > MAX_LINE_BYTES:
            self._buffer = b""  # no line end in sight: the firmware's line buffer overflows and resets
        return b"".join(replies)

    def _line(self, raw: bytes) -> str | None:
        try:
            text = raw.decode("ascii")
        except UnicodeDecodeError:
            return None
        with_checksum = False
        if "*" in text:
            body, _, given = text.rpartition("*")
            body = body.rstrip(" ")
            if not given.strip().isdigit() or int(given) != _checksum(body):
                return None  # a corrupt line is dropped
            text, with_checksum = body, True
        reply = self._execute(text.strip())
        if reply is None:
            return None
        return f"{reply} *{_checksum(reply)}" if with_checksum else reply

    def _execute(self, text: str) -> str | None:
        verb, _, rest = text.partition(" ")
        args = rest.split()
        if verb == "r" and len(args) == 1:
            getter = self._properties().get(args[0])
            return "invalid property" if getter is None else _format(getter())
        if verb == "w" and len(args) == 2:
            setter = self._setters().get(args[0])
            if setter is None:
                return "invalid property"
            try:
                setter(float(args[1]))
            except ValueError:
                return "invalid command format"
            return None
        if verb == "f" and args == ["0"]:
            state = self.motor.motor_state()
            revolutions = state.tachometer / (6 * state.pole_pairs)
            return f"{revolutions:.6f} {state.speed_rpm / 60.0:.6f}"
        if verb == "u" and args == ["0"]:
            self._feed()
            return None
        if verb == "v" and len(args) in (2, 3) and args[0] == "0":
            try:
                turns_s = float(args[1])
            except ValueError:
                return "invalid command format"
            self._feed()
            self.velocity_setpoint_turns_s = turns_s
            if self.state == AXIS_STATE_CLOSED_LOOP:
                self.motor.command_speed_rpm(turns_s * 60.0)
            return None
        if verb == "sc" and not args:
            self.errors = 0
            self.disarm_reason = 0
            return None
        if verb in ("r", "w", "f", "u", "v", "c"):
            return "invalid command format"
        return "unknown command"

    def _feed(self) -> None:
        self._last_feed_s = self.motor.time_s

    def _request_state(self, value: float) -> None:
        if value == AXIS_STATE_CLOSED_LOOP:
            if not self.bus_powered():
                self.errors |= self._bits["dc_bus_under_voltage"]
                return
            if self.errors or self.control_mode != CONTROL_MODE_VELOCITY:
                return
            self._feed()
            self.state = AXIS_STATE_CLOSED_LOOP
            self.motor.command_speed_rpm(self.velocity_setpoint_turns_s * 60.0)
        elif value == AXIS_STATE_IDLE:
            self.state = AXIS_STATE_IDLE
            self.motor.command_current_a(0.0)

    def _properties(self) -> dict[str, Callable[[], float]]:
        motor = self.motor
        major, minor, revision = FIRMWARE_VERSIONS[self.firmware]
        powered = self.bus_powered
        common: dict[str, Callable[[], float]] = {
            "vbus_voltage": lambda: motor.motor_state().bus_voltage_v if powered() else 0.0,
            "ibus": lambda: motor.motor_state().input_current_a if powered() else 0.0,
            "fw_version_major": lambda: major,
            "fw_version_minor": lambda: minor,
            "fw_version_revision": lambda: revision,
            "hw_version_major": lambda: 3,
            "hw_version_minor": lambda: 6,
            "serial_number": lambda: self.serial_number,
            "axis0.current_state": lambda: self.state,
            "axis0.controller.config.control_mode": lambda: self.control_mode,
            "axis0.config.watchdog_timeout": lambda: self.watchdog_timeout_s,
            "axis0.config.enable_watchdog": lambda: int(self.watchdog_enabled),
        }
        if self.firmware == "0.5":
            common.update(
                {
                    "axis0.error": lambda: self.errors,
                    "axis0.motor.current_control.Iq_measured": lambda: motor.motor_state().motor_current_a,
                    "axis0.fet_thermistor.temperature": lambda: motor.motor_state().temp_fet_c,
                    "axis0.motor_thermistor.temperature": lambda: motor.motor_state().temp_motor_c,
                }
            )
        else:
            common.update(
                {
                    "axis0.active_errors": lambda: self.errors,
                    "axis0.disarm_reason": lambda: self.disarm_reason,
                    "axis0.motor.foc.Iq_measured": lambda: motor.motor_state().motor_current_a,
                    "axis0.motor.fet_thermistor.temperature": lambda: motor.motor_state().temp_fet_c,
                    "axis0.motor.motor_thermistor.temperature": lambda: motor.motor_state().temp_motor_c,
                }
            )
        return common

    def _setters(self) -> dict[str, Callable[[float], None]]:
        def set_mode(value: float) -> None:
            self.control_mode = int(value)

        def set_timeout(value: float) -> None:
            self.watchdog_timeout_s = value

        def set_enabled(value: float) -> None:
            self.watchdog_enabled = bool(value)
            self._feed()

        return {
            "axis0.requested_state": self._request_state,
            "axis0.controller.config.control_mode": set_mode,
            "axis0.config.watchdog_timeout": set_timeout,
            "axis0.config.enable_watchdog": set_enabled,
        }


def _format(value: float) -> str:
    if isinstance(value, int) or float(value).is_integer() and abs(value) < 2**53:
        return str(int(value))
    return f"{value:.6f}"
