"""The one executor seam: everything that fans out takes a ``concurrent.futures.Executor``.

Campaigns, fleet re-analysis and the Monte Carlo of the sizing hand pure functions of their inputs
(and seed) to whatever executor they are given, so the same code runs:

- in this process, one item after another (:class:`SynchronousExecutor`: tests, debugging, and
  ``--workers 0``);
- on a local process pool (``concurrent.futures.ProcessPoolExecutor``, best with
  :func:`preloaded_fork_context` as its ``mp_context``);
- on Dask (:func:`open_executor`): a local cluster of worker processes on this machine, or an existing
  cluster reached through its scheduler's address. Dask's ``ClientExecutor`` is a
  ``concurrent.futures.Executor`` whose futures are ordinary ``concurrent.futures.Future`` objects,
  so ``concurrent.futures.as_completed`` works the same on all three.

Why Dask for the scale-out: its scheduler already does what a campaign needs beyond a pool, and
better than anything written here would: a worker process that dies has the tasks it held
rescheduled on the others (up to ``distributed.scheduler.allowed-failures`` deaths per task), a
cluster grows or shrinks while a campaign runs, and the same client code reaches a laptop or a
cluster of hundreds of nodes.

A local cluster binds its scheduler and workers to loopback (127.0.0.1) only, runs one single-thread
worker process per core (a virtual-bench run is CPU-bound Python: threads would only contend for the
GIL) and has no dashboard. Work is submitted with ``pure=False``: a resubmitted run is run again,
never served from the scheduler's memory of an earlier one.

Its worker processes are forked from one :mod:`multiprocessing` fork server that has imported what the
harness's units of work need (``WORKER_PRELOAD``), instead of each being a fresh interpreter that
imports it all again: measured on the development machine, a fresh worker spends about 5 s of CPU on
imports before its first run (CoolProp's fluid library 3.0 s, the sizing model 1.0 s, Dask 0.6 s, the
run stack 0.5 s), a forked one none; a worker restarted after a death starts as quickly. The modules
are named, not imported, here: the fork server imports them.

Imports only :mod:`hil.core.errors` from ``hil``; Dask is imported on first use, so commands that never fan
out never pay for it.
"""

from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.forkserver
import os
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future
from contextlib import contextmanager
from typing import Any, TypeVar

from hil.core.errors import ConfigError

T = TypeVar("T")
LOOPBACK = "127.0.0.1"
WORKER_PRELOAD = (
    "distributed",
    "CoolProp.CoolProp",  # loads its whole fluid library: the water of every run's operating points
    "hil.fleet.execution",
    "hil.bench.config",
    "hil.results.acceptance_settings",
    "hil.results.derive",
    "hil.run.procedure_catalogue",
    "hil.run.session",
    "hil.run.virtual",
    "hil.fleet.reanalysis",
    "hil.model.sizing.monte_carlo",
)
"""What the fork server of a local cluster imports once for all its workers: Dask's worker, a
campaign's run (:func:`hil.fleet.execution.execute_run` and what it imports when it runs), fleet
re-analysis, the sizing Monte Carlo."""


class SynchronousExecutor(Executor):
    """Runs each submitted call at once, in this process, and returns its already-finished future.

    The reference executor: a campaign or re-analysis run through it gives, item for item, what any
    parallel executor must give.
    """

    def __init__(self) -> None:
        self._shutdown = False

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> Future[T]:
        if self._shutdown:
            raise RuntimeError("cannot submit to an executor that has been shut down")
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as exc:  # noqa: BLE001 - the future carries it to whoever asks for the result
            future.set_exception(exc)
        # KeyboardInterrupt and SystemExit are not a run's result: they leave at once, so a Ctrl-C
        # ends the campaign there instead of waiting in a future while every later run is started.
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._shutdown = True


def default_workers() -> int:
    """One worker per core of this machine."""
    return max(1, os.cpu_count() or 1)


def check_scheduler_address(address: str) -> str:
    """``tcp://HOST:PORT`` (``HOST:PORT`` is read as TCP), or a ConfigError naming the option."""
    text = address if "://" in address else f"tcp://{address}"
    scheme, _, rest = text.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("tcp", "tls") or not host or not port.isdigit():
        raise ConfigError("command line", "--scheduler", f"expected tcp://HOST:PORT, got {address!r}")
    return text


@contextmanager
def open_executor(scheduler: str | None = None, workers: int | None = None) -> Iterator[Executor]:
    """The executor a command fans out on; closed (cluster stopped) when the block ends.

    ``scheduler`` (``tcp://HOST:PORT``): an existing Dask cluster; its workers must see the same
    files (the campaign directory, the bench and pump files) at the same paths. Otherwise ``workers``
    worker processes of a Dask cluster started on this machine, on loopback (default: one per core);
    ``workers=0`` runs everything in this process, one item after another.
    """
    if scheduler is not None:
        address = check_scheduler_address(scheduler)
        from distributed import Client

        try:
            client = Client(address, timeout="10s")
        except OSError as exc:
            raise ConfigError(
                "command line", "--scheduler", f"no Dask scheduler answers at {address}: {exc}"
            ) from exc
        try:
            yield client.get_executor(pure=False)
        finally:
            client.close()
        return
    count = default_workers() if workers is None else workers
    if count < 0:
        raise ConfigError("command line", "--workers", f"expected 0 or more workers, got {count}")
    if count == 0:
        yield SynchronousExecutor()
        return
    with local_cluster(count) as client:
        yield client.get_executor(pure=False)


@contextmanager
def local_cluster(workers: int) -> Iterator[Any]:
    """A Dask client on a cluster of ``workers`` single-thread worker processes on loopback, forked
    from the preloaded fork server (see the module docstring)."""
    import dask
    from distributed import Client, LocalCluster

    context = preloaded_fork_context()
    with dask.config.set({"distributed.worker.multiprocessing-method": context.get_start_method()}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host=LOOPBACK,
            scheduler_port=0,
            dashboard_address=None,
            # a worker slow to exit at shutdown is killed with a warning: noise, not news, on a busy machine
            silence_logs=logging.ERROR,
            # no dashboard; the scheduler's own HTTP endpoint (health, metrics) on a free loopback port
            scheduler_kwargs={"dashboard": False, "dashboard_address": f"{LOOPBACK}:0"},
        )
        try:
            client = Client(cluster)
            try:
                yield client  # a worker restarted meanwhile is forked from the same server
            finally:
                client.close()
        finally:
            cluster.close()


def preloaded_fork_context() -> multiprocessing.context.BaseContext:
    """The fork-server context, its server started with ``WORKER_PRELOAD`` imported unless it runs
    already (Dask would otherwise start it with a preload of its own, without the harness). A local
    cluster's workers are forked from it; so are a process pool's given it as its ``mp_context``
    (``ProcessPoolExecutor(n, mp_context=preloaded_fork_context())``): fresh processes that inherit
    nothing from this one but the imports. Where the OS has no fork server (Windows), the spawn
    context: the same fresh processes, each importing what it needs."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_PRELOAD))
    multiprocessing.forkserver.ensure_running()
    return context
