"""The run catalogue: an SQLite index of the run directories under one runs directory.

The directories stay the truth. The catalogue (``catalogue.sqlite`` in the runs directory it
indexes, ``runs/`` by default like ``hil run --out``) holds, per run, what is needed to find and
compare runs without opening them: identity of pump and bench, procedure and parameters, seed and
faults, status and reason, verdict, key results, software version and a SHA-256 of every file. Each
row is a pure function of its run directory (nothing about when or by whom it was indexed), so
:func:`rebuild` from the directories gives exactly the catalogue that :func:`add_run` built run by
run, and the file can be deleted and rebuilt at any time (``hil runs index``).

Tables (all SI, units in the names):

- ``runs``: one row per run directory, keyed by its path relative to the runs directory.
- ``quantities``: ``(path, name, value)``, the key results a trend can follow across runs:
  ``bep_flow_m3_s``, ``bep_head_m``, ``bep_overall_efficiency``, ``bep_electrical_power_w`` (the
  measured point of best overall efficiency, converted to the specified speed; a measured point, not
  a fit), ``guarantee_<quantity>`` (the value judged at the guarantee point: ``guarantee_head_m``
  is the head of the fitted curve at the guaranteed flow), and ``npsh3_m@<target flow m3/s>``.
- ``npsh3``: every NPSH3 result row (per target flow) of NPSH3 runs.

Concurrent writers (two ``hil run`` closing at once, a campaign next to them) never corrupt it:
the database is in WAL mode, every run is written in one ``BEGIN IMMEDIATE`` transaction (its old
rows deleted and new ones inserted together), and a writer waits up to :data:`BUSY_TIMEOUT_S` for
another's transaction to end. SQLite's locking needs a local filesystem (not NFS): keep the
catalogue on the machine that writes it.

What it holds about each run is read by :mod:`hil.fleet.entry`. Imports :mod:`hil.core` and that
module.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hil.core.errors import ConfigError, HilError, RunLogError
from hil.fleet.entry import CatalogueEntry, find_run_directories, read_entry

__all__ = [
    "CatalogueEntry",
    "RunFilter",
    "add_entry",
    "add_run",
    "dump",
    "find_run_directories",
    "list_runs",
    "query",
    "read_entry",
    "rebuild",
    "record_run",
    "show_run",
    "trend",
]

CATALOGUE = "catalogue.sqlite"
SCHEMA_VERSION = 1
BUSY_TIMEOUT_S = 60.0

RUN_COLUMNS = (
    "path",
    "procedure",
    "parameters",
    "bench_name",
    "bench_file",
    "virtual",
    "seed",
    "faults",
    "pump_serial",
    "pump_name",
    "pump_build",
    "status",
    "reason",
    "verdict",
    "grade",
    "start_utc",
    "end_utc",
    "software",
    "points",
    "trips",
    "trip_reason",
    "campaign",
    "files",
)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS runs (
    {", ".join(c + (" TEXT PRIMARY KEY" if c == "path" else "") for c in RUN_COLUMNS)}
);
CREATE TABLE IF NOT EXISTS quantities (
    path TEXT NOT NULL, name TEXT NOT NULL, value REAL, PRIMARY KEY (path, name)
);
CREATE TABLE IF NOT EXISTS npsh3 (
    path TEXT NOT NULL, flow_target_m3_s REAL NOT NULL, flow_m3_s REAL, npsh3_m REAL,
    npsh3_uncertainty_m REAL, status TEXT, PRIMARY KEY (path, flow_target_m3_s)
);
CREATE INDEX IF NOT EXISTS runs_by_pump ON runs (pump_serial, start_utc);
CREATE INDEX IF NOT EXISTS quantities_by_name ON quantities (name);
"""


class CatalogueError(HilError, ValueError):
    """The catalogue file cannot be used (damaged, from another version): rebuild it."""


def catalogue_path(runs_dir: Path) -> Path:
    return Path(runs_dir) / CATALOGUE


# ------------------------------------------------------------------------------------ the database


@contextmanager
def open_catalogue(runs_dir: Path, create: bool = True) -> Iterator[sqlite3.Connection]:
    """A connection to the catalogue of ``runs_dir`` (created with its schema when missing)."""
    path = catalogue_path(runs_dir)
    if not path.exists() and not create:
        raise ConfigError(str(path), "", f"no catalogue here: build it with 'hil runs index {runs_dir}'")
    if create:
        Path(runs_dir).mkdir(parents=True, exist_ok=True)
    try:
        connection = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
    except sqlite3.Error as exc:
        raise CatalogueError(f"{path}: cannot open the catalogue: {exc}") from exc
    with closing(connection):
        try:
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
            version = connection.execute("PRAGMA user_version").fetchone()[0]
            if version not in (0, SCHEMA_VERSION):
                raise CatalogueError(
                    f"{path}: catalogue of another version ({version}); rebuild it with 'hil runs index {runs_dir}'"
                )
            if version == 0:
                with _transaction(connection):  # two first writers: the second finds the tables made
                    for statement in SCHEMA.split(";"):
                        if statement.strip():
                            connection.execute(statement)
                    connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        except sqlite3.DatabaseError as exc:
            raise CatalogueError(
                f"{path}: not a usable catalogue ({exc}); delete it and run 'hil runs index {runs_dir}'"
            ) from exc
        yield connection


