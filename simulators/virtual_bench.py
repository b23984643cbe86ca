"""The virtual bench: one plant, the emulators that read it, and the transports that serve them.

Instruments and where they are served (names are what ``sim:NAME`` resources in a bench file refer to):

=========  ==========  =========================================================================
name       transport   emulated instrument
=========  ==========  =========================================================================
motor      serial      VESC motor controller (binary UART protocol)
rs485      serial      one RS-485 line: Keller inlet transducer (unit 1), Keller outlet
                       transducer (unit 2), Micro Motion Coriolis meter (unit 3), Modbus RTU
power      tcp         WT310-style power analyzer on the 48 V DC bus (SCPI, raw socket)
daq        tcp         LabJack T7-style DAQ (Modbus TCP): DAC0 throttle valve command 0-5 V,
                       AIN0 valve position 0-5 V, AIN1 fluid temperature transmitter 1-5 V = 0-100 degC,
                       DAC1 suction-tank pressure regulator command 0-5 V = 0-5 bar(a),
                       AIN2 tank pressure feedback, same scale
=========  ==========  =========================================================================

``serial`` is a pty by default, or a loopback TCP socket with ``serial_link="tcp"`` (serial over IP,
as a bench's RS-485 gateway offers it; the harness opens it as a TCP stream). Measured on the
2-core development machine, a pty round trip costs 2-6x a loopback TCP one: a pty hands every write
through the kernel's line discipline and wakes the reader in two steps.

With ``instruments = "odrive-0.5"`` or ``"odrive-0.6"`` (the bench file's ``[virtual]`` table; the
built-in ``sim-odrive`` bench) the drive and the power measurement change, the rest stays:

=========  ==========  =========================================================================
motor      serial      ODrive (ASCII protocol, that firmware generation), its DC bus from the supply
supply     tcp         Rigol DP800-style supply on the drive's DC bus (SCPI): gates the bus, measures
                       its voltage and current, OVP / OCP
dmm        tcp         Keysight Truevolt-style DMM (SCPI) on the loop of a 4-20 mA outlet pressure
                       transmitter, 0-40 bar(a)
rs485      serial      as above, plus unit 4: a torque and speed transducer on the shaft (input
                       registers, read by the generic Modbus driver)
=========  ==========  =========================================================================

Faults (:mod:`simulators.faults`): every reading, actuator command and served line passes through
:attr:`VirtualBench.faults`, which injects the run's faults at their bench times; without faults
it passes everything through unchanged.

Time: in lockstep mode the harness's virtual clock calls :meth:`VirtualBench.advance_to`; in
wall-clock mode a thread advances the plant with real time, for a person or a foreign tool poking
the instruments. Either way the plant is stepped while holding the server's lock, so no reply ever
sees a half-stepped plant.

Must not import drivers/.
"""

from __future__ import annotations

import json
import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

from hil.core.clock import WallClock
from hil.core.errors import ConfigError
from simulators.dp800_emulator import DP800Emulator
from simulators.faults import FaultInjector, FaultSpec
from simulators.keller_emulator import KellerEmulator
from simulators.labjack_emulator import LabJackEmulator
from simulators.micromotion_emulator import MicroMotionEmulator
from simulators.modbus_device import ModbusRtuBus, ModbusTcpSession
from simulators.odrive_emulator import ODriveEmulator
from simulators.plant import PlantParameters, PumpLoop
from simulators.server import LOOPBACK, Emulator, EmulatorServer, Endpoint
from simulators.torque_transducer_emulator import TorqueTransducerEmulator
from simulators.truevolt_emulator import TruevoltEmulator, loop_current_a
from simulators.vesc_emulator import VescEmulator
from simulators.wt310_emulator import WT310Emulator

