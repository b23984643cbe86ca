"""`hil bench read` and `hil bench set`: every channel of a bench by hand, one setpoint within the
bench limits, and the instrument always left in its safe state."""

from __future__ import annotations

import io
import os
import re
import signal

import pytest

from hil.cli import main
from hil.core.errors import LimitError
from hil.run.commissioning import set_and_hold
from hil.run.session import open_session


def test_read_prints_every_channel_and_what_can_be_set() -> None:
    out = io.StringIO()
    assert main(["bench", "read", "--bench", "sim"], out=out) == 0
    text = out.getvalue()
    for channel in (
        "speed_rpm",
        "p_inlet_pa",
        "p_outlet_pa",
        "flow_m3_s",
        "electrical_power_w",
        "tank_pressure_pa",
    ):
        assert re.search(rf"\s{channel}\s+\S+", text), channel
    assert "settable: motor: speed_rpm 0 .. 33000" in text
    assert "settable: daq.valve: opening_fraction 0 .. 1" in text


def test_watch_reads_again_as_bench_time_moves() -> None:
    out = io.StringIO()
    assert (
        main(
            ["bench", "read", "--bench", "sim-odrive", "--watch", "--count", "3", "--interval", "0.5"],
            out=out,
        )
        == 0
    )
    times = [float(t) for t in re.findall(r"bench time (\S+) s", out.getvalue())]
    assert times == [0.0, 0.5, 1.0]
    assert "shaft_torque_nm" in out.getvalue() and "supply_output_on" in out.getvalue()


def test_set_holds_the_speed_then_leaves_the_drive_safe() -> None:
    lines: list[str] = []
    with open_session("sim-odrive", seed=None) as session:
        set_and_hold(session.bench, session.clock, "motor", "speed_rpm", 20_000.0, 2.0, lines.append)
        assert "speed_rpm=20000" in lines[-2] or "speed_rpm=19999" in lines[-2]
        assert lines[-1] == "motor: safe state commanded"
        reading = session.bench.pump_drive.read()
        assert reading["axis_state"] == 1  # idle: the ODrive lets the motor coast
        session.clock.sleep(1.0)
        assert session.bench.pump_drive.read()["speed_rpm"] < 15_000.0  # and it is coasting down


def test_set_beyond_a_bench_limit_sends_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "set", "--bench", "sim", "motor", "speed_rpm", "34000"]) == 1
    err = capsys.readouterr().err
    assert "speed_rpm = 34000 is outside 0 .. 33000" in err and "nothing was sent" in err
    with open_session("sim-odrive", seed=None) as session:
        with pytest.raises(LimitError, match="outside 0 .. 52"):
            set_and_hold(session.bench, session.clock, "supply", "voltage_v", 55.0, 0.0, lambda line: None)
        with pytest.raises(LimitError, match="no setpoint 'speed_rpm'"):
            set_and_hold(session.bench, session.clock, "p_inlet", "speed_rpm", 1.0, 0.0, lambda line: None)
        with pytest.raises(LimitError, match="outside 20000 .. inf"):
            set_and_hold(session.bench, session.clock, "daq.regulator", "pressure_pa", 10_000.0, 0.0, print)


def test_set_through_the_command_line_on_the_supply() -> None:
    out = io.StringIO()
    assert (
        main(["bench", "set", "--bench", "sim-odrive", "supply", "voltage_v", "30", "--hold", "1"], out=out)
        == 0
    )
    text = out.getvalue()
    assert "voltage_v=29.99" in text.splitlines()[-2] or "voltage_v=30.0" in text.splitlines()[-2]
    assert text.splitlines()[-1] == "supply: safe state commanded"


class _InterruptOnFirstReading(io.StringIO):
    """The command's output; the first reading shown during the hold brings a real SIGINT."""

    def write(self, text: str) -> int:
        if "t = " in text and "t = " not in self.getvalue():
            os.kill(os.getpid(), signal.SIGINT)
        return super().write(text)


def test_ctrl_c_during_a_set_ends_the_hold_in_the_safe_state() -> None:
    out = _InterruptOnFirstReading()
    code = main(["bench", "set", "--bench", "sim", "motor", "speed_rpm", "20000", "--hold", "5"], out=out)
    lines = out.getvalue().splitlines()
    assert code == 3  # aborted by the operator, not an error and not a completed hold
    assert any(line.startswith("motor: hold stopped at t = ") for line in lines), lines
    assert lines[-1] == "motor: safe state commanded"
    assert sum("t = " in line and "speed_rpm=" in line for line in lines) == 1  # nothing held after the stop
