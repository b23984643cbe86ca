"""Calibration: from bench run directories to the dimensionless pump model the sizing model uses.

``hil calibrate RUN_DIR... --out pump_model.json`` calls :func:`calibrate_runs` and writes the
:class:`~hil.model.pump_model.PumpModel` it returns. What is fitted, and why this way:

**Head.** ``psi(phi) = g H / (n D)^2`` against ``phi = Q / (n D^3)`` (n in rev/s, D the bench file's
impeller diameter) over every non-cavitating operating point of every run: by the affinity laws the
points of all speeds collapse onto one curve. A polynomial of degree 2 (fewer with fewer distinct
flow coefficients), weighted by each point's uncertainty.

**Efficiency: what the bench can and cannot separate.** The bench measures hydraulic power (flow and
head) and the *electrical* power into the motor controller (the WT310 on the DC bus); it has no
torque meter. The VESC's own input power (``drive_input_current_a`` x ``drive_bus_voltage_v``) is
measured on the same DC bus, upstream of the same controller, so its ratio to the WT310's reading is
a cross-check of two meters, not a drive efficiency. The pump's own efficiency and the drive's (motor
times inverter) therefore cannot be told apart: only their product, the wire-to-water efficiency
``eta_ww = P_h / P_el``, is measured. The model stores what the data support, split so that the
sizing model's ``P_el = Q dp / (eta(phi) x drive(s, l))`` reproduces every bench point and counts the
drive losses exactly once:

* ``eta(phi)`` is the **wire-to-water** efficiency at the *reference speed* (the highest tested
  speed): a polynomial through the origin (no flow, no hydraulic power) of up to four terms, fewer
  with fewer distinct flow coefficients;
* the drive map is the measured **relative** change of wire-to-water efficiency with speed and load
  at equal flow coefficient: with ``s = n / n_ref`` and ``l`` the load fraction,
  ``drive(s, l) = 1 + (s - 1)(a1 + a2 l)`` with two tested speeds, ``+ (s - 1)^2 (a3 + a4 l)`` with
  three or more, identically 1 with one. Every term vanishes at ``s = 1``, so the map is 1 at the
  reference speed whatever the load and ``eta(phi)`` stays exactly the reference-speed curve. At
  equal phi the pump's own efficiency is speed-independent (affinity; the Reynolds-number effect over
  a bench's speed range is small and is lumped in), so what the map captures is how the drive's
  efficiency falls at part speed, more so at light load where fixed and switching losses weigh
  more, along the pump's own load lines (shaft power ~ n^3 at equal phi), which is how a throttled
  flight pump loads its drive too. The load fraction is the sizing model's: the shaft-power
  equivalent ``P_h / eta(phi)`` over the rated one, the rated point being the reference speed at best
  efficiency (``rho n^3 D^5 phi psi / eta`` there); the speed- and load-fraction ranges state what
  the bench covered (the sizing model holds a flight point outside them at the edge and says so).
  The map is linear in ``l`` on purpose: it is evaluated a little off the tested load lines, and a
  higher power of ``l`` would swing wildly there. It is an empirical fit, not a loss model: values
  above 1 (part speed at a load the bench only reached at full speed) are clipped to 1 by the
  model, which is conservative.

Both are fitted together (weighted nonlinear least squares, the model ``eta(phi) drive(s, l)`` being
bilinear in the two sets of coefficients; the load fraction depends on the fitted eta, so the fit is
repeated with the updated load fractions, three times in all). The drive map's own covariance has no
place in the pump model file; ``hil calibrate`` prints it. Consequences the user should know: the
sizing model's "shaft power" is then the electrical power at the reference drive efficiency, so its
motor and pump masses (which scale with shaft power) are conservative by one drive efficiency (about
10 %); the "minimum efficiency" requirement it reports is a wire-to-water figure with a drive like the
bench's; and the mission's ``motor_efficiency`` and ``inverter_efficiency`` are not used with a calibrated
model (its drive map replaces them), since multiplying them in would count drive losses twice.
With a torque meter on the shaft the two could be separated; the run data would then carry a shaft
power channel and this module would fit the pump and the drive each on its own.

**NPSH3.** From every run's ``npsh3.csv`` (the NPSH3 procedure's results, one row per constant-flow
sweep, status ``ok``): ``sigma3(phi) = g NPSH3 / (n D)^2``, a polynomial of degree 2 or fewer, weighted
by the stated NPSH3 uncertainty. With a single NPSH3 point the coefficient is taken constant (NPSH3
~ tip speed squared, the classic cavitation-coefficient form) and a warning says so. With two or
more the model's flow-coefficient envelope is the *intersection* of the performance and NPSH3 ranges:
outside it the cavitation curve would be an extrapolation, and the model refuses to extrapolate
unless told to. Operating points labelled ``npsh_role = "sweep"`` (taken while lowering the inlet
pressure into cavitation) never enter the head or efficiency fits.

**Uncertainty.** Each point's random standard uncertainty is the window's standard deviation over the
square root of its sample count, propagated to psi, eta and phi (first order; the uncertainty of phi
enters through the curve's slope, the effective-variance method), with a floor of 0.01 % of the value
so that a quantised, noise-free channel cannot take infinite weight. Consecutive samples are
correlated (sensor lags, 10 Hz logging), so ``s / sqrt(n)`` can understate the scatter: when the
residuals say so (chi-squared per degree of freedom above 1) the covariance is scaled up by that
ratio (the Birge ratio), never down. The instruments' stated accuracies (a fraction of reading at
95 %, from the run's metadata or its bench file) are systematic: the same gain error applies to every
point, so they are not averaged away by more points. They are added to the coefficient covariance as
a common relative scale error of the curve's value and of phi: with a scale error ``e_y`` of the
value and ``e_x`` of phi, the coefficient of ``phi^k`` moves by ``(e_y - k e_x) c_k``. NPSH3
uncertainties from ``npsh3.csv`` already contain the instrument part and are used as they are (95 %,
divided by 1.96 for a standard uncertainty). The stored covariances are 1-sigma.

Runs whose status is not ``completed`` are skipped (each named in the model's description); if none
remains, :class:`~hil.core.errors.ConfigError`. Runs of different impeller diameters or fluids are
refused: a model calibrates one prototype.

Imports hil's analysis, bench_config, config, errors, fluids, npsh3_results, pump_model and runstore;
never drivers, simulators, procedures or the runner.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray
from scipy import optimize

from hil.analysis import AnalysisError
from hil.bench.config import BenchConfig, parse_bench
from hil.core.config import load_toml
from hil.core.errors import ConfigError, RunLogError
from hil.core.fluids import STANDARD_GRAVITY_M_S2
from hil.model.pump_model import DriveEfficiencyMap, FittedPolynomial, PumpEnvelope, PumpModel
from hil.results.npsh3 import read_npsh3_results
from hil.store.run_directory import BENCH_SNAPSHOT, read_metadata, read_points

__all__ = [
    "Calibration",
    "CurveFit",
    "FitSummary",
    "WireToWaterFit",
    "calibrate",
    "calibrate_runs",
    "fit_psi",
    "fit_sigma3",
    "fit_wire_to_water",
    "format_calibration",
]

G = STANDARD_GRAVITY_M_S2
COVERAGE_95 = 1.96
"""Stated accuracies and the NPSH3 uncertainties are 95 % expanded: divided by this for 1 sigma."""
RELATIVE_UNCERTAINTY_FLOOR = 1.0e-4
"""Least relative random uncertainty of a point (see the module docstring)."""
DISTINCT_RELATIVE_GAP = 0.02
"""Flow coefficients (or speeds) closer than 2 % count as one value when choosing a fit's degree."""
DEFAULT_PSI_DEGREE = 2
DEFAULT_ETA_DEGREE = 4
DEFAULT_SIGMA3_DEGREE = 2
MAX_DRIVE_DEGREE = 2

