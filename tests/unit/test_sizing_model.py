"""The system model against hand calculations, similarity laws and the rocket equation."""

from __future__ import annotations

import dataclasses
import math
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from hil.model.pump_model import DriveEfficiencyMap, PumpModel
from hil.model.sizing.mission import load_mission, parse_mission
from hil.model.sizing.model import (
    DesignPoint,
    evaluate_electric,
    size_electric_pump_fed,
    size_pressure_fed,
)
from hil.model.sizing.pump_curves import CurveAdjustment, PumpCurves
from tests.sizing_samples import linear_isp_sample

G0 = 9.80665
SAMPLE = Path(str(files("hil") / "data" / "lander_mission.toml"))
R_HE, T_HE = 2077.1, 293.15


def _impulse_mission(**overrides):
    data = {
        "mission": {"total_impulse_n_s": 1.0e6},
        "engine": {
            "thrust_n": 2000.0,
            "isp_s": 300.0,
            "mixture_ratio": 1.6,
            "fixed_hardware_mass_kg": 10.0,
            "injector_drop_fraction": 0.2,
            "fuel_line_loss_pa": 3e5,
            "oxidiser_line_loss_pa": 1.5e5,
            "suction_line_loss_pa": 2e4,
        },
        "propellants": {"fuel": "MMH", "oxidiser": "N2O4", "temperature_c": 20.0},
        "margins": {"ullage_fraction": 0.05, "residual_fraction": 0.02, "reserve_fraction": 0.03},
        "tanks": {
            "material": "Ti-6Al-4V",
            "safety_factor": 1.5,
            "min_wall_thickness_m": 0.0,
            "max_acceleration_m_s2": 0.0,
        },
        "pressurant": {
            "storage_pressure_pa": 28e6,
            "temperature_k": T_HE,
            "polytropic_exponent": 1.3,
            "regulator_drop_pa": 1e6,
            "tank_material": "CFRP-COPV",
            "tank_safety_factor": 1.5,
            "tank_min_wall_thickness_m": 0.0,
        },
    }
    for section, values in overrides.items():
        data.setdefault(section, {}).update(values)
    return parse_mission(data, "inline.toml")


def test_pressure_fed_baseline_by_hand() -> None:
    inputs = _impulse_mission()
    result = size_pressure_fed(inputs, 1.0e6)
    m = result.masses.breakdown()
    rho_f, rho_o = 875.6, 1441.5  # MMH and N2O4 at 20 degC (sourced tables)
    usable = 1.0e6 / (G0 * 300.0)
    fuel, ox = usable / 2.6, usable * 1.6 / 2.6
    v_f = fuel * 1.05 / rho_f * 1.05
    v_o = ox * 1.05 / rho_o * 1.05
    p_f = 1.0e6 * 1.2 + 3e5 + 2e4  # chamber + injector + lines + suction line
    p_o = 1.0e6 * 1.2 + 1.5e5 + 2e4
    assert result.fuel_tank_pressure_pa[0] == pytest.approx(p_f)
    assert result.oxidiser_tank_pressure_pa[0] == pytest.approx(p_o)
    assert m["usable_propellant_kg"] == pytest.approx(usable, rel=1e-12)
    assert m["residual_and_reserve_kg"] == pytest.approx(0.05 * usable, rel=1e-12)
    assert m["fuel_tank_kg"] == pytest.approx(1.5 * 1.5 * 4430 * p_f * v_f / 880e6, rel=1e-3)
    assert m["oxidiser_tank_kg"] == pytest.approx(1.5 * 1.5 * 4430 * p_o * v_o / 880e6, rel=1e-3)
    gas = (p_f * v_f + p_o * v_o) / (R_HE * T_HE) * 1.3 / (1.0 - (p_f + 1e6) / 28e6)
    assert m["pressurant_gas_kg"] == pytest.approx(gas, rel=1e-3)
    bottle_volume = gas * R_HE * T_HE / 28e6
    assert m["pressurant_tank_kg"] == pytest.approx(1.5 * 1.5 * 1600 * 28e6 * bottle_volume / 600e6, rel=1e-3)
    assert m["pumps_kg"] == m["motors_kg"] == m["battery_kg"] == 0.0
    expected_total = (
        usable * 1.05 + m["fuel_tank_kg"] + m["oxidiser_tank_kg"] + gas + m["pressurant_tank_kg"] + 10.0
    )
    assert m["total_kg"] == pytest.approx(expected_total, rel=1e-9)


