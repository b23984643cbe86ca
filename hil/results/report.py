"""The test report: one self-contained HTML file per run, with its figures and CSV exports.

``hil report RUN_DIR`` renders what the run recorded (its metadata, operating points, converted
points and acceptance verdict; for a ``replay-*`` directory inside a run, the re-judged results with
the run's own identity and log). It contains what the pump-testing reference lists for a test report:
pump identity, bench and instruments with their stated accuracies, fluid and temperature, operator
and witness, date, software version, guarantee point and grade, a table of every point (raw and
converted to the specified speed, with 95 % uncertainties), H-Q, P-Q and eta-Q plots with error bars
and the tolerance cross, NPSH3-Q when the run has ``npsh3.csv``, the verdict per guaranteed quantity
with unverified tolerances labelled, and every violated test condition.

Self-contained means a person opening the file needs nothing else: the figures are inline SVG drawn by
matplotlib (no external fonts, scripts, style sheets or images), and the file names no external URL.
The exports beside it are ``points_converted.csv`` (every point, raw and converted, with
uncertainties) and ``verdicts.csv``.

Imports hil (acceptance, analysis, errors, run store) and matplotlib only.
"""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hil.analysis.fits import fit_polynomial
from hil.analysis.grades import load_grade_table
from hil.analysis.npsh import npsh3_tolerance_m
from hil.results import flight_report, report_log
from hil.results.acceptance import (
    EFFICIENCY_BASIS,
    FAIL,
    INVALID,
    PASS,
    POWER_BASIS,
    QUANTITY_LABELS,
    SETTINGS_KEY,
    AcceptanceSettings,
    converted_point,
    distinct_flows,
    format_quantity,
    legacy_verdict,
)
from hil.store.run_directory import MEASUREMENTS, POINTS, POINTS_CONVERTED, REPORT, VERDICTS, write_points_csv
from hil.store.run_log import RunLog

_COLOURS = ("#1f5fa8", "#c2551a", "#2e8b3e", "#8a3fa0", "#a0892c", "#2c8a8a")


# ----------------------------------------------------------------------------------- the data


class ReportData:
    """Everything the report shows, read from a run directory (or a replay directory inside one)."""

    def __init__(self, path: Path) -> None:
        self.log = RunLog.open(path)
        self.results_dir = self.log.results_dir
        self.run_dir = self.log.directory
        self.replay = self.log.replay_info
        self.metadata = self.log.metadata
        recorded = (self.replay or {}).get(SETTINGS_KEY) or self.metadata.get(SETTINGS_KEY)
        self.settings = (
            AcceptanceSettings.from_dict(recorded)
            if recorded
            else AcceptanceSettings(self.log.bench.geometry.rated_speed_rpm)
        )
        self.points = self.log.points()
        self.derived_here = False
        if self.points.empty and not (self.results_dir / POINTS).exists():
            # A run that never closed (interrupted) recorded no results: derive them from its journal.
            from hil.results.derive import derive

            derived = derive(self.log, self.settings)
            self.points = pd.DataFrame(derived.points)
            self.derived_here = True
        converted = self.log.converted_points()
        if converted is not None:
            self.converted = converted
            self.converted_written = False
        else:  # a run recorded before conversion was part of every run: convert now, the same way
            table = load_grade_table(self.settings.grade_table)
            rows = [
                converted_point(
                    p,
                    i,
                    self.settings.specified_speed_rpm,
                    self.metadata.get("accuracy", {}),
                    self.log.bench.geometry,
                    table,
                )
                for i, p in enumerate(self.points.to_dict("records"))
            ]
            self.converted = pd.DataFrame(rows)
            self.converted_written = True
        self.acceptance = self.log.acceptance()
        if self.acceptance is None and self.derived_here and self.settings.guarantee is not None:
            self.acceptance = derived.acceptance
        npsh3 = self.log.npsh3()
        self.npsh3 = npsh3 if npsh3 is not None and not npsh3.empty else None
        measurements = self.results_dir / MEASUREMENTS
        self.measurements = pd.read_csv(measurements) if measurements.exists() else None
        # An NPSH3 test's sweep readings are cavitating on purpose: its H-Q, P-Q and eta-Q figures
        # show only the readings at ample inlet pressure (the table still lists every point).
        self.figure_note = ""
        self.curve_points = self.converted
        if "npsh_role" in self.points.columns and len(self.points) == len(self.converted):
            reference = (self.points["npsh_role"] == "reference").to_numpy()
            self.curve_points = self.converted[reference]
            self.figure_note = (
                " NPSH3 test: only the readings at ample inlet pressure (no cavitation) are "
                "shown; the sweep readings are cavitating on purpose."
            )


