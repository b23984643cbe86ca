"""Inputs of the sizing model: every coefficient with its documented default.

Frozen dataclasses grouping the inputs (:class:`MissionSpec`, :class:`EngineSpec`,
:class:`PropellantSpec`, :class:`MarginSpec`, :class:`TankSpec`, :class:`PressurantSpec`,
:class:`ElectricSpec`, :class:`DesignBounds`, all gathered in :class:`SizingInputs`) and
:func:`input_summary`, which echoes every value used in the optimiser's JSON output. The mission file
that fills them is read by :mod:`hil.model.sizing.mission`.

The defaults are the typical values of the electric-feed literature (see the README's sizing
section): a reader who leaves a section out gets a documented, defensible number.

Imports :mod:`hil.core.errors` and :mod:`hil.model.propellants` only from the project.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

from hil.core.errors import ConfigError
from hil.model.propellants import Propellant, TankMaterial, tank_material
from hil.model.thermochemistry import PerformanceTable

__all__ = [
    "DesignBounds",
    "ElectricSpec",
    "EngineSpec",
    "InputUncertainty",
    "MarginSpec",
    "MissionSpec",
    "PressurantSpec",
    "PropellantSpec",
    "SizingInputs",
    "TankSpec",
    "ThrottleSegment",
    "input_summary",
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
    loss (tank to pump inlet) 0.2 bar.

    Specific impulse has one of three sources, and every output says which (:attr:`isp_source`):
    ``performance`` (thermochemistry: CEA tabulated over the design box, times the c* and nozzle
    efficiencies), ``isp_table`` (the user's Isp against chamber pressure, interpolated linearly in
    ``ln pc``), or the given ``isp_s`` (constant, or with a non-negative
    ``isp_per_chamber_pressure_s_per_pa`` about ``chamber_pressure_pa``, a user's own estimate).
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
    isp_table: tuple[tuple[float, float], ...] | None = None
    performance: PerformanceTable | None = None

    @property
    def isp_source(self) -> str:
        """Where the specific impulse comes from, in words (echoed in every output)."""
        if self.performance is not None:
            return self.performance.describe()
        if self.isp_table is not None:
            return f"user table of Isp against chamber pressure ({len(self.isp_table)} points)"
        if self.isp_per_chamber_pressure_s_per_pa:
            return (
                f"given: {self.isp_s:g} s at {self.chamber_pressure_pa:g} Pa, "
                f"+{self.isp_per_chamber_pressure_s_per_pa:g} s/Pa (user estimate)"
            )
        return f"given: {self.isp_s:g} s, constant"

    def isp_at(self, chamber_pressure_pa: Any, mixture_ratio: Any = None) -> Any:
        """Delivered specific impulse (s) at a chamber pressure (and mixture ratio, for CEA)."""
        if self.performance is not None:
            ratio = self.mixture_ratio if mixture_ratio is None else mixture_ratio
            return self.performance.isp(chamber_pressure_pa, ratio)
        if self.isp_table is not None:
            pressures = np.log([p for p, _ in self.isp_table])
            values = np.array([v for _, v in self.isp_table])
            return np.interp(np.log(np.asarray(chamber_pressure_pa, dtype=float)), pressures, values)
        return self.isp_s + self.isp_per_chamber_pressure_s_per_pa * (
            np.asarray(chamber_pressure_pa, dtype=float) - self.chamber_pressure_pa
        )


@dataclass(frozen=True)
class PropellantSpec:
    """Fuel, oxidiser and the temperatures they are stored and pumped at.

    ``temperature_c`` applies to both unless ``fuel_temperature_c`` / ``oxidiser_temperature_c``
    name one each (LOX at -183 degC beside RP-1 at 20 degC).
    """

    fuel: Propellant
    oxidiser: Propellant
    temperature_c: float = 20.0
    fuel_temperature_c: float | None = None
    oxidiser_temperature_c: float | None = None

    @property
    def fuel_t_c(self) -> float:
        return self.temperature_c if self.fuel_temperature_c is None else self.fuel_temperature_c

    @property
    def oxidiser_t_c(self) -> float:
        return self.temperature_c if self.oxidiser_temperature_c is None else self.oxidiser_temperature_c

    # The four properties below are pure functions of this frozen record, kept once computed: the
    # sizing model reads them at every evaluation (thousands per optimisation), and a table lookup
    # or an equation of state costs more than the arithmetic they feed.
    @functools.cached_property
    def fuel_density_kg_m3(self) -> float:
        return self.fuel.density_kg_m3(self.fuel_t_c)

    @functools.cached_property
    def oxidiser_density_kg_m3(self) -> float:
        return self.oxidiser.density_kg_m3(self.oxidiser_t_c)

    @functools.cached_property
    def fuel_vapour_pressure_pa(self) -> float:
        return self.fuel.vapour_pressure_pa(self.fuel_t_c)

    @functools.cached_property
    def oxidiser_vapour_pressure_pa(self) -> float:
        return self.oxidiser.vapour_pressure_pa(self.oxidiser_t_c)


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
    head_convention: str = "tank_height"
    """How the liquid column adds to the wall's design pressure under acceleration: ``tank_height``
    (the full tank height of liquid at the maximum acceleration, as Kwak, Kwon and Choi (2018) size
    their tanks; the default, conservative) or ``none`` (ullage pressure only, the thin-wall sizing
    of Rachov, Tacca and Lentini (2013))."""


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
    margin_factor: float = 1.0
    """Pressurant mass carried over the computed need (Kwak, Kwon and Choi (2018) use 1.1)."""
    end_pressure_pa: float | None = None
    """Bottle pressure at the end of the burn; absent, the regulator's need (highest tank pressure
    plus ``regulator_drop_pa``). The larger of the two applies."""


@dataclass(frozen=True)
class ElectricSpec:
    """Pumps, motors, inverters and battery of the electric-pump-fed option.

    Defaults from the literature ranges: pump specific power 10 kW/kg (5-20), motor efficiency 0.90
    and 2.5 kW/kg (small motors sit low in 1-5), inverter 0.95 and 20 kW/kg, Li-ion battery 3 kW/kg
    and 150 Wh/kg with packing factor 1.2, no discharge derating, no power limit. The motor and
    inverter efficiencies are replaced by a calibrated drive map when the pump model has one.
    ``pump_mass_model`` picks the pump-mass convention (see :attr:`pump_mass_model`).
    ``assumed_suction_specific_speed`` (dimensionless, omega-based; 3.0 is about 8,200 in US
    units) sets NPSH3 only when the pump model has no NPSH3 fit.
    """

    pump_specific_power_w_kg: float = 10.0e3
    pump_mass_model: str = "specific_power"
    """Pump-mass convention. ``specific_power``: ``m = P_shaft / delta_p`` (Rachov, Tacca and Lentini
    2013; Kwak, Kwon and Choi 2018), the large-pump convention: it gives grams for a pump of a few
    hundred watts. ``torque``: ``m = A tau^B`` with ``tau`` the largest shaft torque of the burn
    (N m), the turbopump correlation of Humble, Henry and Larson, *Space Propulsion Analysis and
    Design* (1995), A = 1.3-2.6 and B = 0.600-0.667 there, 1.5 and 0.6 for conceptual design: a
    pump's size follows its torque, so small fast pumps are not weightless. ``size``:
    ``m = pump_size_coefficient_kg_m3 * D^3`` from the impeller diameter the similarity scaling gives."""
    pump_size_coefficient_kg_m3: float = 4000.0
    pump_mass_torque_coefficient: float = 1.5
    """``A`` of the ``torque`` convention, kg per (N m)^B."""
    pump_mass_torque_exponent: float = 0.6
    """``B`` of the ``torque`` convention (dimensionless)."""
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
    fuel_pump_efficiency: float | None = None
    oxidiser_pump_efficiency: float | None = None
    """Pump-only (shaft) efficiency per propellant, used instead of the pump model's curve for that
    pump (for a published design that states one, or a pump the bench has not calibrated)."""
    fuel_pump_specific_power_w_kg: float | None = None
    oxidiser_pump_specific_power_w_kg: float | None = None
    """Specific power per pump; absent, ``pump_specific_power_w_kg`` applies to both."""
    battery_max_c_rate: float = math.inf
    """Rated continuous discharge rate (peak power over stored energy, per hour). The pack must
    store at least ``P_peak / C_max``: a third sizing requirement beside power and energy, reported
    when it is the one that sizes the battery. Infinite: no rating given."""
    motor_sizing: str = "output"
    """Convention for motor and inverter mass: ``output`` (each on the power it delivers: motor on
    shaft power, inverter on motor input; Rachov, Tacca and Lentini 2013; Kwak, Kwon and Choi 2018)
    or ``input`` (each on the power it draws, conservative by one efficiency)."""
    battery_sizing: str = "max"
    """Convention for battery mass: ``max`` (the larger of the power- and energy-limited masses,
    both papers above) or ``sum`` (power and energy cells counted separately, a hybrid pack)."""

    def pump_efficiency(self, propellant: str) -> float | None:
        """The stated pump-only efficiency of the ``fuel`` or ``oxidiser`` pump, if any."""
        return self.fuel_pump_efficiency if propellant == "fuel" else self.oxidiser_pump_efficiency

    def pump_specific_power(self, propellant: str) -> float:
        """Specific power (W/kg) of the ``fuel`` or ``oxidiser`` pump."""
        own = (
            self.fuel_pump_specific_power_w_kg
            if propellant == "fuel"
            else self.oxidiser_pump_specific_power_w_kg
        )
        return self.pump_specific_power_w_kg if own is None else own


@dataclass(frozen=True)
class DesignBounds:
    """Ranges the optimiser may search: chamber pressure, pump-fed tank pressures, pump speed and
    mixture ratio. ``minimum == maximum`` fixes a variable. ``tank_pressure_pa`` applies to both
    tanks unless ``fuel_tank_pressure_pa`` / ``oxidiser_tank_pressure_pa`` are given; the mixture
    ratio is fixed at the engine's unless ``mixture_ratio`` gives a range."""

    chamber_pressure_pa: tuple[float, float] = (0.5e6, 4.0e6)
    tank_pressure_pa: tuple[float, float] = (1.5e5, 1.5e6)
    pump_speed_rpm: tuple[float, float] = (5_000.0, 90_000.0)
    fuel_tank_pressure_pa: tuple[float, float] | None = None
    oxidiser_tank_pressure_pa: tuple[float, float] | None = None
    mixture_ratio: tuple[float, float] | None = None

    def tank(self, propellant: str) -> tuple[float, float]:
        """Tank pressure range of the ``fuel`` or ``oxidiser`` tank."""
        own = self.fuel_tank_pressure_pa if propellant == "fuel" else self.oxidiser_tank_pressure_pa
        return self.tank_pressure_pa if own is None else own