@contextmanager
def _transaction(connection: sqlite3.Connection) -> Iterator[None]:
    """One write transaction, taking the write lock up front (no deadlock between two upgraders)."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        connection.execute("ROLLBACK")
        raise
    connection.execute("COMMIT")


def _write_entry(connection: sqlite3.Connection, entry: CatalogueEntry) -> None:
    path = entry.row["path"]
    connection.execute("DELETE FROM runs WHERE path = ?", (path,))
    connection.execute("DELETE FROM quantities WHERE path = ?", (path,))
    connection.execute("DELETE FROM npsh3 WHERE path = ?", (path,))
    connection.execute(
        f"INSERT INTO runs ({', '.join(RUN_COLUMNS)}) VALUES ({', '.join('?' for _ in RUN_COLUMNS)})",
        [entry.row[c] for c in RUN_COLUMNS],
    )
    connection.executemany(
        "INSERT INTO quantities (path, name, value) VALUES (?, ?, ?)",
        [(path, name, value) for name, value in sorted(entry.quantities.items())],
    )
    connection.executemany(
        "INSERT INTO npsh3 (path, flow_target_m3_s, flow_m3_s, npsh3_m, npsh3_uncertainty_m, status) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (path, r["flow_target_m3_s"], r["flow_m3_s"], r["npsh3_m"], r["npsh3_uncertainty_m"], r["status"])
            for r in entry.npsh3
        ],
    )


def add_run(runs_dir: Path, run_dir: Path) -> CatalogueEntry:
    """Index (or re-index) one run directory in the catalogue of ``runs_dir``, in one transaction."""
    runs_dir, run_dir = Path(runs_dir).resolve(), Path(run_dir).resolve()
    if runs_dir not in run_dir.parents:
        raise ConfigError(str(run_dir), "", f"is not inside the runs directory {runs_dir}")
    entry = read_entry(run_dir, runs_dir)
    add_entry(runs_dir, entry)
    return entry


def add_entry(runs_dir: Path, entry: CatalogueEntry) -> None:
    """Write an entry already read (by a campaign's worker, next to the run) in one transaction."""
    with open_catalogue(runs_dir) as connection, _transaction(connection):
        _write_entry(connection, entry)


@dataclass(frozen=True)
class IndexOutcome:
    indexed: int
    unreadable: dict[str, str]
    """Directories that look like runs but could not be read: path -> why."""


def rebuild(runs_dir: Path) -> IndexOutcome:
    """Rebuild the catalogue of ``runs_dir`` from its run directories (one transaction)."""
    runs_dir = Path(runs_dir).resolve()
    entries, unreadable = [], {}
    for run_dir in find_run_directories(runs_dir):
        try:
            entries.append(read_entry(run_dir, runs_dir))
        except (RunLogError, ValueError, OSError) as exc:
            unreadable[run_dir.relative_to(runs_dir).as_posix()] = str(exc)
    with open_catalogue(runs_dir) as connection, _transaction(connection):
        for table in ("runs", "quantities", "npsh3"):
            connection.execute(f"DELETE FROM {table}")
        for entry in entries:
            _write_entry(connection, entry)
    return IndexOutcome(len(entries), unreadable)


def dump(runs_dir: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, sorted: two catalogues are the same index when their dumps are equal."""
    with open_catalogue(runs_dir, create=False) as connection:
        return {
            table: sorted(connection.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in ("runs", "quantities", "npsh3")
        }


def record_run(runs_dir: Path, run_dir: Path, entry: CatalogueEntry | None = None) -> str | None:
    """Add a run that just closed to its catalogue (its ``entry`` if already read); returns a warning
    instead of raising.

    The catalogue is an index that ``hil runs index`` can always rebuild: failing to update it must
    not turn a good run into a failed command.
    """
    try:
        if entry is not None:
            add_entry(runs_dir, entry)
        else:
            add_run(runs_dir, run_dir)
    except (HilError, sqlite3.Error, OSError, ValueError) as exc:
        return f"the run is not in the catalogue ({exc}); 'hil runs index {runs_dir}' rebuilds it"
    return None


# ------------------------------------------------------------------------------------ queries


@dataclass(frozen=True)
class RunFilter:
    pump_serial: str | None = None
    procedure: str | None = None
    status: str | None = None
    verdict: str | None = None
    campaign: str | None = None
    since_utc: str | None = None
    """ISO date or time; runs started at or after it."""
    until_utc: str | None = None
    """ISO date or time; runs started before it (a date alone means up to the end of that day)."""

    def where(self) -> tuple[str, list[Any]]:
        clauses, values = [], []
        for column in ("pump_serial", "procedure", "status", "verdict", "campaign"):
            value = getattr(self, column)
            if value is not None:
                clauses.append(f"{column} = ?")
                values.append(value)
        if self.since_utc is not None:
            clauses.append("start_utc >= ?")
            values.append(self.since_utc)
        if self.until_utc is not None:
            until = self.until_utc + ("T99" if len(self.until_utc) == 10 else "")
            clauses.append("start_utc < ?")
            values.append(until)
        return (" WHERE " + " AND ".join(clauses) if clauses else ""), values


def list_runs(runs_dir: Path, selection: RunFilter | None = None) -> list[dict[str, Any]]:
    """Rows of ``runs`` matching ``selection``, oldest first."""
    where, values = (selection or RunFilter()).where()
    with open_catalogue(runs_dir, create=False) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(f"SELECT * FROM runs{where} ORDER BY start_utc, path", values).fetchall()
        return [dict(row) for row in rows]


def show_run(runs_dir: Path, path: str) -> dict[str, Any]:
    """One run's row with its quantities and NPSH3 rows; ``path`` may be a unique suffix of its path."""
    with open_catalogue(runs_dir, create=False) as connection:
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT * FROM runs WHERE path = ? OR path LIKE ? ESCAPE '\\' ORDER BY path",
            (path, "%" + path.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")),
        ).fetchall()
        exact = [r for r in rows if r["path"] == path]
        rows = exact or rows
        if not rows:
            raise ConfigError("command line", "RUN", f"no run {path!r} in the catalogue of {runs_dir}")
        if len(rows) > 1:
            names = ", ".join(r["path"] for r in rows[:5])
            raise ConfigError(
                "command line", "RUN", f"{path!r} names {len(rows)} runs ({names}...): be more precise"
            )
        run = dict(rows[0])
        run["quantities"] = {
            r["name"]: r["value"]
            for r in connection.execute(
                "SELECT name, value FROM quantities WHERE path = ? ORDER BY name", (run["path"],)
            )
        }
        run["npsh3"] = [
            dict(r)
            for r in connection.execute(
                "SELECT flow_target_m3_s, flow_m3_s, npsh3_m, npsh3_uncertainty_m, status FROM npsh3 "
                "WHERE path = ? ORDER BY flow_target_m3_s",
                (run["path"],),
            )
        ]
        return run


def query(runs_dir: Path, sql: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    """Run a read-only SQL statement on the catalogue (opened read-only: it can change nothing)."""
    path = catalogue_path(runs_dir)
    if not path.exists():
        raise ConfigError(str(path), "", f"no catalogue here: build it with 'hil runs index {runs_dir}'")
    connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=BUSY_TIMEOUT_S)
    with closing(connection):
        try:
            cursor = connection.execute(sql)
        except sqlite3.Error as exc:
            raise ConfigError("command line", "SQL", str(exc)) from exc
        columns = [d[0] for d in cursor.description or []]
        return columns, cursor.fetchall()


def quantity_names(runs_dir: Path) -> list[str]:
    with open_catalogue(runs_dir, create=False) as connection:
        return [r[0] for r in connection.execute("SELECT DISTINCT name FROM quantities ORDER BY name")]


def trend(runs_dir: Path, quantity: str, selection: RunFilter | None = None) -> list[dict[str, Any]]:
    """``quantity`` across the runs matching ``selection``, oldest first (with pump build and path)."""
    where, values = (selection or RunFilter()).where()
    where = where.replace(" WHERE ", " AND ") if where else ""
    with open_catalogue(runs_dir, create=False) as connection:
        known = [r[0] for r in connection.execute("SELECT DISTINCT name FROM quantities ORDER BY name")]
        if quantity not in known:
            raise ConfigError(
                "command line", "QUANTITY", f"no run has {quantity!r}; known: {', '.join(known) or 'none'}"
            )
        connection.row_factory = sqlite3.Row
        rows = connection.execute(
            "SELECT runs.path, runs.start_utc, runs.pump_serial, runs.pump_build, runs.status, runs.verdict, "
            f"quantities.value FROM runs JOIN quantities ON quantities.path = runs.path "
            f"WHERE quantities.name = ?{where} ORDER BY runs.start_utc, runs.path",
            [quantity, *values],
        ).fetchall()
        return [dict(r) for r in rows]


def as_rows(entries: Sequence[dict[str, Any]], columns: Sequence[str]) -> list[list[str]]:
    """Text cells for a table (None shown as '-')."""
    return [["-" if e.get(c) is None else str(e.get(c)) for c in columns] for e in entries]
