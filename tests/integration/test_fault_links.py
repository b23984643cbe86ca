"""Injected faults as the real drivers meet them: the virtual bench served on ptys and loopback TCP,
the drivers on real transports, bench time moved by hand.

Each fault must reach the driver as the project's error a real instrument would cause (a timeout, a
garbled frame, a bad CRC, a Modbus exception) or as the value the instrument would send (SCPI
overload 9.9E37 and "no data" 9.91E37), and the link must work again afterwards. The only waits are
the drivers' own 0.25 s timeouts on replies that a fault swallowed. Also: every TCP endpoint the
virtual bench serves binds to loopback by default.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator

import pytest

from drivers.keller import KellerTransducer
from drivers.labjack import LabJackT7
from drivers.vesc import VescDrive
from drivers.wt310 import WT310PowerMeter
from hil.bench.library_transports import PymodbusTransport
from hil.bench.modbus_rtu import ModbusRtuTransport
from hil.bench.transport import LineTransport, SerialTransport, TcpTransport
from hil.core.errors import DeviceError, ProtocolError, TransportTimeout
from simulators.faults import parse_fault
from simulators.virtual_bench import VirtualBench

TIMEOUT_S = 0.25
MakeBench = Callable[..., VirtualBench]


@pytest.fixture
def make_bench() -> Iterator[MakeBench]:
    """Serves a virtual bench with the given fault texts; stops every bench it made."""
    made: list[VirtualBench] = []

    def make(*faults: str) -> VirtualBench:
        virtual = VirtualBench(seed=5, faults=[parse_fault(text) for text in faults])
        made.append(virtual)
        virtual.start()
        return virtual

    yield make
    for virtual in made:
        virtual.stop()


def endpoint(bench: VirtualBench, name: str) -> tuple[str, int | None]:
    found = bench.server.endpoints[name]
    return found.address, found.port


def test_a_garbled_vesc_reply_is_a_protocol_error_naming_the_request_and_the_next_read_is_good(
    make_bench: MakeBench,
) -> None:
    bench = make_bench("garble:motor@1")
    port = SerialTransport(endpoint(bench, "motor")[0], timeout_s=TIMEOUT_S)
    try:
        drive = VescDrive(port, pole_pairs=2, max_speed_rpm=33000.0, name="motor")
        assert drive.read()["bus_voltage_v"] > 40.0
        bench.advance_to(1.0)
        with pytest.raises(ProtocolError, match="motor: garbled reply to GET_VALUES"):
            drive.read()
        assert drive.read()["bus_voltage_v"] > 40.0
    finally:
        port.close()


def test_a_silent_vesc_still_obeys_its_commands(make_bench: MakeBench) -> None:
    bench = make_bench("silence:motor@4+0.5")
    port = SerialTransport(endpoint(bench, "motor")[0], timeout_s=TIMEOUT_S)
    try:
        drive = VescDrive(port, pole_pairs=2, max_speed_rpm=33000.0, name="motor")
        bench.advance_to(4.0)
        drive.set_speed_rpm(10000.0)
        with pytest.raises(TransportTimeout):
            drive.read()  # no answer, but the command was taken
        bench.advance_to(4.5)  # silence over
        assert drive.read()["speed_rpm"] > 5000.0
    finally:
        port.close()


def test_a_bad_modbus_rtu_crc_is_a_protocol_error_and_the_next_read_is_good(make_bench: MakeBench) -> None:
    bench = make_bench("bad-checksum:rs485@1")
    port = SerialTransport(endpoint(bench, "rs485")[0], baudrate=115200, timeout_s=TIMEOUT_S)
    try:
        bus = ModbusRtuTransport(port, name="rs485")
        outlet = KellerTransducer(bus, unit=2, name="p_outlet")
        bench.advance_to(1.0)
        with pytest.raises(ProtocolError, match="rs485 unit 2: read .* bad CRC"):
            outlet.read()
        assert outlet.read()["pressure_pa"] == pytest.approx(1.06e5, rel=0.05)  # tank + 0.5 m of water
    finally:
        port.close()


def test_a_modbus_tcp_exception_reply_is_a_device_error_with_its_code(make_bench: MakeBench) -> None:
    bench = make_bench("modbus-exception:daq@1")
    host, port = endpoint(bench, "daq")
    link = PymodbusTransport.tcp(host, port or 502, timeout_s=TIMEOUT_S)
    try:
        daq = LabJackT7(link, name="daq", unit=1)
        bench.advance_to(1.0)
        with pytest.raises(DeviceError) as caught:
            daq.read_ain_v([0])
        assert caught.value.code == 6
        assert daq.read_ain_v([0])[0] == pytest.approx(5.0, abs=0.01)  # valve fully open: 5 V
    finally:
        link.close()


def test_the_power_meter_sends_no_data_and_overload_as_scpi_does_and_the_driver_reads_them(
    make_bench: MakeBench,
) -> None:
    bench = make_bench("nan:bus_power_w@1+0.5", "overload:bus_power_w@2")
    host, port = endpoint(bench, "power")
    link = LineTransport(TcpTransport(host, port or 0, timeout_s=TIMEOUT_S))
    try:
        meter = WT310PowerMeter(link, name="power")
        meter.configure()
        bench.advance_to(1.0)
        assert link.query(":NUM:NORM:VAL?").split(",")[2] == "9.91E+37"
        reading = meter.read()
        assert math.isnan(reading["power_w"]) and reading["voltage_v"] == pytest.approx(48.0, rel=0.02)
        bench.advance_to(1.5)  # "no data" lasted 0.5 s
        assert math.isfinite(meter.read()["power_w"])
        bench.advance_to(2.0)
        assert link.query(":NUM:NORM:VAL?").split(",")[2] == "9.9E+37"
        assert meter.read()["power_w"] == math.inf
    finally:
        link.close()


def test_a_cut_tcp_line_times_out_and_the_same_connection_answers_once_it_is_restored(
    make_bench: MakeBench,
) -> None:
    bench = make_bench("disconnect:power@3+0.5")
    host, port = endpoint(bench, "power")
    link = LineTransport(TcpTransport(host, port or 0, timeout_s=TIMEOUT_S))
    try:
        meter = WT310PowerMeter(link, name="power")
        assert meter.identify().startswith("YOKOGAWA,WT310")
        bench.advance_to(3.0)
        with pytest.raises(TransportTimeout):
            meter.identify()
        bench.advance_to(3.5)
        assert meter.identify().startswith("YOKOGAWA,WT310")  # no reconnect needed
    finally:
        link.close()


def test_every_served_endpoint_binds_to_loopback_unless_told_otherwise() -> None:
    virtual = VirtualBench(seed=5)
    endpoints = virtual.start(lockstep_control=True)  # the clock control endpoint too
    try:
        tcp = {name: e.address for name, e in endpoints.items() if e.transport == "tcp"}
        assert set(tcp) == {"power", "daq", "clock"}
        assert set(tcp.values()) == {"127.0.0.1"}
    finally:
        virtual.stop()
