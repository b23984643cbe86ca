"""The flight boundary model and the water-for-propellant mapping, against hand calculations.

Every expected number below is worked by hand (or with a calculator) from the formula the module
docstrings state, not by calling the code under test.
"""

import math
import sys
from decimal import Decimal, localcontext

import pytest

from hil.analysis.feed_system import Burn, Engine, Tank, sphere_liquid_height_m
from hil.analysis.similarity import Similarity, pump_reynolds_number

G0 = 9.80665


def test_burn_acceleration_is_thrust_over_the_mass_left() -> None:
    # 4 kN, 1.25 kg/s at full thrust, 1000 kg at ignition; 100 s at full thrust then 100 s at 50 %.
    burn = Burn(4000.0, 1.25, 1000.0, ((100.0, 1.0), (100.0, 0.5)))
    assert burn.duration_s == 200.0
    assert burn.acceleration_m_s2(0.0) == pytest.approx(4.0)
    # After 60 s: 75 kg burned, 925 kg left, 4000 / 925 = 4.3243 m/s2.
    assert burn.acceleration_m_s2(60.0) == pytest.approx(4.324324, rel=1e-6)
    # After 150 s: 125 + 31.25 = 156.25 kg burned; 2000 N / 843.75 kg = 2.37037 m/s2.
    assert burn.expelled_mass_kg(150.0) == pytest.approx(156.25)
    assert burn.acceleration_m_s2(150.0) == pytest.approx(2.370370, rel=1e-6)
    assert burn.throttle_at(-1.0) == 0.0 and burn.throttle_at(99.9) == 1.0 and burn.throttle_at(100.0) == 0.5


def test_burn_refuses_more_propellant_than_mass() -> None:
    with pytest.raises(ValueError, match="more mass"):
        Burn(4000.0, 10.0, 100.0, ((20.0, 1.0),))


def test_engine_demand_matches_the_sizing_relation_at_nominal_flow() -> None:
    # p_c = 1 MPa at 1.5 kg/s, fuel share 1 / 2.65, injector 20 %, fuel lines 3 bar.
    engine = Engine(1.0e6, 1.5, 1.0 / 2.65, 0.20, 3.0e5, characteristic_velocity_m_s=1600.0)
    # Throat: 1.5 * 1600 / 1e6 = 2.4e-3 m2.
    assert engine.throat_area_m2 == pytest.approx(2.4e-3)
    fuel_full = 1.5 / 2.65
    # Full flow: 1.0 + 0.2 + 0.3 MPa.
    assert engine.required_discharge_pressure_pa(fuel_full, 1.0) == pytest.approx(1.5e6)
    # 60 % throttle, nominal flow: 0.6 * 1 MPa + (0.2 + 0.3) MPa * 0.36 = 0.78 MPa.
    assert engine.required_discharge_pressure_pa(0.6 * fuel_full, 0.6) == pytest.approx(0.78e6)
    # Fuel 10 % short at full throttle: total flow 1.5 - 0.1 * 0.566 = 1.4434 kg/s ->
    # p_c = 0.96226 MPa; losses 0.5 MPa * 0.81 = 0.405 MPa; 1.36726 MPa.
    assert engine.required_discharge_pressure_pa(0.9 * fuel_full, 1.0) == pytest.approx(1.367264e6, rel=1e-5)


def test_sphere_depth_solves_the_cap_volume() -> None:
    r = 0.5
    # Half full: depth R. Cap of depth 0.2 m: pi 0.04 (1.5 - 0.2) / 3 = 0.054454 m3.
    assert sphere_liquid_height_m(2.0 / 3.0 * math.pi * r**3, r) == pytest.approx(0.5, rel=1e-9)
    assert sphere_liquid_height_m(0.0544543, r) == pytest.approx(0.2, rel=1e-5)
    assert sphere_liquid_height_m(10.0, r) == pytest.approx(1.0)


def _cap_depth_50_digits(fraction: Decimal, radius: Decimal) -> Decimal:
    """The cap depth for a filled fraction, by 200 bisections in 50-digit decimal arithmetic:
    ``h^2 (3R - h) = 4 f R^3`` (the cap volume over the sphere's, pi / 3 cancelled)."""
    target, lo, hi = 4 * fraction * radius**3, Decimal(0), 2 * radius
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if mid * mid * (3 * radius - mid) < target else (lo, mid)
    return (lo + hi) / 2


