"""A run directory damaged or edited in every way we could think of, through `hil replay`, `hil report`
and `hil calibrate` as a user meets them (``main``, the function the console script calls).

One small valid run is made once (the virtual bench, a three-point performance curve judged at a
guarantee point, so that it has every file: samples in both forms, events, points, converted points,
acceptance) and one interrupted copy of it (what ``kill -9`` leaves: no Parquet copy, no derived
files, no checksums, status "running"), for the damage that only matters when the journal is what is
read. Each case copies one of them and damages it; each command must then end with a non-zero
documented exit status (1 error or a file modified after the run, 2 refused input), say what is wrong
in one clear line naming the file (``hil: error: ...``, or for a file that still reads but was changed
since the run, ``hil: warning: ... modified after the run``), print no traceback, and leave the
directory exactly as it was (the report goes to a file elsewhere).

The counts of cases and of clean endings are printed at the end of the session (``tests/summaries.py``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hil.cli import main
from tests import summaries

SHORT_RUN = [
    "-p",
    "speeds_fraction=0.6",
    "-p",
    "valve_openings=0.4,0.7,1.0",
    "-p",
    "dwell_s=3",
    "-p",
    "steady_window_s=1",
    "--guarantee",
    "0.0003,80",
    "--grade",
    "2B",
]
COMMANDS = ("replay", "report", "calibrate")
DOCUMENTED_EXITS = {1, 2}


@pytest.fixture(scope="session")
def valid_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("valid")
    main(["run", "performance-curve", "--bench", "sim", "--out", str(out), "--quiet", *SHORT_RUN])
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]
    assert json.loads((run_dir / "metadata.json").read_text())["checksums"]["files"]
    return run_dir


@pytest.fixture(scope="session")
def interrupted_run(valid_run: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What a run killed after its last point leaves."""
    copy = tmp_path_factory.mktemp("interrupted") / "tampered-interrupted"
    shutil.copytree(valid_run, copy)
    for name in ("samples.parquet", "points_converted.csv", "acceptance.json"):
        (copy / name).unlink()
    metadata = json.loads((copy / "metadata.json").read_text())
    for key in ("checksums", "end_utc", "reason"):
        metadata.pop(key, None)
    metadata["status"] = "running"
    (copy / "metadata.json").write_text(json.dumps(metadata, indent=2))
    return copy


# ------------------------------------------------------------------------------ the damage
def text_of(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def edit_metadata(**changes: object) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        document = json.loads(text_of(run / "metadata.json"))
        document.update(changes)
        (run / "metadata.json").write_text(json.dumps(document, indent=2))

    return apply


def write(name: str, content: bytes | str) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        path = run / name
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        elif path.exists() or path.is_symlink():
            path.unlink()
        path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))

    return apply


def remove(name: str) -> Callable[[Path], None]:
    return lambda run: (run / name).unlink()


def truncate(name: str, fraction: float = 0.5) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        data = (run / name).read_bytes()
        (run / name).write_bytes(data[: int(len(data) * fraction)])

    return apply


