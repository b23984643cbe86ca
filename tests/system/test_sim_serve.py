"""`hil sim serve` as its own process: a foreign client finds the instruments from the JSON listing,
and a harness in another process drives the served bench in lockstep with the same results as the
in-process virtual bench."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.keller import KellerTransducer
from drivers.vesc import VescDrive
from hil.bench.modbus_rtu import ModbusRtuTransport
from hil.bench.transport import SerialTransport
from hil.cli import main
from tests.system.test_performance_curve import SHORT_RUN

SIM_BENCH = Path(__file__).resolve().parents[2] / "hil" / "data" / "sim_bench.toml"


def serve(*extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "hil.cli", "sim", "serve", "--json", "--duration-s", "120", *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    process.communicate(timeout=10)  # also closes the pipes


def run_directories(out: Path) -> list[Path]:
    """The run directories under ``--out`` (the runs' catalogue sits beside them)."""
    return [path for path in out.iterdir() if path.is_dir()]


def pty_bench(directory: Path) -> Path:
    """The built-in sim bench with its serial instruments on ptys instead of loopback TCP."""
    text = SIM_BENCH.read_text(encoding="utf-8").replace('serial_link = "tcp"', 'serial_link = "pty"')
    assert 'serial_link = "pty"' in text
    path = directory / "sim_pty_bench.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def wall_clock_bench(tmp_path: Path) -> Iterator[dict[str, dict[str, object]]]:
    process = serve("--bench", str(pty_bench(tmp_path)))
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())
    finally:
        stop(process)


def test_serve_lists_every_instrument_with_its_address(
    wall_clock_bench: dict[str, dict[str, object]],
) -> None:
    assert set(wall_clock_bench) == {"motor", "rs485", "power", "daq"}
    assert wall_clock_bench["motor"]["transport"] == "pty"
    assert str(wall_clock_bench["motor"]["address"]).startswith("/dev/pts/")
    assert wall_clock_bench["power"]["transport"] == "tcp"
    assert wall_clock_bench["power"]["address"] == "127.0.0.1"
    assert wall_clock_bench["rs485"]["units"] == {"p_inlet": 1, "p_outlet": 2, "flow": 3}


def test_a_foreign_client_reads_the_served_instruments(
    wall_clock_bench: dict[str, dict[str, object]],
) -> None:
    motor_port = SerialTransport(str(wall_clock_bench["motor"]["address"]), timeout_s=2.0)
    reading = VescDrive(motor_port, pole_pairs=2, max_speed_rpm=33000.0).read()
    motor_port.close()
    assert reading["speed_rpm"] == 0.0
    assert reading["bus_voltage_v"] == pytest.approx(48.0, rel=0.05)
    bus_port = SerialTransport(str(wall_clock_bench["rs485"]["address"]), timeout_s=2.0)
    inlet = KellerTransducer(ModbusRtuTransport(bus_port), unit=1, name="p_inlet").read()
    bus_port.close()
    # pump at rest: tank at one standard atmosphere plus 0.5 m of water above the inlet
    assert inlet["pressure_pa"] == pytest.approx(101325.0 + 998.2 * 9.80665 * 0.5, rel=0.01)


def test_the_sim_bench_serves_its_serial_lines_on_loopback_tcp_as_serial_over_ip() -> None:
    process = serve()
    try:
        assert process.stdout is not None
        listing = json.loads(process.stdout.readline())
        assert listing["motor"]["transport"] == "tcp" and listing["rs485"]["transport"] == "tcp"
        assert listing["motor"]["address"] == "127.0.0.1"
        motor_port = SerialTransport(f"socket://127.0.0.1:{listing['motor']['port']}", timeout_s=2.0)
        reading = VescDrive(motor_port, pole_pairs=2, max_speed_rpm=33000.0).read()
        motor_port.close()
        bus_port = SerialTransport(f"socket://127.0.0.1:{listing['rs485']['port']}", timeout_s=2.0)
        inlet = KellerTransducer(ModbusRtuTransport(bus_port), unit=1, name="p_inlet").read()
        bus_port.close()
    finally:
        stop(process)
    assert reading["speed_rpm"] == 0.0
    assert reading["bus_voltage_v"] == pytest.approx(48.0, rel=0.05)
    assert inlet["pressure_pa"] == pytest.approx(101325.0 + 998.2 * 9.80665 * 0.5, rel=0.01)


