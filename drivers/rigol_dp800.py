"""Rigol DP800-series bench supply powering the drive's DC bus (SCPI over TCP, USB-TMC or serial).

Wire format (shared/reference/protocols.md, "Rigol DP800 supply"), byte for byte:
``:INST:NSEL n``, ``:VOLT v``, ``:CURR i``, ``:VOLT:PROT v``, ``:VOLT:PROT:STAT ON``,
``:CURR:PROT i``, ``:CURR:PROT:STAT ON``, ``:OUTP CHn,ON|OFF``, ``:OUTP? CHn``, ``:MEAS:VOLT? CHn``,
``:MEAS:CURR? CHn``; the error queue is ``:SYST:ERR?``.

Why the shape:

* On connect (:meth:`DP800Supply.configure`) the channel gets its voltage, current limit and both
  protections from the bench file, **always with OVP and OCP switched on**: no bench-file value can
  switch a protection off. The levels are checked across fields before anything is sent
  (``voltage_v < ovp_v``, ``current_limit_a <= ocp_a``, all within the driver's ``max_voltage_v`` /
  ``max_current_a``), then the error queue is read: a supply that refused part of its set-up stops
  the bench from starting. With ``output_on_connect = true`` the output is then switched on (the
  drive needs its bus); otherwise it stays as it was.
* The safe state is output **off**: the drive loses its bus and the motor coasts (the runner has
  already released the drive before, so the bus is not cut under load unless it trips).
* :meth:`read` gives ``voltage_v``, ``current_a``, ``power_w`` (their product) and ``output_on``
  (1/0), three queries: the voltage and current come from two consecutive measurements, not one.
* :meth:`set_value` (commissioning): ``voltage_v`` within ``[0, ovp_v)`` and ``current_limit_a``
  within ``[0, ocp_a]``; ``output`` 1 or 0. Anything else raises LimitError; nothing is sent.

Imports :mod:`drivers.scpi` and hil's errors, roles and transport types only.
"""

from __future__ import annotations

import math

from drivers.scpi import ErrorEntry, parse_error_entry, parse_idn, parse_number
from hil.bench.roles import Reading
from hil.bench.transport import MessageTransport
from hil.core.errors import ConfigError, DeviceError, LimitError, ProtocolError

ERROR_QUERY = ":SYST:ERR?"
ERROR_QUEUE_DRAIN_LIMIT = 32


