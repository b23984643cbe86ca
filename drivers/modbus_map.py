"""A Modbus instrument described in the bench file: its register map, without code.

Most transmitters, torque transducers and drives on a bench speak Modbus with a register map of
their own. Instead of a driver per model, the bench file lists, per reading, where the value lives
and how it is coded, and per setpoint where it is written, its range and its safe value:

.. code-block:: toml

    [instruments.torque]
    driver = "modbus"
    bus = "rs485"                 # a [buses] entry: Modbus RTU on a serial line, or Modbus TCP
    unit = 4
    identity = "Acme TT-5 torque transducer"   # Modbus has no standard identity query
    channels = { shaft_torque_nm = "torque_nm", shaft_speed_rpm = "speed_rpm" }

    [instruments.torque.registers.torque_nm]
    address = 0                   # 0-based register address, as on the wire
    function = 4                  # 3 holding registers (default) or 4 input registers
    type = "float32"              # int16, uint16, int32, uint32, float32, float64
    word_order = "big"            # "big": high word first (ABCD); "little": low word first (CDAB)
    byte_order = "big"            # bytes inside each register; "little" for byte-swapped devices
    scale = 1.0                   # value = raw x scale + offset, in the SI unit of the reading's name
    offset = 0.0

    [instruments.torque.setpoints.zero_offset_nm]
    address = 20
    type = "float32"
    function = 16                 # 16 write multiple (default); 6 write single, 16-bit types only
    min = -0.5                    # the range, in the setpoint's SI unit: beyond it raises LimitError
    max = 0.5
    safe = 0.0                    # written by safe_state(); must lie within the range

Wire format: standard Modbus (function 3 or 4 reads, 6 or 16 writes) over whatever
:class:`~hil.bench.transport.RegisterTransport` the bus gives (RTU or TCP). Each reading is one
request; values are decoded by :func:`drivers.modbus_values.decode_registers`. A setpoint is checked
against its range *before* it is scaled and encoded, and an encoded value that does not fit its
register type (an int16 asked for 40000) raises rather than wraps.

Imports hil's config, errors, roles and transport types and :mod:`drivers.modbus_values` only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from drivers.modbus_values import (
    BYTE_ORDERS,
    DATA_TYPES,
    WORD_ORDERS,
    decode_registers,
    encode_registers,
    register_count,
)
from hil.bench.roles import Reading
from hil.bench.transport import InputRegisterTransport
from hil.core.config import Section
from hil.core.errors import LimitError

READ_FUNCTIONS = (3, 4)
WRITE_FUNCTIONS = (6, 16)


@dataclass(frozen=True)
class RegisterValue:
    """Where one value lives and how it is coded: ``value = raw x scale + offset``."""

    address: int
    data_type: str
    word_order: str = "big"
    byte_order: str = "big"
    scale: float = 1.0
    offset: float = 0.0

    @property
    def count(self) -> int:
        return register_count(self.data_type)

    def decode(self, registers: list[int]) -> float:
        return decode_registers(registers, self.data_type, self.word_order, self.byte_order) * self.scale + (
            self.offset
        )

    def encode(self, value: float) -> list[int]:
        raw = (value - self.offset) / self.scale
        if self.data_type not in ("float32", "float64"):
            raw = round(raw)
        return encode_registers(raw, self.data_type, self.word_order, self.byte_order)


@dataclass(frozen=True)
class RegisterReading:
    name: str
    value: RegisterValue
    function: int = 3


@dataclass(frozen=True)
class RegisterSetpoint:
    name: str
    value: RegisterValue
    minimum: float
    maximum: float
    safe: float | None
    function: int = 16


def _register_value(entry: Section) -> RegisterValue:
    data_type = entry.get("type", str, "uint16", choices=tuple(DATA_TYPES))
    value = RegisterValue(
        address=entry.get("address", int, minimum=0, maximum=0xFFFF),
        data_type=data_type,
        word_order=entry.get("word_order", str, "big", choices=WORD_ORDERS),
        byte_order=entry.get("byte_order", str, "big", choices=BYTE_ORDERS),
        scale=entry.get("scale", float, 1.0),
        offset=entry.get("offset", float, 0.0),
    )
    if value.scale == 0.0:
        raise entry.error("scale", "must not be 0")
    if value.address + value.count > 0x10000:
        raise entry.error("address", f"a {data_type} at {value.address} runs past register 65535")
    return value


def parse_register_map(options: Section) -> tuple[list[RegisterReading], list[RegisterSetpoint]]:
    """The ``registers`` and ``setpoints`` tables of an instrument's bench-file section."""
    readings = []
    for name, entry in options.sections("registers").items():
        function = entry.get("function", int, 3, choices=READ_FUNCTIONS)
        readings.append(RegisterReading(name, _register_value(entry), function))
        entry.finish()
    setpoints = []
    for name, entry in options.sections("setpoints").items():
        value = _register_value(entry)
        function = entry.get("function", int, 16, choices=WRITE_FUNCTIONS)
        if function == 6 and value.count != 1:
            raise entry.error("function", f"function 6 writes one register; a {value.data_type} needs 16")
        minimum = entry.get("min", float)
        maximum = entry.get("max", float)
        if not minimum <= maximum:
            raise entry.error("max", f"must be >= min ({minimum}), got {maximum}")
        safe = entry.get("safe", float, None)
        if safe is not None and not minimum <= safe <= maximum:
            raise entry.error("safe", f"must lie within [{minimum}, {maximum}], got {safe}")
        for bound in (minimum, maximum) + (() if safe is None else (safe,)):
            try:
                value.encode(bound)
            except LimitError as exc:
                raise entry.error("type", f"cannot hold {bound} with this scale and offset: {exc}") from exc
        setpoints.append(RegisterSetpoint(name, value, minimum, maximum, safe, function))
        entry.finish()
    if not readings:
        raise options.error("registers", "describe at least one register to read")
    return readings, setpoints


