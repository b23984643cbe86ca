"""One propellant side of the lander, sized around the prototype on the bench: the flight case.

A mission-profile run needs two things from the sizing model: the boundary conditions of the rest
of the feed system (:mod:`hil.model.feed_system`, built from the mission and the sized stage) and the
requirements the pump is judged against (what the sizing *assumed*: flow and pressure rise at each
throttle, NPSH margin, electrical power and the energy drawn from the battery).

The bench runs the prototype at flight speed and flight volumetric flow (see
:mod:`hil.model.similarity`), which only means something if the flight pump *is* the prototype.
So the stage is sized at a fixed design (chamber pressure, this side's tank pressure) with the pump
speed solved so that the sized impeller has the prototype's diameter: the sizing's similarity
scaling then describes this very pump, and its speeds, powers and energy are what the stage was
built on. The pump curves are the calibrated pump model (``hil calibrate``) when given, else the
literature default.

:func:`flight_case` builds a :class:`FlightCase`; everything in it is plain numbers, so the same
case is rebuilt identically by replay from the mission file recorded with the run.

Two other sources of requirements: :func:`requirements_case` takes the design and the requirements
``hil optimize --json`` reported (a flight pump that may be larger or smaller than the prototype:
the requirements are on what the pump delivers, flow and pressure rise, NPSH margin, power and
energy, and the prototype must meet them at whatever speed its own controller finds), and
:meth:`FlightCase.with_thrust_profile` flies a plain thrust-versus-time history instead of the
mission's throttle profile (:mod:`hil.model.thrust_profile`).

Imports :mod:`hil.core`, :mod:`hil.analysis` (the boundary model and the similarity mapping),
:mod:`hil.model.sizing`, :mod:`hil.model.pump_model` and :mod:`hil.model.requirements_file`; knows
nothing of instruments.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from hil.analysis.feed_system import Burn, Engine, Tank
from hil.analysis.mission_profile import MissionRecord, Npsh3Table
from hil.analysis.similarity import Similarity
from hil.core.errors import ConfigError
from hil.core.fluids import water_density_kg_m3, water_vapour_pressure_pa
from hil.model.pump_model import PumpModel, load_pump_model
from hil.model.requirements_file import SizedRequirements
from hil.model.sizing import SizingInputs, evaluate_electric
from hil.model.sizing import components as comp
from hil.model.sizing.batches import ElectricBatch, PumpBatch
from hil.model.sizing.mission import load_mission
from hil.model.sizing.model import DESIGN_VARIABLES

__all__ = ["FlightCase", "SegmentRequirement", "flight_case", "requirements_case"]

_SPEED_GRID_POINTS = 81
REPRODUCE_TOLERANCE = 1e-6
"""Relative agreement a reported design must show when rebuilt from its mission and pump model (the
JSON holds the numbers to 16 digits; the sizing model is deterministic)."""


@dataclass(frozen=True)
class SegmentRequirement:
    """What the sizing assumed for this pump in one throttle segment of the burn."""

    throttle: float
    flow_m3_s: float
    pressure_rise_pa: float
    speed_rpm: float
    npsh3_m: float
    electrical_power_w: float


@dataclass(frozen=True)
class FlightCase:
    """Boundary models and requirements of one propellant side, in flight units."""

    side: str
    propellant: str
    burn: Burn
    engine: Engine
    tank: Tank
    similarity: Similarity
    segments: tuple[SegmentRequirement, ...]
    design_speed_rpm: float
    impeller_diameter_m: float
    peak_electrical_power_w: float
    """The highest electrical power the sizing assumed for this pump (design point included)."""
    electrical_energy_j: float
    """The energy this pump draws over the burn in the sizing (its share of the battery)."""
    npsh_margin: float
    bench_speed_factor: float = 1.0
    """Multiplies the sizing's speed schedule into the bench pump's: 1 when the flight pump is the
    prototype (:func:`flight_case`); ``D_flight / D_bench`` (the same tip speed) when the schedule is
    a flight pump of another diameter (:func:`requirements_case`)."""

    def record(
        self,
        *,
        tolerance_fraction: float,
        transient_grace_s: float,
        bench_inlet_diameter_m: float,
        npsh3: Npsh3Table | None = None,
        sources: dict[str, str] | None = None,
    ) -> MissionRecord:
        """The numbers a mission-profile run records and judges with."""
        return MissionRecord(
            side=self.side,
            propellant=self.propellant,
            burn=self.burn,
            engine=self.engine,
            tank=self.tank,
            similarity=self.similarity,
            segment_speeds_rpm=tuple(s.speed_rpm * self.bench_speed_factor for s in self.segments),
            segment_powers_w=tuple(s.electrical_power_w for s in self.segments),
            peak_electrical_power_w=self.peak_electrical_power_w,
            electrical_energy_j=self.electrical_energy_j,
            npsh_margin=self.npsh_margin,
            tolerance_fraction=tolerance_fraction,
            transient_grace_s=transient_grace_s,
            bench_inlet_diameter_m=bench_inlet_diameter_m,
            npsh3=npsh3,
            sources=dict(sources or {}),
        )

    def with_thrust_profile(self, segments: tuple[tuple[float, float], ...], source: str) -> FlightCase:
        """The same stage flying another throttle history: ``segments`` of (duration_s, throttle).

        The engine, tank, battery share and peak power stay those the stage was sized with; each new
        segment's requirement is read off the sized ones at its throttle (linear in throttle between
        them in log-log, as powers of the throttle, held beyond them: a feed-forward for the speed and
        a figure for the report; the flow and the pressure rise judged come from the boundary model
        at the commanded thrust). A profile
        that draws more of this side's propellant than its tank holds is refused, naming ``source``.
        """
        burned_kg = sum(d * f for d, f in segments) * self.burn.full_mass_flow_kg_s
        drawn = burned_kg * self.engine.side_fraction / self.flight_density_kg_m3()
        if drawn > self.tank.initial_liquid_m3:
            raise ConfigError(
                source,
                "thrust_n",
                f"the profile draws {drawn * 1e3:.1f} L of {self.propellant}, more than the "
                f"{self.tank.initial_liquid_m3 * 1e3:.1f} L its tank was sized to hold",
            )
        burn = replace(self.burn, segments=segments)
        known = sorted(self.segments, key=lambda s: s.throttle)
        throttles = [s.throttle for s in known]

        def at(throttle: float, name: str) -> float:
            # log-log: speed, rise, NPSH3 and power go as powers of the throttle (power about its cube)
            values = [math.log(max(getattr(s, name), 1e-300)) for s in known]
            return math.exp(float(np.interp(math.log(throttle), np.log(throttles), values)))

        flow_per_throttle = self.engine.side_full_mass_flow_kg_s / self.flight_density_kg_m3()
        new = tuple(
            SegmentRequirement(
                throttle=f,
                flow_m3_s=flow_per_throttle * f,
                pressure_rise_pa=at(f, "pressure_rise_pa"),
                speed_rpm=at(f, "speed_rpm"),
                npsh3_m=at(f, "npsh3_m"),
                electrical_power_w=at(f, "electrical_power_w"),
            )
            for _, f in segments
        )
        return replace(self, burn=burn, segments=new)

    def segment_at(self, time_s: float) -> SegmentRequirement:
        index = 0
        for i, start in enumerate(self.burn.segment_starts_s()):
            if time_s >= start:
                index = i
        return self.segments[index]

    def flight_density_kg_m3(self) -> float:
        return self.similarity.flight_density_kg_m3

    def expelled_side_m3(self, time_s: float) -> float:
        """Volume of this side's propellant drawn from its tank by ``time_s`` (nominal flow)."""
        mass = self.burn.expelled_mass_kg(time_s) * self.engine.side_fraction
        return mass / self.similarity.flight_density_kg_m3


