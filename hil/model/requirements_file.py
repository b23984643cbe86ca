"""The pump requirements ``hil optimize --json`` wrote, read back for a mission-profile run.

``hil optimize`` sizes the lander's stage and writes, per propellant side, what the pump must
deliver at the design point and in each throttle segment (flow, pressure rise, speed, NPSH available
and the NPSH3 the model predicts, the electrical power), the largest NPSH3 the pump may have, the
peak electrical power the battery and the motor were sized for, and the optimum design itself
(chamber pressure, tank pressures, pump speeds, mixture ratio), with the mission file and pump
model it was sized from. A mission-profile run given that file judges the prototype against those
numbers (:func:`hil.model.flight_case.requirements_case`).

Only the fields used are read, each checked (a number, finite, in range) with an error naming the
file and the field; the rest of the report (sensitivities, Pareto front, Monte Carlo) is left alone,
so a report from a newer ``hil optimize`` with more fields still reads.

Imports :mod:`hil.core` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hil.core.config import Section, load_json, read_config_text
from hil.core.errors import ConfigError

__all__ = ["RequirementPoint", "SizedRequirements", "load_requirements"]

REPORT_SCHEMA = "hil.optimize_report"
"""The schema name ``hil optimize`` writes (:data:`hil.model.sizing.command.REPORT_SCHEMA`)."""
DEFAULT_PUMP_MODEL_PREFIX = "built-in default"
DESIGN_KEYS = (
    "chamber_pressure_pa",
    "fuel_tank_pressure_pa",
    "oxidiser_tank_pressure_pa",
    "fuel_pump_speed_rpm",
    "oxidiser_pump_speed_rpm",
    "mixture_ratio",
)
"""The optimum design's variables, in the sizing model's order (``DESIGN_VARIABLES``)."""


@dataclass(frozen=True)
class RequirementPoint:
    """What the sizing assumed for the pump at one throttle (the design point, then each segment)."""

    throttle: float
    flow_m3_s: float
    pressure_rise_pa: float
    speed_rpm: float
    npsh3_m: float
    npsha_m: float
    electrical_power_w: float


@dataclass(frozen=True)
class SizedRequirements:
    """One side's requirements and the design they come from, as ``hil optimize`` reported them."""

    source: str
    text: str
    side: str
    mission_file: str
    pump_model_file: str
    """The calibrated pump model sized with; empty for the built-in default."""
    design: tuple[float, ...]
    """The optimum, in :data:`DESIGN_KEYS` order."""
    burn_time_s: float
    impeller_diameter_m: float
    max_npsh3_m: float
    peak_electrical_power_w: float
    """The highest electrical power this side's pump draws in the sizing (design point included)."""
    points: tuple[RequirementPoint, ...]
    """The design point (full thrust) first, then one per throttle segment of the mission."""

    @property
    def segments(self) -> tuple[RequirementPoint, ...]:
        return self.points[1:]


def _resolve(name: str, beside: Path) -> str:
    """A file named in the report: as written (relative to where ``hil optimize`` ran), else beside it."""
    path = Path(name)
    if path.is_absolute() or path.exists():
        return str(path)
    return str(beside / path)


def load_requirements(path: Path | str, side: str) -> SizedRequirements:
    """Read one side (``fuel`` or ``oxidiser``) of an ``hil optimize --json`` report."""
    path = Path(path)
    source = str(path)
    text = read_config_text(path)
    top = Section(load_json(path), source)
    schema = top.get("schema", str, "")
    if schema != REPORT_SCHEMA:
        raise top.error(
            "schema", f"expected {REPORT_SCHEMA!r} (a report of hil optimize --json), got {schema!r}"
        )
    if not top.get("feasible", bool, False):
        reason = top.get("infeasible_reason", str, "no reason given")
        raise top.error("feasible", f"the sizing found no feasible electric-pump-fed design ({reason})")
    mission = top.section("mission")
    mission_file = mission.string("file", nonempty=True)
    model_source = top.section("pump_model").string("source", nonempty=True)
    electric = top.section("electric_pump_fed")
    design_section = electric.section("design")
    design = tuple(design_section.positive(key) for key in DESIGN_KEYS)
    burn_time = electric.positive("burn_time_s")
    sides = top.section("pump_requirements")
    if side not in ("fuel", "oxidiser"):
        raise ConfigError(source, "pump_requirements", f"expected side fuel or oxidiser, got {side!r}")
    pump = sides.section(side)
    points = tuple(
        RequirementPoint(
            throttle=p.number("throttle", minimum=0.0, maximum=1.0, exclusive_minimum=True),
            flow_m3_s=p.positive("flow_m3_s"),
            pressure_rise_pa=p.positive("pressure_rise_pa"),
            speed_rpm=p.positive("speed_rpm"),
            npsh3_m=p.positive("npsh3_m"),
            npsha_m=p.number("npsha_m"),
            electrical_power_w=p.positive("electrical_power_w"),
        )
        for p in pump.table_list("points", min_length=2)
    )
    beside = path.resolve().parent
    return SizedRequirements(
        source=source,
        text=text,
        side=side,
        mission_file=_resolve(mission_file, beside),
        pump_model_file=""
        if model_source.startswith(DEFAULT_PUMP_MODEL_PREFIX)
        else _resolve(model_source, beside),
        design=design,
        burn_time_s=burn_time,
        impeller_diameter_m=pump.positive("impeller_diameter_m"),
        max_npsh3_m=pump.positive("max_npsh3_m"),
        peak_electrical_power_w=pump.positive("electrical_power_w"),
        points=points,
    )
