"""The test report's sections: identity, bench, fluid, guarantee, verdict, test conditions, shaft power,
measurements and the table of points, each an HTML fragment of the run's :class:`ReportData`.

Imports :mod:`hil.results.report_page`; assembled by :mod:`hil.results.report`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from hil.results.acceptance import (
    EFFICIENCY_BASIS,
    FAIL,
    INVALID,
    PASS,
    POWER_BASIS,
    stated_verdict,
)
from hil.results.report_page import UNVERIFIED, ReportData, _e, _fixed, _num, _pairs, _pm, _table
from hil.results.verdict_text import QUANTITY_LABELS, format_quantity

# ------------------------------------------------------------------------------------- sections


def _verdict_badge(doc: Mapping[str, Any] | None) -> str:
    if doc is None:
        return '<span class="badge none">no guarantee given: not judged</span>'
    verdict = stated_verdict(doc)
    css = {PASS: "pass", FAIL: "fail", INVALID: "warn"}.get(verdict, "none")
    reasons = "".join(f"<li>{_e(reason)}</li>" for reason in doc.get("verdict_reasons", []))
    return f'<span class="badge {css}">{_e(verdict)}</span>' + (f"<ul>{reasons}</ul>" if reasons else "")


def section_identity(data: ReportData) -> str:
    m, s = data.metadata, data.settings
    pump = s.pump or {}
    notes = m.get("notes", {})
    params = ", ".join(f"{k} = {v}" for k, v in m.get("parameters", {}).items())
    rows = [
        ("pump", _e(pump.get("name", "not given (no pump definition file)"))),
        ("serial", _e(pump.get("serial", "not given"))),
        ("build", _e(pump.get("build") or "not given")),
        (
            "impeller diameter",
            f"{_num(pump['impeller_diameter_m'] * 1000, 4)} mm"
            if pump.get("impeller_diameter_m")
            else f"{_num(data.log.bench.geometry.impeller_diameter_m * 1000, 4)} mm (bench file)",
        ),
        ("specified speed", f"{_num(s.specified_speed_rpm, 6)} rpm"),
        ("pump definition", _e(pump.get("source", "none"))),
        ("procedure", f"{_e(m.get('procedure', '?'))} ({_e(params)})"),
        ("run", _e(data.run_dir.name)),
        ("status", _e(m.get("status", "?")) + (f" &ndash; {_e(m['reason'])}" if m.get("reason") else "")),
        ("date (UTC)", f"{_e(m.get('start_utc', '?'))} to {_e(m.get('end_utc', 'not closed'))}"),
        ("operator", _e(notes.get("operator", "not recorded"))),
        ("witness", _e(notes.get("witness", "not recorded"))),
        ("software", _e(", ".join(f"{k} {v}" for k, v in m.get("software", {}).items()))),
    ]
    if m.get("virtual"):
        rows.append(("virtual bench", f"yes (simulated pump, seed {_e(m.get('seed'))})"))
    if data.replay:
        changes = {k: v for k, v in data.replay.get("changes", {}).items() if v is not None}
        rows.append(
            (
                "results",
                f"re-judged by replay on {_e(data.replay.get('replayed_utc'))} with "
                f"{_e(json.dumps(changes))}; the raw log is the run's own",
            )
        )
    return _pairs(rows)


def section_bench(data: ReportData) -> str:
    m, bench = data.metadata, data.log.bench
    accuracy = data.log.accuracy
    calibration = m.get("calibration", {})
    rows = []
    for name, inst in bench.instruments.items():
        channels = "<br>".join(
            f"{_e(channel)}: "
            + (
                f"&plusmn;{_num(accuracy[channel] * 100, 3)} % of reading"
                if channel in accuracy
                else "accuracy not stated"
            )
            for channel in inst.channels
        )
        rows.append(
            (
                _e(name),
                _e(inst.driver),
                _e(m.get("instruments", {}).get(name, "not identified")),
                channels,
                _e(calibration.get(name, "not recorded")),
            )
        )
    g = bench.geometry
    head = _pairs(
        [
            ("bench", f"{_e(bench.name)} ({_e(m.get('bench_file', bench.source))})"),
            (
                "pressure taps",
                f"inlet bore {_num(g.inlet_diameter_m * 1000)} mm at {_num(g.inlet_height_m)} m, "
                f"outlet bore {_num(g.outlet_diameter_m * 1000)} mm at {_num(g.outlet_height_m)} m",
            ),
            ("sampling", f"{_num(1 / data.log.tick_s)} Hz"),
        ]
    )
    return head + _table(
        ("instrument", "driver", "identity reported", "channels and stated accuracy", "calibration"), rows
    )


def section_fluid(data: ReportData) -> str:
    p = data.points
    if "fluid_temperature_c" not in p or "density_kg_m3" not in p:  # a run without operating points
        return _pairs([("fluid", _e(data.log.bench.fluid)), ("temperature", "no operating point recorded")])
    temperature = p["fluid_temperature_c"].to_numpy(float)
    density = p["density_kg_m3"].to_numpy(float)
    return _pairs(
        [
            ("fluid", _e(data.log.bench.fluid)),
            (
                "temperature",
                f"{_fixed(np.nanmin(temperature), 2)} to {_fixed(np.nanmax(temperature), 2)} &deg;C "
                "over the points",
            ),
            (
                "density",
                f"{_fixed(np.nanmin(density), 2)} to {_fixed(np.nanmax(density), 2)} kg/m&sup3; "
                "(from the temperature)",
            ),
        ]
    )


def _tolerance_cell(entry: Mapping[str, Any] | None, signed: bool = False) -> str:
    if entry is None:
        return "none in the table"
    text = f"{entry['value'] * 100:+.1f} %" if signed else f"&plusmn;{entry['value'] * 100:.1f} %"
    return text + ("" if entry["verified"] else f" {UNVERIFIED}")


def section_guarantee(data: ReportData) -> str:
    doc = data.acceptance
    if doc is None:
        return (
            "<p>No guarantee point was given for this run, so no acceptance verdict was made. "
            "Give one with <code>--pump FILE</code> or <code>--guarantee Q,H[,ETA] --grade G</code> "
            "(at the run or with <code>hil replay</code>).</p>"
        )
    g, grade = doc["guarantee"], doc["grade"]
    rows = [
        ("flow Q_G", f"{_num(g['flow_m3_s'] * 1000, 5)} L/s"),
        ("head H_G", f"{_num(g['head_m'], 5)} m"),
        (
            "efficiency &eta;_G",
            f"{_num(g['efficiency'])} ({_e(EFFICIENCY_BASIS)})" if g.get("efficiency") else "not guaranteed",
        ),
        (
            "power P_G",
            f"{_num(g['power_w'])} W ({_e(POWER_BASIS)})" if g.get("power_w") else "not guaranteed",
        ),
        ("at speed", f"{_num(doc['specified_speed_rpm'], 6)} rpm"),
        ("grade", f"{_e(grade['name'])} (class {_e(grade['class'])}; table: {_e(grade['table'])})"),
        (
            "flow tolerance",
            f"&minus;{grade['flow_minus']['value'] * 100:.1f} / +{grade['flow_plus']['value'] * 100:.1f} %"
            + (
                "" if grade["flow_minus"]["verified"] and grade["flow_plus"]["verified"] else f" {UNVERIFIED}"
            ),
        ),
        (
            "head tolerance",
            f"&minus;{grade['head_minus']['value'] * 100:.1f} / +{grade['head_plus']['value'] * 100:.1f} %"
            + (
                "" if grade["head_minus"]["verified"] and grade["head_plus"]["verified"] else f" {UNVERIFIED}"
            ),
        ),
        ("efficiency tolerance", _tolerance_cell(grade.get("efficiency"), signed=True)),
        ("power tolerance", _tolerance_cell(grade.get("power_plus"), signed=True)),
        (
            "small-pump tolerances",
            ("applied" if grade["small_pump_rule_applied"] else "not applied")
            + f" (input power {_num(grade.get('pump_input_power_w'))} W: {_e(grade.get('pump_input_power_basis'))})",
        ),
        ("given in", _e("; ".join(f"{k}: {v}" for k, v in doc.get("sources", {}).items()) or "command line")),
    ]
    return _pairs(rows)


def _verdict_value(quantity: str, value: Any) -> str:
    return "&ndash;" if value is None else format_quantity(quantity, float(value))


def _verdict_tolerance(v: Mapping[str, Any]) -> str:
    minus, plus = v["tolerance_minus_fraction"], v["tolerance_plus_fraction"]
    if v["quantity"] == "efficiency":
        text = f"&ge; {-minus * 100:+.1f} %"
    elif v["quantity"] == "power":
        text = f"&le; +{plus * 100:.1f} %"
    else:
        text = f"&minus;{minus * 100:.1f} / +{plus * 100:.1f} %"
    return text + ("" if v["tolerance_verified"] else f" {UNVERIFIED}")


def _quantity_verdict(v: Mapping[str, Any]) -> str:
    """pass / FAIL, or "not judged" where nothing was measured to judge (the guarantee outside the
    tested range, a run that stopped short): a quantity with no value cannot have failed."""
    if v.get("measured") is None:
        return '<span class="none">not judged</span>'
    return '<span class="pass">pass</span>' if v["passed"] else '<span class="fail">FAIL</span>'


def section_verdict(data: ReportData) -> str:
    doc = data.acceptance
    if doc is None:
        return "<p>Not judged: no guarantee point.</p>"
    if doc.get("error"):
        return f'<p class="fail">The acceptance could not be judged: {_e(doc["error"])}</p>'
    rows = []
    for v in doc["verdicts"]:
        deviation = v["deviation_fraction"]
        rows.append(
            (
                _e(QUANTITY_LABELS.get(v["quantity"], v["quantity"])),
                _verdict_value(v["quantity"], v["guaranteed"]),
                _verdict_value(v["quantity"], v["measured"]),
                "&ndash;" if deviation is None else f"{deviation * 100:+.2f} %",
                _verdict_tolerance(v),
                _quantity_verdict(v),
                _e(v["detail"]),
            )
        )
    table = _table(
        ("quantity", "guaranteed", "measured / interpolated", "deviation", "tolerance", "verdict", "how"),
        rows,
        "verdicts",
    )
    cross = "met" if doc["flow_head_met"] else "<b>not met</b>"
    summary = (
        f"<p>Flow and head together: the guarantee is met when the measured H(Q) curve meets either bar "
        f"of the tolerance cross: {cross}. Efficiency and power are read where H(Q) crosses the line "
        f"from the origin through the guarantee point.</p>"
    )
    return table + summary


def section_conditions(data: ReportData) -> str:
    doc = data.acceptance
    if doc is None:
        return "<p>Not judged: no guarantee point.</p>"
    items = "".join(
        f"<li><b>{_e(c['condition'])}</b>: {_e(c['message'])}"
        + ("" if c["limit_verified"] else f" (limit {UNVERIFIED})")
        + "</li>"
        for c in doc.get("violations", [])
    )
    text = f'<ul class="violations">{items}</ul>' if items else "<p>No test condition was violated.</p>"
    unchecked = "".join(f"<li>{_e(u)}</li>" for u in doc.get("unchecked_conditions", []))
    if unchecked:
        text += f"<p>Not checked (the grade sets no limit):</p><ul>{unchecked}</ul>"
    return text


def section_shaft(data: ReportData) -> str:
    """With a torque sensor on the shaft: the pump's own efficiency and the motor-drive's, apart."""
    rows = [
        (
            str(int(r["point"])),
            _fixed(r["speed_rpm"], 0),
            _pm(r["flow_m3_s"], r["u_flow_m3_s"], 4, 1000.0),
            _pm(r["shaft_power_w"], r["u_shaft_power_w"], 1),
            _pm(r["pump_efficiency"], r["u_pump_efficiency"], 2, 100.0),
            _pm(r["drive_efficiency"], r["u_drive_efficiency"], 2, 100.0),
            _pm(r["overall_efficiency"], r["u_overall_efficiency"], 2, 100.0),
        )
        for _, r in data.converted.iterrows()
    ]
    headers = ("#", "n (rpm)", "Q (L/s)", "P_shaft (W)", "&eta;_pump (%)", "&eta;_drive (%)", "&eta;_ov (%)")
    return _table(headers, rows, "shaft") + (
        '<p class="note">Measured at the test speed. Shaft power from the torque and speed sensor on the '
        "shaft; the pump's efficiency is hydraulic over shaft power, the drive's (motor and controller) "
        "shaft over electrical power; their product is the overall efficiency. 95 % uncertainties.</p>"
    )


def section_measurements(table: pd.DataFrame) -> str:
    """The procedure's declared measurements, each with its limits and verdict, in recorded order."""
    rows = []
    for _, r in table.iterrows():
        low = "" if pd.isna(r["low"]) else f"{r['low']:g}"
        high = "" if pd.isna(r["high"]) else f"{r['high']:g}"
        verdict = str(r["verdict"])
        rows.append(
            (
                _e(str(r["name"])),
                f"{float(r['value']):.6g}",
                _e(str(r["unit"])),
                low,
                high,
                f'<span class="{"pass" if verdict == "PASS" else "fail"}">{verdict}</span>',
                _e("" if pd.isna(r["help"]) else str(r["help"])),
            )
        )
    return _table(("measurement", "value", "unit", "low", "high", "verdict", "meaning"), rows, "measurements")


