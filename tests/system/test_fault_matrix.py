"""The fault matrix: every fault kind at three moments of a short performance-curve run on the virtual
bench, through the real CLI, drivers, transports and emulators (``hil run --fault KIND@SECONDS``).

Per kind, what the run must show (decided here, documented in benchmarks/fault_matrix.py):

* tolerated: ``timeout``, ``garble``, ``bad-checksum``, ``modbus-exception`` lose or spoil one reply;
  the runner's single retry of the read absorbs it. Exit 0, status completed, exactly one
  ``read_error`` event at the fault's tick naming the instrument behind the faulty link, and no
  sample lost anywhere in the run.
* tripping: everything else. Exit 3, status aborted, exactly one latched ``trip`` event whose reason
  names the interlock that caught it and whose values are recorded, detected no earlier than the
  fault and within the time the physics allows (stale and frozen data: ``stale_data_s`` /
  ``frozen_data_s`` = 1 s plus a tick; a valve stroke, a tank time constant, a 30 K/s temperature
  rise: seconds). The safe state is commanded in the very tick that detected it, the drive first,
  and the next sample shows the drive released (motor current exactly 0: only a coasting drive
  reports that). Logging goes on through the spin-down until the pump has stopped.

In every case the log has a row for every tick, and every sample taken before the fault is complete.
The matrix (cases run, cases ending safe) is written to ``fault_matrix.json`` in pytest's base
temporary directory and its totals printed at the end of the session (``tests/summaries.py``).

Also here: a short interruption of a link recovers without a trip (the reconnect policy); the drive
itself going silent still trips, and the electrical power shows it was released; faults from the
bench file's ``[virtual] faults``; and bad ``--fault`` texts refused before anything runs.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hil.cli import main
from hil.store.run_directory import read_events, read_samples
from tests import summaries

_SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "fault_matrix.py"
_spec = importlib.util.spec_from_file_location("fault_matrix", _SCRIPT)
assert _spec is not None and _spec.loader is not None
fault_matrix = importlib.util.module_from_spec(_spec)
sys.modules["fault_matrix"] = fault_matrix  # dataclasses look their module up by name
_spec.loader.exec_module(fault_matrix)

from simulators.faults import KINDS  # noqa: E402 - after the script, which imports it too

MATRIX = fault_matrix.cases()
TOLERATED = set(fault_matrix.TOLERATED)


@pytest.fixture
def matrix(request: pytest.FixtureRequest) -> Callable[[Any], None]:
    """Records one case's outcome for the matrix printed at the end of the session (tests/summaries.py)."""

    def add(o: Any) -> None:
        summaries.record(
            request.config,
            "fault matrix",
            fault=fault_matrix.fault_text(o.kind, o.at_s),
            exit=o.exit_code,
            status=o.status,
            trip=o.trip["reason"] if o.trip else None,
            detection_s=None if o.trip is None else round(o.detection_s, 3),
            read_errors=len(o.read_errors),
            ends_safe=o.ends_safe,
            problems=o.problems(),
            wall_s=o.wall_s,
        )

    return add


def test_the_matrix_covers_every_kind_at_three_moments() -> None:
    assert {kind for kind, _ in MATRIX} == set(KINDS)
    assert all(sum(1 for k, _ in MATRIX if k == kind) >= 3 for kind in KINDS)


