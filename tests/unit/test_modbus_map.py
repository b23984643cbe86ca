"""The register codec of the generic Modbus driver: known layouts, round trips, refusals; and its
bench-file description checked field by field."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings

from drivers.modbus_map import ModbusMapInstrument, parse_register_map
from drivers.modbus_values import DATA_TYPES, decode_registers, encode_registers
from hil.core.config import Section
from hil.core.errors import ConfigError, LimitError, ProtocolError
from tests.fuzzing import Choices, fuzz_batches, fuzz_cases

ORDERS = [(w, b) for w in ("big", "little") for b in ("big", "little")]


@pytest.mark.parametrize(
    ("data_type", "value", "registers"),
    [
        ("int16", -2, [0xFFFE]),
        ("uint16", 40000, [0x9C40]),
        ("int32", -65536, [0xFFFF, 0x0000]),
        ("uint32", 0x12345678, [0x1234, 0x5678]),
        ("float32", 1.0, [0x3F80, 0x0000]),  # IEEE-754 single: exponent 127
        ("float64", 1.0, [0x3FF0, 0, 0, 0]),  # IEEE-754 double: exponent 1023
    ],
)
def test_known_layouts_high_word_first(data_type: str, value: float, registers: list[int]) -> None:
    assert encode_registers(value, data_type) == registers
    assert decode_registers(registers, data_type) == value


def test_word_and_byte_order_rearrange_the_same_bytes() -> None:
    # 0x12345678 as ABCD, CDAB (word swap), BADC (byte swap) and DCBA
    assert encode_registers(0x12345678, "uint32", "big", "big") == [0x1234, 0x5678]
    assert encode_registers(0x12345678, "uint32", "little", "big") == [0x5678, 0x1234]
    assert encode_registers(0x12345678, "uint32", "big", "little") == [0x3412, 0x7856]
    assert encode_registers(0x12345678, "uint32", "little", "little") == [0x7856, 0x3412]


def _registers_case(choose: Choices) -> tuple[str, tuple[str, str], list[int]]:
    """A register type, word and byte order, and four arbitrary words (as many as it takes used)."""
    data_type, order = choose.sampled_from(sorted(DATA_TYPES)), choose.sampled_from(ORDERS)
    return data_type, order, [choose.integer(0, 0xFFFF) for _ in range(4)]


@settings(max_examples=fuzz_batches(400), deadline=None)
@given(fuzz_cases(_registers_case, case_bytes=24))
def test_fuzz_any_registers_decode_and_encode_back_to_themselves(
    cases: list[tuple[str, tuple[str, str], list[int]]],
) -> None:
    for data_type, order, words in cases:
        count = DATA_TYPES[data_type][1]
        registers = words[:count]
        value = decode_registers(registers, data_type, *order)
        if math.isnan(value):
            continue  # NaN payloads are many bit patterns for one value
        assert encode_registers(value, data_type, *order) == registers


@pytest.mark.parametrize(
    ("data_type", "value"),
    [
        ("int16", 32768),
        ("uint16", -1),
        ("int32", 2**31),
        ("uint32", 2**32),
        ("float32", 1e39),
        ("int16", 1.5),
    ],
)
def test_values_the_type_cannot_hold_are_refused_not_wrapped(data_type: str, value: float) -> None:
    with pytest.raises(LimitError):
        encode_registers(value, data_type)


def test_corrupt_input_is_refused() -> None:
    with pytest.raises(ProtocolError):
        decode_registers([0x3F80], "float32")  # one register short
    with pytest.raises(ProtocolError):
        decode_registers([0x10000, 0], "uint32")  # not a 16-bit word


def description(**entries: object) -> Section:
    return Section(
        {"registers": {"x_pa": {"address": 0, "type": "float32"}}, **entries}, "bench.toml", "instruments.t"
    )


def test_description_errors_name_the_field() -> None:
    bad = {
        "registers": {"x_pa": {"address": 0, "type": "float16"}},
    }
    with pytest.raises(ConfigError, match=r"instruments.t.registers.x_pa.type: must be one of"):
        parse_register_map(Section(bad, "bench.toml", "instruments.t"))
    with pytest.raises(ConfigError, match=r"setpoints.s.safe: must lie within \[0.0, 1.0\]"):
        parse_register_map(description(setpoints={"s": {"address": 9, "min": 0.0, "max": 1.0, "safe": 2.0}}))
    with pytest.raises(ConfigError, match=r"setpoints.s.function: function 6 writes one register"):
        parse_register_map(
            description(
                setpoints={"s": {"address": 9, "type": "float32", "function": 6, "min": 0.0, "max": 1.0}}
            )
        )
    with pytest.raises(ConfigError, match=r"registers.x_pa.bogus: unknown key"):
        parse_register_map(
            Section({"registers": {"x_pa": {"address": 0, "bogus": 1}}}, "bench.toml", "instruments.t")
        )


class RecordingBus:
    name = "fake-bus"

    def __init__(self) -> None:
        self.writes: list[tuple[int, list[int]]] = []
        self.holding = {0: 0x3F80, 1: 0x0000}

    def read_holding_registers(self, address: int, count: int, unit: int) -> list[int]:
        return [self.holding[a] for a in range(address, address + count)]

    def read_input_registers(self, address: int, count: int, unit: int) -> list[int]:
        return [0] * count

    def write_registers(self, address: int, values: list[int], unit: int) -> None:
        self.writes.append((address, list(values)))

    def write_register(self, address: int, value: int, unit: int) -> None:
        self.writes.append((address, [value]))

    def close(self) -> None:
        pass


def test_setpoints_are_scaled_encoded_and_refused_beyond_their_range() -> None:
    readings, setpoints = parse_register_map(
        description(
            setpoints={
                "speed_rpm": {
                    "address": 10,
                    "type": "uint16",
                    "scale": 10.0,
                    "min": 0.0,
                    "max": 30000.0,
                    "safe": 0.0,
                }
            }
        )
    )
    bus = RecordingBus()
    instrument = ModbusMapInstrument(bus, 1, "t", readings, setpoints)
    assert instrument.read() == {"x_pa": 1.0}
    instrument.set_value("speed_rpm", 12345.0)
    assert bus.writes == [(10, [1234])]  # 12345 / 10, rounded to the register's resolution
    with pytest.raises(LimitError, match="nothing was sent"):
        instrument.set_value("speed_rpm", 30001.0)
    with pytest.raises(LimitError, match="no setpoint 'torque'"):
        instrument.set_value("torque", 1.0)
    instrument.safe_state()
    assert bus.writes[-1] == (10, [0])
    assert len(bus.writes) == 2
