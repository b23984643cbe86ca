"""The LabJack-driven suction-tank pressure regulator against a scripted register bus.

Expected register words are computed with the standard library's IEEE-754 packing (``struct``),
independently of the driver's own codec.
"""

from __future__ import annotations

import struct

import pytest

from drivers.labjack import DacPressureRegulator, DacValve, LabJackT7
from hil.bench.roles import Instrument, PressureRegulator
from hil.core.errors import ConfigError, LimitError
from tests.fakes import ScriptedRegisterBus

DAC1 = 1002


def words(volts: float) -> tuple[int, int]:
    """Big-endian float32 as two 16-bit registers, high word first (the T7's order)."""
    high, low = struct.unpack(">HH", struct.pack(">f", volts))
    return high, low


def ain_block(*volts: float) -> list[int]:
    registers: list[int] = []
    for v in volts:
        registers += list(words(v))
    return registers


def make_regulator(bus: ScriptedRegisterBus, **options: float) -> DacPressureRegulator:
    """The sim bench's regulator: 0-5 V = 0-5 bar(a) on DAC1, feedback on AIN2, safe at 1 bar."""
    settings: dict[str, float] = {
        "volts_lo": 0.0,
        "volts_hi": 5.0,
        "pressure_lo_pa": 0.0,
        "pressure_hi_pa": 5.0e5,
        "safe_pressure_pa": 1.0e5,
    }
    settings.update(options)
    return DacPressureRegulator(LabJackT7(bus, "daq"), 1, 2, **settings)  # type: ignore[arg-type]


def test_setpoint_is_scaled_onto_dac1() -> None:
    # 0-5 V = 0-5 bar: 0.35 bar is 0.35 V; 2.5 bar is 2.5 V.
    bus = ScriptedRegisterBus(
        [(("write", DAC1, words(0.35), 1), None), (("write", DAC1, words(2.5), 1), None)]
    )
    regulator = make_regulator(bus)
    regulator.set_pressure_pa(0.35e5)
    regulator.set_pressure_pa(2.5e5)
    bus.assert_done()
    assert isinstance(regulator, PressureRegulator)
    assert isinstance(regulator, Instrument)


def test_live_zero_span_with_offset_pressure_range() -> None:
    # 1-5 V = 0.2-4.2 bar(a): 1.2 bar is a quarter of the span, 1 + 0.25 * 4 = 2.0 V.
    bus = ScriptedRegisterBus([(("write", DAC1, words(2.0), 1), None)])
    regulator = make_regulator(bus, volts_lo=1.0, volts_hi=5.0, pressure_lo_pa=0.2e5, pressure_hi_pa=4.2e5)
    regulator.set_pressure_pa(1.2e5)
    bus.assert_done()


@pytest.mark.parametrize("pressure_pa", [-1.0, 5.0e5 + 1.0, float("nan"), float("inf")])
def test_setpoint_outside_the_range_is_refused_before_sending(pressure_pa: float) -> None:
    bus = ScriptedRegisterBus([])
    with pytest.raises(LimitError, match="outside"):
        make_regulator(bus).set_pressure_pa(pressure_pa)
    bus.assert_done()


def test_range_ends_are_accepted() -> None:
    bus = ScriptedRegisterBus(
        [(("write", DAC1, words(0.0), 1), None), (("write", DAC1, words(5.0), 1), None)]
    )
    regulator = make_regulator(bus)
    regulator.set_pressure_pa(0.0)
    regulator.set_pressure_pa(5.0e5)
    bus.assert_done()


def test_feedback_reads_tank_pressure_from_its_ain_unclipped() -> None:
    bus = ScriptedRegisterBus([(("read", 4, 2, 1), list(words(0.25))), (("read", 4, 2, 1), list(words(5.5)))])
    regulator = make_regulator(bus)
    assert regulator.read() == {"tank_pressure_pa": pytest.approx(0.25e5, rel=1e-6)}
    assert regulator.read() == {"tank_pressure_pa": pytest.approx(5.5e5, rel=1e-6)}  # beyond the span
    bus.assert_done()


def test_feedback_may_have_its_own_span() -> None:
    # Transmitter 1-5 V over the regulator's 0-5 bar: 3.0 V is half the span, 2.5 bar.
    bus = ScriptedRegisterBus([(("read", 4, 2, 1), list(words(3.0)))])
    regulator = make_regulator(bus, feedback_volts_lo=1.0, feedback_volts_hi=5.0)
    assert regulator.read() == {"tank_pressure_pa": pytest.approx(2.5e5, rel=1e-6)}


def test_safe_state_commands_the_safe_pressure_every_time() -> None:
    bus = ScriptedRegisterBus([(("write", DAC1, words(1.0), 1), None)] * 2)
    regulator = make_regulator(bus)
    regulator.safe_state()
    regulator.safe_state()
    bus.assert_done()


def test_shares_the_labjack_sample_with_the_valve() -> None:
    # Valve feedback on AIN0, regulator feedback on AIN2: one block read AIN0..AIN2 per tick.
    bus = ScriptedRegisterBus([(("read", 0, 6, 1), ain_block(2.5, 0.0, 1.5))])
    daq = LabJackT7(bus, "daq")
    valve = DacValve(daq, 0, feedback_ain=0, closed_v=0.0, open_v=5.0)
    regulator = DacPressureRegulator(daq, 1, 2, 0.0, 5.0, 0.0, 5.0e5, 1.0e5)
    assert regulator.read() == {"tank_pressure_pa": pytest.approx(1.5e5, rel=1e-6)}
    assert valve.read() == {"valve_position_fraction": pytest.approx(0.5)}
    bus.assert_done()


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"volts_hi": 6.0}, "volts_hi"),
        ({"volts_lo": -1.0}, "volts_lo"),
        ({"volts_lo": 5.0}, "volts_hi"),
        ({"pressure_lo_pa": 5.0e5}, "pressure_hi_pa"),
        ({"pressure_lo_pa": -1.0}, "pressure_lo_pa"),
        ({"safe_pressure_pa": 6.0e5}, "safe_pressure_pa"),
        ({"feedback_volts_lo": 2.0, "feedback_volts_hi": 2.0}, "feedback_volts_hi"),
    ],
)
def test_configuration_errors_name_the_field(options: dict[str, float], field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        make_regulator(ScriptedRegisterBus([]), **options)


def test_nonexistent_dac_is_a_configuration_error() -> None:
    with pytest.raises(ConfigError, match="dac_channel"):
        DacPressureRegulator(LabJackT7(ScriptedRegisterBus([]), "daq"), 2, 2, 0.0, 5.0, 0.0, 5.0e5, 1.0e5)
