"""The mission profile: the pump flies the lander's descent burn, closed loop, in bench time.

Every tick a real-time model of the rest of the feed system (:mod:`hil.analysis.mission_profile`)
computes the boundary conditions this pump would see at that instant of the burn, and the bench
imposes them:

* downstream, the engine: the pressure the injector and chamber demand for the flow the pump is
  delivering now (chamber pressure from the delivered mass flow, c* and throat; injector and line
  losses), mapped to water. The throttle valve is driven (integral action on the pressure rise) so
  that the bench's measured pressure rise follows that demand: the valve *is* the engine's system
  curve;
* upstream, the tank: the NPSH available (ullage pressure regulated or blowing down, the liquid
  column under the lander's current acceleration, the suction-line loss, the vapour pressure),
  carried over in metres; the tank regulator is commanded so the measured inlet pressure gives the
  bench that NPSH;
* the pump's own controller: ``speed_control = 0`` closes a loop on the discharge pressure (PI on the
  pressure rise the thrust command needs, with the sizing's speed schedule as feed-forward at each
  throttle change); ``speed_control = 1`` plays the sizing's speed schedule open loop.

Water stands in for the propellant by similarity (:mod:`hil.analysis.similarity`): the pump runs at
flight speed and flight volumetric flow. The flight case comes from the mission file sized around
this prototype (:mod:`hil.model.flight_case`), or from the design and requirements an ``hil optimize
--json`` report holds (``requirements``); ``thrust_profile`` flies a plain thrust-versus-time table
instead of the mission's throttle profile. The procedure records it in a ``mission_case`` event,
marks mission time zero with an ``ignition`` event after ``prime_s`` of closed loop at full thrust,
and ``burnout`` at the end. The verdict is derived from the log (:func:`hil.analysis.mission_profile.judge`).
A trip during the profile ends safe as always: the runner owns the interlocks.

Imports hil only (never drivers or simulators).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from hil.bench.config import BenchConfig, BenchGeometry
from hil.core.errors import ConfigError
from hil.run.procedure_api import Parameter, ProcedureRunner, ProcedureSpec

if TYPE_CHECKING:
    from hil.analysis.mission_profile import MissionRecord
    from hil.model.flight_case import FlightCase

# The flight case (the sizing model: scipy, thermochemistry) and the boundary model (numpy) are
# imported where they are used, not when the procedure is listed: `hil procedures` and every other
# procedure's `hil run` load this module too (hil.run.procedure_catalogue), and the sizing model
# alone took 3 s of their start-up (python -X importtime -m hil.cli procedures).

SAMPLE_MISSION = Path(__file__).resolve().parents[1] / "hil" / "data" / "lander_mission.toml"
SIDES = ("fuel", "oxidiser")

VALVE_GAIN_PER_S = 0.4
"""Valve opening change per second per unit relative pressure-rise error (integral action). With an
equal-percentage trim the rise changes by about 5 per unit opening where the valve dominates, so the
loop's time constant is about 0.5 s, slower than the 10 Hz tick and faster than the speed loop."""
SPEED_KP = 0.15
SPEED_KI_PER_S = 0.6
"""Speed loop on the relative rise error, in units of the current full-thrust speed: head goes with
the square of speed, so a 1 % speed change moves the rise 2 %; Ki = 0.6/s gives a time constant of
about 1 s, below the valve's and well below the 2 s stroke of the bench valve."""
MIN_VALVE_OPENING = 0.02
SPEED_COMMAND_FRACTION_OF_LIMIT = 0.97
"""The pressure loop never commands more than this fraction of the bench's ``max_speed_rpm``: a pump
that cannot make the pressure (a cavitating inlet, a worn impeller) must fail its requirement, not
push the speed loop's overshoot into the speed interlock."""
VALVE_DEADBAND = 0.002
"""A new valve command only when the controller has moved this far (a tenth of the bench valve's
positioning noise band at mid-stroke), so a steady segment costs no writes."""
SPEED_DEADBAND_RPM = 5.0
TANK_DEADBAND_PA = 300.0
"""Tank regulator commands closer than this (3 cm of water) are not sent: below the regulator's own
ripple, and each command is a confirmed write on the bench's DAQ."""

