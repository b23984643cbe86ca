"""Quantities people type: ``0.45 L/s``, ``200 m``, ``45 %``, ``2.1 kW``, parsed with pint into SI.

A bare number is already SI (m3/s, m, W, a fraction), so scripts written for SI keep working. A
number with a unit must have the dimension asked for; anything else is a
:class:`~hil.core.errors.ConfigError` naming where the text came from. The unit registry is built
on first use (building it takes a noticeable fraction of a second).

Imports pint and hil's errors only.
"""

from __future__ import annotations

import math
from functools import lru_cache
from typing import Any

from hil.core.errors import ConfigError

SI_UNITS = {"flow": "m**3/s", "head": "m", "power": "W", "fraction": "dimensionless"}
"""The SI unit each kind of quantity is converted to."""


@lru_cache(maxsize=1)
def _registry() -> Any:
    import pint

    return pint.UnitRegistry()


def has_unit(text: str) -> bool:
    """Whether ``text`` is more than a bare number."""
    try:
        float(text)
    except ValueError:
        return True
    return False


def parse_quantity(text: str, kind: str, source: str, field: str) -> float:
    """``text`` in the SI unit of ``kind`` (see :data:`SI_UNITS`); a bare number is taken as SI."""
    text = text.strip()
    if not has_unit(text):
        value = float(text)
    else:
        registry = _registry()
        try:
            quantity = registry.Quantity(text.replace("%", " percent"))
            value = float(quantity.to(SI_UNITS[kind]).magnitude)
        except Exception as exc:  # noqa: BLE001 - pint raises many types for a bad unit or dimension
            raise ConfigError(
                source, field, f"cannot read {text!r} as a {kind} in {SI_UNITS[kind]} or a unit of it: {exc}"
            ) from exc
    if not math.isfinite(value):
        raise ConfigError(source, field, f"expected a finite {kind}, got {text!r}")
    return value


def dimension_of(text: str) -> str | None:
    """The kind (flow, head, power, fraction) of a quantity with a unit; None for a bare number."""
    if not has_unit(text):
        return None
    registry = _registry()
    try:
        quantity = registry.Quantity(text.strip().replace("%", " percent"))
    except Exception:  # noqa: BLE001
        return None
    for kind, unit in SI_UNITS.items():
        if quantity.check(registry.Quantity(1, unit).dimensionality):
            return kind
    return None
