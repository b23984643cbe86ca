"""The acceptance grade table: tolerance factors and test conditions per grade, loaded from TOML.

The numbers belong to a standard that is not public, so they live in ``hil/data/grades.toml`` with a
``verified`` flag on every value, never in code. A user override file with the same layout can
replace single entries (``[grades.1B] flow_minus = {value = 0.05, verified = true}``) or add whole
grades and classes; unknown keys, missing entries and out-of-range values raise
:class:`~hil.core.errors.ConfigError` naming the file and the field.

Layout (see the shipped file for the full list of fields):

- ``[table]`` title and source strings;
- ``[speed_range]`` allowed test/specified speed ratios for performance and for NPSH;
- ``[small_pump]`` the rule that pumps at or below an input power get wider flow/head tolerances;
- ``[classes.N]`` per grade class: fluctuation and trend limits, points near the guarantee,
  instrument uncertainty limits, NPSH3 tolerance;
- ``[grades.XX]`` per grade: its class and the flow, head, power and efficiency tolerance factors.

Every entry is read by the one config reader (:class:`hil.core.config.Section`).

Imports :mod:`hil.core` (config, errors) and :mod:`hil.analysis.steady` (for :class:`SteadyLimits`) only.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path
from typing import Any

from hil.analysis.steady import SteadyLimits
from hil.core.config import Section, load_toml, parse_toml_text, read_config_text
from hil.core.errors import ConfigError

QUANTITIES_FLUCTUATION = ("flow", "head", "power", "torque", "speed")
QUANTITIES_UNCERTAINTY = ("flow", "head", "speed", "torque", "input_power")


@dataclass(frozen=True)
class GradeValue:
    """One number from the table with its provenance."""

    value: float
    verified: bool
    note: str = ""
    edition: str = ""  # e.g. "ISO 9906:2012"
    source: str = ""  # where the value comes from

    def provenance(self) -> str:
        """Edition and source in one phrase, for reports ("" when the table records neither)."""
        return "; ".join(part for part in (self.edition, self.source, self.note) if part)


@dataclass(frozen=True)
class SpeedRangeLimits:
    """Allowed ratios of test speed to specified speed for the affinity-law conversion."""

    performance_min_ratio: GradeValue
    performance_max_ratio: GradeValue
    npsh_min_ratio: GradeValue
    npsh_max_ratio: GradeValue


@dataclass(frozen=True)
class SmallPumpRule:
    """Wider flow/head tolerances for pumps at or below ``max_input_power_w`` (listed grades only)."""

    max_input_power_w: GradeValue
    flow_minus: GradeValue
    flow_plus: GradeValue
    head_minus: GradeValue
    head_plus: GradeValue
    grades: tuple[str, ...]


@dataclass(frozen=True)
class GradeClass:
    """Test conditions shared by the grades of one class (fluctuation, points, uncertainty, NPSH3)."""

    name: str
    fluctuation: Mapping[str, GradeValue]
    trend: GradeValue
    trend_speed: GradeValue
    min_points_near_guarantee: GradeValue
    guarantee_band_fraction: GradeValue
    uncertainty_limits: Mapping[str, GradeValue]
    npsh3_tolerance_fraction: GradeValue
    npsh3_tolerance_min_m: GradeValue


@dataclass(frozen=True)
class Grade:
    """Tolerance factors of one grade, as resolved for a particular pump.

    ``power_plus`` and ``efficiency`` are None when the table gives no such tolerance for the grade.
    ``small_pump_rule_applied`` tells a report that the flow and head tolerances are the small-pump
    ones rather than the grade's own.
    """

    name: str
    grade_class: GradeClass
    flow_minus: GradeValue
    flow_plus: GradeValue
    head_minus: GradeValue
    head_plus: GradeValue
    power_plus: GradeValue | None
    efficiency: GradeValue | None
    source: str
    small_pump_rule_applied: bool = False

    @property
    def unilateral(self) -> bool:
        """No minus tolerance on flow or head (the "U" grades): a pump short of its guarantee fails."""
        return self.flow_minus.value == 0.0 or self.head_minus.value == 0.0


@dataclass(frozen=True)
class GradeTable:
    """Every grade and class of a loaded table, plus the speed range and the small-pump rule."""

    title: str
    source: str
    speed_range: SpeedRangeLimits
    small_pump: SmallPumpRule
    classes: Mapping[str, GradeClass]
    grades: Mapping[str, Grade]

    def grade(self, name: str, pump_input_power_w: float | None = None) -> Grade:
        """The grade ``name``; with the small-pump tolerances if the pump's input power is small.

        ``pump_input_power_w`` is the pump's (driver) input power at the guarantee point; leave it
        None to get the grade's own tolerances.
        """
        if name not in self.grades:
            raise ConfigError(
                self.source, f"grades.{name}", f"unknown grade; the table has {sorted(self.grades)}"
            )
        grade = self.grades[name]
        rule = self.small_pump
        if (
            pump_input_power_w is not None
            and pump_input_power_w <= rule.max_input_power_w.value
            and name in rule.grades
            and not grade.unilateral
        ):
            # A widening only: never narrower than the grade's own tolerance.
            grade = replace(
                grade,
                flow_minus=_wider(grade.flow_minus, rule.flow_minus),
                flow_plus=_wider(grade.flow_plus, rule.flow_plus),
                head_minus=_wider(grade.head_minus, rule.head_minus),
                head_plus=_wider(grade.head_plus, rule.head_plus),
                small_pump_rule_applied=True,
            )
        return grade


def _wider(own: GradeValue, relaxed: GradeValue) -> GradeValue:
    return relaxed if relaxed.value > own.value else own


def default_steady_limits(grade: Grade | GradeClass) -> dict[str, SteadyLimits]:
    """Steady-state limits per quantity kind (flow, head, power, torque, speed) for a grade.

    The runner maps these kinds onto its channel names.
    """
    grade_class = grade.grade_class if isinstance(grade, Grade) else grade
    limits = {}
    for quantity in QUANTITIES_FLUCTUATION:
        trend = grade_class.trend_speed if quantity == "speed" else grade_class.trend
        limits[quantity] = SteadyLimits(grade_class.fluctuation[quantity].value, trend.value)
    return limits


# ----------------------------------------------------------------------------------------- loading

_GRADE_FIELDS = {
    "class": "str",
    "flow_minus": "tolerance",
    "flow_plus": "tolerance",
    "head_minus": "tolerance",
    "head_plus": "tolerance",
    "power_plus": "tolerance",
    "efficiency": "efficiency",
}
_GRADE_REQUIRED = ("class", "flow_minus", "flow_plus", "head_minus", "head_plus")
_CLASS_FIELDS = {
    **{f"fluctuation_{q}": "fraction" for q in QUANTITIES_FLUCTUATION},
    "trend": "fraction",
    "trend_speed": "fraction",
    "min_points_near_guarantee": "count",
    "guarantee_band_fraction": "fraction",
    **{f"uncertainty_{q}": "fraction" for q in QUANTITIES_UNCERTAINTY},
    "npsh3_tolerance_fraction": "tolerance",
    "npsh3_tolerance_min_m": "nonnegative",
}
_CLASS_REQUIRED = tuple(name for name in _CLASS_FIELDS if not name.startswith("uncertainty_"))
_SPEED_FIELDS = {
    name: "positive"
    for name in ("performance_min_ratio", "performance_max_ratio", "npsh_min_ratio", "npsh_max_ratio")
}
_SMALL_PUMP_FIELDS = {
    "max_input_power_w": "positive",
    "flow_minus": "tolerance",
    "flow_plus": "tolerance",
    "head_minus": "tolerance",
    "head_plus": "tolerance",
    "grades": "str_list",
}
_TABLE_FIELDS = {"title": "str", "source": "str"}
_TOP_LEVEL = ("table", "speed_range", "small_pump", "classes", "grades")


def default_grade_table_path() -> Path:
    """Where the shipped grade table lives (inside the installed package)."""
    return Path(str(resources.files("hil").joinpath("data", "grades.toml")))


def load_grade_table(
    override_path: str | Path | None = None, base_path: str | Path | None = None
) -> GradeTable:
    """Load the shipped grade table (or ``base_path``) and apply ``override_path`` over it.

    Reads the file(s) on every call. A table without an override is built once per content: see
    :func:`_table_of_text`.
    """
    base = Path(base_path) if base_path is not None else default_grade_table_path()
    if override_path is None:
        return _table_of_text(str(base), read_config_text(base))
    base_doc = _read_toml(base)
    _validate_document(base_doc, str(base))
    origin: dict[str, str] = {}
    _record_origin(base_doc, str(base), origin)
    merged = base_doc
    if override_path is not None:
        override = Path(override_path)
        override_doc = _read_toml(override)
        _validate_document(override_doc, str(override))
        _record_origin(override_doc, str(override), origin)
        merged = _merge(base_doc, override_doc)
    source = str(base) if override_path is None else f"{base} + {override_path}"
    return _build(merged, source, origin)


@functools.lru_cache(maxsize=4)
def _table_of_text(source: str, text: str) -> GradeTable:
    """The table a file named ``source`` holding ``text`` makes, built once per (name, text).

    Keyed on the file's whole text (read anew on every call, so an edited file is a new key: never a
    stale table) and on its name (which the table and its errors carry); a file that does not read
    raises each time, since exceptions are not kept. The table is a frozen dataclass that no caller
    changes, so sharing it changes no result. Why: parsing, checking and building the shipped table
    costs 3 ms of CPU (0.05 ms kept), and ``hil replay`` and the end of ``hil run`` build it twice;
    ``replay_run`` of the test suite's three-point run took 27 ms of CPU and takes 18.5 ms (medians of
    30, alternated). The test suite replays every run it makes (211) at its end.
    """
    doc = parse_toml_text(text, source)
    _validate_document(doc, source)
    origin: dict[str, str] = {}
    _record_origin(doc, source, origin)
    return _build(doc, source, origin)


def _read_toml(path: Path) -> dict[str, Any]:
    return load_toml(path)


def _validate_document(doc: dict[str, Any], source: str) -> None:
    """Check key names and every entry's shape and range; completeness is checked after merging."""
    top = Section(doc, source)
    for section, fields in (
        ("table", _TABLE_FIELDS),
        ("speed_range", _SPEED_FIELDS),
        ("small_pump", _SMALL_PUMP_FIELDS),
    ):
        body = top.optional_section(section)
        if body is not None:
            _validate_section(body, fields)
    for section, fields in (("classes", _CLASS_FIELDS), ("grades", _GRADE_FIELDS)):
        for entry in top.sections(section).values():
            _validate_section(entry, fields)
    top.finish()


