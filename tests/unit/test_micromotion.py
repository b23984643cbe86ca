"""Micro Motion driver against a scripted register bus: one 8-register read, word order, unit scaling."""

from __future__ import annotations

import pytest

from drivers.micromotion import CoriolisFlowMeter
from hil.bench.roles import Instrument
from hil.core.errors import ConfigError, TransportTimeout
from tests.fakes import ScriptedRegisterBus


def test_device_units_and_swapped_words_are_converted_to_si() -> None:
    # Device configured for g/s, g/cm3, degC, l/s and low word first:
    # 250 g/s = 0x437A0000, 1 g/cm3 = 0x3F800000, 20 degC = 0x41A00000, 0.25 l/s = 0x3E800000.
    registers = [0x0000, 0x437A, 0x0000, 0x3F80, 0x0000, 0x41A0, 0x0000, 0x3E80]
    bus = ScriptedRegisterBus([(("read", 246, 8, 3), registers)])
    meter = CoriolisFlowMeter(
        bus,
        unit=3,
        name="coriolis",
        word_order="little",
        units={"mass_flow": "g/s", "density": "g/cm3", "volume_flow": "l/s", "temperature": "degC"},
    )
    assert meter.read() == {
        "mass_flow_kg_s": pytest.approx(0.25),
        "volume_flow_m3_s": pytest.approx(2.5e-4),
        "density_kg_m3": pytest.approx(1000.0),
        "temperature_c": pytest.approx(20.0),
    }
    bus.assert_done()


def test_si_defaults_high_word_first() -> None:
    # Water at 20 degC: 998.2 kg/m3 = 0x44798CCD; 0.25 = 0x3E800000.
    registers = [0x3E80, 0x0000, 0x4479, 0x8CCD, 0x41A0, 0x0000, 0x3E80, 0x0000]
    bus = ScriptedRegisterBus([(("read", 246, 8, 1), registers)])
    reading = CoriolisFlowMeter(bus, 1, "coriolis").read()
    assert reading["mass_flow_kg_s"] == 0.25
    assert reading["density_kg_m3"] == pytest.approx(998.2, rel=1e-6)
    assert reading["volume_flow_m3_s"] == 0.25


def test_hourly_and_kelvin_units() -> None:
    # 3600 kg/h = 1 kg/s (0x45610000); 36 m3/h = 0.01 m3/s (0x42100000); 293.15 K = 20 degC (0x43929333)
    registers = [0x4561, 0x0000, 0x3F80, 0x0000, 0x4392, 0x9333, 0x4210, 0x0000]
    bus = ScriptedRegisterBus([(("read", 246, 8, 1), registers)])
    meter = CoriolisFlowMeter(
        bus, 1, "coriolis", units={"mass_flow": "kg/h", "volume_flow": "m3/h", "temperature": "K"}
    )
    reading = meter.read()
    assert reading["mass_flow_kg_s"] == pytest.approx(1.0)
    assert reading["volume_flow_m3_s"] == pytest.approx(0.01)
    assert reading["temperature_c"] == pytest.approx(20.0, abs=1e-4)
    assert reading["density_kg_m3"] == 1.0


def test_unknown_unit_or_word_order_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="coriolis: units.density"):
        CoriolisFlowMeter(ScriptedRegisterBus([]), 1, "coriolis", units={"density": "lb/ft3"})
    with pytest.raises(ConfigError, match="units.pressure"):
        CoriolisFlowMeter(ScriptedRegisterBus([]), 1, "coriolis", units={"pressure": "bar"})
    with pytest.raises(ConfigError, match="word_order"):
        CoriolisFlowMeter(ScriptedRegisterBus([]), 1, "coriolis", word_order="CDAB")


def test_identify_checks_the_meter_answers() -> None:
    bus = ScriptedRegisterBus([(("read", 246, 8, 4), [0] * 8)])
    assert CoriolisFlowMeter(bus, 4, "coriolis").identify() == "Micro Motion Coriolis unit 4"
    bus.assert_done()
    silent = ScriptedRegisterBus([(("read", 246, 8, 4), TransportTimeout("no reply"))])
    with pytest.raises(TransportTimeout):
        CoriolisFlowMeter(silent, 4, "coriolis").identify()


def test_safe_state_sends_nothing_and_the_role_is_met() -> None:
    meter = CoriolisFlowMeter(ScriptedRegisterBus([]), 1, "coriolis")
    meter.safe_state()
    assert isinstance(meter, Instrument)
