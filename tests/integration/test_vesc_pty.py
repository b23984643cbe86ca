"""The real VescDrive over a real pty (SerialTransport) against the VescEmulator served by EmulatorServer.

The motor behind the emulator is a fake whose speed follows the command instantly, so every check is
exact. Ordering needs no sleeps: the emulator handles bytes in the order they were written, so once a
GET_VALUES exchange returns, every command written before it has been applied.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from drivers.vesc import VescDrive
from hil.bench.transport import SerialTransport
from hil.core.errors import ProtocolError, TransportTimeout
from simulators.server import EmulatorServer
from simulators.vesc_emulator import VescEmulator

POLE_PAIRS = 7


@dataclass
class InstantMotorState:
    speed_rpm: float = 0.0
    motor_current_a: float = 0.0
    input_current_a: float = 0.0
    bus_voltage_v: float = 48.0
    duty: float = 0.0
    temp_fet_c: float = 30.0
    temp_motor_c: float = 25.0
    fault_code: int = 0
    amp_hours: float = 0.0
    watt_hours: float = 0.0
    tachometer: int = 0
    pole_pairs: int = POLE_PAIRS


@dataclass
class InstantMotor:
    """Speed follows the command at once; a current command of 0 means coasting to a stop at once."""

    state: InstantMotorState = field(default_factory=InstantMotorState)
    time_s: float = 0.0
    commands: list[tuple[str, float]] = field(default_factory=list)

    def command_speed_rpm(self, mechanical_rpm: float) -> None:
        self.commands.append(("speed", mechanical_rpm))
        self.state.speed_rpm = mechanical_rpm
        self.state.input_current_a = mechanical_rpm / 1000.0  # 1 A per 1000 rpm: easy to check
        self.state.motor_current_a = 2 * self.state.input_current_a

    def command_current_a(self, current_a: float) -> None:
        self.commands.append(("current", current_a))
        if current_a == 0.0:
            self.state.speed_rpm = 0.0
            self.state.input_current_a = self.state.motor_current_a = 0.0

    def motor_state(self) -> InstantMotorState:
        return self.state


class FaultyLine:
    """Wraps an emulator to spoil its replies on demand: "ok", "bad-crc", "junk-first", "silent"."""

    def __init__(self, emulator: VescEmulator) -> None:
        self.emulator = emulator
        self.mode = "ok"

    def receive(self, data: bytes) -> bytes:
        reply = self.emulator.receive(data)
        if not reply or self.mode == "ok":
            return reply
        if self.mode == "silent":
            return b""
        if self.mode == "bad-crc":
            return reply[:-2] + bytes([reply[-2] ^ 0xFF]) + reply[-1:]
        return b"\x00" + reply  # junk-first: the rest of the reply stays on the line


@dataclass
class Bench:
    server: EmulatorServer
    motor: InstantMotor
    emulator: VescEmulator
    line: FaultyLine
    transport: SerialTransport
    drive: VescDrive

    def set_mode(self, mode: str) -> None:
        with self.server.lock:
            self.line.mode = mode

    def advance_to(self, time_s: float) -> None:
        """What the virtual bench does: step the plant, then tick the emulator, under the server lock."""
        with self.server.lock:
            self.motor.time_s = time_s
            self.emulator.tick(time_s)


def _bench(firmware: str = "new", timeout_s: float = 0.5) -> Iterator[Bench]:
    motor = InstantMotor()
    emulator = VescEmulator(motor, timeout_s=1.0, firmware=firmware, controller_id=5)
    line = FaultyLine(emulator)
    server = EmulatorServer()
    endpoint = server.add_pty("motor", line)
    server.start()
    transport = SerialTransport(endpoint.address, timeout_s=timeout_s)
    try:
        drive = VescDrive(transport, pole_pairs=POLE_PAIRS, max_speed_rpm=6000, name="pump-motor")
        yield Bench(server, motor, emulator, line, transport, drive)
    finally:
        transport.close()
        server.stop()


@pytest.fixture
def bench() -> Iterator[Bench]:
    yield from _bench()


@pytest.fixture
def old_bench() -> Iterator[Bench]:
    yield from _bench(firmware="old")


@pytest.fixture
def impatient_bench() -> Iterator[Bench]:
    yield from _bench(timeout_s=0.05)


def test_set_speed_then_read_back(bench: Bench) -> None:
    bench.drive.set_speed_rpm(3000)
    reading = bench.drive.read()
    assert bench.motor.commands == [("speed", 3000.0)]  # 21000 erpm on the wire, / 7 pole pairs
    assert reading["speed_rpm"] == pytest.approx(3000.0)
    assert reading["input_current_a"] == pytest.approx(3.0)
    assert reading["motor_current_a"] == pytest.approx(6.0)
    assert reading["bus_voltage_v"] == pytest.approx(48.0)
    assert reading["electrical_power_w"] == pytest.approx(144.0)  # 48 V x 3 A
    assert reading["fault_code"] == 0.0


def test_identify(bench: Bench) -> None:
    assert bench.drive.identify() == "VESC controller_id=5"


def test_safe_state_commands_zero_current(bench: Bench) -> None:
    bench.drive.set_speed_rpm(2000)
    bench.drive.safe_state()
    assert bench.drive.read()["speed_rpm"] == 0.0
    assert bench.motor.commands == [("speed", 2000.0), ("current", 0.0)]


def test_fault_code_comes_through(bench: Bench) -> None:
    with bench.server.lock:
        bench.motor.state.fault_code = 5
    assert bench.drive.read()["fault_code"] == 5.0


def test_bad_crc_reply_is_protocol_error(bench: Bench) -> None:
    bench.set_mode("bad-crc")
    with pytest.raises(ProtocolError, match="pump-motor: garbled reply to GET_VALUES.*bad CRC"):
        bench.drive.read()
    bench.set_mode("ok")
    bench.drive.set_speed_rpm(1000)
    assert bench.drive.read()["speed_rpm"] == pytest.approx(1000.0)


def test_leftover_of_garbled_reply_is_discarded(bench: Bench) -> None:
    bench.set_mode("junk-first")
    with pytest.raises(ProtocolError, match="bad start byte 0x00"):
        bench.drive.read()
    bench.set_mode("ok")
    # Without discard_input the next read would start inside the rest of the spoilt reply.
    assert bench.drive.read()["bus_voltage_v"] == pytest.approx(48.0)


def test_silent_controller_times_out(impatient_bench: Bench) -> None:
    impatient_bench.set_mode("silent")
    with pytest.raises(TransportTimeout):
        impatient_bench.drive.read()
    impatient_bench.set_mode("ok")
    assert impatient_bench.drive.identify() == "VESC controller_id=5"


def test_command_timeout_on_bench_time(bench: Bench) -> None:
    bench.drive.set_speed_rpm(3000)
    bench.advance_to(0.5)
    bench.drive.keep_alive()
    bench.drive.read()  # an exchange: the ALIVE before it has been handled (at bench time 0.5 s)
    bench.advance_to(1.2)  # 0.7 s after ALIVE: still fed
    values = bench.drive.read_values()
    assert values.command_timeout_active is False
    assert values.erpm == 3000 * POLE_PAIRS
    bench.advance_to(1.6)  # 1.1 s after ALIVE: released
    values = bench.drive.read_values()
    assert values.command_timeout_active is True
    assert values.erpm == 0
    assert bench.motor.commands[-1] == ("current", 0.0)


def test_old_firmware_reply_without_status(old_bench: Bench) -> None:
    old_bench.drive.set_speed_rpm(1500)
    values = old_bench.drive.read_values()
    assert values.status is None
    assert values.erpm == 1500 * POLE_PAIRS
    assert old_bench.drive.read()["speed_rpm"] == pytest.approx(1500.0)
