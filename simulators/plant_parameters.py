"""The pump loop's parameters: every coefficient with its default and valid range, and the sensor models.

:class:`PlantParameters` holds the coefficients of the loop :mod:`simulators.plant` steps (pump curves,
lines and valve, motor and drive, heat, tank) and :class:`SensorModels` how each instrument sees its
quantity (noise, quantisation, lag). Both are frozen dataclasses checked when built: each field against
the range in its metadata, and the fields together where no single range can say it (the regulator
range, a head curve that is positive at the best point, a power curve derived from it that makes that
point the best one). A bench file's ``[virtual.plant]`` table becomes one through
:meth:`PlantParameters.from_mapping`.

Imports :mod:`hil.core.errors` and :mod:`simulators.pump_curves` (whose functions take any object
with the curve coefficients, so that module does not import this one); must not import drivers/.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hil.core.errors import ConfigError
from simulators import pump_curves

__all__ = ["SENSOR_NAMES", "PlantParameters", "SensorModel", "SensorModels"]


def _param(
    default: float,
    *,
    gt: float | None = None,
    ge: float | None = None,
    lt: float | None = None,
    le: float | None = None,
) -> Any:
    """A dataclass field with its valid range in the metadata (checked in ``__post_init__``)."""
    return field(default=default, metadata={"gt": gt, "ge": ge, "lt": lt, "le": le})


def _validate_fields(obj: Any, source: str) -> None:
    """Type and range of each numeric field, from the ranges in the fields' metadata."""
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.type == "SensorModels":
            if not isinstance(value, SensorModels):
                raise ConfigError(source, f.name, f"expected sensor models, got {type(value).__name__}")
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(source, f.name, f"expected a number, got {type(value).__name__} {value!r}")
        if f.type == "int":
            if not isinstance(value, int):
                raise ConfigError(source, f.name, f"expected an integer, got {value!r}")
        else:
            if not math.isfinite(value):
                raise ConfigError(source, f.name, f"expected a finite number, got {value!r}")
            object.__setattr__(obj, f.name, float(value))
        meta = f.metadata
        for key, ok, words in (
            ("gt", lambda v, b: v > b, "greater than"),
            ("ge", lambda v, b: v >= b, "at least"),
            ("lt", lambda v, b: v < b, "less than"),
            ("le", lambda v, b: v <= b, "at most"),
        ):
            bound = meta.get(key)
            if bound is not None and not ok(value, bound):
                raise ConfigError(source, f.name, f"expected a value {words} {bound}, got {value!r}")


MAX_WORN_EFFICIENCY_DEGRADATION = 0.9
"""Wear (``efficiency_wear_per_hour``) stops here: a pump at a tenth of its efficiency is long dead."""


@dataclass(frozen=True)
class SensorModel:
    """How an instrument sees one quantity: ``quantise(lag(true) + N(0, noise_std))``.

    ``noise_std`` and ``resolution`` are in the quantity's own unit (the one in its name);
    ``resolution = 0`` means no quantisation and ``time_constant_s = 0`` no lag.
    """

    noise_std: float = _param(0.0, ge=0.0)
    resolution: float = _param(0.0, ge=0.0)
    time_constant_s: float = _param(0.0, ge=0.0)

    def __post_init__(self) -> None:
        _validate_fields(self, "SensorModel")


@dataclass(frozen=True)
class SensorModels:
    """One :class:`SensorModel` per quantity :meth:`simulators.plant.PumpLoop.measured` serves.

    Defaults stand for the bench's instruments: Keller transducers (inlet 3 bar(a), outlet 40 bar(a)
    ranges), a Coriolis meter with its output damping, a DAQ-read valve position and tank pressure, a
    power analyzer on the DC bus, and the transducers' body temperatures, which lag the fluid by seconds.
    """

    p_inlet_pa: SensorModel = SensorModel(30.0, 1.0, 0.0)
    p_outlet_pa: SensorModel = SensorModel(400.0, 10.0, 0.0)
    mass_flow_kg_s: SensorModel = SensorModel(5.0e-4, 1.0e-5, 0.2)
    volume_flow_m3_s: SensorModel = SensorModel(5.0e-7, 1.0e-8, 0.2)
    density_kg_m3: SensorModel = SensorModel(0.05, 0.01, 0.2)
    fluid_temperature_c: SensorModel = SensorModel(0.02, 0.01, 2.0)
    valve_position_fraction: SensorModel = SensorModel(0.001, 0.0005, 0.0)
    tank_pressure_pa: SensorModel = SensorModel(50.0, 10.0, 0.0)
    bus_voltage_v: SensorModel = SensorModel(0.01, 0.001, 0.0)
    bus_current_a: SensorModel = SensorModel(0.02, 0.001, 0.0)
    bus_power_w: SensorModel = SensorModel(1.0, 0.01, 0.0)
    transducer_inlet_temperature_c: SensorModel = SensorModel(0.05, 0.01, 5.0)
    transducer_outlet_temperature_c: SensorModel = SensorModel(0.05, 0.01, 5.0)