@dataclass(frozen=True)
class InputUncertainty:
    """Stated uncertainties of inputs, as relative 1-sigma (0: known exactly), for the Monte Carlo.

    Each multiplies its input by ``1 + sigma * N(0, 1)``: the motor and inverter efficiencies, the
    battery's specific energy and power, the motor's specific power, the tank material's allowable
    stress, and the pump's NPSH3 and delivered flow (beyond what the calibration covariance covers).
    """

    motor_efficiency: float = 0.0
    inverter_efficiency: float = 0.0
    battery_specific_energy: float = 0.0
    battery_specific_power: float = 0.0
    motor_specific_power: float = 0.0
    tank_allowable_stress: float = 0.0
    npsh3: float = 0.0
    flow: float = 0.0

    def stated(self) -> dict[str, float]:
        """The uncertainties that are not zero, by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name) > 0}


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
    uncertainty: InputUncertainty = field(default_factory=InputUncertainty)

    def __post_init__(self) -> None:
        mission = self.mission
        if (mission.delta_v_m_s is None) == (mission.total_impulse_n_s is None):
            raise ConfigError(self.source, "mission", "give exactly one of delta_v_m_s or total_impulse_n_s")


def input_summary(inputs: SizingInputs) -> dict[str, Any]:
    """Every input value used, as plain JSON-ready data (echoed in the optimiser's JSON output)."""

    def plain(obj: Any) -> Any:
        if isinstance(obj, PerformanceTable):
            return {
                "source": obj.describe(),
                "chamber_pressure_pa": list(obj.chamber_pressure_pa),
                "mixture_ratio": list(obj.mixture_ratio),
                "ideal_isp_s": [list(row) for row in obj.ideal_isp_s],
            }
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
    summary["engine"]["isp_source"] = inputs.engine.isp_source
    summary["propellants"]["fuel_density_kg_m3"] = inputs.propellants.fuel_density_kg_m3
    summary["propellants"]["oxidiser_density_kg_m3"] = inputs.propellants.oxidiser_density_kg_m3
    summary["propellants"]["fuel_vapour_pressure_pa"] = inputs.propellants.fuel_vapour_pressure_pa
    summary["propellants"]["oxidiser_vapour_pressure_pa"] = inputs.propellants.oxidiser_vapour_pressure_pa
    return summary
