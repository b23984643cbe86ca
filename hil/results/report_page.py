"""The test report's data (what a run directory holds, gathered once) and its HTML building blocks:
escaping, number formats, tables, the axes of a figure (drawn and written by
:mod:`hil.results.report_svg`).

Imports hil's acceptance, store and analysis modules and :mod:`hil.results.report_svg`; the sections and figures of the
report (:mod:`hil.results.report_sections`, :mod:`hil.results.report_figures`) build on it.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from hil.analysis.grades import load_grade_table
from hil.results.acceptance_settings import SETTINGS_KEY, AcceptanceSettings
from hil.results.converted_points import converted_point
from hil.results.report_svg import new_figure
from hil.store.run_directory import MEASUREMENTS, POINTS
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
                    self.log.accuracy,
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


def _new_axes(title: str, xlabel: str, ylabel: str) -> tuple[Any, Any]:
    figure, (axes,) = new_figure(9.0, 4.8)
    axes.set_title(title, fontsize=11, y=1.0)
    axes.set_xlabel(xlabel)
    axes.set_ylabel(ylabel)
    axes.grid(True, color="#dddddd", linewidth=0.6)
    return figure, axes
