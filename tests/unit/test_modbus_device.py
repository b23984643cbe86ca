"""The device side of Modbus: RTU bus framing, silence and resync, exception codes, MBAP, emulators.

Frames are built here with a CRC computed from the specification (0xA001 reflected, init 0xFFFF,
low byte first), independently of the pymodbus table the emulators use. Expected register contents
are IEEE-754 bit patterns worked out by hand.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

import pytest
from hypothesis import given, settings

from hil.core.errors import ConfigError, DeviceError
from simulators.keller_emulator import KellerEmulator
from simulators.labjack_emulator import LabJackEmulator
from simulators.micromotion_emulator import MicroMotionEmulator
from simulators.modbus_device import ModbusRtuBus, ModbusTcpSession, RegisterMap, tcp_session_factory
from tests.fakes import framed, spec_crc
from tests.fuzzing import Choices, fuzz_batches, fuzz_cases


class DictDevice:
    """Registers in a dict; anything else is exception 2."""

    def __init__(self, registers: dict[int, int]) -> None:
        self.registers = dict(registers)

    def read_registers(self, address: int, count: int) -> list[int]:
        try:
            return [self.registers[a] for a in range(address, address + count)]
        except KeyError as exc:
            raise DeviceError(f"register {exc} undefined", 2) from exc

    def write_registers(self, address: int, values: Sequence[int]) -> None:
        for offset, value in enumerate(values):
            if address + offset not in self.registers:
                raise DeviceError("undefined", 2)
            self.registers[address + offset] = value


def two_unit_bus() -> tuple[ModbusRtuBus, DictDevice, DictDevice]:
    first = DictDevice({0: 0x1234, 1: 0x5678, 2: 0x9ABC})
    second = DictDevice({0: 0x0001, 1: 0x0002})
    return ModbusRtuBus({1: first, 2: second}), first, second


# --- RTU bus ---


def test_published_request_gets_a_well_formed_reply() -> None:
    bus, _, _ = two_unit_bus()
    assert bus.receive(bytes.fromhex("01 03 00 00 00 01 84 0A")) == framed("01 03 02 12 34")


def test_each_unit_answers_only_its_own_frames() -> None:
    bus, _, _ = two_unit_bus()
    assert bus.receive(framed("02 03 00 00 00 02")) == framed("02 03 04 00 01 00 02")
    assert bus.receive(framed("07 03 00 00 00 01")) == b""  # unit 7 is not on the bus


def test_partial_frames_are_buffered_until_complete() -> None:
    bus, _, _ = two_unit_bus()
    request = framed("01 03 00 01 00 02")
    for byte in request[:-1]:
        assert bus.receive(bytes((byte,))) == b""
    assert bus.receive(request[-1:]) == framed("01 03 04 56 78 9A BC")


def test_a_request_seen_before_is_answered_from_the_registers_as_they_are_now() -> None:
    # The bus remembers which chunks were one valid frame, never what it answered to them.
    bus, first, _ = two_unit_bus()
    read = framed("01 03 00 00 00 01")
    assert bus.receive(read) == framed("01 03 02 12 34")
    assert bus.receive(framed("01 06 00 00 AB CD")) == framed("01 06 00 00 AB CD")
    assert bus.receive(read) == framed("01 03 02 AB CD")
    first.registers[0] = 0x0F0F
    assert bus.receive(read) == framed("01 03 02 0F 0F")
    # more distinct requests than the bus remembers, each twice: answered alike both times
    registers = {address: address ^ 0x5A5A for address in range(200)}
    many = ModbusRtuBus({1: DictDevice(registers)})
    for _ in range(2):
        for address in range(200):
            request = framed(f"01 03 00 {address:02X} 00 01")
            assert many.receive(request) == framed(f"01 03 02 {registers[address]:04X}")
    # a remembered request that arrives behind bytes already buffered is framed with them
    assert bus.receive(read[:3]) == b""
    assert bus.receive(read) == framed("01 03 02 0F 0F")


def test_two_frames_in_one_chunk_get_two_replies() -> None:
    bus, _, _ = two_unit_bus()
    replies = bus.receive(framed("01 03 00 00 00 01") + framed("02 03 00 01 00 01"))
    assert replies == framed("01 03 02 12 34") + framed("02 03 02 00 02")


def test_bad_crc_is_silence_and_the_next_frame_is_answered() -> None:
    bus, _, _ = two_unit_bus()
    corrupt = bytearray(framed("01 03 00 00 00 01"))
    corrupt[-2] ^= 0x01
    assert bus.receive(bytes(corrupt)) == b""
    assert bus.receive(framed("01 03 00 00 00 01")) == framed("01 03 02 12 34")


def test_noise_before_a_frame_is_skipped() -> None:
    bus, _, _ = two_unit_bus()
    # "01 10 ..." looks like the start of a long FC 16 frame; the valid frame after it wins.
    noise = bytes.fromhex("FF 01 10 00 00 00 40 80")
    assert bus.receive(noise + framed("02 03 00 00 00 01")) == framed("02 03 02 00 01")


def test_undefined_address_is_exception_2() -> None:
    bus, _, _ = two_unit_bus()
    assert bus.receive(framed("01 03 00 02 00 02")) == bytes.fromhex("01 83 02 C0 F1")


def test_unsupported_standard_function_is_exception_1() -> None:
    bus, _, _ = two_unit_bus()
    assert bus.receive(framed("01 04 00 00 00 01")) == framed("01 84 01")  # read input registers


def test_non_standard_function_arriving_whole_is_exception_1() -> None:
    bus, _, _ = two_unit_bus()
    assert bus.receive(framed("01 41 00")) == framed("01 C1 01")


@pytest.mark.parametrize("count_hex", ["00 00", "00 7E"])
def test_read_count_outside_1_to_125_is_exception_3(count_hex: str) -> None:
    bus, _, _ = two_unit_bus()
    assert bus.receive(framed(f"01 03 00 00 {count_hex}")) == framed("01 83 03")


def test_write_single_register_echoes_the_request() -> None:
    bus, first, _ = two_unit_bus()
    request = framed("01 06 00 01 AB CD")
    assert bus.receive(request) == request
    assert first.registers[1] == 0xABCD


def test_write_multiple_registers_confirms_address_and_count() -> None:
    bus, first, _ = two_unit_bus()
    assert bus.receive(framed("01 10 00 01 00 02 04 11 11 22 22")) == framed("01 10 00 01 00 02")
    assert (first.registers[1], first.registers[2]) == (0x1111, 0x2222)


def test_write_with_inconsistent_byte_count_is_exception_3() -> None:
    bus, first, _ = two_unit_bus()
    assert bus.receive(framed("01 10 00 01 00 02 02 11 11")) == framed("01 90 03")
    assert first.registers[1] == 0x5678


def test_broadcast_write_reaches_every_unit_without_reply() -> None:
    bus, first, second = two_unit_bus()
    assert bus.receive(framed("00 06 00 00 00 2A")) == b""
    assert first.registers[0] == second.registers[0] == 0x2A


def test_unit_ids_outside_1_to_247_are_refused() -> None:
    with pytest.raises(ConfigError):
        ModbusRtuBus({0: DictDevice({})})


def _parse_rtu_replies(stream: bytes, units: set[int]) -> None:
    """Every reply must be a complete frame with a valid CRC from a unit on the bus."""
    while stream:
        assert stream[0] in units
        function = stream[1]
        if function & 0x80:
            size = 5
        elif function == 3:
            size = 5 + stream[2]
        else:
            size = 8  # FC 6 echo, FC 16 confirmation
        frame, stream = stream[:size], stream[size:]
        assert len(frame) == size and spec_crc(frame[:-2]) == frame[-2:]


def _with_crc(body: bytes) -> bytes:
    return body + spec_crc(body)


def _rtu_chunk(choose: Choices) -> bytes:
    """Arbitrary bytes, or a frame with a valid CRC but arbitrary content (so the PDU handling is
    reached)."""
    if choose.boolean():
        return choose.binary(max_size=24)
    unit, function = choose.integer(0, 3), choose.sampled_from([3, 6, 16, 4, 0x41])
    return _with_crc(bytes((unit, function)) + choose.binary(max_size=12))


def _rtu_chunks(choose: Choices) -> list[bytes]:
    return choose.lists(_rtu_chunk, max_size=8)


@settings(max_examples=fuzz_batches(1000))
@given(fuzz_cases(_rtu_chunks, case_bytes=256))
def test_fuzzed_byte_stream_yields_only_valid_frames_or_silence(cases: list[list[bytes]]) -> None:
    for chunks in cases:
        bus, _, _ = two_unit_bus()
        for chunk in chunks:
            reply = bus.receive(chunk)
            assert isinstance(reply, bytes)
            _parse_rtu_replies(reply, {1, 2})
        # Whatever came before, the bus must still answer once the line is quiet and a frame arrives.
        bus.receive(bytes(256))  # a long run of zeros flushes any pending partial frame
        assert bus.receive(framed("01 03 00 00 00 01")).endswith(framed("01 03 02 12 34"))


# --- MBAP / TCP ---


def mbap(transaction: int, unit: int, pdu_hex: str, protocol: int = 0) -> bytes:
    pdu = bytes.fromhex(pdu_hex)
    return struct.pack(">HHHB", transaction, protocol, len(pdu) + 1, unit) + pdu


def test_tcp_read_echoes_the_transaction_id() -> None:
    session = ModbusTcpSession({1: DictDevice({0: 0x1234})})
    assert session.receive(mbap(0xBEEF, 1, "03 00 00 00 01")) == mbap(0xBEEF, 1, "03 02 12 34")


def test_tcp_exception_and_absent_unit() -> None:
    session = ModbusTcpSession({1: DictDevice({0: 0x1234})})
    assert session.receive(mbap(1, 1, "03 00 05 00 01")) == mbap(1, 1, "83 02")
    assert session.receive(mbap(2, 9, "03 00 00 00 01")) == mbap(2, 9, "83 0B")
    assert session.receive(mbap(3, 1, "2B 0E 01 00")) == mbap(3, 1, "AB 01")


def test_tcp_partial_and_back_to_back_requests() -> None:
    session = ModbusTcpSession({1: DictDevice({0: 7, 1: 8})})
    stream = mbap(1, 1, "03 00 00 00 01") + mbap(2, 1, "03 00 01 00 01")
    assert session.receive(stream[:5]) == b""
    assert session.receive(stream[5:]) == mbap(1, 1, "03 02 00 07") + mbap(2, 1, "03 02 00 08")


def test_tcp_frame_with_another_protocol_id_is_ignored() -> None:
    session = ModbusTcpSession({1: DictDevice({0: 7})})
    assert session.receive(mbap(1, 1, "03 00 00 00 01", protocol=5)) == b""
    assert session.receive(mbap(2, 1, "03 00 00 00 01")) == mbap(2, 1, "03 02 00 07")


def test_tcp_factory_gives_independent_framing_per_connection() -> None:
    factory = tcp_session_factory({1: DictDevice({0: 7})})
    first, second = factory(), factory()
    request = mbap(1, 1, "03 00 00 00 01")
    assert first.receive(request[:4]) == b""
    assert second.receive(request) == mbap(1, 1, "03 02 00 07")


def _tcp_chunks(choose: Choices) -> list[bytes]:
    return choose.lists(lambda chunk: chunk.binary(max_size=30), max_size=8)


@settings(max_examples=fuzz_batches(1000))
@given(fuzz_cases(_tcp_chunks, case_bytes=256))
def test_fuzzed_tcp_stream_never_raises(cases: list[list[bytes]]) -> None:
    for chunks in cases:
        session = ModbusTcpSession({1: DictDevice({0: 7, 1: 8})})
        for chunk in chunks:
            reply = session.receive(chunk)
            while reply:
                transaction, protocol, length, unit = struct.unpack(">HHHB", reply[:7])
                assert protocol == 0 and 2 <= length <= 254
                reply = reply[6 + length :]


# --- register maps ---


def test_register_map_reads_across_fields_and_calls_each_getter_once() -> None:
    calls: list[int] = []

    def field(value: int) -> list[int]:
        calls.append(value)
        return [value, value + 1]

    device = RegisterMap()
    device.add_field(10, 2, lambda: field(100))
    device.add_field(12, 2, lambda: field(200))
    assert device.read_registers(11, 3) == [101, 200, 201]
    assert calls == [100, 200]
    # the same block again (remembered): the getters are called afresh, once each, in order
    assert device.read_registers(11, 3) == [101, 200, 201]
    assert calls == [100, 200, 100, 200]
    # a block with a gap is refused every time, and readable once the gap is filled
    for _ in range(2):
        with pytest.raises(DeviceError) as refused:
            device.read_registers(12, 4)
        assert refused.value.code == 2
    device.add_field(14, 2, lambda: field(300))
    assert device.read_registers(12, 4) == [200, 201, 300, 301]


def test_register_map_refuses_half_a_field_and_write_to_read_only() -> None:
    stored: list[list[int]] = []
    device = RegisterMap()
    device.add_field(0, 2, lambda: [0, 0], stored.append)
    device.add_field(2, 2, lambda: [0, 0])
    for address, values in [(1, [5]), (0, [5]), (0, [1, 2, 3, 4])]:
        with pytest.raises(DeviceError) as caught:
            device.write_registers(address, values)
        assert caught.value.code == 2
    assert stored == []
    device.write_registers(0, [1, 2])
    assert stored == [[1, 2]]


# --- instrument emulators ---


def test_keller_emulator_serves_bar_and_degc_big_endian() -> None:
    keller = KellerEmulator(lambda: 250_000.0, lambda: 20.0, serial_number=1234567)
    # 2.5 bar = 0x40200000, 20.0 degC = 0x41A00000
    assert keller.read_registers(0x0100, 4) == [0x4020, 0x0000, 0x41A0, 0x0000]
    assert keller.read_registers(0x0002, 2) == [0x4020, 0x0000]
    assert keller.read_registers(0x0008, 2) == [0x41A0, 0x0000]
    assert keller.read_registers(0x0202, 2) == [0x0012, 0xD687]  # 1234567 = 0x0012D687


@pytest.mark.parametrize(("address", "count"), [(0x0104, 2), (0x0100, 5), (0x0000, 1)])
def test_keller_emulator_answers_exception_2_elsewhere(address: int, count: int) -> None:
    keller = KellerEmulator(lambda: 1e5, lambda: 20.0, serial_number=1)
    with pytest.raises(DeviceError) as caught:
        keller.read_registers(address, count)
    assert caught.value.code == 2


def test_micromotion_emulator_converts_to_device_units_and_word_order() -> None:
    meter = MicroMotionEmulator(
        mass_flow_kg_s=lambda: 0.5,
        density_kg_m3=lambda: 1000.0,
        temperature_c=lambda: 20.0,
        word_order="little",
        units={"mass_flow": "g/s", "density": "g/cm3", "volume_flow": "l/s", "temperature": "K"},
    )
    registers = meter.read_registers(246, 8)
    # 500 g/s, 1 g/cm3, 293.15 K, 0.5 l/s (= 0.5 kg/s / 1000 kg/m3, computed by the transmitter)
    pairs = [(registers[i + 1], registers[i]) for i in (0, 2, 4, 6)]  # low word first on the wire
    values = [struct.unpack(">f", struct.pack(">HH", high, low))[0] for high, low in pairs]
    assert values == pytest.approx([500.0, 1.0, 293.15, 0.5], rel=1e-6)


def test_micromotion_emulator_refuses_unknown_units() -> None:
    with pytest.raises(ConfigError, match="units.density"):
        MicroMotionEmulator(lambda: 0.0, lambda: 1.0, lambda: 0.0, units={"density": "lb/ft3"})


def test_labjack_emulator_analog_io() -> None:
    outputs: list[float] = []
    daq = LabJackEmulator({1: lambda: 2.5}, {0: outputs.append})
    assert daq.read_registers(2, 2) == [0x4020, 0x0000]
    unconnected = struct.unpack(">f", struct.pack(">HH", *daq.read_registers(26, 2)))[0]
    assert 0.0 < abs(unconnected) < 0.01
    daq.write_registers(1000, [0x4020, 0x0000])  # 2.5 V
    assert outputs == [2.5]
    assert daq.read_registers(1000, 2) == [0x4020, 0x0000]
    assert daq.read_registers(60000, 2) == [0x40E0, 0x0000]  # PRODUCT_ID 7.0
    with pytest.raises(DeviceError) as caught:
        daq.write_registers(1000, [0x7FC0, 0x0000])  # NaN
    assert caught.value.code == 3
    with pytest.raises(DeviceError) as caught:
        daq.write_registers(0, [0, 0])  # AINs are read-only
    assert caught.value.code == 2
