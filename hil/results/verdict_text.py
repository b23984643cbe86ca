"""The acceptance verdict as text a person reads: the table ``hil run`` and ``hil replay`` print
(:func:`format_verdict_table`, unverified tolerances marked ``*``), and the labels and units the
report shares with it (:data:`QUANTITY_LABELS`, :func:`format_quantity`).

Imports :mod:`hil.results.acceptance` (the verdict names) only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hil.results.acceptance import NOT_JUDGED, PASS, stated_verdict


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
    verdict = stated_verdict(document)
    if verdict != PASS:
        lines.extend(f"  reason: {reason}" for reason in document.get("verdict_reasons", []))
    lines.append(f"RESULT: {verdict}")
    return "\n".join(lines)
