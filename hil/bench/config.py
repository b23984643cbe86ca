"""The bench file: what instruments a bench has, how to reach them, and the limits it must respect.

A bench file is TOML. The built-in virtual bench (``hil/data/sim_bench.toml``, named ``sim`` on the
command line) is an ordinary bench file whose resources read ``sim:NAME``; copying it and replacing
those with ``/dev/ttyUSB0``, ``tcp://10.0.0.5:502`` or a VISA resource string moves the same
procedure to real hardware. The ``[virtual]`` table, present only in simulated benches, tells the
harness to start the virtual bench in-process and which seed and plant overrides to use.

Driver-specific options stay as :class:`~hil.core.config.Section` objects until the bench is assembled, so
each driver checks its own fields (and rejects unknown ones) with the file and field in the message.

Imports only hil's config and errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from hil.core.config import Section, load_toml
from hil.core.errors import ConfigError

BUILTIN_BENCHES = {"sim": "sim_bench.toml"}
STANDARD_CHANNELS = (
    "speed_rpm",
    "flow_m3_s",
    "p_inlet_pa",
    "p_outlet_pa",
    "electrical_power_w",
    "fluid_temperature_c",
)


@dataclass(frozen=True)
class BenchGeometry:
    """Where the pressure taps are: needed for the velocity and elevation terms of the head."""

    inlet_diameter_m: float
    outlet_diameter_m: float
    inlet_height_m: float
    outlet_height_m: float
    impeller_diameter_m: float
    rated_speed_rpm: float


@dataclass(frozen=True)
class BenchLimits:
    """Limits the runner checks on every tick; a violation trips the bench to its safe state."""

    max_speed_rpm: float
    max_outlet_pressure_pa: float
    max_motor_current_a: float
    max_motor_temperature_c: float
    max_controller_temperature_c: float
    min_inlet_pressure_pa: float
    min_flow_while_running_m3_s: float
    running_speed_rpm: float
    flow_check_delay_s: float
    stale_data_s: float
    max_fluid_temperature_c: float
    frozen_data_s: float = 0.0
    """A process channel (pressures, flow, power) repeating the very same value this long while the
    pump runs is a stuck instrument and trips; 0 turns the check off. Must exceed the slowest update
    interval of those instruments (a meter updating every 0.5 s repeats its value between updates)."""


@dataclass(frozen=True)
class InstrumentConfig:
    name: str
    driver: str
    options: Section
    channels: dict[str, str]
    accuracy: dict[str, float]


@dataclass(frozen=True)
class BusConfig:
    name: str
    kind: str
    resource: str
    baudrate: int
    timeout_s: float


@dataclass(frozen=True)
class VirtualConfig:
    seed: int
    plant: dict[str, Any]
    faults: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class BenchConfig:
    name: str
    source: str
    text: str
    tick_s: float
    fluid: str
    geometry: BenchGeometry
    limits: BenchLimits
    buses: dict[str, BusConfig]
    instruments: dict[str, InstrumentConfig]
    roles: dict[str, str]
    virtual: VirtualConfig | None

    def channel_accuracy(self) -> dict[str, float]:
        """Stated accuracy (fraction of reading) of every run channel that has one."""
        merged: dict[str, float] = {}
        for instrument in self.instruments.values():
            merged.update(instrument.accuracy)
        return merged


def _string_list(section: Section, key: str) -> list[str]:
    value = section.raw(key, [])
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise section.error(key, "expected a list of strings")
    return list(value)


def resolve_bench_path(name_or_path: str) -> Path:
    """``sim`` names the built-in virtual bench; anything else is a path."""
    if name_or_path in BUILTIN_BENCHES:
        return Path(str(resources.files("hil") / "data" / BUILTIN_BENCHES[name_or_path]))
    return Path(name_or_path)


def load_bench(name_or_path: str) -> BenchConfig:
    path = resolve_bench_path(name_or_path)
    data = load_toml(path)
    text = path.read_text(encoding="utf-8")
    return parse_bench(data, str(path), text)


def parse_bench(data: dict[str, Any], source: str, text: str = "") -> BenchConfig:
    top = Section(data, source)
    bench = top.section("bench")
    name = bench.get("name", str)
    tick_hz = bench.get("tick_hz", float, 10.0, minimum=0.5, maximum=1000.0)
    fluid = bench.get("fluid", str, "water", choices=("water",))
    geometry = BenchGeometry(
        inlet_diameter_m=bench.get("inlet_diameter_m", float, minimum=1e-4, maximum=2.0),
        outlet_diameter_m=bench.get("outlet_diameter_m", float, minimum=1e-4, maximum=2.0),
        inlet_height_m=bench.get("inlet_height_m", float, 0.0),
        outlet_height_m=bench.get("outlet_height_m", float, 0.0),
        impeller_diameter_m=bench.get("impeller_diameter_m", float, minimum=1e-3, maximum=5.0),
        rated_speed_rpm=bench.get("rated_speed_rpm", float, minimum=1.0),
    )
    bench.finish()

    lim = top.section("limits")
    limits = BenchLimits(
        max_speed_rpm=lim.get("max_speed_rpm", float, minimum=0.0),
        max_outlet_pressure_pa=lim.get("max_outlet_pressure_pa", float, minimum=0.0),
        max_motor_current_a=lim.get("max_motor_current_a", float, minimum=0.0),
        max_motor_temperature_c=lim.get("max_motor_temperature_c", float),
        max_controller_temperature_c=lim.get("max_controller_temperature_c", float),
        min_inlet_pressure_pa=lim.get("min_inlet_pressure_pa", float, minimum=0.0),
        min_flow_while_running_m3_s=lim.get("min_flow_while_running_m3_s", float, minimum=0.0),
        running_speed_rpm=lim.get("running_speed_rpm", float, minimum=0.0),
        flow_check_delay_s=lim.get("flow_check_delay_s", float, 3.0, minimum=0.0),
        stale_data_s=lim.get("stale_data_s", float, 1.0, minimum=0.0),
        max_fluid_temperature_c=lim.get("max_fluid_temperature_c", float, 60.0),
        frozen_data_s=lim.get("frozen_data_s", float, 0.0, minimum=0.0),
    )
    lim.finish()
    if limits.max_speed_rpm > 0 and geometry.rated_speed_rpm > limits.max_speed_rpm:
        raise ConfigError(source, "bench.rated_speed_rpm", "exceeds limits.max_speed_rpm")

    buses = {}
    for bus_name, section in top.sections("buses").items():
        buses[bus_name] = BusConfig(
            name=bus_name,
            kind=section.get("kind", str, choices=("modbus-rtu", "modbus-tcp")),
            resource=section.get("resource", str),
            baudrate=section.get("baudrate", int, 9600, minimum=300),
            timeout_s=section.get("timeout_s", float, 0.5, minimum=0.001, maximum=60.0),
        )
        section.finish()

    instruments = {}
    for inst_name, section in top.sections("instruments").items():
        driver = section.get("driver", str)
        channels = section.str_map("channels", {})
        accuracy = section.float_map("accuracy", {})
        for channel, fraction in accuracy.items():
            if not 0.0 < fraction < 1.0:
                raise section.error(
                    f"accuracy.{channel}", f"expected a fraction of reading between 0 and 1, got {fraction}"
                )
        for channel in accuracy:
            if channel not in channels:
                raise section.error(f"accuracy.{channel}", "names no channel of this instrument")
        instruments[inst_name] = InstrumentConfig(inst_name, driver, section, channels, accuracy)

    seen: dict[str, str] = {}
    for inst in instruments.values():
        for channel in inst.channels:
            if channel in seen:
                raise ConfigError(
                    source,
                    f"instruments.{inst.name}.channels.{channel}",
                    f"channel already provided by instrument {seen[channel]!r}",
                )
            seen[channel] = inst.name
    missing = [c for c in STANDARD_CHANNELS if c not in seen]
    if missing:
        raise ConfigError(source, "instruments", f"no instrument provides the channels {', '.join(missing)}")

    roles_section = top.section("roles")
    roles = {
        "pump_drive": roles_section.get("pump_drive", str),
        "throttle_valve": roles_section.get("throttle_valve", str),
    }
    if roles_section.has("tank_pressure"):
        roles["tank_pressure"] = roles_section.get("tank_pressure", str)
    roles_section.finish()
    for role, target in roles.items():
        if target.split(".")[0] not in instruments:
            raise ConfigError(source, f"roles.{role}", f"names no instrument: {target!r}")

    virtual = None
    if top.has("virtual"):
        vsec = top.section("virtual")
        virtual = VirtualConfig(
            seed=vsec.get("seed", int, 0, minimum=0),
            plant=vsec.section("plant", {}).data,
            faults=_string_list(vsec, "faults"),
        )
        vsec.finish()
    top.finish()
    return BenchConfig(
        name=name,
        source=source,
        text=text,
        tick_s=1.0 / tick_hz,
        fluid=fluid,
        geometry=geometry,
        limits=limits,
        buses=buses,
        instruments=instruments,
        roles=roles,
        virtual=virtual,
    )
