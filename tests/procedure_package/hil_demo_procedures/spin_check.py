"""Spin check: run the pump up to one speed with the valve open and check it gets there."""

from __future__ import annotations

from dataclasses import dataclass

from hil.analysis.measurements import Measurement
from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec


@dataclass(frozen=True)
class SpinCheckParameters:
    speed_rpm: float
    dwell_s: float


SPEED_ERROR = Measurement(
    "speed_error_rpm", "rpm", low=-100.0, high=100.0, help="mean speed minus the setpoint"
)


def check(p: SpinCheckParameters, bench: BenchConfig) -> None:
    """Refuse, before anything is connected, a speed above the bench's limit."""
    if p.speed_rpm > bench.limits.max_speed_rpm:
        raise ConfigError("command line", "-p speed_rpm", f"{p.speed_rpm:g} rpm exceeds max_speed_rpm")


def run(runner: ProcedureRunner, p: SpinCheckParameters) -> None:
    runner.set_valve_opening(1.0)
    runner.ramp_speed_rpm(p.speed_rpm, 20_000.0)
    runner.hold(1.0)
    start_s, end_s = runner.average(p.dwell_s)
    point = runner.record_point(start_s, end_s, speed_setpoint_rpm=p.speed_rpm)
    runner.measure(SPEED_ERROR, point["speed_rpm"] - p.speed_rpm)
    runner.ramp_speed_rpm(0.0, 20_000.0)


PROCEDURE = ProcedureSpec(
    name="spin-check",
    summary="spin up to one speed, valve open, and check the speed",
    parameters=(
        Parameter("speed_rpm", float, 15_000.0, "speed to reach", 1000.0, 40_000.0),
        Parameter("dwell_s", float, 3.0, "averaging time", 0.5, 60.0),
    ),
    parameters_type=SpinCheckParameters,
    check=check,
    run=run,
    measurements=(SPEED_ERROR,),
)
