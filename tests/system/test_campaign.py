"""Campaigns on a Dask cluster of 2 worker processes that the test starts (and always stops).

What must hold, from the design: a run made in a campaign is bit-identical to the same run made
alone (``hil run`` with the command line the campaign records), but for the wall-clock start and end
in its metadata; a worker that dies mid-run has its run retried and nothing is lost; a resumed
campaign skips what is done; results land in the catalogue.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
from collections.abc import Iterator
from pathlib import Path

import pytest

from hil.cli import main
from hil.fleet import catalogue
from hil.fleet.campaign import CampaignRun, load_campaign
from hil.fleet.execution import ATTEMPTS, RunRecord, execute_run, prepare_campaign, run_campaign
from hil.fleet.executor import SynchronousExecutor, local_cluster
from hil.fleet.reanalysis import replay_many
from hil.store.run_directory import read_metadata, run_status

CAMPAIGN = """
name = "{name}"
bench = "sim"
seeds = [1, 2]

[[procedure]]
name = "performance-curve"
parameters = {{ speeds_fraction = "0.6,1.0", valve_openings = "0.3,1.0", dwell_s = 2, steady_window_s = 1 }}

[plant]
npsh3_multiplier = [1.3]

[faults]
kinds = ["controller-fault"]
at_s = [4.0]
"""
WALL_CLOCK_FIELDS = ("start_utc", "end_utc")


def write_campaign(directory: Path, name: str) -> Path:
    path = directory / f"{name}.toml"
    path.write_text(CAMPAIGN.format(name=name), encoding="utf-8")
    return path


def differences(campaign_run: Path, alone: Path, ignore: tuple[str, ...] = WALL_CLOCK_FIELDS) -> list[str]:
    """Every file byte for byte; metadata.json equal but for its wall-clock start and end."""
    names = sorted(p.name for p in campaign_run.iterdir())
    found = [] if names == sorted(p.name for p in alone.iterdir()) else [f"files {names}"]
    for name in names:
        a, b = (campaign_run / name).read_bytes(), (alone / name).read_bytes()
        if name == "metadata.json":
            ma, mb = json.loads(a), json.loads(b)
            for key in ignore:
                assert ma.pop(key) and mb.pop(key)
            for document in (ma, mb):  # the metadata's own digest covers its wall-clock times
                assert document["checksums"].pop("metadata")
            if ma != mb:
                found.append(f"{name}: {sorted(k for k in ma.keys() | mb.keys() if ma.get(k) != mb.get(k))}")
        elif a != b:
            first = next(
                (n for n, (x, y) in enumerate(zip(a.splitlines(), b.splitlines()), start=1) if x != y), None
            )
            found.append(f"{name}: first differing line {first}")
    return found


def made_alone(run: CampaignRun, out: Path) -> Path:
    """The same run made alone with the exact command line the campaign recorded for it."""
    words = shlex.split(run.command_line())
    assert words[:2] == ["hil", "run"]
    main([*words[1:], "--out", str(out), "--quiet"])
    (directory,) = [p for p in out.iterdir() if p.is_dir()]
    return directory


@pytest.fixture(scope="module")
def dask_client() -> Iterator[object]:
    with local_cluster(2) as client:
        yield client


def run_directory(record: RunRecord) -> Path:
    return Path(record.directory)


def test_campaign_on_two_workers_equals_runs_made_alone(tmp_path: Path, dask_client: object) -> None:
    info = dask_client.scheduler_info()  # type: ignore[attr-defined]
    assert info["address"].startswith("tcp://127.0.0.1:") and len(info["workers"]) == 2
    assert all(address.startswith("tcp://127.0.0.1:") for address in info["workers"])  # loopback only
    source = write_campaign(tmp_path, "spread")
    campaign = load_campaign(source, tmp_path / "runs")
    assert len(campaign.runs) == 4  # 2 seeds x (no fault + controller fault at 4 s)
    prepare_campaign(campaign, source)  # writes the plant variant's bench file the runs name
    alone = {run.key: made_alone(run, tmp_path / "alone" / run.key) for run in campaign.runs}
    messages: list[str] = []
    added: list[str] = []

    def catalogue_entry(record: RunRecord) -> None:
        assert record.entry is not None  # read by the worker, beside the run: this process only writes it
        catalogue.add_entry(tmp_path / "runs", record.entry)
        added.append(record.entry.row["path"])

    outcome = run_campaign(
        campaign,
        dask_client.get_executor(pure=False),  # type: ignore[attr-defined]
        messages.append,
        catalogue_entry,
    )
    assert not outcome.failures
    assert outcome.by_status() == {"completed": 2, "aborted": 2}
    for record in outcome.records:
        assert not record.skipped
        assert differences(run_directory(record), alone[record.key]) == []
    assert len(messages) == 1 + 4 and messages[-1].startswith("[4/4]")
    # results landed in the catalogue, as they came, and it equals one rebuilt from the directories
    assert len(added) == 4
    incremental = catalogue.dump(tmp_path / "runs")
    catalogue.rebuild(tmp_path / "runs")
    assert catalogue.dump(tmp_path / "runs") == incremental
    rows = catalogue.list_runs(tmp_path / "runs", catalogue.RunFilter(campaign="spread", status="aborted"))
    assert len(rows) == 2 and all(r["trips"] == 1 for r in rows)
    # fleet re-analysis on the same cluster: every run's results re-derive exactly from its log
    summaries = replay_many(
        catalogue.find_run_directories(tmp_path / "runs"),
        dask_client.get_executor(pure=False),  # type: ignore[attr-defined]
    )
    assert len(summaries) == 4 and all(s.equal and s.error is None for s in summaries)


def dies_once(run: CampaignRun) -> RunRecord:
    """Kills its own worker process (SIGKILL, nothing cleaned up) in the middle of the first attempt
    of the campaign's first run, once the speed ramp is logged; any later attempt runs."""
    marker = Path(run.slot).parent / f"killed-{run.key}"
    chosen = run.key == sorted(p.name for p in Path(run.slot).parent.glob("performance-curve-*"))[0]

    def progress(message: str) -> None:
        if chosen and message.startswith("point 1/"):
            try:
                marker.touch(exist_ok=False)
            except FileExistsError:
                return
            os.kill(os.getpid(), signal.SIGKILL)

    return execute_run(run, progress)


