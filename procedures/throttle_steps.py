"""Throttle steps: steps (or ramps) of the speed command at a held system curve.

The valve is held at ``valve_opening``; the pump is brought to the first of ``speeds_fraction`` and
left to settle for ``settle_s``; then the command moves to each next speed in turn, as a step
(``ramp_rate_rpm_s = 0``) or a ramp at that rate, and the run records ``dwell_s`` after each. A
``step`` event marks each change. The figures per step (rise time, settling time to a band,
overshoot, of speed and of pressure rise, and the lowest NPSH available during the step) are derived
from the log (:func:`hil.analysis.transients.step_figures`).

Imports hil only (never drivers or simulators).
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec

STEP_EVENT = "step"

PARAMETERS = (
    Parameter(
        "speeds_fraction",
        "floats",
        [0.67, 1.0, 0.67],
        "speeds visited in turn, as fractions of the rated speed (the first is the start)",
        minimum=0.1,
        maximum=1.2,
    ),
    Parameter(
        "valve_opening", float, 0.6, "throttle valve opening held throughout", minimum=0.05, maximum=1.0
    ),
    Parameter(
        "settle_s", float, 5.0, "time at the first speed before the first step", minimum=0.5, maximum=600.0
    ),
    Parameter("dwell_s", float, 3.0, "time recorded after each step", minimum=0.5, maximum=600.0),
    Parameter(
        "ramp_rate_rpm_s", float, 0.0, "0: steps; otherwise ramps at this rate", minimum=0.0, maximum=1e6
    ),
)


@dataclass(frozen=True)
class ThrottleStepsParameters:
    """The parameters' values (see :data:`PARAMETERS` for units and ranges)."""

    speeds_fraction: list[float]
    valve_opening: float
    settle_s: float
    dwell_s: float
    ramp_rate_rpm_s: float


def check(params: ThrottleStepsParameters, bench: BenchConfig) -> None:
    if len(params.speeds_fraction) < 2:
        raise ConfigError(
            "command line", "-p speeds_fraction", "give at least two speeds (a start and a step)"
        )
    for fraction in params.speeds_fraction:
        speed = fraction * bench.geometry.rated_speed_rpm
        if speed > bench.limits.max_speed_rpm:
            raise ConfigError(
                "command line",
                "-p speeds_fraction",
                f"{speed:g} rpm exceeds the bench limit max_speed_rpm = "
                f"{bench.limits.max_speed_rpm:g} ({bench.source})",
            )


def run(runner: ProcedureRunner, params: ThrottleStepsParameters) -> None:
    rated = runner.geometry.rated_speed_rpm
    speeds = [f * rated for f in params.speeds_fraction]
    runner.set_valve_opening(params.valve_opening)
    runner.ramp_speed_rpm(speeds[0], 20000.0)
    runner.hold(params.settle_s)
    rate = params.ramp_rate_rpm_s
    for previous, speed in zip(speeds, speeds[1:]):
        runner.progress(f"step {previous:.0f} -> {speed:.0f} rpm")
        runner.event(
            STEP_EVENT, quantity="speed_rpm", from_value=previous, to_value=speed, ramp_rate_rpm_s=rate
        )
        if rate > 0.0:
            start = runner.now_s()
            runner.ramp_speed_rpm(speed, rate)
            runner.hold(max(params.dwell_s - (runner.now_s() - start), 0.0))
        else:
            runner.set_speed_rpm(speed)
            runner.hold(params.dwell_s)
    runner.ramp_speed_rpm(0.0, 20000.0)


PROCEDURE = ProcedureSpec(
    name="throttle-steps",
    summary="steps or ramps of the speed command at a held system curve: rise, settling, overshoot",
    parameters=PARAMETERS,
    parameters_type=ThrottleStepsParameters,
    check=check,
    run=run,
    products=("steps",),
)
