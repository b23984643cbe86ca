"""The run directory: the journal survives a crash, reads back exactly, and refuses corruption by name.

A crash (``kill -9``) is simulated by cutting the journal file at every possible byte; the expected
rows after a cut are counted independently from the newlines in the surviving prefix. Exactness is
checked bit for bit (``struct``), not with a tolerance, because replay must reproduce live numbers.
"""

from __future__ import annotations

import csv
import json
import math
import struct
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from hil.core.errors import RunLogError
from hil.store import run_directory as runstore
from hil.store.run_directory import (
    EVENTS,
    METADATA,
    SAMPLES_CSV,
    SAMPLES_PARQUET,
    new_run_directory,
    read_events,
    read_metadata,
    read_points,
    read_samples,
    write_json_atomic,
    write_points_csv,
)
from hil.store.run_writer import RunWriter

CHANNELS = ["speed_rpm", "flow_m3_s", "p_outlet_pa"]
# Floats whose shortest repr needs all 17 digits, extremes, a subnormal, signed zero and NaN.
AWKWARD = [
    0.1 + 0.2,
    1 / 3,
    2 / 3 * 1e-5,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    -0.0,
    math.pi * 1e5,
    123456789.12345679,
    math.nan,
    -1e-17,
    29999.999999999996,
]


def bits(value: float) -> bytes:
    return struct.pack("<d", value)


def same_floats(left: list[float], right: list[float]) -> bool:
    """Bit-for-bit equality, NaN equal to NaN (any NaN payload)."""
    return len(left) == len(right) and all(
        (math.isnan(a) and math.isnan(b)) or bits(a) == bits(b) for a, b in zip(left, right)
    )


def rows_of(count: int) -> list[tuple[float, list[float]]]:
    rows = []
    for k in range(count):
        values = [AWKWARD[(k + j) % len(AWKWARD)] for j in range(len(CHANNELS))]
        rows.append(((k + 1) * 0.1, values))
    return rows


def write_run(directory: Path, rows: list[tuple[float, list[float]]], close: bool = False) -> RunWriter:
    metadata = {"procedure": "test", "parameters": {"speeds": [1.0]}}
    writer = RunWriter(directory, CHANNELS, metadata, "[bench]\n")
    for time_s, values in rows:
        writer.append_sample(time_s, values)
    writer.flush()
    if close:
        writer.close("completed")
    return writer


@pytest.fixture
def run_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "run"
    directory.mkdir()
    return directory


def parse_csv_independently(path: Path) -> tuple[list[str], list[list[float]]]:
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        rows = [[float(field) if field else math.nan for field in row] for row in reader]
    return header, rows


# ============================================================================ the journal
def test_samples_round_trip_bit_for_bit_while_the_run_goes(run_dir: Path) -> None:
    rows = rows_of(len(AWKWARD))
    writer = write_run(run_dir, rows)
    try:
        frame = read_samples(run_dir)  # the journal of a run still open
        assert list(frame.columns) == ["time_s", *CHANNELS]
        assert all(dtype == np.float64 for dtype in frame.dtypes)
        assert same_floats(frame["time_s"].tolist(), [t for t, _ in rows])
        for index, channel in enumerate(CHANNELS):
            assert same_floats(frame[channel].tolist(), [values[index] for _, values in rows]), channel
    finally:
        writer.close("completed")


def test_repeated_values_are_written_as_the_first_time_whatever_came_between(run_dir: Path) -> None:
    # The writer remembers each value's text: a zero of either sign, NaN, a value of another type
    # equal to a remembered one, and more distinct values than it remembers must all still be
    # written as repr() writes them.
    rows = [
        (0.1, [0.0, -0.0, math.nan]),
        (0.2, [-0.0, 0.0, math.nan]),
        (0.3, [np.float64(1.5), 1.5, 3]),
        (0.4, [3.0, np.float32(1.5), 0.1 + 0.2]),
        *[(1.0 + k, [k * 0.001, 1.0 / (k + 1), -k * 0.001]) for k in range(5000)],
        *[(6001.0 + k, [k * 0.001, 1.0 / (k + 1), -k * 0.001]) for k in range(0, 5000, 7)],
    ]
    write_run(run_dir, rows, close=True)
    lines = (run_dir / SAMPLES_CSV).read_text(encoding="utf-8").splitlines()[1:]
    assert lines[:4] == [
        "0.1,0.0,-0.0,",
        "0.2,-0.0,0.0,",
        "0.3,1.5,1.5,3.0",
        "0.4,3.0,1.5,0.30000000000000004",
    ]
    expected = [",".join([repr(time_s)] + [repr(float(v)) for v in values]) for time_s, values in rows[4:]]
    assert lines[4:] == expected


