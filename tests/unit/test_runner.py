"""The runner's tick loop, procedure API and interlocks, with fake instruments on a virtual clock.

No ports, no threads, no sleeps: every instrument is a recording fake (tests/fakes.py) and bench time
moves only when the runner ticks. Expected tick times, window contents and trip moments are worked
out by hand from the bench file's tick rate and limits, never taken from the runner's own output.
"""

from __future__ import annotations

import math
import signal
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from hil.bench.config import BenchConfig, parse_bench
from hil.core.clock import VirtualClock
from hil.core.errors import ConfigError, HilError, InterlockTrip, LimitError, OperatorStop, TransportTimeout
from hil.run.assembly import Bench
from hil.run.runner import Runner
from hil.store.run_directory import read_events, read_samples
from hil.store.run_writer import RunWriter
from tests.fakes import (
    BoundedVirtualClock,
    FakeDrive,
    FakeInstrument,
    FakeRegulator,
    FakeValve,
    RecordingWriter,
)

SOURCE = "runner-test-bench.toml"
TICK_S = 0.1
# Hand-picked limits (see LIMITS); values in NORMAL sit well inside all of them.
LIMITS = {
    "max_speed_rpm": 3000.0,
    "max_outlet_pressure_pa": 5.0e5,
    "max_motor_current_a": 20.0,
    "max_motor_temperature_c": 100.0,
    "max_controller_temperature_c": 80.0,
    "min_inlet_pressure_pa": 0.5e5,
    "min_flow_while_running_m3_s": 1.0e-4,
    "running_speed_rpm": 500.0,
    "flow_check_delay_s": 2.0,
    "stale_data_s": 1.0,
    "max_fluid_temperature_c": 50.0,
}
# Run channel -> reading key; the keys differ from the channel names on purpose (mapping is tested).
CHANNELS = {
    "drive": {
        "speed_rpm": "speed_rpm",
        "motor_current_a": "current_a",
        "motor_temperature_c": "temp_motor_c",
        "controller_temperature_c": "temp_fet_c",
        "drive_fault_code": "fault_code",
    },
    "p_in": {"p_inlet_pa": "pressure_pa"},
    "p_out": {"p_outlet_pa": "pressure_pa"},
    "flow": {"flow_m3_s": "volume_flow_m3_s"},
    "power": {"electrical_power_w": "power_w"},
    "daq": {
        "fluid_temperature_c": "fluid_temperature_c",
        "valve_position_fraction": "valve_position_fraction",
    },
}
NORMAL = {
    "drive": {"current_a": 5.0, "temp_motor_c": 40.0, "temp_fet_c": 35.0, "fault_code": 0.0},
    "p_in": {"pressure_pa": 1.0e5},
    "p_out": {"pressure_pa": 3.0e5},
    "flow": {"volume_flow_m3_s": 5.0e-4},
    "power": {"power_w": 800.0},
    "daq": {"fluid_temperature_c": 20.0, "valve_position_fraction": 1.0},
}


def bench_data(**limit_overrides: float) -> dict[str, Any]:
    return {
        "bench": {
            "name": "fake bench",
            "tick_hz": 1.0 / TICK_S,
            "inlet_diameter_m": 0.02,
            "outlet_diameter_m": 0.02,  # equal bores: the velocity head terms cancel
            "impeller_diameter_m": 0.05,
            "rated_speed_rpm": 2500.0,
        },
        "limits": {**LIMITS, **limit_overrides},
        "instruments": {
            name: {"driver": "fake", "channels": dict(mapping)} for name, mapping in CHANNELS.items()
        },
        "roles": {"pump_drive": "drive", "throttle_valve": "daq.valve"},
    }


@dataclass
class Rig:
    config: BenchConfig
    clock: VirtualClock
    drive: FakeDrive
    valve: FakeValve
    regulator: FakeRegulator | None
    instruments: dict[str, FakeInstrument]
    writer: RecordingWriter
    runner: Runner
    journal: list[tuple[str, str, float]] = field(default_factory=list)

    def __getitem__(self, name: str) -> FakeInstrument:
        return self.instruments[name]

    def rows(self) -> int:
        return len(self.writer.samples)


def make_rig(
    start_s: float = 0.0, writer: Any = None, with_regulator: bool = True, **limit_overrides: float
) -> Rig:
    config = parse_bench(bench_data(**limit_overrides), SOURCE)
    clock = BoundedVirtualClock(start_s=start_s, limit_s=start_s + 120.0)
    journal: list[tuple[str, str, float]] = []
    drive = FakeDrive("drive", NORMAL["drive"], clock, journal=journal)
    instruments: dict[str, FakeInstrument] = {"drive": drive}
    for name in ("p_in", "p_out", "flow", "power", "daq"):
        instruments[name] = FakeInstrument(name, NORMAL[name], clock, journal=journal)
    valve = FakeValve("valve", clock, journal=journal)
    regulator = FakeRegulator("regulator", clock, journal=journal) if with_regulator else None
    actuators: dict[str, Any] = {"throttle_valve": valve}
    if regulator is not None:
        actuators["tank_pressure"] = regulator  # as connect_bench lists roles that are not instruments
    bench = Bench(
        config=config,
        instruments=dict(instruments),
        pump_drive=drive,
        throttle_valve=valve,
        actuators=actuators,
        identities={name: inst.identity for name, inst in instruments.items()},
        tank_pressure=regulator,
    )
    channels = [channel for inst in config.instruments.values() for channel in inst.channels]
    writer = writer if writer is not None else RecordingWriter(channels)
    runner = Runner(bench, clock, writer)
    return Rig(config, clock, drive, valve, regulator, instruments, writer, runner, journal)


