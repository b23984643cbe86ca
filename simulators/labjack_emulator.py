"""LabJack T7 (Modbus TCP): analog inputs from callables, DAC outputs to callables.

Register map, float32 with the high word first: AIN0..AIN13 at 0, 2, ..., 26 (volts, read-only);
DAC0/DAC1 at 1000/1002 (volts, read back as last set; writes must be whole float32s, with function
code 16); PRODUCT_ID at 60000 = 7.0 (**unverified**). Every other address answers exception 2.

An AIN with no callable reads ``unconnected_v``, a small offset like a floating input's. A DAC write
calls that DAC's callable with the output volts; the output is limited to the DAC's 0..5 V span as
the hardware's output stage would (whether a real T7 clips or refuses is **unverified**; the driver
refuses such values before they reach the wire). NaN is refused with exception 3.

Serve it with ``EmulatorServer.add_tcp(name, tcp_session_factory({1: emulator}))``.
Must not import drivers/.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from hil.core.errors import ConfigError, DeviceError
from simulators.modbus_device import ILLEGAL_DATA_VALUE, RegisterMap, float32_to_words, words_to_float32

AIN_COUNT = 14
DAC_ADDRESSES = {0: 1000, 1: 1002}
DAC_SPAN_V = (0.0, 5.0)
PRODUCT_ID_ADDRESS = 60000  # unverified
T7_PRODUCT_ID = 7.0


class LabJackEmulator(RegisterMap):
    """A T7's analog I/O registers."""

    def __init__(
        self,
        ain_v: Mapping[int, Callable[[], float]],
        dac_outputs: Mapping[int, Callable[[float], None]] | None = None,
        unconnected_v: float = 0.0012,
    ) -> None:
        super().__init__()
        dac_outputs = dac_outputs or {}
        for channel in ain_v:
            if not 0 <= channel < AIN_COUNT:
                raise ConfigError("LabJackEmulator", f"ain_v[{channel}]", f"AIN0..AIN{AIN_COUNT - 1} only")
        for channel in dac_outputs:
            if channel not in DAC_ADDRESSES:
                raise ConfigError("LabJackEmulator", f"dac_outputs[{channel}]", "DAC0 and DAC1 only")
        self.dac_v = {channel: 0.0 for channel in DAC_ADDRESSES}

        for channel in range(AIN_COUNT):
            self.add_field(2 * channel, 2, _float_reader(ain_v.get(channel, lambda: unconnected_v)))
        for channel, address in DAC_ADDRESSES.items():
            self.add_field(address, 2, *self._dac_accessors(channel, dac_outputs.get(channel)))
        self.add_field(PRODUCT_ID_ADDRESS, 2, _float_reader(lambda: T7_PRODUCT_ID))

    def _dac_accessors(
        self, channel: int, output: Callable[[float], None] | None
    ) -> tuple[Callable[[], list[int]], Callable[[list[int]], None]]:
        def read() -> list[int]:
            return float32_to_words(self.dac_v[channel])

        def write(words: list[int]) -> None:
            self._set_dac(channel, words, output)

        return read, write

    def _set_dac(self, channel: int, words: list[int], output: Callable[[float], None] | None) -> None:
        volts = words_to_float32(words)
        if math.isnan(volts):
            raise DeviceError(f"DAC{channel}: NaN volts", ILLEGAL_DATA_VALUE)
        volts = min(max(volts, DAC_SPAN_V[0]), DAC_SPAN_V[1])
        self.dac_v[channel] = volts
        if output is not None:
            output(volts)


def _float_reader(source: Callable[[], float]) -> Callable[[], list[int]]:
    return lambda: float32_to_words(source())
