"""The runner: owns the clock and the tick loop; procedures ask it to set, hold, ramp and average.

On every tick (10 Hz by default) the runner waits on the clock until the tick's time, feeds the
drive's watchdog, samples every instrument once, checks every bench limit, and appends the row to the
run's log. Procedures never sample or sleep themselves: they call :meth:`Runner.hold`,
:meth:`Runner.wait_steady`, :meth:`Runner.ramp_speed_rpm` or :meth:`Runner.average`, all of which
run ticks. So the same procedure code runs on the wall clock of a real bench and on the lockstep
virtual clock of the simulator.

A limit violation is latched: every actuator is commanded to its safe state within the tick that saw
it, logging continues through the spin-down, the trip and the values that caused it go in the event
log, and :class:`~hil.core.errors.InterlockTrip` unwinds the procedure. Setpoints beyond a bench limit
raise :class:`~hil.core.errors.LimitError` before anything is sent; after a trip every setpoint raises the
latched trip again, so a procedure that caught it cannot restart the pump.

What counts as data, and what a failed read does:

* A read is safe to repeat, so a failed read (timeout, garbled reply, device exception) is retried
  once at once, in the same tick: a single lost or corrupt reply costs a ``read_error`` event and
  no sample. The retry is spent only when the instrument had been answering: once it is failing,
  each tick tries it once, so a dead instrument does not stretch every tick by its timeouts.
  Commands (setpoints, the safe state) are never repeated: whether a lost command acted is unknown.
* A reading holding NaN on any of the instrument's channels (a meter's "no data", 9.91E37) is no
  fresh data. An instrument without fresh data for more than ``stale_data_s`` trips the bench
  ("stale data from NAME"): so does a line cut for longer than that; a shorter interruption recovers
  by itself with ``read_error`` events and NaN samples in between. The runner does not reopen a
  transport: a link that survives an interruption (a TCP connection, a pty, a serial line) carries on
  when the instrument answers again; one that was closed stays failed and trips on stale data.
The limit checks themselves (which readings trip, stale and frozen data, the minimum-flow grace)
are :mod:`hil.run.interlocks`; the runner feeds them every tick and owns what a trip does.

Imports hil only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

import numpy as np

from hil.analysis.measurements import MEASUREMENT_EVENT, Measurement
from hil.analysis.steady import DEFAULT_STEADY_LIMITS, judge_run_window, steady_detail, steady_window_count
from hil.bench.roles import Instrument
from hil.core.clock import Clock
from hil.core.errors import ConfigError, HilError, InterlockTrip, LimitError, OperatorStop, StorageError
from hil.run.assembly import Bench
from hil.run.interlocks import Interlocks
from hil.run.operating_points import operating_point, window_samples
from hil.run.procedure_api import Point, SteadyResult
from hil.run.sample_log import SampleLog
from hil.run.stream import Message, RunStream

E = TypeVar("E", bound=HilError)

SPIN_DOWN_LIMIT_S = 10.0
READ_RETRIES = 1
"""Extra attempts for a failed read while its instrument had been answering (reads only)."""
Progress = Callable[[str], None]


class Journal(Protocol):
    """Where the runner logs: :class:`hil.store.run_directory.RunWriter`, or a test's recorder."""

    @property
    def channels(self) -> list[str]: ...

    @property
    def metadata(self) -> dict[str, Any]: ...

    def append_sample(self, time_s: float, values: Sequence[float]) -> None: ...

    def append_event(self, event: dict[str, Any]) -> None: ...

    def append_point(self, point: Mapping[str, Any]) -> None: ...

    def update_metadata(self, **fields: Any) -> None: ...


