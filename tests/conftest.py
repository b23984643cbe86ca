"""Project-wide pytest options."""

import json
from pathlib import Path

import pytest

from tests import fuzzing

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


def pytest_configure(config: pytest.Config) -> None:
    fuzzing.scale = max(1, int(config.getoption("--fuzz-scale")))


def _made_by_the_harness(metadata: Path) -> bool:
    """A run directory written by a real run (not a unit test's hand-made one, not a test's tampered
    copy, not a replay's output)."""
    if metadata.parent.name.startswith(("tampered-", "replay-")):
        return False
    try:
        return "bench_file" in json.loads(metadata.read_text())
    except ValueError:
        return False


@pytest.fixture(scope="session", autouse=True)
def every_run_replays_exactly(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """After the whole session, `hil replay` every run directory any test produced: each must
    reproduce its recorded results exactly (design.md: re-analysing a log gives what the live run gave)."""
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
    _replayed.append(len(runs))


_replayed: list[int] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if _replayed and _replayed[0]:
        terminalreporter.write_line(
            f"replay: all {_replayed[0]} run directories made by the tests replay exactly"
        )
