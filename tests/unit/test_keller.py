"""Keller driver against a scripted register bus: one exchange per sample, SI scaling, identity."""

from __future__ import annotations

import math

import pytest

from drivers.keller import KellerTransducer
from hil.bench.roles import Instrument
from hil.core.errors import DeviceError, TransportTimeout
from tests.fakes import ScriptedRegisterBus


def test_one_read_of_p1_and_tob1_gives_absolute_pascal_and_celsius() -> None:
    # 1.01325 bar (standard atmosphere) = 0x3F81B22D (mantissa round(0.01325 * 2**23) = 0x1B22D);
    # 21.5 degC = 0x41AC0000
    bus = ScriptedRegisterBus([(("read", 0x0100, 4, 3), [0x3F81, 0xB22D, 0x41AC, 0x0000])])
    reading = KellerTransducer(bus, unit=3, name="p_inlet").read()
    assert reading["pressure_pa"] == pytest.approx(101_325.0, rel=1e-6)
    assert reading["temperature_c"] == 21.5
    bus.assert_done()


def test_gauge_type_adds_its_reference_pressure() -> None:
    bus = ScriptedRegisterBus([(("read", 0x0100, 4, 1), [0x4020, 0x0000, 0x41A0, 0x0000])])  # 2.5 bar
    reading = KellerTransducer(bus, 1, "p_out", reference_pressure_pa=100_000.0).read()
    assert reading["pressure_pa"] == pytest.approx(350_000.0)


def test_nan_from_the_device_is_passed_on() -> None:
    bus = ScriptedRegisterBus([(("read", 0x0100, 4, 1), [0x7FC0, 0x0000, 0x41A0, 0x0000])])
    assert math.isnan(KellerTransducer(bus, 1, "p").read()["pressure_pa"])


def test_identify_reports_the_serial_number() -> None:
    bus = ScriptedRegisterBus([(("read", 0x0202, 2, 2), [0x0012, 0xD687])])
    assert KellerTransducer(bus, 2, "p").identify() == "Keller unit 2 serial 1234567"
    bus.assert_done()


def test_identify_without_serial_register() -> None:
    bus = ScriptedRegisterBus([(("read", 0x0202, 2, 2), DeviceError("exception 2", 2))])
    assert KellerTransducer(bus, 2, "p").identify() == "Keller unit 2 (serial unavailable)"


def test_identify_passes_on_other_failures() -> None:
    bus = ScriptedRegisterBus([(("read", 0x0202, 2, 2), DeviceError("busy", 6))])
    with pytest.raises(DeviceError):
        KellerTransducer(bus, 2, "p").identify()
    bus = ScriptedRegisterBus([(("read", 0x0202, 2, 2), TransportTimeout("silent"))])
    with pytest.raises(TransportTimeout):
        KellerTransducer(bus, 2, "p").identify()


def test_safe_state_sends_nothing_and_the_role_is_met() -> None:
    bus = ScriptedRegisterBus([])
    sensor = KellerTransducer(bus, 1, "p")
    sensor.safe_state()
    sensor.safe_state()
    assert isinstance(sensor, Instrument)