def test_hydrostatic_head_adds_to_the_tank_design_pressure() -> None:
    calm = size_pressure_fed(_impulse_mission(), 1.0e6).masses
    shaken = size_pressure_fed(_impulse_mission(tanks={"max_acceleration_m_s2": 30.0}), 1.0e6).masses
    diameter = 2.0 * (3.0 * shaken.fuel_tank_volume_m3[0] / (4.0 * math.pi)) ** (1.0 / 3.0)
    assert shaken.fuel_tank_design_pressure_pa[0] - calm.fuel_tank_design_pressure_pa[0] == pytest.approx(
        875.6 * 30.0 * diameter
    )
    assert shaken.fuel_tank_kg[0] > calm.fuel_tank_kg[0]


def test_delta_v_result_satisfies_the_rocket_equation() -> None:
    inputs = linear_isp_sample()
    batch = size_electric_pump_fed(inputs, DesignPoint(2.0e6, 3.0e5, 4.0e5, 45_000.0, 35_000.0))
    m = batch.masses.breakdown()
    initial = inputs.mission.dry_mass_kg + m["total_kg"]
    final = initial - m["usable_propellant_kg"]
    assert G0 * batch.isp_s[0] * math.log(initial / final) == pytest.approx(
        inputs.mission.delta_v_m_s, rel=1e-8
    )
    # Isp rises 4 s per MPa above 1 MPa in the sample mission.
    assert batch.isp_s[0] == pytest.approx(318.0 + 4.0)


SAMPLE_DESIGN = DesignPoint(2.5e6, 3.0e5, 4.5e5, 45_000.0, 35_000.0)


def _sample_batch(design=SAMPLE_DESIGN, model=None, inputs=None):
    inputs = inputs or linear_isp_sample()
    return inputs, size_electric_pump_fed(inputs, design, model)


def test_pump_meets_the_required_rise_at_every_point_by_similarity() -> None:
    _inputs, batch = _sample_batch()
    model = PumpModel.default()
    for pump, rho in ((batch.fuel, 875.6), (batch.oxidiser, 1434.6)):
        n = pump.speed_rpm[0] / 60.0
        d = pump.diameter_m[0]
        # dp = psi(phi) rho n^2 D^2 and Q = phi n D^3 at every point of the burn.
        np.testing.assert_allclose(
            model.psi(pump.phi[0]) * rho * n**2 * d**2, pump.pressure_rise_pa[0], rtol=1e-9
        )
        np.testing.assert_allclose(pump.phi[0] * n * d**3, pump.flow_m3_s[0], rtol=1e-12)
        # Shaft power P = Q dp / eta(phi), with eta read from the model independently.
        np.testing.assert_allclose(
            pump.shaft_power_w[0],
            pump.flow_m3_s[0] * pump.pressure_rise_pa[0] / model.eta(pump.phi[0]),
            rtol=1e-12,
        )
    assert batch.fuel.speed_rpm[0, 0] == pytest.approx(45_000.0)
    assert batch.oxidiser.speed_rpm[0, 0] == pytest.approx(35_000.0)


