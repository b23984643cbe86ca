"""No client can stall the virtual bench: per link, one client floods requests and never reads a
reply, and every other link (and the lockstep clock) must keep answering with fresh values.

The flooding client is what a stuck tool or a second program poking the instruments looks like:
3,000 VESC frames written to the motor pty, Modbus requests on the RS-485 line, SCPI queries or
Modbus TCP requests on a socket whose receive buffer is full, control commands on the clock
endpoint. The flooded link itself must behave as the device would (a serial line loses what the
host does not read, a TCP instrument stops taking requests) and serve again once its client goes.
Also: the lockstep control endpoint answers ``ERR`` to every malformed command instead of dying.

The only waits are the drivers' own reply timeouts and ``select`` on the wire; no sleeps.
"""

from __future__ import annotations

import os
import select
import socket
import struct
from collections.abc import Callable, Iterator

import pytest

from drivers.keller import KellerTransducer
from drivers.labjack import LabJackT7
from drivers.vesc import VescDrive
from drivers.vesc_codec import encode_frame, get_values_payload
from drivers.wt310 import VALUE_QUERY, WT310PowerMeter
from hil.bench.library_transports import PymodbusTransport
from hil.bench.modbus_rtu import ModbusRtuTransport, crc_bytes
from hil.bench.transport import LineTransport, SerialTransport, TcpTransport
from hil.core.clock import WallClock
from simulators.server import Endpoint
from simulators.virtual_bench import VirtualBench

TIMEOUT_S = 2.0  # generous: a stalled server never answers, a busy machine answers late
FLOOD_REQUESTS = 3000
FLOOD_BYTES = 100_000  # at least this much of requests: more replies than any line buffer holds
TCP_FLOOD_LIMIT_BYTES = 64_000_000  # a server that never pushes back has failed long before this
REFUSED_AFTER_S = 2.0  # a socket that takes nothing for this long, without a pause, is a stalled server
PAUSE_CHECK_S = 0.005
LINKS = ("motor", "rs485", "power", "daq", "clock")


@pytest.fixture(params=["pty", "tcp"])
def bench(request: pytest.FixtureRequest) -> Iterator[VirtualBench]:
    """The virtual bench with its serial instruments on ptys, and on loopback TCP (serial over IP)."""
    virtual = VirtualBench(seed=3, serial_link=request.param)
    virtual.start(lockstep_control=True)
    try:
        yield virtual
    finally:
        virtual.stop()


def _request(link: str) -> bytes:
    """One valid request of the link's protocol, as a client would send it."""
    if link == "motor":
        return encode_frame(get_values_payload())
    if link == "rs485":
        pdu = bytes([2, 3, 0, 0, 0, 2])  # unit 2, read 2 holding registers at 0
        return pdu + crc_bytes(pdu)
    if link == "power":
        return (VALUE_QUERY + "\n").encode()
    if link == "daq":
        pdu = bytes([3]) + struct.pack(">HH", 0, 2)
        return struct.pack(">HHHB", 1, 0, len(pdu) + 1, 1) + pdu
    return b"TIME?\n"


