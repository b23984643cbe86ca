"""What a live view shows, from the stream's messages (margins, time left, decimation, trip), and how
it follows a run directory's journal while a real run writer appends to it."""

from __future__ import annotations

import io
import json
import math
import re
from pathlib import Path

import pytest

from hil.bench.config import load_bench
from hil.console.feeds import JournalFeed
from hil.console.view import ROWS_PER_DELTA, RunView, channel_groups
from hil.run.stream import Message
from hil.store.run_writer import RunWriter

LIMITS = load_bench("sim").limits
CHANNELS = ["speed_rpm", "p_inlet_pa", "p_outlet_pa", "flow_m3_s"]


def started() -> RunView:
    view = RunView(LIMITS)
    view.feed([], [Message("start", {"channels": CHANNELS, "procedure": "performance-curve"})])
    assert view.delta()["type"] == "snapshot"  # the first update after the start names the channels
    return view


def test_margins_are_the_distance_to_each_limit_in_its_direction() -> None:
    view = started()
    view.feed([(1.0, (15000.0, 80000.0, 600000.0, 2e-4))], [])
    margins = view.margins()
    assert margins["speed_rpm"]["margin"] == LIMITS.max_speed_rpm - 15000.0  # a maximum: limit - value
    assert margins["p_outlet_pa"]["margin_fraction"] == pytest.approx(
        1 - 600000.0 / LIMITS.max_outlet_pressure_pa
    )
    assert (
        margins["p_inlet_pa"]["margin"] == 80000.0 - LIMITS.min_inlet_pressure_pa
    )  # a minimum: value - limit
    assert margins["p_inlet_pa"]["while_running"] is True
    view.feed([(1.1, (LIMITS.max_speed_rpm + 10.0, 80000.0, 600000.0, 2e-4))], [])
    assert view.margins()["speed_rpm"]["margin"] == -10.0  # beyond the limit: negative
    assert math.isnan(view.margins()["motor_current_a"]["value"])  # a limited channel this run lacks


def test_time_left_extrapolates_the_steps_done_and_is_none_before_the_first_is_done() -> None:
    view = started()
    view.feed(
        [(10.0, (0.0,) * 4)],
        [Message("progress", {"time_s": 10.0, "message": "point 1/5", "step": 1, "steps": 5})],
    )
    assert view.time_left_s() is None
    # step 3 of 5 starts at 100 s: two steps took 50 s each; three remain, 20 s of the third done
    view.feed(
        [(120.0, (0.0,) * 4)],
        [Message("progress", {"time_s": 100.0, "message": "point 3/5", "step": 3, "steps": 5})],
    )
    assert view.time_left_s() == pytest.approx(3 * 50.0 - 20.0)
    view.feed([], [Message("end", {"status": "aborted", "reason": "x"})])
    assert view.time_left_s() is None and view.status() == "aborted"


def test_an_update_strides_a_burst_of_rows_but_keeps_the_last_and_nan_becomes_null() -> None:
    view = started()
    rows = [(k * 0.1, (float(k), math.nan, 1.0, 2.0)) for k in range(1, 1001)]
    view.feed(rows, [])
    frame = view.delta()
    assert frame is not None and frame["type"] == "delta"
    assert len(frame["rows"]) <= ROWS_PER_DELTA + 1
    assert frame["rows"][-1] == [100.0, 1000.0, None, 1.0, 2.0]
    json.dumps(frame, allow_nan=False)  # JSON without NaN, as browsers need
    assert view.delta() is None  # nothing new, nothing sent
    assert len(view.history) == 1000  # the history keeps every row for the charts


