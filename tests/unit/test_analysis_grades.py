"""The grade table: shipped values and flags as the reference states them, overrides, precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.analysis.grades import default_steady_limits, load_grade_table
from hil.core.errors import ConfigError


def test_verified_values_from_the_published_lexicon() -> None:
    table = load_grade_table()
    g1b = table.grade("1B")
    assert (g1b.flow_minus.value, g1b.flow_plus.value) == (0.045, 0.045)
    assert (g1b.head_minus.value, g1b.head_plus.value) == (0.03, 0.03)
    assert g1b.efficiency is not None and g1b.efficiency.value == -0.03
    assert all(
        v.verified for v in (g1b.flow_minus, g1b.flow_plus, g1b.head_minus, g1b.head_plus, g1b.efficiency)
    )
    g2b = table.grade("2B")
    assert (g2b.flow_minus.value, g2b.head_plus.value) == (0.08, 0.05)
    assert g2b.efficiency is not None and g2b.efficiency.value == -0.05 and g2b.efficiency.verified


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
    assert c2.uncertainty_limits == {}
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


def test_small_pump_rule_is_applied_and_unverified() -> None:
    table = load_grade_table()
    small = table.grade("1B", pump_input_power_w=5_000.0)
    assert small.small_pump_rule_applied
    assert (small.flow_minus.value, small.flow_plus.value) == (0.10, 0.10)
    assert (small.head_minus.value, small.head_plus.value) == (0.08, 0.08)
    assert not small.flow_minus.verified
    assert small.efficiency == table.grade("1B").efficiency  # only flow and head change
    assert not table.grade("1B", pump_input_power_w=10_001.0).small_pump_rule_applied
    assert table.grade("1B", pump_input_power_w=10_000.0).small_pump_rule_applied


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
flow_minus = { value = 0.05, verified = true, note = "my copy of the standard" }

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
    assert table.grade("1B").flow_minus.value == 0.05
    assert table.grade("1B").flow_minus.note == "my copy of the standard"
    assert table.grade("1B").flow_plus.value == 0.045  # untouched
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
