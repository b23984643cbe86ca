"""Monte Carlo over the calibration covariance and the stated input uncertainties.

:func:`monte_carlo` holds a design fixed (usually the optimum) and evaluates it for ``samples`` draws
of everything uncertain: each fitted pump curve's coefficients from its covariance (a multivariate
normal; psi, eta and sigma3 taken as independent fits) and each input the mission states an
uncertainty for (``[uncertainty]`` in the mission file, relative 1-sigma, normal). It returns the
distribution of the loaded system mass, the smallest NPSH margin (NPSHA / NPSH3 over the burn and
both pumps) and the peak electrical power, beside the linearised 1-sigma of
:func:`~hil.model.sizing.studies.calibration_uncertainty`.

Reproducible and executor-ready: draw ``i`` uses its own generator from
``numpy.random.SeedSequence(seed).spawn(samples)[i]``, so a sample's values depend only on the seed
and its index, never on how the draws are split into chunks. Each chunk is a pure function
(:func:`evaluate_chunk`) of its inputs; ``executor`` may be any ``concurrent.futures``-style object
with ``submit`` (a process pool, a Dask client); without one the chunks run here, one after another.

Imports :mod:`hil.model.pump_model` and the sizing modules only from the project.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
from numpy.typing import NDArray

from hil.model.pump_model import FittedPolynomial, PumpModel, PumpModelError
from hil.model.sizing.inputs import InputUncertainty, SizingInputs
from hil.model.sizing.model import CurveAdjustment, DesignPoint, evaluate_electric

__all__ = ["Distribution", "Executor", "MonteCarloResult", "evaluate_chunk", "monte_carlo"]

Array = NDArray[np.float64]


class Executor(Protocol):
    """What :func:`monte_carlo` needs of an executor: ``concurrent.futures``' ``submit``."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]: ...


@dataclass(frozen=True)
class Distribution:
    """Summary of one output over the draws."""

    mean: float
    std: float
    p05: float
    p50: float
    p95: float

    @classmethod
    def of(cls, values: Array) -> Distribution:
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return cls(*(float("nan"),) * 5)
        p05, p50, p95 = np.percentile(finite, [5.0, 50.0, 95.0])
        return cls(
            float(np.mean(finite)), float(np.std(finite, ddof=1) if finite.size > 1 else 0.0), p05, p50, p95
        )


@dataclass(frozen=True)
class MonteCarloResult:
    """The draws and their summaries; ``sampled`` lists what was varied."""

    samples: int
    seed: int
    total_mass_kg: Array
    min_npsh_ratio: Array
    peak_electrical_power_w: Array
    feasible: NDArray[np.bool_]
    sampled: tuple[str, ...]

    @property
    def mass(self) -> Distribution:
        return Distribution.of(self.total_mass_kg)

    @property
    def npsh_ratio(self) -> Distribution:
        return Distribution.of(self.min_npsh_ratio)

    @property
    def peak_power(self) -> Distribution:
        return Distribution.of(self.peak_electrical_power_w)

    def summary(self) -> dict[str, Any]:
        """JSON-ready summary."""
        return {
            "samples": self.samples,
            "seed": self.seed,
            "sampled": list(self.sampled),
            "feasible_fraction": float(np.mean(self.feasible)) if self.samples else float("nan"),
            "total_mass_kg": dataclasses.asdict(self.mass),
            "min_npsha_over_npsh3": dataclasses.asdict(self.npsh_ratio),
            "peak_electrical_power_w": dataclasses.asdict(self.peak_power),
        }


_CURVES = ("psi", "eta", "sigma3")


def _draw_model(model: PumpModel, rng: np.random.Generator) -> PumpModel:
    changed: dict[str, FittedPolynomial] = {}
    for curve in _CURVES:
        fit: FittedPolynomial | None = getattr(model, f"{curve}_fit")
        if fit is None:
            continue
        coefficients = rng.multivariate_normal(
            np.asarray(fit.coefficients), np.asarray(fit.covariance), method="eigh"
        )
        changed[f"{curve}_fit"] = fit.with_coefficients(coefficients)
    return dataclasses.replace(model, **changed)  # type: ignore[arg-type]