def _validate_section(body: Section, fields: Mapping[str, str]) -> None:
    for key in body.data:
        if key not in fields:
            raise body.error(key, f"unknown key (known here: {', '.join(sorted(fields))})")
        kind = fields[key]
        if kind == "str":
            body.string(key, nonempty=True)
        elif kind == "str_list":
            body.string_list(key)
        else:
            _entry_value(body.section(key), kind)
    body.finish()


# The range of each kind of entry: (minimum, maximum, exclusive minimum, exclusive maximum).
_RANGES: dict[str, tuple[float | None, float | None, bool, bool]] = {
    "tolerance": (0.0, 1.0, False, True),
    "efficiency": (-1.0, 0.0, True, False),
    "fraction": (0.0, 1.0, True, True),
    "positive": (0.0, None, True, False),
    "nonnegative": (0.0, None, False, False),
}


def _entry_value(entry: Section, kind: str) -> GradeValue:
    """One ``{ value = ..., verified = true|false, edition = "...", source = "...", note = "..." }``
    entry of the table."""
    if not entry.has("verified"):
        raise entry.error("verified", "missing (required): every value must say whether it is verified")
    verified = entry.boolean("verified")
    note = entry.string("note", "")
    edition = entry.string("edition", "")
    source = entry.string("source", "")
    if kind == "count":
        number = float(entry.integer("value", minimum=1))
    else:
        low, high, exclusive_low, exclusive_high = _RANGES[kind]
        number = entry.number(
            "value",
            minimum=low,
            maximum=high,
            exclusive_minimum=exclusive_low,
            exclusive_maximum=exclusive_high,
        )
    entry.finish()
    return GradeValue(number, verified, note, edition, source)


