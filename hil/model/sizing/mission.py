"""Inputs of the sizing model (every coefficient with its documented default) and the mission file.

What lives here: frozen dataclasses grouping the inputs (:class:`MissionSpec`, :class:`EngineSpec`,
:class:`PropellantSpec`, :class:`MarginSpec`, :class:`TankSpec`, :class:`PressurantSpec`,
:class:`ElectricSpec`, :class:`DesignBounds`, all gathered in :class:`SizingInputs`), and
:func:`load_mission` / :func:`parse_mission`, which read a mission TOML file into them. A key the
schema does not know, a wrong type or a value out of range is a :class:`hil.core.errors.ConfigError`
naming the file, the field (``engine.thrust_n``) and what was expected.

The defaults are the typical values of the electric-feed literature (see
``/shared/reference/propulsion-model.md``): a reader who leaves a section out gets a documented,
defensible number, and the JSON output echoes every value used.

Imports :mod:`hil.core.errors` and :mod:`hil.model.propellants` only from the project.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from hil.core.errors import ConfigError, HilError
from hil.model.propellants import ExplicitPropellant, Propellant, TankMaterial, propellant, tank_material

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


@dataclass(frozen=True)
class ThrottleSegment:
    """One part of the burn: a fraction of the burn time spent at a thrust fraction (throttle)."""

    duration_fraction: float
    throttle: float


@dataclass(frozen=True)
class MissionSpec:
    """What the stage must do: a delta-v with the rest of the stage's mass, or a total impulse.

    ``dry_mass_kg`` is the mass at burnout *excluding* the propulsion system (structure, avionics,
    payload, landing gear): the model adds the propulsion system's own dry mass, pressurant and
    residual propellant, since those are what the feed-system choice changes.
    """

    name: str = "mission"
    delta_v_m_s: float | None = None
    total_impulse_n_s: float | None = None
    dry_mass_kg: float = 0.0


@dataclass(frozen=True)
class EngineSpec:
    """The engine and its feed plumbing.

    Defaults: injector drop 20 % of chamber pressure (the usual stability margin), fuel-side
    cooling and line losses 3 bar and oxidiser-side line losses 1.5 bar at full flow, suction-line
    loss (tank to pump inlet) 0.2 bar. Specific impulse is an input; ``isp_per_chamber_pressure_s_per_pa``
    optionally lets it rise with chamber pressure about ``chamber_pressure_pa`` (a nozzle of fixed
    exit diameter gains area ratio with chamber pressure), default 0: constant Isp.
    """

    thrust_n: float = 3000.0
    isp_s: float = 315.0
    mixture_ratio: float = 1.65
    chamber_pressure_pa: float = 1.0e6
    isp_per_chamber_pressure_s_per_pa: float = 0.0
    injector_drop_fraction: float = 0.20
    fuel_line_loss_pa: float = 3.0e5
    oxidiser_line_loss_pa: float = 1.5e5
    suction_line_loss_pa: float = 2.0e4
    fixed_hardware_mass_kg: float = 0.0
    throttle_profile: tuple[ThrottleSegment, ...] = (ThrottleSegment(1.0, 1.0),)

    def isp_at(self, chamber_pressure_pa: Any) -> Any:
        """Specific impulse at a chamber pressure (linear about the reference chamber pressure)."""
        return self.isp_s + self.isp_per_chamber_pressure_s_per_pa * (
            chamber_pressure_pa - self.chamber_pressure_pa
        )


@dataclass(frozen=True)
class PropellantSpec:
    """Fuel, oxidiser and the temperature they are stored and pumped at."""

    fuel: Propellant
    oxidiser: Propellant
    temperature_c: float = 20.0

    @property
    def fuel_density_kg_m3(self) -> float:
        return self.fuel.density_kg_m3(self.temperature_c)

    @property
    def oxidiser_density_kg_m3(self) -> float:
        return self.oxidiser.density_kg_m3(self.temperature_c)

    @property
    def fuel_vapour_pressure_pa(self) -> float:
        return self.fuel.vapour_pressure_pa(self.temperature_c)

    @property
    def oxidiser_vapour_pressure_pa(self) -> float:
        return self.oxidiser.vapour_pressure_pa(self.temperature_c)


@dataclass(frozen=True)
class MarginSpec:
    """Margins. Defaults: 5 % ullage, 2 % residuals (unusable), 3 % reserve (carried, counted as not
    burned), NPSH available at least 1.3 times NPSH3, and no static liquid head at the pump inlet
    (conservative: the tank may be nearly empty and the acceleration low at the end of the burn)."""

    ullage_fraction: float = 0.05
    residual_fraction: float = 0.02
    reserve_fraction: float = 0.03
    npsh_margin: float = 1.3
    inlet_static_head_m: float = 0.0


@dataclass(frozen=True)
class TankSpec:
    """Propellant tanks. Defaults: titanium spheres, safety factor 1.5 on yield, 0.5 mm minimum
    gauge (below this thin-wall theory gives walls nobody can make), sized for the liquid head
    under 30 m/s^2 (about 3 g) of axial acceleration."""

    material: TankMaterial = field(default_factory=lambda: tank_material("Ti-6Al-4V"))
    shape: str = "sphere"
    length_to_diameter: float = 2.0
    safety_factor: float = 1.5
    min_wall_thickness_m: float = 0.5e-3
    max_acceleration_m_s2: float = 30.0


@dataclass(frozen=True)
class PressurantSpec:
    """Pressurant and its bottle. Defaults: helium (R = 2077.1 J/kg/K) at 28 MPa and 20 degC in a
    carbon-overwrapped bottle with safety factor 1.5, polytropic exponent 1.3 (between isothermal
    and adiabatic, usual for burns of minutes), regulator needing 1 MPa above its outlet.
    ``mode`` 'regulated' keeps the tanks at constant pressure; 'blowdown' (electric-pump-fed option
    only) starts the tanks at ``blowdown_ratio`` times the design (final) tank pressure, with no
    bottle; the pressure-fed baseline is always regulated."""

    gas_constant_j_kg_k: float = 2077.1
    storage_pressure_pa: float = 28.0e6
    temperature_k: float = 293.15
    polytropic_exponent: float = 1.3
    regulator_drop_pa: float = 1.0e6
    tank_material: TankMaterial = field(default_factory=lambda: tank_material("CFRP-COPV"))
    tank_safety_factor: float = 1.5
    tank_min_wall_thickness_m: float = 0.5e-3
    mode: str = "regulated"
    blowdown_ratio: float = 3.0


@dataclass(frozen=True)
class ElectricSpec:
    """Pumps, motors, inverters and battery of the electric-pump-fed option.

    Defaults from the literature ranges: pump specific power 10 kW/kg (5-20), motor efficiency 0.90
    and 2.5 kW/kg (small motors sit low in 1-5), inverter 0.95 and 20 kW/kg, Li-ion battery 3 kW/kg
    and 150 Wh/kg with packing factor 1.2, no discharge derating, no power limit. The motor and
    inverter efficiencies are replaced by a calibrated drive map when the pump model has one.
    ``pump_mass_model`` 'size' uses ``m = pump_size_coefficient_kg_m3 * D^3`` instead of the specific
    power. ``assumed_suction_specific_speed`` (dimensionless, omega-based; 3.0 is about 8,200 in US
    units) sets NPSH3 only when the pump model has no NPSH3 fit.
    """

    pump_specific_power_w_kg: float = 10.0e3
    pump_mass_model: str = "specific_power"
    pump_size_coefficient_kg_m3: float = 4000.0
    motor_efficiency: float = 0.90
    motor_specific_power_w_kg: float = 2.5e3
    inverter_efficiency: float = 0.95
    inverter_specific_power_w_kg: float = 20.0e3
    battery_specific_power_w_kg: float = 3.0e3
    battery_specific_energy_wh_kg: float = 150.0
    battery_packing_factor: float = 1.2
    battery_discharge_efficiency: float = 1.0
    battery_rate_derating_per_c: float = 0.0
    max_electrical_power_w: float = math.inf
    assumed_suction_specific_speed: float = 3.0


@dataclass(frozen=True)
class DesignBounds:
    """Ranges the optimiser may search: chamber pressure, pump-fed tank pressures and pump speed."""

    chamber_pressure_pa: tuple[float, float] = (0.5e6, 4.0e6)
    tank_pressure_pa: tuple[float, float] = (1.5e5, 1.5e6)
    pump_speed_rpm: tuple[float, float] = (5_000.0, 90_000.0)


@dataclass(frozen=True)
class SizingInputs:
    """Everything the sizing model needs, apart from the pump model and the design variables."""

    mission: MissionSpec
    engine: EngineSpec
    propellants: PropellantSpec
    margins: MarginSpec = field(default_factory=MarginSpec)
    tanks: TankSpec = field(default_factory=TankSpec)
    pressurant: PressurantSpec = field(default_factory=PressurantSpec)
    electric: ElectricSpec = field(default_factory=ElectricSpec)
    bounds: DesignBounds = field(default_factory=DesignBounds)
    source: str = "<inputs>"

    def __post_init__(self) -> None:
        mission = self.mission
        if (mission.delta_v_m_s is None) == (mission.total_impulse_n_s is None):
            raise ConfigError(self.source, "mission", "give exactly one of delta_v_m_s or total_impulse_n_s")


# ------------------------------------------------------------------------------------- parsing


class _Section:
    """Reads one TOML table, remembering which keys were used so unknown ones can be reported."""

    def __init__(self, source: str, name: str, table: Any) -> None:
        if table is None:
            table = {}
        if not isinstance(table, dict):
            raise ConfigError(source, name, f"expected a table, got {type(table).__name__}")
        self.source = source
        self.name = name
        self.table = table
        self.used: set[str] = set()

    def field_name(self, key: str) -> str:
        return f"{self.name}.{key}"

    def has(self, key: str) -> bool:
        return key in self.table

    def raw(self, key: str) -> Any:
        self.used.add(key)
        return self.table.get(key)

    def number(
        self,
        key: str,
        default: float | None,
        *,
        minimum: float | None = None,
        maximum: float | None = None,
        exclusive_minimum: bool = False,
        unit: str = "",
        allow_inf: bool = False,
    ) -> float | None:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        what = f"a number{f' ({unit})' if unit else ''}"
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(self.source, self.field_name(key), f"expected {what}, got {value!r}")
        value = float(value)
        if math.isnan(value) or (math.isinf(value) and not allow_inf):
            raise ConfigError(
                self.source, self.field_name(key), f"expected a finite {what[2:]}, got {value!r}"
            )
        if minimum is not None and (value < minimum or (exclusive_minimum and value == minimum)):
            relation = ">" if exclusive_minimum else ">="
            raise ConfigError(
                self.source, self.field_name(key), f"expected {what} {relation} {minimum:g}, got {value:g}"
            )
        if maximum is not None and value > maximum:
            raise ConfigError(
                self.source, self.field_name(key), f"expected {what} <= {maximum:g}, got {value:g}"
            )
        return value

    def positive(self, key: str, default: float | None, unit: str = "", **kwargs: Any) -> float | None:
        return self.number(key, default, minimum=0.0, exclusive_minimum=True, unit=unit, **kwargs)

    def string(self, key: str, default: str, choices: tuple[str, ...] | None = None) -> str:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        if not isinstance(value, str):
            raise ConfigError(self.source, self.field_name(key), f"expected a string, got {value!r}")
        if choices is not None and value not in choices:
            raise ConfigError(
                self.source, self.field_name(key), f"expected one of {', '.join(choices)}, got {value!r}"
            )
        return value

    def pair(self, key: str, default: tuple[float, float], unit: str) -> tuple[float, float]:
        self.used.add(key)
        if key not in self.table:
            return default
        value = self.table[key]
        ok = (
            isinstance(value, list)
            and len(value) == 2
            and all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in value
            )
        )
        if not ok or not 0 < value[0] < value[1]:
            raise ConfigError(
                self.source,
                self.field_name(key),
                f"expected [minimum, maximum] with 0 < minimum < maximum ({unit}), got {value!r}",
            )
        return (float(value[0]), float(value[1]))

    def finish(self) -> None:
        for key in self.table:
            if key not in self.used:
                raise ConfigError(self.source, self.field_name(key), "unknown field")


_SECTIONS = ("mission", "engine", "propellants", "margins", "tanks", "pressurant", "electric", "bounds")


def load_mission(path: Path | str) -> SizingInputs:
    """Read and validate a mission TOML file into :class:`SizingInputs`."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read mission file: {exc.strerror or exc}") from exc
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(path), "", f"not valid TOML: {exc}") from exc
    return parse_mission(data, source=str(path))


