"""The pump model file: the calibrated, dimensionless pump that bench runs hand to the sizing model.

``hil calibrate`` fits the bench's measured curves and writes one JSON document of this schema;
``hil optimize`` reads it and scales the pump by similarity to the flight duty. Without a file the
optimiser uses :meth:`PumpModel.default`, an uncalibrated literature-based pump that every output
labels as such.

Definitions (all similarity coefficients use the rotational speed ``n`` in revolutions per second
and the impeller outer diameter ``D`` in metres)::

    phi    = Q / (n D^3)                 flow coefficient
    psi    = dp / (rho n^2 D^2)          head (pressure-rise) coefficient, = g H / (n D)^2
    eta    = Q dp / P_shaft              pump (hydraulic x volumetric x mechanical) efficiency
    sigma3 = g NPSH3 / (n D)^2           cavitation coefficient at 3 % head drop

so ``NPSH3 = sigma3(phi) (n D)^2 / g``. Each of psi, eta and sigma3 is a polynomial in phi with its
coefficients highest power first (the ``numpy.polyval`` convention) and the covariance matrix of
those coefficients from the fit (same order). The motor-drive efficiency (motor times inverter, shaft
power over DC input power) is a polynomial in speed fraction ``s = n / rated speed`` and load fraction
``l = P_shaft / rated power`` with ``coefficients[i][j]`` multiplying ``s**i * l**j`` (the
``numpy.polynomial.polynomial.polyval2d`` convention, lowest power first), valid over the tested
fraction ranges. The envelope states what the bench actually covered.

**Power basis.** What ``eta`` divides the hydraulic power into, recorded in ``power_basis``:

* ``"shaft"``: the pump's own efficiency (hydraulic power over shaft power), so ``Q dp / eta`` is
  **shaft power**. The literature default, and a calibration from runs with a torque sensor on the
  shaft. Such a calibration also records the bench drive's measured efficiency (shaft power over DC
  input, absolute) as ``bench_drive``, for the record: the sizing model puts its own motor and
  inverter efficiencies (the flight drive's) behind the pump, never the bench's drive.
* ``"wire_to_water"``: hydraulic power over the drive's DC input, so ``Q dp / (eta x drive)`` is
  **electrical power (wire-to-water)**: a calibration from runs without torque, where the pump's and
  the drive's losses cannot be told apart. ``drive`` is then the measured relative change of that
  efficiency with speed and load (1 at the reference speed; see :mod:`hil.model.calibration`).

JSON layout (``schema_version`` 2; version 1 files, which have no ``power_basis`` and no
``bench_drive``, still read: calibrated ones are wire-to-water)::

    {"schema": "hil.pump_model", "schema_version": 2, "calibrated": true,
     "power_basis": "shaft" | "wire_to_water",
     "description": "...", "fluid": "water", "impeller_diameter_m": 0.04,
     "psi": {"coefficients": [...], "covariance": [[...], ...]},
     "eta": {"coefficients": [...], "covariance": [[...], ...]},
     "sigma3": {"coefficients": [...], "covariance": [[...], ...]} | null,
     "drive": {"coefficients": [[...], ...], "rated_speed_rpm": ..., "rated_power_w": ...,
               "speed_fraction_range": [lo, hi], "load_fraction_range": [lo, hi]} | null,
     "envelope": {"phi_min": ..., "phi_max": ..., "speed_rpm_min": ..., "speed_rpm_max": ...,
                  "psi_min": null | number, "psi_max": null | number,
                  "reynolds_min": null | number, "reynolds_max": null | number},
     "bench_drive": null | {like "drive", absolute efficiency},
     "source_runs": ["run id", ...]}

``psi_min`` / ``psi_max`` are the head coefficients the bench measured (absent in files written
before they were recorded: then the head range is not checked). The speed range is the tested
impeller's; for a similar pump of another diameter the sizing compares tip speeds ``pi n D`` (what
sets the head, the stresses and the cavitation scaling) with the tested ones.

The Reynolds number, where given, is ``Re = (pi n D) D / nu`` (tip speed times diameter over
kinematic viscosity).

The file is read by the one config reader (:class:`hil.core.config.Section`): a missing or unknown
field, a value of the wrong kind or out of range (``NaN`` and ``Infinity`` included) is a
:class:`~hil.core.errors.ConfigError` naming the file and the field (``psi.coefficients[1]``).

The schema, its classes and its reader stay in this one module (about 560 lines) on purpose: a field
added to the layout above, to its class and to its reader is one change in one place, and the
reader's physical checks read the classes' own evaluation of the curves.

Imports only :mod:`hil.core` (config, errors, fluids) and :mod:`hil.analysis.head` (the one
definition of the flow coefficient) from the project.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.polynomial import polynomial as npoly
from numpy.typing import ArrayLike, NDArray

from hil.analysis.head import flow_coefficient
from hil.core.config import Section, load_json, parse_json_text
from hil.core.errors import HilError
from hil.core.fluids import STANDARD_GRAVITY_M_S2

__all__ = [
    "SCHEMA_NAME",
    "SCHEMA_VERSION",
    "DriveEfficiencyMap",
    "EnvelopeError",
    "FittedPolynomial",
    "PumpEnvelope",
    "PumpModel",
    "PumpModelError",
    "POWER_BASES",
    "POWER_BASIS_LABELS",
    "load_pump_model",
    "save_pump_model",
]

SCHEMA_NAME = "hil.pump_model"
SCHEMA_VERSION = 2
OLDEST_SCHEMA_VERSION = 1
"""Version 1: no ``power_basis`` (calibrated models were all wire-to-water) and no ``bench_drive``."""

POWER_BASES = ("shaft", "wire_to_water")
POWER_BASIS_LABELS = {"shaft": "shaft power", "wire_to_water": "electrical power (wire-to-water)"}
"""How every output names what ``Q dp / eta`` is."""


class PumpModelError(HilError, ValueError):
    """The pump model cannot answer what was asked (for instance NPSH3 with no NPSH3 run)."""


class EnvelopeError(HilError, ValueError):
    """An operating point lies outside the envelope the bench data cover (no extrapolation asked)."""


def _as_array(value: ArrayLike) -> NDArray[np.float64]:
    return np.asarray(value, dtype=float)


@dataclass(frozen=True)
class FittedPolynomial:
    """A fitted polynomial in phi: coefficients highest power first, with their covariance."""

    coefficients: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]

    def value(self, phi: ArrayLike, n_sigma: float = 0.0) -> NDArray[np.float64] | float:
        """The fitted value at ``phi``, shifted by ``n_sigma`` standard deviations of the fit."""
        phi_arr = _as_array(phi)
        # Horner's rule exactly as ``numpy.polyval`` runs it (from zero times phi, so an infinite phi
        # gives NaN as there), without its per-call set-up: the sizing optimiser calls this tens of
        # thousands of times on small arrays, where that set-up was most of the cost.
        result = phi_arr * 0.0 + self.coefficients[0]
        for c in self.coefficients[1:]:
            result = result * phi_arr + c
        if n_sigma:
            result = result + n_sigma * self.std(phi_arr)
        return float(result) if np.ndim(result) == 0 else result

    def std(self, phi: ArrayLike) -> NDArray[np.float64] | float:
        """Standard deviation of the fitted value at ``phi`` (the fit's confidence, not scatter)."""
        phi_arr = _as_array(phi)
        degree = len(self.coefficients) - 1
        powers = np.stack([phi_arr ** (degree - k) for k in range(degree + 1)], axis=-1)
        cov = np.asarray(self.covariance)
        variance = np.einsum("...i,ij,...j->...", powers, cov, powers)
        result = np.sqrt(np.maximum(variance, 0.0))
        return float(result) if np.ndim(result) == 0 else result

    def with_coefficients(self, coefficients: ArrayLike) -> FittedPolynomial:
        """The same fit with other coefficients (used to propagate coefficient uncertainty)."""
        return FittedPolynomial(tuple(float(c) for c in np.asarray(coefficients)), self.covariance)

    def to_dict(self) -> dict[str, Any]:
        return {"coefficients": list(self.coefficients), "covariance": [list(r) for r in self.covariance]}


@dataclass(frozen=True)
class DriveEfficiencyMap:
    """Motor-and-inverter efficiency against speed and load fraction of the drive's rating.

    ``coefficients[i][j]`` multiplies ``speed_fraction**i * load_fraction**j``. The flight drive is
    assumed to follow the same map normalised by its own rating (its design speed and shaft power),
    which is how the sizing model scales the bench drive to the flight one.
    """

    coefficients: tuple[tuple[float, ...], ...]
    rated_speed_rpm: float
    rated_power_w: float
    speed_fraction_range: tuple[float, float]
    load_fraction_range: tuple[float, float]

    def efficiency(self, speed_fraction: ArrayLike, load_fraction: ArrayLike) -> NDArray[np.float64]:
        """Drive efficiency, with the fractions held to the tested ranges (never extrapolated)."""
        s = np.clip(_as_array(speed_fraction), *self.speed_fraction_range)
        load = np.clip(_as_array(load_fraction), *self.load_fraction_range)
        eta = npoly.polyval2d(s, load, np.asarray(self.coefficients))
        return np.clip(eta, 0.01, 1.0)

    def covers(self, speed_fraction: ArrayLike, load_fraction: ArrayLike) -> bool:
        """Whether every (speed, load) fraction lies inside the tested ranges."""
        s = _as_array(speed_fraction)
        load = _as_array(load_fraction)
        tol = 1e-9
        return bool(
            np.all(s >= self.speed_fraction_range[0] - tol)
            and np.all(s <= self.speed_fraction_range[1] + tol)
            and np.all(load >= self.load_fraction_range[0] - tol)
            and np.all(load <= self.load_fraction_range[1] + tol)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "coefficients": [list(r) for r in self.coefficients],
            "rated_speed_rpm": self.rated_speed_rpm,
            "rated_power_w": self.rated_power_w,
            "speed_fraction_range": list(self.speed_fraction_range),
            "load_fraction_range": list(self.load_fraction_range),
        }


@dataclass(frozen=True)
class PumpEnvelope:
    """What the bench data cover: flow-coefficient, head-coefficient and speed ranges (and Reynolds
    number if known). ``psi_min`` / ``psi_max`` are None for a model that did not record them."""

    phi_min: float
    phi_max: float
    speed_rpm_min: float
    speed_rpm_max: float
    reynolds_min: float | None = None
    reynolds_max: float | None = None
    psi_min: float | None = None
    psi_max: float | None = None

    def tip_speed_range_m_s(self, impeller_diameter_m: float) -> tuple[float, float]:
        """Tested tip speeds ``pi n D`` (m/s) of the tested impeller: the speed range for any size."""
        scale = np.pi * impeller_diameter_m / 60.0
        return self.speed_rpm_min * scale, self.speed_rpm_max * scale

    def to_dict(self) -> dict[str, Any]:
        return {
            "phi_min": self.phi_min,
            "phi_max": self.phi_max,
            "speed_rpm_min": self.speed_rpm_min,
            "speed_rpm_max": self.speed_rpm_max,
            "psi_min": self.psi_min,
            "psi_max": self.psi_max,
            "reynolds_min": self.reynolds_min,
            "reynolds_max": self.reynolds_max,
        }


@dataclass(frozen=True)
class PumpModel:
    """A pump's dimensionless performance, fitted from bench runs or assumed from the literature.

    The flight pump is taken to be geometrically similar to the tested one, so psi(phi), eta(phi)
    and sigma3(phi) carry over unchanged while the diameter and speed scale (efficiency scale
    effects with size and Reynolds number are ignored, which is conservative for a flight pump
    larger or faster than the bench pump).
    """

    impeller_diameter_m: float
    fluid: str
    psi_fit: FittedPolynomial
    eta_fit: FittedPolynomial
    sigma3_fit: FittedPolynomial | None
    drive: DriveEfficiencyMap | None
    envelope: PumpEnvelope
    source_runs: tuple[str, ...] = ()
    calibrated: bool = True
    description: str = ""
    schema_version: int = SCHEMA_VERSION
    power_basis: str = "wire_to_water"
    bench_drive: DriveEfficiencyMap | None = None  # measured with a torque sensor; informative

    def __post_init__(self) -> None:
        if self.power_basis not in POWER_BASES:
            raise PumpModelError(f"power_basis must be one of {POWER_BASES}, got {self.power_basis!r}")

    @property
    def power_basis_label(self) -> str:
        """``shaft power`` or ``electrical power (wire-to-water)``: what ``Q dp / eta`` is."""
        return POWER_BASIS_LABELS[self.power_basis]

    # ---------------------------------------------------------------- curves
    def psi(self, phi: ArrayLike, n_sigma: float = 0.0) -> NDArray[np.float64] | float:
        """Head coefficient ``dp / (rho n^2 D^2)`` at flow coefficient ``phi``."""
        return self.psi_fit.value(phi, n_sigma)

    def eta(self, phi: ArrayLike, n_sigma: float = 0.0) -> NDArray[np.float64] | float:
        """Pump efficiency at flow coefficient ``phi``."""
        return self.eta_fit.value(phi, n_sigma)

    def sigma3(self, phi: ArrayLike, n_sigma: float = 0.0) -> NDArray[np.float64] | float:
        """Cavitation coefficient ``g NPSH3 / (n D)^2``; raises if no NPSH3 run was calibrated."""
        if self.sigma3_fit is None:
            raise PumpModelError(
                "this pump model has no NPSH3 fit (no NPSH3 run was calibrated); NPSH3 is unknown"
            )
        return self.sigma3_fit.value(phi, n_sigma)

    def npsh3_m(
        self,
        flow_m3_s: ArrayLike,
        speed_rpm: ArrayLike,
        diameter_m: float | None = None,
        n_sigma: float = 0.0,
    ) -> NDArray[np.float64] | float:
        """NPSH3 of a similar pump of ``diameter_m`` (default: the tested one) at flow and speed.

        Similarity: the flow coefficient ``phi = Q / (n D^3)`` locates the point on the curve and
        ``NPSH3 = sigma3(phi) (n D)^2 / g`` scales it, so at equal phi NPSH3 grows with the square of
        tip speed.
        """
        diameter = self.impeller_diameter_m if diameter_m is None else diameter_m
        n_rev_s = _as_array(speed_rpm) / 60.0
        phi = _as_array(flow_coefficient(flow_m3_s, speed_rpm, diameter))
        result = _as_array(self.sigma3(phi, n_sigma)) * (n_rev_s * diameter) ** 2 / STANDARD_GRAVITY_M_S2
        return float(result) if np.ndim(result) == 0 else result

    def flow_coefficient(
        self, flow_m3_s: ArrayLike, speed_rpm: ArrayLike, diameter_m: float | None = None
    ) -> NDArray[np.float64] | float:
        """``phi = Q / (n D^3)`` with n in rev/s (default diameter: the tested impeller)."""
        diameter = self.impeller_diameter_m if diameter_m is None else diameter_m
        return flow_coefficient(flow_m3_s, speed_rpm, diameter)

    def best_efficiency_phi(self) -> float:
        """The flow coefficient of best efficiency inside the envelope."""
        grid = np.linspace(self.envelope.phi_min, self.envelope.phi_max, 2001)
        return float(grid[int(np.argmax(np.asarray(self.eta(grid))))])

    def check_envelope(
        self,
        phi: ArrayLike,
        speed_rpm: ArrayLike | None = None,
        reynolds: ArrayLike | None = None,
        *,
        extrapolate: bool = False,
    ) -> str | None:
        """Check operating points against the tested envelope.

        Returns ``None`` when every point is inside. Outside, raises :class:`EnvelopeError` naming
        the quantity, the value and the tested range, unless ``extrapolate`` is true, in which case
        it returns that text as a warning for the output.
        """
        problems: list[str] = []
        env = self.envelope
        tol = 1e-9

        def check(label: str, values: ArrayLike | None, lo: float | None, hi: float | None, fmt: str) -> None:
            if values is None:
                return
            arr = _as_array(values)
            vmin, vmax = float(np.min(arr)), float(np.max(arr))
            if lo is not None and vmin < lo * (1 - tol) - tol:
                problems.append(f"{label} {vmin:{fmt}} below the tested minimum {lo:{fmt}}")
            if hi is not None and vmax > hi * (1 + tol) + tol:
                problems.append(f"{label} {vmax:{fmt}} above the tested maximum {hi:{fmt}}")

        check("flow coefficient phi", phi, env.phi_min, env.phi_max, ".4g")
        check("speed (rpm)", speed_rpm, env.speed_rpm_min, env.speed_rpm_max, ".0f")
        check("Reynolds number", reynolds, env.reynolds_min, env.reynolds_max, ".3g")
        if not problems:
            return None
        text = "outside the calibrated envelope: " + "; ".join(problems)
        if extrapolate:
            return text + " (extrapolated)"
        raise EnvelopeError(text + " (allow extrapolation to proceed)")

    # ---------------------------------------------------------------- construction
    @classmethod
    def default(cls) -> PumpModel:
        """An uncalibrated literature-based small high-head centrifugal pump (no bench data).

        Chosen to represent the small, low-specific-speed pumps of electric-pump-fed engines of a
        few kN: best efficiency 0.45 at phi = 0.015 with psi = 5.0 (a tip-speed head coefficient
        gH/u2^2 of about 0.5, usual for backswept impellers), shut-off head 1.1 times the design
        head, and NPSH3 from a suction specific speed of 3.0 (about 8,200 in US units, a plain
        impeller without inducer) at best efficiency, rising steeply towards high flow. The
        covariances express the literature scatter, not a fit: 5 % on psi, 10 % on eta and 30 % on
        sigma3 (fully correlated, so each curve moves as a whole). No drive map: the mission's motor
        and inverter efficiencies are used.
        """
        phi_bep = 0.015
        psi_c = np.array([-2222.2222, 0.0, 5.5])  # psi = 5.5 - 2222 phi^2: 5.0 at phi_bep
        eta_max = 0.45
        eta_c = np.array([-eta_max / phi_bep**2, 2.0 * eta_max / phi_bep, 0.0])
        # sigma3 through (0.0075, 0.150), (0.015, 0.163), (0.0225, 0.280): at phi_bep the suction
        # specific speed S = 2 pi phi^0.5 / sigma3^0.75 is 3.0.
        sigma_points = np.array([[0.0075, 0.150], [0.015, 0.163], [0.0225, 0.280]])
        sigma_c = np.polyfit(sigma_points[:, 0], sigma_points[:, 1], 2)

        def relative_cov(coefficients: np.ndarray, relative_std: float) -> tuple[tuple[float, ...], ...]:
            cov = relative_std**2 * np.outer(coefficients, coefficients)
            return tuple(tuple(float(v) for v in row) for row in cov)

        return cls(
            impeller_diameter_m=0.035,
            fluid="water",
            psi_fit=FittedPolynomial(tuple(float(c) for c in psi_c), relative_cov(psi_c, 0.05)),
            eta_fit=FittedPolynomial(tuple(float(c) for c in eta_c), relative_cov(eta_c, 0.10)),
            sigma3_fit=FittedPolynomial(tuple(float(c) for c in sigma_c), relative_cov(sigma_c, 0.30)),
            drive=None,
            envelope=PumpEnvelope(
                phi_min=0.0075,
                phi_max=0.0225,
                speed_rpm_min=5_000.0,
                speed_rpm_max=90_000.0,
                # The curve's own head coefficients at the ends of the flow range.
                psi_min=float(np.polyval(psi_c, 0.0225)),
                psi_max=float(np.polyval(psi_c, 0.0075)),
            ),
            source_runs=(),
            calibrated=False,
            power_basis="shaft",
            description=(
                "UNCALIBRATED literature-based default: small high-head centrifugal pump, "
                "best efficiency 0.45 at phi 0.015, no bench data"
            ),
        )

    # ---------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready dictionary of this model (see the module docstring for the layout)."""
        return {
            "schema": SCHEMA_NAME,
            "schema_version": self.schema_version,
            "calibrated": self.calibrated,
            "power_basis": self.power_basis,
            "description": self.description,
            "fluid": self.fluid,
            "impeller_diameter_m": self.impeller_diameter_m,
            "psi": self.psi_fit.to_dict(),
            "eta": self.eta_fit.to_dict(),
            "sigma3": None if self.sigma3_fit is None else self.sigma3_fit.to_dict(),
            "drive": None if self.drive is None else self.drive.to_dict(),
            "envelope": self.envelope.to_dict(),
            "bench_drive": None if self.bench_drive is None else self.bench_drive.to_dict(),
            "source_runs": list(self.source_runs),
        }

    def to_json(self) -> str:
        """This model as a JSON document (indented, stable key order)."""
        return json.dumps(self.to_dict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str, source: str = "<pump model>") -> PumpModel:
        """Parse and validate a pump model document; errors are :class:`ConfigError` naming the field."""
        return _parse_model(parse_json_text(text, source), source)


def load_pump_model(path: Path | str) -> PumpModel:
    """Read and validate a pump model file."""
    path = Path(path)
    return _parse_model(load_json(path), str(path))


def save_pump_model(model: PumpModel, path: Path | str) -> None:
    """Write ``model`` as JSON to ``path``."""
    Path(path).write_text(model.to_json(), encoding="utf-8")


# ------------------------------------------------------------------------------------------ parsing
# Through the one config reader; JSON ``null`` in an optional field means "absent".


def _present(sec: Section, key: str) -> bool:
    """Whether an optional field holds a value (JSON null counts as absent)."""
    if sec.has(key) and sec.data[key] is None:
        sec.raw(key)
        return False
    return sec.has(key)


def _polynomial(sec: Section) -> FittedPolynomial:
    coefficients = sec.number_list("coefficients", min_length=1)
    n = len(coefficients)
    covariance = sec.number_matrix("covariance", n, n)
    sec.finish()
    arr = np.asarray(covariance)
    scale = max(float(np.max(np.abs(arr))), 1e-300)
    if not np.allclose(arr, arr.T, rtol=1e-6, atol=1e-12 * scale):
        raise sec.error("covariance", "expected a symmetric matrix, got an asymmetric one")
    if float(np.min(np.linalg.eigvalsh(arr))) < -1e-8 * scale:
        raise sec.error("covariance", "expected a positive semi-definite matrix, got a negative eigenvalue")
    return FittedPolynomial(coefficients, covariance)


def _drive(sec: Section) -> DriveEfficiencyMap:
    # Read in alphabetical order, so that the first missing field named is the same on every run.
    coefficients = sec.number_matrix("coefficients")
    load_range = sec.pair("load_fraction_range")
    rated_power = sec.positive("rated_power_w")
    rated_speed = sec.positive("rated_speed_rpm")
    speed_range = sec.pair("speed_fraction_range")
    sec.finish()
    return DriveEfficiencyMap(coefficients, rated_speed, rated_power, speed_range, load_range)


def _envelope(sec: Section) -> PumpEnvelope:
    env = PumpEnvelope(
        phi_min=sec.positive("phi_min"),
        phi_max=sec.positive("phi_max"),
        speed_rpm_min=sec.positive("speed_rpm_min"),
        speed_rpm_max=sec.positive("speed_rpm_max"),
        reynolds_min=sec.positive("reynolds_min", None) if _present(sec, "reynolds_min") else None,
        reynolds_max=sec.positive("reynolds_max", None) if _present(sec, "reynolds_max") else None,
        psi_min=sec.positive("psi_min", None) if _present(sec, "psi_min") else None,
        psi_max=sec.positive("psi_max", None) if _present(sec, "psi_max") else None,
    )
    sec.finish()
    if (env.psi_min is None) != (env.psi_max is None):
        missing = "psi_max" if env.psi_max is None else "psi_min"
        raise sec.error(missing, "expected psi_min and psi_max together (or neither)")
    if env.psi_min is not None and env.psi_max is not None and env.psi_min > env.psi_max:
        raise sec.error("psi_max", f"must be >= psi_min {env.psi_min}, got {env.psi_max}")
    if not env.phi_min < env.phi_max:
        raise sec.error("phi_max", f"must be > phi_min {env.phi_min}, got {env.phi_max}")
    if not env.speed_rpm_min <= env.speed_rpm_max:
        raise sec.error(
            "speed_rpm_max", f"must be >= speed_rpm_min {env.speed_rpm_min}, got {env.speed_rpm_max}"
        )
    if env.reynolds_min is not None and env.reynolds_max is not None and env.reynolds_min > env.reynolds_max:
        raise sec.error("reynolds_max", f"must be >= reynolds_min {env.reynolds_min}, got {env.reynolds_max}")
    return env


def _parse_model(data: Any, source: str) -> PumpModel:
    top = Section(data, source)
    top.string("schema", choices=(SCHEMA_NAME,))
    version = top.integer("schema_version", minimum=OLDEST_SCHEMA_VERSION, maximum=SCHEMA_VERSION)
    calibrated = top.boolean("calibrated", True)
    if version >= 2:
        basis = top.string("power_basis", choices=POWER_BASES)
        bench_drive = _drive(top.section("bench_drive")) if _present(top, "bench_drive") else None
    else:
        basis, bench_drive = ("wire_to_water" if calibrated else "shaft"), None
    model = PumpModel(
        impeller_diameter_m=top.positive("impeller_diameter_m"),
        fluid=top.string("fluid", nonempty=True),
        psi_fit=_polynomial(top.section("psi")),
        eta_fit=_polynomial(top.section("eta")),
        sigma3_fit=_polynomial(top.section("sigma3")) if _present(top, "sigma3") else None,
        drive=_drive(top.section("drive")) if _present(top, "drive") else None,
        envelope=_envelope(top.section("envelope")),
        source_runs=top.string_list("source_runs", ()),
        calibrated=calibrated,
        description=top.string("description", ""),
        schema_version=SCHEMA_VERSION,
        power_basis=basis,
        bench_drive=bench_drive,
    )
    top.finish()
    _check_physical(model, top)
    return model


def _check_physical(model: PumpModel, top: Section) -> None:
    """The curves must describe a pump over the envelope they claim: psi > 0, eta in (0, 1], sigma3 > 0.

    A file that passes the schema can still say nonsense (an efficiency of 2.0, a negative NPSH3
    coefficient); the sizing would turn it into a pump that creates energy or never cavitates.
    """
    env = model.envelope
    grid = np.linspace(env.phi_min, env.phi_max, 201)
    checks: list[tuple[str, FittedPolynomial | None, str, float, float]] = [
        ("psi", model.psi_fit, "head coefficient", 0.0, np.inf),
        ("eta", model.eta_fit, "efficiency", 0.0, 1.0),
        ("sigma3", model.sigma3_fit, "NPSH3 coefficient", 0.0, np.inf),
    ]
    for key, fit, label, lo, hi in checks:
        if fit is None:
            continue
        values = np.asarray(fit.value(grid), dtype=float)
        bad = np.flatnonzero(~((values > lo) & (values <= hi)))
        if bad.size:
            i = int(bad[np.argmax(np.abs(values[bad] - np.clip(values[bad], lo, hi)))])
            allowed = "in (0, 1]" if np.isfinite(hi) else "positive"
            raise top.error(
                f"{key}.coefficients",
                f"give {label} {values[i]:.4g} at flow coefficient {grid[i]:.4g}, inside the envelope "
                f"{env.phi_min:.4g}..{env.phi_max:.4g}: a pump's {label} must be {allowed} there",
            )