def test_the_journal_is_plain_csv_with_the_channels_as_header(run_dir: Path) -> None:
    write_run(run_dir, rows_of(3), close=True)
    header, rows = parse_csv_independently(run_dir / SAMPLES_CSV)
    assert header == ["time_s", *CHANNELS]
    assert len(rows) == 3


def test_numpy_scalars_round_trip_like_floats(run_dir: Path) -> None:
    writer = RunWriter(run_dir, CHANNELS, {}, "")
    try:
        writer.append_sample(np.float64(0.1), [np.float64(1.5), np.float32(0.25), 3])
    finally:
        writer.close("completed")
    frame = read_samples(run_dir)
    assert frame.iloc[0].tolist() == [0.1, 1.5, 0.25, 3.0]


def test_a_journal_cut_anywhere_reads_back_every_complete_row(run_dir: Path) -> None:
    rows = rows_of(6)
    write_run(run_dir, rows).close("completed")
    (run_dir / SAMPLES_PARQUET).unlink()  # as if the run had died before closing
    journal = run_dir / SAMPLES_CSV
    content = journal.read_bytes()
    header_end = content.index(b"\n") + 1
    for cut in range(header_end, len(content) + 1):
        journal.write_bytes(content[:cut])
        complete = content[:cut].count(b"\n") - 1  # newlines after the header's
        frame = read_samples(run_dir)
        assert len(frame) == complete, cut
        assert same_floats(frame["time_s"].tolist(), [t for t, _ in rows[:complete]]), cut
        assert same_floats(frame["p_outlet_pa"].tolist(), [v[2] for _, v in rows[:complete]]), cut


def test_a_run_killed_without_closing_keeps_what_was_flushed(run_dir: Path) -> None:
    rows = rows_of(4)
    writer = write_run(run_dir, rows)  # flushed, never closed: no Parquet, metadata still "running"
    try:
        assert not (run_dir / SAMPLES_PARQUET).exists()
        assert read_metadata(run_dir)["status"] == "running"
        assert len(read_samples(run_dir)) == 4
    finally:
        writer.close("completed")


@pytest.mark.parametrize(
    ("line", "replacement", "expected"),
    [
        (3, "0.2,abc,1.0,2.0", "line 3: not a number"),
        (4, "0.3,1.0,2.0", "line 4: expected 4 fields, got 3"),
        (2, "", "line 2: expected 4 fields, got 1"),
        (1, "speed_rpm,flow_m3_s", "line 1: expected a header"),
    ],
)
def test_a_corrupted_journal_line_is_named_with_file_and_line(
    run_dir: Path, line: int, replacement: str, expected: str
) -> None:
    write_run(run_dir, rows_of(5)).close("completed")
    (run_dir / SAMPLES_PARQUET).unlink()
    journal = run_dir / SAMPLES_CSV
    lines = journal.read_text(encoding="utf-8").split("\n")
    lines[line - 1] = replacement
    journal.write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(RunLogError) as caught:
        read_samples(run_dir)
    assert str(journal) in str(caught.value)
    assert expected in str(caught.value)


def test_a_directory_without_a_journal_is_not_a_run(tmp_path: Path) -> None:
    with pytest.raises(RunLogError, match="not a run directory"):
        read_samples(tmp_path)


def test_a_damaged_parquet_file_is_named(run_dir: Path) -> None:
    write_run(run_dir, rows_of(3), close=True)
    (run_dir / SAMPLES_PARQUET).write_bytes(b"PAR1 not really")
    with pytest.raises(RunLogError) as caught:
        read_samples(run_dir)
    assert str(run_dir / SAMPLES_PARQUET) in str(caught.value)


