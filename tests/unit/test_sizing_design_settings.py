"""Expressing a published design: per-propellant settings, fixed variables, conventions, the battery's
rated discharge rate, the labels of pump power, and the bounds and constraints that drive the answer.
Each checked by hand or against the model's own definitions of the quantity."""

from __future__ import annotations

import copy
import dataclasses
import tomllib

import numpy as np
import pytest

from hil.model.pump_model import PumpModel
from hil.model.sizing.command import pump_requirements
from hil.model.sizing.mission import parse_mission
from hil.model.sizing.model import DesignPoint, evaluate_pressure_fed, size_electric_pump_fed
from hil.model.sizing.optimise import optimise_electric, optimise_pressure_fed
from tests.sizing_samples import SAMPLE, linear_isp_sample

G0 = 9.80665
DESIGN = DesignPoint(2.0e6, 3.0e5, 4.0e5, 45_000.0, 35_000.0)


def _data() -> dict:
    data = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    del data["engine"]["cea"]
    data["engine"]["isp_s"] = 320.0
    return data


def _inputs(edit=None):
    data = copy.deepcopy(_data())
    if edit is not None:
        edit(data)
    return parse_mission(data, "settings.toml")


def test_min_equal_max_fixes_a_variable_and_the_output_says_so() -> None:
    inputs = _inputs(lambda d: d["bounds"].update(chamber_pressure_pa=[2.0e6, 2.0e6]))
    result = optimise_electric(inputs)
    assert result.design.chamber_pressure_pa == pytest.approx(2.0e6)
    assert any(b.kind == "fixed" and b.name == "chamber_pressure_pa" for b in result.binding)


def test_the_active_chamber_pressure_bound_is_named_and_its_multiplier_predicts_moving_it() -> None:
    inputs = linear_isp_sample()  # Isp rising 4 s/MPa pushes chamber pressure to its 4 MPa bound
    base = optimise_electric(inputs)
    bound = [b for b in base.binding if b.name == "chamber_pressure_pa"]
    assert bound and "upper bound 4 MPa" in bound[0].text
    assert bound[0].mass_change_kg is not None and bound[0].mass_change_kg < 0
    raised = dataclasses.replace(
        inputs, bounds=dataclasses.replace(inputs.bounds, chamber_pressure_pa=(0.5e6, 4.4e6))
    )
    moved = optimise_electric(raised, start=base.design)
    # The optimum follows the bound, and the first-order prediction has the right size.
    assert moved.design.chamber_pressure_pa == pytest.approx(4.4e6, rel=1e-3)
    predicted = bound[0].mass_change_kg * np.log(1.1) / np.log(1.01)
    actual = moved.total_mass_kg - base.total_mass_kg
    assert actual < 0 and 0.3 < actual / predicted < 3.0


def test_a_temperature_per_propellant() -> None:
    def edit(d: dict) -> None:
        d["propellants"].update(
            fuel="RP-1", oxidiser="LOX", fuel_temperature_c=20.0, oxidiser_temperature_c=-183.0
        )
        del d["propellants"]["temperature_c"]

    props = _inputs(edit).propellants
    assert 1130.0 < props.oxidiser_density_kg_m3 < 1150.0  # LOX near its boiling point
    assert 790.0 < props.fuel_density_kg_m3 < 830.0  # RP-1 at room temperature
    assert props.oxidiser_vapour_pressure_pa < 1.5e5 and props.fuel_vapour_pressure_pa < 2.0e3


def test_stated_pump_efficiency_and_specific_power_per_pump_by_hand() -> None:
    inputs = _inputs(
        lambda d: d["electric"].update(
            fuel_pump_efficiency=0.5,
            oxidiser_pump_efficiency=0.6,
            fuel_pump_specific_power_w_kg=5.0e3,
            oxidiser_pump_specific_power_w_kg=20.0e3,
        )
    )
    batch = size_electric_pump_fed(inputs, DESIGN)
    for pump, eta in ((batch.fuel, 0.5), (batch.oxidiser, 0.6)):
        np.testing.assert_allclose(pump.shaft_power_w[0], pump.flow_m3_s[0] * pump.pressure_rise_pa[0] / eta)
    pumps = np.max(batch.fuel.shaft_power_w[0]) / 5.0e3 + np.max(batch.oxidiser.shaft_power_w[0]) / 20.0e3
    assert batch.masses.pumps_kg[0] == pytest.approx(pumps, rel=1e-12)
    assert batch.power_basis == {"fuel": "shaft", "oxidiser": "shaft"}


