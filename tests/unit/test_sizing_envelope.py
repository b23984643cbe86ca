"""The optimiser warns for every pump whose duty leaves the calibrated envelope: flow coefficient,
head coefficient and speed (by tip speed, for an impeller of any size). Values are checked against
the similarity definitions computed here from the duty (flow, pressure rise, speed, diameter), not
against the warning code's own arithmetic."""

from __future__ import annotations

import dataclasses
import io
import json
import math
from pathlib import Path

import pytest

from hil.model.pump_model import PumpModel, save_pump_model
from hil.model.sizing.command import optimize_command
from hil.model.sizing.mission import load_mission
from hil.model.sizing.optimise import optimise_electric

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
LEE = EXAMPLES / "lee_2021_electric_pump_500n.toml"
KWAK = EXAMPLES / "kwak_2018_electric_pump_300s.toml"


def _one(result, pump: str, quantity: str):
    found = [e for e in result.envelope_excursions if e.pump == pump and e.quantity == quantity]
    assert len(found) == 1, result.envelope_excursions
    return found[0]


def test_flow_coefficient_below_the_calibrated_range_is_named_with_value_and_range() -> None:
    result = optimise_electric(load_mission(LEE), PumpModel.default())
    fuel = result.evaluation.fuel
    q, n_rev_s, d = float(fuel.flow_m3_s[0, 0]), float(fuel.speed_rpm[0, 0]) / 60.0, float(fuel.diameter_m[0])
    phi = q / (n_rev_s * d**3)  # flow coefficient by its definition
    warning = _one(result, "fuel", "flow coefficient")
    assert warning.value == pytest.approx(phi, rel=1e-9)
    assert phi < 0.0075
    assert (warning.calibrated_min, warning.calibrated_max) == (0.0075, 0.0225)
    assert "fuel pump: flow coefficient 0.004768 below the calibrated range 0.0075..0.0225" in warning.text
    assert any(warning.text in w for w in result.warnings)


def test_head_coefficient_outside_the_measured_range_is_named() -> None:
    inputs = load_mission(LEE)
    base = PumpModel.default()
    # A bench that measured head coefficients 5.2..5.4 only (the curve is the same).
    narrow = dataclasses.replace(base, envelope=dataclasses.replace(base.envelope, psi_min=5.2, psi_max=5.4))
    result = optimise_electric(inputs, narrow)
    ox = result.evaluation.oxidiser
    rho = inputs.propellants.oxidiser_density_kg_m3
    dp, n_rev_s, d = (
        float(ox.pressure_rise_pa[0, 0]),
        float(ox.speed_rpm[0, 0]) / 60.0,
        float(ox.diameter_m[0]),
    )
    psi = dp / (rho * n_rev_s**2 * d**2)  # head coefficient by its definition
    assert psi < 5.2
    warning = _one(result, "oxidiser", "head coefficient")
    assert warning.value == pytest.approx(psi, rel=1e-9)
    assert "below the calibrated range 5.2..5.4" in warning.text
    # Without a recorded head range (an older model file) the head coefficient is not checked.
    old = dataclasses.replace(base, envelope=dataclasses.replace(base.envelope, psi_min=None, psi_max=None))
    assert not [
        e for e in optimise_electric(inputs, old).envelope_excursions if e.quantity == "head coefficient"
    ]


def test_speed_is_checked_by_tip_speed_for_an_impeller_of_any_size() -> None:
    # Kwak's 100 kN fuel pump: 20,000 rpm is inside the bench's 5,000..90,000 rpm, but its impeller is
    # five times the tested 35 mm, so its tip speed exceeds anything the bench ran.
    result = optimise_electric(load_mission(KWAK), PumpModel.default())
    fuel = result.evaluation.fuel
    d = float(fuel.diameter_m[0])
    assert d > 0.15 and 5_000 < float(fuel.speed_rpm[0, 0]) < 90_000
    tip = math.pi * d * float(fuel.speed_rpm[0, 0]) / 60.0
    tested_max = math.pi * 0.035 * 90_000 / 60.0  # 164.9 m/s
    warning = _one(result, "fuel", "tip speed")
    assert warning.value == pytest.approx(tip, rel=1e-9) and tip > tested_max
    assert warning.calibrated_max == pytest.approx(tested_max)
    assert warning.unit == "m/s" and "20,000 rpm at its" in warning.text and "above" in warning.text


def test_envelope_warnings_reach_the_console_and_the_json(tmp_path: Path) -> None:
    base = PumpModel.default()
    narrow = dataclasses.replace(base, envelope=dataclasses.replace(base.envelope, psi_min=5.2, psi_max=5.4))
    model_path = tmp_path / "pump_model.json"
    save_pump_model(narrow, model_path)
    json_path = tmp_path / "report.json"
    out = io.StringIO()
    optimize_command(LEE, model_path, json_path, False, out)
    report = json.loads(json_path.read_text(encoding="utf-8"))
    seen = {(w["pump"], w["quantity"]) for w in report["envelope_warnings"]}
    assert {("fuel", "flow coefficient"), ("oxidiser", "head coefficient")} <= seen
    for w in report["envelope_warnings"]:
        assert set(w) >= {"pump", "quantity", "value", "unit", "calibrated_min", "calibrated_max", "text"}
        assert w["text"] in out.getvalue()
    # The model file keeps the head range it was given.
    assert json.loads(model_path.read_text(encoding="utf-8"))["envelope"]["psi_min"] == 5.2