def test_a_run_over_ptys_gives_the_same_points_as_over_loopback_tcp(tmp_path: Path) -> None:
    outcomes = {}
    for link, bench in (("tcp", "sim"), ("pty", str(pty_bench(tmp_path)))):
        out = tmp_path / link
        assert (
            main(["run", "performance-curve", "--bench", bench, "--out", str(out), "--quiet", *SHORT_RUN])
            == 0
        )
        (run,) = run_directories(out)
        outcomes[link] = (run / "operating_points.csv").read_bytes()
    assert outcomes["pty"] == outcomes["tcp"]


def test_lockstep_bench_in_another_process_gives_the_in_process_results(tmp_path: Path) -> None:
    process = serve("--clock", "lockstep")
    try:
        assert process.stdout is not None
        listing = json.loads(process.stdout.readline())
        attached = tmp_path / "attached"
        code = main(
            [
                "run",
                "performance-curve",
                "--bench",
                "sim",
                "--attach",
                f"127.0.0.1:{listing['clock']['port']}",
                "--out",
                str(attached),
                "--quiet",
                *SHORT_RUN,
            ]
        )
        assert code == 0
    finally:
        stop(process)
    local = tmp_path / "local"
    assert (
        main(
            [
                "run",
                "performance-curve",
                "--bench",
                "sim",
                "--seed",
                "1",
                "--out",
                str(local),
                "--quiet",
                *SHORT_RUN,
            ]
        )
        == 0
    )
    (attached_run,) = run_directories(attached)
    (local_run,) = run_directories(local)
    assert (attached_run / "operating_points.csv").read_bytes() == (
        local_run / "operating_points.csv"
    ).read_bytes()


def test_an_in_process_virtual_bench_runs_on_one_cpu_and_gives_the_others_back() -> None:
    from hil.run.session import open_session

    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs an OS with CPU affinity and at least two CPUs")
    before = os.sched_getaffinity(0)
    with open_session("sim", seed=1) as session:
        assert len(os.sched_getaffinity(0)) == 1
        assert session.bench.pump_drive.read()["speed_rpm"] == 0.0
    assert os.sched_getaffinity(0) == before


def test_the_virtual_bench_keeps_the_cpu_its_thread_was_running_on(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a CPU chosen by process id: two benches at once (a campaign's workers, the suite's) would
    share one CPU half the time. The thread confined to each CPU in turn reads that CPU as its own;
    told it runs on each CPU in turn, the bench pins to that one."""
    import hil.run.virtual as virtual

    if not hasattr(os, "sched_getaffinity") or len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs an OS with CPU affinity and at least two CPUs")
    before = os.sched_getaffinity(0)
    try:
        for cpu in sorted(before):
            os.sched_setaffinity(0, {cpu})
            assert virtual._current_cpu() == cpu  # the thread can run nowhere else
        os.sched_setaffinity(0, before)
        for cpu in sorted(before):
            monkeypatch.setattr(virtual, "_current_cpu", lambda cpu=cpu: cpu)
            cpus_before = virtual.pin_to_one_cpu()
            assert os.sched_getaffinity(0) == {cpu}
            virtual.unpin(cpus_before)
            assert os.sched_getaffinity(0) == before
    finally:
        os.sched_setaffinity(0, before)


def test_an_emulator_that_fails_is_named_with_where_it_failed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bug in an emulator reaches its driver only as a silent or closed link; when the virtual bench
    stops, the failure itself is printed, naming the link and the line that raised."""
    from hil.core.errors import HilError
    from hil.run.session import open_session
    from simulators.modbus_device import ModbusRtuBus

    def broken(self: ModbusRtuBus, data: bytes) -> bytes:
        raise RuntimeError("broken on purpose")

    monkeypatch.setattr(ModbusRtuBus, "receive", broken)
    with pytest.raises(HilError):
        with open_session("sim", seed=1) as session:
            session.bench.sensors["p_inlet"].read()
    err = capsys.readouterr().err
    assert "hil: virtual bench: an emulator failed: rs485: RuntimeError: broken on purpose" in err
    assert "(at test_sim_serve.py:" in err
