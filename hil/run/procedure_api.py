"""What a procedure declares: its name, its parameters (with units, defaults and ranges) and its body.

The command line lists procedures from these declarations (``hil procedures``), parses ``-p
name=value`` against them, and calls the procedure's ``check`` against the bench limits before
anything is connected or moved, so a parameter beyond a bench limit is refused up front.

Imports hil only.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError


@dataclass(frozen=True)
class Parameter:
    """One procedure parameter; ``kind`` is float, int or "floats" (a comma-separated list)."""

    name: str
    kind: Any
    default: Any
    help: str
    minimum: float | None = None
    maximum: float | None = None

    def parse(self, text: str) -> Any:
        source = "command line"
        try:
            if self.kind == "floats":
                value: Any = [float(part) for part in text.split(",") if part.strip()]
                if not value:
                    raise ValueError("empty list")
            else:
                value = self.kind(text)
        except ValueError as exc:
            expected = (
                "a comma-separated list of numbers" if self.kind == "floats" else f"{self.kind.__name__}"
            )
            raise ConfigError(source, f"-p {self.name}", f"expected {expected}, got {text!r}") from exc
        self.check(value, source)
        return value

    def check(self, value: Any, source: str) -> None:
        for item in value if isinstance(value, list) else [value]:
            if self.minimum is not None and item < self.minimum:
                raise ConfigError(source, f"-p {self.name}", f"must be >= {self.minimum}, got {item}")
            if self.maximum is not None and item > self.maximum:
                raise ConfigError(source, f"-p {self.name}", f"must be <= {self.maximum}, got {item}")


@dataclass(frozen=True)
class ProcedureSpec:
    name: str
    summary: str
    parameters: tuple[Parameter, ...]
    check: Callable[[dict[str, Any], BenchConfig], None]
    run: Callable[[Any, dict[str, Any]], None]

    def resolve(self, overrides: dict[str, str]) -> dict[str, Any]:
        """Defaults overlaid with parsed ``name=value`` overrides; unknown names are errors."""
        known = {p.name: p for p in self.parameters}
        for name in overrides:
            if name not in known:
                raise ConfigError(
                    "command line",
                    f"-p {name}",
                    f"unknown parameter of {self.name} (known: {', '.join(known)})",
                )
        return {
            name: (p.parse(overrides[name]) if name in overrides else p.default) for name, p in known.items()
        }


PROCEDURES = {"performance-curve": "procedures.performance_curve", "npsh3": "procedures.npsh3"}


def load_procedure(name: str) -> ProcedureSpec:
    """Find a procedure by its command-line name."""
    if name not in PROCEDURES:
        raise ConfigError(
            "command line", "PROCEDURE", f"unknown procedure {name!r} (known: {', '.join(PROCEDURES)})"
        )
    return importlib.import_module(PROCEDURES[name]).PROCEDURE