class Runner:
    """The tick loop of one run on one bench; implements
    :class:`hil.run.procedure_api.ProcedureRunner`, the whole of what a procedure may call."""

    def __init__(
        self,
        bench: Bench,
        clock: Clock,
        writer: Journal,
        progress: Progress | None = None,
        stream: RunStream | None = None,
    ) -> None:
        self.bench = bench
        self.clock = clock
        self.writer = writer
        self.tick_s = bench.config.tick_s
        self.limits = bench.config.limits
        self.geometry = bench.config.geometry
        self.channels = list(writer.channels)
        self._log = SampleLog(self.channels)
        self._tick_index = 0
        self._start_s = clock.now_s()
        self.interlocks = Interlocks(self.limits, bench.instruments, lambda name: bench.label(name).text)
        self._sampled = [
            (name, instrument, tuple(bench.config.instruments[name].channels.items()))
            for name, instrument in bench.instruments.items()
        ]
        """Each instrument with its (channel, reading key) pairs, in sampling order: looked up once,
        since a bench does not change during a run."""
        self._failing: set[str] = set()
        # The drive's watchdog: fed every tick unless the drive says how often it needs it (an
        # ALIVE frame costs 3-4 % of a virtual run's time when sent every tick).
        self._keep_alive_interval_s = float(getattr(bench.pump_drive, "keep_alive_interval_s", 0.0))
        self._drive_fed_s = -math.inf
        self._trip: InterlockTrip | None = None
        self._stop_requested: str | None = None
        self.points: list[Point] = []
        self._report_progress = progress or (lambda message: None)
        self.stream = stream
        """Live viewers' feed (:mod:`hil.run.stream`): published to, never waited for."""
        self.safe_state_problems: dict[str, str] = {}
        """After :meth:`safe_all`: each instrument whose safe state failed or was not read back, and why."""

    # ----------------------------------------------------------------- time and sampling
    def now_s(self) -> float:
        return self.clock.now_s() - self._start_s

    def request_stop(self, reason: str) -> None:
        """Ask for a safe stop at the next tick (signal handlers call this)."""
        self._stop_requested = reason

    def tick(self) -> None:
        """Advance one tick: wait, sample everything, feed the watchdog, check limits, log."""
        self._tick_index += 1
        self.clock.sleep_until(self._start_s + self._tick_index * self.tick_s)
        now = self.now_s()
        if self._trip is None and now - self._drive_fed_s >= self._keep_alive_interval_s - 1e-9:
            try:
                self.bench.pump_drive.keep_alive()
                self._drive_fed_s = now
            except HilError as exc:
                self.event("watchdog_error", error=str(self._named_drive(exc)))
        row = self._sample(now)
        self.interlocks.track_changes(now, row)
        values = [row.get(name, math.nan) for name in self.channels]
        self._log.append(now, values)
        try:
            self.writer.append_sample(now, values)
        except StorageError as exc:
            self._storage_refused(exc)
        if self.stream is not None:
            self._exchange_with_viewers(now, values)
        if self._trip is None:
            self._check_limits(now, row)
        if self._stop_requested and self._trip is None:
            reason = self._stop_requested
            self._enter_safe_state(OperatorStop(reason), {"operator_stop": 1.0})
        if self._trip is not None:
            raise self._trip

    def _exchange_with_viewers(self, now: float, values: list[float]) -> None:
        """Publish the tick's row; take the viewers' requests (a safe stop, an event to log)."""
        assert self.stream is not None
        self.stream.row(now, values)
        for kind, fields in self.stream.take_requests():
            if kind == "stop":
                self.request_stop(str(fields["reason"]))
            else:
                self.event(kind, **fields)

    def progress(self, message: str, step: int | None = None, steps: int | None = None) -> None:
        """Tell the operator where the procedure is: a message, and optionally step ``step`` (from 1)
        of ``steps``, from which a viewer estimates the time left."""
        self._report_progress(message)
        if self.stream is not None:
            self.stream.publish("progress", time_s=self.now_s(), message=message, step=step, steps=steps)

    def _sample(self, now: float) -> dict[str, float]:
        """Every instrument read once; the row of channel values, NaN for a missing reading key.

        A plain loop over pairs resolved at the start: looking each instrument's mapping up in the
        bench file and building a dict per instrument cost 12-15 us a tick against 6 us now (six
        instant instruments, Python 3.11), on a tick whose whole budget at 300x is about 330 us.
        """
        row: dict[str, float] = {}
        for name, instrument, mapping in self._sampled:
            reading = self._read(name, instrument)
            if reading is None:
                continue
            fresh = True
            for channel, key in mapping:
                value = row[channel] = float(reading.get(key, math.nan))
                if math.isnan(value):
                    fresh = False  # NaN is "no data": not fresh
            if fresh:
                self.interlocks.fresh_data(name, now)
        return row

    def _read(self, name: str, instrument: Instrument) -> Any:
        """One reading, retried once if the instrument had been answering; None if it failed."""
        attempts = 1 + (0 if name in self._failing else READ_RETRIES)
        for attempt in range(1, attempts + 1):
            try:
                reading = instrument.read()
            except HilError as exc:
                error = str(self.bench.label(name).named(exc))
                self.interlocks.read_failed(name, error)
                self.event(
                    "read_error",
                    instrument=name,
                    request="read",
                    error=error,
                    attempt=attempt,
                    retrying=attempt < attempts,
                )
                continue
            self._failing.discard(name)
            return reading
        self._failing.add(name)
        return None

    # ----------------------------------------------------------------- safety
    def _check_limits(self, now: float, row: Mapping[str, float]) -> None:
        violation = self.interlocks.violation(now, row)
        if violation is not None:
            self._enter_safe_state(*violation)

    def _storage_refused(self, exc: StorageError) -> None:
        """The disk refused a write (full, or an I/O error): the run stops safely now, like a trip.

        The writer writes nothing more of the journal after that, so the safe state never waits on
        the disk; the run's close records how it ended (:mod:`hil.store.run_writer`).
        """
        if self._trip is None:
            self._enter_safe_state(exc, {})

    def _enter_safe_state(self, cause: HilError, values: dict[str, float]) -> None:
        """Latch the trip and command every actuator safe, drive first; never raises."""
        trip = cause if isinstance(cause, InterlockTrip) else InterlockTrip(str(cause), values)
        self._trip = trip
        self.interlocks.tripped()
        kind = "operator_stop" if isinstance(cause, OperatorStop) else "trip"
        self.event(kind, reason=str(cause), values=values)
        self.safe_all()

    def safe_all(self) -> None:
        """Command every instrument to its safe state, drive first; records failures, never raises.

        A failed command is a ``safe_state_error``; a command sent but not read back (the
        instrument went silent) is ``safe_state_unconfirmed``. The closing ``safe_state`` event lists
        what was commanded, the drive first. Commands are never repeated (see the module docstring).
        """
        drive = self.bench.pump_drive
        named = {id(i): n for n, i in self.bench.instruments.items()}
        targets: list[tuple[str, Instrument]] = [(named.get(id(drive), "pump_drive"), drive)]
        targets += [(n, i) for n, i in self.bench.instruments.items() if i is not drive]
        targets += [(role, a) for role, a in self.bench.actuators.items()]
        commanded, failed = [], []
        self.safe_state_problems = {}
        for name, instrument in targets:
            try:
                instrument.safe_state()
            except Exception as exc:  # noqa: BLE001 - the safe path must try every instrument
                error = self.bench.label(name).say(exc)
                self.event("safe_state_error", instrument=name, error=error)
                self.safe_state_problems[name] = f"safe-state command failed: {error}"
                failed.append(name)
                continue
            commanded.append(name)
            try:
                self._confirm(instrument)
            except Exception as exc:  # noqa: BLE001
                error = self.bench.label(name).say(exc)
                self.event("safe_state_unconfirmed", instrument=name, error=error)
                self.safe_state_problems[name] = f"safe-state command sent, not confirmed: {error}"
        self.event("safe_state", commanded=commanded, failed=failed)

    def _named_drive(self, exc: E) -> E:
        named = {id(i): n for n, i in self.bench.instruments.items()}
        return self.bench.label(named.get(id(self.bench.pump_drive), "pump_drive")).named(exc)

    def _confirm(self, instrument: Instrument) -> None:
        """Read an instrument back after commanding it, before bench time moves on.

        Some commands have no reply (VESC SET_RPM); the read-back's reply proves the instrument has
        taken the command. On the virtual bench that makes every command act at the bench time it
        was given, whatever the threads' timing, which keeps runs deterministic; on a real bench it
        is a cheap check that the instrument is still there.
        """
        instrument.read()

    def spin_down(self) -> None:
        """Keep logging after a trip or at the end until the pump has stopped (bounded)."""
        deadline = self.now_s() + SPIN_DOWN_LIMIT_S
        while self.now_s() < deadline:
            try:
                self.tick()
            except InterlockTrip:
                pass
            speed = self._log.latest("speed_rpm") if len(self._log) and "speed_rpm" in self.channels else 0.0
            # an unreadable speed (NaN) proves nothing: keep logging until a read shows it stopped
            if speed <= self.limits.running_speed_rpm * 0.1:
                break

    @property
    def trip(self) -> InterlockTrip | None:
        return self._trip

    # ----------------------------------------------------------------- procedure API
    def event(self, kind: str, **fields: Any) -> None:
        record = {"time_s": self.now_s(), "kind": kind, **fields}
        try:
            self.writer.append_event(record)
        except StorageError as exc:
            self._storage_refused(exc)
        if self.stream is not None:
            self.stream.publish_message(Message("event", record))

    @property
    def metadata(self) -> Mapping[str, Any]:
        return self.writer.metadata

    def record_metadata(self, **fields: Any) -> None:
        try:
            self.writer.update_metadata(**fields)
        except StorageError as exc:
            self._storage_refused(exc)

    def _refuse_after_trip(self) -> None:
        if self._trip is not None:
            raise self._trip

    def set_speed_rpm(self, speed_rpm: float) -> None:
        self._refuse_after_trip()
        if not 0.0 <= speed_rpm <= self.limits.max_speed_rpm:
            raise LimitError(
                f"speed setpoint {speed_rpm:g} rpm is outside the bench limit 0..{self.limits.max_speed_rpm:g} rpm"
            )
        try:
            self.bench.pump_drive.set_speed_rpm(speed_rpm)
            self._drive_fed_s = self.now_s()  # any command feeds the drive's watchdog
            self._confirm(self.bench.pump_drive)
        except HilError as exc:
            raise self._named_drive(exc) from exc
        self.interlocks.speed_commanded(speed_rpm, self.now_s())
        self.event("setpoint", quantity="speed_rpm", value=speed_rpm)

    def set_valve_opening(self, opening_fraction: float) -> None:
        self._refuse_after_trip()
        if not 0.0 <= opening_fraction <= 1.0:
            raise LimitError(f"valve opening {opening_fraction:g} is outside 0..1")
        try:
            self.bench.throttle_valve.set_opening(opening_fraction)
            self._confirm(self.bench.throttle_valve)
        except HilError as exc:
            raise self.bench.label("throttle_valve").named(exc) from exc
        self.event("setpoint", quantity="valve_opening_fraction", value=opening_fraction)

    def set_tank_pressure_pa(self, pressure_pa: float) -> None:
        """Command the suction tank's regulator (absolute pressure), confirmed by a read-back.

        Refused before anything is sent: a bench without a ``tank_pressure`` role, a pressure that is
        not positive, or one above the bench's ``max_outlet_pressure_pa`` (the tank pressure adds to
        everything downstream). There is deliberately no lower bench limit on the setpoint itself:
        what must not go too low is the pump's inlet pressure, and the ``min_inlet_pressure_pa``
        interlock watches that on every tick, whatever the tank pressure that caused it.
        """
        self._refuse_after_trip()
        regulator = self.bench.tank_pressure
        if regulator is None:
            raise ConfigError(
                self.bench.config.source,
                "roles.tank_pressure",
                "this bench has no suction-tank pressure regulator role",
            )
        if not 0.0 < pressure_pa <= self.limits.max_outlet_pressure_pa:  # also refuses NaN
            raise LimitError(
                f"tank pressure setpoint {pressure_pa:g} Pa is outside the bench limit "
                f"0..{self.limits.max_outlet_pressure_pa:g} Pa (max_outlet_pressure_pa)"
            )
        try:
            regulator.set_pressure_pa(pressure_pa)
            self._confirm(regulator)
        except HilError as exc:
            raise self.bench.label("tank_pressure").named(exc) from exc
        self.event("setpoint", quantity="tank_pressure_pa", value=pressure_pa)

    def hold(self, duration_s: float) -> None:
        end = self.now_s() + duration_s - 1e-9
        while self.now_s() < end:
            self.tick()

    def ramp_speed_rpm(self, target_rpm: float, rate_rpm_s: float) -> None:
        """Move the speed setpoint linearly at ``rate_rpm_s`` (> 0, finite), one step a tick."""
        if not (math.isfinite(rate_rpm_s) and rate_rpm_s > 0.0):
            raise LimitError(f"ramp rate {rate_rpm_s:g} rpm/s must be a positive finite number")
        if not 0.0 <= target_rpm <= self.limits.max_speed_rpm:
            raise LimitError(
                f"ramp target {target_rpm:g} rpm is outside the bench limit 0..{self.limits.max_speed_rpm:g} rpm"
            )
        start = self.interlocks.speed_command_rpm
        step = rate_rpm_s * self.tick_s
        value = start
        while abs(target_rpm - value) > 1e-9:
            value = min(target_rpm, value + step) if target_rpm > value else max(target_rpm, value - step)
            self.set_speed_rpm(value)
            self.tick()

    def _recent(self, window_s: float) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        count = steady_window_count(window_s, self.tick_s)
        return self._log.times(count), self._log.columns(count)

    def wait_steady(
        self, window_s: float, timeout_s: float, limits: Mapping[str, tuple[float, float]] | None = None
    ) -> SteadyResult:
        """Run ticks until every judged quantity is steady over the last ``window_s``, or time out."""
        limits = dict(limits or DEFAULT_STEADY_LIMITS)
        start = self.now_s()
        self.hold(window_s)
        while True:
            times, columns = self._recent(window_s)
            judgement = judge_run_window(times, columns, limits)
            detail = steady_detail(judgement)
            all_steady = judgement.steady
            waited = self.now_s() - start
            if self.stream is not None:
                self.stream.publish(
                    "steady",
                    time_s=self.now_s(),
                    steady=all_steady,
                    waited_s=waited,
                    timeout_s=timeout_s,
                    detail=detail,
                    limits={q: list(v) for q, v in limits.items()},
                )
            if all_steady or waited >= timeout_s:
                # window and limits go in the event so that a replay judges exactly what was judged live
                self.event(
                    "steady" if all_steady else "steady_timeout",
                    waited_s=waited,
                    detail=detail,
                    window_s=window_s,
                    limits={q: list(v) for q, v in limits.items()},
                )
                return SteadyResult(all_steady, waited, detail)
            self.tick()

    def average(self, dwell_s: float) -> tuple[float, float]:
        """Run ticks for ``dwell_s``; returns the window (start, end) of the samples to average."""
        start = self.now_s() + self.tick_s / 2  # the next tick's sample is the first of the window
        self.hold(dwell_s)
        return start, self.now_s()

    def window_means(self, start_s: float, end_s: float) -> dict[str, float]:
        """Mean of every channel over the samples with ``start_s <= t <= end_s`` (failed reads left
        out; NaN when none), without recording a point: for a procedure's own decisions (is the flow
        on target, has the head started to fall), never for results."""
        means = {}
        for name, window in self._log.window(start_s, end_s).items():
            if window.size == 1:  # the mean of one reading is that reading (NaN: a failed read)
                means[name] = float(window[0])
                continue
            valid = window[~np.isnan(window)]
            means[name] = float(valid.mean()) if valid.size else math.nan
        return means

    def measure(self, measurement: Measurement, value: float) -> bool:
        """Judge a declared measurement now, show it and log it (``measurements.csv`` is derived)."""
        value = float(value)
        passed = measurement.judge(value)
        verdict = "PASS" if passed else "FAIL"
        graded = f" ({measurement.tolerance})" if measurement.tolerance else ""
        self.progress(
            f"{measurement.name} = {value:.6g} {measurement.unit}, limits {measurement.describe_limits()}"
            f"{graded}: {verdict}"
        )
        extra: dict[str, Any] = {}
        if measurement.grade is not None:
            extra = {
                "grade": measurement.grade,
                "quantity": measurement.quantity,
                "guarantee": measurement.guarantee,
                "tolerance": measurement.tolerance,
            }
        self.event(
            MEASUREMENT_EVENT,
            name=measurement.name,
            value=value,
            unit=measurement.unit,
            low=measurement.low,
            high=measurement.high,
            passed=passed,
            help=measurement.help,
            **extra,
        )
        return passed

    def record_point(self, start_s: float, end_s: float, **labels: Any) -> Point:
        window = window_samples(self._log.times(), self._log.columns(), start_s, end_s)
        point: dict[str, Any] = {**labels, "window_start_s": start_s, "window_end_s": end_s}
        point.update(operating_point(window, self.geometry))
        self.points.append(point)
        if self.stream is not None:
            self.stream.publish_message(Message("point", {"index": len(self.points) - 1, **point}))
        # The event first, then the point's row: a run that dies between the two has the point in its
        # events, from which replay recomputes it (operating_points.csv is never ahead of the events).
        self.event(
            "point", index=len(self.points) - 1, window_start_s=start_s, window_end_s=end_s, labels=labels
        )
        try:
            self.writer.append_point(point)
        except StorageError as exc:
            self._storage_refused(exc)
        return point
