"""The report's sections for mission-profile, start-up, step and endurance runs.

What lives here: :func:`sections`, which returns the extra ``(title, html)`` sections of a run's
report from its derived documents (``mission_profile.json``, ``startup.json``, ``steps.json``,
``endurance.json``): the mission verdict per requirement with its worst moment, the per-segment
figures beside the sizing's, and plots of the whole profile (delivered flow and pressure rise
against the requirement, NPSH available against the margin on NPSH3, electrical power against the
sizing's peak, the speed); the start-up and step figures; the endurance drifts. A run without any
of them gets none.

Imports hil's analysis (the profile series), store and the report's own HTML and figure helpers
(:mod:`hil.results.report`, imported where used: the report imports this module).
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from hil.analysis.mission_profile import EVENT_KIND, MissionRecord, profile_series

__all__ = ["sections"]


def _e(value: Any) -> str:
    return html.escape(str(value))


def _n(value: Any, digits: int = 4) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "&ndash;"
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return _e(value)


def _load(directory: Path, name: str) -> Any:
    path = directory / name
    return json.loads(path.read_text()) if path.exists() else None


def _mission(
    directory: Path, doc: Mapping[str, Any], samples: pd.DataFrame, events: list[dict[str, Any]]
) -> str:
    from hil.results.report_page import _new_axes, _table
    from hil.results.report_svg import svg_of

    rows = [
        [
            _e(v["requirement"]),
            f'<span class="{"pass" if v["verdict"] == "pass" else "fail"}">{_e(v["verdict"])}</span>',
            _n(v.get("worst_value")),
            _n(v.get("limit")),
            _e(v.get("unit", "")),
            _n(v.get("worst_time_s")),
            _n(v.get("margin_lost_at_s")),
        ]
        for v in doc.get("requirements", [])
    ]
    pump = f"{doc.get('propellant', '')} {doc.get('side', '')} pump"
    out = f"<p>Overall: <b>{_e(doc.get('verdict'))}</b>; {_e(pump)}.</p>"
    out += _table(
        ["requirement", "verdict", "worst value", "limit", "unit", "worst at (s)", "margin lost at (s)"], rows
    )
    seg_rows = [
        [
            _n(s["segment"]),
            _n(s["throttle"]),
            f"{_n(s['start_s'])}&ndash;{_n(s['end_s'])}",
            _n(s["mean_flow_m3_s"] * 1e3 if s["mean_flow_m3_s"] == s["mean_flow_m3_s"] else math.nan),
            _n(s["mean_flight_rise_pa"] / 1e5),
            _n(s["mean_speed_rpm"], 5),
            _n(s["sizing_speed_rpm"], 5),
            _n(s["mean_flight_power_w"]),
            _n(s["sizing_power_w"]),
        ]
        for s in doc.get("segments", [])
    ]
    out += _table(
        [
            "segment",
            "throttle",
            "mission time (s)",
            "flow (L/s)",
            "flight rise (bar)",
            "speed (rpm)",
            "sizing speed (rpm)",
            "flight power (W)",
            "sizing power (W)",
        ],
        seg_rows,
    )
    case = next((e for e in events if e.get("kind") == EVENT_KIND), None)
    if case is None or "ignition_time_s" not in doc:
        return out
    record = MissionRecord.from_dict(case["record"])
    times = samples["time_s"].to_numpy(dtype=np.float64)
    columns = {c: samples[c].to_numpy(dtype=np.float64) for c in samples.columns if c != "time_s"}
    series = profile_series(record, float(doc["ignition_time_s"]), times, columns)
    t = series["mission_time_s"]
    plots = [
        (
            "Delivered flow",
            "flow (L/s)",
            [("delivered", series["flow_m3_s"] * 1e3), ("required", series["required_flow_m3_s"] * 1e3)],
        ),
        (
            "Pressure rise (flight)",
            "rise (bar)",
            [("delivered", series["flight_rise_pa"] / 1e5), ("required", series["required_rise_pa"] / 1e5)],
        ),
        (
            "NPSH available",
            "NPSH (m)",
            [("NPSHA imposed", series["npsha_m"])]
            + (
                [(f"{record.npsh_margin:g} x NPSH3", record.npsh_margin * series["npsh3_m"])]
                if record.npsh3
                else []
            ),
        ),
        (
            "Electrical power (flight)",
            "power (W)",
            [
                ("drawn", series["flight_electrical_power_w"]),
                ("sizing peak", np.full(t.size, record.peak_electrical_power_w)),
            ],
        ),
        ("Pump speed", "speed (rpm)", [("measured", series["speed_rpm"])]),
    ]
    for title, ylabel, lines in plots:
        figure, axes = _new_axes(title, "mission time (s)", ylabel)
        for label, values in lines:
            axes.plot(t, values, label=label, linewidth=1.0)
        axes.legend(loc="best", fontsize=8)
        out += f"<figure>{svg_of(figure)}<figcaption>{_e(title)} over the burn.</figcaption></figure>"
    return out


def _step_rows(steps: list[Mapping[str, Any]]) -> str:
    from hil.results.report_page import _table

    rows = []
    for s in steps:
        # the commanded quantity's figures: the speed, or the discharge pressure of a pressure step
        if "discharge_pressure" in s:
            commanded, other = s["discharge_pressure"], s["speed"]
            command = f"{_n(s['from_pa'] / 1e5, 4)} &rarr; {_n(s['to_pa'] / 1e5, 4)} bar"
        else:
            commanded, other = s["speed"], s["pressure_rise"]
            command = f"{_n(s['from_rpm'], 5)} &rarr; {_n(s['to_rpm'], 5)} rpm"
        rows.append(
            [
                _n(s["step"]),
                command,
                _n(commanded["time_to_10_s"]),
                _n(commanded["time_to_90_s"]),
                _n(commanded["rise_time_s"]),
                _n(commanded["settling_time_s"]),
                _n(commanded["overshoot_fraction"]),
                _n(other["time_to_10_s"]),
                _n(other["time_to_90_s"]),
                _n(s["peak_motor_current_a"]),
                _n(s["peak_electrical_power_w"]),
                _n(s["energy_j"]),
                _n(s["min_npsha_m"]),
                _n(s.get("min_npsh_margin")),
                _n(s["time_resolution_s"]),
            ]
        )
    note = (
        "<p>Figures of the commanded quantity (the speed, or the discharge pressure under closed-loop "
        "control); <i>other</i> is the pressure rise of a speed step and the speed of a pressure step. "
        "Times from the command; settling to 2 % of the change.</p>"
    )
    return note + _table(
        [
            "step",
            "command",
            "10 % (s)",
            "90 % (s)",
            "rise time (s)",
            "settling 2 % (s)",
            "overshoot",
            "other 10 % (s)",
            "other 90 % (s)",
            "peak current (A)",
            "peak power (W)",
            "energy (J)",
            "lowest NPSHA (m)",
            "lowest NPSHA / NPSH3",
            "resolution (s)",
        ],
        rows,
    )


def sections(directory: Path, samples: pd.DataFrame, events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """The extra report sections of this run (none for a run of another procedure)."""
    from hil.results.report_page import _table

    out = []
    mission = _load(directory, "mission_profile.json")
    if mission is not None:
        out.append(("Mission profile", _mission(directory, mission, samples, events)))
    startup = _load(directory, "startup.json")
    if startup is not None:
        out.append(("Start-up", _step_rows([startup])))
    steps = _load(directory, "steps.json")
    if steps is not None:
        out.append(("Steps", _step_rows(steps["steps"])))
    endurance = _load(directory, "endurance.json")
    if endurance is not None:
        rows = [
            [_e(v["requirement"]), _e(v["verdict"]), _n(v.get("worst_value"))]
            for v in endurance["requirements"]
        ]
        out.append(
            (
                "Endurance",
                f"<p>Overall: <b>{_e(endurance['verdict'])}</b></p>"
                + _table(["requirement", "verdict", "worst"], rows),
            )
        )
    return out
