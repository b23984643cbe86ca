"""VescEmulator against a tiny fake motor: reference frames, silence on bad input, the command timeout."""

from __future__ import annotations

import struct
from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings

from simulators.vesc_emulator import VescEmulator
from tests.fuzzing import Choices, fuzz_batches, fuzz_cases

GET_VALUES_FRAME = bytes.fromhex("02 01 04 40 84 03")
SET_RPM_3000_FRAME = bytes.fromhex("02 05 08 00 00 0B B8 F8 04 03")
ALIVE_FRAME = bytes.fromhex("02 01 1E F3 FF 03")


def _crc16_xmodem(data: bytes) -> int:
    crc = 0
    for byte in data:
        for bit in range(7, -1, -1):  # shift the message in MSB first, poly 0x1021
            feedback = ((crc >> 15) & 1) ^ ((byte >> bit) & 1)
            crc = ((crc << 1) & 0xFFFF) ^ (0x1021 if feedback else 0)
    return crc


def _frame(payload: bytes) -> bytes:
    return bytes([2, len(payload)]) + payload + _crc16_xmodem(payload).to_bytes(2, "big") + b"\x03"


@dataclass
class State:
    speed_rpm: float = 1500.0
    motor_current_a: float = 12.34
    input_current_a: float = 5.5
    bus_voltage_v: float = 48.0
    duty: float = 0.5
    temp_fet_c: float = 41.2
    temp_motor_c: float = 55.1
    fault_code: int = 0
    amp_hours: float = 0.1234
    watt_hours: float = 5.9
    tachometer: int = 420
    pole_pairs: int = 7


@dataclass
class FakeMotor:
    state: State = field(default_factory=State)
    time_s: float = 0.0
    commands: list[tuple[str, float]] = field(default_factory=list)

    def command_speed_rpm(self, mechanical_rpm: float) -> None:
        self.commands.append(("speed", mechanical_rpm))

    def command_current_a(self, current_a: float) -> None:
        self.commands.append(("current", current_a))

    def motor_state(self) -> State:
        return self.state


def _expected_reply_payload(status: int | None, controller_id: int = 0) -> bytes:
    """The reply for State() laid out by hand from the reference table (see the emulator's docstring)."""
    payload = bytes([4]) + struct.pack(
        ">hhiiiihihiiiiiiBiBhhhii",
        412,  # temp_fet 41.2 C x 10
        551,  # temp_motor 55.1 C x 10
        1234,  # motor current 12.34 A x 100
        550,  # input current 5.5 A x 100
        0,  # id
        1234,  # iq = motor current
        500,  # duty 0.5 x 1000
        10500,  # 1500 rpm x 7 pole pairs
        480,  # 48.0 V x 10
        1234,  # 0.1234 Ah x 1e4
        0,
        59000,  # 5.9 Wh x 1e4
        0,
        420,
        420,
        0,  # fault
        0,  # pid_pos
        controller_id,
        412,
        412,
        412,
        0,  # vd
        24000,  # vq = 0.5 x 48 V, in mV
    )
    return payload if status is None else payload + bytes([status])


def test_get_values_reply_new_firmware_byte_for_byte() -> None:
    emulator = VescEmulator(FakeMotor(), controller_id=3)
    reply = emulator.receive(GET_VALUES_FRAME)
    assert reply == _frame(_expected_reply_payload(status=0, controller_id=3))
    assert len(reply) == 74 + 5


def test_get_values_reply_old_firmware_has_no_status() -> None:
    reply = VescEmulator(FakeMotor(), firmware="old").receive(GET_VALUES_FRAME)
    assert reply == _frame(_expected_reply_payload(status=None))


def test_unknown_firmware_refused() -> None:
    with pytest.raises(ValueError, match="firmware"):
        VescEmulator(FakeMotor(), firmware="4.x")


