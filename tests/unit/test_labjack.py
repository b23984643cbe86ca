"""LabJack T7 driver and its valve and scaled-input adapters against a scripted register bus."""

from __future__ import annotations

import pytest

from drivers.labjack import AnalogScaling, DacValve, LabJackT7, ScaledAnalogInput
from hil.bench.roles import Instrument, Valve
from hil.core.errors import ConfigError, DeviceError, LimitError, TransportTimeout
from tests.fakes import ScriptedRegisterBus

# IEEE-754 float32 high words (low words are 0): 1.0 = 0x3F80, 1.5 = 0x3FC0, 2.0 = 0x4000,
# 2.5 = 0x4020, 3.0 = 0x4040, 4.0 = 0x4080, 4.5 = 0x4090, 5.0 = 0x40A0, 7.5 = 0x40F0.
V = {1.0: 0x3F80, 1.5: 0x3FC0, 2.0: 0x4000, 2.5: 0x4020, 3.0: 0x4040, 4.0: 0x4080, 4.5: 0x4090, 5.0: 0x40A0}


def block(*volts: float) -> list[int]:
    """Registers of consecutive AINs holding the given (table) voltages."""
    registers: list[int] = []
    for v in volts:
        registers += [V[v], 0x0000]
    return registers


def test_read_ain_covers_the_requested_inputs_with_one_block_read() -> None:
    bus = ScriptedRegisterBus([(("read", 2, 6, 1), block(1.0, 2.0, 3.0))])  # AIN1..AIN3
    assert LabJackT7(bus, "daq").read_ain_v([3, 1]) == [3.0, 1.0]
    bus.assert_done()


@pytest.mark.parametrize("channels", [[], [14], [-1, 2]])
def test_nonexistent_inputs_are_refused_before_sending(channels: list[int]) -> None:
    with pytest.raises(LimitError):
        LabJackT7(ScriptedRegisterBus([]), "daq").read_ain_v(channels)


def test_dac_writes_float32_volts_with_fc16_addresses() -> None:
    bus = ScriptedRegisterBus(
        [(("write", 1000, (0x4020, 0), 1), None), (("write", 1002, (0x40A0, 0), 1), None)]
    )
    daq = LabJackT7(bus, "daq")
    daq.write_dac_v(0, 2.5)
    daq.write_dac_v(1, 5.0)
    bus.assert_done()


@pytest.mark.parametrize(("channel", "volts"), [(0, 5.01), (0, -0.01), (1, float("nan")), (2, 1.0)])
def test_dac_outside_range_is_refused_not_clipped(channel: int, volts: float) -> None:
    with pytest.raises(LimitError):
        LabJackT7(ScriptedRegisterBus([]), "daq").write_dac_v(channel, volts)


def test_dac_range_is_a_constructor_option() -> None:
    bus = ScriptedRegisterBus([(("write", 1000, (0x40F0, 0), 1), None)])
    LabJackT7(bus, "daq", dac_range_v=(0.0, 10.0)).write_dac_v(0, 7.5)
    bus.assert_done()
    with pytest.raises(ConfigError, match="dac_range_v"):
        LabJackT7(bus, "daq", dac_range_v=(5.0, 0.0))


def test_identify_reads_the_product_id() -> None:
    bus = ScriptedRegisterBus([(("read", 60000, 2, 1), [0x40E0, 0x0000])])  # 7.0
    assert LabJackT7(bus, "daq").identify() == "LabJack T7 unit 1"
    refused = ScriptedRegisterBus([(("read", 60000, 2, 1), DeviceError("exception 2", 2))])
    assert LabJackT7(refused, "daq").identify() == "LabJack unit 1 (product id unavailable)"


def test_read_returns_configured_inputs_and_nothing_without_them() -> None:
    bus = ScriptedRegisterBus([(("read", 0, 6, 1), block(1.0, 1.5, 2.0))])
    assert LabJackT7(bus, "daq", inputs=[0, 2]).read() == {"ain0_v": 1.0, "ain2_v": 2.0}
    bus.assert_done()
    assert LabJackT7(ScriptedRegisterBus([]), "daq").read() == {}


