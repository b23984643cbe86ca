"""A plain thrust-versus-time profile for a mission-profile run, read from CSV or TOML.

Instead of the mission file's throttle profile (fractions of a burn time the sizing works out from
the delta-v), a lander team often has the thrust history itself, from its guidance simulation or a
previous flight. A profile is a table of ``time_s`` and ``thrust_n``:

* CSV, with a header row naming the two columns (any order; other columns are refused)::

      time_s,thrust_n
      0,4000
      30,2400
      42,1400
      50,0

* TOML, two arrays of equal length::

      time_s = [0.0, 30.0, 42.0, 50.0]
      thrust_n = [4000.0, 2400.0, 1400.0, 0.0]

The thrust in each row holds from that row's time to the next row's (a burn is a sequence of steady
throttle settings, as the sizing and the boundary model take it; a ramp is written as several short
steps). Times start at 0 and increase strictly; the last row is the engine's cut-off, thrust 0, and
its time is the end of the burn. Every other thrust is positive and at most the engine's full thrust
(the mission file's ``engine.thrust_n``); the throttle of each step is its thrust over that.

Imports :mod:`hil.core` only.
"""

from __future__ import annotations

import csv
import io
import math
from pathlib import Path

from hil.core.config import Section, check_number_list, parse_toml_text, read_config_text
from hil.core.errors import ConfigError

__all__ = ["load_thrust_profile", "throttle_segments"]

COLUMNS = ("time_s", "thrust_n")


def _csv_rows(text: str, source: str) -> tuple[list[float], list[float]]:
    reader = csv.reader(io.StringIO(text))
    lines = [row for row in reader if row and any(cell.strip() for cell in row)]
    if not lines:
        raise ConfigError(source, "", "empty: expected a header time_s,thrust_n and rows of numbers")
    header = [cell.strip() for cell in lines[0]]
    if sorted(header) != sorted(COLUMNS):
        raise ConfigError(
            source, "header", f"expected the columns time_s and thrust_n, got {','.join(header)}"
        )
    columns: dict[str, list[float]] = {name: [] for name in COLUMNS}
    for number, row in enumerate(lines[1:], start=2):
        if len(row) != len(header):
            raise ConfigError(source, f"line {number}", f"expected {len(header)} values, got {len(row)}")
        for name, cell in zip(header, row, strict=True):
            try:
                value = float(cell)
            except ValueError:
                raise ConfigError(
                    source, f"line {number}.{name}", f"expected a number, got {cell.strip()!r}"
                ) from None
            if not math.isfinite(value):
                raise ConfigError(
                    source, f"line {number}.{name}", f"expected a finite number, got {cell.strip()}"
                )
            columns[name].append(value)
    return columns["time_s"], columns["thrust_n"]


def _toml_rows(text: str, source: str) -> tuple[list[float], list[float]]:
    top = Section(parse_toml_text(text, source), source)
    times = list(check_number_list(top.raw("time_s"), source, "time_s"))
    thrusts = list(check_number_list(top.raw("thrust_n"), source, "thrust_n"))
    top.finish()
    if len(times) != len(thrusts):
        raise ConfigError(
            source, "thrust_n", f"{len(thrusts)} values for {len(times)} times: give one per time"
        )
    return times, thrusts


def load_thrust_profile(path: Path | str) -> tuple[tuple[float, float], ...]:
    """The profile's ``(time_s, thrust_n)`` rows, checked as the module docstring describes
    (except the upper bound on thrust, which needs the engine: :func:`throttle_segments`)."""
    path = Path(path)
    source = str(path)
    text = read_config_text(path)
    if path.suffix.lower() == ".toml":
        times, thrusts = _toml_rows(text, source)
    elif path.suffix.lower() == ".csv":
        times, thrusts = _csv_rows(text, source)
    else:
        raise ConfigError(source, "", "expected a .csv or .toml thrust profile")
    if len(times) < 2:
        raise ConfigError(source, "time_s", "expected at least two rows: a thrust and the cut-off")
    if times[0] != 0.0:
        raise ConfigError(source, "time_s[0]", f"the profile starts at ignition, time 0; got {times[0]:g} s")
    for i in range(1, len(times)):
        if not times[i] > times[i - 1]:
            raise ConfigError(
                source, f"time_s[{i}]", f"times must increase: {times[i]:g} s after {times[i - 1]:g} s"
            )
    for i, thrust in enumerate(thrusts[:-1]):
        if not thrust > 0.0:
            raise ConfigError(
                source,
                f"thrust_n[{i}]",
                f"must be positive (only the last row, the cut-off, is 0); got {thrust:g} N",
            )
    if thrusts[-1] != 0.0:
        raise ConfigError(
            source,
            f"thrust_n[{len(thrusts) - 1}]",
            f"the last row is the cut-off: thrust 0, got {thrusts[-1]:g} N",
        )
    return tuple(zip(times, thrusts, strict=True))


def throttle_segments(
    rows: tuple[tuple[float, float], ...], full_thrust_n: float, source: str
) -> tuple[tuple[float, float], ...]:
    """``(duration_s, throttle)`` steps of a profile for an engine of ``full_thrust_n``."""
    segments = []
    for i, ((start, thrust), (end, _)) in enumerate(zip(rows, rows[1:])):
        throttle = thrust / full_thrust_n
        if throttle > 1.0 + 1e-9:
            raise ConfigError(
                source,
                f"thrust_n[{i}]",
                f"{thrust:g} N is above the engine's full thrust, {full_thrust_n:g} N (the mission's engine.thrust_n)",
            )
        segments.append((end - start, min(throttle, 1.0)))
    return tuple(segments)
