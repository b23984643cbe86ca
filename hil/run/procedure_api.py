"""What a procedure declares and what it may call: the procedure interface of the harness.

A procedure is a module with a ``PROCEDURE`` (:class:`ProcedureSpec`): its name, its parameters
(with units, defaults and ranges, and a frozen dataclass that types them), a ``check`` against the
bench before anything moves, its body, and the derived products its runs have (names of
:mod:`hil.results.derive`'s products). The body receives a :class:`ProcedureRunner`, the whole of
what a procedure may do on a bench: set, ramp, hold, wait for steady state, average, record a point,
log an event, record metadata. It never sees the run's writer, the bench's instruments or the bench
file (the geometry and limits it needs are on the runner); procedures record, they never write files.

The command line lists procedures from these declarations (``hil procedures``), parses ``-p
name=value`` against them (:meth:`ProcedureSpec.resolve`); a replay passes the recorded values as
values (:meth:`ProcedureSpec.values`), checked against the same kinds and ranges.

Imports hil's bench file and errors only.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Literal, Protocol, TypeVar, cast

from hil.analysis.measurements import Measurement
from hil.bench.config import BenchConfig, BenchGeometry, BenchLimits
from hil.core.errors import ConfigError
from hil.run.procedure_catalogue import BUILTIN, load

ParameterValue = float | int | list[float] | str
"""A procedure parameter's value: a number, a list of numbers, or a text (a file or run directory)."""
ParameterKind = type[float] | type[int] | Literal["floats", "text"]
Point = dict[str, Any]
"""One operating point: the channels' means, deviations and counts, derived values and labels."""

DEFAULT_PRODUCTS = ("points_converted", "acceptance")
"""Derived products of a run whose procedure declares none (or is not known any more)."""


@dataclass(frozen=True)
class SteadyResult:
    """The outcome of :meth:`ProcedureRunner.wait_steady`."""

    steady: bool
    waited_s: float
    detail: dict[str, dict[str, float]]


class ProcedureRunner(Protocol):
    """What a procedure may call on the runner (:class:`hil.run.runner.Runner` implements it).

    Every call that lets bench time pass runs the runner's ticks: sampling, interlocks and logging go
    on underneath, and a trip raises :class:`~hil.core.errors.InterlockTrip` out of the call.
    Setpoints beyond a bench limit raise :class:`~hil.core.errors.LimitError` before anything is sent.
    """

    @property
    def tick_s(self) -> float:
        """Seconds between two ticks."""
        ...

    @property
    def limits(self) -> BenchLimits:
        """The bench's limits (read only: the runner enforces them)."""
        ...

    @property
    def geometry(self) -> BenchGeometry:
        """Tap bores and heights, impeller diameter, rated speed."""
        ...

    @property
    def points(self) -> Sequence[Point]:
        """The points recorded so far, in order."""
        ...

    @property
    def metadata(self) -> Mapping[str, Any]:
        """The run's metadata as recorded so far (read only; see :meth:`record_metadata`)."""
        ...

    def now_s(self) -> float:
        """Bench time since the start of the run."""
        ...

    def progress(self, message: str, step: int | None = None, steps: int | None = None) -> None:
        """Tell the operator where the procedure is (not recorded); ``step`` of ``steps`` when the
        procedure knows how far it has come (live viewers draw a progress bar and time left)."""
        ...

    def event(self, kind: str, **fields: Any) -> None:
        """Append an event to the run's log."""
        ...

    def record_metadata(self, **fields: Any) -> None:
        """Add fields to the run's metadata (what later analysis needs to know about the run)."""
        ...

    def set_speed_rpm(self, speed_rpm: float) -> None: ...

    def set_valve_opening(self, opening_fraction: float) -> None: ...

    def set_tank_pressure_pa(self, pressure_pa: float) -> None: ...

    def ramp_speed_rpm(self, target_rpm: float, rate_rpm_s: float) -> None: ...

    def hold(self, duration_s: float) -> None:
        """Let ``duration_s`` of bench time pass, tick by tick."""
        ...

    def wait_steady(
        self, window_s: float, timeout_s: float, limits: Mapping[str, tuple[float, float]] | None = None
    ) -> SteadyResult:
        """Tick until every judged quantity is steady over the last ``window_s``, or time out."""
        ...

    def average(self, dwell_s: float) -> tuple[float, float]:
        """Tick for ``dwell_s``; the (start, end) window of the samples to average."""
        ...

    def window_means(self, start_s: float, end_s: float) -> dict[str, float]:
        """Mean of every channel over a window, for the procedure's own decisions, never results."""
        ...

    def record_point(self, start_s: float, end_s: float, **labels: Any) -> Point:
        """Record the operating point of a window, with labels; returns it."""
        ...

    def measure(self, measurement: Measurement, value: float) -> bool:
        """Record a declared measurement's value, judged at once against its limits (shown live,
        logged, and in the run's ``measurements.csv``); returns whether it passed."""
        ...


