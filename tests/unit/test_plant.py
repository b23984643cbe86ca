"""The pump-loop plant: physics against hand calculations and published values, determinism, config."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.core.errors import ConfigError, LimitError
from simulators import pump_curves as pc
from simulators.plant import (
    SENSOR_NAMES,
    SUB_STEP_S,
    MotorState,
    PlantParameters,
    PlantTruth,
    PumpLoop,
    SensorModel,
    SensorModels,
)

G = 9.80665
DEFAULTS = PlantParameters()
RPM_TO_RAD_S = 2.0 * math.pi / 60.0


def area_m2(diameter_m: float) -> float:
    return math.pi * diameter_m**2 / 4.0


def settled(
    rpm: float = 30000.0,
    valve: float = 1.0,
    seconds: float = 4.0,
    params: PlantParameters | None = None,
    tank_pa: float | None = None,
) -> PumpLoop:
    plant = PumpLoop(params)
    plant.set_valve_command(valve)
    if tank_pa is not None:
        plant.set_tank_pressure_command_pa(tank_pa)
    plant.command_speed_rpm(rpm)
    plant.advance_to(seconds)
    return plant


def rated_flow_m3_s(rpm: float) -> float:
    return DEFAULTS.best_efficiency_flow_coefficient * rpm / 60.0 * DEFAULTS.impeller_diameter_m**3


def noise_free(**overrides: SensorModel) -> PlantParameters:
    quiet = SensorModels(**{name: SensorModel() for name in SENSOR_NAMES})
    return dataclasses.replace(DEFAULTS, sensors=dataclasses.replace(quiet, **overrides))


# ---- fluid -----------------------------------------------------------------------------------------


def test_water_density_and_vapour_pressure_at_20_c_are_the_published_values() -> None:
    truth = PumpLoop().truth()
    assert truth.fluid_temperature_c == 20.0
    assert truth.density_kg_m3 == pytest.approx(998.2, abs=0.05)  # IAPWS-95, 20 degC, 1 bar
    assert truth.vapour_pressure_pa == pytest.approx(2339.0, abs=3.0)


# ---- hydraulics ------------------------------------------------------------------------------------


def test_valve_sets_the_flow_from_overload_to_nearly_shut() -> None:
    assert 1.2 <= settled(valve=1.0).truth().flow_m3_s / rated_flow_m3_s(30000.0) <= 1.4
    assert 0.10 <= settled(valve=0.1).truth().flow_m3_s / rated_flow_m3_s(30000.0) <= 0.20
    shut = settled(valve=0.0).truth()
    assert 0.0 < shut.flow_m3_s < 0.02 * rated_flow_m3_s(30000.0)  # seat leakage only


def test_head_and_npsha_from_the_tap_pressures_by_hand() -> None:
    t = settled(valve=0.8).truth()
    v1 = t.flow_m3_s / area_m2(DEFAULTS.inlet_diameter_m)
    v2 = t.flow_m3_s / area_m2(DEFAULTS.outlet_diameter_m)
    head_by_hand = (t.p_outlet_pa - t.p_inlet_pa) / (t.density_kg_m3 * G) + (v2**2 - v1**2) / (2 * G)
    assert t.head_m == pytest.approx(head_by_hand, rel=1e-9)
    npsha_by_hand = (t.p_inlet_pa - t.vapour_pressure_pa) / (t.density_kg_m3 * G) + v1**2 / (2 * G)
    assert t.npsha_m == pytest.approx(npsha_by_hand, rel=1e-9)
    # Inlet pressure: tank + rho g z - (1 + K_suction) rho v1^2 / 2.
    p1 = (
        t.tank_pressure_pa
        + t.density_kg_m3 * G * DEFAULTS.tank_liquid_height_m
        - (1 + DEFAULTS.suction_loss_coefficient) * 0.5 * t.density_kg_m3 * v1**2
    )
    assert t.p_inlet_pa == pytest.approx(p1, rel=1e-12)


def test_hydraulic_power_is_rho_g_q_h() -> None:
    for valve in (0.2, 0.6, 1.0):
        t = settled(valve=valve).truth()
        assert t.hydraulic_power_w == pytest.approx(t.density_kg_m3 * G * t.flow_m3_s * t.head_m, rel=1e-12)
        assert t.pump_efficiency == pytest.approx(t.hydraulic_power_w / t.shaft_power_w, rel=1e-12)


def test_operating_point_is_where_pump_and_system_heads_meet() -> None:
    t = settled(valve=0.6).truth()
    a1 = area_m2(DEFAULTS.inlet_diameter_m)
    a2 = area_m2(DEFAULTS.outlet_diameter_m)
    x = t.valve_position_fraction
    r, leak = DEFAULTS.valve_rangeability, DEFAULTS.valve_leakage_fraction
    roll = DEFAULTS.valve_closing_rolloff_fraction
    kv = DEFAULTS.valve_kv_max_m3_h * (leak + (1 - leak) * r ** (x - 1) * (1 + roll) * x / (x + roll))
    q = t.flow_m3_s
    # Valve: dp[bar] = SG (Q[m3/h] / Kv)^2.
    valve_head = (t.density_kg_m3 / 1000.0) * (q * 3600.0 / kv) ** 2 * 1e5 / (t.density_kg_m3 * G)
    line_heads = (
        DEFAULTS.suction_loss_coefficient * (q / a1) ** 2
        + DEFAULTS.discharge_loss_coefficient * (q / a2) ** 2
    ) / (2 * G)
    assert t.head_m == pytest.approx(valve_head + line_heads, rel=1e-6)


def test_affinity_laws_in_the_running_plant() -> None:
    # A closed loop without static lift has a parabolic system curve through the origin, so at a
    # fixed valve the operating point keeps its flow coefficient when the speed changes.
    for valve in (0.05, 0.7):
        slow = settled(rpm=15000.0, valve=valve).truth()
        fast = settled(rpm=30000.0, valve=valve).truth()
        ratio = fast.speed_rpm / slow.speed_rpm
        assert ratio == pytest.approx(2.0, rel=1e-6)
        assert fast.flow_m3_s / slow.flow_m3_s == pytest.approx(ratio, rel=1e-6)
        assert fast.head_m / slow.head_m == pytest.approx(ratio**2, rel=1e-6)
        # Shaft power also scales with density, which the warmer fast run has lowered a little.
        power_ratio = (fast.shaft_power_w / fast.density_kg_m3) / (slow.shaft_power_w / slow.density_kg_m3)
        assert power_ratio == pytest.approx(ratio**3, rel=1e-6)
        assert fast.pump_efficiency == pytest.approx(slow.pump_efficiency, rel=1e-6)


def test_plant_head_matches_the_reference_curve() -> None:
    t = settled(valve=0.5).truth()
    assert t.head_m == pytest.approx(pc.pump_head_m(t.flow_m3_s, t.speed_rpm, DEFAULTS, t.npsha_m), rel=1e-9)


# ---- energy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("rpm", [12000.0, 21000.0, 30000.0, 34000.0])
@pytest.mark.parametrize("valve", [0.0, 0.1, 0.4, 0.8, 1.0])
def test_electrical_exceeds_shaft_exceeds_hydraulic(rpm: float, valve: float) -> None:
    plant = settled(rpm=rpm, valve=valve, seconds=3.0)
    t = plant.truth()
    assert t.speed_rpm == pytest.approx(rpm, rel=1e-3)
    assert t.electrical_power_w > t.shaft_power_w > t.hydraulic_power_w > 0.0
    # Steady: motor torque balances pump and friction torque, so the DC power is the shaft power
    # plus friction, copper and controller losses.
    m = plant.motor_state()
    w = t.speed_rpm * RPM_TO_RAD_S
    i = m.motor_current_a
    p = DEFAULTS
    friction_w = p.viscous_friction_nm_s_rad * w * w + p.coulomb_friction_nm * w
    controller_w = (
        p.controller_fixed_loss_w
        + p.switching_loss_w_per_v_a * m.bus_voltage_v * abs(i)
        + p.fet_resistance_ohm * i * i
    )
    expected = t.shaft_power_w + friction_w + p.winding_resistance_ohm * i * i + controller_w
    assert t.electrical_power_w == pytest.approx(expected, rel=1e-5)
    assert m.input_current_a * m.bus_voltage_v == pytest.approx(t.electrical_power_w, rel=1e-9)
    assert m.bus_voltage_v == pytest.approx(
        p.bus_voltage_v - p.bus_source_resistance_ohm * m.input_current_a, rel=1e-12
    )
    motor_voltage_v = p.torque_constant_nm_a * w + p.winding_resistance_ohm * i
    assert m.duty == pytest.approx(motor_voltage_v / m.bus_voltage_v, rel=1e-9)
    assert m.duty <= p.max_duty


def test_rated_point_draws_a_few_kilowatts_from_the_48_v_bus() -> None:
    plant = settled(valve=0.8)
    assert 1000.0 < plant.truth().electrical_power_w < 5000.0
    assert plant.motor_state().bus_voltage_v == pytest.approx(48.0, rel=0.03)


def net_heating_w(t: PlantTruth) -> float:
    """Shaft power into the water minus the loss to the ambient."""
    above_ambient_k = t.fluid_temperature_c - DEFAULTS.ambient_temperature_c
    return t.shaft_power_w - DEFAULTS.tank_heat_loss_w_k * above_ambient_k


def test_twenty_minutes_at_full_flow_warms_the_tank_a_few_kelvin_by_the_energy_balance() -> None:
    plant = settled(valve=1.0, seconds=1.0)
    start = plant.truth()
    heat_j = 0.0
    previous = start
    t = start.time_s
    while t < 1200.0:
        t += 1.0
        plant.advance_to(t)
        now = plant.truth()
        heat_j += 0.5 * (net_heating_w(previous) + net_heating_w(now)) * 1.0
        previous = now
    rise_k = previous.fluid_temperature_c - start.fluid_temperature_c
    assert 1.0 < rise_k < 6.0
    heat_capacity = 998.2 * DEFAULTS.tank_liquid_volume_m3 * DEFAULTS.water_specific_heat_j_kg_k
    assert rise_k == pytest.approx(heat_j / heat_capacity, rel=0.01)
    assert previous.density_kg_m3 < start.density_kg_m3  # properties follow the warming
    assert previous.vapour_pressure_pa > start.vapour_pressure_pa


# ---- motor and speed loop --------------------------------------------------------------------------


def test_spin_up_to_rated_speed_takes_a_few_tenths_of_a_second() -> None:
    plant = PumpLoop()
    plant.command_speed_rpm(30000.0)
    reached = None
    for k in range(1, 301):
        plant.advance_to(k * SUB_STEP_S)
        if reached is None and plant.truth().speed_rpm >= 0.95 * 30000.0:
            reached = plant.truth().time_s
    assert reached is not None and 0.1 <= reached <= 0.6
    assert abs(plant.motor_state().motor_current_a) <= DEFAULTS.motor_current_limit_a


@pytest.mark.parametrize(
    ("start", "target"),
    [(20000.0, 25000.0), (25000.0, 20000.0), (10000.0, 11000.0), (30000.0, 15000.0), (0.0, 30000.0)],
)
def test_speed_step_settles_with_bounded_overshoot(start: float, target: float) -> None:
    plant = settled(rpm=start, valve=0.7, seconds=4.0) if start else PumpLoop()
    if not start:
        plant.set_valve_command(0.7)
    t0 = plant.time_s
    plant.command_speed_rpm(target)
    speeds = []
    for k in range(1, 301):
        plant.advance_to(t0 + k * SUB_STEP_S)
        speeds.append(plant.truth().speed_rpm)
    step = target - start
    overshoot = max((s - target) / step for s in speeds)
    assert overshoot < 0.15
    outside = [k for k, s in enumerate(speeds) if abs(s - target) > 0.01 * target]
    settle_s = (outside[-1] + 1) * SUB_STEP_S if outside else 0.0
    assert settle_s < 0.6
    assert speeds[-1] == pytest.approx(target, rel=1e-3)
    # No ringing: after the first peak, the error changes sign at most once more.
    errors = [s - target for s in speeds]
    sign_changes = sum(1 for a, b in zip(errors, errors[1:]) if a * b < 0)
    assert sign_changes <= 2


def test_coast_down_with_zero_current_dissipates_kinetic_energy_in_pump_and_friction() -> None:
    plant = settled(valve=0.7)
    plant.command_current_a(0.0)
    p = DEFAULTS
    samples = [plant.truth()]
    t = plant.time_s
    for _ in range(50):
        t += SUB_STEP_S
        plant.advance_to(t)
        samples.append(plant.truth())
        m = plant.motor_state()
        assert m.motor_current_a == 0.0 and m.duty == 0.0
        assert samples[-1].electrical_power_w == pytest.approx(p.controller_fixed_loss_w)
    speeds = [s.speed_rpm for s in samples]
    assert all(b < a for a, b in zip(speeds, speeds[1:]))

    def drag_w(s: PlantTruth) -> float:
        w = s.speed_rpm * RPM_TO_RAD_S
        return s.shaft_power_w + p.viscous_friction_nm_s_rad * w * w + p.coulomb_friction_nm * w

    dissipated_j = sum(0.5 * (drag_w(a) + drag_w(b)) * SUB_STEP_S for a, b in zip(samples, samples[1:]))
    w0, w1 = speeds[0] * RPM_TO_RAD_S, speeds[-1] * RPM_TO_RAD_S
    kinetic_j = 0.5 * p.rotor_inertia_kg_m2 * (w0 * w0 - w1 * w1)
    assert kinetic_j == pytest.approx(dissipated_j, rel=0.03)
    # ... and it stops, without turning backwards.
    plant.advance_to(t + 10.0)
    assert plant.truth().speed_rpm == 0.0


def test_tachometer_counts_six_steps_per_electrical_revolution() -> None:
    plant = settled(rpm=24000.0, valve=0.5)
    before = plant.motor_state().tachometer
    plant.advance_to(plant.time_s + 2.0)
    counted = plant.motor_state().tachometer - before
    expected = 24000.0 / 60.0 * 2.0 * 6 * DEFAULTS.pole_pairs
    assert counted == pytest.approx(expected, abs=2)


def test_motor_and_fets_warm_and_energy_counters_add_up() -> None:
    plant = settled(valve=0.8, seconds=1.0)
    ah0, wh0 = plant.motor_state().amp_hours, plant.motor_state().watt_hours
    plant.advance_to(61.0)
    m = plant.motor_state()
    assert m.temp_motor_c > DEFAULTS.ambient_temperature_c + 5
    assert m.temp_fet_c > DEFAULTS.ambient_temperature_c + 2
    assert (m.watt_hours - wh0) * 3600.0 == pytest.approx(plant.truth().electrical_power_w * 60.0, rel=0.01)
    assert (m.amp_hours - ah0) * 3600.0 == pytest.approx(m.input_current_a * 60.0, rel=0.01)
    assert m.fault_code == 0 and m.pole_pairs == 2


def test_commands_saturate_at_physical_limits_and_refuse_non_numbers() -> None:
    plant = PumpLoop()
    plant.command_current_a(1e6)
    plant.advance_to(0.05)
    assert plant.motor_state().motor_current_a == DEFAULTS.motor_current_limit_a
    with pytest.raises(LimitError):
        plant.command_speed_rpm(math.nan)
    with pytest.raises(LimitError):
        plant.set_valve_command(math.inf)
    plant.set_tank_pressure_command_pa(0.0)
    plant.advance_to(60.0)
    assert plant.truth().tank_pressure_pa == pytest.approx(DEFAULTS.tank_pressure_min_pa, rel=1e-6)


# ---- cavitation ------------------------------------------------------------------------------------


def test_lowering_tank_pressure_breaks_the_head_down_at_npsh3() -> None:
    def head_ratio(tank_pa: float) -> tuple[float, PlantTruth]:
        plant = settled(valve=0.8, tank_pa=tank_pa, seconds=25.0)
        t = plant.truth()
        return t.head_m / pc.pump_head_m(t.flow_m3_s, t.speed_rpm, DEFAULTS), t

    ratios = [head_ratio(p)[0] for p in (100e3, 50e3, 35e3, 28e3, 24e3, 20e3)]
    assert ratios[0] > 0.99999
    assert all(b < a for a, b in zip(ratios, ratios[1:]))
    # Bisect the tank pressure for a 3 % head drop at the running flow and speed; there NPSHA must
    # equal NPSH3 by the hand formula.
    low, high = 15e3, 40e3
    for _ in range(30):
        mid = 0.5 * (low + high)
        if head_ratio(mid)[0] < 0.97:
            low = mid
        else:
            high = mid
    ratio, t = head_ratio(high)
    assert ratio == pytest.approx(0.97, abs=1e-4)
    n = t.speed_rpm / 60.0
    d = DEFAULTS.impeller_diameter_m
    npsh3_by_hand = (0.04 * (n * d) ** 2 + 170.0 * (t.flow_m3_s / d**2) ** 2) / G
    v1 = t.flow_m3_s / area_m2(DEFAULTS.inlet_diameter_m)
    npsha_by_hand = (t.p_inlet_pa - t.vapour_pressure_pa) / (t.density_kg_m3 * G) + v1**2 / (2 * G)
    assert npsha_by_hand == pytest.approx(npsh3_by_hand, rel=2e-3)


def test_worn_inlet_cavitates_at_a_higher_tank_pressure() -> None:
    worn = dataclasses.replace(DEFAULTS, npsh3_multiplier=1.5)
    new = settled(valve=0.8, tank_pa=35e3, seconds=25.0).truth()
    damaged = settled(valve=0.8, tank_pa=35e3, seconds=25.0, params=worn).truth()
    assert new.cavitation_head_factor > 0.999
    assert damaged.cavitation_head_factor < 0.97
    assert damaged.npsh3_m > 1.4 * new.npsh3_m


def test_worn_impeller_lowers_head_and_efficiency_in_the_plant() -> None:
    worn = dataclasses.replace(DEFAULTS, head_degradation_fraction=0.1, efficiency_degradation_fraction=0.1)
    new = settled(valve=0.8).truth()
    old = settled(valve=0.8, params=worn).truth()
    assert old.head_m < 0.95 * new.head_m
    assert old.pump_efficiency < new.pump_efficiency
    assert old.electrical_power_w > old.shaft_power_w > old.hydraulic_power_w


# ---- sensors, determinism, time grid ---------------------------------------------------------------


def test_noise_free_sensors_read_the_truth() -> None:
    plant = PumpLoop(noise_free())
    plant.set_valve_command(0.6)
    plant.command_speed_rpm(27000.0)
    plant.advance_to(3.0)
    t = plant.truth()
    m = plant.motor_state()
    expected = {
        "p_inlet_pa": t.p_inlet_pa,
        "p_outlet_pa": t.p_outlet_pa,
        "volume_flow_m3_s": t.flow_m3_s,
        "mass_flow_kg_s": t.density_kg_m3 * t.flow_m3_s,
        "density_kg_m3": t.density_kg_m3,
        "fluid_temperature_c": t.fluid_temperature_c,
        "valve_position_fraction": t.valve_position_fraction,
        "tank_pressure_pa": t.tank_pressure_pa,
        "bus_voltage_v": m.bus_voltage_v,
        "bus_current_a": m.input_current_a,
        "bus_power_w": t.electrical_power_w,
        "transducer_inlet_temperature_c": t.fluid_temperature_c,
    }
    for name, value in expected.items():
        assert plant.measured(name) == pytest.approx(value, rel=1e-6), name
    # The outlet transducer sees the water warmed by the pump's losses: (P_shaft - P_h) / (m_dot c_p).
    mass_flow = t.density_kg_m3 * t.flow_m3_s
    rise = (t.shaft_power_w - t.hydraulic_power_w) / (mass_flow * DEFAULTS.water_specific_heat_j_kg_k)
    outlet_c = plant.measured("transducer_outlet_temperature_c")
    assert outlet_c == pytest.approx(t.fluid_temperature_c + rise, rel=1e-6)


def test_noise_has_the_configured_spread_and_quantisation_its_step() -> None:
    params = noise_free(p_outlet_pa=SensorModel(noise_std=500.0, resolution=10.0))
    plant = PumpLoop(params)
    plant.set_valve_command(0.6)
    plant.command_speed_rpm(27000.0)
    plant.advance_to(3.0)
    errors = []
    for k in range(2000):
        plant.advance_to(3.0 + (k + 1) * 0.1)
        reading = plant.measured("p_outlet_pa")
        assert reading / 10.0 == pytest.approx(round(reading / 10.0), abs=1e-6)
        errors.append(reading - plant.truth().p_outlet_pa)
    mean = sum(errors) / len(errors)
    std = math.sqrt(sum((e - mean) ** 2 for e in errors) / (len(errors) - 1))
    assert abs(mean) < 4 * 500.0 / math.sqrt(len(errors))
    assert std == pytest.approx(math.sqrt(500.0**2 + 10.0**2 / 12), rel=0.06)


def test_first_order_lag_reaches_63_percent_after_one_time_constant() -> None:
    params = dataclasses.replace(
        noise_free(valve_position_fraction=SensorModel(time_constant_s=0.5)),
        valve_stroke_time_s=1e-3,
        valve_positioner_time_constant_s=0.0,  # the valve as an instant step: only the sensor lags
        initial_valve_opening_fraction=0.2,
    )
    plant = PumpLoop(params)
    plant.advance_to(1.0)
    plant.set_valve_command(0.7)
    plant.advance_to(1.5)
    assert plant.truth().valve_position_fraction == 0.7
    one_time_constant = 0.2 + 0.5 * (1 - math.exp(-1))
    assert plant.measured("valve_position_fraction") == pytest.approx(one_time_constant, rel=1e-9)


Scenario = tuple[PlantTruth, MotorState, dict[str, float], list[dict[str, float]]]


def run_scenario(seed: int, splits: tuple[float, ...] = ()) -> Scenario:
    """Commands at fixed bench times; ``splits`` are extra advance points in between."""
    plant = PumpLoop(seed=seed)
    events = {
        0.0: lambda: plant.command_speed_rpm(26000.0),
        0.7: lambda: plant.set_valve_command(0.4),
        1.3: lambda: plant.set_tank_pressure_command_pa(40e3),
        2.0: lambda: plant.command_current_a(0.0),
    }
    readings = []
    stops = sorted(set(events) | set(splits) | {3.0})
    for stop in stops:
        plant.advance_to(stop)
        if stop in events:
            events[stop]()
            readings.append({name: plant.measured(name) for name in SENSOR_NAMES})
    return (
        plant.truth(),
        plant.motor_state(),
        {name: plant.measured(name) for name in SENSOR_NAMES},
        readings,
    )


def test_same_seed_gives_identical_readings_and_other_seeds_other_noise() -> None:
    first = run_scenario(seed=7)
    assert run_scenario(seed=7) == first
    other = run_scenario(seed=8)
    assert other[0] == first[0]  # the physics does not depend on the seed
    differing = [name for name in SENSOR_NAMES if other[2][name] != first[2][name]]
    assert len(differing) >= len(SENSOR_NAMES) - 2  # a coarse quantisation may hide a difference


def test_reading_does_not_change_the_run() -> None:
    plant = PumpLoop(seed=3)
    plant.command_speed_rpm(20000.0)
    plant.advance_to(1.0)
    once = plant.measured("p_outlet_pa")
    for _ in range(10):
        assert plant.measured("p_outlet_pa") == once
        plant.truth()
        plant.motor_state()
    plant.advance_to(1.0)  # same time: nothing moves
    plant.advance_to(1.004)  # before the next grid instant: nothing moves
    assert plant.measured("p_outlet_pa") == once
    plant.advance_to(2.0)
    quiet = PumpLoop(seed=3)
    quiet.command_speed_rpm(20000.0)
    quiet.advance_to(1.0)
    quiet.advance_to(2.0)
    assert plant.measured("p_outlet_pa") == quiet.measured("p_outlet_pa")


def test_advancing_in_one_call_or_two_is_bit_for_bit_identical() -> None:
    one = PumpLoop(seed=1)
    two = PumpLoop(seed=1)
    for plant in (one, two):
        plant.command_speed_rpm(30000.0)
    one.advance_to(0.2)
    two.advance_to(0.1)
    two.advance_to(0.2)
    assert one.truth() == two.truth()
    assert one.motor_state() == two.motor_state()
    assert all(one.measured(n) == two.measured(n) for n in SENSOR_NAMES)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0.001, 2.999, allow_nan=False), max_size=25))
def test_results_depend_only_on_the_sequence_of_times(splits: list[float]) -> None:
    assert run_scenario(seed=5, splits=tuple(splits)) == run_scenario(seed=5)


def test_unknown_sensor_name_lists_the_valid_ones() -> None:
    with pytest.raises(KeyError, match="p_inlet_pa.*bus_power_w"):
        PumpLoop().measured("p_inlet")


# ---- configuration ---------------------------------------------------------------------------------


def test_from_mapping_builds_parameters_from_a_toml_table() -> None:
    params = PlantParameters.from_mapping(
        {
            "impeller_diameter_m": 0.042,
            "pole_pairs": 3,
            "bus_voltage_v": 50,
            "sensors": {"p_inlet_pa": {"noise_std": 12.5}},
        },
        "bench.toml [plant]",
    )
    assert params.impeller_diameter_m == 0.042
    assert params.pole_pairs == 3
    assert params.bus_voltage_v == 50.0 and isinstance(params.bus_voltage_v, float)
    assert params.sensors.p_inlet_pa == SensorModel(12.5, DEFAULTS.sensors.p_inlet_pa.resolution, 0.0)
    assert params.sensors.p_outlet_pa == DEFAULTS.sensors.p_outlet_pa
    assert PlantParameters.from_mapping({}, "empty") == DEFAULTS


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ({"impeller_diameter_mm": 40}, "impeller_diameter_mm"),
        ({"impeller_diameter_m": "40 mm"}, "impeller_diameter_m"),
        ({"impeller_diameter_m": -0.04}, "impeller_diameter_m"),
        ({"best_efficiency": 1.2}, "best_efficiency"),
        ({"pole_pairs": 2.5}, "pole_pairs"),
        ({"pole_pairs": True}, "pole_pairs"),
        ({"max_duty": math.nan}, "max_duty"),
        ({"tank_pressure_min_pa": 7e5}, "tank_pressure_min_pa"),
        ({"sensors": {"p_inlet": {}}}, "sensors.p_inlet"),
        ({"sensors": {"p_inlet_pa": {"sigma": 1.0}}}, "sensors.p_inlet_pa.sigma"),
        ({"sensors": {"p_inlet_pa": {"noise_std": -1.0}}}, "sensors.p_inlet_pa.noise_std"),
        ({"sensors": 3}, "sensors"),
    ],
)
def test_bad_parameters_raise_config_error_naming_source_and_field(table: dict, field: str) -> None:
    with pytest.raises(ConfigError) as caught:
        PlantParameters.from_mapping(table, "bench.toml [plant]")
    assert caught.value.source == "bench.toml [plant]"
    assert caught.value.field == field
    assert str(caught.value).startswith(f"bench.toml [plant]: {field}: ")


def test_the_valve_positioner_lags_its_command_then_moves_at_its_stroke_rate() -> None:
    # Lag 0.2 s, stroke 2 s: a command from 0.2 to 0.7 has the positioner's demand at
    # 0.2 + 0.5 (1 - e^-1) = 0.516 after 0.2 s; the stem, limited to 0.5 per second, cannot keep up
    # at first (0.1 per 0.2 s) and is at 0.3 then; long after, it is at the command.
    params = dataclasses.replace(
        noise_free(), initial_valve_opening_fraction=0.2, valve_positioner_time_constant_s=0.2
    )
    assert params.valve_stroke_time_s == 2.0
    plant = PumpLoop(params)
    plant.set_valve_command(0.7)
    plant.advance_to(0.2)
    assert plant.truth().valve_position_fraction == pytest.approx(0.3, abs=1e-9)
    plant.advance_to(5.0)
    assert plant.truth().valve_position_fraction == 0.7


def test_wear_lowers_the_pump_efficiency_by_its_rate_per_hour_of_bench_time() -> None:
    """``efficiency_wear_per_hour = 0.1``: after 30 min the efficiency is (1 - 0.05) of a new pump's at
    the same speed and valve (the head is the wear-free one), and a pump without wear is unchanged."""
    worn = settled(params=dataclasses.replace(DEFAULTS, efficiency_wear_per_hour=0.1), seconds=4.0)
    new = settled(seconds=4.0)
    for plant in (worn, new):
        plant.advance_to(1800.0)
    assert worn.truth().pump_efficiency == pytest.approx(0.95 * new.truth().pump_efficiency, rel=1e-3)
    assert worn.truth().head_m == pytest.approx(new.truth().head_m, rel=1e-3)
    with pytest.raises(ConfigError):
        PlantParameters.from_mapping({"efficiency_wear_per_hour": -0.1}, "bench.toml")