def section_points(data: ReportData) -> str:
    c = data.converted
    rows = []
    for _, r in c.iterrows():
        rows.append(
            (
                str(int(r["point"])),
                _fixed(r["speed_rpm"], 0) + f" &plusmn; {_fixed(r['u_speed_rpm'], 0)}",
                _pm(r["flow_m3_s"], r["u_flow_m3_s"], 4, 1000.0),
                _pm(r["head_m"], r["u_head_m"], 2),
                _pm(r["electrical_power_w"], r["u_electrical_power_w"], 1),
                _pm(r["overall_efficiency"], r["u_overall_efficiency"], 2, 100.0),
                _fixed(r["fluid_temperature_c"], 2),
                _pm(r["converted_flow_m3_s"], r["u_converted_flow_m3_s"], 4, 1000.0),
                _pm(r["converted_head_m"], r["u_converted_head_m"], 2),
                _pm(r["converted_electrical_power_w"], r["u_converted_electrical_power_w"], 1),
                _pm(r["converted_overall_efficiency"], r["u_converted_overall_efficiency"], 2, 100.0),
                _fixed(r.get("samples_n", math.nan), 0),
                _fixed(r.get("n_eff", r.get("samples_n", math.nan)), 0),
                ("yes" if bool(r.get("steady", True)) else '<span class="fail">no</span>')
                + (
                    ""
                    if bool(r.get("speed_in_range", True))
                    else ' <span class="fail">speed out of range</span>'
                ),
            )
        )
    speed = f"{data.settings.specified_speed_rpm:.0f}"
    headers = (
        "#",
        "n (rpm)",
        "Q (L/s)",
        "H (m)",
        "P_el (W)",
        "&eta;_ov (%)",
        "T (&deg;C)",
        f"Q @ {speed} (L/s)",
        f"H @ {speed} (m)",
        f"P_el @ {speed} (W)",
        f"&eta;_ov @ {speed} (%)",
        "n",
        "n_eff",
        "steady",
    )
    return (
        '<div class="wide">' + _table(headers, rows, "points") + "</div>"
        '<p class="note">Left: as measured at the test speed; right: converted to the specified speed by the '
        "affinity laws. Every &plusmn; is the 95 % uncertainty: the random part (Student-t on the window's "
        "mean, with n_eff, the effective number of independent readings among the n samples, estimated "
        "from their autocorrelation) and the instrument's stated accuracy combined as a root-sum-square, "
        "propagated into head, "
        "power and efficiency; the conversion adds the speed's uncertainty (once for Q, twice for H, three "
        "times for P).</p>"
    )