PARAMETERS = (
    Parameter(
        "mission", "text", "", "mission TOML file (empty: the sample lander, hil/data/lander_mission.toml)"
    ),
    Parameter("side", int, 0, "which propellant's pump this is: 0 fuel, 1 oxidiser", minimum=0, maximum=1),
    Parameter(
        "chamber_pressure_pa",
        float,
        1.0e6,
        "design chamber pressure at full thrust",
        minimum=1e5,
        maximum=2e7,
    ),
    Parameter(
        "tank_pressure_pa",
        float,
        2.0e5,
        "this side's design (lowest) tank pressure, absolute",
        minimum=1e4,
        maximum=5e6,
    ),
    Parameter(
        "speed_control",
        int,
        0,
        "0 closed-loop discharge pressure, 1 the sizing's speed schedule",
        minimum=0,
        maximum=1,
    ),
    Parameter(
        "tolerance_fraction",
        float,
        0.05,
        "band on delivered flow and pressure rise",
        minimum=0.001,
        maximum=0.5,
    ),
    Parameter(
        "transient_grace_s",
        float,
        3.0,
        "time after each throttle change before flow and rise are judged",
        minimum=0.0,
        maximum=60.0,
    ),
    Parameter(
        "prime_s", float, 10.0, "closed loop at full thrust before ignition", minimum=1.0, maximum=600.0
    ),
    Parameter(
        "regulator_time_constant_s",
        float,
        2.0,
        "the tank regulator's response time: its commands lead the boundary model by this much",
        minimum=0.0,
        maximum=60.0,
    ),
    Parameter("npsh3_run", "text", "", "an npsh3 run directory of this pump: judges the NPSH margin"),
    Parameter(
        "pump_model", "text", "", "pump model file (hil calibrate) to size with; empty: literature default"
    ),
    Parameter(
        "requirements",
        "text",
        "",
        "hil optimize --json report: judge against its design and requirements instead of sizing here",
    ),
    Parameter(
        "thrust_profile",
        "text",
        "",
        "CSV or TOML table of time_s, thrust_n flown instead of the mission's throttle profile",
    ),
)


@dataclass(frozen=True)
class MissionProfileParameters:
    """The parameters' values (see :data:`PARAMETERS` for units and ranges)."""

    mission: str
    side: int
    chamber_pressure_pa: float
    tank_pressure_pa: float
    speed_control: int
    tolerance_fraction: float
    transient_grace_s: float
    prime_s: float
    regulator_time_constant_s: float
    npsh3_run: str
    pump_model: str
    requirements: str
    thrust_profile: str


def _mission_path(params: MissionProfileParameters) -> Path:
    return Path(params.mission) if params.mission else SAMPLE_MISSION


def _sized_case(params: MissionProfileParameters, geometry: BenchGeometry) -> tuple[FlightCase, Path]:
    """The flight case: the ``hil optimize`` report's design and requirements when one is given,
    else the mission sized around this prototype; and the mission file it came from."""
    from hil.model.flight_case import flight_case, requirements_case
    from hil.model.pump_model import load_pump_model
    from hil.model.requirements_file import load_requirements
    from hil.model.sizing.mission import load_mission

    side = SIDES[params.side]
    if not params.requirements:
        path = _mission_path(params)
        case = flight_case(
            load_mission(path),
            side,
            impeller_diameter_m=geometry.impeller_diameter_m,
            chamber_pressure_pa=params.chamber_pressure_pa,
            tank_pressure_pa=params.tank_pressure_pa,
            pump_model=load_pump_model(params.pump_model) if params.pump_model else None,
        )
        return case, path
    defaults = {p.name: p.default for p in PARAMETERS}
    for name in ("chamber_pressure_pa", "tank_pressure_pa", "pump_model"):
        if getattr(params, name) != defaults[name]:
            raise ConfigError(
                "command line",
                f"-p {name}",
                f"the design and pump model come from the requirements file {params.requirements}: "
                f"leave {name} out",
            )
    requirements = load_requirements(params.requirements, side)
    case = requirements_case(
        requirements, bench_impeller_diameter_m=geometry.impeller_diameter_m, mission_file=params.mission
    )
    return case, Path(params.mission or requirements.mission_file)


