"""Acceptance on the virtual bench: the healthy simulated pump meets its guarantee at grade 2B, a worn
one does not, and every such run replays exactly.

Independent facts: the plant's head curve from its own reference function
(:func:`simulators.pump_curves.clean_head_m`, no instrument in between) gives the head at Q_G and the
flow at which the head is H_G; the wear parameters scale the head by (1 - head wear) and the pump
efficiency by (1 - efficiency wear).
"""

from __future__ import annotations

import io
import json
import math
import shutil
from pathlib import Path
from typing import Any

import pytest

from hil.bench.config import resolve_bench_path
from hil.cli import EXIT_FAIL, EXIT_INVALID, main
from simulators.plant import PlantParameters
from simulators.pump_curves import clean_head_m

SIM_PUMP = str(Path(__file__).resolve().parents[2] / "hil" / "data" / "sim_pump.toml")
Q_G, H_G, ETA_G = 0.00045, 200.0, 0.43  # as in hil/data/sim_pump.toml
# Two speeds, openings that put points on both sides of Q_G (three of them within +-10 % at each speed).
ACCEPTANCE_RUN = [
    "-p",
    "speeds_fraction=0.8,1.0",
    "-p",
    "valve_openings=0.3,0.6,0.85,0.88,0.9,1.0",
    "-p",
    "dwell_s=4",
    "-p",
    "steady_window_s=2",
]


def bench_with_plant(tmp_path: Path, **plant: float) -> str:
    """A copy of the built-in virtual bench with [virtual.plant] overrides."""
    text = resolve_bench_path("sim").read_text()
    lines = "".join(f"{key} = {value!r}\n" for key, value in plant.items())
    assert "[virtual.plant]\n" in text
    path = tmp_path / "bench.toml"
    path.write_text(text.replace("[virtual.plant]\n", "[virtual.plant]\n" + lines))
    return str(path)


def run(tmp_path: Path, bench: str) -> tuple[int, Path, str, dict[str, Any]]:
    out = io.StringIO()
    code = main(
        [
            "run",
            "performance-curve",
            "--bench",
            bench,
            "--out",
            str(tmp_path / "runs"),
            "--quiet",
            "--pump",
            SIM_PUMP,
            *ACCEPTANCE_RUN,
        ],
        out=out,
    )
    run_dir = sorted(p for p in (tmp_path / "runs").iterdir() if p.is_dir())[-1]
    document = json.loads((run_dir / "acceptance.json").read_text())
    return code, run_dir, out.getvalue(), document


def verdict(document: dict[str, Any], quantity: str) -> dict[str, Any]:
    return next(v for v in document["verdicts"] if v["quantity"] == quantity)


def plant_head_m(flow_m3_s: float, head_wear: float = 0.0) -> float:
    return clean_head_m(flow_m3_s, 30000.0, PlantParameters()) * (1.0 - head_wear)


def plant_flow_at_head_m3_s(head_m: float) -> float:
    """Invert the plant's head parabola (its linear coefficient is 0): g H = psi0 (nD)^2 + psi2 Q^2 / D^4."""
    p = PlantParameters()
    n, d, g = 500.0, p.impeller_diameter_m, 9.80665
    assert p.head_coefficient_linear == 0.0
    return math.sqrt(
        (g * head_m - p.head_coefficient_shutoff * (n * d) ** 2) * d**4 / p.head_coefficient_quadratic
    )


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str, dict[str, Any]]:
    return run(tmp_path_factory.mktemp("healthy"), "sim")


def test_healthy_pump_passes_its_guarantee_at_grade_2b(
    healthy: tuple[int, Path, str, dict[str, Any]],
) -> None:
    code, run_dir, output, document = healthy
    assert code == 0
    assert "acceptance at Q_G = 0.45 L/s, H_G = 200 m" in output and "RESULT: PASS" in output
    assert document["passed"] and document["valid"] and document["grade"]["name"] == "2B"
    head, flow = verdict(document, "head"), verdict(document, "flow")
    # the measured curve at Q_G against the plant's own head there (about 200.5 m)
    assert head["measured"] == pytest.approx(plant_head_m(Q_G), rel=0.005)
    assert flow["measured"] == pytest.approx(plant_flow_at_head_m3_s(H_G), rel=0.005)
    assert verdict(document, "efficiency")["measured"] >= ETA_G * 0.95
    meta = json.loads((run_dir / "metadata.json").read_text())
    assert meta["acceptance_settings"]["grade"] == "2B"
    assert meta["acceptance_settings"]["guarantee"]["head_m"] == H_G
    assert meta["acceptance_settings"]["pump"]["serial"] == "SIM-0001"


