"""The performance-curve procedure: H-Q, power and efficiency at several speeds.

For each speed (fractions of the bench's rated speed), sweep the throttle valve from nearly closed
to fully open; at each opening wait for steady state, average over a dwell and record the operating
point. Between speeds the valve returns fully open, so the pump never runs against a shut valve.
The runner owns safety: this module only asks for setpoints, which the runner checks against the
bench limits.

Imports hil only (never drivers or simulators).
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.bench.config import BenchConfig
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec, check_speed_fractions


def _default_openings() -> list[float]:
    return [0.15, 0.25, 0.35, 0.45, 0.55, 0.7, 0.85, 1.0]


PARAMETERS = (
    Parameter(
        "speeds_fraction",
        "floats",
        [0.5, 0.667, 0.833, 1.0],
        "speeds as fractions of the bench's rated speed",
        minimum=0.05,
        maximum=1.2,
    ),
    Parameter(
        "valve_openings",
        "floats",
        _default_openings(),
        "throttle valve openings to visit at each speed, 0 shut .. 1 open",
        minimum=0.02,
        maximum=1.0,
    ),
    Parameter("dwell_s", float, 30.0, "averaging time at each point", minimum=0.5, maximum=3600.0),
    Parameter(
        "steady_window_s", float, 5.0, "window over which steadiness is judged", minimum=0.5, maximum=600.0
    ),
    Parameter(
        "steady_timeout_s",
        float,
        60.0,
        "longest wait for steady state before recording anyway",
        minimum=1.0,
        maximum=3600.0,
    ),
    Parameter("ramp_rate_rpm_s", float, 10000.0, "speed ramp rate between speeds", minimum=10.0, maximum=1e6),
)


@dataclass(frozen=True)
class PerformanceCurveParameters:
    """The parameters' values (see :data:`PARAMETERS` for units and ranges)."""

    speeds_fraction: list[float]
    valve_openings: list[float]
    dwell_s: float
    steady_window_s: float
    steady_timeout_s: float
    ramp_rate_rpm_s: float


def check(params: PerformanceCurveParameters, bench: BenchConfig) -> None:
    """Refuse, before anything moves, speeds beyond the bench limit."""
    check_speed_fractions(bench, "speeds_fraction", params.speeds_fraction)


def run(runner: ProcedureRunner, params: PerformanceCurveParameters) -> None:
    rated = runner.geometry.rated_speed_rpm
    speeds = [fraction * rated for fraction in params.speeds_fraction]
    openings = sorted(params.valve_openings)
    total = len(speeds) * len(openings)
    runner.set_valve_opening(1.0)
    for speed_index, speed in enumerate(speeds):
        runner.set_valve_opening(1.0)
        runner.ramp_speed_rpm(speed, params.ramp_rate_rpm_s)
        for opening_index, opening in enumerate(openings):
            done = speed_index * len(openings) + opening_index
            runner.progress(
                f"point {done + 1}/{total}: {speed:.0f} rpm, valve {opening:.2f}", step=done + 1, steps=total
            )
            runner.set_valve_opening(opening)
            steady = runner.wait_steady(params.steady_window_s, params.steady_timeout_s)
            start, end = runner.average(params.dwell_s)
            runner.record_point(
                start,
                end,
                speed_setpoint_rpm=speed,
                valve_opening=opening,
                steady=steady.steady,
                settle_s=steady.waited_s,
            )
    runner.set_valve_opening(1.0)
    runner.ramp_speed_rpm(0.0, params.ramp_rate_rpm_s)


PROCEDURE = ProcedureSpec(
    name="performance-curve",
    summary="H-Q, power and efficiency curves: valve sweep at several speeds",
    parameters=PARAMETERS,
    parameters_type=PerformanceCurveParameters,
    check=check,
    run=run,
    products=("points_converted", "acceptance"),
)
