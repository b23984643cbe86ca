"""The web console end to end, without a browser: the real CLI serves a virtual run, a WebSocket
client subscribes to its stream, Stop is refused without the run's token and is the safe stop with
it; a viewer that never reads changes nothing in the run directory; ``hil console RUN_DIR`` shows a
finished run. All waits are on conditions (a line, a frame, the process's exit), never sleeps."""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import connect

from hil.bench.config import load_bench
from hil.console.feeds import JournalFeed
from hil.console.server import ConsoleServer
from hil.console.watch import watching
from hil.results.derive import derive_run
from hil.run.procedure_api import load_procedure
from hil.run.session import RunResult, run_procedure
from hil.run.stream import ROW_CAPACITY, RunStream
from hil.store.run_directory import read_events, read_metadata, read_samples

WAIT_S = 120.0  # generous: CI machines are shared; every wait below ends on a condition first
LONG_RUN = (
    # 6 speeds x 16 openings: about an hour of bench time, so that a stop always finds it running
    "-p",
    "speeds_fraction=0.5,0.6,0.7,0.8,0.9,1.0",
    "-p",
    "valve_openings=" + ",".join(f"{0.15 + k * 0.85 / 15:.3f}" for k in range(16)),
)
SHORT = {"speeds_fraction": "0.6,1.0", "valve_openings": "0.3,1.0", "dwell_s": "4", "steady_window_s": "2"}


def run_short(out: Path, seed: int, stream: RunStream | None = None) -> RunResult:
    """The short performance curve on the sim bench (its file parsed once, values as values)."""
    spec = load_procedure("performance-curve")
    result = run_procedure(spec.name, load_bench("sim"), spec.resolve(SHORT), out, seed=seed, stream=stream)
    derive_run(result.directory)  # as `hil run` does once the run is closed
    return result


def post(url: str, token: str | None) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, method="POST", data=b"")
    if token is not None:
        request.add_header("X-Hil-Token", token)
    try:
        with urllib.request.urlopen(request, timeout=WAIT_S) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, json.loads(exc.read() or b"{}")


def start_console_run(out_dir: Path, *extra: str) -> tuple[subprocess.Popen[str], str, str]:
    """``hil run performance-curve --console`` in its own process; returns it, the page's address and
    the token from the one ``console: URL`` line on stderr."""
    command = [sys.executable, "-m", "hil.cli", "run", "performance-curve", "--bench", "sim", "--seed", "3"]
    command += ["--out", str(out_dir), "--console", "--quiet", *LONG_RUN, *extra]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": ""},
    )
    assert process.stderr is not None
    line = process.stderr.readline()
    match = re.fullmatch(r"console: (http://127\.0\.0\.1:\d+/)#token=(\S+)\n", line)
    assert match, f"expected one 'console: URL' line first, got {line!r}"
    return process, match.group(1), match.group(2)


def frames_until(socket: Any, done: Any) -> list[dict[str, Any]]:
    frames = []
    while True:
        frame = json.loads(socket.recv(timeout=WAIT_S))
        frames.append(frame)
        if done(frames):
            return frames


