"""``hil procedures``: every procedure that runs by name, with its parameters and measurements.

May import :mod:`hil.cli.common` and, inside the handler, :mod:`hil.run.procedure_catalogue`.
"""

from __future__ import annotations

import argparse
from typing import TextIO

from hil.cli.common import EXIT_OK


def cmd_procedures(args: argparse.Namespace, out: TextIO) -> int:
    """Every procedure that runs by name, where it comes from, its parameters and measurements."""
    from hil.run.procedure_catalogue import available, load

    for source in available():
        if source.origin == "shadowed":
            out.write(f"{source.name}: (installed, {source.where}; shadowed by the built-in one)\n")
            continue
        spec, _ = load(source.name)
        out.write(f"{spec.name}: {spec.summary}\n    from: {source.origin}, {source.where}\n")
        for p in spec.parameters:
            if isinstance(p.default, str):
                default = p.default
            elif isinstance(p.default, list):
                default = ",".join(f"{v:g}" for v in p.default)
            else:
                default = f"{p.default:g}"
            bounds = (
                f" [{p.minimum:g}..{p.maximum:g}]" if p.minimum is not None and p.maximum is not None else ""
            )
            out.write(f"  -p {p.name}={default}{bounds}\n      {p.help}\n")
        for m in getattr(spec, "measurements", ()):
            out.write(f"  measures {m.name} {m.describe_limits()}\n      {m.help}\n")
    out.write("Or run a procedure file: hil run path/to/procedure.py --bench BENCH\n")
    return EXIT_OK


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``hil procedures``."""
    procs = sub.add_parser("procedures", help="list procedures and their parameters")
    procs.set_defaults(handler=cmd_procedures)
