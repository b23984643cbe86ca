"""The parts of the test report drawn from the raw log: the trip, the time series, the event log,
the injected faults, and the NPSH3 table with its head-against-NPSHA breakdown curves.

They need no operating point, so a run that tripped before its first point, or one interrupted
(read from its CSV journal), still gets a report that says what happened. The time series show the
main channels with the bench limits drawn (dashed) and the trip marked (a red line).

Imports hil's store (the run log) and :mod:`hil.results.report_svg` only; :mod:`hil.results.report` assembles the page.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hil.results.report_svg import min_max_decimate, new_figure, svg_of
from hil.store.run_log import RunLog

STOP_KINDS = ("trip", "operator_stop")
EVENT_ROWS_SHOWN = 400
"""The event log table lists at most this many events (the file has them all)."""
ROUTINE_KINDS = ("setpoint",)
"""Event kinds left out of the table when the log is longer than :data:`EVENT_ROWS_SHOWN`."""


def _e(value: Any) -> str:
    return html.escape(str(value))


# ------------------------------------------------------------------------------------ the trip


def stop_event(log: RunLog) -> dict[str, Any] | None:
    """The trip or operator stop that ended the run, if any."""
    for event in log.events:
        if event.get("kind") in STOP_KINDS:
            return event
    return None


def section_trip(log: RunLog) -> str:
    """What ended an aborted run: reason, time, values, and what the safe state commanded."""
    event = stop_event(log)
    status = log.status
    rows: list[tuple[str, str]] = [
        ("status", f"{status}" + (f" ({log.metadata['reason']})" if log.metadata.get("reason") else ""))
    ]
    if event is not None:
        rows.append(("what", "operator stop" if event["kind"] == "operator_stop" else "interlock trip"))
        rows.append(("reason", str(event.get("reason", ""))))
        rows.append(("bench time", f"{float(event.get('time_s', math.nan)):.2f} s after the start"))
        values = event.get("values") or {}
        rows.append(
            (
                "values",
                ", ".join(
                    f"{k} = {v:.6g}" if isinstance(v, float) else f"{k} = {v}" for k, v in values.items()
                ),
            )
        )
        safe = [
            e
            for e in log.events
            if e.get("kind") == "safe_state" and float(e.get("time_s", 0)) >= float(event.get("time_s", 0))
        ]
        if safe:
            rows.append(("safe state commanded", ", ".join(safe[0].get("commanded", [])) or "nothing"))
            if safe[0].get("failed"):
                rows.append(("safe state FAILED for", ", ".join(safe[0]["failed"])))
    elif status == "interrupted":
        rows.append(
            ("what", "the harness stopped without closing the run (killed or crashed): read from its journal")
        )
    body = "".join(f"<tr><th>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    return f'<table class="kv trip">{body}</table>'


# ------------------------------------------------------------------------------ the time series

_PANELS: tuple[tuple[str, tuple[tuple[str, float, str], ...]], ...] = (
    ("speed (rpm)", (("speed_rpm", 1.0, "speed"),)),
    (
        "pressure (kPa)",
        (("p_inlet_pa", 1e-3, "inlet"), ("p_outlet_pa", 1e-3, "outlet"), ("tank_pressure_pa", 1e-3, "tank")),
    ),
    ("flow (L/s)", (("flow_m3_s", 1e3, "flow"),)),
    ("power (W)", (("electrical_power_w", 1.0, "electrical input"),)),
    (
        "temperature (degC)",
        (
            ("fluid_temperature_c", 1.0, "fluid"),
            ("motor_temperature_c", 1.0, "motor"),
            ("controller_temperature_c", 1.0, "controller"),
        ),
    ),
)


def _limits(log: RunLog) -> dict[str, list[tuple[float, str]]]:
    """Bench limits per panel, scaled like the panel: (value, label)."""
    lim = log.bench.limits
    return {
        "speed (rpm)": [(lim.max_speed_rpm, "max speed")],
        "pressure (kPa)": [
            (lim.max_outlet_pressure_pa * 1e-3, "max outlet"),
            (lim.min_inlet_pressure_pa * 1e-3, "min inlet"),
        ],
        "flow (L/s)": [(lim.min_flow_while_running_m3_s * 1e3, "min flow while running")],
        "temperature (degC)": [
            (lim.max_fluid_temperature_c, "max fluid"),
            (lim.max_motor_temperature_c, "max motor"),
        ],
    }


def figure_time_series(log: RunLog) -> str | None:
    """Speed, pressures, flow, power and temperatures against bench time, limits dashed, trip marked."""
    samples = log.samples
    if samples.empty:
        return None
    panels = [(title, [c for c in channels if c[0] in samples.columns]) for title, channels in _PANELS]
    panels = [(title, channels) for title, channels in panels if channels]
    figure, axes_list = new_figure(11.0, 2.1 * len(panels) + 0.6, rows=len(panels))
    time_s = samples["time_s"].to_numpy(float)
    stop = stop_event(log)
    limits = _limits(log)
    for axes, (title, channels) in zip(axes_list, panels):
        for channel, scale, label in channels:
            axes.plot(
                *min_max_decimate(time_s, samples[channel].to_numpy(float) * scale),
                linewidth=0.8,
                label=label,
            )
        for value, label in limits.get(title, []):
            if math.isfinite(value):
                axes.axhline(value, color="#c0392b", linestyle="--", linewidth=0.8)
                axes.annotate(label, (time_s[0], value), fontsize=7, color="#c0392b", va="bottom")
        if stop is not None:
            axes.axvline(float(stop["time_s"]), color="#c0392b", linewidth=1.5)
        axes.set_ylabel(title, fontsize=8)
        axes.grid(True, color="#dddddd", linewidth=0.6)
        if len(channels) > 1:
            axes.legend(fontsize=7, loc="upper right")
    axes_list[-1].set_xlabel("bench time (s)")
    title = "Main channels against bench time (dashed: bench limits"
    title += (
        "; red line: " + ("operator stop" if stop and stop["kind"] == "operator_stop" else "trip") + ")"
        if stop
        else ")"
    )
    axes_list[0].set_title(title, fontsize=10, y=1.0)
    return svg_of(figure)


# ---------------------------------------------------------------------------------- the events


def _readable(value: Any) -> Any:
    """Floats to 6 significant digits (10.200000000000001 reads 10.2); the event file keeps them exact."""
    if isinstance(value, float):
        return float(f"{value:.6g}") if math.isfinite(value) else str(value)
    if isinstance(value, dict):
        return {k: _readable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_readable(v) for v in value]
    return value


def _summary(event: Mapping[str, Any]) -> str:
    fields = {k: v for k, v in event.items() if k not in ("time_s", "kind", "detail", "limits")}
    return json.dumps(_readable(fields), default=str)[:300]


def _collapse_ramps(events: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """Consecutive setpoints of one quantity (a ramp: one setpoint a tick) as one row, first to last."""
    out: list[Mapping[str, Any]] = []
    run: list[Mapping[str, Any]] = []

    def flush() -> None:
        if len(run) > 2:
            first, last = run[0], run[-1]
            out.append(
                {
                    "time_s": first.get("time_s"),
                    "kind": "ramp",
                    "quantity": first.get("quantity"),
                    "from": first.get("value"),
                    "to": last.get("value"),
                    "setpoints": len(run),
                    "until_s": last.get("time_s"),
                }
            )
        else:
            out.extend(run)
        run.clear()

    for event in events:
        if event.get("kind") == "setpoint" and (not run or run[-1].get("quantity") == event.get("quantity")):
            run.append(event)
            continue
        flush()
        if event.get("kind") == "setpoint":
            run.append(event)
        else:
            out.append(event)
    flush()
    return out


def section_events(log: RunLog) -> str:
    events = log.events
    shown: Sequence[Mapping[str, Any]] = _collapse_ramps(events)
    note = ""
    if len(shown) < len(events):
        note = (
            f'<p class="note">{len(events)} events; a ramp (one setpoint a tick) is shown as one row: '
            "the run's event file holds them all.</p>"
        )
    if len(shown) > EVENT_ROWS_SHOWN:
        shown = [e for e in shown if e.get("kind") not in ROUTINE_KINDS][:EVENT_ROWS_SHOWN]
        note = (
            f'<p class="note">{len(events)} events; setpoints left out and at most {EVENT_ROWS_SHOWN} '
            "shown: the run's event file holds them all.</p>"
        )
    rows = "".join(
        f'<tr class="{_e(e.get("kind"))}"><td>{float(e.get("time_s", math.nan)):.1f}</td><td>{_e(e.get("kind"))}</td>'
        f"<td>{_e(_summary(e))}</td></tr>"
        for e in shown
    )
    head = "<thead><tr><th>time s</th><th>event</th><th>detail</th></tr></thead>"
    return f'{note}<div class="wide"><table class="events">{head}<tbody>{rows}</tbody></table></div>'


def section_faults(log: RunLog) -> str:
    faults = log.metadata.get("faults") or []
    if not faults:
        return "<p>No fault was injected.</p>"
    items = "".join(f"<li><code>{_e(f)}</code></li>" for f in faults)
    return f"<p>Injected into the virtual bench (KIND:TARGET@SECONDS[+DURATION]):</p><ul>{items}</ul>"


# --------------------------------------------------------------------------------------- NPSH3


def section_npsh3_table(npsh3: pd.DataFrame, grade_name: str, tolerance: Any) -> str:
    """NPSH3 per flow with its uncertainty and the grade's tolerance (``tolerance(npsh3_m)``)."""

    def number(row: Mapping[str, Any], key: str) -> float:
        try:
            return float(row.get(key, math.nan))
        except (TypeError, ValueError):
            return math.nan

    rows = []
    for row in npsh3.to_dict("records"):
        npsh3_m = number(row, "npsh3_m")
        target = number(row, "flow_target_m3_s")
        target = target if math.isfinite(target) else number(row, "flow_m3_s")
        status = str(row.get("status", "ok"))
        count = number(row, "points")
        readings = f"{count:.0f}" if math.isfinite(count) else "-"
        if status == "ok" and math.isfinite(npsh3_m):
            cells = [
                f"{target * 1e3:.4f}",
                f"{number(row, 'flow_m3_s') * 1e3:.4f}",
                f"{npsh3_m:.3f}",
                f"{number(row, 'npsh3_uncertainty_m'):.3f}",
                f"{tolerance(npsh3_m):.3f}",
                readings,
                "ok",
            ]
        else:
            flow = number(row, "flow_m3_s")  # the flow obtained, when the target was not reached
            shown = f"{flow * 1e3:.4f}" if math.isfinite(flow) else "-"
            cells = [f"{target * 1e3:.4f}", shown, "-", "-", "-", readings, _e(status)]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = (
        "<thead><tr><th>target flow L/s</th><th>flow L/s</th><th>NPSH3 m</th><th>&plusmn; m (95 %)</th>"
        f"<th>tolerance m ({_e(grade_name)})</th><th>readings</th><th>status</th></tr></thead>"
    )
    return f'<table class="points">{head}<tbody>{"".join(rows)}</tbody></table>'


