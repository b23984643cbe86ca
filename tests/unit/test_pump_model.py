"""The pump model file: similarity scaling, envelope checks, JSON round trip and validation errors."""

from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest

from hil.core.errors import ConfigError, HilError
from hil.model.pump_model import (
    DriveEfficiencyMap,
    EnvelopeError,
    FittedPolynomial,
    PumpEnvelope,
    PumpModel,
    PumpModelError,
    load_pump_model,
    save_pump_model,
)

G = 9.80665


def _zero_cov(n: int) -> tuple[tuple[float, ...], ...]:
    return tuple(tuple(0.0 for _ in range(n)) for _ in range(n))


def _model(sigma3: FittedPolynomial | None = None, drive: DriveEfficiencyMap | None = None) -> PumpModel:
    return PumpModel(
        impeller_diameter_m=0.05,
        fluid="water",
        psi_fit=FittedPolynomial((-1000.0, 0.0, 5.0), _zero_cov(3)),
        eta_fit=FittedPolynomial(
            (-2000.0, 61.0, 0.0), _zero_cov(3)
        ),  # 0.03 at phi_max, positive over the envelope
        sigma3_fit=sigma3,
        drive=drive,
        envelope=PumpEnvelope(phi_min=0.01, phi_max=0.03, speed_rpm_min=10_000.0, speed_rpm_max=40_000.0),
        source_runs=("run-001", "run-002"),
        calibrated=True,
        description="test pump",
    )


def test_default_model_is_labelled_uncalibrated() -> None:
    model = PumpModel.default()
    assert model.calibrated is False
    assert "UNCALIBRATED" in model.description
    assert model.source_runs == ()


def test_default_model_matches_its_stated_literature_values() -> None:
    model = PumpModel.default()
    assert model.best_efficiency_phi() == pytest.approx(0.015, rel=1e-3)
    assert model.eta(0.015) == pytest.approx(0.45, rel=1e-6)
    assert model.psi(0.015) == pytest.approx(5.0, rel=1e-4)
    assert model.psi(0.0) == pytest.approx(1.1 * 5.0, rel=1e-3)  # shut-off head 1.1 x design head
    # Suction specific speed S = omega Q^0.5 / (g NPSH3)^0.75 = 2 pi phi^0.5 / sigma3^0.75 = 3.0.
    s = 2.0 * math.pi * math.sqrt(0.015) / model.sigma3(0.015) ** 0.75
    assert s == pytest.approx(3.0, rel=1e-3)
    # Tip-speed head coefficient g H / u2^2 = psi / pi^2 of about 0.5.
    assert model.psi(0.015) / math.pi**2 == pytest.approx(0.5, abs=0.02)


def test_npsh3_by_hand() -> None:
    model = _model(sigma3=FittedPolynomial((0.2,), ((0.0,),)))
    # n = 30000 rpm = 500 rev/s, D = 0.05 m: NPSH3 = 0.2 * (500 * 0.05)^2 / g = 12.7464 m
    assert model.npsh3_m(1.0e-3, 30_000.0) == pytest.approx(0.2 * 625.0 / G, rel=1e-12)


def test_npsh3_follows_the_affinity_laws() -> None:
    model = _model(sigma3=FittedPolynomial((100.0, 0.0, 0.1), _zero_cov(3)))
    d = model.impeller_diameter_m
    q1, n1 = 0.02 * (20_000 / 60.0) * d**3, 20_000.0  # phi = 0.02
    base = model.npsh3_m(q1, n1)
    # Same phi at twice the speed (flow doubled): NPSH3 scales with n^2.
    assert model.npsh3_m(2 * q1, 2 * n1) == pytest.approx(4 * base, rel=1e-12)
    # Twice the diameter at the same speed and phi (flow x 8): NPSH3 scales with D^2.
    assert model.npsh3_m(8 * q1, n1, diameter_m=2 * d) == pytest.approx(4 * base, rel=1e-12)


def test_npsh3_without_an_npsh_run_is_an_error() -> None:
    model = _model(sigma3=None)
    with pytest.raises(PumpModelError) as info:
        model.npsh3_m(1e-3, 20_000.0)
    assert isinstance(info.value, HilError)


def test_fit_standard_deviation_by_hand() -> None:
    # Variance 0.04 on the constant term only: std 0.2 everywhere; 0.01 on the linear term adds phi^2 * 0.01.
    fit = FittedPolynomial((1.0, 2.0), ((0.01, 0.0), (0.0, 0.04)))
    assert fit.std(0.0) == pytest.approx(0.2)
    assert fit.std(3.0) == pytest.approx(math.sqrt(0.04 + 9 * 0.01))
    assert fit.value(3.0, n_sigma=-2.0) == pytest.approx(5.0 - 2 * math.sqrt(0.13))
    np.testing.assert_allclose(fit.value(np.array([0.0, 1.0])), [2.0, 3.0])


