"""The ODrive, DP800 supply and Truevolt DMM drivers against their emulators over a real pty and real
loopback sockets: what each sends reaches the emulated device, what it reads is what the device holds,
and the device's watchdog, protections and failure signals come through."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from drivers.odrive import ODriveDrive
from drivers.rigol_dp800 import DP800Supply
from drivers.truevolt import LoopTransmitterDmm
from hil.bench.library_transports import VisaTransport
from hil.bench.transport import LineTransport, SerialTransport, TcpTransport
from hil.core.errors import ConfigError, DeviceError, LimitError
from simulators.dp800_emulator import DP800Emulator
from simulators.odrive_emulator import ODriveEmulator
from simulators.server import EmulatorServer
from simulators.truevolt_emulator import TruevoltEmulator, loop_current_a
from tests.integration.test_vesc_pty import InstantMotor


@dataclass
class Supply:
    on: bool = True
    values: dict[str, float] = field(default_factory=lambda: {"v": 48.0, "i": 10.0, "loop_pa": 20e5})


@pytest.fixture(params=["0.5", "0.6"])
def odrive(
    request: pytest.FixtureRequest,
) -> Iterator[tuple[ODriveDrive, ODriveEmulator, InstantMotor, Supply]]:
    motor, supply = InstantMotor(), Supply()
    emulator = ODriveEmulator(motor, firmware=request.param, bus_powered=lambda: supply.on)
    with EmulatorServer() as server:
        endpoint = server.add_pty("motor", emulator)
        transport = SerialTransport(endpoint.address, timeout_s=0.5)
        drive = ODriveDrive(transport, 33000.0, "motor", firmware=request.param, watchdog_timeout_s=0.5)
        yield drive, emulator, motor, supply
        transport.close()


def test_odrive_identifies_configures_runs_and_idles(
    odrive: tuple[ODriveDrive, ODriveEmulator, InstantMotor, Supply],
) -> None:
    drive, emulator, motor, _ = odrive
    assert drive.identify().startswith(f"ODrive hw 3.6 fw {drive.firmware}.")
    drive.configure()
    drive.set_speed_rpm(24_000.0)
    reading = drive.read()  # an exchange: every command before it has been taken
    assert motor.commands[-1] == ("speed", 24_000.0)
    assert reading["speed_rpm"] == pytest.approx(24_000.0, abs=0.01)
    assert reading["axis_state"] == 8 and reading["fault_code"] == 0
    assert reading["input_current_a"] == pytest.approx(24.0) and reading["bus_voltage_v"] == 48.0
    assert emulator.watchdog_enabled and emulator.watchdog_timeout_s == 0.5
    drive.safe_state()
    assert drive.read()["axis_state"] == 1
    assert motor.commands[-1] == ("current", 0.0)
    with pytest.raises(LimitError, match="nothing was sent"):
        drive.set_speed_rpm(40_000.0)


def test_odrive_watchdog_idles_the_axis_when_the_harness_stops_feeding_it(
    odrive: tuple[ODriveDrive, ODriveEmulator, InstantMotor, Supply],
) -> None:
    drive, emulator, motor, _ = odrive
    drive.configure()
    drive.set_speed_rpm(20_000.0)
    drive.read()
    motor.time_s = 0.4
    emulator.tick(motor.time_s)
    drive.keep_alive()
    assert drive.read()["axis_state"] == 8  # fed in time
    motor.time_s = 1.0
    emulator.tick(motor.time_s)  # 0.6 s since the last feed
    reading = drive.read()
    assert reading["axis_state"] == 1 and reading["fault_code"] == 0x800
    if drive.firmware == "0.6":
        assert reading["disarm_reason"] == 0x800
    assert motor.commands[-1] == ("current", 0.0)
    drive.clear_errors()
    drive.set_speed_rpm(10_000.0)  # re-arms after the idle
    assert drive.read()["axis_state"] == 8


def test_odrive_losing_its_bus_latches_an_error_and_coasts(
    odrive: tuple[ODriveDrive, ODriveEmulator, InstantMotor, Supply],
) -> None:
    drive, emulator, motor, supply = odrive
    drive.configure()
    drive.set_speed_rpm(20_000.0)
    drive.read()
    supply.on = False
    emulator.tick(motor.time_s)
    reading = drive.read()
    assert reading["fault_code"] != 0 and reading["axis_state"] == 1 and reading["bus_voltage_v"] == 0.0


def test_odrive_of_the_other_firmware_generation_is_refused_at_identify() -> None:
    motor = InstantMotor()
    with EmulatorServer() as server:
        endpoint = server.add_pty("motor", ODriveEmulator(motor, firmware="0.6"))
        transport = SerialTransport(endpoint.address, timeout_s=0.5)
        try:
            with pytest.raises(
                DeviceError, match=r"firmware 0.6.9, but the bench file says firmware = '0.5'"
            ):
                ODriveDrive(transport, 33000.0, "motor", firmware="0.5").identify()
        finally:
            transport.close()


def test_odrive_with_checksums_on_every_line() -> None:
    motor = InstantMotor()
    with EmulatorServer() as server:
        endpoint = server.add_pty("motor", ODriveEmulator(motor, firmware="0.5"))
        transport = SerialTransport(endpoint.address, timeout_s=0.5)
        try:
            drive = ODriveDrive(transport, 33000.0, "motor", firmware="0.5", checksum=True)
            drive.configure()
            drive.set_speed_rpm(12_000.0)
            assert drive.read()["speed_rpm"] == pytest.approx(12_000.0, abs=0.01)
        finally:
            transport.close()


@pytest.fixture
def supply() -> Iterator[tuple[DP800Supply, DP800Emulator, Supply]]:
    plant = Supply(on=True)
    emulator = DP800Emulator(lambda: plant.values["v"], lambda: plant.values["i"])
    with EmulatorServer() as server:
        endpoint = server.add_tcp("supply", emulator.session)
        link = VisaTransport(f"TCPIP0::{endpoint.address}::{endpoint.port}::SOCKET", timeout_s=0.5)
        yield (
            DP800Supply(
                link,
                "supply",
                voltage_v=48.0,
                current_limit_a=20.0,
                ovp_v=52.0,
                ocp_a=25.0,
                output_on_connect=True,
            ),
            emulator,
            plant,
        )
        link.close()


def test_supply_sets_limits_and_protections_then_powers_and_measures_the_bus(
    supply: tuple[DP800Supply, DP800Emulator, Supply],
) -> None:
    driver, emulator, _ = supply
    assert driver.identify().startswith("RIGOL TECHNOLOGIES,DP811A")
    driver.configure()
    assert (emulator.voltage_v, emulator.current_a, emulator.ovp_v, emulator.ocp_a) == (
        48.0,
        20.0,
        52.0,
        25.0,
    )
    assert emulator.ovp_on and emulator.ocp_on and emulator.output_on
    assert driver.read() == {"voltage_v": 48.0, "current_a": 10.0, "power_w": 480.0, "output_on": 1.0}
    driver.safe_state()
    assert driver.read() == {"voltage_v": 0.0, "current_a": 0.0, "power_w": 0.0, "output_on": 0.0}


def test_supply_over_current_protection_cuts_the_output(
    supply: tuple[DP800Supply, DP800Emulator, Supply],
) -> None:
    driver, emulator, plant = supply
    driver.configure()
    plant.values["i"] = 26.0
    emulator.tick(0.0)
    assert driver.read()["output_on"] == 0.0
    with pytest.raises(DeviceError, match="protection tripped"):
        driver.output(True)  # refused until the trip is cleared


def test_supply_refuses_protections_that_would_not_protect_and_setpoints_beyond_them(
    supply: tuple[DP800Supply, DP800Emulator, Supply],
) -> None:
    driver, emulator, _ = supply
    with pytest.raises(ConfigError, match="ovp_v: must be above voltage_v"):
        DP800Supply(driver._link, "supply", voltage_v=48.0, current_limit_a=20.0, ovp_v=47.0, ocp_a=25.0)
    with pytest.raises(ConfigError, match="ocp_a: must be at least current_limit_a"):
        DP800Supply(driver._link, "supply", voltage_v=48.0, current_limit_a=20.0, ovp_v=52.0, ocp_a=19.0)
    driver.configure()
    with pytest.raises(LimitError, match="nothing was sent"):
        driver.set_value("voltage_v", 52.0)
    driver.set_value("voltage_v", 30.0)
    assert emulator.voltage_v == 30.0


@pytest.mark.parametrize("raw_socket", [False, True])
def test_dmm_reads_a_4_20_ma_transmitter(raw_socket: bool) -> None:
    plant = Supply()
    emulator = TruevoltEmulator(lambda: loop_current_a(plant.values["loop_pa"], 0.0, 40e5))
    with EmulatorServer() as server:
        endpoint = server.add_tcp("dmm", emulator.session)
        assert endpoint.port is not None
        link = (
            LineTransport(TcpTransport(endpoint.address, endpoint.port, 0.5))
            if raw_socket
            else VisaTransport(f"TCPIP0::{endpoint.address}::{endpoint.port}::SOCKET", timeout_s=0.5)
        )
        try:
            dmm = LoopTransmitterDmm(link, "p_outlet", "pressure_pa", 0.0, 40e5)
            assert dmm.identify().startswith("Keysight Technologies,34465A")
            dmm.configure()
            reading = dmm.read()
            assert reading["loop_current_a"] == pytest.approx(12e-3, abs=1e-8)  # mid-span: 12 mA
            assert reading["pressure_pa"] == pytest.approx(20e5, abs=5.0)
            plant.values["loop_pa"] = math.nan  # the transmitter fails: 3.6 mA, below the live band
            reading = dmm.read()
            assert reading["loop_current_a"] == pytest.approx(3.6e-3) and math.isnan(reading["pressure_pa"])
        finally:
            link.close()
