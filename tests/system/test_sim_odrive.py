"""The second built-in virtual bench, ``sim-odrive``: ODrive, DC supply, DMM, torque transducer.

Every procedure runs on it end to end through the command line. With the torque transducer the pump's
own efficiency and the motor-drive's are measured separately; both must agree with the plant's truth
within the uncertainty the bench file's stated accuracies give. The truth is computed here from the
plant's parameters, independently of the run: the pump's efficiency from its dimensionless curves
at the measured flow and speed, the drive's from the motor model's loss terms (copper, bridge,
switching, fixed) at the torque the pump and the bearings need in steady state.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hil.bench.config import load_bench, resolve_bench_path
from hil.cli import main
from hil.model.pump_model import load_pump_model
from simulators import pump_curves
from simulators.plant import PlantParameters
from tests.sizing_samples import write_linear_isp_sample


def run(tmp_path: Path, procedure: str, *params: str) -> Path:
    out = io.StringIO()
    args = ["run", procedure, "--bench", "sim-odrive", "--out", str(tmp_path)]
    for param in params:
        args += ["-p", param]
    assert main(args, out=out) == 0, out.getvalue()
    (directory,) = [p for p in tmp_path.iterdir() if (p / "metadata.json").exists()]
    return directory


@pytest.fixture(scope="module")
def torque_curve_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One performance curve at 80 % and 100 % speed on the torque bench, shared by the tests that
    only read it (the efficiencies against the truth, the report, the calibration): the same run
    each of them used to make for itself."""
    return run(
        tmp_path_factory.mktemp("odrive-curve"), "performance-curve", "speeds_fraction=0.8,1.0", "dwell_s=5"
    )


def drive_efficiency_truth(flow_m3_s: float, speed_rpm: float, density: float, p: PlantParameters) -> float:
    """Shaft power over DC input power of the plant's motor and controller in steady state."""
    omega = speed_rpm * math.pi / 30.0
    shaft_w = pump_curves.pump_shaft_power_w(flow_m3_s, speed_rpm, density, p)
    current_a = (shaft_w / omega + p.viscous_friction_nm_s_rad * omega + p.coulomb_friction_nm) / (
        p.torque_constant_nm_a
    )
    bus_v = p.bus_voltage_v
    for _ in range(20):  # the bus sags behind its source resistance; the switching loss follows it
        p_dc = (
            p.torque_constant_nm_a * current_a * omega
            + current_a**2 * (p.winding_resistance_ohm + p.fet_resistance_ohm)
            + p.controller_fixed_loss_w
            + p.switching_loss_w_per_v_a * bus_v * current_a
        )
        bus_v = p.bus_voltage_v - p.bus_source_resistance_ohm * p_dc / bus_v
    return shaft_w / p_dc


