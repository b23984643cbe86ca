"""A plant that plays a logged run back: it serves the channel values a run recorded, by bench time.

:class:`ReplayPlant` offers what the virtual bench's emulators use of
:class:`simulators.plant.PumpLoop` (``measured(name)``, ``motor_state()``, ``time_s``, the commands,
``advance_to``), but instead of physics it serves, at bench time ``t``, the last logged row at or
before ``t``. Put into :class:`simulators.virtual_bench.VirtualBench` (``plant=``), it makes a
"replay bench": the run's procedure runs again through the real drivers, wire protocols, emulators,
runner and run store, and sees the values the live run saw, re-encoded by the emulators. Commands
are recorded (``commands``) and otherwise ignored: the log, not the command, decides what is read.

There is no truth here: only what the instruments reported. Quantities the log does not hold are
served as stated below (the drivers read them, nothing derives from them): the transducers' body
temperatures as the fluid temperature, the drive's duty and energy counters as zero.

Wire formats re-encode logged values exactly where the decoded value came from the same format:
a float32 register (Keller pressure in bar, Coriolis flow, density and temperature) converted to SI
and back rounds to the same float32; VESC fixed-point fields give back the same integers; SCPI
numbers keep their digits. Analog inputs (LabJack volts) are computed from the SI value and
rounded to float32, which may move the last bit of the recovered value.

``channels`` maps each plant sensor name (:data:`simulators.plant.SENSOR_NAMES`) to the run channel
that holds it; :data:`SIM_BENCH_SENSORS` and :data:`SIM_BENCH_MOTOR` are the built-in virtual bench's
wiring (``hil/data/sim_bench.toml``).

Imports numpy and :mod:`simulators.plant` only; must not import drivers/.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from simulators.plant import SENSOR_NAMES, MotorState

SIM_BENCH_SENSORS: dict[str, str] = {
    "p_inlet_pa": "p_inlet_pa",
    "p_outlet_pa": "p_outlet_pa",
    "mass_flow_kg_s": "mass_flow_kg_s",
    "volume_flow_m3_s": "flow_m3_s",
    "density_kg_m3": "coriolis_density_kg_m3",
    "fluid_temperature_c": "fluid_temperature_c",
    "valve_position_fraction": "valve_position_fraction",
    "tank_pressure_pa": "tank_pressure_pa",
    "bus_voltage_v": "bus_voltage_v",
    "bus_current_a": "bus_current_a",
    "bus_power_w": "electrical_power_w",
    "transducer_inlet_temperature_c": "fluid_temperature_c",
    "transducer_outlet_temperature_c": "fluid_temperature_c",
}
"""Plant sensor -> run channel on the built-in virtual bench (transducer body temperatures are not
logged: the fluid temperature stands in)."""

SIM_BENCH_MOTOR: dict[str, str] = {
    "speed_rpm": "speed_rpm",
    "motor_current_a": "motor_current_a",
    "input_current_a": "drive_input_current_a",
    "bus_voltage_v": "drive_bus_voltage_v",
    "temp_fet_c": "controller_temperature_c",
    "temp_motor_c": "motor_temperature_c",
    "fault_code": "drive_fault_code",
}
"""Motor-controller state field -> run channel on the built-in virtual bench."""


class ReplayPlant:
    """Logged channel values served by bench time to the virtual bench's emulators."""

    def __init__(
        self,
        times_s: np.ndarray,
        columns: Mapping[str, np.ndarray],
        sensors: Mapping[str, str] = SIM_BENCH_SENSORS,
        motor: Mapping[str, str] = SIM_BENCH_MOTOR,
        pole_pairs: int = 2,
    ) -> None:
        times = np.asarray(times_s, dtype=np.float64)
        if times.ndim != 1 or times.size == 0 or np.any(np.diff(times) <= 0):
            raise ValueError("replay plant: times_s must be a non-empty, strictly increasing 1-D array")
        unknown = sorted(set(sensors) - set(SENSOR_NAMES))
        if unknown:
            raise ValueError(
                f"replay plant: unknown plant sensor(s) {unknown}; valid: {', '.join(SENSOR_NAMES)}"
            )
        missing = sorted({c for c in [*sensors.values(), *motor.values()] if c not in columns})
        if missing:
            raise ValueError(f"replay plant: the log has no channel(s) {missing}")
        self._times = times
        self._columns = {name: np.asarray(values, dtype=np.float64) for name, values in columns.items()}
        self._sensors = dict(sensors)
        self._motor = dict(motor)
        self._pole_pairs = pole_pairs
        self._row = 0
        self.time_s = 0.0
        self.commands: list[tuple[float, str, float]] = []

    # ---- time -------------------------------------------------------------------------------------

    def advance_to(self, time_s: float) -> None:
        """Serve the last logged row at or before ``time_s`` (the first row before the log starts)."""
        if not time_s > self.time_s:
            return
        self.time_s = time_s
        # A relative nanosecond forgives float noise in how the harness adds up its tick times.
        index = int(np.searchsorted(self._times, time_s * (1 + 1e-12) + 1e-12, side="right")) - 1
        self._row = max(index, 0)

    # ---- readings ---------------------------------------------------------------------------------

    def _value(self, channel: str) -> float:
        return float(self._columns[channel][self._row])

    def measured(self, name: str) -> float:
        try:
            channel = self._sensors[name]
        except KeyError:
            raise KeyError(f"replay plant: sensor {name!r} is not mapped to a logged channel") from None
        return self._value(channel)

    def motor_state(self) -> MotorState:
        m = self._motor

        def get(field: str) -> float:
            return self._value(m[field]) if field in m else 0.0

        fault = get("fault_code")
        return MotorState(
            speed_rpm=get("speed_rpm"),
            motor_current_a=get("motor_current_a"),
            input_current_a=get("input_current_a"),
            bus_voltage_v=get("bus_voltage_v"),
            duty=0.0,
            temp_fet_c=get("temp_fet_c"),
            temp_motor_c=get("temp_motor_c"),
            fault_code=int(fault) if math.isfinite(fault) else 0,
            amp_hours=0.0,
            watt_hours=0.0,
            tachometer=0,
            pole_pairs=self._pole_pairs,
        )

    # ---- commands (recorded, not acted on) --------------------------------------------------------

    def _record(self, what: str, value: float) -> None:
        self.commands.append((self.time_s, what, float(value)))

    def command_speed_rpm(self, mechanical_rpm: float) -> None:
        self._record("speed_rpm", mechanical_rpm)

    def command_current_a(self, current_a: float) -> None:
        self._record("current_a", current_a)

    def set_valve_command(self, opening_fraction: float) -> None:
        self._record("valve_opening_fraction", opening_fraction)

    def set_tank_pressure_command_pa(self, pressure_pa: float) -> None:
        self._record("tank_pressure_pa", pressure_pa)

    def describe(self) -> dict[str, Any]:
        return {
            "rows": int(self._times.size),
            "first_s": float(self._times[0]),
            "last_s": float(self._times[-1]),
        }
