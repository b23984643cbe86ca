"""Commissioning by hand: read every channel of a bench, or send one setpoint to one instrument.

What a person does first on a new bench, before any procedure: see that every instrument answers with
sensible numbers (``hil bench read``), then move one actuator at a time (``hil bench set``). Both work on
a connected :class:`~hil.run.assembly.Bench` through the same drivers and roles as a run.

``set`` checks the value against the bench file's limits *and* the driver's range before anything is
sent (a drive's speed against ``limits.max_speed_rpm``, a tank pressure against
``limits.min_inlet_pressure_pa``), holds it for the requested bench time while feeding the drive's
watchdog and printing the instrument's reading, and always leaves the instrument in its safe state,
whatever happened (Ctrl-C included). What can be set:

* the pump drive: ``speed_rpm``;
* a valve: ``opening_fraction``; a pressure regulator: ``pressure_pa``;
* any instrument with named setpoints (the generic Modbus and SCPI drivers, the DC supply): those
  names, within their ranges (``hil bench read`` lists them).

Imports hil's bench side, clock and errors only.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from hil.bench.roles import PressureRegulator, PumpDrive, Valve
from hil.core.clock import Clock
from hil.core.errors import LimitError
from hil.run.assembly import Bench


def channel_readings(bench: Bench) -> dict[str, dict[str, float]]:
    """Every instrument's run channels, as the runner would record them now (NaN: not in the reading)."""
    readings = {}
    for name, instrument in bench.instruments.items():
        reading = instrument.read()
        mapping = bench.config.instruments[name].channels
        readings[name] = {channel: float(reading.get(key, math.nan)) for channel, key in mapping.items()}
    return readings


def format_readings(readings: dict[str, dict[str, float]], time_s: float) -> str:
    lines = [f"bench time {time_s:.2f} s"]
    for name, channels in readings.items():
        for channel, value in channels.items():
            lines.append(f"  {name:<10} {channel:<28} {value:.6g}")
    return "\n".join(lines)


def targets(bench: Bench) -> dict[str, Any]:
    """Everything that can be set, by the name a person types: instruments and role targets."""
    found: dict[str, Any] = dict(bench.instruments)
    for role, target in bench.config.roles.items():
        found[target] = {
            "pump_drive": bench.pump_drive,
            "throttle_valve": bench.throttle_valve,
            "tank_pressure": bench.tank_pressure,
        }.get(role, found.get(target))
    return found


def setpoint_ranges(bench: Bench, target: Any) -> dict[str, tuple[float, float]]:
    """What ``target`` accepts, already narrowed to the bench file's limits."""
    limits = bench.config.limits
    ranges: dict[str, tuple[float, float]] = {}
    if isinstance(target, PumpDrive):
        ranges["speed_rpm"] = (0.0, min(limits.max_speed_rpm, target.max_speed_rpm))
    if isinstance(target, Valve):
        ranges["opening_fraction"] = (0.0, 1.0)
    if isinstance(target, PressureRegulator):
        ranges["pressure_pa"] = (limits.min_inlet_pressure_pa, math.inf)
    for quantity, (low, high) in getattr(target, "setpoint_ranges", {}).items():
        if quantity == "speed_rpm":
            high = min(high, limits.max_speed_rpm)
        ranges[quantity] = (low, high)
    return ranges


def set_and_hold(
    bench: Bench,
    clock: Clock,
    name: str,
    quantity: str,
    value: float,
    hold_s: float,
    show: Callable[[str], None],
    interval_s: float = 1.0,
    stop_requested: Callable[[], bool] = lambda: False,
) -> bool:
    """Send one setpoint, hold it for ``hold_s`` of bench time showing the reading, then go safe.

    ``stop_requested`` is asked every tick (an operator's Ctrl-C recorded by
    :class:`hil.run.stop.StopRequests`): the hold ends there and the safe state follows as always.
    Returns whether the whole hold ran."""
    found = targets(bench)
    target = found.get(name)
    if target is None:
        raise LimitError(
            f"no instrument or role target {name!r} on this bench (known: {', '.join(sorted(found))})"
        )
    ranges = setpoint_ranges(bench, target)
    if quantity not in ranges:
        known = ", ".join(sorted(ranges)) or "none: it has nothing to set"
        raise LimitError(f"{name} has no setpoint {quantity!r} (known: {known})")
    low, high = ranges[quantity]
    if not (math.isfinite(value) and low <= value <= high):
        raise LimitError(
            f"{name}: {quantity} = {value:g} is outside {low:g} .. {high:g} (bench and driver limits); nothing was sent"
        )
    drive = bench.pump_drive
    try:
        if quantity == "speed_rpm" and isinstance(target, PumpDrive):
            target.set_speed_rpm(value)
        elif quantity == "opening_fraction" and isinstance(target, Valve):
            target.set_opening(value)
        elif quantity == "pressure_pa" and isinstance(target, PressureRegulator):
            target.set_pressure_pa(value)
        else:
            target.set_value(quantity, value)
        show(f"{name}: {quantity} = {value:g} sent")
        tick_s = bench.config.tick_s
        ticks_per_line = max(1, round(interval_s / tick_s))
        ticks = max(0, math.ceil(hold_s / tick_s - 1e-9))
        for tick in range(ticks + 1):
            if stop_requested():
                show(f"{name}: hold stopped at t = {tick * tick_s:.2f} s")
                return False
            # every tick, as the runner does: feed the drive's watchdog and read it back (the reply
            # proves the controller took every command before bench time moves on)
            drive.keep_alive()
            drive.read()
            if tick % ticks_per_line == 0 or tick == ticks:
                show(f"  t = {tick * tick_s:6.2f} s  " + _short(target.read()))
            if tick < ticks:
                clock.sleep(tick_s)
        return True
    finally:
        target.safe_state()
        if target is not drive and quantity == "speed_rpm":
            drive.safe_state()
        show(f"{name}: safe state commanded")


def _short(reading: dict[str, float]) -> str:
    return "  ".join(f"{key}={value:.6g}" for key, value in reading.items())
