"""Pump curves: affinity laws, the NPSH3 definition and wear, against hand calculations."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hil.core.errors import ConfigError
from simulators import pump_curves as pc
from simulators.plant import PlantParameters

G = 9.80665  # standard gravity, m/s2
P = PlantParameters()
D = P.impeller_diameter_m
PHI_B = P.best_efficiency_flow_coefficient


def flow_at(phi: float, rpm: float) -> float:
    return phi * rpm / 60.0 * D**3


def test_head_at_best_point_from_the_head_coefficient_by_hand() -> None:
    # psi = psi0 + psi2 phi^2 = 5.8 - 4500 * 0.0141^2; H = psi (n D)^2 / g with n = 500 rev/s.
    psi = 5.8 - 4500.0 * 0.0141**2
    expected_m = psi * (500.0 * 0.040) ** 2 / G
    assert 150.0 < expected_m < 250.0  # the brief: 150-250 m
    assert pc.pump_head_m(flow_at(0.0141, 30000.0), 30000.0, P) == pytest.approx(expected_m, rel=1e-12)


def test_rated_point_of_the_defaults_is_a_lander_class_pump() -> None:
    q = flow_at(PHI_B, 30000.0)
    assert 0.40e-3 <= q <= 0.50e-3
    hydraulic_w = 998.2 * G * q * pc.pump_head_m(q, 30000.0, P)
    shaft_w = pc.pump_shaft_power_w(q, 30000.0, 998.2, P)
    assert hydraulic_w / shaft_w == pytest.approx(P.best_efficiency, rel=1e-12)
    assert 1000.0 < shaft_w < 3000.0  # "a few kW electrical" once motor losses are added


@settings(max_examples=600, deadline=None)
@given(phi_fraction=st.floats(0.0, 1.8), rpm_1=st.floats(3000.0, 36000.0), ratio=st.floats(0.3, 1.5))
def test_affinity_laws_at_equal_flow_coefficient(phi_fraction: float, rpm_1: float, ratio: float) -> None:
    rpm_2 = rpm_1 * ratio
    q_1 = flow_at(phi_fraction * PHI_B, rpm_1)
    q_2 = q_1 * ratio  # Q ~ n keeps phi
    assert pc.pump_head_m(q_2, rpm_2, P) == pytest.approx(pc.pump_head_m(q_1, rpm_1, P) * ratio**2, rel=1e-9)
    assert pc.pump_shaft_power_w(q_2, rpm_2, 998.2, P) == pytest.approx(
        pc.pump_shaft_power_w(q_1, rpm_1, 998.2, P) * ratio**3, rel=1e-9
    )
    assert pc.pump_efficiency(q_2, rpm_2, P) == pytest.approx(
        pc.pump_efficiency(q_1, rpm_1, P), rel=1e-9, abs=1e-12
    )
    assert pc.npsh3_m(q_2, rpm_2, P) == pytest.approx(pc.npsh3_m(q_1, rpm_1, P) * ratio**2, rel=1e-9)


def test_efficiency_peaks_at_the_best_point_and_never_exceeds_it() -> None:
    etas = [pc.pump_efficiency(flow_at(k / 1000 * 2.0 * PHI_B, 30000.0), 30000.0, P) for k in range(1001)]
    assert etas[0] == 0.0
    best = max(range(len(etas)), key=etas.__getitem__)
    assert best == 500  # phi = PHI_B
    assert etas[best] == pytest.approx(P.best_efficiency, rel=1e-12)
    assert all(0.0 <= eta <= P.best_efficiency * (1 + 1e-12) for eta in etas)


def test_shutoff_power_is_the_configured_fraction_of_best_point_power() -> None:
    at_best = pc.pump_shaft_power_w(flow_at(PHI_B, 30000.0), 30000.0, 998.2, P)
    assert pc.pump_shaft_power_w(0.0, 30000.0, 998.2, P) == pytest.approx(
        P.shutoff_power_fraction * at_best, rel=1e-12
    )


def test_head_falls_with_flow_and_is_a_resistance_at_standstill() -> None:
    heads = [pc.pump_head_m(flow_at(k / 100 * 2.0 * PHI_B, 30000.0), 30000.0, P) for k in range(101)]
    assert all(a > b for a, b in zip(heads, heads[1:]))
    assert pc.pump_head_m(0.0, 0.0, P) == 0.0
    assert pc.pump_head_m(1e-4, 0.0, P) < 0.0  # a stopped impeller only resists flow
    assert pc.pump_efficiency(1e-4, 0.0, P) == 0.0


def test_npsh3_by_hand() -> None:
    q = 0.45e-3
    expected = (0.04 * (500.0 * 0.04) ** 2 + 170.0 * (q / 0.04**2) ** 2) / G
    assert pc.npsh3_m(q, 30000.0, P) == pytest.approx(expected, rel=1e-12)
    assert 2.0 < expected < 4.5  # suction specific speed ~280 (metric): an inducer-less small pump
    assert pc.npsh3_m(0.5e-3, 30000.0, P) > pc.npsh3_m(0.3e-3, 30000.0, P)  # rises with flow


def test_head_drop_is_exactly_three_percent_at_npsha_equal_npsh3() -> None:
    assert pc.cavitation_head_factor(2.7, 2.7, 10.0) == pytest.approx(0.97, abs=1e-15)
    for q, rpm in ((0.2e-3, 20000.0), (0.45e-3, 30000.0), (0.6e-3, 33000.0)):
        npsh3 = pc.npsh3_m(q, rpm, P)
        clean = pc.pump_head_m(q, rpm, P)
        assert pc.pump_head_m(q, rpm, P, npsha_m=npsh3) == pytest.approx(0.97 * clean, rel=1e-14)


def test_breakdown_is_negligible_well_above_gradual_then_steep_below() -> None:
    steepness = P.cavitation_breakdown_steepness
    factor = [pc.cavitation_head_factor(k / 1000, 1.0, steepness) for k in range(-500, 3001)]
    assert all(b >= a for a, b in zip(factor, factor[1:]))  # monotonic in NPSHA
    assert all(0.0 <= f <= 1.0 for f in factor)
    # Smooth: no jumps between neighbouring ratios 0.001 apart.
    assert max(b - a for a, b in zip(factor, factor[1:])) < 0.01
    f = {r: pc.cavitation_head_factor(r, 1.0, P.cavitation_breakdown_steepness) for r in (0.7, 0.9, 1.2, 2.0)}
    assert f[2.0] > 1.0 - 1e-5
    assert 0.99 < f[1.2] < 1.0
    assert f[0.9] < 0.95
    assert f[0.7] < 0.6
    assert pc.cavitation_head_factor(-5.0, 1.0, 10.0) == 0.0  # pressure below vapour: head gone
    assert pc.cavitation_head_factor(1.0, 0.0, 10.0) == 1.0  # stopped pump does not cavitate


def test_worn_impeller_scales_head_efficiency_power_and_npsh3() -> None:
    worn = dataclasses.replace(
        P, head_degradation_fraction=0.1, efficiency_degradation_fraction=0.2, npsh3_multiplier=1.5
    )
    q, rpm = 0.4e-3, 28000.0
    assert pc.pump_head_m(q, rpm, worn) == pytest.approx(0.9 * pc.pump_head_m(q, rpm, P), rel=1e-12)
    assert pc.pump_efficiency(q, rpm, worn) == pytest.approx(0.8 * pc.pump_efficiency(q, rpm, P), rel=1e-12)
    assert pc.npsh3_m(q, rpm, worn) == pytest.approx(1.5 * pc.npsh3_m(q, rpm, P), rel=1e-12)
    # rho g Q H / eta: 0.9 / 0.8 of the new impeller's shaft power.
    assert pc.pump_shaft_power_w(q, rpm, 998.2, worn) == pytest.approx(
        0.9 / 0.8 * pc.pump_shaft_power_w(q, rpm, 998.2, P), rel=1e-12
    )


def test_inconsistent_power_curve_is_refused() -> None:
    with pytest.raises(ConfigError, match="shutoff_power_fraction"):
        PlantParameters(shutoff_power_fraction=0.05)


def test_hydraulic_power_never_exceeds_shaft_power() -> None:
    for k in range(0, 201):
        q = flow_at(k / 100 * PHI_B, 30000.0)
        hydraulic = 998.2 * G * q * pc.pump_head_m(q, 30000.0, P)
        assert hydraulic < pc.pump_shaft_power_w(q, 30000.0, 998.2, P)
    assert math.isclose(pc.flow_at_best_efficiency_m3_s(30000.0, P), flow_at(PHI_B, 30000.0))
