"""The generic Modbus and SCPI drivers, described in a bench file, read what the dedicated drivers read.

The built-in virtual bench is extended with the Keller transducers, the Micro Motion meter and the
WT310 described through the generic drivers (``driver = "modbus"`` / ``driver = "scpi"``), on the same
RS-485 pty and the same SCPI socket as the dedicated ones. With the pump running, both kinds are read
at the same bench time: every value must be identical, bit for bit, because both decode the very
same bytes from the emulators.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.bench.config import resolve_bench_path
from hil.core.errors import ConfigError, DeviceError, LimitError
from hil.run.session import Session, open_session

GENERIC = """
[instruments.p_inlet_generic]
driver = "modbus"
bus = "rs485"
unit = 1
identity = "Keller described in the bench file"
channels = { generic_p_inlet_pa = "pressure_pa", generic_inlet_tob_c = "temperature_c" }
registers.pressure_pa = { address = 0x0100, type = "float32", scale = 1.0e5 }
registers.temperature_c = { address = 0x0102, type = "float32" }

[instruments.p_outlet_generic]
driver = "modbus"
bus = "rs485"
unit = 2
channels = { generic_p_outlet_pa = "pressure_pa" }
registers.pressure_pa = { address = 0x0100, type = "float32", word_order = "big", byte_order = "big", scale = 1.0e5 }

[instruments.flow_generic]
driver = "modbus"
bus = "rs485"
unit = 3
channels = { generic_flow_m3_s = "volume_flow_m3_s", generic_mass_flow_kg_s = "mass_flow_kg_s" }
registers.mass_flow_kg_s = { address = 246, type = "float32" }
registers.density_kg_m3 = { address = 248, type = "float32" }
registers.temperature_c = { address = 250, type = "float32" }
registers.volume_flow_m3_s = { address = 252, type = "float32" }

[instruments.power_generic]
driver = "scpi"
resource = "sim:power"
timeout_s = 0.25
setup = ["*CLS", ":NUM:FORM ASC", ":COMM:HEAD OFF", ":COMM:VERB ON", ":NUM:NORM:NUM 3",
         ":NUM:NORM:ITEM1 U,1", ":NUM:NORM:ITEM2 I,1", ":NUM:NORM:ITEM3 P,1"]
error_query = ":STAT:ERR?"
channels = { generic_electrical_power_w = "power_w" }
readings.voltage_v = { query = ":NUM:NORM:VAL?", field = 0, fields = 3 }
readings.current_a = { query = ":NUM:NORM:VAL?", field = 1, fields = 3 }
readings.power_w = { query = ":NUM:NORM:VAL?", field = 2, fields = 3 }
"""


def bench_with_generic(tmp_path: Path, extra: str = GENERIC) -> Path:
    path = tmp_path / "generic_bench.toml"
    path.write_text(resolve_bench_path("sim").read_text() + extra)
    return path


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    path = bench_with_generic(tmp_path_factory.mktemp("generic"))
    with open_session(str(path), seed=3) as session:
        drive = session.bench.pump_drive
        drive.set_speed_rpm(24_000.0)
        for _ in range(40):  # 4 s of bench time: flow and pressures well away from their rest values
            drive.keep_alive()
            drive.read()  # an exchange: the emulator has taken every command before time moves on
            session.clock.sleep(0.1)
        yield session
        drive.safe_state()


def test_keller_through_the_generic_driver_reads_what_the_keller_driver_reads(running: Session) -> None:
    instruments = running.bench.instruments
    for dedicated, generic in (("p_inlet", "p_inlet_generic"), ("p_outlet", "p_outlet_generic")):
        expected = instruments[dedicated].read()
        got = instruments[generic].read()
        assert got["pressure_pa"] == expected["pressure_pa"]
    assert (
        instruments["p_inlet_generic"].read()["temperature_c"]
        == instruments["p_inlet"].read()["temperature_c"]
    )
    assert instruments["p_outlet"].read()["pressure_pa"] > 10e5  # the pump is really running


def test_micromotion_through_the_generic_driver_reads_what_the_coriolis_driver_reads(
    running: Session,
) -> None:
    expected = running.bench.instruments["flow"].read()
    got = running.bench.instruments["flow_generic"].read()
    assert got == expected
    assert expected["volume_flow_m3_s"] > 1e-4


def test_wt310_through_the_generic_driver_reads_what_the_wt310_driver_reads(running: Session) -> None:
    expected = running.bench.instruments["power"].read()
    got = running.bench.instruments["power_generic"].read()
    assert got == expected
    assert expected["power_w"] > 100.0


def test_identities_come_from_the_bench_file_and_the_instrument(running: Session) -> None:
    identities = running.bench.identities
    assert identities["p_inlet_generic"] == "Keller described in the bench file (Modbus unit 1)"
    assert identities["power_generic"].startswith("YOKOGAWA,WT310")


def test_a_register_the_device_lacks_fails_at_connect_naming_the_instrument(tmp_path: Path) -> None:
    extra = """