def parse_mission(data: dict[str, Any], source: str = "<mission>") -> SizingInputs:
    """Validate a parsed mission document (as from ``tomllib``) into :class:`SizingInputs`."""
    for key in data:
        if key not in _SECTIONS:
            raise ConfigError(source, key, f"unknown section (known: {', '.join(_SECTIONS)})")
    if "mission" not in data:
        raise ConfigError(source, "mission", "missing required section")
    if "engine" not in data:
        raise ConfigError(source, "engine", "missing required section")
    if "propellants" not in data:
        raise ConfigError(source, "propellants", "missing required section")

    mission = _parse_mission_section(_Section(source, "mission", data["mission"]))
    engine = _parse_engine(_Section(source, "engine", data["engine"]))
    propellants = _parse_propellants(_Section(source, "propellants", data["propellants"]))
    margins = _parse_margins(_Section(source, "margins", data.get("margins")))
    tanks = _parse_tanks(_Section(source, "tanks", data.get("tanks")))
    pressurant = _parse_pressurant(_Section(source, "pressurant", data.get("pressurant")))
    electric = _parse_electric(_Section(source, "electric", data.get("electric")))
    bounds = _parse_bounds(_Section(source, "bounds", data.get("bounds")))
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


def _parse_mission_section(sec: _Section) -> MissionSpec:
    name = sec.string("name", "mission")
    delta_v = sec.positive("delta_v_m_s", None, "m/s")
    impulse = sec.positive("total_impulse_n_s", None, "N s")
    dry = sec.number("dry_mass_kg", None, minimum=0.0, unit="kg")
    sec.finish()
    if (delta_v is None) == (impulse is None):
        raise ConfigError(sec.source, "mission", "give exactly one of delta_v_m_s or total_impulse_n_s")
    if delta_v is not None and dry is None:
        raise ConfigError(
            sec.source,
            "mission.dry_mass_kg",
            "required with delta_v_m_s (mass at burnout without the propulsion system)",
        )
    return MissionSpec(name=name, delta_v_m_s=delta_v, total_impulse_n_s=impulse, dry_mass_kg=dry or 0.0)