def test_a_live_run_streams_frames_events_and_points_and_stops_only_with_the_token(tmp_path: Path) -> None:
    process, url, token = start_console_run(tmp_path / "runs")
    try:
        with connect(url.replace("http://", "ws://") + "api/stream", open_timeout=WAIT_S) as socket:
            frames = frames_until(socket, lambda fs: any(f["points"] for f in fs))
            assert frames[0]["type"] == "snapshot" and frames[0]["control"] is True
            # once the run has started, a snapshot names the channels; deltas follow (a client that
            # falls behind gets a fresh snapshot instead of the deltas it missed)
            started = next(k for k, f in enumerate(frames) if f["type"] == "snapshot" and f["channels"])
            channels = frames[started]["channels"]
            assert "speed_rpm" in channels and "p_outlet_pa" in channels
            assert any(f["type"] == "delta" for f in frames[started:])
            # rows arrive in bench-time order, each a time and one value per channel
            latest_snapshot = max(k for k, f in enumerate(frames) if f["type"] == "snapshot")
            rows = [row for f in frames[latest_snapshot:] for row in f["rows"]]
            assert [row[0] for row in rows] == sorted(row[0] for row in rows) and len(rows) > 10
            assert {len(row) for row in rows} == {1 + len(channels)}
            events = [e["kind"] for f in frames for e in f["events"]]
            assert "setpoint" in events and "steady" in events and "point" in events
            point = next(p for f in frames for p in f["points"])
            assert point["index"] == 0 and point["head_m"] > 0 and point["flow_m3_s"] > 0
            latest = frames[-1]
            assert latest["status"] == "running"
            assert latest["margins"]["speed_rpm"]["limit"] == load_bench("sim").limits.max_speed_rpm
            assert latest["progress"]["steps"] == 96 and latest["progress"]["step"] >= 1

            # No state-changing GET; Stop without the token, or with a wrong one, is refused.
            with pytest.raises(urllib.error.HTTPError) as refused_get:
                urllib.request.urlopen(url + "api/stop", timeout=WAIT_S)
            assert refused_get.value.code == 405
            refused_get.value.close()
            assert post(url + "api/stop", None)[0] == 403
            assert post(url + "api/stop", "not-the-token")[0] == 403
            status, _ = post(url + "api/stop", token)
            assert status == 202
            frames = frames_until(socket, lambda fs: fs[-1]["status"] != "running")
            assert frames[-1]["status"] == "aborted"
            assert frames[-1]["trip"]["kind"] == "operator_stop"
            assert frames[-1]["trip"]["safe_state"]["commanded"][0] == "motor"  # the drive first
        process.communicate(timeout=WAIT_S)
        assert process.returncode == 3
    finally:
        if process.poll() is None:
            process.kill()
        process.communicate()
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]  # beside the catalogue
    assert read_metadata(run_dir)["status"] == "aborted"
    logged = read_events(run_dir)
    refusals = [e for e in logged if e["kind"] == "control_refused"]
    assert [r["why"] for r in refusals] == ["no token", "wrong token"]
    (stop,) = [e for e in logged if e["kind"] == "operator_stop"]
    assert "console" in stop["reason"]
    assert any(e["kind"] == "safe_state" for e in logged)


def _files(run_dir: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(run_dir.iterdir()):
        data = path.read_bytes()
        if path.name == "metadata.json":
            document = json.loads(data)
            document.pop("start_utc"), document.pop("end_utc")  # wall-clock dates, the only difference
            assert document["checksums"].pop("metadata")  # the metadata's own digest covers those dates
            data = json.dumps(document, sort_keys=True).encode()
        files[path.name] = data
    return files


def test_same_seed_gives_byte_identical_run_directories_with_and_without_the_console(tmp_path: Path) -> None:
    plain = run_short(tmp_path / "plain", seed=5)
    stream = RunStream()
    never_read = stream.subscribe()
    terminal = io.StringIO()
    with watching(stream, load_bench("sim").limits, terminal, console=True, terminal=True) as server:
        assert server is not None
        # a browser that connects and never reads a frame
        with connect(server.url.replace("http://", "ws://") + "api/stream", open_timeout=WAIT_S):
            watched = run_short(tmp_path / "watched", seed=5, stream=stream)
    assert watched.status == plain.status == "completed"
    assert _files(watched.directory) == _files(plain.directory)
    ticks = len(read_samples(watched.directory))
    assert len(never_read.rows) == min(ticks, ROW_CAPACITY)  # it kept what it could; the run never waited
    assert terminal.getvalue().startswith("console: http://127.0.0.1:")
    assert "point 1/4: 18000 rpm, valve 0.30" in terminal.getvalue()  # the plain-lines terminal view
    assert re.search(r"^ +\d+\.\d s  steady: waited_s=", terminal.getvalue(), re.MULTILINE)


def test_hil_console_shows_a_finished_run_whole(tmp_path: Path) -> None:
    result = run_short(tmp_path / "runs", seed=2)
    feed = JournalFeed(result.directory)
    server = ConsoleServer(feed, feed.bench.limits).start()
    try:
        with connect(server.url.replace("http://", "ws://") + "api/stream", open_timeout=WAIT_S) as socket:
            frames = frames_until(socket, lambda fs: fs[-1]["status"] == "completed")
        assert post(server.url + "api/stop", server.token)[0] == 409  # nothing to stop: a directory
    finally:
        server.close()
    assert frames[0]["control"] is False
    rows = [row for f in frames for row in f["rows"]]
    samples = read_samples(result.directory)
    assert rows[-1][0] == samples["time_s"].iloc[-1]
    points = [p for f in frames for p in f["points"]]
    assert [p["head_m"] for p in points] == [p["head_m"] for p in result.points]
    events = [e for f in frames for e in f["events"]]
    assert events == read_events(result.directory)
