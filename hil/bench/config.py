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

from hil.bench.rules import MAX_MEANINGFUL_SPEED_RPM, check_bench_rules
from hil.core.config import Section, load_toml_document
from hil.core.errors import ConfigError

MAX_BAUDRATE = 20_000_000
"""Above the fastest serial adapters (12-20 Mbaud): a larger baud rate is a typing error, refused
here rather than by the serial driver of whatever machine opens the port."""

BUILTIN_BENCHES = {"sim": "sim_bench.toml", "sim-odrive": "sim_odrive_bench.toml"}
VIRTUAL_INSTRUMENT_SETS = ("standard", "odrive-0.5", "odrive-0.6")
STANDARD_CHANNELS = (
    "speed_rpm",
    "flow_m3_s",
    "p_inlet_pa",
    "p_outlet_pa",
    "electrical_power_w",
    "fluid_temperature_c",
)


SERIAL_LINKS = ("tcp", "pty")
"""The transports a virtual bench can serve a serial instrument on (``[virtual] serial_link``)."""

SCPI_LINKS = ("visa", "socket")
"""How the harness opens the virtual bench's SCPI instruments (``[virtual] scpi_link``)."""

SERVING_MODES = ("inline", "thread")
"""Who serves the in-process virtual bench's TCP links (``[virtual] serve``)."""


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
    serial_link: str = "tcp"
    """How the virtual bench serves its serial instruments: ``"tcp"``, a loopback socket the driver
    opens as a TCP stream (serial over IP, as a bench's RS-485 gateway does; the
    fast choice), or ``"pty"``, a pseudo-terminal opened like ``/dev/ttyUSB0`` (what a USB adapter
    looks like to the driver; a pty round trip costs 2-6x a loopback TCP one)."""
    instruments: str = "standard"
    """Which emulated instruments the virtual bench serves (see simulators.virtual_bench)."""
    scpi_link: str = "visa"
    """How the harness opens the virtual bench's SCPI instruments (``sim:power``, ``sim:supply``,
    ``sim:dmm``): ``"visa"``, as the pyvisa resource ``TCPIP0::HOST::PORT::SOCKET`` (the way most
    real SCPI instruments are reached, so pyvisa is exercised), or ``"socket"``, the project's line
    transport over a plain socket, as for a ``tcp://HOST:PORT`` resource: about 30 us cheaper a
    query (``benchmarks/bench_virtual_bench.py``), and a silent instrument costs no wall-clock
    timeout (:class:`hil.bench.transport.ReplyWitness`)."""
    serve: str = "inline"
    """Who answers the harness's exchanges on the in-process virtual bench's TCP links:
    ``"inline"``, the harness's own thread, right after it writes (no thread hand-off per exchange:
    several times faster, see :mod:`simulators.server`), or ``"thread"``, the emulator server's
    thread, as for every other client. The points of a run are the same either way."""


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


def resolve_bench_path(name_or_path: str) -> Path:
    """``sim`` and ``sim-odrive`` name the built-in virtual benches; anything else is a path."""
    if name_or_path in BUILTIN_BENCHES:
        return Path(str(resources.files("hil") / "data" / BUILTIN_BENCHES[name_or_path]))
    return Path(name_or_path)


def load_bench(name_or_path: str) -> BenchConfig:
    path = resolve_bench_path(name_or_path)
    data, text = load_toml_document(path)
    return parse_bench(data, str(path), text)


