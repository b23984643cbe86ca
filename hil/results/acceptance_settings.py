"""The judging settings of a run: the specified speed, the guarantee point, the grade and the grade
table, from a pump file and the command line (the command line wins), kept in the run's metadata
under ``SETTINGS_KEY`` so a replay judges with exactly what the run was judged with.

Every inconsistency is refused here, before a run starts (:func:`resolve_settings`,
:func:`check_settings`), with an error naming the file or option.

Imports hil's analysis (grade table, guarantee point), config, errors, units and the pump definition
only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hil.analysis.acceptance import GuaranteePoint
from hil.analysis.grades import Grade, load_grade_table
from hil.core.errors import ConfigError
from hil.core.units import dimension_of, parse_quantity
from hil.results.pump_definition import Guarantee, PumpDefinition, load_pump_definition

SETTINGS_KEY = "acceptance_settings"


@dataclass(frozen=True)
class AcceptanceSettings:
    """Everything the derived results depend on besides the log: kept in the run's metadata.

    ``grade_table`` is the path of a grade override file as the user gave it (None: the shipped
    table); ``pump`` the pump's identity (None when no pump file was given).
    """

    specified_speed_rpm: float
    guarantee: Guarantee | None = None
    grade: str | None = None
    grade_table: str | None = None
    pump_input_power_w: float | None = None
    pump: dict[str, Any] | None = None
    sources: dict[str, str] = field(default_factory=dict)  # where the guarantee and grade came from

    def as_dict(self) -> dict[str, Any]:
        return {
            "specified_speed_rpm": self.specified_speed_rpm,
            "guarantee": None if self.guarantee is None else self.guarantee.as_dict(),
            "grade": self.grade,
            "grade_table": self.grade_table,
            "pump_input_power_w": self.pump_input_power_w,
            "pump": self.pump,
            "sources": dict(self.sources),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AcceptanceSettings:
        g = data.get("guarantee")
        guarantee = (
            None
            if g is None
            else Guarantee(g["flow_m3_s"], g["head_m"], g.get("efficiency"), g.get("power_w"), g.get("grade"))
        )
        return cls(
            specified_speed_rpm=float(data["specified_speed_rpm"]),
            guarantee=guarantee,
            grade=data.get("grade"),
            grade_table=data.get("grade_table"),
            pump_input_power_w=data.get("pump_input_power_w"),
            pump=data.get("pump"),
            sources=dict(data.get("sources") or {}),
        )


def parse_guarantee_text(text: str) -> Guarantee:
    """``Q,H[,ETA][,P]`` from the command line, each a number with or without a unit.

    ``"0.45 L/s, 200 m, 45 %"`` or ``"0.00045,200,0.45"`` (bare numbers are SI: m3/s, m, a fraction).
    A third and fourth value are told apart by their unit: a fraction or percentage is the
    efficiency, a power (``2.1 kW``) the electrical input power; a bare third number is the efficiency.
    """
    source, field = "command line", "--guarantee"
    parts = [p.strip() for p in text.split(",")]
    if len(parts) not in (2, 3, 4) or not all(parts):
        raise ConfigError(
            source, field, f"expected Q,H[,ETA][,P] (e.g. '0.45 L/s, 200 m, 45 %'), got {text!r}"
        )
    flow = parse_quantity(parts[0], "flow", source, f"{field} flow")
    head = parse_quantity(parts[1], "head", source, f"{field} head")
    efficiency: float | None = None
    power: float | None = None
    for part in parts[2:]:
        kind = dimension_of(part) or "fraction"
        if kind == "power" and power is None:
            power = parse_quantity(part, "power", source, f"{field} power")
        elif kind == "fraction" and efficiency is None:
            efficiency = parse_quantity(part, "fraction", source, f"{field} efficiency")
        else:
            raise ConfigError(
                source, field, f"{part!r}: expected one efficiency (fraction or %) and one power"
            )
    values = [v for v in (flow, head, efficiency, power) if v is not None]
    if not all(v > 0 for v in values):
        raise ConfigError(source, field, f"expected positive values, got {text!r}")
    if efficiency is not None and efficiency > 1:
        raise ConfigError(
            source, field, f"efficiency is a fraction (0.43, or '43 %'), got {parts[2]!r} = {efficiency:g}"
        )
    return Guarantee(flow, head, efficiency, power)


def resolve_settings(
    default_speed_rpm: float,
    pump_file: str | None = None,
    guarantee_text: str | None = None,
    grade: str | None = None,
    grade_table: str | None = None,
    base: AcceptanceSettings | None = None,
) -> AcceptanceSettings:
    """Combine a pump file, command-line guarantee and grade (the command line wins) into settings.

    ``base`` (a replay's recorded settings) supplies whatever is not given; ``default_speed_rpm``
    (the bench's rated speed) is the specified speed when no pump file says otherwise. Every
    inconsistency is refused here, before a run starts: a guarantee without a grade, a grade without
    a guarantee, a grade the table lacks, an efficiency or power guarantee the grade has no
    tolerance for.
    """
    pump: PumpDefinition | None = load_pump_definition(pump_file) if pump_file else None
    sources = dict(base.sources) if base is not None else {}
    speed = default_speed_rpm if base is None else base.specified_speed_rpm
    guarantee = None if base is None else base.guarantee
    chosen_grade = None if base is None else base.grade
    table_path = grade_table if grade_table is not None else (None if base is None else base.grade_table)
    input_power = None if base is None else base.pump_input_power_w
    identity = None if base is None else base.pump
    if pump is not None:
        speed, input_power, identity = pump.specified_speed_rpm, pump.input_power_w, pump.identity()
        if pump.guarantee is not None:
            guarantee = pump.guarantee
            sources["guarantee"] = f"{pump.source}: [guarantee]"
            if pump.guarantee.grade is not None:
                chosen_grade = pump.guarantee.grade
                sources["grade"] = f"{pump.source}: guarantee.grade"
    if guarantee_text is not None:
        guarantee = parse_guarantee_text(guarantee_text)
        sources["guarantee"] = "command line: --guarantee"
    if grade is not None:
        chosen_grade = grade
        sources["grade"] = "command line: --grade"
    if guarantee is not None and chosen_grade is None:
        raise ConfigError(
            "command line",
            "--grade",
            "a guarantee point needs a grade: give --grade or [guarantee] grade in the pump file",
        )
    if guarantee is None and grade is not None:
        raise ConfigError(
            "command line",
            "--grade",
            "a grade needs a guarantee point: give --guarantee or a pump file with [guarantee]",
        )
    settings = AcceptanceSettings(speed, guarantee, chosen_grade, table_path, input_power, identity, sources)
    if guarantee is not None:
        check_settings(settings)
    return settings


def check_settings(settings: AcceptanceSettings) -> Grade:
    """Load the grade table and check the grade and guarantee against it; returns the grade."""
    assert settings.guarantee is not None and settings.grade is not None
    table = load_grade_table(settings.grade_table)
    where = settings.sources.get("grade", "command line: --grade")
    if settings.grade not in table.grades:
        source, _, fld = where.rpartition(": ")
        raise ConfigError(
            source or "command line",
            fld or "--grade",
            f"unknown grade {settings.grade!r}; the grade table has {', '.join(sorted(table.grades))}",
        )
    grade = table.grades[settings.grade]
    g = settings.guarantee
    GuaranteePoint(g.flow_m3_s, g.head_m, g.efficiency, g.power_w)
    if g.efficiency is not None and grade.efficiency is None:
        raise ConfigError(
            table.source,
            f"grades.{grade.name}.efficiency",
            f"an efficiency guarantee was given but grade {grade.name} has no efficiency tolerance",
        )
    if g.power_w is not None and grade.power_plus is None:
        raise ConfigError(
            table.source,
            f"grades.{grade.name}.power_plus",
            f"a power guarantee was given but grade {grade.name} has no power tolerance",
        )
    return grade
