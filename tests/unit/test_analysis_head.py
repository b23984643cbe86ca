"""Head, power, NPSHA and dimensionless numbers against hand calculations and published values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hil.analysis.head import (
    efficiency,
    flow_coefficient,
    head_coefficient,
    hydraulic_power_w,
    mean_velocity_m_s,
    npsha_m,
    shaft_power_w,
    specific_speed_nq,
    suction_specific_speed,
    total_head_m,
)
from hil.core.errors import ConfigError
from hil.core.fluids import water_density_kg_m3, water_vapour_pressure_pa


def test_total_head_by_hand() -> None:
    # Q = 10 L/s, taps DN100 / DN80, outlet tap 0.5 m higher, 3 bar rise, rho = 1000.
    # v1 = 0.01/(pi/4*0.1^2) = 1.27324 m/s, v2 = 0.01/(pi/4*0.08^2) = 1.98944 m/s
    # H = 300000/(1000*9.80665) + (1.98944^2 - 1.27324^2)/(2*9.80665) + 0.5
    #   = 30.59149 + 0.11914 + 0.5 = 31.21063 m
    head = total_head_m(1.0e5, 4.0e5, 0.01, 1000.0, 0.1, 0.08, z_inlet_m=0.0, z_outlet_m=0.5)
    assert isinstance(head, float)
    assert head == pytest.approx(31.21063, abs=2e-5)
    assert mean_velocity_m_s(0.01, 0.1) == pytest.approx(1.27324, abs=1e-5)


def test_one_bar_of_water_is_about_ten_metres() -> None:
    # 1 bar over water at 20 degC (998.2 kg/m3): 100000/(998.2*9.80665) = 10.2156 m, equal taps.
    head = total_head_m(0.0, 1.0e5, 0.005, water_density_kg_m3(20.0), 0.05, 0.05)
    assert head == pytest.approx(10.2156, abs=2e-3)


def test_total_head_is_array_friendly() -> None:
    p_out = np.array([2.0e5, 3.0e5, 4.0e5])
    heads = total_head_m(1.0e5, p_out, np.zeros(3), 1000.0, 0.1, 0.1)
    assert isinstance(heads, np.ndarray)
    np.testing.assert_allclose(heads, np.array([1e5, 2e5, 3e5]) / (1000.0 * 9.80665))


def test_powers_and_efficiency_by_hand() -> None:
    # rho g Q H = 1000 * 9.80665 * 0.01 * 30 = 2941.995 W
    assert hydraulic_power_w(0.01, 30.0, 1000.0) == pytest.approx(2941.995)
    # 10 N m at 3000 rpm: 10 * 3000 * 2 pi / 60 = 3141.593 W
    assert shaft_power_w(10.0, 3000.0) == pytest.approx(3141.5927, abs=1e-3)
    assert efficiency(2941.995, 3141.5927) == pytest.approx(0.93647, abs=1e-5)
    etas = efficiency(np.array([100.0, 100.0]), np.array([200.0, 0.0]))
    assert etas[0] == 0.5 and math.isnan(etas[1])


def test_npsha_by_hand_at_20_degc() -> None:
    # Atmospheric inlet, water at 20 degC (998.2 kg/m3, p_v 2339 Pa), 10 L/s in DN100:
    # (101325 - 2339)/(998.2 * 9.80665) + 1.27324^2/(2 * 9.80665) = 10.11196 + 0.08266 = 10.1946 m
    rho = water_density_kg_m3(20.0)
    pv = water_vapour_pressure_pa(20.0)
    assert npsha_m(101325.0, pv, rho, 0.01, 0.1) == pytest.approx(10.1946, abs=2e-3)
    # Inlet tap 0.3 m above the reference plane adds 0.3 m.
    assert npsha_m(101325.0, 2339.0, 998.2, 0.01, 0.1, z_inlet_m=0.3) == pytest.approx(10.49462, abs=1e-4)


def test_dimensionless_coefficients_by_hand() -> None:
    # n = 3000 rpm = 50 rev/s, D = 0.2 m: phi = 0.01/(50*0.008) = 0.025; psi = 9.80665*30/(2500*0.04)
    assert flow_coefficient(0.01, 3000.0, 0.2) == pytest.approx(0.025)
    assert head_coefficient(30.0, 3000.0, 0.2) == pytest.approx(2.941995)


def test_head_coefficient_is_speed_independent_under_affinity_laws() -> None:
    # H scales with n^2, Q with n: psi and phi stay put (independent fact: similarity).
    assert head_coefficient(30.0 * 4.0, 6000.0, 0.2) == pytest.approx(head_coefficient(30.0, 3000.0, 0.2))
    assert flow_coefficient(0.02, 6000.0, 0.2) == pytest.approx(flow_coefficient(0.01, 3000.0, 0.2))


def test_specific_speeds_by_hand() -> None:
    # 100 m3/h, 50 m, 2900 rpm: 2900 * sqrt(0.027778) / 50^0.75 = 483.33 / 18.803 = 25.71
    assert specific_speed_nq(100.0 / 3600.0, 50.0, 2900.0) == pytest.approx(25.705, abs=1e-2)
    # Two stages share the head: each has 25 m, n_q rises by 2^0.75.
    assert specific_speed_nq(100.0 / 3600.0, 50.0, 2900.0, stages=2) == pytest.approx(
        25.705 * 2**0.75, abs=2e-2
    )
    # NPSH3 3 m: 483.33 / 3^0.75 = 212.03
    assert suction_specific_speed(100.0 / 3600.0, 3.0, 2900.0) == pytest.approx(212.03, abs=1e-2)
    # Double suction: flow per eye halves, S falls by sqrt(2).
    assert suction_specific_speed(100.0 / 3600.0, 3.0, 2900.0, impeller_eyes=2) == pytest.approx(
        212.03 / math.sqrt(2.0), abs=1e-2
    )


@pytest.mark.parametrize("bad", [0.0, -1.0, math.nan])
def test_nonpositive_geometry_or_density_is_config_error(bad: float) -> None:
    with pytest.raises(ConfigError, match="inlet_diameter_m"):
        total_head_m(1e5, 2e5, 0.01, 1000.0, bad, 0.1)
    with pytest.raises(ConfigError, match="density_kg_m3"):
        npsha_m(1e5, 2339.0, bad, 0.01, 0.1)
    with pytest.raises(ConfigError, match="impeller_diameter_m"):
        flow_coefficient(0.01, 3000.0, bad)