def test_worn_impeller_fails_head_and_flow(
    tmp_path: Path, healthy: tuple[int, Path, str, dict[str, Any]]
) -> None:
    code, run_dir, output, document = run(tmp_path, bench_with_plant(tmp_path, head_degradation_fraction=0.1))
    assert code == EXIT_FAIL  # the run itself completed; the pump failed: exit status 4
    assert "RESULT: FAIL" in output
    head, flow = verdict(document, "head"), verdict(document, "flow")
    # 10 % less head everywhere: about 180 m at Q_G, beyond even the small-pump -8 %
    assert head["measured"] == pytest.approx(plant_head_m(Q_G, head_wear=0.1), rel=0.005)
    assert not head["passed"] and not flow["passed"]
    assert not document["guarantees_met"] and not document["passed"]
    assert head["measured"] / verdict(healthy[3], "head")["measured"] == pytest.approx(0.9, rel=0.005)
    assert main(["replay", str(run_dir)], out=io.StringIO()) == EXIT_FAIL  # replays exactly, still FAIL


def test_worn_pump_efficiency_fails_the_efficiency_guarantee_only(
    tmp_path: Path, healthy: tuple[int, Path, str, dict[str, Any]]
) -> None:
    code, run_dir, output, document = run(
        tmp_path, bench_with_plant(tmp_path, efficiency_degradation_fraction=0.1)
    )
    assert code == EXIT_FAIL and "RESULT: FAIL" in output
    assert verdict(document, "head")["passed"] and verdict(document, "flow")["passed"]
    eta = verdict(document, "efficiency")
    assert not eta["passed"] and eta["measured"] < ETA_G * 0.95
    # the pump's own efficiency falls by 10 %; the motor's losses grow with the extra power, so the
    # overall efficiency falls by at least that much
    assert eta["measured"] < 0.905 * verdict(healthy[3], "efficiency")["measured"]
    assert main(["replay", str(run_dir)], out=io.StringIO()) == EXIT_FAIL  # replays exactly, still FAIL


def test_a_guarantee_typed_in_litres_per_second_gets_a_units_hint(
    healthy: tuple[int, Path, str, dict[str, Any]], tmp_path: Path
) -> None:
    """0.45 meant in L/s but typed bare (m3/s): 1000 times the tested flows, NOT JUDGED with the hint."""
    copy = tmp_path / healthy[1].name
    shutil.copytree(healthy[1], copy)
    out = io.StringIO()
    code = main(["replay", str(copy), "--guarantee", "0.45,200"], out=out)
    assert code == EXIT_INVALID, out.getvalue()
    assert "RESULT: NOT JUDGED" in out.getvalue()
    assert "was it typed in another unit?" in out.getvalue()
    document = json.loads(next(copy.glob("replay-*/acceptance.json")).read_text())
    assert document["verdict"] == "NOT JUDGED"
    (reason,) = [r for r in document["verdict_reasons"] if "another unit" in r]
    factor = float(reason.split(" times off")[0].rsplit(" ", 1)[-1])
    assert 500 < factor < 2000  # 0.45 m3/s against tested flows of a few tenths of a L/s
    # the same guarantee with its unit is judged, and the healthy pump passes it
    second = tmp_path / "with-units"
    shutil.copytree(healthy[1], second)
    assert main(["replay", str(second), "--guarantee", "0.45 L/s, 200 m"], out=io.StringIO()) == 0


def test_healthy_run_replays_exactly(healthy: tuple[int, Path, str, dict[str, Any]]) -> None:
    out = io.StringIO()
    assert main(["replay", str(healthy[1])], out=out) == 0
    assert "acceptance.json" in out.getvalue() and "equals the recorded results exactly" in out.getvalue()