def test_feed_pressures_and_npsh_available_by_hand() -> None:
    inputs, batch = _sample_batch()
    throttle = np.array([1.0, 1.0, 0.6, 0.35])
    pc = 2.5e6
    discharge = throttle * pc + (0.2 * pc + 3e5) * throttle**2
    inlet = 3.0e5 - 2e4 * throttle**2
    np.testing.assert_allclose(batch.fuel.pressure_rise_pa[0], discharge - inlet, rtol=1e-12)
    pv = inputs.propellants.fuel_vapour_pressure_pa
    np.testing.assert_allclose(batch.fuel.npsha_m[0], (inlet - pv) / (875.6 * G0), rtol=1e-12)
    # Flow follows the throttle; at full thrust mdot = F / (g0 Isp) split by the mixture ratio.
    mdot = 4000.0 / (G0 * (318.0 + 6.0))
    np.testing.assert_allclose(batch.fuel.mass_flow_kg_s[0], throttle * mdot / 2.65, rtol=1e-12)


def test_energy_and_battery_by_hand() -> None:
    _inputs, batch = _sample_batch()
    tau = np.array([0.60, 0.25, 0.15])
    throttle = np.array([1.0, 0.6, 0.35])
    usable = batch.masses.usable_propellant_kg[0]
    mdot = 4000.0 / (G0 * batch.isp_s[0])
    burn = usable / (mdot * np.sum(throttle * tau))
    assert batch.masses.burn_time_s[0] == pytest.approx(burn, rel=1e-12)
    power = batch.fuel.electrical_power_w[0, 1:] + batch.oxidiser.electrical_power_w[0, 1:]
    energy = float(np.sum(power * tau * burn))
    assert batch.electrical_energy_j[0] == pytest.approx(energy, rel=1e-9)
    peak = batch.peak_electrical_power_w[0]
    assert peak == pytest.approx(
        batch.fuel.electrical_power_w[0, 0] + batch.oxidiser.electrical_power_w[0, 0]
    )
    # No drive map: electrical = shaft / (0.90 * 0.95).
    np.testing.assert_allclose(batch.fuel.electrical_power_w[0], batch.fuel.shaft_power_w[0] / (0.90 * 0.95))
    assert batch.masses.battery_kg[0] == pytest.approx(
        1.2 * max(peak / 3000.0, energy / (150.0 * 3600.0)), rel=1e-9
    )
    shaft = batch.fuel.shaft_power_w[0, 0] + batch.oxidiser.shaft_power_w[0, 0]
    assert batch.masses.motors_kg[0] == pytest.approx(shaft / 2500.0)
    assert batch.masses.pumps_kg[0] == pytest.approx(shaft / 10_000.0)


def test_calibrated_drive_map_replaces_motor_and_inverter_efficiencies() -> None:
    drive = DriveEfficiencyMap(((0.7,),), 30_000.0, 5_000.0, (0.0, 2.0), (0.0, 2.0))
    model = dataclasses.replace(PumpModel.default(), drive=drive, calibrated=True)
    _, batch = _sample_batch(model=model)
    np.testing.assert_allclose(batch.fuel.electrical_power_w[0], batch.fuel.shaft_power_w[0] / 0.7)


def test_missing_npsh3_fit_falls_back_to_the_assumed_suction_specific_speed() -> None:
    model = dataclasses.replace(PumpModel.default(), sigma3_fit=None)
    inputs, batch = _sample_batch(model=model)
    assert batch.uses_assumed_npsh3
    pump = batch.fuel
    s = inputs.electric.assumed_suction_specific_speed
    n = pump.speed_rpm[0] / 60.0
    sigma = (2 * math.pi * np.sqrt(pump.phi[0]) / s) ** (4.0 / 3.0)
    np.testing.assert_allclose(pump.npsh3_m[0], sigma * (n * pump.diameter_m[0]) ** 2 / G0, rtol=1e-12)


