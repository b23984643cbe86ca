"""The virtual bench end to end: the real CLI, drivers, transports, emulators and plant.

Physics is checked against independent facts: the affinity laws (at one valve opening the system
curve K Q^2 passes through the origin, so every speed lands on the same flow coefficient, and head
must scale with speed squared and flow with speed), rho g Q H with g and rho taken independently,
the energy balance (electrical input exceeds hydraulic output), and the collapse of every point onto
one psi(phi) curve.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from CoolProp.CoolProp import PropsSI

from hil.cli import main

G = 9.80665  # standard gravity, m/s2 (CGPM 1901)
D_IMPELLER_M = 0.040  # sim bench impeller
SHORT_RUN = [
    "-p",
    "speeds_fraction=0.6,1.0",
    "-p",
    "valve_openings=0.2,0.5,1.0",
    "-p",
    "dwell_s=4",
    "-p",
    "steady_window_s=2",
]


def run_cli(tmp_path: Path, *extra: str, seed: int = 1) -> tuple[int, Path]:
    out = tmp_path / f"runs-{seed}-{len(list(tmp_path.iterdir()))}"
    code = main(
        [
            "run",
            "performance-curve",
            "--bench",
            "sim",
            "--out",
            str(out),
            "--seed",
            str(seed),
            "--quiet",
            *extra,
        ]
    )
    runs = sorted(p for p in out.iterdir() if p.is_dir()) if out.exists() else []
    return code, (runs[-1] if runs else out)


@pytest.fixture(scope="module")
def short_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    code, run_dir = run_cli(tmp_path_factory.mktemp("short"), *SHORT_RUN)
    assert code == 0
    return run_dir


def points(run_dir: Path) -> pd.DataFrame:
    return pd.read_csv(run_dir / "operating_points.csv")


def test_run_directory_has_everything_a_person_needs(short_run: Path) -> None:
    names = {p.name for p in short_run.iterdir()}
    assert {
        "metadata.json",
        "bench.toml",
        "samples.csv",
        "samples.parquet",
        "events.jsonl",
        "operating_points.csv",
    } <= names
    meta = json.loads((short_run / "metadata.json").read_text())
    assert meta["status"] == "completed"
    assert meta["instruments"]["power"].startswith("YOKOGAWA,WT310")
    assert "Keller" in meta["instruments"]["p_inlet"]
    frame = points(short_run)
    for column in (
        "speed_rpm",
        "flow_m3_s",
        "p_inlet_pa",
        "p_outlet_pa",
        "head_m",
        "electrical_power_w",
        "hydraulic_power_w",
        "overall_efficiency",
        "fluid_temperature_c",
        "flow_m3_s_std",
        "flow_m3_s_n",
    ):
        assert column in frame.columns
    assert len(frame) == 6
    samples = pd.read_parquet(short_run / "samples.parquet")
    assert np.all(np.diff(samples["time_s"]) > 0)


def test_hydraulic_power_is_rho_g_q_h(short_run: Path) -> None:
    for _, p in points(short_run).iterrows():
        rho = PropsSI("D", "T", p.fluid_temperature_c + 273.15, "P", 101325.0, "Water")
        assert p.hydraulic_power_w == pytest.approx(rho * G * p.flow_m3_s * p.head_m, rel=1e-6)


def test_electrical_power_exceeds_hydraulic_power_everywhere(short_run: Path) -> None:
    frame = points(short_run)
    assert (frame.electrical_power_w > frame.hydraulic_power_w).all()
    assert (frame.overall_efficiency < 0.7).all() and (frame.overall_efficiency > 0.05).all()


def test_affinity_laws_at_each_valve_opening(short_run: Path) -> None:
    frame = points(short_run)
    for opening, group in frame.groupby("valve_opening"):
        low, high = group.sort_values("speed_rpm").iloc[0], group.sort_values("speed_rpm").iloc[-1]
        ratio = high.speed_rpm / low.speed_rpm
        assert ratio == pytest.approx(1.0 / 0.6, rel=0.01)
        assert high.head_m / low.head_m == pytest.approx(ratio**2, rel=0.02), opening
        assert high.flow_m3_s / low.flow_m3_s == pytest.approx(ratio, rel=0.02), opening


def test_points_collapse_onto_one_psi_phi_curve(short_run: Path) -> None:
    frame = points(short_run)
    n_rev_s = frame.speed_rpm / 60.0
    phi = frame.flow_m3_s / (n_rev_s * D_IMPELLER_M**3)
    psi = G * frame.head_m / (n_rev_s**2 * D_IMPELLER_M**2)
    coefficients = np.polyfit(phi, psi, 2)
    residual = psi - np.polyval(coefficients, phi)
    assert np.max(np.abs(residual)) / psi.mean() < 0.01
    # a plausible centrifugal pump: head falls with flow; psi near 5 for this low specific speed
    assert psi.iloc[np.argmin(phi)] > psi.iloc[np.argmax(phi)]
    assert 3.0 < psi.mean() < 7.0


def test_same_seed_gives_identical_points_bit_for_bit(tmp_path: Path, short_run: Path) -> None:
    code, again = run_cli(tmp_path, *SHORT_RUN)
    assert code == 0
    assert (again / "operating_points.csv").read_bytes() == (short_run / "operating_points.csv").read_bytes()
    assert (again / "samples.csv").read_bytes() == (short_run / "samples.csv").read_bytes()


def test_another_seed_gives_other_noise(tmp_path: Path, short_run: Path) -> None:
    code, other = run_cli(tmp_path, *SHORT_RUN, seed=2)
    assert code == 0
    a, b = points(short_run), points(other)
    assert not np.array_equal(a.flow_m3_s.to_numpy(), b.flow_m3_s.to_numpy())
    assert np.allclose(a.head_m, b.head_m, rtol=0.01)


def test_speed_beyond_bench_limit_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, run_dir = run_cli(tmp_path, "-p", "speeds_fraction=1.2")
    assert code == 2
    assert not run_dir.exists()
    assert "max_speed_rpm" in capsys.readouterr().err


def test_unknown_parameter_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _ = run_cli(tmp_path, "-p", "dwel_s=3")
    assert code == 2
    assert "dwel_s" in capsys.readouterr().err


def test_procedures_are_listed_with_parameters(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["procedures"]) == 0
    listing = capsys.readouterr().out
    assert "performance-curve" in listing and "dwell_s=30" in listing


def test_measured_point_matches_the_plant_truth(short_run: Path) -> None:
    """The whole measurement chain (sensors, wire protocols, drivers, scaling, averaging) against the
    plant's exact state at the same setpoints, run without any instrument in between."""
    from simulators.plant import PlantParameters, PumpLoop

    params = PlantParameters.from_mapping(
        {"inlet_diameter_m": 0.016, "outlet_diameter_m": 0.010, "impeller_diameter_m": 0.040}, "test"
    )
    plant = PumpLoop(params, seed=0)
    plant.command_speed_rpm(30000.0)
    plant.set_valve_command(0.5)
    for step in range(1, 301):
        plant.advance_to(step * 0.1)
    truth = plant.truth()
    measured = points(short_run).query("valve_opening == 0.5 and speed_setpoint_rpm == 30000").iloc[0]
    assert measured.flow_m3_s == pytest.approx(truth.flow_m3_s, rel=0.01)
    assert measured.head_m == pytest.approx(truth.head_m, rel=0.01)
    assert measured.speed_rpm == pytest.approx(truth.speed_rpm, rel=0.002)
    assert not math.isnan(measured.electrical_power_w)
