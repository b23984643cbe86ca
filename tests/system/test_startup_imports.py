"""Start-up stays light: commands import the heavy libraries only where they use them.

Not a timing test (benchmarks/bench_startup.py measures the times): it checks, in a fresh interpreter,
which libraries a command has imported. ``hil procedures`` lists every procedure, built-in and
installed, and needs none of numpy, scipy, pandas, CoolProp, matplotlib, pint, pymodbus, pyvisa, the
web console's server or the terminal view's rich. Every procedure module is loaded by every
``hil procedures`` and ``hil run``, so none may import them at module level: the sizing model (scipy,
3 s) and the grade table (numpy) each crept in that way.
"""

from __future__ import annotations

import json
import subprocess
import sys

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
