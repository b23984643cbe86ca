"""Emulator of a Rigol DP800-series bench supply's SCPI interface, powering the drive's DC bus.

Serve :meth:`DP800Emulator.session` with ``EmulatorServer.add_tcp``. Commands (shared/reference/
protocols.md, "Rigol DP800 supply"; short and long forms): ``:INST:NSEL n``, ``:VOLT v``, ``:CURR i``
(and their queries), ``:VOLT:PROT v``, ``:CURR:PROT i``, ``:VOLT:PROT:STAT ON|OFF``,
``:CURR:PROT:STAT ON|OFF`` (and queries), ``:OUTP CHn,ON|OFF``, ``:OUTP? CHn``,
``:MEAS:VOLT? CHn``, ``:MEAS:CURR? CHn``, ``:MEAS:POWE? CHn``; besides, from Rigol's programming
guide (**unverified** here), ``:OUTP:OVP:QUES? CHn`` / ``:OUTP:OCP:QUES? CHn`` (``YES``/``NO``: has
the protection tripped) and ``:OUTP:OVP:CLEAR CHn`` / ``:OUTP:OCP:CLEAR CHn``.

Coupling to the plant. The supply gates the bus: with its output on and no protection tripped the
drive is powered (:meth:`bus_powered`), and the supply measures the plant's bus voltage and current
(through the fault layer, so sensor faults act on them); with its output off it reads 0 V, 0 A and
the drive sees no bus. Its voltage setting is the plant's open-circuit bus voltage (the bus then sags
behind the plant's source resistance); the current limit is a setting only (constant-current
operation is not modelled: the over-current protection is what acts). Over-voltage protection
trips when the measured voltage exceeds its level, over-current protection when the measured current
does (checked after every plant advance); a trip turns the
output off and latches until cleared, and the output refuses to turn on while tripped (-221).

Rating: the emulated channel is rated 60 V / 60 A so it can power the 2 kW sim pump. A real DP811A
channel is 40 V / 5 A (200 W): on a real bench a DP800 powers a scaled-down drive, and a larger
supply with the same command set powers a full-size pump.

Must not import drivers/.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from simulators.scpi_device import (
    Handler,
    ScpiError,
    ScpiInstrument,
    format_number,
    parse_number,
    parse_switch,
)

RATED_VOLTAGE_V = 60.0
RATED_CURRENT_A = 60.0
CHANNELS = (1,)


class DP800Emulator(ScpiInstrument):
    identity = "RIGOL TECHNOLOGIES,DP811A,DP8SIM000001,00.01.16"

    def __init__(
        self,
        bus_voltage_v: Callable[[], float],
        bus_current_a: Callable[[], float],
        set_bus_voltage_v: Callable[[float], None] = lambda volts: None,
    ) -> None:
        self._bus_voltage_v = bus_voltage_v
        self._bus_current_a = bus_current_a
        self._set_bus_voltage_v = set_bus_voltage_v
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.selected = 1
        self.voltage_v = 0.0
        self.current_a = 1.0
        self.ovp_v = RATED_VOLTAGE_V * 1.1
        self.ocp_a = RATED_CURRENT_A * 1.1
        self.ovp_on = False
        self.ocp_on = False
        self.output_on = False
        self.ovp_tripped = False
        self.ocp_tripped = False

    # ---- plant side --------------------------------------------------------------------------------

    def bus_powered(self) -> bool:
        return self.output_on

    def measured_voltage_v(self) -> float:
        return self._bus_voltage_v() if self.output_on else 0.0

    def measured_current_a(self) -> float:
        return self._bus_current_a() if self.output_on else 0.0

    def tick(self, time_s: float) -> None:
        """After each plant advance: the protections."""
        if not self.output_on:
            return
        if self.ovp_on and self.measured_voltage_v() > self.ovp_v:
            self.ovp_tripped, self.output_on = True, False
        elif self.ocp_on and self.measured_current_a() > self.ocp_a:
            self.ocp_tripped, self.output_on = True, False

    # ---- wire side ---------------------------------------------------------------------------------

    def commands(self) -> Sequence[tuple[str, Handler]]:
        ch = r" ?CH(\d)"
        return [
            (r"INST(RUMENT)?:NSEL(ECT)? (\S+)", self._select),
            (r"INST(RUMENT)?:NSEL(ECT)?\?", lambda m: str(self.selected)),
            (r"VOLT(AGE)?:PROT(ECTION)?:STAT(E)? (\S+)", lambda m: self._set("ovp_on", parse_switch(m[4]))),
            (r"VOLT(AGE)?:PROT(ECTION)?:STAT(E)?\?", lambda m: "ON" if self.ovp_on else "OFF"),
            (r"CURR(ENT)?:PROT(ECTION)?:STAT(E)? (\S+)", lambda m: self._set("ocp_on", parse_switch(m[4]))),
            (r"CURR(ENT)?:PROT(ECTION)?:STAT(E)?\?", lambda m: "ON" if self.ocp_on else "OFF"),
            (
                r"VOLT(AGE)?:PROT(ECTION)? (\S+)",
                lambda m: self._set("ovp_v", self._ranged(m[3], RATED_VOLTAGE_V * 1.1)),
            ),
            (r"VOLT(AGE)?:PROT(ECTION)?\?", lambda m: format_number(self.ovp_v)),
            (
                r"CURR(ENT)?:PROT(ECTION)? (\S+)",
                lambda m: self._set("ocp_a", self._ranged(m[3], RATED_CURRENT_A * 1.1)),
            ),
            (r"CURR(ENT)?:PROT(ECTION)?\?", lambda m: format_number(self.ocp_a)),
            (r"VOLT(AGE)? (\S+)", self._set_voltage),
            (r"VOLT(AGE)?\?", lambda m: format_number(self.voltage_v)),
            (r"CURR(ENT)? (\S+)", lambda m: self._set("current_a", self._ranged(m[2], RATED_CURRENT_A))),
            (r"CURR(ENT)?\?", lambda m: format_number(self.current_a)),
            (r"OUTP(UT)?:(OVP|OCP):QUES(TION)?\?" + ch, self._question),
            (r"OUTP(UT)?:(OVP|OCP):CLE(AR)?" + ch, self._clear_trip),
            (r"OUTP(UT)?(:STAT(E)?)?" + ch + r",(ON|OFF|1|0)", self._output),
            (
                r"OUTP(UT)?(:STAT(E)?)?\?" + ch,
                lambda m: "ON" if self._channel(m[4]) and self.output_on else "OFF",
            ),
            (r"MEAS(URE)?:VOLT(AGE)?(:DC)?\?" + ch, lambda m: self._measure(m[4], self.measured_voltage_v)),
            (r"MEAS(URE)?:CURR(ENT)?(:DC)?\?" + ch, lambda m: self._measure(m[4], self.measured_current_a)),
            (
                r"MEAS(URE)?:POWE(R)?(:DC)?\?" + ch,
                lambda m: self._measure(m[4], lambda: self.measured_voltage_v() * self.measured_current_a()),
            ),
        ]

    def _set_voltage(self, match: re.Match[str]) -> None:
        self.voltage_v = self._ranged(match[2], RATED_VOLTAGE_V)
        if self.voltage_v > 0.0:
            self._set_bus_voltage_v(self.voltage_v)

    def _set(self, attribute: str, value: object) -> None:
        setattr(self, attribute, value)

    @staticmethod
    def _ranged(text: str, maximum: float) -> float:
        value = parse_number(text)
        if not 0.0 <= value <= maximum:
            raise ScpiError(-222, "Data out of range")
        return value

    @staticmethod
    def _channel(text: str) -> int:
        channel = int(text)
        if channel not in CHANNELS:
            raise ScpiError(-224, "Illegal parameter value")
        return channel

    def _select(self, match: re.Match[str]) -> None:
        self.selected = self._channel(match[3])

    def _question(self, match: re.Match[str]) -> str:
        self._channel(match[4])
        tripped = self.ovp_tripped if match[2] == "OVP" else self.ocp_tripped
        return "YES" if tripped else "NO"

    def _clear_trip(self, match: re.Match[str]) -> None:
        self._channel(match[4])
        if match[2] == "OVP":
            self.ovp_tripped = False
        else:
            self.ocp_tripped = False

    def _output(self, match: re.Match[str]) -> None:
        self._channel(match[4])
        on = match[5] in ("ON", "1")
        if on and (self.ovp_tripped or self.ocp_tripped):
            raise ScpiError(-221, "Settings conflict; protection tripped")
        self.output_on = on
        if on:
            self.tick(0.0)  # a protection level already below the bus trips at once

    def _measure(self, channel: str, value: Callable[[], float]) -> str:
        self._channel(channel)
        return format_number(value())