Array = NDArray[np.float64]


# ------------------------------------------------------------------------------------------- fits


@dataclass(frozen=True)
class FitSummary:
    """How well one curve fits its points: what ``hil calibrate`` prints as residuals."""

    name: str
    points: int
    dof: int
    chi2_per_dof: float  # NaN without degrees of freedom
    rms_relative_residual: float
    max_relative_residual: float
    birge_scale: float  # factor the random covariance was multiplied by (>= 1)


@dataclass(frozen=True)
class CurveFit:
    """A fitted polynomial in phi (numpy.polyval order) with its 1-sigma covariance and fit summary."""

    polynomial: FittedPolynomial
    summary: FitSummary
    residuals: Array  # data minus fit, one per point


@dataclass(frozen=True)
class WireToWaterFit:
    """``eta_ww = eta(phi) x drive(s, l)``: the efficiency curve at the reference speed and the drive factor.

    ``drive_coefficients[i][j]`` multiplies ``s**i * l**j`` (the :class:`~hil.model.pump_model.DriveEfficiencyMap`
    convention); ``drive(1, l) = 1`` for every ``l``.
    """

    eta: FittedPolynomial
    drive_coefficients: tuple[tuple[float, ...], ...]
    drive_values: Array  # the fitted drive factor at each point
    drive_std: Array  # its 1-sigma at each point
    summary: FitSummary
    residuals: Array

    def drive(self, speed_fraction: ArrayLike, load_fraction: ArrayLike) -> Array:
        """The drive factor (relative wire-to-water efficiency) at speed and load fractions."""
        return np.polynomial.polynomial.polyval2d(
            np.asarray(speed_fraction, dtype=float),
            np.asarray(load_fraction, dtype=float),
            np.asarray(self.drive_coefficients),
        )


def _distinct_count(values: Array) -> int:
    """How many values differ from their sorted neighbour by more than DISTINCT_RELATIVE_GAP."""
    ordered = np.sort(np.asarray(values, dtype=float))
    if ordered.size == 0:
        return 0
    scale = np.maximum(np.abs(ordered[1:]), np.abs(ordered[:-1]))
    gaps = np.diff(ordered) > DISTINCT_RELATIVE_GAP * np.where(scale > 0, scale, 1.0)
    return 1 + int(np.count_nonzero(gaps))


def _weighted_lstsq(design: Array, y: Array, u: Array) -> tuple[Array, Array, float, int]:
    """Weighted linear least squares: (parameters, covariance from the stated u, chi2, dof)."""
    a = design / u[:, None]
    b = y / u
    norms = np.sqrt(np.sum(a * a, axis=0))
    norms[norms == 0] = 1.0
    scaled = a / norms
    solution, _, rank, _ = np.linalg.lstsq(scaled, b, rcond=None)
    if rank < design.shape[1]:
        raise AnalysisError(
            f"a fit with {design.shape[1]} coefficients needs as many distinct points; "
            f"the data span rank {rank}"
        )
    params = solution / norms
    covariance = np.linalg.inv(scaled.T @ scaled) / np.outer(norms, norms)
    residual = b - a @ params
    return params, covariance, float(residual @ residual), int(y.size - design.shape[1])


def _birge(chi2: float, dof: int) -> float:
    return max(1.0, chi2 / dof) if dof > 0 else 1.0


