"""The NPSH3 curve an ``npsh3`` run measured, read back for a procedure that judges an NPSH margin.

A mission profile and discharge-pressure steps compare the NPSH available at each instant with the
pump's NPSH3 at that instant's flow and speed (:class:`hil.analysis.mission_profile.Npsh3Table`).
The curve is read once, before the run starts, from the NPSH3 run's ``npsh3.csv``; the procedure
records its numbers in an event, so the derived results and a replay never need the NPSH3 run again.

Imports hil's analysis, store names and core errors only.
"""

from __future__ import annotations

import math
from csv import DictReader
from pathlib import Path

from hil.analysis.mission_profile import Npsh3Table
from hil.core.errors import ConfigError
from hil.store import names

__all__ = ["npsh3_table"]


def npsh3_table(directory: str) -> Npsh3Table | None:
    """The measured NPSH3 curve of an npsh3 run (its ``npsh3.csv``: flow, speed and NPSH3 per row)."""
    if not directory:
        return None
    csv = Path(directory) / names.NPSH3
    if not csv.exists():
        raise ConfigError(
            "command line", "-p npsh3_run", f"{directory} holds no npsh3.csv (not an NPSH3 run?)"
        )
    with csv.open(newline="", encoding="utf-8") as handle:
        rows = list(DictReader(handle))  # quoted fields: a status text holds commas
    try:
        usable = [
            (float(r["flow_m3_s"] or "nan"), float(r["npsh3_m"] or "nan"), float(r["speed_rpm"] or "nan"))
            for r in rows
        ]
    except (KeyError, ValueError) as exc:
        raise ConfigError(str(csv), "npsh3_m", f"unreadable NPSH3 table: {exc}") from exc
    usable = sorted(u for u in usable if all(math.isfinite(v) for v in u))
    if not usable:
        raise ConfigError(str(csv), "npsh3_m", "no NPSH3 value in the run")
    speed = sum(u[2] for u in usable) / len(usable)
    # Each row to the common speed by similarity (flow ~ n, NPSH3 ~ n^2) before tabulating.
    flows = tuple(q * speed / n for q, _, n in usable)
    heads = tuple(h * (speed / n) ** 2 for _, h, n in usable)
    return Npsh3Table(speed, flows, heads)
