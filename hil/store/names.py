"""The file names of a run directory: the only place that spells them.

Everything that reads or writes a run directory takes its names from here (the writer and the
reader in this package, the derive step, replay, report, calibration, the command line's help), so a
file can be renamed, or a release's layout migrated, in one place. See
:mod:`hil.store.run_directory` for what each file holds.

Imports nothing.
"""

from __future__ import annotations

SAMPLES_CSV = "samples.csv"
SAMPLES_PARQUET = "samples.parquet"
EVENTS = "events.jsonl"
POINTS = "operating_points.csv"
METADATA = "metadata.json"
BENCH_SNAPSHOT = "bench.toml"
PROCEDURE_COPY = "procedure.py"
POINTS_CONVERTED = "points_converted.csv"
ACCEPTANCE = "acceptance.json"
NPSH3 = "npsh3.csv"
REPLAY_INFO = "replay.json"
REPLAY_PREFIX = "replay-"
REPORT = "report.html"
VERDICTS = "verdicts.csv"
MISSION_PROFILE = "mission_profile.json"
STARTUP = "startup.json"
STEPS = "steps.json"
ENDURANCE = "endurance.json"
MEASUREMENTS = "measurements.csv"
SPACE_RESERVE = ".space_reserve"
"""Space a run sets aside for its close on a full disk (:mod:`hil.store.run_writer`); deleted at the close."""
DERIVED_FILES = {
    "points_converted": POINTS_CONVERTED,
    "acceptance": ACCEPTANCE,
    "npsh3": NPSH3,
    "mission_profile": MISSION_PROFILE,
    "startup": STARTUP,
    "steps": STEPS,
    "endurance": ENDURANCE,
    "measurements": MEASUREMENTS,
}
"""The file of each derived product (:mod:`hil.results.derive`): a list of rows is written as CSV,
a document as JSON."""
STORAGE_ERROR_KEY = "storage_error"
"""Metadata field: the write the disk refused, for a run that ended on a full disk or an I/O error."""
RESULT_FILES = (POINTS, *DERIVED_FILES.values())
"""Every file a replay recomputes and compares."""
RUN_FORMAT = 2
"""Version of the run directory's contents, recorded in the metadata as ``format``. 1 (no such field):
release 0.1.0. 2: operating points carry effective sample sizes, ``acceptance.json`` the overall
verdict. A replay of an older run compares what the older run recorded and notes what is new."""
