"""Inline serving: the virtual bench's own transports have their TCP links served in their own thread.

:meth:`simulators.server.EmulatorServer.serve` answers a witnessed transport's request in the
transport's thread, right after it writes and before each wait for bytes, instead of waking the
server thread. Checked here on real loopback sockets: such a link is served in the caller's thread
and never by the server thread once taken over (and by the server thread when inline serving is off,
or for a client that never asks); a request written in pieces gets its one reply; a request the server
does not find at the first ask (as when the kernel defers delivery) is answered at a later ask, the
transport waiting in slices, not stalling; a silent emulator still times out at once; a client that
writes and never reads stalls only itself; a closed client's session ends. No sleeps: the only waits
are transport timeouts and ``select`` on the wire.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from hil.bench.transport import SerialTransport, TcpTransport
from hil.core.clock import WallClock
from hil.core.errors import TransportError, TransportTimeout
from simulators.server import EmulatorServer

LONG_TIMEOUT_S = 60.0  # never reached by a witnessed transport on a silent link
EXCHANGES = 20


class ThreadRecorder:
    """Answers each complete line with itself upper-cased, noting the thread that ran it."""

    def __init__(self) -> None:
        self.threads: list[int] = []
        self._partial = b""

    def receive(self, data: bytes) -> bytes:
        self.threads.append(threading.get_ident())
        self._partial += data
        *lines, self._partial = self._partial.split(b"\n")
        return b"".join(line.upper() + b"\n" for line in lines)


class Silent:
    def receive(self, data: bytes) -> bytes:
        return b""


class LateWitness:
    """The server as a witness, except that after :meth:`hold` the next ``misses`` asks find nothing
    to serve: what a client sees when the kernel has not delivered its bytes yet."""

    def __init__(self, server: EmulatorServer, misses: int) -> None:
        self.server = server
        self.misses = misses
        self.skipped = 0
        self._left = 0

    def settled(self, client: tuple[str, int], sent_bytes: int, received_bytes: int) -> bool:
        return self.server.settled(client, sent_bytes, received_bytes)

    def serve(self, client: tuple[str, int]) -> None:
        if self._left:
            self._left -= 1
            self.skipped += 1
            return
        self.server.serve(client)

    def hold(self) -> None:
        self._left = self.misses


@pytest.fixture
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer() as served:
        yield served


def _tcp(server: EmulatorServer, name: str, witness: object = None, timeout_s: float = 5.0) -> TcpTransport:
    endpoint = server.endpoints[name]
    return TcpTransport(endpoint.address, endpoint.port or 0, timeout_s, witness=witness)  # type: ignore[arg-type]


def _query(transport: TcpTransport | SerialTransport, text: bytes) -> bytes:
    transport.write(text + b"\n")
    return transport.read_until(b"\n")


def test_an_inline_link_is_served_in_the_callers_thread_never_by_the_server_thread(
    server: EmulatorServer,
) -> None:
    recorder = ThreadRecorder()
    server.add_tcp("meter", lambda: recorder)
    transport = _tcp(server, "meter", witness=server)
    try:
        # The first exchange finds the connection accepted by its end, whoever served it; the second
        # one's write asks the server, which takes the link over there (the server thread may still
        # have served that one request, woken by the bytes before the ask). From then on: inline only.
        assert _query(transport, b"first") == b"FIRST\n"
        assert _query(transport, b"second") == b"SECOND\n"
        recorder.threads.clear()
        for n in range(EXCHANGES):
            assert _query(transport, f"q{n}".encode()) == f"Q{n}\n".encode()
        assert recorder.threads and set(recorder.threads) == {threading.get_ident()}
    finally:
        transport.close()


@pytest.mark.parametrize("inline", [True, False], ids=["client-without-witness", "inline-off"])
def test_links_not_served_inline_are_served_by_the_server_thread(inline: bool) -> None:
    """A client that never asks (pyvisa, pymodbus, another process), or any client when inline
    serving is off, is served by the server thread as before: this is what the test above tells apart."""
    recorder = ThreadRecorder()
    with EmulatorServer(inline=inline) as server:
        server.add_tcp("meter", lambda: recorder)
        transport = _tcp(server, "meter", witness=None if inline else server)
        try:
            for n in range(EXCHANGES):
                assert _query(transport, f"q{n}".encode()) == f"Q{n}\n".encode()
        finally:
            transport.close()
    assert recorder.threads and threading.get_ident() not in recorder.threads


def test_a_request_written_in_pieces_gets_its_one_reply(server: EmulatorServer) -> None:
    recorder = ThreadRecorder()
    server.add_tcp("meter", lambda: recorder)
    transport = _tcp(server, "meter", witness=server, timeout_s=LONG_TIMEOUT_S)
    try:
        assert _query(transport, b"warm") == b"WARM\n"
        transport.write(b"hal")  # half a request: the emulator waits for the rest, no reply yet
        transport.write(b"f and")
        transport.write(b" the rest\n")
        assert transport.read_until(b"\n") == b"HALF AND THE REST\n"
        transport.write(b"two\nrequests\n")
        assert transport.read_exactly(4) == b"TWO\n"
        assert transport.read_until(b"\n") == b"REQUESTS\n"
    finally:
        transport.close()


@pytest.mark.parametrize("misses", [1, 3])
def test_a_request_not_found_at_the_first_asks_is_answered_at_a_later_one(
    server: EmulatorServer, misses: int
) -> None:
    recorder = ThreadRecorder()
    server.add_tcp("meter", lambda: recorder)
    late = LateWitness(server, misses)
    tcp = _tcp(server, "meter", witness=late, timeout_s=LONG_TIMEOUT_S)
    endpoint = server.endpoints["meter"]
    serial = SerialTransport(
        f"socket://{endpoint.address}:{endpoint.port}", timeout_s=LONG_TIMEOUT_S, witness=late
    )
    try:
        for transport in (tcp, serial):
            for warm in (b"warm", b"up"):  # taken over from the server thread by now (see above)
                assert _query(transport, warm) == warm.upper() + b"\n"
            for n in range(3):
                late.hold()  # the write's ask and the first waits' find nothing yet
                assert _query(transport, f"late {n}".encode()) == f"LATE {n}\n".encode()
                assert late.skipped == misses * (n + 1 + (3 if transport is serial else 0))
    finally:
        tcp.close()
        serial.close()


def test_a_silent_emulator_still_times_out_at_once(server: EmulatorServer) -> None:
    server.add_tcp("silent", Silent)
    endpoint = server.endpoints["silent"]
    tcp = _tcp(server, "silent", witness=server, timeout_s=LONG_TIMEOUT_S)
    serial = SerialTransport(
        f"socket://{endpoint.address}:{endpoint.port}", timeout_s=LONG_TIMEOUT_S, witness=server
    )
    clock = WallClock()
    try:
        for transport in (tcp, serial, tcp, serial):  # the first exchange of each may go to the thread
            transport.write(b"anyone there?\n")
            with pytest.raises(TransportTimeout, match="no reply within 60 s"):
                transport.read_until(b"\n")
        assert clock.now_s() < LONG_TIMEOUT_S / 2, "a witnessed transport waited out its timeout"
    finally:
        tcp.close()
        serial.close()


def test_an_inline_client_that_never_reads_stalls_only_itself(server: EmulatorServer) -> None:
    """It fills its own buffers until its send times out; the server stops reading it (paused) and
    another client of the same instrument, inline too, is answered throughout."""
    server.add_tcp("meter", ThreadRecorder)
    flooder = _tcp(server, "meter", witness=server, timeout_s=0.05)
    other = _tcp(server, "meter", witness=server)
    request = b"x" * 4095 + b"\n"
    try:
        assert _query(flooder, b"warm") == b"WARM\n" and _query(other, b"warm") == b"WARM\n"
        with pytest.raises(TransportError, match="send failed"):
            for _ in range(100_000):  # a server that never pushes back has failed long before this
                flooder.write(request)
                assert _query(other, b"still there?") == b"STILL THERE?\n"
        assert server.stats["meter"].paused > 0
        assert _query(other, b"after") == b"AFTER\n"
    finally:
        flooder.close()
        other.close()


def test_a_closed_inline_client_ends_its_session(server: EmulatorServer) -> None:
    sessions: list[ThreadRecorder] = []

    def session() -> ThreadRecorder:
        sessions.append(ThreadRecorder())
        return sessions[-1]

    server.add_tcp("meter", session)
    first = _tcp(server, "meter", witness=server)
    assert _query(first, b"one") == b"ONE\n"
    client = first._sock.getsockname()[:2]
    first.close()
    # The close asked the server once more: it read the end of the connection and dropped it, or
    # (the kernel deferring the end's delivery under load) does at a later ask. A condition, not a sleep.
    clock = WallClock()
    while client in server._tcp_links:
        assert clock.now_s() < 10.0, "the server never saw the connection end"
        server.serve(client)
    second = _tcp(server, "meter", witness=server)
    try:
        assert _query(second, b"two") == b"TWO\n" and len(sessions) == 2
    finally:
        second.close()
