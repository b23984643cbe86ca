"""LabJack T7 over Modbus TCP, and the bench instruments built on its analog I/O.

Wire facts (shared/reference/protocols.md, DAQ): AIN0..AIN13 at addresses 0, 2, ..., 26 as
big-endian float32 volts (function code 3); DAC0/DAC1 at 1000/1002, float32 volts written with
function code 16. PRODUCT_ID at 60000 (float32, 7.0 on a T7) is **unverified** and only used by
:meth:`LabJackT7.identify`.

Classes:

* :class:`LabJackT7`: the device. ``read_ain_v`` reads the contiguous block covering the requested
  inputs in one request; ``write_dac_v`` refuses voltages outside the DAC range (0..5 V on a T7,
  a constructor option) instead of clipping; ``read`` returns the raw volts of the inputs named in
  ``inputs`` as ``ain<N>_v``.
* :class:`DacValve`: a valve positioner commanded from a DAC with position feedback on an AIN
  (role :class:`hil.bench.roles.Valve`).
* :class:`DacPressureRegulator`: a pressure regulator (the suction tank's) with its setpoint on a
  DAC and pressure feedback on an AIN (role :class:`hil.bench.roles.PressureRegulator`).
* :class:`ScaledAnalogInput`: transmitters on AINs, scaled linearly to named quantities
  (e.g. AIN1, 1-5 V = 0-100 degC -> ``fluid_temperature_c``).

One AIN exchange per tick, however many instruments share the LabJack: the runner calls ``read()``
on every instrument each tick, so the valve, the scaled inputs and the LabJack itself must not each
fetch the inputs. They subscribe to the LabJack (:meth:`LabJackT7.subscribe`), which reads ONE block
covering every subscribed channel and hands that sample to each subscriber once: a subscriber asking
again (it has already seen the current sample) triggers the next block read, which every other
subscriber then receives. With every instrument read once per tick, in any order, that is exactly
one exchange per tick, and no subscriber ever gets the same sample twice. A subscriber that skipped
a tick receives the sample taken on the previous tick (never older). No clock is involved, and the
state lives in the LabJack object, not in the module.

Imports hil's errors, roles and transport types and :mod:`drivers.modbus_values` only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from drivers.modbus_values import float32_to_registers, registers_to_float32, registers_to_float32s
from hil.bench.roles import Reading
from hil.bench.transport import RegisterTransport
from hil.core.errors import ConfigError, DeviceError, LimitError

AIN_COUNT = 14  # AIN0..AIN13 on the T7's terminals and DB37
AIN_ADDRESS_STRIDE = 2  # one float32 per input
DAC_ADDRESSES = {0: 1000, 1: 1002}
PRODUCT_ID_ADDRESS = 60000  # unverified
T7_DAC_RANGE_V = (0.0, 5.0)
ILLEGAL_DATA_ADDRESS = 2


class AinSubscription:
    """One instrument's share of a LabJack's AIN sample (see the module docstring)."""

    def __init__(self, daq: LabJackT7, key: int, channels: tuple[int, ...]) -> None:
        self.channels = channels
        self._daq = daq
        self._key = key

    def read_v(self) -> dict[int, float]:
        """Volts of (at least) the subscribed channels, from a sample this subscriber has not seen."""
        return self._daq._sample_for(self._key)


class LabJackT7:
    """A LabJack T7 on one Modbus TCP connection."""

    def __init__(
        self,
        link: RegisterTransport,
        name: str,
        unit: int = 1,
        inputs: Sequence[int] = (),
        dac_range_v: tuple[float, float] = T7_DAC_RANGE_V,
    ) -> None:
        self.name = name
        self.unit = unit
        self._link = link
        low_v, high_v = dac_range_v
        if not low_v < high_v:
            raise ConfigError(name, "dac_range_v", f"expected (low, high) with low < high, got {dac_range_v}")
        self.dac_range_v = (float(low_v), float(high_v))
        self._subscribed_channels: set[int] = set()
        self._sample: dict[int, float] | None = None
        self._delivered_to: set[int] = set()
        self._subscriber_count = 0
        self.inputs = tuple(inputs)
        self._own_inputs = self.subscribe(self.inputs) if self.inputs else None

    def identify(self) -> str:
        try:
            registers = self._link.read_holding_registers(PRODUCT_ID_ADDRESS, 2, self.unit)
        except DeviceError as exc:
            if exc.code == ILLEGAL_DATA_ADDRESS:
                return f"LabJack unit {self.unit} (product id unavailable)"
            raise
        product_id = registers_to_float32(registers)
        return f"LabJack T{product_id:g} unit {self.unit}"

    def _check_channels(self, channels: Sequence[int]) -> None:
        if not channels:
            raise LimitError(f"{self.name}: no analog inputs requested")
        for channel in channels:
            if not 0 <= channel < AIN_COUNT:
                raise LimitError(f"{self.name}: AIN{channel} does not exist (AIN0..AIN{AIN_COUNT - 1})")

    def read_ain_v(self, channels: Sequence[int]) -> list[float]:
        """Volts on ``channels`` (in the order given), from one read of the block that covers them."""
        self._check_channels(channels)
        first, last = min(channels), max(channels)
        registers = self._link.read_holding_registers(
            first * AIN_ADDRESS_STRIDE, (last - first + 1) * AIN_ADDRESS_STRIDE, self.unit
        )
        block_v = registers_to_float32s(registers)
        return [block_v[channel - first] for channel in channels]

    def write_dac_v(self, channel: int, volts: float) -> None:
        """Set DAC ``channel`` to ``volts``; raises LimitError outside the DAC range (never clips)."""
        if channel not in DAC_ADDRESSES:
            raise LimitError(f"{self.name}: DAC{channel} does not exist (DAC0, DAC1)")
        low_v, high_v = self.dac_range_v
        if not low_v <= volts <= high_v:  # also refuses NaN
            raise LimitError(f"{self.name}: DAC{channel} {volts} V is outside {low_v}..{high_v} V")
        self._link.write_registers(DAC_ADDRESSES[channel], float32_to_registers(volts), self.unit)

    def subscribe(self, channels: Sequence[int]) -> AinSubscription:
        """Share this LabJack's per-tick AIN sample; the block read grows to cover ``channels``."""
        self._check_channels(channels)
        self._subscribed_channels.update(channels)
        self._sample = None  # the block changed: the next request reads afresh
        key = self._subscriber_count
        self._subscriber_count += 1
        return AinSubscription(self, key, tuple(channels))

    def _sample_for(self, key: int) -> dict[int, float]:
        if self._sample is None or key in self._delivered_to:
            channels = sorted(self._subscribed_channels)
            self._sample = None  # if the read fails, nobody gets the previous sample as current
            self._sample = dict(zip(channels, self.read_ain_v(channels)))
            self._delivered_to = set()
        self._delivered_to.add(key)
        return self._sample

    def read(self) -> Reading:
        """Raw volts of the configured ``inputs`` (no exchange when there are none)."""
        if self._own_inputs is None:
            return {}
        volts = self._own_inputs.read_v()
        return {f"ain{channel}_v": volts[channel] for channel in self.inputs}

    def safe_state(self) -> None:
        """The LabJack alone does not know what its outputs drive; its adapters make those safe."""


