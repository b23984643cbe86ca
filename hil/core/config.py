"""The one reader of declarative files: bench, mission, pump model, pump definition and grade files.

:func:`load_toml` and :func:`load_json` turn a file into plain data; :class:`Section` wraps one table
of it. Callers ask for each field with what they expect of it (a number with its range and unit, an
integer, a string among choices, a ``[minimum, maximum]`` pair, a list, a sub-table, an array of
tables); when they are done, :meth:`Section.finish` rejects any key nobody asked for, so a misspelt
limit can never be silently ignored. Configuration is data: nothing in it is ever evaluated.

Every problem, whatever the file held (bytes that are not UTF-8, a 400-digit integer, nesting deep
enough to exhaust the parser, a list where a number belongs, ``nan`` or ``inf``, an unknown key),
becomes one :class:`~hil.core.errors.ConfigError` of one shape::

    FILE: FIELD: expected WHAT, got FOUND        (a value of the wrong kind)
    FILE: FIELD: must be RANGE, got VALUE UNIT   (a value out of range)
    FILE: FIELD: missing (required)
    FILE: FIELD: unknown key (known here: ...)

``FIELD`` is the dotted path (``engine.throttle[1].throttle``); the unit, where a field's name carries
one (``_pa``, ``_m3_s``, ``_w_kg``...), is named after the value found, read from the name itself.
Physical meaning is checked here too: numbers are finite unless a field allows infinity, and the
helpers :meth:`Section.positive` and :meth:`Section.efficiency` say what most fields need.

Imports only :mod:`hil.core.errors` from the project.
"""

from __future__ import annotations

import json
import math
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar, overload

from hil.core.errors import ConfigError

T = TypeVar("T")
_MISSING: Any = object()
_TYPE_NAMES = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}
# Integers beyond this are no physical quantity this harness handles (and overflow C code).
_MAX_INTEGER = 2**63
# Unit suffixes of field names (longest first), for messages: ``thrust_n`` -> N.
_UNIT_SUFFIXES = (
    ("_j_kg_k", "J/(kg K)"),
    ("_s_per_pa", "s/Pa"),
    ("_wh_kg", "Wh/kg"),
    ("_kg_m3", "kg/m3"),
    ("_m3_s", "m3/s"),
    ("_m_s2", "m/s2"),
    ("_w_kg", "W/kg"),
    ("_kg_s", "kg/s"),
    ("_m_s", "m/s"),
    ("_n_s", "N s"),
    ("_rpm", "rpm"),
    ("_pa", "Pa"),
    ("_kg", "kg"),
    ("_m3", "m3"),
    ("_wh", "Wh"),
    ("_hz", "Hz"),
    ("_m", "m"),
    ("_s", "s"),
    ("_n", "N"),
    ("_w", "W"),
    ("_a", "A"),
    ("_c", "degC"),
    ("_k", "K"),
)


def unit_of(key: str) -> str:
    """The unit a field's name carries (``max_outlet_pressure_pa`` -> ``Pa``), or ``""``."""
    for suffix, unit in _UNIT_SUFFIXES:
        if key.endswith(suffix):
            return unit
    return ""


# ------------------------------------------------------------------------------------------ files