@dataclass(frozen=True)
class Parameter:
    """One procedure parameter; ``kind`` is float, int, "floats" (a list of numbers) or "text" (a file or
    run directory a procedure reads, such as a mission file; no range applies)."""

    name: str
    kind: ParameterKind
    default: ParameterValue
    help: str
    minimum: float | None = None
    maximum: float | None = None

    def parse(self, text: str) -> ParameterValue:
        """The value of ``-p NAME=TEXT`` from the command line."""
        source = "command line"
        value: ParameterValue
        try:
            if self.kind == "text":
                value = text
            elif self.kind == "floats":
                value = [float(part) for part in text.split(",") if part.strip()]
                if not value:
                    raise ValueError("empty list")
            elif self.kind is int:
                value = int(text)
            else:
                value = float(text)
        except ValueError as exc:
            raise ConfigError(
                source, f"-p {self.name}", f"expected {self._expected()}, got {text!r}"
            ) from exc
        self.check(value, source)
        return value

    def _expected(self) -> str:
        if self.kind == "text":
            return "a text"
        if self.kind == "floats":
            return "a comma-separated list of numbers"
        return "int" if self.kind is int else "float"

    def accept(self, value: object, source: str) -> ParameterValue:
        """A value recorded as a value (a run's metadata): of this parameter's kind and in range."""
        accepted: ParameterValue
        if self.kind == "text":
            if not isinstance(value, str):
                raise ConfigError(source, f"parameters.{self.name}", f"expected a text, got {value!r}")
            return value
        if self.kind == "floats":
            if not isinstance(value, list) or not value or not all(_is_number(v) for v in value):
                raise ConfigError(
                    source, f"parameters.{self.name}", f"expected {self._expected()}, got {value!r}"
                )
            accepted = [float(v) for v in value]
        elif self.kind is int:
            if not isinstance(value, int) or isinstance(value, bool):
                raise ConfigError(source, f"parameters.{self.name}", f"expected an integer, got {value!r}")
            accepted = value
        else:
            if not _is_number(value):
                raise ConfigError(source, f"parameters.{self.name}", f"expected a number, got {value!r}")
            accepted = float(value)  # type: ignore[arg-type]
        self.check(accepted, source)
        return accepted

    def check(self, value: ParameterValue, source: str) -> None:
        if isinstance(value, str):
            return  # a text: what it names is checked by the procedure's own check, before anything moves
        for item in value if isinstance(value, list) else [value]:
            if not math.isfinite(item):
                raise ConfigError(source, f"-p {self.name}", f"must be a finite number, got {item}")
            if self.minimum is not None and item < self.minimum:
                raise ConfigError(source, f"-p {self.name}", f"must be >= {self.minimum}, got {item}")
            if self.maximum is not None and item > self.maximum:
                raise ConfigError(source, f"-p {self.name}", f"must be <= {self.maximum}, got {item}")