def tick_times(first: int, last: int) -> list[float]:
    return [k * TICK_S for k in range(first, last + 1)]


# ============================================================================ ticks and sampling
def test_a_drive_that_states_its_watchdog_interval_is_fed_only_that_often() -> None:
    rig = make_rig()
    rig.drive.keep_alive_interval_s = 0.25  # type: ignore[attr-defined]
    rig.runner = Runner(rig.runner.bench, rig.clock, rig.writer)
    rig.runner.hold(1.0)
    # Fed at the first tick, then whenever 0.25 s have passed since the last feed: every third tick.
    assert rig.drive.times("keep_alive") == pytest.approx([0.1, 0.4, 0.7, 1.0])
    rig.runner.set_speed_rpm(1000.0)  # a command feeds the watchdog too
    rig.runner.hold(0.3)
    assert rig.drive.times("keep_alive") == pytest.approx([0.1, 0.4, 0.7, 1.0, 1.3])


def test_every_tick_samples_every_instrument_once_and_logs_one_row() -> None:
    rig = make_rig()
    rig.runner.hold(1.0)
    assert rig.rows() == 10
    assert rig.writer.times() == pytest.approx(tick_times(1, 10))
    for name, instrument in rig.instruments.items():
        assert instrument.times("read") == pytest.approx(tick_times(1, 10)), name
    assert rig.drive.times("keep_alive") == pytest.approx(tick_times(1, 10))
    assert rig.valve.count("read") == 0  # the valve is sampled through the DAQ, not on its own
    # Every channel of every row holds its instrument's value under the mapped reading key.
    for name, mapping in CHANNELS.items():
        for channel, key in mapping.items():
            expected = 0.0 if key == "speed_rpm" else NORMAL[name][key]
            assert rig.writer.column(channel) == [expected] * 10, channel


def test_each_row_holds_the_values_read_in_its_own_tick() -> None:
    rig = make_rig()
    pressures = [3.0e5, 3.1e5, 3.2e5, 2.9e5]
    for pressure in pressures:
        rig["p_out"].values["pressure_pa"] = pressure
        rig.runner.tick()
    assert rig.writer.column("p_outlet_pa") == pressures
    assert rig.writer.times() == pytest.approx(tick_times(1, 4))


def test_a_reading_without_a_mapped_key_logs_nan() -> None:
    rig = make_rig()
    del rig["daq"].values["valve_position_fraction"]
    rig.runner.hold(0.3)
    assert all(math.isnan(v) for v in rig.writer.column("valve_position_fraction"))
    assert rig.writer.column("fluid_temperature_c") == [20.0] * 3


def test_ticks_are_in_bench_time_from_the_start_of_the_run() -> None:
    rig = make_rig(start_s=100.0)
    rig.runner.hold(1.0)
    assert rig.clock.now_s() == pytest.approx(101.0)
    assert rig.writer.times() == pytest.approx(tick_times(1, 10))  # relative to the run's start
    assert rig["flow"].times("read") == pytest.approx([100.0 + t for t in tick_times(1, 10)])


@pytest.mark.parametrize(
    ("duration_s", "ticks"), [(0.0, 0), (0.05, 1), (0.1, 1), (0.5, 5), (2.0, 20), (3.3, 33)]
)
def test_hold_runs_one_tick_per_tick_period(duration_s: float, ticks: int) -> None:
    rig = make_rig()
    rig.runner.hold(duration_s)
    assert rig.rows() == ticks
    assert rig.clock.now_s() == pytest.approx(ticks * TICK_S)


def test_a_failed_read_logs_nan_for_that_instrument_and_an_event() -> None:
    rig = make_rig()
    rig["p_out"].fail_next = 2  # the read and its one retry (a read is retried once, in its tick)
    rig.runner.hold(0.3)
    p_out = rig.writer.column("p_outlet_pa")
    assert math.isnan(p_out[0]) and p_out[1:] == [3.0e5, 3.0e5]
    assert rig.writer.column("p_inlet_pa") == [1.0e5] * 3  # others unaffected
    errors = rig.writer.events_of("read_error")
    assert [e["instrument"] for e in errors] == ["p_out", "p_out"]
    assert errors[0]["time_s"] == pytest.approx(0.1)
    assert rig.runner.trip is None


# ============================================================================ setpoints and ramps
def test_speed_setpoint_within_limits_reaches_the_drive_and_is_logged() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(3000.0)  # exactly at the limit is allowed
    assert rig.drive.arguments("set_speed_rpm") == [3000.0]
    # Read back at once, before bench time moves, so the command acts at the time it was given.
    assert [m for _, m, _ in rig.journal] == ["set_speed_rpm", "read"]
    assert rig.drive.times("read") == [0.0]
    setpoints = rig.writer.events_of("setpoint")
    assert setpoints == [{"time_s": 0.0, "kind": "setpoint", "quantity": "speed_rpm", "value": 3000.0}]


@pytest.mark.parametrize("speed_rpm", [3000.001, 1e6, -1.0, math.nan, math.inf])
def test_speed_setpoint_beyond_the_bench_limit_is_refused_before_the_drive_is_called(
    speed_rpm: float,
) -> None:
    rig = make_rig()
    with pytest.raises(LimitError):
        rig.runner.set_speed_rpm(speed_rpm)
    assert rig.drive.count("set_speed_rpm") == 0
    assert rig.writer.events_of("setpoint") == []


