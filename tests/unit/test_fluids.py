"""Water properties: the plant's IAPWS-IF97 source against published values and against IAPWS-95."""

from __future__ import annotations

import numpy as np
import pytest

from hil.core.fluids import FluidRangeError, water_state, water_state_if97


def test_if97_gives_the_published_values_at_20_degc() -> None:
    # IAPWS: liquid water at 20 degC and 1 atm is 998.2 kg/m3; its vapour pressure is 2339 Pa.
    density, vapour = water_state_if97(20.0)
    assert density == pytest.approx(998.2, abs=0.05)
    assert vapour == pytest.approx(2339.0, abs=1.0)


def test_if97_agrees_with_iapws95_far_inside_the_instruments_accuracy() -> None:
    for temperature_c in np.linspace(5.0, 80.0, 16):
        density, vapour = water_state_if97(float(temperature_c))
        density_95, vapour_95 = water_state(float(temperature_c))
        assert density == pytest.approx(density_95, rel=2e-5)
        assert vapour == pytest.approx(vapour_95, rel=1e-4)


def test_if97_refuses_temperatures_outside_the_liquid_range() -> None:
    with pytest.raises(FluidRangeError, match="200.000 degC"):
        water_state_if97(200.0)
