"""Tolerance cross, efficiency line, power and test conditions on hand-built pump curves.

Grade 1B throughout unless stated, in a hand-calculation table that gives it the 1999 edition's
class-1 factors (t_Q +-4.5 %, t_H +-3 %, t_eta -3 %, marked verified; the shipped 2012 grades are
checked at the end of this file), guarantee at Q_G = 0.01 m3/s, H_G = 30 m. Every curve is an
exact parabola H = H0 - a Q^2 sampled at nine flows 0.008..0.012 m3/s, so the degree-2 fit
reproduces it and the numbers below follow by hand.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from hil.analysis import AnalysisError
from hil.analysis.acceptance import GuaranteePoint, judge_acceptance
from hil.analysis.grades import load_grade_table
from hil.analysis.speed_conversion import convert_to_speed
from hil.core.errors import ConfigError

Q_G = 0.01
H_G = 30.0
FLOWS = np.linspace(0.008, 0.012, 9)


HAND_TABLE = """
[small_pump]
grades = ["1B", "2B", "3B"]

[grades.1B]
flow_minus = { value = 0.045, verified = true, note = "1999 class 1, for hand calculations" }
flow_plus = { value = 0.045, verified = true, note = "1999 class 1, for hand calculations" }
head_minus = { value = 0.03, verified = true, note = "1999 class 1, for hand calculations" }
head_plus = { value = 0.03, verified = true, note = "1999 class 1, for hand calculations" }
efficiency = { value = -0.03, verified = true, note = "1999 class 1, for hand calculations" }