DAC_FULL_SCALE_V = 5.0
TANK_PRESSURE_FULL_SCALE_PA = 5.0e5
TEMPERATURE_SPAN_C = (0.0, 100.0)
TEMPERATURE_SPAN_V = (1.0, 5.0)
WALL_CLOCK_STEP_S = 0.01
INSTRUMENT_SETS = ("standard", "odrive-0.5", "odrive-0.6")
OUTLET_TRANSMITTER_SPAN_PA = (0.0, 40.0e5)
TORQUE_TRANSDUCER_UNIT = 4
MAX_ADVANCE_STEP_S = 3600.0
"""Longest bench-time step one ``ADVANCE`` may ask for. A harness steps by its tick (a fraction of a
second); an hour already costs seconds of plant integration, during which no instrument answers."""
MAX_COMMAND_BYTES = 1024
"""Longest control line; a client sending more without a newline is answered ERR and discarded."""


class VirtualBench:
    """Plant + emulators + servers; start() serves them and returns the endpoints by name."""

    def __init__(
        self,
        plant_overrides: Mapping[str, Any] | None = None,
        seed: int = 0,
        source: str = "virtual bench",
        host: str = LOOPBACK,
        faults: Sequence[FaultSpec] = (),
        plant: Any = None,
        serial_link: str = "pty",
        instruments: str = "standard",
        drive_timeout_s: float = 1.0,
        serve_inline: bool = True,
    ) -> None:
        if instruments not in INSTRUMENT_SETS:
            raise ConfigError(source, "virtual.instruments", f"must be one of {', '.join(INSTRUMENT_SETS)}")
        # ``plant`` replaces the physics with any object offering PumpLoop's commands, readings,
        # motor_state() and advance_to(): simulators.replay_plant.ReplayPlant plays a logged run back.
        if plant is None:
            plant = PumpLoop(PlantParameters.from_mapping(dict(plant_overrides or {}), source), seed=seed)
        self.plant = plant
        # Every reading, command and served line goes through the fault injector (a pass-through
        # when the run has no faults), so faults act where they would on hardware.
        self.faults = FaultInjector(self.plant, faults)
        self.seed = seed
        if serial_link not in ("pty", "tcp"):
            raise ValueError(f"serial_link must be 'pty' or 'tcp', got {serial_link!r}")
        self.serial_link = serial_link
        # serve_inline: the harness's transports may have their links served in their own thread
        # (EmulatorServer.serve); False keeps every link on the server thread.
        self.server = EmulatorServer(inline=serve_inline)
        self._host = host
        self._wall_thread: threading.Thread | None = None
        self._wall_running = False
        faults_ = self.faults
        measured = faults_.measured
        self.instruments = instruments
        self.supply: DP800Emulator | None = None
        self.dmm: TruevoltEmulator | None = None
        self.drive: VescEmulator | ODriveEmulator
        extra_units: dict[int, Any] = {}
        self.rs485_units = {"p_inlet": 1, "p_outlet": 2, "flow": 3}
        """Which Modbus unit on the RS-485 line is which instrument (``hil sim serve`` lists them)."""
        if instruments == "standard":
            self.drive = VescEmulator(faults_.motor, timeout_s=drive_timeout_s)
        else:
            self.supply = DP800Emulator(
                lambda: measured("bus_voltage_v"),
                lambda: measured("bus_current_a"),
                set_bus_voltage_v=self.plant.set_supply_voltage_v,
            )
            self.drive = ODriveEmulator(
                faults_.motor,
                firmware=instruments.removeprefix("odrive-"),
                bus_powered=self.supply.bus_powered,
            )
            lo, hi = OUTLET_TRANSMITTER_SPAN_PA
            self.dmm = TruevoltEmulator(lambda: loop_current_a(measured("p_outlet_pa"), lo, hi))
            self.rs485_units["torque"] = TORQUE_TRANSDUCER_UNIT
            extra_units[TORQUE_TRANSDUCER_UNIT] = faults_.register_device(
                "rs485", TorqueTransducerEmulator(self._shaft_torque_nm, lambda: self.plant.truth().speed_rpm)
            )
        self.rs485 = ModbusRtuBus(
            {
                1: faults_.register_device(
                    "rs485",
                    KellerEmulator(
                        lambda: measured("p_inlet_pa"),
                        lambda: measured("transducer_inlet_temperature_c"),
                        serial_number=1001,
                    ),
                ),
                2: faults_.register_device(
                    "rs485",
                    KellerEmulator(
                        lambda: measured("p_outlet_pa"),
                        lambda: measured("transducer_outlet_temperature_c"),
                        serial_number=1002,
                    ),
                ),
                3: faults_.register_device(
                    "rs485",
                    MicroMotionEmulator(
                        mass_flow_kg_s=lambda: measured("mass_flow_kg_s"),
                        density_kg_m3=lambda: measured("density_kg_m3"),
                        temperature_c=lambda: measured("fluid_temperature_c"),
                        volume_flow_m3_s=lambda: measured("volume_flow_m3_s"),
                    ),
                ),
                **extra_units,
            }
        )
        self.labjack = LabJackEmulator(
            ain_v={
                0: lambda: measured("valve_position_fraction") * DAC_FULL_SCALE_V,
                1: lambda: _temperature_volts(measured("fluid_temperature_c")),
                2: lambda: measured("tank_pressure_pa") / TANK_PRESSURE_FULL_SCALE_PA * DAC_FULL_SCALE_V,
            },
            dac_outputs={
                0: lambda volts: faults_.command_valve(volts / DAC_FULL_SCALE_V),
                1: lambda volts: faults_.command_tank_pressure_pa(
                    volts / DAC_FULL_SCALE_V * TANK_PRESSURE_FULL_SCALE_PA
                ),
            },
        )
        self._daq_device = faults_.register_device("daq", self.labjack)
        self.power = WT310Emulator(
            voltage_v=lambda: measured("bus_voltage_v"),
            current_a=lambda: measured("bus_current_a"),
            power_w=lambda: measured("bus_power_w"),
            identity="YOKOGAWA,WT310,SIM0001,F1.00",
        )

    def start(self, lockstep_control: bool = False) -> dict[str, Endpoint]:
        """Serve every instrument; with ``lockstep_control`` also the ``clock`` endpoint through
        which a harness in another process drives bench time (see :class:`LockstepControlSession`)."""
        self._add_serial("motor", self.faults.link("motor", self.drive))
        self._add_serial("rs485", self.faults.link("rs485", self.rs485))
        if self.supply is not None:
            self.server.add_tcp(
                "supply", self.faults.link_factory("supply", self.supply.session), host=self._host
            )
        if self.dmm is not None:
            self.server.add_tcp("dmm", self.faults.link_factory("dmm", self.dmm.session), host=self._host)
        self.server.add_tcp("power", self.faults.link_factory("power", self.power.session), host=self._host)
        self.server.add_tcp(
            "daq",
            self.faults.link_factory("daq", lambda: ModbusTcpSession({1: self._daq_device})),
            host=self._host,
        )
        if lockstep_control:
            self.server.add_tcp("clock", lambda: LockstepControlSession(self), host=self._host)
        self.server.start()
        return self.server.endpoints

    def _add_serial(self, name: str, line: Emulator) -> None:
        """A serial instrument on a pty, or on a loopback socket that every connection reaches as the
        same line (serial over IP: one RS-485 line however many clients a gateway serves)."""
        if self.serial_link == "pty":
            self.server.add_pty(name, line)
        else:
            self.server.add_tcp(name, lambda: line, host=self._host)

    def advance_to(self, time_s: float) -> None:
        """Step the plant and the emulators' own timers to bench time ``time_s`` (lockstep)."""
        with self.server.lock:  # re-entrant: the lockstep control session calls this under it
            self.plant.advance_to(time_s)
            self.faults.advance_to(time_s)
            if self.supply is not None:
                self.supply.tick(time_s)
            self.drive.tick(time_s)

    def _shaft_torque_nm(self) -> float:
        """The torque the pump absorbs, as an in-line flange between motor and pump measures it."""
        truth = self.plant.truth()
        omega_rad_s = truth.speed_rpm * math.pi / 30.0
        return truth.shaft_power_w / omega_rad_s if omega_rad_s > 0.0 else 0.0

    def run_wall_clock(self) -> None:
        """Advance with real time from a background thread until :meth:`stop`."""
        clock = WallClock()
        self._wall_running = True

        def follow() -> None:
            while self._wall_running:
                self.advance_to(clock.now_s())
                clock.sleep(WALL_CLOCK_STEP_S)

        self._wall_thread = threading.Thread(target=follow, name="virtual-bench-clock", daemon=True)
        self._wall_thread.start()

    def stop(self) -> None:
        self._wall_running = False
        if self._wall_thread is not None:
            self._wall_thread.join(timeout=2)
        self.server.stop()

    def emulator_errors(self) -> list[str]:
        """Every emulator failure so far, as ``instrument: error (at file:line)``: each is a bug in
        the simulators that its client saw only as a closed link or a silent instrument."""
        return [
            f"{name}: {error}" for name, stats in self.server.stats.items() for error in stats.emulator_errors
        ]