def _check_dac_span(
    daq: LabJackT7, name: str, dac_channel: int, low: tuple[str, float], high: tuple[str, float]
) -> None:
    """A DAC-commanded actuator's channel exists and both ends of its command span fit the DAC range."""
    if dac_channel not in DAC_ADDRESSES:
        raise ConfigError(name, "dac_channel", f"DAC{dac_channel} does not exist (DAC0, DAC1)")
    low_v, high_v = daq.dac_range_v
    for field, volts in (low, high):
        if not low_v <= volts <= high_v:
            raise ConfigError(name, field, f"{volts} V is outside the DAC range {low_v}..{high_v} V")
    if low[1] == high[1]:
        raise ConfigError(name, high[0], f"must differ from {low[0]}")


class DacValve:
    """A valve positioner: command on a DAC, position feedback on an AIN (role Valve).

    The command maps opening 0..1 linearly onto ``closed_v``..``open_v`` (reverse-acting
    positioners simply have ``closed_v > open_v``); feedback maps ``feedback_closed_v``..
    ``feedback_open_v`` (default: the command voltages) back to a fraction, unclipped, so a
    positioner overshooting or a broken feedback wire shows up in the data. The safe opening defaults
    to fully open: a throttle valve slammed shut on a spinning pump would dead-head it.
    """

    READINGS: tuple[str, ...] = ("valve_position_fraction",)
    """The keys of :meth:`read` (a DAQ's ``channels`` may map them; checked before connecting)."""

    def __init__(
        self,
        daq: LabJackT7,
        dac_channel: int,
        feedback_ain: int,
        closed_v: float,
        open_v: float,
        safe_opening_fraction: float = 1.0,
        feedback_closed_v: float | None = None,
        feedback_open_v: float | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name if name is not None else f"{daq.name}.dac{dac_channel}"
        _check_dac_span(daq, self.name, dac_channel, ("closed_v", closed_v), ("open_v", open_v))
        if not 0.0 <= safe_opening_fraction <= 1.0:
            raise ConfigError(self.name, "safe_opening_fraction", f"{safe_opening_fraction} is outside 0..1")
        self._feedback_closed_v = closed_v if feedback_closed_v is None else feedback_closed_v
        self._feedback_open_v = open_v if feedback_open_v is None else feedback_open_v
        if self._feedback_closed_v == self._feedback_open_v:
            raise ConfigError(self.name, "feedback_open_v", "must differ from feedback_closed_v")
        self._daq = daq
        self.dac_channel = dac_channel
        self.feedback_ain = feedback_ain
        self._closed_v = closed_v
        self._open_v = open_v
        self.safe_opening_fraction = safe_opening_fraction
        self._feedback = daq.subscribe([feedback_ain])

    def identify(self) -> str:
        return f"{self._daq.identify()}: valve on DAC{self.dac_channel}, feedback AIN{self.feedback_ain}"

    def set_opening(self, opening_fraction: float) -> None:
        if not 0.0 <= opening_fraction <= 1.0:  # also refuses NaN
            raise LimitError(f"{self.name}: opening {opening_fraction} is outside 0..1")
        volts = self._closed_v + opening_fraction * (self._open_v - self._closed_v)
        self._daq.write_dac_v(self.dac_channel, volts)

    def read(self) -> Reading:
        volts = self._feedback.read_v()[self.feedback_ain]
        span_v = self._feedback_open_v - self._feedback_closed_v
        return {"valve_position_fraction": (volts - self._feedback_closed_v) / span_v}

    def safe_state(self) -> None:
        self.set_opening(self.safe_opening_fraction)


class DacPressureRegulator:
    """An electro-pneumatic pressure regulator: setpoint from a DAC, pressure feedback on an AIN.

    Role :class:`hil.bench.roles.PressureRegulator`; it sets the suction tank's ullage pressure (absolute).
    The setpoint maps ``pressure_lo_pa``..``pressure_hi_pa`` linearly onto ``volts_lo``..``volts_hi``,
    and the transmitter on ``feedback_ain`` uses the same span unless told otherwise. A setpoint
    outside ``pressure_lo_pa``..``pressure_hi_pa`` raises :class:`~hil.core.errors.LimitError` (never
    clipped). The feedback is not clipped either, so a regulator that cannot follow, or a broken
    transmitter, shows in the data. The safe state is ``safe_pressure_pa`` (about atmospheric on a
    pump bench): neither a vacuum that would cavitate the pump nor an overpressure of the tank.
    """

    READINGS: tuple[str, ...] = ("tank_pressure_pa",)
    """The keys of :meth:`read` (a DAQ's ``channels`` may map them; checked before connecting)."""

    def __init__(
        self,
        daq: LabJackT7,
        dac_channel: int,
        feedback_ain: int,
        volts_lo: float,
        volts_hi: float,
        pressure_lo_pa: float,
        pressure_hi_pa: float,
        safe_pressure_pa: float,
        feedback_volts_lo: float | None = None,
        feedback_volts_hi: float | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name if name is not None else f"{daq.name}.dac{dac_channel}"
        _check_dac_span(daq, self.name, dac_channel, ("volts_lo", volts_lo), ("volts_hi", volts_hi))
        if not pressure_lo_pa >= 0.0:  # absolute pressures; also refuses NaN
            raise ConfigError(
                self.name, "pressure_lo_pa", f"expected an absolute pressure >= 0, got {pressure_lo_pa}"
            )
        if not pressure_lo_pa < pressure_hi_pa:
            raise ConfigError(
                self.name,
                "pressure_hi_pa",
                f"must exceed pressure_lo_pa ({pressure_lo_pa}), got {pressure_hi_pa}",
            )
        if not pressure_lo_pa <= safe_pressure_pa <= pressure_hi_pa:
            raise ConfigError(
                self.name,
                "safe_pressure_pa",
                f"{safe_pressure_pa} Pa is outside the regulator range {pressure_lo_pa}..{pressure_hi_pa} Pa",
            )
        self._feedback_lo_v = volts_lo if feedback_volts_lo is None else feedback_volts_lo
        self._feedback_hi_v = volts_hi if feedback_volts_hi is None else feedback_volts_hi
        if self._feedback_lo_v == self._feedback_hi_v:
            raise ConfigError(self.name, "feedback_volts_hi", "must differ from feedback_volts_lo")
        self._daq = daq
        self.dac_channel = dac_channel
        self.feedback_ain = feedback_ain
        self._volts_lo = volts_lo
        self._volts_hi = volts_hi
        self.pressure_range_pa = (float(pressure_lo_pa), float(pressure_hi_pa))
        self.safe_pressure_pa = safe_pressure_pa
        self._feedback = daq.subscribe([feedback_ain])

    def identify(self) -> str:
        return (
            f"{self._daq.identify()}: pressure regulator on DAC{self.dac_channel}, "
            f"feedback AIN{self.feedback_ain}"
        )

    def set_pressure_pa(self, pressure_pa: float) -> None:
        low, high = self.pressure_range_pa
        if not low <= pressure_pa <= high:  # also refuses NaN
            raise LimitError(
                f"{self.name}: pressure setpoint {pressure_pa} Pa is outside {low:g}..{high:g} Pa"
            )
        fraction = (pressure_pa - low) / (high - low)
        self._daq.write_dac_v(self.dac_channel, self._volts_lo + fraction * (self._volts_hi - self._volts_lo))

    def read(self) -> Reading:
        volts = self._feedback.read_v()[self.feedback_ain]
        low, high = self.pressure_range_pa
        fraction = (volts - self._feedback_lo_v) / (self._feedback_hi_v - self._feedback_lo_v)
        return {"tank_pressure_pa": low + fraction * (high - low)}

    def safe_state(self) -> None:
        self.set_pressure_pa(self.safe_pressure_pa)


class AnalogScaling(NamedTuple):
    """Linear scaling of one input: ``volts_lo``..``volts_hi`` maps to ``value_lo``..``value_hi``."""

    quantity: str  # reading key with its unit, e.g. "fluid_temperature_c"
    volts_lo: float
    volts_hi: float
    value_lo: float
    value_hi: float


class ScaledAnalogInput:
    """Transmitters on LabJack AINs, each scaled linearly to a named quantity (no clipping).

    Values outside the transmitter's span (e.g. 0 V on a 1-5 V live-zero loop with a broken wire)
    come through unclipped so that bench limits see them.
    """

    def __init__(
        self,
        daq: LabJackT7,
        scalings: Mapping[int, AnalogScaling | tuple[str, float, float, float, float]],
        name: str | None = None,
    ) -> None:
        self.name = name if name is not None else f"{daq.name}.scaled"
        if not scalings:
            raise ConfigError(self.name, "scalings", "at least one input is required")
        try:
            self._scalings = {channel: AnalogScaling(*scaling) for channel, scaling in scalings.items()}
        except TypeError as exc:
            raise ConfigError(
                self.name, "scalings", "each input needs (quantity, volts_lo, volts_hi, value_lo, value_hi)"
            ) from exc
        quantities = [scaling.quantity for scaling in self._scalings.values()]
        for channel, scaling in self._scalings.items():
            if not scaling.quantity:
                raise ConfigError(self.name, f"AIN{channel}.quantity", "must be a non-empty name")
            if quantities.count(scaling.quantity) > 1:
                raise ConfigError(self.name, f"AIN{channel}.quantity", f"{scaling.quantity!r} is used twice")
            if scaling.volts_lo == scaling.volts_hi:
                raise ConfigError(self.name, f"AIN{channel}.volts_hi", "must differ from volts_lo")
        self._daq = daq
        self._inputs = daq.subscribe(sorted(self._scalings))

    def identify(self) -> str:
        described = ", ".join(
            f"AIN{channel} -> {scaling.quantity}" for channel, scaling in sorted(self._scalings.items())
        )
        return f"{self._daq.identify()}: {described}"

    def read(self) -> Reading:
        volts = self._inputs.read_v()
        reading: Reading = {}
        for channel, s in self._scalings.items():
            fraction = (volts[channel] - s.volts_lo) / (s.volts_hi - s.volts_lo)
            reading[s.quantity] = s.value_lo + fraction * (s.value_hi - s.value_lo)
        return reading

    def safe_state(self) -> None:
        """Inputs have nothing to make safe."""
