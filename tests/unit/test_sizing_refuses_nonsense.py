"""``hil optimize`` refuses nonsense with one clear line and reports infeasibility as such.

Each case goes through the command line (``hil.cli.main``): a mission or pump-model file with a
value no stage or pump can have is exit 2 with one line naming the file and the field; a problem
with no solution is exit 1 (no feasible electric design) or a baseline marked infeasible, and never
prints nan, inf or a negative mass.
"""

from __future__ import annotations

import io
import json
import math
import re
import tomllib
from importlib.resources import files
from pathlib import Path

import pytest

from hil.cli import main
from hil.model.pump_model import PumpModel

SAMPLE = Path(str(files("hil") / "data" / "lander_mission.toml"))
BASE = SAMPLE.read_text(encoding="utf-8")
NO_CEA = re.sub(r"\[engine\.cea\]\n(?:[^\[\n#].*\n)*", "", BASE)


def _with_engine_line(line: str) -> str:
    return NO_CEA.replace("[engine]\n", f"[engine]\n{line}\n", 1)


REFUSED = [
    (
        _with_engine_line("isp_s = 320.0\nisp_per_chamber_pressure_s_per_pa = -1e-4"),
        "engine.isp_per_chamber_pressure_s_per_pa",
    ),
    (
        BASE.replace("delta_v_m_s = 2000.0", "total_impulse_n_s = 1e300").replace("dry_mass_kg = 500.0", ""),
        "mission.total_impulse_n_s",
    ),
    (BASE.replace("delta_v_m_s = 2000.0", "delta_v_m_s = 1e300"), "mission.delta_v_m_s"),
    (BASE.replace("dry_mass_kg = 500.0", "dry_mass_kg = nan"), "mission.dry_mass_kg"),
    (BASE.replace("dry_mass_kg = 500.0", "dry_mass_kg = -5.0"), "mission.dry_mass_kg"),
    (BASE.replace("dry_mass_kg = 500.0", "dry_mass_kg = inf"), "mission.dry_mass_kg"),
    (
        BASE.replace("fixed_hardware_mass_kg = 15.0", "fixed_hardware_mass_kg = -15.0"),
        "engine.fixed_hardware_mass_kg",
    ),
    (BASE.replace("motor_efficiency = 0.90", "motor_efficiency = nan"), "electric.motor_efficiency"),
    (BASE.replace("motor_efficiency = 0.90", "motor_efficiency = 1.5"), "electric.motor_efficiency"),
    (BASE.replace("c_star_efficiency = 0.97", "c_star_efficiency = 2.0"), "engine.cea.c_star_efficiency"),
    (_with_engine_line("isp_s = 1e300"), "engine.isp_s"),
    (BASE.replace("thrust_n = 4000.0", "thrust_n = inf"), "engine.thrust_n"),
    (
        BASE.replace(
            'material = "Ti-6Al-4V"',
            'material = { name = "x", density_kg_m3 = 4430.0, allowable_stress_pa = 1e-300 }',
        ),
        "tanks.material.allowable_stress_pa",
    ),
]


def _run(tmp_path: Path, mission_text: str, *extra: str) -> tuple[int, str, str, dict | None]:
    mission = tmp_path / "mission.toml"
    mission.write_text(mission_text, encoding="utf-8")
    tomllib.loads(mission_text)  # the case is valid TOML: the refusal is the reader's, not the parser's
    report = tmp_path / "report.json"
    out = io.StringIO()
    status = main(["optimize", "--mission", str(mission), "--json", str(report), *extra], out=out)
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else None
    return status, out.getvalue(), str(mission), data


@pytest.mark.parametrize(("text", "field"), REFUSED, ids=[f for _, f in REFUSED])
def test_nonsense_mission_values_are_one_line_naming_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, field: str
) -> None:
    status, out, mission, data = _run(tmp_path, text)
    err = capsys.readouterr().err
    assert status == 2 and data is None and out == ""
    assert err.startswith(f"hil: error: {mission}: {field}:") and err.count("\n") == 1
    assert "Traceback" not in err


def _masses(report: dict) -> list[float]:
    found: list[float] = []

    def walk(node: object, key: str = "") -> None:
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, k)
        elif isinstance(node, list):
            for v in node:
                walk(v, key)
        elif (
            isinstance(node, float)
            and key.endswith("_kg")
            and not any(
                word in key
                for word in ("delta", "change", "saving")  # differences may be negative
            )
        ):
            found.append(node)

    walk(report)
    return found


def test_an_impossible_delta_v_is_infeasible_for_both_options_without_nan(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _, report = _run(tmp_path, BASE.replace("delta_v_m_s = 2000.0", "delta_v_m_s = 20000.0"))
    assert "Traceback" not in capsys.readouterr().err
    assert status == 1  # no feasible electric-pump-fed design
    assert report is not None and report["electric_pump_fed"] is None
    assert "rocket equation closes" in report["infeasible_reason"]
    assert report["pressure_fed"]["feasible"] is False and report["pressure_fed"]["total_mass_kg"] is None
    assert "No feasible electric-pump-fed design" in out and "No feasible pressure-fed baseline" in out
    assert not re.search(r"\bnan\b|\binf\b", out, re.IGNORECASE)
    assert all(math.isfinite(m) and m >= 0 for m in _masses(report))


def test_a_baseline_that_cannot_close_is_named_and_the_electric_answer_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # A 15 bar bottle cannot feed a regulator that must deliver the pressure-fed tanks' 9 bar plus its
    # 10 bar drop; the pump-fed tanks at 1.5 bar need only 11.5 bar.
    status, out, _, report = _run(
        tmp_path, BASE.replace("storage_pressure_pa = 28.0e6", "storage_pressure_pa = 1.5e6")
    )
    assert "Traceback" not in capsys.readouterr().err
    assert status == 0 and report is not None
    pf = report["pressure_fed"]
    assert pf["feasible"] is False and "pressurant bottle pressure" in pf["infeasible_reason"]
    assert report["mass_breakdown"]["pressure_fed"] is None and report["electric_saving_kg"] is None
    assert "only the electric-pump-fed option closes" in out
    assert not re.search(r"\bnan\b|\binf\b", out, re.IGNORECASE)
    assert all(math.isfinite(m) and m >= 0 for m in _masses(report))


@pytest.mark.parametrize(
    ("curve", "scale", "field", "words"),
    [
        ("eta", 2.0 / 0.45, "eta.coefficients", "efficiency 2 "),
        ("sigma3", -1.0, "sigma3.coefficients", "NPSH3 coefficient -"),
    ],
)
def test_a_pump_model_with_an_impossible_curve_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], curve: str, scale: float, field: str, words: str
) -> None:
    doc = PumpModel.default().to_dict()
    doc[curve]["coefficients"] = [c * scale for c in doc[curve]["coefficients"]]
    model = tmp_path / "pump_model.json"
    model.write_text(json.dumps(doc), encoding="utf-8")
    status, out, _, report = _run(tmp_path, BASE, "--pump-model", str(model))
    err = capsys.readouterr().err
    assert status == 2 and report is None
    assert err.startswith(f"hil: error: {model}: {field}:") and words in err and err.count("\n") == 1
