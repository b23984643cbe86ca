"""Affinity-law conversion by hand, and speed-range violations reported, never silent."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hil.analysis.grades import load_grade_table
from hil.analysis.speed_conversion import convert_to_speed
from hil.core.errors import ConfigError


def test_affinity_laws_by_hand() -> None:
    # k = 3000/2900 = 1.0344828; k^2 = 1.0701546; k^3 = 1.1070565; k^1.5 = 1.0521675
    converted = convert_to_speed(
        2900.0,
        3000.0,
        flow_m3_s=0.01,
        head_m=30.0,
        torque_n_m=10.0,
        power_w=3000.0,
        efficiency=0.8,
        npsh_m=3.0,
        npsh_exponent=1.5,
    )
    assert converted.speed_ratio == pytest.approx(1.0344828, abs=1e-7)
    assert converted.flow_m3_s == pytest.approx(0.010344828, abs=1e-9)
    assert converted.head_m == pytest.approx(32.104638, abs=1e-5)
    assert converted.torque_n_m == pytest.approx(10.701546, abs=1e-6)
    assert converted.power_w == pytest.approx(3321.1694, abs=2e-4)
    assert converted.efficiency == 0.8
    assert converted.npsh_m == pytest.approx(3.1565025, abs=1e-6)
    assert converted.violations == ()


def test_converted_power_stays_consistent_with_converted_head_and_flow() -> None:
    # Energy balance: P_h = rho g Q H scales with k * k^2 = k^3, the same as the power law.
    rho_g = 1000.0 * 9.80665
    c = convert_to_speed(2400.0, 3000.0, flow_m3_s=0.008, head_m=20.0, power_w=rho_g * 0.008 * 20.0)
    assert c.power_w == pytest.approx(rho_g * c.flow_m3_s * c.head_m)


def test_quantities_not_given_stay_none() -> None:
    c = convert_to_speed(3000.0, 3000.0, head_m=10.0)
    assert c.flow_m3_s is None and c.power_w is None and c.npsh_m is None
    assert c.head_m == 10.0


def test_speed_out_of_range_is_reported_with_its_limits() -> None:
    c = convert_to_speed(1400.0, 3000.0, flow_m3_s=0.005, head_m=7.0)
    assert c.head_m == pytest.approx(7.0 * (3000.0 / 1400.0) ** 2)  # still converted, for the report
    (violation,) = c.violations
    assert violation.kind == "performance"
    assert violation.ratio == pytest.approx(1400.0 / 3000.0)
    assert (violation.min_ratio, violation.max_ratio) == (0.5, 1.2)
    assert not violation.verified
    assert "46.7%" in violation.message and "unverified" in violation.message


def test_npsh_has_its_own_narrower_range() -> None:
    # 2300/3000 = 76.7 %: fine for performance (>= 50 %), outside 80 % for NPSH.
    c = convert_to_speed(2300.0, 3000.0, flow_m3_s=0.01, npsh_m=2.0)
    assert [v.kind for v in c.violations] == ["npsh"]
    assert convert_to_speed(2300.0, 3000.0, flow_m3_s=0.01).violations == ()


def test_array_of_points_reports_each_offending_index() -> None:
    speeds = np.array([3000.0, 1400.0, 3700.0, 3600.0])
    c = convert_to_speed(speeds, 3000.0, head_m=np.array([30.0, 6.5, 45.0, 43.2]))
    assert [v.point_index for v in c.violations] == [1, 2]
    np.testing.assert_allclose(c.head_m, [30.0, 6.5 * (3000 / 1400) ** 2, 45.0 * (3000 / 3700) ** 2, 30.0])


def test_limits_come_from_an_override_table(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text("[speed_range]\nperformance_min_ratio = { value = 0.4, verified = true }\n")
    limits = load_grade_table(path).speed_range
    assert convert_to_speed(1400.0, 3000.0, head_m=7.0, limits=limits).violations == ()


@pytest.mark.parametrize("exponent", [1.2, 2.1])
def test_npsh_exponent_outside_agreed_band_is_refused(exponent: float) -> None:
    with pytest.raises(ConfigError, match="npsh_exponent"):
        convert_to_speed(2900.0, 3000.0, npsh_m=3.0, npsh_exponent=exponent)


def test_zero_test_speed_is_refused() -> None:
    with pytest.raises(ConfigError, match="test_speed_rpm"):
        convert_to_speed(np.array([3000.0, 0.0]), 3000.0, head_m=np.array([1.0, 1.0]))
