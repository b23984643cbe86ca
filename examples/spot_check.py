"""Spot check against a data sheet: one operating point at a fixed speed and valve opening, its flow
and head judged against the data sheet's values with an acceptance grade's tolerance.

    hil run examples/spot_check.py --bench sim

The measurements take their limits from the grade table (``hil/data/grades.toml``): grade 2B gives
+-8 % on flow and +-5 % on head around the declared values. They are judged the moment they are
recorded, shown live (terminal and web console) and stored with the grade in ``measurements.csv``.
The data sheet values below are the virtual bench's pump at 30,000 rpm and valve opening 0.85.
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.analysis.measurements import Measurement
from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec


@dataclass(frozen=True)
class SpotCheckParameters:
    speed_fraction: float
    valve_opening: float
    dwell_s: float


PARAMETERS = (
    Parameter("speed_fraction", float, 1.0, "speed as a fraction of the bench's rated speed", 0.1, 1.2),
    Parameter("valve_opening", float, 0.85, "throttle valve opening, 0 shut .. 1 open", 0.05, 1.0),
    Parameter("dwell_s", float, 5.0, "averaging window of the point", 1.0, 600.0),
)

FLOW = Measurement(
    "flow_m3_s", "m3/s", grade="2B", quantity="flow", guarantee=0.00043, help="data sheet: 0.43 L/s"
)
HEAD = Measurement("head_m", "m", grade="2B", quantity="head", guarantee=203.0, help="data sheet: 203 m")


def check(p: SpotCheckParameters, bench: BenchConfig) -> None:
    speed_rpm = p.speed_fraction * bench.geometry.rated_speed_rpm
    if speed_rpm > bench.limits.max_speed_rpm:
        raise ConfigError(
            "command line", "-p speed_fraction", f"{speed_rpm:g} rpm exceeds the bench's max_speed_rpm"
        )


def run(runner: ProcedureRunner, p: SpotCheckParameters) -> None:
    speed_rpm = p.speed_fraction * runner.geometry.rated_speed_rpm
    runner.set_valve_opening(p.valve_opening)
    runner.ramp_speed_rpm(speed_rpm, 10_000.0)
    runner.wait_steady(5.0, 60.0)
    start_s, end_s = runner.average(p.dwell_s)
    point = runner.record_point(start_s, end_s, speed_setpoint_rpm=speed_rpm, valve_opening=p.valve_opening)
    runner.measure(FLOW, point["flow_m3_s"])
    runner.measure(HEAD, point["head_m"])
    runner.ramp_speed_rpm(0.0, 10_000.0)


PROCEDURE = ProcedureSpec(
    name="spot-check",
    summary="one point judged against a data sheet's flow and head with a grade's tolerance",
    parameters=PARAMETERS,
    parameters_type=SpotCheckParameters,
    check=check,
    run=run,
    measurements=(FLOW, HEAD),
)