def figure_breakdown(points: pd.DataFrame, npsh3: pd.DataFrame | None) -> str | None:
    """Head against NPSHA for each tested flow, with the 97 % line and the NPSH3 found."""
    if points.empty or "npsh_series" not in points.columns or "npsha_m" not in points.columns:
        return None
    figure, (axes,) = new_figure(11.0, 4.8)
    colours = ("#1f5fa8", "#c2551a", "#2e8b3e", "#8a3fa0", "#a0892c", "#2c8a8a")
    for index, (series, group) in enumerate(points.groupby("npsh_series")):
        colour = colours[index % len(colours)]
        sweep = group[
            group.get("npsh_role", pd.Series(index=group.index, dtype=str)).astype(str) != "flow_sensitivity"
        ]
        order = np.argsort(sweep["npsha_m"].to_numpy(float))
        npsha = sweep["npsha_m"].to_numpy(float)[order]
        head = sweep["head_m"].to_numpy(float)[order]
        target = float(group["flow_target_m3_s"].iloc[0]) if "flow_target_m3_s" in group else math.nan
        axes.plot(npsha, head, "o-", color=colour, markersize=3, linewidth=1, label=f"{target * 1e3:.3f} L/s")
        if npsh3 is not None and not npsh3.empty:
            match = npsh3[npsh3["npsh_series"] == series] if "npsh_series" in npsh3 else npsh3.iloc[0:0]
            if not match.empty and str(match["status"].iloc[0]) == "ok":
                threshold = float(match["threshold_head_m"].iloc[0])
                axes.axhline(threshold, color=colour, linestyle=":", linewidth=0.8)
                axes.axvline(float(match["npsh3_m"].iloc[0]), color=colour, linestyle="--", linewidth=0.8)
    axes.set_title(
        "Head against NPSHA per flow (dotted: 97 % of the reference head; dashed: NPSH3)", fontsize=10, y=1.0
    )
    axes.set_xlabel("NPSHA (m)")
    axes.set_ylabel("head (m)")
    axes.grid(True, color="#dddddd", linewidth=0.6)
    axes.legend(fontsize=8)
    return svg_of(figure)