[grades.X1]
class = "1"
flow_minus = { value = 0.045, verified = false }
flow_plus = { value = 0.045, verified = false }
head_minus = { value = 0.03, verified = false }
head_plus = { value = 0.03, verified = false }
"""


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory):
    path = tmp_path_factory.mktemp("grades") / "hand_table.toml"
    path.write_text(HAND_TABLE)
    return load_grade_table(path)


def _parabola(h0: float, a: float, flows: np.ndarray = FLOWS) -> np.ndarray:
    return h0 - a * flows**2


@pytest.mark.parametrize("method", ["fit", "linear"])
def test_passes_only_through_the_vertical_bar(table, method: str) -> None:
    # H = 32.4 - 3e4 Q^2: H(Q_G) = 29.4 (-2 %, inside +-3 %); over 0.955..1.045 Q_G the head stays
    # below 29.664 < 30, and H = 30 only at Q = sqrt(2.4/3e4) = 0.0089443 (-10.56 %).
    result = judge_acceptance(
        GuaranteePoint(Q_G, H_G), table.grade("1B"), FLOWS, _parabola(32.4, 3.0e4), curve_method=method
    )
    head, flow = result.verdict("head"), result.verdict("flow")
    assert head.passed and not flow.passed
    assert result.flow_head_met and result.guarantees_met
    assert head.measured == pytest.approx(29.4, abs=1e-9)
    assert head.deviation_fraction == pytest.approx(-0.02, abs=1e-10)
    assert (head.tolerance_minus_fraction, head.tolerance_plus_fraction) == (0.03, 0.03)
    assert head.tolerance_verified
    if method == "fit":
        assert flow.measured == pytest.approx(0.0089443, abs=1e-7)
        assert flow.deviation_fraction == pytest.approx(-0.10557, abs=1e-5)


@pytest.mark.parametrize("method", ["fit", "linear"])
def test_passes_only_through_the_horizontal_bar(table, method: str) -> None:
    # H = 58.8 - 3e5 Q^2: H(Q_G) = 28.8 (-4 %, outside +-3 %); H = 30 at Q = sqrt(28.8/3e5) = 0.0097980
    # (-2.02 %, inside +-4.5 %). Straight segments cross H = 30 between 0.0095 (31.725 m) and
    # 0.01 (28.8 m): 0.0095 + 1.725/2.925 * 0.0005 = 0.0097949.
    result = judge_acceptance(
        GuaranteePoint(Q_G, H_G), table.grade("1B"), FLOWS, _parabola(58.8, 3.0e5), curve_method=method
    )
    head, flow = result.verdict("head"), result.verdict("flow")
    assert flow.passed and not head.passed
    assert result.flow_head_met
    assert head.measured == pytest.approx(28.8, abs=1e-9)
    expected = 0.0097980 if method == "fit" else 0.0097949
    assert flow.measured == pytest.approx(expected, abs=1e-7)
    assert (flow.tolerance_minus_fraction, flow.tolerance_plus_fraction) == (0.045, 0.045)


def test_fails_by_a_hair_below_the_vertical_bar(table) -> None:
    # Flat curve with H(Q_G) = 29.1 (1 - 1e-4): 0.01 % of the bar's length below its lower end.
    h_at_qg = 29.1 * (1 - 1e-4)
    result = judge_acceptance(
        GuaranteePoint(Q_G, H_G), table.grade("1B"), FLOWS, _parabola(h_at_qg + 3.0, 3.0e4)
    )
    assert not result.verdict("head").passed and not result.verdict("flow").passed
    assert not result.flow_head_met and not result.guarantees_met and not result.passed


def test_fails_by_a_hair_beside_the_horizontal_bar_and_passes_touching_it(table) -> None:
    # Steep curve reaching H_G at Q_c = 0.955 Q_G (1 - 1e-4): just left of the bar's end.
    q_c = 0.00955 * (1 - 1e-4)
    miss = judge_acceptance(
        GuaranteePoint(Q_G, H_G), table.grade("1B"), FLOWS, _parabola(30.0 + 3.0e5 * q_c**2, 3.0e5)
    )
    assert not miss.flow_head_met
    assert miss.verdict("flow").measured == pytest.approx(q_c, rel=1e-9)
    # Exactly at the bar's end: touching counts.
    touch = judge_acceptance(
        GuaranteePoint(Q_G, H_G), table.grade("1B"), FLOWS, _parabola(30.0 + 3.0e5 * 0.00955**2, 3.0e5)
    )
    assert touch.flow_head_met and touch.verdict("flow").passed
    assert not touch.verdict("head").passed


def test_efficiency_on_the_line_through_the_origin(table) -> None:
    # H = 42 - 1e5 Q^2 meets H = (30/0.01) Q where 1e5 Q^2 + 3000 Q - 42 = 0:
    # Q* = (-3000 + sqrt(9e6 + 1.68e7)) / 2e5 = 0.01039685; eta = 0.8 - 2000 (Q - 0.011)^2 there = 0.79927.
    heads = _parabola(42.0, 1.0e5)
    etas = 0.8 - 2000.0 * (FLOWS - 0.011) ** 2
    grade = table.grade("1B")
    met = judge_acceptance(GuaranteePoint(Q_G, H_G, efficiency=0.82), grade, FLOWS, heads, etas)
    assert met.operating_flow_m3_s == pytest.approx(0.01039685, abs=1e-8)
    eta = met.verdict("efficiency")
    assert eta.measured == pytest.approx(0.79927, abs=1e-5)
    assert eta.passed  # needs >= 0.82 * 0.97 = 0.7954
    assert eta.tolerance_minus_fraction == 0.03 and eta.tolerance_plus_fraction is None
    assert eta.deviation_fraction == pytest.approx(0.79927 / 0.82 - 1, abs=1e-5)
    missed = judge_acceptance(GuaranteePoint(Q_G, H_G, efficiency=0.825), grade, FLOWS, heads, etas)
    assert not missed.verdict("efficiency").passed  # needs >= 0.80025
    assert not missed.guarantees_met


def test_power_guarantee_at_the_same_point(table) -> None:
    # Grade 1E (t_P +4 %, unverified): P = 1000 + 1e5 Q = 2039.685 W at Q* = 0.01039685.
    heads = _parabola(42.0, 1.0e5)
    powers = 1000.0 + 1.0e5 * FLOWS
    grade = table.grade("1E")
    ok = judge_acceptance(GuaranteePoint(Q_G, H_G, power_w=1962.0), grade, FLOWS, heads, power_w=powers)
    power = ok.verdict("power")
    assert power.measured == pytest.approx(2039.685, abs=1e-3)
    assert power.passed and not power.tolerance_verified  # limit 2040.48 W
    bad = judge_acceptance(GuaranteePoint(Q_G, H_G, power_w=1960.0), grade, FLOWS, heads, power_w=powers)
    assert not bad.verdict("power").passed  # limit 2038.4 W


def test_power_guarantee_needs_a_power_tolerance(table) -> None:
    with pytest.raises(ConfigError, match="power") as caught:
        judge_acceptance(
            GuaranteePoint(Q_G, H_G, power_w=2000.0),
            table.grade("X1"),
            FLOWS,
            _parabola(42.0, 1e5),
            power_w=np.full(9, 2000.0),
        )
    assert caught.value.field == "grades.X1.power_plus"


def test_guarantee_outside_the_measured_range_is_not_met(table) -> None:
    flows = np.linspace(0.002, 0.006, 5)
    result = judge_acceptance(GuaranteePoint(Q_G, H_G), table.grade("2B"), flows, _parabola(32.0, 2e4, flows))
    assert not result.flow_head_met
    assert math.isnan(result.verdict("head").measured)
    assert "outside the measured flow range" in result.verdict("head").detail


def test_small_pump_tolerances_widen_the_cross(table) -> None:
    # H(Q_G) 5 % low and a flat curve: fails 1B's +-3 %, passes the small-pump +-8 %.
    heads = _parabola(28.5 + 3.0, 3.0e4)
    assert not judge_acceptance(GuaranteePoint(Q_G, H_G), table.grade("1B"), FLOWS, heads).flow_head_met
    small = judge_acceptance(
        GuaranteePoint(Q_G, H_G), table.grade("1B", pump_input_power_w=4000.0), FLOWS, heads
    )
    assert small.flow_head_met and small.small_pump_rule_applied
    assert not small.verdict("head").tolerance_verified


def test_violated_test_conditions_are_listed(table) -> None:
    flows = np.array([0.006, 0.008, 0.0095, 0.01, 0.0105, 0.012, 0.014])  # three within 0.9..1.1 Q_G
    speed = convert_to_speed(
        np.array([2950.0, 2950.0, 1400.0, 2950.0, 2950.0, 2950.0, 2950.0]), 3000.0, head_m=np.ones(7)
    )
    result = judge_acceptance(
        GuaranteePoint(Q_G, H_G),
        table.grade("1B"),
        flows,
        _parabola(33.0, 3.0e4, flows),
        speed_violations=speed.violations,
        fluctuation_fractions={"flow": 0.04, "speed": 0.005},
        instrument_uncertainty_fractions={"flow": 0.02, "head": 0.005},
    )
    assert result.guarantees_met and not result.valid and not result.passed
    found = {(v.condition, v.quantity): v for v in result.violations}
    assert set(found) == {
        ("speed_range", "performance"),
        ("fluctuation", "flow"),
        ("points_near_guarantee", "flow"),
        ("uncertainty", "flow"),
    }
    points = found[("points_near_guarantee", "flow")]
    assert (points.value, points.limit) == (3.0, 5.0)
    assert found[("fluctuation", "flow")].limit == 0.03
    assert found[("uncertainty", "flow")].limit == 0.015
    assert found[("speed_range", "performance")].limit == 0.5
    # Grade 2B needs only 3 points, and its uncertainty limit (2.5 % on flow, unverified) is checked too.
    result2 = judge_acceptance(
        GuaranteePoint(Q_G, H_G),
        table.grade("2B"),
        flows,
        _parabola(33.0, 3.0e4, flows),
        instrument_uncertainty_fractions={"flow": 0.02},
    )
    assert result2.valid and result2.passed
    assert result2.unchecked_conditions == ()
    result3 = judge_acceptance(
        GuaranteePoint(Q_G, H_G),
        table.grade("2B"),
        flows,
        _parabola(33.0, 3.0e4, flows),
        instrument_uncertainty_fractions={"flow": 0.03},
    )
    assert not result3.valid and not result3.passed
    assert [(v.condition, v.quantity, v.limit) for v in result3.violations] == [
        ("uncertainty", "flow", 0.025)
    ]


def test_five_points_in_the_band_satisfy_grade_1(table) -> None:
    result = judge_acceptance(GuaranteePoint(Q_G, H_G), table.grade("1B"), FLOWS, _parabola(33.0, 3.0e4))
    assert result.valid  # 0.009, 0.0095, 0.01, 0.0105, 0.011


def test_unknown_condition_quantity_and_bad_inputs(table) -> None:
    grade = table.grade("1B")
    with pytest.raises(ConfigError, match="fluctuation_fractions.pressure"):
        judge_acceptance(
            GuaranteePoint(Q_G, H_G),
            grade,
            FLOWS,
            _parabola(33.0, 3e4),
            fluctuation_fractions={"pressure": 0.01},
        )
    with pytest.raises(ConfigError, match="curve_method"):
        judge_acceptance(GuaranteePoint(Q_G, H_G), grade, FLOWS, _parabola(33.0, 3e4), curve_method="spline")
    with pytest.raises(ConfigError, match="efficiency"):
        judge_acceptance(GuaranteePoint(Q_G, H_G, efficiency=0.8), grade, FLOWS, _parabola(33.0, 3e4))
    with pytest.raises(AnalysisError, match="distinct flows"):
        judge_acceptance(GuaranteePoint(Q_G, H_G), grade, FLOWS[:2], _parabola(33.0, 3e4)[:2])
    with pytest.raises(ConfigError, match="head_m"):
        GuaranteePoint(Q_G, -1.0)


def test_override_adds_a_power_tolerance_to_1b(tmp_path: Path) -> None:
    path = tmp_path / "g.toml"
    path.write_text("[grades.1B]\npower_plus = { value = 0.04, verified = true }\n")
    grade = load_grade_table(path).grade("1B")
    result = judge_acceptance(
        GuaranteePoint(Q_G, H_G, power_w=1962.0),
        grade,
        FLOWS,
        _parabola(42.0, 1e5),
        power_w=1000.0 + 1.0e5 * FLOWS,
    )
    assert result.verdict("power").passed and result.verdict("power").tolerance_verified


# ------------------------------------------------------------- the shipped 2012 grades, by hand


@pytest.fixture(scope="module")
def shipped():
    return load_grade_table()


def test_a_pump_9_percent_short_on_flow_fails_1u(shipped) -> None:
    # Flat head curve H = 30 m through the guarantee point, shifted so that H = 30 m only at
    # Q = 0.91 Q_G: H = 30 - 3e5 (Q^2 - (0.0091)^2). 1U has no minus tolerance: flow bar 1.00..1.10 Q_G,
    # head bar 30..31.8 m at Q_G; H(Q_G) = 30 - 3e5 (1e-4 - 0.8281e-4) = 24.843 m < 30: both missed.
    heads = 30.0 - 3.0e5 * (FLOWS**2 - 0.0091**2)
    result = judge_acceptance(
        GuaranteePoint(Q_G, H_G), shipped.grade("1U", pump_input_power_w=2000.0), FLOWS, heads
    )
    assert not result.flow_head_met and not result.passed
    assert result.verdict("flow").measured == pytest.approx(0.0091, abs=1e-8)
    # 2B's +-8 % bar would not reach it either, and the small-pump rule never widens 1U
    assert shipped.grade("1U", pump_input_power_w=2000.0).flow_minus.value == 0.0


def test_a_head_4_percent_short_fails_1u_and_passes_2b(shipped) -> None:
    # Flat curve H = 28.8 m (4 % short) over the whole range: 1U's head bar is 30..31.8 m (fails);
    # 2B's is 28.5..31.5 m (passes, 28.8 >= 28.5).
    heads = np.full(FLOWS.size, 28.8) - 1e-9 * FLOWS
    assert not judge_acceptance(GuaranteePoint(Q_G, H_G), shipped.grade("1U"), FLOWS, heads).flow_head_met
    passed = judge_acceptance(GuaranteePoint(Q_G, H_G), shipped.grade("2B"), FLOWS, heads)
    assert passed.flow_head_met and passed.verdict("head").passed


def test_a_power_5_percent_over_fails_1b_and_passes_2b(shipped) -> None:
    # H = 42 - 1e5 Q^2 crosses the line through the origin at Q* = 0.01039685 (see above), where
    # P = 1000 + 1e5 Q = 2039.685 W. Guarantee 2039.685 / 1.05 = 1942.557 W: 5 % over.
    # 1B: limit 1942.557 x 1.04 = 2020.26 W (fails); 2B: 1942.557 x 1.08 = 2097.96 W (passes).
    heads = _parabola(42.0, 1.0e5)
    powers = 1000.0 + 1.0e5 * FLOWS
    guarantee = GuaranteePoint(Q_G, H_G, power_w=2039.685 / 1.05)
    fails = judge_acceptance(guarantee, shipped.grade("1B"), FLOWS, heads, power_w=powers)
    assert fails.verdict("power").deviation_fraction == pytest.approx(0.05, abs=1e-5)
    assert not fails.verdict("power").passed
    assert (
        judge_acceptance(guarantee, shipped.grade("2B"), FLOWS, heads, power_w=powers).verdict("power").passed
    )
