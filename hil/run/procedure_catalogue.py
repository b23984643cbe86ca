"""Where procedures come from: the built-in ones, installed packages, and a user's own file.

A procedure is a module with a ``PROCEDURE`` (:class:`hil.run.procedure_api.ProcedureSpec`). Three
places provide them, and all three run exactly alike (same parameter parsing and checks against the
bench limits before anything moves, same runner, same run directory):

* **built-in**: the ``procedures`` package of this project (``performance-curve``, ``npsh3``, ...);
* **installed**: any distribution that declares an entry point in the group ``hil.procedures``,
  named as the procedure is called on the command line, pointing at the module or at the object::

      [project.entry-points."hil.procedures"]
      run-in = "acme_bench_procedures.run_in"          # the module's PROCEDURE
      leak-check = "acme_bench_procedures.leak:LEAK"   # or an object of the module

* **a file**: ``hil run path/to/procedure.py`` loads that file (anything ending in ``.py`` or
  containing a path separator is a path).

A built-in name wins over an installed one of the same name (listed as shadowed, never run by
surprise). Whatever goes wrong while loading a user's procedure (a missing file, a syntax error, an
exception at import, no ``PROCEDURE``) is one :class:`~hil.core.errors.ConfigError` naming the file
or the entry point, never a traceback.

Imports hil's errors only (the procedure modules it loads import what they import).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hil.core.errors import ConfigError

if TYPE_CHECKING:
    from importlib import metadata

ENTRY_POINT_GROUP = "hil.procedures"
BUILTIN = {
    "performance-curve": "procedures.performance_curve",
    "npsh3": "procedures.npsh3",
    "mission-profile": "procedures.mission_profile",
    "startup": "procedures.startup",
    "throttle-steps": "procedures.throttle_steps",
    "endurance": "procedures.endurance",
}


@dataclass(frozen=True)
class ProcedureSource:
    """A procedure's name and where it comes from, before it is loaded."""

    name: str
    origin: str
    """``built-in``, ``installed``, ``file`` or ``shadowed`` (an installed one a built-in hides)."""
    where: str
    """The module, ``distribution version: module:object`` or the file path."""
    content: bytes | None = field(default=None, repr=False, compare=False)
    """A file procedure's bytes exactly as loaded: the run directory keeps a copy, so that
    ``hil replay --through-bench`` re-runs this very procedure however the file changes later."""

    def describe(self) -> str:
        """What a run's metadata records as ``procedure_source``."""
        return f"{self.origin}: {self.where}"


def is_path(name: str) -> bool:
    return name.endswith(".py") or os.sep in name or (os.altsep is not None and os.altsep in name)


def _entry_points() -> list[metadata.EntryPoint]:
    # imported here: a built-in procedure (every `hil run NAME` of one) never needs the installed
    # packages' metadata, whose import (email, zipfile, csv) is a tenth of a second
    from importlib import metadata

    return sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: ep.name)


def _describe(ep: metadata.EntryPoint) -> str:
    dist = ep.dist
    owner = f"{dist.name} {dist.version}: " if dist is not None else ""
    return f"{owner}{ep.value}"


def available() -> list[ProcedureSource]:
    """Every procedure that can be run by name: built-in first, then installed ones by name."""
    found = [ProcedureSource(name, "built-in", module) for name, module in BUILTIN.items()]
    for ep in _entry_points():
        origin = "shadowed" if ep.name in BUILTIN else "installed"
        found.append(ProcedureSource(ep.name, origin, _describe(ep)))
    return found


def load(name_or_path: str) -> tuple[Any, ProcedureSource]:
    """The ``ProcedureSpec`` for a command-line name or a file path, and where it came from."""
    if is_path(name_or_path):
        return _load_file(Path(name_or_path))
    if name_or_path in BUILTIN:
        module = importlib.import_module(BUILTIN[name_or_path])
        return module.PROCEDURE, ProcedureSource(name_or_path, "built-in", BUILTIN[name_or_path])
    for ep in _entry_points():
        if ep.name == name_or_path:
            source = ProcedureSource(ep.name, "installed", _describe(ep))
            where = f"entry point {ENTRY_POINT_GROUP}:{ep.name} ({source.where})"
            try:
                loaded = ep.load()
            except Exception as exc:  # noqa: BLE001 - a user's package: any failure is a clear message
                raise ConfigError(where, "", f"cannot be loaded: {type(exc).__name__}: {exc}") from exc
            return _spec_of(loaded, where), source
    known = ", ".join(source.name for source in available() if source.origin != "shadowed")
    raise ConfigError(
        "command line",
        "PROCEDURE",
        f"unknown procedure {name_or_path!r} (known: {known}; or give the path of a procedure file)",
    )


def _load_file(path: Path) -> tuple[Any, ProcedureSource]:
    where = str(path)
    if not path.is_file():
        raise ConfigError(where, "", "no such procedure file")
    try:
        content = path.read_bytes()
    except OSError as exc:
        raise ConfigError(where, "", f"cannot be read: {exc}") from exc
    module_name = f"hil_user_procedure_{abs(hash(str(path.resolve())))}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ConfigError(where, "", "not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module  # dataclasses and pickling look the module up by name
    try:
        # Executed from the bytes read above (not re-read from the path), so the copy a run keeps
        # is exactly the code that ran.
        exec(compile(content, str(path), "exec"), module.__dict__)  # noqa: S102 - the user's own procedure
    except SyntaxError as exc:
        sys.modules.pop(module_name, None)
        raise ConfigError(where, f"line {exc.lineno}", f"syntax error: {exc.msg}") from exc
    except Exception as exc:  # noqa: BLE001 - a user's file: any failure is a clear message
        sys.modules.pop(module_name, None)
        raise ConfigError(where, "", f"raised {type(exc).__name__} while loading: {exc}") from exc
    procedure = _spec_of(module, where)
    return procedure, ProcedureSource(procedure.name, "file", where, content)


def _spec_of(loaded: Any, where: str) -> Any:
    """A module's ``PROCEDURE``, or the object itself when it already is a procedure declaration."""
    from hil.run.procedure_api import ProcedureSpec

    spec = getattr(loaded, "PROCEDURE", loaded)
    if not isinstance(spec, ProcedureSpec):
        raise ConfigError(
            where, "PROCEDURE", "expected a hil.run.procedure_api.ProcedureSpec named PROCEDURE"
        )
    return spec