@pytest.mark.parametrize(("kind", "at_s"), MATRIX, ids=[fault_matrix.fault_text(k, t) for k, t in MATRIX])
def test_fault_case(kind: str, at_s: float, tmp_path: Path, matrix: Callable[[Any], None]) -> None:
    outcome = fault_matrix.run_case(kind, at_s, tmp_path / "runs")
    matrix(outcome)
    spec = KINDS[kind]
    duration = "" if spec.default_duration_s is None else f"+{spec.default_duration_s:g}"
    assert outcome.faults_in_metadata == [f"{kind}:{spec.default_target}@{at_s:g}{duration}"]
    assert outcome.contiguous, "a tick is missing from the log"
    assert outcome.complete_before_fault, "a sample taken before the fault is incomplete"
    assert outcome.drive_name in outcome.safe_events[-1]["commanded"]  # every run ends with the drive safe

    if kind in TOLERATED:
        assert (outcome.exit_code, outcome.status) == (0, "completed")
        assert outcome.trips == []
        (error,) = outcome.read_errors
        assert error["time_s"] == pytest.approx(at_s)
        assert error["instrument"] in fault_matrix.LINK_INSTRUMENTS[spec.default_target]
        assert error["request"] == "read" and error["retrying"] is True and error["error"]
        assert outcome.complete_throughout, "the retry should have saved the sample"
    else:
        pattern, latency_s = fault_matrix.EXPECTED_TRIPS[kind]
        assert (outcome.exit_code, outcome.status) == (3, "aborted")
        (trip,) = outcome.trips
        assert re.search(pattern, trip["reason"]), trip["reason"]
        assert trip["values"] and all(isinstance(v, float) for v in trip["values"].values())
        assert -1e-9 <= outcome.detection_s <= latency_s + 1e-9
        safe = outcome.safe_at_trip
        assert safe is not None and safe["time_s"] == trip["time_s"], (
            "safe state not in the tick of detection"
        )
        assert safe["commanded"][0] == outcome.drive_name
        assert outcome.drive_released_next_tick is True
        assert outcome.last_speed_rpm <= 0.1 * outcome.running_speed_rpm, (
            "logging stopped before the pump did"
        )
    assert outcome.problems() == []


@pytest.mark.parametrize(
    ("procedure", "kind", "at_s"),
    fault_matrix.PROCEDURE_MATRIX,
    ids=[f"{p}-{fault_matrix.fault_text(k, t)}" for p, k, t in fault_matrix.PROCEDURE_MATRIX],
)
def test_the_transient_and_mission_procedures_end_safe(
    procedure: str, kind: str, at_s: float, tmp_path: Path
) -> None:
    """The drive failing, the tank regulator failing and a frozen flow reading while each new procedure
    runs its pump: the same checks as the matrix (trip latched with its values, drive first and safe in
    the tick of detection, released in the next sample, logging through the spin-down)."""
    outcome = fault_matrix.run_case(kind, at_s, tmp_path / "runs", procedure=procedure)
    assert (outcome.exit_code, outcome.status) == (3, "aborted")
    assert outcome.problems() == []


# ----------------------------------------------------------------------------------- beyond the matrix
def test_a_short_line_cut_recovers_without_a_trip(tmp_path: Path) -> None:
    """The reconnect policy: a link that survives an interruption shorter than stale_data_s carries on."""
    outcome = fault_matrix.run_case("disconnect", 5.0, tmp_path / "runs", fault="disconnect:power@5+0.5")
    assert (outcome.exit_code, outcome.status) == (0, "completed") and outcome.trips == []
    samples = read_samples(outcome.run_dir)
    lost = samples[samples["electrical_power_w"].isna()]["time_s"].to_numpy()
    assert lost.size > 0 and lost.min() == pytest.approx(5.0) and lost.max() < 5.5
    assert samples.drop(columns=["electrical_power_w", "bus_voltage_v", "bus_current_a"]).notna().all().all()
    errors = list(outcome.read_errors)
    assert {e["instrument"] for e in errors} == {"power"}
    assert all(5.0 - 1e-9 <= e["time_s"] < 5.5 for e in errors)
    assert outcome.contiguous


