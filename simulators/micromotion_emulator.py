"""Micro Motion Coriolis transmitter (Modbus RTU): the process registers, values from callables.

Serves holding registers 246 mass flow, 248 density, 250 temperature and 252 volume flow, each a
float32 in two registers, in the word order and engineering units the transmitter is configured for
(both are settings of the real device; the factory defaults are **unverified**, so both are options
here, defaulting to high word first and SI units). Every other address, and every write, answers
exception 2.

Volume flow, when no callable is given for it, is what the transmitter itself computes: mass flow
divided by density (NaN for a non-positive density, e.g. an empty tube).

This module converts SI to device units with its own table, independent of the driver's, so a unit
mistake on either side shows up as a disagreement on the wire. Must not import drivers/.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from hil.core.errors import ConfigError
from simulators.modbus_device import RegisterMap, WordOrder, float32_to_words

# How many device units make one SI unit (device_value = si_value * factor).
_MASS_FLOW_PER_KG_S = {"kg/s": 1.0, "g/s": 1000.0, "kg/min": 60.0, "kg/h": 3600.0}
_DENSITY_PER_KG_M3 = {"kg/m3": 1.0, "g/cm3": 0.001}
_VOLUME_FLOW_PER_M3_S = {"m3/s": 1.0, "l/s": 1000.0, "l/min": 60000.0, "m3/h": 3600.0}
_TEMPERATURE_FROM_DEGC: dict[str, Callable[[float], float]] = {
    "degC": lambda t: t,
    "K": lambda t: t + 273.15,
    "degF": lambda t: t * 1.8 + 32.0,
}
_DEFAULT_UNITS = {"mass_flow": "kg/s", "density": "kg/m3", "volume_flow": "m3/s", "temperature": "degC"}
_KNOWN: dict[str, Mapping[str, object]] = {
    "mass_flow": _MASS_FLOW_PER_KG_S,
    "density": _DENSITY_PER_KG_M3,
    "volume_flow": _VOLUME_FLOW_PER_M3_S,
    "temperature": _TEMPERATURE_FROM_DEGC,
}


class MicroMotionEmulator(RegisterMap):
    """One Micro Motion transmitter's process registers."""

    def __init__(
        self,
        mass_flow_kg_s: Callable[[], float],
        density_kg_m3: Callable[[], float],
        temperature_c: Callable[[], float],
        volume_flow_m3_s: Callable[[], float] | None = None,
        word_order: WordOrder = "big",
        units: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__()
        chosen = dict(_DEFAULT_UNITS)
        for quantity, unit in (units or {}).items():
            if quantity not in _KNOWN or unit not in _KNOWN[quantity]:
                raise ConfigError("MicroMotionEmulator", f"units.{quantity}", f"unsupported unit {unit!r}")
            chosen[quantity] = unit
        mass_factor = _MASS_FLOW_PER_KG_S[chosen["mass_flow"]]
        density_factor = _DENSITY_PER_KG_M3[chosen["density"]]
        volume_factor = _VOLUME_FLOW_PER_M3_S[chosen["volume_flow"]]
        to_device_temperature = _TEMPERATURE_FROM_DEGC[chosen["temperature"]]
        float32_to_words(0.0, word_order)  # rejects a bad word order now, not on the first read

        def volume_flow() -> float:
            if volume_flow_m3_s is not None:
                return volume_flow_m3_s()
            density = density_kg_m3()
            return mass_flow_kg_s() / density if density > 0 else math.nan

        self.add_field(246, 2, lambda: float32_to_words(mass_flow_kg_s() * mass_factor, word_order))
        self.add_field(248, 2, lambda: float32_to_words(density_kg_m3() * density_factor, word_order))
        self.add_field(250, 2, lambda: float32_to_words(to_device_temperature(temperature_c()), word_order))
        self.add_field(252, 2, lambda: float32_to_words(volume_flow() * volume_factor, word_order))
