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

Reading files (encoding, syntax, runaway nesting) lives in :mod:`hil.core.config_files` and the check
of one value (kind, finiteness, range, the message) in :mod:`hil.core.config_values`; both are
re-exported here. Imports only :mod:`hil.core.errors` and those two modules from the project.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, overload

from hil.core.config_files import (
    load_json,
    load_toml,
    load_toml_document,
    parse_json_text,
    parse_toml_text,
    read_config_text,
)
from hil.core.config_values import check_number_list, check_scalar, describe, unit_of
from hil.core.errors import ConfigError

__all__ = [
    "Section",
    "check_number_list",
    "check_scalar",
    "describe",
    "load_json",
    "load_toml",
    "load_toml_document",
    "parse_json_text",
    "parse_toml_text",
    "read_config_text",
    "unit_of",
]

T = TypeVar("T")
_MISSING: Any = object()
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
