"""Loading the runs a calibration uses: each run directory's bench, accuracies, points and NPSH3 results.

A run that did not complete is skipped with the reason (the caller names it in the model); within a
run, points taken while sweeping into cavitation, points with a non-finite or non-positive flow,
speed or power, and NPSH3 rows whose status is not ``ok`` are left out.

Imports pandas, numpy and hil's bench, core and store (the run directory's one reader).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError, RunLogError
from hil.store.run_directory import NPSH3, POINTS
from hil.store.run_log import RunLog

Array = NDArray[np.float64]


@dataclass(frozen=True)
class CalibrationRun:
    """What calibration uses of one run: its bench, stated accuracies, usable points and NPSH3 rows."""

    run_id: str
    directory: Path
    procedure: str
    config: BenchConfig
    accuracy: dict[str, float]
    points: pd.DataFrame
    npsh3: pd.DataFrame
    modified: tuple[str, ...] = ()
    """Files modified, removed or added after the run (the caller accepted them)."""
    unchecked: str = ""
    """Why the run's files could not be checked (no checksums recorded), else empty."""

    @property
    def has_shaft_power(self) -> bool:
        """Whether every usable point has a shaft power (a torque sensor on the shaft) above zero."""
        if self.points.empty or "shaft_power_w" not in self.points.columns:
            return False
        shaft = self.points["shaft_power_w"].to_numpy(dtype=float)
        return bool(np.all(np.isfinite(shaft) & (shaft > 0)))


def load_run(directory: Path, accept_modified: bool = False) -> tuple[CalibrationRun | None, str | None]:
    """The run's usable data, or (None, why it is skipped).

    A run whose files were modified after it (their SHA-256 differs from the recorded one, or a file
    was removed or added) is refused unless ``accept_modified``: a model calibrated from hand-edited
    points would carry the edit into every sizing made with it.
    """
    if not directory.is_dir():
        raise ConfigError(str(directory), "", "not a run directory (expected a directory with its metadata)")
    try:
        log = RunLog.open(directory)
    except RunLogError as exc:
        raise ConfigError(str(directory), "", str(exc)) from exc
    integrity = log.integrity
    if integrity.modified and not accept_modified:
        raise ConfigError(
            str(directory),
            "",
            "; ".join(integrity.problems) + ": refused (give --accept-modified to calibrate from it anyway)",
        )
    run_id = directory.name
    status = log.metadata.get("status", "unknown")
    if status != "completed":
        reason = log.metadata.get("reason") or ""
        return None, f"{run_id}: status {status}" + (f" ({reason})" if reason else "")
    config = log.bench
    accuracy = log.accuracy
    try:
        points = log.points()
        npsh3 = log.npsh3()
    except (RunLogError, OSError) as exc:
        raise ConfigError(str(directory), "", f"unreadable results: {exc}") from exc
    if npsh3 is None:
        npsh3 = pd.DataFrame()
    if not points.empty and "npsh_role" in points.columns:
        points = points[points["npsh_role"].astype(str) != "sweep"]
    if not points.empty:
        needed = ("speed_rpm", "flow_m3_s", "head_m", "electrical_power_w", "hydraulic_power_w")
        missing = [c for c in needed if c not in points.columns]
        if missing:
            raise ConfigError(str(log.location(POINTS)), ",".join(missing), "missing column(s)")
        good = np.ones(len(points), dtype=bool)
        for column in needed:
            good &= np.isfinite(points[column].to_numpy(dtype=float))
        for column in ("flow_m3_s", "speed_rpm", "electrical_power_w"):
            good &= points[column].to_numpy(dtype=float) > 0
        points = points[good]
    if not npsh3.empty:
        ok = npsh3["status"].astype(str) == "ok" if "status" in npsh3.columns else np.ones(len(npsh3), bool)
        npsh3 = npsh3[ok]
        for column in ("flow_m3_s", "speed_rpm", "npsh3_m", "npsh3_uncertainty_m"):
            if column not in npsh3.columns:
                raise ConfigError(str(log.location(NPSH3)), column, "missing column")
        columns = ["flow_m3_s", "speed_rpm", "npsh3_m", "npsh3_uncertainty_m"]
        finite = np.isfinite(npsh3[columns].to_numpy(float))
        npsh3 = npsh3[finite.all(axis=1)]
    if points.empty and npsh3.empty:
        return None, f"{run_id}: no operating points and no NPSH3 results"
    procedure = log.procedure
    return CalibrationRun(
        run_id,
        directory,
        procedure,
        config,
        accuracy,
        points.reset_index(drop=True),
        npsh3.reset_index(drop=True),
        tuple(integrity.problems),
        "" if integrity.recorded else integrity.note,
    ), None


def column(frame: pd.DataFrame, name: str, default: float = math.nan) -> Array:
    if name in frame.columns:
        return frame[name].to_numpy(dtype=float)
    return np.full(len(frame), default)


def standard_error(frame: pd.DataFrame, channel: str) -> Array:
    std = column(frame, f"{channel}_std")
    count = column(frame, f"{channel}_n")
    with np.errstate(divide="ignore", invalid="ignore"):
        se = std / np.sqrt(count)
    return np.where(np.isfinite(se), se, 0.0)
