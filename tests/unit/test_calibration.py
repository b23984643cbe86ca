"""Calibration: the fits recover known curves within their stated uncertainty, and the file layer.

Truth is constructed by hand, independently of the code: a head curve ``psi = 5.8 - 4500 phi^2``, a
wire-to-water efficiency ``E(phi) = 0.45 x (phi/0.014)(2 - phi/0.014)`` (peak 0.45 at phi 0.014,
zero at zero flow), a drive factor ``1 + (s - 1)(0.2 - 0.3 l)`` and NPSH3 ``1.557 + 7.14 Q^2`` (Q in
L/s) at 30,000 rpm. Noise is Gaussian with a known sigma, stated to the fit as the points' standard
deviations and counts. "Within the stated uncertainty" is tested statistically: over many noisy
realisations the pulls ``(fit - truth) / sigma`` must have a standard deviation near 1 (too large:
the uncertainty is understated; too small: overstated) and a mean near 0.
"""

from __future__ import annotations

import io
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hil.cli import main
from hil.core.errors import ConfigError
from hil.model.calibration import calibrate, calibrate_runs, fit_psi, fit_sigma3, fit_wire_to_water
from hil.model.calibration.quality import CHI2_PER_DOF_WARNING, fit_quality_warnings
from hil.model.calibration.summary import format_calibration
from hil.model.pump_model import EnvelopeError, load_pump_model

G = 9.80665
RHO = 998.2
D = 0.040
SIM_BENCH = Path(__file__).resolve().parents[2] / "hil" / "data" / "sim_bench.toml"
PHI_B = 0.014


def psi_true(phi: np.ndarray) -> np.ndarray:
    return 5.8 - 4500.0 * phi**2


def eta_true(phi: np.ndarray) -> np.ndarray:
    x = phi / PHI_B
    return 0.45 * x * (2.0 - x)


def drive_true(s: np.ndarray, load: np.ndarray) -> np.ndarray:
    return 1.0 + (s - 1.0) * (0.2 - 0.3 * load)


def npsh3_true(flow_m3_s: np.ndarray) -> np.ndarray:
    q_l_s = np.asarray(flow_m3_s) * 1e3
    return 1.557 + 7.14 * q_l_s**2


def rated_power_w(speed_rpm: float) -> float:
    """Shaft-power equivalent at best efficiency at the reference speed: rho n^3 D^5 phi psi / E."""
    n = speed_rpm / 60.0
    return RHO * n**3 * D**5 * PHI_B * float(psi_true(np.array(PHI_B))) / float(eta_true(np.array(PHI_B)))


# ------------------------------------------------------------------------------ pure fits


def test_psi_fit_pulls_are_unit_normal() -> None:
    rng = np.random.default_rng(7)
    phi = np.tile(np.linspace(0.004, 0.018, 8), 2)
    sigma = 0.004  # absolute, psi units
    probe = np.array([0.006, 0.011, 0.016])
    pulls = []
    for _ in range(300):
        y = psi_true(phi) + rng.normal(0.0, sigma, phi.size)
        fit = fit_psi(phi, y, sigma)
        pulls.append((fit.polynomial.value(probe) - psi_true(probe)) / fit.polynomial.std(probe))
    pulls = np.array(pulls)
    assert abs(pulls.mean()) < 0.15
    assert 0.75 < pulls.std() < 1.15


def test_understated_point_uncertainty_is_caught_by_the_scatter() -> None:
    """Points scattering 5x more than stated: the Birge ratio scales the covariance up to match."""
    rng = np.random.default_rng(11)
    phi = np.tile(np.linspace(0.004, 0.018, 8), 2)
    stated, actual = 0.001, 0.005
    probe = np.array([0.011])
    pulls, scales = [], []
    for _ in range(300):
        fit = fit_psi(phi, psi_true(phi) + rng.normal(0.0, actual, phi.size), stated)
        pulls.append((fit.polynomial.value(probe) - psi_true(probe)) / fit.polynomial.std(probe))
        scales.append(fit.summary.birge_scale)
    assert np.median(scales) == pytest.approx(25.0, rel=0.3)  # (actual / stated)^2
    assert 0.75 < np.std(pulls) < 1.2


