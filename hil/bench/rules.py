"""Cross-field safety rules of a bench file, checked before anything connects.

Each rule exists because a value that passes a field-by-field check could otherwise switch an
interlock off or make a safe state unsafe (design.md: "no value in any file can switch a check off
or make a safe state unsafe"):

* every limit lies in a physically meaningful range (a motor-temperature limit of -500 degC or an
  outlet-pressure limit of 1e308 Pa is a typing error, not a limit);
* the interlock timings are bounded (a ``flow_check_delay_s`` of 1e9 lets a pump run dead-headed for
  the whole test, a ``stale_data_s`` of 1e9 lets a dead instrument go unnoticed), and
  ``running_speed_rpm`` lies below the rated speed (above it, no check that needs the pump turning
  would ever apply);
* safe states are safe: a throttle valve's safe opening leaves the pump a flow path during the
  spin-down, a tank-pressure regulator's safe setpoint stays above the minimum inlet pressure;
* no two actuators share one output (a regulator on the valve's DAC overwrites the valve's safe
  position on a trip);
* each role is filled by an instrument of the right kind (a pressure transducer cannot drive the
  pump), and a drive's own speed limit is not below the bench's;
* channel names are identifiers (they are CSV column names) and none is ``time_s``, the time column.

Rules on the options of a concrete driver look only at values of the right type; anything else is
left to that driver's own check at assembly, which names the field.

Imports only hil's config and errors.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, TypeGuard

from hil.core.errors import ConfigError

if TYPE_CHECKING:
    from hil.bench.config import BenchConfig

MAX_MEANINGFUL_SPEED_RPM = 300_000.0
"""No pump on a bench turns faster (the fastest small turbopumps run near 100,000 rpm): a speed
above it in any file (a limit, a rated or specified speed) is a typing error, and one of 1e300
would overflow the affinity-law conversions (speed ratio cubed)."""

LIMIT_RANGES: dict[str, tuple[float, float]] = {
    "max_speed_rpm": (1.0, MAX_MEANINGFUL_SPEED_RPM),
    "max_outlet_pressure_pa": (1.0e4, 1.0e8),
    "max_motor_current_a": (0.1, 5_000.0),
    "max_motor_temperature_c": (1.0, 300.0),
    "max_controller_temperature_c": (1.0, 200.0),
    "min_inlet_pressure_pa": (0.0, 1.0e7),
    "min_flow_while_running_m3_s": (1.0e-9, 10.0),
    "running_speed_rpm": (1.0, MAX_MEANINGFUL_SPEED_RPM),
    "flow_check_delay_s": (0.0, 30.0),
    "stale_data_s": (0.01, 10.0),
    "max_fluid_temperature_c": (1.0, 100.0),
    "frozen_data_s": (0.0, 60.0),
}
"""Accepted range of each limit: wide enough for any pump bench, narrow enough that no value turns
its check off (a minimum flow of 0 would never trip; timings above 10-60 s stop guarding a run).
Water boils at 100 degC at one atmosphere: a fluid-temperature limit above it protects nothing."""

MIN_SAFE_VALVE_OPENING = 0.5
"""A throttle valve's safe state leaves at least half its opening, so a pump spinning down never
runs dead-headed against it."""

DRIVE_DRIVERS = frozenset({"vesc", "odrive"})
MEASURING_DRIVERS = frozenset({"keller", "micromotion", "wt310", "truevolt-4-20ma"})
ACTUATOR_PARTS = {"throttle_valve": "valve", "tank_pressure": "regulator"}
"""For a DAQ (``labjack-t7``): the option table that each actuator role must name (``daq.valve``)."""

RESERVED_CHANNELS = frozenset({"time_s"})


def check_bench_rules(config: BenchConfig) -> None:
    """Raise ConfigError (file, field, what to change) on the first rule the bench breaks."""
    _check_limits(config)
    _check_channels(config)
    _check_roles(config)
    _check_actuators(config)


def _error(config: BenchConfig, field: str, problem: str) -> ConfigError:
    return ConfigError(config.source, field, problem)


def _check_limits(config: BenchConfig) -> None:
    limits = config.limits
    for name, (low, high) in LIMIT_RANGES.items():
        value = getattr(limits, name)
        if not low <= value <= high:
            raise _error(
                config, f"limits.{name}", f"{value:g} is outside the meaningful range {low:g}..{high:g}"
            )
    if limits.running_speed_rpm >= config.geometry.rated_speed_rpm:
        raise _error(
            config,
            "limits.running_speed_rpm",
            f"{limits.running_speed_rpm:g} rpm is not below bench.rated_speed_rpm "
            f"({config.geometry.rated_speed_rpm:g}): the checks that need the pump turning would never apply",
        )
    if limits.min_inlet_pressure_pa >= limits.max_outlet_pressure_pa:
        raise _error(config, "limits.min_inlet_pressure_pa", "must be below limits.max_outlet_pressure_pa")
    if 0.0 < limits.frozen_data_s < config.tick_s:
        raise _error(
            config, "limits.frozen_data_s", f"must be 0 (off) or at least one tick ({config.tick_s:g} s)"
        )


def _check_channels(config: BenchConfig) -> None:
    for inst in config.instruments.values():
        for channel in inst.channels:
            field = f"instruments.{inst.name}.channels.{channel}"
            if not (channel.isascii() and channel.isidentifier()):
                raise _error(config, field, "a channel name is a column name: letters, digits and _ only")
            if channel in RESERVED_CHANNELS:
                raise _error(config, field, f"{channel!r} is the run log's time column; choose another name")


def _check_roles(config: BenchConfig) -> None:
    for role, target in config.roles.items():
        name, _, part = target.partition(".")
        inst = config.instruments.get(name)
        if inst is None:
            continue  # named by the table check
        if inst.driver in MEASURING_DRIVERS:
            raise _error(
                config,
                f"roles.{role}",
                f"{target!r} is a {inst.driver} measuring instrument; it cannot be the {role}",
            )
        if role == "pump_drive" and inst.driver not in DRIVE_DRIVERS and inst.driver == "labjack-t7":
            raise _error(config, f"roles.{role}", f"{target!r} is a DAQ; the pump_drive is a motor drive")
        if role in ACTUATOR_PARTS and inst.driver in DRIVE_DRIVERS:
            raise _error(config, f"roles.{role}", f"{target!r} is a motor drive; the {role} is an actuator")
        if role in ACTUATOR_PARTS and inst.driver == "labjack-t7":
            wanted = ACTUATOR_PARTS[role]
            if part != wanted:
                raise _error(
                    config,
                    f"roles.{role}",
                    f"expected {name}.{wanted} (the DAQ's {wanted} table), got {target!r}",
                )
            if wanted not in inst.options.data:
                raise _error(config, f"roles.{role}", f"instrument {name!r} has no {wanted} table")
        if inst.driver in DRIVE_DRIVERS:
            drive_max = inst.options.data.get("max_speed_rpm")
            if (
                _number(drive_max) and 0 < drive_max < config.limits.max_speed_rpm
            ):  # <= 0: the drive's own check
                raise _error(
                    config,
                    f"instruments.{name}.max_speed_rpm",
                    f"the drive's {drive_max:g} rpm is below limits.max_speed_rpm "
                    f"({config.limits.max_speed_rpm:g}): lower the bench limit or raise the drive's",
                )


def _check_actuators(config: BenchConfig) -> None:
    limits = config.limits
    for inst in config.instruments.values():
        if inst.driver != "labjack-t7":
            continue
        valve, regulator = inst.options.data.get("valve"), inst.options.data.get("regulator")
        prefix = f"instruments.{inst.name}"
        if isinstance(valve, dict):
            opening = valve.get("safe_opening_fraction", 1.0)
            if _number(opening) and not opening >= MIN_SAFE_VALVE_OPENING:
                raise _error(
                    config,
                    f"{prefix}.valve.safe_opening_fraction",
                    f"{opening:g} would throttle a pump spinning down; at least {MIN_SAFE_VALVE_OPENING:g}",
                )
        if isinstance(regulator, dict):
            safe_pa = regulator.get("safe_pressure_pa")
            if (
                _number(safe_pa)
                and not limits.min_inlet_pressure_pa < safe_pa <= limits.max_outlet_pressure_pa
            ):
                raise _error(
                    config,
                    f"{prefix}.regulator.safe_pressure_pa",
                    f"{safe_pa:g} Pa must lie above limits.min_inlet_pressure_pa "
                    f"({limits.min_inlet_pressure_pa:g}) and at most limits.max_outlet_pressure_pa",
                )
        if isinstance(valve, dict) and isinstance(regulator, dict):
            dac = valve.get("dac")
            if isinstance(dac, int) and regulator.get("dac") == dac:
                raise _error(
                    config,
                    f"{prefix}.regulator.dac",
                    f"DAC{dac} already drives the valve: one output, one actuator",
                )


def _number(value: Any) -> TypeGuard[float]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:  # a 400-digit integer: not a number a driver takes either (its own check says so)
        return False
