"""The pump definition file and the acceptance settings built from it and the command line."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from hil.core.errors import ConfigError
from hil.results.acceptance_settings import AcceptanceSettings, parse_guarantee_text, resolve_settings
from hil.results.pump_definition import load_pump_definition

SIM_PUMP = Path(str(resources.files("hil") / "data" / "sim_pump.toml"))
GOOD = """
[pump]
name = "EP-30"
serial = "EP30-0007"
impeller_diameter_m = 0.040
specified_speed_rpm = 30000.0

[guarantee]
flow_m3_s = 0.00045
head_m = 200.0
efficiency = 0.43
grade = "2B"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pump.toml"
    path.write_text(text)
    return path


def test_shipped_sim_pump_is_the_virtual_pump_with_a_guarantee_near_its_best_point() -> None:
    pump = load_pump_definition(SIM_PUMP)
    assert pump.impeller_diameter_m == 0.040 and pump.specified_speed_rpm == 30000.0
    assert pump.guarantee is not None
    # the plant's best point (simulators/plant.py): phi_b = 0.0141 -> Q = phi n D^3 = 0.451 L/s at
    # 500 rev/s, psi = 4.9 -> H = psi (n D)^2 / g = 200 m
    assert pump.guarantee.flow_m3_s == pytest.approx(0.0141 * 500.0 * 0.040**3, rel=0.01)
    assert pump.guarantee.head_m == pytest.approx(4.9 * (500.0 * 0.040) ** 2 / 9.80665, rel=0.01)
    assert pump.guarantee.grade == "2B"


def test_a_good_file_loads_every_field(tmp_path: Path) -> None:
    pump = load_pump_definition(write(tmp_path, GOOD))
    assert (pump.name, pump.serial, pump.build, pump.input_power_w) == ("EP-30", "EP30-0007", "", None)
    assert pump.guarantee is not None
    assert (
        pump.guarantee.flow_m3_s,
        pump.guarantee.head_m,
        pump.guarantee.efficiency,
        pump.guarantee.power_w,
    ) == (0.00045, 200.0, 0.43, None)


@pytest.mark.parametrize(
    ("edit", "field", "words"),
    [
        (lambda t: t.replace('serial = "EP30-0007"\n', ""), "pump.serial", "missing"),
        (
            lambda t: t.replace("impeller_diameter_m = 0.040", 'impeller_diameter_m = "40 mm"'),
            "pump.impeller_diameter_m",
            "expected a number",
        ),
        (
            lambda t: t.replace("specified_speed_rpm = 30000.0", "specified_speed_rpm = 0.0"),
            "pump.specified_speed_rpm",
            ">= 1.0",
        ),
        (lambda t: t.replace("head_m = 200.0", "head_m = -5.0"), "guarantee.head_m", "positive"),
        (lambda t: t.replace("efficiency = 0.43", "efficiency = 43.0"), "guarantee.efficiency", "fraction"),
        (lambda t: t.replace("flow_m3_s = 0.00045\n", ""), "guarantee.flow_m3_s", "missing"),
        (
            lambda t: t.replace("head_m = 200.0", "head_m = 200.0\nhaed_m = 3.0"),
            "guarantee.haed_m",
            "unknown key",
        ),
        (lambda t: t.replace("[pump]", "[pump]\nspeed_rpm = 1.0"), "pump.speed_rpm", "unknown key"),
        (lambda t: t.replace('name = "EP-30"', 'name = "  "'), "pump.name", "non-empty"),
    ],
)
def test_every_bad_field_is_named_with_the_file(tmp_path: Path, edit, field: str, words: str) -> None:
    path = write(tmp_path, edit(GOOD))
    with pytest.raises(ConfigError) as caught:
        load_pump_definition(path)
    message = str(caught.value)
    assert str(path) in message and field in message and words in message


def test_missing_file_is_a_config_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_pump_definition(tmp_path / "nope.toml")


def test_command_line_guarantee_and_grade_override_the_pump_file(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    settings = resolve_settings(12345.0, str(path), "0.0004,180,0.4", "1B")
    assert settings.specified_speed_rpm == 30000.0  # the pump file's, not the bench default
    assert settings.guarantee is not None
    assert (settings.guarantee.flow_m3_s, settings.guarantee.head_m, settings.guarantee.efficiency) == (
        0.0004,
        180.0,
        0.4,
    )
    assert settings.grade == "1B"
    assert settings.sources == {"guarantee": "command line: --guarantee", "grade": "command line: --grade"}
    assert settings.pump is not None and settings.pump["serial"] == "EP30-0007"


def test_settings_survive_the_metadata_round_trip(tmp_path: Path) -> None:
    settings = resolve_settings(12345.0, str(write(tmp_path, GOOD)))
    assert AcceptanceSettings.from_dict(settings.as_dict()) == settings


def test_without_pump_file_the_bench_speed_is_the_specified_speed() -> None:
    settings = resolve_settings(27000.0, None, "0.0004,150", "2B")
    assert settings.specified_speed_rpm == 27000.0 and settings.pump is None


def test_a_guarantee_needs_a_grade_and_a_grade_a_guarantee(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="--grade.*needs a grade"):
        resolve_settings(30000.0, None, "0.0004,150")
    with pytest.raises(ConfigError, match="--grade.*needs a guarantee"):
        resolve_settings(30000.0, None, None, "2B")


def test_unknown_grade_from_the_pump_file_names_the_file_and_field(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace('grade = "2B"', 'grade = "9Z"'))
    with pytest.raises(ConfigError) as caught:
        resolve_settings(30000.0, str(path))
    assert (
        str(path) in str(caught.value)
        and "guarantee.grade" in str(caught.value)
        and "9Z" in str(caught.value)
    )


def test_power_guarantee_under_a_grade_without_power_tolerance_is_refused(tmp_path: Path) -> None:
    # Every shipped grade has a power tolerance (2B: +8 %); a grade added without one refuses it.
    path = write(tmp_path, GOOD.replace("efficiency = 0.43", "power_w = 2000.0"))
    assert resolve_settings(30000.0, str(path)).guarantee.power_w == 2000.0  # type: ignore[union-attr]
    override = tmp_path / "grades.toml"
    override.write_text(
        '[grades.9X]\nclass = "2"\n'
        + "".join(
            f"{k} = {{ value = 0.05, verified = false }}\n"
            for k in ("flow_minus", "flow_plus", "head_minus", "head_plus")
        )
    )
    path = write(
        tmp_path,
        GOOD.replace("efficiency = 0.43", "power_w = 2000.0").replace('grade = "2B"', 'grade = "9X"'),
    )
    with pytest.raises(ConfigError, match="grades.9X.power_plus"):
        resolve_settings(30000.0, str(path), grade_table=str(override))


def test_grade_override_file_is_used(tmp_path: Path) -> None:
    override = tmp_path / "grades.toml"
    override.write_text("[grades.2B]\npower_plus = { value = 0.08, verified = false }\n")
    path = write(tmp_path, GOOD.replace("efficiency = 0.43", "power_w = 2000.0"))
    settings = resolve_settings(30000.0, str(path), grade_table=str(override))
    assert settings.guarantee is not None and settings.guarantee.power_w == 2000.0


@pytest.mark.parametrize("text", ["0.0004", "0.0004,abc", "0.0004,150,0.4,1", "-0.0004,150", "0.0004,150,43"])
def test_bad_guarantee_text_is_refused(text: str) -> None:
    with pytest.raises(ConfigError, match="--guarantee"):
        parse_guarantee_text(text)
