"""The physical model of the pump loop that every emulated instrument reads, in virtual time.

The loop: a suction tank (ullage pressure set through a regulator, water temperature as a state),
a suction line, the centrifugal pump on its BLDC motor and speed controller, a discharge line, a
throttle valve whose opening sets the system curve, and back into the tank. The defaults are a
lander-class electric pump prototype on water: 30,000 rpm, about 0.45 L/s and 200 m of head at its best
point, about 2 kW from a 48 V DC bus.

What lives here: :class:`PlantParameters` (every coefficient, with its default and valid range),
:class:`SensorModel` / :class:`SensorModels` (noise, quantisation, lag per instrument reading),
:class:`PlantTruth` and :class:`MotorState` (frozen snapshots), and :class:`PumpLoop`, the
time-stepped model. The pump's curves are pure functions in :mod:`simulators.pump_curves`.

Model, in the order one sub-step applies it:

1. Actuators: the throttle valve's positioner moves at a fixed stroke rate toward its command (its
   position is a state the DAQ reads back); the tank regulator follows its command with a first-order
   lag. Commands saturate at the actuator's physical range, as the real ones do.
2. Drive: in speed mode a PI loop (conditional integration against wind-up) sets the motor current; in
   current mode the command is applied directly; current 0 in current mode is coasting (FETs off, no
   torque). The current is bounded by the motor current limit and by the voltage the bus can drive
   against the back-EMF at the maximum duty (``duty <= 0.95``).
3. Rotor: ``J dw/dt = Kt I - T_pump(Q, n) - b w - T_coulomb``, integrated linearly-implicitly (the
   damping terms, including the back-EMF limit's ``Kt^2/R``, are taken at the new speed) so it stays
   stable for any step; the rotor never turns backwards.
4. Flow: ``dQ/dt = g (H_pump(Q, n) - H_system(Q)) / sum(L/A)``, implicit Euler. Without cavitation
   both heads are quadratic in Q and the step is a closed-form root; with the cavitation factor a
   few Newton iterations finish it. Implicit Euler is unconditionally stable, which matters: near
   shut-off the loop's time constant is well under a millisecond.
   ``H_system = (K_suction + K_discharge + K_valve(opening)) Q^2`` (closed loop, no static lift), the
   valve an equal-percentage trim given by its Kv, with a smooth roll-off to a seat leakage at 0.
5. Electrical: ``P_dc = Kt I w + I^2 R + P_controller`` with ``P_controller = P_fixed +
   k_sw V_bus |I| + I^2 R_fet`` (only the fixed part while coasting); the bus sags behind a source
   resistance and the input current is ``P_dc / V_bus``.
6. Heat: FET and winding temperatures as first-order thermal models; the tank water receives the
   whole shaft power (every watt the pump absorbs ends up as heat in the loop) and loses heat to
   the ambient through a conductance.
7. Sensors: each reading is the true value through a first-order lag, plus Gaussian noise, then
   quantised.

Time and determinism. The plant steps on a fixed global grid of ``SUB_STEP_S`` (10 ms): a call to
:meth:`PumpLoop.advance_to` runs every sub-step whose end lies at or before the requested time, so the
state depends only on the sequence of commands and the times they were given at, never on how the
advancing is split into calls. The state at ``time_s`` is the state at the last grid instant at or
before it. Fluid properties (CoolProp, costly) are re-evaluated only when the tank temperature has
moved 0.02 K, checked every 0.1 s of bench time, so at most once per runner tick and on the grid.
The cost of ``advance_to(t + 0.1)`` is about 40 us in CPython on the development machine.
Sensor noise is a pure function of (seed, sensor, grid index) through a SplitMix64 hash and a
Box-Muller transform, drawn when an advance ends: reading never changes anything, and the readings
too are independent of how advancing was split.

Commands are the four ``command_*``/``set_*`` methods and readings go through :meth:`measured`,
so a fault layer can wrap exactly those.

Imports :mod:`hil.core.errors`, :mod:`hil.core.fluids` and :mod:`simulators.pump_curves`; must not import drivers/.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from hil.core.errors import ConfigError, LimitError
from hil.core.fluids import STANDARD_GRAVITY_M_S2, water_state
from simulators import pump_curves

SUB_STEP_S = 0.01
"""Fixed integration step. The flow and rotor steps are implicit (stable for any step); the thermal
models, lag filters and tank regulator use exact first-order updates; the valve moves at a rate. The
only explicit loop is the sampled PI speed controller, whose loop gain per step ``Kt Kp dt / J`` is
0.44 with the defaults (stable below 2). 10 ms keeps ``advance_to(t + 0.1)`` at ten sub-steps."""

SUB_STEPS_PER_S = 100

FLUID_PROPERTY_CHECK_STEPS = 10
FLUID_PROPERTY_TEMPERATURE_STEP_K = 0.02
"""Water density and vapour pressure are re-evaluated when, at a check every 10 sub-steps (0.1 s of
bench time), the tank temperature has moved 0.02 K since they were last evaluated: 0.004 kg/m3 and
3 Pa at most, below any instrument's resolution, for a cost that stays out of the per-tick budget
(a CoolProp evaluation costs hundreds of microseconds on a loaded machine)."""

CAVITATION_FACTOR_TOLERANCE = 1.0e-9
"""The closed-form flow step keeps the previous sub-step's cavitation factor when the factor at the
new flow differs by less than this (a head error below 1e-9 relative); otherwise Newton solves it."""

MIN_FLOW_FOR_OUTLET_HEATING_M3_S = 1.0e-5
"""Flow floor in the outlet-temperature rise ``(P_shaft - P_h) / (rho c_p Q)``, so a dead-headed pump
reads hot but finite at its outlet transducer."""

_GRID_TOLERANCE = 1.0e-6
"""A requested time within this fraction of a step below a grid instant counts as that instant
(``0.7 * 100`` is ``69.99999999999999`` in floating point)."""

_TWO_PI = 2.0 * math.pi
_INV_TWO_PI = 1.0 / _TWO_PI
_RPM_PER_RAD_S = 60.0 / _TWO_PI
_G = STANDARD_GRAVITY_M_S2
_MASK64 = (1 << 64) - 1
_INV_2_32 = 1.0 / 4294967296.0
_LN_097 = math.log(1.0 - pump_curves.HEAD_DROP_AT_NPSH3)
_KV_HEAD_FACTOR = 100.0 * 3600.0 * 3600.0 / _G
"""Valve head loss ``H = _KV_HEAD_FACTOR (Q / Kv)^2`` for Kv in m3/h at 1 bar and Q in m3/s: the Kv
definition ``dp[bar] = SG (Q[m3/h] / Kv)^2`` with SG = rho / 1000 makes the head independent of rho."""


# --------------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------------


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
    """One :class:`SensorModel` per quantity :meth:`PumpLoop.measured` serves.

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
"""Every name :meth:`PumpLoop.measured` accepts, in the order noise is drawn."""


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
    """Flow inertia: sum of L/A over the loop's pipes (2 m of 16 mm plus 3 m of 10 mm is about 5e4)."""
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
    """Positioner speed: time for a full 0-1 stroke (the position moves at a constant rate)."""
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
    """First-order response of the ullage pressure to its command."""

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
    """Rotor plus impeller; with the current limit, 0 to 30,000 rpm takes about 0.3 s."""
    motor_current_limit_a: float = _param(80.0, gt=0.0)
    """Controller's motor current limit (both directions); commands beyond it saturate."""
    max_duty: float = _param(0.95, gt=0.0, le=1.0)
    """Highest modulation: the back-EMF plus I R drop cannot exceed max_duty x V_bus."""
    max_speed_rpm: float = _param(36000.0, gt=0.0)
    """Controller's speed limit (mechanical); speed commands beyond it saturate."""
    speed_kp_a_per_rpm: float = _param(0.02, ge=0.0)
    """Speed loop proportional gain: ``Kt Kp / J`` is about 45 rad/s with the default inertia (the
    pump's own load adds damping). Small steps settle within 1 % in about 0.1 s, overshooting by about
    10 % of the step; large steps ride the current limit and do not overshoot."""
    speed_ki_a_per_rpm_s: float = _param(0.2, ge=0.0)
    """Speed loop integral gain (its zero at Ki/Kp = 10 rad/s)."""
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


