"""Every channel of a bench file maps to a reading its instrument's driver has: checked before
anything is started or opened.

A channel mapped to a reading the driver does not have (``power_w`` misspelt ``pwr``) would never
get a value: the run would start, then trip as "stale data" with nothing to say why. Each driver
declares the keys its ``read()`` returns (``READINGS``); the generic drivers' readings are the ones
their bench-file tables describe (a Modbus map's ``registers``, a SCPI description's ``readings``,
a DMM's ``quantity``, a DAQ's valve, regulator and scaled ``inputs``). A malformed table is left to
the driver's own check at assembly, which names the field.

Like :mod:`hil.run.assembly`, this module names concrete drivers (imported when a bench uses them).
Imports hil's bench file and errors, and drivers.
"""

from __future__ import annotations

from collections.abc import Callable

from hil.bench.config import BenchConfig, InstrumentConfig
from hil.core.errors import ConfigError


def _vesc(cfg: InstrumentConfig) -> set[str] | None:
    from drivers.vesc import VescDrive

    return set(VescDrive.READINGS)


def _odrive(cfg: InstrumentConfig) -> set[str] | None:
    from drivers.odrive import ODriveDrive

    firmware = cfg.options.data.get("firmware")
    return set(ODriveDrive.readings_of(firmware)) if isinstance(firmware, str) else None


def _keller(cfg: InstrumentConfig) -> set[str] | None:
    from drivers.keller import KellerTransducer

    return set(KellerTransducer.READINGS)


def _micromotion(cfg: InstrumentConfig) -> set[str] | None:
    from drivers.micromotion import CoriolisFlowMeter

    return set(CoriolisFlowMeter.READINGS)


def _wt310(cfg: InstrumentConfig) -> set[str] | None:
    from drivers.wt310 import WT310PowerMeter

    return set(WT310PowerMeter.READINGS)


def _dp800(cfg: InstrumentConfig) -> set[str] | None:
    from drivers.rigol_dp800 import DP800Supply

    return set(DP800Supply.READINGS)


def _truevolt(cfg: InstrumentConfig) -> set[str] | None:
    from drivers.truevolt import LoopTransmitterDmm

    quantity = cfg.options.data.get("quantity")
    if not isinstance(quantity, str):
        return None  # the driver's own check names it
    return {*LoopTransmitterDmm.READINGS, quantity}


def _labjack(cfg: InstrumentConfig) -> set[str] | None:
    from drivers.labjack import DacPressureRegulator, DacValve

    data = cfg.options.data
    readings: set[str] = set()
    if "valve" in data:
        readings.update(DacValve.READINGS)
    if "regulator" in data:
        readings.update(DacPressureRegulator.READINGS)
    inputs = data.get("inputs", [])
    if not isinstance(inputs, list):
        return None
    for entry in inputs:
        quantity = entry.get("quantity") if isinstance(entry, dict) else None
        if not isinstance(quantity, str):
            return None
        readings.add(quantity)
    return readings


def _table_keys(key: str) -> Callable[[InstrumentConfig], set[str] | None]:
    def readings(cfg: InstrumentConfig) -> set[str] | None:
        table = cfg.options.data.get(key)
        return {str(name) for name in table} if isinstance(table, dict) else None

    return readings


READINGS_OF: dict[str, Callable[[InstrumentConfig], set[str] | None]] = {
    "vesc": _vesc,
    "odrive": _odrive,
    "keller": _keller,
    "micromotion": _micromotion,
    "wt310": _wt310,
    "dp800": _dp800,
    "truevolt-4-20ma": _truevolt,
    "labjack-t7": _labjack,
    "modbus": _table_keys("registers"),
    "scpi": _table_keys("readings"),
}
"""Per driver: the readings an instrument of it provides (None: its table is malformed, said later)."""


def check_channel_readings(config: BenchConfig) -> None:
    """Raise ConfigError naming the file, the channel and the readings available, for the first
    channel mapped to a reading its instrument's driver does not provide."""
    for name, inst in config.instruments.items():
        provided = READINGS_OF.get(inst.driver, lambda cfg: None)(inst)  # unknown driver: said at assembly
        if provided is None:
            continue
        for channel, reading in inst.channels.items():
            if reading not in provided:
                raise ConfigError(
                    config.source,
                    f"instruments.{name}.channels.{channel}",
                    f"maps to {reading!r}, which the {inst.driver} driver does not read "
                    f"(available: {', '.join(sorted(provided)) or 'none'})",
                )
