"""The pump definition file: which pump is on the bench and what its maker guarantees.

A pump definition is TOML::

    [pump]
    name = "EP-30 prototype"          # required
    serial = "EP30-0007"              # required
    build = "impeller rev C"          # optional: anything that tells builds apart
    impeller_diameter_m = 0.040       # required
    specified_speed_rpm = 30000.0     # required: the speed the guarantee is stated at
    input_power_w = 2200.0            # optional: rated input power, for the small-pump tolerances

    [guarantee]                       # optional as a whole
    flow_m3_s = 0.00045               # required in [guarantee]
    head_m = 200.0                    # required in [guarantee]
    efficiency = 0.43                 # optional: overall (wire-to-water) efficiency, see below
    power_w = 2100.0                  # optional: electrical input power, see below
    grade = "2B"                      # optional here; then the command line must give --grade

What the optional guarantees mean on this harness: the benches it drives measure electrical input
power, not shaft torque, so ``efficiency`` is judged against the overall efficiency
``rho g Q H / P_el`` and ``power_w`` against the electrical input power ``P_el``, both converted to
the specified speed. A maker who guarantees the pump's own (shaft) efficiency must state the
equivalent overall figure until a torque meter is on the bench. Outputs label both quantities so.

``input_power_w`` decides whether the grade table's small-pump tolerances apply (pumps at or below
its ``small_pump.max_input_power_w``). Without it, the harness uses the largest measured electrical
input power (converted to the specified speed) as the bound: the electrical input is never below
the shaft input, so a pump whose electrical input is small is small for certain.

Every field is checked by the one config reader (:class:`hil.core.config.Section`): a missing or
mistyped field, a value out of range or an unknown key raises :class:`~hil.core.errors.ConfigError`
naming the file and the field.

Imports hil's config and errors, and the bench rules' speed bound, only (the grade is checked
against the grade table by the caller, who knows which table is in use).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.bench.rules import MAX_MEANINGFUL_SPEED_RPM
from hil.core.config import Section, load_toml


@dataclass(frozen=True)
class Guarantee:
    """The guarantee point at the specified speed, and the grade it is to be judged by (if given)."""

    flow_m3_s: float
    head_m: float
    efficiency: float | None = None
    power_w: float | None = None
    grade: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "flow_m3_s": self.flow_m3_s,
            "head_m": self.head_m,
            "efficiency": self.efficiency,
            "power_w": self.power_w,
            "grade": self.grade,
        }


@dataclass(frozen=True)
class PumpDefinition:
    """One pump's identity and, optionally, its guarantee."""

    name: str
    serial: str
    impeller_diameter_m: float
    specified_speed_rpm: float
    source: str
    build: str = ""
    input_power_w: float | None = None
    guarantee: Guarantee | None = None

    def identity(self) -> dict[str, Any]:
        """What a report prints about the pump (the guarantee is reported on its own)."""
        return {
            "name": self.name,
            "serial": self.serial,
            "build": self.build,
            "impeller_diameter_m": self.impeller_diameter_m,
            "specified_speed_rpm": self.specified_speed_rpm,
            "input_power_w": self.input_power_w,
            "source": self.source,
        }


def load_pump_definition(path: str | Path) -> PumpDefinition:
    """Read and check a pump definition file."""
    return parse_pump_definition(load_toml(Path(path)), str(path))


def parse_pump_definition(data: dict[str, Any], source: str) -> PumpDefinition:
    """Check a parsed pump definition document; ``source`` names it in error messages."""
    top = Section(data, source)
    pump = top.section("pump")
    name = pump.string("name", nonempty=True)
    serial = pump.string("serial", nonempty=True)
    build = pump.string("build", "")
    impeller = pump.number("impeller_diameter_m", minimum=1e-3, maximum=5.0)
    speed = pump.number("specified_speed_rpm", minimum=1.0, maximum=MAX_MEANINGFUL_SPEED_RPM)
    input_power = pump.positive("input_power_w", None)
    pump.finish()
    guarantee = None
    guarantee_section = top.optional_section("guarantee")
    if guarantee_section is not None:
        guarantee = parse_guarantee_section(guarantee_section)
    top.finish()
    return PumpDefinition(
        name=name,
        serial=serial,
        impeller_diameter_m=impeller,
        specified_speed_rpm=speed,
        source=source,
        build=build,
        input_power_w=input_power,
        guarantee=guarantee,
    )


def parse_guarantee_section(section: Section) -> Guarantee:
    """The ``[guarantee]`` table: flow and head required, efficiency, power and grade optional."""
    flow = section.positive("flow_m3_s")
    head = section.positive("head_m")
    efficiency = section.optional_number("efficiency", minimum=0.0, maximum=1.0, exclusive_minimum=True)
    power = section.positive("power_w", None)
    grade = section.optional_string("grade", nonempty=True)
    section.finish()
    return Guarantee(flow, head, efficiency, power, grade)
