"""Emulator of a Yokogawa WT310 power meter's SCPI interface (the instrument's side of the wire).

What lives here: :class:`WT310Emulator`, the instrument (settings, error queue, the three measured
quantities as callables into the plant), and its per-connection :class:`WT310Session`, which frames
bytes into lines and executes them. Serve it with ``EmulatorServer().add_tcp(name, emulator.session)``.

The subset follows ``shared/reference/protocols.md`` ("Power measurement") and general SCPI/IEEE 488.2
rules, because drivers must meet what a real meter does, not what is convenient:

* one program message per line (``\\n``, ``\\r\\n`` tolerated), several units separated by ``;``;
  a header without a leading ``:`` continues the previous unit's path (``:NUM:NORM:ITEM1 U,1;ITEM2 I,1``);
  ``*`` common commands do not change the path;
* headers are case-insensitive in short or long form (``:NUM`` / ``:NUMERIC``), ``[:NORMal]`` optional;
* the replies of all queries in one line go back as one line, joined by ``;``;
* an unknown header or a bad parameter produces no reply at all (the driver times out, as against the
  real meter) and queues an error read by ``:STAT:ERR?`` or ``:SYST:ERR?`` (``0,"No error"`` when
  empty); a full queue keeps its oldest entries and ends in ``-350,"Queue overflow"``.

Settings and the error queue belong to the instrument, shared by every connection; only framing (the
partial line) is per connection, as on a real meter with several clients.

Emulator choices, **unverified** against a real WT310 (kept in one place so they are easy to change):
the error codes are SCPI's negative ones (Yokogawa manuals may number them differently); the defaults
after ``*RST`` (headers ON, verbose OFF, ASCII, rate 0.5 s, 15 items: U, I, P, S, Q, LAMBda of element
1, then NONE), chosen so that an unconfigured meter does not happen to answer what a driver wants;
query replies carry a header when ``:COMM:HEAD ON`` except ``:NUM:NORM:VAL?``, ``*IDN?`` and the error
queries; ``:NUM:FORM FLOat`` answers ``#4`` + 4-digit byte count + big-endian float32 values.
Values are NR3 with 5 significant digits (``4.8012E+01``); an infinite plant value is sent as
``9.9E+37`` (overload), a NaN as ``9.91E+37``. Only element 1 exists.

Must not import drivers/: emulator and driver meet only on the wire.
"""

from __future__ import annotations

import math
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass

DEFAULT_IDENTITY = "YOKOGAWA,WT310,91K000001,F1.0"
MAX_LINE_BYTES = 65536
ERROR_QUEUE_CAPACITY = 30
MAX_ITEMS = 255
ELEMENTS = 1
UPDATE_RATES_S = (0.1, 0.25, 0.5)
OVERLOAD_TEXT = "9.9E+37"
NOT_A_NUMBER_TEXT = "9.91E+37"

_DEFAULT_ITEM_COUNT = 15
_DEFAULT_ITEMS = ("U", "I", "P", "S", "Q", "LAMBDA")

# Functions a normal-measurement item can show: long mnemonic -> short mnemonic.
_FUNCTIONS = {"U": "U", "I": "I", "P": "P", "S": "S", "Q": "Q", "LAMBDA": "LAMB", "NONE": "NONE"}

_NUMBER = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:E[+-]?\d+)?)(EX|PE|MA|[TGKMUNPF])?(S)?", re.ASCII)
_MULTIPLIERS = {
    None: 1.0, "EX": 1e18, "PE": 1e15, "T": 1e12, "G": 1e9, "MA": 1e6, "K": 1e3,
    "M": 1e-3, "U": 1e-6, "N": 1e-9, "P": 1e-12, "F": 1e-15,
}  # fmt: skip
_MNEMONIC = re.compile(r"([A-Z]+)(\d*)", re.ASCII)


class ScpiFault(Exception):
    """A command the instrument rejects: queued as ``code,"message"``, and nothing is answered."""

    def __init__(self, code: int, message: str) -> None:
        self.code = code
        self.message = message
        super().__init__(f'{code},"{message}"')