# ============================================================================ Parquet
def test_the_parquet_copy_equals_the_csv_journal_after_close(run_dir: Path) -> None:
    rows = rows_of(30)
    write_run(run_dir, rows, close=True)
    header, csv_rows = parse_csv_independently(run_dir / SAMPLES_CSV)
    parquet = pd.read_parquet(run_dir / SAMPLES_PARQUET)
    assert list(parquet.columns) == header
    assert all(dtype == np.float64 for dtype in parquet.dtypes)
    for index, column in enumerate(header):
        assert same_floats(parquet[column].tolist(), [row[index] for row in csv_rows]), column
    # read_samples now serves the columnar copy, with the same numbers.
    served = read_samples(run_dir)
    for column in header:
        assert same_floats(served[column].tolist(), parquet[column].tolist())


def test_a_run_closed_without_samples_has_an_empty_parquet_with_the_columns(run_dir: Path) -> None:
    RunWriter(run_dir, CHANNELS, {}, "").close("error", "could not start")
    frame = pd.read_parquet(run_dir / SAMPLES_PARQUET)
    assert list(frame.columns) == ["time_s", *CHANNELS] and len(frame) == 0


# ============================================================================ events
EVENTS_WRITTEN: list[dict[str, Any]] = [
    {"time_s": 0.0, "kind": "setpoint", "quantity": "speed_rpm", "value": 3000.0},
    {
        "time_s": 0.30000000000000004,
        "kind": "trip",
        "reason": "p_outlet_pa = 4.1e+06",
        "values": {"p_outlet_pa": 4.1e6},
    },
    {
        "time_s": 1.0,
        "kind": "point",
        "index": 0,
        "window_start_s": 0.5,
        "window_end_s": 1.0,
        "labels": {"valve_opening": 0.5, "note": 'ü, "quoted"'},
    },
]


def write_events(run_dir: Path, events: list[dict[str, Any]]) -> None:
    writer = RunWriter(run_dir, CHANNELS, {}, "")
    for event in events:
        writer.append_event(event)
    writer.close("completed")


def test_events_round_trip_exactly(run_dir: Path) -> None:
    write_events(run_dir, EVENTS_WRITTEN)
    assert read_events(run_dir) == EVENTS_WRITTEN
    # One JSON object a line, readable by anything.
    lines = (run_dir / EVENTS).read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == EVENTS_WRITTEN


def test_numpy_values_in_events_are_written_as_plain_numbers(run_dir: Path) -> None:
    write_events(run_dir, [{"time_s": 0.5, "kind": "steady", "waited_s": np.float64(2.5), "n": np.int64(7)}])
    assert read_events(run_dir) == [{"time_s": 0.5, "kind": "steady", "waited_s": 2.5, "n": 7}]


def test_an_events_file_cut_anywhere_reads_back_every_complete_event(run_dir: Path) -> None:
    write_events(run_dir, EVENTS_WRITTEN)
    path = run_dir / EVENTS
    content = path.read_bytes()
    for cut in range(len(content) + 1):
        path.write_bytes(content[:cut])
        complete = content[:cut].count(b"\n")
        assert read_events(run_dir) == EVENTS_WRITTEN[:complete], cut


def test_a_corrupted_event_line_is_named_with_file_and_line(run_dir: Path) -> None:
    write_events(run_dir, EVENTS_WRITTEN)
    path = run_dir / EVENTS
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[1] = lines[1][:-5] + "#" + lines[1][-4:]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(RunLogError) as caught:
        read_events(run_dir)
    assert str(path) in str(caught.value)
    assert "line 2" in str(caught.value)


def test_a_missing_events_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RunLogError, match=EVENTS):
        read_events(tmp_path)