def garble(name: str) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        data = bytearray((run / name).read_bytes())
        rng = np.random.default_rng(7)
        for index in rng.integers(len(data) // 4, len(data), size=max(8, len(data) // 50)):
            data[int(index)] = int(rng.integers(0, 256))
        (run / name).write_bytes(bytes(data))

    return apply


def make_directory(name: str) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        (run / name).unlink()
        (run / name).mkdir()
        (run / name / "inside").write_text("x")

    return apply


def symlink_loop(name: str) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        (run / name).unlink()
        (run / name).symlink_to(name)

    return apply


def edit_events(change: Callable[[list[dict]], list[object]]) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        events = [json.loads(line) for line in text_of(run / "events.jsonl").splitlines()]
        lines = [json.dumps(e) if not isinstance(e, str) else e for e in change(events)]
        (run / "events.jsonl").write_text("\n".join(lines) + "\n")

    return apply


def first_of(kind: str, change: Callable[[dict], object]) -> Callable[[list[dict]], list[object]]:
    def apply(events: list[dict]) -> list[object]:
        index = next(i for i, e in enumerate(events) if e["kind"] == kind)
        result: list[object] = list(events)
        result[index] = change(dict(events[index]))
        return result

    return apply


def without(key: str) -> Callable[[dict], dict]:
    return lambda event: {k: v for k, v in event.items() if k != key}


def with_value(key: str, value: object) -> Callable[[dict], dict]:
    return lambda event: {**event, key: value}


def edit_parquet(change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        frame = pd.read_parquet(run / "samples.parquet")
        change(frame).to_parquet(run / "samples.parquet", index=False)

    return apply


def edit_csv(name: str, change: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        frame = pd.read_csv(run / name)
        change(frame).to_csv(run / name, index=False)

    return apply


def edit_journal(change: Callable[[list[str]], list[str]]) -> Callable[[Path], None]:
    def apply(run: Path) -> None:
        lines = text_of(run / "samples.csv").splitlines()
        (run / "samples.csv").write_text("\n".join(change(lines)) + "\n")

    return apply


def drop_column(lines: list[str], column: str = "flow_m3_s") -> list[str]:
    index = lines[0].split(",").index(column)
    return [",".join(f for i, f in enumerate(line.split(",")) if i != index) for line in lines]


def set_cell(frame: pd.DataFrame, column: str, value: object) -> pd.DataFrame:
    frame = frame.copy()
    frame[column] = frame[column].astype(object)
    frame.loc[1, column] = value
    return frame


def replace_run_with_file(run: Path) -> None:
    shutil.rmtree(run)
    run.write_text("not a run\n")


def empty_the_run(run: Path) -> None:
    shutil.rmtree(run)
    run.mkdir()


@dataclass(frozen=True)
class Corruption:
    name: str
    damage: Callable[[Path], None]
    names: str
    """What every message must name: a file of the run ('' for the run directory itself)."""
    interrupted: bool = False
    """Applied to the interrupted copy (whose journal is what is read)."""


DEEP = "[" * 100_000 + "]" * 100_000
CASES = [
    # metadata
    Corruption("metadata-not-utf8", write("metadata.json", b'{"status": "\xff\xfe"}'), "metadata.json"),
    Corruption("metadata-a-list", write("metadata.json", "[1, 2, 3]\n"), "metadata.json"),
    Corruption("metadata-a-directory", make_directory("metadata.json"), "metadata.json"),
    Corruption("metadata-symlink-loop", symlink_loop("metadata.json"), "metadata.json"),
    Corruption("metadata-missing", remove("metadata.json"), "metadata.json"),
    Corruption("metadata-empty", write("metadata.json", ""), "metadata.json"),
    Corruption("metadata-truncated", truncate("metadata.json"), "metadata.json"),
    Corruption("metadata-nested-too-deep", write("metadata.json", DEEP), "metadata.json"),
    Corruption(
        "metadata-huge-integer", write("metadata.json", '{"seed": ' + "9" * 5000 + "}"), "metadata.json"
    ),
    Corruption("metadata-tick-zero", edit_metadata(tick_s=0), "metadata.json"),
    Corruption("metadata-tick-text", edit_metadata(tick_s="fast"), "metadata.json"),
    Corruption("metadata-format-text", edit_metadata(format="two"), "metadata.json"),
    Corruption("metadata-accuracy-text", edit_metadata(accuracy={"flow_m3_s": "good"}), "metadata.json"),
    Corruption("metadata-status-edited", edit_metadata(status="completed", reason="edited"), "metadata.json"),
    Corruption("interrupted-tick-zero", edit_metadata(tick_s=0), "metadata.json", interrupted=True),
    Corruption("interrupted-tick-negative", edit_metadata(tick_s=-0.1), "metadata.json", interrupted=True),
    Corruption("interrupted-format-text", edit_metadata(format="x"), "metadata.json", interrupted=True),
    # events
    Corruption("events-line-42", edit_events(first_of("point", lambda e: "42")), "events.jsonl"),
    Corruption("events-not-json", edit_events(first_of("setpoint", lambda e: "{oops")), "events.jsonl"),
    Corruption("events-not-utf8", write("events.jsonl", b'{"kind": "\xc3\x28"}\n'), "events.jsonl"),
    Corruption("events-missing", remove("events.jsonl"), "events.jsonl"),
    Corruption("events-empty", write("events.jsonl", ""), "events.jsonl"),
    Corruption("events-no-time", edit_events(first_of("setpoint", without("time_s"))), "events.jsonl"),
    Corruption(
        "point-missing-field", edit_events(first_of("point", without("window_end_s"))), "events.jsonl"
    ),
    Corruption(
        "point-window-text",
        edit_events(first_of("point", with_value("window_start_s", "soon"))),
        "events.jsonl",
    ),
    Corruption(
        "point-labels-list", edit_events(first_of("point", with_value("labels", [1]))), "events.jsonl"
    ),
    Corruption(
        "steady-limits-garbage", edit_events(first_of("steady", with_value("limits", [1, 2]))), "events.jsonl"
    ),
    Corruption(
        "interrupted-events-line-42",
        edit_events(first_of("point", lambda e: "42")),
        "events.jsonl",
        interrupted=True,
    ),
    Corruption(
        "interrupted-point-missing-field",
        edit_events(first_of("point", without("window_start_s"))),
        "events.jsonl",
        interrupted=True,
    ),
    Corruption(
        "interrupted-steady-window-text",
        edit_events(first_of("steady", with_value("window_s", "long"))),
        "events.jsonl",
        interrupted=True,
    ),
    # samples: Parquet
    Corruption("parquet-truncated", truncate("samples.parquet"), "samples.parquet"),
    Corruption("parquet-garbled", garble("samples.parquet"), "samples.parquet"),
    Corruption("parquet-empty", write("samples.parquet", ""), "samples.parquet"),
    Corruption(
        "parquet-other-schema",
        edit_parquet(lambda f: pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]})),
        "samples.parquet",
    ),
    Corruption(
        "parquet-missing-channel", edit_parquet(lambda f: f.drop(columns=["flow_m3_s"])), "samples.parquet"
    ),
    Corruption(
        "parquet-text-column",
        edit_parquet(lambda f: f.assign(speed_rpm=f["speed_rpm"].astype(str))),
        "samples.parquet",
    ),
    Corruption(
        "parquet-duplicated-times",
        edit_parquet(lambda f: pd.concat([f.iloc[:10], f.iloc[9:]], ignore_index=True)),
        "samples.parquet",
    ),
    Corruption(
        "parquet-nan-time",
        edit_parquet(lambda f: set_cell(f, "time_s", np.nan).astype("float64")),
        "samples.parquet",
    ),
    Corruption("parquet-inf-values", edit_parquet(lambda f: f.assign(flow_m3_s=np.inf)), "samples.parquet"),
    Corruption("parquet-removed", remove("samples.parquet"), "samples.parquet"),
    Corruption(
        "csv-edited-beside-parquet",
        edit_journal(lambda lines: [lines[0], lines[1].replace(",", ",9", 1), *lines[2:]]),
        "samples.csv",
    ),
    # samples: the journal of an interrupted run
    Corruption("journal-missing-column", edit_journal(drop_column), "samples.csv", interrupted=True),
    Corruption(
        "journal-garbled-line",
        edit_journal(lambda lines: [*lines[:5], "1.0,abc,,", *lines[6:]]),
        "samples.csv",
        interrupted=True,
    ),
    Corruption(
        "journal-binary", write("samples.csv", bytes(range(256)) * 4), "samples.csv", interrupted=True
    ),
    Corruption("journal-empty", write("samples.csv", ""), "samples.csv", interrupted=True),
    Corruption("journal-header-cut", write("samples.csv", "time_s,spe"), "samples.csv", interrupted=True),
    Corruption(
        "journal-duplicated-times",
        edit_journal(lambda lines: [*lines[:20], lines[19], *lines[20:]]),
        "samples.csv",
        interrupted=True,
    ),
    Corruption(
        "journal-nan-time",
        edit_journal(lambda lines: [*lines[:3], "nan" + lines[3][lines[3].index(",") :], *lines[4:]]),
        "samples.csv",
        interrupted=True,
    ),
    Corruption("journal-missing", remove("samples.csv"), "samples.csv", interrupted=True),
    Corruption(
        "journal-channel-renamed",
        edit_journal(lambda lines: [lines[0].replace("speed_rpm", "speed"), *lines[1:]]),
        "samples.csv",
        interrupted=True,
    ),
    # recorded and derived results
    Corruption("points-binary", write("operating_points.csv", bytes(range(256)) * 8), "operating_points.csv"),
    Corruption(
        "points-missing-column",
        edit_csv("operating_points.csv", lambda f: f.drop(columns=["head_m"])),
        "operating_points.csv",
    ),
    Corruption("points-truncated", truncate("operating_points.csv", 0.7), "operating_points.csv"),
    Corruption("points-empty", write("operating_points.csv", ""), "operating_points.csv"),
    Corruption("points-missing", remove("operating_points.csv"), "operating_points.csv"),
    Corruption(
        "points-nan-values",
        edit_csv("operating_points.csv", lambda f: f.assign(head_m=np.nan)),
        "operating_points.csv",
    ),
    Corruption(
        "points-inf-values",
        edit_csv("operating_points.csv", lambda f: f.assign(flow_m3_s=np.inf)),
        "operating_points.csv",
    ),
    Corruption(
        "points-hand-edited",
        edit_csv("operating_points.csv", lambda f: f.assign(head_m=f["head_m"] * 1.05)),
        "operating_points.csv",
    ),
    Corruption("converted-garbled", garble("points_converted.csv"), "points_converted.csv"),
    Corruption("acceptance-not-json", write("acceptance.json", "{verdict: PASS"), "acceptance.json"),
    Corruption("acceptance-a-list", write("acceptance.json", "[]"), "acceptance.json"),
    Corruption("acceptance-empty-object", write("acceptance.json", "{}"), "acceptance.json"),
    Corruption("acceptance-binary", write("acceptance.json", b"\x00\x01\xff"), "acceptance.json"),
    Corruption("npsh3-added", write("npsh3.csv", "flow_m3_s,npsh3_m\n0.0003,1.0\n"), "npsh3.csv"),
    # the bench file
    Corruption("bench-not-toml", write("bench.toml", "[bench\nname = "), "bench.toml"),
    Corruption("bench-not-utf8", write("bench.toml", b"[bench]\nname = '\xff'\n"), "bench.toml"),
    Corruption("bench-missing", remove("bench.toml"), "bench.toml"),
    Corruption("bench-a-directory", make_directory("bench.toml"), "bench.toml"),
    # the run directory itself
    Corruption("run-directory-a-file", replace_run_with_file, ""),
    Corruption("run-directory-missing", shutil.rmtree, ""),
    Corruption("run-directory-empty", empty_the_run, ""),
]