def test_blowdown_tanks_start_high_and_fall_through_the_burn() -> None:
    base = linear_isp_sample()
    inputs = dataclasses.replace(
        base, pressurant=dataclasses.replace(base.pressurant, mode="blowdown", blowdown_ratio=3.0)
    )
    _, batch = _sample_batch(inputs=inputs)
    tank = batch.fuel.tank_pressure_pa[0]
    assert tank[0] == pytest.approx(3.0e5)  # design point at the final (lowest) pressure
    assert np.all(np.diff(tank[1:]) < 0) and tank[-1] == pytest.approx(3.0e5)
    assert batch.masses.fuel_tank_design_pressure_pa[0] > 3 * 3.0e5  # initial pressure plus head
    assert batch.masses.pressurant_tank_kg[0] == 0.0
    usable_f = batch.masses.usable_propellant_kg[0] / 2.65
    ullage = usable_f / 875.6 / (3.0 ** (1 / 1.3) - 1.0)
    fuel_gas = 9.0e5 * ullage / (R_HE * T_HE)
    usable_o = batch.masses.usable_propellant_kg[0] * 1.65 / 2.65
    ox_gas = 3 * 4.5e5 * usable_o / 1434.6 / (3.0 ** (1 / 1.3) - 1.0) / (R_HE * T_HE)
    assert batch.masses.pressurant_gas_kg[0] == pytest.approx(fuel_gas + ox_gas, rel=1e-9)


def test_a_pump_driven_beyond_its_tested_flow_range_violates_the_envelope() -> None:
    _inputs, batch = _sample_batch(DesignPoint(2.5e6, 3.0e5, 4.5e5, 89_000.0, 35_000.0))
    names = batch.constraint_names
    i = names.index("fuel flow coefficient <= 0.0225 at design point")
    assert batch.constraints[0, i] < 0
    assert not batch.feasible()[0]
    assert batch.fuel.phi[0, 0] > 0.0225


def test_vectorised_rows_equal_single_evaluations() -> None:
    inputs = load_mission(SAMPLE)
    designs = np.array([[2.0e6, 3e5, 4e5, 45e3, 35e3], [3.0e6, 2.5e5, 5e5, 55e3, 30e3]])
    batch = evaluate_electric(inputs, None, designs)
    for i, row in enumerate(designs):
        single = size_electric_pump_fed(inputs, DesignPoint.from_array(row))
        assert batch.total_mass_kg[i] == pytest.approx(single.total_mass_kg[0], rel=1e-12)


@pytest.mark.parametrize("relation", ["operating", "design"])
def test_the_flow_coefficient_beyond_the_curves_keeps_its_slope_at_the_edge(relation: str) -> None:
    # A duty the curves cannot meet gives a phi beyond the bracket (and a negative envelope
    # constraint). Its slope must match the curve's at the edge, or the constraint has a kink where
    # it crosses zero and SLSQP, differentiating across it, stalls on an optimum at the envelope's edge.
    model = PumpModel.default()
    curves = PumpCurves(model, CurveAdjustment(), 3.0, False)
    # The similarity relations solved for phi, from the head polynomial: Q/(D^2 sqrt(dp/rho)) at fixed
    # diameter is phi / psi^0.5; the squared specific speed is phi / psi^1.5.
    power, solve = (0.5, curves.operating_phi) if relation == "operating" else (1.5, curves.design_phi)

    def target(phi: float) -> float:
        return phi / float(np.asarray(model.psi(np.array([phi])))[0]) ** power

    for edge in (curves.phi_lo, curves.phi_hi):
        h = 1e-6
        expected = (np.log1p(h) - np.log1p(-h)) / (
            np.log(target(edge * (1 + h))) - np.log(target(edge * (1 - h)))
        )
        for side in (1 - 1e-4, 1 + 1e-4):  # just outside and just inside the bracket, either edge
            t = target(edge) * side
            slope = float(np.log(solve(np.array([t]))[0] / edge) / np.log(side))
            assert slope == pytest.approx(expected, rel=1e-3)
        assert abs(expected - 1.0) > 0.02  # a proportional extension (slope 1) would fail
