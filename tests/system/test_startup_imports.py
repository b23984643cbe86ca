"""Start-up stays light: commands import the heavy libraries only where they use them.

Not a timing test (benchmarks/bench_startup.py measures the times): it checks, in a fresh interpreter,
which libraries a command has imported. ``hil procedures`` lists every procedure, built-in and
installed, and needs none of numpy, scipy, pandas, CoolProp, matplotlib, pint, pymodbus, pyvisa, the
web console's server or the terminal view's rich. Every procedure module is loaded by every
``hil procedures`` and ``hil run``, so none may import them at module level: the sizing model (scipy,
3 s) and the grade table (numpy) each crept in that way.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from hil.core.clock import WallClock
from hil.run import session

HEAVY = (
    "numpy",
    "scipy",
    "pandas",
    "CoolProp",
    "matplotlib",
    "pint",
    "pymodbus",
    "pyvisa",
    "uvicorn",
    "rich",
)


def imported_after(code: str) -> set[str]:
    """The heavy top-level packages a fresh interpreter has imported after running ``code``."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout.splitlines()[-1])) & set(HEAVY)


def test_listing_procedures_imports_none_of_the_heavy_libraries() -> None:
    code = "import io\nfrom hil.cli import main\nassert main(['procedures'], out=io.StringIO()) == 0"
    assert imported_after(code) == set()


def test_loading_every_built_in_procedure_imports_none_of_the_heavy_libraries() -> None:
    code = "from hil.run.procedure_catalogue import BUILTIN, load\nfor name in BUILTIN:\n    load(name)"
    assert imported_after(code) == set()


STEPS_PROBE = """
import json, sys, tempfile
import hil.run.runner as runner_module
from hil.cli import main
from hil.run.session import load_libraries_of_the_tick_thread

load_libraries_of_the_tick_thread()
names, late = [set(sys.modules)], []
tick = runner_module.Runner.tick
def watched_tick(self, *args, **kwargs):
    if len(sys.modules) != len(names[-1]):
        if len(names) > 1:  # whatever came before the first tick is fine
            late.extend(sorted({{m.split(".")[0] for m in set(sys.modules) - names[-1]}} & set({heavy!r})))
        names.append(set(sys.modules))
    return tick(self, *args, **kwargs)
runner_module.Runner.tick = watched_tick
with tempfile.TemporaryDirectory() as out:
    status = main(["run", "npsh3", "--bench", "sim", "--out", out, "--quiet", *{short_npsh3!r}])
print(json.dumps({{"late": late, "status": status}}))
"""

SHORT_NPSH3 = [
    "-p", "flows_m3_s=0.0004", "-p", "reference_points=1", "-p", "sensitivity_flow_step_fraction=0",
    "-p", "initial_step_pa=20000", "-p", "bracket_step_pa=4000",
]  # fmt: skip
"""One flow, coarse steps: 1,117 ticks, with operating points (water properties: CoolProp) and the
NPSH3's uncertainty (a Student-t factor: scipy.special) computed between two ticks. Without
``load_libraries_of_the_tick_thread()`` first, CoolProp and scipy are imported between two ticks."""


def test_once_a_real_bench_has_loaded_its_libraries_a_run_imports_nothing_heavy_between_ticks() -> None:
    # On a real bench a library loaded between two ticks holds the GIL for seconds: no reading, no
    # interlock, no keep-alive to the drive (hil.run.session.load_libraries_of_the_tick_thread). The
    # run here is on the sim bench, whose steps are the same; its session loads nothing up front.
    code = STEPS_PROBE.format(heavy=HEAVY, short_npsh3=SHORT_NPSH3)
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.splitlines()[-1])
    assert report == {"late": [], "status": 0}


def test_a_run_on_a_wall_clock_loads_them_as_it_opens_and_a_run_on_the_virtual_bench_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(session, "load_libraries_of_the_tick_thread", lambda: calls.append("loaded"))
    with session.open_session("sim", seed=None) as virtual:
        with session.open_run(virtual, "virtual", {}, tmp_path / "virtual"):
            assert calls == []
        # The same instruments on a wall clock, as a real bench's session has it.
        real = dataclasses.replace(virtual, clock=WallClock())
        with session.open_run(real, "real", {}, tmp_path / "real") as run:
            assert calls == ["loaded"]
            assert run.runner.clock is real.clock