def test_the_drive_going_silent_trips_and_is_still_released(tmp_path: Path) -> None:
    """The drive's own link fails: its coast command still goes out (a silent VESC still obeys), the
    read-back is recorded as unconfirmed, and the power meter shows the drive released."""
    outcome = fault_matrix.run_case("silence", 5.0, tmp_path / "runs", fault="silence:motor@5")
    assert (outcome.exit_code, outcome.status) == (3, "aborted")
    assert outcome.trip is not None and outcome.trip["reason"].startswith(
        "stale data from pump drive 'motor' (vesc motor controller at "
    )
    assert outcome.trip["time_s"] == pytest.approx(6.0)
    safe = outcome.safe_at_trip
    assert safe is not None and safe["time_s"] == outcome.trip["time_s"] and safe["commanded"][0] == "motor"
    assert any(
        e["kind"] == "safe_state_unconfirmed" and e["instrument"] == "motor" for e in outcome.safe_events
    )
    samples = read_samples(outcome.run_dir)
    after = samples[samples["time_s"] > outcome.trip["time_s"] + 1e-9]
    before = samples[samples["time_s"] <= outcome.trip["time_s"] + 1e-9]
    assert before["electrical_power_w"].iloc[-1] > 100.0  # driving the pump until the trip
    assert after["electrical_power_w"].iloc[0] < fault_matrix.IDLE_POWER_W  # released in the next tick
    assert outcome.drive_released_next_tick is True
    # the speed cannot be read, so the spin-down is logged for its whole bounded time
    assert after["time_s"].iloc[-1] - outcome.trip["time_s"] == pytest.approx(10.0, abs=0.15)


def test_faults_listed_in_the_bench_file_are_injected(tmp_path: Path) -> None:
    text = (Path(__file__).resolve().parents[2] / "hil" / "data" / "sim_bench.toml").read_text(
        encoding="utf-8"
    )
    assert "[virtual]\nseed = 1\n" in text
    bench = tmp_path / "faulty_bench.toml"
    faulty = text.replace("[virtual]\nseed = 1\n", '[virtual]\nseed = 1\nfaults = ["controller-fault@2"]\n')
    bench.write_text(faulty, encoding="utf-8")
    code = main(
        [
            "run",
            "performance-curve",
            "--bench",
            str(bench),
            "--out",
            str(tmp_path / "runs"),
            "--quiet",
            *fault_matrix.SHORT_RUN,
        ]
    )
    assert code == 3
    (run_dir,) = [p for p in (tmp_path / "runs").iterdir() if p.is_dir()]
    (trip,) = [e for e in read_events(run_dir) if e["kind"] == "trip"]
    assert trip["time_s"] == pytest.approx(2.0) and "drive reports a fault" in trip["reason"]
    assert json.loads((run_dir / "metadata.json").read_text())["faults"] == ["controller-fault:motor@2"]


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("bogus@1", "unknown fault kind 'bogus'"),
        ("silence@-2", "SECONDS must be finite and >= 0"),
        ("garble:daq@1", "garble cannot target 'daq'"),
    ],
)
def test_a_bad_fault_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str, message: str
) -> None:
    code = main(
        [
            "run",
            "performance-curve",
            "--bench",
            "sim",
            "--out",
            str(tmp_path / "runs"),
            "--quiet",
            "--fault",
            fault,
        ]
    )
    assert code == 2
    assert not (tmp_path / "runs").exists()
    err = capsys.readouterr().err
    assert "--fault" in err and message in err


def test_faults_are_refused_on_a_bench_without_a_virtual_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (Path(__file__).resolve().parents[2] / "hil" / "data" / "sim_bench.toml").read_text(
        encoding="utf-8"
    )
    kept, in_virtual = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            in_virtual = line.startswith("[virtual")  # [virtual] and its sub-tables
        if not in_virtual:
            kept.append(line)
    real = tmp_path / "real_bench.toml"
    real.write_text("".join(kept), encoding="utf-8")
    code = main(
        [
            "run",
            "performance-curve",
            "--bench",
            str(real),
            "--out",
            str(tmp_path / "runs"),
            "--quiet",
            "--fault",
            "silence@1",
        ]
    )
    assert code == 2
    assert "needs a virtual bench" in capsys.readouterr().err
