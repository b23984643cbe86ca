"""The bench-to-requirements loop end to end on the virtual bench: run, calibrate, optimise.

Three benches: the built-in one, one whose impeller is worn to 80 % of its efficiency
(``efficiency_degradation_fraction = 0.2``) and one that cavitates earlier (``npsh3_multiplier =
1.6``), each a copy of ``sim_bench.toml`` written into the test's directory. Each is run with short
procedures through the real CLI, calibrated with ``hil calibrate`` and sized for the sample lander
mission. The checks are physical and independent of the code: the calibrated NPSH3 and head against
the values the bench file and the plant document, the worn pump's efficiency at 80 % and its head
unchanged, NPSH3 scaled by exactly the multiplier, and the direction in which the electric-feed mass
and the pump requirements move.

To keep the wall time down the worn bench skips the NPSH3 test and is compared with the healthy
bench's performance run alone (both then take NPSH3 from the mission's assumed suction specific
speed), re-optimised through :func:`hil.model.sizing.optimise_electric`, the optimiser ``hil optimize``
runs; the healthy and the cavitating bench go through all four commands.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from hil.cli import main
from hil.model.pump_model import PumpModel, load_pump_model
from hil.model.sizing import DesignPoint, optimise_electric, size_electric_pump_fed
from tests.sizing_samples import linear_isp_sample, write_linear_isp_sample

ROOT = Path(__file__).resolve().parents[2]
SIM_BENCH = ROOT / "hil" / "data" / "sim_bench.toml"

PERFORMANCE_SHORT = [
    "-p",
    "speeds_fraction=0.5,1.0",
    "-p",
    "valve_openings=0.2,0.5,1.0",
    "-p",
    "dwell_s=4",
    "-p",
    "steady_window_s=2",
]
NPSH3_SHORT = [
    "-p",
    "flows_m3_s=0.3e-3,0.5e-3",
    "-p",
    "dwell_s=1",
    "-p",
    "steady_window_s=0.5",
    "-p",
    "reference_points=1",
]


@dataclass
class Loop:
    runs: list[Path]
    model_path: Path
    model: PumpModel
    calibrate_text: str


def degraded_bench(directory: Path, line: str) -> str:
    """A copy of the virtual bench with one plant parameter changed."""
    text = SIM_BENCH.read_text(encoding="utf-8")
    assert "\n[virtual.plant]\n" in text
    path = directory / "bench.toml"
    path.write_text(text.replace("\n[virtual.plant]\n", f"\n[virtual.plant]\n{line}\n"), encoding="utf-8")
    return str(path)


def run_and_calibrate(directory: Path, bench: str, *, npsh3: bool) -> Loop:
    runs_dir = directory / "runs"
    code = main(
        ["run", "performance-curve", "--bench", bench, "--out", str(runs_dir), "--quiet", *PERFORMANCE_SHORT],
        out=io.StringIO(),
    )
    assert code == 0
    if npsh3:
        code = main(
            ["run", "npsh3", "--bench", bench, "--out", str(runs_dir), "--quiet", *NPSH3_SHORT],
            out=io.StringIO(),
        )
        assert code == 0
    runs = sorted(p for p in runs_dir.iterdir() if p.is_dir())
    model_path = directory / "pump_model.json"
    out = io.StringIO()
    assert main(["calibrate", *map(str, runs), "--out", str(model_path)], out=out) == 0
    return Loop(runs, model_path, load_pump_model(model_path), out.getvalue())


def optimize_json(loop: Loop, directory: Path) -> dict:
    target = directory / "requirements.json"
    out = io.StringIO()
    # The sample in the regime these figures were taken in (see tests/sizing_samples.py).
    mission = write_linear_isp_sample(directory)
    code = main(
        ["optimize", "--mission", str(mission), "--pump-model", str(loop.model_path), "--json", str(target)],
        out=out,
    )
    assert code == 0, out.getvalue()
    return json.loads(target.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> tuple[Loop, dict]:
    directory = tmp_path_factory.mktemp("healthy")
    loop = run_and_calibrate(directory, "sim", npsh3=True)
    return loop, optimize_json(loop, directory)


@pytest.fixture(scope="module")
def cavitating(tmp_path_factory: pytest.TempPathFactory) -> tuple[Loop, dict]:
    directory = tmp_path_factory.mktemp("cavitating")
    loop = run_and_calibrate(directory, degraded_bench(directory, "npsh3_multiplier = 1.6"), npsh3=True)
    return loop, optimize_json(loop, directory)


@pytest.fixture(scope="module")
def worn(tmp_path_factory: pytest.TempPathFactory) -> Loop:
    directory = tmp_path_factory.mktemp("worn")
    return run_and_calibrate(
        directory, degraded_bench(directory, "efficiency_degradation_fraction = 0.2"), npsh3=False
    )


def test_the_report_holds_requirements_masses_sensitivity_and_uncertainty(healthy: tuple[Loop, dict]) -> None:
    loop, report = healthy
    assert report["feasible"] is True
    assert report["pump_model"]["calibrated"] is True
    assert report["pump_model"]["source_runs"] == [p.name for p in loop.runs]
    for propellant in ("fuel", "oxidiser"):
        req = report["pump_requirements"][propellant]
        for key in (
            "flow_m3_s",
            "pressure_rise_pa",
            "max_npsh3_m",
            "min_efficiency",
            "pump_power_w",
            "electrical_power_w",
            "speed_rpm",
            "tank_pressure_pa",
        ):
            assert req[key] > 0, key
        # a calibrated efficiency is wire-to-water: no shaft power without a torque measurement
        assert loop.model.power_basis == "wire_to_water"
        assert "power basis: electrical power (wire-to-water)" in loop.calibrate_text
        assert req["pump_power_basis"] == "electrical" and req["shaft_power_w"] is None
        assert req["predicted_npsh3_m"] <= req["max_npsh3_m"] * (1 + 1e-6)
    for option in ("electric_pump_fed", "pressure_fed"):
        breakdown = report["mass_breakdown"][option]
        parts = sum(v for k, v in breakdown.items() if k not in ("dry_kg", "total_kg"))
        assert breakdown["total_kg"] == pytest.approx(parts, rel=1e-9)
    assert {s["requirement"] for s in report["sensitivity"]} >= {"minimum pump efficiency", "maximum NPSH3"}
    assert np.isfinite(report["uncertainty"]["mass_std_kg"])
    assert set(report["uncertainty"]["mass_std_by_curve_kg"]) == {"psi", "eta", "sigma3"}


def test_calibrated_curves_match_what_the_virtual_bench_documents(healthy: tuple[Loop, dict]) -> None:
    loop, _ = healthy
    model = loop.model
    # sim_bench.toml: NPSH3 at 30,000 rpm is 2.2 / 2.7 / 3.3 m at 0.3 / 0.4 / 0.5 L/s
    for flow, npsh3 in ((0.3e-3, 2.2), (0.4e-3, 2.7), (0.5e-3, 3.3)):
        assert model.npsh3_m(flow, 30000.0) == pytest.approx(npsh3, rel=0.05)
    # simulators/plant.py: about 0.45 L/s and 200 m of head at the best point, at 30,000 rpm
    n, d = 500.0, model.impeller_diameter_m
    head = model.psi(0.45e-3 / (n * d**3)) * (n * d) ** 2 / 9.80665
    assert head == pytest.approx(200.0, rel=0.03)
    # wire to water: below the plant's best pump efficiency 0.48 (the drive loses some), not far below
    best = model.eta(model.best_efficiency_phi())
    assert 0.38 < best < 0.48
    assert model.drive is not None and model.drive.speed_fraction_range == pytest.approx((0.5, 1.0))
    assert "Envelope" in loop.calibrate_text and "Residuals" in loop.calibrate_text


def test_a_worn_impeller_lowers_efficiency_and_raises_power_and_mass(
    healthy: tuple[Loop, dict], worn: Loop, tmp_path: Path
) -> None:
    healthy_loop, _ = healthy
    performance_only = tmp_path / "healthy_performance.json"
    performance_run = next(p for p in healthy_loop.runs if p.name.endswith("_performance-curve"))
    code = main(["calibrate", str(performance_run), "--out", str(performance_only)], out=io.StringIO())
    assert code == 0
    good, bad = load_pump_model(performance_only), worn.model
    phi = np.linspace(
        max(good.envelope.phi_min, bad.envelope.phi_min) * 1.5,
        min(good.envelope.phi_max, bad.envelope.phi_max),
        5,
    )
    # the plant's wear multiplies the pump efficiency by 0.8 and leaves the head alone
    assert np.asarray(bad.eta(phi)) / np.asarray(good.eta(phi)) == pytest.approx(0.8, abs=0.025)
    assert np.asarray(bad.psi(phi)) / np.asarray(good.psi(phi)) == pytest.approx(1.0, abs=0.003)

    inputs = linear_isp_sample()
    optimum_good = optimise_electric(inputs, good)
    optimum_bad = optimise_electric(inputs, bad)
    assert optimum_good.feasible and optimum_bad.feasible
    assert optimum_bad.total_mass_kg > optimum_good.total_mass_kg + 1.0
    # the healthy optimum design, built with the worn pump: same flow and pressure rise, so the
    # electrical power grows as 1 / efficiency (energy balance)
    design: DesignPoint = optimum_good.design
    held_good = size_electric_pump_fed(inputs, design, good)
    held_bad = size_electric_pump_fed(inputs, design, bad)
    for side in ("fuel", "oxidiser"):
        p_good = getattr(held_good, side).electrical_power_w[0, 0]
        p_bad = getattr(held_bad, side).electrical_power_w[0, 0]
        assert p_bad / p_good == pytest.approx(1.0 / 0.8, rel=0.04)
    assert held_bad.total_mass_kg[0] > held_good.total_mass_kg[0]


def test_earlier_cavitation_raises_tank_pressure_and_mass(
    healthy: tuple[Loop, dict], cavitating: tuple[Loop, dict]
) -> None:
    (good_loop, good), (bad_loop, bad) = healthy, cavitating
    lo = max(good_loop.model.envelope.phi_min, bad_loop.model.envelope.phi_min)
    hi = min(good_loop.model.envelope.phi_max, bad_loop.model.envelope.phi_max)
    phi = np.linspace(lo, hi, 4)
    # NPSH3 scales by the multiplier; head and efficiency do not move
    ratio = np.asarray(bad_loop.model.sigma3(phi)) / np.asarray(good_loop.model.sigma3(phi))
    assert ratio == pytest.approx(1.6, rel=0.03)
    for curve, tolerance in (("psi", 0.003), ("eta", 0.01)):
        after = np.asarray(getattr(bad_loop.model, curve)(phi))
        assert after == pytest.approx(np.asarray(getattr(good_loop.model, curve)(phi)), rel=tolerance)

    assert bad["feasible"] is True
    assert bad["electric_pump_fed"]["total_mass_kg"] > good["electric_pump_fed"]["total_mass_kg"]
    assert bad["pressure_fed"]["total_mass_kg"] == pytest.approx(good["pressure_fed"]["total_mass_kg"])
    for side in ("fuel", "oxidiser"):
        before, after = good["pump_requirements"][side], bad["pump_requirements"][side]
        # a pump that needs more NPSH needs more tank pressure (or turns slower, a larger pump)
        assert (
            after["tank_pressure_pa"] > before["tank_pressure_pa"] * 1.05
            or after["speed_rpm"] < before["speed_rpm"] * 0.95
        )
        assert after["predicted_npsh3_m"] > before["predicted_npsh3_m"]