@pytest.mark.parametrize("opening", [-0.01, 1.01, math.nan])
def test_valve_opening_outside_0_to_1_is_refused_before_the_valve_is_called(opening: float) -> None:
    rig = make_rig()
    with pytest.raises(LimitError):
        rig.runner.set_valve_opening(opening)
    assert rig.valve.count("set_opening") == 0


def test_valve_opening_reaches_the_valve() -> None:
    rig = make_rig()
    rig.runner.set_valve_opening(0.0)
    rig.runner.set_valve_opening(0.25)
    assert rig.valve.arguments("set_opening") == [0.0, 0.25]
    assert [m for _, m, _ in rig.journal] == ["set_opening", "read", "set_opening", "read"]
    assert [e["value"] for e in rig.writer.events_of("setpoint")] == [0.0, 0.25]


def test_ramp_steps_the_setpoint_once_per_tick() -> None:
    rig = make_rig()
    rig.runner.ramp_speed_rpm(1000.0, 1000.0)  # 1000 rpm/s at 10 Hz: 100 rpm a tick
    commands = rig.drive.arguments("set_speed_rpm")
    assert commands == pytest.approx([100.0 * k for k in range(1, 11)])
    # The k-th step is commanded at the k-1-th tick's time, i.e. exactly one tick per step.
    assert rig.drive.times("set_speed_rpm") == pytest.approx(tick_times(0, 9))
    assert rig.rows() == 10
    assert rig.writer.column("speed_rpm") == pytest.approx([100.0 * k for k in range(1, 11)])
    assert [e["value"] for e in rig.writer.events_of("setpoint")] == pytest.approx(commands)


def test_ramp_down_starts_from_the_last_command_and_ends_exactly_on_target() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig.runner.ramp_speed_rpm(350.0, 2000.0)  # 200 rpm a tick: 800, 600, 400, then 350
    assert rig.drive.arguments("set_speed_rpm") == pytest.approx([1000.0, 800.0, 600.0, 400.0, 350.0])
    assert rig.drive.arguments("set_speed_rpm")[-1] == 350.0
    assert rig.rows() == 4


@pytest.mark.parametrize("target_rpm", [3000.5, -10.0, math.nan])
def test_ramp_to_a_target_beyond_the_limit_is_refused_before_anything_moves(target_rpm: float) -> None:
    rig = make_rig()
    with pytest.raises(LimitError):
        rig.runner.ramp_speed_rpm(target_rpm, 1000.0)
    assert rig.drive.count("set_speed_rpm") == 0
    assert rig.rows() == 0 and rig.clock.now_s() == 0.0


def test_ramp_with_zero_rate_is_refused() -> None:
    rig = make_rig()
    with pytest.raises(LimitError):
        rig.runner.ramp_speed_rpm(1000.0, 0.0)  # the bounded clock turns a hang into a failure
    assert rig.drive.count("set_speed_rpm") == 0


def test_ramp_with_negative_rate_is_refused_and_never_speeds_up() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(2000.0)
    with pytest.raises(LimitError):
        rig.runner.ramp_speed_rpm(0.0, -1000.0)
    assert rig.drive.arguments("set_speed_rpm") == [2000.0]


def test_ramp_with_nan_rate_is_refused() -> None:
    rig = make_rig()
    with pytest.raises(LimitError):
        rig.runner.ramp_speed_rpm(2000.0, math.nan)
    assert rig.drive.count("set_speed_rpm") == 0


def test_tank_pressure_setpoint_reaches_the_regulator_and_is_read_back() -> None:
    rig = make_rig()
    rig.runner.set_tank_pressure_pa(5.0e5)  # exactly max_outlet_pressure_pa is allowed
    assert rig.regulator is not None
    assert rig.regulator.arguments("set_pressure_pa") == [5.0e5]
    assert [m for _, m, _ in rig.journal] == ["set_pressure_pa", "read"]
    (event,) = rig.writer.events_of("setpoint")
    assert (event["quantity"], event["value"]) == ("tank_pressure_pa", 5.0e5)


@pytest.mark.parametrize("pressure_pa", [0.0, -1.0e5, 5.0e5 + 1.0, math.nan, math.inf])
def test_tank_pressure_beyond_the_bench_limit_is_refused_before_the_regulator_is_called(
    pressure_pa: float,
) -> None:
    rig = make_rig()
    with pytest.raises(LimitError):
        rig.runner.set_tank_pressure_pa(pressure_pa)
    assert rig.regulator is not None and rig.regulator.calls == []


def test_tank_pressure_on_a_bench_without_a_regulator_names_the_role() -> None:
    rig = make_rig(with_regulator=False)
    with pytest.raises(ConfigError) as caught:
        rig.runner.set_tank_pressure_pa(1.0e5)
    assert caught.value.source == SOURCE and caught.value.field == "roles.tank_pressure"


# ============================================================================ steady state
def test_wait_steady_on_constant_signals_is_steady_after_one_window() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    result = rig.runner.wait_steady(window_s=1.0, timeout_s=10.0)
    assert result.steady
    assert result.waited_s == pytest.approx(1.0)
    assert set(result.detail) == {"speed_rpm", "flow_m3_s", "delta_p_pa", "electrical_power_w"}
    assert all(d["fluctuation_fraction"] == 0.0 for d in result.detail.values())
    (event,) = rig.writer.events_of("steady")
    assert event["waited_s"] == pytest.approx(1.0)