# ---------------------------------------------------------------------------------- formatting


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _num(value: Any, digits: int = 4) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return _e(value) if value not in (None, "") else "&ndash;"
    if not math.isfinite(number):
        return "&ndash;"
    return f"{number:.{digits}g}"


def _fixed(value: Any, decimals: int) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return "&ndash;"
    return "&ndash;" if not math.isfinite(number) else f"{number:.{decimals}f}"


def _pm(value: Any, uncertainty: Any, decimals: int, scale: float = 1.0) -> str:
    v, u = float(value) * scale, float(uncertainty) * scale
    if not math.isfinite(v):
        return "&ndash;"
    text = f"{v:.{decimals}f}"
    return text + (f" &plusmn; {u:.{decimals}f}" if math.isfinite(u) else " &plusmn; &infin;")


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], css: str = "") -> str:
    """An HTML table; cells are trusted HTML (callers escape)."""
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{css}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _pairs(rows: Iterable[tuple[str, str]]) -> str:
    return (
        '<table class="kv"><tbody>'
        + "".join(f"<tr><th>{k}</th><td>{v}</td></tr>" for k, v in rows)
        + "</tbody></table>"
    )


UNVERIFIED = '<span class="unverified" title="from the grade table, marked unverified">unverified</span>'


# ------------------------------------------------------------------------------------- figures


