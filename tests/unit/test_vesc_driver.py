"""VescDrive against a scripted ByteTransport: every write must match the script, every step be used."""

from __future__ import annotations

import struct
from collections.abc import Iterator

import pytest

from drivers.vesc import VescDrive
from hil.bench.roles import PumpDrive
from hil.core.errors import ConfigError, LimitError, ProtocolError, TransportError, TransportTimeout

GET_VALUES_FRAME = bytes.fromhex("02 01 04 40 84 03")
ALIVE_FRAME = bytes.fromhex("02 01 1E F3 FF 03")
DISCARD = "discard"


def _crc16_xmodem(data: bytes) -> int:
    # Bitwise reference implementation, independent of the codec's table-driven one.
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = (crc << 1) ^ 0x1021 if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _frame(payload: bytes) -> bytes:
    assert len(payload) < 256
    return bytes([2, len(payload)]) + payload + _crc16_xmodem(payload).to_bytes(2, "big") + b"\x03"


COAST_FRAME = _frame(bytes.fromhex("06 00 00 00 00"))


def _values_payload(
    erpm: int = 0,
    v_in_x10: int = 480,
    input_current_x100: int = 250,
    fault: int = 0,
    controller_id: int | None = 9,
) -> bytes:
    """A GET_VALUES reply laid out by hand from the reference (new firmware unless controller_id is None)."""
    core = struct.pack(
        ">hhiiiihihiiiiiiB",
        405,  # temp_fet 40.5 C
        332,  # temp_motor 33.2 C
        1510,  # motor current 15.10 A
        input_current_x100,
        0,
        1510,
        512,  # duty 0.512
        erpm,
        v_in_x10,
        0,
        0,
        0,
        0,
        0,
        0,
        fault,
    )
    if controller_id is None:
        return bytes([4]) + core
    return bytes([4]) + core + struct.pack(">iBhhhiiB", 0, controller_id, 405, 405, 405, 0, 0, 0)


class ScriptedTransport:
    """A ByteTransport that plays a script of (expected write, reply) pairs and ``DISCARD`` markers.

    A write that differs from the next scripted one, an unscripted discard or read, and (checked by
    :meth:`assert_done`) a step never reached all fail the test. A reply of ``None`` means silence:
    reads then time out, like a real port.
    """

    name = "scripted"

    def __init__(self, script: list[tuple[bytes, bytes | None] | str]) -> None:
        self._script = list(script)
        self._pending = bytearray()
        self.closed = False

    def _next(self) -> tuple[bytes, bytes | None] | str:
        assert self._script, "unexpected transport call: script exhausted"
        return self._script.pop(0)

    def write(self, data: bytes) -> None:
        step = self._next()
        assert step != DISCARD, f"expected discard_input, got write {data.hex(' ')}"
        expected, reply = step
        assert data == expected, f"wrote {data.hex(' ')}, expected {expected.hex(' ')}"
        self._pending = bytearray(reply or b"")

    def read_exactly(self, size: int) -> bytes:
        if len(self._pending) < size:
            got = bytes(self._pending)
            self._pending.clear()
            raise TransportTimeout(f"scripted: timed out waiting for {size} bytes, got {got.hex(' ')}")
        data = bytes(self._pending[:size])
        del self._pending[:size]
        return data

    def read_until(self, terminator: bytes = b"\n", max_size: int = 65536) -> bytes:
        raise AssertionError("the VESC driver must not read lines")

    def discard_input(self) -> None:
        assert self._next() == DISCARD, "unexpected discard_input"
        self._pending.clear()

    def close(self) -> None:
        self.closed = True

    def assert_done(self) -> None:
        assert not self._script, f"script steps never reached: {self._script}"
        assert not self._pending, f"reply bytes never read: {bytes(self._pending).hex(' ')}"


@pytest.fixture
def scripted() -> Iterator[list[ScriptedTransport]]:
    made: list[ScriptedTransport] = []
    yield made
    for transport in made:
        transport.assert_done()


