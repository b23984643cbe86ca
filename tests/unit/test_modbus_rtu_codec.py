"""The Modbus RTU master against a scripted byte transport: exact request bytes, reply checking.

The CRC expected in these tests is computed here from the Modbus serial-line specification
(polynomial 0xA001 reflected, initial value 0xFFFF, low byte sent first), independently of the
table the master uses, and checked against published frames.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from hil.bench.modbus_rtu import ModbusRtuTransport
from hil.core.errors import DeviceError, LimitError, ProtocolError, TransportTimeout
from tests.fakes import framed, spec_crc
from tests.fuzzing import Choices, fuzz_batches, fuzz_cases


class ScriptedBytes:
    """A ByteTransport that expects given requests in order and queues the scripted reply to each."""

    name = "scripted"

    def __init__(self, script: list[tuple[bytes, bytes]]) -> None:
        self.script = list(script)
        self.pending = bytearray()
        self.discards = 0
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)
        assert self.script, f"unexpected request {data.hex(' ')}"
        expected, reply = self.script.pop(0)
        assert data == expected, f"sent {data.hex(' ')}, expected {expected.hex(' ')}"
        self.pending.extend(reply)

    def read_exactly(self, size: int) -> bytes:
        if len(self.pending) < size:
            got = bytes(self.pending)
            self.pending.clear()
            raise TransportTimeout(f"scripted: timed out waiting for {size} bytes, got {len(got)}")
        data = bytes(self.pending[:size])
        del self.pending[:size]
        return data

    def read_until(self, terminator: bytes = b"\n", max_size: int = 65536) -> bytes:
        raise AssertionError("Modbus RTU never reads lines")

    def discard_input(self) -> None:
        self.discards += 1
        self.pending.clear()

    def close(self) -> None:
        pass

    def assert_done(self) -> None:
        assert not self.script, f"requests never sent: {[r.hex(' ') for r, _ in self.script]}"


def test_spec_crc_matches_published_frames() -> None:
    # Published examples: read 1 register at 0 from unit 1; read 3 registers at 0x6B from unit 17,
    # and its reply; an exception-2 reply from unit 1 to function 3.
    assert spec_crc(bytes.fromhex("010300000001")) == bytes.fromhex("840A")
    assert spec_crc(bytes.fromhex("1103006B0003")) == bytes.fromhex("7687")
    assert spec_crc(bytes.fromhex("110306AE4156524340")) == bytes.fromhex("49AD")
    assert spec_crc(bytes.fromhex("018302")) == bytes.fromhex("C0F1")


def test_read_sends_the_published_request_bytes_and_decodes_the_reply() -> None:
    port = ScriptedBytes([(bytes.fromhex("01 03 00 00 00 01 84 0A"), framed("01 03 02 12 34"))])
    assert ModbusRtuTransport(port).read_holding_registers(0, 1, unit=1) == [0x1234]
    port.assert_done()


def test_published_three_register_exchange() -> None:
    port = ScriptedBytes(
        [(bytes.fromhex("11 03 00 6B 00 03 76 87"), bytes.fromhex("11 03 06 AE 41 56 52 43 40 49 AD"))]
    )
    assert ModbusRtuTransport(port).read_holding_registers(0x6B, 3, unit=17) == [0xAE41, 0x5652, 0x4340]
    port.assert_done()


def test_write_multiple_registers_exact_bytes() -> None:
    request = framed("01 10 03 E8 00 02 04 40 20 00 00")  # 2.5 V as float32 to DAC0 (address 1000)
    port = ScriptedBytes([(request, framed("01 10 03 E8 00 02"))])
    ModbusRtuTransport(port).write_registers(1000, [0x4020, 0x0000], unit=1)
    port.assert_done()


def test_exception_reply_is_a_device_error_naming_unit_function_and_address() -> None:
    port = ScriptedBytes([(framed("01 03 01 04 00 02"), bytes.fromhex("01 83 02 C0 F1"))])
    with pytest.raises(DeviceError) as caught:
        ModbusRtuTransport(port, name="bus").read_holding_registers(0x104, 2, unit=1)
    assert caught.value.code == 2
    message = str(caught.value)
    assert "bus unit 1" in message and "function 3" in message and "at 260" in message
    port.assert_done()


def test_exception_reply_to_a_write() -> None:
    port = ScriptedBytes([(framed("05 10 00 00 00 01 02 00 07"), framed("05 90 04"))])
    with pytest.raises(DeviceError) as caught:
        ModbusRtuTransport(port).write_registers(0, [7], unit=5)
    assert caught.value.code == 4


def test_bad_crc_is_a_protocol_error_and_input_is_discarded() -> None:
    reply = bytearray(framed("01 03 02 12 34"))
    reply[-1] ^= 0xFF
    port = ScriptedBytes([(framed("01 03 00 00 00 01"), bytes(reply))])
    with pytest.raises(ProtocolError, match="bad CRC"):
        ModbusRtuTransport(port).read_holding_registers(0, 1, unit=1)
    assert port.discards == 2  # before the request, and after the bad reply


def test_bad_crc_on_an_exception_reply_is_a_protocol_error() -> None:
    port = ScriptedBytes([(framed("01 03 00 00 00 01"), bytes.fromhex("01 83 02 C0 F0"))])
    with pytest.raises(ProtocolError, match="bad CRC"):
        ModbusRtuTransport(port).read_holding_registers(0, 1, unit=1)


def test_reply_from_another_unit_is_a_protocol_error() -> None:
    port = ScriptedBytes([(framed("02 03 00 00 00 01"), framed("03 03 02 12 34"))])
    with pytest.raises(ProtocolError, match="from unit 3"):
        ModbusRtuTransport(port).read_holding_registers(0, 1, unit=2)
    assert port.discards == 2


def test_reply_with_another_function_is_a_protocol_error() -> None:
    port = ScriptedBytes([(framed("01 03 00 00 00 01"), framed("01 04 02 12 34"))])
    with pytest.raises(ProtocolError, match="function 4"):
        ModbusRtuTransport(port).read_holding_registers(0, 1, unit=1)


def test_wrong_byte_count_fails_at_once_instead_of_waiting() -> None:
    # The count says 4 bytes but 1 register was asked: the master must not wait for 4 bytes.
    port = ScriptedBytes([(framed("01 03 00 00 00 01"), framed("01 03 04 12 34 56 78"))])
    with pytest.raises(ProtocolError, match="4 data bytes, expected 2"):
        ModbusRtuTransport(port).read_holding_registers(0, 1, unit=1)


def test_write_echo_mismatch_is_a_protocol_error() -> None:
    port = ScriptedBytes([(framed("01 10 03 E8 00 02 04 40 20 00 00"), framed("01 10 03 EA 00 02"))])
    with pytest.raises(ProtocolError, match="at 1002"):
        ModbusRtuTransport(port).write_registers(1000, [0x4020, 0], unit=1)


def test_silence_is_a_timeout_naming_unit_and_address_with_the_cause_chained() -> None:
    port = ScriptedBytes([(framed("09 03 01 00 00 04"), b"")])
    with pytest.raises(TransportTimeout) as caught:
        ModbusRtuTransport(port, name="bus").read_holding_registers(0x100, 4, unit=9)
    assert "bus unit 9" in str(caught.value) and "at 256" in str(caught.value)
    assert isinstance(caught.value.__cause__, TransportTimeout)


def test_truncated_reply_is_a_timeout() -> None:
    port = ScriptedBytes([(framed("01 03 00 00 00 02"), framed("01 03 04 12 34 56 78")[:6])])
    with pytest.raises(TransportTimeout):
        ModbusRtuTransport(port).read_holding_registers(0, 2, unit=1)


def test_stale_bytes_are_discarded_before_each_request() -> None:
    port = ScriptedBytes([(framed("01 03 00 00 00 01"), framed("01 03 02 00 05"))])
    port.pending.extend(framed("01 03 02 00 04"))  # a late reply to an earlier, timed-out request
    assert ModbusRtuTransport(port).read_holding_registers(0, 1, unit=1) == [5]


def test_a_late_reply_after_a_timeout_is_discarded_and_clean_exchanges_skip_the_flush() -> None:
    port = ScriptedBytes(
        [
            (framed("01 03 00 00 00 01"), framed("01 03 02 00 01")),
            (framed("01 03 00 00 00 01"), b""),  # silence: times out
            (framed("01 03 00 00 00 01"), framed("01 03 02 00 03")),
            (framed("01 03 00 00 00 01"), framed("01 03 02 00 04")),
        ]
    )
    master = ModbusRtuTransport(port)
    assert master.read_holding_registers(0, 1, unit=1) == [1]
    assert port.discards == 1  # the first request: nothing known about the line yet
    with pytest.raises(TransportTimeout):
        master.read_holding_registers(0, 1, unit=1)
    port.pending.extend(framed("01 03 02 00 02"))  # the timed-out reply arrives late
    assert master.read_holding_registers(0, 1, unit=1) == [3]
    assert port.discards == 2  # flushed after the timeout, not before the clean exchanges
    assert master.read_holding_registers(0, 1, unit=1) == [4]
    assert port.discards == 2
    port.assert_done()


@pytest.mark.parametrize(
    ("address", "count", "unit"),
    [(0, 0, 1), (0, 126, 1), (65535, 2, 1), (-1, 1, 1), (0, 1, 0), (0, 1, 248)],
)
def test_impossible_requests_are_refused_before_sending(address: int, count: int, unit: int) -> None:
    port = ScriptedBytes([])
    with pytest.raises(LimitError):
        ModbusRtuTransport(port).read_holding_registers(address, count, unit)
    assert port.written == []


def test_write_of_a_value_beyond_16_bits_is_refused_before_sending() -> None:
    port = ScriptedBytes([])
    with pytest.raises(LimitError, match="65536"):
        ModbusRtuTransport(port).write_registers(0, [65536], unit=1)
    assert port.written == []


def _valid_reply(unit: int, registers: list[int]) -> bytes:
    body = bytes((unit, 3, 2 * len(registers))) + b"".join(r.to_bytes(2, "big") for r in registers)
    return body + spec_crc(body)


def _corrupted_reply(unit: int, registers: list[int], flip_at: int) -> bytes:
    reply = bytearray(_valid_reply(unit, registers))
    if flip_at < len(reply):
        reply[flip_at] ^= 0xFF
    return bytes(reply)


def _reply_and_count(choose: Choices) -> tuple[bytes, int]:
    """Arbitrary bytes, or a reply from unit 1-3 with 1-3 registers and one byte flipped (a flip
    beyond the reply's end leaves it intact); and the count of registers asked for, 1-3."""
    if choose.boolean():
        reply = choose.binary(max_size=40)
    else:
        unit = choose.integer(1, 3)
        registers = choose.lists(lambda word: word.integer(0, 0xFFFF), min_size=1, max_size=3)
        reply = _corrupted_reply(unit, registers, choose.integer(0, 20))
    return reply, choose.integer(1, 3)


@settings(max_examples=fuzz_batches(1000))
@given(fuzz_cases(_reply_and_count, case_bytes=80))
def test_fuzzed_replies_give_registers_or_project_errors_only(cases: list[tuple[bytes, int]]) -> None:
    for reply, count in cases:
        request = framed(f"02 03 00 10 00 {count:02X}")
        port = ScriptedBytes([(request, reply)])
        try:
            registers = ModbusRtuTransport(port).read_holding_registers(0x10, count, unit=2)
        except (ProtocolError, DeviceError, TransportTimeout):
            continue
        # Accepted: it must have been exactly a valid reply from unit 2 carrying these registers.
        assert reply[: 5 + 2 * count] == _valid_reply(2, registers)
        assert len(registers) == count
