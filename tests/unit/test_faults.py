"""Fault specs and the fault injector, without ports: a real plant, fake emulators and devices.

Expected values are worked out by hand (fault times on the 0.1 s tick grid, drift rates, the tank's
first-order collapse ``p_min + (p0 - p_min) exp(-t / tau)``, the valve's stroke rate) or checked with
an independent CRC, never taken from the injector's own output.
"""

from __future__ import annotations

import math
import re

import pytest
from pymodbus.framer import FramerRTU

from hil.cli import FAULT_HELP
from hil.core.errors import ConfigError, DeviceError
from simulators.faults import KINDS, FaultInjector, FaultSpec, parse_fault, parse_faults
from simulators.plant import PlantParameters, PumpLoop

ALL_KINDS = (
    "timeout",
    "silence",
    "garble",
    "bad-checksum",
    "modbus-exception",
    "disconnect",
    "stuck",
    "drift",
    "nan",
    "overload",
    "overpressure",
    "cavitation",
    "motor-overtemp",
    "controller-fault",
)


# ============================================================================ parsing
def test_the_catalogue_has_every_kind_the_issue_names() -> None:
    assert tuple(KINDS) == ALL_KINDS


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("silence@5", FaultSpec("silence", "power", 5.0, None)),
        ("silence:motor@5", FaultSpec("silence", "motor", 5.0, None)),
        ("silence:rs485@2.5+0.3", FaultSpec("silence", "rs485", 2.5, 0.3)),
        ("disconnect@5", FaultSpec("disconnect", "rs485", 5.0, 2.0)),  # comes back after 2 s by default
        ("disconnect:power@5+0.5", FaultSpec("disconnect", "power", 5.0, 0.5)),
        ("stuck:p_outlet_pa@0", FaultSpec("stuck", "p_outlet_pa", 0.0, None)),
        (" overload@1e1 ", FaultSpec("overload", "bus_power_w", 10.0, None)),
        ("controller-fault@3", FaultSpec("controller-fault", "motor", 3.0, None)),
    ],
)
def test_fault_texts_parse(text: str, expected: FaultSpec) -> None:
    assert parse_fault(text) == expected


def test_a_spec_prints_in_the_form_it_is_parsed_from() -> None:
    for text in ("silence:rs485@2.5+0.3", "nan:bus_power_w@7", "overpressure:valve@1"):
        assert str(parse_fault(text)) == text
        assert parse_fault(str(parse_fault(text))) == parse_fault(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("bogus@1", "unknown fault kind 'bogus'"),
        ("silence", "expected KIND[:TARGET]@SECONDS"),
        ("silence@", "expected KIND[:TARGET]@SECONDS"),
        ("silence@soon", "SECONDS must be a number"),
        ("silence@-1", "SECONDS must be finite and >= 0"),
        ("silence@nan", "SECONDS must be finite and >= 0"),
        ("silence@inf", "SECONDS must be finite and >= 0"),
        ("silence@1+0", "DURATION must be finite and > 0"),
        ("timeout@1+2", "timeout takes no +DURATION"),
        ("overpressure@1+2", "overpressure takes no +DURATION (it is latched)"),
        ("garble:daq@1", "garble cannot target 'daq'; targets: motor, rs485, power"),
        ("bad-checksum:power@1", "bad-checksum cannot target 'power'"),
        ("stuck:not_a_sensor@1", "stuck cannot target 'not_a_sensor'"),
    ],
)
def test_bad_fault_texts_are_refused_naming_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_fault(text)
    assert message in str(caught.value)
    assert str(caught.value).startswith("command line: --fault:")


def test_an_unknown_kind_lists_every_kind() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_fault("bogus@1")
    assert all(kind in str(caught.value) for kind in ALL_KINDS)


def test_a_bench_file_list_names_the_bad_entry() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_faults(["silence@1", "stuck@2", "bogus@3"], "bench.toml", "virtual.faults")
    assert str(caught.value).startswith("bench.toml: virtual.faults[2]:")
    with pytest.raises(ConfigError, match=r"virtual.faults\[0\]"):
        parse_faults([4], "bench.toml", "virtual.faults")


# ============================================================================ fakes
class Echo:
    """An emulator answering each request with a fixed reply and remembering what it received."""

    def __init__(self, reply: bytes) -> None:
        self.reply = reply
        self.received: list[bytes] = []

    def receive(self, data: bytes) -> bytes:
        self.received.append(data)
        return self.reply


class Registers:
    def __init__(self) -> None:
        self.writes: list[tuple[int, list[int]]] = []

    def read_registers(self, address: int, count: int) -> list[int]:
        return list(range(address, address + count))

    def write_registers(self, address: int, values: list[int]) -> None:
        self.writes.append((address, list(values)))


def plant() -> PumpLoop:
    return PumpLoop(PlantParameters(), seed=3)