def test_motor_sizing_and_battery_sizing_conventions_by_hand() -> None:
    out = size_electric_pump_fed(_inputs(), DESIGN)
    on_input = size_electric_pump_fed(_inputs(lambda d: d["electric"].update(motor_sizing="input")), DESIGN)
    shaft = np.max(out.fuel.shaft_power_w[0]) + np.max(out.oxidiser.shaft_power_w[0])
    assert out.masses.motors_kg[0] == pytest.approx(shaft / 2.5e3, rel=1e-9)
    assert on_input.masses.motors_kg[0] == pytest.approx(shaft / 0.90 / 2.5e3, rel=1e-6)
    assert on_input.masses.inverters_kg[0] == pytest.approx(shaft / 0.90 / 0.95 / 20.0e3, rel=1e-6)
    summed = size_electric_pump_fed(
        _inputs(lambda d: d["electric"].update(battery_sizing="sum", battery_max_c_rate=1e9)), DESIGN
    )
    peak, energy = summed.peak_electrical_power_w[0], summed.electrical_energy_j[0]
    assert summed.masses.battery_kg[0] == pytest.approx(
        1.2 * (peak / 3.0e3 + energy / (150.0 * 3600.0)), rel=1e-6
    )


def test_the_rated_discharge_rate_sizes_the_battery_when_it_is_the_largest_need() -> None:
    rated = size_electric_pump_fed(_inputs(lambda d: d["electric"].update(battery_max_c_rate=2.0)), DESIGN)
    peak = rated.peak_electrical_power_w[0]
    assert rated.masses.battery_kg[0] == pytest.approx(1.2 * peak / (2.0 * 150.0), rel=1e-9)
    assert bool(rated.masses.battery_rate_limited[0])
    capacity = float(rated.masses.battery_capacity_wh[0])
    assert peak / capacity == pytest.approx(2.0, rel=1e-9)


def test_pressurant_margin_end_pressure_and_head_convention_by_hand() -> None:
    base = size_electric_pump_fed(_inputs(), DESIGN)
    more = size_electric_pump_fed(
        _inputs(lambda d: d["pressurant"].update(margin_factor=1.1, end_pressure_pa=5.0e6)), DESIGN
    )

    # Regulated helium: m = p V / (R T) * n / (1 - p_end / p_storage), times the margin. The end
    # pressure 5 MPa replaces the regulator's need (0.4 MPa + 1 MPa); volumes shift a little with the
    # heavier gas, so compare the mass per tank pV.
    def per_pv(batch, end):
        pv = 3.0e5 * batch.masses.fuel_tank_volume_m3[0] + 4.0e5 * batch.masses.oxidiser_tank_volume_m3[0]
        return batch.masses.pressurant_gas_kg[0] / pv * (1.0 - end / 28.0e6)

    assert per_pv(more, 5.0e6) / per_pv(base, 1.4e6) == pytest.approx(1.1, rel=1e-9)
    flat = size_electric_pump_fed(_inputs(lambda d: d["tanks"].update(head_convention="none")), DESIGN)
    assert flat.masses.fuel_tank_design_pressure_pa[0] == pytest.approx(3.0e5)
    assert base.masses.fuel_tank_design_pressure_pa[0] > 3.0e5


def test_a_calibrated_wire_to_water_model_reports_electrical_power_not_shaft_power() -> None:
    inputs = _inputs()
    calibrated = dataclasses.replace(PumpModel.default(), calibrated=True, power_basis="wire_to_water")
    batch = size_electric_pump_fed(inputs, DESIGN, calibrated)
    assert batch.power_basis == {"fuel": "electrical", "oxidiser": "electrical"}
    req = pump_requirements(batch, batch.fuel, inputs.margins.npsh_margin, "MMH")
    assert req["shaft_power_w"] is None and req["pump_power_basis"] == "electrical"
    assert req["pump_power_w"] > 0