def _parse_value(raw: Any, kind: str, source: str, field: str) -> GradeValue:
    return _entry_value(Section(raw, source, field), kind)


def _record_origin(doc: Mapping[str, Any], source: str, origin: dict[str, str]) -> None:
    """Remember which file each section (first definition) and each entry (last definition) came from."""
    for section, body in doc.items():
        origin.setdefault(section, source)
        if section in ("classes", "grades"):
            for name, entries in body.items():
                origin.setdefault(f"{section}.{name}", source)
                for key in entries:
                    origin[f"{section}.{name}.{key}"] = source
        else:
            for key in body:
                origin[f"{section}.{key}"] = source


def _merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Entry-wise merge: an override entry replaces the base entry; new grades/classes are added."""
    merged: dict[str, Any] = {key: dict(value) for key, value in base.items()}
    for section in ("table", "speed_range", "small_pump"):
        if section in override:
            merged.setdefault(section, {}).update(override[section])
    for section in ("classes", "grades"):
        for name, body in override.get(section, {}).items():
            target = merged.setdefault(section, {})
            if name in target:
                target[name] = {**target[name], **body}
            else:
                target[name] = dict(body)
    return merged


def _require(body: Mapping[str, Any], required: tuple[str, ...], source: str, path: str) -> None:
    for key in required:
        if key not in body:
            raise ConfigError(source, f"{path}.{key}", "missing required entry")


def _build(doc: Mapping[str, Any], source: str, origin: Mapping[str, str]) -> GradeTable:
    for section in ("speed_range", "small_pump", "classes", "grades"):
        if section not in doc:
            raise ConfigError(source, section, "missing section")

    speed_doc = doc["speed_range"]
    _require(speed_doc, tuple(_SPEED_FIELDS), source, "speed_range")
    speed = SpeedRangeLimits(
        **{k: _parse_value(speed_doc[k], "positive", source, f"speed_range.{k}") for k in _SPEED_FIELDS}
    )
    for kind in ("performance", "npsh"):
        low = getattr(speed, f"{kind}_min_ratio").value
        high = getattr(speed, f"{kind}_max_ratio").value
        if not low <= 1.0 <= high:
            field = f"speed_range.{kind}_min_ratio" if low > 1.0 else f"speed_range.{kind}_max_ratio"
            raise ConfigError(
                origin.get(field, source),
                field,
                f"expected min <= 1 <= max (the specified speed itself must be allowed), got {low}..{high}",
            )

    classes: dict[str, GradeClass] = {}
    for name, body in doc["classes"].items():
        where = origin.get(f"classes.{name}", source)
        path = f"classes.{name}"
        _require(body, _CLASS_REQUIRED, where, path)
        values = {k: _parse_value(v, _CLASS_FIELDS[k], where, f"{path}.{k}") for k, v in body.items()}
        classes[name] = GradeClass(
            name=name,
            fluctuation={q: values[f"fluctuation_{q}"] for q in QUANTITIES_FLUCTUATION},
            trend=values["trend"],
            trend_speed=values["trend_speed"],
            min_points_near_guarantee=values["min_points_near_guarantee"],
            guarantee_band_fraction=values["guarantee_band_fraction"],
            uncertainty_limits={
                q: values[f"uncertainty_{q}"] for q in QUANTITIES_UNCERTAINTY if f"uncertainty_{q}" in values
            },
            npsh3_tolerance_fraction=values["npsh3_tolerance_fraction"],
            npsh3_tolerance_min_m=values["npsh3_tolerance_min_m"],
        )

    grades: dict[str, Grade] = {}
    for name, body in doc["grades"].items():
        where = origin.get(f"grades.{name}", source)
        path = f"grades.{name}"
        _require(body, _GRADE_REQUIRED, where, path)
        class_name = body["class"]
        if class_name not in classes:
            raise ConfigError(
                origin.get(f"{path}.class", where),
                f"{path}.class",
                f"unknown class {class_name!r}; defined: {sorted(classes)}",
            )
        values = {
            k: _parse_value(v, _GRADE_FIELDS[k], where, f"{path}.{k}")
            for k, v in body.items()
            if k != "class"
        }
        grades[name] = Grade(
            name=name,
            grade_class=classes[class_name],
            flow_minus=values["flow_minus"],
            flow_plus=values["flow_plus"],
            head_minus=values["head_minus"],
            head_plus=values["head_plus"],
            power_plus=values.get("power_plus"),
            efficiency=values.get("efficiency"),
            source=where,
        )

    small_doc = doc["small_pump"]
    _require(small_doc, tuple(_SMALL_PUMP_FIELDS), source, "small_pump")
    for grade_name in small_doc["grades"]:
        if grade_name not in grades:
            raise ConfigError(
                origin.get("small_pump.grades", source),
                "small_pump.grades",
                f"names unknown grade {grade_name!r}",
            )
        if grades[grade_name].unilateral:
            raise ConfigError(
                origin.get("small_pump.grades", source),
                "small_pump.grades",
                f"names the unilateral grade {grade_name!r}: the small-pump tolerances would give it a "
                "minus tolerance on flow or head",
            )
    small = SmallPumpRule(
        grades=tuple(small_doc["grades"]),
        **{
            k: _parse_value(small_doc[k], kind, source, f"small_pump.{k}")
            for k, kind in _SMALL_PUMP_FIELDS.items()
            if k != "grades"
        },
    )
    table_doc = doc.get("table", {})
    return GradeTable(
        title=table_doc.get("title", "grade table"),
        source=source,
        speed_range=speed,
        small_pump=small,
        classes=classes,
        grades=grades,
    )
