"""``hil`` commands (and ``pytest`` sessions) as processes of their own, forked from a server that has
already imported hil and loaded CoolProp, for tests that start many of them only to signal or kill
them, or that need a process of its own but not a fresh interpreter.

A fresh ``python -m hil.cli run`` spends about 3 s of CPU loading CoolProp's fluid library (at its
first operating point) and more importing the run stack, before and beside the 0.3 s its short run
costs; the kill test starts twenty. Here :mod:`multiprocessing`'s fork server imports all that once
(this module is its preload), and each command is a child forked from it: a process with its own pid,
files and exit status, running the same ``hil.cli.main`` with the same arguments, killed by the same
signals. Only the start-up differs, which is not what such a test is about (``tests/system/test_kill.py``
says what its commands are checked for; the safe stops on SIGTERM and SIGINT still start the real
``python -m hil.cli``).
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

PRELOAD = (
    __name__,
    "CoolProp.CoolProp",  # loads CoolProp's whole fluid library
    "hil.cli",
    # what the handler of ``hil run`` imports when it runs (hil.cli.run)
    "hil.bench.config",
    "hil.console.watch",
    "hil.fleet.catalogue",
    "hil.results.acceptance_settings",
    "hil.results.derive",
    "hil.results.npsh3",
    "hil.results.verdict_text",
    "hil.run.procedure_catalogue",
    "hil.run.session",
    "hil.run.stream",
    "hil.run.virtual",
)
"""Imported once, by the fork server (not by the tests that import this module). A process has one
fork server: a local Dask cluster started first in the same test process starts it with the cluster's
preload (hil.fleet.executor.WORKER_PRELOAD, the run stack and CoolProp too), and the other way round."""

_CONTEXT = multiprocessing.get_context("forkserver")
_CONTEXT.set_forkserver_preload(list(PRELOAD))


def _main(program: str, argv: list[str], stderr_path: str, stdout_path: str, cwd: str | None) -> None:
    """In the forked child: stdout and stderr to files, as a subprocess would have them, then the
    command (``hil ARGV`` or ``pytest ARGV``); its exit status is the process's."""
    with open(stdout_path, "w") as stdout, open(stderr_path, "w") as stderr:
        os.dup2(stdout.fileno(), 1)
        os.dup2(stderr.fileno(), 2)
    if cwd is not None:
        os.chdir(cwd)
    if program == "pytest":
        import pytest

        sys.exit(int(pytest.main(argv)))
    from hil.cli import main

    sys.exit(main(argv))


class HilProcess:
    """One ``hil`` command running in a forked child; the subset of :class:`subprocess.Popen` the
    tests use (``pid``, ``poll``, ``kill``, ``communicate``, ``returncode``)."""

    def __init__(
        self,
        argv: list[str],
        stderr_path: Path,
        *,
        program: str = "hil",
        stdout_path: Path | None = None,
        cwd: Path | None = None,
    ) -> None:
        """``program`` is ``hil`` or ``pytest``; stdout goes to ``stdout_path``, else nowhere."""
        self._stderr_path = stderr_path
        stdout = str(stdout_path) if stdout_path is not None else os.devnull
        where = str(cwd) if cwd is not None else None
        self._process = _CONTEXT.Process(
            target=_main, args=(program, argv, str(stderr_path), stdout, where), daemon=True
        )
        self._process.start()
        assert self._process.pid is not None
        self.pid: int = self._process.pid

    @property
    def returncode(self) -> int | None:
        """The exit status, or minus the number of the signal that ended it (as Popen's)."""
        return self._process.exitcode

    def poll(self) -> int | None:
        return self._process.exitcode

    def kill(self) -> None:
        self._process.kill()

    def communicate(self, timeout: float) -> tuple[None, str]:
        """Wait for the end (``TimeoutError`` past ``timeout``); returns what it wrote to stderr."""
        self._process.join(timeout)
        if self._process.exitcode is None:
            raise TimeoutError(f"hil still running after {timeout} s: pid {self.pid}")
        return None, self._stderr_path.read_text(encoding="utf-8", errors="replace")


def stop_fork_server() -> None:
    """Stop this process's fork server, if one runs, and reap it, so that its CPU time and that of
    every process it forked (these harnesses, a local Dask cluster's workers) count among this
    process's reaped children, where benchmarks/bench_suite.py reads the suite's CPU time. Left
    running, it would end after this process, unseen by that accounting. (multiprocessing has no
    public call for this; ``_stop`` is the one its own tests use.)"""
    from multiprocessing import forkserver

    getattr(forkserver, "_forkserver")._stop()  # noqa: B009 - a private attribute, named as such