def _undefined_header() -> ScpiFault:
    return ScpiFault(-113, "Undefined header")


def _illegal_value() -> ScpiFault:
    return ScpiFault(-224, "Illegal parameter value")


@dataclass(frozen=True)
class _Node:
    short: str
    long: str
    optional: bool
    suffix: bool


@dataclass(frozen=True)
class _Command:
    nodes: tuple[_Node, ...]
    query: bool
    handler: Callable[[WT310Emulator, list[int], list[str]], str | bytes | None]
    header_in_reply: bool = True


def _nodes(spec: str) -> tuple[_Node, ...]:
    """``":NUMeric[:NORMal]:ITEM<n>"`` -> nodes; upper-case letters are the short form."""
    nodes = []
    for optional, mnemonic, suffix, _ in re.findall(r"(\[)?:([A-Za-z]+)(<n>)?(\])?", spec):
        short = "".join(ch for ch in mnemonic if ch.isupper())
        nodes.append(_Node(short, mnemonic.upper(), bool(optional), bool(suffix)))
    return tuple(nodes)


def _tokens(header_nodes: list[str]) -> list[tuple[str, str]] | None:
    """Split header mnemonics into (letters, numeric suffix); None if one is not a mnemonic at all."""
    tokens = []
    for text in header_nodes:
        found = _MNEMONIC.fullmatch(text.upper())
        if found is None:
            return None
        tokens.append((found.group(1), found.group(2)))
    return tokens


def _match(nodes: tuple[_Node, ...], tokens: list[tuple[str, str]]) -> list[int] | None:
    """Match header tokens against nodes (optional ones may be skipped); returns numeric suffixes."""
    if not nodes:
        return [] if not tokens else None
    node, rest = nodes[0], nodes[1:]
    if tokens:
        letters, digits = tokens[0]
        if letters in (node.short, node.long) and (node.suffix or not digits):
            suffixes = _match(rest, tokens[1:])
            if suffixes is not None:
                return ([int(digits or 1)] if node.suffix else []) + suffixes
    return _match(rest, tokens) if node.optional else None


def format_nr3(value: float) -> str:
    """NR3 with 5 significant digits; SCPI's overload / NaN stand-ins for non-finite values."""
    if math.isnan(value):
        return NOT_A_NUMBER_TEXT
    if math.isinf(value):
        return OVERLOAD_TEXT if value > 0 else "-" + OVERLOAD_TEXT
    return f"{value:.4E}"


def _float32_stand_in(value: float) -> float:
    """A value float32 can carry: NaN and overload as their SCPI stand-ins, like the ASCII form."""
    if math.isnan(value):
        return 9.91e37
    if abs(value) >= 9.9e37:
        return math.copysign(9.9e37, value)
    return value


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    if '"' not in text and "'" not in text:
        return text.split(separator)
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == separator:
            parts.append("".join(current))
            current = []
            continue
        current.append(ch)
    parts.append("".join(current))
    return parts


def _boolean(params: list[str]) -> bool:
    (value,) = _exactly(params, 1)
    text = value.upper()
    if text in ("ON", "1"):
        return True
    if text in ("OFF", "0"):
        return False
    raise _illegal_value()


def _exactly(params: list[str], count: int) -> list[str]:
    if len(params) < count:
        raise ScpiFault(-109, "Missing parameter")
    if len(params) > count:
        raise ScpiFault(-108, "Parameter not allowed")
    return params


def _integer(text: str) -> int:
    found = _NUMBER.fullmatch(text.upper())
    if not found or found.group(2) or found.group(3):
        raise ScpiFault(-104, "Data type error")
    value = float(found.group(1))
    if value != round(value):
        raise _illegal_value()
    return int(value)


def _time_s(text: str) -> float:
    found = _NUMBER.fullmatch(text.upper())
    if not found:
        raise ScpiFault(-104, "Data type error")
    return float(found.group(1)) * _MULTIPLIERS[found.group(2)]


