"""The results a run derives from its operating points: uncertainties, conversion to the specified
speed, and the acceptance verdict at the guarantee point; and the files that hold them.

:func:`converted_rows` gives the rows of ``points_converted.csv`` (every point, raw and converted,
with its uncertainties) and :func:`acceptance_document` the verdict of ``acceptance.json``. The
derive step (:mod:`hil.results.derive`) calls them for a live run after it closes and for ``hil
replay``, on the points and samples read back from the run directory, so a replay reproduces the
files bit for bit. This module writes no file.

Uncertainty of a point (95 %): each averaged channel combines its random part (Student-t on the
mean, from the window's standard deviation and sample count) and its instrument part (the stated
accuracy from the bench file, a fraction of the reading) as a root-sum-square
(:mod:`hil.analysis.uncertainty`); head, hydraulic power and efficiency take them by linear
propagation. A channel without a stated accuracy contributes only its random part (the report
lists every stated accuracy, so an omission is visible). Converting to the specified speed with
``k = n_sp / n`` adds the speed's relative uncertainty once for Q, twice for H and three times for
P (they scale with n, n^2, n^3); efficiency does not change.

Acceptance: the speed-converted points go to :func:`hil.analysis.acceptance.judge_acceptance` under
the grade from the grade table (shipped, or with an override file). The harness measures electrical
input power, not torque, so an efficiency guarantee is judged on the overall (wire-to-water)
efficiency and a power guarantee on the electrical input power. Test conditions checked besides
those ``judge_acceptance`` checks: every point must have been taken at steady state (the point's
``steady`` label); points converted from outside the grade's speed range are passed on as speed
violations. Fluctuation per quantity kind is the largest half peak-to-peak swing over the points'
averaging windows (same definition as :mod:`hil.analysis.steady`).

Curves: H(Q) and P(Q) are least-squares parabolas, eta(Q) a cubic (an efficiency hill is skewed),
each lowered to what the number of distinct flows allows: flows within
``DISTINCT_FLOW_FRACTION`` of the largest flow count as one, so readings repeated at one valve
setting cannot make a cubic look determined (it would oscillate between the clusters).

Imports hil's analysis, bench file, config, errors, pump definition and operating points only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import numpy as np

from hil.analysis import AnalysisError
from hil.analysis.acceptance import AcceptanceResult, ConditionViolation, GuaranteePoint, judge_acceptance
from hil.analysis.grades import Grade, GradeTable, GradeValue, load_grade_table
from hil.analysis.head import total_head_m
from hil.analysis.speed_conversion import convert_to_speed
from hil.analysis.steady import judge_steady
from hil.analysis.uncertainty import (
    combine_rss,
    efficiency_uncertainty,
    head_uncertainty_m,
    hydraulic_power_uncertainty_w,
    shaft_power_uncertainty_w,
    student_t_factor,
)
from hil.bench.config import BenchGeometry
from hil.core.errors import ConfigError
from hil.core.units import dimension_of, parse_quantity
from hil.results.pump_definition import Guarantee, PumpDefinition, load_pump_definition
from hil.run.operating_points import window_samples

if TYPE_CHECKING:
    import pandas as pd  # annotations only: a run reads its samples through the store

SETTINGS_KEY = "acceptance_settings"
CONFIDENCE = 0.95
ACCEPTANCE_FORMAT = 2
"""Version of ``acceptance.json``: 2 adds the overall verdict (release 0.1.0 wrote none)."""
PASS, FAIL, INVALID, NOT_JUDGED = "PASS", "FAIL", "INVALID", "NOT JUDGED"
VERDICTS = (PASS, FAIL, INVALID, NOT_JUDGED)
FAR_OUTSIDE_FACTOR = 10.0
"""A guarantee flow this many times off the measured flows gets a hint about units."""
UNCERTAIN_CHANNELS = ("speed_rpm", "flow_m3_s", "p_inlet_pa", "p_outlet_pa", "electrical_power_w")
DISTINCT_FLOW_FRACTION = 0.005
EFFICIENCY_BASIS = "overall (wire-to-water): rho g Q H / P_el"
POWER_BASIS = "electrical input power P_el"


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


# ------------------------------------------------------------------------------------ settings


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


# --------------------------------------------------------------------------------- uncertainties


def _shaft_columns(
    point: Mapping[str, Any],
    accuracy: Mapping[str, float],
    hydraulic_w: float,
    u_hydraulic_w: float,
    electrical_w: float,
    u_electrical_w: float,
) -> dict[str, float]:
    """With a torque sensor: shaft power, the pump's and the drive's efficiency, with uncertainties."""
    speed_channel = "shaft_speed_rpm" if "shaft_speed_rpm" in point else "speed_rpm"
    u_torque = _channel_uncertainty(point, "shaft_torque_nm", accuracy)
    u_speed = _channel_uncertainty(point, speed_channel, accuracy)
    shaft_w = float(point["shaft_power_w"])
    u_shaft = float(
        shaft_power_uncertainty_w(point["shaft_torque_nm"], u_torque, point[speed_channel], u_speed)
    )
    return {
        "shaft_power_w": shaft_w,
        "u_shaft_power_w": u_shaft,
        "pump_efficiency": float(point["pump_efficiency"]),
        "u_pump_efficiency": float(efficiency_uncertainty(hydraulic_w, u_hydraulic_w, shaft_w, u_shaft)),
        "drive_efficiency": float(point["drive_efficiency"]),
        "u_drive_efficiency": float(efficiency_uncertainty(shaft_w, u_shaft, electrical_w, u_electrical_w)),
    }


def independent_readings(point: Mapping[str, Any], channel: str) -> float:
    """The effective sample size of a channel's window (``_n_eff``); the sample count for points
    recorded before it existed."""
    n_eff = point.get(f"{channel}_n_eff")
    if n_eff is not None and math.isfinite(float(n_eff)):
        return float(n_eff)
    return float(point.get(f"{channel}_n", 0) or 0)


def _channel_uncertainty(point: Mapping[str, Any], channel: str, accuracy: Mapping[str, float]) -> float:
    """Combined (random RSS instrument) uncertainty of one averaged channel of a point."""
    mean = float(point[channel])
    std = float(point.get(f"{channel}_std", math.nan))
    n = independent_readings(point, channel)
    random_u = (
        student_t_factor(max(2, round(n)), CONFIDENCE) * std / math.sqrt(n)
        if n >= 2 and math.isfinite(std)
        else math.inf
    )
    return combine_rss(random_u, float(accuracy.get(channel, 0.0)) * abs(mean))


def converted_point(
    point: Mapping[str, Any],
    index: int,
    specified_speed_rpm: float,
    accuracy: Mapping[str, float],
    geometry: BenchGeometry,
    table: GradeTable,
) -> dict[str, Any]:
    """One row of ``points_converted.csv``: the raw point and its conversion, with uncertainties."""
    u = {channel: _channel_uncertainty(point, channel, accuracy) for channel in UNCERTAIN_CHANNELS}
    flow, head = float(point["flow_m3_s"]), float(point["head_m"])
    density = float(point["density_kg_m3"])
    p_el, p_h = float(point["electrical_power_w"]), float(point["hydraulic_power_w"])
    eta, speed = float(point["overall_efficiency"]), float(point["speed_rpm"])
    u_head = float(
        head_uncertainty_m(
            point["p_inlet_pa"],
            u["p_inlet_pa"],
            point["p_outlet_pa"],
            u["p_outlet_pa"],
            flow,
            u["flow_m3_s"],
            density,
            geometry.inlet_diameter_m,
            geometry.outlet_diameter_m,
        )
    )
    u_hydraulic = float(hydraulic_power_uncertainty_w(flow, u["flow_m3_s"], head, u_head, density))
    u_eta = float(efficiency_uncertainty(p_h, u_hydraulic, p_el, u["electrical_power_w"]))
    row: dict[str, Any] = {"point": index}
    row.update({k: point[k] for k in ("speed_setpoint_rpm", "valve_opening", "steady") if k in point})
    row.update(
        {
            "speed_rpm": speed,
            "u_speed_rpm": u["speed_rpm"],
            "flow_m3_s": flow,
            "u_flow_m3_s": u["flow_m3_s"],
            "head_m": head,
            "u_head_m": u_head,
            "electrical_power_w": p_el,
            "u_electrical_power_w": u["electrical_power_w"],
            "hydraulic_power_w": p_h,
            "u_hydraulic_power_w": u_hydraulic,
            "overall_efficiency": eta,
            "u_overall_efficiency": u_eta,
            "fluid_temperature_c": float(point["fluid_temperature_c"]),
            "specified_speed_rpm": specified_speed_rpm,
        }
    )
    if "shaft_power_w" in point:
        row.update(_shaft_columns(point, accuracy, p_h, u_hydraulic, p_el, u["electrical_power_w"]))
    if not (math.isfinite(speed) and speed > 0):
        row.update({"speed_ratio": math.nan, "speed_in_range": False})
        for name in ("flow_m3_s", "head_m", "electrical_power_w", "hydraulic_power_w", "overall_efficiency"):
            row[f"converted_{name}"] = math.nan
            row[f"u_converted_{name}"] = math.nan
        return row
    converted = convert_to_speed(
        speed,
        specified_speed_rpm,
        flow_m3_s=flow,
        head_m=head,
        power_w=p_el,
        efficiency=eta,
        limits=table.speed_range,
    )
    k = float(converted.speed_ratio)
    e_n = u["speed_rpm"] / speed
    hydraulic_converted = p_h * k**3

    def rel(value: float, uncertainty: float) -> float:
        return uncertainty / abs(value) if value != 0 else math.inf

    row.update(
        {
            "speed_ratio": k,
            "speed_in_range": not converted.violations,
            "converted_flow_m3_s": converted.flow_m3_s,
            "u_converted_flow_m3_s": abs(_converted(converted.flow_m3_s))
            * combine_rss(rel(flow, u["flow_m3_s"]), e_n),
            "converted_head_m": converted.head_m,
            "u_converted_head_m": abs(_converted(converted.head_m)) * combine_rss(rel(head, u_head), 2 * e_n),
            "converted_electrical_power_w": converted.power_w,
            "u_converted_electrical_power_w": abs(_converted(converted.power_w))
            * combine_rss(rel(p_el, u["electrical_power_w"]), 3 * e_n),
            "converted_hydraulic_power_w": hydraulic_converted,
            "u_converted_hydraulic_power_w": abs(hydraulic_converted)
            * combine_rss(rel(p_h, u_hydraulic), 3 * e_n),
            "converted_overall_efficiency": converted.efficiency,
            "u_converted_overall_efficiency": u_eta,
            # ticks averaged, and the independent readings they are worth (the least of the channels)
            "samples_n": float(point.get("flow_m3_s_n", math.nan)),
            "n_eff": min(independent_readings(point, channel) for channel in UNCERTAIN_CHANNELS),
        }
    )
    return {
        key: (float(value) if isinstance(value, (np.floating, np.integer)) else value)
        for key, value in row.items()
    }


# ---------------------------------------------------------------------------------- acceptance


def distinct_flows(flow_m3_s: np.ndarray) -> int:
    """How many different flows the points were taken at (within ``DISTINCT_FLOW_FRACTION``)."""
    flows = np.asarray(flow_m3_s, dtype=np.float64)
    flows = flows[np.isfinite(flows)]
    if flows.size == 0:
        return 0
    step = DISTINCT_FLOW_FRACTION * max(float(np.max(np.abs(flows))), 1e-300)
    return int(np.unique(np.round(flows / step)).size)


def window_fluctuations(
    points: Sequence[Mapping[str, Any]], samples: pd.DataFrame, geometry: BenchGeometry
) -> dict[str, float]:
    """Largest half peak-to-peak swing (fraction of the mean) over the points' averaging windows.

    Keys are the grade table's quantity kinds: flow, head, power (electrical input), speed.
    """
    times = samples["time_s"].to_numpy(dtype=np.float64)
    columns = {
        c: samples[c].to_numpy(dtype=np.float64)
        for c in ("speed_rpm", "flow_m3_s", "p_inlet_pa", "p_outlet_pa", "electrical_power_w")
    }
    largest = {"flow": 0.0, "head": 0.0, "power": 0.0, "speed": 0.0}
    for point in points:
        window = window_samples(
            times, {"time_s": times, **columns}, float(point["window_start_s"]), float(point["window_end_s"])
        )
        head = np.asarray(
            total_head_m(
                window["p_inlet_pa"],
                window["p_outlet_pa"],
                window["flow_m3_s"],
                float(point["density_kg_m3"]),
                geometry.inlet_diameter_m,
                geometry.outlet_diameter_m,
                geometry.inlet_height_m,
                geometry.outlet_height_m,
            ),
            dtype=np.float64,
        )
        series = {
            "flow": window["flow_m3_s"],
            "head": head,
            "power": window["electrical_power_w"],
            "speed": window["speed_rpm"],
        }
        for kind, values in series.items():
            finite = np.isfinite(values)
            if np.count_nonzero(finite) < 2:
                continue
            # Only the fluctuation number is wanted; the limits passed are placeholders.
            verdict = judge_steady(window["time_s"][finite], values[finite], 1.0, 1.0)
            largest[kind] = max(largest[kind], float(verdict.fluctuation_fraction))
    return largest


def _instrument_uncertainties(
    rows: Sequence[Mapping[str, Any]], accuracy: Mapping[str, float], geometry: BenchGeometry
) -> dict[str, float]:
    """Instrument-only uncertainty fractions per quantity kind, for the grade's limits."""
    result: dict[str, float] = {}
    for kind, channel in (
        ("flow", "flow_m3_s"),
        ("speed", "speed_rpm"),
        ("input_power", "electrical_power_w"),
    ):
        if channel in accuracy:
            result[kind] = float(accuracy[channel])
    if "p_inlet_pa" in accuracy or "p_outlet_pa" in accuracy:
        worst = 0.0
        for row in rows:
            u_head = float(
                head_uncertainty_m(
                    row["p_inlet_pa"],
                    accuracy.get("p_inlet_pa", 0.0) * abs(row["p_inlet_pa"]),
                    row["p_outlet_pa"],
                    accuracy.get("p_outlet_pa", 0.0) * abs(row["p_outlet_pa"]),
                    row["flow_m3_s"],
                    accuracy.get("flow_m3_s", 0.0) * abs(row["flow_m3_s"]),
                    row["density_kg_m3"],
                    geometry.inlet_diameter_m,
                    geometry.outlet_diameter_m,
                )
            )
            if row["head_m"] > 0:
                worst = max(worst, u_head / row["head_m"])
        result["head"] = worst
    return result


