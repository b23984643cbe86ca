"""The acceptance verdict of a run at its guarantee point: the speed-converted points judged against
the grade, and the document ``acceptance.json`` holds (:func:`acceptance_document`).

The derive step (:mod:`hil.results.derive`) calls it for a live run after it closes and for ``hil
replay``, on the points and samples read back from the run directory and the rows of
:mod:`hil.results.converted_points`, so a replay reproduces the file bit for bit. This module
writes no file. The judging settings are in :mod:`hil.results.acceptance_settings`; the verdict as
printed text in :mod:`hil.results.verdict_text`.

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

Imports hil's analysis, bench file, operating points and the acceptance settings only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from hil.analysis import AnalysisError
from hil.analysis.acceptance import AcceptanceResult, ConditionViolation, GuaranteePoint, judge_acceptance
from hil.analysis.grades import GradeValue, load_grade_table
from hil.analysis.head import total_head_m
from hil.analysis.speed_conversion import convert_to_speed
from hil.analysis.steady import judge_steady
from hil.analysis.uncertainty import head_uncertainty_m
from hil.bench.config import BenchGeometry
from hil.results.acceptance_settings import AcceptanceSettings
from hil.run.operating_points import window_samples

if TYPE_CHECKING:
    import pandas as pd  # annotations only: a run reads its samples through the store


ACCEPTANCE_FORMAT = 2
"""Version of ``acceptance.json``: 2 adds the overall verdict (release 0.1.0 wrote none)."""
PASS, FAIL, INVALID, NOT_JUDGED = "PASS", "FAIL", "INVALID", "NOT JUDGED"
VERDICTS = (PASS, FAIL, INVALID, NOT_JUDGED)
FAR_OUTSIDE_FACTOR = 10.0
"""A guarantee flow this many times off the measured flows gets a hint about units."""
DISTINCT_FLOW_FRACTION = 0.005
EFFICIENCY_BASIS = "overall (wire-to-water): rho g Q H / P_el"
POWER_BASIS = "electrical input power P_el"


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


def stated_verdict(document: Mapping[str, Any]) -> str:
    """The verdict an ``acceptance.json`` states. A file written before the overall verdict existed
    has it derived from its fields (no judgement possible; passed; a guarantee not met; else a
    violated test condition); a stated value that is no verdict is INVALID, never read as a pass."""
    stated = document.get("verdict")
    if stated is not None:
        return str(stated) if stated in VERDICTS else INVALID
    if document.get("error"):
        return NOT_JUDGED
    if document.get("passed"):
        return PASS
    return FAIL if not document.get("guarantees_met") else INVALID
