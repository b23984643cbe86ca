"""A bench file whose values would switch an interlock off or make a safe state unsafe is refused by
``hil run`` and ``hil bench check`` before anything connects, naming the file, the field and why.

Each case is the shipped sim bench with one value changed (the values an adversarial review of the
harness got accepted). Nothing may be started: no run directory, exit status 2.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest
import tomlkit

from hil.cli import EXIT_USAGE, main

SHIPPED = Path(__file__).resolve().parents[2] / "hil" / "data" / "sim_bench.toml"

CASES: list[tuple[str, Any, str]] = [
    ("limits.running_speed_rpm", 1e9, "limits.running_speed_rpm"),
    ("limits.running_speed_rpm", 31000.0, "not below bench.rated_speed_rpm"),
    ("limits.flow_check_delay_s", 1e9, "limits.flow_check_delay_s"),
    ("limits.stale_data_s", 1e9, "limits.stale_data_s"),
    ("limits.max_motor_temperature_c", -500.0, "limits.max_motor_temperature_c"),
    ("limits.max_outlet_pressure_pa", 1e308, "limits.max_outlet_pressure_pa"),
    ("limits.min_flow_while_running_m3_s", 0.0, "limits.min_flow_while_running_m3_s"),
    ("limits.max_fluid_temperature_c", 150.0, "limits.max_fluid_temperature_c"),
    ("instruments.daq.valve.safe_opening_fraction", 0.0, "valve.safe_opening_fraction"),
    ("instruments.daq.valve.safe_opening_fraction", 0.2, "valve.safe_opening_fraction"),
    ("instruments.daq.regulator.safe_pressure_pa", 0.0, "regulator.safe_pressure_pa"),
    ("instruments.daq.regulator.dac", 0, "DAC0 already drives the valve"),
    ("roles.pump_drive", "p_inlet", "roles.pump_drive: 'p_inlet' is a keller measuring instrument"),
    ("roles.throttle_valve", "motor", "roles.throttle_valve: 'motor' is a motor drive"),
    ("roles.tank_pressure", "daq.valve", "roles.tank_pressure: expected daq.regulator"),
    ("instruments.motor.max_speed_rpm", 20000.0, "instruments.motor.max_speed_rpm: the drive's 20000 rpm"),
    ("instruments.power.channels.time_s", "voltage_v", "the run log's time column"),
    ("instruments.power.channels.volts,v", "voltage_v", "letters, digits and _ only"),
    (
        "instruments.power.channels.electrical_power_w",
        "pwr",
        "instruments.power.channels.electrical_power_w: maps to 'pwr', which the wt310 driver does not read "
        "(available: current_a, power_w, voltage_v)",
    ),
    (
        "instruments.daq.channels.fluid_temperature_c",
        "fluid_temp_c",
        "(available: fluid_temperature_c, tank_pressure_pa, valve_position_fraction)",
    ),
]


def _bench_with(tmp_path: Path, dotted: str, value: Any) -> Path:
    """The shipped bench with one value set (a channel's name may hold a dot or a comma)."""
    data = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    if ".channels." in dotted:
        table_path, last = dotted.split(".channels.", 1)
        table_path += ".channels"
    else:
        table_path, _, last = dotted.rpartition(".")
    table = data
    for key in table_path.split("."):
        table = table[key]
    table[last] = value
    path = tmp_path / "bench.toml"
    path.write_text(tomlkit.dumps(data), encoding="utf-8")
    return path


@pytest.mark.parametrize(("dotted", "value", "expected"), CASES, ids=[f"{c[0]}={c[1]}" for c in CASES])
@pytest.mark.parametrize("command", ["run", "bench check"])
def test_a_bench_value_that_would_defeat_a_check_is_refused_before_anything_connects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], dotted: str, value: Any, expected: str, command: str
) -> None:
    bench = _bench_with(tmp_path, dotted, value)
    out = tmp_path / "runs"
    argv = (
        ["run", "performance-curve", "--bench", str(bench), "--out", str(out), "--quiet"]
        if command == "run"
        else ["bench", "check", "--bench", str(bench)]
    )
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_USAGE, err
    assert err.startswith(f"hil: error: {bench}: ") and expected in err, err
    assert "Traceback" not in err
    assert not out.exists()  # nothing was started