def check_speed_fractions(bench: BenchConfig, parameter: str, fractions: Sequence[float]) -> None:
    """Refuse, before anything moves, a fraction of the rated speed beyond the bench's ``max_speed_rpm``
    (the check every procedure that takes speeds as fractions makes in its ``check``)."""
    rated = bench.geometry.rated_speed_rpm
    for fraction in fractions:
        speed = fraction * rated
        if speed > bench.limits.max_speed_rpm:
            raise ConfigError(
                "command line",
                f"-p {parameter}",
                f"{fraction:g} x rated {rated:g} rpm = {speed:g} rpm exceeds the bench limit "
                f"max_speed_rpm = {bench.limits.max_speed_rpm:g} ({bench.source})",
            )


def _is_number(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


P = TypeVar("P")


@dataclass(frozen=True)
class ProcedureSpec(Generic[P]):
    """A procedure's declaration. ``parameters_type`` is a frozen dataclass with one field per
    parameter, which the body and ``check`` receive."""

    name: str
    summary: str
    parameters: tuple[Parameter, ...]
    parameters_type: type[P]
    check: Callable[[P, BenchConfig], None]
    run: Callable[[ProcedureRunner, P], None]
    products: tuple[str, ...] = DEFAULT_PRODUCTS
    """Derived products of its runs (:mod:`hil.results.derive`); the procedure writes none itself."""
    measurements: tuple[Measurement, ...] = ()
    """What it measures with :meth:`ProcedureRunner.measure`, with units and limits (listed by
    ``hil procedures``)."""

    def __post_init__(self) -> None:
        fields = {f.name for f in dataclasses.fields(self.parameters_type)}  # type: ignore[arg-type]
        declared = {p.name for p in self.parameters}
        if fields != declared:
            raise TypeError(
                f"procedure {self.name}: parameters {sorted(declared)} and the fields of "
                f"{self.parameters_type.__name__} {sorted(fields)} differ"
            )

    def resolve(self, overrides: Mapping[str, str]) -> dict[str, ParameterValue]:
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
            name: (p.parse(overrides[name]) if name in overrides else _copy(p.default))
            for name, p in known.items()
        }

    def values(self, recorded: Mapping[str, object], source: str) -> dict[str, ParameterValue]:
        """Recorded values (a run's metadata) checked as values; missing ones take their default."""
        known = {p.name: p for p in self.parameters}
        unknown = [name for name in recorded if name not in known]
        if unknown:
            raise ConfigError(source, f"parameters.{unknown[0]}", f"not a parameter of {self.name}")
        return {
            name: (p.accept(recorded[name], source) if name in recorded else _copy(p.default))
            for name, p in known.items()
        }

    def typed(self, values: Mapping[str, ParameterValue]) -> P:
        return self.parameters_type(**values)

    def check_values(self, values: Mapping[str, ParameterValue], bench: BenchConfig) -> None:
        """Refuse, before anything is opened or moved, what the bench cannot do."""
        self.check(self.typed(values), bench)

    def execute(self, runner: ProcedureRunner, values: Mapping[str, ParameterValue]) -> None:
        self.run(runner, self.typed(values))


def _copy(value: ParameterValue) -> ParameterValue:
    return list(value) if isinstance(value, list) else value


PROCEDURES = BUILTIN
"""The built-in procedures by name (installed ones and files: :mod:`hil.run.procedure_catalogue`)."""


def load_procedure(name: str) -> ProcedureSpec[Any]:
    """Find a procedure by its command-line name (built-in or installed) or the path of its file."""
    spec, _ = load(name)
    return cast(ProcedureSpec[Any], spec)


def declared_products(name: str) -> tuple[str, ...]:
    """The derived products a procedure's runs have; the default ones for a procedure not known here
    (a file procedure, or one no longer installed)."""
    try:
        return load_procedure(name).products
    except ConfigError:
        return DEFAULT_PRODUCTS