def _drive(
    made: list[ScriptedTransport], script, pole_pairs: int = 7, max_speed_rpm: float = 6000
) -> VescDrive:
    transport = ScriptedTransport(script)
    made.append(transport)
    return VescDrive(transport, pole_pairs=pole_pairs, max_speed_rpm=max_speed_rpm, name="pump-motor")


def test_is_a_pump_drive(scripted) -> None:
    assert isinstance(_drive(scripted, []), PumpDrive)


def test_reference_frame_for_set_rpm_3000_erpm(scripted) -> None:
    # 3000 erpm is the reference frame: 1500 mechanical rpm on a 2-pole-pair motor.
    drive = _drive(scripted, [(bytes.fromhex("02 05 08 00 00 0B B8 F8 04 03"), b"")], pole_pairs=2)
    drive.set_speed_rpm(1500)


@pytest.mark.parametrize(
    ("pole_pairs", "rpm", "erpm"), [(1, 3000, 3000), (7, 4000, 28000), (7, 0, 0), (5, 12.5, 62)]
)
def test_pole_pair_scaling(scripted, pole_pairs: int, rpm: float, erpm: int) -> None:
    # 12.5 rpm x 5 = 62.5 erpm, rounded half to even by round() -> 62
    frame = _frame(bytes([8]) + struct.pack(">i", erpm))
    drive = _drive(scripted, [(frame, b"")], pole_pairs=pole_pairs, max_speed_rpm=5000)
    drive.set_speed_rpm(rpm)


@pytest.mark.parametrize("rpm", [-1.0, 6000.001, float("nan"), float("inf")])
def test_limit_error_before_anything_is_written(scripted, rpm: float) -> None:
    drive = _drive(scripted, [])  # any write would fail the script
    with pytest.raises(LimitError, match="pump-motor"):
        drive.set_speed_rpm(rpm)


def test_max_speed_itself_is_allowed(scripted) -> None:
    drive = _drive(scripted, [(_frame(bytes([8]) + struct.pack(">i", 42000)), b"")])
    drive.set_speed_rpm(6000)


@pytest.mark.parametrize(
    ("pole_pairs", "max_speed"), [(0, 1000), (2.0, 1000), (True, 1000), (2, 0), (2, float("nan"))]
)
def test_bad_configuration_raises_config_error(pole_pairs, max_speed) -> None:
    with pytest.raises(ConfigError):
        VescDrive(ScriptedTransport([]), pole_pairs=pole_pairs, max_speed_rpm=max_speed)


def test_keep_alive_and_safe_state_frames(scripted) -> None:
    drive = _drive(scripted, [(ALIVE_FRAME, b""), (COAST_FRAME, b""), (COAST_FRAME, b"")])
    drive.keep_alive()
    drive.safe_state()
    drive.stop()


def test_read_converts_to_si(scripted) -> None:
    reply = _frame(_values_payload(erpm=21000, v_in_x10=480, input_current_x100=250, fault=0))
    drive = _drive(scripted, [(GET_VALUES_FRAME, reply)], pole_pairs=7)
    reading = drive.read()
    assert reading == {
        "speed_rpm": pytest.approx(3000.0),  # 21000 erpm / 7 pole pairs
        "motor_current_a": pytest.approx(15.10),
        "input_current_a": pytest.approx(2.50),
        "bus_voltage_v": pytest.approx(48.0),
        "duty": pytest.approx(0.512),
        "temp_fet_c": pytest.approx(40.5),
        "temp_motor_c": pytest.approx(33.2),
        "fault_code": 0.0,
        "electrical_power_w": pytest.approx(120.0),  # 48.0 V x 2.50 A
    }


def test_fault_is_reported_not_raised(scripted) -> None:
    drive = _drive(scripted, [(GET_VALUES_FRAME, _frame(_values_payload(fault=4)))])
    assert drive.read()["fault_code"] == 4.0