def _value(value: GradeValue | None) -> dict[str, Any] | None:
    return None if value is None else {"value": value.value, "verified": value.verified, "note": value.note}


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def judge_run(
    points: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
    samples: pd.DataFrame,
    accuracy: Mapping[str, float],
    geometry: BenchGeometry,
    settings: AcceptanceSettings,
) -> dict[str, Any]:
    """The acceptance document (what ``acceptance.json`` holds) for converted rows and settings."""
    assert settings.guarantee is not None and settings.grade is not None
    table = load_grade_table(settings.grade_table)
    g = settings.guarantee
    needed = ["converted_flow_m3_s", "converted_head_m"]
    needed += ["converted_overall_efficiency"] if g.efficiency is not None else []
    needed += ["converted_electrical_power_w"] if g.power_w is not None else []
    # a point with a failed channel (NaN) cannot be on the curve; it is listed as excluded
    usable = [r for r in rows if all(math.isfinite(float(r.get(k, math.nan))) for k in needed)]
    converted_power = [
        float(r["converted_electrical_power_w"])
        for r in usable
        if math.isfinite(float(r["converted_electrical_power_w"]))
    ]
    if settings.pump_input_power_w is not None:
        input_power, basis = settings.pump_input_power_w, "pump file: pump.input_power_w"
    elif g.power_w is not None:
        input_power, basis = g.power_w, "guaranteed electrical input power"
    elif converted_power:
        input_power, basis = max(converted_power), "largest measured electrical input at the specified speed"
    else:
        input_power, basis = None, "unknown"
    grade = table.grade(settings.grade, input_power)
    document: dict[str, Any] = {
        "guarantee": {
            **g.as_dict(),
            "grade": settings.grade,
            "efficiency_basis": EFFICIENCY_BASIS,
            "power_basis": POWER_BASIS,
        },
        "specified_speed_rpm": settings.specified_speed_rpm,
        "sources": dict(settings.sources),
        "grade": {
            "name": grade.name,
            "class": grade.grade_class.name,
            "table": settings.grade_table or "shipped (hil/data/grades.toml)",
            "small_pump_rule_applied": grade.small_pump_rule_applied,
            "pump_input_power_w": input_power,
            "pump_input_power_basis": basis,
            "flow_minus": _value(grade.flow_minus),
            "flow_plus": _value(grade.flow_plus),
            "head_minus": _value(grade.head_minus),
            "head_plus": _value(grade.head_plus),
            "efficiency": _value(grade.efficiency),
            "power_plus": _value(grade.power_plus),
        },
        "points_judged": len(usable),
        "points_excluded": [int(r["point"]) for r in rows if r not in usable],
    }
    flows = np.array([float(r["converted_flow_m3_s"]) for r in usable])
    distinct = distinct_flows(flows)
    head_degree, eta_degree, power_degree = min(2, distinct - 1), min(3, distinct - 1), min(2, distinct - 1)
    extra: list[ConditionViolation] = [
        ConditionViolation(
            "steady",
            "point",
            float(r["point"]),
            1.0,
            True,
            f"point {int(r['point'])} was recorded without reaching steady state",
        )
        for r in rows
        if r.get("steady") is False
    ]
    speeds = np.array([float(r["speed_rpm"]) for r in usable])
    speed_violations = (
        []
        if not usable
        else [
            replace(v, point_index=int(usable[v.point_index]["point"]) if v.point_index is not None else None)
            for v in convert_to_speed(
                speeds, settings.specified_speed_rpm, flow_m3_s=flows, limits=table.speed_range
            ).violations
        ]
    )
    try:
        if distinct < 2:
            raise AnalysisError(f"the H(Q) curve needs at least 2 distinct flows, got {distinct}")
        result = judge_acceptance(
            GuaranteePoint(g.flow_m3_s, g.head_m, g.efficiency, g.power_w),
            grade,
            flows,
            [float(r["converted_head_m"]) for r in usable],
            efficiency=[float(r["converted_overall_efficiency"]) for r in usable] if g.efficiency else None,
            power_w=[float(r["converted_electrical_power_w"]) for r in usable] if g.power_w else None,
            curve_method="fit",
            head_degree=head_degree,
            efficiency_degree=eta_degree,
            power_degree=power_degree,
            speed_violations=speed_violations,
            fluctuation_fractions=window_fluctuations(points, samples, geometry),
            instrument_uncertainty_fractions=_instrument_uncertainties(points, accuracy, geometry),
        )
    except AnalysisError as exc:
        document.update(
            {
                "error": str(exc),
                "verdicts": [],
                "violations": [],
                "unchecked_conditions": [],
                "flow_head_met": False,
                "guarantees_met": False,
                "valid": False,
                "passed": False,
            }
        )
        return document
    document.update(_result_fields(result, extra, head_degree, eta_degree, power_degree))
    return document


