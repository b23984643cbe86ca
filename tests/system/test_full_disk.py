"""A full disk during a run, for real: ``hil run`` on a file system that runs out of space.

No mock of the writer: the run directory lives on a small tmpfs, mounted in a user and mount namespace
of its own (``unshare -Urm``, which needs no root), so the kernel itself refuses the write with
ENOSPC wherever it comes (a journal row, an event, a point, the Parquet copy, the metadata), through
the very code a real disk would meet. A symlink to ``/dev/full`` would fail only the file linked, and
``RLIMIT_FSIZE`` gives EFBIG rather than ENOSPC: neither is a full disk. The tmpfs vanishes with its
namespace, so the shell that mounts it copies the run directory out before it ends. Where the
namespaces are not allowed (some CI containers), the test is skipped.

The tmpfs sizes are chosen (for the short run below; the space reserve of 256 kB included) so that
the disk fills in the middle of the run, or only at the close (the Parquet copy). Each run must end
in the safe state with exit status 3 (1 if it had completed and only the close could not be written),
one clear error naming the file and that the disk is full, no traceback, metadata saying how the run
ended, and every point measured before the failure on disk, bit for bit the points of the same run
made with room to spare. A replay of such a run, on a disk as full, must fail cleanly too.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hil.bench.config import load_bench
from hil.cli import main
from hil.store.names import EVENTS, METADATA, POINTS, SAMPLES_PARQUET
from hil.store.run_directory import read_events, read_metadata, read_samples

SHORT_RUN = (
    "-p",
    "speeds_fraction=0.6",
    "-p",
    "valve_openings=0.4,0.7,1.0",
    "-p",
    "dwell_s=3",
    "-p",
    "steady_window_s=1",
)
"""Three operating points in about 20 s of bench time."""
MOUNT_AND_RUN = """
mount -t tmpfs -o size="$HIL_TMPFS_SIZE" tmpfs "$HIL_TMPFS" || exit 99
if [ -n "$HIL_PRELOAD" ]; then cp -a "$HIL_PRELOAD" "$HIL_TMPFS"/ && cat /dev/zero > "$HIL_TMPFS/filler" 2>/dev/null; fi
"$@"
status=$?
cp -a "$HIL_TMPFS"/. "$HIL_COPY"/
exit $status
"""


def namespaces_allowed() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not namespaces_allowed(), reason="user and mount namespaces not allowed here")


def on_small_disk(
    tmp_path: Path, size: str, command: list[str], preload: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``command`` with a tmpfs of ``size`` mounted at ``tmp_path/disk``; returns the process and
    a copy of what the tmpfs held at the end. ``preload``: copied onto the tmpfs first, the rest
    of its space then filled."""
    disk, copy = tmp_path / "disk", tmp_path / "copy"
    disk.mkdir(parents=True)
    copy.mkdir(parents=True)
    env = {
        **os.environ,
        "HIL_TMPFS": str(disk),
        "HIL_TMPFS_SIZE": size,
        "HIL_COPY": str(copy),
        "HIL_PRELOAD": str(preload or ""),
    }
    process = subprocess.run(
        ["unshare", "-Urm", "sh", "-c", MOUNT_AND_RUN, "sh", *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert process.returncode != 99, process.stderr
    return process, copy


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The same run with room to spare: its operating points."""
    out = tmp_path_factory.mktemp("reference")
    assert main(["run", "performance-curve", "--bench", "sim", "--out", str(out), "--quiet", *SHORT_RUN]) == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return pd.read_csv(run_dir / POINTS, dtype=str, keep_default_na=False)


def hil_run_on(tmp_path: Path, size: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    command = [sys.executable, "-m", "hil.cli", "run", "performance-curve", "--bench", "sim", "--quiet"]
    process, copy = on_small_disk(
        tmp_path, size, [*command, "--out", str(tmp_path / "disk" / "runs"), *SHORT_RUN]
    )
    (run_dir,) = list((copy / "runs").iterdir())
    return process, run_dir


@pytest.mark.parametrize(
    ("size", "ended"),
    [("300k", "aborted"), ("320k", "aborted"), ("340k", "completed")],
    ids=["full-after-the-first-point", "full-later", "full-at-the-close"],
)
def test_a_full_disk_stops_the_run_safely_and_keeps_every_point(
    tmp_path: Path, size: str, ended: str, reference: pd.DataFrame
) -> None:
    process, run_dir = hil_run_on(tmp_path, size)
    assert "Traceback" not in process.stderr
    errors = [line for line in process.stderr.splitlines() if line.startswith("hil: error:")]
    assert len(errors) == 1, process.stderr
    assert "cannot write: the disk is full" in errors[0]
    named = errors[0].removeprefix("hil: error: ").split(":")[0]
    assert Path(named).name in {"samples.csv", EVENTS, POINTS, SAMPLES_PARQUET, METADATA}, errors[0]
    assert process.returncode == (3 if ended == "aborted" else 1), process.stderr

    metadata = read_metadata(run_dir)
    assert metadata["status"] == ended  # not left "running"
    assert "the disk is full" in metadata["storage_error"]
    assert not (run_dir / ".space_reserve").exists()

    # Every sample on disk is a whole row, one a tick with none missing, and the spin-down is logged.
    samples = read_samples(run_dir)
    tick_s = float(metadata["tick_s"])
    assert np.allclose(samples["time_s"], np.arange(1, len(samples) + 1) * tick_s, rtol=0, atol=1e-9)
    events = read_events(run_dir)
    if ended == "aborted":
        (trip,) = [e for e in events if e["kind"] == "trip"]
        assert "the disk is full" in trip["reason"]
        safe = [e for e in events if e["kind"] == "safe_state" and e["time_s"] >= trip["time_s"]]
        assert safe and safe[0]["commanded"][0] == "motor"
        running_rpm = load_bench("sim").limits.running_speed_rpm
        assert samples["speed_rpm"].iloc[-1] <= 0.1 * running_rpm  # logged down to a stop
        assert samples["time_s"].iloc[-1] > trip["time_s"]

    # Every point measured is on disk, bit for bit the point of the run made with room to spare.
    recorded = pd.read_csv(run_dir / POINTS, dtype=str, keep_default_na=False)
    measured = [e for e in events if e["kind"] == "point"]
    assert len(recorded) == len(measured) >= 1
    pd.testing.assert_frame_equal(recorded, reference.iloc[: len(recorded)].reset_index(drop=True))

    # With space again, replay derives its results from the journal and finds the points equal.
    assert main(["replay", str(run_dir)]) == 0


def test_replay_on_a_full_disk_fails_cleanly(tmp_path: Path) -> None:
    _, run_dir = hil_run_on(tmp_path / "first", "300k")  # a run stopped by a full disk: replay writes a copy
    command = [sys.executable, "-m", "hil.cli", "replay", str(tmp_path / "disk" / run_dir.name)]
    process, copy = on_small_disk(tmp_path, "1m", command, preload=run_dir)
    assert process.returncode == 1, process.stderr
    assert "Traceback" not in process.stderr
    (error,) = process.stderr.splitlines()
    assert error.startswith("hil: error: ") and "the disk is full" in error, error
    assert run_dir.name in error
    # nothing half-written is left behind: the run directory holds what it held
    assert sorted(p.name for p in (copy / run_dir.name).iterdir()) == sorted(
        p.name for p in run_dir.iterdir()
    )
    assert read_metadata(copy / run_dir.name) == read_metadata(run_dir)