def _side_batch(batch: ElectricBatch, side: str) -> PumpBatch:
    return batch.fuel if side == "fuel" else batch.oxidiser


def flight_case(
    inputs: SizingInputs,
    side: str,
    *,
    impeller_diameter_m: float,
    chamber_pressure_pa: float,
    tank_pressure_pa: float,
    pump_model: PumpModel | None = None,
    bench_temperature_c: float = 20.0,
) -> FlightCase:
    """Size the stage at a fixed design whose ``side`` pump has ``impeller_diameter_m``.

    ``tank_pressure_pa`` is this side's design (lowest) tank pressure; the other side gets the same
    (it only affects the other pump, which is not judged here). Raises :class:`ConfigError` naming
    the field when no speed within the mission's speed bounds gives that diameter.
    """
    _check_side(inputs, side)
    model = pump_model if pump_model is not None else PumpModel.default()
    lo, hi = inputs.bounds.pump_speed_rpm
    speeds = np.geomspace(lo, hi, _SPEED_GRID_POINTS)
    designs = np.zeros((speeds.size, len(DESIGN_VARIABLES)))
    designs[:, 0] = chamber_pressure_pa
    designs[:, 1] = tank_pressure_pa
    designs[:, 2] = tank_pressure_pa
    designs[:, 3] = speeds
    designs[:, 4] = speeds
    grid = evaluate_electric(inputs, model, designs, extrapolate=True)
    diameters = _side_batch(grid, side).diameter_m
    # Diameter falls monotonically with speed at a fixed duty (D ~ n^-2/3 at a fixed flow coefficient).
    if not (diameters[-1] <= impeller_diameter_m <= diameters[0]):
        raise ConfigError(
            inputs.source,
            "bounds.pump_speed_rpm",
            f"no speed in {lo:g}..{hi:g} rpm sizes the {side} pump at the bench's impeller diameter "
            f"{impeller_diameter_m * 1e3:.1f} mm (the range gives {diameters[-1] * 1e3:.1f}.."
            f"{diameters[0] * 1e3:.1f} mm): this prototype cannot be the flight pump of this design",
        )
    speed = float(np.exp(np.interp(-np.log(impeller_diameter_m), -np.log(diameters), np.log(speeds))))
    design = designs[:1].copy()
    design[0, 3] = speed
    design[0, 4] = speed
    batch = evaluate_electric(inputs, model, design, extrapolate=True)
    return _case_of(inputs, side, batch, tank_pressure_pa, bench_temperature_c)