def snapshot(path: Path) -> object:
    """Everything about a directory that a command could change: names, kinds, bytes, link targets."""
    if not path.exists() and not path.is_symlink():
        return None
    if path.is_file():
        return ("file", path.read_bytes())
    entries = {}
    for item in sorted(path.rglob("*")):
        relative = str(item.relative_to(path))
        if item.is_symlink():
            entries[relative] = ("link", os.readlink(item))
        elif item.is_dir():
            entries[relative] = ("dir", None)
        else:
            entries[relative] = ("file", item.read_bytes())
    return entries


def run_command(command: str, run: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    argv = {
        "replay": ["replay", str(run)],
        "report": ["report", str(run), "--out", str(out / "report.html")],
        "calibrate": ["calibrate", str(run), "--out", str(out / "pump_model.json")],
    }[command]
    capsys.readouterr()
    code = main(argv)
    return code, capsys.readouterr().err


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_damaged_run_directory_is_one_clear_message(
    case: Corruption,
    command: str,
    valid_run: Path,
    interrupted_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    request: pytest.FixtureRequest,
) -> None:
    clean = False
    try:
        _check_damaged_run(case, command, valid_run, interrupted_run, tmp_path, capsys)
        clean = True
    finally:  # the tally printed at the end of the session (tests/summaries.py)
        summaries.record(
            request.config, "corruption matrix", corruption=case.name, command=command, clean=clean
        )


def _check_damaged_run(
    case: Corruption,
    command: str,
    valid_run: Path,
    interrupted_run: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    run = tmp_path / f"tampered-{case.name}"
    shutil.copytree(interrupted_run if case.interrupted else valid_run, run, symlinks=True)
    case.damage(run)
    before = snapshot(run)
    out = tmp_path / "out"
    out.mkdir()
    code, stderr = run_command(command, run, out, capsys)
    assert "Traceback" not in stderr
    assert code in DOCUMENTED_EXITS, f"exit {code}: {stderr}"
    said = [line for line in stderr.splitlines() if line.startswith(("hil: error:", "hil: warning:"))]
    errors = [line for line in said if line.startswith("hil: error:")]
    assert len(errors) <= 1, stderr
    assert said, stderr
    named = case.names or str(run)
    if case.interrupted and command == "calibrate":
        named = run.name  # an interrupted run is skipped by name, before its files are read
    message = errors[0] if errors else said[0]
    assert named in message, message
    assert snapshot(run) == before, "the command changed the run directory"


def test_the_matrix_is_large() -> None:
    assert len(CASES) >= 40


# ------------------------------------------------------------------------------ tamper evidence
def test_an_untouched_run_verifies_and_an_edit_is_named_by_every_command(
    valid_run: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = tmp_path / "tampered-edit"
    shutil.copytree(valid_run, run)
    out = tmp_path / "out"
    out.mkdir()
    for command in COMMANDS:  # untouched: nothing to say
        code, stderr = run_command(command, run, out, capsys)
        assert "modified" not in stderr and code in {0, 5}, (command, code, stderr)
    # a hand edit of the points that calibration uses
    edit_csv("operating_points.csv", lambda f: f.assign(head_m=f["head_m"] * 1.05))(run)
    warning = f"hil: warning: {run / 'operating_points.csv'} modified after the run (SHA-256 differs)"
    code, stderr = run_command("replay", run, out, capsys)
    assert code == 1 and warning in stderr.splitlines()
    code, stderr = run_command("report", run, out, capsys)
    assert code == 1 and warning in stderr.splitlines()
    page = (out / "report.html").read_text()
    banner = page.index('class="tampered"')
    assert banner < page.index("<h2>Test</h2>") and "operating_points.csv modified after the run" in page
    code, stderr = run_command("calibrate", run, out, capsys)
    assert (
        code == 2 and "modified after the run (SHA-256 differs)" in stderr and "--accept-modified" in stderr
    )
    capsys.readouterr()
    assert main(["calibrate", str(run), "--out", str(out / "pm.json"), "--accept-modified"]) == 0
    model = json.loads((out / "pm.json").read_text())
    assert "operating_points.csv modified after the run" in json.dumps(model)


def test_runs_from_before_checksums_say_so_and_still_work(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures = Path(__file__).parents[1] / "fixtures" / "runs_v0_1_0"
    run = tmp_path / "tampered-old"
    shutil.copytree(fixtures / "performance-curve-accepted", run)
    capsys.readouterr()
    code = main(["replay", str(run)])
    captured = capsys.readouterr()
    assert code in {0, 5} and "no checksums recorded" in captured.out, captured
    assert main(["calibrate", str(run), "--out", str(tmp_path / "pm.json")]) == 0
    assert "no checksums recorded" in capsys.readouterr().out


def read_only_command(command: list[str], run: Path) -> subprocess.CompletedProcess[str]:
    """``command`` with ``run`` read-only: by its mode, or, for root (whom modes do not stop), by a
    read-only bind mount in a namespace of its own."""
    if os.geteuid() != 0:
        os.chmod(run, 0o555)
        try:
            return subprocess.run(command, capture_output=True, text=True, timeout=300)
        finally:
            os.chmod(run, 0o755)
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-Urm", "true"]).returncode != 0:
        pytest.skip("running as root without namespaces: nothing makes a directory read-only")
    script = 'mount --bind "$RUN" "$RUN" && mount -o remount,ro,bind "$RUN" && exec "$@"'
    return subprocess.run(
        ["unshare", "-Urm", "sh", "-c", script, "sh", *command],
        env={**os.environ, "RUN": str(run)},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.parametrize("args", [["replay", "--grade", "1B"], ["report"]], ids=["replay-rejudged", "report"])
def test_a_read_only_run_directory_is_one_clear_message(
    valid_run: Path, tmp_path: Path, args: list[str]
) -> None:
    run = tmp_path / "tampered-read-only"
    shutil.copytree(valid_run, run)
    before = snapshot(run)
    process = read_only_command([sys.executable, "-m", "hil.cli", args[0], str(run), *args[1:]], run)
    assert "Traceback" not in process.stderr
    assert process.returncode == 1, process.stderr
    (error,) = [line for line in process.stderr.splitlines() if line.startswith("hil: error:")]
    assert str(run) in error and "cannot write" in error, error
    assert snapshot(run) == before
