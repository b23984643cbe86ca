"""Benchmark: how much does re-analysing a run cost compared with merely reading its log?

Generates a synthetic one-hour, 100 Hz, 16-channel performance-test log (16 operating points along
a pump curve, each reached by a valve ramp and then held) as a Parquet file in a temporary
directory, then times

  (a) reading it with pandas, and
  (b) reading it plus a full re-analysis: head over the whole log, steady judgement of every
      channel over sliding 2 s windows every 0.1 s (what the runner does live, once per tick),
      steady operating points found from the windows, averaging with uncertainty, conversion to
      the specified speed, H/P/eta fits and the acceptance verdict.

and prints both times and their ratio (best of each, and the spread of the ratios of interleaved
pairs), each stage of the analysis as a multiple of the read it was paired with, and the peak
memory the analysis allocates against the log's in-memory size. Both (a) and (b) are the same
``pandas.read_parquet`` of the same file (pyarrow, its threads and its memory pool); the analysis
is single-threaded numpy, whose fresh arrays cost page faults the read's pool mostly avoids (about
0.6 ms per MB on the development machine). ``--check``
also compares every steady verdict with the direct computation (every window as a row, memory
proportional to the log times the window). Run: ``python benchmarks/bench_analysis.py [--check]``
(``--duration-s 60`` for a quick run). Timing goes through :class:`hil.core.clock.WallClock`.

Imports numpy, pandas, pyarrow and hil (clock, fluids, analysis) only.
"""

from __future__ import annotations

import argparse
import tempfile
import tracemalloc
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
from numpy.lib.stride_tricks import sliding_window_view

from hil.analysis.acceptance import GuaranteePoint, judge_acceptance
from hil.analysis.fits import fit_pump_curves
from hil.analysis.grades import default_steady_limits, load_grade_table
from hil.analysis.head import efficiency, hydraulic_power_w, total_head_m
from hil.analysis.speed_conversion import convert_to_speed
from hil.analysis.steady import SteadyLimits, judge_steady_windows_all
from hil.analysis.uncertainty import average_with_uncertainty
from hil.core.clock import WallClock
from hil.core.fluids import STANDARD_GRAVITY_M_S2, water_density_kg_m3

RATE_HZ = 100.0
SPEED_RPM = 3000.0
INLET_D_M = 0.08
OUTLET_D_M = 0.065
WINDOW_SAMPLES = 200  # 2 s
STEP_SAMPLES = 10  # judged every 0.1 s
N_POINTS = 16
RAMP_S = 5.0
Q_G = 0.01
H_G = 31.5

CHANNELS = (
    "speed_rpm",
    "p_inlet_pa",
    "p_outlet_pa",
    "flow_m3_s",
    "torque_n_m",
    "electrical_power_w",
    "bus_voltage_v",
    "bus_current_a",
    "fluid_temperature_c",
    "motor_temperature_c",
    "controller_temperature_c",
    "valve_opening",
    "tank_pressure_pa",
    "p_inlet_2_pa",
    "ambient_pressure_pa",
    "vibration_m_s2",
)
STEADY_CHANNELS = {
    "flow_m3_s": "flow",
    "head_m": "head",
    "speed_rpm": "speed",
    "torque_n_m": "torque",
    "electrical_power_w": "power",
}


def _pump_head_m(flow: np.ndarray) -> np.ndarray:
    return 42.0 - 1.0e5 * flow**2


def _pump_efficiency(flow: np.ndarray) -> np.ndarray:
    return np.clip(0.8 - 2000.0 * (flow - 0.011) ** 2, 0.05, None)