def _systematic_covariance(coefficients: Array, rel_y: float, rel_x: float) -> Array:
    """Covariance of polyval-order coefficients from common scale errors of the value and of phi."""
    powers = np.arange(coefficients.size - 1, -1, -1, dtype=float)
    jy = coefficients
    jx = -powers * coefficients
    return rel_y**2 * np.outer(jy, jy) + rel_x**2 * np.outer(jx, jx)


def _as_fitted(coefficients: Array, covariance: Array) -> FittedPolynomial:
    return FittedPolynomial(
        tuple(float(c) for c in coefficients), tuple(tuple(float(v) for v in row) for row in covariance)
    )


def _summary(name: str, y: Array, fitted: Array, chi2: float, dof: int, birge: float) -> FitSummary:
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(y != 0, (y - fitted) / np.abs(y), np.nan)
    finite = relative[np.isfinite(relative)]
    return FitSummary(
        name=name,
        points=int(y.size),
        dof=dof,
        chi2_per_dof=chi2 / dof if dof > 0 else math.nan,
        rms_relative_residual=float(np.sqrt(np.mean(finite**2))) if finite.size else math.nan,
        max_relative_residual=float(np.max(np.abs(finite))) if finite.size else math.nan,
        birge_scale=birge,
    )


def _polyfit(
    name: str, phi: Array, y: Array, u_y: Array, u_phi: Array, degree: int, rel_y_sys: float, rel_x_sys: float
) -> CurveFit:
    """Weighted polynomial fit in phi (effective variance for the phi error), plus the systematic part."""
    scale = float(np.max(np.abs(phi)))
    x = phi / scale
    design = np.vander(x, degree + 1)
    u_eff = u_y
    params = np.zeros(degree + 1)
    for _ in range(2):  # the second pass uses the first pass's slope for the phi uncertainty
        params, cov, chi2, dof = _weighted_lstsq(design, y, u_eff)
        slope = np.polyval(np.polyder(params), x) / scale if degree > 0 else np.zeros_like(x)
        u_eff = np.sqrt(u_y**2 + (slope * u_phi) ** 2)
    birge = _birge(chi2, dof)
    powers = np.arange(degree, -1, -1, dtype=float)
    to_phi = scale**-powers
    coefficients = params * to_phi
    covariance = birge * cov * np.outer(to_phi, to_phi)
    covariance = covariance + _systematic_covariance(coefficients, rel_y_sys, rel_x_sys)
    fitted = np.polyval(coefficients, phi)
    return CurveFit(
        _as_fitted(coefficients, covariance), _summary(name, y, fitted, chi2, dof, birge), y - fitted
    )


def fit_psi(
    phi: ArrayLike,
    psi: ArrayLike,
    u_psi: ArrayLike,
    u_phi: ArrayLike | float = 0.0,
    degree: int = DEFAULT_PSI_DEGREE,
    systematic_relative_psi: float = 0.0,
    systematic_relative_phi: float = 0.0,
) -> CurveFit:
    """Head coefficient curve ``psi(phi)``: weighted polynomial, degree lowered to fit the data.

    ``u_psi`` and ``u_phi`` are each point's random 1-sigma uncertainties; the ``systematic_relative_*``
    arguments are the common 1-sigma scale errors (see the module docstring).
    """
    x, y = np.asarray(phi, dtype=float), np.asarray(psi, dtype=float)
    u_y = np.broadcast_to(np.asarray(u_psi, dtype=float), x.shape)
    u_x = np.broadcast_to(np.asarray(u_phi, dtype=float), x.shape)
    distinct = _distinct_count(x)
    if distinct < 1:
        raise AnalysisError("no operating points to fit psi(phi) to")
    return _polyfit(
        "psi", x, y, u_y, u_x, min(degree, distinct - 1), systematic_relative_psi, systematic_relative_phi
    )


def fit_sigma3(
    phi: ArrayLike, sigma3: ArrayLike, u_sigma3: ArrayLike, degree: int = DEFAULT_SIGMA3_DEGREE
) -> CurveFit:
    """Cavitation coefficient curve ``sigma3(phi)`` from NPSH3 points (1-sigma uncertainties)."""
    x, y = np.asarray(phi, dtype=float), np.asarray(sigma3, dtype=float)
    u_y = np.broadcast_to(np.asarray(u_sigma3, dtype=float), x.shape)
    distinct = _distinct_count(x)
    if distinct < 1:
        raise AnalysisError("no NPSH3 points to fit sigma3(phi) to")
    return _polyfit("sigma3", x, y, u_y, np.zeros_like(x), min(degree, distinct - 1), 0.0, 0.0)


_DRIVE_TERMS = (((1, 0), (1, 1)), ((1, 0), (1, 1), (2, 0), (2, 1)))
"""Drive-factor terms with two and with three or more tested speeds: ``(p, j)`` is the basis function
``(s - 1)^p l^j``. Every term vanishes at s = 1, so the factor is 1 at the reference speed."""


def _drive_basis(speed_fraction: Array, load_fraction: Array, terms: Sequence[tuple[int, int]]) -> Array:
    ds = speed_fraction - 1.0
    if not terms:
        return np.zeros((speed_fraction.size, 0))
    return np.stack([ds**p * load_fraction**j for p, j in terms], axis=1)


def _drive_coefficients(a: Array, terms: Sequence[tuple[int, int]]) -> Array:
    """``1 + sum_k a_k (s - 1)^p_k l^j_k`` as a polyval2d matrix in s (rows) and l (columns)."""
    rows = 1 + max((p for p, _ in terms), default=0)
    cols = 1 + max((j for _, j in terms), default=0)
    out = np.zeros((rows, cols))
    out[0, 0] = 1.0
    for coefficient, (p, j) in zip(a, terms):
        for i in range(p + 1):  # (s - 1)^p = sum_i C(p, i) s^i (-1)^(p - i)
            out[i, j] += coefficient * math.comb(p, i) * (-1.0) ** (p - i)
    return out


