"""A run's samples and points are the same whoever serves the virtual bench's links.

The sim bench's transports have their TCP links served in the harness's own thread (``[virtual]
serve = "inline"``, :meth:`simulators.server.EmulatorServer.serve`); ``serve = "thread"`` leaves
every link to the emulator server's thread. Inline serving changes only where the emulators run,
never what they answer nor when in bench time: the same short performance curve, with the same seed
and an injected lost reply and garble (so the retry and timeout paths are crossed too), must give
the same samples, events and points, value for value, both ways, through the real CLI.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from hil.cli import main
from hil.store.run_directory import read_events, read_samples

SIM_BENCH = Path(__file__).resolve().parents[2] / "hil" / "data" / "sim_bench.toml"
SHORT_RUN = ["-p", "speeds_fraction=0.6,1.0", "-p", "valve_openings=0.4,1.0", "-p", "dwell_s=3"]
FAULTS = ["--fault", "timeout:power@2", "--fault", "garble:motor@4"]


def _run(tmp_path: Path, serve: str) -> Path:
    text = SIM_BENCH.read_text(encoding="utf-8")
    assert 'serve = "inline"' in text
    bench = tmp_path / f"sim_{serve}.toml"
    text = text.replace('serve = "inline"', f'serve = "{serve}"')
    # A reply the server thread owes can come late on a loaded machine (the suite's workers beside
    # it): a generous timeout, the same both ways. A lost reply still costs no wait: the server
    # vouches for silence on both (hil.bench.transport.ReplyWitness).
    assert text.count("timeout_s = 0.25") >= 4
    text = text.replace("timeout_s = 0.25", "timeout_s = 5.0")
    bench.write_text(text, encoding="utf-8")
    out = tmp_path / serve
    code = main(
        ["run", "performance-curve", "--bench", str(bench), "--out", str(out), "--seed", "4", "--quiet"]
        + SHORT_RUN
        + FAULTS
    )
    assert code == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return run_dir


def _events(run_dir: Path) -> list[str]:
    """The run's events, without the loopback ports each run's bench happened to get."""
    return [re.sub(r"127\.0\.0\.1:\d+", "127.0.0.1:PORT", repr(event)) for event in read_events(run_dir)]


def test_the_points_of_a_run_are_the_same_served_inline_or_by_the_server_thread(tmp_path: Path) -> None:
    inline, threaded = _run(tmp_path, "inline"), _run(tmp_path, "thread")
    samples = read_samples(inline)
    assert len(samples) > 100
    pd.testing.assert_frame_equal(samples, read_samples(threaded), check_exact=True)
    assert any("'read_error'" in e for e in _events(inline))  # the faults were crossed
    assert _events(inline) == _events(threaded)
    points = pd.read_csv(inline / "operating_points.csv")
    assert len(points) == 4
    pd.testing.assert_frame_equal(points, pd.read_csv(threaded / "operating_points.csv"), check_exact=True)
