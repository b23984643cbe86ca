"""The instrument's side of a simple SCPI dialogue, shared by the supply and DMM emulators.

What lives here: :class:`ScpiInstrument`, a base holding the error queue and the common commands
(``*IDN?``, ``*CLS``, ``*RST``, ``:SYST:ERR?``), and :class:`ScpiSession`, the per-connection line
framing for ``EmulatorServer.add_tcp``. Subclasses list their commands as (pattern, handler) pairs;
a pattern is a regular expression over the upper-cased command with its optional leading ``:``
removed, so short and long forms are written once (``VOLT(AGE)?``).

As on real SCPI instruments, a command that matches nothing queues ``-113,"Undefined header"`` and a
bad parameter ``-224,"Illegal parameter value"``; neither produces a reply, so a driver waiting for
one times out, and the error queue says why. Several units on one line are separated by ``;``.
Overload is sent as ``9.9E+37``, no data as ``9.91E+37``.

Must not import drivers/.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

ERROR_QUEUE_CAPACITY = 20
MAX_LINE_BYTES = 4096

Handler = Callable[[re.Match[str]], str | None]


class ScpiError(Exception):
    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f"{code},{message}")


def illegal_value() -> ScpiError:
    return ScpiError(-224, "Illegal parameter value")


def format_number(value: float) -> str:
    """NR3 with 7 significant digits; overload and no data as SCPI's reserved values."""
    if math.isnan(value):
        return "9.91E+37"
    if math.isinf(value):
        return "9.9E+37" if value > 0 else "-9.9E+37"
    return f"{value:.6E}"


def parse_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise illegal_value() from None
    if not math.isfinite(value):
        raise illegal_value()
    return value


def parse_switch(text: str) -> bool:
    word = text.strip().upper()
    if word in ("ON", "1"):
        return True
    if word in ("OFF", "0"):
        return False
    raise illegal_value()


class ScpiInstrument:
    """Error queue and common commands; subclasses add :meth:`commands` and an identity."""

    identity = "MAKER,MODEL,0,0"

    def __init__(self) -> None:
        self.errors: list[ScpiError] = []
        self._table: list[tuple[re.Pattern[str], Handler]] = [
            (re.compile(pattern + r"\Z"), handler)
            for pattern, handler in [
                (r"\*IDN\?", lambda m: self.identity),
                (r"\*CLS", lambda m: self._clear()),
                (r"\*RST", lambda m: self.reset()),
                (r"SYST(EM)?:ERR(OR)?(:NEXT)?\?", lambda m: self._next_error()),
                *self.commands(),
            ]
        ]

    def commands(self) -> Sequence[tuple[str, Handler]]:
        return ()

    def reset(self) -> None:
        """Back to power-on settings (subclasses extend)."""

    def session(self) -> ScpiSession:
        return ScpiSession(self)

    def execute(self, unit: str) -> str | None:
        text = unit.strip().lstrip(":").upper()
        for pattern, handler in self._table:
            match = pattern.match(text)
            if match is not None:
                try:
                    return handler(match)
                except ScpiError as error:
                    self._queue(error)
                    return None
        self._queue(ScpiError(-113, "Undefined header"))
        return None

    def _queue(self, error: ScpiError) -> None:
        if len(self.errors) < ERROR_QUEUE_CAPACITY:
            self.errors.append(error)

    def _clear(self) -> None:
        self.errors.clear()

    def _next_error(self) -> str:
        if not self.errors:
            return '0,"No error"'
        error = self.errors.pop(0)
        return f'{error.code},"{error.message}"'


class ScpiSession:
    """One connection: frames lines, executes each ``;``-separated unit, joins the replies."""

    def __init__(self, instrument: ScpiInstrument) -> None:
        self._instrument = instrument
        self._buffer = b""

    def receive(self, data: bytes) -> bytes:
        self._buffer += data
        out = []
        while b"\n" in self._buffer:
            raw, self._buffer = self._buffer.split(b"\n", 1)
            try:
                line = raw.decode("ascii").rstrip("\r")
            except UnicodeDecodeError:
                self._instrument._queue(ScpiError(-101, "Invalid character"))
                continue
            replies = [
                r for unit in line.split(";") if unit.strip() and (r := self._instrument.execute(unit))
            ]
            if replies:
                out.append(";".join(replies).encode("ascii") + b"\n")
        if len(self._buffer) > MAX_LINE_BYTES:
            self._buffer = b""
            self._instrument._queue(ScpiError(-223, "Too much data"))
        return b"".join(out)
