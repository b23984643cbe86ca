"""hil.core.config: TOML loading and the field-by-field Section checks every declarative file relies on."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from hil.core.config import Section, load_toml
from hil.core.errors import ConfigError

SOURCE = "/benches/example.toml"


def section(data: Any, path: str = "limits") -> Section:
    return Section(data, SOURCE, path)


def error_of(call: Any) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        call()
    return caught.value


# ============================================================================ scalars
def test_a_present_field_is_returned_and_an_int_becomes_a_float_where_a_number_is_expected() -> None:
    table = section({"speed_rpm": 3000, "name": "bench", "unit": 2, "enabled": False})
    speed = table.get("speed_rpm", float)
    assert speed == 3000.0 and type(speed) is float
    assert table.get("name", str) == "bench"
    assert table.get("unit", int) == 2
    assert table.get("enabled", bool) is False


def test_a_default_is_returned_only_when_the_field_is_absent() -> None:
    table = section({"tick_hz": 20.0})
    assert table.get("tick_hz", float, 10.0) == 20.0
    assert table.get("fluid", str, "water") == "water"
    assert table.get("note", str, None) is None


def test_a_missing_required_field_names_file_and_dotted_field() -> None:
    error = error_of(lambda: section({}).get("max_speed_rpm", float))
    expected = (SOURCE, "limits.max_speed_rpm", "missing (required)")
    assert (error.source, error.field, error.problem) == expected
    assert str(error) == f"{SOURCE}: limits.max_speed_rpm: missing (required)"


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        (float, "1.5", "expected a number, got str '1.5'"),
        (float, True, "expected a number, got the boolean true"),
        (float, [1.0], "expected a number, got a list"),
        (float, {"a": 1}, "expected a number, got a table"),
        (int, 1.0, "expected an integer, got float 1.0"),
        (int, False, "expected an integer, got the boolean false"),
        (str, 5, "expected a string, got int 5"),
        (bool, 1, "expected true or false, got int 1"),
        (bool, "true", "expected true or false, got str 'true'"),
    ],
)
def test_a_value_of_the_wrong_type_says_what_was_expected_and_what_was_found(
    kind: type, value: Any, expected: str
) -> None:
    error = error_of(lambda: section({"x": value}).get("x", kind))
    assert error.field == "limits.x"
    assert error.problem == expected


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_a_non_finite_number_is_refused(value: float) -> None:
    error = error_of(lambda: section({"x": value}).get("x", float))
    assert error.problem.startswith("expected a finite number")


def test_range_limits_are_inclusive_and_named_in_the_message() -> None:
    table = section({"low": 0.5, "high": 2.0, "under": 0.49, "over": 2.01})
    assert table.get("low", float, minimum=0.5) == 0.5
    assert table.get("high", float, maximum=2.0) == 2.0
    assert error_of(lambda: table.get("under", float, minimum=0.5)).problem == "must be >= 0.5, got 0.49"
    assert error_of(lambda: table.get("over", float, maximum=2.0)).problem == "must be <= 2.0, got 2.01"
    assert error_of(lambda: section({"n": 0}).get("n", int, minimum=1)).problem == "must be >= 1, got 0"


def test_choices_are_listed_when_a_value_is_not_one_of_them() -> None:
    table = section({"kind": "canbus", "word_order": "big"})
    assert table.get("word_order", str, choices=("big", "little")) == "big"
    error = error_of(lambda: table.get("kind", str, choices=("modbus-rtu", "modbus-tcp")))
    assert error.problem == "must be one of modbus-rtu, modbus-tcp; got 'canbus'"


# ============================================================================ tables
def test_a_sub_table_carries_the_dotted_path() -> None:
    top = Section({"instruments": {"motor": {"pole_pairs": "2"}}}, SOURCE)
    motor = top.section("instruments").section("motor")
    error = error_of(lambda: motor.get("pole_pairs", int))
    assert error.field == "instruments.motor.pole_pairs"
    assert str(error).startswith(f"{SOURCE}: instruments.motor.pole_pairs: expected an integer")


@pytest.mark.parametrize(
    ("value", "found"), [(5, "int 5"), ("x", "str 'x'"), ([], "a list"), (True, "the boolean true")]
)
def test_a_scalar_where_a_table_is_expected_is_named(value: Any, found: str) -> None:
    error = error_of(lambda: Section({"bench": value}, SOURCE).section("bench"))
    assert (error.field, error.problem) == ("bench", f"expected a table, got {found}")


def test_a_top_level_that_is_not_a_table_is_named() -> None:
    error = error_of(lambda: Section([1, 2], SOURCE))
    assert (error.source, error.field) == (SOURCE, "(top level)")


def test_sections_keeps_file_order_and_names_each_table() -> None:
    top = Section({"instruments": {"zeta": {"a": 1}, "alpha": {"b": 2}, "mid": {"c": 3}}}, SOURCE)
    tables = top.sections("instruments")
    assert list(tables) == ["zeta", "alpha", "mid"]
    assert tables["alpha"].path == "instruments.alpha"
    assert error_of(lambda: tables["mid"].get("c", str)).field == "instruments.mid.c"
    assert Section({}, SOURCE).sections("instruments") == {}
    error = error_of(lambda: Section({"instruments": {"motor": 3}}, SOURCE).sections("instruments"))
    assert (error.field, error.problem) == ("instruments.motor", "expected a table, got int 3")


def test_str_map_and_float_map_check_every_entry() -> None:
    data = {"channels": {"speed_rpm": "rpm", "flow_m3_s": "q"}, "accuracy": {"speed_rpm": 1}}
    table = Section(data, SOURCE, "motor")
    assert table.str_map("channels") == {"speed_rpm": "rpm", "flow_m3_s": "q"}
    accuracy = table.float_map("accuracy")
    assert accuracy == {"speed_rpm": 1.0} and type(accuracy["speed_rpm"]) is float
    assert table.str_map("missing", {}) == {}
    bad = Section({"channels": {"speed_rpm": 7}, "accuracy": {"p": "1 %"}}, SOURCE, "motor")
    assert error_of(lambda: bad.str_map("channels")).field == "motor.channels.speed_rpm"
    assert error_of(lambda: bad.float_map("accuracy")).field == "motor.accuracy.p"


# ============================================================================ unknown keys
def test_finish_names_the_first_unknown_key_and_lists_the_known_ones() -> None:
    table = section({"max_speed_rpm": 1.0, "max_speed_rmp": 2.0, "zzz": 0})
    table.get("max_speed_rpm", float)
    table.get("stale_data_s", float, 1.0)  # asked for, absent: still a known key
    error = error_of(table.finish)
    assert error.field == "limits.max_speed_rmp"
    assert error.problem == "unknown key (known here: max_speed_rpm, stale_data_s)"


def test_finish_accepts_a_table_whose_every_key_was_read() -> None:
    table = section({"a": 1.0, "b": {"c": "x"}, "d": {"e": 1.0}})
    table.get("a", float)
    table.section("b")  # a sub-table checks its own keys
    table.float_map("d")
    table.finish()


def test_finish_on_a_table_nobody_read_says_none_are_known() -> None:
    error = error_of(section({"typo": 1}).finish)
    assert error.problem == "unknown key (known here: none)"


def test_has_does_not_count_as_reading_a_key() -> None:
    table = section({"tank_pressure": "daq"})
    assert table.has("tank_pressure") and not table.has("other")
    with pytest.raises(ConfigError, match="limits.tank_pressure: unknown key"):
        table.finish()


# ============================================================================ files
def test_load_toml_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "bench.toml"
    path.write_text('[bench]\nname = "x"\ntick_hz = 10\n', encoding="utf-8")
    assert load_toml(path) == {"bench": {"name": "x", "tick_hz": 10}}


def test_load_toml_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "absent.toml"
    error = error_of(lambda: load_toml(path))
    assert (error.source, error.field, error.problem) == (str(path), "", "file not found")
    assert str(error) == f"{path}: file not found"


def test_load_toml_names_a_file_with_a_syntax_error_and_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[bench]\nname = 'ok'\ntick_hz = = 10\n", encoding="utf-8")
    error = error_of(lambda: load_toml(path))
    assert error.source == str(path)
    assert error.problem.startswith("not valid TOML")
    assert "line 3" in error.problem


def test_load_toml_names_a_path_that_cannot_be_read(tmp_path: Path) -> None:
    error = error_of(lambda: load_toml(tmp_path))  # a directory
    assert error.source == str(tmp_path)
    assert error.problem.startswith("cannot read")
