"""ODrive motor controller over its ASCII protocol as a :class:`hil.bench.roles.PumpDrive`.

Lines are built and checked by :mod:`drivers.odrive_codec`; this module knows what to send. The
firmware generation is a driver option (``firmware = "0.5"`` or ``"0.6"``), because property paths
moved between them (shared/reference/protocols.md); the identity read on connect must report the
same generation, or the bench refuses to start rather than read the wrong properties.

===================  ====================================  =========================================
quantity             0.5.x                                 0.6.x
===================  ====================================  =========================================
axis errors          ``axisN.error``                       ``axisN.active_errors``
why it disarmed      (none)                                ``axisN.disarm_reason``
motor current (Iq)   ``axisN.motor.current_control.        ``axisN.motor.foc.Iq_measured``
                     Iq_measured``
FET temperature      ``axisN.fet_thermistor.temperature``  ``axisN.motor.fet_thermistor.temperature``
motor temperature    ``axisN.motor_thermistor.             ``axisN.motor.motor_thermistor.
                     temperature``                         temperature``
===================  ====================================  =========================================

Common to both: ``f N`` (position, velocity in turns/s), ``r vbus_voltage``, ``r ibus``,
``r axisN.current_state``, ``w axisN.requested_state 8`` (closed loop) / ``1`` (idle),
``v N <turns/s> 0``, ``u N`` (feed the watchdog), ``sc`` (clear errors), ``r fw_version_major`` etc.

Choices worth knowing:

* On connect (:meth:`ODriveDrive.configure`) the driver clears errors, selects velocity control
  (``controller.config.control_mode 2``), sets the watchdog timeout from the bench file and enables
  the watchdog, leaving the axis idle. The runner feeds it every tick (:meth:`keep_alive`: ``u N``);
  a harness that stops talking lets the firmware drop to idle by itself.
* Speed is commanded in mechanical turns/s (rpm / 60); the first setpoint after idle also requests
  closed-loop control. A setpoint outside ``[0, max_speed_rpm]`` raises LimitError, nothing sent.
* Errors are part of the reading (``fault_code``: the axis error bits; ``disarm_reason`` on 0.6):
  the runner's drive-fault interlock trips on any non-zero code, the driver does not decide.
* The safe state is idle (``requested_state 1``): the bridge stops switching and the rotor coasts.

Imports hil's errors, roles and transport types and :mod:`drivers.odrive_codec` only.
"""

from __future__ import annotations

import math

from drivers.odrive_codec import DEVICE_REPLIES, decode_reply, encode_command, parse_feedback, parse_float
from hil.bench.roles import Reading
from hil.bench.transport import ByteTransport
from hil.core.errors import ConfigError, DeviceError, LimitError, ProtocolError, TransportError

FIRMWARES = ("0.5", "0.6")
AXIS_STATE_IDLE = 1
AXIS_STATE_CLOSED_LOOP = 8
CONTROL_MODE_VELOCITY = 2

_PATHS = {
    "0.5": {
        "errors": "axis{a}.error",
        "iq": "axis{a}.motor.current_control.Iq_measured",
        "fet_temperature": "axis{a}.fet_thermistor.temperature",
        "motor_temperature": "axis{a}.motor_thermistor.temperature",
    },
    "0.6": {
        "errors": "axis{a}.active_errors",
        "disarm_reason": "axis{a}.disarm_reason",
        "iq": "axis{a}.motor.foc.Iq_measured",
        "fet_temperature": "axis{a}.motor.fet_thermistor.temperature",
        "motor_temperature": "axis{a}.motor.motor_thermistor.temperature",
    },
}


