"""Keller pressure transducers with a Modbus RTU interface (series 30/33X/35X/36XiW and similar).

Wire facts (shared/reference/protocols.md, Keller section): function code 3; registers
0x0100..0x0103 hold P1 [bar] and TOB1 [degC] as two big-endian float32 values and are read together
in ONE request per sample, so pressure and temperature are simultaneous and a bus with several
transducers costs one exchange per transducer per tick. The serial number at 0x0202 (u32) is
**unverified** (models differ): a transducer answering exception 2 there still identifies itself,
as ``"Keller unit N (serial unavailable)"``.

P1 is absolute for absolute (PAA) types. Gauge types (PR, PA) report relative to ambient or to a
sealed reference; give their reference as ``reference_pressure_pa`` so that ``pressure_pa`` stays
absolute, as the PressureSensor role requires.

Imports hil's errors, roles and transport types and :mod:`drivers.modbus_values` only.
"""

from __future__ import annotations

from drivers.modbus_values import registers_to_float32s, registers_to_uint32
from hil.bench.roles import Reading
from hil.bench.transport import RegisterTransport
from hil.core.errors import DeviceError

P1_TOB1_ADDRESS = 0x0100
SERIAL_NUMBER_ADDRESS = 0x0202  # unverified: models differ
PA_PER_BAR = 1.0e5
ILLEGAL_DATA_ADDRESS = 2


class KellerTransducer:
    """One Keller transducer on a Modbus RTU bus (role :class:`hil.bench.roles.PressureSensor`)."""

    READINGS: tuple[str, ...] = ("pressure_pa", "temperature_c")
    """The keys of :meth:`read`: what a bench file's ``channels`` may map (checked before connecting)."""

    def __init__(
        self, bus: RegisterTransport, unit: int, name: str, reference_pressure_pa: float = 0.0
    ) -> None:
        self.name = name
        self.unit = unit
        self._bus = bus
        self._reference_pressure_pa = reference_pressure_pa

    def identify(self) -> str:
        try:
            registers = self._bus.read_holding_registers(SERIAL_NUMBER_ADDRESS, 2, self.unit)
        except DeviceError as exc:
            if exc.code == ILLEGAL_DATA_ADDRESS:
                return f"Keller unit {self.unit} (serial unavailable)"
            raise
        return f"Keller unit {self.unit} serial {registers_to_uint32(registers)}"

    def read(self) -> Reading:
        registers = self._bus.read_holding_registers(P1_TOB1_ADDRESS, 4, self.unit)
        p1_bar, tob1_c = registers_to_float32s(registers)
        return {
            "pressure_pa": p1_bar * PA_PER_BAR + self._reference_pressure_pa,
            "temperature_c": tob1_c,
        }

    def safe_state(self) -> None:
        """A sensor has nothing to make safe."""
