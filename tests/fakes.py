"""Shared test doubles: a scripted register bus, recording instruments, a recording run writer and a
virtual clock that refuses to run away.

The doubles record every call they receive (with the bench time when they have a clock), so a test
asserts on what the code under test *did* (which instrument was commanded, in which tick) rather
than on its internals. None of them opens a port, sleeps or reads the wall clock.

Imports hil's clock, errors and roles only; never drivers/ or simulators/.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hil.core.clock import VirtualClock
from hil.core.errors import TransportTimeout

Reading = dict[str, float]


# ------------------------------------------------------------------------------ register bus
class ScriptedRegisterBus:
    """A RegisterTransport that expects the given calls in order; unused entries fail the test.

    ``script`` holds ``(call, reply)`` pairs where ``call`` is ``("read", address, count, unit)`` or
    ``("write", address, tuple(values), unit)``; a reply that is an exception is raised instead.
    """

    name = "scripted-bus"

    def __init__(self, script: list[tuple[tuple[object, ...], object]]) -> None:
        self.script = list(script)

    def _next(self, call: tuple[object, ...]) -> object:
        assert self.script, f"unexpected {call}"
        expected, reply = self.script.pop(0)
        assert call == expected
        if isinstance(reply, BaseException):
            raise reply
        return reply

    def read_holding_registers(self, address: int, count: int, unit: int) -> list[int]:
        return list(self._next(("read", address, count, unit)))  # type: ignore[call-overload]

    def write_registers(self, address: int, values: Sequence[int], unit: int) -> None:
        self._next(("write", address, tuple(values), unit))

    def close(self) -> None:
        pass

    def assert_done(self) -> None:
        assert not self.script, f"never requested: {self.script}"


# ------------------------------------------------------------------------------ clock
class RunawayLoop(AssertionError):
    """The code under test asked for more bench time than the test allows: it would never end."""


class BoundedVirtualClock(VirtualClock):
    """A VirtualClock that raises :class:`RunawayLoop` instead of advancing past ``limit_s``.

    A loop that never terminates (a ramp that makes no progress, a wait without a timeout) then
    fails the test at once instead of hanging it.
    """

    def __init__(self, start_s: float = 0.0, limit_s: float = 600.0) -> None:
        super().__init__(start_s)
        self.limit_s = limit_s

    def advance_to(self, time_s: float) -> None:
        if time_s > self.limit_s:
            raise RunawayLoop(f"asked to advance to {time_s} s, beyond the test's bound of {self.limit_s} s")
        super().advance_to(time_s)


# ------------------------------------------------------------------------------ instruments
class FakeInstrument:
    """An instrument whose reading is a dict the test edits, recording every call.

    ``values`` is returned (copied) by :meth:`read`; a test changes it between ticks, or puts a
    function of bench time in ``functions`` for a key. Set ``failing = True`` to make every read
    raise TransportTimeout until it is set back, or ``fail_next`` to fail that many reads;
    ``safe_state_error`` makes :meth:`safe_state` raise (after recording the call). ``calls`` lists
    ``(method, bench_time_s, argument)``; a shared ``journal`` list, when given, receives
    ``(name, method, bench_time_s)`` from every instrument that holds it, in call order.
    """

    def __init__(
        self,
        name: str,
        values: Reading | None = None,
        clock: VirtualClock | None = None,
        identity: str = "",
        journal: list[tuple[str, str, float]] | None = None,
    ) -> None:
        self.name = name
        self.values: Reading = dict(values or {})
        self.functions: dict[str, Callable[[float], float]] = {}
        self.clock = clock
        self.identity = identity or f"fake {name}"
        self.failing = False
        self.fail_next = 0
        self.safe_state_error: BaseException | None = None
        self.calls: list[tuple[str, float, Any]] = []
        self.journal = journal

    def _now(self) -> float:
        return self.clock.now_s() if self.clock is not None else math.nan

    def _record(self, method: str, argument: Any = None) -> None:
        now = self._now()
        self.calls.append((method, now, argument))
        if self.journal is not None:
            self.journal.append((self.name, method, now))

    def count(self, method: str) -> int:
        return sum(1 for call in self.calls if call[0] == method)

    def times(self, method: str) -> list[float]:
        return [time_s for name, time_s, _ in self.calls if name == method]

    def arguments(self, method: str) -> list[Any]:
        return [argument for name, _, argument in self.calls if name == method]

    def identify(self) -> str:
        self._record("identify")
        return self.identity

    def read(self) -> Reading:
        self._record("read")
        if self.failing or self.fail_next > 0:
            self.fail_next = max(0, self.fail_next - 1)
            raise TransportTimeout(f"{self.name}: no reply (fake)")
        return self._reading()

    def _reading(self) -> Reading:
        reading = dict(self.values)
        for key, function in self.functions.items():
            reading[key] = function(self._now())
        return reading

    def safe_state(self) -> None:
        self._record("safe_state")
        if self.safe_state_error is not None:
            raise self.safe_state_error


class FakeDrive(FakeInstrument):
    """A pump drive: records setpoints and watchdog feeds; its measured speed follows the command.

    After :meth:`safe_state` the measured speed decays by ``spin_down_factor`` on every read (1.0
    keeps it spinning), which lets a test watch the runner log a spin-down.
    """

    def __init__(
        self,
        name: str = "drive",
        values: Reading | None = None,
        clock: VirtualClock | None = None,
        max_speed_rpm: float = 1e9,
        spin_down_factor: float = 0.5,
        journal: list[tuple[str, str, float]] | None = None,
    ) -> None:
        super().__init__(name, {"speed_rpm": 0.0, **(values or {})}, clock, journal=journal)
        self.max_speed_rpm = max_speed_rpm
        self.spin_down_factor = spin_down_factor
        self.follow_command = True
        self.safe = False

    def set_speed_rpm(self, speed_rpm: float) -> None:
        self._record("set_speed_rpm", speed_rpm)
        self.safe = False
        if self.follow_command:
            self.values["speed_rpm"] = speed_rpm

    def keep_alive(self) -> None:
        self._record("keep_alive")

    def safe_state(self) -> None:
        super().safe_state()
        self.safe = True

    def _reading(self) -> Reading:
        if self.safe:
            self.values["speed_rpm"] *= self.spin_down_factor
        return super()._reading()


class FakeValve(FakeInstrument):
    """A positioned valve recording its openings; safe state is fully open."""

    def __init__(
        self,
        name: str = "valve",
        clock: VirtualClock | None = None,
        journal: list[tuple[str, str, float]] | None = None,
    ) -> None:
        super().__init__(name, {"valve_position_fraction": 1.0}, clock, journal=journal)

    def set_opening(self, opening_fraction: float) -> None:
        self._record("set_opening", opening_fraction)
        self.values["valve_position_fraction"] = opening_fraction

    def safe_state(self) -> None:
        super().safe_state()
        self.values["valve_position_fraction"] = 1.0


class FakeRegulator(FakeInstrument):
    """A pressure regulator recording its setpoints."""

    def __init__(
        self,
        name: str = "regulator",
        clock: VirtualClock | None = None,
        journal: list[tuple[str, str, float]] | None = None,
    ) -> None:
        super().__init__(name, {"tank_pressure_pa": 1.0e5}, clock, journal=journal)

    def set_pressure_pa(self, pressure_pa: float) -> None:
        self._record("set_pressure_pa", pressure_pa)
        self.values["tank_pressure_pa"] = pressure_pa


# ------------------------------------------------------------------------------ run writer
class RecordingWriter:
    """Stands in for hil.store.run_directory.RunWriter: keeps samples and events in memory."""

    def __init__(self, channels: Sequence[str]) -> None:
        self.channels = list(channels)
        self.samples: list[tuple[float, list[float]]] = []
        self.events: list[dict[str, Any]] = []
        self.points: list[dict[str, Any]] = []
        self.metadata: dict[str, Any] = {}

    def update_metadata(self, **fields: Any) -> None:
        self.metadata.update(fields)

    def append_sample(self, time_s: float, values: Sequence[float]) -> None:
        assert len(values) == len(self.channels), "a row must hold one value per channel"
        self.samples.append((time_s, list(values)))

    def append_event(self, event: dict[str, Any]) -> None:
        self.events.append(dict(event))

    def append_point(self, point: Mapping[str, Any]) -> None:
        self.points.append(dict(point))

    def times(self) -> list[float]:
        return [time_s for time_s, _ in self.samples]

    def column(self, channel: str) -> list[float]:
        index = self.channels.index(channel)
        return [values[index] for _, values in self.samples]

    def events_of(self, kind: str) -> list[dict[str, Any]]:
        return [event for event in self.events if event["kind"] == kind]


def spec_crc(data: bytes) -> bytes:
    """Modbus RTU CRC written from the specification (reflected 0xA001, init 0xFFFF, low byte first),
    independently of the code under test."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes((crc & 0xFF, crc >> 8))


def framed(hex_without_crc: str) -> bytes:
    """An RTU frame from its hex body, with the specification CRC appended."""
    body = bytes.fromhex(hex_without_crc)
    return body + spec_crc(body)
