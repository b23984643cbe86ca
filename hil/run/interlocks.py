"""The bench's interlocks: which tick's readings trip the bench, and what they remember between ticks.

:class:`Interlocks` checks one tick's row against the bench limits and returns the first violation
as an :class:`~hil.core.errors.InterlockTrip`; the runner (:mod:`hil.run.runner`) owns what follows
(the latched trip, the safe state, the events). Kept apart from the tick loop so the rules that stop
a pump can be read in one place.

What trips, besides a limit crossed (speed, outlet pressure, motor current and temperatures, fluid
temperature; inlet pressure and minimum flow while running):

* A drive reporting a fault code, at once.
* An infinite reading (an instrument's overload, 9.9E37), at once, on any channel: the quantity is
  beyond what the instrument can measure.
* Stale data: an instrument without fresh data (a reading without NaN) for more than
  ``stale_data_s``, said with its last read error.
* A frozen reading, on benches that set ``frozen_data_s``: while the pump runs, a process channel
  (:data:`FROZEN_CHECK_CHANNELS`) repeating the very same value for longer than that. Real
  transducers and meters move in their last digits while a pump runs; one that does not is stuck.
  The time must exceed the slowest update interval of those instruments.

The minimum-flow (dead-head, dry-run) check waits ``flow_check_delay_s`` after a start from rest (a
command reaching ``running_speed_rpm`` from below it) or after a large change of the speed command,
more than :data:`LARGE_SPEED_CHANGE_FRACTION` of the bench's ``max_speed_rpm`` in one command: the
flow takes that long to build after a start, and a step that large moves the operating point far
enough (head goes with the square of speed) that on a bench with a static lift or a check valve the
flow may stop for a moment while the loop settles. Smaller commands (a ramp's steps, a controller's
trims, a closed-loop mission profile commanding the speed every tick) never restart the grace: a
valve that shuts during them trips within ``flow_check_delay_s`` at most, and usually as soon as the
flow falls below the minimum.

Imports hil's bench file (limits) and errors only.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping

from hil.bench.config import BenchLimits
from hil.core.errors import InterlockTrip

FROZEN_CHECK_CHANNELS = ("p_inlet_pa", "p_outlet_pa", "flow_m3_s", "electrical_power_w")
"""Process channels whose analog noise makes a bit-for-bit repeated value a stuck instrument."""
LARGE_SPEED_CHANGE_FRACTION = 0.1
"""A speed command that moves more than this fraction of ``max_speed_rpm`` from the previous command
restarts the minimum-flow grace (module docstring). 10 % of the maximum is 3,300 rpm on the built-in
bench: a throttle step or a mission's throttle change is larger, a ramp's step at 20,000 rpm/s and
10 Hz (2,000 rpm) or a pressure controller's trim is smaller."""