def test_wire_to_water_fit_recovers_eta_and_drive_within_stated_uncertainty() -> None:
    rng = np.random.default_rng(3)
    phi_grid = np.linspace(0.003, 0.018, 6)
    phi = np.concatenate([phi_grid, phi_grid])
    s = np.concatenate([np.full(6, 0.6), np.full(6, 1.0)])
    load = s**3 * (psi_true(phi) * phi / eta_true(phi)) / (psi_true(PHI_B) * PHI_B / eta_true(PHI_B))
    truth = eta_true(phi) * drive_true(s, load)
    rel_sigma = 0.003
    probe = np.array([0.005, 0.010, 0.016])
    eta_pulls, drive_pulls = [], []
    for _ in range(300):
        y = truth * (1.0 + rng.normal(0.0, rel_sigma, phi.size))
        fit = fit_wire_to_water(phi, y, rel_sigma * truth, s, load)
        eta_pulls.append((fit.eta.value(probe) - eta_true(probe)) / fit.eta.std(probe))
        part = s < 1
        drive_pulls.append((fit.drive_values[part] - drive_true(s, load)[part]) / fit.drive_std[part])
    eta_pulls, drive_pulls = np.array(eta_pulls), np.array(drive_pulls)
    assert abs(eta_pulls.mean()) < 0.15 and 0.75 < eta_pulls.std() < 1.15
    assert abs(drive_pulls.mean()) < 0.15 and 0.75 < drive_pulls.std() < 1.15


def test_wire_to_water_fit_is_exact_on_noise_free_data_and_drive_is_one_at_reference_speed() -> None:
    phi_grid = np.linspace(0.003, 0.018, 5)
    phi = np.concatenate([phi_grid, phi_grid])
    s = np.concatenate([np.full(5, 0.5), np.full(5, 1.0)])
    load = np.concatenate([np.linspace(0.05, 0.15, 5), np.linspace(0.5, 1.2, 5)])
    y = eta_true(phi) * drive_true(s, load)
    fit = fit_wire_to_water(phi, y, 1e-6 * y, s, load)
    assert fit.eta.value(0.012) == pytest.approx(float(eta_true(np.array(0.012))), rel=1e-7)
    assert fit.eta.value(0.0) == 0.0  # no flow, no hydraulic power
    for load_fraction in (0.1, 0.5, 1.3):
        assert fit.drive(1.0, load_fraction) == pytest.approx(1.0, abs=1e-12)
    assert fit.drive(0.5, 0.1) == pytest.approx(1.0 - 0.5 * (0.2 - 0.03), rel=1e-7)
    # polyval2d layout: coefficients[i][j] multiplies s^i l^j
    c = np.asarray(fit.drive_coefficients)
    assert float(np.polynomial.polynomial.polyval2d(0.7, 0.4, c)) == pytest.approx(
        1.0 - 0.3 * (0.2 - 0.12), rel=1e-7
    )


def test_one_speed_gives_a_flat_drive_factor() -> None:
    phi = np.linspace(0.003, 0.018, 6)
    y = eta_true(phi)
    fit = fit_wire_to_water(phi, y, 1e-3 * y, np.ones(6), np.linspace(0.4, 1.2, 6))
    assert np.asarray(fit.drive_coefficients).tolist() == [[1.0]]