def test_a_trip_banner_gathers_the_reason_the_values_and_the_safe_state_actions() -> None:
    view = started()
    trip = {
        "time_s": 5.0,
        "kind": "trip",
        "reason": "outlet pressure above limit",
        "values": {"p_outlet_pa": 4.1e6},
    }
    safe = {"time_s": 5.0, "kind": "safe_state", "commanded": ["motor", "daq"], "failed": ["power"]}
    view.feed([], [Message("event", trip), Message("event", safe)])
    assert view.trip == {
        "kind": "trip",
        "time_s": 5.0,
        "reason": "outlet pressure above limit",
        "values": {"p_outlet_pa": 4.1e6},
        "safe_state": {"commanded": ["motor", "daq"], "failed": ["power"]},
    }


def test_channels_are_grouped_by_the_unit_in_their_name() -> None:
    groups = channel_groups(
        ["speed_rpm", "p_inlet_pa", "flow_m3_s", "mass_flow_kg_s", "motor_current_a", "x"]
    )
    assert groups == {
        "speed": ["speed_rpm"],
        "pressures": ["p_inlet_pa"],
        "flow": ["flow_m3_s", "mass_flow_kg_s"],
        "currents": ["motor_current_a"],
        "other": ["x"],
    }


def test_the_journal_feed_follows_a_run_as_its_writer_appends_and_reads_whole_lines_only(
    tmp_path: Path,
) -> None:
    bench = load_bench("sim")
    writer = RunWriter(tmp_path, CHANNELS, {"procedure": "performance-curve"}, bench.text)
    writer.append_sample(0.1, [1.0, 2.0, 3.0, 4.0])
    writer.append_event({"time_s": 0.1, "kind": "setpoint", "quantity": "speed_rpm", "value": 1.0})
    feed = JournalFeed(tmp_path)
    rows, messages = feed.poll()
    assert rows == [(0.1, (1.0, 2.0, 3.0, 4.0))]
    assert [m.kind for m in messages] == ["start", "event"] and messages[0].fields["channels"] == CHANNELS
    assert feed.poll() == ([], [])  # nothing new
    writer.append_sample(0.2, [math.nan, 2.0, 3.0, 4.0])
    with open(tmp_path / "samples.csv", "a") as journal:
        journal.write("0.3,1.0,2")  # a row being written: not yet a whole line
    rows, messages = feed.poll()
    assert len(rows) == 1 and rows[0][0] == 0.2 and math.isnan(rows[0][1][0]) and messages == []
    writer.close("completed")
    rows, messages = feed.poll()
    assert messages[-1] == Message("end", {"status": "completed", "reason": ""})


def test_the_terminal_panel_shows_margins_steady_state_progress_and_the_trip() -> None:
    from rich.console import Console

    from hil.console.terminal import TerminalView
    from hil.run.stream import RunStream

    terminal = TerminalView(RunStream(), LIMITS, io.StringIO(), interactive=False)
    progress = {"time_s": 100.0, "message": "point 3/32: 15000 rpm", "step": 3, "steps": 32}
    steady = {
        "steady": False,
        "waited_s": 3.2,
        "timeout_s": 60.0,
        "detail": {"flow_m3_s": {"fluctuation_fraction": 0.08, "trend_fraction": 0.01}},
        "limits": {"flow_m3_s": [0.06, 0.02]},
    }
    trip = {"time_s": 110.0, "kind": "trip", "reason": "outlet pressure above limit", "values": {}}
    terminal.view.feed(
        [(120.0, (15000.0, 80000.0, 3.7e6, 2.1e-4))],
        [
            Message("start", {"channels": CHANNELS, "procedure": "performance-curve", "bench_name": "sim"}),
            Message("progress", progress),
            Message("steady", steady),
            Message("event", trip),
        ],
    )
    screen = Console(file=io.StringIO(), width=110, record=True)
    screen.print(terminal.render())
    text = screen.export_text()
    assert "point 3/32: 15000 rpm" in text and "step 3 of 32" in text
    assert re.search(r"p_outlet_pa +3700 +kPa +<= 4000 +300 +8%", text)  # value, limit, margin in kPa
    assert "current point: settling after 3.2 s" in text and "8.00%" in text
    assert "TRIP: outlet pressure above limit" in text
