"""A full disk during a run, for real: ``hil run`` on a file system that runs out of space.

No mock of the writer: the run directory lives on a small tmpfs, mounted in a user and mount namespace
of its own (``unshare -Urm``, which needs no root), so the kernel itself refuses the write with
ENOSPC wherever it comes (a journal row, an event, a point, the Parquet copy, the metadata), through
the very code a real disk would meet. A symlink to ``/dev/full`` would fail only the file linked, and
``RLIMIT_FSIZE`` gives EFBIG rather than ENOSPC: neither is a full disk. The shell that mounts the
tmpfs holds its namespace open while the ``hil`` command writes to it through ``/proc/<shell>/root``
(the same tmpfs, reached from outside the namespace), and the test copies the run directory out
before the shell ends and the tmpfs vanishes with it. The command is a process forked from the
preloaded harness (tests/preloaded_harness.py), not a fresh interpreter that would load CoolProp
again: what a full disk does to a run does not depend on how its process started. Where the
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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hil.bench.config import load_bench
from hil.cli import main
from hil.store.names import EVENTS, METADATA, POINTS, SAMPLES_PARQUET
from hil.store.run_directory import read_events, read_metadata, read_samples
from tests.preloaded_harness import HilProcess

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
MOUNT_AND_HOLD = """
mount -t tmpfs -o size="$HIL_TMPFS_SIZE" tmpfs "$HIL_TMPFS" || exit 99
if [ -n "$HIL_PRELOAD" ]; then cp -a "$HIL_PRELOAD" "$HIL_TMPFS"/ && cat /dev/zero > "$HIL_TMPFS/filler" 2>/dev/null; fi
echo mounted
read -r done
"""
"""Mounts the tmpfs (filled up around a preloaded copy, if asked), says so, and holds the namespace
open until told to end."""


def namespaces_allowed() -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = subprocess.run(["unshare", "-Urm", "true"], capture_output=True)
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(not namespaces_allowed(), reason="user and mount namespaces not allowed here")


@contextmanager
def small_disk(tmp_path: Path, size: str, preload: Path | None = None) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``tmp_path/disk`` in the namespaces of a shell that holds them
    while the context lasts; yields the path by which this test's processes reach it
    (``/proc/<shell>/root/...``: the file system as that shell sees it). ``preload``: copied onto the
    tmpfs first, the rest of its space then filled."""
    disk = tmp_path / "disk"
    disk.mkdir(parents=True)
    env = {**os.environ, "HIL_TMPFS": str(disk), "HIL_TMPFS_SIZE": size, "HIL_PRELOAD": str(preload or "")}
    holder = subprocess.Popen(
        ["unshare", "-Urm", "sh", "-c", MOUNT_AND_HOLD],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert holder.stdin is not None and holder.stdout is not None
    try:
        assert holder.stdout.readline() == "mounted\n", holder.communicate(timeout=60)[1]
        yield Path(f"/proc/{holder.pid}/root") / disk.relative_to(disk.anchor)
    finally:
        holder.communicate(timeout=60)  # closes its stdin: the shell ends, and the tmpfs with it


def on_small_disk(
    tmp_path: Path, size: str, command: Callable[[Path], list[str]], preload: Path | None = None
) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run the ``hil`` command ``command(disk)`` (its process forked from the preloaded harness, see
    tests/preloaded_harness.py) with ``disk`` a tmpfs of ``size``; returns the process's exit status
    and stderr, and a copy of what the tmpfs held at the end. ``preload``: see :func:`small_disk`."""
    copy = tmp_path / "copy"
    with small_disk(tmp_path, size, preload) as disk:
        argv = command(disk)
        process = HilProcess(argv, tmp_path / "stderr.txt")
        _, stderr = process.communicate(timeout=600)
        shutil.copytree(disk, copy, symlinks=True)
    assert process.returncode is not None
    return subprocess.CompletedProcess(argv, process.returncode, "", stderr), copy


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The same run with room to spare: its operating points."""
    out = tmp_path_factory.mktemp("reference")
    assert main(["run", "performance-curve", "--bench", "sim", "--out", str(out), "--quiet", *SHORT_RUN]) == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    return pd.read_csv(run_dir / POINTS, dtype=str, keep_default_na=False)


def hil_run_on(tmp_path: Path, size: str) -> tuple[subprocess.CompletedProcess[str], Path]:
    def command(disk: Path) -> list[str]:
        return [
            "run",
            "performance-curve",
            "--bench",
            "sim",
            "--quiet",
            "--out",
            str(disk / "runs"),
            *SHORT_RUN,
        ]

    process, copy = on_small_disk(tmp_path, size, command)
    (run_dir,) = list((copy / "runs").iterdir())
    return process, run_dir


@pytest.fixture(scope="module")
def runs_on_small_disks(
    tmp_path_factory: pytest.TempPathFactory,
) -> Callable[[str], tuple[subprocess.CompletedProcess[str], Path]]:
    """``hil_run_on`` for each disk size, made once: the replay test starts from the run the first
    case of the matrix makes (a run stopped by a full disk), not from a second run of it."""
    made: dict[str, tuple[subprocess.CompletedProcess[str], Path]] = {}

    def run_on(size: str) -> tuple[subprocess.CompletedProcess[str], Path]:
        if size not in made:
            made[size] = hil_run_on(tmp_path_factory.mktemp(f"disk-{size}"), size)
        return made[size]

    return run_on


@pytest.mark.parametrize(
    ("size", "ended"),
    [("300k", "aborted"), ("320k", "aborted"), ("340k", "completed")],
    ids=["full-after-the-first-point", "full-later", "full-at-the-close"],
)
def test_a_full_disk_stops_the_run_safely_and_keeps_every_point(
    size: str,
    ended: str,
    reference: pd.DataFrame,
    runs_on_small_disks: Callable[[str], tuple[subprocess.CompletedProcess[str], Path]],
) -> None:
    process, run_dir = runs_on_small_disks(size)
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


def test_replay_on_a_full_disk_fails_cleanly(
    tmp_path: Path, runs_on_small_disks: Callable[[str], tuple[subprocess.CompletedProcess[str], Path]]
) -> None:
    _, run_dir = runs_on_small_disks("300k")  # a run stopped by a full disk: replay writes a copy
    process, copy = on_small_disk(tmp_path, "1m", lambda disk: ["replay", str(disk / run_dir.name)], run_dir)
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
