"""Declarative configuration: reading TOML files and checking every field with a precise message.

:class:`Section` wraps one TOML table. Callers ask for each field with its expected type and range;
when they are done, :meth:`Section.finish` rejects any key nobody asked for, so a misspelt limit can
never be silently ignored. Every problem raises :class:`~hil.core.errors.ConfigError` naming the file, the
dotted field path and what was expected. Configuration is data: nothing in it is ever evaluated.

Imports only :mod:`hil.core.errors` from the project.
"""

from __future__ import annotations

import math
import tomllib
from pathlib import Path
from typing import Any, TypeVar

from hil.core.errors import ConfigError

T = TypeVar("T")
_MISSING = object()
_TYPE_NAMES = {float: "a number", int: "an integer", str: "a string", bool: "true or false"}


def load_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning I/O and syntax problems into ConfigError."""
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "", "file not found") from exc
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from exc


class Section:
    """One table of a configuration file, consumed field by field."""

    def __init__(self, data: Any, source: str, path: str = "") -> None:
        if not isinstance(data, dict):
            raise ConfigError(source, path or "(top level)", f"expected a table, got {_describe(data)}")
        self.data = data
        self.source = source
        self.path = path
        self._used: set[str] = set()

    def _field(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(self.source, self._field(key), problem)

    def has(self, key: str) -> bool:
        return key in self.data

    def raw(self, key: str, default: Any = _MISSING) -> Any:
        self._used.add(key)
        if key not in self.data:
            if default is _MISSING:
                raise self.error(key, "missing (required)")
            return default
        return self.data[key]

    def get(
        self,
        key: str,
        kind: type[T],
        default: Any = _MISSING,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        choices: tuple[Any, ...] | None = None,
    ) -> T:
        """A scalar field of type ``kind`` (ints are accepted where a float is expected)."""
        value = self.raw(key, default)
        if value is None and default is None:
            return value  # type: ignore[return-value]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
            raise self.error(key, f"expected {_TYPE_NAMES.get(kind, kind.__name__)}, got {_describe(value)}")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.error(key, f"expected a finite number, got {value}")
        if minimum is not None and value < minimum:  # type: ignore[operator]
            raise self.error(key, f"must be >= {minimum}, got {value}")
        if maximum is not None and value > maximum:  # type: ignore[operator]
            raise self.error(key, f"must be <= {maximum}, got {value}")
        if choices is not None and value not in choices:
            raise self.error(key, f"must be one of {', '.join(map(str, choices))}; got {value!r}")
        return value

    def section(self, key: str, default: Any = _MISSING) -> Section:
        return Section(self.raw(key, default), self.source, self._field(key))

    def sections(self, key: str) -> dict[str, Section]:
        """A table of tables, e.g. ``[instruments.NAME]``, in file order."""
        table = self.section(key, {})
        table._used.update(table.data)
        return {name: Section(value, self.source, table._field(name)) for name, value in table.data.items()}

    def str_map(self, key: str, default: Any = _MISSING) -> dict[str, str]:
        table = self.section(key, default)
        result = {}
        for name in table.data:
            result[name] = table.get(name, str)
        return result

    def float_map(self, key: str, default: Any = _MISSING) -> dict[str, float]:
        table = self.section(key, default)
        return {name: table.get(name, float) for name in table.data}

    def finish(self) -> None:
        """Reject keys that no caller asked for: misspellings must never be ignored."""
        unknown = sorted(set(self.data) - self._used)
        if unknown:
            raise self.error(
                unknown[0], f"unknown key (known here: {', '.join(sorted(self._used)) or 'none'})"
            )


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return f"{type(value).__name__} {value!r}"