class DP800Supply:
    """One channel of a DP800 supply: the DC bus of the pump drive."""

    READINGS: tuple[str, ...] = ("voltage_v", "current_a", "power_w", "output_on")
    """The keys of :meth:`read`: what a bench file's ``channels`` may map (checked before connecting)."""

    def __init__(
        self,
        link: MessageTransport,
        name: str,
        voltage_v: float,
        current_limit_a: float,
        ovp_v: float,
        ocp_a: float,
        channel: int = 1,
        max_voltage_v: float = 60.0,
        max_current_a: float = 60.0,
        output_on_connect: bool = False,
    ) -> None:
        if channel not in (1, 2, 3):
            raise ConfigError(name, "channel", f"expected 1, 2 or 3, got {channel!r}")
        checks = [
            ("voltage_v", 0.0 <= voltage_v <= max_voltage_v, f"within [0, {max_voltage_v:g}] V"),
            (
                "ovp_v",
                voltage_v < ovp_v <= max_voltage_v * 1.1,
                f"above voltage_v and at most {max_voltage_v * 1.1:g} V",
            ),
            ("current_limit_a", 0.0 < current_limit_a <= max_current_a, f"within (0, {max_current_a:g}] A"),
            (
                "ocp_a",
                current_limit_a <= ocp_a <= max_current_a * 1.1,
                f"at least current_limit_a and at most {max_current_a * 1.1:g} A",
            ),
        ]
        values = {"voltage_v": voltage_v, "ovp_v": ovp_v, "current_limit_a": current_limit_a, "ocp_a": ocp_a}
        for field, ok, expected in checks:
            if not (math.isfinite(values[field]) and ok):
                raise ConfigError(name, field, f"must be {expected}, got {values[field]!r}")
        self.name = name
        self.channel = channel
        self.voltage_v = voltage_v
        self.current_limit_a = current_limit_a
        self.ovp_v = ovp_v
        self.ocp_a = ocp_a
        self.output_on_connect = output_on_connect
        self._link = link

    def configure_commands(self) -> list[str]:
        return [
            "*CLS",
            f":INST:NSEL {self.channel}",
            f":VOLT:PROT {self.ovp_v:.9g}",
            ":VOLT:PROT:STAT ON",
            f":CURR:PROT {self.ocp_a:.9g}",
            ":CURR:PROT:STAT ON",
            f":VOLT {self.voltage_v:.9g}",
            f":CURR {self.current_limit_a:.9g}",
        ]

    def configure(self) -> None:
        for command in self.configure_commands():
            self._link.write_line(command)
        self._raise_errors("its set-up")
        if self.output_on_connect:
            self.output(True)

    def identify(self) -> str:
        reply = self._link.query("*IDN?")
        try:
            return str(parse_idn(reply))
        except ProtocolError as exc:
            raise ProtocolError(f"{self.name}: {exc}") from exc

    def read(self) -> Reading:
        ch = f"CH{self.channel}"
        voltage_v = self._number(f":MEAS:VOLT? {ch}")
        current_a = self._number(f":MEAS:CURR? {ch}")
        state_query = f":OUTP? {ch}"
        state = self._link.query(state_query).strip().upper()
        if state not in ("ON", "OFF"):
            raise ProtocolError(f"{self.name}: reply to {state_query!r} is not ON or OFF: {state!r}")
        return {
            "voltage_v": voltage_v,
            "current_a": current_a,
            "power_w": voltage_v * current_a,
            "output_on": 1.0 if state == "ON" else 0.0,
        }

    def output(self, on: bool) -> None:
        command = f":OUTP CH{self.channel},{'ON' if on else 'OFF'}"
        self._link.write_line(command)
        self._raise_errors(repr(command))

    @property
    def setpoint_ranges(self) -> dict[str, tuple[float, float]]:
        return {"voltage_v": (0.0, self.ovp_v), "current_limit_a": (0.0, self.ocp_a), "output": (0.0, 1.0)}

    def set_value(self, quantity: str, value: float) -> None:
        """Commissioning: one setpoint, within the protections set on connect."""
        ranges = self.setpoint_ranges
        if quantity not in ranges:
            raise LimitError(f"{self.name}: no setpoint {quantity!r} (known: {', '.join(ranges)})")
        low, high = ranges[quantity]
        inside = (
            math.isfinite(value) and low <= value <= high and not (quantity == "voltage_v" and value >= high)
        )
        if not inside or (quantity == "output" and value not in (0.0, 1.0)):
            raise LimitError(
                f"{self.name}: {quantity} = {value!r} outside its range {low:g} .. {high:g}; nothing was sent"
            )
        if quantity == "output":
            self.output(value == 1.0)
            return
        command = f":{'VOLT' if quantity == 'voltage_v' else 'CURR'} {value:.9g}"
        self._link.write_line(f":INST:NSEL {self.channel}")
        self._link.write_line(command)
        self._raise_errors(repr(command))

    def safe_state(self) -> None:
        """Output off: the drive's bus is cut."""
        self._link.write_line(f":OUTP CH{self.channel},OFF")

    def read_errors(self) -> list[ErrorEntry]:
        errors: list[ErrorEntry] = []
        for _ in range(ERROR_QUEUE_DRAIN_LIMIT):
            try:
                entry = parse_error_entry(ERROR_QUERY, self._link.query(ERROR_QUERY))
            except ProtocolError as exc:
                raise ProtocolError(f"{self.name}: {exc}") from exc
            if entry.code == 0:
                return errors
            errors.append(entry)
        raise ProtocolError(f"{self.name}: error queue not empty after {ERROR_QUEUE_DRAIN_LIMIT} reads")

    def _raise_errors(self, what: str) -> None:
        errors = self.read_errors()
        if errors:
            listed = "; ".join(f"{e.code},{e.message!r}" for e in errors)
            raise DeviceError(f"{self.name}: supply refused {what}: {listed}", errors[0].code)

    def _number(self, query: str) -> float:
        reply = self._link.query(query)
        try:
            return parse_number(query, reply)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.name}: {exc}") from exc
