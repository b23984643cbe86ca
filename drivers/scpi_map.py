"""A SCPI instrument described in the bench file: queries, set-up and setpoints, without code.

Meters, supplies and loads that speak SCPI differ only in their command strings. The bench file
gives, per reading, the query and which field of its reply holds the value; the set-up commands
sent once on connect; per setpoint the command, its range and its safe value; the commands that make
the instrument safe; and the error-queue query:

.. code-block:: toml

    [instruments.power]
    driver = "scpi"
    resource = "sim:power"        # VISA resource, tcp://HOST:PORT, or sim:NAME
    setup = ["*CLS", ":NUM:FORM ASC", ":COMM:HEAD OFF", ":NUM:NORM:NUM 3", ":NUM:NORM:ITEM1 U,1"]
    error_query = ":STAT:ERR?"    # default ":SYST:ERR?"
    safe_commands = [":OUTP OFF"] # sent by safe_state() after every setpoint's safe value
    channels = { electrical_power_w = "power_w" }

    [instruments.power.readings.power_w]
    query = ":NUM:NORM:VAL?"
    field = 2                     # 0-based index in the comma-separated reply (default 0)
    fields = 3                    # optional: the reply must have exactly this many fields
    scale = 1.0                   # value = number x scale + offset, in the reading's SI unit
    offset = 0.0

    [instruments.power.setpoints.voltage_v]
    command = ":VOLT {value}"     # {value} is replaced by the number (9 significant digits)
    min = 0.0
    max = 48.0
    safe = 0.0

Wire format: text lines over any :class:`~hil.bench.transport.MessageTransport`; numbers are parsed
by :mod:`drivers.scpi` (NR1/NR2/NR3, ``9.9E37`` overload -> inf, ``9.91E37`` -> NaN). Readings that
share a query are taken from ONE reply per sample, so they come from the same instrument update.
SCPI commands get no reply, so after the set-up and after every setpoint the error queue is drained:
any entry raises :class:`~hil.core.errors.DeviceError` listing them, naming the command. Nothing from
the file is evaluated: ``{value}`` is plain text substitution.

Imports :mod:`drivers.scpi` and hil's config, errors, roles and transport types only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drivers.scpi import ErrorEntry, parse_error_entry, parse_idn, parse_numbers
from hil.bench.roles import Reading
from hil.bench.transport import MessageTransport
from hil.core.config import Section
from hil.core.errors import DeviceError, LimitError, ProtocolError

DEFAULT_ERROR_QUERY = ":SYST:ERR?"
ERROR_QUEUE_DRAIN_LIMIT = 32
VALUE_PLACEHOLDER = "{value}"


@dataclass(frozen=True)
class ScpiReading:
    name: str
    query: str
    field: int = 0
    fields: int | None = None
    scale: float = 1.0
    offset: float = 0.0


@dataclass(frozen=True)
class ScpiSetpoint:
    name: str
    command: str
    minimum: float
    maximum: float
    safe: float | None

    def text(self, value: float) -> str:
        return self.command.replace(VALUE_PLACEHOLDER, f"{value:.9g}")


@dataclass(frozen=True)
class ScpiDescription:
    readings: list[ScpiReading]
    setpoints: list[ScpiSetpoint]
    setup: list[str]
    safe_commands: list[str]
    error_query: str
    identity_query: str = "*IDN?"


def _commands(section: Section, key: str) -> list[str]:
    value = section.raw(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) and item.strip() for item in value):
        raise section.error(key, "expected a list of non-empty command strings")
    return list(value)


def parse_scpi_description(options: Section) -> ScpiDescription:
    """The SCPI description of an instrument's bench-file section (everything but where it is)."""
    readings = []
    for name, entry in options.sections("readings").items():
        fields = entry.get("fields", int, None, minimum=1)
        field = entry.get("field", int, 0, minimum=0)
        if fields is not None and field >= fields:
            raise entry.error("field", f"must be below fields ({fields}), got {field}")
        reading = ScpiReading(
            name,
            query=entry.get("query", str),
            field=field,
            fields=fields,
            scale=entry.get("scale", float, 1.0),
            offset=entry.get("offset", float, 0.0),
        )
        if not reading.query.strip():
            raise entry.error("query", "must not be empty")
        readings.append(reading)
        entry.finish()
    setpoints = []
    for name, entry in options.sections("setpoints").items():
        command = entry.get("command", str)
        if VALUE_PLACEHOLDER not in command:
            raise entry.error("command", f"must contain {VALUE_PLACEHOLDER} where the number goes")
        minimum, maximum = entry.get("min", float), entry.get("max", float)
        if not minimum <= maximum:
            raise entry.error("max", f"must be >= min ({minimum}), got {maximum}")
        safe = entry.get("safe", float, None)
        if safe is not None and not minimum <= safe <= maximum:
            raise entry.error("safe", f"must lie within [{minimum}, {maximum}], got {safe}")
        setpoints.append(ScpiSetpoint(name, command, minimum, maximum, safe))
        entry.finish()
    if not readings:
        raise options.error("readings", "describe at least one reading")
    return ScpiDescription(
        readings=readings,
        setpoints=setpoints,
        setup=_commands(options, "setup"),
        safe_commands=_commands(options, "safe_commands"),
        error_query=options.get("error_query", str, DEFAULT_ERROR_QUERY),
        identity_query=options.get("identity_query", str, "*IDN?"),
    )


