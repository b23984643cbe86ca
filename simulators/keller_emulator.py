"""Keller pressure transducer (Modbus RTU): the device's register map, values from callables.

Serves, as IEEE float32 with the high word first: 0x0100..0x0103 P1 [bar] and TOB1 [degC] (the
block the driver reads), 0x0002 P1 and 0x0008 TOB1 (the older map entries), and the serial number at
0x0202 as u32 (**unverified** on real devices, models differ). Every other address, and every write,
answers exception 2. The pressure is reported as the callable gives it: absolute, as a PAA type.

The callables decouple the emulator from the plant: the virtual bench passes closures over its
plant state, tests pass constants. Put the emulator on a bus with
:class:`simulators.modbus_device.ModbusRtuBus`. Must not import drivers/.
"""

from __future__ import annotations

from collections.abc import Callable

from simulators.modbus_device import RegisterMap, float32_to_words, uint32_to_words

PA_PER_BAR = 1.0e5


class KellerEmulator(RegisterMap):
    """One Keller transducer's registers."""

    def __init__(
        self,
        pressure_pa: Callable[[], float],
        temperature_c: Callable[[], float],
        serial_number: int,
    ) -> None:
        super().__init__()

        def p1_bar() -> list[int]:
            return float32_to_words(pressure_pa() / PA_PER_BAR)

        def tob1_c() -> list[int]:
            return float32_to_words(temperature_c())

        self.add_field(0x0100, 2, p1_bar)
        self.add_field(0x0102, 2, tob1_c)
        self.add_field(0x0002, 2, p1_bar)
        self.add_field(0x0008, 2, tob1_c)
        self.add_field(0x0202, 2, lambda: uint32_to_words(serial_number))