def _parse_engine(sec: _Section) -> EngineSpec:
    d = EngineSpec()
    thrust = sec.positive("thrust_n", None, "N")
    isp = sec.positive("isp_s", None, "s")
    mixture = sec.positive("mixture_ratio", None, "oxidiser/fuel mass ratio")
    if thrust is None or isp is None or mixture is None:
        missing = next(
            k for k, v in (("thrust_n", thrust), ("isp_s", isp), ("mixture_ratio", mixture)) if v is None
        )
        raise ConfigError(sec.source, sec.field_name(missing), "missing required field")
    profile_raw = sec.raw("throttle")
    profile = d.throttle_profile if profile_raw is None else _parse_profile(sec, profile_raw)
    engine = EngineSpec(
        thrust_n=thrust,
        isp_s=isp,
        mixture_ratio=mixture,
        chamber_pressure_pa=sec.positive(
            "chamber_pressure_pa", d.chamber_pressure_pa, "Pa, reference for isp_s"
        ),
        isp_per_chamber_pressure_s_per_pa=sec.number("isp_per_chamber_pressure_s_per_pa", 0.0, unit="s/Pa"),
        injector_drop_fraction=sec.number(
            "injector_drop_fraction",
            d.injector_drop_fraction,
            minimum=0.0,
            maximum=2.0,
            unit="fraction of chamber pressure",
        ),
        fuel_line_loss_pa=sec.number("fuel_line_loss_pa", d.fuel_line_loss_pa, minimum=0.0, unit="Pa"),
        oxidiser_line_loss_pa=sec.number(
            "oxidiser_line_loss_pa", d.oxidiser_line_loss_pa, minimum=0.0, unit="Pa"
        ),
        suction_line_loss_pa=sec.number(
            "suction_line_loss_pa", d.suction_line_loss_pa, minimum=0.0, unit="Pa"
        ),
        fixed_hardware_mass_kg=sec.number(
            "fixed_hardware_mass_kg", d.fixed_hardware_mass_kg, minimum=0.0, unit="kg"
        ),
        throttle_profile=profile,
    )
    sec.finish()
    return engine


