"""``hil optimize`` end to end through :func:`optimize_command` (summary text and JSON)."""

from __future__ import annotations

import dataclasses
import io
import json
from importlib.resources import files
from pathlib import Path

import pytest

from hil.core.errors import ConfigError
from hil.model.pump_model import PumpModel, save_pump_model
from hil.model.sizing.command import optimize_command

SAMPLE = Path(str(files("hil") / "data" / "lander_mission.toml"))
REQUIREMENT_KEYS = {
    "flow_m3_s",
    "pressure_rise_pa",
    "max_npsh3_m",
    "min_efficiency",
    "shaft_power_w",
    "electrical_power_w",
    "speed_rpm",
}
MASS_PARTS = (
    "usable_propellant_kg",
    "residual_and_reserve_kg",
    "fuel_tank_kg",
    "oxidiser_tank_kg",
    "pressurant_gas_kg",
    "pressurant_tank_kg",
    "pumps_kg",
    "motors_kg",
    "inverters_kg",
    "battery_kg",
    "fixed_hardware_kg",
)


@pytest.fixture(scope="module")
def default_run(sample_lander_optimisation: tuple[int, str, Path]) -> tuple[int, str, dict]:
    status, text, json_path = sample_lander_optimisation  # SAMPLE, the built-in pump model
    return status, text, json.loads(json_path.read_text(encoding="utf-8"))


def test_summary_is_readable_and_labels_the_uncalibrated_model(default_run) -> None:
    status, text, _ = default_run
    assert status == 0
    assert "UNCALIBRATED" in text
    for heading in (
        "Pump requirements",
        "Mass breakdown",
        "Sensitivity",
        "Calibration uncertainty",
        "Pareto front",
    ):
        assert heading in text
    assert "electric feed is" in text and "MMH" in text and "MON-3" in text


def test_json_has_requirements_masses_sensitivity_and_uncertainty(default_run) -> None:
    _, _, report = default_run
    assert report["pump_model"]["calibrated"] is False
    for side in ("fuel", "oxidiser"):
        req = report["pump_requirements"][side]
        assert REQUIREMENT_KEYS <= set(req)
        assert req["electrical_power_w"] > req["shaft_power_w"] > 0
        # Shaft power at full thrust is at least the hydraulic power Q dp (efficiency <= 1).
        assert req["shaft_power_w"] >= req["flow_m3_s"] * req["pressure_rise_pa"]
        assert 0 < req["min_efficiency"] <= 1
        assert req["max_npsh3_m"] >= req["predicted_npsh3_m"] * (1 - 1e-6)
    for option in ("electric_pump_fed", "pressure_fed"):
        masses = report["mass_breakdown"][option]
        assert masses["total_kg"] == pytest.approx(sum(masses[k] for k in MASS_PARTS))
    assert report["mass_breakdown"]["pressure_fed"]["battery_kg"] == 0.0
    saving = (
        report["mass_breakdown"]["pressure_fed"]["total_kg"]
        - report["mass_breakdown"]["electric_pump_fed"]["total_kg"]
    )
    assert report["electric_saving_kg"] == pytest.approx(saving)
    requirements = {s["requirement"] for s in report["sensitivity"]}
    assert {"minimum pump efficiency", "maximum NPSH3", "pressure rise", "flow", "pump speed"} <= requirements
    assert report["uncertainty"]["mass_std_kg"] > 0
    assert "uncalibrated" in report["uncertainty"]["note"]
    assert len(report["pareto_front"]) >= 2
    assert report["inputs"]["propellants"]["fuel_density_kg_m3"] == pytest.approx(875.6)
    # No mixture-ratio range in the sample: both options burn the engine's own ratio.
    nominal = report["inputs"]["engine"]["mixture_ratio"]
    assert report["pressure_fed"]["mixture_ratio"] == report["electric_pump_fed"]["mixture_ratio"] == nominal


def test_calibrated_model_file_is_named_with_its_runs(tmp_path: Path) -> None:
    model = dataclasses.replace(
        PumpModel.default(),
        calibrated=True,
        description="bench prototype P1",
        source_runs=("run-0007", "run-0008"),
    )
    path = tmp_path / "pump_model.json"
    save_pump_model(model, path)
    out = io.StringIO()
    assert optimize_command(SAMPLE, path, None, False, out) == 0
    text = out.getvalue()
    assert "calibrated" in text and "run-0007" in text
    assert "UNCALIBRATED" not in text


def test_no_feasible_design_returns_status_1(tmp_path: Path) -> None:
    text = SAMPLE.read_text(encoding="utf-8")
    assert "max_electrical_power_w = 40.0e3" in text
    mission = tmp_path / "weak.toml"
    mission.write_text(
        text.replace("max_electrical_power_w = 40.0e3", "max_electrical_power_w = 100.0"), encoding="utf-8"
    )
    json_path = tmp_path / "report.json"
    out = io.StringIO()
    assert optimize_command(mission, None, json_path, False, out) == 1
    assert "No feasible electric-pump-fed design" in out.getvalue()
    assert json.loads(json_path.read_text(encoding="utf-8"))["electric_pump_fed"] is None


def test_configuration_problems_raise_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        optimize_command(tmp_path / "absent.toml", None, None, False, io.StringIO())
    bad_model = tmp_path / "pump_model.json"
    bad_model.write_text("{}", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        optimize_command(SAMPLE, bad_model, None, False, io.StringIO())
    assert info.value.source == str(bad_model)


def test_console_and_json_say_what_drives_the_answer_and_where_isp_comes_from(default_run) -> None:
    _, text, report = default_run
    ep = report["electric_pump_fed"]
    assert "What drives the answer" in text and "Isp source: CEA" in text
    assert ep["isp_source"].startswith("CEA vacuum Isp of MMH/MON-3")
    kinds = {b["kind"] for b in ep["binding"]}
    assert "fixed" in kinds and ("bound" in kinds or "constraint" in kinds)
    for binding in ep["binding"]:
        assert binding["text"] in text
    assert set(ep["tanks_at_minimum_gauge"]) <= {"fuel tank", "oxidiser tank", "pressurant bottle"}
    assert ep["battery_discharge_rate_c"] <= 10.0 * (1 + 1e-9)  # the sample's rated 10 C
    assert report["inputs"]["engine"]["isp_source"] == ep["isp_source"]
    for side in ("fuel", "oxidiser"):
        assert report["pump_requirements"][side]["pump_power_basis"] == "shaft"  # literature default