def requirements_case(
    requirements: SizedRequirements,
    *,
    bench_impeller_diameter_m: float,
    mission_file: str = "",
    bench_temperature_c: float = 20.0,
) -> FlightCase:
    """The flight case of the design ``hil optimize`` reported, judged by its own requirements.

    The stage (burn, engine, tank) is rebuilt by evaluating the reported optimum with the mission
    file and pump model the report names (``mission_file`` overrides the mission), and must
    reproduce the report (burn time and this pump's full-thrust flow and pressure rise to 1e-6):
    a mission edited since the sizing is refused rather than judged against requirements it no
    longer has. The requirements then come from the report itself: per segment flow, pressure rise,
    speed, NPSH3 and electrical power; the peak electrical power this pump was sized for; and its
    share of the battery, the segments' electrical power times their durations.

    The speed schedule is the flight pump's, whose impeller (``requirements.impeller_diameter_m``)
    need not be the prototype's: it is carried to the bench at the same tip speed, ``n D`` (the head
    goes with ``(n D)^2`` at a given flow coefficient), which is exact only for a geometrically similar
    pump; the closed pressure loop (the mission profile's default) corrects what it is not.
    """
    mission_path = mission_file or requirements.mission_file
    inputs = load_mission(mission_path)
    side = requirements.side
    _check_side(inputs, side)
    model = (
        load_pump_model(requirements.pump_model_file) if requirements.pump_model_file else PumpModel.default()
    )
    batch = evaluate_electric(inputs, model, np.array([requirements.design]), extrapolate=True)
    pump = _side_batch(batch, side)
    design = requirements.points[0]
    checks = (
        ("electric_pump_fed.burn_time_s", requirements.burn_time_s, float(batch.masses.burn_time_s[0])),
        (f"pump_requirements.{side}.points[0].flow_m3_s", design.flow_m3_s, float(pump.flow_m3_s[0, 0])),
        (
            f"pump_requirements.{side}.points[0].pressure_rise_pa",
            design.pressure_rise_pa,
            float(pump.pressure_rise_pa[0, 0]),
        ),
    )
    for field_name, reported, rebuilt in checks:
        if not abs(reported - rebuilt) <= REPRODUCE_TOLERANCE * abs(reported):
            raise ConfigError(
                requirements.source,
                field_name,
                f"the design does not reproduce with the mission file {mission_path}: reported "
                f"{reported:.6g}, rebuilt {rebuilt:.6g} (mission or pump model changed since hil optimize?)",
            )
    if len(requirements.segments) != len(inputs.engine.throttle_profile):
        raise ConfigError(
            requirements.source,
            f"pump_requirements.{side}.points",
            f"{len(requirements.segments)} segments, but the mission {mission_path} has "
            f"{len(inputs.engine.throttle_profile)}",
        )
    tank_pressure = requirements.design[1] if side == "fuel" else requirements.design[2]
    case = _case_of(inputs, side, batch, tank_pressure, bench_temperature_c)
    segments = tuple(
        SegmentRequirement(
            throttle=p.throttle,
            flow_m3_s=p.flow_m3_s,
            pressure_rise_pa=p.pressure_rise_pa,
            speed_rpm=p.speed_rpm,
            npsh3_m=p.npsh3_m,
            electrical_power_w=p.electrical_power_w,
        )
        for p in requirements.segments
    )
    energy = requirements.burn_time_s * sum(
        p.electrical_power_w * s.duration_fraction
        for p, s in zip(requirements.segments, inputs.engine.throttle_profile, strict=True)
    )
    return replace(
        case,
        segments=segments,
        design_speed_rpm=design.speed_rpm,
        impeller_diameter_m=requirements.impeller_diameter_m,
        peak_electrical_power_w=requirements.peak_electrical_power_w,
        electrical_energy_j=energy,
        bench_speed_factor=requirements.impeller_diameter_m / bench_impeller_diameter_m,
    )