def test_a_model_calibrated_with_torque_reports_shaft_power_behind_the_missions_motor() -> None:
    inputs = _inputs()
    calibrated = dataclasses.replace(PumpModel.default(), calibrated=True, power_basis="shaft")
    batch = size_electric_pump_fed(inputs, DESIGN, calibrated)
    assert batch.power_basis == {"fuel": "shaft", "oxidiser": "shaft"}
    req = pump_requirements(batch, batch.fuel, inputs.margins.npsh_margin, "MMH")
    assert req["pump_power_basis"] == "shaft" and req["shaft_power_w"] > 0
    electric = inputs.electric
    assert req["electrical_power_w"] == pytest.approx(
        req["shaft_power_w"] / (electric.motor_efficiency * electric.inverter_efficiency), rel=1e-9
    )


def test_the_mixture_ratio_becomes_a_design_variable_with_cea() -> None:
    data = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    data["bounds"]["mixture_ratio"] = [1.4, 2.1]
    inputs = parse_mission(data, "mr.toml")
    result = optimise_electric(inputs)
    mr = result.design.mixture_ratio
    assert 1.4 <= mr <= 2.1
    assert float(result.evaluation.isp_s[0]) == pytest.approx(
        float(inputs.engine.isp_at(result.design.chamber_pressure_pa, mr))
    )
    assert not any(b.name == "mixture_ratio" and b.kind == "fixed" for b in result.binding)


def test_the_pressure_fed_baseline_optimises_the_mixture_ratio_where_the_electric_option_does() -> None:
    """Like for like: the same ``bounds.mixture_ratio`` frees the ratio of both options."""
    data = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    nominal_inputs = parse_mission(copy.deepcopy(data), "nominal.toml")
    data["bounds"]["mixture_ratio"] = [1.4, 2.1]
    inputs = parse_mission(data, "mr.toml")
    nominal = optimise_pressure_fed(nominal_inputs)
    free = optimise_pressure_fed(inputs)
    assert nominal.mixture_ratio == inputs.engine.mixture_ratio  # no range: the engine's own
    assert 1.4 <= free.mixture_ratio <= 2.1 and free.mixture_ratio != pytest.approx(1.65, abs=0.01)
    assert free.feasible and free.total_mass_kg < nominal.total_mass_kg
    # Its Isp is CEA's at its own ratio, and no point of a dense scan of the same box is lighter.
    assert float(free.evaluation.isp_s[0]) == pytest.approx(
        float(inputs.engine.isp_at(free.chamber_pressure_pa, free.mixture_ratio))
    )
    pc = np.geomspace(*inputs.bounds.chamber_pressure_pa, 300)
    grid_pc, grid_r = (a.reshape(-1) for a in np.meshgrid(pc, np.linspace(1.4, 2.1, 141)))
    scan = evaluate_pressure_fed(inputs, grid_pc, grid_r)
    assert free.total_mass_kg <= float(np.min(scan.total_mass_kg[scan.feasible()])) + 1e-6
    # The electric option's ratio is searched in the same range.
    electric = optimise_electric(inputs)
    assert 1.4 <= electric.design.mixture_ratio <= 2.1


def test_on_the_cea_sample_a_raised_chamber_pressure_floor_binds_and_costs_mass() -> None:
    data = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    inputs = parse_mission(data, "sample.toml")
    free = optimise_electric(inputs)
    assert 0.5e6 < free.design.chamber_pressure_pa < 4.0e6 * 0.99  # interior: Isp hardly grows with pc
    data["bounds"]["chamber_pressure_pa"] = [1.5e6, 4.0e6]
    floored = optimise_electric(parse_mission(data, "floored.toml"), start=free.design)
    assert floored.design.chamber_pressure_pa == pytest.approx(1.5e6, rel=1e-6)
    bound = [b for b in floored.binding if b.name == "chamber_pressure_pa"]
    assert bound and "lower bound 1.5 MPa" in bound[0].text
    assert bound[0].mass_change_kg is not None and bound[0].mass_change_kg < 0  # lowering it would save
    assert floored.total_mass_kg > free.total_mass_kg
