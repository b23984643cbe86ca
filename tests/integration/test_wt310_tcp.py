"""The real WT310 driver over loopback TCP against the WT310 emulator served by EmulatorServer.

Two client stacks reach the same emulator: pyvisa-py's raw socket resource
(``TCPIP0::127.0.0.1::<port>::SOCKET`` through VisaTransport), as on a real bench, and
LineTransport over TcpTransport. No sleeps: the emulator handles a connection's bytes in order, so a
query's reply proves every command written before it was applied. The only waits are the deliberate
0.2 s timeouts of queries the meter does not answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from drivers.scpi import ErrorEntry
from drivers.wt310 import WT310PowerMeter
from hil.bench.library_transports import VisaTransport
from hil.bench.transport import LineTransport, MessageTransport, TcpTransport
from hil.core.errors import ProtocolError, TransportTimeout
from simulators.server import EmulatorServer, Endpoint
from simulators.wt310_emulator import WT310Emulator

IDENTITY = "YOKOGAWA,WT310,C2QD00042,F1.03"
NR3_RELATIVE_PRECISION = 5e-5
"""NR3 with 5 significant digits: rounding moves a value by at most half a unit in the 5th digit."""

SHORT_TIMEOUT_S = 0.2


@dataclass
class Plant:
    # More digits than NR3 carries, so the tests see the rounding the wire imposes.
    voltage_v: float = 48.01234
    current_a: float = 45.01266
    power_w: float = 2161.137


@pytest.fixture
def plant() -> Plant:
    return Plant()


@pytest.fixture
def endpoint(plant: Plant) -> Iterator[Endpoint]:
    emulator = WT310Emulator(
        lambda: plant.voltage_v, lambda: plant.current_a, lambda: plant.power_w, identity=IDENTITY
    )
    with EmulatorServer() as server:
        yield server.add_tcp("pm1", emulator.session)


Connect = Callable[..., MessageTransport]
"""Opens a link to the emulator; takes an optional ``timeout_s``."""


def open_visa(endpoint: Endpoint, timeout_s: float = 0.5) -> MessageTransport:
    return VisaTransport(f"TCPIP0::{endpoint.address}::{endpoint.port}::SOCKET", timeout_s=timeout_s)


def open_line(endpoint: Endpoint, timeout_s: float = 0.5) -> MessageTransport:
    assert endpoint.port is not None
    return LineTransport(TcpTransport(endpoint.address, endpoint.port, timeout_s=timeout_s))


@pytest.fixture(params=[open_visa, open_line], ids=["pyvisa-py", "line-over-tcp"])
def connect(request: pytest.FixtureRequest, endpoint: Endpoint) -> Iterator[Connect]:
    """Open links to the emulator with one client stack; every link opened is closed afterwards."""
    opened: list[MessageTransport] = []

    def open_link(timeout_s: float = 0.5) -> MessageTransport:
        link = request.param(endpoint, timeout_s)
        opened.append(link)
        return link

    yield open_link
    for link in opened:
        link.close()


def assert_matches_plant(reading: dict[str, float], plant: Plant) -> None:
    assert reading.keys() == {"voltage_v", "current_a", "power_w"}
    assert reading["voltage_v"] == pytest.approx(plant.voltage_v, rel=NR3_RELATIVE_PRECISION)
    assert reading["current_a"] == pytest.approx(plant.current_a, rel=NR3_RELATIVE_PRECISION)
    assert reading["power_w"] == pytest.approx(plant.power_w, rel=NR3_RELATIVE_PRECISION)


def test_identify(connect: Connect) -> None:
    assert WT310PowerMeter(connect(), "pm1").identify() == IDENTITY


def test_configure_then_read_gives_the_plant_values(connect: Connect, plant: Plant) -> None:
    meter = WT310PowerMeter(connect(), "pm1")
    meter.configure()
    reading = meter.read()
    assert_matches_plant(reading, plant)
    assert reading["power_w"] == 2161.1  # 2161.137 rounded to 5 significant digits, by hand


def test_reads_follow_the_plant(connect: Connect, plant: Plant) -> None:
    meter = WT310PowerMeter(connect(), "pm1")
    meter.configure()
    for voltage_v, current_a in [(12.0, 0.5), (50.5, 80.25), (0.0, 0.0)]:
        plant.voltage_v, plant.current_a, plant.power_w = voltage_v, current_a, voltage_v * current_a * 0.9
        assert_matches_plant(meter.read(), plant)


def test_read_without_configure_is_a_protocol_error(connect: Connect) -> None:
    # The meter's defaults return 15 items; the driver must not guess which three are U, I, P.
    with pytest.raises(ProtocolError, match="15 fields, expected 3"):
        WT310PowerMeter(connect(), "pm1").read()


def test_unknown_command_leaves_a_queued_error(connect: Connect) -> None:
    link = connect()
    meter = WT310PowerMeter(link, "pm1")
    meter.configure()
    link.write_line(":BOGUS:COMMAND 1")
    assert meter.read_errors() == [ErrorEntry(-113, "Undefined header")]
    assert meter.read_errors() == []


def test_ignored_query_times_out_and_the_link_stays_usable(connect: Connect, plant: Plant) -> None:
    link = connect(timeout_s=SHORT_TIMEOUT_S)
    meter = WT310PowerMeter(link, "pm1")
    meter.configure()
    with pytest.raises(TransportTimeout):
        link.query(":BOGUS?")
    assert_matches_plant(meter.read(), plant)  # nothing stale was left in the pipe
    assert meter.read_errors() == [ErrorEntry(-113, "Undefined header")]


def test_update_rate_reaches_the_meter(connect: Connect) -> None:
    link = connect()
    meter = WT310PowerMeter(link, "pm1")
    meter.configure()
    meter.set_update_rate_s(0.25)
    assert link.query(":RATE?") == "2.5000E-01"
    assert meter.read_errors() == []


def test_configuration_belongs_to_the_meter_not_the_connection(endpoint: Endpoint, plant: Plant) -> None:
    setup, reader = open_visa(endpoint), open_line(endpoint)
    try:
        WT310PowerMeter(setup, "pm1").configure()
        assert_matches_plant(WT310PowerMeter(reader, "pm1").read(), plant)
    finally:
        setup.close()
        reader.close()
