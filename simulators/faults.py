"""Fault injection for the virtual bench: what goes wrong on a real bench, on demand, in bench time.

What lives here: the fault catalogue (:data:`KINDS`), :class:`FaultSpec` and its parser
(:func:`parse_fault`, :func:`parse_faults`), and :class:`FaultInjector`, which the virtual bench wires
between its plant, its emulators and its servers. Faults act where they act on real hardware: on the
wire (a lost, garbled or refused reply; a cut line), in a sensor (stuck, drifting, no data, overload)
or in the loop itself (a valve driven shut, a tank pressure collapse, a hot motor, a controller fault).
The harness learns of them only through the wire, exactly as it would on a bench, so the runner's
interlocks and retries are what gets tested.

A fault is written ``KIND[:TARGET]@SECONDS[+DURATION]``: ``silence@5``, ``stuck:p_outlet_pa@3``,
``disconnect:power@5+0.5``. ``SECONDS`` is bench time from the start of the run; the fault takes effect
in the first :meth:`FaultInjector.advance_to` at or after it, i.e. before the runner's sample of that
tick. ``TARGET`` defaults per kind. ``DURATION`` applies to the kinds that last (silence, disconnect
and the sensor faults); without it they last to the end of the run, except ``disconnect``, whose
instrument comes back after 2 s by default. One-shot kinds act on the next reply only; plant faults
are latched (a failed positioner or regulator does not heal).

Link targets are the virtual bench's endpoints (``motor``, ``rs485``, ``power``, ``daq``); sensor
targets are plant sensor names (:data:`simulators.plant.SENSOR_NAMES`). Modbus TCP (``daq``) has no
checksum of its own and a TCP link does not garble bytes, so ``garble`` and ``bad-checksum`` are not
offered there: corruption that no layer can detect is not a transport fault but a wrong reading, and
that is what the sensor faults are for.

Imports :mod:`hil.core.errors` and simulators only; must not import drivers/.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from hil.core.errors import ConfigError, DeviceError
from simulators.modbus_device import ILLEGAL_FUNCTION, RegisterDevice
from simulators.plant import SENSOR_NAMES, MotorState, PumpLoop
from simulators.server import Emulator, EmulatorFactory

LINKS = ("motor", "rs485", "power", "daq", "supply", "dmm")
CHECKSUM_INDEX_FROM_END = {"motor": 2, "rs485": 1}
"""A checksum byte of a reply, counted from its end (0 is the last byte): a VESC frame ends in CRC
high, CRC low, end byte 0x03, so 2 is the CRC's high byte; a Modbus RTU frame ends in CRC low, CRC
high, so 1 is the CRC's low byte. Everything else of the reply stays intact."""

MODBUS_BUSY = 6
"""Modbus exception code the ``modbus-exception`` fault answers: server device busy, the one a real
transducer gives when asked while it updates, and which a master is expected to retry."""

CONTROLLER_FAULT_CODE = 3
"""VESC ``FAULT_CODE_DRV``: the gate driver reported a fault; the firmware stops driving the motor."""

MOTOR_OVERTEMP_RATE_K_S = 30.0
"""How fast the reported winding temperature climbs after cooling is lost. A real winding takes
minutes (400 J/K and ~200 W of copper loss is 0.5 K/s); this is sped up so a short run sees the trip."""

DRIFT_RATES_PER_S = {
    "_pa": 2.0e6,
    "_c": 20.0,
    "_m3_s": 2.0e-4,
    "_kg_s": 0.2,
    "_kg_m3": 100.0,
    "_fraction": 0.5,
    "_v": 10.0,
    "_a": 20.0,
    "_w": 1000.0,
}
"""Drift of a sensor reading per second of bench time, by unit suffix: 20 bar/s, 20 K/s, ... fast
enough that a drifting outlet transducer crosses a 40 bar limit within two seconds of a short run."""

DEFAULT_DISCONNECT_S = 2.0
_EPS_S = 1e-9  # tick times are sums of float steps (0.30000000000000004)


@dataclass(frozen=True)
class FaultKind:
    name: str
    summary: str
    layer: str  # "link", "device", "sensor" or "plant"
    targets: tuple[str, ...]
    default_target: str
    lasting: bool  # accepts +DURATION (otherwise one-shot or latched)
    default_duration_s: float | None = None


