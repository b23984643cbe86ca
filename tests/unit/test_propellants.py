"""Propellant and tank-material data against published figures, ranges and the MMH density trap."""

from __future__ import annotations

import itertools
import math

import pytest

from hil.core.errors import HilError
from hil.model.propellants import (
    ExplicitPropellant,
    FluidRangeError,
    UnknownMaterialError,
    UnknownPropellantError,
    known_propellants,
    known_tank_materials,
    propellant,
    tank_material,
)


def test_every_required_propellant_is_known() -> None:
    names = set(known_propellants())
    assert {"MMH", "N2O4", "MON-3", "N2H4", "LOX", "RP-1", "ethanol", "methane", "water"} <= names


@pytest.mark.parametrize(
    "name", ["MMH", "N2O4", "MON-3", "N2H4", "LOX", "RP-1", "ethanol", "methane", "water"]
)
def test_every_propellant_states_its_source_and_range(name: str) -> None:
    prop = propellant(name)
    lo, hi = prop.valid_range_c()
    assert lo < hi
    assert len(prop.source) > 20  # a real citation, not a placeholder


# --- MMH, including the density trap -----------------------------------------------------------


def test_mmh_density_is_the_measured_875_not_the_library_500() -> None:
    # The trap: thermo's default method gives about 500 kg/m3.
    # NIST REFPROP 875.6 and Vandenberg 874.9 kg/m3 at 20 degC.
    rho = propellant("MMH").density_kg_m3(20.0)
    assert rho > 800.0
    assert rho == pytest.approx(875.0, rel=0.005)


def test_mmh_density_at_25c_matches_afrpl_handbook() -> None:
    # AFRPL-TR-69-149 Hydrazine Fuels: 0.8702 g/cm3 at 298 K.
    assert propellant("MMH").density_kg_m3(24.85) == pytest.approx(870.2, rel=0.003)


def test_mmh_vapour_pressure_at_20c_and_normal_boiling_point() -> None:
    mmh = propellant("MMH")
    assert mmh.vapour_pressure_pa(20.0) == pytest.approx(5.0e3, rel=0.05)
    # Normal boiling point 87.5 degC (AFRPL-TR-69-149: 360.8 K).
    assert mmh.vapour_pressure_pa(87.65) == pytest.approx(101_325.0, rel=0.03)


# --- hydrazine, N2O4, MON-3 -----------------------------------------------------------------------


def test_hydrazine_published_values() -> None:
    n2h4 = propellant("hydrazine")
    assert n2h4.density_kg_m3(20.0) == pytest.approx(1008.0, rel=0.005)
    assert n2h4.vapour_pressure_pa(20.0) == pytest.approx(1.4e3, rel=0.08)
    # CRC handbook at 25 degC: 1004 kg/m3 and 14.4 mmHg = 1.92 kPa.
    assert n2h4.density_kg_m3(25.0) == pytest.approx(1004.0, rel=0.004)
    assert n2h4.vapour_pressure_pa(25.0) == pytest.approx(1.92e3, rel=0.05)


def test_n2o4_published_values_and_boiling_point() -> None:
    nto = propellant("NTO")
    assert nto.name == "N2O4"
    assert nto.density_kg_m3(20.0) == pytest.approx(1443.0, rel=0.005)
    assert nto.vapour_pressure_pa(20.0) == pytest.approx(96.0e3, rel=0.03)
    # Normal boiling point 21.15 degC.
    assert nto.vapour_pressure_pa(21.15) == pytest.approx(101_325.0, rel=0.02)


def test_mon3_lies_between_n2o4_and_the_richer_mixtures() -> None:
    mon3 = propellant("MON3")
    nto = propellant("N2O4")
    # Dissolved NO raises the vapour pressure and lowers the density (AFRPL-TR-76-76: MON-10 is
    # 1418 kg/m3 and 167 kPa at 20 degC).
    for t in (0.0, 20.0, 40.0):
        assert nto.vapour_pressure_pa(t) < mon3.vapour_pressure_pa(t) < 1.8 * nto.vapour_pressure_pa(t)
        assert mon3.density_kg_m3(t) < nto.density_kg_m3(t)
    assert 1418.0 < mon3.density_kg_m3(20.0) < 1441.5
    assert 95e3 < mon3.vapour_pressure_pa(20.0) < 167e3


def test_mon3_is_liquid_below_the_n2o4_freezing_point() -> None:
    # Freezing points: N2O4 about -11 degC, MON-3 about -15 degC.
    assert propellant("MON-3").density_kg_m3(-14.0) > 1500.0
    with pytest.raises(FluidRangeError):
        propellant("N2O4").density_kg_m3(-14.0)


# --- others -------------------------------------------------------------------------------------