def test_identify_reports_controller_id(scripted) -> None:
    drive = _drive(
        scripted,
        [
            (GET_VALUES_FRAME, _frame(_values_payload(controller_id=9))),
            (GET_VALUES_FRAME, _frame(_values_payload(controller_id=None))),
        ],
    )
    assert drive.identify() == "VESC controller_id=9"
    assert drive.identify() == "VESC controller_id=unknown"


def test_timeout_propagates_and_next_exchange_discards_first(scripted) -> None:
    good = _frame(_values_payload(erpm=7000))
    drive = _drive(scripted, [(GET_VALUES_FRAME, None), DISCARD, (GET_VALUES_FRAME, good)])
    with pytest.raises(TransportTimeout):
        drive.read()
    assert drive.read()["speed_rpm"] == pytest.approx(1000.0)


def test_bad_crc_is_protocol_error_naming_instrument_and_request(scripted) -> None:
    garbled = bytearray(_frame(_values_payload()))
    garbled[-2] ^= 0x01
    good = _frame(_values_payload())
    drive = _drive(scripted, [(GET_VALUES_FRAME, bytes(garbled)), DISCARD, (GET_VALUES_FRAME, good)])
    expected = r"pump-motor: garbled reply to GET_VALUES \(02 01 04 40 84 03\).*bad CRC"
    with pytest.raises(ProtocolError, match=expected):
        drive.read()
    drive.read()


def test_bad_end_byte_is_protocol_error(scripted) -> None:
    garbled = bytearray(_frame(_values_payload()))
    garbled[-1] = 0x07
    good = _frame(_values_payload())
    drive = _drive(scripted, [(GET_VALUES_FRAME, bytes(garbled)), DISCARD, (GET_VALUES_FRAME, good)])
    with pytest.raises(ProtocolError, match=r"pump-motor: garbled reply to GET_VALUES .*bad end byte 0x07"):
        drive.read()
    drive.read()


def test_a_reply_in_the_long_frame_form_is_read_too(scripted) -> None:
    # Firmware may frame any payload with the 2-byte length form (start byte 3): the same reading.
    payload = _values_payload(erpm=7000)
    long_form = b"\x03" + len(payload).to_bytes(2, "big") + _frame(payload)[2:]
    drive = _drive(scripted, [(GET_VALUES_FRAME, long_form)])
    assert drive.read()["speed_rpm"] == pytest.approx(1000.0)


def test_wrong_command_byte_is_protocol_error(scripted) -> None:
    good = _frame(_values_payload())
    drive = _drive(scripted, [(GET_VALUES_FRAME, _frame(bytes([0x1E]))), DISCARD, (GET_VALUES_FRAME, good)])
    with pytest.raises(ProtocolError, match="pump-motor.*command byte 0x1e, expected 0x04"):
        drive.read()
    drive.read()


def test_truncated_values_reply_is_protocol_error(scripted) -> None:
    drive = _drive(scripted, [(GET_VALUES_FRAME, _frame(_values_payload()[:30]))])
    with pytest.raises(ProtocolError, match="pump-motor: reply to GET_VALUES .*shorter than"):
        drive.read()


def test_garbage_before_reply_is_protocol_error(scripted) -> None:
    # The rest of the reply stays on the line; discard_input must drop it before the next request.
    reply = _frame(_values_payload())
    drive = _drive(scripted, [(GET_VALUES_FRAME, b"\x00" + reply), DISCARD, (GET_VALUES_FRAME, reply)])
    with pytest.raises(ProtocolError, match="bad start byte 0x00"):
        drive.read()
    drive.read()


def test_safe_state_lets_transport_errors_through() -> None:
    class DeadTransport(ScriptedTransport):
        def write(self, data: bytes) -> None:
            self.attempts.append(data)
            raise TransportError("dead: write failed")

    transport = DeadTransport([])
    transport.attempts = []
    drive = VescDrive(transport, pole_pairs=2, max_speed_rpm=1000)
    with pytest.raises(TransportError, match="dead"):
        drive.safe_state()
    assert transport.attempts == [COAST_FRAME]  # it did try
