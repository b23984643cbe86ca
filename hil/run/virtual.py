"""The one place in ``hil`` that imports :mod:`simulators`: where a virtual bench is assembled.

A bench file with a ``[virtual]`` table is served by emulators over one plant model; this module
builds that virtual bench (with the bench file's faults and those given on the command line) and the
replay plant that plays a recorded log back through the emulators. Everything else in ``hil`` reaches
the virtual bench only through its transports, exactly as it reaches real hardware. Simulators are
imported on first use, so commands that never start a virtual bench never pay for them.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError

if TYPE_CHECKING:
    from simulators.virtual_bench import VirtualBench


def fault_specs(config: BenchConfig, fault_texts: Sequence[str]) -> list[Any]:
    """The bench file's ``[virtual] faults`` followed by ``--fault`` texts, parsed and checked."""
    from simulators.faults import parse_fault, parse_faults

    if config.virtual is None:
        raise ConfigError(
            config.source, "virtual", "this bench file has no [virtual] table: nothing to simulate"
        )
    specs = parse_faults(config.virtual.faults, config.source, "virtual.faults")
    specs += [parse_fault(text, "command line", "--fault") for text in fault_texts]
    return specs


def check_plant_table(plant: dict[str, Any], source: str) -> None:
    """Refuse (ConfigError naming ``source`` and the field) a ``[virtual.plant]`` table the plant
    model would not accept, before any run is started with it."""
    from simulators.plant import PlantParameters

    PlantParameters.from_mapping(plant, source)


def build_virtual_bench(
    config: BenchConfig,
    seed: int,
    faults: Sequence[Any] = (),
    plant: Any = None,
    host: str | None = None,
) -> VirtualBench:
    """The virtual bench of a bench file's ``[virtual]`` table (not yet started)."""
    from simulators.virtual_bench import VirtualBench

    assert config.virtual is not None
    options: dict[str, Any] = {} if host is None else {"host": host}
    drive = config.instruments.get(config.roles.get("pump_drive", ""))
    if drive is not None and drive.driver == "vesc":
        # The emulated firmware is set up as the bench file says the real one is: its command timeout
        # (the VESC app setting the driver feeds its watchdog against; 1 s unless the file says).
        timeout = drive.options.data.get("command_timeout_s", 1.0)
        if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout > 0:
            options["drive_timeout_s"] = float(timeout)
    return VirtualBench(
        config.virtual.plant,
        seed=seed,
        source=config.source,
        faults=list(faults),
        plant=plant,
        serial_link=config.virtual.serial_link,
        instruments=config.virtual.instruments,
        serve_inline=config.virtual.serve == "inline",
        **options,
    )


def replay_plant(times: Any, columns: Any, pole_pairs: int) -> Any:
    """A plant that serves a recorded log's values instead of computing physics."""
    from simulators.replay_plant import ReplayPlant

    return ReplayPlant(times, columns, pole_pairs=pole_pairs)


def pin_to_one_cpu() -> set[int] | None:
    """Pin the calling thread, and the threads it starts from now on (the virtual bench's server),
    to one CPU; returns the CPUs it was allowed before, for :func:`unpin` (None where the OS has no
    affinity call, or the thread has one CPU already).

    An exchange served by the emulator server's thread hands the interpreter lock from the harness
    thread to that thread and back. On two CPUs each hand-over wakes a thread on the other CPU (a
    cross-CPU wake-up and a cold cache); on one CPU it is a plain context switch. Measured in a
    prototype on the 2-core development machine, when every exchange went through the thread: the
    default performance curve ran at 136x real time pinned against 65x unpinned, with identical
    points. Since the harness's TCP exchanges are served inline, in its own thread
    (:meth:`simulators.server.EmulatorServer.serve`), the sim bench hands none over and pinning
    only matters to benches with ptys, pyvisa or ``serve = "thread"``; on the sim bench, at a load
    average of 6-7 from other work on the 2 cores, the default performance curve ran at 45x
    unpinned against 37x pinned (medians of 3 interleaved runs, spreads 38-56x and 31-55x
    overlapping): not conclusive, so the session still pins.

    The CPU is the one the thread is running on when it pins (the kernel has already spread busy
    threads over the CPUs), so that several virtual benches at once (a campaign's worker processes,
    a test suite's workers) each keep a CPU of their own. Chosen by process id as before, two of them
    had a one-in-two chance of sharing one CPU while the other idled.
    """
    if not hasattr(os, "sched_setaffinity"):
        return None
    allowed = os.sched_getaffinity(0)
    if len(allowed) < 2:
        return None
    cpu = _current_cpu()
    cpus = sorted(allowed)
    os.sched_setaffinity(0, {cpu if cpu in allowed else cpus[os.getpid() % len(cpus)]})
    return allowed


def _current_cpu() -> int | None:
    """The CPU the calling thread last ran on (Linux: field 39 of ``/proc/thread-self/stat``), or
    None where that file is not there."""
    try:
        with open("/proc/thread-self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        return int(fields[36])  # fields[0] is field 3, the state
    except (OSError, IndexError, ValueError):
        return None


def unpin(cpus_before: set[int] | None) -> None:
    """Give the calling thread back the CPUs :func:`pin_to_one_cpu` took from it."""
    if cpus_before is not None:
        os.sched_setaffinity(0, cpus_before)