def test_wait_steady_waits_until_the_window_holds_only_settled_samples() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    # Flow rises 20 %/s until t = 2.05 s, then sits at 1e-3. A 1 s window at 10 Hz is the last 10
    # samples; it first holds only settled samples (2.1 s ... 3.0 s) at t = 3.0 s. At 2.9 s it still
    # holds the 2.0 s sample (7e-4), a +-15 % swing, well beyond the 6 % flow limit.
    rig["flow"].functions["volume_flow_m3_s"] = lambda t: 5e-4 * (1 + 0.2 * t) if t < 2.05 else 1e-3
    result = rig.runner.wait_steady(window_s=1.0, timeout_s=10.0)
    assert result.steady
    assert result.waited_s == pytest.approx(3.0)
    assert rig.clock.now_s() == pytest.approx(3.0)


def test_wait_steady_times_out_on_a_drifting_signal() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig["flow"].functions["volume_flow_m3_s"] = lambda t: 5e-4 * (1 + 0.2 * t)  # never settles
    result = rig.runner.wait_steady(window_s=1.0, timeout_s=2.5)
    assert not result.steady
    assert 2.5 - 1e-9 <= result.waited_s <= 2.5 + TICK_S + 1e-9
    assert result.detail["flow_m3_s"]["trend_fraction"] > 0.02
    assert rig.writer.events_of("steady") == []
    (event,) = rig.writer.events_of("steady_timeout")
    assert event["waited_s"] == pytest.approx(result.waited_s)


# ============================================================================ averaging and points
def test_average_window_holds_exactly_the_dwell_samples_and_record_point_uses_them() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(2000.0)
    # Outlet pressure 3e5 + 1000 Pa * tick number, so the window's samples are identifiable.
    rig["p_out"].functions["pressure_pa"] = lambda t: 3.0e5 + 1000.0 * round(t / TICK_S)
    rig.runner.hold(1.0)  # ticks 1..10
    start_s, end_s = rig.runner.average(1.0)  # ticks 11..20
    rig.runner.hold(0.5)  # ticks 21..25: after the window, must not count
    assert (start_s, end_s) == (pytest.approx(1.05), pytest.approx(2.0))
    point = rig.runner.record_point(start_s, end_s, valve_opening=0.5)
    # Mean of 3e5 + 1000 k for k = 11..20 is 3e5 + 15500; sample std (ddof 1) is 1000 * sqrt(82.5 / 9).
    assert point["p_outlet_pa_n"] == 10
    assert point["p_outlet_pa"] == pytest.approx(315_500.0, rel=1e-12)
    assert point["p_outlet_pa_std"] == pytest.approx(1000.0 * math.sqrt(82.5 / 9.0), rel=1e-9)
    assert point["speed_rpm"] == 2000.0 and point["speed_rpm_n"] == 10
    assert point["valve_opening"] == 0.5
    assert (point["window_start_s"], point["window_end_s"]) == (start_s, end_s)
    # Equal tap bores and heights: H = (p2 - p1) / (rho g); water at 20 degC is 998.2 kg/m3.
    assert point["head_m"] == pytest.approx((315_500.0 - 1.0e5) / (998.2 * 9.80665), rel=2e-4)
    (event,) = rig.writer.events_of("point")
    assert event["index"] == 0 and event["labels"] == {"valve_opening": 0.5}
    assert rig.runner.points == [point]


def test_window_means_average_the_window_leaving_out_failed_reads_and_record_nothing() -> None:
    rig = make_rig()
    rig["p_out"].functions["pressure_pa"] = lambda t: 3.0e5 + 1000.0 * round(t / TICK_S)
    rig.runner.hold(1.0)
    rig["p_out"].fail_next = 2  # the 1.1 s sample is lost (the read and its retry fail)
    rig.runner.hold(1.0)
    means = rig.runner.window_means(1.05, 2.0)
    # Ticks 12..20 remain: mean of 3e5 + 1000 k is 3e5 + 16000.
    assert means["p_outlet_pa"] == pytest.approx(316_000.0, rel=1e-12)
    assert means["p_inlet_pa"] == 1.0e5
    assert math.isnan(rig.runner.window_means(5.0, 6.0)["p_outlet_pa"])  # no samples there
    assert rig.runner.points == [] and rig.writer.events_of("point") == []


# ============================================================================ interlocks
TRIPS = [
    # (instrument, reading key, offending value, run channel)
    ("drive", "speed_rpm", 3100.0, "speed_rpm"),
    ("p_out", "pressure_pa", 5.1e5, "p_outlet_pa"),
    ("drive", "current_a", 20.5, "motor_current_a"),
    ("drive", "temp_motor_c", 101.0, "motor_temperature_c"),
    ("drive", "temp_fet_c", 81.0, "controller_temperature_c"),
    ("daq", "fluid_temperature_c", 50.5, "fluid_temperature_c"),
    ("drive", "fault_code", 3.0, "drive_fault_code"),
]