def fit_wire_to_water(
    phi: ArrayLike,
    eta: ArrayLike,
    u_eta: ArrayLike,
    speed_fraction: ArrayLike,
    load_fraction: ArrayLike,
    u_phi: ArrayLike | float = 0.0,
    eta_degree: int = DEFAULT_ETA_DEGREE,
    systematic_relative_eta: float = 0.0,
    systematic_relative_phi: float = 0.0,
) -> WireToWaterFit:
    """Fit ``eta_ww = eta(phi) x drive(s, l)`` with ``eta(0) = 0`` and ``drive(1, l) = 1``.

    ``eta(phi) = sum_k c_k phi^k`` (k = 1..eta_degree, fewer with fewer distinct phi). The drive factor
    is ``1 + (s - 1)(a1 + a2 l)`` with two tested speeds, ``+ (s - 1)^2 (a3 + a4 l)`` with three or
    more, 1 with one: at part speed its efficiency falls more at light load, where fixed and switching losses
    weigh more (the bench shows exactly that). Terms the data cannot separate are dropped.
    ``speed_fraction`` is each point's speed over the reference speed, ``load_fraction`` its
    shaft-power equivalent ``P_h / eta(phi)`` over the rated one (see the module docstring).
    """
    x_phi = np.asarray(phi, dtype=float)
    y = np.asarray(eta, dtype=float)
    s = np.asarray(speed_fraction, dtype=float)
    load = np.asarray(load_fraction, dtype=float)
    u_y = np.broadcast_to(np.asarray(u_eta, dtype=float), x_phi.shape)
    u_x = np.broadcast_to(np.asarray(u_phi, dtype=float), x_phi.shape)
    distinct_phi = _distinct_count(x_phi)
    if distinct_phi < 1:
        raise AnalysisError("no operating points to fit eta(phi) to")
    m = min(eta_degree, distinct_phi)
    if m > y.size:
        raise AnalysisError(f"fitting eta(phi) with {m} terms needs at least {m} points, got {y.size}")
    speeds = _distinct_count(s)
    terms = list(_DRIVE_TERMS[min(speeds, 3) - 2]) if speeds > 1 else []
    scale = float(np.max(np.abs(x_phi)))
    x = x_phi / scale
    phi_powers = np.stack([x**k for k in range(1, m + 1)], axis=1)  # eta = sum b_k x^k
    slope_powers = np.stack([k * x ** (k - 1) for k in range(1, m + 1)], axis=1) / scale

    while True:
        basis = _drive_basis(s, load, terms)
        count = m + len(terms)
        if count <= y.size and np.linalg.matrix_rank(np.hstack([phi_powers, basis])) == count:
            break
        if not terms:
            raise AnalysisError("the efficiency points cannot support an eta(phi) fit")
        terms.pop()

    def model(theta: Array) -> tuple[Array, Array]:
        eta_ref = phi_powers @ theta[:m]
        return eta_ref, 1.0 + basis @ theta[m:]

    def jacobian(theta: Array, u: Array) -> Array:
        eta_ref, drive = model(theta)
        return np.hstack([phi_powers * drive[:, None], basis * eta_ref[:, None]]) / u[:, None]

    u_eff = u_y.copy()
    start, _, _, _ = _weighted_lstsq(phi_powers, y, u_eff)  # start: no drive effect
    theta = np.concatenate([start, np.zeros(len(terms))])
    for _ in range(2):  # the second pass uses the first pass's slope for the phi uncertainty
        result = optimize.least_squares(
            lambda t, u=u_eff: np.prod(model(t), axis=0) / u - y / u,
            theta,
            jac=lambda t, u=u_eff: jacobian(t, u),
            method="lm",
            xtol=1e-14,
            ftol=1e-14,
            gtol=1e-14,
        )
        theta = result.x
        drive_now = model(theta)[1]
        u_eff = np.sqrt(u_y**2 + (slope_powers @ theta[:m] * drive_now * u_x) ** 2)
    j = jacobian(theta, u_eff)
    try:
        cov = np.linalg.inv(j.T @ j)
    except np.linalg.LinAlgError as exc:
        raise AnalysisError(
            "the efficiency points cannot separate eta(phi) from the speed and load effect; "
            "test more flow coefficients at each speed"
        ) from exc
    eta_ref, drive_values = model(theta)
    fitted = eta_ref * drive_values
    residual = (fitted - y) / u_eff
    chi2, dof = float(residual @ residual), int(y.size - theta.size)
    birge = _birge(chi2, dof)
    cov = birge * cov

    # eta in polyval order: [c_m, ..., c_1, 0] with c_k = b_k / scale^k; the constant is exactly 0.
    to_phi = scale ** -np.arange(1, m + 1, dtype=float)
    coefficients = np.concatenate([(theta[:m] * to_phi)[::-1], [0.0]])
    eta_cov = np.zeros((m + 1, m + 1))
    eta_cov[:m, :m] = (cov[:m, :m] * np.outer(to_phi, to_phi))[::-1, ::-1]
    eta_cov += _systematic_covariance(coefficients, systematic_relative_eta, systematic_relative_phi)
    drive_cov = cov[m:, m:]
    drive_std = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", basis, drive_cov, basis), 0.0))
    return WireToWaterFit(
        eta=_as_fitted(coefficients, eta_cov),
        drive_coefficients=tuple(
            tuple(float(v) for v in row) for row in _drive_coefficients(theta[m:], terms)
        ),
        drive_values=drive_values,
        drive_std=drive_std,
        summary=_summary("eta", y, fitted, chi2, dof, birge),
        residuals=y - fitted,
    )


