"""A 4-20 mA transmitter read through a Keysight Truevolt DMM (SCPI), for a pressure or a flow.

Wire format (shared/reference/protocols.md, "4-20 mA transducers read through a DMM"): on connect
``*CLS``, ``CONF:CURR:DC 0.1`` (the 100 mA range holds any loop current), then the error queue
``SYST:ERR?`` must be empty; every sample is one ``READ?``. Overload reads ``9.9E37`` (-> inf, which
trips the bench's overload interlock).

Scaling: ``value = value_lo + (I - 4 mA) / 16 mA x (value_hi - value_lo)``, in the SI unit of the
``quantity`` name given in the bench file (``pressure_pa``, ``volume_flow_m3_s``). A loop current at or
beyond 3.6 mA or 21 mA is the transmitter signalling a failure (NAMUR NE 43: below 3.6 mA sensor or
wire break, above 21 mA a fault), so the quantity reads NaN, "no data", and the runner's stale-data
interlock decides; the raw current stays in the reading as ``loop_current_a``. Between 3.8 and
20.5 mA the value extrapolates linearly, as the transmitter does in its saturation band.

A meter has nothing to make safe.

Imports :mod:`drivers.scpi` and hil's errors, roles and transport types only.
"""

from __future__ import annotations

import math

from drivers.scpi import parse_error_entry, parse_idn, parse_number
from hil.bench.roles import Reading
from hil.bench.transport import MessageTransport
from hil.core.errors import ConfigError, DeviceError, ProtocolError

LOOP_ZERO_A = 4e-3
LOOP_SPAN_A = 16e-3
LOOP_FAILURE_BELOW_A = 3.6e-3
LOOP_FAILURE_ABOVE_A = 21e-3
CURRENT_RANGE_A = 0.1
ERROR_QUERY = "SYST:ERR?"


class LoopTransmitterDmm:
    """A Truevolt DMM on the loop of one 4-20 mA transmitter."""

    READINGS: tuple[str, ...] = ("loop_current_a",)  # and the configured quantity
    """The keys of :meth:`read`: what a bench file's ``channels`` may map (checked before connecting)."""

    def __init__(
        self, link: MessageTransport, name: str, quantity: str, value_lo: float, value_hi: float
    ) -> None:
        if not quantity.isidentifier():
            raise ConfigError(name, "quantity", f"expected a name like pressure_pa, got {quantity!r}")
        if not (math.isfinite(value_lo) and math.isfinite(value_hi) and value_hi != value_lo):
            raise ConfigError(
                name, "value_hi", f"the span must be finite and non-zero, got {value_lo} .. {value_hi}"
            )
        self.name = name
        self.quantity = quantity
        self.value_lo = value_lo
        self.value_hi = value_hi
        self._link = link

    def configure(self) -> None:
        self._link.write_line("*CLS")
        self._link.write_line(f"CONF:CURR:DC {CURRENT_RANGE_A:g}")
        reply = self._link.query(ERROR_QUERY)
        try:
            entry = parse_error_entry(ERROR_QUERY, reply)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.name}: {exc}") from exc
        if entry.code != 0:
            raise DeviceError(
                f"{self.name}: DMM refused its set-up: {entry.code},{entry.message!r}", entry.code
            )

    def identify(self) -> str:
        try:
            return str(parse_idn(self._link.query("*IDN?")))
        except ProtocolError as exc:
            raise ProtocolError(f"{self.name}: {exc}") from exc

    def read(self) -> Reading:
        reply = self._link.query("READ?")
        try:
            current_a = parse_number("READ?", reply)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.name}: {exc}") from exc
        return {"loop_current_a": current_a, self.quantity: self.scale(current_a)}

    def scale(self, current_a: float) -> float:
        """The transmitter's quantity for a loop current; NaN outside the live band."""
        if math.isinf(current_a):
            return current_a  # overload stays overload
        if not LOOP_FAILURE_BELOW_A < current_a < LOOP_FAILURE_ABOVE_A:
            return math.nan
        return self.value_lo + (current_a - LOOP_ZERO_A) / LOOP_SPAN_A * (self.value_hi - self.value_lo)

    def safe_state(self) -> None:
        """A meter has nothing to make safe."""
