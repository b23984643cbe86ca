"""The pytest plugin: hardware tests of a pump bench written as ordinary pytest tests.

Registered through the ``pytest11`` entry point, so installing hil is enough:

* ``pytest --bench sim`` (the default), ``--bench sim-odrive`` or ``--bench path/to/bench.toml``
  chooses the bench every fixture connects to;
* ``hil_bench``: a connected bench (:class:`hil.run.session.Session`: the bench's instruments and
  roles, its clock), on the virtual bench or on the hardware the file names;
* ``hil_run``: a runner (the :class:`hil.run.procedure_api.ProcedureRunner` procedures get) in a fresh
  run directory, closed when the test ends: safe state, status (``completed``, ``aborted`` after a
  trip, ``error``), derived results. Each test's run directory is kept (under ``--hil-runs DIR``, by
  default the test's ``tmp_path``) and named in the test report;
* ``@pytest.mark.hardware``: the test needs real hardware; it is skipped unless ``--bench`` names a
  bench file without a ``[virtual]`` table.

A test that lets a limit trip fails with the trip's reason; the bench is left safe whatever the test
does, as after ``hil run``.

Imports hil's run side (session, runner) and results (the derive step).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

RUN_DIRECTORY_KEY = pytest.StashKey[Path]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hil", "pump bench (hil)")
    group.addoption(
        "--bench",
        default="sim",
        help="bench for the hil fixtures: sim (default), sim-odrive, or a bench file",
    )
    group.addoption(
        "--hil-runs",
        default=None,
        metavar="DIR",
        help="parent of the run directories the hil_run fixture makes (default: each test's tmp_path)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "hardware: needs a real bench; runs only with --bench naming a bench file without [virtual]",
    )


def _real_bench(config: pytest.Config) -> bool:
    from hil.bench.config import load_bench

    return load_bench(str(config.getoption("--bench"))).virtual is None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    hardware = [item for item in items if item.get_closest_marker("hardware")]
    if hardware and not _real_bench(config):
        skip = pytest.mark.skip(
            reason=f"needs a real bench: --bench {config.getoption('--bench')} is virtual"
        )
        for item in hardware:
            item.add_marker(skip)


@pytest.fixture
def hil_bench(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A connected bench (instruments, roles, clock); every instrument is left safe afterwards."""
    from hil.bench.config import load_bench
    from hil.run.session import open_session

    with open_session(load_bench(str(request.config.getoption("--bench"))), seed=None) as session:
        try:
            yield session
        finally:
            for instrument in session.bench.instruments.values():
                try:
                    instrument.safe_state()
                except Exception:  # noqa: BLE001 - every instrument must be tried
                    pass


@pytest.fixture
def hil_run(request: pytest.FixtureRequest, hil_bench: Any, tmp_path: Path) -> Iterator[Any]:
    """A runner in a fresh run directory named after the test; the directory is kept and reported."""
    from hil.results.derive import derive_run
    from hil.run.session import open_run

    option = request.config.getoption("--hil-runs")
    out_dir = Path(option) if option else tmp_path
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", request.node.name).strip("-") or "test"
    with open_run(hil_bench, name, {}, out_dir) as run:
        request.node.stash[RUN_DIRECTORY_KEY] = run.directory
        yield run.runner
    derive_run(run.directory)
    if run.status != "completed":
        pytest.fail(f"the run ended {run.status}: {run.reason} (run directory {run.directory})")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    report: Any = yield
    directory = item.stash.get(RUN_DIRECTORY_KEY, None)
    if directory is not None and report.when == "call":
        report.user_properties.append(("hil_run_directory", str(directory)))
        report.sections.append(("hil run directory", str(directory)))
    return report


def pytest_terminal_summary(terminalreporter: Any) -> None:
    directories = [
        value
        for report in terminalreporter.getreports("passed") + terminalreporter.getreports("failed")
        for key, value in report.user_properties
        if key == "hil_run_directory"
    ]
    if directories:
        terminalreporter.write_sep("-", "hil run directories")
        for directory in directories:
            terminalreporter.write_line(directory)
