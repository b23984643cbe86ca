"""Propellant and tank-material data for the sizing model, each with its source and valid range.

What lives here:

* :class:`Propellant` and its three kinds of source: sourced tables (:class:`TabulatedPropellant`,
  for MMH, hydrazine, N2O4, MON-3 and RP-1, which no open property library gets right), CoolProp
  (:class:`CoolPropPropellant`, for LOX, methane and ethanol), the bench fluid through
  :mod:`hil.core.fluids` (:class:`WaterPropellant`) and explicit values a user supplies
  (:class:`ExplicitPropellant`).
* :func:`propellant` looks one up by name (with the usual aliases); :func:`known_propellants` lists
  them.
* :class:`TankMaterial`, :func:`tank_material` and :func:`known_tank_materials` (tank wall
  materials) live in :mod:`hil.model.materials` and are re-exported here.

Every property function states its valid temperature range and raises
:class:`hil.core.fluids.FluidRangeError` (a :class:`hil.core.errors.HilError`) outside it; nothing is
extrapolated silently.

Why tables and not ``thermo``/``chemicals``: those libraries' default liquid-density method returns
about 500 kg/m3 for MMH, where the measured value is about 875 kg/m3 at 20 degC, and neither has MON-3.
The tables below carry the published figures directly, so the trap cannot come back with a library
update. Density is interpolated linearly in temperature (10 K spacing, the curves are nearly
straight); vapour pressure is interpolated linearly in ``ln p`` against ``1/T``, which is the
Clausius-Clapeyron form and therefore almost exact between neighbouring points.

Imports only :mod:`hil.core.errors`, :mod:`hil.core.fluids` and :mod:`hil.model.materials` from the project
(and CoolProp, numpy).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from hil.core.errors import HilError
from hil.core.fluids import (
    WATER_MAX_TEMPERATURE_C,
    WATER_MIN_TEMPERATURE_C,
    FluidRangeError,
    props_si,
    water_density_kg_m3,
    water_vapour_pressure_pa,
)
from hil.model.materials import TankMaterial, UnknownMaterialError, known_tank_materials, tank_material

__all__ = [
    "CoolPropPropellant",
    "ExplicitPropellant",
    "FluidRangeError",
    "Propellant",
    "TabulatedPropellant",
    "TankMaterial",
    "UnknownMaterialError",
    "UnknownPropellantError",
    "WaterPropellant",
    "known_propellants",
    "known_tank_materials",
    "propellant",
    "tank_material",
]

ZERO_CELSIUS_K = 273.15


class UnknownPropellantError(HilError, LookupError):
    """A propellant name that this module has no data for."""


@dataclass(frozen=True)
class Propellant:
    """A liquid with density and vapour pressure against temperature, valid over a stated range.

    Subclasses supply ``_density`` and ``_vapour_pressure``; this base checks the range first so no
    source is ever asked outside the temperatures it was measured or fitted over.
    """

    name: str
    source: str
    min_temperature_c: float
    max_temperature_c: float

    def check_temperature(self, temperature_c: float) -> None:
        """Raise :class:`FluidRangeError` if ``temperature_c`` lies outside the valid range."""
        if not (self.min_temperature_c <= temperature_c <= self.max_temperature_c):
            raise FluidRangeError(
                f"{self.name} properties: {temperature_c:.2f} degC is outside the valid range "
                f"{self.min_temperature_c:g}..{self.max_temperature_c:g} degC ({self.source})"
            )

    def density_kg_m3(self, temperature_c: float) -> float:
        """Liquid density at ``temperature_c`` (at saturation or 1 bar; compressibility ignored)."""
        self.check_temperature(temperature_c)
        return self._density(temperature_c)

    def vapour_pressure_pa(self, temperature_c: float) -> float:
        """Saturation (vapour) pressure at ``temperature_c``: the floor of NPSH available."""
        self.check_temperature(temperature_c)
        return self._vapour_pressure(temperature_c)

    def valid_range_c(self) -> tuple[float, float]:
        """The temperature range (degC) over which this propellant's data are valid."""
        return (self.min_temperature_c, self.max_temperature_c)

    def _density(self, temperature_c: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError

    def _vapour_pressure(self, temperature_c: float) -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(frozen=True)
class TabulatedPropellant(Propellant):
    """Properties interpolated from a sourced table of (temperature degC, density, vapour pressure).

    Density is linear in temperature; vapour pressure is linear in ``ln p`` against ``1/T``.
    """

    table: tuple[tuple[float, float, float], ...] = ()

    def __post_init__(self) -> None:
        temps = [row[0] for row in self.table]
        if len(temps) < 2 or any(b <= a for a, b in itertools.pairwise(temps)):
            raise ValueError(f"{self.name}: table needs at least two rows in increasing temperature")
        if temps[0] > self.min_temperature_c or temps[-1] < self.max_temperature_c:
            raise ValueError(f"{self.name}: table does not cover the stated valid range")

    def _density(self, temperature_c: float) -> float:
        temps = np.array([row[0] for row in self.table])
        rho = np.array([row[1] for row in self.table])
        return float(np.interp(temperature_c, temps, rho))

    def _vapour_pressure(self, temperature_c: float) -> float:
        inv_t = np.array([1.0 / (row[0] + ZERO_CELSIUS_K) for row in self.table])[::-1]
        ln_p = np.array([math.log(row[2]) for row in self.table])[::-1]
        return float(np.exp(np.interp(1.0 / (temperature_c + ZERO_CELSIUS_K), inv_t, ln_p)))


@dataclass(frozen=True)
class CoolPropPropellant(Propellant):
    """Saturated-liquid properties from CoolProp's reference equation of state for ``fluid``."""

    fluid: str = ""

    def _density(self, temperature_c: float) -> float:
        return props_si("D", "T", temperature_c + ZERO_CELSIUS_K, "Q", 0, self.fluid)

    def _vapour_pressure(self, temperature_c: float) -> float:
        return props_si("P", "T", temperature_c + ZERO_CELSIUS_K, "Q", 0, self.fluid)


@dataclass(frozen=True)
class WaterPropellant(Propellant):
    """Water (the bench fluid, or a simulant in a cold-flow test) through :mod:`hil.core.fluids`."""

    def _density(self, temperature_c: float) -> float:
        return water_density_kg_m3(temperature_c)

    def _vapour_pressure(self, temperature_c: float) -> float:
        return water_vapour_pressure_pa(temperature_c)


@dataclass(frozen=True)
class ExplicitPropellant(Propellant):
    """A propellant given by explicit property values, valid only at the temperatures stated.

    Use it for a simulant or a blend with no table: the values hold between ``min_temperature_c``
    and ``max_temperature_c`` (by default only at the one temperature they were given for), and any
    other temperature raises rather than pretending the properties are constant.
    """

    density_value_kg_m3: float = 0.0
    vapour_pressure_value_pa: float = 0.0

    def __post_init__(self) -> None:
        if not (self.density_value_kg_m3 > 0.0 and math.isfinite(self.density_value_kg_m3)):
            raise ValueError(f"{self.name}: density must be a positive number of kg/m3")
        if not (self.vapour_pressure_value_pa >= 0.0 and math.isfinite(self.vapour_pressure_value_pa)):
            raise ValueError(f"{self.name}: vapour pressure must be a non-negative number of Pa")
        if self.max_temperature_c < self.min_temperature_c:
            raise ValueError(f"{self.name}: valid range is empty")

    @classmethod
    def at(
        cls,
        name: str,
        temperature_c: float,
        density_kg_m3: float,
        vapour_pressure_pa: float,
        source: str = "user-supplied values",
    ) -> ExplicitPropellant:
        """Values measured or quoted at one temperature, valid at that temperature only."""
        return cls(
            name=name,
            source=source,
            min_temperature_c=temperature_c,
            max_temperature_c=temperature_c,
            density_value_kg_m3=density_kg_m3,
            vapour_pressure_value_pa=vapour_pressure_pa,
        )

    def _density(self, temperature_c: float) -> float:
        return self.density_value_kg_m3

    def _vapour_pressure(self, temperature_c: float) -> float:
        return self.vapour_pressure_value_pa


# --------------------------------------------------------------------------------------------------
# Sourced tables: (temperature degC, liquid density kg/m3, vapour pressure Pa)
# --------------------------------------------------------------------------------------------------

_MMH_SOURCE = (
    "sourced table: density from the Aerojet propellant-properties curve scaled by 0.9952 to agree "
    "with NIST REFPROP (875.6 kg/m3 at 20 degC), AFRPL-TR-69-149 'Hydrazine Fuels' (870.2 kg/m3 at "
    "298 K) and Vandenberg corrected properties (874.9 kg/m3 at 20 degC); vapour pressure from the "
    "Aerojet/AFRPL-TR-69-149 curve (5.0 kPa at 20 degC, normal boiling point 87.5 degC), as compiled "
    "in the RocketProps data set"
)
# Freezing point -52.4 degC; normal boiling point 87.5 degC.
_MMH_TABLE = (
    (-50.0, 938.2, 16.5),
    (-40.0, 929.6, 48.85),
    (-30.0, 920.9, 129.5),
    (-20.0, 912.0, 311.8),
    (-10.0, 903.1, 690.7),
    (0.0, 894.0, 1422.0),
    (10.0, 884.9, 2747.0),
    (20.0, 875.6, 5015.0),
    (30.0, 866.2, 8709.0),
    (40.0, 856.6, 14470.0),
    (50.0, 847.0, 23110.0),
    (60.0, 837.1, 35640.0),
    (70.0, 827.1, 53270.0),
    (80.0, 816.9, 77410.0),
    (90.0, 806.6, 109700.0),
)

_N2H4_SOURCE = (
    "sourced table: Aerojet propellant properties and AFRPL-TR-69-149 'Hydrazine Fuels' (USAF "
    "Propellant Handbook), as compiled in the RocketProps data set; 1010 kg/m3 and 1.38 kPa at "
    "20 degC, 1006 kg/m3 and 1.87 kPa at 25 degC (CRC handbook: 1004 kg/m3, 1.92 kPa at 25 degC)"
)
# Freezing point 1.5 degC; normal boiling point 113.5 degC.
_N2H4_TABLE = (
    (2.0, 1025.5, 418.4),
    (10.0, 1018.7, 725.4),
    (20.0, 1010.1, 1378.0),
    (30.0, 1001.4, 2502.0),
    (40.0, 992.5, 4356.0),
    (50.0, 983.6, 7307.0),
    (60.0, 974.5, 11850.0),
    (70.0, 965.3, 18630.0),
    (80.0, 956.0, 28470.0),
    (90.0, 946.5, 42400.0),
    (100.0, 936.9, 61690.0),
    (110.0, 927.2, 87820.0),
)

_N2O4_SOURCE = (
    "sourced table: AFRPL-TR-76-76 (Wright, USAF Propellant Handbooks, Nitric Acid/Nitrogen "
    "Tetroxide Oxidizers, 1977) and Aerojet propellant properties, as compiled in the RocketProps "
    "data set; 1441 kg/m3 and 95 kPa at 20 degC, normal boiling point 21.15 degC"
)
# Freezing point -11.2 degC (pure N2O4; commercial grades about -9 degC); critical point 158 degC.
_N2O4_TABLE = (
    (-11.0, 1512.6, 18870.0),
    (-10.0, 1510.6, 19960.0),
    (0.0, 1488.1, 34460.0),
    (10.0, 1464.4, 57960.0),
    (20.0, 1441.5, 95040.0),
    (30.0, 1418.7, 152000.0),
    (40.0, 1394.8, 237500.0),
    (50.0, 1368.9, 362400.0),
    (60.0, 1343.6, 541100.0),
    (70.0, 1318.2, 790700.0),
)

_MON3_SOURCE = (
    "sourced table: mixed oxides of nitrogen with 3 % NO by mass, by linear mixing in NO content "
    "between the N2O4 and MON-10 data of AFRPL-TR-76-76 (Wright 1977) as compiled in the RocketProps "
    "data set (both density and vapour pressure vary nearly linearly with NO content at low NO "
    "fractions); 1435 kg/m3 and 117 kPa at 20 degC; freezing point about -15 degC. The -15 degC row "
    "uses the N2O4 curve extended 4 K below its freezing point as the mixing reference"
)
_MON3_TABLE = (
    (-15.0, 1513.4, 18190.0),
    (-10.0, 1503.3, 24340.0),
    (0.0, 1481.0, 42430.0),
    (10.0, 1457.6, 71490.0),
    (20.0, 1434.6, 116700.0),
    (30.0, 1411.3, 185000.0),
    (40.0, 1387.0, 285500.0),
    (50.0, 1360.9, 429600.0),
    (60.0, 1334.9, 631700.0),
    (70.0, 1308.4, 908800.0),
)

_RP1_SOURCE = (
    "sourced table: Aerojet propellant properties for RP-1, as compiled in the RocketProps data set; "
    "810 kg/m3 at 20 degC (MIL-DTL-25576 specifies 799-815 kg/m3 at 15.6 degC); RP-1 is a kerosene "
    "cut, so its vapour pressure is small and batch-dependent"
)
_RP1_TABLE = (
    (-40.0, 850.8, 1.401),
    (-30.0, 844.2, 2.327),
    (-20.0, 837.4, 3.832),
    (-10.0, 830.7, 6.349),
    (0.0, 823.8, 10.66),
    (10.0, 816.9, 18.04),
    (20.0, 810.0, 29.71),
    (30.0, 802.9, 47.04),
    (40.0, 795.8, 77.68),
    (50.0, 788.6, 144.7),
    (60.0, 781.3, 282.9),
    (70.0, 773.9, 502.9),
    (80.0, 766.4, 792.0),
    (90.0, 758.9, 1207.0),
    (100.0, 751.2, 1914.0),
)


def _mmh() -> Propellant:
    return TabulatedPropellant("MMH", _MMH_SOURCE, -50.0, 90.0, table=_MMH_TABLE)


def _hydrazine() -> Propellant:
    return TabulatedPropellant("N2H4", _N2H4_SOURCE, 2.0, 110.0, table=_N2H4_TABLE)


def _n2o4() -> Propellant:
    return TabulatedPropellant("N2O4", _N2O4_SOURCE, -11.0, 70.0, table=_N2O4_TABLE)


def _mon3() -> Propellant:
    return TabulatedPropellant("MON-3", _MON3_SOURCE, -15.0, 70.0, table=_MON3_TABLE)


def _rp1() -> Propellant:
    return TabulatedPropellant("RP-1", _RP1_SOURCE, -40.0, 100.0, table=_RP1_TABLE)


def _lox() -> Propellant:
    # Triple point 54.36 K, critical point 154.58 K: stay 4.6 K below the critical point, where the
    # saturated-liquid density is still a meaningful design value.
    return CoolPropPropellant(
        "LOX",
        "CoolProp 'Oxygen' (Schmidt and Wagner 1985 reference equation of state), saturated liquid",
        -218.7,
        -123.15,
        fluid="Oxygen",
    )


def _methane() -> Propellant:
    # Triple point 90.69 K, critical point 190.56 K.
    return CoolPropPropellant(
        "methane",
        "CoolProp 'Methane' (Setzmann and Wagner 1991 reference equation of state), saturated liquid",
        -182.4,
        -88.15,
        fluid="Methane",
    )


def _ethanol() -> Propellant:
    # Triple point 159.1 K, critical point 514.7 K.
    return CoolPropPropellant(
        "ethanol",
        "CoolProp 'Ethanol' (Schroeder et al. 2014 reference equation of state), saturated liquid",
        -110.0,
        200.0,
        fluid="Ethanol",
    )


def _water() -> Propellant:
    return WaterPropellant(
        "water",
        "CoolProp 'Water' (IAPWS-95) through hil.core.fluids",
        WATER_MIN_TEMPERATURE_C,
        WATER_MAX_TEMPERATURE_C,
    )


_PROPELLANT_FACTORIES: dict[str, Callable[[], Propellant]] = {
    "MMH": _mmh,
    "N2H4": _hydrazine,
    "N2O4": _n2o4,
    "MON-3": _mon3,
    "LOX": _lox,
    "RP-1": _rp1,
    "ethanol": _ethanol,
    "methane": _methane,
    "water": _water,
}

_ALIASES: dict[str, str] = {
    "mmh": "MMH",
    "monomethylhydrazine": "MMH",
    "n2h4": "N2H4",
    "hydrazine": "N2H4",
    "n2o4": "N2O4",
    "nto": "N2O4",
    "nitrogen tetroxide": "N2O4",
    "mon-3": "MON-3",
    "mon3": "MON-3",
    "lox": "LOX",
    "oxygen": "LOX",
    "lo2": "LOX",
    "rp-1": "RP-1",
    "rp1": "RP-1",
    "kerosene": "RP-1",
    "ethanol": "ethanol",
    "methane": "methane",
    "lch4": "methane",
    "ch4": "methane",
    "water": "water",
    "h2o": "water",
}


def known_propellants() -> list[str]:
    """The canonical names :func:`propellant` accepts (aliases such as 'NTO' or 'hydrazine' too)."""
    return list(_PROPELLANT_FACTORIES)


def propellant(name: str) -> Propellant:
    """The propellant called ``name`` (case-insensitive, common aliases accepted)."""
    canonical = _ALIASES.get(name.strip().lower())
    if canonical is None:
        raise UnknownPropellantError(
            f"unknown propellant {name!r}; known: {', '.join(known_propellants())} "
            "(or give explicit density and vapour pressure values)"
        )
    return _PROPELLANT_FACTORIES[canonical]()