def _parse_profile(sec: _Section, raw: Any) -> tuple[ThrottleSegment, ...]:
    field_name = sec.field_name("throttle")
    if not isinstance(raw, list) or not raw:
        raise ConfigError(
            sec.source,
            field_name,
            "expected an array of tables [[engine.throttle]] with duration_fraction and throttle",
        )
    segments = []
    for i, item in enumerate(raw):
        sub = _Section(sec.source, f"{field_name}[{i}]", item)
        duration = sub.positive("duration_fraction", None, "fraction of burn time")
        throttle = sub.number(
            "throttle", None, minimum=0.0, maximum=1.0, exclusive_minimum=True, unit="fraction of full thrust"
        )
        sub.finish()
        if duration is None or throttle is None:
            missing = "duration_fraction" if duration is None else "throttle"
            raise ConfigError(sec.source, f"{field_name}[{i}].{missing}", "missing required field")
        segments.append(ThrottleSegment(duration, throttle))
    total = sum(s.duration_fraction for s in segments)
    if abs(total - 1.0) > 1e-6:
        raise ConfigError(sec.source, field_name, f"expected duration fractions summing to 1, got {total:g}")
    return tuple(segments)


def _parse_one_propellant(sec: _Section, key: str, temperature_c: float) -> Propellant:
    raw = sec.raw(key)
    where = sec.field_name(key)
    if raw is None:
        raise ConfigError(sec.source, where, "missing required field (a propellant name or explicit values)")
    if isinstance(raw, str):
        try:
            prop = propellant(raw)
        except HilError as exc:
            raise ConfigError(sec.source, where, str(exc)) from exc
    elif isinstance(raw, dict):
        sub = _Section(sec.source, where, raw)
        name = sub.string("name", key)
        density = sub.positive("density_kg_m3", None, "kg/m3")
        vapour = sub.number("vapour_pressure_pa", None, minimum=0.0, unit="Pa")
        source_text = sub.string("source", "user-supplied values in the mission file")
        sub.finish()
        if density is None or vapour is None:
            missing = "density_kg_m3" if density is None else "vapour_pressure_pa"
            raise ConfigError(sec.source, f"{where}.{missing}", "missing required field")
        prop = ExplicitPropellant.at(name, temperature_c, density, vapour, source_text)
    else:
        raise ConfigError(sec.source, where, "expected a propellant name or a table of explicit values")
    try:
        prop.density_kg_m3(temperature_c)
        prop.vapour_pressure_pa(temperature_c)
    except HilError as exc:
        raise ConfigError(sec.source, sec.field_name("temperature_c"), str(exc)) from exc
    return prop


