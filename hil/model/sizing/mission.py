"""The mission file: a TOML document read into the sizing model's inputs.

:func:`load_mission` / :func:`parse_mission` read the tables ``[mission]``, ``[engine]`` (with
``[[engine.throttle]]`` segments), ``[propellants]``, ``[margins]``, ``[tanks]``, ``[pressurant]``,
``[electric]`` and ``[bounds]`` into :class:`~hil.model.sizing.inputs.SizingInputs`, field by field
through the one config reader (:class:`hil.core.config.Section`): a key the schema does not know, a
wrong type, a value out of range or without physical meaning is a
:class:`~hil.core.errors.ConfigError` naming the file, the field (``engine.thrust_n``) and what was
expected. Every default is the one documented on the input dataclasses.

The input dataclasses are re-exported here, so ``from hil.model.sizing.mission import ElectricSpec``
keeps working.

Imports :mod:`hil.core` (config, errors), :mod:`hil.model.propellants` and
:mod:`hil.model.sizing.inputs` only from the project.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hil.core.config import Section, load_toml
from hil.core.errors import ConfigError, HilError
from hil.model.propellants import ExplicitPropellant, Propellant, TankMaterial, propellant, tank_material
from hil.model.sizing.inputs import (
    DesignBounds,
    ElectricSpec,
    EngineSpec,
    MarginSpec,
    MissionSpec,
    PressurantSpec,
    PropellantSpec,
    SizingInputs,
    TankSpec,
    ThrottleSegment,
    input_summary,
)

__all__ = [
    "DesignBounds",
    "ElectricSpec",
    "EngineSpec",
    "MarginSpec",
    "MissionSpec",
    "PressurantSpec",
    "PropellantSpec",
    "SizingInputs",
    "TankSpec",
    "ThrottleSegment",
    "input_summary",
    "load_mission",
    "parse_mission",
]


def load_mission(path: Path | str) -> SizingInputs:
    """Read and validate a mission TOML file into :class:`SizingInputs`."""
    path = Path(path)
    return parse_mission(load_toml(path), source=str(path))


def parse_mission(data: dict[str, Any], source: str = "<mission>") -> SizingInputs:
    """Validate a parsed mission document (as from ``tomllib``) into :class:`SizingInputs`."""
    top = Section(data, source)
    mission = _parse_mission_section(top.section("mission"))
    engine = _parse_engine(top.section("engine"))
    propellants = _parse_propellants(top.section("propellants"))
    margins = _parse_margins(top.section("margins", {}))
    tanks = _parse_tanks(top.section("tanks", {}))
    pressurant = _parse_pressurant(top.section("pressurant", {}))
    electric = _parse_electric(top.section("electric", {}))
    bounds = _parse_bounds(top.section("bounds", {}))
    top.finish()
    return SizingInputs(
        mission=mission,
        engine=engine,
        propellants=propellants,
        margins=margins,
        tanks=tanks,
        pressurant=pressurant,
        electric=electric,
        bounds=bounds,
        source=source,
    )


def _parse_mission_section(sec: Section) -> MissionSpec:
    name = sec.string("name", "mission")
    delta_v = sec.positive("delta_v_m_s", None)
    impulse = sec.positive("total_impulse_n_s", None)
    dry = sec.optional_number("dry_mass_kg", minimum=0.0)
    sec.finish()
    if (delta_v is None) == (impulse is None):
        raise ConfigError(sec.source, "mission", "expected exactly one of delta_v_m_s or total_impulse_n_s")
    if delta_v is not None and dry is None:
        raise sec.error(
            "dry_mass_kg",
            "missing (required with delta_v_m_s: mass at burnout without the propulsion system)",
        )
    return MissionSpec(name=name, delta_v_m_s=delta_v, total_impulse_n_s=impulse, dry_mass_kg=dry or 0.0)


def _parse_engine(sec: Section) -> EngineSpec:
    d = EngineSpec()
    thrust = sec.positive("thrust_n")
    isp = sec.positive("isp_s")
    mixture = sec.positive("mixture_ratio")
    profile = _parse_profile(sec) if sec.has("throttle") else d.throttle_profile
    engine = EngineSpec(
        thrust_n=thrust,
        isp_s=isp,
        mixture_ratio=mixture,
        chamber_pressure_pa=sec.positive("chamber_pressure_pa", d.chamber_pressure_pa),
        isp_per_chamber_pressure_s_per_pa=sec.number("isp_per_chamber_pressure_s_per_pa", 0.0),
        injector_drop_fraction=sec.number(
            "injector_drop_fraction", d.injector_drop_fraction, minimum=0.0, maximum=2.0
        ),
        fuel_line_loss_pa=sec.number("fuel_line_loss_pa", d.fuel_line_loss_pa, minimum=0.0),
        oxidiser_line_loss_pa=sec.number("oxidiser_line_loss_pa", d.oxidiser_line_loss_pa, minimum=0.0),
        suction_line_loss_pa=sec.number("suction_line_loss_pa", d.suction_line_loss_pa, minimum=0.0),
        fixed_hardware_mass_kg=sec.number("fixed_hardware_mass_kg", d.fixed_hardware_mass_kg, minimum=0.0),
        throttle_profile=profile,
    )
    sec.finish()
    return engine


def _parse_profile(sec: Section) -> tuple[ThrottleSegment, ...]:
    segments = []
    for sub in sec.table_list("throttle", min_length=1):
        duration = sub.positive("duration_fraction")
        throttle = sub.number("throttle", minimum=0.0, maximum=1.0, exclusive_minimum=True)
        sub.finish()
        segments.append(ThrottleSegment(duration, throttle))
    total = sum(s.duration_fraction for s in segments)
    if abs(total - 1.0) > 1e-6:
        raise sec.error("throttle", f"expected duration fractions summing to 1, got {total:g}")
    return tuple(segments)


def _parse_one_propellant(sec: Section, key: str, temperature_c: float) -> Propellant:
    raw = sec.raw(key)
    prop: Propellant
    if isinstance(raw, str):
        try:
            prop = propellant(raw)
        except HilError as exc:
            raise sec.error(key, str(exc)) from exc
    elif isinstance(raw, dict):
        sub = sec.section(key)
        name = sub.string("name", key)
        density = sub.positive("density_kg_m3")
        vapour = sub.number("vapour_pressure_pa", minimum=0.0)
        source_text = sub.string("source", "user-supplied values in the mission file")
        sub.finish()
        prop = ExplicitPropellant.at(name, temperature_c, density, vapour, source_text)
    else:
        raise sec.error(key, f"expected a propellant name or a table of explicit values, got {raw!r}")
    try:
        prop.density_kg_m3(temperature_c)
        prop.vapour_pressure_pa(temperature_c)
    except HilError as exc:
        raise sec.error("temperature_c", str(exc)) from exc
    return prop


def _parse_propellants(sec: Section) -> PropellantSpec:
    temperature = sec.number("temperature_c", 20.0, minimum=-273.15, exclusive_minimum=True)
    fuel = _parse_one_propellant(sec, "fuel", temperature)
    oxidiser = _parse_one_propellant(sec, "oxidiser", temperature)
    sec.finish()
    return PropellantSpec(fuel=fuel, oxidiser=oxidiser, temperature_c=temperature)


def _parse_margins(sec: Section) -> MarginSpec:
    d = MarginSpec()
    margins = MarginSpec(
        ullage_fraction=sec.number("ullage_fraction", d.ullage_fraction, minimum=0.0, maximum=1.0),
        residual_fraction=sec.number("residual_fraction", d.residual_fraction, minimum=0.0, maximum=0.5),
        reserve_fraction=sec.number("reserve_fraction", d.reserve_fraction, minimum=0.0, maximum=0.5),
        npsh_margin=sec.number("npsh_margin", d.npsh_margin, minimum=1.0),
        inlet_static_head_m=sec.number("inlet_static_head_m", d.inlet_static_head_m, minimum=0.0),
    )
    sec.finish()
    return margins


def _material(sec: Section, key: str, default: TankMaterial) -> TankMaterial:
    if not sec.has(key):
        sec.raw(key, None)
        return default
    raw = sec.raw(key)
    if isinstance(raw, str):
        try:
            return tank_material(raw)
        except HilError as exc:
            raise sec.error(key, str(exc)) from exc
    if isinstance(raw, dict):
        sub = sec.section(key)
        name = sub.string("name", "custom")
        density = sub.positive("density_kg_m3")
        stress = sub.positive("allowable_stress_pa")
        text = sub.string("source", "user-supplied values in the mission file")
        sub.finish()
        return TankMaterial(name, density, stress, text)
    raise sec.error(key, f"expected a material name or a table of explicit values, got {raw!r}")


def _parse_tanks(sec: Section) -> TankSpec:
    d = TankSpec()
    tanks = TankSpec(
        material=_material(sec, "material", d.material),
        shape=sec.string("shape", d.shape, choices=("sphere", "cylinder")),
        length_to_diameter=sec.number("length_to_diameter", d.length_to_diameter, minimum=1.0),
        safety_factor=sec.number("safety_factor", d.safety_factor, minimum=1.0),
        min_wall_thickness_m=sec.number("min_wall_thickness_m", d.min_wall_thickness_m, minimum=0.0),
        max_acceleration_m_s2=sec.number("max_acceleration_m_s2", d.max_acceleration_m_s2, minimum=0.0),
    )
    sec.finish()
    return tanks


def _parse_pressurant(sec: Section) -> PressurantSpec:
    d = PressurantSpec()
    spec = PressurantSpec(
        gas_constant_j_kg_k=sec.positive("gas_constant_j_kg_k", d.gas_constant_j_kg_k),
        storage_pressure_pa=sec.positive("storage_pressure_pa", d.storage_pressure_pa),
        temperature_k=sec.positive("temperature_k", d.temperature_k),
        polytropic_exponent=sec.number(
            "polytropic_exponent", d.polytropic_exponent, minimum=1.0, maximum=1.7
        ),
        regulator_drop_pa=sec.number("regulator_drop_pa", d.regulator_drop_pa, minimum=0.0),
        tank_material=_material(sec, "tank_material", d.tank_material),
        tank_safety_factor=sec.number("tank_safety_factor", d.tank_safety_factor, minimum=1.0),
        tank_min_wall_thickness_m=sec.number(
            "tank_min_wall_thickness_m", d.tank_min_wall_thickness_m, minimum=0.0
        ),
        mode=sec.string("mode", d.mode, choices=("regulated", "blowdown")),
        blowdown_ratio=sec.number("blowdown_ratio", d.blowdown_ratio, minimum=1.0, exclusive_minimum=True),
    )
    sec.finish()
    return spec


def _parse_electric(sec: Section) -> ElectricSpec:
    d = ElectricSpec()
    spec = ElectricSpec(
        pump_specific_power_w_kg=sec.positive("pump_specific_power_w_kg", d.pump_specific_power_w_kg),
        pump_mass_model=sec.string("pump_mass_model", d.pump_mass_model, choices=("specific_power", "size")),
        pump_size_coefficient_kg_m3=sec.positive(
            "pump_size_coefficient_kg_m3", d.pump_size_coefficient_kg_m3
        ),
        motor_efficiency=sec.efficiency("motor_efficiency", d.motor_efficiency),
        motor_specific_power_w_kg=sec.positive("motor_specific_power_w_kg", d.motor_specific_power_w_kg),
        inverter_efficiency=sec.efficiency("inverter_efficiency", d.inverter_efficiency),
        inverter_specific_power_w_kg=sec.positive(
            "inverter_specific_power_w_kg", d.inverter_specific_power_w_kg
        ),
        battery_specific_power_w_kg=sec.positive(
            "battery_specific_power_w_kg", d.battery_specific_power_w_kg
        ),
        battery_specific_energy_wh_kg=sec.positive(
            "battery_specific_energy_wh_kg", d.battery_specific_energy_wh_kg
        ),
        battery_packing_factor=sec.number("battery_packing_factor", d.battery_packing_factor, minimum=1.0),
        battery_discharge_efficiency=sec.number(
            "battery_discharge_efficiency", d.battery_discharge_efficiency, minimum=0.3, maximum=1.0
        ),
        battery_rate_derating_per_c=sec.number(
            "battery_rate_derating_per_c", d.battery_rate_derating_per_c, minimum=0.0
        ),
        max_electrical_power_w=sec.positive(
            "max_electrical_power_w", d.max_electrical_power_w, allow_inf=True
        ),
        assumed_suction_specific_speed=sec.positive(
            "assumed_suction_specific_speed", d.assumed_suction_specific_speed
        ),
    )
    sec.finish()
    return spec


def _parse_bounds(sec: Section) -> DesignBounds:
    d = DesignBounds()
    bounds = DesignBounds(
        chamber_pressure_pa=sec.pair(
            "chamber_pressure_pa", d.chamber_pressure_pa, minimum=0.0, exclusive_minimum=True
        ),
        tank_pressure_pa=sec.pair(
            "tank_pressure_pa", d.tank_pressure_pa, minimum=0.0, exclusive_minimum=True
        ),
        pump_speed_rpm=sec.pair("pump_speed_rpm", d.pump_speed_rpm, minimum=0.0, exclusive_minimum=True),
    )
    sec.finish()
    return bounds