def _result_fields(
    result: AcceptanceResult,
    extra: Sequence[ConditionViolation],
    head_degree: int,
    eta_degree: int,
    power_degree: int,
) -> dict[str, Any]:
    violations = list(result.violations) + list(extra)
    fit = result.head_fit
    return {
        "error": None,
        "curve": {
            "method": result.curve_method,
            "head_degree": head_degree,
            "efficiency_degree": eta_degree,
            "power_degree": power_degree,
            "head_coefficients": None if fit is None else [float(c) for c in fit.coefficients],
            "head_fit_flow_range_m3_s": None if fit is None else [fit.x_min, fit.x_max],
            "operating_flow_m3_s": _finite_or_none(result.operating_flow_m3_s),
        },
        "verdicts": [
            {
                "quantity": v.quantity,
                "guaranteed": v.guaranteed,
                "measured": _finite_or_none(v.measured),
                "deviation_fraction": _finite_or_none(v.deviation_fraction),
                "tolerance_minus_fraction": v.tolerance_minus_fraction,
                "tolerance_plus_fraction": v.tolerance_plus_fraction,
                "tolerance_verified": v.tolerance_verified,
                "passed": v.passed,
                "detail": v.detail,
            }
            for v in result.verdicts
        ],
        "violations": [
            {
                "condition": c.condition,
                "quantity": c.quantity,
                "value": _finite_or_none(c.value),
                "limit": c.limit,
                "limit_verified": c.limit_verified,
                "message": c.message,
            }
            for c in violations
        ],
        "unchecked_conditions": list(result.unchecked_conditions),
        "flow_head_met": result.flow_head_met,
        "guarantees_met": result.guarantees_met,
        "valid": not violations,
        "passed": result.guarantees_met and not violations,
    }


