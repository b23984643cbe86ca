"""Properties of the bench fluid (water) from CoolProp, with their valid range.

Water is the bench's test fluid; propellants for the sizing model live in :mod:`hil.model.propellants`.
CoolProp's ``Water`` is the IAPWS-95 formulation, the reference the pump-test standards assume.
Outside the valid range each function raises :class:`FluidRangeError`, naming the temperature and
the range.

The virtual bench's plant reads water properties from :func:`water_state_if97` instead: the
industrial formulation IAPWS-IF97 (the ``seuif97`` package, 5 ms to import), because the plant needs
them before the first tick and importing CoolProp takes about 2 s on the development machine (much
more under load), which would hold every ``hil run`` on the sim bench that long before its first
tick. Over 5-80 degC the two formulations agree within 2e-5 in density and 7e-5 in vapour pressure
(``tests/unit/test_fluids.py``), far inside the instruments' accuracy; the harness's results (heads,
NPSHA) keep the IAPWS-95 reference.

Imports only :mod:`hil.core.errors` from the project; CoolProp and seuif97 on first use.
"""

from __future__ import annotations

from hil.core.errors import HilError

WATER_MIN_TEMPERATURE_C = 0.01
WATER_MAX_TEMPERATURE_C = 150.0
STANDARD_GRAVITY_M_S2 = 9.80665


def props_si(output: str, name1: str, value1: float, name2: str, value2: float, fluid: str) -> float:
    """CoolProp's ``PropsSI``, imported on first use: loading CoolProp takes seconds, and most
    commands (listing procedures, replaying a log) never need it."""
    from CoolProp.CoolProp import PropsSI

    return float(PropsSI(output, name1, value1, name2, value2, fluid))


class FluidRangeError(HilError, ValueError):
    """A property was asked for outside the range its source is valid for."""


def _check_water_temperature(temperature_c: float) -> None:
    if not WATER_MIN_TEMPERATURE_C <= temperature_c <= WATER_MAX_TEMPERATURE_C:
        raise FluidRangeError(
            f"water properties: {temperature_c:.3f} degC is outside the valid range "
            f"{WATER_MIN_TEMPERATURE_C}..{WATER_MAX_TEMPERATURE_C} degC (liquid, CoolProp IAPWS-95)"
        )


def water_state(temperature_c: float) -> tuple[float, float]:
    """``(density_kg_m3, vapour_pressure_pa)`` at ``temperature_c``, from one pair of CoolProp calls."""
    _check_water_temperature(temperature_c)
    temperature_k = temperature_c + 273.15
    vapour_pa = props_si("P", "T", temperature_k, "Q", 0, "Water")
    # Liquid density at 1 bar (or at saturation above 100 degC): pressure barely matters for water.
    pressure_pa = max(101325.0, vapour_pa * 1.01)
    density = props_si("D", "T", temperature_k, "P", pressure_pa, "Water")
    return density, vapour_pa


def water_density_kg_m3(temperature_c: float) -> float:
    """Liquid water density at ``temperature_c`` (1 bar, or just above saturation beyond 100 degC)."""
    return water_state(temperature_c)[0]


def water_vapour_pressure_pa(temperature_c: float) -> float:
    """Saturation pressure of water at ``temperature_c``."""
    return water_state(temperature_c)[1]


def water_state_if97(temperature_c: float) -> tuple[float, float]:
    """``(density_kg_m3, vapour_pressure_pa)`` at ``temperature_c`` from IAPWS-IF97 (see the module
    docstring for why the virtual plant uses it), at the same pressure as :func:`water_state`."""
    import seuif97

    _check_water_temperature(temperature_c)
    vapour_pa = float(seuif97.tx(temperature_c, 0.0, 0)) * 1.0e6  # saturation pressure, MPa -> Pa
    pressure_pa = max(101325.0, vapour_pa * 1.01)
    specific_volume_m3_kg = float(seuif97.pt(pressure_pa * 1.0e-6, temperature_c, 3))
    return 1.0 / specific_volume_m3_kg, vapour_pa