def read_config_text(path: Path) -> str:
    """The text of a declarative file; a missing, unreadable or non-UTF-8 file is a ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "", "file not found") from exc
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), "", f"expected UTF-8 text, got byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        ) from exc


def parse_toml_text(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; syntax errors, absurd integers and runaway nesting become ConfigError."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(source, "", "not valid TOML: nested too deeply to read") from exc
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise ConfigError(source, "", f"not valid TOML: {exc}") from exc


def load_toml(path: Path) -> dict[str, Any]:
    """Read and parse a TOML file, turning every I/O, encoding and syntax problem into ConfigError."""
    return parse_toml_text(read_config_text(path), str(path))


def load_toml_document(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed TOML file and its text (kept verbatim in run metadata), read once."""
    text = read_config_text(path)
    return parse_toml_text(text, str(path)), text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def parse_json_text(text: str, source: str) -> Any:
    """Parse JSON text; NaN and Infinity literals, absurd integers and runaway nesting are refused."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, "", f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(source, "", "not valid JSON: nested too deeply to read") from exc
    except ValueError as exc:
        raise ConfigError(source, "", f"not valid JSON: {exc}") from exc


def load_json(path: Path) -> Any:
    """Read and parse a JSON file, turning every I/O, encoding and syntax problem into ConfigError."""
    return parse_json_text(read_config_text(path), str(path))


# ------------------------------------------------------------------------------------------ tables


class Section:
    """One table of a configuration file, consumed field by field.

    ``path`` is the dotted path of the table (``""`` at the top level); every error names the file
    (``source``) and ``path.key``.
    """

    def __init__(self, data: Any, source: str, path: str = "") -> None:
        if not isinstance(data, dict):
            raise ConfigError(source, path or "(top level)", f"expected a table, got {describe(data)}")
        self.data: dict[str, Any] = data
        self.source = source
        self.path = path
        self._used: set[str] = set()

    def field(self, key: str) -> str:
        """The dotted path of ``key`` in this table."""
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str) -> ConfigError:
        """A ConfigError about ``key`` of this table (for checks across fields made by the caller)."""
        return ConfigError(self.source, self.field(key), problem)

    def has(self, key: str) -> bool:
        """Whether the key is present (does not count as reading it)."""
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        """The value as stored, unchecked (a caller that checks it itself)."""
        self._used.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise self.error(key, "missing (required)")
            return default
        return self.data[key]

    # ------------------------------------------------------------------ scalars
    def get(
        self,
        key: str,
        kind: type[T],
        default: Any = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        exclusive_maximum: bool = False,
        choices: tuple[Any, ...] | None = None,
        allow_inf: bool = False,
    ) -> T:
        """A scalar field of type ``kind`` (ints are accepted where a float is expected).

        A ``None`` default makes the field optional: absent, it is None.
        """
        value = self.raw(key, default)
        if key not in self.data:
            return value
        return check_scalar(
            value,
            kind,
            self.source,
            self.field(key),
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=exclusive_minimum,
            exclusive_maximum=exclusive_maximum,
            choices=choices,
            allow_inf=allow_inf,
        )

    def number(
        self,
        key: str,
        default: float = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        exclusive_maximum: bool = False,
        allow_inf: bool = False,
    ) -> float:
        """A number (required unless a default is given)."""
        return self.get(
            key,
            float,
            default,
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=exclusive_minimum,
            exclusive_maximum=exclusive_maximum,
            allow_inf=allow_inf,
        )

    def optional_number(
        self,
        key: str,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        exclusive_maximum: bool = False,
    ) -> float | None:
        """A number that may be absent (None)."""
        value: float | None = self.get(
            key,
            float,
            None,
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=exclusive_minimum,
            exclusive_maximum=exclusive_maximum,
        )
        return value

    @overload
    def positive(self, key: str) -> float: ...
    @overload
    def positive(self, key: str, default: float, *, allow_inf: bool = False) -> float: ...
    @overload
    def positive(self, key: str, default: None) -> float | None: ...
    def positive(self, key: str, default: Any = _MISSING, *, allow_inf: bool = False) -> Any:
        """A strictly positive number (a length, a mass, a pressure, a specific power...)."""
        return self.get(key, float, default, minimum=0.0, exclusive_minimum=True, allow_inf=allow_inf)

    def efficiency(self, key: str, default: float = _MISSING) -> float:
        """An efficiency or any fraction that must lie in (0, 1]."""
        return self.get(key, float, default, minimum=0.0, maximum=1.0, exclusive_minimum=True)

    def integer(
        self, key: str, default: int = _MISSING, *, minimum: int | None = None, maximum: int | None = None
    ) -> int:
        """An integer (a float, even 2.0, is refused: counts and addresses are exact)."""
        return self.get(key, int, default, minimum=minimum, maximum=maximum)

    def string(
        self,
        key: str,
        default: str = _MISSING,
        *,
        choices: tuple[str, ...] | None = None,
        nonempty: bool = False,
    ) -> str:
        """A string, optionally one of ``choices`` or required to hold more than blanks."""
        value = self.get(key, str, default, choices=choices)
        if nonempty and key in self.data and not value.strip():
            raise self.error(key, "expected a non-empty string, got an empty one")
        return value

    def optional_string(self, key: str, *, nonempty: bool = False) -> str | None:
        """A string that may be absent (None)."""
        value: str | None = self.get(key, str, None)
        if nonempty and value is not None and not value.strip():
            raise self.error(key, "expected a non-empty string, got an empty one")
        return value

    def boolean(self, key: str, default: bool = _MISSING) -> bool:
        """true or false (never 0/1 or a string)."""
        return self.get(key, bool, default)

    # ------------------------------------------------------------------ lists and pairs
    def pair(
        self,
        key: str,
        default: tuple[float, float] = _MISSING,
        *,
        minimum: float | None = None,
        exclusive_minimum: bool = False,
        allow_equal: bool = False,
    ) -> tuple[float, float]:
        """``[minimum, maximum]``: two finite numbers in order (equal ones only if ``allow_equal``)."""
        raw = self.raw(key, default)
        if key not in self.data:
            return raw
        where = self.field(key)
        shape = "[minimum, maximum]"
        if not isinstance(raw, list) or len(raw) != 2:
            raise ConfigError(self.source, where, f"expected {shape}, got {describe(raw)}")
        lo, hi = (
            check_scalar(
                v,
                float,
                self.source,
                f"{where}[{i}]",
                minimum=minimum,
                exclusive_minimum=exclusive_minimum,
            )
            for i, v in enumerate(raw)
        )
        if hi < lo or (hi == lo and not allow_equal):
            relation = "<=" if allow_equal else "<"
            raise ConfigError(
                self.source, where, f"expected {shape} with minimum {relation} maximum, got [{lo:g}, {hi:g}]"
            )
        return (lo, hi)

    def number_list(
        self,
        key: str,
        default: tuple[float, ...] = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        min_length: int = 0,
    ) -> tuple[float, ...]:
        """A list of finite numbers, each checked against the range."""
        raw = self.raw(key, default)
        if key not in self.data:
            return raw
        return check_number_list(
            raw,
            self.source,
            self.field(key),
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=exclusive_minimum,
            min_length=min_length,
        )

    def number_matrix(
        self, key: str, rows: int | None = None, columns: int | None = None
    ) -> tuple[tuple[float, ...], ...]:
        """A rectangular list of lists of finite numbers (``rows`` x ``columns`` where given)."""
        raw = self.raw(key)
        where = self.field(key)
        shape = f"{rows if rows is not None else 'N'}x{columns if columns is not None else 'M'}"
        if not isinstance(raw, list) or not raw or (rows is not None and len(raw) != rows):
            raise ConfigError(
                self.source, where, f"expected a {shape} matrix (a list of rows), got {describe(raw)}"
            )
        width = columns if columns is not None else (len(raw[0]) if isinstance(raw[0], list) else -1)
        result = []
        for i, row in enumerate(raw):
            if not isinstance(row, list) or len(row) != width or width < 1:
                raise ConfigError(
                    self.source,
                    f"{where}[{i}]",
                    f"expected a row of {max(width, 1)} numbers, got {describe(row)}",
                )
            result.append(check_number_list(row, self.source, f"{where}[{i}]"))
        return tuple(result)

    def string_list(self, key: str, default: tuple[str, ...] = _MISSING) -> tuple[str, ...]:
        """A list of strings."""
        raw = self.raw(key, default)
        if key not in self.data:
            return raw
        where = self.field(key)
        if not isinstance(raw, list):
            raise ConfigError(self.source, where, f"expected a list of strings, got {describe(raw)}")
        return tuple(check_scalar(v, str, self.source, f"{where}[{i}]") for i, v in enumerate(raw))

    # ------------------------------------------------------------------ tables
    def section(self, key: str, default: Any = _MISSING) -> Section:
        """A sub-table (``default``, usually ``{}``, when absent)."""
        return Section(self.raw(key, default), self.source, self.field(key))

    def optional_section(self, key: str) -> Section | None:
        """A sub-table that may be absent (None)."""
        if key not in self.data:
            self._used.add(key)
            return None
        return self.section(key)

    def sections(self, key: str) -> dict[str, Section]:
        """A table of tables, e.g. ``[instruments.NAME]``, in file order."""
        table = self.section(key, {})
        table._used.update(table.data)
        return {name: Section(value, self.source, table.field(name)) for name, value in table.data.items()}

    def table_list(self, key: str, *, min_length: int = 0) -> list[Section]:
        """An array of tables (``[[engine.throttle]]``), each named ``key[i]`` in messages."""
        raw = self.raw(key)
        where = self.field(key)
        if not isinstance(raw, list) or len(raw) < min_length:
            at_least = f" of at least {min_length}" if min_length else ""
            raise ConfigError(
                self.source, where, f"expected an array{at_least} of tables, got {describe(raw)}"
            )
        return [Section(item, self.source, f"{where}[{i}]") for i, item in enumerate(raw)]

    def str_map(self, key: str, default: Any = _MISSING) -> dict[str, str]:
        """A table of strings (e.g. channel names)."""
        table = self.section(key, default)
        return {name: table.get(name, str) for name in table.data}

    def float_map(self, key: str, default: Any = _MISSING) -> dict[str, float]:
        """A table of numbers."""
        table = self.section(key, default)
        return {name: table.get(name, float) for name in table.data}

    def finish(self) -> None:
        """Reject keys that no caller asked for: misspellings must never be ignored."""
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise self.error(
                unknown[0], f"unknown key (known here: {', '.join(sorted(self._used)) or 'none'})"
            )

    def convert(self, key: str, convert: Callable[[Any], T], default: Any = _MISSING) -> T:
        """A value turned into a project object by ``convert`` (a name lookup, a table of values).

        ``convert`` raises ConfigError itself, or any :class:`~hil.core.errors.HilError` / ValueError /
        LookupError whose text becomes the problem named at this field.
        """
        raw = self.raw(key, default)
        if key not in self.data:
            return raw
        try:
            return convert(raw)
        except ConfigError:
            raise
        except (ValueError, LookupError) as exc:
            raise self.error(key, str(exc).strip("'\"")) from exc


# ------------------------------------------------------------------------------------------ values


def check_scalar(
    value: Any,
    kind: type[T],
    source: str,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    exclusive_maximum: bool = False,
    choices: tuple[Any, ...] | None = None,
    allow_inf: bool = False,
) -> T:
    """Check one value (from a table or a list) against its expected kind, range and choices."""
    key = field.rsplit(".", 1)[-1].split("[", 1)[0]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        if abs(value) >= _MAX_INTEGER:
            raise ConfigError(source, field, f"expected a finite number, got {describe(value)}")
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(
            source, field, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {describe(value)}"
        )
    if isinstance(value, float) and (math.isnan(value) or (math.isinf(value) and not allow_inf)):
        raise ConfigError(source, field, f"expected a finite number, got {value}")
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _MAX_INTEGER:
        raise ConfigError(source, field, f"expected an integer below 2**63 in size, got {describe(value)}")
    unit = unit_of(key) if kind in (float, int) else ""
    suffix = f" {unit}" if unit else ""
    too_low = minimum is not None and (value < minimum or (exclusive_minimum and value == minimum))  # type: ignore[operator]
    too_high = maximum is not None and (value > maximum or (exclusive_maximum and value == maximum))  # type: ignore[operator]
    if too_low or too_high:
        raise ConfigError(
            source,
            field,
            f"must be {_range_text(minimum, maximum, exclusive_minimum, exclusive_maximum, too_low)}, "
            f"got {value}{suffix}",
        )
    if choices is not None and value not in choices:
        raise ConfigError(source, field, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
    return value


def _range_text(
    minimum: float | None,
    maximum: float | None,
    exclusive_minimum: bool,
    exclusive_maximum: bool,
    too_low: bool,
) -> str:
    """``>= 0.5``, ``positive (> 0)`` or ``a fraction in (0, 1]``: the side that was violated."""
    if minimum == 0 and maximum == 1:
        left = "(" if exclusive_minimum else "["
        right = ")" if exclusive_maximum else "]"
        return f"a fraction in {left}0, 1{right}"
    if too_low and minimum == 0 and exclusive_minimum:
        return "positive (> 0)"
    if too_low:
        return f"{'>' if exclusive_minimum else '>='} {minimum}"
    return f"{'<' if exclusive_maximum else '<='} {maximum}"


def check_number_list(
    raw: Any,
    source: str,
    field: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: bool = False,
    min_length: int = 0,
) -> tuple[float, ...]:
    """A list of finite numbers, each named ``field[i]`` in messages."""
    if not isinstance(raw, list) or len(raw) < max(min_length, 0):
        at_least = f" of at least {min_length}" if min_length else ""
        raise ConfigError(source, field, f"expected a list{at_least} of numbers, got {describe(raw)}")
    return tuple(
        check_scalar(
            v,
            float,
            source,
            f"{field}[{i}]",
            minimum=minimum,
            maximum=maximum,
            exclusive_minimum=exclusive_minimum,
        )
        for i, v in enumerate(raw)
    )


def describe(value: Any) -> str:
    """What was found, in a few words (never the whole of a huge value)."""
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, int) and abs(value) >= _MAX_INTEGER:
        return f"an integer of {len(str(abs(value)))} digits"
    if isinstance(value, str) and len(value) > 60:
        return f"str {value[:40]!r}... ({len(value)} characters)"
    if value is None:
        return "nothing (null)"
    return f"{type(value).__name__} {value!r}"
