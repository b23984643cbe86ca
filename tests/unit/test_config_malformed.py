"""Every declarative file, however malformed, gives one ConfigError naming the file and the field.

The same hostile contents are fed to each kind of file the harness reads (bench, mission, pump
definition, grade table, pump model): bytes that are not UTF-8, a 400-digit integer, nesting deep
enough to exhaust the parser, nesting that parses but is the wrong type, ``nan`` and ``inf``, text or
a table where a number belongs, and an unknown key. None may escape as a traceback: each must be a
:class:`ConfigError` whose message names the file, and (where one field is at fault) that field.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from hil.analysis.grades import load_grade_table
from hil.bench.config import load_bench
from hil.core.errors import ConfigError
from hil.model.pump_model import PumpModel, load_pump_model
from hil.model.sizing.mission import load_mission
from hil.results.pump_definition import load_pump_definition

DATA = Path(str(files("hil") / "data"))
PUMP_DEFINITION = """[pump]
name = "EP-30"
serial = "EP30-0007"
impeller_diameter_m = 0.040
specified_speed_rpm = 30000.0

[guarantee]
flow_m3_s = 0.00045
head_m = 200.0
efficiency = 0.43
"""
GRADES = "[grades.1B]\nflow_minus = { value = 0.05, verified = true }\n"


def _replace_line(text: str, key: str, value: str) -> str:
    lines = text.splitlines()
    hits = [i for i, line in enumerate(lines) if line.split("=")[0].strip() == key]
    assert len(hits) == 1, key
    lines[hits[0]] = f"{key} = {value}"
    return "\n".join(lines) + "\n"


# kind: (loader, the good text, the key whose value is poisoned, the field that key is)
TOML_KINDS: dict[str, tuple[Callable[[Path], Any], str, str, str]] = {
    "bench": (load_bench, (DATA / "sim_bench.toml").read_text(), "tick_hz", "bench.tick_hz"),
    "mission": (load_mission, (DATA / "lander_mission.toml").read_text(), "thrust_n", "engine.thrust_n"),
    "pump definition": (
        load_pump_definition,
        PUMP_DEFINITION,
        "impeller_diameter_m",
        "pump.impeller_diameter_m",
    ),
    "grade table": (lambda p: load_grade_table(p), GRADES, "flow_minus", "grades.1B.flow_minus"),
}

HOSTILE_VALUES = {
    "400-digit integer": "1" * 400,
    "nan": "nan",
    "inf": "inf",
    "negative inf": "-inf",
    "text": '"4 kN"',
    "a table": "{ a = 1 }",
    "nested lists": "[" * 50 + "1" + "]" * 50,
    "boolean": "true",
}


def _refused(loader: Callable[[Path], Any], path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        loader(path)
    assert caught.value.source == str(path)
    assert str(path) in str(caught.value)
    return caught.value


@pytest.mark.parametrize("kind", TOML_KINDS)
@pytest.mark.parametrize("hostile", HOSTILE_VALUES)
def test_a_hostile_value_names_the_file_and_the_field(tmp_path: Path, kind: str, hostile: str) -> None:
    loader, text, key, field = TOML_KINDS[kind]
    value = HOSTILE_VALUES[hostile]
    if kind == "grade table":
        text = GRADES.replace("value = 0.05", f"value = {value}")
        field = "grades.1B.flow_minus.value"
    path = tmp_path / "file.toml"
    path.write_text(_replace_line(text, key, value) if kind != "grade table" else text, encoding="utf-8")
    error = _refused(loader, path)
    assert error.field == field
    assert "expected" in error.problem or "must be" in error.problem


@pytest.mark.parametrize("kind", TOML_KINDS)
def test_bytes_that_are_not_utf8_name_the_file(tmp_path: Path, kind: str) -> None:
    loader, text, _, _ = TOML_KINDS[kind]
    path = tmp_path / "file.toml"
    path.write_bytes(b"# \xff\xfe latin-1 caf\xe9\n" + text.encode("utf-8"))
    error = _refused(loader, path)
    assert "UTF-8" in error.problem and "0xff" in error.problem


@pytest.mark.parametrize("kind", TOML_KINDS)
def test_nesting_deep_enough_to_exhaust_the_parser_names_the_file(tmp_path: Path, kind: str) -> None:
    loader, text, _, _ = TOML_KINDS[kind]
    path = tmp_path / "file.toml"
    path.write_text(text + "deep = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    error = _refused(loader, path)
    assert error.problem.startswith("not valid TOML")


@pytest.mark.parametrize("kind", TOML_KINDS)
def test_an_unknown_key_is_named(tmp_path: Path, kind: str) -> None:
    loader, text, key, field = TOML_KINDS[kind]
    path = tmp_path / "file.toml"
    path.write_text(text.replace(f"\n{key} =", f"\nzz_unknown_m = 1\n{key} =", 1), encoding="utf-8")
    error = _refused(loader, path)
    assert error.field == field.rsplit(".", 1)[0] + ".zz_unknown_m"
    assert "unknown key" in error.problem


# ---------------------------------------------------------------------------------- pump model (JSON)
def _pump_model_text(**changes: Any) -> str:
    doc = PumpModel.default().to_dict()
    doc.update(changes)
    return json.dumps(doc)


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (_pump_model_text(impeller_diameter_m=10**400), "impeller_diameter_m"),
        (_pump_model_text(impeller_diameter_m=-0.04), "impeller_diameter_m"),
        (_pump_model_text(impeller_diameter_m="40 mm"), "impeller_diameter_m"),
        (_pump_model_text(impeller_diameter_m=[[[[0.04]]]]), "impeller_diameter_m"),
        (_pump_model_text(extra_key=1), "extra_key"),
        (_pump_model_text(psi={"coefficients": [1.0], "covariance": [[True]]}), "psi.covariance[0][0]"),
        (_pump_model_text(calibrated="yes"), "calibrated"),
    ],
)
def test_a_hostile_pump_model_names_the_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "pump_model.json"
    path.write_text(text, encoding="utf-8")
    assert _refused(load_pump_model, path).field == field


@pytest.mark.parametrize(
    "text",
    [
        _pump_model_text().replace('"impeller_diameter_m": 0.035', '"impeller_diameter_m": NaN'),
        _pump_model_text().replace('"impeller_diameter_m": 0.035', '"impeller_diameter_m": Infinity'),
        "[" * 100_000 + "]" * 100_000,
        '{"schema": ' + "9" * 5000 + "}",
    ],
    ids=["NaN", "Infinity", "deep nesting", "5000-digit integer"],
)
def test_pump_model_text_json_cannot_hold_is_refused_as_not_valid_json(tmp_path: Path, text: str) -> None:
    path = tmp_path / "pump_model.json"
    path.write_text(text, encoding="utf-8")
    assert _refused(load_pump_model, path).problem.startswith("not valid JSON")


def test_pump_model_bytes_that_are_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "pump_model.json"
    path.write_bytes(b"\xff" + _pump_model_text().encode())
    assert "UTF-8" in _refused(load_pump_model, path).problem


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (("electric", "motor_efficiency", "1.2"), "electric.motor_efficiency", "a fraction in (0, 1]"),
        (("electric", "motor_efficiency", "0.0"), "electric.motor_efficiency", "a fraction in (0, 1]"),
        (
            ("electric", "battery_specific_power_w_kg", "-3.0e3"),
            "electric.battery_specific_power_w_kg",
            "positive",
        ),
        (("engine.cea", "c_star_efficiency", "1.5"), "engine.cea.c_star_efficiency", "a fraction in (0, 1]"),
        (("tanks", "safety_factor", "0.5"), "tanks.safety_factor", ">= 1.0"),
    ],
)
def test_physical_meaning_is_checked_with_the_unit_named(
    tmp_path: Path, edit: tuple[str, str, str], field: str, words: str
) -> None:
    text = (DATA / "lander_mission.toml").read_text()
    path = tmp_path / "mission.toml"
    path.write_text(_replace_line(text, edit[1], edit[2]), encoding="utf-8")
    error = _refused(load_mission, path)
    assert error.field == field and words in error.problem


def test_a_unit_in_the_field_name_is_named_after_the_value(tmp_path: Path) -> None:
    text = (DATA / "lander_mission.toml").read_text()
    path = tmp_path / "mission.toml"
    path.write_text(_replace_line(text, "thrust_n", "-5.0"), encoding="utf-8")
    assert _refused(load_mission, path).problem == "must be positive (> 0), got -5.0 N"


def test_a_propellant_cea_does_not_know_is_named_when_isp_comes_from_cea(tmp_path: Path) -> None:
    text = (DATA / "lander_mission.toml").read_text()
    text = text.replace(
        'fuel = "MMH"', 'fuel = { name = "simulant", density_kg_m3 = 900.0, vapour_pressure_pa = 4000.0 }'
    )
    path = tmp_path / "mission.toml"
    path.write_text(text, encoding="utf-8")
    error = _refused(load_mission, path)
    assert error.field == "propellants.fuel" and "simulant" in error.problem