# ------------------------------------------------------------------------------- the products


def converted_rows(
    points: Sequence[Mapping[str, Any]],
    accuracy: Mapping[str, float],
    geometry: BenchGeometry,
    settings: AcceptanceSettings,
) -> list[dict[str, Any]]:
    """Every point, raw and converted to the specified speed, with uncertainties
    (``points_converted.csv``)."""
    table = load_grade_table(settings.grade_table)
    return [
        converted_point(p, i, settings.specified_speed_rpm, accuracy, geometry, table)
        for i, p in enumerate(points)
    ]


def acceptance_document(
    points: Sequence[Mapping[str, Any]],
    rows: Sequence[Mapping[str, Any]],
    samples: pd.DataFrame,
    accuracy: Mapping[str, float],
    geometry: BenchGeometry,
    settings: AcceptanceSettings,
    run_status: str = "completed",
    run_reason: str = "",
) -> dict[str, Any]:
    """The acceptance document (``acceptance.json``): :func:`judge_run` and the overall verdict
    (:func:`overall_verdict`), with NaN and infinity as null (JSON has no spelling for them)."""
    document = judge_run(points, rows, samples, accuracy, geometry, settings)
    verdict, reasons = overall_verdict(document, rows, run_status, run_reason)
    document = {
        "format": ACCEPTANCE_FORMAT,
        "verdict": verdict,
        "verdict_reasons": reasons,
        "run_status": run_status,
        **document,
    }
    document["passed"] = verdict == PASS  # never True on a run or a judgement that cannot be trusted
    strict: dict[str, Any] = _strict_json(document)
    return strict