def test_lox_at_its_normal_boiling_point() -> None:
    lox = propellant("LOX")
    t = 90.19 - 273.15
    assert lox.density_kg_m3(t) == pytest.approx(1141.0, rel=0.003)
    assert lox.vapour_pressure_pa(t) == pytest.approx(101_325.0, rel=0.005)


def test_methane_at_its_normal_boiling_point() -> None:
    t = 111.67 - 273.15
    assert propellant("LCH4").density_kg_m3(t) == pytest.approx(422.6, rel=0.003)
    assert propellant("methane").vapour_pressure_pa(t) == pytest.approx(101_325.0, rel=0.005)


def test_ethanol_at_20c() -> None:
    ethanol = propellant("ethanol")
    assert ethanol.density_kg_m3(20.0) == pytest.approx(789.3, rel=0.002)
    assert ethanol.vapour_pressure_pa(20.0) == pytest.approx(5.87e3, rel=0.05)


def test_rp1_meets_its_specification_density() -> None:
    # MIL-DTL-25576: 799-815 kg/m3 at 60 degF (15.56 degC).
    assert 799.0 <= propellant("RP-1").density_kg_m3(15.56) <= 815.0
    assert propellant("RP-1").vapour_pressure_pa(20.0) < 1e3  # a kerosene: next to nothing


def test_water_comes_from_the_bench_fluid_module() -> None:
    water = propellant("water")
    assert water.density_kg_m3(20.0) == pytest.approx(998.2, rel=1e-3)
    assert water.vapour_pressure_pa(20.0) == pytest.approx(2339.0, rel=5e-3)


@pytest.mark.parametrize("name", ["MMH", "N2O4", "MON-3", "N2H4", "RP-1"])
def test_tables_behave_like_liquids(name: str) -> None:
    prop = propellant(name)
    lo, hi = prop.valid_range_c()
    temps = [lo + (hi - lo) * k / 40 for k in range(41)]
    rho = [prop.density_kg_m3(t) for t in temps]
    pv = [prop.vapour_pressure_pa(t) for t in temps]
    assert all(b < a for a, b in itertools.pairwise(rho))  # expands when warmed
    assert all(b > a for a, b in itertools.pairwise(pv))  # vapour pressure rises


def test_vapour_pressure_follows_clausius_clapeyron_between_table_rows() -> None:
    # Between two rows ln p is linear in 1/T: the midpoint in 1/T has the geometric-mean pressure.
    mmh = propellant("MMH")
    t1, t2 = 10.0 + 273.15, 20.0 + 273.15
    t_mid = 2.0 / (1.0 / t1 + 1.0 / t2)
    expected = math.sqrt(mmh.vapour_pressure_pa(10.0) * mmh.vapour_pressure_pa(20.0))
    assert mmh.vapour_pressure_pa(t_mid - 273.15) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("name", "temperature_c"), [("MMH", -60.0), ("MMH", 95.0), ("N2H4", 0.0), ("LOX", 20.0), ("water", -5.0)]
)
def test_outside_the_valid_range_is_a_clear_error(name: str, temperature_c: float) -> None:
    prop = propellant(name)
    with pytest.raises(FluidRangeError) as info:
        prop.density_kg_m3(temperature_c)
    assert isinstance(info.value, HilError)
    assert "outside the valid range" in str(info.value)
    with pytest.raises(FluidRangeError):
        prop.vapour_pressure_pa(temperature_c)


def test_explicit_propellant_is_valid_only_where_stated() -> None:
    sim = ExplicitPropellant.at("simulant", 15.0, 1200.0, 3000.0)
    assert sim.density_kg_m3(15.0) == 1200.0
    assert sim.vapour_pressure_pa(15.0) == 3000.0
    with pytest.raises(FluidRangeError):
        sim.density_kg_m3(16.0)
    with pytest.raises(ValueError):
        ExplicitPropellant.at("bad", 15.0, -1.0, 3000.0)


def test_unknown_propellant_is_a_hil_error() -> None:
    with pytest.raises(UnknownPropellantError) as info:
        propellant("unobtainium")
    assert isinstance(info.value, HilError)
    assert "MMH" in str(info.value)


def test_tank_materials_match_the_reference_ranges() -> None:
    titanium = tank_material("ti-6al-4v")
    assert titanium.density_kg_m3 == pytest.approx(4430.0)
    assert 800e6 <= titanium.allowable_stress_pa <= 1100e6
    for name in ("Al-6061-T6", "Al-2219-T87"):
        aluminium = tank_material(name)
        assert 2650.0 <= aluminium.density_kg_m3 <= 2900.0
        assert 240e6 <= aluminium.allowable_stress_pa <= 400e6
    assert "CFRP-COPV" in known_tank_materials()
    with pytest.raises(UnknownMaterialError):
        tank_material("cheese")
