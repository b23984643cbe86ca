"""Campaign throughput on Dask with 1 and 2 workers, and what it predicts for a bigger cluster.

Run: ``.venv/bin/python benchmarks/bench_campaign.py [--runs N] [--repeats R]``

Measured in one process, one after the other:

(a) the cost of one campaign run made in this process (the synchronous executor): the per-run
    cost with no scheduler at all, the baseline;
(b) a campaign of N short performance-curve runs (N seeds) on a local Dask cluster of 1 worker,
    then on one of 2 workers: runs per minute, and the ratio 2 workers / 1 worker. Each worker is
    warmed up first (imports, CoolProp, one tiny run), so the figures are the steady rate a long
    campaign sees, not the start-up;
(c) the scheduler's overhead per task: N_TINY no-op tasks through the same executor;
(d) the client's cost of cataloguing one run as it comes back (the catalogue has one writer).

From these it estimates a cluster's throughput: with W worker processes (one per core) each run
costing ``t_run``, the scheduler ``t_task`` per task and the catalogue ``t_cat`` per run, runs per
minute ~ 60 x min(W / t_run x efficiency, 1 / t_task, 1 / t_cat), with the parallel efficiency
measured here (2-worker ratio / 2). On this shared
2-core machine the 2-worker efficiency is a lower bound: other work competes for the same cores.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from hil.fleet.campaign import load_campaign
from hil.fleet.catalogue import add_entry
from hil.fleet.execution import RunRecord, execute_run, run_campaign
from hil.fleet.executor import SynchronousExecutor, local_cluster

CAMPAIGN = """
name = "{name}"
bench = "sim"
seeds = {seeds}

[[procedure]]
name = "performance-curve"
parameters = {{ speeds_fraction = "0.6,1.0", valve_openings = "0.3,0.6,1.0", dwell_s = 3, steady_window_s = 2 }}
"""
N_TINY = 300


def write_campaign(directory: Path, name: str, seeds: list[int]) -> Path:
    path = directory / f"{name}.toml"
    directory.mkdir(parents=True, exist_ok=True)
    path.write_text(CAMPAIGN.format(name=name, seeds=seeds), encoding="utf-8")
    return path


def warm_up(directory: str) -> int:
    """One tiny run in this worker: imports, fluid properties and the first virtual bench paid once."""
    source = write_campaign(Path(directory), f"warm-{os.getpid()}", [0])
    for run in load_campaign(source).runs:
        execute_run(run)
    return os.getpid()


def campaign_rate(
    client: Any, directory: Path, name: str, seeds: list[int], catalogue_s: list[float]
) -> tuple[float, float]:
    """Runs per minute of a whole campaign on ``client``'s workers (each run catalogued as it comes
    back, as ``hil campaign`` does), and the mean per-run wall time in a worker."""
    campaign = load_campaign(write_campaign(directory, name, seeds))

    def catalogue(record: RunRecord) -> None:
        start = time.perf_counter()
        assert record.entry is not None  # read by the worker: the client only writes it
        add_entry(campaign.directory.parent, record.entry)
        catalogue_s.append(time.perf_counter() - start)

    start = time.perf_counter()
    outcome = run_campaign(campaign, client.get_executor(pure=False), on_record=catalogue)
    elapsed = time.perf_counter() - start
    assert not outcome.failures and len(outcome.records) == len(seeds), outcome.failures
    return 60.0 * len(seeds) / elapsed, statistics.mean(r.wall_s for r in outcome.records)


def scheduler_overhead_s(client: Any) -> float:
    executor = client.get_executor(pure=False)
    futures = [executor.submit(abs, -n) for n in range(50)]  # warm-up
    [f.result() for f in futures]
    start = time.perf_counter()
    futures = [executor.submit(abs, -n) for n in range(N_TINY)]
    [f.result() for f in futures]
    return (time.perf_counter() - start) / N_TINY


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=8, help="runs per campaign (default 8)")
    parser.add_argument("--repeats", type=int, default=1, help="campaigns per cluster size (default 1)")
    args = parser.parse_args(argv)
    seeds = list(range(1, args.runs + 1))
    print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
    with tempfile.TemporaryDirectory(prefix="hil-bench-campaign-") as scratch:
        root = Path(scratch)
        warm_up(str(root))
        campaign = load_campaign(write_campaign(root, "alone", seeds[:3]), root / "alone")
        alone = run_campaign(campaign, SynchronousExecutor()).records
        per_run_alone_s = statistics.median(r.wall_s for r in alone)
        print(f"(a) one run in this process: {per_run_alone_s:.2f} s (median of 3)", flush=True)

        rates: dict[int, list[float]] = {}
        per_run: dict[int, list[float]] = {}
        overhead: dict[int, float] = {}
        catalogue_s: list[float] = []
        for workers in (1, 2):
            with local_cluster(workers) as client:
                client.run(warm_up, str(root))
                for repeat in range(args.repeats):
                    rate, mean_run_s = campaign_rate(
                        client, root / f"w{workers}", f"r{repeat}", seeds, catalogue_s
                    )
                    rates.setdefault(workers, []).append(rate)
                    per_run.setdefault(workers, []).append(mean_run_s)
                    print(
                        f"(b) {workers} worker(s): {len(seeds)} runs at {rate:.1f} runs/min "
                        f"(mean run in a worker {mean_run_s:.2f} s)",
                        flush=True,
                    )
                overhead[workers] = scheduler_overhead_s(client)
                print(
                    f"(c) {workers} worker(s): scheduler overhead {overhead[workers] * 1e3:.2f} ms per task",
                    flush=True,
                )
    one, two = statistics.median(rates[1]), statistics.median(rates[2])
    ratio = two / one
    efficiency = min(1.0, ratio / 2)  # above 1 only when the shared machine's load changed in between
    t_run = statistics.median(per_run[1])
    t_task = max(overhead.values())
    t_catalogue = statistics.median(catalogue_s)
    print()
    print(f"throughput: 1 worker {one:.1f} runs/min, 2 workers {two:.1f} runs/min, ratio {ratio:.2f}")
    print(
        f"per-run cost in a worker {t_run:.2f} s; scheduler {t_task * 1e3:.2f} ms/task; "
        f"2-worker efficiency {efficiency:.2f}"
    )
    print(f"cataloguing one run as it comes back (the client, one writer): {t_catalogue * 1e3:.1f} ms")
    print(f"load average after: {os.getloadavg()[0]:.1f}")
    for nodes, cores in ((16, 1), (16, 8), (16, 32)):
        workers = nodes * cores
        compute = 60 * workers / t_run * efficiency
        scheduler = 60 / t_task
        client = 60 / t_catalogue
        estimate = min(compute, scheduler, client)
        print(
            f"estimate, {nodes} nodes x {cores} cores = {workers} workers: {estimate:,.0f} runs/min "
            f"(compute-bound {compute:,.0f}, scheduler-bound {scheduler:,.0f}, catalogue-bound {client:,.0f})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
