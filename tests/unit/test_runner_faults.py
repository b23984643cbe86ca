"""The runner's handling of failing and lying instruments: retries, overload, frozen readings, and
what its safe-state events record. Fake instruments on a virtual clock (the rig of test_runner.py);
trip moments worked out by hand from the limits (tick 0.1 s, stale and frozen 1 s).
"""

from __future__ import annotations

import math

import pytest

from hil.core.errors import InterlockTrip, TransportTimeout
from tests.unit.test_runner import make_rig


# ============================================================================ retries
def test_a_single_failed_read_is_retried_at_once_and_the_sample_kept() -> None:
    rig = make_rig()
    rig["p_out"].fail_next = 1
    rig.runner.tick()
    assert rig.writer.column("p_outlet_pa") == [3.0e5]
    assert rig["p_out"].times("read") == pytest.approx([0.1, 0.1])  # the read and its retry, same tick
    (error,) = rig.writer.events_of("read_error")
    assert (error["instrument"], error["request"]) == ("p_out", "read")
    assert (error["attempt"], error["retrying"]) == (1, True)
    assert "p_out: no reply" in error["error"]


def test_an_instrument_that_keeps_failing_is_tried_once_a_tick_until_it_answers_again() -> None:
    rig = make_rig()
    rig["p_out"].failing = True
    rig.runner.hold(0.5)
    # the first failing tick spends the retry; later ticks try once, so a dead instrument costs one
    # timeout a tick, not two
    assert rig["p_out"].times("read") == pytest.approx([0.1, 0.1, 0.2, 0.3, 0.4, 0.5])
    rig["p_out"].failing = False
    rig.runner.tick()
    assert rig.writer.column("p_outlet_pa")[-1] == 3.0e5
    rig["p_out"].fail_next = 1  # answering again: the retry is available again
    rig.runner.tick()
    assert rig.writer.column("p_outlet_pa")[-1] == 3.0e5


def test_commands_are_never_repeated() -> None:
    rig = make_rig()
    rig.drive.safe_state_error = TransportTimeout("drive: no reply")
    rig["p_out"].values["pressure_pa"] = 6.0e5
    with pytest.raises(InterlockTrip):
        rig.runner.tick()
    assert rig.drive.count("safe_state") == 1
    (failure,) = [e for e in rig.writer.events_of("safe_state_error") if e["instrument"] == "drive"]
    assert failure["error"] == "drive: no reply"
    assert "drive" in rig.writer.events_of("safe_state")[-1]["failed"]


# ============================================================================ NaN and overload
def test_nan_on_any_channel_of_an_instrument_is_no_fresh_data() -> None:
    rig = make_rig()
    rig.runner.hold(0.5)  # last fresh daq sample at 0.5 s
    rig["daq"].values["valve_position_fraction"] = math.nan  # the other daq channel stays good
    with pytest.raises(InterlockTrip, match="stale data from daq"):
        rig.runner.hold(3.0)
    (trip,) = rig.writer.events_of("trip")
    assert trip["time_s"] == pytest.approx(1.6)  # age 1.1 s > 1 s at the first tick past 1.5 s


def test_an_overload_trips_in_its_tick_even_on_a_channel_without_a_limit() -> None:
    rig = make_rig()
    rig.runner.hold(0.3)
    rig["power"].values["power_w"] = math.inf  # a meter's 9.9E37
    with pytest.raises(InterlockTrip, match="overload reading: electrical_power_w = inf"):
        rig.runner.tick()
    (trip,) = rig.writer.events_of("trip")
    assert trip["time_s"] == pytest.approx(0.4)
    assert rig.drive.times("safe_state") == pytest.approx([0.4])


# ============================================================================ frozen readings
def test_a_frozen_reading_trips_only_where_the_bench_asks_for_the_check() -> None:
    quiet = make_rig()  # the fakes' readings never move: without frozen_data_s nothing trips
    quiet.runner.set_speed_rpm(1000.0)
    quiet.runner.hold(3.0)
    assert quiet.runner.trip is None

    rig = make_rig(frozen_data_s=1.0)
    rig.runner.hold(2.0)  # frozen while stopped: not a fault (a meter may sit at a cut-off)
    assert rig.runner.trip is None
    rig.runner.set_speed_rpm(1000.0)  # running from 2.0 s: the frozen time counts from here
    with pytest.raises(InterlockTrip, match=r"frozen reading .*: p_inlet_pa"):
        rig.runner.hold(3.0)
    (trip,) = rig.writer.events_of("trip")
    assert trip["time_s"] == pytest.approx(3.1)  # unchanged 1.1 s > 1 s of running


def test_a_moving_reading_is_not_frozen_and_a_gap_restarts_the_count() -> None:
    rig = make_rig(frozen_data_s=1.0)
    for name, key in (
        ("p_in", "pressure_pa"),
        ("p_out", "pressure_pa"),
        ("flow", "volume_flow_m3_s"),
        ("power", "power_w"),
    ):
        base = rig[name].values[key]
        rig[name].functions[key] = lambda t, base=base: base * (1.0 + 1e-6 * round(t / 0.1))
    rig.runner.set_speed_rpm(1000.0)
    rig.runner.hold(2.0)
    assert rig.runner.trip is None
    del rig["flow"].functions["volume_flow_m3_s"]  # frozen from 2.1 s
    rig.runner.hold(0.8)
    rig["flow"].fail_next = 2  # no data at 2.9 s (read and retry): a gap, not the same value
    rig.runner.hold(0.9)
    assert rig.runner.trip is None
    with pytest.raises(InterlockTrip, match="frozen reading .*: flow_m3_s"):
        rig.runner.hold(1.0)
    (trip,) = rig.writer.events_of("trip")
    assert trip["time_s"] == pytest.approx(4.1)  # unchanged since 3.0 s


# ============================================================================ the safe-state record
def test_the_safe_state_event_lists_what_was_commanded_drive_first() -> None:
    rig = make_rig()
    rig["p_out"].values["pressure_pa"] = 6.0e5
    with pytest.raises(InterlockTrip):
        rig.runner.tick()
    (safe,) = rig.writer.events_of("safe_state")
    assert safe["commanded"][0] == "drive"
    assert set(safe["commanded"]) == {
        "drive",
        "p_in",
        "p_out",
        "flow",
        "power",
        "daq",
        "throttle_valve",
        "tank_pressure",
    }
    assert safe["failed"] == []


def test_a_command_sent_but_not_read_back_is_unconfirmed_not_failed() -> None:
    rig = make_rig()
    rig["p_out"].values["pressure_pa"] = 6.0e5
    rig["p_in"].failing = True  # takes commands, answers nothing
    with pytest.raises(InterlockTrip):
        rig.runner.tick()
    assert rig["p_in"].count("safe_state") == 1
    (unconfirmed,) = rig.writer.events_of("safe_state_unconfirmed")
    assert unconfirmed["instrument"] == "p_in" and "p_in: no reply" in unconfirmed["error"]
    assert rig.writer.events_of("safe_state_error") == []
    (safe,) = rig.writer.events_of("safe_state")
    assert "p_in" in safe["commanded"] and safe["failed"] == []