class WT310Emulator:
    """The instrument: settings and error queue shared by all sessions, values read from the plant."""

    def __init__(
        self,
        voltage_v: Callable[[], float],
        current_a: Callable[[], float],
        power_w: Callable[[], float],
        identity: str = DEFAULT_IDENTITY,
    ) -> None:
        self._voltage_v = voltage_v
        self._current_a = current_a
        self._power_w = power_w
        self.identity = identity
        self.errors: list[ScpiFault] = []
        self.reset()

    def reset(self) -> None:
        """``*RST``: default settings; the error queue is left alone, as IEEE 488.2 requires."""
        self.ascii_format = True
        self.headers = True
        self.verbose = False
        self.rate_s = 0.5
        self.item_count = _DEFAULT_ITEM_COUNT
        self.items: list[tuple[str, int]] = [
            (_DEFAULT_ITEMS[k] if k < len(_DEFAULT_ITEMS) else "NONE", 1) for k in range(MAX_ITEMS)
        ]

    def session(self) -> WT310Session:
        """A new connection's session: the factory to hand to ``EmulatorServer.add_tcp``."""
        return WT310Session(self)

    def queue_error(self, fault: ScpiFault) -> None:
        if len(self.errors) < ERROR_QUEUE_CAPACITY - 1:
            self.errors.append(fault)
        elif len(self.errors) == ERROR_QUEUE_CAPACITY - 1:
            self.errors.append(ScpiFault(-350, "Queue overflow"))

    def values(self) -> list[float]:
        """The selected items, each plant callable sampled once so the set is consistent."""
        voltage_v, current_a, power_w = self._voltage_v(), self._current_a(), self._power_w()
        apparent_va = voltage_v * current_a
        computed = {
            "U": voltage_v,
            "I": current_a,
            "P": power_w,
            "S": apparent_va,
            "Q": math.sqrt(max(apparent_va * apparent_va - power_w * power_w, 0.0)),
            "LAMBDA": power_w / apparent_va if apparent_va else math.nan,
            "NONE": math.nan,
        }
        return [computed[function] for function, _ in self.items[: self.item_count]]

    # --- command handlers: (instrument, numeric suffixes, parameters) -> reply or None -----------

    def _idn(self, _: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        return self.identity

    def _cls(self, _: list[int], params: list[str]) -> None:
        _exactly(params, 0)
        self.errors.clear()

    def _rst(self, _: list[int], params: list[str]) -> None:
        _exactly(params, 0)
        self.reset()

    def _opc(self, _: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        return "1"

    def _set_format(self, _: list[int], params: list[str]) -> None:
        (value,) = _exactly(params, 1)
        choice = value.upper()
        if choice in ("ASC", "ASCII"):
            self.ascii_format = True
        elif choice in ("FLO", "FLOAT"):
            self.ascii_format = False
        else:
            raise _illegal_value()

    def _get_format(self, _: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        if self.ascii_format:
            return "ASCII" if self.verbose else "ASC"
        return "FLOAT" if self.verbose else "FLO"

    def _set_headers(self, _: list[int], params: list[str]) -> None:
        self.headers = _boolean(params)

    def _get_headers(self, _: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        return "1" if self.headers else "0"

    def _set_verbose(self, _: list[int], params: list[str]) -> None:
        self.verbose = _boolean(params)

    def _get_verbose(self, _: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        return "1" if self.verbose else "0"

    def _set_item_count(self, _: list[int], params: list[str]) -> None:
        (value,) = _exactly(params, 1)
        count = _integer(value)
        if not 1 <= count <= MAX_ITEMS:
            raise ScpiFault(-222, "Data out of range")
        self.item_count = count

    def _get_item_count(self, _: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        return str(self.item_count)

    def _item_index(self, suffixes: list[int]) -> int:
        (number,) = suffixes
        if not 1 <= number <= MAX_ITEMS:
            raise ScpiFault(-114, "Header suffix out of range")
        return number - 1

    def _set_item(self, suffixes: list[int], params: list[str]) -> None:
        index = self._item_index(suffixes)
        if not params:
            raise ScpiFault(-109, "Missing parameter")
        requested = params[0].upper()
        function = next((long for long, short in _FUNCTIONS.items() if requested in (long, short)), None)
        if function is None:
            raise _illegal_value()
        if function == "NONE":
            _exactly(params, 1)
            self.items[index] = ("NONE", 1)
            return
        element = _integer(_exactly(params, 2)[1])
        if not 1 <= element <= ELEMENTS:
            raise _illegal_value()
        self.items[index] = (function, element)

    def _get_item(self, suffixes: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        function, element = self.items[self._item_index(suffixes)]
        name = function if self.verbose else _FUNCTIONS[function]
        return name if function == "NONE" else f"{name},{element}"

    def _get_values(self, _: list[int], params: list[str]) -> str | bytes:
        values = self.values()
        if params:
            (value,) = _exactly(params, 1)
            number = _integer(value)
            if not 1 <= number <= self.item_count:
                raise ScpiFault(-222, "Data out of range")
            values = [values[number - 1]]
        if self.ascii_format:
            return ",".join(format_nr3(value) for value in values)
        block = struct.pack(f">{len(values)}f", *(_float32_stand_in(value) for value in values))
        return b"#4" + f"{len(block):04d}".encode("ascii") + block

    def _set_rate(self, _: list[int], params: list[str]) -> None:
        (value,) = _exactly(params, 1)
        rate_s = _time_s(value.upper())
        allowed = [allowed_s for allowed_s in UPDATE_RATES_S if math.isclose(rate_s, allowed_s, rel_tol=1e-9)]
        if not allowed:
            raise ScpiFault(-222, "Data out of range")
        self.rate_s = allowed[0]

    def _get_rate(self, _: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        return format_nr3(self.rate_s)

    def _next_error(self, _: list[int], params: list[str]) -> str:
        _exactly(params, 0)
        if not self.errors:
            return '0,"No error"'
        return str(self.errors.pop(0))


_COMMON = {
    "*IDN?": WT310Emulator._idn,
    "*CLS": WT310Emulator._cls,
    "*RST": WT310Emulator._rst,
    "*OPC?": WT310Emulator._opc,
}

_TREE = (
    _Command(_nodes(":NUMeric:FORMat"), False, WT310Emulator._set_format),
    _Command(_nodes(":NUMeric:FORMat"), True, WT310Emulator._get_format),
    _Command(_nodes(":COMMunicate:HEADer"), False, WT310Emulator._set_headers),
    _Command(_nodes(":COMMunicate:HEADer"), True, WT310Emulator._get_headers),
    _Command(_nodes(":COMMunicate:VERBose"), False, WT310Emulator._set_verbose),
    _Command(_nodes(":COMMunicate:VERBose"), True, WT310Emulator._get_verbose),
    _Command(_nodes(":NUMeric[:NORMal]:NUMber"), False, WT310Emulator._set_item_count),
    _Command(_nodes(":NUMeric[:NORMal]:NUMber"), True, WT310Emulator._get_item_count),
    _Command(_nodes(":NUMeric[:NORMal]:ITEM<n>"), False, WT310Emulator._set_item),
    _Command(_nodes(":NUMeric[:NORMal]:ITEM<n>"), True, WT310Emulator._get_item),
    _Command(_nodes(":NUMeric[:NORMal]:VALue"), True, WT310Emulator._get_values, header_in_reply=False),
    _Command(_nodes(":RATE"), False, WT310Emulator._set_rate),
    _Command(_nodes(":RATE"), True, WT310Emulator._get_rate),
    _Command(_nodes(":STATus:ERRor"), True, WT310Emulator._next_error, header_in_reply=False),
    _Command(_nodes(":SYSTem:ERRor[:NEXT]"), True, WT310Emulator._next_error, header_in_reply=False),
)


_Resolved = tuple[_Command, tuple[int, ...], tuple[str, ...]]
"""A resolved header: the command, its numeric suffixes, and the path the next unit continues."""

MAX_RESOLVED_HEADERS = 64
"""Headers a connection remembers resolved. Resolving ``:NUM:NORM:VAL?`` (splitting, a regular
expression per node, matching against the command tree) was two thirds of the query's cost in the
emulator (about 20 of 30 us); a driver sends the same few headers every tick. Bounded, so a client
sending ever new headers costs no memory; a header that fails is not remembered (its error is
raised again, the same, every time)."""


def _resolve_header(header: str, path: list[str]) -> _Resolved:
    """Resolve a (non-common) header against the command tree, after the previous unit's ``path``."""
    query = header.endswith("?")
    names = header.rstrip("?").split(":")
    names = names[1:] if header.startswith(":") else path + names
    if any(not name for name in names) or header.count("?") > (1 if query else 0):
        raise ScpiFault(-102, "Syntax error")
    tokens = _tokens(names)
    if tokens is None:
        raise _undefined_header()
    for command in _TREE:
        if command.query != query:
            continue
        suffixes = _match(command.nodes, tokens)
        if suffixes is not None:
            return command, tuple(suffixes), tuple(names[:-1])
    raise _undefined_header()


class WT310Session:
    """One connection to the meter: frames bytes into lines and runs them against the instrument."""

    def __init__(self, instrument: WT310Emulator) -> None:
        self.instrument = instrument
        self._pending = bytearray()
        self._resolved: dict[tuple[str, tuple[str, ...]], _Resolved] = {}

    def receive(self, data: bytes) -> bytes:
        """Consume bytes; return the reply lines of every complete program message (maybe none)."""
        self._pending.extend(data)
        replies = []
        while (end := self._pending.find(b"\n")) >= 0:
            line = bytes(self._pending[:end]).rstrip(b"\r")
            del self._pending[: end + 1]
            reply = self._execute_line(line)
            if reply is not None:
                replies.append(reply + b"\n")
        if len(self._pending) > MAX_LINE_BYTES:
            self._pending.clear()
            self.instrument.queue_error(ScpiFault(-223, "Too much data"))
        return b"".join(replies)

    def _execute_line(self, line: bytes) -> bytes | None:
        try:
            text = line.decode("ascii")
        except UnicodeDecodeError:
            self.instrument.queue_error(ScpiFault(-101, "Invalid character"))
            return None
        path: list[str] = []
        replies: list[bytes] = []
        for unit in _split_outside_quotes(text, ";"):
            unit = unit.strip()
            if not unit:
                continue
            try:
                reply, path = self._execute_unit(unit, path)
            except ScpiFault as fault:
                self.instrument.queue_error(fault)
                continue
            if reply is not None:
                replies.append(reply)
        return b";".join(replies) if replies else None

    def _execute_unit(self, unit: str, path: list[str]) -> tuple[bytes | None, list[str]]:
        """Run one program message unit; returns its reply and the header path for the next unit."""
        header, _, rest = unit.replace("\t", " ").partition(" ")
        params = [param.strip() for param in _split_outside_quotes(rest, ",")] if rest.strip() else []
        if any(not param for param in params):
            raise ScpiFault(-102, "Syntax error")
        if header.startswith("*"):
            handler = _COMMON.get(header.upper())
            if handler is None:
                raise _undefined_header()
            return self._encode(handler(self.instrument, [], params)), path
        command, suffixes, next_path = self._resolve(header, path)
        reply = command.handler(self.instrument, list(suffixes), params)
        if isinstance(reply, str) and self.instrument.headers and command.header_in_reply:
            reply = f"{self._reply_header(command, suffixes)} {reply}"
        return self._encode(reply), list(next_path)

    def _resolve(self, header: str, path: list[str]) -> _Resolved:
        """The command a header names after ``path``, remembered per connection (see
        :data:`MAX_RESOLVED_HEADERS`); a header that names none raises, and is never remembered."""
        key = (header, tuple(path))
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = _resolve_header(header, path)
            if len(self._resolved) < MAX_RESOLVED_HEADERS:
                self._resolved[key] = resolved
        return resolved

    def _reply_header(self, command: _Command, suffixes: tuple[int, ...]) -> str:
        numbers = iter(suffixes)
        parts = []
        for node in command.nodes:
            mnemonic = node.long if self.instrument.verbose else node.short
            parts.append(f":{mnemonic}{next(numbers) if node.suffix else ''}")
        return "".join(parts)

    @staticmethod
    def _encode(reply: str | bytes | None) -> bytes | None:
        return reply.encode("ascii") if isinstance(reply, str) else reply
