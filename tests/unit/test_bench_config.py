"""Bench files: every malformed field is refused with the file, the dotted field and what was expected.

Variants are built from the shipped ``hil/data/sim_bench.toml`` (parsed with tomllib, one field
changed, handed to :func:`hil.bench.config.parse_bench`), so the tests follow the real file. Options
that a driver checks itself are validated when the bench is assembled (``connect_bench``); those
tests point the instrument under test at pyserial's ``loop://`` port and put it first, so the error
is raised before any byte would be exchanged.
"""

from __future__ import annotations

import copy
import math
import tomllib
from pathlib import Path
from typing import Any

import pytest

from hil.bench.config import STANDARD_CHANNELS, BenchConfig, load_bench, parse_bench, resolve_bench_path
from hil.core.errors import ConfigError
from hil.run.assembly import SimEndpoint, connect_bench

SOURCE = "/benches/pump-bench-under-test.toml"
SHIPPED = Path(__file__).resolve().parents[2] / "hil" / "data" / "sim_bench.toml"
DELETE = object()


def shipped() -> dict[str, Any]:
    return tomllib.loads(SHIPPED.read_text(encoding="utf-8"))


def edit(data: dict[str, Any], dotted: str, value: Any) -> dict[str, Any]:
    """Set (or, with DELETE, remove) one dotted field of a parsed bench file, in place."""
    *parents, last = dotted.split(".")
    table = data
    for key in parents:
        table = table[key]
    if value is DELETE:
        del table[last]
    else:
        table[last] = value
    return data


def refused(data: dict[str, Any]) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_bench(data, SOURCE)
    return caught.value


def assert_names(error: ConfigError, field: str, expected: str) -> None:
    assert error.source == SOURCE
    assert error.field == field
    assert expected in error.problem
    assert str(error).startswith(f"{SOURCE}: {field}: ")


# ============================================================================ the shipped file
def test_the_shipped_virtual_bench_parses_to_what_its_file_says() -> None:
    config = load_bench("sim")
    raw = shipped()
    assert Path(config.source) == resolve_bench_path("sim")
    assert Path(config.source).read_text(encoding="utf-8") == SHIPPED.read_text(encoding="utf-8")
    assert config.text == SHIPPED.read_text(encoding="utf-8")  # the snapshot a run directory keeps
    assert config.name == raw["bench"]["name"]
    assert config.tick_s == pytest.approx(1.0 / raw["bench"]["tick_hz"])
    for key, value in raw["limits"].items():
        assert getattr(config.limits, key) == value, key
    assert config.geometry.inlet_diameter_m == raw["bench"]["inlet_diameter_m"]
    assert config.roles == raw["roles"]
    assert set(config.instruments) == set(raw["instruments"])
    for name, table in raw["instruments"].items():
        assert config.instruments[name].driver == table["driver"]
        assert config.instruments[name].channels == table["channels"]
    assert config.virtual is not None and config.virtual.seed == raw["virtual"]["seed"]
    assert (config.virtual.serial_link, config.virtual.scpi_link) == ("tcp", "socket")
    stated = raw["instruments"]["p_outlet"]["accuracy"]["p_outlet_pa"]
    assert config.channel_accuracy()["p_outlet_pa"] == stated
    provided = {channel for inst in config.instruments.values() for channel in inst.channels}
    assert set(STANDARD_CHANNELS) <= provided


def test_every_resource_of_the_shipped_bench_is_virtual() -> None:
    # The file's promise: replace the sim: resources (and drop [virtual]) to move to real hardware.
    raw = shipped()
    resources = [bus["resource"] for bus in raw["buses"].values()]
    resources += [inst["resource"] for inst in raw["instruments"].values() if "resource" in inst]
    assert resources and all(r.startswith("sim:") for r in resources)