class Flooder:
    """Writes requests to one link and never reads a reply."""

    def __init__(self, bench: VirtualBench, link: str) -> None:
        endpoint = bench.server.endpoints[link]
        self.stats = bench.server.stats[link]
        self.fd: int | None = None
        self.sock: socket.socket | None = None
        if endpoint.transport == "pty":
            self.fd = os.open(endpoint.address, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        else:
            self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # fills at once
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
            self.sock.connect((endpoint.address, endpoint.port or 0))
            self.sock.setblocking(False)
        self.request = _request(link)

    def flood(self) -> int:
        """Send at least 3,000 requests and 100 kB to a pty; to a socket, send until the instrument
        stops taking requests: the socket takes no more and the server has paused reading it (its
        own count, so no wall-clock wait; a server that neither reads nor pauses is given up on after
        REFUSED_AFTER_S). Returns the bytes sent."""
        if self.fd is not None:
            data = self.request * max(FLOOD_REQUESTS, FLOOD_BYTES // len(self.request))
            sent = 0
            while sent < len(data):
                try:
                    sent += os.write(self.fd, data[sent : sent + 4096])
                except BlockingIOError:  # the pty's queue is full until the server reads
                    if not select.select([], [self.fd], [], 5.0)[1]:
                        break  # it stopped reading: a stalled server
            return sent
        assert self.sock is not None
        chunk = self.request * (4096 // len(self.request))
        sent = 0
        while sent < TCP_FLOOD_LIMIT_BYTES:
            try:
                sent += self.sock.send(chunk)
            except BlockingIOError:
                if self._refused():
                    break
        return sent

    def _refused(self) -> bool:
        """With the socket full: whether the instrument has stopped reading it (True), or takes more
        (False). The server's pause can come while the socket is already full, so the wait for room is
        sliced to look at the pause count between slices."""
        assert self.sock is not None
        waited = WallClock()
        while waited.now_s() < REFUSED_AFTER_S:
            if self.stats.paused:
                return True  # the socket is full and the instrument says it stopped reading it
            if select.select([], [self.sock], [], PAUSE_CHECK_S)[1]:
                return False
        return True  # nothing taken for REFUSED_AFTER_S, yet no pause: a stalled server (the test fails)

    def drain(self) -> None:
        """Read what waits on a pty until the line has been quiet for a moment (a socket just
        closes: its instrument's next client gets a connection of its own)."""
        if self.fd is None:
            return
        while select.select([self.fd], [], [], 0.3)[0]:
            try:
                os.read(self.fd, 65536)
            except BlockingIOError:
                continue

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
        if self.sock is not None:
            self.sock.close()


Probe = Callable[[float], None]


def _serial_line(endpoint: Endpoint) -> SerialTransport | TcpTransport:
    """The serial line as the harness opens it (hil.run.assembly): a pty through pyserial, serial over
    IP as a plain TCP stream."""
    if endpoint.transport == "pty":
        return SerialTransport(endpoint.address, timeout_s=TIMEOUT_S)
    return TcpTransport(endpoint.address, endpoint.port or 0, timeout_s=TIMEOUT_S)


@pytest.fixture
def probes(bench: VirtualBench) -> Iterator[dict[str, Probe]]:
    """A real driver per link, each checking one fresh reading at a bench time."""
    endpoints = bench.server.endpoints
    closers: list[Callable[[], None]] = []

    motor_port = _serial_line(endpoints["motor"])
    closers.append(motor_port.close)
    drive = VescDrive(motor_port, pole_pairs=2, max_speed_rpm=33000.0, name="motor")
    rs485_port = _serial_line(endpoints["rs485"])
    closers.append(rs485_port.close)
    outlet = KellerTransducer(ModbusRtuTransport(rs485_port, name="rs485"), unit=2, name="p_outlet")
    power_link = LineTransport(TcpTransport("127.0.0.1", endpoints["power"].port or 0, timeout_s=TIMEOUT_S))
    closers.append(power_link.close)
    meter = WT310PowerMeter(power_link, name="power")
    meter.configure()
    daq_link = PymodbusTransport.tcp("127.0.0.1", endpoints["daq"].port or 0, timeout_s=TIMEOUT_S)
    closers.append(daq_link.close)
    daq = LabJackT7(daq_link, name="daq", unit=1)
    clock_link = LineTransport(TcpTransport("127.0.0.1", endpoints["clock"].port or 0, timeout_s=TIMEOUT_S))
    closers.append(clock_link.close)

    def motor(_: float) -> None:
        assert drive.read()["bus_voltage_v"] > 40.0

    def rs485(_: float) -> None:
        assert outlet.read()["pressure_pa"] == pytest.approx(1.06e5, rel=0.05)

    def power(_: float) -> None:
        assert meter.read()["voltage_v"] == pytest.approx(48.0, rel=0.02)

    def daq_probe(_: float) -> None:
        assert daq.read_ain_v([0])[0] == pytest.approx(5.0, abs=0.05)

    def clock(time_s: float) -> None:
        assert clock_link.query(f"ADVANCE {time_s!r}") == f"OK {time_s!r}"
        assert bench.plant.time_s == time_s

    try:
        yield {"motor": motor, "rs485": rs485, "power": power, "daq": daq_probe, "clock": clock}
    finally:
        for close in closers:
            close()


@pytest.mark.parametrize("stalled", LINKS)
def test_a_client_that_floods_one_link_and_never_reads_stalls_no_other_link_nor_the_clock(
    bench: VirtualBench, probes: dict[str, Probe], stalled: str
) -> None:
    flooder = Flooder(bench, stalled)
    try:
        sent = flooder.flood()
        assert sent > 0
        for step, (name, probe) in enumerate(probes.items(), start=1):
            if name != stalled:
                probe(0.1 * step)  # every other link answers, with the flood still unread
        stats = bench.server.stats[stalled]
        other = next(name for name in probes if name not in (stalled, "clock"))
        while stats.received_bytes < sent and stats.paused == 0:
            probes[other](0.0)  # one more exchange elsewhere, until the server has read the flood
        if bench.server.endpoints[stalled].transport == "pty":
            assert stats.dropped_bytes > 0  # a serial line loses what its host does not read
        else:
            assert stats.paused > 0  # a TCP instrument stopped taking requests from that client
        flooder.drain()
    finally:
        flooder.close()
    probes[stalled](1.0)  # and the flooded link serves again once its client is gone


@pytest.mark.parametrize(
    "command",
    [
        b"ADVANCE inf",
        b"ADVANCE nan",
        b"ADVANCE -1",
        b"ADVANCE 1e300",
        b"ADVANCE",
        b"ADVANCE \xc3\xa9",
        b"\xff\xfe\x00garbage",
        "TEMPS?\u00e9".encode(),
        b"X" * 5000,
    ],
)
def test_the_lockstep_control_endpoint_answers_err_to_malformed_commands_and_keeps_serving(
    bench: VirtualBench, command: bytes
) -> None:
    endpoint = bench.server.endpoints["clock"]
    link = TcpTransport("127.0.0.1", endpoint.port or 0, timeout_s=TIMEOUT_S)
    try:
        link.write(b"ADVANCE 0.5\n")
        assert link.read_until(b"\n") == b"OK 0.5\n"
        link.write(command + b"\n")
        reply = link.read_until(b"\n")
        assert reply.startswith(b"ERR ") and reply.isascii()
        assert bench.plant.time_s == 0.5  # nothing moved
        link.write(b"ADVANCE 1.0\n")
        assert link.read_until(b"\n") == b"OK 1.0\n"  # the same connection still serves
        assert bench.plant.time_s == 1.0
    finally:
        link.close()
