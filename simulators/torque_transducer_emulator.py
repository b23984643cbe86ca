"""Emulator of a Modbus RTU torque and speed transducer on the pump shaft (an in-line torque flange
with a digital output), read through the generic Modbus driver (``driver = "modbus"``).

Register map (input registers, function code 4; the layout of common flanges, **unverified** for any
one vendor: a bench file describes its own): 0 shaft torque [N m], 2 shaft speed [rpm], 4 shaft power
[W], each an IEEE float32 with the high word first. It has no holding registers: function 3 answers
exception 2. The flange sits between motor and pump, so it measures the torque the pump absorbs
(hydraulic power, disc friction, recirculation), not the motor's bearing drag.

Values come from callables (the virtual bench passes the plant's shaft torque and speed); the
transducer quantises to its own resolution, 0.1 mN m and 0.1 rpm.

Must not import drivers/.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from hil.core.errors import DeviceError
from simulators.modbus_device import ILLEGAL_DATA_ADDRESS, RegisterMap, float32_to_words

TORQUE_RESOLUTION_NM = 1e-4
SPEED_RESOLUTION_RPM = 0.1


def _quantise(value: float, step: float) -> float:
    return step * math.floor(value / step + 0.5) if math.isfinite(value) else value


class TorqueTransducerEmulator:
    """Input registers 0/2/4: torque, speed and power as float32 (a Modbus RegisterDevice)."""

    def __init__(self, torque_nm: Callable[[], float], speed_rpm: Callable[[], float]) -> None:
        self._inputs = RegisterMap()

        def torque() -> float:
            return _quantise(torque_nm(), TORQUE_RESOLUTION_NM)

        def speed() -> float:
            return _quantise(speed_rpm(), SPEED_RESOLUTION_RPM)

        self._inputs.add_field(0, 2, lambda: float32_to_words(torque()))
        self._inputs.add_field(2, 2, lambda: float32_to_words(speed()))
        self._inputs.add_field(4, 2, lambda: float32_to_words(torque() * speed() * math.pi / 30.0))

    def read_registers(self, address: int, count: int) -> list[int]:
        raise DeviceError("no holding registers", ILLEGAL_DATA_ADDRESS)

    def read_input_registers(self, address: int, count: int) -> list[int]:
        return self._inputs.read_registers(address, count)

    def write_registers(self, address: int, values: Sequence[int]) -> None:
        raise DeviceError("no writable registers", ILLEGAL_DATA_ADDRESS)
