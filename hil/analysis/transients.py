"""Figures of a transient: rise and settling times, overshoot, peaks and energy, from sampled logs.

What lives here: :func:`crossing_time` (first time a sampled signal crosses a level, interpolated
linearly between the two samples around it), :func:`step_figures` (the usual step-response figures
of one quantity after a step of its command) and :func:`energy_j` (trapezoidal integral of power).

Why interpolate: a bench samples at its tick (10 Hz on the virtual bench) while a small pump
reaches speed in a few tenths of a second. Under a current limit the speed rises almost linearly,
so the crossing interpolated between two samples is good to a few milliseconds, where taking the
first sample past the level would be wrong by up to a whole tick.

Conventions (as in control texts, e.g. Ogata, Modern Control Engineering, ch. 5): times from the
step; rise time from 10 % to 90 % of the change; settling time to the last entry into a band of
``band_fraction`` of the change about the final value; overshoot as a fraction of the change
beyond the final value. The final value is the mean over the last ``final_window_s`` of the record.

Pure functions over numpy arrays; imports numpy and the NPSH3 table of
:mod:`hil.analysis.mission_profile` only.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from hil.analysis.mission_profile import Npsh3Table

__all__ = ["StepFigures", "crossing_time", "energy_j", "step_figures"]


def crossing_time(times: np.ndarray, values: np.ndarray, level: float, rising: bool = True) -> float:
    """First time ``values`` reaches ``level`` (from below if ``rising``), linearly interpolated; NaN if never."""
    v = np.asarray(values, dtype=float)
    t = np.asarray(times, dtype=float)
    reached = v >= level if rising else v <= level
    hits = np.nonzero(reached & ~np.isnan(v))[0]
    if hits.size == 0:
        return math.nan
    i = int(hits[0])
    if i == 0 or math.isnan(v[i - 1]) or v[i] == v[i - 1]:
        return float(t[i])
    return float(t[i - 1] + (level - v[i - 1]) * (t[i] - t[i - 1]) / (v[i] - v[i - 1]))


@dataclass(frozen=True)
class StepFigures:
    """Step-response figures of one quantity (times in seconds from the step)."""

    initial: float
    final: float
    time_to_10_s: float
    time_to_90_s: float
    rise_time_s: float
    settling_time_s: float
    overshoot_fraction: float
    peak: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def step_figures(
    times: np.ndarray,
    values: np.ndarray,
    step_time_s: float,
    *,
    initial: float | None = None,
    band_fraction: float = 0.02,
    final_window_s: float = 1.0,
) -> StepFigures:
    """Figures of ``values`` after a step at ``step_time_s`` (samples from the step to the record's end).

    ``initial`` defaults to the last sample at or before the step.
    """
    t = np.asarray(times, dtype=float)
    v = np.asarray(values, dtype=float)
    before = np.nonzero((t <= step_time_s) & ~np.isnan(v))[0]
    start = (
        float(v[before[-1]])
        if initial is None and before.size
        else (initial if initial is not None else math.nan)
    )
    after = t >= step_time_s
    ta, va = t[after] - step_time_s, v[after]
    tail = ta >= ta[-1] - final_window_s
    final = float(np.nanmean(va[tail]))
    change = final - start
    rising = change >= 0.0
    if change == 0.0 or math.isnan(change):
        return StepFigures(start, final, math.nan, math.nan, math.nan, math.nan, math.nan, final)
    t10 = crossing_time(ta, va, start + 0.1 * change, rising)
    t90 = crossing_time(ta, va, start + 0.9 * change, rising)
    outside = np.abs(va - final) > band_fraction * abs(change)
    idx = np.nonzero(outside & ~np.isnan(va))[0]
    settling = 0.0 if idx.size == 0 else (float(ta[idx[-1] + 1]) if idx[-1] + 1 < ta.size else math.nan)
    peak = float(np.nanmax(va)) if rising else float(np.nanmin(va))
    overshoot = max((peak - final) / change, 0.0)
    return StepFigures(start, final, t10, t90, t90 - t10, settling, overshoot, peak)


def energy_j(times: np.ndarray, power_w: np.ndarray, start_s: float, end_s: float) -> float:
    """Energy drawn between two times: the trapezoidal integral of the samples within (NaN samples skipped)."""
    t = np.asarray(times, dtype=float)
    p = np.asarray(power_w, dtype=float)
    mask = (t >= start_s) & (t <= end_s) & ~np.isnan(p)
    t, p = t[mask], p[mask]
    if t.size < 2:
        return 0.0
    return float(np.sum(0.5 * (p[1:] + p[:-1]) * np.diff(t)))


STEP_EVENT = "step"
"""The event a transient procedure logs at each change of its command (``quantity`` says which:
``speed_rpm``, or ``p_outlet_pa`` for a discharge-pressure command under closed-loop control)."""
STEPS_END_EVENT = "steps_end"
"""Logged after the last step's dwell, before the ramp-down: the end of the last step's record. Runs
recorded before it existed end their last step at the next speed setpoint (a speed-commanded run
sends none during a dwell); a pressure-controlled run trims the speed every tick and needs it."""
PRESSURE_QUANTITY = "p_outlet_pa"
NPSH3_TABLE_EVENT = "npsh3_table"
"""The measured NPSH3 curve a procedure judged its NPSH margin with (``speed_rpm``, ``flows_m3_s``,
``npsh3_m``): recorded with the run so the margin is derived again on replay."""


def npsh3_of_events(events: list[dict[str, Any]]) -> Npsh3Table | None:
    """The NPSH3 curve a run recorded, or None."""
    for event in events:
        if event.get("kind") == NPSH3_TABLE_EVENT:
            return Npsh3Table(
                float(event["speed_rpm"]),
                tuple(float(v) for v in event["flows_m3_s"]),
                tuple(float(v) for v in event["npsh3_m"]),
            )
    return None


def _speed_command_time(events: list[dict[str, Any]], after_s: float) -> float:
    """When the speed command following a ``step`` event was sent (its ``setpoint`` event)."""
    for event in events:
        if (
            event.get("kind") == "setpoint"
            and event.get("quantity") == "speed_rpm"
            and event["time_s"] >= after_s
        ):
            return float(event["time_s"])
    return after_s


def _npsha_m(
    p_inlet_pa: np.ndarray,
    flow_m3_s: np.ndarray,
    density_kg_m3: float,
    vapour_pressure_pa: float,
    inlet_diameter_m: float,
) -> np.ndarray:
    velocity = flow_m3_s / (math.pi * inlet_diameter_m**2 / 4.0)
    return (p_inlet_pa - vapour_pressure_pa) / (density_kg_m3 * 9.80665) + velocity**2 / (2.0 * 9.80665)


def transient_figures(
    times: np.ndarray,
    columns: dict[str, np.ndarray],
    events: list[dict[str, Any]],
    *,
    tick_s: float,
    inlet_diameter_m: float,
    density_kg_m3: float,
    vapour_pressure_pa: float,
) -> list[dict[str, Any]]:
    """Figures of every ``step`` of a run: speed and pressure rise, peaks, energy, lowest NPSHA.

    Each step's record runs from its command to the next step's event (or the last sample before
    the ramp-down that ends the procedure: the next ``setpoint`` of speed after the dwell).
    """
    t = np.asarray(times, dtype=float)
    steps = [e for e in events if e.get("kind") == STEP_EVENT]
    out = []
    rise = np.asarray(columns["p_outlet_pa"], dtype=float) - np.asarray(columns["p_inlet_pa"], dtype=float)
    npsha = _npsha_m(
        np.asarray(columns["p_inlet_pa"], dtype=float),
        np.asarray(columns["flow_m3_s"], dtype=float),
        density_kg_m3,
        vapour_pressure_pa,
        inlet_diameter_m,
    )
    npsh3 = npsh3_of_events(events)
    flow = np.asarray(columns["flow_m3_s"], dtype=float)
    speed_rpm = np.asarray(columns["speed_rpm"], dtype=float)
    end_marker = next((float(e["time_s"]) for e in events if e.get("kind") == STEPS_END_EVENT), None)
    for i, step in enumerate(steps):
        pressure_step = step.get("quantity") == PRESSURE_QUANTITY
        # a pressure command takes effect when given; a speed step when its setpoint was sent
        start = float(step["time_s"]) if pressure_step else _speed_command_time(events, float(step["time_s"]))
        later = [
            float(e["time_s"])
            for e in events
            if e.get("kind") == "setpoint" and e.get("quantity") == "speed_rpm" and e["time_s"] > start + 1e-9
        ]
        if i + 1 < len(steps):
            end = float(steps[i + 1]["time_s"])
        elif end_marker is not None:
            end = end_marker
        else:
            end = later[0] if later else float(t[-1])
        window = (t >= start - 2.0 * tick_s) & (t <= end)
        tw = t[window]
        speed = step_figures(tw, np.asarray(columns["speed_rpm"], dtype=float)[window], start)
        pressure = step_figures(tw, rise[window], start)
        after = (t >= start) & (t <= end)
        current = np.asarray(columns["motor_current_a"], dtype=float)
        power = np.asarray(columns["electrical_power_w"], dtype=float)
        tail = after & (t >= end - 1.0)
        figures: dict[str, Any] = {
            "step": i + 1,
            "command_time_s": start,
        }
        if pressure_step:
            outlet = np.asarray(columns["p_outlet_pa"], dtype=float)
            figures.update(
                quantity=PRESSURE_QUANTITY,
                from_pa=float(step.get("from_value", math.nan)),
                to_pa=float(step.get("to_value", math.nan)),
                discharge_pressure=step_figures(tw, outlet[window], start).as_dict(),
            )
        else:
            figures.update(
                from_rpm=float(step.get("from_value", math.nan)), to_rpm=float(step.get("to_value", math.nan))
            )
        figures.update(
            {
                "speed": speed.as_dict(),
                "pressure_rise": pressure.as_dict(),
                "peak_motor_current_a": float(np.nanmax(np.abs(current[after]))),
                "final_motor_current_a": float(np.nanmean(current[tail])),
                "peak_electrical_power_w": float(np.nanmax(power[after])),
                "energy_j": energy_j(t, power, start, end),
                "min_npsha_m": float(np.nanmin(npsha[after])),
                "time_resolution_s": tick_s,
            }
        )
        if npsh3 is not None:
            ratio = np.array(
                [
                    a / h if h > 0.0 else math.inf
                    for a, h in zip(
                        npsha[after],
                        (
                            npsh3.at(q, n) if np.isfinite(q) and np.isfinite(n) else math.nan
                            for q, n in zip(flow[after], speed_rpm[after], strict=True)
                        ),
                        strict=True,
                    )
                ]
            )
            valid = np.isfinite(ratio)
            k = int(np.argmin(np.where(valid, ratio, np.inf))) if valid.any() else 0
            figures["min_npsh_margin"] = float(ratio[k]) if valid.any() else math.nan
            figures["min_npsh_margin_time_s"] = float(t[after][k] - start) if valid.any() else math.nan
        out.append(figures)
    return out


ENDURANCE_TEMPERATURES = ("motor_temperature_c", "controller_temperature_c", "fluid_temperature_c")


def endurance_document(
    points: list[dict[str, Any]],
    times: np.ndarray,
    columns: dict[str, np.ndarray],
    *,
    head_drift_fraction: float,
    efficiency_drift_fraction: float,
    temperature_drift_k: float,
    interval_s: float,
) -> dict[str, Any]:
    """Drift of an endurance run's points from the first, and whether temperatures settled."""
    t = np.asarray(times, dtype=float)
    rows = []
    first = points[0] if points else None
    worst = {"head": 0.0, "efficiency": 0.0}
    worst_at = {"head": math.nan, "efficiency": math.nan}
    for point in points:
        row = {
            "elapsed_s": float(point.get("elapsed_s", math.nan)),
            "head_m": float(point["head_m"]),
            "overall_efficiency": float(point["overall_efficiency"]),
        }
        mask = (t >= point["window_start_s"]) & (t <= point["window_end_s"])
        for name in ENDURANCE_TEMPERATURES:
            if name in columns:
                row[name] = float(np.nanmean(np.asarray(columns[name], dtype=float)[mask]))
        assert first is not None
        for key, field in (("head", "head_m"), ("efficiency", "overall_efficiency")):
            drift = row[field] / float(first[field]) - 1.0
            row[f"{key}_drift_fraction"] = drift
            if abs(drift) > abs(worst[key]):
                worst[key], worst_at[key] = drift, row["elapsed_s"]
        rows.append(row)
    verdicts = [
        {
            "requirement": f"head within +-{head_drift_fraction:g} of the first point",
            "verdict": "pass" if rows and abs(worst["head"]) <= head_drift_fraction else "fail",
            "worst_value": worst["head"],
            "worst_elapsed_s": worst_at["head"],
        },
        {
            "requirement": f"overall efficiency within +-{efficiency_drift_fraction:g} of the first point",
            "verdict": "pass" if rows and abs(worst["efficiency"]) <= efficiency_drift_fraction else "fail",
            "worst_value": worst["efficiency"],
            "worst_elapsed_s": worst_at["efficiency"],
        },
    ]
    end = float(t[-1]) if t.size else 0.0
    last = points[-1]["window_end_s"] if points else end
    for name in ENDURANCE_TEMPERATURES:
        if name not in columns:
            continue
        values = np.asarray(columns[name], dtype=float)
        now = (t >= last - 1.0) & (t <= last)
        before = (t >= last - interval_s - 1.0) & (t <= last - interval_s)
        rise = (
            float(np.nanmean(values[now]) - np.nanmean(values[before]))
            if before.any() and now.any()
            else math.nan
        )
        verdicts.append(
            {
                "requirement": f"{name} settled: rise <= {temperature_drift_k:g} K over the last {interval_s:g} s",
                "verdict": "pass" if math.isfinite(rise) and rise <= temperature_drift_k else "fail",
                "worst_value": rise,
                "highest": float(np.nanmax(values)) if values.size else math.nan,
            }
        )
    return {
        "verdict": "pass" if all(v["verdict"] == "pass" for v in verdicts) else "fail",
        "requirements": verdicts,
        "points": rows,
    }