# --------------------------------------------------------------------------------------------------
# Snapshots
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlantTruth:
    """The exact, noise-free state at ``time_s`` (the grid instant the state belongs to), for tests."""

    time_s: float
    speed_rpm: float
    flow_m3_s: float
    head_m: float
    p_inlet_pa: float
    p_outlet_pa: float
    tank_pressure_pa: float
    shaft_power_w: float
    hydraulic_power_w: float
    electrical_power_w: float
    pump_efficiency: float
    npsha_m: float
    npsh3_m: float
    density_kg_m3: float
    vapour_pressure_pa: float
    fluid_temperature_c: float
    valve_position_fraction: float
    motor_current_a: float
    cavitation_head_factor: float
    """Head with cavitation over head without, at this flow and speed (0.97 at NPSHA = NPSH3)."""


@dataclass(frozen=True)
class MotorState:
    """What the motor controller knows about itself (noise-free; a controller's protocol quantises it).

    ``tachometer`` counts commutation steps like a VESC: 6 per electrical revolution, i.e. mechanical
    revolutions x 6 x pole pairs. ``amp_hours`` and ``watt_hours`` are drawn from the bus (regenerated
    charge is kept apart, in ``amp_hours_charged`` and ``watt_hours_charged``).
    """

    speed_rpm: float
    motor_current_a: float
    input_current_a: float
    bus_voltage_v: float
    duty: float
    temp_fet_c: float
    temp_motor_c: float
    fault_code: int
    amp_hours: float
    watt_hours: float
    tachometer: int
    pole_pairs: int
    amp_hours_charged: float = 0.0
    watt_hours_charged: float = 0.0