def test_systematic_scale_errors_enter_the_covariance_as_hand_derived() -> None:
    """A 1 % gain error on psi is 1 % of psi everywhere; a 2 % one on phi moves psi by 2 % phi |psi'|."""
    phi = np.linspace(0.004, 0.018, 8)
    y = psi_true(phi)
    tiny = 1e-9
    on_value = fit_psi(phi, y, tiny, systematic_relative_psi=0.01)
    on_phi = fit_psi(phi, y, tiny, systematic_relative_phi=0.02)
    for p in (0.006, 0.012, 0.017):
        assert on_value.polynomial.std(p) == pytest.approx(0.01 * (5.8 - 4500 * p * p), rel=1e-4)
        assert on_phi.polynomial.std(p) == pytest.approx(0.02 * p * 9000 * p, rel=1e-4)


def test_sigma3_fit_through_exact_points() -> None:
    q = np.array([0.3e-3, 0.4e-3, 0.5e-3])
    n = 500.0
    phi = q / (n * D**3)
    sigma3 = G * npsh3_true(q) / (n * D) ** 2
    fit = fit_sigma3(phi, sigma3, 1e-3 * sigma3)
    q_mid = 0.45e-3
    assert fit.polynomial.value(q_mid / (n * D**3)) * (n * D) ** 2 / G == pytest.approx(
        1.557 + 7.14 * 0.45**2, rel=1e-9
    )


# ------------------------------------------------------------------------------ run directories


def _bench_text(diameter_m: float = D) -> str:
    text = SIM_BENCH.read_text(encoding="utf-8")
    return text.replace("impeller_diameter_m = 0.040", f"impeller_diameter_m = {diameter_m}")


def write_run(
    directory: Path,
    *,
    speeds_rpm: tuple[float, ...] = (18000.0, 30000.0),
    phi_grid: np.ndarray | None = None,
    status: str = "completed",
    noise_rel: float = 0.0,
    seed: int = 0,
    npsh3_flows: tuple[float, ...] = (),
    sweep_rows: bool = False,
    diameter_m: float = D,
    accuracy: dict[str, float] | None = None,
) -> Path:
    """A run directory as the run store writes it, from the hand-made truth."""
    directory.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    phi_grid = np.linspace(0.003, 0.018, 6) if phi_grid is None else phi_grid
    rows = []
    reference = max(speeds_rpm)
    count = 40.0
    for rpm in speeds_rpm:
        n = rpm / 60.0
        s = rpm / reference
        for phi in phi_grid:
            q = phi * n * diameter_m**3
            head = float(psi_true(np.array(phi))) * (n * diameter_m) ** 2 / G
            p_h = RHO * G * q * head
            load = p_h / float(eta_true(np.array(phi))) / rated_power_w(reference)
            eta_ww = float(eta_true(np.array(phi)) * drive_true(np.array(s), np.array(load)))
            p_el = p_h / eta_ww
            noise = 1.0 + noise_rel * rng.normal(size=3)
            rows.append(
                {
                    "speed_rpm": rpm,
                    "speed_rpm_std": 0.0,
                    "speed_rpm_n": count,
                    "flow_m3_s": q * noise[0],
                    "flow_m3_s_std": noise_rel * q * math.sqrt(count),
                    "flow_m3_s_n": count,
                    "p_inlet_pa": 1.0e5,
                    "p_outlet_pa": 1.0e5 + RHO * G * head,
                    "electrical_power_w": p_el * noise[1],
                    "electrical_power_w_std": noise_rel * p_el * math.sqrt(count),
                    "electrical_power_w_n": count,
                    "density_kg_m3": RHO,
                    "head_m": head * noise[2],
                    "head_m_std": noise_rel * head * math.sqrt(count),
                    "head_m_n": count,
                    "hydraulic_power_w": RHO * G * q * noise[0] * head * noise[2],
                }
            )
    if sweep_rows:
        for row in rows:
            row["npsh_role"] = "reference"
        cavitating = dict(rows[-1], npsh_role="sweep")
        cavitating["head_m"] *= 0.5  # deep in breakdown: must never reach the head fit
        cavitating["hydraulic_power_w"] *= 0.5
        rows.append(cavitating)
    pd.DataFrame(rows).to_csv(directory / "operating_points.csv", index=False)
    if npsh3_flows:
        q = np.array(npsh3_flows)
        pd.DataFrame(
            {
                "npsh_series": range(q.size),
                "flow_target_m3_s": q,
                "flow_m3_s": q,
                "speed_rpm": 30000.0,
                "npsh3_m": npsh3_true(q),
                "npsh3_uncertainty_m": 0.02,
                "status": "ok",
            }
        ).to_csv(directory / "npsh3.csv", index=False)
    metadata = {
        "procedure": "performance-curve",
        "status": status,
        "reason": "" if status == "completed" else "trip",
        "accuracy": accuracy if accuracy is not None else {},
    }
    (directory / "metadata.json").write_text(json.dumps(metadata), encoding="utf-8")
    (directory / "bench.toml").write_text(_bench_text(diameter_m), encoding="utf-8")
    return directory