def overall_verdict(
    document: Mapping[str, Any], rows: Sequence[Mapping[str, Any]], run_status: str, run_reason: str
) -> tuple[str, list[str]]:
    """PASS, FAIL, INVALID or NOT JUDGED, with the reasons.

    INVALID: the run did not complete (aborted, interrupted, error), or a test condition was violated
    (unsteady points, speed out of range, fluctuation, too few points near the guarantee, an
    uncertainty above the grade's limit): whatever the curve shows, the test cannot prove it.
    NOT JUDGED: the judgement itself was impossible (too few distinct flows) or the guarantee flow
    lies outside the tested flow range (the curve would be extrapolated). PASS only when every
    guarantee is met on a valid test; FAIL when a guarantee is missed on a valid test.
    """
    if run_status != "completed":
        why = f" ({run_reason})" if run_reason else ""
        return INVALID, [f"the run did not complete: status {run_status}{why}"]
    if document.get("error"):
        return NOT_JUDGED, [str(document["error"])]
    flows = [float(r["converted_flow_m3_s"]) for r in rows if math.isfinite(float(r["converted_flow_m3_s"]))]
    q_g = float(document["guarantee"]["flow_m3_s"])
    if flows and not min(flows) <= q_g <= max(flows):
        reason = (
            f"the guarantee flow {q_g * 1000:.4g} L/s lies outside the tested flow range "
            f"{min(flows) * 1000:.4g}..{max(flows) * 1000:.4g} L/s (at the specified speed)"
        )
        factor = max(q_g / max(flows), min(flows) / q_g)
        if factor > FAR_OUTSIDE_FACTOR:
            reason += (
                f"; it is {factor:.3g} times off the measured flows: was it typed in another unit? "
                "A bare number is m3/s; give the unit, e.g. --guarantee '0.45 L/s, 200 m'"
            )
        return NOT_JUDGED, [reason]
    if document.get("violations"):
        return INVALID, [f"{c['condition']}: {c['message']}" for c in document["violations"]]
    return (PASS, []) if document.get("guarantees_met") else (FAIL, ["a guarantee is not met"])