def parse_bench(data: dict[str, Any], source: str, text: str = "") -> BenchConfig:
    """Check a parsed bench document, table by table, then across tables.

    Each table has its own parser below; checks that relate fields of different tables (a limit
    against the rated speed, a role against the instruments) live in :func:`_check_across_tables`,
    the one place to extend with further cross-field safety rules.
    """
    top = Section(data, source)
    name, tick_hz, fluid, geometry = _parse_bench_table(top.section("bench"))
    limits = _parse_limits(top.section("limits"))
    buses = _parse_buses(top)
    instruments = _parse_instruments(top)
    roles = _parse_roles(top.section("roles"))
    virtual = _parse_virtual(top.optional_section("virtual"))
    top.finish()
    config = BenchConfig(
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
    _check_across_tables(config)
    return config


def _parse_bench_table(bench: Section) -> tuple[str, float, str, BenchGeometry]:
    name = bench.get("name", str)
    tick_hz = bench.get("tick_hz", float, 10.0, minimum=0.5, maximum=1000.0)
    fluid = bench.get("fluid", str, "water", choices=("water",))
    geometry = BenchGeometry(
        inlet_diameter_m=bench.get("inlet_diameter_m", float, minimum=1e-4, maximum=2.0),
        outlet_diameter_m=bench.get("outlet_diameter_m", float, minimum=1e-4, maximum=2.0),
        inlet_height_m=bench.get("inlet_height_m", float, 0.0),
        outlet_height_m=bench.get("outlet_height_m", float, 0.0),
        impeller_diameter_m=bench.get("impeller_diameter_m", float, minimum=1e-3, maximum=5.0),
        rated_speed_rpm=bench.get("rated_speed_rpm", float, minimum=1.0, maximum=MAX_MEANINGFUL_SPEED_RPM),
    )
    bench.finish()
    return name, tick_hz, fluid, geometry


def _parse_limits(lim: Section) -> BenchLimits:
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
    return limits


def _parse_buses(top: Section) -> dict[str, BusConfig]:
    buses = {}
    for bus_name, section in top.sections("buses").items():
        buses[bus_name] = BusConfig(
            name=bus_name,
            kind=section.get("kind", str, choices=("modbus-rtu", "modbus-tcp")),
            resource=section.get("resource", str),
            baudrate=section.get("baudrate", int, 9600, minimum=300, maximum=MAX_BAUDRATE),
            timeout_s=section.get("timeout_s", float, 0.5, minimum=0.001, maximum=60.0),
        )
        section.finish()
    return buses


def _parse_instruments(top: Section) -> dict[str, InstrumentConfig]:
    """Instruments; their driver options stay a Section for the driver to check (and finish)."""
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
    return instruments


def _parse_roles(roles_section: Section) -> dict[str, str]:
    roles = {
        "pump_drive": roles_section.get("pump_drive", str),
        "throttle_valve": roles_section.get("throttle_valve", str),
    }
    if roles_section.has("tank_pressure"):
        roles["tank_pressure"] = roles_section.get("tank_pressure", str)
    roles_section.finish()
    return roles


def _parse_virtual(vsec: Section | None) -> VirtualConfig | None:
    if vsec is None:
        return None
    virtual = VirtualConfig(
        seed=vsec.get("seed", int, 0, minimum=0),
        plant=vsec.section("plant", {}).data,
        faults=list(vsec.string_list("faults", ())),
        serial_link=vsec.get("serial_link", str, "tcp", choices=SERIAL_LINKS),
        instruments=vsec.get("instruments", str, "standard", choices=VIRTUAL_INSTRUMENT_SETS),
        scpi_link=vsec.get("scpi_link", str, "visa", choices=SCPI_LINKS),
        serve=vsec.get("serve", str, "inline", choices=SERVING_MODES),
    )
    vsec.finish()
    return virtual


def _check_across_tables(config: BenchConfig) -> None:
    """Rules that relate fields of different tables; each names the field to change."""
    source = config.source
    limits, geometry = config.limits, config.geometry
    if limits.max_speed_rpm > 0 and geometry.rated_speed_rpm > limits.max_speed_rpm:
        raise ConfigError(source, "bench.rated_speed_rpm", "exceeds limits.max_speed_rpm")
    seen: dict[str, str] = {}
    for inst in config.instruments.values():
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
    for role, target in config.roles.items():
        if target.split(".")[0] not in config.instruments:
            raise ConfigError(source, f"roles.{role}", f"names no instrument: {target!r}")
    check_bench_rules(config)
