"""Values no procedure may run with are refused before anything is connected: through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.cli import EXIT_ERROR, EXIT_USAGE, main


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("dwell_s", "nan"),
        ("dwell_s", "inf"),
        ("dwell_s", "-inf"),
        ("speeds_fraction", "0.5,nan"),
        ("valve_openings", "inf"),
    ],
)
def test_a_parameter_that_is_not_a_finite_number_is_refused_before_anything_connects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], parameter: str, value: str
) -> None:
    code = main(
        ["run", "performance-curve", "--bench", "sim", "--out", str(tmp_path), "-p", f"{parameter}={value}"]
    )
    assert code == EXIT_USAGE
    assert f"-p {parameter}: must be a finite number" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # no run directory: nothing was started


SHIPPED = Path(__file__).resolve().parents[2] / "hil" / "data"


def _edited(tmp_path: Path, shipped: str, old: str, new: str) -> Path:
    text = (SHIPPED / shipped).read_text(encoding="utf-8")
    assert old in text
    path = tmp_path / shipped
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


def test_a_pump_file_with_an_absurd_specified_speed_is_refused_before_the_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pump = _edited(tmp_path, "sim_pump.toml", "specified_speed_rpm = 30000.0", "specified_speed_rpm = 1e300")
    out = tmp_path / "runs"
    code = main(
        ["run", "performance-curve", "--bench", "sim", "--pump", str(pump), "--out", str(out), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == EXIT_USAGE
    assert f"{pump}: pump.specified_speed_rpm: must be <= 300000" in err and "Traceback" not in err
    assert not out.exists()  # refused before the run (it used to run, then overflow converting)


def test_json_to_a_path_that_cannot_be_written_is_refused_at_the_start(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "runs"
    target = tmp_path / "no such directory" / "summary.json"
    code = main(
        ["run", "performance-curve", "--bench", "sim", "--out", str(out), "--json", str(target), "--quiet"]
    )
    assert code == EXIT_USAGE
    assert "--json: cannot write" in capsys.readouterr().err
    assert not out.exists()


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ("baudrate = 115200\ntimeout_s", "baudrate = 1000000000000\ntimeout_s", "must be <= 20000000"),
        ("baudrate = 115200\ntimeout_s", "baudrate = 100000000000000000000000\ntimeout_s", "below 2**63"),
        (
            'resource = "sim:motor"\nbaudrate = 115200',
            'resource = "sim:motor"\nbaudrate = 10000000000',
            "<= 20000000",
        ),
    ],
    ids=["bus-1e12", "bus-1e23", "drive-1e10"],
)
@pytest.mark.parametrize("command", ["bench check", "run"])
def test_a_huge_baudrate_is_refused_before_anything_connects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], old: str, new: str, expected: str, command: str
) -> None:
    bench = _edited(tmp_path, "sim_bench.toml", old, new)
    out = tmp_path / "runs"
    argv = ["bench", "check", "--bench", str(bench)]
    if command == "run":
        argv = ["run", "performance-curve", "--bench", str(bench), "--out", str(out), "--quiet"]
    code = main(argv)
    err = capsys.readouterr().err
    assert code == EXIT_USAGE and err.startswith(f"hil: error: {bench}: ") and expected in err, err
    assert "baudrate" in err and not out.exists()


def test_a_garbage_visa_resource_is_named_as_such(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bench = _edited(
        tmp_path, "sim_bench.toml", 'resource = "sim:power"', 'resource = "TCPIP0::garbage::!!::x"'
    )
    code = main(["bench", "check", "--bench", str(bench)])
    err = capsys.readouterr().err
    assert code == EXIT_ERROR
    assert "power: 'TCPIP0::garbage::!!::x' is not a VISA resource name" in err and "Traceback" not in err