class ModbusMapInstrument:
    """A Modbus device read and set through a register map from the bench file."""

    def __init__(
        self,
        bus: InputRegisterTransport,
        unit: int,
        name: str,
        readings: list[RegisterReading],
        setpoints: list[RegisterSetpoint] | None = None,
        identity: str = "",
    ) -> None:
        self.name = name
        self.unit = unit
        self._bus = bus
        self._readings = list(readings)
        self._setpoints = {setpoint.name: setpoint for setpoint in setpoints or []}
        self._identity = identity or "Modbus device"

    def identify(self) -> str:
        """The identity the bench file gives, after one read of every register (so an absent or
        misconfigured device fails at connect time, naming the register)."""
        self.read()
        return f"{self._identity} (Modbus unit {self.unit})"

    def read(self) -> Reading:
        reading: Reading = {}
        for entry in self._readings:
            value = entry.value
            if entry.function == 4:
                registers = self._bus.read_input_registers(value.address, value.count, self.unit)
            else:
                registers = self._bus.read_holding_registers(value.address, value.count, self.unit)
            reading[entry.name] = value.decode(registers)
        return reading

    @property
    def setpoint_ranges(self) -> dict[str, tuple[float, float]]:
        """Every setpoint this instrument accepts, with its range in SI units."""
        return {name: (s.minimum, s.maximum) for name, s in self._setpoints.items()}

    def set_value(self, quantity: str, value: float) -> None:
        """Write one setpoint; raises LimitError outside its range (nothing is sent)."""
        setpoint = self._setpoints.get(quantity)
        if setpoint is None:
            known = ", ".join(sorted(self._setpoints)) or "none"
            raise LimitError(f"{self.name}: no setpoint {quantity!r} (known: {known})")
        if not (math.isfinite(value) and setpoint.minimum <= value <= setpoint.maximum):
            raise LimitError(
                f"{self.name}: {quantity} = {value!r} outside [{setpoint.minimum:g}, {setpoint.maximum:g}]; "
                "nothing was sent"
            )
        self._write(setpoint, value)

    def safe_state(self) -> None:
        """Write every setpoint that has a safe value."""
        for setpoint in self._setpoints.values():
            if setpoint.safe is not None:
                self._write(setpoint, setpoint.safe)

    def _write(self, setpoint: RegisterSetpoint, value: float) -> None:
        registers = setpoint.value.encode(value)
        if setpoint.function == 6:
            self._bus.write_register(setpoint.value.address, registers[0], self.unit)
        else:
            self._bus.write_registers(setpoint.value.address, registers, self.unit)