def ticks(injector: FaultInjector, loop: PumpLoop, first: int, last: int) -> None:
    """Advance plant then injector over ticks first..last of 0.1 s (the runner's grid, summed floats)."""
    for k in range(first, last + 1):
        time_s = k * 0.1
        loop.advance_to(time_s)
        injector.advance_to(time_s)


def rtu_reply(unit: int = 1) -> bytes:
    frame = bytes((unit, 3, 4, 0x3F, 0x80, 0x00, 0x00))
    return frame + FramerRTU.compute_CRC(frame).to_bytes(2, "big")


# ============================================================================ link faults
def test_without_faults_everything_passes_through_unchanged() -> None:
    loop = plant()
    injector = FaultInjector(loop, [])
    echo = Echo(b"reply\n")
    link = injector.link("power", echo)
    ticks(injector, loop, 1, 30)
    assert [link.receive(b"q") for _ in range(3)] == [b"reply\n"] * 3
    assert injector.measured("p_outlet_pa") == loop.measured("p_outlet_pa")
    assert injector.motor.motor_state() == loop.motor_state()
    assert injector.activated == []


def test_a_fault_takes_effect_at_the_first_tick_at_or_after_its_time() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("timeout:power@0.3")])
    link = injector.link("power", Echo(b"r\n"))
    ticks(injector, loop, 1, 2)
    assert link.receive(b"q") == b"r\n"  # 0.2 s: not yet
    ticks(injector, loop, 3, 3)  # 3 * 0.1 = 0.30000000000000004 counts as 0.3
    assert [time_s for time_s, _ in injector.activated] == [pytest.approx(0.3)]


def test_timeout_loses_exactly_the_next_reply_of_its_link() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("timeout:power@1")])
    echo = Echo(b"r\n")
    power, daq = injector.link("power", echo), injector.link("daq", Echo(b"d"))
    ticks(injector, loop, 1, 10)
    assert daq.receive(b"q") == b"d"  # another link is untouched
    assert [power.receive(b"q") for _ in range(3)] == [b"", b"r\n", b"r\n"]
    assert len(echo.received) == 3  # the instrument did get the request


def test_every_session_of_a_tcp_link_shares_its_faults() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("timeout:power@1")])
    factory = injector.link_factory("power", lambda: Echo(b"r\n"))
    first, second = factory(), factory()
    ticks(injector, loop, 1, 10)
    assert second.receive(b"q") == b""
    assert first.receive(b"q") == b"r\n"


def test_garble_alters_one_byte_in_the_middle_of_one_reply() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("garble:power@1")])
    reply = b"4.8012E+01,1.2000E+01,5.7614E+02\n"
    link = injector.link("power", Echo(reply))
    ticks(injector, loop, 1, 10)
    garbled = link.receive(b"q")
    differing = [i for i, (a, b) in enumerate(zip(garbled, reply)) if a != b]
    assert len(garbled) == len(reply) and differing == [len(reply) // 2]
    assert link.receive(b"q") == reply


def test_bad_checksum_spoils_the_modbus_crc_and_nothing_else() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("bad-checksum:rs485@1")])
    reply = rtu_reply()
    link = injector.link("rs485", Echo(reply))
    ticks(injector, loop, 1, 10)
    spoiled = link.receive(b"q")
    assert spoiled[:-2] == reply[:-2]
    assert FramerRTU.compute_CRC(spoiled[:-2]).to_bytes(2, "big") != spoiled[-2:]
    assert link.receive(b"q") == reply


def test_bad_checksum_spoils_the_vesc_crc_and_keeps_the_end_byte() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("bad-checksum:motor@1")])
    reply = bytes((0x02, 0x02, 0x04, 0x11, 0xAB, 0xCD, 0x03))  # start, length, payload, CRC, end
    link = injector.link("motor", Echo(reply))
    ticks(injector, loop, 1, 10)
    spoiled = link.receive(b"q")
    assert spoiled[:4] == reply[:4] and spoiled[-1] == 0x03
    assert spoiled[4:6] != reply[4:6]


def test_silence_lets_the_instrument_act_but_never_answer_until_it_ends() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("silence:motor@1+0.5")])
    echo = Echo(b"r")
    link = injector.link("motor", echo)
    ticks(injector, loop, 1, 10)
    assert link.receive(b"cmd") == b""
    assert echo.received == [b"cmd"]  # a silent instrument still obeys
    ticks(injector, loop, 11, 14)
    assert link.receive(b"q") == b""
    ticks(injector, loop, 15, 15)  # 1.5 s: over
    assert link.receive(b"q") == b"r"


def test_a_disconnect_passes_nothing_either_way_then_recovers() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("disconnect:daq@1")])  # default 2 s
    echo = Echo(b"r")
    link = injector.link("daq", echo)
    ticks(injector, loop, 1, 10)
    assert link.receive(b"set valve") == b""
    assert echo.received == []  # the command never reached the instrument
    ticks(injector, loop, 11, 29)
    assert link.receive(b"q") == b""
    ticks(injector, loop, 30, 30)
    assert link.receive(b"q") == b"r"