def test_a_copy_edited_for_real_hardware_parses_without_a_virtual_bench(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace('"sim:motor"', '"/dev/ttyACM0"').replace('"sim:rs485"', '"/dev/ttyUSB0"')
    text = text.replace('"sim:daq"', '"tcp://10.0.0.5:502"')
    text = text.replace('"sim:power"', '"TCPIP0::10.0.0.7::10001::SOCKET"')
    kept, in_virtual = [], False
    for line in text.splitlines(keepends=True):
        if line.startswith("["):
            in_virtual = line.startswith("[virtual")  # [virtual] and its sub-tables
        if not in_virtual:
            kept.append(line)
    path = tmp_path / "real_bench.toml"
    path.write_text("".join(kept), encoding="utf-8")
    config = load_bench(str(path))
    assert config.virtual is None
    assert config.buses["rs485"].resource == "/dev/ttyUSB0"
    assert config.source == str(path)


def test_defaults_apply_to_optional_fields() -> None:
    data = shipped()
    for dotted in (
        "bench.tick_hz",
        "bench.fluid",
        "bench.inlet_height_m",
        "limits.flow_check_delay_s",
        "limits.stale_data_s",
        "limits.max_fluid_temperature_c",
        "buses.rs485.baudrate",
        "buses.rs485.timeout_s",
    ):
        edit(data, dotted, DELETE)
    config = parse_bench(data, SOURCE)
    assert config.tick_s == pytest.approx(0.1)
    assert config.fluid == "water"
    assert config.geometry.inlet_height_m == 0.0
    assert (config.limits.flow_check_delay_s, config.limits.stale_data_s) == (3.0, 1.0)
    assert config.limits.max_fluid_temperature_c == 60.0
    assert (config.buses["rs485"].baudrate, config.buses["rs485"].timeout_s) == (9600, 0.5)


def test_integers_are_accepted_where_numbers_are_expected() -> None:
    data = edit(shipped(), "limits.max_speed_rpm", 33000)
    limit = parse_bench(data, SOURCE).limits.max_speed_rpm
    assert limit == 33000.0 and isinstance(limit, float)


def test_load_bench_names_a_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "no_such_bench.toml"
    with pytest.raises(ConfigError, match="file not found") as caught:
        load_bench(str(path))
    assert caught.value.source == str(path)


def test_load_bench_names_a_file_that_is_not_toml(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text('[bench]\nname = "unterminated\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML") as caught:
        load_bench(str(path))
    assert str(caught.value).startswith(str(path))


# ============================================================================ field by field
REQUIRED = [
    "bench",
    "limits",
    "roles",
    "bench.name",
    "bench.inlet_diameter_m",
    "bench.outlet_diameter_m",
    "bench.impeller_diameter_m",
    "bench.rated_speed_rpm",
    "limits.max_speed_rpm",
    "limits.max_outlet_pressure_pa",
    "limits.max_motor_current_a",
    "limits.max_motor_temperature_c",
    "limits.max_controller_temperature_c",
    "limits.min_inlet_pressure_pa",
    "limits.min_flow_while_running_m3_s",
    "limits.running_speed_rpm",
    "buses.rs485.kind",
    "buses.daq.resource",
    "instruments.flow.driver",
    "roles.pump_drive",
    "roles.throttle_valve",
]


@pytest.mark.parametrize("dotted", REQUIRED)
def test_a_missing_required_field_is_named(dotted: str) -> None:
    assert_names(refused(edit(shipped(), dotted, DELETE)), dotted, "missing (required)")


WRONG_TYPE = [
    ("bench", 5, "expected a table, got int 5"),
    ("bench.name", 5, "expected a string, got int 5"),
    ("bench.tick_hz", "10", "expected a number, got str '10'"),
    ("bench.tick_hz", True, "expected a number, got the boolean true"),
    ("bench.fluid", 1, "expected a string"),
    ("bench.inlet_height_m", [0.0], "expected a number, got a list"),
    ("limits", [], "expected a table, got a list"),
    ("limits.max_speed_rpm", "fast", "expected a number, got str 'fast'"),
    ("limits.stale_data_s", {"s": 1.0}, "expected a number, got a table"),
    ("buses.rs485", "sim:rs485", "expected a table, got str 'sim:rs485'"),
    ("buses.rs485.kind", 485, "expected a string, got int 485"),
    ("buses.rs485.baudrate", 115200.0, "expected an integer, got float 115200.0"),
    ("buses.daq.timeout_s", "0.25", "expected a number"),
    ("instruments.flow", [], "expected a table, got a list"),
    ("instruments.flow.driver", ["micromotion"], "expected a string, got a list"),
    ("instruments.motor.channels", "speed_rpm", "expected a table, got str 'speed_rpm'"),
    ("instruments.motor.channels.speed_rpm", 5, "expected a string, got int 5"),
    ("instruments.motor.accuracy", 0.002, "expected a table, got float 0.002"),
    ("instruments.motor.accuracy.speed_rpm", "0.2 %", "expected a number, got str '0.2 %'"),
    ("roles", "motor", "expected a table"),
    ("roles.pump_drive", 1, "expected a string, got int 1"),
    ("virtual", True, "expected a table, got the boolean true"),
    ("virtual.seed", 1.5, "expected an integer, got float 1.5"),
]


@pytest.mark.parametrize(
    ("dotted", "value", "expected"), WRONG_TYPE, ids=[c[0] + "=" + repr(c[1]) for c in WRONG_TYPE]
)
def test_a_field_of_the_wrong_type_is_named_with_what_was_expected(
    dotted: str, value: Any, expected: str
) -> None:
    assert_names(refused(edit(shipped(), dotted, value)), dotted, expected)


OUT_OF_RANGE = [
    ("bench.tick_hz", 0.25, "must be >= 0.5, got 0.25"),
    ("bench.tick_hz", 2000.0, "must be <= 1000.0, got 2000.0"),
    ("bench.fluid", "kerosene", "must be one of water; got 'kerosene'"),
    ("bench.inlet_diameter_m", 0.0, "must be >= 0.0001"),
    ("bench.outlet_diameter_m", 3.0, "must be <= 2.0"),
    ("bench.impeller_diameter_m", 6.0, "must be <= 5.0"),
    ("bench.rated_speed_rpm", 0.5, "must be >= 1.0"),
    ("limits.max_speed_rpm", -1.0, "must be >= 0.0"),
    ("limits.max_outlet_pressure_pa", -1.0, "must be >= 0.0"),
    ("limits.max_motor_current_a", -5.0, "must be >= 0.0"),
    ("limits.min_inlet_pressure_pa", -1.0, "must be >= 0.0"),
    ("limits.min_flow_while_running_m3_s", -1e-6, "must be >= 0.0"),
    ("limits.running_speed_rpm", -1.0, "must be >= 0.0"),
    ("limits.flow_check_delay_s", -1.0, "must be >= 0.0"),
    ("limits.stale_data_s", -0.1, "must be >= 0.0"),
    ("limits.max_outlet_pressure_pa", math.nan, "expected a finite number"),
    ("limits.max_motor_temperature_c", math.inf, "expected a finite number"),
    ("buses.rs485.kind", "canbus", "must be one of modbus-rtu, modbus-tcp"),
    ("buses.rs485.baudrate", 110, "must be >= 300"),
    ("buses.rs485.timeout_s", 0.0, "must be >= 0.001"),
    ("buses.rs485.timeout_s", 61.0, "must be <= 60.0"),
    ("virtual.seed", -1, "must be >= 0"),
    ("virtual.serial_link", "usb", "must be one of tcp, pty"),
    ("virtual.scpi_link", "gpib", "must be one of visa, socket"),
]


@pytest.mark.parametrize(
    ("dotted", "value", "expected"), OUT_OF_RANGE, ids=[c[0] + "=" + repr(c[1]) for c in OUT_OF_RANGE]
)
def test_a_field_out_of_range_is_named_with_its_range(dotted: str, value: Any, expected: str) -> None:
    assert_names(refused(edit(shipped(), dotted, value)), dotted, expected)


UNKNOWN = [
    "extra_table_key",
    "bench.colour",
    "limits.max_speed_rmp",
    "buses.rs485.parity",
    "roles.tank_presure",
    "virtual.sead",
]


@pytest.mark.parametrize("dotted", UNKNOWN)
def test_an_unknown_key_is_named_never_ignored(dotted: str) -> None:
    error = refused(edit(shipped(), dotted, 1))
    assert_names(error, dotted, "unknown key")
    assert "known here:" in error.problem


def test_the_rated_speed_may_not_exceed_the_speed_limit() -> None:
    error = refused(edit(shipped(), "bench.rated_speed_rpm", 34000.0))
    assert_names(error, "bench.rated_speed_rpm", "limits.max_speed_rpm")


@pytest.mark.parametrize("accuracy", [-0.001, 0.0, 1.5])
def test_an_accuracy_outside_0_to_1_is_refused(accuracy: float) -> None:
    error = refused(edit(shipped(), "instruments.p_inlet.accuracy.p_inlet_pa", accuracy))
    assert error.field == "instruments.p_inlet.accuracy.p_inlet_pa"


@pytest.mark.parametrize("plant", [5, "inlet_diameter_m=0.016"])
def test_a_virtual_plant_that_is_not_a_table_is_named(plant: Any) -> None:
    error = refused(edit(shipped(), "virtual.plant", plant))
    assert_names(error, "virtual.plant", "expected a table")


@pytest.mark.parametrize("faults", ["stale_flow", 5, [1, 2]])
def test_virtual_faults_must_be_a_list_of_names(faults: Any) -> None:
    error = refused(edit(shipped(), "virtual.faults", faults))
    assert error.field.startswith("virtual.faults")


# ============================================================================ cross-field checks
def test_an_accuracy_for_a_channel_the_instrument_lacks_is_named() -> None:
    error = refused(edit(shipped(), "instruments.flow.accuracy.head_m", 0.01))
    assert_names(error, "instruments.flow.accuracy.head_m", "names no channel of this instrument")


def test_a_channel_provided_twice_is_refused() -> None:
    data = edit(shipped(), "instruments.p_outlet.channels.p_inlet_pa", "pressure_pa")
    assert_names(
        refused(data), "instruments.p_outlet.channels.p_inlet_pa", "already provided by instrument 'p_inlet'"
    )


@pytest.mark.parametrize("channel", STANDARD_CHANNELS)
def test_a_missing_standard_channel_is_named(channel: str) -> None:
    data = shipped()
    for table in data["instruments"].values():
        table["channels"].pop(channel, None)
        table.get("accuracy", {}).pop(channel, None)
    error = refused(data)
    assert_names(error, "instruments", "no instrument provides the channels")
    assert error.problem.endswith(channel)


def test_a_bench_without_instruments_lists_every_missing_channel() -> None:
    error = refused(edit(shipped(), "instruments", DELETE))
    for channel in STANDARD_CHANNELS:
        assert channel in error.problem


@pytest.mark.parametrize(("role", "target"), [("pump_drive", "motr"), ("throttle_valve", "valve.daq")])
def test_a_role_naming_a_missing_instrument_is_named(role: str, target: str) -> None:
    error = refused(edit(shipped(), f"roles.{role}", target))
    assert_names(error, f"roles.{role}", repr(target))


def test_the_optional_tank_pressure_role_is_accepted_and_checked() -> None:
    assert parse_bench(shipped(), SOURCE).roles["tank_pressure"] == "daq.regulator"
    assert_names(
        refused(edit(shipped(), "roles.tank_pressure", "daq")),
        "roles.tank_pressure",
        "expected daq.regulator",
    )
    assert_names(refused(edit(shipped(), "roles.tank_pressure", "tank")), "roles.tank_pressure", "'tank'")


# ============================================================================ assembling (connect_bench)
def first_instrument(data: dict[str, Any], name: str) -> dict[str, Any]:
    """Put ``name`` first and every serial resource on pyserial's loop:// port (opens, never answers)."""
    data["instruments"] = {name: data["instruments"][name], **data["instruments"]}
    data["instruments"]["motor"]["resource"] = "loop://"
    for bus in data["buses"].values():
        bus.update(kind="modbus-rtu", resource="loop://")
    return data


def refused_at_connect(data: dict[str, Any], endpoints: dict[str, SimEndpoint] | None = None) -> ConfigError:
    config: BenchConfig = parse_bench(data, SOURCE)
    with pytest.raises(ConfigError) as caught:
        connect_bench(config, endpoints)
    return caught.value


INSTRUMENT_OPTIONS = [
    # (instrument, dotted option below it, value or DELETE, expected)
    ("motor", "polepairs", 2, "unknown key"),
    ("motor", "pole_pairs", DELETE, "missing (required)"),
    ("motor", "pole_pairs", "2", "expected an integer, got str '2'"),
    ("motor", "pole_pairs", 0, "must be >= 1"),
    ("motor", "pole_pairs", 65, "must be <= 64"),
    ("motor", "resource", DELETE, "missing (required)"),
    ("motor", "baudrate", 100, "must be >= 300"),
    ("p_inlet", "scale", 1.0, "unknown key"),
    ("p_inlet", "unit", 0, "must be >= 1"),
    ("p_inlet", "unit", 248, "must be <= 247"),
    ("p_inlet", "bus", "rs232", "names no bus in [buses]"),
    ("flow", "word_order", "CDAB", "must be one of big, little"),
    ("daq", "valve.colour", "red", "unknown key"),
    ("daq", "valve.dac", 2, "must be one of 0, 1"),
    ("daq", "valve", "DAC0", "expected a table"),
]


@pytest.mark.parametrize(
    ("instrument", "dotted", "value", "expected"),
    INSTRUMENT_OPTIONS,
    ids=[f"{c[0]}.{c[1]}={'(deleted)' if c[2] is DELETE else repr(c[2])}" for c in INSTRUMENT_OPTIONS],
)
def test_instrument_options_are_checked_when_the_bench_is_assembled(
    instrument: str, dotted: str, value: Any, expected: str
) -> None:
    data = first_instrument(shipped(), instrument)
    edit(data["instruments"][instrument], dotted, value)
    error = refused_at_connect(data)
    assert_names(error, f"instruments.{instrument}.{dotted}", expected)


def test_a_labjack_input_field_is_named_with_its_index() -> None:
    data = first_instrument(shipped(), "daq")
    del data["instruments"]["daq"]["inputs"][0]["quantity"]
    assert_names(refused_at_connect(data), "instruments.daq.inputs[0].quantity", "missing (required)")


def test_an_unknown_driver_is_named_with_the_known_ones() -> None:
    data = edit(shipped(), "instruments.motor.driver", "vesx")
    error = refused_at_connect(data)
    assert_names(error, "instruments.motor.driver", "unknown driver 'vesx'")
    for known in ("vesc", "keller", "micromotion", "wt310", "labjack-t7"):
        assert known in error.problem


def test_a_sim_resource_on_a_bench_without_a_virtual_bench_is_named() -> None:
    data = edit(shipped(), "virtual", DELETE)
    error = refused_at_connect(data)
    assert_names(error, "instruments.motor.resource", "'sim:motor' is not served by the virtual bench")
    assert "no [virtual] table" in error.problem


def test_a_sim_bus_resource_on_a_bench_without_a_virtual_bench_is_named() -> None:
    data = edit(shipped(), "virtual", DELETE)
    data["instruments"] = {"p_inlet": data["instruments"]["p_inlet"], **data["instruments"]}
    assert_names(refused_at_connect(data), "buses.rs485.resource", "'sim:rs485' is not served")


def test_a_sim_resource_the_virtual_bench_does_not_serve_lists_what_it_serves() -> None:
    endpoints = {"rs485": SimEndpoint("pty", "/dev/pts/99"), "daq": SimEndpoint("tcp", "127.0.0.1", 5020)}
    error = refused_at_connect(shipped(), endpoints)
    assert_names(error, "instruments.motor.resource", "known: daq, rs485")


def test_a_value_the_vesc_driver_refuses_is_named_with_the_file_and_field() -> None:
    data = first_instrument(shipped(), "motor")
    data["instruments"]["motor"]["max_speed_rpm"] = 0.0
    assert_names(refused_at_connect(data), "instruments.motor.max_speed_rpm", "")


def test_a_value_the_labjack_driver_refuses_is_named_with_the_file_and_field() -> None:
    data = first_instrument(shipped(), "daq")
    data["instruments"]["daq"]["valve"]["closed_v"] = 6.0
    assert_names(refused_at_connect(data), "instruments.daq.valve.closed_v", "")


def test_parse_bench_does_not_change_the_data_it_is_given() -> None:
    data = shipped()
    before = copy.deepcopy(data)
    parse_bench(data, SOURCE)
    assert data == before


def test_a_400_digit_drive_speed_limit_is_left_to_the_drive_and_raises_no_overflow() -> None:
    data = edit(shipped(), "instruments.motor.max_speed_rpm", 10**400)
    try:
        parse_bench(data, SOURCE)  # the cross-field rules skip what is not a float; the driver refuses it
    except ConfigError:
        pass
