"""The sizing model's batch paths give every design and every pump the values it would get alone.

The evaluation sizes the fuel and oxidiser pumps (and tanks) of a batch as rows of one array and
evaluates the fitted polynomials by Horner's rule; these tests hold those paths to the plain ones:
``numpy.polyval``, a design evaluated on its own, and a pump whose neighbour has other settings.
"""

from __future__ import annotations

import dataclasses
import tomllib
from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest

from hil.model.pump_model import FittedPolynomial, PumpModel
from hil.model.sizing.batches import ElectricBatch, PumpBatch
from hil.model.sizing.mission import SizingInputs, parse_mission
from hil.model.sizing.model import evaluate_electric

SAMPLE = Path(str(files("hil") / "data" / "lander_mission.toml"))
DESIGNS = np.array(
    [
        [2.0e6, 4.0e5, 4.0e5, 50_000.0, 50_000.0, 1.65],
        [1.2e6, 3.0e5, 6.0e5, 30_000.0, 70_000.0, 1.5],
        [3.5e6, 1.0e6, 2.5e5, 85_000.0, 20_000.0, 1.9],
        [0.8e6, 1.5e5, 1.5e5, 12_000.0, 12_000.0, 1.65],
    ]
)


def _mission(**electric: float) -> SizingInputs:
    data = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    data["electric"].update(electric)
    return parse_mission(data, str(SAMPLE))


def _pump_arrays(pump: PumpBatch) -> dict[str, np.ndarray]:
    return {f.name: np.asarray(getattr(pump, f.name)) for f in dataclasses.fields(pump)}


def _both_pumps(batch: ElectricBatch) -> dict[str, np.ndarray]:
    arrays = {f"fuel.{k}": v for k, v in _pump_arrays(batch.fuel).items()}
    return arrays | {f"oxidiser.{k}": v for k, v in _pump_arrays(batch.oxidiser).items()}


@pytest.mark.parametrize("fit", ["psi_fit", "eta_fit", "sigma3_fit"])
def test_fitted_polynomial_values_are_numpy_polyval_bit_for_bit(fit: str) -> None:
    polynomial: FittedPolynomial = getattr(PumpModel.default(), fit)
    phi = np.concatenate([np.linspace(-0.05, 0.05, 1001), [0.0, -0.0, 1e200, np.inf, -np.inf, np.nan]])
    with np.errstate(all="ignore"):
        expected = np.polyval(np.asarray(polynomial.coefficients), phi)
        got = polynomial.value(phi)
        assert np.array_equal(got, expected, equal_nan=True)  # inf gives NaN, as polyval's does
        for one in (0.0125, 0.0, np.inf):
            value = polynomial.value(one)
            assert isinstance(value, float)
            assert value == float(np.polyval(np.asarray(polynomial.coefficients), one)) or (
                np.isnan(value) and one == np.inf
            )


def test_each_design_of_a_batch_gets_exactly_the_pumps_it_gets_alone() -> None:
    """Row by row, bit for bit (the masses are not compared: the propellant iteration of a batch
    stops when every row has converged, so a row can take more iterations in company than alone)."""
    inputs = _mission()
    model = PumpModel.default()
    batch = _both_pumps(evaluate_electric(inputs, model, DESIGNS, extrapolate=True))
    for row, design in enumerate(DESIGNS):
        alone = _both_pumps(evaluate_electric(inputs, model, design[None, :], extrapolate=True))
        for name, values in alone.items():
            assert np.array_equal(batch[name][row], values[0], equal_nan=True), (row, name)


def test_a_stated_efficiency_on_one_pump_leaves_the_other_on_its_curve() -> None:
    """Fuel pump stated, oxidiser pump on the curve: each as when both pumps are set alike."""
    model = PumpModel.default()
    mixed = evaluate_electric(_mission(fuel_pump_efficiency=0.61), model, DESIGNS, extrapolate=True)
    curve = evaluate_electric(_mission(), model, DESIGNS, extrapolate=True)
    stated = evaluate_electric(
        _mission(fuel_pump_efficiency=0.61, oxidiser_pump_efficiency=0.61), model, DESIGNS, extrapolate=True
    )
    assert np.all(mixed.fuel.efficiency == 0.61)
    assert not np.any(curve.oxidiser.efficiency == 0.61)
    for name, values in _pump_arrays(mixed.oxidiser).items():
        assert np.array_equal(values, np.asarray(getattr(curve.oxidiser, name)), equal_nan=True), name
    for name, values in _pump_arrays(mixed.fuel).items():
        assert np.array_equal(values, np.asarray(getattr(stated.fuel, name)), equal_nan=True), name