class LockstepControlSession:
    """Bench time for a harness in another process, one command per line over TCP.

    ``ENDPOINTS?`` answers one JSON line mapping each instrument to its transport and address;
    ``ADVANCE <seconds>`` steps the plant to that bench time and answers ``OK <seconds>`` once done,
    so the harness's next exchange sees the new state; ``TIME?`` answers the bench time; ``SEED?``
    the plant's seed. Anything else answers ``ERR <what was wrong>``: a time that is not a finite
    number of seconds, a step of more than :data:`MAX_ADVANCE_STEP_S` (which would hold the plant,
    and every instrument with it, for minutes of integration), bytes that are not ASCII, a line
    longer than :data:`MAX_COMMAND_BYTES`. Every reply is ASCII. Replies are computed under the
    server's lock like every emulator's (the server holds it while calling :meth:`receive`).
    """

    def __init__(self, bench: VirtualBench) -> None:
        self._bench = bench
        self._buffer = b""
        self._skipping = False  # inside an over-long line already answered: drop it to its newline

    def receive(self, data: bytes) -> bytes:
        self._buffer += data
        replies = []
        while b"\n" in self._buffer:
            line, self._buffer = self._buffer.split(b"\n", 1)
            if self._skipping:
                self._skipping = False
                continue
            replies.append(self._answer_line(line) + "\n")
        if len(self._buffer) > MAX_COMMAND_BYTES:
            self._buffer = b""
            if not self._skipping:
                self._skipping = True
                replies.append(f"ERR command longer than {MAX_COMMAND_BYTES} bytes, discarded\n")
        return "".join(replies).encode("ascii")

    def _answer_line(self, line: bytes) -> str:
        if len(line) > MAX_COMMAND_BYTES:
            return f"ERR command longer than {MAX_COMMAND_BYTES} bytes, discarded"
        try:
            command = line.decode("ascii").strip()
        except UnicodeDecodeError:
            return f"ERR commands are ASCII, got {ascii(line)}"
        return self._answer(command)

    def _answer(self, command: str) -> str:
        verb, _, argument = command.partition(" ")
        if verb == "ENDPOINTS?":
            return json.dumps({name: e.as_dict() for name, e in self._bench.server.endpoints.items()})
        if verb == "TIME?":
            return repr(self._bench.plant.time_s)
        if verb == "SEED?":
            return str(self._bench.seed)
        if verb == "ADVANCE":
            try:
                target = float(argument)
            except ValueError:
                return f"ERR ADVANCE needs a time in seconds, got {argument!r}"
            if not math.isfinite(target) or target < 0.0:
                return f"ERR ADVANCE needs a finite, non-negative time in seconds, got {argument!r}"
            now = float(self._bench.plant.time_s)
            if target - now > MAX_ADVANCE_STEP_S:
                return (
                    f"ERR ADVANCE {target!r} is {target - now:.6g} s ahead of bench time {now!r}; "
                    f"at most {MAX_ADVANCE_STEP_S:g} s per step"
                )
            self._bench.advance_to(target)
            return f"OK {target!r}"
        return f"ERR unknown command {command!r}"


def _temperature_volts(temperature_c: float) -> float:
    (t_lo, t_hi), (v_lo, v_hi) = TEMPERATURE_SPAN_C, TEMPERATURE_SPAN_V
    return v_lo + (temperature_c - t_lo) / (t_hi - t_lo) * (v_hi - v_lo)