def _draw_inputs(
    inputs: SizingInputs, stated: InputUncertainty, rng: np.random.Generator
) -> tuple[SizingInputs, CurveAdjustment]:
    def factor(sigma: float) -> float:
        return float(max(1.0 + sigma * rng.standard_normal(), 0.05)) if sigma > 0 else 1.0

    elec, tanks = inputs.electric, inputs.tanks
    electric = dataclasses.replace(
        elec,
        motor_efficiency=min(elec.motor_efficiency * factor(stated.motor_efficiency), 1.0),
        inverter_efficiency=min(elec.inverter_efficiency * factor(stated.inverter_efficiency), 1.0),
        battery_specific_energy_wh_kg=elec.battery_specific_energy_wh_kg
        * factor(stated.battery_specific_energy),
        battery_specific_power_w_kg=elec.battery_specific_power_w_kg * factor(stated.battery_specific_power),
        motor_specific_power_w_kg=elec.motor_specific_power_w_kg * factor(stated.motor_specific_power),
    )
    material = dataclasses.replace(
        tanks.material,
        allowable_stress_pa=tanks.material.allowable_stress_pa * factor(stated.tank_allowable_stress),
    )
    adjusted = dataclasses.replace(
        inputs, electric=electric, tanks=dataclasses.replace(tanks, material=material)
    )
    adjustment = CurveAdjustment(npsh3_factor=factor(stated.npsh3), flow_factor=factor(stated.flow))
    return adjusted, adjustment


def evaluate_chunk(
    inputs: SizingInputs,
    model: PumpModel,
    design: Sequence[float],
    seed: int,
    samples: int,
    first: int,
    count: int,
    extrapolate: bool,
) -> tuple[Array, Array, Array, NDArray[np.bool_]]:
    """Draws ``first .. first + count - 1`` of ``samples``: a pure function of its arguments."""
    children = np.random.SeedSequence(seed).spawn(samples)[first : first + count]
    row = np.asarray(design, dtype=float)[None, :]
    mass, npsh, power = np.empty(count), np.empty(count), np.empty(count)
    feasible = np.zeros(count, dtype=bool)
    for k, child in enumerate(children):
        rng = np.random.default_rng(child)
        drawn_model = _draw_model(model, rng)
        drawn_inputs, adjustment = _draw_inputs(inputs, inputs.uncertainty, rng)
        try:
            batch = evaluate_electric(
                drawn_inputs, drawn_model, row, adjustment=adjustment, extrapolate=extrapolate
            )
        except PumpModelError:  # a drawn curve no pump follows (psi not increasing): not a design
            mass[k], npsh[k], power[k] = np.nan, np.nan, np.nan
            continue
        ratios = np.concatenate(
            [
                batch.fuel.npsha_m[0] / batch.fuel.npsh3_m[0],
                batch.oxidiser.npsha_m[0] / batch.oxidiser.npsh3_m[0],
            ]
        )
        mass[k] = float(batch.total_mass_kg[0])
        npsh[k] = float(np.min(ratios))
        power[k] = float(batch.peak_electrical_power_w[0])
        feasible[k] = bool(batch.feasible()[0])
    return mass, npsh, power, feasible


def monte_carlo(
    inputs: SizingInputs,
    pump_model: PumpModel | None,
    design: DesignPoint,
    *,
    samples: int = 200,
    seed: int = 0,
    executor: Executor | None = None,
    chunk: int = 50,
    extrapolate: bool = True,
) -> MonteCarloResult:
    """Distribution of system mass, NPSH margin and peak power at ``design`` (see the module docstring).

    ``extrapolate`` defaults to true: a drawn curve may leave the calibrated envelope, and the draw
    should then count with its consequences rather than be refused.
    """
    model = pump_model if pump_model is not None else PumpModel.default()
    values = tuple(float(v) for v in design.as_array())
    starts = list(range(0, samples, max(chunk, 1)))
    counts = [min(chunk, samples - s) for s in starts]
    args = [(inputs, model, values, seed, samples, s, c, extrapolate) for s, c in zip(starts, counts)]
    if executor is None:
        parts = [evaluate_chunk(*a) for a in args]
    else:
        futures = [executor.submit(evaluate_chunk, *a) for a in args]
        parts = [f.result() for f in futures]
    empty = np.zeros(0)
    mass = np.concatenate([p[0] for p in parts]) if parts else empty
    npsh = np.concatenate([p[1] for p in parts]) if parts else empty
    power = np.concatenate([p[2] for p in parts]) if parts else empty
    feasible = np.concatenate([p[3] for p in parts]) if parts else np.zeros(0, dtype=bool)
    sampled = [f"{c} curve (fit covariance)" for c in _CURVES if getattr(model, f"{c}_fit") is not None]
    sampled += [f"{name} ({sigma:g} relative 1-sigma)" for name, sigma in inputs.uncertainty.stated().items()]
    return MonteCarloResult(samples, seed, mass, npsh, power, feasible, tuple(sampled))