def assert_tripped_in_tick(rig: Rig, trip: InterlockTrip, channel: str, value: float, tick: int) -> None:
    """The trip of ``tick``: safe within that tick, every sample logged, the cause in the events."""
    trip_time = tick * TICK_S
    assert trip.values[channel] == value
    assert channel in trip.reason
    assert rig.runner.trip is trip
    assert rig.rows() == tick  # every sample up to and including the tripping one
    assert rig.writer.times() == pytest.approx(tick_times(1, tick))
    assert rig.writer.column(channel)[-1] == value
    (event,) = rig.writer.events_of("trip")
    assert event["time_s"] == pytest.approx(trip_time)
    assert event["values"] == {channel: value}
    assert channel in event["reason"]
    # Safe state within the same tick: bench time has not moved on, drive first, valve included.
    assert rig.clock.now_s() == pytest.approx(trip_time)
    assert rig.drive.times("safe_state") == pytest.approx([trip_time])
    assert rig.valve.times("safe_state") == pytest.approx([trip_time])
    assert rig.regulator is not None and rig.regulator.times("safe_state") == pytest.approx([trip_time])
    for instrument in rig.instruments.values():
        assert instrument.count("safe_state") == 1, instrument.name
    safe_calls = [name for name, method, _ in rig.journal if method == "safe_state"]
    assert safe_calls[0] == "drive"
    # Each instrument is read back right after its safe command, in the same tick.
    after_trip = [
        (name, method) for name, method, time_s in rig.journal if time_s == pytest.approx(trip_time)
    ]
    for name in [*rig.instruments, "valve", "regulator"]:
        index = after_trip.index((name, "safe_state"))
        assert after_trip[index + 1] == (name, "read"), name
    assert rig.writer.events_of("safe_state")


@pytest.mark.parametrize(("instrument", "key", "value", "channel"), TRIPS, ids=[t[3] for t in TRIPS])
def test_each_limit_trips_in_the_tick_that_sees_it(
    instrument: str, key: str, value: float, channel: str
) -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig.runner.hold(0.5)  # five good ticks
    rig[instrument].values[key] = value
    with pytest.raises(InterlockTrip) as caught:
        rig.runner.hold(2.0)
    assert_tripped_in_tick(rig, caught.value, channel, value, tick=6)
    assert rig.writer.column(channel)[:5] == [rig.writer.column(channel)[0]] * 5


def test_values_exactly_at_the_limits_do_not_trip() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig.drive.follow_command = False
    rig.drive.values.update(speed_rpm=3000.0, current_a=20.0, temp_motor_c=100.0, temp_fet_c=80.0)
    rig["p_out"].values["pressure_pa"] = 5.0e5
    rig["p_in"].values["pressure_pa"] = 0.5e5
    rig["flow"].values["volume_flow_m3_s"] = 1.0e-4
    rig["daq"].values["fluid_temperature_c"] = 50.0
    rig.runner.hold(3.0)
    assert rig.runner.trip is None and rig.rows() == 30


@pytest.mark.parametrize("command_rpm", [0.0, 499.0])
def test_low_inlet_pressure_and_no_flow_do_not_trip_a_pump_that_is_not_running(command_rpm: float) -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(command_rpm)
    rig["p_in"].values["pressure_pa"] = 0.2e5
    rig["flow"].values["volume_flow_m3_s"] = 0.0
    rig.runner.hold(5.0)
    assert rig.runner.trip is None


def test_low_inlet_pressure_trips_while_running() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(500.0)  # the running threshold itself counts as running
    rig.runner.hold(0.5)
    rig["p_in"].values["pressure_pa"] = 0.49e5
    with pytest.raises(InterlockTrip) as caught:
        rig.runner.hold(1.0)
    assert_tripped_in_tick(rig, caught.value, "p_inlet_pa", 0.49e5, tick=6)


def test_no_flow_while_running_trips_only_after_the_grace_delay() -> None:
    rig = make_rig()
    rig["flow"].values["volume_flow_m3_s"] = 0.0  # dead-headed from the start
    rig.runner.set_speed_rpm(1000.0)  # at t = 0; flow_check_delay_s = 2
    rig.runner.hold(1.9)
    assert rig.runner.trip is None
    with pytest.raises(InterlockTrip) as caught:
        rig.runner.hold(1.0)
    (event,) = rig.writer.events_of("trip")
    assert 2.0 - 1e-9 <= event["time_s"] <= 2.1 + 1e-9
    assert caught.value.values["flow_m3_s"] == 0.0
    assert event["values"] == {"flow_m3_s": 0.0}
    assert rig.drive.times("safe_state") == pytest.approx([event["time_s"]])


def test_the_flow_grace_delay_restarts_on_a_large_speed_change() -> None:
    rig = make_rig()
    rig["flow"].values["volume_flow_m3_s"] = 0.0
    rig.runner.set_speed_rpm(1000.0)
    rig.runner.hold(1.5)
    # 400 rpm is more than 10 % of max_speed_rpm (3000): at 1.5 s, so no check before 3.5 s
    rig.runner.set_speed_rpm(1400.0)
    rig.runner.hold(1.9)
    assert rig.runner.trip is None
    with pytest.raises(InterlockTrip):
        rig.runner.hold(1.0)
    (event,) = rig.writer.events_of("trip")
    assert 3.5 - 1e-9 <= event["time_s"] <= 3.6 + 1e-9


def test_small_speed_trims_never_suspend_the_minimum_flow_check() -> None:
    """A controller trimming the speed every tick (a closed-loop mission profile) by less than 10 %
    of max_speed_rpm (300 rpm here) keeps the check live: the grace runs from the start alone."""
    rig = make_rig()
    rig["flow"].values["volume_flow_m3_s"] = 0.0
    rig.runner.set_speed_rpm(1000.0)  # the start from rest, at t = 0: checked after 2 s
    with pytest.raises(InterlockTrip):
        for tick in range(40):
            rig.runner.set_speed_rpm(1000.0 + (250.0 if tick % 2 else 0.0))  # +-250 rpm every tick
            rig.runner.tick()
    (event,) = rig.writer.events_of("trip")
    assert 2.0 - 1e-9 <= event["time_s"] <= 2.1 + 1e-9
    assert "flow below minimum" in event["reason"]