class Interlocks:
    """The limit checks of one run and what they remember between ticks.

    Times are run-relative, like every time the runner logs. ``label`` gives an instrument's name as
    errors say it (:meth:`hil.run.assembly.Bench.label`).
    """

    def __init__(self, limits: BenchLimits, instruments: Iterable[str], label: Callable[[str], str]) -> None:
        self.limits = limits
        self._label = label
        self._last_good_s = {name: 0.0 for name in instruments}
        self._last_error: dict[str, str] = {}
        """Each instrument's last read error (named), said with a stale-data trip."""
        self._last_value: dict[str, float] = {}
        self._last_change_s: dict[str, float] = {}
        self.speed_command_rpm = 0.0
        """The last speed command (0 after a trip): the checks that apply while running key on it."""
        self._flow_grace_from_s = 0.0  # the last start from rest or large speed change (see above)
        self._running_since_s = 0.0

    # ----------------------------------------------------------------- what the runner tells them
    def fresh_data(self, name: str, now: float) -> None:
        """``name`` gave a reading without NaN (NaN is "no data": not fresh)."""
        self._last_good_s[name] = now

    def read_failed(self, name: str, error: str) -> None:
        """``name``'s read failed with ``error`` (already naming the instrument)."""
        self._last_error[name] = error

    def track_changes(self, now: float, row: Mapping[str, float]) -> None:
        """Note when each process channel last changed (the frozen-reading check)."""
        for channel in FROZEN_CHECK_CHANNELS:
            value = row.get(channel, math.nan)
            if not value == self._last_value.get(channel):  # NaN never equals: a gap is no freeze
                self._last_value[channel] = value
                self._last_change_s[channel] = now

    def speed_commanded(self, speed_rpm: float, now: float) -> None:
        """A speed command was sent: a start from rest or a large change restarts the minimum-flow grace."""
        running = self.limits.running_speed_rpm
        start_from_rest = speed_rpm >= running > self.speed_command_rpm
        if start_from_rest:
            self._running_since_s = now
        large = (
            abs(speed_rpm - self.speed_command_rpm) > LARGE_SPEED_CHANGE_FRACTION * self.limits.max_speed_rpm
        )
        if start_from_rest or large:
            self._flow_grace_from_s = now
        self.speed_command_rpm = speed_rpm

    def tripped(self) -> None:
        """The bench went to its safe state: the pump is commanded to stop."""
        self.speed_command_rpm = 0.0

    # ----------------------------------------------------------------- the checks
    def violation(
        self, now: float, row: Mapping[str, float]
    ) -> tuple[InterlockTrip, dict[str, float]] | None:
        """The first limit this tick's row violates, as the trip and the values that caused it; None
        when every check holds."""
        lim = self.limits
        running = self.speed_command_rpm >= lim.running_speed_rpm
        checks: list[tuple[str, str, float, float, bool]] = [
            # (reason, channel, value, limit, violated)
        ]

        def above(channel: str, limit: float, reason: str) -> None:
            value = row.get(channel, math.nan)
            if not math.isnan(value):
                checks.append((reason, channel, value, limit, value > limit))

        above("speed_rpm", lim.max_speed_rpm, "speed above limit")
        above("p_outlet_pa", lim.max_outlet_pressure_pa, "outlet pressure above limit")
        above("motor_current_a", lim.max_motor_current_a, "motor current above limit")
        above("motor_temperature_c", lim.max_motor_temperature_c, "motor temperature above limit")
        above(
            "controller_temperature_c", lim.max_controller_temperature_c, "controller temperature above limit"
        )
        above("fluid_temperature_c", lim.max_fluid_temperature_c, "fluid temperature above limit")
        fault = row.get("drive_fault_code", 0.0)
        if fault and not math.isnan(fault):
            checks.append(("drive reports a fault", "drive_fault_code", fault, 0.0, True))
        for channel, value in row.items():
            if math.isinf(value):
                checks.append(("overload reading", channel, value, math.inf, True))
        if running:
            p_in = row.get("p_inlet_pa", math.nan)
            if not math.isnan(p_in):
                checks.append(
                    (
                        "inlet pressure below limit",
                        "p_inlet_pa",
                        p_in,
                        lim.min_inlet_pressure_pa,
                        p_in < lim.min_inlet_pressure_pa,
                    )
                )
            flow = row.get("flow_m3_s", math.nan)
            if now - self._flow_grace_from_s > lim.flow_check_delay_s and not math.isnan(flow):
                checks.append(
                    (
                        "flow below minimum while running (dead-head or dry run)",
                        "flow_m3_s",
                        flow,
                        lim.min_flow_while_running_m3_s,
                        flow < lim.min_flow_while_running_m3_s,
                    )
                )
            for channel in FROZEN_CHECK_CHANNELS if lim.frozen_data_s > 0 else ():
                if channel in self._last_change_s and not math.isnan(row.get(channel, math.nan)):
                    unchanged = now - max(self._last_change_s[channel], self._running_since_s)
                    if unchanged > lim.frozen_data_s:
                        checks.append(
                            (
                                f"frozen reading (unchanged for {unchanged:.3g} s)",
                                channel,
                                row[channel],
                                lim.frozen_data_s,
                                True,
                            )
                        )
        for name, last in self._last_good_s.items():
            age = now - last
            if age > lim.stale_data_s:
                label = self._label(name)
                error = self._last_error.get(name, "").removeprefix(label).removeprefix(": ")
                said = f"stale data from {label}" + (f" (last error: {error})" if error else "")
                checks.append((said, f"{name}.age_s", age, lim.stale_data_s, True))
        for reason, channel, value, limit, violated in checks:
            if violated:
                trip = InterlockTrip(
                    f"{reason}: {channel} = {value:.6g}, limit {limit:.6g}", {channel: value, "limit": limit}
                )
                return trip, {channel: value}
        return None