def generate_log(path: Path, duration_s: float, seed: int = 1) -> int:
    """Write the synthetic log; returns the number of rows."""
    rng = np.random.default_rng(seed)
    n = int(duration_s * RATE_HZ)
    t = np.arange(n) / RATE_HZ
    rho = water_density_kg_m3(20.0)
    setpoints = np.linspace(0.004, 0.016, N_POINTS)
    hold_s = duration_s / N_POINTS
    index = np.minimum((t // hold_s).astype(int), N_POINTS - 1)
    previous = np.where(index > 0, setpoints[np.maximum(index - 1, 0)], setpoints[0] * 0.5)
    into = t - index * hold_s
    blend = np.clip(into / RAMP_S, 0.0, 1.0)
    flow_true = previous + (setpoints[index] - previous) * blend
    noise = lambda scale: rng.normal(0.0, scale, n)  # noqa: E731 - local shorthand
    head_true = _pump_head_m(flow_true)
    p_in = 1.5e5 + noise(300.0)
    area_in, area_out = np.pi / 4 * INLET_D_M**2, np.pi / 4 * OUTLET_D_M**2
    velocity_term = ((flow_true / area_out) ** 2 - (flow_true / area_in) ** 2) / (2 * STANDARD_GRAVITY_M_S2)
    p_out = p_in + rho * STANDARD_GRAVITY_M_S2 * (head_true - velocity_term) + noise(600.0)
    shaft_w = rho * STANDARD_GRAVITY_M_S2 * flow_true * head_true / _pump_efficiency(flow_true)
    speed = SPEED_RPM + noise(2.0)
    torque = shaft_w / (speed * 2 * np.pi / 60) * (1 + noise(0.003))
    electrical = shaft_w / 0.9 * (1 + noise(0.004))
    columns = {
        "time_s": t,
        "speed_rpm": speed,
        "p_inlet_pa": p_in,
        "p_outlet_pa": p_out,
        "flow_m3_s": flow_true * (1 + noise(0.004)),
        "torque_n_m": torque,
        "electrical_power_w": electrical,
        "bus_voltage_v": 48.0 + noise(0.05),
        "bus_current_a": electrical / 48.0,
        "fluid_temperature_c": 20.0 + t / duration_s + noise(0.01),
        "motor_temperature_c": 30.0 + 20.0 * t / duration_s + noise(0.05),
        "controller_temperature_c": 28.0 + 10.0 * t / duration_s + noise(0.05),
        "valve_opening": np.clip(flow_true / 0.02, 0, 1),
        "tank_pressure_pa": 1.6e5 + noise(100.0),
        "p_inlet_2_pa": p_in + noise(200.0),
        "ambient_pressure_pa": 101325.0 + noise(5.0),
        "vibration_m_s2": np.abs(noise(0.2)),
    }
    assert tuple(columns)[1:] == CHANNELS
    pq.write_table(pa.table(columns), path)
    return n


def _channel_limits(kind_limits: dict[str, SteadyLimits]) -> dict[str, SteadyLimits]:
    """The limits of every judged channel: its kind's grade limits, else +-3 % and 1 %."""
    limits = {}
    for name in (*CHANNELS, "head_m"):
        kind = STEADY_CHANNELS.get(name)
        fluctuation = kind_limits[kind].max_fluctuation_fraction if kind else 0.03
        trend = kind_limits[kind].max_trend_fraction if kind else 0.01
        limits[name] = SteadyLimits(fluctuation, trend, reference_scale=1e-9)
    return limits


def analyse(frame: pd.DataFrame, spent: dict[str, float] | None = None) -> dict[str, object]:
    """Full re-analysis of a performance-test log; returns a few numbers to print. With ``spent``,
    adds the seconds each stage took to it."""
    clock = WallClock()
    mark = clock.now_s()

    def lap(stage: str) -> None:
        nonlocal mark
        now = clock.now_s()
        if spent is not None:
            spent[stage] = spent.get(stage, 0.0) + now - mark
        mark = now

    table = load_grade_table()
    grade = table.grade("1B")
    limits = default_steady_limits(grade)
    lap("grade table")
    t = frame["time_s"].to_numpy()
    rho = water_density_kg_m3(float(frame["fluid_temperature_c"].mean()))
    head = np.asarray(
        total_head_m(
            frame["p_inlet_pa"].to_numpy(),
            frame["p_outlet_pa"].to_numpy(),
            frame["flow_m3_s"].to_numpy(),
            rho,
            INLET_D_M,
            OUTLET_D_M,
        )
    )
    series = {name: frame[name].to_numpy() for name in CHANNELS}
    series["head_m"] = head
    lap("head")

    # Every channel judged on every window, as the live runner does on every tick; the channels
    # share one time axis, whose part of the work is done once.
    windows = judge_steady_windows_all(t, series, _channel_limits(limits), WINDOW_SAMPLES, STEP_SAMPLES)
    lap("steady judgement")
    all_steady = np.logical_and.reduce([windows[name].steady for name in STEADY_CHANNELS])
    starts = windows["flow_m3_s"].start_index

    # Operating points: runs of consecutive steady windows; average the samples they cover.
    edges = np.flatnonzero(np.diff(np.concatenate([[0], all_steady.astype(int), [0]])))
    points = []
    for first, last in zip(edges[::2], edges[1::2] - 1, strict=True):
        lo, hi = starts[first], starts[last] + WINDOW_SAMPLES
        if hi - lo < 3 * WINDOW_SAMPLES:  # at least 6 s steady
            continue
        averaged = {
            name: average_with_uncertainty(series[name][lo:hi], 0.01)
            for name in ("flow_m3_s", "head_m", "speed_rpm", "electrical_power_w")
        }
        points.append(averaged)
    flow = np.array([p["flow_m3_s"].mean for p in points])
    head_pts = np.array([p["head_m"].mean for p in points])
    speed = np.array([p["speed_rpm"].mean for p in points])
    power = np.array([p["electrical_power_w"].mean for p in points])
    eta = np.asarray(efficiency(hydraulic_power_w(flow, head_pts, rho), power))
    converted = convert_to_speed(
        speed,
        SPEED_RPM,
        flow_m3_s=flow,
        head_m=head_pts,
        power_w=power,
        efficiency=eta,
        limits=table.speed_range,
    )
    fits = fit_pump_curves(converted.flow_m3_s, converted.head_m, converted.power_w, converted.efficiency)
    verdict = judge_acceptance(
        GuaranteePoint(Q_G, H_G, efficiency=0.72),
        grade,
        converted.flow_m3_s,
        converted.head_m,
        converted.efficiency,
        speed_violations=converted.violations,
    )
    lap("points, fits, acceptance")
    return {
        "points": len(points),
        "windows": int(starts.size),
        "head_fit": fits.head.coefficients,
        "guarantees_met": verdict.guarantees_met,
        "violations": [v.message for v in verdict.violations],
    }


def reference_windows(times: np.ndarray, values: np.ndarray, fluctuation: float, trend: float) -> np.ndarray:
    """The steady verdicts of every window computed the direct way, one row per window (memory and
    time proportional to the log times the window): the baseline :func:`judge_steady_windows`
    must agree with, verdict for verdict."""
    rows_t = sliding_window_view(times, WINDOW_SAMPLES)[::STEP_SAMPLES]
    rows_v = sliding_window_view(values, WINDOW_SAMPLES)[::STEP_SAMPLES]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = rows_v.mean(axis=1)
        half_range = (rows_v.max(axis=1) - rows_v.min(axis=1)) / 2.0
        centred_t = rows_t - rows_t.mean(axis=1)[:, np.newaxis]
        slope = (centred_t * (rows_v - mean[:, np.newaxis])).sum(axis=1) / (centred_t * centred_t).sum(axis=1)
        duration = rows_t.max(axis=1) - rows_t.min(axis=1)
        scale = np.maximum(np.abs(mean), 1e-9)
        return (
            (half_range / scale <= fluctuation) & (np.abs(slope * duration / scale) <= trend) & (duration > 0)
        )


def check_verdicts(frame: pd.DataFrame) -> tuple[int, int]:
    """(windows compared, verdicts that differ) between judge_steady_windows and the direct way."""
    limits = default_steady_limits(load_grade_table().grade("1B"))
    t = frame["time_s"].to_numpy()
    judged = _channel_limits(limits)
    fast = judge_steady_windows_all(
        t,
        {name: frame[name].to_numpy() for name in CHANNELS},
        {name: judged[name] for name in CHANNELS},
        WINDOW_SAMPLES,
        STEP_SAMPLES,
    )
    compared = differ = 0
    for name in CHANNELS:
        limit = judged[name]
        direct = reference_windows(
            t, frame[name].to_numpy(), limit.max_fluctuation_fraction, limit.max_trend_fraction
        )
        compared += direct.size
        differ += int(np.count_nonzero(fast[name].steady != direct))
    return compared, differ


def peak_analysis_memory_bytes(path: Path) -> tuple[int, int]:
    """(the log's in-memory size, the peak of memory allocated while analysing it), by tracemalloc
    (numpy reports its buffers to it)."""
    frame = pd.read_parquet(path)
    log_bytes = int(frame.memory_usage(index=False, deep=True).sum())
    tracemalloc.start()
    analyse(frame)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return log_bytes, peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration-s", type=float, default=3600.0, help="log length (default one hour)")
    parser.add_argument("--repeats", type=int, default=5, help="timed pairs (default 5)")
    parser.add_argument(
        "--check", action="store_true", help="also compare every verdict with the direct computation"
    )
    args = parser.parse_args(argv)
    clock = WallClock()
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "run_log.parquet"
        rows = generate_log(path, args.duration_s)
        size_mb = path.stat().st_size / 1e6

        # Read and read-plus-analysis interleaved, so that both see the same machine load; each
        # pair gives one ratio. The shared machine's load drifts, so the spread is printed too.
        ratios = []
        shares: dict[str, list[float]] = {}
        read_s = full_s = float("inf")
        for _ in range(args.repeats):
            start = clock.now_s()
            pd.read_parquet(path)
            read_once = clock.now_s() - start
            spent: dict[str, float] = {}
            start = clock.now_s()
            summary = analyse(pd.read_parquet(path), spent)
            full_once = clock.now_s() - start
            ratios.append(full_once / read_once)
            for stage, seconds in spent.items():
                shares.setdefault(stage, []).append(seconds / read_once)
            read_s, full_s = min(read_s, read_once), min(full_s, full_once)
        log_bytes, peak_bytes = peak_analysis_memory_bytes(path)
        checked = check_verdicts(pd.read_parquet(path)) if args.check else None

    print(f"log: {rows} rows x {len(CHANNELS)} channels at {RATE_HZ:.0f} Hz, parquet {size_mb:.1f} MB")
    print(
        f"steady windows judged per channel: {summary['windows']}, "
        f"operating points found: {summary['points']}"
    )
    met = "met" if summary["guarantees_met"] else "not met"
    print(
        f"grade 1B guarantee on the synthetic pump: {met}; "
        f"violated conditions: {summary['violations'] or 'none'}"
    )
    print(f"(a) read only (best):             {read_s:8.3f} s")
    print(f"(b) read + full analysis (best):  {full_s:8.3f} s")
    print(f"ratio (b)/(a) of the bests:       {full_s / read_s:8.1f}")
    ratios.sort()
    print(
        f"ratio per interleaved pair:       min {ratios[0]:.1f}, median {ratios[len(ratios) // 2]:.1f}, "
        f"max {ratios[-1]:.1f} ({len(ratios)} pairs)"
    )
    for stage, values in shares.items():
        values.sort()
        print(
            f"  of which {stage + ':':27s} median {values[len(values) // 2]:.2f}, "
            f"min {values[0]:.2f}, max {values[-1]:.2f} x the read"
        )
    print(
        f"peak memory of the analysis:      {peak_bytes / 1e6:.0f} MB = "
        f"{peak_bytes / log_bytes:.2f} x the log in memory ({log_bytes / 1e6:.0f} MB)"
    )
    if checked is not None:
        print(f"verdicts vs the direct computation: {checked[1]} of {checked[0]} windows differ")


if __name__ == "__main__":
    main()
