"""Derived results of the transient and mission-profile procedures, from a run's recorded log.

What lives here: one function per product, each a pure function of the log (samples, events,
parameters, tick, bench geometry), called by the derive step after a live run and by replay:

* :func:`mission_profile_document`: the mission verdict (``mission_profile.json``), judged with the
  flight case the run recorded in its ``mission_case`` event (:mod:`hil.analysis.mission_profile`);
* :func:`startup_document` and :func:`steps_document`: start-up and step-response figures
  (``startup.json``, ``steps.json``; :func:`hil.analysis.transients.transient_figures`);
* :func:`endurance_document`: drift of head, efficiency and temperatures (``endurance.json``).

Water properties for the NPSH available come from the mean fluid temperature of the run
(:mod:`hil.core.fluids`).

Imports hil's analysis, core and bench geometry only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from hil.analysis import transients
from hil.analysis.mission_profile import EVENT_KIND, IGNITION_EVENT, MissionRecord, judge
from hil.bench.config import BenchGeometry
from hil.core.fluids import water_state

__all__ = ["endurance_document", "mission_profile_document", "startup_document", "steps_document"]


def _columns(samples: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    times = samples["time_s"].to_numpy(dtype=np.float64)
    return times, {c: samples[c].to_numpy(dtype=np.float64) for c in samples.columns if c != "time_s"}


def mission_profile_document(
    samples: pd.DataFrame, events: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    """The mission verdict; None for a run that never recorded its flight case."""
    case = next((e for e in events if e.get("kind") == EVENT_KIND), None)
    if case is None:
        return None
    record = MissionRecord.from_dict(case["record"])
    ignition = next((e for e in events if e.get("kind") == IGNITION_EVENT), None)
    times, columns = _columns(samples)
    if ignition is None:
        return {
            "verdict": "fail",
            "note": "the run ended before ignition: no part of the burn was flown",
            "requirements": [],
            "segments": [],
        }
    document = judge(record, float(ignition["time_s"]), times, columns)
    document["ignition_time_s"] = float(ignition["time_s"])
    document["similarity"] = {
        "flight_density_kg_m3": record.similarity.flight_density_kg_m3,
        "bench_density_kg_m3": record.similarity.bench_density_kg_m3,
        "pressure_ratio_bench_over_flight": record.similarity.density_ratio,
    }
    return document


def _figures(
    samples: pd.DataFrame, events: Sequence[Mapping[str, Any]], tick_s: float, geometry: BenchGeometry
) -> list[dict[str, Any]]:
    times, columns = _columns(samples)
    temperature = columns.get("fluid_temperature_c")
    mean_c = (
        float(np.nanmean(temperature)) if temperature is not None and np.isfinite(temperature).any() else 20.0
    )
    density, vapour = water_state(mean_c)
    return transients.transient_figures(
        times,
        columns,
        [dict(e) for e in events],
        tick_s=tick_s,
        inlet_diameter_m=geometry.inlet_diameter_m,
        density_kg_m3=density,
        vapour_pressure_pa=vapour,
    )


def startup_document(
    samples: pd.DataFrame, events: Sequence[Mapping[str, Any]], tick_s: float, geometry: BenchGeometry
) -> dict[str, Any] | None:
    """Start-up figures (the run's single step from rest); None when the step was never commanded."""
    figures = _figures(samples, events, tick_s, geometry)
    if not figures:
        return None
    first = figures[0]
    settle = first["speed"]["settling_time_s"]
    times, columns = _columns(samples)
    if math.isfinite(settle):
        start = first["command_time_s"]
        first["energy_to_settle_j"] = transients.energy_j(
            times, columns["electrical_power_w"], start, start + settle
        )
    return first


def steps_document(
    samples: pd.DataFrame, events: Sequence[Mapping[str, Any]], tick_s: float, geometry: BenchGeometry
) -> dict[str, Any]:
    return {"steps": _figures(samples, events, tick_s, geometry)}


def endurance_document(
    samples: pd.DataFrame, points: Sequence[Mapping[str, Any]], parameters: Mapping[str, Any]
) -> dict[str, Any] | None:
    if not points:
        return None
    times, columns = _columns(samples)
    return transients.endurance_document(
        [dict(p) for p in points],
        times,
        columns,
        head_drift_fraction=float(parameters["head_drift_fraction"]),
        efficiency_drift_fraction=float(parameters["efficiency_drift_fraction"]),
        temperature_drift_k=float(parameters["temperature_drift_k"]),
        interval_s=float(parameters["interval_s"]),
    )