def _svg(figure: Any) -> str:
    """A matplotlib figure as inline SVG: deterministic ids, text kept as text, no metadata block."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "hil-report", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None}, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)
    return text


def _new_axes(title: str, xlabel: str, ylabel: str) -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9.0, 4.8), dpi=100)
    axes = figure.subplots()
    axes.set_title(title, fontsize=11)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, color="#dddddd", linewidth=0.6)
    return figure, axes


def _groups(converted: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    key = "speed_setpoint_rpm" if "speed_setpoint_rpm" in converted else None
    if key is None:
        return [("points", converted)]
    return [(f"tested at {speed:.0f} rpm", group) for speed, group in converted.groupby(key, sort=True)]


def _plot_points(axes: Any, converted: pd.DataFrame, column: str, scale: float = 1.0) -> None:
    for index, (label, group) in enumerate(_groups(converted)):
        axes.errorbar(
            group["converted_flow_m3_s"] * 1000.0,
            group[column] * scale,
            xerr=group["u_converted_flow_m3_s"] * 1000.0,
            yerr=group[f"u_{column}"] * scale,
            fmt="o",
            markersize=4,
            capsize=2.5,
            linewidth=0.9,
            color=_COLOURS[index % len(_COLOURS)],
            label=label,
        )


def _plot_fit(
    axes: Any,
    flow: np.ndarray,
    values: np.ndarray,
    degree: int,
    scale: float = 1.0,
    coefficients: Sequence[float] | None = None,
    label: str = "fitted curve",
) -> Any:
    finite = np.isfinite(flow) & np.isfinite(values)
    flow, values = flow[finite], values[finite]
    distinct = distinct_flows(flow)
    if coefficients is None:
        if distinct < 2:
            return None
        coefficients = [
            float(c) for c in fit_polynomial(flow, values, min(degree, distinct - 1)).coefficients
        ]
    q = np.linspace(flow.min(), flow.max(), 200)
    axes.plot(q * 1000.0, np.polyval(coefficients, q) * scale, color="#444444", linewidth=1.2, label=label)
    return coefficients


def figure_head(data: ReportData) -> str:
    c = data.curve_points
    figure, axes = _new_axes(
        f"H-Q at {data.settings.specified_speed_rpm:.0f} rpm (converted)", "flow Q (L/s)", "total head H (m)"
    )
    _plot_points(axes, c, "converted_head_m")
    doc = data.acceptance
    coefficients = (doc or {}).get("curve", {}).get("head_coefficients") if doc else None
    flow, head = c["converted_flow_m3_s"].to_numpy(float), c["converted_head_m"].to_numpy(float)
    _plot_fit(axes, flow, head, 2, coefficients=coefficients, label="fitted H(Q)")
    if doc:
        g, grade = doc["guarantee"], doc["grade"]
        q_g, h_g = g["flow_m3_s"] * 1000.0, g["head_m"]
        q_lo, q_hi = q_g * (1 - grade["flow_minus"]["value"]), q_g * (1 + grade["flow_plus"]["value"])
        h_lo, h_hi = h_g * (1 - grade["head_minus"]["value"]), h_g * (1 + grade["head_plus"]["value"])
        axes.plot([q_lo, q_hi], [h_g, h_g], color="#c0392b", linewidth=2.2, label="tolerance cross")
        axes.plot([q_g, q_g], [h_lo, h_hi], color="#c0392b", linewidth=2.2)
        axes.plot(
            [q_g],
            [h_g],
            marker="x",
            color="#c0392b",
            markersize=9,
            markeredgewidth=2,
            linestyle="none",
            label="guarantee point",
        )
        q_line = np.array([0.0, max(flow.max() * 1000.0, q_hi)])
        axes.plot(
            q_line,
            q_line * h_g / q_g,
            color="#c0392b",
            linewidth=0.8,
            linestyle="--",
            label="line through origin and guarantee",
        )
        q_op = (doc.get("curve") or {}).get("operating_flow_m3_s")
        if q_op is not None and coefficients is not None:
            axes.plot(
                [q_op * 1000.0],
                [np.polyval(coefficients, q_op)],
                marker="D",
                color="#222222",
                markersize=5,
                linestyle="none",
                label="operating point on that line",
            )
    _finish(axes, flow, head)
    # Show the curve and the cross, not the whole line through the origin down to zero head.
    finite = head[np.isfinite(head)]
    if finite.size:
        low = min(
            float(finite.min()),
            doc["guarantee"]["head_m"] * (1 - doc["grade"]["head_minus"]["value"])
            if doc
            else float(finite.min()),
        )
        high = max(
            float(finite.max()),
            doc["guarantee"]["head_m"] * (1 + doc["grade"]["head_plus"]["value"])
            if doc
            else float(finite.max()),
        )
        margin = 0.08 * (high - low) if high > low else 0.1 * abs(high)
        axes.set_ylim(low - margin, high + margin)
    return _svg(figure)


def _finish(axes: Any, flow: np.ndarray, values: np.ndarray) -> None:
    finite = np.isfinite(flow) & np.isfinite(values)
    if finite.any():
        axes.set_xlim(left=0.0, right=max(axes.get_xlim()[1], float(flow[finite].max()) * 1000.0 * 1.05))
    axes.legend(fontsize=8, loc="best")


def figure_power(data: ReportData) -> str:
    c = data.curve_points
    figure, axes = _new_axes(
        f"P-Q at {data.settings.specified_speed_rpm:.0f} rpm (converted)", "flow Q (L/s)", "power (W)"
    )
    _plot_points(axes, c, "converted_electrical_power_w")
    flow = c["converted_flow_m3_s"].to_numpy(float)
    power = c["converted_electrical_power_w"].to_numpy(float)
    _plot_fit(axes, flow, power, 2, label="fitted P_el(Q)")
    hydraulic = c["converted_hydraulic_power_w"].to_numpy(float)
    axes.errorbar(
        flow * 1000.0,
        hydraulic,
        yerr=c["u_converted_hydraulic_power_w"].to_numpy(float),
        fmt="s",
        markersize=3.5,
        capsize=2,
        linewidth=0.8,
        color="#7f7f7f",
        label="hydraulic power rho g Q H",
    )
    doc = data.acceptance
    if doc and doc["guarantee"].get("power_w"):
        g = doc["guarantee"]
        tolerance = (doc["grade"].get("power_plus") or {}).get("value", 0.0)
        q_g = g["flow_m3_s"] * 1000.0
        axes.plot(
            [q_g],
            [g["power_w"]],
            marker="x",
            color="#c0392b",
            markersize=9,
            markeredgewidth=2,
            linestyle="none",
            label="guaranteed input power",
        )
        axes.plot(
            [q_g, q_g],
            [g["power_w"], g["power_w"] * (1 + tolerance)],
            color="#c0392b",
            linewidth=2.2,
            label="power tolerance",
        )
    axes.set_ylim(bottom=0.0)
    _finish(axes, flow, power)
    return _svg(figure)


def figure_efficiency(data: ReportData) -> str:
    c = data.curve_points
    figure, axes = _new_axes(
        f"eta-Q at {data.settings.specified_speed_rpm:.0f} rpm (converted)",
        "flow Q (L/s)",
        "overall efficiency (%)",
    )
    _plot_points(axes, c, "converted_overall_efficiency", scale=100.0)
    flow = c["converted_flow_m3_s"].to_numpy(float)
    eta = c["converted_overall_efficiency"].to_numpy(float)
    degree = (
        int((data.acceptance or {}).get("curve", {}).get("efficiency_degree", 3)) if data.acceptance else 3
    )
    _plot_fit(axes, flow, eta, degree, scale=100.0, label="fitted eta(Q)")
    doc = data.acceptance
    if doc and doc["guarantee"].get("efficiency"):
        g = doc["guarantee"]
        tolerance = (doc["grade"].get("efficiency") or {}).get("value", 0.0)
        q_g = g["flow_m3_s"] * 1000.0
        axes.plot(
            [q_g],
            [g["efficiency"] * 100.0],
            marker="x",
            color="#c0392b",
            markersize=9,
            markeredgewidth=2,
            linestyle="none",
            label="guaranteed efficiency",
        )
        threshold = g["efficiency"] * (1 + tolerance) * 100.0
        q_op = (doc.get("curve") or {}).get("operating_flow_m3_s")
        centre = q_op * 1000.0 if q_op is not None else q_g
        axes.plot(
            [centre * 0.9, centre * 1.1],
            [threshold, threshold],
            color="#c0392b",
            linewidth=2.2,
            label="lowest acceptable, at the operating flow",
        )
        if q_op is not None:
            axes.axvline(
                q_op * 1000.0,
                color="#222222",
                linewidth=0.8,
                linestyle=":",
                label="operating flow (line through origin)",
            )
    _finish(axes, flow, eta)
    return _svg(figure)


def _column(frame: pd.DataFrame, *candidates: str, containing: str | None = None) -> str | None:
    for name in candidates:
        if name in frame.columns:
            return name
    if containing:
        for name in frame.columns:
            if containing in name and not name.startswith("u_") and "uncertainty" not in name:
                return name
    return None


def figure_npsh3(data: ReportData) -> str | None:
    frame = data.npsh3
    if frame is None or frame.empty:
        return None
    flow_col = _column(frame, "converted_flow_m3_s", "flow_m3_s", containing="flow_m3_s")
    npsh_col = _column(frame, "converted_npsh3_m", "npsh3_m", containing="npsh3")
    if flow_col is None or npsh_col is None:
        return None
    u_col = _column(frame, f"u_{npsh_col}", "npsh3_uncertainty_m", "u_npsh3_m")
    if "status" in frame.columns:
        frame = frame[frame["status"] == "ok"]
    figure, axes = _new_axes("NPSH3-Q (at the test speed)", "flow Q (L/s)", "NPSH3 (m)")
    flow, npsh = frame[flow_col].to_numpy(float), frame[npsh_col].to_numpy(float)
    axes.errorbar(
        flow * 1000.0,
        npsh,
        yerr=None if u_col is None else frame[u_col].to_numpy(float),
        fmt="o",
        markersize=5,
        capsize=3,
        color=_COLOURS[0],
        label="NPSH3 (3 % head drop)",
    )
    if np.unique(flow[np.isfinite(flow)]).size >= 2:
        _plot_fit(axes, flow, npsh, 2, label="fitted NPSH3(Q)")
    axes.set_ylim(bottom=0.0)
    _finish(axes, flow, npsh)
    return _svg(figure)


# ------------------------------------------------------------------------------------- sections


def _verdict_badge(doc: Mapping[str, Any] | None) -> str:
    if doc is None:
        return '<span class="badge none">no guarantee given: not judged</span>'
    verdict = doc.get("verdict") or legacy_verdict(doc)
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
    accuracy = m.get("accuracy", {})
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
            ("sampling", f"{_num(1 / float(m.get('tick_s', bench.tick_s)))} Hz"),
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
                '<span class="pass">pass</span>' if v["passed"] else '<span class="fail">FAIL</span>',
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


STYLE = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222;margin:24px auto;max-width:1100px;
 padding:0 16px;font-size:14px;line-height:1.4}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;
 vertical-align:top}thead th{background:#f0f0f0}table.kv th{background:#f7f7f7;font-weight:600;width:190px}
table.points td{text-align:right;white-space:nowrap}table.points{font-size:12px}.wide{overflow-x:auto}
.badge{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:700;color:#fff}
.badge.pass{background:#2e8b3e}.badge.fail{background:#c0392b}.badge.warn{background:#c27c0e}
.badge.none{background:#777}.pass{color:#2e8b3e;font-weight:700}.fail{color:#c0392b;font-weight:700}
.badge.pass,.badge.fail,.badge.warn,.badge.none{color:#fff;font-size:15px}
.unverified{background:#fff3cd;color:#7a5b00;border:1px solid #e0c36a;border-radius:3px;padding:0 4px;
 font-size:11px;white-space:nowrap}.note{color:#555;font-size:12px}figure{margin:10px 0}
figure svg{width:100%;height:auto}table.trip th{background:#fbe3e0}
.events td{font-size:11px}table.events{font-size:11px}figcaption{font-size:12px;color:#555}
"""