def test_reference_set_rpm_converts_electrical_to_mechanical() -> None:
    motor = FakeMotor()
    motor.state.pole_pairs = 2
    assert VescEmulator(motor).receive(SET_RPM_3000_FRAME) == b""
    assert motor.commands == [("speed", 1500.0)]


def test_setpoint_commands() -> None:
    motor = FakeMotor()
    emulator = VescEmulator(motor, full_duty_speed_rpm=8000.0)
    stream = (
        _frame(bytes([6]) + struct.pack(">i", 12500))  # SET_CURRENT 12.5 A
        + _frame(bytes([7]) + struct.pack(">i", 3000))  # SET_CURRENT_BRAKE 3 A -> coast
        + _frame(bytes([5]) + struct.pack(">i", 25000))  # SET_DUTY 0.25 -> 0.25 x 8000 rpm
        + ALIVE_FRAME
    )
    assert emulator.receive(stream) == b""
    assert motor.commands == [("current", 12.5), ("current", 0.0), ("speed", 2000.0)]


def test_partial_frames_are_buffered_across_calls() -> None:
    motor = FakeMotor()
    emulator = VescEmulator(motor)
    stream = SET_RPM_3000_FRAME + GET_VALUES_FRAME
    replies = b"".join(emulator.receive(stream[i : i + 1]) for i in range(len(stream)))
    assert motor.commands == [("speed", 3000 / 7)]
    assert replies == _frame(_expected_reply_payload(status=0))


@pytest.mark.parametrize(
    "bad",
    [
        bytes.fromhex("02 01 04 40 85 03"),  # bad CRC
        bytes.fromhex("02 01 04 40 84 02"),  # bad end byte
        _frame(bytes([0x63])),  # unknown command
        _frame(bytes([8, 0, 0])),  # SET_RPM too short for its int32
        bytes.fromhex("02 05 08 00 00 0B B8 F8 05 03"),  # SET_RPM with one CRC bit flipped
    ],
)
def test_silent_on_bad_frames_then_answers_the_next(bad: bytes) -> None:
    motor = FakeMotor()
    emulator = VescEmulator(motor)
    assert emulator.receive(bad) == b""
    assert motor.commands == []
    assert emulator.receive(GET_VALUES_FRAME) == _frame(_expected_reply_payload(status=0))


def test_resynchronises_inside_garbage() -> None:
    # Not start bytes, a zero length, a length beyond 512 and false 0x02 starts that fail their checks.
    emulator = VescEmulator(FakeMotor())
    reply = emulator.receive(b"\x00\x02\x00\x04\x55\x02\x02" + GET_VALUES_FRAME)
    assert reply == _frame(_expected_reply_payload(status=0))


_FAULT_CODE_INDEX = 1 + struct.calcsize(">hhiiiihihiiiiii")  # command byte, then the fields before it


def test_frames_seen_before_are_answered_from_the_motor_as_it_is_now() -> None:
    # The emulator remembers which chunks were one valid frame (and its payload), never a reply.
    motor = FakeMotor()
    emulator = VescEmulator(motor)
    garbage_then_query = b"\x00\x55" + GET_VALUES_FRAME
    for fault_code in (0, 3, 0):
        motor.state.fault_code = fault_code
        expected = bytearray(_expected_reply_payload(status=0))
        expected[_FAULT_CODE_INDEX] = fault_code
        assert emulator.receive(GET_VALUES_FRAME) == _frame(bytes(expected))
        assert emulator.receive(garbage_then_query) == _frame(bytes(expected))
    for _ in range(3):
        assert emulator.receive(SET_RPM_3000_FRAME) == b""
    assert motor.commands == [("speed", 3000 / 7)] * 3
    # a remembered frame behind a partial one is framed with it: the partial frame is dropped
    assert emulator.receive(GET_VALUES_FRAME[:3]) == b""
    assert emulator.receive(GET_VALUES_FRAME) == _frame(_expected_reply_payload(status=0))