def _parse_propellants(sec: _Section) -> PropellantSpec:
    temperature = sec.number("temperature_c", 20.0, minimum=-273.15, unit="degC")
    assert temperature is not None
    fuel = _parse_one_propellant(sec, "fuel", temperature)
    oxidiser = _parse_one_propellant(sec, "oxidiser", temperature)
    sec.finish()
    return PropellantSpec(fuel=fuel, oxidiser=oxidiser, temperature_c=temperature)


def _parse_margins(sec: _Section) -> MarginSpec:
    d = MarginSpec()
    margins = MarginSpec(
        ullage_fraction=sec.number("ullage_fraction", d.ullage_fraction, minimum=0.0, maximum=1.0),
        residual_fraction=sec.number("residual_fraction", d.residual_fraction, minimum=0.0, maximum=0.5),
        reserve_fraction=sec.number("reserve_fraction", d.reserve_fraction, minimum=0.0, maximum=0.5),
        npsh_margin=sec.number("npsh_margin", d.npsh_margin, minimum=1.0, unit="NPSHA / NPSH3"),
        inlet_static_head_m=sec.number("inlet_static_head_m", d.inlet_static_head_m, minimum=0.0, unit="m"),
    )
    sec.finish()
    return margins


def _material(sec: _Section, key: str, default: TankMaterial) -> TankMaterial:
    raw = sec.raw(key)
    if raw is None:
        return default
    if isinstance(raw, str):
        try:
            return tank_material(raw)
        except HilError as exc:
            raise ConfigError(sec.source, sec.field_name(key), str(exc)) from exc
    if isinstance(raw, dict):
        sub = _Section(sec.source, sec.field_name(key), raw)
        name = sub.string("name", "custom")
        density = sub.positive("density_kg_m3", None, "kg/m3")
        stress = sub.positive("allowable_stress_pa", None, "Pa")
        text = sub.string("source", "user-supplied values in the mission file")
        sub.finish()
        if density is None or stress is None:
            missing = "density_kg_m3" if density is None else "allowable_stress_pa"
            raise ConfigError(sec.source, f"{sec.field_name(key)}.{missing}", "missing required field")
        return TankMaterial(name, density, stress, text)
    raise ConfigError(
        sec.source, sec.field_name(key), "expected a material name or a table of explicit values"
    )


