"""Assemble a bench from its bench file: open transports, build drivers, identify instruments.

This is the one place in ``hil`` that names concrete drivers (design.md): each ``driver = "..."`` in
a bench file maps to a builder below, which checks that instrument's own options. Resources of the
form ``sim:NAME`` are resolved against the endpoints of a running virtual bench; every other
resource is opened as written (a device path, ``tcp://host:port``, or a VISA resource string).

Connecting collects every failure and raises one :class:`~hil.core.errors.NotConnectedError` listing
them all, so a user fixes a bench file in one pass, and closes whatever had been opened.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from hil.bench.config import MAX_BAUDRATE, BenchConfig, BusConfig, InstrumentConfig
from hil.bench.library_transports import VisaTransport
from hil.bench.modbus_rtu import ModbusRtuTransport
from hil.bench.modbus_tcp import ModbusTcpTransport
from hil.bench.roles import Instrument, PressureRegulator, PumpDrive, Valve
from hil.bench.transport import LineTransport, ReplyWitness, SerialTransport, TcpTransport
from hil.core.config import Section
from hil.core.errors import ConfigError, HilError, NotConnectedError
from hil.run.channel_readings import check_channel_readings
from hil.run.instrument_labels import InstrumentLabel, instrument_label

SIM_PREFIX = "sim:"


@dataclass(frozen=True)
class SimEndpoint:
    """Where the virtual bench serves one instrument or bus (mirrors simulators.server.Endpoint)."""

    transport: str
    address: str
    port: int | None = None
    witness: ReplyWitness | None = None
    """The in-process virtual bench's server, which vouches for silence on its TCP links so that a
    silent instrument costs no wall-clock timeout (see :class:`hil.bench.transport.ReplyWitness`)."""


@dataclass
class Bench:
    """The connected instruments of one bench, and the roles procedures use."""

    config: BenchConfig
    instruments: dict[str, Instrument]
    pump_drive: PumpDrive
    throttle_valve: Valve
    actuators: dict[str, Any]
    identities: dict[str, str]
    tank_pressure: PressureRegulator | None = None  # optional role: the suction tank's regulator
    _closers: list[Callable[[], None]] = field(default_factory=list)
    labels: dict[str, InstrumentLabel] = field(default_factory=dict)
    """How errors name each instrument and role object (:mod:`hil.run.instrument_labels`)."""

    def label(self, name: str) -> InstrumentLabel:
        """The label of an instrument or role (``throttle_valve``); its bare name if none was made."""
        return self.labels.get(name) or InstrumentLabel(name)

    def close(self) -> None:
        for close in reversed(self._closers):
            try:
                close()
            except Exception:  # noqa: BLE001 - closing must reach every transport
                pass


class _Context:
    """Opens (and remembers to close) transports for builders."""

    def __init__(self, config: BenchConfig, endpoints: Mapping[str, SimEndpoint]) -> None:
        self.config = config
        self.endpoints = endpoints
        self.closers: list[Callable[[], None]] = []
        self._buses: dict[str, Any] = {}
        self._bus_addresses: dict[str, str] = {}
        self.address: str | None = None
        """Where the instrument being built was opened (for its label), and its transport's prefix."""
        self.prefix = ""

    def endpoint(self, field_path: str, resource: str) -> SimEndpoint | None:
        if not resource.startswith(SIM_PREFIX):
            return None
        name = resource[len(SIM_PREFIX) :]
        if name not in self.endpoints:
            known = ", ".join(sorted(self.endpoints)) or "none: this bench has no [virtual] table"
            raise ConfigError(
                self.config.source,
                field_path,
                f"{resource!r} is not served by the virtual bench (known: {known})",
            )
        return self.endpoints[name]

    def serial(
        self, field_path: str, resource: str, baudrate: int, timeout_s: float
    ) -> SerialTransport | TcpTransport:
        """A serial line: a device path or pyserial URL as written; a virtual bench's line is its pty,
        or its loopback socket (serial over IP) opened as a plain TCP stream. Not through pyserial's
        ``socket://``: its close waits 0.3 s "for quick reconnects" (pyserial 3.5), twice per run on
        the sim bench, and its reads cost a ``select`` more than the project's socket transport."""
        sim = self.endpoint(field_path, resource)
        transport: SerialTransport | TcpTransport
        if sim is not None and sim.transport != "pty":
            transport = TcpTransport(sim.address, sim.port or 0, timeout_s, sim.witness)
        else:
            transport = SerialTransport(
                sim.address if sim else resource, baudrate=baudrate, timeout_s=timeout_s
            )
        self.closers.append(transport.close)
        self.address = self.prefix = transport.name
        return transport

    def message(self, field_path: str, resource: str, timeout_s: float) -> Any:
        sim = self.endpoint(field_path, resource)
        virtual = self.config.virtual
        link: Any
        if sim is not None and virtual is not None and virtual.scpi_link == "socket":
            # the project's line transport, as for tcp://HOST:PORT (see VirtualConfig.scpi_link)
            link = LineTransport(TcpTransport(sim.address, sim.port or 0, timeout_s, sim.witness))
        elif sim is not None:
            link = VisaTransport(f"TCPIP0::{sim.address}::{sim.port}::SOCKET", timeout_s=timeout_s)
        elif resource.startswith("tcp://"):
            host, port = _host_port(self.config.source, field_path, resource)
            link = LineTransport(TcpTransport(host, port, timeout_s))
        else:
            link = VisaTransport(resource, timeout_s=timeout_s)
        self.closers.append(link.close)
        self.address = self.prefix = link.name
        return link

    def bus(self, section: Section) -> Any:
        name = section.get("bus", str)
        if name not in self.config.buses:
            raise section.error(
                "bus", f"names no bus in [buses] (known: {', '.join(self.config.buses) or 'none'})"
            )
        if name not in self._buses:
            self._buses[name] = self._open_bus(self.config.buses[name])
        link = self._buses[name]
        unit = section.data.get("unit", 1)
        self.address = f"unit {unit} on bus '{name}' at {self._bus_addresses[name]}"
        self.prefix = f"{link.name} unit {unit}"
        return link

    def _open_bus(self, bus: BusConfig) -> Any:
        field_path = f"buses.{bus.name}.resource"
        if bus.kind == "modbus-rtu":
            serial = self.serial(field_path, bus.resource, bus.baudrate, bus.timeout_s)
            self._bus_addresses[bus.name] = serial.name
            link: Any = ModbusRtuTransport(serial, name=bus.name)
        else:
            sim = self.endpoint(field_path, bus.resource)
            host, port = (
                (sim.address, sim.port or 502)
                if sim
                else _host_port(self.config.source, field_path, bus.resource)
            )
            # the project's MBAP master, not pymodbus's client: see hil.bench.modbus_tcp for why
            witness = sim.witness if sim else None
            link = ModbusTcpTransport(TcpTransport(host, port, bus.timeout_s, witness), name=bus.name)
            self.closers.append(link.close)
            self._bus_addresses[bus.name] = f"tcp://{host}:{port}"
        return link