def test_a_ramp_from_rest_restarts_the_grace_once_where_it_crosses_the_running_speed() -> None:
    rig = make_rig()
    rig["flow"].values["volume_flow_m3_s"] = 0.0
    # 100 rpm per tick: 500 rpm, the running speed, is commanded in the 5th tick's step (t = 0.4 s)
    with pytest.raises(InterlockTrip):
        rig.runner.ramp_speed_rpm(2000.0, 1000.0)
        rig.runner.hold(5.0)
    (event,) = rig.writer.events_of("trip")
    assert 2.4 - 1e-9 <= event["time_s"] <= 2.5 + 1e-9


def test_an_instrument_that_keeps_failing_trips_on_stale_data() -> None:
    rig = make_rig()
    rig.runner.hold(0.5)  # last good p_out sample at 0.5 s; stale_data_s = 1
    rig["p_out"].failing = True
    with pytest.raises(InterlockTrip) as caught:
        rig.runner.hold(3.0)
    (event,) = rig.writer.events_of("trip")
    assert 1.5 - 1e-9 <= event["time_s"] <= 1.6 + 1e-9
    assert "stale data from p_out" in caught.value.reason
    assert caught.value.values["p_out.age_s"] > 1.0
    p_out = rig.writer.column("p_outlet_pa")
    assert p_out[:5] == [3.0e5] * 5 and all(math.isnan(v) for v in p_out[5:])
    assert len(rig.writer.events_of("read_error")) >= rig.rows() - 5  # every failed tick is recorded
    assert rig.drive.times("safe_state") == pytest.approx([event["time_s"]])


def test_failures_shorter_than_the_stale_age_do_not_trip() -> None:
    rig = make_rig()
    rig.runner.hold(0.5)
    rig["p_out"].fail_next = 9  # 0.9 s without a good sample, then good again
    rig.runner.hold(3.0)
    assert rig.runner.trip is None


def test_an_instrument_dead_from_the_start_trips_on_stale_data_whatever_the_clock_reads() -> None:
    rig = make_rig(start_s=50.0)
    rig["p_out"].failing = True
    with pytest.raises(InterlockTrip, match="stale data from p_out"):
        rig.runner.hold(1.5)


def test_a_limit_checked_channel_reading_nan_trips_like_stale_data() -> None:
    rig = make_rig()
    rig.runner.hold(0.5)
    rig["p_out"].values["pressure_pa"] = math.nan
    with pytest.raises(InterlockTrip):
        rig.runner.hold(3.0)


def test_every_actuator_is_commanded_safe_even_when_one_refuses() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig["p_in"].safe_state_error = TransportTimeout("p_in: no reply")
    rig.drive.safe_state_error = None
    rig["power"].safe_state_error = RuntimeError("a bug in a driver")
    rig["p_out"].values["pressure_pa"] = 6.0e5
    with pytest.raises(InterlockTrip):
        rig.runner.tick()
    for instrument in [*rig.instruments.values(), rig.valve, rig.regulator]:
        assert instrument is not None and instrument.count("safe_state") == 1, instrument
    failures = rig.writer.events_of("safe_state_error")
    assert len(failures) == 2
    assert {"p_in: no reply", "power: RuntimeError: a bug in a driver"} == {e["error"] for e in failures}


def test_a_trip_is_latched() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig["p_out"].values["pressure_pa"] = 6.0e5
    with pytest.raises(InterlockTrip) as first:
        rig.runner.tick()
    rig["p_out"].values["pressure_pa"] = 3.0e5  # the cause goes away: the trip stays
    keep_alives = rig.drive.count("keep_alive")
    for _ in range(3):
        with pytest.raises(InterlockTrip) as again:
            rig.runner.tick()
        assert again.value is first.value
    assert rig.rows() == 4  # logging goes on
    assert rig.drive.count("keep_alive") == keep_alives  # the watchdog is no longer fed
    assert rig.drive.count("set_speed_rpm") == 1
    assert len(rig.writer.events_of("trip")) == 1


def test_no_setpoint_reaches_the_drive_after_a_trip() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig["p_out"].values["pressure_pa"] = 6.0e5
    with pytest.raises(InterlockTrip):
        rig.runner.tick()
    with pytest.raises((InterlockTrip, LimitError)):  # a procedure that caught the trip tries again
        rig.runner.set_speed_rpm(1000.0)
    assert rig.drive.arguments("set_speed_rpm") == [1000.0]


# ============================================================================ spin-down
def test_spin_down_logs_until_the_pump_has_stopped() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig.runner.hold(0.5)
    rig.drive.follow_command = False
    rig.drive.values["speed_rpm"] = 3100.0  # overspeed: trips at 0.6 s
    with pytest.raises(InterlockTrip):
        rig.runner.hold(1.0)
    rows_at_trip = rig.rows()
    rig.runner.spin_down()
    speeds = rig.writer.column("speed_rpm")[rows_at_trip:]
    threshold = 0.1 * LIMITS["running_speed_rpm"]
    assert len(speeds) >= 2
    assert speeds[-1] <= threshold and all(s > threshold for s in speeds[:-1])
    assert speeds == sorted(speeds, reverse=True)  # halves every read once safe
    assert rig.writer.times() == pytest.approx(tick_times(1, rig.rows()))  # no gap in the log


