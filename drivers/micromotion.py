"""Micro Motion Coriolis flow meters over Modbus RTU (role :class:`hil.bench.roles.FlowMeter`).

Wire facts (shared/reference/protocols.md, flow meters): holding registers (0-based) 246 mass flow,
248 density, 250 temperature, 252 volume flow, each a float32 in two registers. The driver reads all
four in ONE request of 8 registers, so the quantities come from the same transmitter update and the
meter costs one exchange per tick.

Two things are set on the transmitter, not fixed by the protocol, and must be told to the driver:

* the word order of its float32 values (register 520 on the device; the factory default is
  **unverified**), the ``word_order`` option;
* the engineering units it reports in, the ``units`` option, a mapping with the keys
  ``mass_flow``, ``density``, ``volume_flow`` and ``temperature``. Missing keys default to SI
  (``kg/s``, ``kg/m3``, ``m3/s``, ``degC``). Transmitters are commonly shipped in g/s, g/cm3 and l/s
  (**unverified**): check the transmitter's configuration and state its units in the bench file.

Imports hil's errors, roles and transport types and :mod:`drivers.modbus_values` only.
"""

from __future__ import annotations

from collections.abc import Mapping

from drivers.modbus_values import check_word_order, registers_to_float32s
from hil.bench.roles import Reading
from hil.bench.transport import RegisterTransport
from hil.core.errors import ConfigError

PROCESS_BLOCK_ADDRESS = 246
PROCESS_BLOCK_COUNT = 8  # mass flow, density, temperature, volume flow: float32 each

# Factor from the device unit to SI (value_si = value_device * factor).
MASS_FLOW_TO_KG_S = {"kg/s": 1.0, "g/s": 1.0e-3, "kg/min": 1.0 / 60.0, "kg/h": 1.0 / 3600.0}
DENSITY_TO_KG_M3 = {"kg/m3": 1.0, "g/cm3": 1.0e3}
VOLUME_FLOW_TO_M3_S = {"m3/s": 1.0, "l/s": 1.0e-3, "l/min": 1.0e-3 / 60.0, "m3/h": 1.0 / 3600.0}
# Temperature needs an offset too: degC = value_device * scale + offset.
TEMPERATURE_TO_DEGC = {"degC": (1.0, 0.0), "K": (1.0, -273.15), "degF": (5.0 / 9.0, -32.0 * 5.0 / 9.0)}

SI_UNITS = {"mass_flow": "kg/s", "density": "kg/m3", "volume_flow": "m3/s", "temperature": "degC"}
_TABLES: dict[str, Mapping[str, object]] = {
    "mass_flow": MASS_FLOW_TO_KG_S,
    "density": DENSITY_TO_KG_M3,
    "volume_flow": VOLUME_FLOW_TO_M3_S,
    "temperature": TEMPERATURE_TO_DEGC,
}


def _resolve_units(units: Mapping[str, str] | None, source: str) -> dict[str, str]:
    resolved = dict(SI_UNITS)
    for key, unit in (units or {}).items():
        if key not in _TABLES:
            raise ConfigError(source, f"units.{key}", f"unknown quantity; expected one of {sorted(_TABLES)}")
        if unit not in _TABLES[key]:
            raise ConfigError(
                source, f"units.{key}", f"unknown unit {unit!r}; expected one of {sorted(_TABLES[key])}"
            )
        resolved[key] = unit
    return resolved


class CoriolisFlowMeter:
    """One Micro Motion transmitter on a Modbus RTU bus."""

    READINGS: tuple[str, ...] = ("mass_flow_kg_s", "volume_flow_m3_s", "density_kg_m3", "temperature_c")
    """The keys of :meth:`read`: what a bench file's ``channels`` may map (checked before connecting)."""

    def __init__(
        self,
        bus: RegisterTransport,
        unit: int,
        name: str,
        word_order: str = "big",
        units: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.unit = unit
        self._bus = bus
        self._word_order = check_word_order(word_order, name)
        self.units = _resolve_units(units, name)
        self._mass_factor = MASS_FLOW_TO_KG_S[self.units["mass_flow"]]
        self._density_factor = DENSITY_TO_KG_M3[self.units["density"]]
        self._volume_factor = VOLUME_FLOW_TO_M3_S[self.units["volume_flow"]]
        self._temperature_scale, self._temperature_offset = TEMPERATURE_TO_DEGC[self.units["temperature"]]

    def identify(self) -> str:
        """Reads the process block once, so an absent or silent meter fails here, at connect time.

        The transmitter's identity registers are not in the reference, so none is claimed.
        """
        self._bus.read_holding_registers(PROCESS_BLOCK_ADDRESS, PROCESS_BLOCK_COUNT, self.unit)
        return f"Micro Motion Coriolis unit {self.unit}"

    def read(self) -> Reading:
        registers = self._bus.read_holding_registers(PROCESS_BLOCK_ADDRESS, PROCESS_BLOCK_COUNT, self.unit)
        mass_flow, density, temperature, volume_flow = registers_to_float32s(registers, self._word_order)
        return {
            "mass_flow_kg_s": mass_flow * self._mass_factor,
            "volume_flow_m3_s": volume_flow * self._volume_factor,
            "density_kg_m3": density * self._density_factor,
            "temperature_c": temperature * self._temperature_scale + self._temperature_offset,
        }

    def safe_state(self) -> None:
        """A meter has nothing to make safe."""