def test_a_killed_worker_has_its_run_retried_and_nothing_is_lost(tmp_path: Path, dask_client: object) -> None:
    campaign = load_campaign(write_campaign(tmp_path, "killed"), tmp_path / "runs")
    for run in campaign.runs:  # the slots exist before any worker looks for the first one
        Path(run.slot).mkdir(parents=True)
    outcome = run_campaign(
        campaign,
        dask_client.get_executor(pure=False),  # type: ignore[attr-defined]
        execute=dies_once,
    )
    assert not outcome.failures
    assert sorted(r.key for r in outcome.records) == sorted(run.key for run in campaign.runs)
    assert outcome.by_status() == {"completed": 2, "aborted": 2}
    killed = sorted(run.key for run in campaign.runs)[0]
    assert (campaign.directory / f"killed-{killed}").exists()  # the worker really died in that run
    (retried,) = [r for r in outcome.records if r.key == killed]
    run = next(r for r in campaign.runs if r.key == killed)
    assert differences(run_directory(retried), made_alone(run, tmp_path / "alone")) == []
    # the broken attempt is kept aside, as the kill left it: interrupted mid-run
    (attempt,) = (campaign.directory / ATTEMPTS / killed).iterdir()
    assert run_status(attempt) == "interrupted"
    assert 0 < len((attempt / "samples.csv").read_text().splitlines()) - 1
    assert not (attempt / "samples.parquet").exists()
    # the catalogue does not index the set-aside attempt
    catalogue.rebuild(tmp_path / "runs")
    assert len(catalogue.list_runs(tmp_path / "runs")) == 4