_KIND_LIST = (
    FaultKind("timeout", "the next reply is lost: the driver times out once", "link", LINKS, "rs485", False),
    FaultKind("silence", "the instrument still obeys but never answers", "link", LINKS, "power", True),
    FaultKind(
        "garble",
        "one byte in the middle of the next reply is altered",
        "link",
        ("motor", "rs485", "power"),
        "motor",
        False,
    ),
    FaultKind(
        "bad-checksum",
        "the next reply's checksum is corrupted",
        "link",
        tuple(CHECKSUM_INDEX_FROM_END),
        "rs485",
        False,
    ),
    FaultKind(
        "modbus-exception",
        "the next register request is refused with exception 6 (busy)",
        "device",
        ("rs485", "daq"),
        "daq",
        False,
    ),
    FaultKind(
        "disconnect",
        "the line is cut (nothing passes either way), then restored",
        "link",
        LINKS,
        "rs485",
        True,
        DEFAULT_DISCONNECT_S,
    ),
    FaultKind(
        "stuck", "the sensor's reading freezes at its value", "sensor", SENSOR_NAMES, "volume_flow_m3_s", True
    ),
    FaultKind(
        "drift",
        "the sensor's reading drifts upward at a fixed rate",
        "sensor",
        SENSOR_NAMES,
        "p_outlet_pa",
        True,
    ),
    FaultKind(
        "nan", "the sensor has no data (NaN; 9.91E37 over SCPI)", "sensor", SENSOR_NAMES, "bus_power_w", True
    ),
    FaultKind(
        "overload",
        "the sensor is over range (+inf; 9.9E37 over SCPI)",
        "sensor",
        SENSOR_NAMES,
        "bus_power_w",
        True,
    ),
    FaultKind(
        "overpressure",
        "the throttle valve is driven shut and stays shut (dead-head)",
        "plant",
        ("valve",),
        "valve",
        False,
    ),
    FaultKind(
        "cavitation",
        "the tank pressure regulator fails and the ullage pressure collapses",
        "plant",
        ("tank",),
        "tank",
        False,
    ),
    FaultKind(
        "motor-overtemp",
        f"motor cooling is lost: the winding temperature climbs {MOTOR_OVERTEMP_RATE_K_S:g} K/s",
        "plant",
        ("motor",),
        "motor",
        False,
    ),
    FaultKind(
        "controller-fault",
        f"the controller latches fault code {CONTROLLER_FAULT_CODE} and releases the motor",
        "plant",
        ("motor",),
        "motor",
        False,
    ),
)
KINDS: dict[str, FaultKind] = {kind.name: kind for kind in _KIND_LIST}

_SPEC = re.compile(r"(?P<kind>[a-z-]+)(?::(?P<target>[A-Za-z0-9_]+))?@(?P<at>[^+]+)(?:\+(?P<duration>.+))?")
_FORM = "expected KIND[:TARGET]@SECONDS[+DURATION] (e.g. silence@5, disconnect:power@5+0.5)"


@dataclass(frozen=True)
class FaultSpec:
    """One fault of one run: what, where, from when (bench seconds), for how long (None: to the end)."""

    kind: str
    target: str
    at_s: float
    duration_s: float | None = None

    def __str__(self) -> str:
        text = f"{self.kind}:{self.target}@{self.at_s:g}"
        return text + (f"+{self.duration_s:g}" if self.duration_s is not None else "")

    @property
    def end_s(self) -> float:
        return math.inf if self.duration_s is None else self.at_s + self.duration_s


def kinds_listing() -> str:
    return ", ".join(KINDS)


def parse_fault(text: str, source: str = "command line", field: str = "--fault") -> FaultSpec:
    """Parse ``KIND[:TARGET]@SECONDS[+DURATION]``; ConfigError naming the kinds or targets otherwise."""
    found = _SPEC.fullmatch(text.strip())
    if found is None:
        raise ConfigError(source, field, f"{text!r}: {_FORM}; kinds: {kinds_listing()}")
    name = found["kind"]
    kind = KINDS.get(name)
    if kind is None:
        raise ConfigError(source, field, f"{text!r}: unknown fault kind {name!r}; kinds: {kinds_listing()}")
    target = found["target"] or kind.default_target
    if target not in kind.targets:
        raise ConfigError(
            source, field, f"{text!r}: {name} cannot target {target!r}; targets: " + ", ".join(kind.targets)
        )
    at_s = _seconds(found["at"], text, source, field, "SECONDS", allow_zero=True)
    duration_s = kind.default_duration_s
    if found["duration"] is not None:
        if not kind.lasting:
            raise ConfigError(
                source,
                field,
                f"{text!r}: {name} takes no +DURATION (it is "
                + ("latched" if kind.layer == "plant" else "one reply")
                + ")",
            )
        duration_s = _seconds(found["duration"], text, source, field, "DURATION", allow_zero=False)
    return FaultSpec(name, target, at_s, duration_s)