def build_record(params: MissionProfileParameters, geometry: BenchGeometry) -> MissionRecord:
    """The flight case of these parameters on this bench (also what ``check`` validates)."""
    from hil.model.thrust_profile import load_thrust_profile, throttle_segments
    from hil.results.npsh3_table import npsh3_table

    case, path = _sized_case(params, geometry)
    sources = {
        "mission": str(path),
        "mission_text": path.read_text(),
        "npsh3_run": params.npsh3_run,
        "pump_model": params.pump_model,
    }
    if params.requirements:
        sources["requirements"] = params.requirements
        sources["requirements_text"] = Path(params.requirements).read_text()
        sources["speed_schedule"] = (
            f"the flight pump's ({case.impeller_diameter_m * 1e3:.1f} mm impeller) at its tip speed: "
            f"x {case.bench_speed_factor:.4f}"
        )
    if params.thrust_profile:
        rows = load_thrust_profile(params.thrust_profile)
        segments = throttle_segments(rows, case.burn.full_thrust_n, params.thrust_profile)
        case = case.with_thrust_profile(segments, params.thrust_profile)
        sources["thrust_profile"] = params.thrust_profile
        sources["thrust_profile_text"] = Path(params.thrust_profile).read_text()
    return case.record(
        tolerance_fraction=params.tolerance_fraction,
        transient_grace_s=params.transient_grace_s,
        bench_inlet_diameter_m=geometry.inlet_diameter_m,
        npsh3=npsh3_table(params.npsh3_run),
        sources=sources,
    )


def check(params: MissionProfileParameters, bench: BenchConfig) -> None:
    """Refuse before anything moves: no tank regulator, an unreadable mission, a speed beyond the bench."""
    if "tank_pressure" not in bench.roles:
        raise ConfigError(
            bench.source, "roles.tank_pressure", "the mission profile needs a tank_pressure role"
        )
    record = build_record(params, bench.geometry)
    top = max(record.segment_speeds_rpm)
    if top > bench.limits.max_speed_rpm:
        raise ConfigError(
            "command line",
            "-p requirements" if params.requirements else "-p chamber_pressure_pa",
            f"the sizing puts this pump at {top:.0f} rpm at full thrust, beyond the bench limit "
            f"max_speed_rpm = {bench.limits.max_speed_rpm:g} ({bench.source})",
        )