def test_pump_and_drive_efficiency_are_measured_separately_and_agree_with_the_truth(
    tmp_path: Path, torque_curve_run: Path
) -> None:
    directory = torque_curve_run
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["status"] == "completed"
    assert metadata["instruments"]["motor"].startswith("ODrive")
    assert "DP811A" in metadata["instruments"]["supply"]
    points = pd.read_csv(directory / "operating_points.csv")
    config = load_bench("sim-odrive")
    accuracy = config.channel_accuracy()
    params = PlantParameters.from_mapping(config.virtual.plant if config.virtual else {}, "sim-odrive")
    checked = 0
    for _, point in points.iterrows():
        if point["flow_m3_s"] < 1.5e-4:
            continue  # near shut-off the hydraulic power is small and its relative uncertainty large
        q, n = float(point["flow_m3_s"]), float(point["shaft_speed_rpm"])
        pump_truth = pump_curves.pump_efficiency(q, n, params, float(point["npsha_m"]))
        drive_truth = drive_efficiency_truth(q, n, float(point["density_kg_m3"]), params)
        # Expanded (k = 2) relative uncertainty from the stated accuracies: the head through both
        # pressures (taken at their share of the pressure rise), flow, torque, speed, electrical power.
        rise = float(point["p_outlet_pa"] - point["p_inlet_pa"])
        u_head = (
            math.hypot(
                accuracy["p_outlet_pa"] * point["p_outlet_pa"], accuracy["p_inlet_pa"] * point["p_inlet_pa"]
            )
            / rise
        )
        u_shaft = math.hypot(accuracy["shaft_torque_nm"], accuracy["shaft_speed_rpm"])
        u_pump = 2 * math.sqrt(u_head**2 + accuracy["flow_m3_s"] ** 2 + u_shaft**2)
        u_drive = 2 * math.hypot(u_shaft, accuracy["electrical_power_w"])
        assert point["pump_efficiency"] == pytest.approx(pump_truth, rel=u_pump)
        assert point["drive_efficiency"] == pytest.approx(drive_truth, rel=u_drive)
        # the separation is real: the product is the wire-to-water efficiency the bench always had
        assert point["pump_efficiency"] * point["drive_efficiency"] == pytest.approx(
            point["overall_efficiency"], rel=1e-9
        )
        checked += 1
    assert checked >= 8
    converted = pd.read_csv(directory / "points_converted.csv")
    assert (converted["u_pump_efficiency"] > 0).all() and (converted["u_drive_efficiency"] > 0).all()
    assert main(["report", str(directory), "--out", str(tmp_path / "report.html")], out=io.StringIO()) == 0
    assert "Shaft power: pump and drive efficiency" in (tmp_path / "report.html").read_text()
    # the best point of the pump's own curve is the plant's 0.48, well above the wire-to-water 0.45
    assert points["pump_efficiency"].max() == pytest.approx(0.48, abs=0.005)


def test_the_npsh3_procedure_runs_on_the_odrive_bench(tmp_path: Path) -> None:
    directory = run(tmp_path, "npsh3", "flows_m3_s=0.0004", "dwell_s=3")
    metadata = json.loads((directory / "metadata.json").read_text())
    assert metadata["status"] == "completed", metadata.get("reason")
    npsh3 = pd.read_csv(directory / "npsh3.csv")
    assert npsh3["npsh3_m"].iloc[0] == pytest.approx(2.7, abs=0.3)  # the plant's NPSH3 at 0.4 L/s


def test_a_trip_cuts_the_supply_after_idling_the_drive(tmp_path: Path) -> None:
    out = io.StringIO()
    code = main(
        [
            "run", "performance-curve", "--bench", "sim-odrive", "--out", str(tmp_path),
            "-p", "speeds_fraction=1.0", "-p", "dwell_s=3", "--fault", "overpressure@4",
        ],
        out=out,
    )  # fmt: skip
    assert code == 3
    (directory,) = [p for p in tmp_path.iterdir() if (p / "metadata.json").exists()]
    events = [json.loads(line) for line in (directory / "events.jsonl").read_text().splitlines()]
    safe = next(e for e in events if e.get("kind", e.get("event")) == "safe_state")
    commanded = safe["commanded"]
    assert commanded[0] == "motor" and "supply" in commanded
    samples = pd.read_parquet(directory / "samples.parquet")
    assert samples["supply_output_on"].iloc[-1] == 0.0
    assert samples["drive_axis_state"].iloc[-1] == 1.0  # idle: the motor coasts


@pytest.mark.parametrize(("emulated", "declared", "answers"), [("0.5", "0.5", True), ("0.6", "0.5", False)])
def test_the_firmware_generation_is_an_option_and_must_match_the_controller(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], emulated: str, declared: str, answers: bool
) -> None:
    text = resolve_bench_path("sim-odrive").read_text()
    text = text.replace('instruments = "odrive-0.6"', f'instruments = "odrive-{emulated}"')
    text = text.replace('firmware = "0.6"', f'firmware = "{declared}"')
    bench = tmp_path / "odrive_bench.toml"
    bench.write_text(text)
    out = io.StringIO()
    code = main(["bench", "check", "--bench", str(bench)], out=out)
    if answers:
        assert code == 0 and f"fw {emulated}." in out.getvalue()
    else:
        assert code == 1
        err = capsys.readouterr().err
        assert "motor" in err and f"firmware {emulated}" in err and f"firmware = '{declared}'" in err