def test_spin_down_is_bounded_when_the_pump_never_stops() -> None:
    rig = make_rig()
    rig.drive.spin_down_factor = 1.0
    rig.runner.set_speed_rpm(1000.0)
    rig["p_out"].values["pressure_pa"] = 6.0e5
    with pytest.raises(InterlockTrip):
        rig.runner.tick()
    rig.runner.spin_down()
    assert 0.1 + 10.0 - 1e-9 <= rig.runner.now_s() <= 0.1 + 10.0 + TICK_S + 1e-9
    assert rig.writer.column("speed_rpm")[-1] == 1000.0


def test_spin_down_goes_on_through_a_failed_speed_read() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig["p_out"].values["pressure_pa"] = 6.0e5
    with pytest.raises(InterlockTrip):
        rig.runner.tick()
    rig.drive.fail_next = 1  # the first spin-down sample of the drive is lost
    rig.runner.spin_down()
    last = rig.writer.column("speed_rpm")[-1]
    assert not math.isnan(last) and last <= 0.1 * LIMITS["running_speed_rpm"]


# ============================================================================ operator stop
def test_request_stop_ends_the_run_safe_at_the_next_tick() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig.runner.hold(0.5)
    rig.runner.request_stop("SIGINT")
    with pytest.raises(HilError) as caught:
        rig.runner.hold(10.0)
    assert isinstance(caught.value, (InterlockTrip, OperatorStop))
    assert "SIGINT" in str(caught.value)
    assert rig.rows() == 6
    assert rig.drive.times("safe_state") == pytest.approx([0.6])
    assert rig.valve.times("safe_state") == pytest.approx([0.6])
    (event,) = rig.writer.events_of("operator_stop")
    assert "SIGINT" in event["reason"] and event["time_s"] == pytest.approx(0.6)


def test_a_stop_requested_while_sampling_takes_effect_in_that_tick() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)

    def pressure_then_signal(t: float) -> float:
        if t >= 0.3 - 1e-9:
            rig.runner.request_stop("SIGTERM")  # as a signal handler would, between two reads
        return 3.0e5

    rig["p_out"].functions["pressure_pa"] = pressure_then_signal
    with pytest.raises(HilError):
        rig.runner.hold(10.0)
    assert rig.drive.times("safe_state") == pytest.approx([0.3])
    assert rig.rows() == 3


def test_sigint_and_sigterm_handlers_request_a_safe_stop_and_are_restored() -> None:
    from hil.run.stop import StopRequests

    class StopRecorder:
        def __init__(self) -> None:
            self.reasons: list[str] = []

        def request_stop(self, reason: str) -> None:
            self.reasons.append(reason)

    before = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    recorder = StopRecorder()
    stop = StopRequests()
    with stop.installed():
        stop.attach(recorder)
        signal.raise_signal(signal.SIGINT)  # no KeyboardInterrupt: a request instead
        signal.raise_signal(signal.SIGTERM)  # no termination either
        stop.run_over()
        signal.raise_signal(signal.SIGINT)  # after the procedure: recorded, changes nothing
    assert recorder.reasons == ["SIGINT", "SIGINT"]  # a burst is one request, named by its first
    assert stop.received == ["SIGINT", "SIGTERM", "SIGINT"]
    assert {number: signal.getsignal(number) for number in before} == before


def test_a_stop_before_the_runner_exists_is_refused_at_the_next_checkpoint_or_handed_to_it() -> None:
    from hil.core.errors import OperatorStop
    from hil.run.stop import StopRequests

    stop = StopRequests()
    stop.check("loading")  # nothing asked: passes
    stop.request("SIGTERM")
    with pytest.raises(OperatorStop, match="SIGTERM while connecting: stopped before the run started"):
        stop.check("connecting")
    rig = make_rig()
    stop.attach(rig.runner)  # the run directory exists by now: the stop is the runner's, at once
    with pytest.raises(HilError):
        rig.runner.hold(1.0)
    assert rig.drive.times("safe_state") == pytest.approx([rig.runner.tick_s])


# ============================================================================ with the real run store
def test_a_tripped_run_leaves_every_sample_and_the_trip_in_the_run_directory(tmp_path: Path) -> None:
    config = parse_bench(bench_data(), SOURCE)
    channels = [channel for inst in config.instruments.values() for channel in inst.channels]
    writer = RunWriter(tmp_path, channels, {"procedure": "test"}, "bench text")
    try:
        rig = make_rig(writer=writer)
        rig.runner.set_speed_rpm(1000.0)
        rig.runner.hold(0.5)
        rig["p_out"].values["pressure_pa"] = 5.5e5
        with pytest.raises(InterlockTrip):
            rig.runner.hold(1.0)
    finally:
        writer.close("aborted", "overpressure")
    samples = read_samples(tmp_path)
    assert list(samples.columns) == ["time_s", *channels]
    assert samples["time_s"].tolist() == pytest.approx(tick_times(1, 6))
    assert samples["p_outlet_pa"].tolist() == [3.0e5] * 5 + [5.5e5]
    trips = [e for e in read_events(tmp_path) if e["kind"] == "trip"]
    assert len(trips) == 1 and trips[0]["values"] == {"p_outlet_pa": 5.5e5}


