"""The mission file: the sample loads, defaults apply, and every mistake names the file and field."""

from __future__ import annotations

import copy
import math
import tomllib
from importlib.resources import files
from pathlib import Path
from typing import Any

import pytest

from hil.core.errors import ConfigError
from hil.model.sizing.mission import ElectricSpec, load_mission, parse_mission

SAMPLE = Path(str(files("hil") / "data" / "lander_mission.toml"))


def _sample() -> dict[str, Any]:
    return tomllib.loads(SAMPLE.read_text(encoding="utf-8"))


def test_sample_mission_is_an_mmh_mon3_lander_of_a_few_kn_with_a_throttled_profile() -> None:
    inputs = load_mission(SAMPLE)
    assert inputs.propellants.fuel.name == "MMH"
    assert inputs.propellants.oxidiser.name == "MON-3"
    assert 1e3 <= inputs.engine.thrust_n <= 1e4
    throttles = [s.throttle for s in inputs.engine.throttle_profile]
    assert len(throttles) >= 2 and min(throttles) < 1.0
    assert math.isclose(sum(s.duration_fraction for s in inputs.engine.throttle_profile), 1.0)
    assert inputs.mission.delta_v_m_s is not None and inputs.mission.dry_mass_kg > 0
    assert inputs.source == str(SAMPLE)


def test_omitted_sections_take_the_documented_defaults() -> None:
    data = {
        "mission": {"total_impulse_n_s": 1.0e6},
        "engine": {"thrust_n": 2000.0, "isp_s": 300.0, "mixture_ratio": 1.6},
        "propellants": {"fuel": "MMH", "oxidiser": "N2O4"},
    }
    inputs = parse_mission(data, "inline.toml")
    assert inputs.electric == ElectricSpec()
    assert inputs.margins.npsh_margin == 1.3
    assert inputs.tanks.material.name == "Ti-6Al-4V"
    assert inputs.pressurant.mode == "regulated"
    assert inputs.propellants.temperature_c == 20.0
    assert [(s.duration_fraction, s.throttle) for s in inputs.engine.throttle_profile] == [(1.0, 1.0)]


def test_explicit_propellant_and_material_values() -> None:
    data = _sample()
    data["propellants"]["fuel"] = {"name": "simulant", "density_kg_m3": 900.0, "vapour_pressure_pa": 4000.0}
    del data["engine"]["cea"]  # a simulant has no thermochemistry: Isp given directly
    data["engine"]["isp_s"] = 318.0
    data["tanks"]["material"] = {"name": "maraging", "density_kg_m3": 8000.0, "allowable_stress_pa": 1.7e9}
    inputs = parse_mission(data, "m.toml")
    assert inputs.propellants.fuel_density_kg_m3 == 900.0
    assert inputs.propellants.fuel_vapour_pressure_pa == 4000.0
    assert inputs.tanks.material.allowable_stress_pa == 1.7e9


def _error(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        parse_mission(data, "missions/lander.toml")
    assert info.value.source == "missions/lander.toml"
    assert "missions/lander.toml" in str(info.value)
    return info.value


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        (("engine", "thrustt_n"), 4000.0, "engine.thrustt_n"),
        (("electric", "battery_wh"), 1.0, "electric.battery_wh"),
        (("margins", "npsh_margin"), 0.9, "margins.npsh_margin"),
        (("engine", "thrust_n"), -1.0, "engine.thrust_n"),
        (("engine", "thrust_n"), "4 kN", "engine.thrust_n"),
        (("engine", "isp_s"), True, "engine.isp_s"),
        (("tanks", "shape"), "torus", "tanks.shape"),
        (("tanks", "material"), "cheese", "tanks.material"),
        (("pressurant", "mode"), "pumped", "pressurant.mode"),
        (("bounds", "tank_pressure_pa"), [5e5, 1e5], "bounds.tank_pressure_pa"),
        (("propellants", "fuel"), "unobtainium", "propellants.fuel"),
        (("propellants", "temperature_c"), 80.0, "propellants.temperature_c"),  # MON-3 data end at 70 degC
    ],
)
def test_bad_values_name_the_field(path: tuple[str, str], value: Any, field: str) -> None:
    data = _sample()
    data[path[0]][path[1]] = value
    error = _error(data)
    assert error.field == field


def test_unknown_section_and_missing_required_fields() -> None:
    data = _sample()
    data["engines"] = {}
    assert _error(data).field == "engines"
    data = _sample()
    del data["engine"]["cea"]  # the sample's Isp source: without any, isp_s is the field to give
    assert _error(data).field == "engine.isp_s"
    data = _sample()
    del data["mission"]["dry_mass_kg"]
    assert _error(data).field == "mission.dry_mass_kg"
    data = _sample()
    data["mission"]["total_impulse_n_s"] = 1.0e6
    assert _error(data).field == "mission"


def test_throttle_profile_must_cover_the_burn() -> None:
    data = _sample()
    data["engine"]["throttle"][0]["duration_fraction"] = 0.5
    assert _error(data).field == "engine.throttle"
    data = _sample()
    data["engine"]["throttle"][1]["throttle"] = 1.5
    assert _error(data).field == "engine.throttle[1].throttle"
    data = copy.deepcopy(_sample())
    data["engine"]["throttle"][2]["level"] = 0.3
    assert _error(data).field == "engine.throttle[2].level"


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_mission(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[mission\nname = 1", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as info:
        load_mission(bad)
    assert info.value.source == str(bad)
