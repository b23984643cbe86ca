"""The mission file: a TOML document read into the sizing model's inputs.

:func:`load_mission` / :func:`parse_mission` read the tables ``[mission]``, ``[engine]`` (with
``[[engine.throttle]]`` segments), ``[propellants]``, ``[margins]``, ``[tanks]``, ``[pressurant]``,
``[electric]``, ``[bounds]`` and ``[uncertainty]`` into :class:`~hil.model.sizing.inputs.SizingInputs`, field by field
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

import dataclasses
from pathlib import Path
from typing import Any

from hil.core.config import Section, load_toml
from hil.core.errors import ConfigError, HilError
from hil.model.propellants import ExplicitPropellant, Propellant, TankMaterial, propellant, tank_material
from hil.model.sizing.inputs import (
    DesignBounds,
    ElectricSpec,
    EngineSpec,
    InputUncertainty,
    MarginSpec,
    MissionSpec,
    PressurantSpec,
    PropellantSpec,
    SizingInputs,
    TankSpec,
    ThrottleSegment,
    input_summary,
)
from hil.model.thermochemistry import PerformanceTable, ThermochemistryError, cea_species

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
    engine_section = top.section("engine")
    engine = _parse_engine(engine_section)
    propellants = _parse_propellants(top.section("propellants"))
    margins = _parse_margins(top.section("margins", {}))
    tanks = _parse_tanks(top.section("tanks", {}))
    pressurant = _parse_pressurant(top.section("pressurant", {}))
    electric = _parse_electric(top.section("electric", {}))
    bounds = _parse_bounds(top.section("bounds", {}), engine.mixture_ratio)
    uncertainty = _parse_uncertainty(top.section("uncertainty", {}))
    top.finish()
    engine = _engine_performance(engine_section, engine, propellants, bounds)
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
        uncertainty=uncertainty,
    )


def _parse_uncertainty(sec: Section) -> InputUncertainty:
    """``[uncertainty]``: relative 1-sigma of inputs, for the Monte Carlo (all default 0)."""
    values = {
        f.name: sec.number(f.name, 0.0, minimum=0.0, maximum=0.5)
        for f in dataclasses.fields(InputUncertainty)
    }
    sec.finish()
    return InputUncertainty(**values)


# Physical ceilings: far beyond any stage, so that they refuse only nonsense (1e300 reaches the model
# as an overflow, not as an answer). A stage whose numbers are merely hard (a delta-v no chemical
# stage delivers) passes and is reported infeasible by the optimiser instead.
MAX_DELTA_V_M_S = 1.0e5
MAX_TOTAL_IMPULSE_N_S = 1.0e11  # about 20 Saturn V first stages
MAX_MASS_KG = 1.0e7
MAX_THRUST_N = 1.0e8
MAX_ISP_S = 1000.0  # well above any chemical propellant's (LOX/LH2 about 460 s)
MAX_PRESSURE_PA = 1.0e9
MAX_MATERIAL_DENSITY_KG_M3 = 25_000.0
MIN_ALLOWABLE_STRESS_PA, MAX_ALLOWABLE_STRESS_PA = 1.0e6, 1.0e10


def _parse_mission_section(sec: Section) -> MissionSpec:
    name = sec.string("name", "mission")
    delta_v = sec.optional_number("delta_v_m_s", minimum=0.0, maximum=MAX_DELTA_V_M_S, exclusive_minimum=True)
    impulse = sec.optional_number(
        "total_impulse_n_s", minimum=0.0, maximum=MAX_TOTAL_IMPULSE_N_S, exclusive_minimum=True
    )
    dry = sec.optional_number("dry_mass_kg", minimum=0.0, maximum=MAX_MASS_KG)
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
    thrust = sec.number("thrust_n", minimum=0.0, maximum=MAX_THRUST_N, exclusive_minimum=True)
    sources = [key for key in ("isp_s", "isp_table", "cea") if sec.has(key)]
    if len(sources) != 1:
        problem = "missing (required)" if not sources else f"given together with {', '.join(sources[1:])}"
        raise sec.error(
            "isp_s" if not sources else sources[0],
            f"{problem}: give exactly one of isp_s, [engine.isp_table] or [engine.cea]",
        )
    isp = sec.number("isp_s", d.isp_s, minimum=0.0, maximum=MAX_ISP_S, exclusive_minimum=True)
    isp_table = _parse_isp_table(sec.section("isp_table")) if sec.has("isp_table") else None
    mixture = sec.positive("mixture_ratio")
    profile = _parse_profile(sec) if sec.has("throttle") else d.throttle_profile
    engine = EngineSpec(
        thrust_n=thrust,
        isp_s=isp,
        mixture_ratio=mixture,
        chamber_pressure_pa=sec.number(
            "chamber_pressure_pa",
            d.chamber_pressure_pa,
            minimum=0.0,
            maximum=MAX_PRESSURE_PA,
            exclusive_minimum=True,
        ),
        isp_per_chamber_pressure_s_per_pa=sec.number("isp_per_chamber_pressure_s_per_pa", 0.0, minimum=0.0),
        injector_drop_fraction=sec.number(
            "injector_drop_fraction", d.injector_drop_fraction, minimum=0.0, maximum=2.0
        ),
        fuel_line_loss_pa=sec.number("fuel_line_loss_pa", d.fuel_line_loss_pa, minimum=0.0),
        oxidiser_line_loss_pa=sec.number("oxidiser_line_loss_pa", d.oxidiser_line_loss_pa, minimum=0.0),
        suction_line_loss_pa=sec.number("suction_line_loss_pa", d.suction_line_loss_pa, minimum=0.0),
        fixed_hardware_mass_kg=sec.number(
            "fixed_hardware_mass_kg", d.fixed_hardware_mass_kg, minimum=0.0, maximum=MAX_MASS_KG
        ),
        throttle_profile=profile,
        isp_table=isp_table,
    )
    if not sec.has("cea"):
        sec.finish()
    return engine


def _parse_isp_table(sec: Section) -> tuple[tuple[float, float], ...]:
    pressures = sec.number_list("chamber_pressure_pa", minimum=0.0, exclusive_minimum=True, min_length=2)
    values = sec.number_list("isp_s", minimum=0.0, maximum=MAX_ISP_S, exclusive_minimum=True, min_length=2)
    sec.finish()
    if len(values) != len(pressures):
        raise sec.error(
            "isp_s", f"expected {len(pressures)} values (one per chamber pressure), got {len(values)}"
        )
    if any(b <= a for a, b in zip(pressures, pressures[1:])):
        raise sec.error("chamber_pressure_pa", "expected pressures in increasing order")
    return tuple(zip(pressures, values))


def _engine_performance(
    sec: Section, engine: EngineSpec, propellants: PropellantSpec, bounds: DesignBounds
) -> EngineSpec:
    """``[engine.cea]``: tabulate CEA over the design box once, here, where the inputs are known."""
    if not sec.has("cea"):
        return engine
    cea = sec.section("cea")
    has_ratio, has_exit = cea.has("area_ratio"), cea.has("exit_pressure_pa")
    if has_ratio == has_exit:
        raise cea.error("area_ratio", "expected exactly one of area_ratio or exit_pressure_pa")
    area_ratio = cea.number("area_ratio", minimum=1.0, exclusive_minimum=True) if has_ratio else None
    exit_pressure = cea.positive("exit_pressure_pa") if has_exit else None
    vacuum = cea.boolean("vacuum", True)
    frozen = cea.boolean("frozen", False)
    c_star_efficiency = cea.efficiency("c_star_efficiency", 0.97)
    nozzle_efficiency = cea.efficiency("nozzle_efficiency", 0.98)
    cea.finish()
    sec.finish()
    ratio_range = bounds.mixture_ratio or (engine.mixture_ratio, engine.mixture_ratio)
    for side, prop in (("fuel", propellants.fuel), ("oxidiser", propellants.oxidiser)):
        try:
            cea_species(prop.name)
        except ThermochemistryError as exc:
            raise ConfigError(
                cea.source, f"propellants.{side}", f"{exc}: [engine.cea] needs a propellant CEA knows"
            ) from exc
    try:
        table = PerformanceTable.build(
            propellants.fuel.name,
            propellants.oxidiser.name,
            bounds.chamber_pressure_pa,
            ratio_range,
            area_ratio=area_ratio,
            exit_pressure_pa=exit_pressure,
            vacuum=vacuum,
            frozen=frozen,
            c_star_efficiency=c_star_efficiency,
            nozzle_efficiency=nozzle_efficiency,
        )
    except ThermochemistryError as exc:
        raise cea.error("area_ratio" if has_ratio else "exit_pressure_pa", str(exc)) from exc
    return dataclasses.replace(engine, performance=table)


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


def _parse_one_propellant(sec: Section, key: str, temperature_c: float, temperature_key: str) -> Propellant:
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
        raise sec.error(temperature_key, str(exc)) from exc
    return prop


def _parse_propellants(sec: Section) -> PropellantSpec:
    temperature = sec.number("temperature_c", 20.0, minimum=-273.15, exclusive_minimum=True)
    fuel_t = sec.optional_number("fuel_temperature_c", minimum=-273.15, exclusive_minimum=True)
    oxidiser_t = sec.optional_number("oxidiser_temperature_c", minimum=-273.15, exclusive_minimum=True)
    fuel = _parse_one_propellant(
        sec,
        "fuel",
        temperature if fuel_t is None else fuel_t,
        "fuel_temperature_c" if fuel_t is not None else "temperature_c",
    )
    oxidiser = _parse_one_propellant(
        sec,
        "oxidiser",
        temperature if oxidiser_t is None else oxidiser_t,
        "oxidiser_temperature_c" if oxidiser_t is not None else "temperature_c",
    )
    sec.finish()
    return PropellantSpec(
        fuel=fuel,
        oxidiser=oxidiser,
        temperature_c=temperature,
        fuel_temperature_c=fuel_t,
        oxidiser_temperature_c=oxidiser_t,
    )


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
        density = sub.number(
            "density_kg_m3", minimum=0.0, maximum=MAX_MATERIAL_DENSITY_KG_M3, exclusive_minimum=True
        )
        stress = sub.number(
            "allowable_stress_pa", minimum=MIN_ALLOWABLE_STRESS_PA, maximum=MAX_ALLOWABLE_STRESS_PA
        )
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
        head_convention=sec.string("head_convention", d.head_convention, choices=("tank_height", "none")),
    )
    sec.finish()
    return tanks


def _parse_pressurant(sec: Section) -> PressurantSpec:
    d = PressurantSpec()
    spec = PressurantSpec(
        gas_constant_j_kg_k=sec.positive("gas_constant_j_kg_k", d.gas_constant_j_kg_k),
        storage_pressure_pa=sec.number(
            "storage_pressure_pa",
            d.storage_pressure_pa,
            minimum=0.0,
            maximum=MAX_PRESSURE_PA,
            exclusive_minimum=True,
        ),
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
        margin_factor=sec.number("margin_factor", d.margin_factor, minimum=1.0),
        end_pressure_pa=sec.positive("end_pressure_pa", None),
    )
    sec.finish()
    return spec


def _parse_electric(sec: Section) -> ElectricSpec:
    d = ElectricSpec()
    spec = ElectricSpec(
        pump_specific_power_w_kg=sec.positive("pump_specific_power_w_kg", d.pump_specific_power_w_kg),
        pump_mass_model=sec.string(
            "pump_mass_model", d.pump_mass_model, choices=("specific_power", "torque", "size")
        ),
        pump_size_coefficient_kg_m3=sec.positive(
            "pump_size_coefficient_kg_m3", d.pump_size_coefficient_kg_m3
        ),
        pump_mass_torque_coefficient=sec.positive(
            "pump_mass_torque_coefficient", d.pump_mass_torque_coefficient
        ),
        pump_mass_torque_exponent=sec.number(
            "pump_mass_torque_exponent",
            d.pump_mass_torque_exponent,
            minimum=0.0,
            maximum=1.5,
            exclusive_minimum=True,
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
        fuel_pump_efficiency=sec.optional_number(
            "fuel_pump_efficiency", minimum=0.0, maximum=1.0, exclusive_minimum=True
        ),
        oxidiser_pump_efficiency=sec.optional_number(
            "oxidiser_pump_efficiency", minimum=0.0, maximum=1.0, exclusive_minimum=True
        ),
        fuel_pump_specific_power_w_kg=sec.positive("fuel_pump_specific_power_w_kg", None),
        oxidiser_pump_specific_power_w_kg=sec.positive("oxidiser_pump_specific_power_w_kg", None),
        battery_max_c_rate=sec.positive("battery_max_c_rate", d.battery_max_c_rate, allow_inf=True),
        motor_sizing=sec.string("motor_sizing", d.motor_sizing, choices=("output", "input")),
        battery_sizing=sec.string("battery_sizing", d.battery_sizing, choices=("max", "sum")),
    )
    sec.finish()
    return spec


def _parse_bounds(sec: Section, mixture_ratio: float) -> DesignBounds:
    """Ranges ``[minimum, maximum]``; equal ends fix that design variable."""
    d = DesignBounds()

    def pair(key: str, default: tuple[float, float]) -> tuple[float, float]:
        return sec.pair(key, default, minimum=0.0, exclusive_minimum=True, allow_equal=True)

    def optional_pair(key: str) -> tuple[float, float] | None:
        if not sec.has(key):
            sec.raw(key, None)
            return None
        return pair(key, d.chamber_pressure_pa)

    bounds = DesignBounds(
        chamber_pressure_pa=pair("chamber_pressure_pa", d.chamber_pressure_pa),
        tank_pressure_pa=pair("tank_pressure_pa", d.tank_pressure_pa),
        pump_speed_rpm=pair("pump_speed_rpm", d.pump_speed_rpm),
        fuel_tank_pressure_pa=optional_pair("fuel_tank_pressure_pa"),
        oxidiser_tank_pressure_pa=optional_pair("oxidiser_tank_pressure_pa"),
        mixture_ratio=optional_pair("mixture_ratio"),
    )
    sec.finish()
    if (
        bounds.mixture_ratio is not None
        and not bounds.mixture_ratio[0] <= mixture_ratio <= bounds.mixture_ratio[1]
    ):
        raise sec.error(
            "mixture_ratio",
            f"must contain engine.mixture_ratio {mixture_ratio:g}, got {list(bounds.mixture_ratio)}",
        )
    return bounds
