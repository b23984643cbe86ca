"""Start-up: from rest to a target speed against a set system curve, in one step of the command.

The throttle valve is set to ``valve_opening`` (the system curve) and the pump held at rest for
``rest_s``; then the speed command jumps from 0 to ``speed_fraction`` of the bench's rated speed (a
``step`` event marks the instant) and the run records ``record_s`` of the start. The controller's
current limit, the rotor's and the water's inertia and the pump's own load decide how fast it gets
there. The figures (time to 10 % and 90 % of speed and of pressure rise, overshoot, peak motor
current, peak electrical power and the energy used) are derived from the log
(:func:`hil.analysis.transients.startup_figures`).

Imports hil only (never drivers or simulators).
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.bench.config import BenchConfig
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec, check_speed_fractions

STEP_EVENT = "step"

PARAMETERS = (
    Parameter(
        "speed_fraction",
        float,
        1.0,
        "target speed as a fraction of the rated speed",
        minimum=0.1,
        maximum=1.2,
    ),
    Parameter(
        "valve_opening",
        float,
        0.6,
        "throttle valve opening held through the start",
        minimum=0.05,
        maximum=1.0,
    ),
    Parameter("rest_s", float, 1.0, "time at rest before the step", minimum=0.2, maximum=60.0),
    Parameter("record_s", float, 4.0, "time recorded after the step", minimum=0.5, maximum=600.0),
)


@dataclass(frozen=True)
class StartupParameters:
    """The parameters' values (see :data:`PARAMETERS` for units and ranges)."""

    speed_fraction: float
    valve_opening: float
    rest_s: float
    record_s: float


def check(params: StartupParameters, bench: BenchConfig) -> None:
    check_speed_fractions(bench, "speed_fraction", [params.speed_fraction])


def run(runner: ProcedureRunner, params: StartupParameters) -> None:
    target = params.speed_fraction * runner.geometry.rated_speed_rpm
    runner.set_valve_opening(params.valve_opening)
    runner.hold(params.rest_s)
    runner.event(STEP_EVENT, quantity="speed_rpm", from_value=0.0, to_value=target)
    runner.set_speed_rpm(target)
    runner.hold(params.record_s)
    runner.ramp_speed_rpm(0.0, 20000.0)


PROCEDURE = ProcedureSpec(
    name="startup",
    summary="start-up from rest: times to 10/90 % of speed and pressure rise, overshoot, peaks, energy",
    parameters=PARAMETERS,
    parameters_type=StartupParameters,
    check=check,
    run=run,
    products=("startup",),
)
