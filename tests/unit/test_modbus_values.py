"""float32 / u32 in two Modbus registers: known IEEE-754 bit patterns, both word orders, round trips."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from pymodbus.client.mixin import ModbusClientMixin

from drivers.modbus_values import (
    check_word_order,
    float32_to_registers,
    registers_to_float32,
    registers_to_float32s,
    registers_to_uint32,
)
from hil.core.errors import ConfigError, LimitError, ProtocolError
from tests.fuzzing import Choices, fuzz_batches, fuzz_cases


@pytest.mark.parametrize(
    ("value", "high", "low"),
    [
        (1.0, 0x3F80, 0x0000),  # IEEE-754: sign 0, exponent 127, mantissa 0
        (-2.0, 0xC000, 0x0000),
        (2.5, 0x4020, 0x0000),
        (0.1, 0x3DCC, 0xCCCD),  # 0.1 rounds up in the last mantissa bit
        (7.0, 0x40E0, 0x0000),
    ],
)
def test_known_bit_patterns_in_both_word_orders(value: float, high: int, low: int) -> None:
    assert float32_to_registers(value) == [high, low]
    assert float32_to_registers(value, "little") == [low, high]
    assert registers_to_float32([high, low]) == pytest.approx(value, rel=1e-7)
    assert registers_to_float32([low, high], "little") == pytest.approx(value, rel=1e-7)


def test_nan_and_infinities_decode_as_such() -> None:
    assert math.isnan(registers_to_float32([0x7FC0, 0x0000]))
    assert registers_to_float32([0x7F80, 0x0000]) == math.inf
    assert registers_to_float32([0x0000, 0xFF80], "little") == -math.inf


def test_several_floats_decode_in_order() -> None:
    assert registers_to_float32s([0x3F80, 0, 0xC000, 0, 0x4020, 0]) == [1.0, -2.0, 2.5]


def test_uint32_high_word_first() -> None:
    assert registers_to_uint32([0x0012, 0xD687]) == 1234567
    assert registers_to_uint32([0xD687, 0x0012], "little") == 1234567


@pytest.mark.parametrize("registers", [[], [0x3F80], [0x3F80, 0, 0]])
def test_wrong_register_count_is_a_protocol_error(registers: list[int]) -> None:
    with pytest.raises(ProtocolError, match="2 registers"):
        registers_to_float32(registers)


def test_odd_count_for_several_floats_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="even number"):
        registers_to_float32s([0x3F80, 0, 0])


def test_register_beyond_16_bits_is_a_protocol_error() -> None:
    with pytest.raises(ProtocolError, match="70000"):
        registers_to_float32([70000, 0])


def test_finite_value_beyond_float32_is_refused() -> None:
    with pytest.raises(LimitError, match="float32"):
        float32_to_registers(1e39)


def test_unknown_word_order_is_a_config_error() -> None:
    assert check_word_order("little", "meter") == "little"
    with pytest.raises(ConfigError, match="meter: word_order"):
        check_word_order("middle", "meter")


def _float32_and_order(choose: Choices) -> tuple[float, str]:
    return choose.float32(), choose.sampled_from(["big", "little"])


@settings(max_examples=fuzz_batches(1000))
@given(fuzz_cases(_float32_and_order, case_bytes=16))
def test_float32_round_trip(cases: list[tuple[float, str]]) -> None:
    for value, word_order in cases:
        registers = float32_to_registers(value, word_order)  # type: ignore[arg-type]
        assert all(0 <= r <= 0xFFFF for r in registers) and len(registers) == 2
        decoded = registers_to_float32(registers, word_order)  # type: ignore[arg-type]
        assert decoded == value or (math.isnan(decoded) and math.isnan(value))


def _words_and_order(choose: Choices) -> tuple[int, int, str]:
    return choose.integer(0, 0xFFFF), choose.integer(0, 0xFFFF), choose.sampled_from(["big", "little"])


@settings(max_examples=fuzz_batches(1000))
@given(fuzz_cases(_words_and_order, case_bytes=12))
def test_decoding_agrees_with_pymodbus(cases: list[tuple[int, int, str]]) -> None:
    for high, low, word_order in cases:
        ours = registers_to_float32([high, low], word_order)  # type: ignore[arg-type]
        theirs = ModbusClientMixin.convert_from_registers(
            [high, low],
            ModbusClientMixin.DATATYPE.FLOAT32,
            word_order=word_order,  # type: ignore[arg-type]
        )
        assert ours == theirs or (math.isnan(ours) and math.isnan(theirs))  # type: ignore[arg-type]
        if not math.isnan(ours):
            assert float32_to_registers(ours, word_order) == [high, low]  # type: ignore[arg-type]