def render_html(data: ReportData) -> str:
    """The whole report as one HTML document."""
    pump = data.settings.pump or {}
    title = f"Pump test report: {pump.get('name', 'unnamed pump')} {pump.get('serial', '')}".strip()
    figures = []
    if not data.curve_points.empty:
        figures = [
            (
                "H-Q",
                figure_head(data),
                "Head against flow, converted to the specified speed; error bars are the 95 % "
                "uncertainties."
                + (
                    " Red: the tolerance cross at the guarantee point (horizontal bar: flow tolerance, "
                    "vertical bar: head tolerance) and the line from the origin through it."
                    if data.acceptance
                    else ""
                ),
            ),
            (
                "P-Q",
                figure_power(data),
                "Electrical input power (and hydraulic power) against flow, converted.",
            ),
            (
                "eta-Q",
                figure_efficiency(data),
                "Overall (wire-to-water) efficiency against flow."
                + (
                    " Red: the lowest acceptable efficiency at the operating flow (guarantee with its tolerance)."
                    if data.acceptance and data.acceptance["guarantee"].get("efficiency")
                    else ""
                ),
            ),
        ]
    npsh = figure_npsh3(data)
    if npsh is not None:
        figures.append(("NPSH3-Q", npsh, "NPSH3 (the NPSH available at a 3 % head drop) against flow."))
    figure_html = "".join(
        f'<figure id="fig-{_e(name)}">{svg}<figcaption>{_e(caption)}'
        f"{_e(data.figure_note) if name != 'NPSH3-Q' else ''}</figcaption></figure>"
        for name, svg, caption in figures
    )
    unverified_note = (
        '<p class="note">Values marked ' + UNVERIFIED + " come from the grade table where they are "
        "flagged as not checked against the standard (ISO 9906:2012 is not public); check them "
        "against your copy and override them with a grade file.</p>"
    )
    status = data.log.status
    sections = []
    if status != "completed":  # an aborted or interrupted run opens with what stopped it
        sections.append(("Run stopped: " + status, report_log.section_trip(data.log)))
    sections += [
        ("Test", section_identity(data)),
        (
            "Verdict",
            f"<p>{_verdict_badge(data.acceptance)}</p>" + (section_verdict(data) if data.acceptance else ""),
        ),
        ("Violated test conditions", section_conditions(data)),
        ("Guarantee point and grade", section_guarantee(data) + unverified_note),
        ("Figures", figure_html or "<p>No operating point was recorded.</p>"),
    ]
    if data.measurements is not None and not data.measurements.empty:
        sections.append(("Measurements", section_measurements(data.measurements)))
    if data.npsh3 is not None:
        grade = load_grade_table(data.settings.grade_table).grade(data.settings.grade or "2B")
        breakdown = report_log.figure_breakdown(data.points, data.npsh3)
        sections.append(
            (
                "NPSH3",
                report_log.section_npsh3_table(data.npsh3, grade.name, lambda n: npsh3_tolerance_m(grade, n))
                + (f'<figure id="fig-breakdown">{breakdown}</figure>' if breakdown else ""),
            )
        )
    series = report_log.figure_time_series(data.log)
    sections += [
        (
            "Time series",
            f'<figure id="fig-time-series">{series}</figure>' if series else "<p>No samples.</p>",
        ),
        ("Operating points", section_points(data) if not data.points.empty else "<p>None recorded.</p>"),
        *(
            [("Shaft power: pump and drive efficiency", section_shaft(data))]
            if "shaft_power_w" in data.converted
            else []
        ),
        ("Events", report_log.section_events(data.log)),
        ("Injected faults", report_log.section_faults(data.log)),
        *flight_report.sections(data.results_dir, data.log.samples, data.log.events),
        ("Fluid", section_fluid(data)),
        ("Bench and instruments", section_bench(data)),
    ]
    body = "".join(f"<h2>{_e(name)}</h2>{content}" for name, content in sections)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        f"<style>{STYLE}</style></head><body><h1>{_e(title)}</h1>"
        f'<p class="note">Generated by hil {_e(data.metadata.get("software", {}).get("hil", ""))} from '
        f"{_e(data.results_dir.name)}.</p>{body}</body></html>\n"
    )