@pytest.mark.parametrize(
    "fraction", ["1e-15", "1e-9", "0.001", "0.1", "0.25", "0.5", "0.8", "0.999", "0.999999999"]
)
@pytest.mark.parametrize("radius", ["0.05", "0.5", "1.7"])
def test_sphere_depth_agrees_with_the_cap_equation_solved_in_50_digits(fraction: str, radius: str) -> None:
    with localcontext() as context:
        context.prec = 50
        r, f = Decimal(radius), Decimal(fraction)
        volume = float(f * 4 / 3 * Decimal(math.pi) * r**3)
        # the volume as a float carries its own rounding: the reference is the depth of that volume
        f = Decimal(volume) / (4 / Decimal(3) * Decimal(math.pi) * r**3)
        expected = float(_cap_depth_50_digits(f, r))
    # No float method can do better than the rounding of the cap volume carried to the depth,
    # dh = dV / (surface area), the area pi h (2R - h) going to zero when empty or full. Below half
    # full the cap's volume is computed to a few ulps of itself; above, a volume near the sphere's is
    # compared with the sphere's, to a few ulps of the sphere's.
    eps, full = sys.float_info.epsilon, 4.0 / 3.0 * math.pi * float(r) ** 3
    area = math.pi * expected * (2.0 * float(r) - expected)
    rounding = 4 * eps * (volume if expected < float(r) else full) / area
    assert sphere_liquid_height_m(volume, float(r)) == pytest.approx(expected, rel=4 * eps, abs=rounding)


def test_regulated_tank_npsha_by_hand() -> None:
    # Sphere of 0.5236 m3 (R = 0.5 m), half full; MMH 875 kg/m3, p_v 4.8 kPa; ullage 1.5 bar;
    # suction loss 0.2 bar at 0.5 L/s; flowing 0.25 L/s under 4 m/s2.
    volume = 4.0 / 3.0 * math.pi * 0.125
    tank = Tank(volume, volume / 2.0, 875.0, 4800.0, 1.5e5, 2.0e4, 5.0e-4)
    # 150000 + 875 * 4 * 0.5 - 20000 * 0.25 = 146750 Pa.
    assert tank.inlet_pressure_pa(0.0, 4.0, 2.5e-4) == pytest.approx(146750.0, rel=1e-6)
    # (146750 - 4800) / (875 * 9.80665) = 16.5427 m.
    assert tank.npsha_m(0.0, 4.0, 2.5e-4) == pytest.approx(16.5427, rel=1e-5)
    assert tank.ullage_pressure_pa(0.1) == 1.5e5


def test_blowdown_tank_expands_its_ullage_polytropically() -> None:
    tank = Tank(
        1.0,
        0.8,
        1000.0,
        2000.0,
        3.0e5,
        0.0,
        1e-3,
        mode="blowdown",
        initial_ullage_m3=0.2,
        polytropic_exponent=1.3,
    )
    # 0.2 m3 of gas grows to 0.5 m3: 3 bar * (0.4)^1.3 = 0.91159 bar.
    assert tank.ullage_pressure_pa(0.3) == pytest.approx(3.0e5 * 0.4**1.3)
    assert tank.ullage_pressure_pa(0.3) == pytest.approx(91_159.0, rel=1e-4)


def test_similarity_carries_head_and_npsh_in_metres() -> None:
    # MMH 875 kg/m3, p_v 4.8 kPa; water 998.2 kg/m3, p_v 2339 Pa (20 degC).
    sim = Similarity(875.0, 4800.0, 998.2, 2339.0)
    # A 1.44 MPa flight rise is 167.82 m of MMH; the same head in water is 1.6427 MPa.
    assert sim.flight_head_m(1.44e6) == pytest.approx(167.82, rel=1e-4)
    assert sim.bench_pressure_rise_pa(1.44e6) == pytest.approx(1.44e6 * 998.2 / 875.0)
    assert sim.bench_head_m(sim.bench_pressure_rise_pa(1.44e6)) == pytest.approx(sim.flight_head_m(1.44e6))
    # 6 m of NPSH with 2.75 m/s at the bench inlet tap: 2339 + 998.2 * 9.80665 * 6 - 998.2 * 2.75^2 / 2
    # = 2339 + 58734.0 - 3774.5 = 57298.5 Pa.
    assert sim.bench_inlet_pressure_pa(6.0, 2.75) == pytest.approx(57298.5, rel=1e-5)
    assert sim.bench_npsha_m(57298.5, 2.75) == pytest.approx(6.0, rel=1e-5)
    # 2 kW of shaft power on water is 2000 * 875 / 998.2 = 1753.1 W in MMH at the same efficiency.
    assert sim.flight_power_w(2000.0) == pytest.approx(1753.1, rel=1e-4)


def test_pump_reynolds_number() -> None:
    # 30,000 rpm = 500 rev/s, D = 40 mm, water: 500 * 0.0016 / 1e-6 = 8e5.
    assert pump_reynolds_number(30000.0, 0.040, 1.0e-6) == pytest.approx(8.0e5)