def _parse_tanks(sec: _Section) -> TankSpec:
    d = TankSpec()
    tanks = TankSpec(
        material=_material(sec, "material", d.material),
        shape=sec.string("shape", d.shape, ("sphere", "cylinder")),
        length_to_diameter=sec.number(
            "length_to_diameter", d.length_to_diameter, minimum=1.0, unit="overall length / diameter"
        ),
        safety_factor=sec.number("safety_factor", d.safety_factor, minimum=1.0),
        min_wall_thickness_m=sec.number(
            "min_wall_thickness_m", d.min_wall_thickness_m, minimum=0.0, unit="m"
        ),
        max_acceleration_m_s2=sec.number(
            "max_acceleration_m_s2", d.max_acceleration_m_s2, minimum=0.0, unit="m/s^2"
        ),
    )
    sec.finish()
    return tanks


def _parse_pressurant(sec: _Section) -> PressurantSpec:
    d = PressurantSpec()
    spec = PressurantSpec(
        gas_constant_j_kg_k=sec.positive("gas_constant_j_kg_k", d.gas_constant_j_kg_k, "J/(kg K)"),
        storage_pressure_pa=sec.positive("storage_pressure_pa", d.storage_pressure_pa, "Pa"),
        temperature_k=sec.positive("temperature_k", d.temperature_k, "K"),
        polytropic_exponent=sec.number(
            "polytropic_exponent", d.polytropic_exponent, minimum=1.0, maximum=1.7
        ),
        regulator_drop_pa=sec.number("regulator_drop_pa", d.regulator_drop_pa, minimum=0.0, unit="Pa"),
        tank_material=_material(sec, "tank_material", d.tank_material),
        tank_safety_factor=sec.number("tank_safety_factor", d.tank_safety_factor, minimum=1.0),
        tank_min_wall_thickness_m=sec.number(
            "tank_min_wall_thickness_m", d.tank_min_wall_thickness_m, minimum=0.0, unit="m"
        ),
        mode=sec.string("mode", d.mode, ("regulated", "blowdown")),
        blowdown_ratio=sec.number("blowdown_ratio", d.blowdown_ratio, minimum=1.0, exclusive_minimum=True),
    )
    sec.finish()
    return spec


