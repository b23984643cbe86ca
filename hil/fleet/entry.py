"""What the catalogue holds about one run directory, read from its files, and where runs are.

:func:`read_entry` is a pure function of the run directory (and the runs directory it sits in, for
its relative path and its campaign): nothing about when or by whom it was read, so indexing the same
directory twice gives the same entry. See :mod:`hil.fleet.catalogue` for the quantities it extracts.

Reads a run through :class:`hil.store.run_log.RunLog`, the one reader of a run directory (without
its bench file: a run is catalogued whether or not the bench file is there).

Imports :mod:`hil.core`, :mod:`hil.store` (the run directory's reader and file names) and the campaign
file's names.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.core.errors import RunLogError
from hil.fleet.campaign import CAMPAIGN_PLAN
from hil.results.acceptance import stated_verdict
from hil.store.run_directory import ACCEPTANCE, EVENTS, METADATA, REPLAY_PREFIX
from hil.store.run_log import RunLog


@dataclass(frozen=True)
class CatalogueEntry:
    """Everything the catalogue holds about one run directory."""

    row: dict[str, Any]
    quantities: dict[str, float]
    npsh3: list[dict[str, Any]]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _finite(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _campaign_of(run_dir: Path, runs_dir: Path) -> str | None:
    for parent in run_dir.parents:
        if parent == runs_dir or runs_dir not in parent.parents:
            break
        if (parent / CAMPAIGN_PLAN).exists():
            return parent.name
    return None


def _best_point(log: RunLog) -> dict[str, float]:
    rows = log.converted_points()
    if rows is None or rows.empty:
        return {}
    needed = ["converted_overall_efficiency", "converted_flow_m3_s", "converted_head_m"]
    if not set(needed) <= set(rows.columns):
        return {}
    rows = rows.dropna(subset=needed)
    if rows.empty:
        return {}
    best = rows.loc[rows["converted_overall_efficiency"].idxmax()]
    found = {
        "bep_flow_m3_s": _finite(best["converted_flow_m3_s"]),
        "bep_head_m": _finite(best["converted_head_m"]),
        "bep_overall_efficiency": _finite(best["converted_overall_efficiency"]),
        "bep_electrical_power_w": _finite(best.get("converted_electrical_power_w")),
    }
    return {k: v for k, v in found.items() if v is not None}


GUARANTEE_UNITS = {"flow": "flow_m3_s", "head": "head_m", "efficiency": "efficiency", "power": "power_w"}


def read_entry(run_dir: Path, runs_dir: Path) -> CatalogueEntry:
    """What the catalogue holds about ``run_dir``; RunLogError when it is not a readable run."""
    run_dir, runs_dir = Path(run_dir).resolve(), Path(runs_dir).resolve()
    log = RunLog(run_dir)
    metadata = log.metadata
    status = log.status
    events = log.events if (run_dir / EVENTS).exists() else []
    trips = [e for e in events if e.get("kind") == "trip"]
    settings = metadata.get("acceptance_settings") or {}
    pump = settings.get("pump") or {}
    try:
        acceptance = log.acceptance()
    except (ValueError, OSError) as exc:
        raise RunLogError(f"{run_dir}: {ACCEPTANCE} unreadable: {exc}") from exc
    verdict = None
    quantities: dict[str, float] = dict(_best_point(log))
    if acceptance is not None:
        verdict = stated_verdict(acceptance)
        for item in acceptance.get("verdicts") or []:
            name = GUARANTEE_UNITS.get(str(item.get("quantity")), str(item.get("quantity")))
            value = _finite(item.get("measured"))
            if value is not None:
                quantities[f"guarantee_{name}"] = value
    npsh3_rows: list[dict[str, Any]] = []
    frame = log.npsh3()
    if frame is not None and not frame.empty and "flow_target_m3_s" in frame.columns:
        for record in frame.to_dict("records"):
            target = _finite(record.get("flow_target_m3_s"))
            if target is None:
                continue
            row: dict[str, Any] = {
                "flow_target_m3_s": target,
                "flow_m3_s": _finite(record.get("flow_m3_s")),
                "npsh3_m": _finite(record.get("npsh3_m")),
                "npsh3_uncertainty_m": _finite(record.get("npsh3_uncertainty_m")),
                "status": _text_or_none(record.get("status")),
            }
            npsh3_rows.append(row)
            if row["npsh3_m"] is not None:
                quantities[f"npsh3_m@{target!r}"] = row["npsh3_m"]
    files = {
        p.name: _sha256(p) for p in sorted(run_dir.iterdir()) if p.is_file() and not p.name.endswith(".tmp")
    }
    points = len(log.points())
    row = {
        "path": run_dir.relative_to(runs_dir).as_posix(),
        "procedure": metadata.get("procedure"),
        "parameters": json.dumps(metadata.get("parameters", {}), sort_keys=True),
        "bench_name": metadata.get("bench_name"),
        "bench_file": metadata.get("bench_file"),
        "virtual": None if metadata.get("virtual") is None else int(bool(metadata.get("virtual"))),
        "seed": metadata.get("seed"),
        "faults": json.dumps(metadata.get("faults", [])),
        "pump_serial": pump.get("serial"),
        "pump_name": pump.get("name"),
        "pump_build": pump.get("build"),
        "status": status,
        "reason": metadata.get("reason", ""),
        "verdict": verdict,
        "grade": settings.get("grade"),
        "start_utc": metadata.get("start_utc"),
        "end_utc": metadata.get("end_utc"),
        "software": json.dumps(metadata.get("software", {}), sort_keys=True),
        "points": points,
        "trips": len(trips),
        "trip_reason": trips[0].get("reason") if trips else None,
        "campaign": _campaign_of(run_dir, runs_dir),
        "files": json.dumps(files, sort_keys=True),
    }
    return CatalogueEntry(row, quantities, npsh3_rows)


def find_run_directories(runs_dir: Path) -> list[Path]:
    """Every run directory under ``runs_dir``, however deep (campaigns nest them), sorted.

    Not indexed: replays (``replay-*``: a replay bench's new run lives inside the run it replays)
    and hidden folders (a campaign's ``.attempts/``, interrupted attempts it set aside).
    """
    runs_dir = Path(runs_dir)
    found = []
    for metadata in runs_dir.rglob(METADATA):
        relative = metadata.parent.relative_to(runs_dir).parts
        if any(part.startswith((REPLAY_PREFIX, ".")) for part in relative):
            continue
        found.append(metadata.parent)
    return sorted(found)


def _text_or_none(value: Any) -> str | None:
    """A CSV cell as text; None for a missing one (pandas reads it as NaN)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return str(value)