def _check_side(inputs: SizingInputs, side: str) -> None:
    if side not in ("fuel", "oxidiser"):
        raise ConfigError(inputs.source, "side", f"expected fuel or oxidiser, got {side!r}")


def _case_of(
    inputs: SizingInputs, side: str, batch: ElectricBatch, tank_pressure_pa: float, bench_temperature_c: float
) -> FlightCase:
    """The flight case of one evaluated design (the batch's first row)."""
    pump = _side_batch(batch, side)
    props = inputs.propellants
    fluid = props.fuel if side == "fuel" else props.oxidiser
    density = props.fuel_density_kg_m3 if side == "fuel" else props.oxidiser_density_kg_m3
    vapour = props.fuel_vapour_pressure_pa if side == "fuel" else props.oxidiser_vapour_pressure_pa
    isp = float(batch.isp_s[0])
    masses = batch.masses
    burn_time = float(masses.burn_time_s[0])
    initial_mass = inputs.mission.dry_mass_kg + float(masses.total_kg[0])
    eng = inputs.engine
    full_mass_flow = float(comp.mass_flow_kg_s(eng.thrust_n, isp))
    burn = Burn(
        full_thrust_n=eng.thrust_n,
        full_mass_flow_kg_s=full_mass_flow,
        initial_mass_kg=initial_mass,
        segments=tuple((s.duration_fraction * burn_time, s.throttle) for s in eng.throttle_profile),
    )
    r = float(batch.mixture_ratio[0]) if batch.mixture_ratio.size else eng.mixture_ratio
    engine = Engine(
        design_chamber_pressure_pa=float(batch.designs[0, 0]),
        full_mass_flow_kg_s=full_mass_flow,
        side_fraction=1.0 / (1.0 + r) if side == "fuel" else r / (1.0 + r),
        injector_drop_fraction=eng.injector_drop_fraction,
        line_loss_pa=eng.fuel_line_loss_pa if side == "fuel" else eng.oxidiser_line_loss_pa,
    )
    volume = float((masses.fuel_tank_volume_m3 if side == "fuel" else masses.oxidiser_tank_volume_m3)[0])
    usable_side = float(masses.usable_propellant_kg[0]) * engine.side_fraction
    rr = inputs.margins.residual_fraction + inputs.margins.reserve_fraction
    liquid = min(usable_side * (1.0 + rr) / density, volume)
    press = inputs.pressurant
    blowdown = press.mode == "blowdown"
    tank = Tank(
        volume_m3=volume,
        initial_liquid_m3=liquid,
        density_kg_m3=density,
        vapour_pressure_pa=vapour,
        pressure_pa=tank_pressure_pa * (press.blowdown_ratio if blowdown else 1.0),
        suction_line_loss_pa=inputs.engine.suction_line_loss_pa,
        full_volume_flow_m3_s=engine.side_full_mass_flow_kg_s / density,
        mode=press.mode,
        initial_ullage_m3=volume - liquid if blowdown else 0.0,
        polytropic_exponent=press.polytropic_exponent,
        shape=inputs.tanks.shape,
        length_to_diameter=inputs.tanks.length_to_diameter,
        static_head_m=inputs.margins.inlet_static_head_m,
    )
    similarity = Similarity(
        flight_density_kg_m3=density,
        flight_vapour_pressure_pa=vapour,
        bench_density_kg_m3=water_density_kg_m3(bench_temperature_c),
        bench_vapour_pressure_pa=water_vapour_pressure_pa(bench_temperature_c),
    )
    segments = tuple(
        SegmentRequirement(
            throttle=float(batch.throttle[j]),
            flow_m3_s=float(pump.flow_m3_s[0, j]),
            pressure_rise_pa=float(pump.pressure_rise_pa[0, j]),
            speed_rpm=float(pump.speed_rpm[0, j]),
            npsh3_m=float(pump.npsh3_m[0, j]),
            electrical_power_w=float(pump.electrical_power_w[0, j]),
        )
        for j in range(1, batch.throttle.size)
    )
    tau = batch.duration_fraction
    energy = float(np.sum(pump.electrical_power_w[0, 1:] * tau)) * burn_time
    return FlightCase(
        side=side,
        propellant=fluid.name,
        burn=burn,
        engine=engine,
        tank=tank,
        similarity=similarity,
        segments=segments,
        design_speed_rpm=float(pump.speed_rpm[0, 0]),
        impeller_diameter_m=float(pump.diameter_m[0]),
        peak_electrical_power_w=float(np.max(pump.electrical_power_w[0])),
        electrical_energy_j=energy,
        npsh_margin=inputs.margins.npsh_margin,
    )
