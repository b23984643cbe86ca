"""Emulator of a Keysight Truevolt DMM (34460A/61A/65A/70A) measuring a 4-20 mA transmitter's loop.

Serve :meth:`TruevoltEmulator.session` with ``EmulatorServer.add_tcp``. Commands (shared/reference/
protocols.md, "4-20 mA transducers read through a DMM"): ``CONF:CURR:DC <range>`` then ``READ?``, or
``MEAS:CURR:DC? <range>`` in one; ``CONF?``; plus the common ``*IDN?``, ``*CLS``, ``*RST``,
``SYST:ERR?`` (:mod:`simulators.scpi_device`). Ranges: 100 uA, 1 mA, 10 mA, 100 mA, 1 A, 3 A
(``AUTO``/``DEF`` pick 100 mA, which holds a loop current). ``READ?`` before the DMM is configured for
DC current answers nothing and queues -221 (settings conflict), as a DMM left measuring volts would
give a wrong number rather than a current.

The loop: a transmitter maps its quantity linearly onto 4..20 mA over [``value_lo``, ``value_hi``] and
saturates at 3.8 and 20.5 mA (NAMUR NE 43); a NaN reading (a failed sensor) drives the loop to
3.6 mA, the failure signal. A current beyond 120 % of the range reads as overload, ``9.9E+37``.
The DMM's own resolution is modelled by rounding to 6.5 digits of the range (1e-7 of 100 mA).

Must not import drivers/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from simulators.scpi_device import (
    Handler,
    ScpiError,
    ScpiInstrument,
    format_number,
    illegal_value,
    parse_number,
)

RANGES_A = (1e-4, 1e-3, 1e-2, 1e-1, 1.0, 3.0)
DEFAULT_RANGE_A = 0.1
OVER_RANGE_FRACTION = 1.2
LOOP_MIN_A, LOOP_MAX_A = 3.8e-3, 20.5e-3
LOOP_FAILURE_A = 3.6e-3
RESOLUTION_FRACTION = 1e-7


def loop_current_a(value: float, value_lo: float, value_hi: float) -> float:
    """The transmitter's output current for ``value`` (NAMUR NE 43 saturation and failure signal)."""
    if math.isnan(value):
        return LOOP_FAILURE_A
    current = 4e-3 + (value - value_lo) / (value_hi - value_lo) * 16e-3
    return min(max(current, LOOP_MIN_A), LOOP_MAX_A)


class TruevoltEmulator(ScpiInstrument):
    identity = "Keysight Technologies,34465A,MY5900SIM1,A.03.01-02.40-03.01-00.52-02-01"

    def __init__(self, loop_current: Callable[[], float]) -> None:
        self._loop_current = loop_current
        super().__init__()
        self.reset()

    def reset(self) -> None:
        self.function = "VOLT"  # a DMM powers up measuring DC volts
        self.range_a = DEFAULT_RANGE_A

    def commands(self) -> Sequence[tuple[str, Handler]]:
        return [
            (r"CONF(IGURE)?:CURR(ENT)?(:DC)?( \S+)?", self._configure),
            (r"CONF(IGURE)?\?", lambda m: f'"{self.function} {format_number(self.range_a)}"'),
            (r"READ\?", lambda m: self._read()),
            (r"MEAS(URE)?:CURR(ENT)?(:DC)?\?( \S+)?", self._measure),
        ]

    def _range(self, text: str | None) -> float:
        if text is None or text.strip() in ("AUTO", "DEF", "DEFAULT"):
            return DEFAULT_RANGE_A
        value = parse_number(text.strip())
        for candidate in RANGES_A:
            if value <= candidate * (1 + 1e-9):
                return candidate
        raise illegal_value()

    def _configure(self, match: re.Match[str]) -> None:
        self.range_a = self._range(match[4])
        self.function = "CURR"

    def _measure(self, match: re.Match[str]) -> str:
        self._configure(match)
        return self._read()

    def _read(self) -> str:
        if self.function != "CURR":
            raise ScpiError(-221, "Settings conflict; not configured for DC current")
        current = self._loop_current()
        if math.isnan(current) or abs(current) > self.range_a * OVER_RANGE_FRACTION:
            return format_number(math.inf)
        resolution = self.range_a * RESOLUTION_FRACTION
        return format_number(round(current / resolution) * resolution)