def test_a_resumed_campaign_skips_what_is_done(tmp_path: Path, dask_client: object) -> None:
    source = write_campaign(tmp_path, "resumed")
    campaign = load_campaign(source, tmp_path / "runs")
    # the first pass through the command, pointed at the running cluster by its scheduler's address
    address = dask_client.scheduler.address  # type: ignore[attr-defined]
    assert address.startswith("tcp://127.0.0.1:")
    report = tmp_path / "first.json"
    command = ["campaign", str(source), "--out", str(tmp_path / "runs"), "--scheduler", address]
    assert main([*command, "--quiet", "--json", str(report)]) == 0
    first_runs = json.loads(report.read_text())["runs"]
    assert len(first_runs) == 4 and not any(r["skipped"] for r in first_runs)
    first = run_campaign(campaign, SynchronousExecutor())  # nothing left to run: reads what is there
    assert first.skipped == 4
    assert sorted(r.directory for r in first.records) == sorted(r["directory"] for r in first_runs)
    assert len(catalogue.list_runs(tmp_path / "runs", catalogue.RunFilter(campaign="resumed"))) == 4
    before = {r.key: os.stat(r.directory).st_mtime_ns for r in first.records}
    files_before = {r.key: (Path(r.directory) / "samples.csv").stat().st_mtime_ns for r in first.records}
    # one run is left as a killed worker leaves it: metadata still "running", journal held by nobody
    broken = first.records[1]
    metadata = read_metadata(Path(broken.directory))
    metadata["status"] = "running"
    (Path(broken.directory) / "metadata.json").write_text(json.dumps(metadata))
    assert run_status(Path(broken.directory)) == "interrupted"

    executed: list[str] = []

    def counting(run: CampaignRun) -> RunRecord:
        executed.append(run.key)
        return execute_run(run)

    resumed = run_campaign(load_campaign(source, tmp_path / "runs"), SynchronousExecutor(), execute=counting)
    assert executed == [broken.key]
    assert resumed.skipped == 3
    # the run made again equals the one set aside (which had been complete but for its status)
    (set_aside,) = (campaign.directory / ATTEMPTS / broken.key).iterdir()
    (redone,) = [r for r in resumed.records if r.key == broken.key]
    assert differences(Path(redone.directory), set_aside, (*WALL_CLOCK_FIELDS, "status")) == []
    for record in resumed.records:
        if record.key != broken.key:
            assert record.directory == next(r.directory for r in first.records if r.key == record.key)
            assert os.stat(record.directory).st_mtime_ns == before[record.key]
            assert (Path(record.directory) / "samples.csv").stat().st_mtime_ns == files_before[record.key]
    # and a third time there is nothing left to do
    third = run_campaign(load_campaign(source, tmp_path / "runs"), SynchronousExecutor(), execute=counting)
    assert third.skipped == 4 and executed == [broken.key]


def test_hil_campaign_command_catalogues_and_summarises(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "npsh.toml"
    source.write_text(
        """
name = "npsh-spread"
bench = "sim"
out = "runs"

[[procedure]]
name = "npsh3"
parameters = { flows_m3_s = "0.0004", dwell_s = 2, steady_window_s = 1 }

[spread]
samples = 2
seed = 3
npsh3_multiplier = { mean = 1.15, sd = 0.05 }
""",
        encoding="utf-8",
    )
    assert main(["campaign", str(source), "--workers", "0", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "2 completed" in out
    assert "npsh3_m@0.0004" in out  # the NPSH3 distribution over the spread
    runs = catalogue.list_runs(tmp_path / "runs", catalogue.RunFilter(campaign="npsh-spread"))
    assert len(runs) == 2
    values = [catalogue.show_run(tmp_path / "runs", r["path"])["quantities"]["npsh3_m@0.0004"] for r in runs]
    # the spread drew two different inlets: NPSH3 scales with the drawn multiplier
    plan = json.loads((tmp_path / "runs" / "npsh-spread" / "campaign.json").read_text())
    multipliers = [r["plant"]["npsh3_multiplier"] for r in plan["runs"]]
    assert multipliers[0] != multipliers[1]
    by_key = {r["key"]: r["plant"]["npsh3_multiplier"] for r in plan["runs"]}
    ordered = sorted(zip((by_key[r["path"].split("/")[1]] for r in runs), values))
    assert ordered[0][1] < ordered[1][1]
    ratio = ordered[1][1] / ordered[0][1]
    assert ratio == pytest.approx(ordered[1][0] / ordered[0][0], rel=0.05)


def test_the_sizing_monte_carlo_on_the_cluster_equals_it_in_process(dask_client: object) -> None:
    """The Monte Carlo of the sizing takes the same executor: draws split over two worker processes
    give exactly the draws made here, one chunk after another."""
    import numpy as np

    from hil.model.sizing.mission import load_mission
    from hil.model.sizing.monte_carlo import monte_carlo
    from hil.model.sizing.optimise import optimise_electric
    from tests.sizing_samples import SAMPLE

    inputs = load_mission(SAMPLE)
    design = optimise_electric(inputs).design
    here = monte_carlo(inputs, None, design, samples=16, seed=4, chunk=16)
    there = monte_carlo(
        inputs,
        None,
        design,
        samples=16,
        seed=4,
        chunk=4,
        executor=dask_client.get_executor(pure=False),  # type: ignore[attr-defined]
    )
    np.testing.assert_array_equal(here.total_mass_kg, there.total_mass_kg)
    np.testing.assert_array_equal(here.min_npsh_ratio, there.min_npsh_ratio)
    np.testing.assert_array_equal(here.peak_electrical_power_w, there.peak_electrical_power_w)