def test_command_timeout_releases_motor_and_sets_status_bit() -> None:
    motor = FakeMotor()
    emulator = VescEmulator(motor, timeout_s=0.5)
    emulator.receive(SET_RPM_3000_FRAME)
    motor.time_s = 0.4
    emulator.tick(0.4)
    assert motor.commands == [("speed", 3000 / 7)]
    emulator.receive(ALIVE_FRAME)  # fed at 0.4 s: the timeout now runs to 0.9 s
    motor.time_s = 0.85
    emulator.tick(0.85)
    assert emulator.receive(GET_VALUES_FRAME)[-4] == 0  # status byte: no timeout
    motor.time_s = 0.9
    emulator.tick(0.9)
    assert motor.commands[-1] == ("current", 0.0)
    assert emulator.receive(GET_VALUES_FRAME)[-4] == 0x01
    motor.time_s = 2.0
    emulator.tick(2.0)
    assert motor.commands.count(("current", 0.0)) == 1  # released once, not re-commanded every tick
    emulator.receive(SET_RPM_3000_FRAME)
    assert emulator.receive(GET_VALUES_FRAME)[-4] == 0  # a command clears the flag
    assert motor.commands[-1] == ("speed", 3000 / 7)


def test_alive_alone_clears_flag_but_does_not_restart_motor() -> None:
    motor = FakeMotor()
    emulator = VescEmulator(motor, timeout_s=0.1)
    emulator.receive(SET_RPM_3000_FRAME)
    motor.time_s = 0.2
    emulator.tick(0.2)
    emulator.receive(ALIVE_FRAME)
    assert emulator.receive(GET_VALUES_FRAME)[-4] == 0
    assert motor.commands == [("speed", 3000 / 7), ("current", 0.0)]


def test_timeout_zero_disables() -> None:
    motor = FakeMotor()
    emulator = VescEmulator(motor, timeout_s=0.0)
    motor.time_s = 1e6
    emulator.tick(1e6)
    assert motor.commands == []


def test_stale_partial_frame_expires_after_two_quiet_ticks() -> None:
    motor = FakeMotor()
    emulator = VescEmulator(motor, timeout_s=0.0)
    emulator.receive(bytes.fromhex("02 40 08"))  # a corrupt length byte: waits for 64 bytes
    emulator.tick(0.01)  # bytes arrived since the last tick: kept
    emulator.tick(0.02)  # nothing new: dropped
    assert emulator.receive(GET_VALUES_FRAME) == _frame(_expected_reply_payload(status=0))


def test_out_of_range_values_saturate_instead_of_crashing() -> None:
    motor = FakeMotor()
    motor.state.bus_voltage_v = 1e9
    motor.state.temp_fet_c = float("nan")
    reply = VescEmulator(motor).receive(GET_VALUES_FRAME)
    payload = reply[2:-3]
    assert struct.unpack_from(">h", payload, 1)[0] == 0  # NaN temperature sent as 0
    assert struct.unpack_from(">h", payload, 27)[0] == 32767  # v_in saturates at i16 max


def _chunks(choose: Choices) -> list[bytes]:
    return choose.lists(lambda chunk: chunk.binary(max_size=30), max_size=6)


@settings(max_examples=fuzz_batches(500), deadline=None)
@given(fuzz_cases(_chunks, case_bytes=256))
def test_fuzz_emulator_never_raises(cases: list[list[bytes]]) -> None:
    # Random bytes may contain valid GET_VALUES frames (answered) or setpoints (which only change the
    # fake's command log): the reply is always whole GET_VALUES replies, and nothing raises.
    one_reply = _frame(_expected_reply_payload(status=0))
    for chunks in cases:
        emulator = VescEmulator(FakeMotor())
        for chunk in chunks:
            reply = emulator.receive(chunk)
            assert reply == one_reply * (len(reply) // len(one_reply))