def test_calibrate_recovers_the_curves_from_noisy_runs(tmp_path: Path) -> None:
    runs = [write_run(tmp_path / f"run{i}", noise_rel=0.002, seed=i) for i in range(2)]
    result = calibrate_runs(runs)
    model = result.model
    assert model.calibrated and model.impeller_diameter_m == D and model.fluid == "water"
    assert model.source_runs == ("run0", "run1")
    for phi in (0.005, 0.010, 0.015):
        assert abs(model.psi(phi) - psi_true(np.array(phi))) < 3 * model.psi_fit.std(phi)
        assert abs(model.eta(phi) - eta_true(np.array(phi))) < 3 * model.eta_fit.std(phi)
        assert model.eta_fit.std(phi) < 0.01  # and the uncertainty is not uselessly large
    drive = model.drive
    assert drive is not None and drive.rated_speed_rpm == pytest.approx(30000.0)
    assert drive.speed_fraction_range == pytest.approx((0.6, 1.0))
    assert drive.rated_power_w == pytest.approx(rated_power_w(30000.0), rel=0.02)
    assert float(drive.efficiency(0.6, 0.15)) == pytest.approx(1.0 - 0.4 * (0.2 - 0.045), abs=0.01)
    assert result.fits["psi"].points == 24


def test_envelope_is_the_tested_range_and_the_model_refuses_outside(tmp_path: Path) -> None:
    phi_grid = np.array([0.004, 0.008, 0.012, 0.016])
    model = calibrate([write_run(tmp_path / "r", phi_grid=phi_grid)])
    env = model.envelope
    assert (env.phi_min, env.phi_max) == pytest.approx((0.004, 0.016), rel=1e-9)
    assert (env.speed_rpm_min, env.speed_rpm_max) == (18000.0, 30000.0)
    # The head coefficients measured: the noise-free points lie on psi = 5.8 - 4500 phi^2.
    assert (env.psi_min, env.psi_max) == pytest.approx(
        (5.8 - 4500.0 * 0.016**2, 5.8 - 4500.0 * 0.004**2), rel=1e-6
    )
    assert model.check_envelope([0.005, 0.015], [20000.0]) is None
    with pytest.raises(EnvelopeError, match="above the tested maximum"):
        model.check_envelope(0.017)
    with pytest.raises(EnvelopeError, match="speed"):
        model.check_envelope(0.01, 40000.0)
    warning = model.check_envelope(0.017, extrapolate=True)
    assert warning is not None and "extrapolated" in warning


