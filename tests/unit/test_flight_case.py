"""The flight case: the sample lander's fuel side sized around a 40 mm prototype."""

from pathlib import Path

import pytest

from hil.core.errors import ConfigError
from hil.model.flight_case import flight_case
from hil.model.sizing.mission import load_mission

MISSION = Path(__file__).resolve().parents[2] / "hil" / "data" / "lander_mission.toml"


def test_the_sized_fuel_pump_is_the_prototype() -> None:
    inputs = load_mission(MISSION)
    case = flight_case(
        inputs, "fuel", impeller_diameter_m=0.040, chamber_pressure_pa=1.0e6, tank_pressure_pa=2.0e5
    )
    assert case.impeller_diameter_m == pytest.approx(0.040, rel=1e-3)
    # 4 kN at the mission's Isp at 1 MPa: 4000 / (Isp * 9.80665), fuel 1 / 2.65 of it.
    isp = float(inputs.engine.isp_at(1.0e6))
    assert case.engine.side_full_mass_flow_kg_s == pytest.approx(4000.0 / (isp * 9.80665) / 2.65, rel=1e-4)
    full = case.segments[0]
    assert [s.throttle for s in case.segments] == [1.0, 0.6, 0.35]
    assert case.segments[1].flow_m3_s == pytest.approx(0.6 * full.flow_m3_s)
    # Discharge 1.0 + 0.2 + 0.3 MPa; the sizing's inlet is the tank less the 0.2 bar suction loss.
    assert full.pressure_rise_pa == pytest.approx(1.5e6 - 2.0e5 + 2.0e4)
    assert case.engine.required_discharge_pressure_pa(
        case.engine.side_full_mass_flow_kg_s, 1.0
    ) == pytest.approx(1.5e6, rel=1e-4)
    # Burn time: the profile's mean throttle is 0.6 + 0.15 + 0.0525 = 0.8025.
    mean_power = 0.6 * full.electrical_power_w + 0.25 * case.segments[1].electrical_power_w
    mean_power += 0.15 * case.segments[2].electrical_power_w
    assert case.electrical_energy_j == pytest.approx(mean_power * case.burn.duration_s)
    assert case.peak_electrical_power_w == pytest.approx(full.electrical_power_w)
    assert case.burn.throttle_at(0.61 * case.burn.duration_s) == 0.6


def test_a_prototype_no_speed_can_make_the_flight_pump_is_refused() -> None:
    inputs = load_mission(MISSION)
    with pytest.raises(ConfigError, match="bench's impeller diameter"):
        flight_case(
            inputs, "fuel", impeller_diameter_m=0.5, chamber_pressure_pa=1.0e6, tank_pressure_pa=2.0e5
        )
