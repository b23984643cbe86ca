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
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from hil.analysis.grades import load_grade_table
from hil.analysis.npsh import npsh3_tolerance_m
from hil.results import flight_report, report_log
from hil.results.acceptance import (
    EFFICIENCY_BASIS,
    POWER_BASIS,
)
from hil.results.report_figures import figure_efficiency, figure_head, figure_npsh3, figure_power
from hil.results.report_page import UNVERIFIED, ReportData, _e
from hil.results.report_sections import (
    _verdict_badge,
    section_bench,
    section_conditions,
    section_fluid,
    section_guarantee,
    section_identity,
    section_measurements,
    section_points,
    section_shaft,
    section_verdict,
)
from hil.store.run_directory import POINTS_CONVERTED, REPORT, VERDICTS, write_points_csv
from hil.store.run_writer import refused_as_storage_error

STYLE = """
body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;color:#222;margin:24px auto;max-width:1100px;
 padding:0 16px;font-size:14px;line-height:1.4}
h1{font-size:22px;margin-bottom:4px}h2{font-size:17px;border-bottom:1px solid #ccc;padding-bottom:3px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;
 vertical-align:top}thead th{background:#f0f0f0}table.kv th{background:#f7f7f7;font-weight:600;width:190px}
table.points td{text-align:right;white-space:nowrap}table.points{font-size:12px}.wide{overflow-x:auto}
.badge{display:inline-block;padding:4px 12px;border-radius:4px;font-weight:700;color:#fff}
.badge.pass{background:#2e8b3e}.badge.fail{background:#c0392b}.badge.warn{background:#c27c0e}
.badge.none{background:#777}.none{color:#777}.pass{color:#2e8b3e;font-weight:700}.fail{color:#c0392b;font-weight:700}
.badge.pass,.badge.fail,.badge.warn,.badge.none{color:#fff;font-size:15px}
.unverified{background:#fff3cd;color:#7a5b00;border:1px solid #e0c36a;border-radius:3px;padding:0 4px;
 font-size:11px;white-space:nowrap}.note{color:#555;font-size:12px}figure{margin:10px 0}
figure svg{width:100%;height:auto}table.trip th{background:#fbe3e0}
.tampered{background:#fbe3e0;border:2px solid #c0392b;border-radius:4px;padding:4px 14px;color:#7a1b12}
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
    integrity = data.log.integrity
    if integrity.modified:  # before anything else: the numbers below may not be the run's
        sections.append(
            (
                "Files modified after the run",
                '<div class="tampered"><p><strong>This run directory was changed after the run closed: '
                "the report shows what the files hold now, which is not what the run recorded.</strong></p><ul>"
                + "".join(f"<li>{_e(problem)}</li>" for problem in integrity.problems)
                + "</ul></div>",
            )
        )
    elif not integrity.recorded:
        sections.append(("Checksums", f'<p class="note">{_e(integrity.note)}</p>'))
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
    html_text = render_html(data)
    with refused_as_storage_error(target.parent):  # a full disk, a read-only directory: named
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(html_text, encoding="utf-8")
        written = [target]
        exported = target.parent / POINTS_CONVERTED
        recorded = data.log.location(POINTS_CONVERTED)
        if data.converted_written:
            if not data.converted.empty:  # no points: no export of nothing
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
