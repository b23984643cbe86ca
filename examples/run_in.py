"""Constant-speed run-in: hold the pump at one speed and valve opening, record a point every interval,
and judge how much the head and the efficiency drift and how hot the motor gets.

Run it on either virtual bench, or on yours, exactly like a built-in procedure:

    hil run examples/run_in.py --bench sim -p duration_s=120
    hil run examples/run_in.py --bench sim-odrive -p speed_fraction=0.9

Nothing here knows which bench it runs on: it talks to the runner (``ProcedureRunner``) only, and
the runner checks every setpoint against the bench limits and trips the bench safe if a limit is
crossed.
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.analysis.measurements import Measurement
from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec


@dataclass(frozen=True)
class RunInParameters:
    speed_fraction: float
    valve_opening: float
    duration_s: float
    interval_s: float


PARAMETERS = (
    Parameter("speed_fraction", float, 0.8, "speed as a fraction of the bench's rated speed", 0.1, 1.2),
    Parameter("valve_opening", float, 0.55, "throttle valve opening, 0 shut .. 1 open", 0.05, 1.0),
    Parameter("duration_s", float, 60.0, "how long to run in", 10.0, 36000.0),
    Parameter("interval_s", float, 10.0, "one operating point per interval", 1.0, 600.0),
)

HEAD_DRIFT = Measurement(
    "head_drift_fraction", "1", low=-0.02, high=0.02, help="last point's head over the first's, minus 1"
)
EFFICIENCY_DRIFT = Measurement(
    "efficiency_drift_fraction", "1", low=-0.03, high=0.03, help="same for the wire-to-water efficiency"
)
MOTOR_TEMPERATURE = Measurement(
    "max_motor_temperature_c", "degC", high=80.0, help="hottest motor winding reading"
)


def check(p: RunInParameters, bench: BenchConfig) -> None:
    speed_rpm = p.speed_fraction * bench.geometry.rated_speed_rpm
    if speed_rpm > bench.limits.max_speed_rpm:
        raise ConfigError(
            "command line", "-p speed_fraction", f"{speed_rpm:g} rpm exceeds the bench's max_speed_rpm"
        )


def run(runner: ProcedureRunner, p: RunInParameters) -> None:
    speed_rpm = p.speed_fraction * runner.geometry.rated_speed_rpm
    runner.set_valve_opening(p.valve_opening)
    runner.ramp_speed_rpm(speed_rpm, 10_000.0)
    runner.wait_steady(5.0, 60.0)
    points = []
    hottest_c = float("-inf")
    for index in range(max(1, round(p.duration_s / p.interval_s))):
        runner.progress(f"run-in: point {index + 1}, {runner.now_s():.0f} s")
        start_s, end_s = runner.average(p.interval_s)
        points.append(
            runner.record_point(start_s, end_s, speed_setpoint_rpm=speed_rpm, valve_opening=p.valve_opening)
        )
        hottest_c = max(
            hottest_c, runner.window_means(start_s, end_s).get("motor_temperature_c", float("nan"))
        )
    first, last = points[0], points[-1]
    runner.measure(HEAD_DRIFT, last["head_m"] / first["head_m"] - 1.0)
    runner.measure(EFFICIENCY_DRIFT, last["overall_efficiency"] / first["overall_efficiency"] - 1.0)
    runner.measure(MOTOR_TEMPERATURE, hottest_c)
    runner.ramp_speed_rpm(0.0, 10_000.0)


PROCEDURE = ProcedureSpec(
    name="run-in",
    summary="constant-speed run-in: head, efficiency and motor temperature over time",
    parameters=PARAMETERS,
    parameters_type=RunInParameters,
    check=check,
    run=run,
    measurements=(HEAD_DRIFT, EFFICIENCY_DRIFT, MOTOR_TEMPERATURE),
)
