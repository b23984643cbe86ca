"""Project-wide pytest options."""

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest

from tests import fuzzing, summaries

# The hil pytest plugin (fixtures hil_bench and hil_run, --bench, the hardware marker). An installed
# hil registers it through its pytest11 entry point under this same name, so this line then does
# nothing; it makes the project's tests work from a checkout whose install predates the entry point.
pytest_plugins = ["hil.pytest_plugin"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--fuzz-scale",
        type=int,
        default=1,
        help="multiply the number of cases every protocol-parser fuzz test draws (long run on demand)",
    )


WORKERS = 2
"""pytest-xdist workers the suite runs on unless told otherwise: one per core of the development
machine. Measured back to back on it (benchmarks/bench_suite.py, load below 1.5 from other work):
two workers 281 s wall and 520 s of CPU, three 286 s and 549 s (each worker collects the suite and
loads CoolProp again; the suite keeps two cores 1.85-1.92 busy either way)."""


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Run on ``WORKERS`` pytest-xdist workers by default; ``-n N`` chooses, ``-n 0`` or
    ``-p no:xdist`` runs everything in this one process (for a debugger, ``--pdb``)."""
    option = config.option
    if (
        config.pluginmanager.hasplugin("xdist")
        and getattr(option, "numprocesses", 0) is None
        and not os.environ.get("PYTEST_XDIST_WORKER")
        and not hasattr(config, "workerinput")
        and not option.usepdb
    ):
        option.numprocesses = WORKERS


LONGEST_FIRST = (
    "tests/system/test_kill.py::test_kill_minus_9",
    "tests/unit/test_config_fuzz.py",
    "tests/system/test_console_browser.py",
    "tests/system/test_full_disk.py",
    "tests/system/test_run_corruption.py",
    "tests/unit/test_sizing_optimise.py",
    "tests/system/test_requirements_loop.py",
    "tests/system/test_campaign.py",
    "tests/system/test_sim_odrive.py",
    "tests/system/test_npsh3.py",
    "tests/system/test_mission_requirements.py",
    "tests/system/test_pytest_plugin.py",
    "tests/system/test_mission_profile.py",
    "tests/unit/test_sizing_command.py",
    "tests/system/test_fault_matrix.py",
)
"""Tests handed to the workers first, longest first (measured): a long test that starts last makes
every other worker wait for it at the end. Only the order changes, never what runs."""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Longest tests first."""

    def rank(item: pytest.Item) -> int:
        return next(
            (i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)),
            len(LONGEST_FIRST),
        )

    items.sort(key=rank)  # stable: the rest keep their order


SHARED_FIXTURE_MODULES = frozenset(
    {
        "tests/system/test_acceptance.py",
        "tests/system/test_campaign.py",
        "tests/system/test_full_disk.py",
        "tests/system/test_npsh3.py",
        "tests/system/test_performance_curve.py",
        "tests/system/test_replay.py",
        "tests/system/test_requirements_loop.py",
        "tests/system/test_sim_odrive.py",
        "tests/system/test_verdicts.py",
        "tests/unit/test_mission_inputs.py",
        "tests/unit/test_report.py",
        "tests/unit/test_sizing_command.py",
    }
)
SHARED_FIXTURE_GROUPS = {
    "tests/unit/test_mission_inputs.py": "sample-lander-optimisation",
    "tests/unit/test_sizing_command.py": "sample-lander-optimisation",
    "tests/system/test_campaign.py": "fork-server",
    "tests/system/test_full_disk.py": "fork-server",
    "tests/system/test_kill.py": "fork-server",
    "tests/system/test_pytest_plugin.py": "fork-server",
    "tests/unit/test_fleet_reanalysis.py": "fork-server",
}
"""Modules sharing one session fixture go to the same worker, under one group name: the sample
lander's optimisation (:func:`sample_lander_optimisation`, 5-7 s of CPU) is made once, not once per
module; so is a worker's fork server, which imports hil and loads CoolProp (about 5 s of CPU) for
the processes these modules start (``tests/preloaded_harness.py``, a local Dask cluster's workers,
process pools)."""
"""Modules whose tests share a costly module-scoped fixture (a run, an optimisation, a Dask cluster):
all of a module's tests go to one worker, so that the fixture is computed once. Not the corruption
matrix's 213 cases: their small run costs less computed once per worker than the cases kept on one."""


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """pytest-xdist, on the controller: hand out tests one at a time wherever a worker is free, in
    collection order, except the modules of SHARED_FIXTURE_MODULES, which go whole to one worker.
    (xdist's own ``--dist loadgroup`` does this with markers, but does not group under pytest 9.)"""
    if config.getvalue("dist") != "load":
        return None  # a distribution asked for on the command line (--dist loadfile, ...)
    from xdist.scheduler import LoadScopeScheduling

    class SharedFixtureScheduling(LoadScopeScheduling):  # type: ignore[misc]
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::", 1)[0]
            if module in SHARED_FIXTURE_GROUPS:
                return SHARED_FIXTURE_GROUPS[module]
            return module if module in SHARED_FIXTURE_MODULES else nodeid

    return SharedFixtureScheduling(config, log)