def test_npsh3_runs_give_sigma3_and_narrow_the_envelope(tmp_path: Path) -> None:
    perf = write_run(tmp_path / "perf")
    npsh = write_run(
        tmp_path / "npsh",
        speeds_rpm=(30000.0,),
        phi_grid=np.array([0.01, 0.014]),
        npsh3_flows=(0.3e-3, 0.4e-3, 0.5e-3),
        sweep_rows=True,
    )
    result = calibrate_runs([perf, npsh])
    model = result.model
    # phi = Q / (n D^3) with n = 500 rev/s, D^3 = 6.4e-5 m3
    assert model.envelope.phi_min == pytest.approx(0.3e-3 / 0.032, rel=1e-9)
    assert model.envelope.phi_max == pytest.approx(0.5e-3 / 0.032, rel=1e-9)
    assert result.performance_phi_range == pytest.approx((0.003, 0.018), rel=1e-9)
    assert model.npsh3_m(0.45e-3, 30000.0) == pytest.approx(1.557 + 7.14 * 0.45**2, rel=1e-3)
    assert model.npsh3_m(0.45e-3, 30000.0) == pytest.approx(model.npsh3_m(0.225e-3, 15000.0) * 4, rel=1e-9)
    # the cavitating sweep point (head halved) stayed out of the head fit
    assert result.fits["psi"].max_relative_residual < 1e-6
    assert "sigma3" in result.fits


def test_single_npsh3_point_is_a_constant_coefficient_with_a_warning(tmp_path: Path) -> None:
    run = write_run(tmp_path / "r", npsh3_flows=(0.4e-3,))
    result = calibrate_runs([run])
    sigma = G * float(npsh3_true(np.array(0.4e-3))) / (500 * D) ** 2
    assert result.model.sigma3(0.005) == pytest.approx(sigma, rel=1e-9)
    assert result.model.sigma3(0.015) == pytest.approx(sigma, rel=1e-9)
    assert any("one flow coefficient" in w for w in result.warnings)
    assert result.model.envelope.phi_min == pytest.approx(0.003)  # not narrowed to one point


def test_no_npsh3_data_leaves_sigma3_out(tmp_path: Path) -> None:
    result = calibrate_runs([write_run(tmp_path / "r")])
    assert result.model.sigma3_fit is None
    assert any("no NPSH3" in w for w in result.warnings)


def test_non_completed_runs_are_skipped_and_named(tmp_path: Path) -> None:
    good = write_run(tmp_path / "good")
    bad = write_run(tmp_path / "tripped", status="aborted", phi_grid=np.array([0.03, 0.04]))
    result = calibrate_runs([good, bad])
    assert result.used_runs == ("good",)
    assert result.skipped_runs == ("tripped: status aborted (trip)",)
    assert "tripped" in result.model.description
    assert result.model.envelope.phi_max == pytest.approx(0.018)
    with pytest.raises(ConfigError, match="no completed run"):
        calibrate_runs([bad])


def test_runs_of_different_impellers_are_refused(tmp_path: Path) -> None:
    a = write_run(tmp_path / "a")
    b = write_run(tmp_path / "b", diameter_m=0.05)
    with pytest.raises(ConfigError, match="impeller_diameter_m"):
        calibrate_runs([a, b])