def test_calibrating_a_torque_bench_run_recovers_the_plant_pump_efficiency(
    tmp_path: Path, torque_curve_run: Path
) -> None:
    """With torque on every point the model is the pump's own efficiency, labelled shaft power.

    The truth is the plant's dimensionless efficiency curve (its parameters, not the run), evaluated at
    the same flow coefficients; it must lie within the model's stated 2-sigma band, which includes the
    stated accuracies of flow, pressures, torque and speed as a common systematic part.
    """
    directory = torque_curve_run
    target = tmp_path / "pump_model.json"
    out = io.StringIO()
    assert main(["calibrate", str(directory), "--out", str(target)], out=out) == 0, out.getvalue()
    assert "power basis: shaft power" in out.getvalue() and "eta (pump)" in out.getvalue()
    model = load_pump_model(target)
    assert model.power_basis == "shaft" and model.power_basis_label == "shaft power"
    assert model.drive is None  # the sizing model puts its own motor and inverter behind the pump
    assert model.bench_drive is not None
    config = load_bench("sim-odrive")
    params = PlantParameters.from_mapping(config.virtual.plant if config.virtual else {}, "sim-odrive")
    diameter = params.impeller_diameter_m
    rpm = 30000.0
    for phi in np.linspace(model.envelope.phi_min, model.envelope.phi_max, 7):
        truth = pump_curves.pump_efficiency(phi * rpm / 60.0 * diameter**3, rpm, params)
        std = float(model.eta_fit.std(phi))
        assert 0.0 < std < 0.01  # a usable uncertainty, not a wide band that passes anything
        assert abs(float(model.eta(phi)) - truth) < 2.0 * std, (phi, float(model.eta(phi)), truth, std)
    assert model.eta(params.best_efficiency_flow_coefficient) == pytest.approx(
        params.best_efficiency, abs=0.005
    )
    # the bench drive's measured efficiency against the motor model's truth at the tested points
    points = pd.read_csv(directory / "operating_points.csv")
    accuracy = config.channel_accuracy()
    u_drive = 2 * math.sqrt(
        accuracy["shaft_torque_nm"] ** 2
        + accuracy["shaft_speed_rpm"] ** 2
        + accuracy["electrical_power_w"] ** 2
    )
    drive = model.bench_drive
    for _, point in points.iterrows():
        q, n = float(point["flow_m3_s"]), float(point["shaft_speed_rpm"])
        truth = drive_efficiency_truth(q, n, float(point["density_kg_m3"]), params)
        fitted = float(
            drive.efficiency(n / drive.rated_speed_rpm, point["shaft_power_w"] / drive.rated_power_w)
        )
        assert fitted == pytest.approx(truth, rel=u_drive)
    # sized with it, the pump's power is shaft power and the mission's motor and inverter follow
    mission = write_linear_isp_sample(tmp_path)
    report_path = tmp_path / "requirements.json"
    code = main(
        ["optimize", "--mission", str(mission), "--pump-model", str(target), "--json", str(report_path)],
        out=io.StringIO(),
    )
    assert code == 0
    report = json.loads(report_path.read_text())
    assert report["pump_model"]["power_basis"] == "shaft power"
    for side in ("fuel", "oxidiser"):
        req = report["pump_requirements"][side]
        assert req["pump_power_basis"] == "shaft" and req["shaft_power_w"] > 0
        assert req["electrical_power_w"] == pytest.approx(req["shaft_power_w"] / (0.90 * 0.95), rel=1e-6)
