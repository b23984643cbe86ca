"""Modbus drivers against emulators over real transports.

Two Keller transducers (units 1 and 2) and a Micro Motion meter (unit 3) share ONE pty, read through
ModbusRtuTransport(SerialTransport(slave path)); a LabJack T7 emulator is served over loopback TCP and
read through pymodbus's TCP client (PymodbusTransport) and through the project's MBAP master
(ModbusTcpTransport, what a bench file's modbus-tcp bus uses), the same tests for both. Values come
from a dict standing in for the plant, changed under the server's lock as the virtual bench would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from drivers.keller import KellerTransducer
from drivers.labjack import DacValve, LabJackT7, ScaledAnalogInput
from drivers.micromotion import CoriolisFlowMeter
from hil.bench.library_transports import PymodbusTransport
from hil.bench.modbus_rtu import ModbusRtuTransport
from hil.bench.modbus_tcp import ModbusTcpTransport
from hil.bench.transport import InputRegisterTransport, SerialTransport, TcpTransport
from hil.core.errors import DeviceError, TransportTimeout
from simulators.keller_emulator import KellerEmulator
from simulators.labjack_emulator import LabJackEmulator
from simulators.micromotion_emulator import MicroMotionEmulator
from simulators.modbus_device import ModbusRtuBus, RegisterDevice, tcp_session_factory
from simulators.server import EmulatorServer


class CountingDevice:
    """Counts the read requests that reach a device."""

    def __init__(self, device: RegisterDevice) -> None:
        self.device = device
        self.reads = 0

    def read_registers(self, address: int, count: int) -> list[int]:
        self.reads += 1
        return self.device.read_registers(address, count)

    def write_registers(self, address: int, values: Sequence[int]) -> None:
        self.device.write_registers(address, values)


class Bench:
    def __init__(self) -> None:
        self.plant = {
            "p_inlet_pa": 180_000.0,
            "p_outlet_pa": 1_250_000.0,
            "t_fluid_c": 21.0,
            "mass_flow_kg_s": 0.8,
            "density_kg_m3": 998.0,
        }
        self.valve_command_v: list[float] = []
        plant = self.plant
        self.rtu = ModbusRtuBus(
            {
                1: KellerEmulator(lambda: plant["p_inlet_pa"], lambda: plant["t_fluid_c"], 1001),
                2: KellerEmulator(lambda: plant["p_outlet_pa"], lambda: plant["t_fluid_c"], 1002),
                3: MicroMotionEmulator(
                    lambda: plant["mass_flow_kg_s"],
                    lambda: plant["density_kg_m3"],
                    lambda: plant["t_fluid_c"],
                    word_order="little",
                    units={"mass_flow": "g/s", "density": "g/cm3", "volume_flow": "l/s"},
                ),
            }
        )

        def positioner_feedback_v() -> float:  # follows the last command, as a settled positioner
            return self.valve_command_v[-1] if self.valve_command_v else 0.0

        self.labjack = CountingDevice(
            LabJackEmulator(
                ain_v={0: positioner_feedback_v, 1: lambda: 1.0 + 4.0 * plant["t_fluid_c"] / 100.0},
                dac_outputs={0: self.valve_command_v.append},
            )
        )
        self.server = EmulatorServer()
        self.rtu_path = self.server.add_pty("rtu-bus", self.rtu).address
        endpoint = self.server.add_tcp("labjack", tcp_session_factory({1: self.labjack}))
        assert endpoint.port is not None
        self.labjack_port = endpoint.port

    def set(self, **values: float) -> None:
        with self.server.lock:
            self.plant.update(values)


@pytest.fixture(scope="module")
def bench() -> Iterator[Bench]:
    bench = Bench()
    with bench.server:
        yield bench


@pytest.fixture
def rtu(bench: Bench) -> Iterator[ModbusRtuTransport]:
    bus = ModbusRtuTransport(SerialTransport(bench.rtu_path, timeout_s=0.5))
    yield bus
    bus.close()


@pytest.fixture(params=["pymodbus", "mbap"])
def tcp(bench: Bench, request: pytest.FixtureRequest) -> Iterator[InputRegisterTransport]:
    link: InputRegisterTransport
    if request.param == "pymodbus":
        link = PymodbusTransport.tcp("127.0.0.1", bench.labjack_port)
    else:
        link = ModbusTcpTransport(TcpTransport("127.0.0.1", bench.labjack_port), name="daq")
    yield link
    link.close()


def test_three_instruments_on_one_rtu_bus(bench: Bench, rtu: ModbusRtuTransport) -> None:
    inlet = KellerTransducer(rtu, 1, "p_inlet")
    outlet = KellerTransducer(rtu, 2, "p_outlet")
    units = {"mass_flow": "g/s", "density": "g/cm3", "volume_flow": "l/s"}
    meter = CoriolisFlowMeter(rtu, 3, "coriolis", word_order="little", units=units)
    assert inlet.identify() == "Keller unit 1 serial 1001"
    assert outlet.identify() == "Keller unit 2 serial 1002"
    assert meter.identify() == "Micro Motion Coriolis unit 3"

    assert inlet.read() == pytest.approx({"pressure_pa": 180_000.0, "temperature_c": 21.0}, rel=1e-6)
    assert outlet.read()["pressure_pa"] == pytest.approx(1_250_000.0, rel=1e-6)
    assert meter.read() == pytest.approx(
        {
            "mass_flow_kg_s": 0.8,
            "density_kg_m3": 998.0,
            "temperature_c": 21.0,
            "volume_flow_m3_s": 0.8 / 998.0,  # Q = m_dot / rho
        },
        rel=1e-6,
    )

    bench.set(p_outlet_pa=1_400_000.0, mass_flow_kg_s=1.1)
    assert outlet.read()["pressure_pa"] == pytest.approx(1_400_000.0, rel=1e-6)
    assert meter.read()["volume_flow_m3_s"] == pytest.approx(1.1 / 998.0, rel=1e-6)
    bench.set(p_outlet_pa=1_250_000.0, mass_flow_kg_s=0.8)


def test_undefined_register_is_device_error_2_end_to_end(rtu: ModbusRtuTransport) -> None:
    with pytest.raises(DeviceError) as caught:
        rtu.read_holding_registers(0x0104, 2, unit=1)
    assert caught.value.code == 2
    with pytest.raises(DeviceError) as caught:
        rtu.write_registers(0x0100, [0, 0], unit=2)  # the transducer's values are read-only
    assert caught.value.code == 2
    assert KellerTransducer(rtu, 1, "p").read()["pressure_pa"] == pytest.approx(180_000.0, rel=1e-6)


def test_absent_unit_times_out_and_the_bus_keeps_working(bench: Bench) -> None:
    bus = ModbusRtuTransport(SerialTransport(bench.rtu_path, timeout_s=0.05))
    try:
        with pytest.raises(TransportTimeout, match="unit 9"):
            KellerTransducer(bus, 9, "ghost").read()
        outlet = KellerTransducer(bus, 2, "p_outlet")
        assert outlet.read()["pressure_pa"] == pytest.approx(1_250_000.0, rel=1e-6)
    finally:
        bus.close()


def test_labjack_over_tcp_one_block_read_per_tick(bench: Bench, tcp: InputRegisterTransport) -> None:
    daq = LabJackT7(tcp, "daq")
    valve = DacValve(daq, dac_channel=0, feedback_ain=0, closed_v=0.0, open_v=5.0)
    temperature = ScaledAnalogInput(daq, {1: ("fluid_temperature_c", 1.0, 5.0, 0.0, 100.0)})
    assert daq.identify() == "LabJack T7 unit 1"

    valve.set_opening(0.5)
    assert bench.valve_command_v[-1] == pytest.approx(2.5)
    reads_before = bench.labjack.reads
    assert valve.read() == pytest.approx({"valve_position_fraction": 0.5})
    assert temperature.read() == pytest.approx({"fluid_temperature_c": 21.0}, rel=1e-6)
    assert bench.labjack.reads == reads_before + 1

    valve.safe_state()
    assert bench.valve_command_v[-1] == pytest.approx(5.0)  # fully open
    assert temperature.read() == pytest.approx({"fluid_temperature_c": 21.0}, rel=1e-6)
    assert valve.read() == pytest.approx({"valve_position_fraction": 1.0})
    assert bench.labjack.reads == reads_before + 2


def test_labjack_undefined_register_over_tcp(tcp: InputRegisterTransport) -> None:
    with pytest.raises(DeviceError) as caught:
        tcp.read_holding_registers(28, 2, unit=1)  # AIN14 does not exist
    assert caught.value.code == 2


def test_the_mbap_master_drops_a_late_reply_by_its_transaction_id() -> None:
    """A server that answers the first request only after the master gave up on it and asked again:
    the late reply (transaction 1, value 111) must be dropped and the fresh one (value 222) read."""
    import socket
    import struct
    import threading

    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    asked_again = threading.Event()

    def reply(transaction: int, value: int) -> bytes:
        return struct.pack(">HHHBBBH", transaction, 0, 5, 1, 3, 2, value)

    def serve() -> None:
        connection, _ = listener.accept()
        with connection:
            first = connection.recv(12)
            second = connection.recv(12)  # the master timed out on the first and sent this one
            asked_again.set()
            (t1,), (t2,) = struct.unpack(">H", first[:2]), struct.unpack(">H", second[:2])
            connection.sendall(reply(t1, 111) + reply(t2, 222))
            connection.recv(12)  # until the master closes

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    master = ModbusTcpTransport(TcpTransport("127.0.0.1", port, timeout_s=0.5))
    try:
        with pytest.raises(TransportTimeout, match="no complete reply to read 1 holding registers at 0"):
            master.read_holding_registers(0, 1, unit=1)
        assert master.read_holding_registers(0, 1, unit=1) == [222]
        assert asked_again.is_set()
    finally:
        master.close()
        listener.close()
        thread.join(timeout=5)