def test_not_a_run_directory_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a run directory"):
        calibrate_runs([tmp_path / "missing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="metadata.json"):
        calibrate_runs([tmp_path / "empty"])


def test_stated_accuracy_widens_the_curves_by_the_gain_error(tmp_path: Path) -> None:
    plain = calibrate([write_run(tmp_path / "plain")])
    stated = calibrate([write_run(tmp_path / "stated", accuracy={"electrical_power_w": 0.0196})])
    # a 1.96 % (95 %) power-meter gain error is 1 % (1 sigma) of the efficiency at every phi
    for phi in (0.006, 0.014):
        assert stated.eta_fit.std(phi) == pytest.approx(
            math.hypot(plain.eta_fit.std(phi), 0.01 * stated.eta(phi)), rel=1e-3
        )


def test_cli_calibrate_writes_a_loadable_model_and_prints_the_summary(tmp_path: Path) -> None:
    runs = [write_run(tmp_path / "r1", npsh3_flows=(0.3e-3, 0.5e-3))]
    out = io.StringIO()
    target = tmp_path / "pump_model.json"
    assert main(["calibrate", *map(str, runs), "--out", str(target)], out=out) == 0
    text = out.getvalue()
    for heading in ("Envelope", "Fitted curves", "Drive map", "Residuals", "pump model written"):
        assert heading in text
    model = load_pump_model(target)
    assert model.source_runs == ("r1",) and model.sigma3_fit is not None
    assert main(["calibrate", str(tmp_path / "nope"), "--out", str(target)], out=io.StringIO()) == 2


def test_cli_optimize_reports_a_missing_mission_as_a_usage_error(tmp_path: Path) -> None:
    assert main(["optimize", "--mission", str(tmp_path / "missing.toml")], out=io.StringIO()) == 2


# ------------------------------------------------------------------------------ quality gates


def test_large_scatter_against_a_too_low_order_triggers_the_chi2_warning() -> None:
    """A straight line through a curved psi(phi) with 5x the stated scatter: chi2/dof far above 3."""
    rng = np.random.default_rng(3)
    phi = np.tile(np.linspace(0.004, 0.018, 8), 2)
    y = psi_true(phi) + rng.normal(0.0, 0.005, phi.size)
    bad = fit_psi(phi, y, 0.001, degree=1)
    assert bad.summary.chi2_per_dof > CHI2_PER_DOF_WARNING
    (warning,) = fit_quality_warnings([bad.summary])
    assert "'psi'" in warning and "order" in warning and "unsteady" in warning and "instrument" in warning


def test_a_clean_fit_gives_no_quality_warning() -> None:
    rng = np.random.default_rng(3)
    phi = np.tile(np.linspace(0.004, 0.018, 8), 2)
    good = fit_psi(phi, psi_true(phi) + rng.normal(0.0, 0.001, phi.size), 0.001)
    assert good.summary.chi2_per_dof < CHI2_PER_DOF_WARNING
    assert fit_quality_warnings([good.summary]) == []


def test_a_fit_with_as_many_points_as_coefficients_shows_no_plus_minus(tmp_path: Path) -> None:
    """Three NPSH3 flows and a quadratic sigma3: zero dof, so the summary says why there is no +-."""
    perf = write_run(tmp_path / "perf")
    npsh = write_run(
        tmp_path / "npsh",
        speeds_rpm=(30000.0,),
        phi_grid=np.array([0.01, 0.014]),
        npsh3_flows=(0.3e-3, 0.4e-3, 0.5e-3),
        sweep_rows=True,
    )
    result = calibrate_runs([perf, npsh])
    assert result.fits["sigma3"].dof == 0 and result.fits["psi"].dof > 0
    text = format_calibration(result)
    rows = [line for line in text.splitlines() if "(no +-)" in line]
    assert rows and all(
        line.replace("(no +-)", "").count("+-") == 2 for line in rows
    )  # psi and eta keep theirs
    assert "sigma3: no +- shown: no degrees of freedom left to estimate the scatter" in text
    assert any("'sigma3'" in w and "no degrees of freedom" in w for w in result.warnings)
    assert "no degrees of freedom" in result.model.description  # stored in the model file


def test_chi2_warning_is_stored_in_the_model_and_printed(tmp_path: Path) -> None:
    """Points scattering 2 % but stated 20x tighter: the calibration warns and the model file says so."""
    run = write_run(tmp_path / "r", noise_rel=0.02, seed=5)
    frame = pd.read_csv(run / "operating_points.csv")
    std_cols = [c for c in frame.columns if c.endswith("_std")]
    frame[std_cols] = frame[std_cols] / 20.0
    frame.to_csv(run / "operating_points.csv", index=False)
    result = calibrate_runs([run])
    assert any("chi2/dof" in w for w in result.warnings)
    assert "chi2/dof" in result.model.description
    assert "chi2/dof" in format_calibration(result).split("Warnings:")[1]
