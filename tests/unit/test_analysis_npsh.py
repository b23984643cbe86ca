"""NPSH3 interpolation on synthetic breakdown curves with known crossings, and its tolerance."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hil.analysis import AnalysisError
from hil.analysis.grades import load_grade_table
from hil.analysis.npsh import fit_npsh3_curve, judge_npsh3, npsh3_from_sweep, npsh3_tolerance_m
from hil.core.errors import ConfigError

# Flat at 50 m, then breaking down: threshold 0.97 * 50 = 48.5 m is bracketed by (3.5 m, 49.0 m) and
# (3.0 m, 47.0 m): s = (48.5 - 49)/(47 - 49) = 0.25, NPSH3 = 3.5 + 0.25 * (3.0 - 3.5) = 3.375 m.
NPSHA = np.array([10.0, 8.0, 6.0, 5.0, 4.0, 3.5, 3.0, 2.5])
HEAD = np.array([50.0, 50.0, 50.0, 50.0, 49.5, 49.0, 47.0, 40.0])


def test_linear_interpolation_at_the_three_percent_drop() -> None:
    result = npsh3_from_sweep(NPSHA, HEAD)
    assert result.reference_head_m == 50.0
    assert result.threshold_head_m == pytest.approx(48.5)
    assert result.npsh3_m == pytest.approx(3.375)
    assert result.bracket_indices == (5, 6)


def test_uncertainty_by_hand() -> None:
    # slope dN/dh = (3.0 - 3.5)/(47 - 49) = 0.25 m/m, s = 0.25; u_h = 0.1 m, u_NPSHA = 0.05 m:
    # (0.75*0.05)^2 + (0.25*0.05)^2 + (0.25*0.75*0.1)^2 + (0.25*0.25*0.1)^2 + (0.97*0.25*0.1)^2
    # = 0.00140625 + 0.00015625 + 0.00035156 + 0.00003906 + 0.00058806 -> sqrt = 0.050410 m
    result = npsh3_from_sweep(NPSHA, HEAD, head_uncertainty_m=0.1, npsha_uncertainty_m=0.05)
    assert result.uncertainty_m == pytest.approx(0.050410, abs=1e-6)


def test_order_of_readings_does_not_matter() -> None:
    order = np.array([3, 7, 0, 5, 2, 6, 1, 4])
    result = npsh3_from_sweep(NPSHA[order], HEAD[order])
    assert result.npsh3_m == pytest.approx(3.375)
    i, j = result.bracket_indices
    assert (NPSHA[order][i], NPSHA[order][j]) == (3.5, 3.0)


def test_smooth_breakdown_with_known_crossing() -> None:
    # H = 50 for NPSHA >= 4, 50 - 10 (4 - NPSHA)^2 below: 48.5 m at NPSHA = 4 - sqrt(0.15) = 3.612702 m.
    coarse = np.arange(12.0, 4.0, -1.0)
    fine = np.arange(4.0, 3.0, -0.01)  # refined step near the knee, as the procedure does
    npsha = np.concatenate([coarse, fine])
    head = np.where(npsha >= 4.0, 50.0, 50.0 - 10.0 * (4.0 - npsha) ** 2)
    result = npsh3_from_sweep(npsha, head)
    assert result.npsh3_m == pytest.approx(4.0 - math.sqrt(0.15), abs=5e-4)


def test_given_reference_head_and_other_drop() -> None:
    result = npsh3_from_sweep(NPSHA[3:], HEAD[3:], reference_head_m=50.0, head_drop_fraction=0.01)
    # threshold 49.5 is met exactly at 4.0 and first undercut at 3.5 m: s = 0 -> 4.0 m.
    assert result.npsh3_m == pytest.approx(4.0)


def test_sweep_that_never_breaks_down() -> None:
    with pytest.raises(AnalysisError, match="lower the inlet pressure"):
        npsh3_from_sweep(NPSHA[:5], HEAD[:5])


def test_sweep_that_starts_inside_cavitation() -> None:
    with pytest.raises(AnalysisError, match="inside cavitation"):
        npsh3_from_sweep(NPSHA[6:], HEAD[6:], reference_head_m=50.0)
    with pytest.raises(AnalysisError, match="inside cavitation"):
        npsh3_from_sweep([5.0, 4.0, 3.0, 2.0], [50.0, 50.0, 45.0, 40.0], reference_points=3)


def test_bad_parameters() -> None:
    with pytest.raises(ConfigError, match="head_drop_fraction"):
        npsh3_from_sweep(NPSHA, HEAD, head_drop_fraction=3.0)
    with pytest.raises(ConfigError, match="head_m"):
        npsh3_from_sweep(NPSHA, HEAD[:-1])


def test_npsh3_tolerance_is_the_larger_of_fraction_and_floor() -> None:
    table = load_grade_table()
    g1, g2 = table.grade("1B"), table.grade("2B")
    assert npsh3_tolerance_m(g1, 2.0) == pytest.approx(0.15)  # 5 % would be 0.10
    assert npsh3_tolerance_m(g1, 5.0) == pytest.approx(0.25)  # 5 % beats 0.15
    assert npsh3_tolerance_m(g2, 2.0) == pytest.approx(0.20)  # 6 % would be 0.12
    assert judge_npsh3(2.0, 2.15, g1).passed
    verdict = judge_npsh3(2.0, 2.16, g1)
    assert not verdict.passed and not verdict.tolerance_verified
    assert verdict.tolerance_plus_fraction == pytest.approx(0.075)


def test_npsh3_curve_fit() -> None:
    flow = np.linspace(0.004, 0.016, 6)
    fit = fit_npsh3_curve(flow, 1.0 + 1.0e4 * flow**2)
    assert fit(0.01) == pytest.approx(2.0)
