"""The project's drivers against the raw round trip of the same exchange, and against peer stacks.

Run: ``.venv/bin/python benchmarks/bench_peers.py [--batches N] [--rounds N] [--calls N]``

On the virtual bench's emulators (served in this process, serial links on loopback TCP), each reading
is timed in short batches interleaved with batches of the raw round trip of the same request and
reply bytes over the same kind of link, and divided by the raw batch just before it (see
:func:`measure`):

* a WT310 reading (``:NUM:NORM:VAL?``, 15 values): raw socket; the project's driver over its line
  transport (what the sim bench uses); the driver over pyvisa (``TCPIP0::...::SOCKET``, what a real
  WT310 on Ethernet is opened as); PyMeasure's generic ``Instrument.ask`` over its VISA adapter, and
  QCoDeS's ``VisaInstrument.ask``, when they are installed (neither is a dependency of the project);
* a VESC GET_VALUES reading (serial over TCP): raw socket; the project's driver;
* a LabJack reading of AIN0..AIN2 over Modbus TCP: raw socket; the project's driver over its MBAP
  master;
* a Keller pressure reading over Modbus RTU (serial over TCP): raw socket; the project's driver over
  its RTU master; pymodbus's ``ModbusSerialClient`` reading the same registers.

The medians of the ratios are printed with their quartiles; absolute times drift with the machine's load.
"""

from __future__ import annotations

import argparse
import socket
import statistics
import struct
import sys
import time
from collections.abc import Callable

from drivers.keller import KellerTransducer
from drivers.labjack import LabJackT7
from drivers.vesc import VescDrive
from drivers.vesc_codec import GET_VALUES_FULL_LEN, encode_frame, get_values_payload
from drivers.wt310 import VALUE_QUERY, WT310PowerMeter
from hil.bench.library_transports import PymodbusTransport, VisaTransport
from hil.bench.modbus_rtu import ModbusRtuTransport, crc_bytes
from hil.bench.modbus_tcp import ModbusTcpTransport
from hil.bench.transport import LineTransport, TcpTransport
from simulators.virtual_bench import VirtualBench

SLOW_STACK_S = 1e-3
SLOW_STACK_CALLS = 2
"""A stack slower than this a call (pymodbus's serial client, which polls with sleeps) is timed in
batches of this many calls, so that it does not stretch every round."""


