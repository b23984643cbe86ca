"""A late reply is never read as the answer to the next query (WT310 over TCP and over VISA).

A scripted meter on a loopback socket answers with the real WT310 emulator, numbering its readings
(the voltage of the n-th value query is n volts), and holds one reply until the driver has timed out
on it. The next readings must be the fresh ones, not one behind. Each reply of the scripted meter
waits on an event set by the test, never on a sleep; the only waits are the transports' timeouts.

Also: a garbage VISA resource name is refused with a message about the name.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import pytest

from drivers.wt310 import VALUE_QUERY, WT310PowerMeter
from hil.bench.library_transports import VisaTransport
from hil.bench.transport import LineTransport, TcpTransport
from hil.core.errors import TransportError, TransportTimeout
from simulators.wt310_emulator import WT310Emulator

TIMEOUT_S = 1.0


class LateMeter:
    """A WT310 on loopback whose ``late``-th value query is answered only after ``release``."""

    def __init__(self, late: int) -> None:
        self.count = 0
        self.late = late
        self.release = threading.Event()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._session = WT310Emulator(
            voltage_v=lambda: float(self.count), current_a=lambda: 1.0, power_w=lambda: 2.0
        ).session()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        connection, _ = self._listener.accept()
        with connection:
            while data := connection.recv(4096):
                for line in data.splitlines(keepends=True):
                    if line.strip() == VALUE_QUERY.encode():
                        self.count += 1
                    reply = self._session.receive(line)
                    if self.count == self.late and line.strip() == VALUE_QUERY.encode():
                        self.release.wait(10)  # the driver has given up on this one
                    if reply:
                        connection.sendall(reply)

    def close(self) -> None:
        self.release.set()
        self._listener.close()


@pytest.fixture
def late_meter() -> Iterator[LateMeter]:
    meter = LateMeter(late=2)
    yield meter
    meter.close()


def _line(port: int) -> LineTransport:
    return LineTransport(TcpTransport("127.0.0.1", port, timeout_s=TIMEOUT_S))


def _visa(port: int) -> VisaTransport:
    return VisaTransport(f"TCPIP0::127.0.0.1::{port}::SOCKET", timeout_s=TIMEOUT_S)


@pytest.mark.parametrize("make_link", [_line, _visa], ids=["tcp", "visa"])
def test_after_one_late_reply_every_reading_is_the_fresh_one(late_meter: LateMeter, make_link) -> None:  # type: ignore[no-untyped-def]
    link = make_link(late_meter.port)
    try:
        meter = WT310PowerMeter(link, name="power")
        meter.configure()
        assert meter.read()["voltage_v"] == 1.0
        with pytest.raises(TransportTimeout):
            meter.read()  # reading 2 is late
        late_meter.release.set()  # it arrives now, after the driver gave up on it
        assert [meter.read()["voltage_v"] for _ in range(3)] == [3.0, 4.0, 5.0]
    finally:
        link.close()


@pytest.mark.parametrize("resource", ["garbage", "", "GPIB0::1::INTFC", "TCPIP0::host"])
def test_a_garbage_visa_resource_is_refused_with_a_message_about_the_name(resource: str) -> None:
    with pytest.raises(TransportError, match="VISA resource") as caught:
        VisaTransport(resource, timeout_s=TIMEOUT_S)
    assert "read_termination" not in str(caught.value)