SENSOR_NAMES: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(SensorModels))
"""Every name :meth:`simulators.plant.PumpLoop.measured` accepts, in the order noise is drawn."""


@dataclass(frozen=True)
class PlantParameters:
    """Every coefficient of the pump loop, with a documented default and a checked range.

    Build one from a TOML table with :meth:`from_mapping`; make variants (a worn impeller, a noisier
    transducer) with :func:`dataclasses.replace`.
    """

    # ---- pump geometry and curves (see simulators.pump_curves) ----
    impeller_diameter_m: float = _param(0.040, gt=0.0)
    """Impeller outer diameter D; ``phi = Q/(n D^3)`` and ``psi = g H/(n D)^2`` use it."""
    head_coefficient_shutoff: float = _param(5.8, gt=0.0)
    """psi at zero flow (psi0). 5.8 gives 237 m shut-off head at 30,000 rpm with D = 40 mm."""
    head_coefficient_linear: float = _param(0.0, le=0.0)
    """psi1 in ``psi = psi0 + psi1 phi + psi2 phi^2``; must not be positive (a stable, drooping curve)."""
    head_coefficient_quadratic: float = _param(-4500.0, le=0.0)
    """psi2; -4500 puts psi = 4.9 (200 m at 30,000 rpm) at the best point phi = 0.0141."""
    best_efficiency: float = _param(0.48, gt=0.0, lt=1.0)
    """Peak pump efficiency, typical of a small, low-specific-speed, high-head pump."""
    best_efficiency_flow_coefficient: float = _param(0.0141, gt=0.0)
    """phi at the best point: 0.451 L/s at 30,000 rpm with D = 40 mm (the rated flow)."""
    shutoff_power_fraction: float = _param(0.45, gt=0.0, lt=1.0)
    """Shaft power at zero flow as a fraction of the power at the best point (disc friction,
    recirculation); about half for a low-specific-speed pump."""
    npsh3_coefficient_shutoff: float = _param(0.04, gt=0.0)
    """tau0 in ``NPSH3 = (tau0 (nD)^2 + tau2 (Q/D^2)^2) / g``: 1.6 m at zero flow and 30,000 rpm."""
    npsh3_coefficient_flow: float = _param(170.0, ge=0.0)
    """tau2: with tau0 gives 3.0 m at the rated point (suction specific speed about 280, metric)."""
    cavitation_breakdown_steepness: float = _param(10.0, gt=0.0)
    """a in the head factor ``0.97 ** exp(a (1 - NPSHA/NPSH3))``: 0.4 % drop at NPSHA = 1.2 NPSH3,
    3 % at NPSH3, 20 % at 0.8 NPSH3."""
    head_degradation_fraction: float = _param(0.0, ge=0.0, lt=1.0)
    """Worn impeller: the head is multiplied by (1 - this)."""
    efficiency_degradation_fraction: float = _param(0.0, ge=0.0, lt=1.0)
    """Worn impeller: the efficiency is multiplied by (1 - this) (the shaft power rises to match)."""
    efficiency_wear_per_hour: float = _param(0.0, ge=0.0, le=1.0)
    """Wear while running: the efficiency degradation grows by this fraction per hour of bench time
    (erosion by abrasive particles, wear-ring and seal clearances opening), from
    ``efficiency_degradation_fraction`` at the start, up to :data:`MAX_WORN_EFFICIENCY_DEGRADATION`.
    Real impellers lose a few per cent over thousands of hours; a bench copy sets a fast rate (0.1 per
    hour) so an endurance run sees the drift in hours of bench time. 0 (the default) leaves every
    steady state unchanged."""
    npsh3_multiplier: float = _param(1.0, gt=0.0)
    """Worn or damaged inlet: NPSH3 is multiplied by this."""

    # ---- loop hydraulics ----
    inlet_diameter_m: float = _param(0.016, gt=0.0)
    """Suction line and inlet pressure tap bore (sets v1 in NPSHA and the head's velocity term)."""
    outlet_diameter_m: float = _param(0.010, gt=0.0)
    """Discharge line and outlet pressure tap bore (sets v2)."""
    suction_loss_coefficient: float = _param(1.5, ge=0.0)
    """Suction line losses (tank outlet, bends, strainer) in inlet velocity heads."""
    discharge_loss_coefficient: float = _param(5.0, ge=0.0)
    """Discharge line losses (flow meter, bends, exit into the tank) in outlet velocity heads."""
    loop_length_over_area_per_m: float = _param(5.0e4, gt=0.0)
    """Flow inertia: sum of L/A over the loop's pipes (2 m of 16 mm plus 3 m of 10 mm is about 5e4).
    Transient role: the water column's time constant ``(L/A) Q / (g dH/dQ)`` is a few milliseconds
    here, so the flow follows the speed within a sub-step; a bench with long lines (tens of metres)
    has one of a second or more. Source: the geometry of a small closed test loop."""
    tank_liquid_height_m: float = _param(0.5, ge=0.0)
    """Tank free surface above the pump inlet centreline (adds rho g z to the inlet pressure)."""
    valve_kv_max_m3_h: float = _param(0.53, gt=0.0)
    """Throttle valve Kv fully open (m3/h at 1 bar drop): about 130 % of rated flow at 30,000 rpm."""
    valve_rangeability: float = _param(15.0, gt=1.0)
    """Equal-percentage characteristic ``Kv = Kv_max R^(x-1)``."""
    valve_leakage_fraction: float = _param(0.005, ge=0.0, lt=1.0)
    """Seat leakage as a fraction of Kv_max: the flow left with the valve shut."""
    valve_closing_rolloff_fraction: float = _param(0.01, gt=0.0)
    """x_r in the factor ``(1 + x_r) x / (x + x_r)`` that takes the equal-percentage part to zero at
    x = 0 (real trims leave the characteristic near the seat); negligible above a few per cent."""
    valve_stroke_time_s: float = _param(2.0, gt=0.0)
    """Positioner speed: time for a full 0-1 stroke (the position moves at a constant rate). Typical
    electric or electro-pneumatic actuators of small control valves stroke in 1-10 s (makers' data
    for quarter-turn and linear actuators up to DN25); 2 s is a fast one, as a closed-loop bench
    needs."""
    valve_positioner_time_constant_s: float = _param(0.0, ge=0.0)
    """First-order lag of the positioner between its command and the demand it drives the stem to
    (the positioner's own loop and signal filtering); 0.1-0.5 s is typical of digital positioners
    (IEC 60534-style step-response tests of valve assemblies report dead times and 63 % times of that
    order for small valves). Leaves every steady state unchanged; 0 (the default) turns it off.
    Off by default: with it, the NPSH3 procedure's flow hold can accept a flow reading taken while the
    stem is still moving when its steady window is shorter than the positioner's settling (seen with
    0.5 s windows); set 0.2 in a bench copy for transient studies."""
    initial_valve_opening_fraction: float = _param(1.0, ge=0.0, le=1.0)

    # ---- suction tank ----
    tank_liquid_volume_m3: float = _param(0.2, gt=0.0)
    """Water in the loop; 0.2 m3 warms about 2.5 K in 20 minutes at the rated point."""
    tank_heat_loss_w_k: float = _param(15.0, ge=0.0)
    """Conductance from the loop water to the ambient."""
    water_specific_heat_j_kg_k: float = _param(4182.0, gt=0.0)
    """c_p of water near 20 degC."""
    ambient_temperature_c: float = _param(20.0, gt=0.01, lt=150.0)
    initial_fluid_temperature_c: float = _param(20.0, gt=0.01, lt=150.0)
    initial_tank_pressure_pa: float = _param(101325.0, gt=0.0)
    tank_pressure_min_pa: float = _param(5000.0, gt=0.0)
    """Lowest absolute pressure the regulator (with its vacuum pump) reaches; commands saturate here."""
    tank_pressure_max_pa: float = _param(6.0e5, gt=0.0)
    """Highest absolute pressure the regulator delivers; commands saturate here."""
    tank_pressure_time_constant_s: float = _param(2.0, gt=0.0)
    """First-order response of the ullage pressure to its command: a proportional pressure regulator
    filling or venting the tank's gas space. Its volume over the regulator's flow capacity sets the
    time constant: seconds for a laboratory tank of tens of litres of gas and a regulator of a few
    hundred normal litres per minute (1-5 s typical)."""

    # ---- motor ----
    pole_pairs: int = _param(2, ge=1)
    """Electrical rpm = mechanical rpm x pole pairs (30,000 rpm is 60,000 erpm)."""
    torque_constant_nm_a: float = _param(0.0115, gt=0.0)
    """Kt, equal to the back-EMF constant in V s/rad for this DC-equivalent model (36 V at 30,000 rpm)."""
    winding_resistance_ohm: float = _param(0.03, gt=0.0)
    """R of the DC-equivalent winding (copper loss I^2 R)."""
    viscous_friction_nm_s_rad: float = _param(2.0e-6, ge=0.0)
    """Bearing and seal drag proportional to speed (6 mN m at 30,000 rpm)."""
    coulomb_friction_nm: float = _param(0.005, ge=0.0)
    """Speed-independent bearing and seal drag."""
    rotor_inertia_kg_m2: float = _param(5.0e-5, gt=0.0)
    """Rotor plus impeller. Makers' catalogues list 1e-5 to 1e-4 kg m2 (100-1000 g cm2) for 1-3 kW
    high-speed inrunner BLDC motors; a 40 mm impeller adds a few 1e-6. With the 80 A current limit and
    the pump's load, 0 to 30,000 rpm takes about 0.18 s to 90 % (``J dw/dt = Kt I - T_load``)."""
    motor_current_limit_a: float = _param(80.0, gt=0.0)
    """Controller's motor current limit (both directions); commands beyond it saturate. 80 A is the
    continuous rating of the VESC-6-class controllers this bench's drive speaks to (50-120 A in that
    class); it sets the start-up and large-step acceleration."""
    max_duty: float = _param(0.95, gt=0.0, le=1.0)
    """Highest modulation: the back-EMF plus I R drop cannot exceed max_duty x V_bus."""
    max_speed_rpm: float = _param(36000.0, gt=0.0)
    """Controller's speed limit (mechanical); speed commands beyond it saturate."""
    speed_kp_a_per_rpm: float = _param(0.02, ge=0.0)
    """Speed loop proportional gain: ``Kt Kp / J`` is about 45 rad/s with the default inertia (the
    pump's own load adds damping). Small steps settle within 1 % in about 0.1 s, overshooting by about
    10 % of the step; large steps ride the current limit and do not overshoot."""
    speed_ki_a_per_rpm_s: float = _param(0.2, ge=0.0)
    """Speed loop integral gain (its zero at Ki/Kp = 10 rad/s). With Kp the loop's bandwidth is about
    45 rad/s (7 Hz), typical of a sensorless BLDC speed loop tuned for a pump load (VESC-class
    defaults are of this order); the current loop inside it, at kHz, is taken as instantaneous. The
    speed loop itself is sampled at the plant's 10 ms sub-step, a 100 Hz digital controller: its current
    is computed from the speed at each update and held until the next. That shortens large down-steps
    by about 15 % against a continuous loop (the braking current stays on its limit until the next
    update while the speed falls 2,400 rpm per update); ``tests/system/test_transients.py`` works the
    step figures out by hand with the same sampling."""
    fet_thermal_resistance_k_w: float = _param(1.0, gt=0.0)
    fet_thermal_capacitance_j_k: float = _param(60.0, gt=0.0)
    motor_thermal_resistance_k_w: float = _param(0.3, gt=0.0)
    """Winding to ambient (the motor is cooled by the pumped water in its housing)."""
    motor_thermal_capacitance_j_k: float = _param(400.0, gt=0.0)

    # ---- electrical supply and controller losses ----
    bus_voltage_v: float = _param(48.0, gt=0.0)
    """Open-circuit DC bus voltage."""
    bus_source_resistance_ohm: float = _param(0.01, ge=0.0)
    """Supply and cabling resistance: the bus sags by this times the input current."""
    controller_fixed_loss_w: float = _param(4.0, ge=0.0)
    """Controller's own consumption (logic, gate drivers), drawn even while coasting."""
    switching_loss_w_per_v_a: float = _param(0.002, ge=0.0)
    """Switching loss = this x V_bus x |I_motor|."""
    fet_resistance_ohm: float = _param(0.002, ge=0.0)
    """Conduction loss in the bridge = this x I_motor^2."""

    # ---- instruments ----
    sensors: SensorModels = SensorModels()

    def __post_init__(self) -> None:
        _validate_fields(self, "PlantParameters")
        _validate_plant(self, "PlantParameters")

    @classmethod
    def from_mapping(cls, d: Mapping[str, Any], source: str) -> PlantParameters:
        """Build from a TOML table; unknown keys, wrong types and out-of-range values raise ConfigError.

        ``sensors`` is a table of sensor tables (``[plant.sensors.p_inlet_pa] noise_std = 50.0``);
        whatever is not given keeps its default.
        """
        if not isinstance(d, Mapping):
            raise ConfigError(source, "", f"expected a table of plant parameters, got {type(d).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        kwargs: dict[str, Any] = {}
        for key, value in d.items():
            if key not in names:
                raise ConfigError(
                    source, str(key), "unknown plant parameter; expected one of " + ", ".join(sorted(names))
                )
            kwargs[key] = _sensor_models_from_mapping(value, source) if key == "sensors" else value
        try:
            return cls(**kwargs)
        except ConfigError as exc:
            raise ConfigError(source, exc.field, exc.problem) from exc


def _sensor_models_from_mapping(value: Any, source: str) -> SensorModels:
    if not isinstance(value, Mapping):
        raise ConfigError(source, "sensors", f"expected a table of sensor tables, got {type(value).__name__}")
    models: dict[str, SensorModel] = {}
    default = SensorModels()
    sensor_fields = {f.name for f in dataclasses.fields(SensorModel)}
    for name, table in value.items():
        where = f"sensors.{name}"
        if name not in SENSOR_NAMES:
            raise ConfigError(source, where, "unknown sensor; expected one of " + ", ".join(SENSOR_NAMES))
        if not isinstance(table, Mapping):
            raise ConfigError(source, where, f"expected a table, got {type(table).__name__}")
        for key in table:
            if key not in sensor_fields:
                raise ConfigError(
                    source,
                    f"{where}.{key}",
                    "unknown sensor setting; expected one of " + ", ".join(sorted(sensor_fields)),
                )
        try:
            models[name] = dataclasses.replace(getattr(default, name), **table)
        except ConfigError as exc:
            raise ConfigError(source, f"{where}.{exc.field}", exc.problem) from exc
    return dataclasses.replace(default, **models)


def _validate_plant(p: PlantParameters, source: str) -> None:
    """Consistency between fields that no single range can express."""
    if p.tank_pressure_min_pa >= p.tank_pressure_max_pa:
        raise ConfigError(
            source,
            "tank_pressure_min_pa",
            f"must be below tank_pressure_max_pa ({p.tank_pressure_max_pa}), got {p.tank_pressure_min_pa}",
        )
    if not p.tank_pressure_min_pa <= p.initial_tank_pressure_pa <= p.tank_pressure_max_pa:
        raise ConfigError(
            source,
            "initial_tank_pressure_pa",
            f"must lie within the regulator range {p.tank_pressure_min_pa}.."
            f"{p.tank_pressure_max_pa} Pa, got {p.initial_tank_pressure_pa}",
        )
    if pump_curves.head_coefficient(p.best_efficiency_flow_coefficient, p) <= 0.0:
        raise ConfigError(
            source,
            "best_efficiency_flow_coefficient",
            "the head curve gives no positive head at the best-efficiency flow coefficient",
        )
    lam0, lam1, lam2 = pump_curves.power_coefficients(p)
    if lam1 < 0.0 or lam2 < 0.0:
        raise ConfigError(
            source,
            "shutoff_power_fraction",
            f"{p.shutoff_power_fraction} is inconsistent with the head curve and best point: "
            f"the derived power curve lambda(phi) = {lam0:.4g} + {lam1:.4g} phi "
            f"+ {lam2:.4g} phi^2 "
            "must have non-negative coefficients",
        )
    phi_b = p.best_efficiency_flow_coefficient
    eta_b = p.best_efficiency
    for k in range(1, 301):
        phi = phi_b * k / 100.0
        eta = pump_curves.head_coefficient(phi, p) * phi / (lam0 + phi * (lam1 + phi * lam2))
        if eta > eta_b * (1.0 + 1e-9):
            raise ConfigError(
                source,
                "best_efficiency_flow_coefficient",
                f"with this head curve the efficiency at phi = {phi:.4g} ({eta:.4g}) exceeds "
                f"best_efficiency ({eta_b}): phi = {phi_b} is not the best point",
            )