def _write_verdicts_csv(path: Path, doc: Mapping[str, Any] | None) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(
        [
            "quantity",
            "basis",
            "guaranteed",
            "measured",
            "deviation_fraction",
            "tolerance_minus_fraction",
            "tolerance_plus_fraction",
            "tolerance_verified",
            "passed",
        ]
    )
    for v in (doc or {}).get("verdicts", []):
        basis = {"efficiency": EFFICIENCY_BASIS, "power": POWER_BASIS}.get(v["quantity"], "")
        writer.writerow(
            [
                v["quantity"],
                basis,
                v["guaranteed"],
                v["measured"],
                v["deviation_fraction"],
                v["tolerance_minus_fraction"],
                v["tolerance_plus_fraction"],
                v["tolerance_verified"],
                v["passed"],
            ]
        )
    path.write_text(buffer.getvalue(), encoding="utf-8")


def write_report(results_dir: Path, out: Path | None = None) -> list[Path]:
    """Write the HTML report (default ``RESULTS_DIR/report.html``) and the CSV exports beside it."""
    data = ReportData(results_dir)
    target = out if out is not None else data.results_dir / REPORT
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(render_html(data), encoding="utf-8")
    written = [target]
    exported = target.parent / POINTS_CONVERTED
    recorded = data.log.location(POINTS_CONVERTED)
    if data.converted_written:
        write_points_csv(exported, data.converted.to_dict("records"))
        written.append(exported)
    elif exported.resolve() != recorded.resolve():
        exported.write_bytes(recorded.read_bytes())  # the recorded file itself, byte for byte
        written.append(exported)
    verdicts = target.parent / VERDICTS
    if data.acceptance is not None:
        _write_verdicts_csv(verdicts, data.acceptance)
        written.append(verdicts)
    return written
