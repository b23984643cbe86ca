"""A silent instrument of the virtual bench costs no wall-clock timeout, and nothing else changes.

The virtual bench's server vouches for silence (:meth:`simulators.server.EmulatorServer.settled`):
the transports given it as their witness raise the same timeout, with the same message, as soon as
no reply can come, instead of waiting out their timeout. Checked here: the server's counts are exact
(a reply written but not yet read is not silence); a witnessed transport reads every reply a healthy
instrument sends, in step; on a silent or cut link it raises the same TransportTimeout as an
unwitnessed one, long before its timeout; a partial reply (a garbled length) is a timeout too; and
the link is in step again once the fault ends. Real instruments, over the same transports without a
witness, keep their timeout: the other integration tests cover that.
"""

from __future__ import annotations

import select
import socket
from collections.abc import Iterator

import pytest

from drivers.keller import KellerTransducer
from drivers.wt310 import VALUE_QUERY, WT310PowerMeter
from hil.bench.modbus_rtu import ModbusRtuTransport
from hil.bench.transport import LineTransport, SerialTransport, TcpTransport
from hil.core.clock import WallClock
from hil.core.errors import TransportTimeout
from simulators.faults import parse_fault
from simulators.virtual_bench import VirtualBench

LONG_TIMEOUT_S = 60.0  # a witnessed transport must never get near it on a silent link
SHORT_TIMEOUT_S = 0.05  # for the unwitnessed comparison, which does wait it out


@pytest.fixture
def bench() -> Iterator[VirtualBench]:
    """The sim bench's instruments, with the power meter silent from 1 s to 2 s and the RS-485 line
    cut from 3 s to 4 s of bench time."""
    virtual = VirtualBench(
        seed=2, serial_link="tcp", faults=[parse_fault("silence:power@1+1"), parse_fault("disconnect@3+1")]
    )
    virtual.start()
    try:
        yield virtual
    finally:
        virtual.stop()


def _address(bench: VirtualBench, name: str) -> tuple[str, int]:
    endpoint = bench.server.endpoints[name]
    assert endpoint.port is not None
    return endpoint.address, endpoint.port


def test_a_reply_written_but_not_yet_read_is_not_silence(bench: VirtualBench) -> None:
    with socket.create_connection(_address(bench, "power")) as client:
        me = client.getsockname()[:2]
        request = f"{VALUE_QUERY}\n".encode()
        client.sendall(request)
        readable, _, _ = select.select([client], [], [], 10.0)
        assert readable, "the meter did not answer"
        assert not bench.server.settled(me, len(request), 0)  # its reply is in flight to us
        reply = b""
        while not reply.endswith(b"\n"):
            reply += client.recv(4096)
        # The server counts the request as answered just after its reply left: a condition, not a sleep.
        clock = WallClock()
        while not bench.server.settled(me, len(request), len(reply)):
            assert clock.now_s() < 10.0, "the server never counted its reply as sent"
        assert not bench.server.settled(me, len(request) + 1, len(reply))  # a byte it has not taken
        assert not bench.server.settled(("127.0.0.1", 1), 0, 0)  # no such client


def test_a_silent_meter_times_out_at_once_with_the_message_of_a_real_timeout(bench: VirtualBench) -> None:
    host, port = _address(bench, "power")
    witnessed = LineTransport(TcpTransport(host, port, LONG_TIMEOUT_S, witness=bench.server))
    plain = LineTransport(TcpTransport(host, port, SHORT_TIMEOUT_S))
    try:
        meter = WT310PowerMeter(witnessed, name="power")
        meter.configure()
        healthy = [meter.read()["voltage_v"] for _ in range(5)]  # readings in step before the fault
        assert all(v > 40.0 for v in healthy)
        bench.advance_to(1.0)
        clock = WallClock()
        with pytest.raises(TransportTimeout) as witnessed_error:
            witnessed.query(VALUE_QUERY)
        with pytest.raises(TransportTimeout):  # the late reply it waits for first does not come either
            witnessed.query(VALUE_QUERY)
        assert clock.now_s() < LONG_TIMEOUT_S / 2, "the witnessed transport waited out its timeout"
        with pytest.raises(TransportTimeout) as plain_error:
            plain.query(VALUE_QUERY)
        witnessed_text = str(witnessed_error.value).replace(f"within {LONG_TIMEOUT_S:g} s", "")
        assert witnessed_text == str(plain_error.value).replace(f"within {SHORT_TIMEOUT_S:g} s", "")
        bench.advance_to(2.0)  # the silence is over: readings come back, fresh and in step
        assert meter.read()["voltage_v"] > 40.0
        assert witnessed.query("*IDN?").startswith("YOKOGAWA")
    finally:
        witnessed.close()
        plain.close()


def test_a_cut_rs485_line_times_out_at_once_and_serves_again_after(bench: VirtualBench) -> None:
    host, port = _address(bench, "rs485")
    line = SerialTransport(f"socket://{host}:{port}", timeout_s=LONG_TIMEOUT_S, witness=bench.server)
    try:
        master = ModbusRtuTransport(line, name="rs485")
        inlet = KellerTransducer(master, unit=1, name="p_inlet")
        assert inlet.read()["pressure_pa"] > 0.5e5
        bench.advance_to(3.0)
        clock = WallClock()
        for _ in range(3):
            with pytest.raises(TransportTimeout, match="no reply within 60 s"):
                inlet.read()
        assert clock.now_s() < LONG_TIMEOUT_S / 2, "the witnessed transport waited out its timeout"
        bench.advance_to(4.0)
        assert inlet.read()["pressure_pa"] > 0.5e5
    finally:
        line.close()


def test_a_partial_reply_is_a_timeout_at_once(bench: VirtualBench) -> None:
    """Asked for more bytes than the instrument sends (as after a garbled length byte), a witnessed
    transport gets what came and times out, with those bytes in the message."""
    host, port = _address(bench, "power")
    transport = TcpTransport(host, port, LONG_TIMEOUT_S, witness=bench.server)
    try:
        transport.write(b"*IDN?\n")
        with pytest.raises(TransportTimeout, match="waited for 1000 bytes, got"):
            transport.read_exactly(1000)
        transport.discard_input()
        transport.write(b"*IDN?\n")
        assert transport.read_until(b"\n").startswith(b"YOKOGAWA")
    finally:
        transport.close()