def _host_port(source: str, field_path: str, resource: str) -> tuple[str, int]:
    rest = resource.removeprefix("tcp://")
    host, _, port = rest.rpartition(":")
    if not host or not port.isdigit():
        raise ConfigError(source, field_path, f"expected tcp://HOST:PORT, got {resource!r}")
    return host, int(port)


# ------------------------------------------------------------------------- driver builders
# Each returns the instrument and any role objects it provides (name -> object).
Built = tuple[Instrument, dict[str, Any]]


def _build_vesc(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.vesc import VescDrive

    opts = cfg.options
    transport = ctx.serial(
        f"instruments.{cfg.name}.resource",
        opts.get("resource", str),
        opts.get("baudrate", int, 115200, minimum=300, maximum=MAX_BAUDRATE),
        opts.get("timeout_s", float, 0.5, minimum=0.001),
    )
    drive = VescDrive(
        transport,
        pole_pairs=opts.get("pole_pairs", int, minimum=1, maximum=64),
        max_speed_rpm=opts.get("max_speed_rpm", float, minimum=0.0),
        name=cfg.name,
        command_timeout_s=opts.get("command_timeout_s", float, 1.0, minimum=0.001),
    )
    return drive, {}


def _build_keller(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.keller import KellerTransducer

    opts = cfg.options
    return KellerTransducer(
        ctx.bus(opts), unit=opts.get("unit", int, minimum=1, maximum=247), name=cfg.name
    ), {}


def _build_micromotion(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.micromotion import CoriolisFlowMeter

    opts = cfg.options
    meter = CoriolisFlowMeter(
        ctx.bus(opts),
        unit=opts.get("unit", int, minimum=1, maximum=247),
        name=cfg.name,
        word_order=opts.get("word_order", str, "big", choices=("big", "little")),
    )
    return meter, {}


def _build_wt310(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.wt310 import WT310PowerMeter

    opts = cfg.options
    link = ctx.message(
        f"instruments.{cfg.name}.resource",
        opts.get("resource", str),
        opts.get("timeout_s", float, 0.5, minimum=0.001),
    )
    meter = WT310PowerMeter(link, name=cfg.name, element=opts.get("element", int, 1, minimum=1, maximum=4))
    meter.configure()
    return meter, {}


class CompositeInstrument:
    """Several role objects sharing one device, sampled as one instrument (a DAQ's valve and inputs)."""

    def __init__(self, identity_source: Any, parts: list[Any]) -> None:
        self._identity_source = identity_source
        self._parts = parts

    def identify(self) -> str:
        return str(self._identity_source.identify())

    def read(self) -> dict[str, float]:
        reading: dict[str, float] = {}
        for part in self._parts:
            reading.update(part.read())
        return reading

    def safe_state(self) -> None:
        for part in self._parts:
            part.safe_state()


def _build_labjack(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.labjack import AnalogScaling, DacPressureRegulator, DacValve, LabJackT7, ScaledAnalogInput

    opts = cfg.options
    daq = LabJackT7(ctx.bus(opts), name=cfg.name, unit=opts.get("unit", int, 1, minimum=0, maximum=255))
    parts: list[Any] = []
    roles: dict[str, Any] = {}
    if opts.has("valve"):
        v = opts.section("valve")
        valve = DacValve(
            daq,
            dac_channel=v.get("dac", int, choices=(0, 1)),
            feedback_ain=v.get("feedback_ain", int, minimum=0, maximum=13),
            closed_v=v.get("closed_v", float),
            open_v=v.get("open_v", float),
            safe_opening_fraction=v.get("safe_opening_fraction", float, 1.0, minimum=0.0, maximum=1.0),
            name=f"{cfg.name}.valve",
        )
        v.finish()
        parts.append(valve)
        roles["valve"] = valve
    if opts.has("regulator"):
        r = opts.section("regulator")
        regulator = DacPressureRegulator(
            daq,
            dac_channel=r.get("dac", int, choices=(0, 1)),
            feedback_ain=r.get("feedback_ain", int, minimum=0, maximum=13),
            volts_lo=r.get("volts_lo", float),
            volts_hi=r.get("volts_hi", float),
            pressure_lo_pa=r.get("pressure_lo_pa", float, minimum=0.0),
            pressure_hi_pa=r.get("pressure_hi_pa", float, minimum=0.0),
            safe_pressure_pa=r.get("safe_pressure_pa", float, minimum=0.0),
            name=f"{cfg.name}.regulator",
        )
        r.finish()
        parts.append(regulator)
        roles["regulator"] = regulator
    inputs = opts.raw("inputs", [])
    if not isinstance(inputs, list):
        raise opts.error("inputs", "expected a list of tables")
    scalings = {}
    for index, item in enumerate(inputs):
        entry = Section(item, opts.source, f"{opts.path}.inputs[{index}]")
        ain = entry.get("ain", int, minimum=0, maximum=13)
        scalings[ain] = AnalogScaling(
            entry.get("quantity", str),
            entry.get("volts_lo", float),
            entry.get("volts_hi", float),
            entry.get("value_lo", float),
            entry.get("value_hi", float),
        )
        entry.finish()
    if scalings:
        parts.append(ScaledAnalogInput(daq, scalings, name=f"{cfg.name}.inputs"))
    return CompositeInstrument(daq, parts), roles


def _build_odrive(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.odrive import FIRMWARES, ODriveDrive

    opts = cfg.options
    transport = ctx.serial(
        f"instruments.{cfg.name}.resource",
        opts.get("resource", str),
        opts.get("baudrate", int, 115200, minimum=300, maximum=MAX_BAUDRATE),
        opts.get("timeout_s", float, 0.5, minimum=0.001),
    )
    drive = ODriveDrive(
        transport,
        max_speed_rpm=opts.get("max_speed_rpm", float, minimum=0.0),
        name=cfg.name,
        firmware=opts.get("firmware", str, choices=FIRMWARES),
        axis=opts.get("axis", int, 0, choices=(0, 1)),
        watchdog_timeout_s=opts.get("watchdog_timeout_s", float, 0.5, minimum=0.01, maximum=10.0),
        checksum=opts.get("checksum", bool, False),
    )
    drive.configure()
    return drive, {}


def _build_dp800(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.rigol_dp800 import DP800Supply

    opts = cfg.options
    link = ctx.message(
        f"instruments.{cfg.name}.resource",
        opts.get("resource", str),
        opts.get("timeout_s", float, 0.5, minimum=0.001),
    )
    supply = DP800Supply(
        link,
        cfg.name,
        voltage_v=opts.get("voltage_v", float),
        current_limit_a=opts.get("current_limit_a", float),
        ovp_v=opts.get("ovp_v", float),
        ocp_a=opts.get("ocp_a", float),
        channel=opts.get("channel", int, 1, choices=(1, 2, 3)),
        max_voltage_v=opts.get("max_voltage_v", float, 60.0, minimum=0.0),
        max_current_a=opts.get("max_current_a", float, 60.0, minimum=0.0),
        output_on_connect=opts.get("output_on_connect", bool, False),
    )
    supply.configure()
    return supply, {}


def _build_truevolt(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.truevolt import LoopTransmitterDmm

    opts = cfg.options
    link = ctx.message(
        f"instruments.{cfg.name}.resource",
        opts.get("resource", str),
        opts.get("timeout_s", float, 0.5, minimum=0.001),
    )
    dmm = LoopTransmitterDmm(
        link,
        cfg.name,
        quantity=opts.get("quantity", str),
        value_lo=opts.get("value_lo", float),
        value_hi=opts.get("value_hi", float),
    )
    dmm.configure()
    return dmm, {}


def _build_modbus_map(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.modbus_map import ModbusMapInstrument, parse_register_map

    opts = cfg.options
    readings, setpoints = parse_register_map(opts)
    instrument = ModbusMapInstrument(
        ctx.bus(opts),
        unit=opts.get("unit", int, minimum=0, maximum=255),
        name=cfg.name,
        readings=readings,
        setpoints=setpoints,
        identity=opts.get("identity", str, ""),
    )
    return instrument, {}


def _build_scpi_map(cfg: InstrumentConfig, ctx: _Context) -> Built:
    from drivers.scpi_map import ScpiMapInstrument, parse_scpi_description

    opts = cfg.options
    description = parse_scpi_description(opts)
    link = ctx.message(
        f"instruments.{cfg.name}.resource",
        opts.get("resource", str),
        opts.get("timeout_s", float, 0.5, minimum=0.001),
    )
    instrument = ScpiMapInstrument(link, cfg.name, description)
    instrument.configure()
    return instrument, {}


BUILDERS: dict[str, Callable[[InstrumentConfig, _Context], Built]] = {
    "modbus": _build_modbus_map,
    "scpi": _build_scpi_map,
    "odrive": _build_odrive,
    "dp800": _build_dp800,
    "truevolt-4-20ma": _build_truevolt,
    "vesc": _build_vesc,
    "keller": _build_keller,
    "micromotion": _build_micromotion,
    "wt310": _build_wt310,
    "labjack-t7": _build_labjack,
}


def connect_bench(config: BenchConfig, endpoints: Mapping[str, SimEndpoint] | None = None) -> Bench:
    """Open every instrument of ``config``; identify each; resolve the roles."""
    check_channel_readings(config)  # before anything is opened
    ctx = _Context(config, endpoints or {})
    instruments: dict[str, Instrument] = {}
    provided: dict[str, Any] = {}
    failures: dict[str, BaseException] = {}
    labels: dict[str, InstrumentLabel] = {}
    role_of = {target: role for role, target in config.roles.items()}
    for name, cfg in config.instruments.items():
        ctx.address, ctx.prefix = None, ""
        builder = BUILDERS.get(cfg.driver)
        if builder is None:
            ctx_close(ctx)
            raise ConfigError(
                config.source,
                f"instruments.{name}.driver",
                f"unknown driver {cfg.driver!r} (known: {', '.join(sorted(BUILDERS))})",
            )
        try:
            instrument, extras = builder(cfg, ctx)
            cfg.options.finish()
        except ConfigError as exc:
            ctx_close(ctx)
            if exc.source == config.source:
                raise
            # a driver validating its own arguments names itself, not the file: say where it came from
            where = exc.source if exc.source.startswith(name) else name
            raise ConfigError(config.source, f"instruments.{where}.{exc.field}", exc.problem) from exc
        except HilError as exc:
            failures[name] = exc
            continue
        instruments[name] = instrument
        provided[name] = instrument
        provided.update({f"{name}.{role}": obj for role, obj in extras.items()})
        labels[name] = instrument_label(name, cfg.driver, ctx.address, role_of.get(name), ctx.prefix)
        for part in extras:
            target = f"{name}.{part}"
            if target in role_of:
                labels[role_of[target]] = instrument_label(
                    target, cfg.driver, ctx.address, role_of[target], ctx.prefix
                )
    identities: dict[str, str] = {}
    for name, instrument in instruments.items():
        try:
            identities[name] = instrument.identify()
        except HilError as exc:
            failures[name] = exc
    if failures:
        ctx_close(ctx)
        raise NotConnectedError(failures)
    roles = {}
    for role, target in config.roles.items():
        if target not in provided:
            ctx_close(ctx)
            raise ConfigError(
                config.source,
                f"roles.{role}",
                f"{target!r} provides no such role (available: {', '.join(sorted(provided))})",
            )
        roles[role] = provided[target]
    if "tank_pressure" in roles and not isinstance(roles["tank_pressure"], PressureRegulator):
        ctx_close(ctx)
        raise ConfigError(
            config.source,
            "roles.tank_pressure",
            f"{config.roles['tank_pressure']!r} is not a pressure regulator (it cannot set a pressure)",
        )
    return Bench(
        config=config,
        instruments=instruments,
        pump_drive=roles["pump_drive"],
        throttle_valve=roles["throttle_valve"],
        tank_pressure=roles.get("tank_pressure"),
        actuators={role: obj for role, obj in roles.items() if obj not in instruments.values()},
        identities=identities,
        _closers=ctx.closers,
        labels=labels,
    )


def ctx_close(ctx: _Context) -> None:
    for close in reversed(ctx.closers):
        try:
            close()
        except Exception:  # noqa: BLE001
            pass
