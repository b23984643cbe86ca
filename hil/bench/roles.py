"""Roles: the small interfaces procedures and the runner use, never a concrete driver.

Every instrument is :class:`Instrument` (identify, read all its channels, go safe). Actuators add a
role of their own. Readings are plain ``dict[str, float]`` keyed by SI names with the unit in the
name (``pressure_pa``, ``speed_rpm``); the bench file maps them onto run channels.

Imports nothing from the rest of the project.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

Reading = dict[str, float]


@runtime_checkable
class Instrument(Protocol):
    """Anything on the bench the runner samples."""

    def identify(self) -> str:
        """The instrument's own identity (maker, model, serial, firmware) as it reports it."""
        ...

    def read(self) -> Reading:
        """One fresh sample of every quantity the instrument measures, in SI units."""
        ...

    def safe_state(self) -> None:
        """Put the instrument in its safe state; must be callable at any time, repeatedly."""
        ...


@runtime_checkable
class PumpDrive(Instrument, Protocol):
    """A motor controller driving the pump in closed-loop speed control."""

    max_speed_rpm: float

    def set_speed_rpm(self, speed_rpm: float) -> None:
        """Command a mechanical shaft speed; raises LimitError beyond the drive's range."""
        ...

    def keep_alive(self) -> None:
        """Feed the controller's command watchdog. The runner calls it every tick, or, when the drive
        has a ``keep_alive_interval_s`` attribute (optional: how often its watchdog needs feeding),
        only once that long has passed since the last command or feed."""
        ...


@runtime_checkable
class Valve(Instrument, Protocol):
    """A positioned valve (throttle valve, bypass)."""

    def set_opening(self, opening_fraction: float) -> None:
        """Command an opening between 0 (shut) and 1 (fully open); raises LimitError outside."""
        ...


@runtime_checkable
class PressureRegulator(Instrument, Protocol):
    """A regulator that sets a pressure (the suction tank's ullage pressure)."""

    def set_pressure_pa(self, pressure_pa: float) -> None: ...


class PressureSensor(Instrument, Protocol):
    """Reads ``pressure_pa`` (absolute) and possibly ``temperature_c``."""


class FlowMeter(Instrument, Protocol):
    """Reads ``volume_flow_m3_s`` and possibly mass flow, density and temperature."""


class PowerMeter(Instrument, Protocol):
    """Reads ``voltage_v``, ``current_a`` and ``power_w`` of the measured supply."""
