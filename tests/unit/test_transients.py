"""Step-response figures on signals whose answer is known by hand."""

import math

import numpy as np
import pytest

from hil.analysis.transients import crossing_time, energy_j, step_figures


def test_crossing_is_interpolated_between_samples() -> None:
    t = np.array([0.0, 0.1, 0.2])
    v = np.array([0.0, 10.0, 20.0])
    assert crossing_time(t, v, 2.5) == pytest.approx(0.025)
    assert crossing_time(t, v, 25.0) != crossing_time(t, v, 25.0)  # never reached: NaN
    assert crossing_time(t, v[::-1], 5.0, rising=False) == pytest.approx(0.15)


def test_a_ramp_to_a_hold_by_hand() -> None:
    # Step at 1 s from 0 to 100, reached by a straight ramp in 0.5 s, then held: 10 % at 0.05 s, 90 % at
    # 0.45 s after the step, inside the 2 % band (98 or more) from 0.49 s.
    t = np.arange(0.0, 4.0, 0.01)
    v = np.clip((t - 1.0) / 0.5, 0.0, 1.0) * 100.0
    f = step_figures(t, v, 1.0)
    assert f.initial == 0.0 and f.final == 100.0
    assert f.time_to_10_s == pytest.approx(0.05, abs=1e-9)
    assert f.time_to_90_s == pytest.approx(0.45, abs=1e-9)
    assert f.rise_time_s == pytest.approx(0.40, abs=1e-9)
    assert f.settling_time_s == pytest.approx(0.49, abs=1e-9)
    assert f.overshoot_fraction == 0.0


def test_overshoot_of_a_damped_oscillation() -> None:
    # 1 - exp(-t) cos(5 t) peaks where tan(5 t) = -1/5: t* = (pi - atan(0.2)) / 5 = 0.58884 s, at
    # 1 + exp(-t*) cos(atan(0.2)) = 1 + 0.55499 * 0.98058: an overshoot of 0.5442.
    t = np.arange(0.0, 20.0, 0.001)
    v = 1.0 - np.exp(-t) * np.cos(5.0 * t)
    f = step_figures(t, v, 0.0, initial=0.0)
    t_peak = (math.pi - math.atan(0.2)) / 5.0
    assert f.overshoot_fraction == pytest.approx(math.exp(-t_peak) * math.cos(math.atan(0.2)), rel=1e-3)


def test_energy_is_the_trapezoid_of_power() -> None:
    t = np.array([0.0, 1.0, 2.0, 3.0])
    p = np.array([100.0, 100.0, 200.0, np.nan])
    assert energy_j(t, p, 0.0, 3.0) == pytest.approx(100.0 + 150.0)
