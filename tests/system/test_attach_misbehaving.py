"""An attached run whose lockstep server misbehaves ends in a confirmed safe state, or says exactly
which instrument's safe state could not be confirmed.

``hil sim serve --clock lockstep`` runs as its own process; the harness (``hil run --attach``, called
in this process) reaches its clock endpoint through a proxy in this test that forwards every line,
until the k-th ``ADVANCE``: then it either answers an error of its own (the server misbehaves, the
instruments still answer) or kills the server outright (nothing answers any more). Conditions, not
sleeps, decide every moment.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from drivers.vesc import VescDrive
from hil.bench.transport import LineTransport, SerialTransport, TcpTransport
from hil.cli import EXIT_ERROR, main
from hil.store.run_directory import read_events, read_metadata

SHORT = [
    "-p",
    "speeds_fraction=0.6",
    "-p",
    "valve_openings=1.0",
    "-p",
    "dwell_s=3",
    "-p",
    "steady_window_s=1",
]
MISBEHAVE_AT_ADVANCE = 40  # 4 s of bench time: the pump is running


class ClockProxy:
    """Forwards the harness's control lines to the served clock endpoint until the k-th ADVANCE."""

    def __init__(self, server_port: int, server: subprocess.Popen[str], mode: str) -> None:
        self.mode = mode
        self.server = server
        self._upstream = socket.create_connection(("127.0.0.1", server_port))
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.advances = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        harness, _ = self._listener.accept()
        upstream = self._upstream.makefile("rwb")
        with harness, harness.makefile("rwb") as down:
            for line in down:
                if line.startswith(b"ADVANCE"):
                    self.advances += 1
                    if self.advances == MISBEHAVE_AT_ADVANCE:
                        if self.mode == "kill":
                            self.server.send_signal(signal.SIGKILL)
                            self.server.wait()
                            return  # the harness's link closes with the server
                        down.write(b"ERR the plant model failed\n")
                        down.flush()
                        continue
                upstream.write(line)
                upstream.flush()
                down.write(upstream.readline())
                down.flush()

    def close(self) -> None:
        self._listener.close()
        self._upstream.close()


@pytest.mark.parametrize("mode", ["err", "kill"])
def test_an_attached_run_ends_confirmed_safe_or_names_what_it_could_not_confirm(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], mode: str
) -> None:
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "hil.cli",
            "sim",
            "serve",
            "--json",
            "--clock",
            "lockstep",
            "--duration-s",
            "300",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        listing = json.loads(server.stdout.readline())
        proxy = ClockProxy(listing["clock"]["port"], server, mode)
        out = tmp_path / "runs"
        code = main(
            [
                "run",
                "performance-curve",
                "--bench",
                "sim",
                "--attach",
                f"127.0.0.1:{proxy.port}",
                "--out",
                str(out),
                "--quiet",
                *SHORT,
            ]
        )
        captured = capsys.readouterr()
        (run_dir,) = (m.parent for m in out.glob("*/metadata.json"))
        metadata = read_metadata(run_dir)
        assert metadata["status"] == "error" and "ADVANCE" in metadata["reason"]
        assert code == EXIT_ERROR
        if mode == "err":
            assert "the plant model failed" in metadata["reason"]
            assert "safe state: commanded and confirmed on every instrument" in captured.out
            assert "NOT CONFIRMED" not in captured.err
            (final,) = [e for e in read_events(run_dir) if e["kind"] == "safe_state"][-1:]
            assert final["failed"] == []
            # the served pump was left at its safe command: let its bench time run on, then ask it
            clock = LineTransport(TcpTransport("127.0.0.1", listing["clock"]["port"], timeout_s=30.0))
            try:
                now_s = float(clock.query("TIME?"))
                assert clock.query(f"ADVANCE {now_s + 10.0!r}").startswith("OK")
            finally:
                clock.close()
            motor = listing["motor"]
            url = motor["address"] if motor["transport"] == "pty" else f"socket://127.0.0.1:{motor['port']}"
            port = SerialTransport(url, timeout_s=2.0)
            try:
                reading = VescDrive(port, pole_pairs=2, max_speed_rpm=33000.0).read()
            finally:
                port.close()
            assert reading["speed_rpm"] < 1000.0 and reading["motor_current_a"] == 0.0  # coasted down
        else:
            for instrument in ("motor", "power", "daq"):
                assert f"SAFE STATE NOT CONFIRMED: {instrument}" in captured.err, captured.err
            assert "confirmed on every instrument" not in captured.out
        proxy.close()
    finally:
        if server.poll() is None:
            server.terminate()
        server.communicate(timeout=30)