def _write_bytecode_caches() -> None:
    """The suite starts dozens of Python processes (its workers, ``hil run`` and campaign workers as
    subprocesses). Where the environment forbids bytecode caches (``PYTHONDONTWRITEBYTECODE``), every
    one of them compiles hil from source again (2-3 s of CPU each, measured: importing the run stack
    takes 3.5 s of CPU without caches, 0.9 s with them) and every worker rewrites the assertions of
    every test module again (8 s of CPU a worker). The suite writes the caches (``__pycache__``, which
    git ignores) for itself and the processes it starts."""
    if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        sys.dont_write_bytecode = False


def pytest_configure(config: pytest.Config) -> None:
    _write_bytecode_caches()
    fuzzing.scale = max(1, int(config.getoption("--fuzz-scale")))


def pytest_unconfigure(config: pytest.Config) -> None:
    from tests.preloaded_harness import stop_fork_server

    stop_fork_server()  # reaped here, its CPU and its children's count in this process's


def _made_by_the_harness(metadata: Path) -> bool:
    """A run directory written by a real run (not a unit test's hand-made one, not a test's tampered
    copy, not a replay's output)."""
    if metadata.parent.name.startswith(("tampered-", "replay-")):
        return False
    try:
        return "bench_file" in json.loads(metadata.read_text())
    except ValueError:
        return False


@pytest.fixture(scope="session")
def sample_lander_optimisation(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """``hil optimize`` of the shipped sample lander with the built-in pump model, made once a
    session (a worker): its exit status, its summary text and the JSON report it wrote. The tests of
    the command and of the mission inputs read the same report (SHARED_FIXTURE_GROUPS)."""
    import io
    from importlib.resources import files

    from hil.model.sizing.command import optimize_command

    json_path = tmp_path_factory.mktemp("optimize") / "report.json"
    out = io.StringIO()
    status = optimize_command(
        Path(str(files("hil") / "data" / "lander_mission.toml")), None, json_path, False, out
    )
    return status, out.getvalue(), json_path


@pytest.fixture(scope="session", autouse=True)
def every_run_replays_exactly(  # type: ignore[no-untyped-def]
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
):
    """After the whole session, `hil replay` every run directory any test produced: each must
    reproduce its recorded results exactly (design.md: re-analysing a log gives what the live run gave).
    With pytest-xdist each worker replays the runs of the tests it ran (its own base temporary
    directory); the controller prints the total."""
    yield
    from hil.results.replay import replay_run

    base = tmp_path_factory.getbasetemp()
    runs = [m.parent for m in base.rglob("metadata.json") if _made_by_the_harness(m)]
    failures = {}
    for run in runs:
        try:
            outcome = replay_run(run)
        except Exception as exc:  # noqa: BLE001 - report every run that fails, not just the first
            failures[str(run)] = repr(exc)
            continue
        if not outcome.equal:
            failures[str(run)] = "; ".join(str(d) for d in outcome.differences[:3])
    assert not failures, f"{len(failures)} of {len(runs)} runs do not replay exactly: {failures}"
    if runs:
        summaries.record(request.config, "replay", runs=len(runs))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: object) -> None:
    """pytest-xdist, on the controller: a worker finished; keep what its tests recorded."""
    summaries.receive_from_worker(node.config, getattr(node, "workeroutput", {}))


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    base = config._tmp_path_factory.getbasetemp()  # the controller's: the workers' lie below it
    for line in summaries.lines(config, base):
        terminalreporter.write_line(line)