# ------------------------------------------------------------------------------------ run loading


@dataclass(frozen=True)
class _Run:
    run_id: str
    directory: Path
    procedure: str
    config: BenchConfig
    accuracy: dict[str, float]
    points: pd.DataFrame
    npsh3: pd.DataFrame


def _load_run(directory: Path) -> tuple[_Run | None, str | None]:
    """The run's usable data, or (None, why it is skipped)."""
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "not a run directory (expected a directory with metadata.json)")
    try:
        metadata = read_metadata(directory)
    except RunLogError as exc:
        raise ConfigError(str(directory), "", str(exc)) from exc
    run_id = directory.name
    status = metadata.get("status", "unknown")
    if status != "completed":
        reason = metadata.get("reason") or ""
        return None, f"{run_id}: status {status}" + (f" ({reason})" if reason else "")
    snapshot = directory / BENCH_SNAPSHOT
    config = parse_bench(load_toml(snapshot), str(snapshot), snapshot.read_text(encoding="utf-8"))
    stated = metadata["accuracy"] if isinstance(metadata.get("accuracy"), dict) else config.channel_accuracy()
    accuracy = {str(k): float(v) for k, v in stated.items()}
    try:
        points = read_points(directory)
        npsh3 = read_npsh3_results(directory)
    except (pd.errors.ParserError, OSError, UnicodeDecodeError) as exc:
        raise ConfigError(str(directory), "", f"unreadable results: {exc}") from exc
    if not points.empty and "npsh_role" in points.columns:
        points = points[points["npsh_role"].astype(str) != "sweep"]
    if not points.empty:
        needed = ("speed_rpm", "flow_m3_s", "head_m", "electrical_power_w", "hydraulic_power_w")
        missing = [c for c in needed if c not in points.columns]
        if missing:
            raise ConfigError(str(directory / "operating_points.csv"), ",".join(missing), "missing column(s)")
        good = np.ones(len(points), dtype=bool)
        for column in needed:
            good &= np.isfinite(points[column].to_numpy(dtype=float))
        for column in ("flow_m3_s", "speed_rpm", "electrical_power_w"):
            good &= points[column].to_numpy(dtype=float) > 0
        points = points[good]
    if not npsh3.empty:
        ok = npsh3["status"].astype(str) == "ok" if "status" in npsh3.columns else np.ones(len(npsh3), bool)
        npsh3 = npsh3[ok]
        for column in ("flow_m3_s", "speed_rpm", "npsh3_m", "npsh3_uncertainty_m"):
            if column not in npsh3.columns:
                raise ConfigError(str(directory / "npsh3.csv"), column, "missing column")
        columns = ["flow_m3_s", "speed_rpm", "npsh3_m", "npsh3_uncertainty_m"]
        finite = np.isfinite(npsh3[columns].to_numpy(float))
        npsh3 = npsh3[finite.all(axis=1)]
    if points.empty and npsh3.empty:
        return None, f"{run_id}: no operating points and no NPSH3 results"
    procedure = str(metadata.get("procedure", "?"))
    return _Run(
        run_id,
        directory,
        procedure,
        config,
        accuracy,
        points.reset_index(drop=True),
        npsh3.reset_index(drop=True),
    ), None


def _column(frame: pd.DataFrame, name: str, default: float = math.nan) -> Array:
    if name in frame.columns:
        return frame[name].to_numpy(dtype=float)
    return np.full(len(frame), default)


def _standard_error(frame: pd.DataFrame, channel: str) -> Array:
    std = _column(frame, f"{channel}_std")
    count = _column(frame, f"{channel}_n")
    with np.errstate(divide="ignore", invalid="ignore"):
        se = std / np.sqrt(count)
    return np.where(np.isfinite(se), se, 0.0)


# ------------------------------------------------------------------------------------ calibration


@dataclass(frozen=True)
class Calibration:
    """The fitted model with everything ``hil calibrate`` reports about how it was obtained."""

    model: PumpModel
    points: pd.DataFrame  # performance points: run, speed, phi, psi, eta and the fits' residuals
    npsh3_points: pd.DataFrame  # run, speed, phi, sigma3, NPSH3 and the residual
    fits: dict[str, FitSummary]
    used_runs: tuple[str, ...]
    skipped_runs: tuple[str, ...]
    performance_phi_range: tuple[float, float]
    npsh3_phi_range: tuple[float, float] | None
    reference_speed_rpm: float
    warnings: tuple[str, ...] = field(default=())


def calibrate(run_dirs: Sequence[Path | str]) -> PumpModel:
    """The pump model fitted to the runs (see :func:`calibrate_runs` for the report around it)."""
    return calibrate_runs(run_dirs).model


