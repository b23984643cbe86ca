"""The run's stream to live viewers: bounded, dropping, never blocking; requests reach the runner
only at a tick, through the same safe stop as Ctrl-C."""

from __future__ import annotations

import pytest

from hil.core.errors import InterlockTrip
from hil.run.stream import MESSAGE_CAPACITY, ROW_CAPACITY, Message, RunStream
from tests.unit.test_runner import make_rig


def test_a_subscriber_that_never_reads_keeps_only_the_newest_rows_and_loses_no_event() -> None:
    stream = RunStream()
    lazy = stream.subscribe()
    stream.start(["a", "b"], {"procedure": "p"})
    for k in range(ROW_CAPACITY + 500):
        stream.row(k * 0.1, [float(k), 2.0 * k])
    stream.publish("event", kind="trip", time_s=1.0)
    rows = lazy.take_rows()
    assert len(rows) == ROW_CAPACITY  # the 500 oldest were dropped, nothing blocked
    assert rows[0] == (500 * 0.1, (500.0, 1000.0))
    assert rows[-1][1] == (float(ROW_CAPACITY + 499), 2.0 * (ROW_CAPACITY + 499))
    # rows and messages are bounded apart: the flood of rows pushed out no message
    assert [m.kind for m in lazy.take_messages()] == ["start", "event"]
    assert lazy.take_rows() == [] and lazy.take_messages() == []


def test_messages_are_bounded_too_and_a_late_subscriber_still_learns_the_start_and_end() -> None:
    stream = RunStream()
    lazy = stream.subscribe()
    stream.start(["a"], {"procedure": "p"})
    for k in range(MESSAGE_CAPACITY + 10):
        stream.publish("progress", message=f"step {k}")
    stream.publish("end", status="completed", reason="")
    kept = lazy.take_messages()
    assert len(kept) == MESSAGE_CAPACITY
    assert kept[-1] == Message("end", {"status": "completed", "reason": ""})
    late = stream.subscribe()
    assert [m.kind for m in late.take_messages()] == ["start", "end"]


def test_an_unsubscribed_viewer_gets_nothing_more() -> None:
    stream = RunStream()
    viewer = stream.subscribe()
    stream.unsubscribe(viewer)
    stream.row(0.1, [1.0])
    stream.publish("progress", message="x")
    assert viewer.take_rows() == [] and viewer.take_messages() == []


def test_the_runner_publishes_rows_events_steady_and_points_as_they_happen() -> None:
    rig = make_rig()
    stream = RunStream()
    viewer = stream.subscribe()
    rig.runner.stream = stream
    rig.runner.set_speed_rpm(2000.0)
    rig.runner.progress("point 1/2", step=1, steps=2)
    rig.runner.wait_steady(1.0, 2.0)
    start, end = rig.runner.average(1.0)
    rig.runner.record_point(start, end, valve_opening=0.5)
    rows = viewer.take_rows()
    assert [t for t, _ in rows] == pytest.approx(rig.writer.times())  # every logged row, in order
    assert [list(v) for _, v in rows] == [values for _, values in rig.writer.samples]
    messages = viewer.take_messages()
    kinds = [m.kind for m in messages]
    assert kinds[0] == "event" and messages[0].fields["kind"] == "setpoint"
    assert messages[1] == Message("progress", {"time_s": 0.0, "message": "point 1/2", "step": 1, "steps": 2})
    judged = [m.fields for m in messages if m.kind == "steady"]
    assert judged and judged[-1]["steady"] is True and set(judged[-1]["detail"]) >= {"speed_rpm"}
    (point,) = [m.fields for m in messages if m.kind == "point"]
    assert point == {"index": 0, **rig.runner.points[0]}
    # every event the writer logged went to the viewer too, in the same order
    assert [m.fields for m in messages if m.kind == "event"] == rig.writer.events


def test_a_stop_requested_by_a_viewer_is_the_safe_stop_at_the_next_tick() -> None:
    rig = make_rig()
    stream = RunStream()
    rig.runner.stream = stream
    rig.runner.set_speed_rpm(2000.0)
    rig.runner.hold(0.5)
    stream.request_event("control_refused", request="stop", client="127.0.0.1", why="no token")
    stream.request_stop("stop from the console (127.0.0.1)")
    assert rig.writer.events_of("operator_stop") == []  # nothing happens outside a tick
    with pytest.raises(InterlockTrip, match="console"):
        rig.runner.tick()
    (refused,) = rig.writer.events_of("control_refused")
    assert refused["why"] == "no token"
    (stop,) = rig.writer.events_of("operator_stop")
    assert stop["reason"] == "stop from the console (127.0.0.1)"
    assert rig.writer.events_of("safe_state")  # the same safe state as Ctrl-C
    assert rig.drive.count("safe_state") == 1