class ScpiMapInstrument:
    """A SCPI instrument read and set through a description from the bench file."""

    def __init__(self, link: MessageTransport, name: str, description: ScpiDescription) -> None:
        self.name = name
        self._link = link
        self._description = description
        self._setpoints = {s.name: s for s in description.setpoints}

    def configure(self) -> None:
        """Send the set-up commands, then drain the error queue: anything in it refused the set-up."""
        for command in self._description.setup:
            self._link.write_line(command)
        self._raise_errors("its set-up")

    def identify(self) -> str:
        query = self._description.identity_query
        try:
            return str(parse_idn(self._link.query(query), query))
        except ProtocolError as exc:
            raise ProtocolError(f"{self.name}: {exc}") from exc

    def read(self) -> Reading:
        replies: dict[str, str] = {}
        reading: Reading = {}
        for entry in self._description.readings:
            if entry.query not in replies:
                replies[entry.query] = self._link.query(entry.query)
            reply = replies[entry.query]
            try:
                numbers = parse_numbers(entry.query, reply, entry.fields)
            except ProtocolError as exc:
                raise ProtocolError(f"{self.name}: {exc}") from exc
            if entry.field >= len(numbers):
                raise ProtocolError(
                    f"{self.name}: reply to {entry.query!r} has {len(numbers)} fields, "
                    f"{entry.name} is field {entry.field}: {reply!r}"
                )
            reading[entry.name] = numbers[entry.field] * entry.scale + entry.offset
        return reading

    @property
    def setpoint_ranges(self) -> dict[str, tuple[float, float]]:
        return {name: (s.minimum, s.maximum) for name, s in self._setpoints.items()}

    def set_value(self, quantity: str, value: float) -> None:
        """Send one setpoint command; LimitError outside its range (nothing sent), DeviceError if the
        instrument queued an error for it."""
        setpoint = self._setpoints.get(quantity)
        if setpoint is None:
            known = ", ".join(sorted(self._setpoints)) or "none"
            raise LimitError(f"{self.name}: no setpoint {quantity!r} (known: {known})")
        if not (math.isfinite(value) and setpoint.minimum <= value <= setpoint.maximum):
            raise LimitError(
                f"{self.name}: {quantity} = {value!r} outside [{setpoint.minimum:g}, {setpoint.maximum:g}]; "
                "nothing was sent"
            )
        command = setpoint.text(value)
        self._link.write_line(command)
        self._raise_errors(repr(command))

    def safe_state(self) -> None:
        """Every setpoint's safe value, then the safe commands; errors are raised after all were sent."""
        for setpoint in self._setpoints.values():
            if setpoint.safe is not None:
                self._link.write_line(setpoint.text(setpoint.safe))
        for command in self._description.safe_commands:
            self._link.write_line(command)
        self._raise_errors("its safe state")

    def read_errors(self) -> list[ErrorEntry]:
        """Drain the error queue; an empty list means no error was pending."""
        query = self._description.error_query
        errors: list[ErrorEntry] = []
        for _ in range(ERROR_QUEUE_DRAIN_LIMIT):
            try:
                entry = parse_error_entry(query, self._link.query(query))
            except ProtocolError as exc:
                raise ProtocolError(f"{self.name}: {exc}") from exc
            if entry.code == 0:
                return errors
            errors.append(entry)
        raise ProtocolError(
            f"{self.name}: error queue not empty after {ERROR_QUEUE_DRAIN_LIMIT} reads of {query!r}"
        )

    def _raise_errors(self, what: str) -> None:
        errors = self.read_errors()
        if errors:
            listed = "; ".join(f"{entry.code},{entry.message!r}" for entry in errors)
            raise DeviceError(f"{self.name}: instrument refused {what}: {listed}", errors[0].code)