def calibrate_runs(
    run_dirs: Sequence[Path | str],
    *,
    psi_degree: int = DEFAULT_PSI_DEGREE,
    eta_degree: int = DEFAULT_ETA_DEGREE,
    sigma3_degree: int = DEFAULT_SIGMA3_DEGREE,
) -> Calibration:
    """Fit psi(phi), the wire-to-water eta(phi) with its drive map, and sigma3(phi) to the runs."""
    if not run_dirs:
        raise ConfigError("hil calibrate", "RUN_DIR", "expected at least one run directory")
    runs: list[_Run] = []
    skipped: list[str] = []
    for item in run_dirs:
        run, why = _load_run(Path(item))
        if run is None:
            skipped.append(str(why))
        else:
            runs.append(run)
    if not runs:
        listing = "; ".join(skipped)
        raise ConfigError(
            "hil calibrate", "RUN_DIR", f"no completed run with results to calibrate from ({listing})"
        )

    first = runs[0]
    diameter = first.config.geometry.impeller_diameter_m
    for run in runs[1:]:
        other = run.config.geometry.impeller_diameter_m
        if abs(other / diameter - 1.0) > 1e-9:
            raise ConfigError(
                str(run.directory / BENCH_SNAPSHOT),
                "bench.impeller_diameter_m",
                f"{other:g} m differs from {diameter:g} m of run {first.run_id}: "
                "a model calibrates one impeller",
            )
        if run.config.fluid != first.config.fluid:
            raise ConfigError(
                str(run.directory / BENCH_SNAPSHOT),
                "bench.fluid",
                f"{run.config.fluid!r} differs from {first.config.fluid!r} of run {first.run_id}",
            )

    perf_runs = [r for r in runs if not r.points.empty]
    if not perf_runs:
        raise ConfigError(
            "hil calibrate",
            "RUN_DIR",
            "no run has non-cavitating operating points: run performance-curve first",
        )
    frames = []
    for run in perf_runs:
        frame = run.points.copy()
        frame.insert(0, "run", run.run_id)
        frames.append(frame)
    perf = pd.concat(frames, ignore_index=True)
    warnings: list[str] = []

    # Dimensionless points and their random standard uncertainties.
    q = perf["flow_m3_s"].to_numpy(float)
    rpm = perf["speed_rpm"].to_numpy(float)
    head = perf["head_m"].to_numpy(float)
    p_el = perf["electrical_power_w"].to_numpy(float)
    p_h = perf["hydraulic_power_w"].to_numpy(float)
    n = rpm / 60.0
    phi = q / (n * diameter**3)
    psi = G * head / (n * diameter) ** 2
    eta_ww = p_h / p_el
    rel_q = _standard_error(perf, "flow_m3_s") / q
    rel_n = _standard_error(perf, "speed_rpm") / rpm
    rel_h = _standard_error(perf, "head_m") / np.abs(head)
    rel_p = _standard_error(perf, "electrical_power_w") / p_el
    floor = RELATIVE_UNCERTAINTY_FLOOR
    rel_phi = np.maximum(np.hypot(rel_q, rel_n), floor)
    rel_psi = np.maximum(np.hypot(rel_h, 2.0 * rel_n), floor)
    rel_eta = np.maximum(np.sqrt(rel_q**2 + rel_h**2 + rel_p**2), floor)

    # Systematic (common) relative scale errors from the stated accuracies, worst over the runs.
    def accuracy(channel: str) -> float:
        return max(float(r.accuracy.get(channel, 0.0)) for r in perf_runs) / COVERAGE_95

    a_q, a_n, a_p = accuracy("flow_m3_s"), accuracy("speed_rpm"), accuracy("electrical_power_w")
    p1, p2 = _column(perf, "p_inlet_pa", 0.0), _column(perf, "p_outlet_pa", 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel_dp = np.hypot(accuracy("p_inlet_pa") * p1, accuracy("p_outlet_pa") * p2) / np.abs(p2 - p1)
    rel_dp = rel_dp[np.isfinite(rel_dp)]
    a_h = float(np.max(rel_dp)) if rel_dp.size else 0.0
    sys_phi = math.hypot(a_q, a_n)
    sys_psi = math.hypot(a_h, 2.0 * a_n)
    sys_eta = math.sqrt(a_q**2 + a_h**2 + a_p**2)

    psi_fit = fit_psi(phi, psi, rel_psi * np.abs(psi), rel_phi * phi, psi_degree, sys_psi, sys_phi)

    # Reference speed: the mean of the highest speed group. The load fraction depends on the fitted
    # eta (shaft-power equivalent P_h / eta over the rated one), so fit, update it, and refit.
    top = rpm >= np.max(rpm) * (1.0 - DISTINCT_RELATIVE_GAP)
    reference_rpm = float(np.mean(rpm[top]))
    speed_fraction = rpm / reference_rpm
    rho = float(np.nanmean(_column(perf, "density_kg_m3", 1000.0)))
    n_ref = reference_rpm / 60.0
    perf_range = (float(np.min(phi)), float(np.max(phi)))
    perf_grid = np.linspace(*perf_range, 201)
    load_fraction = p_el / float(np.max(p_el[top]))
    for _ in range(3):
        ww = fit_wire_to_water(
            phi,
            eta_ww,
            rel_eta * eta_ww,
            speed_fraction,
            load_fraction,
            rel_phi * phi,
            eta_degree,
            sys_eta,
            sys_phi,
        )
        eta_at_points = np.asarray(ww.eta.value(phi))
        eta_grid = np.asarray(ww.eta.value(perf_grid))
        if np.any(eta_at_points <= 0) or np.any(eta_grid <= 0):
            raise AnalysisError(
                f"the fitted wire-to-water eta(phi) is not positive over phi {perf_range[0]:.4g}.."
                f"{perf_range[1]:.4g}: the operating points do not describe a pump"
            )
        phi_bep = float(perf_grid[int(np.argmax(eta_grid))])
        psi_bep = float(psi_fit.polynomial.value(phi_bep))
        rated_power = rho * n_ref**3 * diameter**5 * phi_bep * psi_bep / float(ww.eta.value(phi_bep))
        load_used = load_fraction
        load_fraction = p_h / eta_at_points / rated_power

    phi_lo, phi_hi = perf_range

    # NPSH3.
    sigma3_curve: CurveFit | None = None
    npsh3_range: tuple[float, float] | None = None
    npsh_frames = []
    for run in runs:
        if not run.npsh3.empty:
            frame = run.npsh3.copy()
            frame.insert(0, "run", run.run_id)
            npsh_frames.append(frame)
    npsh_table = pd.DataFrame()
    if npsh_frames:
        npsh_table = pd.concat(npsh_frames, ignore_index=True)
        nq = npsh_table["flow_m3_s"].to_numpy(float)
        nn = npsh_table["speed_rpm"].to_numpy(float) / 60.0
        n_phi = nq / (nn * diameter**3)
        tip_sq = (nn * diameter) ** 2
        sigma3 = G * npsh_table["npsh3_m"].to_numpy(float) / tip_sq
        u_sigma3 = G * npsh_table["npsh3_uncertainty_m"].to_numpy(float) / COVERAGE_95 / tip_sq
        u_sigma3 = np.maximum(u_sigma3, floor * np.abs(sigma3))
        sigma3_curve = fit_sigma3(n_phi, sigma3, u_sigma3, sigma3_degree)
        npsh_table = npsh_table.assign(
            flow_coefficient=n_phi, sigma3=sigma3, sigma3_fit=sigma3 - sigma3_curve.residuals
        )
        npsh3_range = (float(np.min(n_phi)), float(np.max(n_phi)))
        if _distinct_count(n_phi) < 2:
            warnings.append(
                f"NPSH3 measured at one flow coefficient only ({npsh3_range[0]:.4g}): sigma3 is taken "
                "constant (NPSH3 ~ tip speed squared) over the whole envelope; measure NPSH3 at more flows"
            )
        else:
            lo, hi = max(phi_lo, npsh3_range[0]), min(phi_hi, npsh3_range[1])
            if lo >= hi:
                warnings.append(
                    f"the NPSH3 points (phi {npsh3_range[0]:.4g}..{npsh3_range[1]:.4g}) lie outside the "
                    f"performance range (phi {phi_lo:.4g}..{phi_hi:.4g}): NPSH3 left out of the model"
                )
                sigma3_curve = None
            else:
                phi_lo, phi_hi = lo, hi
        if sigma3_curve is not None and np.any(
            np.asarray(sigma3_curve.polynomial.value(np.linspace(phi_lo, phi_hi, 50))) <= 0
        ):
            warnings.append("the fitted sigma3(phi) is not positive over the whole envelope: NPSH3 left out")
            sigma3_curve = None
    else:
        warnings.append(
            "no NPSH3 results among the runs: the model has no NPSH3 curve "
            "(the sizing falls back to its assumed suction specific speed)"
        )

    grid = np.linspace(phi_lo, phi_hi, 201)
    for label, values in (("psi", psi_fit.polynomial.value(grid)), ("eta", ww.eta.value(grid))):
        if np.any(np.asarray(values) <= 0):
            raise AnalysisError(
                f"the fitted {label}(phi) is not positive over phi {phi_lo:.4g}..{phi_hi:.4g}: "
                "the operating points do not describe a pump curve there"
            )

    drive = DriveEfficiencyMap(
        coefficients=ww.drive_coefficients,
        rated_speed_rpm=reference_rpm,
        rated_power_w=float(rated_power),
        speed_fraction_range=(float(np.min(speed_fraction)), float(np.max(speed_fraction))),
        load_fraction_range=(float(np.min(load_used)), float(np.max(load_used))),
    )
    if _distinct_count(speed_fraction) < 2:
        warnings.append(
            f"one tested speed only ({reference_rpm:.0f} rpm): the drive map is flat; test at least two "
            "speeds to measure how the drive's efficiency falls at part speed"
        )

    speeds = np.concatenate(
        [
            rpm,
            npsh_table["speed_rpm"].to_numpy(float)
            if sigma3_curve is not None and not npsh_table.empty
            else np.zeros(0),
        ]
    )
    envelope = PumpEnvelope(
        phi_min=phi_lo,
        phi_max=phi_hi,
        speed_rpm_min=float(np.min(speeds)),
        speed_rpm_max=float(np.max(speeds)),
    )
    used = tuple(r.run_id for r in runs)
    description = (
        f"calibrated from {len(used)} run(s) on bench '{first.config.name}': psi from {len(phi)} points; "
        f"eta is the WIRE-TO-WATER efficiency (hydraulic power over the drive's DC input) at "
        f"{reference_rpm:.0f} rpm, the drive map its measured change with speed and load "
        f"(1 at {reference_rpm:.0f} rpm), "
        "so drive losses are counted once; "
        + (f"NPSH3 from {len(npsh_table)} point(s)" if sigma3_curve is not None else "no NPSH3 curve")
        + (f"; skipped: {'; '.join(skipped)}" if skipped else "")
    )
    model = PumpModel(
        impeller_diameter_m=diameter,
        fluid=first.config.fluid,
        psi_fit=psi_fit.polynomial,
        eta_fit=ww.eta,
        sigma3_fit=None if sigma3_curve is None else sigma3_curve.polynomial,
        drive=drive,
        envelope=envelope,
        source_runs=used,
        calibrated=True,
        description=description,
    )
    points = pd.DataFrame(
        {
            "run": perf["run"],
            "speed_rpm": rpm,
            "flow_m3_s": q,
            "flow_coefficient": phi,
            "psi": psi,
            "psi_fit": psi - psi_fit.residuals,
            "eta_wire_to_water": eta_ww,
            "eta_fit": eta_ww - ww.residuals,
            "speed_fraction": speed_fraction,
            "load_fraction": load_used,
            "drive_factor": ww.drive_values,
            "drive_factor_std": ww.drive_std,
        }
    )
    fits = {"psi": psi_fit.summary, "eta": ww.summary}
    if sigma3_curve is not None:
        fits["sigma3"] = sigma3_curve.summary
    if skipped:
        warnings.insert(0, "skipped run(s): " + "; ".join(skipped))
    return Calibration(
        model=model,
        points=points,
        npsh3_points=npsh_table,
        fits=fits,
        used_runs=used,
        skipped_runs=tuple(skipped),
        performance_phi_range=perf_range,
        npsh3_phi_range=npsh3_range,
        reference_speed_rpm=reference_rpm,
        warnings=tuple(warnings),
    )


# ------------------------------------------------------------------------------------ printing


def format_calibration(calibration: Calibration, samples: int = 5) -> str:
    """The readable summary ``hil calibrate`` prints: curves at a few phi, envelope, residuals."""
    model = calibration.model
    env = model.envelope
    d = model.impeller_diameter_m
    n_ref = calibration.reference_speed_rpm / 60.0
    lines = [f"hil calibrate: {len(calibration.used_runs)} run(s): {', '.join(calibration.used_runs)}"]
    lines.append(
        f"  impeller {d * 1e3:.1f} mm, fluid {model.fluid}, reference speed "
        f"{calibration.reference_speed_rpm:,.0f} rpm"
    )
    lines.append("")
    lines.append("Envelope")
    lo, hi = calibration.performance_phi_range
    lines.append(f"  performance points: phi {lo:.5f} .. {hi:.5f} ({len(calibration.points)} points)")
    if calibration.npsh3_phi_range is not None:
        nlo, nhi = calibration.npsh3_phi_range
        lines.append(
            f"  NPSH3 points:       phi {nlo:.5f} .. {nhi:.5f} ({len(calibration.npsh3_points)} points)"
        )
    lines.append(
        f"  model envelope:     phi {env.phi_min:.5f} .. {env.phi_max:.5f}, speed "
        f"{env.speed_rpm_min:,.0f} .. {env.speed_rpm_max:,.0f} rpm"
    )
    lines.append("  (the model refuses operating points outside it unless told to extrapolate)")
    lines.append("")
    grid = np.linspace(env.phi_min, env.phi_max, samples)
    sigma_fit = model.sigma3_fit
    lines.append("Fitted curves (+- 1 sigma); Q, H, NPSH3 for this impeller at the reference speed")
    header = f"  {'phi':>8} {'psi':>17} {'eta (w-t-w)':>17}"
    header += f" {'sigma3':>17}" if sigma_fit is not None else ""
    header += f" {'Q L/s':>8} {'H m':>8}" + (f" {'NPSH3 m':>8}" if sigma_fit is not None else "")
    lines.append(header)

    def with_std(value: float, std: float) -> str:
        return f"{value:9.4f}+-{std:<6.2g}"

    for phi in grid:
        psi = float(model.psi_fit.value(phi))
        row = f"  {phi:8.5f} {with_std(psi, float(model.psi_fit.std(phi)))}"
        row += f" {with_std(float(model.eta_fit.value(phi)), float(model.eta_fit.std(phi)))}"
        if sigma_fit is not None:
            row += f" {with_std(float(sigma_fit.value(phi)), float(sigma_fit.std(phi)))}"
        row += f" {phi * n_ref * d**3 * 1e3:8.3f} {psi * (n_ref * d) ** 2 / G:8.1f}"
        if sigma_fit is not None:
            row += f" {float(sigma_fit.value(phi)) * (n_ref * d) ** 2 / G:8.2f}"
        lines.append(row)
    lines.append("")
    drive = model.drive
    if drive is not None:
        lines.append(
            "Drive map: wire-to-water efficiency relative to the reference speed at equal phi (+- 1 sigma)"
        )
        frame = calibration.points
        for _, group in frame.groupby(np.round(frame["speed_fraction"], 2), sort=True):
            lo_i, hi_i = group["load_fraction"].idxmin(), group["load_fraction"].idxmax()
            lines.append(
                f"  {group['speed_rpm'].mean():9,.0f} rpm: {frame.at[lo_i, 'drive_factor']:.3f}"
                f"+-{frame.at[lo_i, 'drive_factor_std']:.3f} at load "
                f"{frame.at[lo_i, 'load_fraction']:.2f} .. "
                f"{frame.at[hi_i, 'drive_factor']:.3f}+-{frame.at[hi_i, 'drive_factor_std']:.3f} at load "
                f"{frame.at[hi_i, 'load_fraction']:.2f}"
            )
        lines.append(
            f"  load fraction of {drive.rated_power_w:.0f} W (reference speed, best efficiency); "
            f"tested {drive.load_fraction_range[0]:.2f} .. {drive.load_fraction_range[1]:.2f}"
        )
        lines.append("")
    lines.append("Residuals (data minus fit)")
    for summary in calibration.fits.values():
        chi = "n/a (no dof)" if math.isnan(summary.chi2_per_dof) else f"{summary.chi2_per_dof:.2f}"
        lines.append(
            f"  {summary.name:<7} {summary.points:3d} points, dof {summary.dof:2d}, chi2/dof {chi}, rms "
            f"{summary.rms_relative_residual * 100:.2f} %, max {summary.max_relative_residual * 100:.2f} %"
            + (f" (covariance scaled x{summary.birge_scale:.2f})" if summary.birge_scale > 1.0 else "")
        )
    if calibration.warnings:
        lines.append("")
        lines.append("Warnings:")
        lines.extend(f"  - {w}" for w in calibration.warnings)
    return "\n".join(lines) + "\n"
