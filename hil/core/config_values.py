"""Checking one configuration value: its kind, finiteness and range, with the message shape every
declarative file shares (``expected WHAT, got FOUND`` / ``must be RANGE, got VALUE UNIT``).

:func:`check_scalar` and :func:`check_number_list` are what :class:`hil.core.config.Section` calls
for each field; :func:`unit_of` reads the unit from a field's name (``_pa`` -> Pa) and
:func:`describe` says what was found in a few words (never the whole of a huge value).

Imports only :mod:`hil.core.errors` from the project.
"""

from __future__ import annotations

import math
from typing import Any, TypeVar

from hil.core.errors import ConfigError

__all__ = ["check_number_list", "check_scalar", "describe", "unit_of"]

T = TypeVar("T")
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
    """Check one value (from a table or a list) against its expected kind, range and choices.

    The unit for a message is read from the field's name only when there is a message to write:
    reading it for every value (up to 23 suffixes tried) made a value that passes 3.5x slower (4.4 us
    against 1.2 us a check, medians of 30 interleaved batches of four typical fields in one process);
    the config fuzz (``tests/unit/test_config_fuzz.py``) checks about 180,000 values a run.
    """
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
    too_low = minimum is not None and (value < minimum or (exclusive_minimum and value == minimum))  # type: ignore[operator]
    too_high = maximum is not None and (value > maximum or (exclusive_maximum and value == maximum))  # type: ignore[operator]
    if too_low or too_high:
        unit = unit_of(field.rsplit(".", 1)[-1].split("[", 1)[0]) if kind in (float, int) else ""
        suffix = f" {unit}" if unit else ""
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