# ============================================================================ metadata
def test_metadata_starts_running_and_ends_with_status_reason_and_end_time(run_dir: Path) -> None:
    metadata = {"procedure": "performance-curve", "seed": 1}
    writer = RunWriter(run_dir, CHANNELS, metadata, "[bench]\nname = 'x'\n")
    assert read_metadata(run_dir) == {"procedure": "performance-curve", "seed": 1, "status": "running"}
    assert (run_dir / "bench.toml").read_text(encoding="utf-8") == "[bench]\nname = 'x'\n"
    writer.update_metadata(instruments={"motor": "VESC 6"})
    assert read_metadata(run_dir)["instruments"] == {"motor": "VESC 6"}
    writer.close("aborted", "outlet pressure above limit")
    metadata = read_metadata(run_dir)
    assert (metadata["status"], metadata["reason"]) == ("aborted", "outlet pressure above limit")
    assert metadata["procedure"] == "performance-curve" and metadata["instruments"] == {"motor": "VESC 6"}
    assert "end_utc" in metadata


def test_metadata_is_replaced_whole_or_not_at_all(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = run_dir / METADATA
    write_json_atomic(path, {"status": "running", "procedure": "p"})
    before = path.read_bytes()

    def crash(*_: Any) -> None:
        raise OSError("killed between writing and renaming")

    monkeypatch.setattr(runstore.os, "replace", crash)
    with pytest.raises(OSError):
        write_json_atomic(path, {"status": "completed", "procedure": "p", "big": list(range(10_000))})
    assert path.read_bytes() == before  # the old document, complete
    assert read_metadata(run_dir) == {"status": "running", "procedure": "p"}


def test_metadata_is_never_written_in_place(run_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = run_dir / METADATA
    write_json_atomic(path, {"status": "running"})
    replaced: list[tuple[str, str]] = []
    real_replace = runstore.os.replace

    def spy(source: Any, target: Any) -> None:
        assert json.loads(Path(source).read_text(encoding="utf-8")) == {"status": "completed"}
        assert json.loads(path.read_text(encoding="utf-8")) == {"status": "running"}  # untouched so far
        replaced.append((str(source), str(target)))
        real_replace(source, target)

    monkeypatch.setattr(runstore.os, "replace", spy)
    write_json_atomic(path, {"status": "completed"})
    assert len(replaced) == 1 and replaced[0][1] == str(path) and replaced[0][0] != str(path)
    assert read_metadata(run_dir) == {"status": "completed"}
    assert sorted(p.name for p in run_dir.iterdir()) == [METADATA]  # no temporary left behind


def test_corrupted_or_missing_metadata_is_named(run_dir: Path) -> None:
    with pytest.raises(RunLogError, match="not a run directory"):
        read_metadata(run_dir)
    path = run_dir / METADATA
    path.write_text('{\n  "status": "running",\n  "procedure": \n}\n', encoding="utf-8")
    with pytest.raises(RunLogError) as caught:
        read_metadata(run_dir)
    assert str(path) in str(caught.value) and "line 4" in str(caught.value)


# ============================================================================ points and directories
def test_operating_points_round_trip_exactly(tmp_path: Path) -> None:
    points = [
        {"speed_setpoint_rpm": 30000.0, "flow_m3_s": 0.1 + 0.2, "head_m": 1 / 3, "flow_m3_s_n": 50.0},
        {
            "speed_setpoint_rpm": 30000.0,
            "flow_m3_s": 5e-324,
            "head_m": math.nan,
            "flow_m3_s_n": 49.0,
            "note": "x",
        },
    ]
    write_points_csv(tmp_path / runstore.POINTS, points)
    frame = read_points(tmp_path)
    assert list(frame.columns) == ["speed_setpoint_rpm", "flow_m3_s", "head_m", "flow_m3_s_n", "note"]
    assert same_floats(frame["flow_m3_s"].tolist(), [0.1 + 0.2, 5e-324])
    assert same_floats(frame["head_m"].tolist(), [1 / 3, math.nan])


def test_operating_points_with_numpy_values_round_trip(tmp_path: Path) -> None:
    write_points_csv(tmp_path / runstore.POINTS, [{"valve_opening": np.float64(0.5), "head_m": 12.5}])
    assert read_points(tmp_path)["valve_opening"].tolist() == [0.5]


def test_no_points_reads_back_as_an_empty_frame(tmp_path: Path) -> None:
    write_points_csv(tmp_path / runstore.POINTS, [])
    assert read_points(tmp_path).empty
    assert read_points(tmp_path / "elsewhere").empty


def test_new_run_directories_are_unique_and_name_the_procedure(tmp_path: Path) -> None:
    made = [new_run_directory(tmp_path / "runs", "performance-curve") for _ in range(3)]
    assert len(set(made)) == 3
    assert all(d.is_dir() and d.parent == tmp_path / "runs" and "performance-curve" in d.name for d in made)


# ============================================================================ crashes and liveness
def test_every_row_and_event_reaches_the_operating_system_as_it_is_written(run_dir: Path) -> None:
    writer = RunWriter(run_dir, CHANNELS, {}, "")
    try:
        for k, (time_s, values) in enumerate(rows_of(5), start=1):
            writer.append_sample(time_s, values)
            writer.append_event({"time_s": time_s, "kind": "tick", "k": k})
            # no flush: another reader (a crash's survivor) already sees every row and event
            assert len(read_samples(run_dir)) == k
            assert [e["k"] for e in read_events(run_dir)] == list(range(1, k + 1))
    finally:
        writer.close("completed")


CRASHING_WRITER = """
import sys
from pathlib import Path
from hil.store.run_writer import RunWriter
writer = RunWriter(Path(sys.argv[1]), ["a_pa", "b_m3_s"], {"procedure": "crash"}, "[bench]\\n")
for k in range(1, 51):
    writer.append_sample(k * 0.1, [k * 1.5, 1.0 / k])
    writer.append_event({"time_s": k * 0.1, "kind": "tick", "k": k})
print("written", flush=True)
sys.stdin.readline()  # wait here until killed
"""


def test_a_run_killed_with_sigkill_keeps_every_row_and_reads_as_interrupted(run_dir: Path) -> None:
    import subprocess
    import sys

    child = subprocess.Popen(
        [sys.executable, "-c", CRASHING_WRITER, str(run_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None and child.stdout.readline() == "written\n"
        assert runstore.run_status(run_dir) == "running"  # its writer holds the journal
        child.kill()  # SIGKILL: no handler, no flush, no close
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(timeout=30)
        for stream in (child.stdin, child.stdout):
            if stream is not None:
                stream.close()
    samples = read_samples(run_dir)
    assert len(samples) == 50
    assert same_floats(samples["a_pa"].tolist(), [k * 1.5 for k in range(1, 51)])
    assert same_floats(samples["b_m3_s"].tolist(), [1.0 / k for k in range(1, 51)])
    assert [e["k"] for e in read_events(run_dir)] == list(range(1, 51))
    assert read_metadata(run_dir)["status"] == "running"  # as the dead process left it
    assert runstore.run_status(run_dir) == runstore.INTERRUPTED


def test_run_status_follows_the_metadata_of_a_closed_run(run_dir: Path) -> None:
    writer = write_run(run_dir, rows_of(2))
    assert runstore.run_status(run_dir) == "running"
    writer.close("aborted", "trip")
    assert runstore.run_status(run_dir) == "aborted"


def test_closing_leaves_no_temporary_files(run_dir: Path) -> None:
    write_run(run_dir, rows_of(3), close=True)
    assert sorted(p.name for p in run_dir.iterdir()) == sorted(
        [METADATA, "bench.toml", SAMPLES_CSV, SAMPLES_PARQUET, EVENTS]
    )


def test_a_second_writer_is_refused_without_touching_the_running_run(run_dir: Path) -> None:
    first = write_run(run_dir, rows_of(3))
    try:
        with pytest.raises(RunLogError, match="another process is writing"):
            RunWriter(run_dir, CHANNELS, {"procedure": "intruder"}, "intruder bench")
        assert len(read_samples(run_dir)) == 3
        assert read_metadata(run_dir)["procedure"] == "test"
        assert (run_dir / "bench.toml").read_text(encoding="utf-8") == "[bench]\n"
    finally:
        try:
            first.close("completed")
        except RunLogError:
            pass  # the wiped journal cannot be closed into a Parquet copy


@pytest.mark.parametrize("name", [SAMPLES_CSV, EVENTS])
def test_bytes_that_are_not_text_are_named_with_file_and_line(run_dir: Path, name: str) -> None:
    write_run(run_dir, rows_of(4), close=True)
    (run_dir / SAMPLES_PARQUET).unlink()
    writer_events = [{"time_s": 0.1 * k, "kind": "tick"} for k in range(4)]
    if name == EVENTS:
        (run_dir / EVENTS).write_text("".join(json.dumps(e) + "\n" for e in writer_events), encoding="utf-8")
    path = run_dir / name
    lines = path.read_bytes().split(b"\n")
    lines[2] = lines[2][:3] + b"\xff\xfe" + lines[2][3:]  # a damaged block in line 3
    path.write_bytes(b"\n".join(lines))
    with pytest.raises(RunLogError) as caught:
        read_samples(run_dir) if name == SAMPLES_CSV else read_events(run_dir)
    assert str(path) in str(caught.value) and "line 3" in str(caught.value)


# ============================================================================ points as they are recorded
def test_each_point_is_on_disk_when_recorded_and_the_file_is_what_the_close_writes(tmp_path: Path) -> None:
    points: list[dict[str, Any]] = [
        {"valve_opening": 0.5, "flow_m3_s": 0.1 + 0.2, "head_m": 1 / 3},
        {"valve_opening": 0.7, "flow_m3_s": math.nan, "head_m": 2.0},
        {"valve_opening": 0.9, "flow_m3_s": 5e-324, "head_m": 3.0, "npsh_role": "sweep"},  # a new column
        {"valve_opening": 1.0, "head_m": 4.0},  # one missing
    ]
    reference = tmp_path / "reference.csv"
    writer = RunWriter(tmp_path, CHANNELS, {}, "")
    try:
        for count, point in enumerate(points, start=1):
            writer.append_point(point)
            write_points_csv(reference, points[:count])
            # before any close: what a crash would leave is what the close would write
            assert (tmp_path / runstore.POINTS).read_bytes() == reference.read_bytes(), count
    finally:
        writer.write_points(points)
        writer.close("completed")
    assert (tmp_path / runstore.POINTS).read_bytes() == reference.read_bytes()


def test_a_point_row_cut_short_by_a_crash_is_left_out_when_read(tmp_path: Path) -> None:
    write_points_csv(tmp_path / runstore.POINTS, [{"a": 1.0, "b": 2.0}, {"a": 3.0, "b": 4.0}])
    path = tmp_path / runstore.POINTS
    path.write_bytes(path.read_bytes()[:-3])
    assert read_points(tmp_path)["a"].tolist() == [1.0]


# ============================================================================ checksums
def test_the_close_records_checksums_and_an_edit_to_either_copy_of_the_samples_is_noticed(
    run_dir: Path,
) -> None:
    from hil.store.checksums import verify_checksums

    write_run(run_dir, rows_of(4), close=True)
    metadata = read_metadata(run_dir)
    assert set(metadata["checksums"]["files"]) >= {SAMPLES_CSV, SAMPLES_PARQUET, EVENTS, "bench.toml"}
    assert verify_checksums(run_dir, metadata).problems == []
    journal = run_dir / SAMPLES_CSV
    journal.write_bytes(journal.read_bytes().replace(b"0.1,", b"0.2,", 1))  # readers use the Parquet copy
    (problem,) = verify_checksums(run_dir, metadata).problems
    assert problem == f"{journal} modified after the run (SHA-256 differs)"
    edited = dict(metadata, status="completed", reason="edited")
    assert (
        f"{run_dir / METADATA} modified after the run (SHA-256 differs)"
        in verify_checksums(run_dir, edited).problems
    )


def test_a_run_without_checksums_says_so(run_dir: Path) -> None:
    from hil.store.checksums import verify_checksums

    integrity = verify_checksums(run_dir, {"status": "completed"})
    assert not integrity.recorded and not integrity.modified
    assert "no checksums recorded" in integrity.lines()[0]
