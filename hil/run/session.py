"""A session on a bench: the clock, the virtual bench if the file asks for one, the connected bench;
and the whole life of one procedure run, which always ends with the hardware in its safe state.

For a bench file with a ``[virtual]`` table the virtual bench is started in this process (or, with
``attach``, found in another process started by ``hil sim serve --clock lockstep``) and serves its
instruments on ptys and loopback sockets; the drivers reach it only through those, exactly as
they would reach real hardware. Only the clock is shared: the virtual clock steps the plant in
lockstep, so a run is deterministic for a seed and runs as fast as the transports allow.

On a real bench (a wall clock) the libraries a run would otherwise load at its first operating point
are loaded when the run opens, before its first tick: :func:`load_libraries_of_the_tick_thread`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from hil import __version__
from hil.analysis.uncertainty import student_t_factor
from hil.bench.config import BenchConfig, load_bench
from hil.bench.transport import LineTransport, TcpTransport
from hil.core.clock import Clock, VirtualClock, WallClock
from hil.core.errors import ConfigError, HilError, InterlockTrip, ProtocolError, TransportError
from hil.core.fluids import water_state
from hil.run.assembly import Bench, SimEndpoint, connect_bench
from hil.run.channel_readings import check_channel_readings
from hil.run.procedure_api import ParameterValue, Point, ProcedureSpec
from hil.run.procedure_catalogue import load as load_with_source
from hil.run.runner import Runner
from hil.run.stop import StopRequests
from hil.run.stream import RunStream
from hil.store.run_directory import RUN_FORMAT, new_run_directory
from hil.store.run_writer import RunWriter


@dataclass
class Session:
    config: BenchConfig
    bench: Bench
    clock: Clock
    seed: int | None
    faults: list[str] = field(default_factory=list)
    """Faults injected into the virtual bench (``KIND:TARGET@SECONDS[+DURATION]``), for the metadata."""


class LockstepLink:
    """Drives the bench time of a virtual bench served by another process (``hil sim serve
    --clock lockstep``) through its control endpoint, and asks it where its instruments are."""

    def __init__(self, address: str) -> None:
        host, _, port = address.removeprefix("tcp://").rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError("command line", "--attach", f"expected HOST:PORT, got {address!r}")
        self._link = LineTransport(TcpTransport(host, int(port), timeout_s=10.0))

    def endpoints(self) -> dict[str, SimEndpoint]:
        listing = json.loads(self._link.query("ENDPOINTS?"))
        return {name: SimEndpoint(e["transport"], e["address"], e.get("port")) for name, e in listing.items()}

    def seed(self) -> int:
        return int(self._link.query("SEED?"))

    def advance_to(self, time_s: float) -> None:
        try:
            reply = self._link.query(f"ADVANCE {time_s!r}")
        except TransportError as exc:
            raise TransportError(f"lockstep control: ADVANCE {time_s!r} got no answer: {exc}") from exc
        if not reply.startswith("OK"):
            raise ProtocolError(f"lockstep control: ADVANCE {time_s!r} answered {reply!r}")

    def close(self) -> None:
        self._link.close()


def load_libraries_of_the_tick_thread() -> None:
    """Load what a procedure's steps import on first use, in the thread that reads the instruments.

    A run imports its heavy libraries where it first uses them, so that ``hil run`` reaches its first
    tick within a second. Two of those first uses fall in the middle of a run, between two ticks: the
    first operating point's water properties load CoolProp's fluid library (3-5 s on the development
    machine), and the first Student-t factor loads scipy.special (0.2-0.4 s, in ``npsh3``). Both
    hold the GIL throughout, so no other thread could read or command the bench meanwhile. On a real
    bench that is a gap of seconds in the samples, in the interlocks and in the drive's keep-alive,
    which stops the motor when its command timeout (1 s for the VESC) runs out. So a run on a wall
    clock loads them as it opens (:func:`open_run`), before its first tick and before anything is
    commanded; commands that only check, read or set the bench do not need them. A virtual bench's
    time stands still while its harness is busy, so there the gap costs nothing and the libraries
    stay loaded on first use, keeping the first tick within a second.
    (Measured by timing the gaps between ticks of every built-in procedure on the sim bench; the
    other gaps were under 0.1 s. ``tests/system/test_startup_imports.py`` checks that after this a
    run's steps import none of the heavy libraries.)
    """
    water_state(20.0)
    student_t_factor(2)


@contextmanager
def open_session(
    bench: BenchConfig | str,
    seed: int | None,
    attach: str | None = None,
    faults: Sequence[str] = (),
    plant: Any = None,
) -> Iterator[Session]:
    """Connect to a bench; start its virtual bench in-process, or attach to a served one.

    ``bench`` is the parsed bench file (a run parses it once and passes it down), or its name or path.

    ``faults`` (``KIND[:TARGET]@SECONDS[+DURATION]``, see :mod:`simulators.faults`) are injected into
    the in-process virtual bench besides those of the bench file's ``[virtual] faults``; they are
    refused (ConfigError) for a real bench and for an attached one, whose faults are its server's.
    ``plant`` stands in for the virtual bench's physics (a replay bench, see :mod:`hil.results.replay`).
    """
    config = bench if isinstance(bench, BenchConfig) else load_bench(bench)
    check_channel_readings(config)  # before the virtual bench starts or anything is opened
    virtual = None
    cpus_before: set[int] | None = None
    link = None
    endpoints: dict[str, SimEndpoint] = {}
    clock: Clock
    injected: list[str] = []
    if faults and attach is not None:
        raise ConfigError(
            "command line",
            "--fault",
            "an attached virtual bench injects its own faults: give them "
            "to 'hil sim serve --fault' or its bench file's [virtual] faults",
        )
    if faults and config.virtual is None:
        raise ConfigError(
            "command line",
            "--fault",
            f"fault injection needs a virtual bench; {config.source} has no [virtual] table",
        )
    if attach is not None:
        link = LockstepLink(attach)
        endpoints, seed = link.endpoints(), link.seed()
        virtual_clock = VirtualClock()
        virtual_clock.add_listener(link.advance_to)
        clock = virtual_clock
    elif config.virtual is not None:
        from hil.run.virtual import build_virtual_bench, fault_specs, pin_to_one_cpu

        specs = fault_specs(config, faults)
        if plant is not None:
            specs = []  # a replayed log already holds whatever the faults did
        injected = [str(spec) for spec in specs]
        seed = config.virtual.seed if seed is None else seed
        virtual = build_virtual_bench(config, seed=seed, faults=specs, plant=plant)
        # The harness thread and the server thread (started next, inheriting it) share one CPU for
        # the session: see hil.run.virtual.pin_to_one_cpu. Given back when the session closes.
        cpus_before = pin_to_one_cpu()
        # The server vouches for silence on its TCP links, so the virtual bench's timeouts cost no
        # wall time (hil.bench.transport.ReplyWitness); an attached bench's endpoints have no witness.
        endpoints = {
            name: SimEndpoint(e.transport, e.address, e.port, virtual.server)
            for name, e in virtual.start().items()
        }
        virtual_clock = VirtualClock()
        virtual_clock.add_listener(virtual.advance_to)
        clock = virtual_clock
    else:
        seed = None
        clock = WallClock()
    try:
        connected = connect_bench(config, endpoints)
        try:
            yield Session(config, connected, clock, seed, injected)
        finally:
            connected.close()
    finally:
        if virtual is not None:
            virtual.stop()
            from hil.run.virtual import unpin

            unpin(cpus_before)
            for error in virtual.emulator_errors():
                # A bug in the simulators, which the drivers saw only as a silent or closed link.
                print(f"hil: virtual bench: an emulator failed: {error}", file=sys.stderr)
        if link is not None:
            link.close()


@dataclass(frozen=True)
class RunResult:
    """How a run ended, and the points it recorded (derived results: :mod:`hil.results.derive`)."""

    directory: Path
    status: str
    reason: str
    points: list[Point]
    safe_state_problems: dict[str, str] = field(default_factory=dict)
    """Instruments whose final safe state could not be commanded or confirmed, and why."""
    storage_error: str = ""
    """The write the disk refused (the run then stopped safely), else empty."""


@dataclass
class OpenRun:
    """A run in progress in its own directory (:func:`open_run`); status and reason once it closed."""

    directory: Path
    runner: Runner
    status: str = "running"
    reason: str = ""
    storage_error: str = ""


@contextmanager
def open_run(
    session: Session,
    name: str,
    parameters: Mapping[str, Any],
    out_dir: Path,
    progress: Callable[[str], None] | None = None,
    metadata: Mapping[str, Any] | None = None,
    stream: RunStream | None = None,
    stop: StopRequests | None = None,
    stages: Callable[[str], None] | None = None,
    procedure_file: bytes | None = None,
) -> Iterator[OpenRun]:
    """A runner on a connected bench, writing a fresh run directory under ``out_dir``.

    Whatever happens inside (a trip, an error, Ctrl-C), on the way out every actuator is commanded
    safe, the points are written and the run directory is closed with its status: ``completed``,
    ``aborted`` (a trip or an operator stop; the spin-down is logged) or ``error``. The derived
    results are not made here: the caller derives them from the closed directory
    (:func:`hil.results.derive.derive_run`), as for any run.

    ``stop`` holds the operator's stop requests (:mod:`hil.run.stop`): from the moment the runner
    exists a request is its safe stop, and once the procedure has ended none can interrupt the safe
    state or the close. Without one, SIGINT and SIGTERM are handled for the life of the run.
    ``stages`` is told when the run starts and when it closes (the operator's landmarks).
    ``procedure_file`` (the bytes of a procedure given as a file) is kept in the run directory with
    its SHA-256.
    """
    if isinstance(session.clock, WallClock):
        load_libraries_of_the_tick_thread()  # before the first tick: see its docstring
    owned = stop is None
    requests = stop if stop is not None else StopRequests()
    handlers: AbstractContextManager[Any] = requests.installed() if owned else nullcontext()
    with handlers:
        with _run_in_directory(
            session, name, parameters, out_dir, progress, metadata, stream, requests, stages, procedure_file
        ) as run:
            yield run


@contextmanager
def _run_in_directory(
    session: Session,
    name: str,
    parameters: Mapping[str, Any],
    out_dir: Path,
    progress: Callable[[str], None] | None,
    metadata: Mapping[str, Any] | None,
    stream: RunStream | None,
    stop: StopRequests,
    stages: Callable[[str], None] | None,
    procedure_file: bytes | None = None,
) -> Iterator[OpenRun]:
    show = stages or (lambda message: None)
    channels = [c for inst in session.config.instruments.values() for c in inst.channels]
    directory = new_run_directory(out_dir, name)
    writer = RunWriter(
        directory,
        channels,
        {
            "format": RUN_FORMAT,
            "procedure": name,
            "parameters": dict(parameters),
            "bench_name": session.config.name,
            "bench_file": session.config.source,
            "virtual": session.config.virtual is not None,
            "seed": session.seed,
            "faults": session.faults,
            "instruments": session.bench.identities,
            "accuracy": session.config.channel_accuracy(),
            "software": {"hil": __version__},
            "start_utc": datetime.now(UTC).isoformat(),
            "tick_s": session.config.tick_s,
            **dict(metadata or {}),
        },
        session.config.text,
        procedure_file,
    )
    if stream is not None:  # a live view's feed (hil.run.stream): never a participant
        stream.start(channels, {**writer.metadata, "directory": str(directory)})
    runner = Runner(session.bench, session.clock, writer, progress, stream)
    run = OpenRun(directory, runner)
    stop.attach(runner)
    show(f"run started: {directory}")
    status, reason = "error", ""
    try:
        yield run
        trip = runner.trip
        if trip is not None:  # tripped where nobody caught it (a test that went on regardless)
            status, reason = "aborted", trip.reason
            runner.spin_down()
        else:
            status = "completed"
    except InterlockTrip as trip_raised:
        status, reason = "aborted", trip_raised.reason
        runner.spin_down()
    except HilError as exc:
        status, reason = "error", str(exc)
        runner.event("error", error=reason)
    finally:
        stop.run_over()  # a Ctrl-C from now on must not interrupt the safe state or the close
        show(f"closing the run ({status})")
        runner.safe_all()
        writer.write_points(runner.points)
        writer.close(status, reason)
        run.status, run.reason = status, reason
        run.storage_error = str(writer.failure or "")
        if stream is not None:
            stream.publish("end", status=status, reason=reason)


def run_procedure(
    procedure: str | ProcedureSpec[Any],
    config: BenchConfig,
    values: Mapping[str, ParameterValue],
    out_dir: Path,
    seed: int | None = None,
    progress: Callable[[str], None] | None = None,
    attach: str | None = None,
    metadata: Mapping[str, Any] | None = None,
    faults: Sequence[str] = (),
    plant: Any = None,
    stream: RunStream | None = None,
    stop: StopRequests | None = None,
    stages: Callable[[str], None] | None = None,
    procedure_file: bytes | None = None,
) -> RunResult:
    """Run one procedure end to end; the bench always ends safe and the run directory closed.

    ``procedure`` is a name (built-in or installed), the path of a procedure file, or a loaded
    declaration. ``config`` is the bench file, parsed once by the caller; ``values`` the procedure's
    parameter values (checked here against the procedure's ranges and the bench before anything is
    opened or moved). ``metadata`` (judging settings, operator and witness notes) is recorded as given.
    ``faults`` are injected into the virtual bench (see :func:`open_session`) and listed in the
    metadata. ``plant`` replaces the virtual bench's physics (the replay bench,
    :func:`hil.results.replay.replay_through_bench`). The run's derived results are not made here:
    the caller derives them from the closed run directory (:func:`hil.results.derive.derive_run`).
    ``stream`` feeds live viewers (:mod:`hil.run.stream`); it never changes what the run records.

    ``stop`` holds the operator's stop requests (:mod:`hil.run.stop`); the command line installs its
    handlers before anything else so that a Ctrl-C is never lost: one received before the run starts
    ends the call with OperatorStop, nothing moved and no run directory. Without one, SIGINT and
    SIGTERM are handled for the duration of this call. ``stages`` is told connecting / run started /
    closing. ``procedure_file``: a file procedure's bytes as loaded
    (:attr:`~hil.run.procedure_catalogue.ProcedureSource.content`), kept in the run directory so that
    the replay bench re-runs exactly that code; given a path as ``procedure``, its bytes are kept
    without asking.
    """
    owned = stop is None
    requests = stop if stop is not None else StopRequests()
    handlers: AbstractContextManager[Any] = requests.installed() if owned else nullcontext()
    show = stages or (lambda message: None)
    with handlers:
        if isinstance(procedure, str):
            spec, source = load_with_source(procedure)
            procedure_file = source.content if procedure_file is None else procedure_file
        else:
            spec = procedure
        params = spec.values(values, "procedure parameters")
        spec.check_values(params, config)  # refuse before anything is opened or moved
        check_channel_readings(config)
        requests.check("loading the procedure and the bench file")
        show(f"connecting to bench '{config.name}'")
        with open_session(config, seed, attach, faults, plant) as session:
            requests.check("connecting to the bench")
            with open_run(
                session,
                spec.name,
                params,
                out_dir,
                progress,
                metadata,
                stream,
                requests,
                stages,
                procedure_file,
            ) as run:
                spec.execute(run.runner, params)
            return RunResult(
                run.directory,
                run.status,
                run.reason,
                run.runner.points,
                dict(run.runner.safe_state_problems),
                run.storage_error,
            )
