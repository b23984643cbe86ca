"""Monte Carlo over the calibration covariance and stated input uncertainties: reproducible, independent
of chunking and executor, consistent with the linearised 1-sigma, and widened by stated uncertainties."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

import numpy as np
import pytest

from hil.fleet.executor import SynchronousExecutor
from hil.model.sizing.inputs import InputUncertainty, SizingInputs
from hil.model.sizing.mission import load_mission
from hil.model.sizing.monte_carlo import monte_carlo
from hil.model.sizing.optimise import OptimisationResult, optimise_electric
from hil.model.sizing.studies import calibration_uncertainty
from tests.sizing_samples import SAMPLE


@pytest.fixture(scope="module")
def sample() -> tuple[SizingInputs, OptimisationResult]:
    inputs = load_mission(SAMPLE)
    return inputs, optimise_electric(inputs)


def test_same_seed_same_draws_whatever_the_chunks_and_the_executor(sample) -> None:
    inputs, best = sample
    a = monte_carlo(inputs, None, best.design, samples=24, seed=7, chunk=24)
    b = monte_carlo(inputs, None, best.design, samples=24, seed=7, chunk=5)
    with ThreadPoolExecutor(max_workers=2) as pool:
        c = monte_carlo(inputs, None, best.design, samples=24, seed=7, chunk=7, executor=pool)
    for other in (b, c):
        np.testing.assert_array_equal(a.total_mass_kg, other.total_mass_kg)
        np.testing.assert_array_equal(a.min_npsh_ratio, other.min_npsh_ratio)
        np.testing.assert_array_equal(a.peak_electrical_power_w, other.peak_electrical_power_w)
    d = monte_carlo(inputs, None, best.design, samples=24, seed=8)
    assert not np.array_equal(a.total_mass_kg, d.total_mass_kg)


def test_the_campaign_executors_give_the_same_draws(sample) -> None:
    inputs, best = sample
    alone = monte_carlo(inputs, None, best.design, samples=8, seed=11, chunk=3)
    with SynchronousExecutor() as synchronous:
        same = monte_carlo(inputs, None, best.design, samples=8, seed=11, chunk=3, executor=synchronous)
    with ProcessPoolExecutor(max_workers=2) as pool:  # inputs, pump model and CEA table travel by pickle
        shipped = monte_carlo(inputs, None, best.design, samples=8, seed=11, chunk=3, executor=pool)
    for other in (same, shipped):
        np.testing.assert_array_equal(alone.total_mass_kg, other.total_mass_kg)
        np.testing.assert_array_equal(alone.peak_electrical_power_w, other.peak_electrical_power_w)


def test_mass_spread_agrees_with_the_linearised_one_sigma(sample) -> None:
    inputs, best = sample
    mc = monte_carlo(inputs, None, best.design, samples=120, seed=3)
    linear = calibration_uncertainty(inputs, None, best)
    # Two independent routes through the same covariance: first-order propagation and sampling.
    assert mc.mass.std == pytest.approx(linear.mass_std_kg, rel=0.35)
    assert mc.mass.p05 < best.total_mass_kg < mc.mass.p95
    assert "eta curve (fit covariance)" in mc.sampled
    summary = mc.summary()
    assert set(summary) >= {"total_mass_kg", "min_npsha_over_npsh3", "peak_electrical_power_w"}


def test_a_stated_input_uncertainty_widens_the_distribution(sample) -> None:
    inputs, best = sample
    base = monte_carlo(inputs, None, best.design, samples=60, seed=5)
    unsure = dataclasses.replace(inputs, uncertainty=InputUncertainty(motor_specific_power=0.3))
    wide = monte_carlo(unsure, None, best.design, samples=60, seed=5)
    assert wide.mass.std > base.mass.std
    assert "motor_specific_power (0.3 relative 1-sigma)" in wide.sampled