def _strict_json(value: Any) -> Any:
    """NaN and infinity have no JSON spelling: they become null."""
    if isinstance(value, dict):
        return {k: _strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_strict_json(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    return _finite_or_none(value)


# ------------------------------------------------------------------------------------- printing


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.2f} %"


def _tolerance_text(verdict: Mapping[str, Any]) -> str:
    minus, plus = verdict["tolerance_minus_fraction"], verdict["tolerance_plus_fraction"]
    mark = "" if verdict["tolerance_verified"] else " *"
    if verdict["quantity"] == "efficiency":
        return f">= {-minus * 100:+.1f} %{mark}"
    if verdict["quantity"] == "power":
        return f"<= +{plus * 100:.1f} %{mark}"
    return f"-{minus * 100:.1f} / +{plus * 100:.1f} %{mark}"


def format_quantity(quantity: str, value: float | None) -> str:
    """A guaranteed or measured value in the unit a person reads it in (L/s, m, W)."""
    if value is None:
        return "n/a"
    if quantity == "flow":
        return f"{value * 1000:.4f} L/s"
    if quantity == "head":
        return f"{value:.2f} m"
    if quantity == "power":
        return f"{value:.0f} W"
    return f"{value:.4f}"


QUANTITY_LABELS = {
    "flow": "flow Q",
    "head": "head H",
    "efficiency": "efficiency (overall)",
    "power": "power (electrical input)",
}


def format_verdict_table(document: Mapping[str, Any]) -> str:
    """The acceptance verdict as a readable table (unverified tolerances marked with *)."""
    grade = document["grade"]
    g = document["guarantee"]
    small = ", small-pump tolerances" if grade["small_pump_rule_applied"] else ""
    lines = [
        f"acceptance at Q_G = {g['flow_m3_s'] * 1000:.4g} L/s, H_G = {g['head_m']:.4g} m, "
        f"{document['specified_speed_rpm']:.0f} rpm; grade {grade['name']}{small}"
    ]
    if document.get("error"):
        lines.append(f"  cannot judge: {document['error']}")
        lines.extend(f"  reason: {reason}" for reason in document.get("verdict_reasons", []))
        lines.append(f"RESULT: {document.get('verdict', NOT_JUDGED)}")
        return "\n".join(lines)
    lines.append(
        f"  {'quantity':<25}{'guaranteed':>13}{'measured':>13}{'deviation':>11}  {'tolerance':<18}verdict"
    )
    for v in document["verdicts"]:
        lines.append(
            f"  {QUANTITY_LABELS.get(v['quantity'], v['quantity']):<25}"
            f"{format_quantity(v['quantity'], v['guaranteed']):>13}"
            f"{format_quantity(v['quantity'], v['measured']):>13}"
            f"{_percent(v['deviation_fraction']):>11}  {_tolerance_text(v):<18}"
            f"{'pass' if v['passed'] else 'FAIL'}"
        )
    lines.append(
        "  flow and head: met if the curve meets either bar of the tolerance cross: "
        + ("met" if document["flow_head_met"] else "NOT met")
    )
    if any(not v["tolerance_verified"] for v in document["verdicts"]):
        lines.append("  * tolerance from the grade table marked unverified: check it against the standard")
    if document["violations"]:
        lines.append(f"  test conditions violated ({len(document['violations'])}):")
        lines.extend(
            f"    - {c['condition']}: {c['message']}" + ("" if c["limit_verified"] else " [limit unverified]")
            for c in document["violations"]
        )
    else:
        lines.append("  test conditions: none violated")
    for note in document.get("unchecked_conditions", []):
        lines.append(f"    not checked: {note}")
    verdict = document.get("verdict") or legacy_verdict(document)
    if verdict != PASS:
        lines.extend(f"  reason: {reason}" for reason in document.get("verdict_reasons", []))
    lines.append(f"RESULT: {verdict}")
    return "\n".join(lines)


def _converted(value: float | np.ndarray | None) -> float:
    """One converted quantity of one point (given, since the point's measured value was)."""
    if value is None:
        raise AnalysisError("a measured quantity has no speed-converted value")
    return float(value)


def legacy_verdict(document: Mapping[str, Any]) -> str:
    """The verdict of an ``acceptance.json`` written before the overall verdict existed."""
    if document.get("error"):
        return NOT_JUDGED
    if document.get("passed"):
        return PASS
    return FAIL if not document.get("guarantees_met") else INVALID
