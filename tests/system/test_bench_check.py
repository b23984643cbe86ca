"""`hil bench check`: validate, connect, and print what every instrument says it is."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from hil.cli import main


def test_check_of_the_virtual_bench_lists_every_instrument_identity() -> None:
    out = io.StringIO()
    assert main(["bench", "check", "--bench", "sim"], out=out) == 0
    text = out.getvalue()
    assert "YOKOGAWA,WT310" in text
    assert "Keller unit 1" in text and "Keller unit 2" in text
    assert "VESC" in text and "LabJack" in text


def test_check_of_a_malformed_bench_file_names_file_and_field(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hil.bench.config import resolve_bench_path

    text = (
        resolve_bench_path("sim")
        .read_text()
        .replace("max_outlet_pressure_pa = 40.0e5", 'max_outlet_pressure_pa = "high"')
    )
    bad = tmp_path / "bad_bench.toml"
    bad.write_text(text)
    assert main(["bench", "check", "--bench", str(bad)]) == 2
    err = capsys.readouterr().err
    assert str(bad) in err and "limits.max_outlet_pressure_pa" in err and "expected a number" in err
    assert "Traceback" not in err


def test_check_of_a_bench_whose_instruments_are_absent_lists_them_all(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hil.bench.config import resolve_bench_path

    text = resolve_bench_path("sim").read_text()
    text = text.split("\n[virtual]\n")[0] + "\n[buses" + text.split("\n[buses", 1)[1]  # no virtual bench
    text = text.replace('"sim:motor"', '"/dev/hil-no-such-port"').replace(
        '"sim:power"', '"tcp://127.0.0.1:9"'
    )
    text = text.replace('"sim:rs485"', '"/dev/hil-no-such-bus"').replace('"sim:daq"', '"tcp://127.0.0.1:9"')
    real = tmp_path / "real_bench.toml"
    real.write_text(text)
    assert main(["bench", "check", "--bench", str(real)]) == 1
    err = capsys.readouterr().err
    for name in ("motor", "power", "p_inlet", "daq"):
        assert f"  {name}:" in err