def parse_faults(texts: Iterable[str], source: str, field: str) -> list[FaultSpec]:
    """Parse a bench file's list of faults; errors name the entry (``virtual.faults[2]``)."""
    return [parse_fault(str(text), source, f"{field}[{index}]") for index, text in enumerate(texts)]


def _seconds(value: str, text: str, source: str, field: str, what: str, allow_zero: bool) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigError(
            source, field, f"{text!r}: {what} must be a number of seconds, got {value!r}"
        ) from None
    if not math.isfinite(seconds) or seconds < 0 or (seconds == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise ConfigError(source, field, f"{text!r}: {what} must be finite and {bound}, got {value!r}")
    return seconds


# ------------------------------------------------------------------------------------------ state
@dataclass
class _LinkState:
    """What is currently wrong with one endpoint's line (shared by every session on it)."""

    drop_next: int = 0
    garble_next: int = 0
    checksum_next: int = 0
    exception_next: int = 0
    silent: bool = False
    cut: bool = False


@dataclass
class _SensorFault:
    kind: str
    start_s: float
    frozen_value: float = math.nan


class FaultInjector:
    """Holds the run's fault specs and applies each at its bench time.

    The virtual bench builds its emulators through this object: readings through :meth:`measured`,
    the motor controller over :attr:`motor`, actuator commands through :meth:`command_valve` and
    :meth:`command_tank_pressure_pa`, Modbus devices through :meth:`register_device`, and every served
    endpoint through :meth:`link` / :meth:`link_factory`. With no faults all of these pass straight
    through. :attr:`activated` lists (bench time, spec) for every fault that took effect.
    """

    def __init__(self, plant: PumpLoop, faults: Sequence[FaultSpec] = ()) -> None:
        self._plant = plant
        self._pending = sorted(faults, key=lambda spec: spec.at_s)
        self._ending: list[FaultSpec] = []
        self._links = {name: _LinkState() for name in LINKS}
        self._sensors: dict[str, _SensorFault] = {}
        self._valve_failed = False
        self._regulator_failed = False
        self.motor = FaultyMotor(plant)
        self.activated: list[tuple[float, FaultSpec]] = []

    # ---- wiring ----------------------------------------------------------------------------------
    def measured(self, name: str) -> float:
        """The plant's reading of ``name`` as the instrument reports it, sensor faults applied."""
        value = self._plant.measured(name)
        fault = self._sensors.get(name)
        if fault is None:
            return value
        if fault.kind == "stuck":
            return fault.frozen_value
        if fault.kind == "drift":
            return value + _drift_rate(name) * (self._plant.time_s - fault.start_s)
        if fault.kind == "nan":
            return math.nan
        return math.inf  # overload

    def command_valve(self, opening_fraction: float) -> None:
        """The throttle valve positioner's input; ignored once the positioner has failed shut."""
        if not self._valve_failed:
            self._plant.set_valve_command(opening_fraction)

    def command_tank_pressure_pa(self, pressure_pa: float) -> None:
        """The tank pressure regulator's input; ignored once the regulator has failed."""
        if not self._regulator_failed:
            self._plant.set_tank_pressure_command_pa(pressure_pa)

    def register_device(self, link: str, device: RegisterDevice) -> RegisterDevice:
        return _FaultyRegisterDevice(device, self._links[link])

    def link(self, link: str, emulator: Emulator) -> Emulator:
        return _FaultyLink(emulator, self._links[link], CHECKSUM_INDEX_FROM_END.get(link))

    def link_factory(self, link: str, factory: EmulatorFactory) -> EmulatorFactory:
        return lambda: self.link(link, factory())

    # ---- time ------------------------------------------------------------------------------------
    def advance_to(self, time_s: float) -> None:
        """Start every fault due at or before ``time_s`` and end every lasting fault whose time is up.

        Call after the plant has advanced, so a stuck sensor freezes at this tick's reading.
        """
        while self._pending and self._pending[0].at_s <= time_s + _EPS_S:
            spec = self._pending.pop(0)
            self._start(spec, time_s)
            self.activated.append((time_s, spec))
            if spec.end_s < math.inf:
                self._ending.append(spec)
        for spec in [s for s in self._ending if s.end_s <= time_s + _EPS_S]:
            self._ending.remove(spec)
            self._end(spec)

    def _start(self, spec: FaultSpec, time_s: float) -> None:
        kind, target = spec.kind, spec.target
        layer = KINDS[kind].layer
        if layer in ("link", "device"):
            state = self._links[target]
            if kind == "timeout":
                state.drop_next += 1
            elif kind == "garble":
                state.garble_next += 1
            elif kind == "bad-checksum":
                state.checksum_next += 1
            elif kind == "modbus-exception":
                state.exception_next += 1
            elif kind == "silence":
                state.silent = True
            elif kind == "disconnect":
                state.cut = True
        elif layer == "sensor":
            self._sensors[target] = _SensorFault(kind, time_s, self._plant.measured(target))
        elif kind == "overpressure":
            self._plant.set_valve_command(0.0)
            self._valve_failed = True
        elif kind == "cavitation":
            self._plant.set_tank_pressure_command_pa(self._plant.params.tank_pressure_min_pa)
            self._regulator_failed = True
        elif kind == "motor-overtemp":
            self.motor.overheat_from(time_s)
        elif kind == "controller-fault":
            self.motor.latch_fault(CONTROLLER_FAULT_CODE)

    def _end(self, spec: FaultSpec) -> None:
        if spec.kind == "silence":
            self._links[spec.target].silent = False
        elif spec.kind == "disconnect":
            self._links[spec.target].cut = False
        elif KINDS[spec.kind].layer == "sensor":
            self._sensors.pop(spec.target, None)


def _drift_rate(name: str) -> float:
    for suffix, rate in DRIFT_RATES_PER_S.items():
        if name.endswith(suffix):
            return rate
    return 1.0


# ------------------------------------------------------------------------------------------ wrappers
class _FaultyLink:
    """An endpoint's line: passes bytes to the emulator and its replies back, unless a fault says not."""

    def __init__(self, inner: Emulator, state: _LinkState, checksum_index_from_end: int | None) -> None:
        self._inner = inner
        self._state = state
        self._checksum_index = checksum_index_from_end

    def receive(self, data: bytes) -> bytes:
        state = self._state
        if state.cut:
            return b""  # nothing reaches the instrument
        reply = self._inner.receive(data)
        if not reply or state.silent:
            return b""
        if state.drop_next:
            state.drop_next -= 1
            return b""
        if state.garble_next:
            state.garble_next -= 1
            return _flip(reply, len(reply) // 2, 0x55)
        if state.checksum_next and self._checksum_index is not None:
            state.checksum_next -= 1
            return _flip(reply, len(reply) - 1 - self._checksum_index, 0xFF)
        return reply


def _flip(data: bytes, index: int, mask: int) -> bytes:
    altered = bytearray(data)
    altered[index] ^= mask
    return bytes(altered)


class _FaultyRegisterDevice:
    """A Modbus unit that refuses the next request with exception 6 when told to."""

    def __init__(self, inner: RegisterDevice, state: _LinkState) -> None:
        self._inner = inner
        self._state = state

    def _refuse_if_due(self) -> None:
        if self._state.exception_next:
            self._state.exception_next -= 1
            raise DeviceError("server device busy (injected fault)", MODBUS_BUSY)

    def read_registers(self, address: int, count: int) -> list[int]:
        self._refuse_if_due()
        return self._inner.read_registers(address, count)

    def read_input_registers(self, address: int, count: int) -> list[int]:
        read = getattr(self._inner, "read_input_registers", None)
        if read is None:
            raise DeviceError("this device has no input registers", ILLEGAL_FUNCTION)
        self._refuse_if_due()
        values: list[int] = read(address, count)
        return values

    def write_registers(self, address: int, values: Sequence[int]) -> None:
        self._refuse_if_due()
        self._inner.write_registers(address, values)


class FaultyMotor:
    """The motor as the emulated controller sees it (a :class:`simulators.vesc_emulator.MotorPlant`),
    with the controller-side faults: a winding that overheats and a latched fault code.

    While a fault code is latched the controller refuses to drive (speed commands are ignored) but
    still accepts a release (current 0), as the firmware does.
    """

    def __init__(self, plant: PumpLoop) -> None:
        self._plant = plant
        self._fault_code = 0
        self._overheat_start_s: float | None = None

    @property
    def time_s(self) -> float:
        return self._plant.time_s

    def command_speed_rpm(self, mechanical_rpm: float) -> None:
        if not self._fault_code:
            self._plant.command_speed_rpm(mechanical_rpm)

    def command_current_a(self, current_a: float) -> None:
        if not self._fault_code or current_a == 0.0:
            self._plant.command_current_a(current_a)

    def motor_state(self) -> MotorState:
        state = self._plant.motor_state()
        if self._fault_code:
            state = dataclasses.replace(state, fault_code=self._fault_code)
        if self._overheat_start_s is not None:
            rise = MOTOR_OVERTEMP_RATE_K_S * max(0.0, self._plant.time_s - self._overheat_start_s)
            state = dataclasses.replace(state, temp_motor_c=state.temp_motor_c + rise)
        return state

    def latch_fault(self, code: int) -> None:
        self._fault_code = code
        self._plant.command_current_a(0.0)

    def overheat_from(self, time_s: float) -> None:
        self._overheat_start_s = time_s