# --------------------------------------------------------------------------------------------------
# The loop
# --------------------------------------------------------------------------------------------------


def _standard_normal_pair(key: int) -> tuple[float, float]:
    """Two independent N(0, 1) draws that are a pure function of a 64-bit key.

    SplitMix64's finaliser turns the key into 64 well-mixed bits, split into two 32-bit uniforms for a
    Box-Muller transform. Unlike a stateful generator this makes a reading depend only on (seed,
    sensor, grid instant), whichever calls advanced the plant there.
    """
    x = ((key ^ (key >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK64
    x ^= x >> 31
    radius = math.sqrt(-2.0 * math.log(((x >> 32) + 0.5) * _INV_2_32))
    angle = _TWO_PI * (x & 0xFFFFFFFF) * _INV_2_32
    return radius * math.cos(angle), radius * math.sin(angle)


def valve_kv_m3_h(opening_fraction: float, params: PlantParameters) -> float:
    """Throttle valve Kv at an opening: equal percentage, rolled off to the seat leakage at 0."""
    x = opening_fraction
    rolloff = params.valve_closing_rolloff_fraction
    equal_percentage = params.valve_rangeability ** (x - 1.0) * (1.0 + rolloff) * x / (x + rolloff)
    leak = params.valve_leakage_fraction
    return params.valve_kv_max_m3_h * (leak + (1.0 - leak) * equal_percentage)


def system_resistance_s2_m5(opening_fraction: float, params: PlantParameters) -> float:
    """``K`` in ``H_system = K Q^2``: suction line + discharge line + throttle valve (head per flow^2)."""
    a_in = math.pi * params.inlet_diameter_m**2 / 4.0
    a_out = math.pi * params.outlet_diameter_m**2 / 4.0
    k_suction = params.suction_loss_coefficient / (2.0 * _G * a_in * a_in)
    k_discharge = params.discharge_loss_coefficient / (2.0 * _G * a_out * a_out)
    kv = valve_kv_m3_h(opening_fraction, params)
    return k_suction + k_discharge + _KV_HEAD_FACTOR / (kv * kv)


class PumpLoop:
    """The pump loop in virtual time: commands in, exact truth and instrument readings out."""

    def __init__(self, params: PlantParameters | None = None, seed: int = 0) -> None:
        p = params if params is not None else PlantParameters()
        self.params = p
        self.seed = seed
        self._seed_key = (seed * 0xBF58476D1CE4E5B9 + 0x2545F4914F6CDD1D) & _MASK64
        self.time_s = 0.0
        self._step = 0

        # Commands (what a fault layer would intercept).
        self._speed_mode = False
        self._speed_command_rad_s = 0.0
        self._current_command_a = 0.0
        self._valve_command = p.initial_valve_opening_fraction
        self._tank_pressure_command_pa = p.initial_tank_pressure_pa
        self._fault_code = 0

        # State.
        self._omega = 0.0
        self._flow = 0.0
        self._valve = p.initial_valve_opening_fraction
        self._p_tank = p.initial_tank_pressure_pa
        self._t_fluid = p.initial_fluid_temperature_c
        self._t_fet = p.ambient_temperature_c
        self._t_motor = p.ambient_temperature_c
        self._integrator_a = 0.0
        self._current_a = 0.0
        self._duty = 0.0
        self._bus_v = p.bus_voltage_v
        self._p_dc = p.controller_fixed_loss_w
        self._input_current_a = 0.0
        self._revolutions = 0.0
        self._amp_hours = 0.0
        self._watt_hours = 0.0
        self._amp_hours_charged = 0.0
        self._watt_hours_charged = 0.0
        self._torque_pump_nm = 0.0
        self._cavitation_factor = 1.0
        self._solve_bus(self._p_dc)
        self._density = 0.0
        self._p_vapour = 0.0
        self._t_fluid_properties = self._t_fluid
        self._refresh_fluid_properties()
        self._mass_heat_capacity_j_k = self._density * p.tank_liquid_volume_m3 * p.water_specific_heat_j_kg_k

        # Constants of the inner loop, computed once.
        d = p.impeller_diameter_m
        lam0, lam1, lam2 = pump_curves.power_coefficients(p)
        head_keep = 1.0 - p.head_degradation_fraction
        power_factor = head_keep / (1.0 - p.efficiency_degradation_fraction)
        self._head_poly = (
            p.head_coefficient_shutoff * d * d / _G * head_keep,
            p.head_coefficient_linear / (d * _G) * head_keep,
            p.head_coefficient_quadratic / (d**4 * _G) * head_keep,
        )
        self._npsh3_poly = (
            p.npsh3_multiplier * p.npsh3_coefficient_shutoff * d * d / _G,
            p.npsh3_multiplier * p.npsh3_coefficient_flow / (d**4 * _G),
        )
        self._torque_poly = (
            lam0 * d**5 * _INV_TWO_PI * power_factor,
            lam1 * d * d * _INV_TWO_PI * power_factor,
            lam2 / d * _INV_TWO_PI * power_factor,
        )
        a_in = math.pi * p.inlet_diameter_m**2 / 4.0
        a_out = math.pi * p.outlet_diameter_m**2 / 4.0
        self._inlet_area_m2 = a_in
        self._outlet_area_m2 = a_out
        self._k_velocity_in = 1.0 / (2.0 * _G * a_in * a_in)
        self._k_velocity_out = 1.0 / (2.0 * _G * a_out * a_out)
        self._k_suction = p.suction_loss_coefficient * self._k_velocity_in
        self._k_system = system_resistance_s2_m5(self._valve, p)
        self._constants = self._loop_constants()

        # Sensors: lag filter states start at the true values.
        models = p.sensors
        self._sensor_models = tuple(getattr(models, name) for name in SENSOR_NAMES)
        self._lag_indices = tuple(i for i, m in enumerate(self._sensor_models) if m.time_constant_s > 0.0)
        self._lag_pairs = tuple(
            (i, 1.0 - math.exp(-SUB_STEP_S / self._sensor_models[i].time_constant_s))
            for i in self._lag_indices
        )
        self._noise_std = tuple(m.noise_std for m in self._sensor_models)
        self._resolution = tuple(m.resolution for m in self._sensor_models)
        self._noise_pairs = (len(SENSOR_NAMES) + 1) // 2
        self._raw = self._raw_from_state()
        self._lagged = list(self._raw)
        self._measured: dict[str, float] = {}
        self._update_measured()

    # ---- commands ---------------------------------------------------------------------------------

    def command_speed_rpm(self, mechanical_rpm: float) -> None:
        """Closed-loop speed mode; saturates at 0 and ``max_speed_rpm`` (the pump turns one way)."""
        rpm = min(max(_finite(mechanical_rpm, "speed command"), 0.0), self.params.max_speed_rpm)
        if not self._speed_mode:
            # Bumpless transfer: the integrator starts from the current being applied.
            self._integrator_a = self._current_a
        self._speed_mode = True
        self._speed_command_rad_s = rpm / _RPM_PER_RAD_S

    def command_current_a(self, current_a: float) -> None:
        """Current (torque) mode; 0 releases the motor to coast. Saturates at the current limit."""
        limit = self.params.motor_current_limit_a
        self._speed_mode = False
        self._current_command_a = min(max(_finite(current_a, "current command"), -limit), limit)

    def set_valve_command(self, opening_fraction: float) -> None:
        """Throttle valve positioner setpoint; saturates at 0 (shut) and 1 (fully open)."""
        self._valve_command = min(max(_finite(opening_fraction, "valve command"), 0.0), 1.0)

    def set_tank_pressure_command_pa(self, pressure_pa: float) -> None:
        """Suction tank ullage pressure setpoint (absolute); saturates at the regulator's range."""
        p = self.params
        self._tank_pressure_command_pa = min(
            max(_finite(pressure_pa, "tank pressure command"), p.tank_pressure_min_pa), p.tank_pressure_max_pa
        )

    # ---- readings ---------------------------------------------------------------------------------

    def measured(self, name: str) -> float:
        """The instrument-side reading of ``name``; reading never changes the run."""
        try:
            return self._measured[name]
        except KeyError:
            raise KeyError(f"unknown plant sensor {name!r}; valid names: {', '.join(SENSOR_NAMES)}") from None

    def motor_state(self) -> MotorState:
        p = self.params
        return MotorState(
            speed_rpm=self._omega * _RPM_PER_RAD_S,
            motor_current_a=self._current_a,
            input_current_a=self._input_current_a,
            bus_voltage_v=self._bus_v,
            duty=self._duty,
            temp_fet_c=self._t_fet,
            temp_motor_c=self._t_motor,
            fault_code=self._fault_code,
            amp_hours=self._amp_hours,
            watt_hours=self._watt_hours,
            tachometer=int(self._revolutions * 6 * p.pole_pairs),
            pole_pairs=p.pole_pairs,
            amp_hours_charged=self._amp_hours_charged,
            watt_hours_charged=self._watt_hours_charged,
        )

    def truth(self) -> PlantTruth:
        """Exact state, computed with the reference functions of :mod:`simulators.pump_curves`."""
        p = self.params
        rho = self._density
        q = self._flow
        rpm = self._omega * _RPM_PER_RAD_S
        v_in = q / self._inlet_area_m2
        v_out = q / self._outlet_area_m2
        p_inlet = (
            self._p_tank
            + rho * _G * p.tank_liquid_height_m
            - (1.0 + p.suction_loss_coefficient) * 0.5 * rho * v_in * v_in
        )
        npsha = (p_inlet - self._p_vapour) / (rho * _G) + v_in * v_in / (2.0 * _G)
        npsh3 = pump_curves.npsh3_m(q, rpm, p)
        factor = pump_curves.cavitation_head_factor(npsha, npsh3, p.cavitation_breakdown_steepness)
        head = pump_curves.pump_head_m(q, rpm, p, npsha)
        p_outlet = p_inlet + rho * _G * head - 0.5 * rho * (v_out * v_out - v_in * v_in)
        shaft = pump_curves.pump_shaft_power_w(q, rpm, rho, p)
        hydraulic = rho * _G * q * head
        return PlantTruth(
            time_s=self._step / SUB_STEPS_PER_S,
            speed_rpm=rpm,
            flow_m3_s=q,
            head_m=head,
            p_inlet_pa=p_inlet,
            p_outlet_pa=p_outlet,
            tank_pressure_pa=self._p_tank,
            shaft_power_w=shaft,
            hydraulic_power_w=hydraulic,
            electrical_power_w=self._p_dc,
            pump_efficiency=hydraulic / shaft if shaft > 0.0 else 0.0,
            npsha_m=npsha,
            npsh3_m=npsh3,
            density_kg_m3=rho,
            vapour_pressure_pa=self._p_vapour,
            fluid_temperature_c=self._t_fluid,
            valve_position_fraction=self._valve,
            motor_current_a=self._current_a,
            cavitation_head_factor=factor,
        )

    # ---- time -------------------------------------------------------------------------------------

    def advance_to(self, time_s: float) -> None:
        """Step every grid sub-step that ends at or before ``time_s``; earlier times are ignored."""
        if not time_s > self.time_s:
            return
        self.time_s = time_s
        target = math.floor(time_s * SUB_STEPS_PER_S + _GRID_TOLERANCE)
        if target <= self._step:
            return
        self._integrate(self._step, target)
        self._step = target
        self._update_measured()

    # ---- internals --------------------------------------------------------------------------------

    def _refresh_fluid_properties(self) -> None:
        self._t_fluid_properties = self._t_fluid
        self._density, self._p_vapour = water_state(self._t_fluid)

    def _solve_bus(self, p_dc: float) -> None:
        """Input current and sagged bus voltage for DC power ``p_dc`` behind the source resistance."""
        v0 = self.params.bus_voltage_v
        rs = self.params.bus_source_resistance_ohm
        if rs > 0.0:
            disc = v0 * v0 - 4.0 * rs * p_dc
            i_in = (v0 - math.sqrt(disc if disc > 0.0 else 0.0)) / (2.0 * rs)
            self._bus_v = v0 - rs * i_in
        else:
            i_in = p_dc / v0
            self._bus_v = v0
        self._input_current_a = i_in

    def _raw_from_state(self) -> tuple[float, ...]:
        """True values of every sensed quantity, in SENSOR_NAMES order (at construction)."""
        t = self.truth()
        return (
            t.p_inlet_pa,
            t.p_outlet_pa,
            t.density_kg_m3 * t.flow_m3_s,
            t.flow_m3_s,
            t.density_kg_m3,
            t.fluid_temperature_c,
            t.valve_position_fraction,
            t.tank_pressure_pa,
            self._bus_v,
            self._input_current_a,
            self._bus_v * self._input_current_a,
            t.fluid_temperature_c,
            t.fluid_temperature_c,
        )

    def _update_measured(self) -> None:
        """Draw this grid instant's noise and quantise: the readings until the next advance."""
        values = list(self._raw)
        lagged = self._lagged
        for i in self._lag_indices:
            values[i] = lagged[i]
        key = (self._seed_key + self._step * 0x9E3779B97F4A7C15) & _MASK64
        normals: list[float] = []
        for pair in range(self._noise_pairs):
            normals.extend(_standard_normal_pair((key + pair * 0xD1B54A32D192ED03) & _MASK64))
        out = self._measured
        for name, value, z, std, resolution in zip(
            SENSOR_NAMES, values, normals, self._noise_std, self._resolution
        ):
            value += std * z
            if resolution > 0.0:
                value = resolution * math.floor(value / resolution + 0.5)
            out[name] = value

    def _loop_constants(self) -> tuple[float, ...]:
        """Everything the inner loop needs that does not change during a run, in one tuple."""
        p = self.params
        dt = SUB_STEP_S
        return (
            *self._head_poly,
            *self._npsh3_poly,
            *self._torque_poly,
            p.cavitation_breakdown_steepness,
            self._k_suction,
            self._k_velocity_in,
            self._k_velocity_out,
            _G / p.loop_length_over_area_per_m * dt,
            p.tank_liquid_height_m,
            p.torque_constant_nm_a,
            p.winding_resistance_ohm,
            p.viscous_friction_nm_s_rad,
            p.coulomb_friction_nm,
            p.rotor_inertia_kg_m2,
            p.motor_current_limit_a,
            p.max_duty,
            p.speed_kp_a_per_rpm * _RPM_PER_RAD_S,
            p.speed_ki_a_per_rpm_s * _RPM_PER_RAD_S * dt,
            p.torque_constant_nm_a**2 / p.winding_resistance_ohm,
            p.controller_fixed_loss_w,
            p.switching_loss_w_per_v_a,
            p.fet_resistance_ohm,
            p.bus_voltage_v,
            p.bus_source_resistance_ohm,
            p.ambient_temperature_c,
            1.0 - math.exp(-dt / (p.fet_thermal_resistance_k_w * p.fet_thermal_capacitance_j_k)),
            1.0 - math.exp(-dt / (p.motor_thermal_resistance_k_w * p.motor_thermal_capacitance_j_k)),
            p.fet_thermal_resistance_k_w,
            p.motor_thermal_resistance_k_w,
            dt / self._mass_heat_capacity_j_k,
            p.tank_heat_loss_w_k,
            p.water_specific_heat_j_kg_k,
            dt / p.valve_stroke_time_s,
            1.0 - math.exp(-dt / p.tank_pressure_time_constant_s),
        )

    def _integrate(self, first_step: int, end_step: int) -> None:
        """Sub-steps ``first_step`` .. ``end_step - 1``; plain floats and locals for speed.

        The order inside a sub-step is the module docstring's; the rotor update uses the pump torque
        at the end of the previous sub-step, and the flow solve starts from the cavitation factor of
        the previous sub-step (Newton takes over if the factor at the new flow differs noticeably).
        """
        (
            h0,
            h1,
            h2,
            t0,
            t2,
            q0,
            q1,
            q2,
            a_cav,
            k_suction,
            k_vin,
            k_vout,
            c_flow_dt,
            z_tank,
            kt,
            r_wind,
            b_visc,
            t_coulomb,
            inertia,
            i_limit,
            max_duty,
            kp,
            ki_dt,
            backemf_damping,
            p_fixed,
            k_switch,
            r_fet,
            v0,
            r_source,
            t_amb,
            a_fet,
            a_motor,
            rth_fet,
            rth_motor,
            tank_dt_per_j,
            tank_loss,
            c_p,
            valve_rate_dt,
            a_tank,
        ) = self._constants
        dt = SUB_STEP_S
        g = _G
        exp = math.exp
        sqrt = math.sqrt
        keep_at_npsh3 = 1.0 - pump_curves.HEAD_DROP_AT_NPSH3
        k_vin_total = k_suction + k_vin
        k_vout_vin = k_vout - k_vin
        ah_per_a = dt / 3600.0
        lagged = self._lagged
        lag_pairs = self._lag_pairs
        # Commands.
        speed_mode = self._speed_mode
        w_cmd = self._speed_command_rad_s
        i_cmd = self._current_command_a
        valve_cmd = self._valve_command
        p_tank_cmd = self._tank_pressure_command_pa
        # State.
        w = self._omega
        q = self._flow
        x = self._valve
        k_system = self._k_system
        p_tank = self._p_tank
        t_fluid = self._t_fluid
        t_fet = self._t_fet
        t_motor = self._t_motor
        integ = self._integrator_a
        v_bus = self._bus_v
        rho = self._density
        p_vap = self._p_vapour
        rho_g = rho * g
        revs = self._revolutions
        ah = self._amp_hours
        wh = self._watt_hours
        ah_c = self._amp_hours_charged
        wh_c = self._watt_hours_charged
        current = self._current_a
        duty = self._duty
        p_dc = self._p_dc
        i_in = self._input_current_a
        torque_pump = self._torque_pump_nm
        factor = self._cavitation_factor
        raw = self._raw

        for step in range(first_step, end_step):
            if step % FLUID_PROPERTY_CHECK_STEPS == 0 and abs(t_fluid - self._t_fluid_properties) >= (
                FLUID_PROPERTY_TEMPERATURE_STEP_K
            ):
                self._t_fluid = t_fluid
                self._refresh_fluid_properties()
                rho = self._density
                p_vap = self._p_vapour
                rho_g = rho * g

            # 1. Actuators.
            if x != valve_cmd:
                if valve_cmd - x > valve_rate_dt:
                    x += valve_rate_dt
                elif x - valve_cmd > valve_rate_dt:
                    x -= valve_rate_dt
                else:
                    x = valve_cmd
                k_system = system_resistance_s2_m5(x, self.params)
            p_tank += (p_tank_cmd - p_tank) * a_tank

            # 2. Drive: motor current from the speed loop or the current command.
            voltage_limited = False
            if speed_mode:
                e = w_cmd - w
                hi = (max_duty * v_bus - kt * w) / r_wind
                if hi < i_limit:
                    limit_by_voltage = True
                    if hi < -i_limit:
                        hi = -i_limit
                else:
                    hi = i_limit
                    limit_by_voltage = False
                integ_next = integ + ki_dt * e
                current = kp * e + integ_next
                if current > hi:
                    current = hi
                    voltage_limited = limit_by_voltage
                    if e < 0.0:
                        integ = integ_next
                elif current < -i_limit:
                    current = -i_limit
                    if e > 0.0:
                        integ = integ_next
                else:
                    integ = integ_next
                driving = True
            elif i_cmd != 0.0:
                hi = (max_duty * v_bus - kt * w) / r_wind
                if i_cmd > hi:
                    current = hi if hi > -i_limit else -i_limit
                    voltage_limited = True
                else:
                    current = i_cmd
                driving = True
            else:
                current = 0.0
                driving = False

            # 3. Rotor, linearly implicit in the speed-proportional torques.
            n = w * _INV_TWO_PI
            friction = b_visc * w + (t_coulomb if w > 0.0 else 0.0)
            damping = rho * (2.0 * q0 * n + q1 * q) * _INV_TWO_PI + b_visc
            if voltage_limited:
                damping += backemf_damping
            w += dt * (kt * current - torque_pump - friction) / (inertia + dt * damping)
            if w < 0.0:
                w = 0.0
            n = w * _INV_TWO_PI

            # 4. Flow, implicit Euler: closed-form root with the last cavitation factor; Newton when
            #    the factor at the new flow differs noticeably.
            a0 = h0 * n * n
            a1 = h1 * n
            cf = c_flow_dt * factor
            lin = 1.0 - cf * a1
            const = q + cf * a0
            quad = c_flow_dt * k_system - cf * h2
            q_new = 2.0 * const / (lin + sqrt(lin * lin + 4.0 * quad * const))
            npsh3_speed = t0 * n * n
            npsha_static = (p_tank - p_vap) / rho_g + z_tank
            npsh3 = npsh3_speed + t2 * q_new * q_new
            if npsh3 > 0.0:
                expo = a_cav * (1.0 - (npsha_static - k_suction * q_new * q_new) / npsh3)
                factor_new = keep_at_npsh3 ** exp(expo if expo < 50.0 else 50.0)
            else:
                factor_new = 1.0
            if abs(factor_new - factor) > CAVITATION_FACTOR_TOLERANCE:
                q_new, factor_new = _solve_cavitating_flow(
                    q, q_new, a0, a1, h2, k_system, c_flow_dt, npsh3_speed, t2, npsha_static, k_suction, a_cav
                )
            q = q_new
            factor = factor_new
            head = factor * (a0 + a1 * q + h2 * q * q)

            # 5. Powers, bus.
            torque_pump = rho * (q0 * n * n + q1 * n * q + q2 * q * q)
            p_shaft = torque_pump * w
            p_copper = r_wind * current * current
            if driving:
                p_controller = p_fixed + k_switch * v_bus * abs(current) + r_fet * current * current
                duty = (kt * w + r_wind * current) / v_bus
                duty = 0.0 if duty < 0.0 else (max_duty if duty > max_duty else duty)
            else:
                p_controller = p_fixed
                duty = 0.0
            p_dc = kt * current * w + p_copper + p_controller
            if r_source > 0.0:
                disc = v0 * v0 - 4.0 * r_source * p_dc
                i_in = (v0 - sqrt(disc if disc > 0.0 else 0.0)) / (2.0 * r_source)
                v_bus = v0 - r_source * i_in
            else:
                i_in = p_dc / v0
            if i_in >= 0.0:
                ah += i_in * ah_per_a
                wh += p_dc * ah_per_a
            else:
                ah_c -= i_in * ah_per_a
                wh_c -= p_dc * ah_per_a
            revs += n * dt

            # 6. Heat.
            t_motor += (t_amb + rth_motor * (p_copper + friction * w) - t_motor) * a_motor
            t_fet += (t_amb + rth_fet * p_controller - t_fet) * a_fet
            t_fluid += (p_shaft - tank_loss * (t_fluid - t_amb)) * tank_dt_per_j

            # 7. Sensor inputs (SENSOR_NAMES order) and their lag filters.
            qq = q * q
            p_inlet = p_tank + rho_g * (z_tank - k_vin_total * qq)
            outlet_rise = (p_shaft - rho_g * q * head) / (
                rho * c_p * (q if q > MIN_FLOW_FOR_OUTLET_HEATING_M3_S else MIN_FLOW_FOR_OUTLET_HEATING_M3_S)
            )
            raw = (
                p_inlet,
                p_inlet + rho_g * (head - k_vout_vin * qq),
                rho * q,
                q,
                rho,
                t_fluid,
                x,
                p_tank,
                v_bus,
                i_in,
                v_bus * i_in,
                t_fluid,
                t_fluid + outlet_rise,
            )
            for i, alpha in lag_pairs:
                lagged[i] += (raw[i] - lagged[i]) * alpha

        # Write the state back.
        self._omega = w
        self._flow = q
        self._valve = x
        self._k_system = k_system
        self._p_tank = p_tank
        self._t_fluid = t_fluid
        self._t_fet = t_fet
        self._t_motor = t_motor
        self._integrator_a = integ
        self._bus_v = v_bus
        self._revolutions = revs
        self._amp_hours = ah
        self._watt_hours = wh
        self._amp_hours_charged = ah_c
        self._watt_hours_charged = wh_c
        self._current_a = current
        self._duty = duty
        self._p_dc = p_dc
        self._input_current_a = i_in
        self._torque_pump_nm = torque_pump
        self._cavitation_factor = factor
        self._raw = raw


def _solve_cavitating_flow(
    q_old: float,
    q_guess: float,
    a0: float,
    a1: float,
    h2: float,
    k_system: float,
    c_flow_dt: float,
    n3_speed: float,
    t2: float,
    npsha_static: float,
    k_suction: float,
    a_cav: float,
) -> tuple[float, float]:
    """Newton on ``F(Q) = Q - Q_old - c dt (f(Q) H_clean(Q) - K Q^2)`` when the cavitation factor
    depends noticeably on the flow. F rises with Q wherever f matters (f falls with flow, H_clean >= 0
    there), so the iteration converges from the closed-form guess; iterates are kept non-negative."""
    ln_keep = _LN_097
    q = q_guess
    factor = 1.0
    for _ in range(40):
        h_clean = a0 + a1 * q + h2 * q * q
        dh_clean = a1 + 2.0 * h2 * q
        npsh3 = n3_speed + t2 * q * q
        if npsh3 > 0.0:
            npsha = npsha_static - k_suction * q * q
            ratio = npsha / npsh3
            expo = a_cav * (1.0 - ratio)
            e = math.exp(expo if expo < 50.0 else 50.0)
            factor = math.exp(ln_keep * e)
            dratio = (-2.0 * k_suction * q * npsh3 - npsha * 2.0 * t2 * q) / (npsh3 * npsh3)
            dfactor = factor * ln_keep * e * (-a_cav) * dratio if expo < 50.0 else 0.0
        else:
            factor = 1.0
            dfactor = 0.0
        residual = q - q_old - c_flow_dt * (factor * h_clean - k_system * q * q)
        slope = 1.0 - c_flow_dt * (dfactor * h_clean + factor * dh_clean - 2.0 * k_system * q)
        if slope < 1.0:
            slope = 1.0
        step = residual / slope
        q_next = q - step
        if q_next < 0.0:
            q_next = 0.5 * q
        converged = abs(q_next - q) <= 1.0e-15 + 1.0e-12 * q
        q = q_next
        if converged:
            break
    npsh3 = n3_speed + t2 * q * q
    if npsh3 > 0.0:
        expo = a_cav * (1.0 - (npsha_static - k_suction * q * q) / npsh3)
        factor = math.exp(ln_keep * math.exp(expo if expo < 50.0 else 50.0))
    else:
        factor = 1.0
    return q, factor


def _finite(value: float, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise LimitError(f"{what}: expected a number, got {value!r}") from exc
    if not math.isfinite(number):
        raise LimitError(f"{what}: expected a finite number, got {value!r}")
    return number