def make_valve(bus: ScriptedRegisterBus, **options: float) -> DacValve:
    daq = LabJackT7(bus, "daq")
    return DacValve(
        daq,
        dac_channel=0,
        feedback_ain=0,
        closed_v=0.0,
        open_v=5.0,
        **options,  # type: ignore[arg-type]
    )


def test_valve_maps_opening_onto_the_dac_and_refuses_outside_0_to_1() -> None:
    bus = ScriptedRegisterBus([(("write", 1000, (0x4020, 0), 1), None)])
    valve = make_valve(bus)
    valve.set_opening(0.5)
    for bad in (-0.01, 1.01, float("nan")):
        with pytest.raises(LimitError):
            valve.set_opening(bad)
    bus.assert_done()
    assert isinstance(valve, Valve)


def test_reverse_acting_valve() -> None:
    bus = ScriptedRegisterBus([(("write", 1000, (0x4080, 0), 1), None)])  # 0.25 open -> 4.0 V
    valve = DacValve(LabJackT7(bus, "daq"), 0, feedback_ain=0, closed_v=5.0, open_v=1.0)
    valve.set_opening(0.25)
    bus.assert_done()


def test_valve_safe_state_is_fully_open_by_default_and_configurable() -> None:
    bus = ScriptedRegisterBus([(("write", 1000, (0x40A0, 0), 1), None)] * 2)
    valve = make_valve(bus)
    valve.safe_state()
    valve.safe_state()
    bus.assert_done()
    shut = ScriptedRegisterBus([(("write", 1000, (0, 0), 1), None)])
    make_valve(shut, safe_opening_fraction=0.0).safe_state()
    shut.assert_done()


def test_valve_position_from_feedback_volts() -> None:
    bus = ScriptedRegisterBus([(("read", 0, 2, 1), block(3.0))])
    valve = make_valve(bus, feedback_closed_v=1.0, feedback_open_v=5.0)
    assert valve.read() == {"valve_position_fraction": 0.5}


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"closed_v": 6.0}, "closed_v"),
        ({"open_v": 0.0}, "open_v"),
        ({"safe_opening_fraction": 1.5}, "safe_opening_fraction"),
        ({"feedback_closed_v": 2.0, "feedback_open_v": 2.0}, "feedback_open_v"),
    ],
)
def test_valve_configuration_errors_name_the_field(options: dict[str, float], field: str) -> None:
    settings: dict[str, float] = {"closed_v": 0.0, "open_v": 5.0}
    settings.update(options)
    with pytest.raises(ConfigError, match=field):
        DacValve(LabJackT7(ScriptedRegisterBus([]), "daq"), 0, 0, **settings)  # type: ignore[arg-type]


def test_scaled_input_live_zero_transmitter() -> None:
    # AIN1: 1-5 V = 0-100 degC, so 2.0 V is 25 degC; AIN3: 0.5-4.5 V = 0-10 bar, so 2.5 V is 5e5 Pa.
    bus = ScriptedRegisterBus([(("read", 2, 6, 1), block(2.0, 1.0, 2.5))])
    scaled = ScaledAnalogInput(
        LabJackT7(bus, "daq"),
        {
            1: ("fluid_temperature_c", 1.0, 5.0, 0.0, 100.0),
            3: AnalogScaling("tank_pressure_pa", 0.5, 4.5, 0.0, 1e6),
        },
    )
    assert scaled.read() == {"fluid_temperature_c": 25.0, "tank_pressure_pa": 500_000.0}
    bus.assert_done()


def test_scaled_input_does_not_clip_a_broken_loop() -> None:
    bus = ScriptedRegisterBus([(("read", 2, 2, 1), [0, 0])])  # 0 V on a 1-5 V loop
    scaled = ScaledAnalogInput(LabJackT7(bus, "daq"), {1: ("fluid_temperature_c", 1.0, 5.0, 0.0, 100.0)})
    assert scaled.read() == {"fluid_temperature_c": -25.0}