def test_modbus_exception_refuses_the_next_request_on_the_link_as_busy() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("modbus-exception:rs485@1")])
    inlet, outlet = (
        injector.register_device("rs485", Registers()),
        injector.register_device("rs485", Registers()),
    )
    other = injector.register_device("daq", Registers())
    ticks(injector, loop, 1, 10)
    assert other.read_registers(0, 2) == [0, 1]
    with pytest.raises(DeviceError) as caught:
        outlet.read_registers(256, 4)
    assert caught.value.code == 6
    assert inlet.read_registers(256, 2) == [256, 257]  # one request only, whichever unit it was for


def test_a_refused_write_is_not_stored() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("modbus-exception:daq@0.1")])
    inner = Registers()
    device = injector.register_device("daq", inner)
    ticks(injector, loop, 1, 1)
    with pytest.raises(DeviceError):
        device.write_registers(1000, [1, 2])
    assert inner.writes == []


# ============================================================================ sensor faults
def test_a_stuck_sensor_keeps_the_reading_it_had_when_it_stuck() -> None:
    loop = plant()
    loop.command_speed_rpm(20000.0)
    injector = FaultInjector(loop, [parse_fault("stuck:p_outlet_pa@1")])
    ticks(injector, loop, 1, 10)
    frozen = loop.measured("p_outlet_pa")
    ticks(injector, loop, 11, 30)
    assert loop.measured("p_outlet_pa") != frozen  # the plant moves on
    assert injector.measured("p_outlet_pa") == frozen
    assert injector.measured("p_inlet_pa") == loop.measured("p_inlet_pa")


def test_a_drifting_outlet_transducer_gains_20_bar_a_second() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("drift@1")])
    ticks(injector, loop, 1, 15)
    assert injector.measured("p_outlet_pa") - loop.measured("p_outlet_pa") == pytest.approx(
        0.5 * 20e5, rel=1e-9
    )


def test_nan_and_overload_last_for_their_duration() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("nan@1+0.5"), parse_fault("overload:p_inlet_pa@1")])
    ticks(injector, loop, 1, 10)
    assert math.isnan(injector.measured("bus_power_w"))
    assert injector.measured("p_inlet_pa") == math.inf
    ticks(injector, loop, 11, 15)
    assert injector.measured("bus_power_w") == loop.measured("bus_power_w")
    assert injector.measured("p_inlet_pa") == math.inf  # no duration: to the end of the run


# ============================================================================ plant faults
def test_overpressure_drives_the_valve_shut_at_its_stroke_rate_and_holds_it() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("overpressure@1")])
    ticks(injector, loop, 1, 10)
    injector.command_valve(1.0)  # ignored from now on: the positioner has failed
    ticks(injector, loop, 11, 20)
    # full stroke 2 s (PlantParameters.valve_stroke_time_s): 1 s closes half of it
    assert loop.truth().valve_position_fraction == pytest.approx(0.5, abs=0.006)
    ticks(injector, loop, 21, 40)
    assert loop.truth().valve_position_fraction == 0.0


def test_cavitation_collapses_the_tank_pressure_to_the_regulator_minimum() -> None:
    params = PlantParameters()
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("cavitation@1")])
    ticks(injector, loop, 1, 10)
    p0 = loop.truth().tank_pressure_pa
    injector.command_tank_pressure_pa(3.0e5)  # ignored: the regulator has failed
    ticks(injector, loop, 11, 50)  # 4 s = 2 time constants later
    p_min, tau = params.tank_pressure_min_pa, params.tank_pressure_time_constant_s
    expected = p_min + (p0 - p_min) * math.exp(-4.0 / tau)
    assert loop.truth().tank_pressure_pa == pytest.approx(expected, rel=0.01)


def test_motor_overtemp_raises_the_reported_winding_temperature_30_k_a_second() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("motor-overtemp@1")])
    ticks(injector, loop, 1, 30)
    assert injector.motor.motor_state().temp_motor_c - loop.motor_state().temp_motor_c == pytest.approx(60.0)


def test_a_controller_fault_latches_its_code_and_releases_the_motor() -> None:
    loop = plant()
    injector = FaultInjector(loop, [parse_fault("controller-fault@1")])
    injector.motor.command_speed_rpm(20000.0)
    ticks(injector, loop, 1, 10)
    assert loop.motor_state().motor_current_a > 1.0  # driving
    ticks(injector, loop, 11, 11)
    assert injector.motor.motor_state().fault_code == 3
    injector.motor.command_speed_rpm(20000.0)  # refused while faulted
    ticks(injector, loop, 12, 20)
    assert loop.motor_state().motor_current_a == 0.0  # coasting
    assert loop.motor_state().speed_rpm < 20000.0


def test_the_command_line_help_names_every_kind() -> None:
    listed = re.search(r"kinds: ([a-z, -]+)", FAULT_HELP)
    assert listed is not None
    assert tuple(kind.strip() for kind in listed.group(1).split(",")) == ALL_KINDS