class _Loop:
    """The three controllers of the closed loop, stepped once a tick from the latest sample."""

    def __init__(
        self,
        runner: ProcedureRunner,
        record: MissionRecord,
        schedule: bool,
        speed_rpm: float,
        regulator_lead_s: float,
    ) -> None:
        self.runner = runner
        self.regulator_lead_s = regulator_lead_s
        self.record = record
        self.schedule = schedule
        self.opening = 0.5
        self.valve_cmd = 0.5
        self.tank_cmd = math.nan
        self.speed_ref = speed_rpm
        self.speed_integral = speed_rpm
        self.speed_cmd = speed_rpm
        self.segment = 0

    def segment_end_s(self, index: int) -> float:
        return self.record.burn.segment_starts_s()[index] + self.record.burn.segments[index][0]

    def step(self, mission_time_s: float) -> None:
        from hil.analysis.mission_profile import boundary

        runner, record = self.runner, self.record
        now = runner.now_s()
        m = runner.window_means(now - 0.5 * runner.tick_s, now)
        q, p_in, p_out, tank = (
            m["flow_m3_s"],
            m["p_inlet_pa"],
            m["p_outlet_pa"],
            m.get("tank_pressure_pa", math.nan),
        )
        if any(math.isnan(v) for v in (q, p_in, p_out)):
            return  # a lost reading: hold every command this tick
        b = boundary(record, mission_time_s, q)
        rise = p_out - p_in
        scale = max(b.bench_nominal_rise_pa, 1.0)
        dt = runner.tick_s
        # valve: the engine's system curve (too much rise for this flow -> open)
        correction = VALVE_GAIN_PER_S * (rise - b.bench_rise_target_pa) / scale * dt
        self.opening = min(max(self.opening + correction, MIN_VALVE_OPENING), 1.0)
        if abs(self.opening - self.valve_cmd) >= VALVE_DEADBAND:
            self.valve_cmd = round(self.opening, 4)
            runner.set_valve_opening(self.valve_cmd)
        # pump controller
        segment = record.segment_index(mission_time_s)
        speeds = record.segment_speeds_rpm
        if segment != self.segment:
            ratio = speeds[segment] / speeds[self.segment]
            self.speed_integral *= ratio
            self.speed_ref *= ratio
            self.segment = segment
        if self.schedule:
            command = speeds[segment]
        else:
            error = (b.bench_nominal_rise_pa - rise) / scale
            self.speed_integral += SPEED_KI_PER_S * error * dt * self.speed_ref
            command = self.speed_integral + SPEED_KP * error * self.speed_ref
        limit = SPEED_COMMAND_FRACTION_OF_LIMIT * runner.limits.max_speed_rpm
        command = min(max(command, 0.0), limit)
        self.speed_integral = min(max(self.speed_integral, 0.0), limit)
        if abs(command - self.speed_cmd) >= SPEED_DEADBAND_RPM:
            self.speed_cmd = round(command, 1)
            runner.set_speed_rpm(self.speed_cmd)
        # tank: the NPSH available, through the bench's own inlet-to-tank offset as measured now, and
        # commanded one regulator time constant ahead (within the segment), so a first-order
        # regulator follows a blowdown's falling pressure without the lag a ramp would leave
        if not math.isnan(tank):
            lead = min(mission_time_s + self.regulator_lead_s, self.segment_end_s(segment) - 1e-6)
            ahead = boundary(record, max(lead, mission_time_s), q) if mission_time_s > 0.0 else b
            target = ahead.bench_inlet_target_pa + (tank - p_in)
            target = round(min(max(target, 1000.0), runner.limits.max_outlet_pressure_pa), 0)
            if math.isnan(self.tank_cmd) or abs(target - self.tank_cmd) >= TANK_DEADBAND_PA:
                self.tank_cmd = target
                runner.set_tank_pressure_pa(target)


def run(runner: ProcedureRunner, params: MissionProfileParameters) -> None:
    from hil.analysis.mission_profile import EVENT_KIND, IGNITION_EVENT, boundary

    record = build_record(params, runner.geometry)
    runner.event(EVENT_KIND, record=record.as_dict())
    start = boundary(record, 0.0, record.nominal_flow_m3_s(0.0))
    runner.set_tank_pressure_pa(start.bench_inlet_target_pa)
    runner.set_valve_opening(0.5)
    speed = min(record.segment_speeds_rpm[0], runner.limits.max_speed_rpm)
    runner.progress(f"priming: spin up to {speed:.0f} rpm, full-thrust boundary conditions")
    runner.ramp_speed_rpm(speed, 20000.0)
    loop = _Loop(runner, record, params.speed_control == 1, speed, params.regulator_time_constant_s)
    end = runner.now_s() + params.prime_s
    while runner.now_s() < end - 1e-9:
        loop.step(0.0)
        runner.hold(runner.tick_s)
    runner.event(IGNITION_EVENT)
    ignition = runner.now_s()
    duration = record.burn.duration_s
    next_report = 0.0
    while (t := runner.now_s() - ignition) < duration - 1e-9:
        if t >= next_report:
            runner.progress(
                f"mission time {t:.0f}/{duration:.0f} s, throttle {record.burn.throttle_at(t):.2f}"
            )
            next_report += 30.0
        loop.step(t)
        runner.hold(runner.tick_s)
    runner.event("burnout")
    runner.set_valve_opening(1.0)
    runner.ramp_speed_rpm(0.0, 20000.0)


PROCEDURE = ProcedureSpec(
    name="mission-profile",
    summary="closed loop: the pump flies the lander's descent burn against the engine and tank",
    parameters=PARAMETERS,
    parameters_type=MissionProfileParameters,
    check=check,
    run=run,
    products=("mission_profile",),
)