def per_call_s(action: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        action()
    return (time.perf_counter() - start) / calls


def raw_exchange(address: tuple[str, int], request: bytes, reply_size: int | None) -> Callable[[], bytes]:
    """Send ``request`` on a plain socket and read its reply (``reply_size`` bytes, or up to ``\\n``)."""
    sock = socket.create_connection(address)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def exchange() -> bytes:
        sock.sendall(request)
        reply = sock.recv(4096)
        while (len(reply) < reply_size) if reply_size else not reply.endswith(b"\n"):
            reply += sock.recv(4096)
        return reply

    return exchange


def wt310_stacks(address: tuple[str, int]) -> dict[str, Callable[[], object]]:
    host, port = address
    line = WT310PowerMeter(LineTransport(TcpTransport(host, port)), name="power")
    line.configure()
    visa = WT310PowerMeter(VisaTransport(f"TCPIP0::{host}::{port}::SOCKET"), name="power")
    stacks: dict[str, Callable[[], object]] = {
        "raw socket": raw_exchange(address, f"{VALUE_QUERY}\n".encode(), None),
        "project driver, line transport": line.read,
        "project driver, pyvisa": visa.read,
    }
    try:
        from pymeasure.adapters import VISAAdapter
        from pymeasure.instruments import Instrument

        meter = Instrument(
            VISAAdapter(
                f"TCPIP0::{host}::{port}::SOCKET",
                visa_library="@py",
                read_termination="\n",
                write_termination="\n",
            ),
            "WT310",
            includeSCPI=False,
        )
        stacks["PyMeasure Instrument.ask"] = lambda: meter.ask(VALUE_QUERY)
    except ImportError:
        print("PyMeasure is not installed: not measured", file=sys.stderr)
    try:
        from qcodes.instrument import VisaInstrument

        qmeter = VisaInstrument(
            "wt310", f"TCPIP0::{host}::{port}::SOCKET", terminator="\n", visalib="@py", pyvisa_sim_file=None
        )
        stacks["QCoDeS VisaInstrument.ask"] = lambda: qmeter.ask(VALUE_QUERY)
    except ImportError:
        print("QCoDeS is not installed: not measured", file=sys.stderr)
    return stacks


def keller_stacks(address: tuple[str, int]) -> dict[str, Callable[[], object]]:
    host, port = address
    pdu = bytes([1, 3, 0, 2, 0, 2])  # unit 1, read 2 holding registers at 2 (the pressure, float32)
    project = KellerTransducer(ModbusRtuTransport(TcpTransport(host, port)), unit=1, name="p_inlet")
    pymodbus = PymodbusTransport.rtu(f"socket://{host}:{port}", baudrate=115200)
    return {
        "raw socket": raw_exchange(address, pdu + crc_bytes(pdu), 9),
        "project driver, RTU master": project.read,
        "pymodbus ModbusSerialClient": lambda: pymodbus.read_holding_registers(2, 2, unit=1),
    }


def vesc_stacks(address: tuple[str, int]) -> dict[str, Callable[[], object]]:
    host, port = address
    drive = VescDrive(TcpTransport(host, port), pole_pairs=7, max_speed_rpm=33_000.0, name="motor")
    reply_size = 2 + GET_VALUES_FULL_LEN + 3  # start byte, length, payload, CRC, end byte
    return {
        "raw socket": raw_exchange(address, encode_frame(get_values_payload()), reply_size),
        "project driver (VescDrive.read)": drive.read,
    }


def labjack_stacks(address: tuple[str, int]) -> dict[str, Callable[[], object]]:
    host, port = address
    daq = LabJackT7(ModbusTcpTransport(TcpTransport(host, port)), name="daq", inputs=(0, 1, 2))
    request = struct.pack(">HHHBBHH", 1, 0, 6, 1, 3, 0, 6)  # MBAP: unit 1 reads AIN0..AIN2 (6 registers)
    return {
        "raw socket": raw_exchange(address, request, 9 + 12),
        "project driver (LabJackT7.read)": daq.read,
    }


def measure(stacks: dict[str, Callable[[], object]], batches: int, rounds: int, calls: int) -> None:
    """Time every stack in interleaved batches, each against the raw batch measured just before it.

    This machine's load drifts several-fold within seconds, so stacks measured one after the other
    (each for a whole round) could see different machines. Here every round runs ``batches`` batches
    of ``calls`` calls of each stack in turn (:data:`SLOW_STACK_CALLS` for a stack slower than
    :data:`SLOW_STACK_S` a call), and each batch's time per call is divided by that of the raw batch
    run just before it. Printed: the median time per call, the median of the per-batch ratios and
    their quartiles, and the ratio of the best batches (each stack's fastest batch over the raw
    socket's fastest): load only ever adds time, so on a busy machine the best batches are the
    nearest to what the exchange costs on a quiet one.
    """
    batch_calls = {}
    for name, action in stacks.items():  # warm-up
        batch_calls[name] = SLOW_STACK_CALLS if per_call_s(action, 50) > SLOW_STACK_S else calls
    times: dict[str, list[float]] = {name: [] for name in stacks}
    ratios: dict[str, list[float]] = {name: [] for name in stacks}
    for _ in range(rounds * batches):
        raw_s = per_call_s(stacks["raw socket"], batch_calls["raw socket"])
        times["raw socket"].append(raw_s)
        ratios["raw socket"].append(1.0)
        for name, action in stacks.items():
            if name != "raw socket":
                seconds = per_call_s(action, batch_calls[name])
                times[name].append(seconds)
                ratios[name].append(seconds / raw_s)
    for name in stacks:
        low, median, high = statistics.quantiles(ratios[name], n=4)
        best = min(times[name]) / min(times["raw socket"])
        print(
            f"  {name:34s} {statistics.median(times[name]) * 1e6:8.1f} us  "
            f"{median:6.2f}x raw (quartiles {low:.2f}-{high:.2f}; best batches {best:.2f}x; "
            f"{len(ratios[name])} batches of {batch_calls[name]} calls)"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=40, help="interleaved batches per round (default 40)")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=20, help="calls per batch (default 20)")
    args = parser.parse_args(argv)
    bench = VirtualBench(seed=1, serial_link="tcp")
    endpoints = bench.start()
    try:
        power, rs485 = endpoints["power"], endpoints["rs485"]
        print("WT310 reading (:NUM:NORM:VAL?) over loopback TCP:")
        measure(wt310_stacks((power.address, power.port or 0)), args.batches, args.rounds, args.calls)
        print("VESC GET_VALUES reading (serial over loopback TCP):")
        motor = endpoints["motor"]
        measure(vesc_stacks((motor.address, motor.port or 0)), args.batches, args.rounds, args.calls)
        print("LabJack AIN0-AIN2 reading over Modbus TCP:")
        daq = endpoints["daq"]
        measure(labjack_stacks((daq.address, daq.port or 0)), args.batches, args.rounds, args.calls)
        print("Keller pressure reading over Modbus RTU (serial over loopback TCP):")
        measure(keller_stacks((rs485.address, rs485.port or 0)), args.batches, args.rounds, args.calls)
    finally:
        bench.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
