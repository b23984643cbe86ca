"""The grade table: shipped values and flags as the reference states them, overrides, precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.analysis.grades import default_steady_limits, load_grade_table
from hil.core.errors import ConfigError


def test_grade_1b_is_the_2012_grade_not_the_1999_class_1() -> None:
    # ISO 9906:2012 Table 8 as recalled by two reviewers (pump-testing reference); the 1999 edition's
    # class 1 (t_Q +-4.5 %) printed in pump makers' lexicons is a different thing.
    table = load_grade_table()
    g1b = table.grade("1B")
    assert (g1b.flow_minus.value, g1b.flow_plus.value) == (0.05, 0.05)
    assert (g1b.head_minus.value, g1b.head_plus.value) == (0.03, 0.03)
    assert g1b.power_plus is not None and g1b.power_plus.value == 0.04
    assert g1b.efficiency is not None and g1b.efficiency.value == -0.03
    g2b = table.grade("2B")
    assert (g2b.flow_minus.value, g2b.head_plus.value) == (0.08, 0.05)
    assert g2b.power_plus is not None and g2b.power_plus.value == 0.08
    assert g2b.efficiency is not None and g2b.efficiency.value == -0.05
    for grade in table.grades.values():  # no two public sources found: nothing claims to be verified
        values = [grade.flow_minus, grade.flow_plus, grade.head_minus, grade.head_plus]
        values += [v for v in (grade.power_plus, grade.efficiency) if v is not None]
        assert not any(v.verified for v in values)
        assert all(v.edition == "ISO 9906:2012" and v.source for v in values)


def test_every_grade_has_a_power_tolerance() -> None:
    table = load_grade_table()
    expected = {"1B": 0.04, "1E": 0.04, "1U": 0.10, "2B": 0.08, "2U": 0.16, "3B": 0.09}
    for name, value in expected.items():
        power = table.grade(name).power_plus
        assert power is not None and power.value == value, name


def test_remaining_grades_are_present_and_unverified() -> None:
    table = load_grade_table()
    assert set(table.grades) == {"1B", "1E", "1U", "2B", "2U", "3B"}
    g1u = table.grade("1U")
    assert (g1u.flow_minus.value, g1u.flow_plus.value, g1u.head_minus.value, g1u.head_plus.value) == (
        0,
        0.10,
        0,
        0.06,
    )
    assert g1u.power_plus is not None and g1u.power_plus.value == 0.10
    g3b = table.grade("3B")
    assert g3b.efficiency is not None and g3b.efficiency.value == -0.07
    for name in ("1E", "1U", "2U", "3B"):
        grade = table.grade(name)
        assert not grade.flow_minus.verified and not grade.head_plus.verified
    assert not table.speed_range.performance_min_ratio.verified
    assert table.speed_range.performance_min_ratio.value == 0.5
    assert table.speed_range.npsh_min_ratio.value == 0.8


def test_class_conditions() -> None:
    table = load_grade_table()
    c1 = table.grade("1B").grade_class
    assert c1.min_points_near_guarantee.value == 5
    assert c1.uncertainty_limits["flow"].value == 0.015
    assert c1.uncertainty_limits["speed"].value == 0.002
    c2 = table.grade("2B").grade_class
    assert c2.min_points_near_guarantee.value == 3
    assert c2.uncertainty_limits["flow"].value == 0.025  # limits for grades 2 and 3 too (unverified)
    assert not c2.uncertainty_limits["flow"].verified
    assert table.grade("3B").grade_class.uncertainty_limits["head"].value == 0.025
    assert (c2.npsh3_tolerance_fraction.value, c2.npsh3_tolerance_min_m.value) == (0.06, 0.2)


def test_default_steady_limits_per_grade() -> None:
    table = load_grade_table()
    limits1 = default_steady_limits(table.grade("1B"))
    assert limits1["flow"].max_fluctuation_fraction == 0.03
    assert limits1["power"].max_fluctuation_fraction == 0.03
    assert limits1["speed"].max_fluctuation_fraction == 0.01
    limits2 = default_steady_limits(table.grade("2U").grade_class)
    assert limits2["head"].max_fluctuation_fraction == 0.06
    assert limits2["speed"].max_fluctuation_fraction == 0.02


def test_small_pump_rule_widens_bilateral_grades_2b_and_3b_only() -> None:
    table = load_grade_table()
    small = table.grade("2B", pump_input_power_w=5_000.0)
    assert small.small_pump_rule_applied
    assert (small.flow_minus.value, small.flow_plus.value) == (0.10, 0.10)
    assert (small.head_minus.value, small.head_plus.value) == (0.08, 0.08)
    assert not small.flow_minus.verified
    assert small.efficiency == table.grade("2B").efficiency  # only flow and head change
    assert not table.grade("2B", pump_input_power_w=10_001.0).small_pump_rule_applied
    assert table.grade("2B", pump_input_power_w=10_000.0).small_pump_rule_applied
    for name in ("1B", "1E", "1U", "2U"):
        assert table.grade(name, pump_input_power_w=1_000.0) == table.grade(name), name
    g1u = table.grade("1U", pump_input_power_w=1_000.0)
    assert (g1u.flow_minus.value, g1u.head_minus.value) == (0.0, 0.0)  # never a minus tolerance


def test_a_small_pump_rule_that_names_a_unilateral_grade_is_refused(tmp_path: Path) -> None:
    path = _write(tmp_path, '[small_pump]\ngrades = ["2B", "1U"]\n')
    with pytest.raises(ConfigError, match="small_pump.grades.*unilateral grade '1U'"):
        load_grade_table(path)


def test_unknown_grade_is_named() -> None:
    with pytest.raises(ConfigError, match="grades.4X"):
        load_grade_table().grade("4X")


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "my_grades.toml"
    path.write_text(text)
    return path


def test_override_replaces_one_entry_and_adds_a_grade(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
[grades.1B]
flow_minus = { value = 0.055, verified = true, note = "my copy of the standard" }

[grades.3U]
class = "3"
flow_minus = { value = 0.0, verified = false }
flow_plus = { value = 0.18, verified = false }
head_minus = { value = 0.0, verified = false }
head_plus = { value = 0.14, verified = false }

[speed_range]
npsh_min_ratio = { value = 0.9, verified = true }
""",
    )
    table = load_grade_table(path)
    assert table.grade("1B").flow_minus.value == 0.055
    assert table.grade("1B").flow_minus.note == "my copy of the standard"
    assert table.grade("1B").flow_plus.value == 0.05  # untouched
    assert table.grade("3U").flow_plus.value == 0.18
    assert table.grade("3U").source == str(path)
    assert table.speed_range.npsh_min_ratio.value == 0.9
    assert str(path) in table.source


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("[grades.1B]\nflow_minsu = { value = 0.05, verified = true }\n", "grades.1B.flow_minsu"),
        ("[grades.1B]\nflow_minus = { value = 0.05 }\n", "grades.1B.flow_minus.verified"),
        ("[grades.1B]\nflow_minus = { value = -0.05, verified = true }\n", "grades.1B.flow_minus.value"),
        ("[grades.1B]\nflow_minus = 0.05\n", "grades.1B.flow_minus"),
        ("[grades.1B]\nefficiency = { value = 0.03, verified = true }\n", "grades.1B.efficiency.value"),
        ('[grades.1B]\nflow_minus = { value = 0.05, verified = "yes" }\n', "grades.1B.flow_minus.verified"),
        (
            '[grades.1B]\nflow_minus = { value = 0.05, verified = true, unit = "%" }\n',
            "grades.1B.flow_minus.unit",
        ),
        ('[grades.1B]\nclass = "7"\n', "grades.1B.class"),
        ('[grades.9Z]\nclass = "1"\n', "grades.9Z.flow_minus"),
        (
            "[classes.1]\nmin_points_near_guarantee = { value = 2.5, verified = false }\n",
            "classes.1.min_points_near_guarantee.value",
        ),
        ("[tolerances]\nx = 1\n", "tolerances"),
        ('[small_pump]\ngrades = ["1B", "5Q"]\n', "small_pump.grades"),
        (
            "[speed_range]\nperformance_min_ratio = { value = 1.1, verified = false }\n",
            "speed_range.performance_min_ratio",
        ),
    ],
)
def test_bad_override_names_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_grade_table(path)
    assert caught.value.field == field
    assert str(path) in str(caught.value)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_grade_table(_write(tmp_path, "[grades.1B\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_grade_table(tmp_path / "absent.toml")