[instruments.nothing_there]
driver = "modbus"
bus = "rs485"
unit = 1
channels = { bogus_pa = "pressure_pa" }
registers.pressure_pa = { address = 0x0300, type = "float32" }
"""
    with pytest.raises(Exception) as caught:
        with open_session(str(bench_with_generic(tmp_path, extra)), seed=1):
            pass
    assert "nothing_there" in str(caught.value) and "exception 2" in str(caught.value)


def test_a_setup_the_instrument_refuses_fails_at_connect_with_its_error_queue(tmp_path: Path) -> None:
    extra = """
[instruments.power_misdescribed]
driver = "scpi"
resource = "sim:power"
setup = [":NUM:NORM:ITEM1 BOGUS,1"]
error_query = ":STAT:ERR?"
channels = { bogus_w = "power_w" }
readings.power_w = { query = ":NUM:NORM:VAL?" }
"""
    with pytest.raises(Exception) as caught:
        with open_session(str(bench_with_generic(tmp_path, extra)), seed=1):
            pass
    assert "power_misdescribed" in str(caught.value) and "refused its set-up" in str(caught.value)


def test_a_setpoint_range_that_the_register_type_cannot_hold_is_a_bench_file_error(tmp_path: Path) -> None:
    extra = """
[instruments.valve_generic]
driver = "modbus"
bus = "daq"
unit = 1
channels = { generic_valve_v = "valve_v" }
registers.valve_v = { address = 0, type = "float32" }
setpoints.command_v = { address = 1000, type = "int16", scale = 0.0001, min = 0.0, max = 5.0, safe = 5.0 }
"""
    with pytest.raises(ConfigError) as caught:
        with open_session(str(bench_with_generic(tmp_path, extra)), seed=1):
            pass
    assert "instruments.valve_generic.setpoints.command_v.type" in str(caught.value)
    assert "int16" in str(caught.value)


SETTABLE = """
[instruments.daq_generic]
driver = "modbus"
bus = "daq"
unit = 1
channels = { generic_valve_feedback_v = "valve_feedback_v" }
registers.valve_feedback_v = { address = 0, type = "float32" }
setpoints.valve_command_v = { address = 1000, type = "float32", min = 0.0, max = 5.0, safe = 5.0 }

[instruments.power_rate]
driver = "scpi"
resource = "sim:power"
error_query = ":STAT:ERR?"
channels = { generic_power_w = "power_w" }
readings.power_w = { query = ":NUM:NORM:VAL?", field = 2 }
setpoints.update_interval_ms = { command = ":RATE {value}MS", min = 100.0, max = 500.0 }
"""


def test_setpoints_reach_the_device_within_their_range_only(tmp_path: Path) -> None:
    with open_session(str(bench_with_generic(tmp_path, SETTABLE)), seed=1) as session:
        daq = session.bench.instruments["daq_generic"]
        daq.set_value("valve_command_v", 2.5)  # type: ignore[attr-defined]
        session.clock.sleep(2.0)  # the positioner strokes at 2 s per full stroke
        assert daq.read()["valve_feedback_v"] == pytest.approx(2.5, abs=0.01)
        with pytest.raises(LimitError, match=r"valve_command_v = 6.0 outside \[0, 5\]"):
            daq.set_value("valve_command_v", 6.0)  # type: ignore[attr-defined]
        daq.safe_state()
        session.clock.sleep(2.0)
        assert daq.read()["valve_feedback_v"] == pytest.approx(5.0, abs=0.01)

        meter = session.bench.instruments["power_rate"]
        meter.set_value("update_interval_ms", 250.0)  # type: ignore[attr-defined]
        with pytest.raises(DeviceError, match="refused ':RATE 300MS'"):
            meter.set_value("update_interval_ms", 300.0)  # type: ignore[attr-defined]
        with pytest.raises(LimitError):
            meter.set_value("update_interval_ms", 50.0)  # type: ignore[attr-defined]