# ====================================================== read retries, overloads, frozen readings
def test_a_single_lost_reply_is_retried_in_the_same_tick_and_costs_no_sample() -> None:
    rig = make_rig()
    rig["p_out"].fail_next = 1
    rig.runner.hold(0.3)
    assert rig.writer.column("p_outlet_pa") == [3.0e5] * 3
    assert rig["p_out"].times("read") == pytest.approx([0.1, 0.1, 0.2, 0.3])  # two attempts in tick 1
    (error,) = rig.writer.events_of("read_error")
    assert (error["instrument"], error["time_s"]) == ("p_out", pytest.approx(0.1))


def test_a_dead_instrument_is_tried_once_a_tick_not_retried_every_tick() -> None:
    rig = make_rig()
    rig["p_out"].failing = True
    rig.runner.hold(0.5)  # stale_data_s = 1: no trip yet
    assert rig["p_out"].times("read") == pytest.approx([0.1, 0.1, 0.2, 0.3, 0.4, 0.5])
    assert all(math.isnan(v) for v in rig.writer.column("p_outlet_pa"))


@pytest.mark.parametrize("value", [math.inf, -math.inf])
@pytest.mark.parametrize(
    ("instrument", "key", "channel"),
    [("power", "power_w", "electrical_power_w"), ("flow", "volume_flow_m3_s", "flow_m3_s")],
)
def test_an_overload_reading_trips_at_once_on_any_channel(
    instrument: str, key: str, channel: str, value: float
) -> None:
    rig = make_rig()  # the pump is not even running: an overload is never a normal reading
    rig.runner.hold(0.5)
    rig[instrument].values[key] = value
    with pytest.raises(InterlockTrip) as caught:
        rig.runner.hold(1.0)
    assert_tripped_in_tick(rig, caught.value, channel, value, tick=6)


PROCESS_KEYS = {"p_in": "pressure_pa", "p_out": "pressure_pa", "flow": "volume_flow_m3_s", "power": "power_w"}


def make_noisy(rig: Rig) -> None:
    """Process readings that move in their last digits every tick, as live transducers do."""
    for name, key in PROCESS_KEYS.items():
        base = NORMAL[name][key]
        rig[name].functions[key] = lambda t, base=base: base * (1.0 + 1e-6 * round(t / TICK_S))


def test_a_frozen_process_reading_trips_while_the_pump_runs() -> None:
    rig = make_rig(frozen_data_s=0.5)
    make_noisy(rig)
    rig.runner.set_speed_rpm(1000.0)
    rig.runner.hold(2.0)
    assert rig.runner.trip is None  # moving readings never trip
    del rig["p_out"].functions["pressure_pa"]  # stuck at 3e5 from the 2.1 s sample on
    with pytest.raises(InterlockTrip) as caught:
        rig.runner.hold(2.0)
    (event,) = rig.writer.events_of("trip")
    assert 2.6 - 1e-9 <= event["time_s"] <= 2.7 + 1e-9  # unchanged for more than 0.5 s after 2.1 s
    assert "frozen" in caught.value.reason and event["values"] == {"p_outlet_pa": 3.0e5}


def test_frozen_readings_do_not_trip_a_stopped_pump_and_count_from_the_start() -> None:
    rig = make_rig(frozen_data_s=0.5)
    rig.runner.hold(2.0)  # constant readings, pump stopped: nothing to judge
    rig.runner.set_speed_rpm(1000.0)  # at 2.0 s: the readings get 0.5 s from here to move
    rig.runner.hold(0.4)
    assert rig.runner.trip is None
    with pytest.raises(InterlockTrip, match="frozen"):
        rig.runner.hold(1.0)
    (event,) = rig.writer.events_of("trip")
    assert 2.5 - 1e-9 <= event["time_s"] <= 2.6 + 1e-9


def test_without_frozen_data_s_constant_readings_never_trip() -> None:
    rig = make_rig()  # frozen_data_s defaults to 0: off
    rig.runner.set_speed_rpm(1000.0)
    rig.runner.hold(5.0)
    assert rig.runner.trip is None


# ============================================================================ after a trip
@pytest.mark.parametrize(
    "command",
    [
        lambda r: r.set_speed_rpm(0.0),
        lambda r: r.set_valve_opening(0.5),
        lambda r: r.set_tank_pressure_pa(1.0e5),
        lambda r: r.ramp_speed_rpm(1000.0, 1000.0),
    ],
    ids=["speed", "valve", "tank_pressure", "ramp"],
)
def test_every_setpoint_is_refused_after_a_trip(command: Any) -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig["p_out"].values["pressure_pa"] = 6.0e5
    with pytest.raises(InterlockTrip) as trip:
        rig.runner.tick()
    with pytest.raises(InterlockTrip) as again:
        command(rig.runner)
    assert again.value is trip.value
    assert rig.drive.count("set_speed_rpm") == 1
    assert rig.valve.count("set_opening") == 0
    assert rig.regulator is not None and rig.regulator.count("set_pressure_pa") == 0


def test_a_safe_command_that_is_not_read_back_is_recorded_and_the_rest_still_go_safe() -> None:
    rig = make_rig()
    rig.runner.set_speed_rpm(1000.0)
    rig["p_out"].values["pressure_pa"] = 6.0e5
    rig["flow"].failing = True  # silent from now on: its safe command cannot be confirmed
    with pytest.raises(InterlockTrip):
        rig.runner.tick()
    (unconfirmed,) = rig.writer.events_of("safe_state_unconfirmed")
    assert unconfirmed["instrument"] == "flow"
    (summary,) = rig.writer.events_of("safe_state")
    assert summary["commanded"][0] == "drive"
    assert set(summary["commanded"]) == {*rig.instruments, "throttle_valve", "tank_pressure"}
    assert summary["failed"] == []
