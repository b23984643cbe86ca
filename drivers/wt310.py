"""Driver for the Yokogawa WT310 family of digital power meters (SCPI over TCP, USB-TMC or serial).

What lives here: :class:`WT310PowerMeter`, which fills the :class:`hil.bench.roles.PowerMeter` role
(``voltage_v``, ``current_a``, ``power_w`` of one input element) over any
:class:`hil.bench.transport.MessageTransport`. The command set is the one in
``shared/reference/protocols.md`` ("Power measurement"), byte for byte.

Why the shape: the meter is put into a known numeric-output state once, when the bench connects
(:meth:`WT310PowerMeter.configure`: ASCII numbers, no headers, items U, I, P of the element), so a
sample is then a single ``:NUM:NORM:VAL?`` round trip: the three values come from one update of the
meter, never from two different updates. Configuration ends by reading the meter's error queue, because
a SCPI instrument answers a command it did not understand with silence, and the run would otherwise
start on a meter that ignored part of its set-up.

Overload (``9.9E37``) and "no data" (``9.91E37``) come back as ``inf`` / ``nan``: the runner's
interlocks decide what they mean for the run, the driver does not hide them.

A meter has nothing to make safe; :meth:`WT310PowerMeter.safe_state` does nothing, on purpose.

The error queue is read with ``:STAT:ERR?``, Yokogawa's form (``:SYST:ERR?`` is generic SCPI and not
assumed on this family).

Imports :mod:`drivers.scpi` and hil's errors, transport and roles only; must not import simulators/.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, TypeVar

from drivers.scpi import ErrorEntry, parse_error_entry, parse_idn, parse_numbers
from hil.bench.roles import Reading
from hil.bench.transport import MessageTransport
from hil.core.errors import DeviceError, LimitError, ProtocolError

_Args = ParamSpec("_Args")
_Parsed = TypeVar("_Parsed")

VALUE_QUERY = ":NUM:NORM:VAL?"
ERROR_QUERY = ":STAT:ERR?"
UPDATE_RATES_S = (0.1, 0.25, 0.5)
"""Update intervals the driver offers (the reference's list; the meter itself may know more)."""

MAX_ELEMENTS = 3
"""The WT310 has one input element, the WT332/WT333 two or three; the command set is shared."""

ERROR_QUEUE_DRAIN_LIMIT = 32
"""Stop draining the error queue after this many entries: a meter that never reports 0 is broken."""


class WT310PowerMeter:
    """One input element of a WT310-family power meter, as a :class:`hil.bench.roles.PowerMeter`."""

    READINGS: tuple[str, ...] = ("voltage_v", "current_a", "power_w")
    """The keys of :meth:`read`: what a bench file's ``channels`` may map (checked before connecting)."""

    def __init__(self, link: MessageTransport, name: str, element: int = 1) -> None:
        if isinstance(element, bool) or not isinstance(element, int) or not 1 <= element <= MAX_ELEMENTS:
            raise LimitError(f"{name}: input element must be an integer 1..{MAX_ELEMENTS}, got {element!r}")
        self.name = name
        self.element = element
        self._link = link

    def configure_commands(self) -> list[str]:
        """The initialisation sequence :meth:`configure` sends, in order."""
        element = self.element
        return [
            "*CLS",
            ":NUM:FORM ASC",
            ":COMM:HEAD OFF",
            ":COMM:VERB ON",
            ":NUM:NORM:NUM 3",
            f":NUM:NORM:ITEM1 U,{element}",
            f":NUM:NORM:ITEM2 I,{element}",
            f":NUM:NORM:ITEM3 P,{element}",
        ]

    def configure(self) -> None:
        """Put the meter into the numeric-output state :meth:`read` relies on; call once on connect.

        ``*CLS`` first empties the error queue, so whatever the queue holds afterwards was caused by
        this set-up; any entry raises :class:`DeviceError` listing them all.
        """
        for command in self.configure_commands():
            self._link.write_line(command)
        errors = self.read_errors()
        if errors:
            listed = "; ".join(f"{entry.code},{entry.message!r}" for entry in errors)
            raise DeviceError(f"{self.name}: meter refused its set-up: {listed}", errors[0].code)

    def read_errors(self) -> list[ErrorEntry]:
        """Drain the meter's error queue; an empty list means no error was pending."""
        errors: list[ErrorEntry] = []
        for _ in range(ERROR_QUEUE_DRAIN_LIMIT):
            entry = self._parse(parse_error_entry, ERROR_QUERY, self._link.query(ERROR_QUERY))
            if entry.code == 0:
                return errors
            errors.append(entry)
        raise ProtocolError(
            f"{self.name}: error queue still not empty after {ERROR_QUEUE_DRAIN_LIMIT} reads of "
            f"{ERROR_QUERY!r}; last: {errors[-1]}"
        )

    def identify(self) -> str:
        """The meter's ``*IDN?`` reply (maker, model, serial, firmware), checked for its four fields."""
        reply = self._link.query("*IDN?")
        return str(self._parse(parse_idn, reply))

    def read(self) -> Reading:
        """Voltage, current and active power of the element from one update of the meter."""
        reply = self._link.query(VALUE_QUERY)
        voltage_v, current_a, power_w = self._parse(parse_numbers, VALUE_QUERY, reply, 3)
        return {"voltage_v": voltage_v, "current_a": current_a, "power_w": power_w}

    def set_update_rate_s(self, rate_s: float) -> None:
        """Set the meter's update interval; only the intervals in :data:`UPDATE_RATES_S` are accepted."""
        for allowed_s in UPDATE_RATES_S:
            if rate_s == allowed_s:
                self._link.write_line(f":RATE {round(allowed_s * 1000)}MS")
                return
        raise LimitError(f"{self.name}: update rate {rate_s!r} s is not one of {UPDATE_RATES_S}")

    def safe_state(self) -> None:
        """A meter drives nothing, so there is nothing to make safe."""

    def _parse(self, parser: Callable[_Args, _Parsed], *args: _Args.args, **kwargs: _Args.kwargs) -> _Parsed:
        """Run a reply parser, putting the meter's name in front of any ProtocolError."""
        try:
            return parser(*args, **kwargs)
        except ProtocolError as exc:
            raise ProtocolError(f"{self.name}: {exc}") from exc