def test_check_envelope() -> None:
    model = _model()
    assert model.check_envelope([0.012, 0.028], speed_rpm=[15_000.0, 35_000.0]) is None
    with pytest.raises(EnvelopeError) as info:
        model.check_envelope([0.012, 0.035])
    assert isinstance(info.value, HilError)
    assert "flow coefficient" in str(info.value) and "0.03" in str(info.value)
    with pytest.raises(EnvelopeError, match="speed"):
        model.check_envelope(0.02, speed_rpm=50_000.0)
    warning = model.check_envelope(0.005, extrapolate=True)
    assert warning is not None and "below the tested minimum" in warning


def test_drive_map_by_hand_and_held_to_its_range() -> None:
    # eta = 0.7 + 0.1 s + 0.1 l - 0.05 s l
    drive = DriveEfficiencyMap(((0.7, 0.1), (0.1, -0.05)), 30_000.0, 2_000.0, (0.2, 1.0), (0.1, 1.0))
    assert float(drive.efficiency(0.5, 0.5)) == pytest.approx(0.7 + 0.05 + 0.05 - 0.0125)
    # Beyond the tested range the map is held at the edge, never extrapolated.
    assert float(drive.efficiency(1.5, 0.5)) == pytest.approx(float(drive.efficiency(1.0, 0.5)))
    assert drive.covers([0.5, 1.0], [0.2, 0.9]) and not drive.covers([1.2], [0.5])


def test_json_round_trip(tmp_path: Path) -> None:
    drive = DriveEfficiencyMap(((0.8,),), 30_000.0, 2_000.0, (0.2, 1.0), (0.1, 1.0))
    model = _model(sigma3=FittedPolynomial((10.0, 0.1), ((1e-4, 0.0), (0.0, 1e-6))), drive=drive)
    assert PumpModel.from_json(model.to_json()) == model
    path = tmp_path / "pump_model.json"
    save_pump_model(model, path)
    assert load_pump_model(path) == model
    assert PumpModel.from_json(PumpModel.default().to_json()) == PumpModel.default()


def test_power_basis_and_bench_drive_round_trip_and_version_1_files_read_as_wire_to_water() -> None:
    bench = DriveEfficiencyMap(((0.9, 0.05), (0.02, 0.0)), 30_000.0, 1_800.0, (0.8, 1.0), (0.3, 1.2))
    shaft = dataclasses.replace(_model(), power_basis="shaft", bench_drive=bench)
    assert PumpModel.from_json(shaft.to_json()) == shaft
    assert shaft.power_basis_label == "shaft power"
    old = json.loads(_model().to_json())
    old["schema_version"] = 1
    del old["power_basis"], old["bench_drive"]
    read = PumpModel.from_json(json.dumps(old))
    assert read.power_basis == "wire_to_water" and read.bench_drive is None
    assert read.power_basis_label == "electrical power (wire-to-water)"
    old["power_basis"] = "shaft"  # a version 1 file has no such field
    with pytest.raises(ConfigError, match="power_basis"):
        PumpModel.from_json(json.dumps(old))
    bad = json.loads(shaft.to_json())
    bad["power_basis"] = "hydraulic"
    with pytest.raises(ConfigError, match="power_basis"):
        PumpModel.from_json(json.dumps(bad))


def _document() -> dict:
    return json.loads(_model(sigma3=FittedPolynomial((0.15,), ((1e-4,),))).to_json())


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d.update(extra=1), "extra"),
        (lambda d: d.pop("psi"), "psi"),
        (lambda d: d.update(schema_version=99), "schema_version"),
        (lambda d: d.update(schema="other"), "schema"),
        (lambda d: d.update(impeller_diameter_m=-0.05), "impeller_diameter_m"),
        (lambda d: d["psi"].update(covariance=[[1.0, 0.0], [0.0, 1.0]]), "psi.covariance"),
        (
            lambda d: d["eta"].update(covariance=[[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
            "eta.covariance",
        ),
        (
            lambda d: d["eta"].update(covariance=[[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]),
            "eta.covariance",
        ),
        (lambda d: d["psi"].update(coefficients=[1.0, "x", 2.0]), "psi.coefficients[1]"),
        (lambda d: d["envelope"].update(phi_max=0.001), "envelope.phi_max"),
        (lambda d: d["envelope"].pop("speed_rpm_max"), "envelope.speed_rpm_max"),
        (lambda d: d["envelope"].update(psi_min=5.0, psi_max=4.0), "envelope.psi_max"),
        (lambda d: d["envelope"].update(psi_min=5.0), "envelope.psi_max"),
        (lambda d: d["envelope"].update(psi_min=-1.0, psi_max=4.0), "envelope.psi_min"),
        (lambda d: d["sigma3"].update(extra=1), "sigma3.extra"),
        (lambda d: d.update(source_runs="run-1"), "source_runs"),
        (lambda d: d.update(drive={"coefficients": [[0.8]]}), "drive.load_fraction_range"),
    ],
)
def test_validation_errors_name_file_and_field(mutate, field: str) -> None:
    doc = _document()
    mutate(doc)
    with pytest.raises(ConfigError) as info:
        PumpModel.from_json(json.dumps(doc), source="bench/pump_model.json")
    assert info.value.source == "bench/pump_model.json"
    assert info.value.field == field
    assert "bench/pump_model.json" in str(info.value)


def test_missing_file_and_bad_json_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_pump_model(tmp_path / "absent.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_pump_model(bad)