@pytest.mark.parametrize(
    "scalings",
    [
        {},
        {1: ("t_c", 1.0, 1.0, 0.0, 100.0)},
        {1: ("t_c", 1.0, 5.0, 0.0, 100.0), 2: ("t_c", 1.0, 5.0, 0.0, 100.0)},
        {1: ("", 1.0, 5.0, 0.0, 100.0)},
        {1: ("t_c", 1.0, 5.0)},
    ],
)
def test_scaled_input_configuration_errors(scalings: dict[int, tuple[object, ...]]) -> None:
    with pytest.raises(ConfigError):
        ScaledAnalogInput(LabJackT7(ScriptedRegisterBus([]), "daq"), scalings)  # type: ignore[arg-type]


def test_one_block_read_per_tick_serves_every_instrument_in_any_order() -> None:
    # LabJack raw AIN0, valve feedback on AIN2 (1-5 V), temperature on AIN1 (1-5 V = 0-100 degC).
    ticks = [block(1.0, 2.0, 3.0), block(1.5, 3.0, 5.0), block(2.0, 4.5, 1.0)]
    bus = ScriptedRegisterBus([(("read", 0, 6, 1), registers) for registers in ticks])
    daq = LabJackT7(bus, "daq", inputs=[0])
    valve = DacValve(daq, 0, feedback_ain=2, closed_v=1.0, open_v=5.0)
    temperature = ScaledAnalogInput(daq, {1: ("fluid_temperature_c", 1.0, 5.0, 0.0, 100.0)})
    orders: list[list[Instrument]] = [
        [daq, valve, temperature],
        [temperature, daq, valve],
        [valve, temperature, daq],
    ]
    readings = []
    for order in orders:
        merged: dict[str, float] = {}
        for instrument in order:
            merged.update(instrument.read())
        readings.append(merged)
    bus.assert_done()  # exactly three exchanges for nine reads
    assert readings == [
        {"ain0_v": 1.0, "valve_position_fraction": 0.5, "fluid_temperature_c": 25.0},
        {"ain0_v": 1.5, "valve_position_fraction": 1.0, "fluid_temperature_c": 50.0},
        {"ain0_v": 2.0, "valve_position_fraction": 0.0, "fluid_temperature_c": 87.5},
    ]


def test_no_instrument_gets_the_same_sample_twice() -> None:
    bus = ScriptedRegisterBus([(("read", 0, 2, 1), block(1.0)), (("read", 0, 2, 1), block(2.0))])
    daq = LabJackT7(bus, "daq", inputs=[0])
    assert daq.read() == {"ain0_v": 1.0}
    assert daq.read() == {"ain0_v": 2.0}
    bus.assert_done()


def test_a_failed_block_read_is_not_replaced_by_the_previous_sample() -> None:
    bus = ScriptedRegisterBus(
        [
            (("read", 0, 4, 1), block(1.0, 3.0)),
            (("read", 0, 4, 1), TransportTimeout("no reply")),
            (("read", 0, 4, 1), block(2.0, 5.0)),
        ]
    )
    daq = LabJackT7(bus, "daq", inputs=[0])
    valve = DacValve(daq, 0, feedback_ain=1, closed_v=1.0, open_v=5.0)
    assert daq.read() == {"ain0_v": 1.0}
    assert valve.read() == {"valve_position_fraction": 0.5}
    with pytest.raises(TransportTimeout):
        daq.read()
    assert valve.read() == {"valve_position_fraction": 1.0}  # a fresh read, not the old sample
    bus.assert_done()


def test_adapters_identify_through_the_labjack() -> None:
    bus = ScriptedRegisterBus([(("read", 60000, 2, 1), [0x40E0, 0])] * 2)
    daq = LabJackT7(bus, "daq")
    assert DacValve(daq, 1, 4, 0.0, 5.0).identify() == "LabJack T7 unit 1: valve on DAC1, feedback AIN4"
    scaled = ScaledAnalogInput(daq, {1: ("fluid_temperature_c", 1.0, 5.0, 0.0, 100.0)})
    assert scaled.identify() == "LabJack T7 unit 1: AIN1 -> fluid_temperature_c"
    daq.safe_state()
    scaled.safe_state()
    bus.assert_done()