def _parse_electric(sec: _Section) -> ElectricSpec:
    d = ElectricSpec()
    spec = ElectricSpec(
        pump_specific_power_w_kg=sec.positive("pump_specific_power_w_kg", d.pump_specific_power_w_kg, "W/kg"),
        pump_mass_model=sec.string("pump_mass_model", d.pump_mass_model, ("specific_power", "size")),
        pump_size_coefficient_kg_m3=sec.positive(
            "pump_size_coefficient_kg_m3", d.pump_size_coefficient_kg_m3, "kg/m3"
        ),
        motor_efficiency=sec.number(
            "motor_efficiency", d.motor_efficiency, minimum=0.0, maximum=1.0, exclusive_minimum=True
        ),
        motor_specific_power_w_kg=sec.positive(
            "motor_specific_power_w_kg", d.motor_specific_power_w_kg, "W/kg"
        ),
        inverter_efficiency=sec.number(
            "inverter_efficiency", d.inverter_efficiency, minimum=0.0, maximum=1.0, exclusive_minimum=True
        ),
        inverter_specific_power_w_kg=sec.positive(
            "inverter_specific_power_w_kg", d.inverter_specific_power_w_kg, "W/kg"
        ),
        battery_specific_power_w_kg=sec.positive(
            "battery_specific_power_w_kg", d.battery_specific_power_w_kg, "W/kg"
        ),
        battery_specific_energy_wh_kg=sec.positive(
            "battery_specific_energy_wh_kg", d.battery_specific_energy_wh_kg, "Wh/kg"
        ),
        battery_packing_factor=sec.number("battery_packing_factor", d.battery_packing_factor, minimum=1.0),
        battery_discharge_efficiency=sec.number(
            "battery_discharge_efficiency", d.battery_discharge_efficiency, minimum=0.3, maximum=1.0
        ),
        battery_rate_derating_per_c=sec.number(
            "battery_rate_derating_per_c", d.battery_rate_derating_per_c, minimum=0.0, unit="per C"
        ),
        max_electrical_power_w=sec.positive(
            "max_electrical_power_w", d.max_electrical_power_w, "W", allow_inf=True
        ),
        assumed_suction_specific_speed=sec.positive(
            "assumed_suction_specific_speed", d.assumed_suction_specific_speed, "dimensionless, omega-based"
        ),
    )
    sec.finish()
    return spec


def _parse_bounds(sec: _Section) -> DesignBounds:
    d = DesignBounds()
    bounds = DesignBounds(
        chamber_pressure_pa=sec.pair("chamber_pressure_pa", d.chamber_pressure_pa, "Pa"),
        tank_pressure_pa=sec.pair("tank_pressure_pa", d.tank_pressure_pa, "Pa"),
        pump_speed_rpm=sec.pair("pump_speed_rpm", d.pump_speed_rpm, "rpm"),
    )
    sec.finish()
    return bounds


def input_summary(inputs: SizingInputs) -> dict[str, Any]:
    """Every input value used, as plain JSON-ready data (echoed in the optimiser's JSON output)."""

    def plain(obj: Any) -> Any:
        if isinstance(obj, Propellant):
            return {"name": obj.name, "source": obj.source, "valid_range_c": list(obj.valid_range_c())}
        if isinstance(obj, TankMaterial):
            return {
                "name": obj.name,
                "density_kg_m3": obj.density_kg_m3,
                "allowable_stress_pa": obj.allowable_stress_pa,
                "source": obj.source,
            }
        if hasattr(obj, "__dataclass_fields__"):
            return {f.name: plain(getattr(obj, f.name)) for f in fields(obj)}
        if isinstance(obj, (tuple, list)):
            return [plain(v) for v in obj]
        if isinstance(obj, float) and math.isinf(obj):
            return None
        return obj

    summary = {f.name: plain(getattr(inputs, f.name)) for f in fields(inputs) if f.name != "source"}
    summary["propellants"]["fuel_density_kg_m3"] = inputs.propellants.fuel_density_kg_m3
    summary["propellants"]["oxidiser_density_kg_m3"] = inputs.propellants.oxidiser_density_kg_m3
    summary["propellants"]["fuel_vapour_pressure_pa"] = inputs.propellants.fuel_vapour_pressure_pa
    summary["propellants"]["oxidiser_vapour_pressure_pa"] = inputs.propellants.oxidiser_vapour_pressure_pa
    return summary
