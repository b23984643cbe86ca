"""SCPI reply parsing shared by every SCPI driver (power meters, DMMs, supplies).

What lives here: turning the text an instrument sent back into numbers, an identity or an error-queue
entry, and rejecting anything else with :class:`~hil.core.errors.ProtocolError` naming the command and the
raw reply, so a log line alone tells what went wrong on the wire.

Numbers follow IEEE 488.2 / SCPI: NR1 (``42``), NR2 (``-4.5``), NR3 (``4.8012E+01``), with optional
surrounding blanks (some meters pad a positive mantissa with a space). SCPI reserves three values,
which become IEEE floats here instead of absurd magnitudes:

* ``9.9E37`` is overload / +infinity -> ``math.inf`` (``-9.9E37`` -> ``-math.inf``);
* ``9.91E37`` is "not a number" (no data) -> ``math.nan``;
* the mnemonics ``INF``, ``-INF``, ``NINF`` and ``NAN`` mean the same (some Yokogawa meters send
  ``NAN``/``INF`` as text in ASCII mode; **unverified** for the WT310 itself, accepted to be safe).

The parsers do not judge such values: whether an overload should trip the bench is the runner's
interlocks' decision, not a codec's. A finite literal too large for a float (``1E999``) is not a
reading, so it is a ProtocolError rather than a silent infinity.

Imports only :mod:`hil.core.errors` from the project; must not import simulators/.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from hil.core.errors import ProtocolError

OVERLOAD_VALUE = 9.9e37
"""SCPI's stand-in for +infinity (measurement overload); parsed as ``math.inf``."""

NOT_A_NUMBER_VALUE = 9.91e37
"""SCPI's stand-in for "no value" (no data, undefined computation); parsed as ``math.nan``."""

IDN_COMMAND = "*IDN?"

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_MNEMONICS = {"INF": math.inf, "+INF": math.inf, "-INF": -math.inf, "NINF": -math.inf, "NAN": math.nan}
_BLANKS = " \t"
_ERROR_ENTRY = re.compile(r"\s*([+-]?\d+)\s*,\s*\"(.*)\"\s*", re.DOTALL | re.ASCII)


@dataclass(frozen=True)
class Identity:
    """The four fields of an ``*IDN?`` reply (IEEE 488.2 section 10.14)."""

    maker: str
    model: str
    serial: str
    firmware: str

    def __str__(self) -> str:
        return f"{self.maker},{self.model},{self.serial},{self.firmware}"


@dataclass(frozen=True)
class ErrorEntry:
    """One entry of an instrument's error queue (``:SYST:ERR?`` / ``:STAT:ERR?``); code 0 = empty."""

    code: int
    message: str


def parse_number(command: str, field: str, reply: str | None = None) -> float:
    """Parse one SCPI numeric field; ``reply`` (the whole reply) is only used in the error message."""
    whole = field if reply is None else reply
    text = field.strip(_BLANKS)
    special = _MNEMONICS.get(text.upper())
    if special is not None:
        return special
    if not _DECIMAL.fullmatch(text):
        raise ProtocolError(f"reply to {command!r} has non-numeric field {field!r}: {whole!r}")
    value = float(text)
    if value in (OVERLOAD_VALUE, -OVERLOAD_VALUE):
        return math.copysign(math.inf, value)
    if abs(value) == NOT_A_NUMBER_VALUE:
        return math.nan
    if math.isinf(value):
        raise ProtocolError(f"reply to {command!r} has field {field!r} beyond the float range: {whole!r}")
    return value


def parse_numbers(command: str, reply: str, count: int | None = None) -> list[float]:
    """Parse a comma-separated numeric reply; with ``count``, insist on exactly that many fields."""
    fields = reply.split(",")
    if count is not None and len(fields) != count:
        raise ProtocolError(f"reply to {command!r} has {len(fields)} fields, expected {count}: {reply!r}")
    return [parse_number(command, field, reply) for field in fields]


def parse_idn(reply: str, command: str = IDN_COMMAND) -> Identity:
    """Split an ``*IDN?`` reply into maker, model, serial and firmware.

    Serial and firmware may be ``0`` (IEEE 488.2's "not available"), but all four fields must be
    present and maker and model non-empty: the run metadata records them as the instrument's identity.
    """
    fields = [field.strip() for field in reply.split(",")]
    if len(fields) != 4:
        raise ProtocolError(f"reply to {command!r} has {len(fields)} fields, expected 4: {reply!r}")
    if not fields[0] or not fields[1]:
        raise ProtocolError(f"reply to {command!r} has an empty maker or model: {reply!r}")
    return Identity(*fields)


def parse_error_entry(command: str, reply: str) -> ErrorEntry:
    """Parse an error-queue entry like ``-113,"Undefined header"`` (``0,"No error"`` when empty)."""
    match = _ERROR_ENTRY.fullmatch(reply)
    if match is None:
        raise ProtocolError(f'reply to {command!r} is not an error-queue entry <code>,"<text>": {reply!r}')
    return ErrorEntry(int(match.group(1)), match.group(2))
