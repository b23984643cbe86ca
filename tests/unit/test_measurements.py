"""Declared measurements judged against a grade's tolerance, by hand from the grade table's numbers.

The tolerances used are those the shipped table gives for ISO 9906:2012 (recalled, unverified; see
hil/data/grades.toml): 2B flow +-8 %, head +-5 %, power +8 %, efficiency -5 %; 1U flow 0/+10 %;
1B power +4 %. The limits are computed here from those numbers, not read back from the code.
"""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from hil.analysis.measurements import Measurement, measurement_rows
from hil.console.terminal import measurement_line
from hil.console.view import RunView
from hil.core.errors import ConfigError
from hil.run.stream import Message

Q_G, H_G, P_G, ETA_G = 0.00045, 200.0, 2000.0, 0.43


def graded(
    quantity: str,
    guarantee: float,
    grade: str = "2B",
    pump_input_power_w: float | None = None,
    grades: Path | None = None,
) -> Measurement:
    unit = {"flow": "m3/s", "head": "m", "power": "W", "efficiency": "1"}[quantity]
    return Measurement(
        f"{quantity}_at_guarantee",
        unit,
        grade=grade,
        quantity=quantity,
        guarantee=guarantee,
        pump_input_power_w=pump_input_power_w,
        grades=grades,
    )


def test_grade_2b_bilateral_flow_and_head_bands_by_hand() -> None:
    flow = graded("flow", Q_G)
    assert (flow.low, flow.high) == pytest.approx((Q_G * 0.92, Q_G * 1.08), rel=1e-12)
    assert flow.judge(Q_G * 1.079) and flow.judge(Q_G * 0.921)
    assert not flow.judge(Q_G * 1.081) and not flow.judge(Q_G * 0.919)
    head = graded("head", H_G)
    assert (head.low, head.high) == pytest.approx((190.0, 210.0), rel=1e-12)
    assert head.judge(196.0) and not head.judge(189.0)  # 4 % short passes 2B, 5.5 % short fails
    assert "grade 2B flow tolerance around 0.00045 m3/s" in flow.tolerance
    assert "UNVERIFIED" in flow.tolerance  # the table says its values are unverified, and so do we


def test_a_unilateral_grade_has_no_minus_tolerance() -> None:
    flow = graded("flow", Q_G, "1U")
    assert flow.low == pytest.approx(Q_G, rel=1e-12) and flow.high == pytest.approx(Q_G * 1.10, rel=1e-12)
    assert not flow.judge(Q_G * 0.99)  # 1 % short fails 1U
    assert flow.judge(Q_G * 1.05)


def test_power_is_an_upper_limit_and_efficiency_a_lower_one() -> None:
    power = graded("power", P_G)
    assert power.low is None and power.high == pytest.approx(P_G * 1.08, rel=1e-12)
    assert power.judge(P_G * 1.05) and not graded("power", P_G, "1B").judge(P_G * 1.05)  # 5 % over
    assert power.judge(10.0)  # any lower power meets a power guarantee
    eta = graded("efficiency", ETA_G)
    assert eta.high is None and eta.low == pytest.approx(ETA_G * 0.95, rel=1e-12)
    assert eta.judge(ETA_G * 0.96) and not eta.judge(ETA_G * 0.94)
    assert not eta.judge(math.nan)


def test_the_small_pump_widening_applies_where_the_table_says() -> None:
    small = graded("flow", Q_G, pump_input_power_w=2000.0)  # 2B at 2 kW: +-10 %
    assert (small.low, small.high) == pytest.approx((Q_G * 0.90, Q_G * 1.10), rel=1e-12)
    assert "small-pump widening" in small.tolerance
    assert graded("flow", Q_G, "1U", pump_input_power_w=2000.0).low == pytest.approx(Q_G)  # never 1U


def test_bad_declarations_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"grades\.9Z"):
        graded("flow", Q_G, "9Z")
    with pytest.raises(ValueError, match="either limits or a grade"):
        Measurement("q_m3_s", "m3/s", low=0.0, grade="2B", quantity="flow", guarantee=Q_G)
    with pytest.raises(ValueError, match="quantity must be one of"):
        Measurement("q_m3_s", "m3/s", grade="2B", quantity="speed", guarantee=Q_G)
    with pytest.raises(ValueError, match="positive guarantee"):
        Measurement("q_m3_s", "m3/s", grade="2B", quantity="flow")
    with pytest.raises(ValueError, match="go with a grade"):
        Measurement("q_m3_s", "m3/s", guarantee=Q_G)
    override = tmp_path / "grades.toml"
    override.write_text('[grades.2B]\nflow_plus = { value = 0.02, verified = true, source = "ours" }\n')
    tight = graded("flow", Q_G, grades=override)  # a user's override file is honoured
    assert tight.high == pytest.approx(Q_G * 1.02, rel=1e-12)


def event(m: Measurement, value: float, time_s: float) -> dict[str, object]:
    """The ``measurement`` event the runner logs (hil.run.runner.Runner.measure)."""
    return {
        "time_s": time_s,
        "kind": "measurement",
        "name": m.name,
        "value": value,
        "unit": m.unit,
        "low": m.low,
        "high": m.high,
        "passed": m.judge(value),
        "help": m.help,
        "grade": m.grade,
        "quantity": m.quantity,
        "guarantee": m.guarantee,
        "tolerance": m.tolerance,
    }


def test_judged_as_recorded_in_the_rows_and_in_the_live_view() -> None:
    flow, head = graded("flow", Q_G, "1U"), graded("head", H_G)
    plain = Measurement("max_motor_temperature_c", "degC", high=80.0)
    events = [event(flow, Q_G * 0.95, 10.0), event(head, 203.5, 10.0)]
    plain_event = {"time_s": 11.0, "kind": "measurement", "name": plain.name, "value": 22.0, "unit": "degC"}
    plain_event.update(low=None, high=80.0, passed=True, help="")
    rows = measurement_rows([*events, plain_event])
    assert [r["verdict"] for r in rows] == ["FAIL", "PASS", "PASS"]
    assert rows[0]["tolerance"].startswith("grade 1U flow") and rows[2]["tolerance"] == ""
    # the recorded limits decide, whatever the table would say now: a replay judges the same
    events[1]["high"] = 203.0
    assert measurement_rows(events)[1]["verdict"] == "FAIL"
    assert "tolerance" not in measurement_rows([plain_event])[0]  # runs without grades: columns as before
    # the viewers' state (terminal and web console) carries them with PASS/FAIL
    view = RunView()
    view.feed([], [Message("event", e) for e in (*events[:1], plain_event)])
    shown = view.summary()["measurements"]
    assert [(m["name"], m["verdict"]) for m in shown] == [
        ("flow_at_guarantee", "FAIL"),
        ("max_motor_temperature_c", "PASS"),
    ]
    assert measurement_line(shown[0]).endswith(": FAIL") and "[0.00045, 0.000495]" in measurement_line(
        shown[0]
    )
