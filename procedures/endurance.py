"""Endurance: hours at one duty point, with drift limits on head, efficiency and temperatures.

The pump is brought to ``speed_fraction`` of the rated speed at ``valve_opening`` and held for
``duration_s``. Every ``interval_s`` an operating point is averaged over the last ``dwell_s`` (the
first after ``warm_up_s``), so the run's points are the duty point's history. The verdict, derived from
the log (:func:`hil.analysis.transients.endurance_document`), compares every point with the first:
head and overall efficiency may not drift by more than ``head_drift_fraction`` and
``efficiency_drift_fraction``; the motor, controller and fluid temperatures must have settled (a rise
of at most ``temperature_drift_k`` over the last interval). The bench's own temperature limits are
interlocks, checked every tick as always. On the virtual bench an hour of bench time runs in minutes.

Imports hil only (never drivers or simulators).
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec, check_speed_fractions

PARAMETERS = (
    Parameter(
        "speed_fraction", float, 1.0, "duty speed as a fraction of the rated speed", minimum=0.1, maximum=1.2
    ),
    Parameter(
        "valve_opening", float, 0.6, "throttle valve opening (the duty point)", minimum=0.05, maximum=1.0
    ),
    Parameter("duration_s", float, 3600.0, "time held at the duty point", minimum=10.0, maximum=1.0e6),
    Parameter("interval_s", float, 300.0, "time between two recorded points", minimum=2.0, maximum=1.0e5),
    Parameter("dwell_s", float, 30.0, "averaging window of each point", minimum=0.5, maximum=3600.0),
    Parameter(
        "warm_up_s", float, 60.0, "time before the first (reference) point", minimum=0.0, maximum=1.0e5
    ),
    Parameter("head_drift_fraction", float, 0.02, "largest drift of head from the first point", minimum=0.0),
    Parameter(
        "efficiency_drift_fraction",
        float,
        0.03,
        "largest drift of overall efficiency from the first point",
        minimum=0.0,
    ),
    Parameter(
        "temperature_drift_k",
        float,
        2.0,
        "largest temperature rise over the last interval (settled)",
        minimum=0.0,
    ),
)


@dataclass(frozen=True)
class EnduranceParameters:
    """The parameters' values (see :data:`PARAMETERS` for units and ranges)."""

    speed_fraction: float
    valve_opening: float
    duration_s: float
    interval_s: float
    dwell_s: float
    warm_up_s: float
    head_drift_fraction: float
    efficiency_drift_fraction: float
    temperature_drift_k: float


def check(params: EnduranceParameters, bench: BenchConfig) -> None:
    check_speed_fractions(bench, "speed_fraction", [params.speed_fraction])
    if params.dwell_s > params.interval_s:
        raise ConfigError("command line", "-p dwell_s", "must not exceed interval_s")
    if params.warm_up_s + params.dwell_s > params.duration_s:
        raise ConfigError("command line", "-p duration_s", "must leave room for the warm-up and one point")


def run(runner: ProcedureRunner, params: EnduranceParameters) -> None:
    speed = params.speed_fraction * runner.geometry.rated_speed_rpm
    runner.set_valve_opening(params.valve_opening)
    runner.ramp_speed_rpm(speed, 10000.0)
    begin = runner.now_s()
    next_point = begin + max(params.warm_up_s, params.dwell_s)
    end = begin + params.duration_s
    index = 0
    while next_point <= end + 1e-9:
        runner.hold(next_point - params.dwell_s - runner.now_s())
        start, stop = runner.average(params.dwell_s)
        runner.record_point(
            start, stop, endurance_index=index, elapsed_s=stop - begin, speed_setpoint_rpm=speed
        )
        runner.progress(f"endurance: {stop - begin:.0f}/{params.duration_s:.0f} s")
        index += 1
        next_point += params.interval_s
    runner.hold(max(end - runner.now_s(), 0.0))
    runner.ramp_speed_rpm(0.0, 10000.0)


PROCEDURE = ProcedureSpec(
    name="endurance",
    summary="hours at a duty point: drift of head, efficiency and temperatures, with a verdict",
    parameters=PARAMETERS,
    parameters_type=EnduranceParameters,
    check=check,
    run=run,
    products=("points_converted", "endurance"),
)
