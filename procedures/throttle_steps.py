"""Throttle steps: steps (or ramps) of the speed command, or of a discharge-pressure command under
closed-loop control, at a held system curve.

The valve is held at ``valve_opening``; the pump is brought to the first of ``speeds_fraction`` and
left to settle for ``settle_s``; then the command moves to each next speed in turn, as a step
(``ramp_rate_rpm_s = 0``) or a ramp at that rate, and the run records ``dwell_s`` after each. A
``step`` event marks each change and ``steps_end`` the end of the last dwell. The figures per step
(rise time, settling time to a band, overshoot, of speed and of pressure rise, and the lowest NPSH
available during the step, and with ``npsh3_run`` the lowest NPSH margin, NPSHA over the pump's
measured NPSH3 at each sample's flow and speed) are derived from the log
(:func:`hil.analysis.transients.step_figures`).

``command = 1`` steps the discharge pressure instead: a pressure controller commands the drive's
speed loop every tick so that the measured discharge pressure follows ``discharge_pressures_pa`` (the
first held through ``settle_s``, a step to each next, ``dwell_s`` after each), and the figures are
those of the discharge pressure (and of the speed that made it). The controller leans on the pump's
affinity law at a held valve, pressure rise proportional to the square of the speed: each tick it
estimates the speed that gives the target from the speed and pressures measured together,
``n* = n sqrt((p_target - p_in) / (p_out - p_in))``, and moves the speed command a fraction
``a = tick / pressure_time_constant_s`` of the way from its last value to it. Where the affinity law
holds the estimate is exact whatever the speed loop is doing, so the command approaches its final
value geometrically, ``n_k = n* + (n_0 - n*) (1 - a)^k``, with no overshoot, and the pressure follows
through the drive's much faster speed loop: a response worked out by hand
(``tests/system/test_transients.py``). Where it does not hold (a static lift), the estimate is off
but the loop still settles where the measured pressure equals the target (integral action). The speed command is kept
within ``PRESSURE_LOOP_SPEED_FRACTION`` of the bench's ``max_speed_rpm``, so a pump that cannot make
a target shows it in its figures rather than tripping the speed interlock.

Imports hil only (never drivers or simulators).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec, check_speed_fractions

STEP_EVENT = "step"
STEPS_END_EVENT = "steps_end"

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
    Parameter(
        "command",
        int,
        0,
        "0 steps of the speed command; 1 steps of the discharge pressure under closed-loop control",
        minimum=0,
        maximum=1,
    ),
    Parameter(
        "discharge_pressures_pa",
        "floats",
        [12.0e5, 18.0e5, 12.0e5],
        "command = 1: discharge pressures (absolute) visited in turn (the first is the start)",
        minimum=1.0e4,
        maximum=1.0e8,
    ),
    Parameter(
        "pressure_time_constant_s",
        float,
        0.5,
        "command = 1: the pressure loop's time constant (its gain is tick / this)",
        minimum=0.01,
        maximum=60.0,
    ),
    Parameter(
        "npsh3_run",
        "text",
        "",
        "an npsh3 run directory of this pump: each step's lowest NPSH margin, NPSHA / NPSH3",
    ),
)

PRESSURE_LOOP_SPEED_FRACTION = 0.97
"""Highest speed command of the pressure loop as a fraction of ``max_speed_rpm`` (as in the mission
profile's pressure loop)."""
PRESSURE_SPEED_DEADBAND_RPM = 1.0
"""A new speed command only when the loop has moved this far: a settled loop sends no writes."""


@dataclass(frozen=True)
class ThrottleStepsParameters:
    """The parameters' values (see :data:`PARAMETERS` for units and ranges)."""

    speeds_fraction: list[float]
    valve_opening: float
    settle_s: float
    dwell_s: float
    ramp_rate_rpm_s: float
    command: int
    discharge_pressures_pa: list[float]
    pressure_time_constant_s: float
    npsh3_run: str


def check(params: ThrottleStepsParameters, bench: BenchConfig) -> None:
    # imported here, not when the procedure is listed (numpy; see procedures/mission_profile.py)
    from hil.results.npsh3_table import npsh3_table

    npsh3_table(params.npsh3_run)  # readable before anything moves
    if params.command == 1:
        if len(params.discharge_pressures_pa) < 2:
            raise ConfigError(
                "command line",
                "-p discharge_pressures_pa",
                "give at least two pressures (a start and a step)",
            )
        for pressure in params.discharge_pressures_pa:
            if pressure > bench.limits.max_outlet_pressure_pa:
                raise ConfigError(
                    "command line",
                    "-p discharge_pressures_pa",
                    f"{pressure:g} Pa exceeds the bench limit max_outlet_pressure_pa = "
                    f"{bench.limits.max_outlet_pressure_pa:g} ({bench.source})",
                )
        if params.pressure_time_constant_s < bench.tick_s:
            raise ConfigError(
                "command line",
                "-p pressure_time_constant_s",
                f"{params.pressure_time_constant_s:g} s is shorter than the bench's tick, {bench.tick_s:g} s: "
                "the loop would push the speed past its target every tick",
            )
    if len(params.speeds_fraction) < 2 and params.command == 0:
        raise ConfigError(
            "command line", "-p speeds_fraction", "give at least two speeds (a start and a step)"
        )
    check_speed_fractions(bench, "speeds_fraction", params.speeds_fraction)


def run(runner: ProcedureRunner, params: ThrottleStepsParameters) -> None:
    from hil.analysis.transients import NPSH3_TABLE_EVENT
    from hil.results.npsh3_table import npsh3_table

    table = npsh3_table(params.npsh3_run)
    if table is not None:
        runner.event(
            NPSH3_TABLE_EVENT,
            source=params.npsh3_run,
            speed_rpm=table.speed_rpm,
            flows_m3_s=list(table.flows_m3_s),
            npsh3_m=list(table.npsh3_m),
        )
    if params.command == 1:
        _run_pressure_steps(runner, params)
        return
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
    runner.event(STEPS_END_EVENT)
    runner.ramp_speed_rpm(0.0, 20000.0)


class _PressureLoop:
    """The discharge-pressure controller (module docstring), stepped once a tick."""

    def __init__(self, runner: ProcedureRunner, time_constant_s: float, speed_rpm: float) -> None:
        self.runner = runner
        self.gain = min(runner.tick_s / time_constant_s, 1.0)
        self.command_rpm = speed_rpm
        self.demand_rpm = speed_rpm
        self.limit_rpm = PRESSURE_LOOP_SPEED_FRACTION * runner.limits.max_speed_rpm

    def step(self, target_pa: float) -> None:
        runner = self.runner
        now = runner.now_s()
        m = runner.window_means(now - 0.5 * runner.tick_s, now)
        p_in, p_out, speed = m["p_inlet_pa"], m["p_outlet_pa"], m["speed_rpm"]
        rise, wanted = p_out - p_in, target_pa - p_in
        if any(math.isnan(v) for v in (p_in, p_out, speed)) or rise <= 0.0 or wanted <= 0.0:
            return  # a lost reading, or no rise to scale from yet: hold the command this tick
        affinity_rpm = speed * math.sqrt(wanted / rise)
        demand = self.demand_rpm + self.gain * (affinity_rpm - self.demand_rpm)
        self.demand_rpm = min(max(demand, runner.limits.running_speed_rpm), self.limit_rpm)
        if abs(self.demand_rpm - self.command_rpm) >= PRESSURE_SPEED_DEADBAND_RPM:
            self.command_rpm = round(self.demand_rpm, 1)
            runner.set_speed_rpm(self.command_rpm)

    def hold(self, target_pa: float, duration_s: float) -> None:
        end = self.runner.now_s() + duration_s - 1e-9
        while self.runner.now_s() < end:
            self.step(target_pa)
            self.runner.hold(self.runner.tick_s)


def _run_pressure_steps(runner: ProcedureRunner, params: ThrottleStepsParameters) -> None:
    pressures = params.discharge_pressures_pa
    start_rpm = params.speeds_fraction[0] * runner.geometry.rated_speed_rpm
    runner.set_valve_opening(params.valve_opening)
    runner.ramp_speed_rpm(start_rpm, 20000.0)
    loop = _PressureLoop(runner, params.pressure_time_constant_s, start_rpm)
    runner.progress(f"discharge pressure to {pressures[0] / 1e5:.2f} bar")
    loop.hold(pressures[0], params.settle_s)
    for previous, pressure in zip(pressures, pressures[1:]):
        runner.progress(f"step {previous / 1e5:.2f} -> {pressure / 1e5:.2f} bar discharge pressure")
        runner.event(STEP_EVENT, quantity="p_outlet_pa", from_value=previous, to_value=pressure)
        loop.hold(pressure, params.dwell_s)
    runner.event(STEPS_END_EVENT)
    runner.ramp_speed_rpm(0.0, 20000.0)


PROCEDURE = ProcedureSpec(
    name="throttle-steps",
    summary="steps or ramps of speed, or of discharge pressure in closed loop, at a held system curve",
    parameters=PARAMETERS,
    parameters_type=ThrottleStepsParameters,
    check=check,
    run=run,
    products=("steps",),
)