class ODriveDrive:
    """One axis of an ODrive speed-controlling a pump motor; implements ``PumpDrive``."""

    READINGS: tuple[str, ...] = (
        "speed_rpm",
        "motor_current_a",
        "input_current_a",
        "bus_voltage_v",
        "temp_fet_c",
        "temp_motor_c",
        "axis_state",
        "fault_code",
        "electrical_power_w",
    )
    """The keys of :meth:`read` on every firmware: what a bench file's ``channels`` may map (checked
    before connecting); :meth:`readings_of` adds those of one firmware."""

    @staticmethod
    def readings_of(firmware: str) -> tuple[str, ...]:
        """The keys of :meth:`read` on ``firmware`` (0.6 also says why the axis disarmed)."""
        return ODriveDrive.READINGS + (
            ("disarm_reason",) if "disarm_reason" in _PATHS.get(firmware, {}) else ()
        )

    def __init__(
        self,
        transport: ByteTransport,
        max_speed_rpm: float,
        name: str = "odrive",
        firmware: str = "0.5",
        axis: int = 0,
        watchdog_timeout_s: float = 0.5,
        checksum: bool = False,
    ) -> None:
        if firmware not in FIRMWARES:
            raise ConfigError(name, "firmware", f"expected one of {', '.join(FIRMWARES)}, got {firmware!r}")
        if axis not in (0, 1):
            raise ConfigError(name, "axis", f"expected 0 or 1, got {axis!r}")
        if not (math.isfinite(max_speed_rpm) and max_speed_rpm > 0):
            raise ConfigError(
                name, "max_speed_rpm", f"expected a positive speed in rpm, got {max_speed_rpm!r}"
            )
        if not 0.01 <= watchdog_timeout_s <= 10.0:
            raise ConfigError(
                name, "watchdog_timeout_s", f"expected 0.01 .. 10 s, got {watchdog_timeout_s!r}"
            )
        self.name = name
        self.firmware = firmware
        self.axis = axis
        self.max_speed_rpm = float(max_speed_rpm)
        self.watchdog_timeout_s = watchdog_timeout_s
        self._transport = transport
        self._checksum = checksum
        self._paths = {key: path.format(a=axis) for key, path in _PATHS[firmware].items()}
        self._armed = False
        self._input_suspect = False

    # --- connect ------------------------------------------------------------------------------------

    def identify(self) -> str:
        """Hardware and firmware version and serial, read from the controller; refuses a firmware
        generation other than the one the bench file names."""
        major, minor, revision = (
            int(self.read_property(f"fw_version_{part}")) for part in ("major", "minor", "revision")
        )
        hardware = (
            f"{int(self.read_property('hw_version_major'))}.{int(self.read_property('hw_version_minor'))}"
        )
        serial = int(self.read_property("serial_number"))
        if f"{major}.{minor}" != self.firmware:
            raise DeviceError(
                f"{self.name}: controller runs firmware {major}.{minor}.{revision}, "
                f"but the bench file says firmware = {self.firmware!r}"
            )
        return f"ODrive hw {hardware} fw {major}.{minor}.{revision} serial {serial:X}"

    def configure(self) -> None:
        """Clear errors, velocity control, watchdog on with the bench file's timeout; axis left idle."""
        a = self.axis
        self._send("sc")
        self._send(f"w axis{a}.requested_state {AXIS_STATE_IDLE}")
        self._send(f"w axis{a}.controller.config.control_mode {CONTROL_MODE_VELOCITY}")
        self._send(f"w axis{a}.config.watchdog_timeout {self.watchdog_timeout_s:.9g}")
        self._send(f"w axis{a}.config.enable_watchdog 1")
        self._send(f"u {a}")

    # --- PumpDrive ----------------------------------------------------------------------------------

    def set_speed_rpm(self, speed_rpm: float) -> None:
        if not (math.isfinite(speed_rpm) and 0.0 <= speed_rpm <= self.max_speed_rpm):
            raise LimitError(
                f"{self.name}: speed {speed_rpm} rpm outside [0, {self.max_speed_rpm:g}] rpm; nothing was sent"
            )
        if not self._armed:
            self._send(f"u {self.axis}")
            self._send(f"w axis{self.axis}.requested_state {AXIS_STATE_CLOSED_LOOP}")
            self._armed = True
        self._send(f"v {self.axis} {speed_rpm / 60.0:.9g} 0")

    def keep_alive(self) -> None:
        self._send(f"u {self.axis}")

    def read(self) -> Reading:
        command = f"f {self.axis}"
        _, velocity_turns_s = parse_feedback(command, self._query(command))
        bus_voltage_v = self.read_property("vbus_voltage")
        input_current_a = self.read_property("ibus")
        reading = {
            "speed_rpm": velocity_turns_s * 60.0,
            "motor_current_a": self.read_property(self._paths["iq"]),
            "input_current_a": input_current_a,
            "bus_voltage_v": bus_voltage_v,
            "temp_fet_c": self.read_property(self._paths["fet_temperature"]),
            "temp_motor_c": self.read_property(self._paths["motor_temperature"]),
            "axis_state": self.read_property(f"axis{self.axis}.current_state"),
            "fault_code": self.read_property(self._paths["errors"]),
            "electrical_power_w": bus_voltage_v * input_current_a,
        }
        if "disarm_reason" in self._paths:
            reading["disarm_reason"] = self.read_property(self._paths["disarm_reason"])
        if reading["axis_state"] != AXIS_STATE_CLOSED_LOOP:
            self._armed = False  # the firmware dropped to idle (watchdog, error): re-arm on the next setpoint
        return reading

    def safe_state(self) -> None:
        """Idle: the bridge stops switching and the rotor coasts."""
        self._armed = False
        self._send(f"w axis{self.axis}.requested_state {AXIS_STATE_IDLE}")

    # --- beyond the role ----------------------------------------------------------------------------

    def clear_errors(self) -> None:
        self._send("sc")

    def read_property(self, path: str) -> float:
        command = f"r {path}"
        return parse_float(command, self._query(command))

    def _send(self, command: str) -> None:
        self._transport.write(encode_command(command, self._checksum))

    def _query(self, command: str) -> str:
        if self._input_suspect:
            self._transport.discard_input()
            self._input_suspect = False
        self._send(command)
        try:
            reply = decode_reply(self._transport.read_until(b"\n", 256), self._checksum)
        except (TransportError, ProtocolError) as exc:
            self._input_suspect = True
            if isinstance(exc, ProtocolError):
                raise ProtocolError(f"{self.name}: reply to {command!r}: {exc}") from exc
            raise
        if reply in DEVICE_REPLIES:
            raise DeviceError(f"{self.name}: {command!r} refused: {reply}")
        return reply
