"""Fault matrix: every fault kind of the virtual bench at several moments of a short performance-curve
run, through the real command line (``hil run --fault KIND@SECONDS``), in-process; and, for the
transient and mission-profile procedures, the faults that hit a running pump hardest (the drive, the
tank regulator, a stuck flow reading) during their own short runs (``PROCEDURE_MATRIX``).

For each case it reads the run directory back and works out, from the log alone, what a person
checking the run would look at: the exit status; the trip event, its reason and values; whether the
safe state was commanded in the tick that detected the fault, drive first; whether the next sample
shows the drive released (motor current exactly 0, which only a coasting drive reports); whether the
log has every tick, and every sample before the fault complete; and the read errors a tolerated fault
left. It prints one line a case and the totals: cases run, cases ending safe.

Run: ``python benchmarks/fault_matrix.py`` (``--kinds silence,stuck --moments 1,5`` for a subset).
``tests/system/test_fault_matrix.py`` runs the same cases and asserts each check on its own.

Imports hil and simulators.faults (for the list of kinds) only.
"""

from __future__ import annotations

import argparse
import io
import math
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import hil
from hil.bench.config import load_bench
from hil.cli import main as hil_main
from hil.core.clock import WallClock
from hil.store.run_directory import read_events, read_metadata, read_samples, run_status
from simulators.faults import KINDS

SHORT_RUN = (
    "-p",
    "speeds_fraction=0.6",
    "-p",
    "valve_openings=0.5,1.0",
    "-p",
    "dwell_s=3",
    "-p",
    "steady_window_s=1",
)
"""About 14.4 s of bench time: ramp to 18,000 rpm (0-1.8 s), valve 0.5 (settled about 4.2 s, dwell
to 7.2 s), valve 1.0 (dwell to 12.6 s), ramp down to 14.4 s."""

MOMENTS_S = (1.0, 4.5, 8.0)
"""During the ramp-up, the first point's dwell, and while settling at the second point: late enough
for every fault to develop (the slowest, a collapsing tank, takes about 3 s) before the ramp-down."""

PROCEDURE_RUNS: dict[str, tuple[str, ...]] = {
    "performance-curve": SHORT_RUN,
    "startup": ("-p", "rest_s=1", "-p", "record_s=5"),
    "throttle-steps": ("-p", "speeds_fraction=0.67,1.0", "-p", "settle_s=3", "-p", "dwell_s=4"),
    "endurance": ("-p", "duration_s=10", "-p", "interval_s=4", "-p", "dwell_s=2", "-p", "warm_up_s=2"),
    "mission-profile": ("-p", "prime_s=3"),
}
"""Short runs of each procedure: startup steps to 30,000 rpm at 1 s; throttle-steps ramps to 20,100
rpm (about 1 s), settles, steps at about 4 s; endurance holds 30,000 rpm from about 3 s for 10 s;
mission-profile primes for 3 s after a 1.4 s spin-up and flies a 150 m/s descent (about 27 s)."""

SHORT_MISSION_DELTA_V_M_S = 150.0

PROCEDURE_MATRIX: tuple[tuple[str, str, float], ...] = tuple(
    (procedure, kind, at_s)
    for procedure, at_s in (
        ("startup", 1.5),
        ("throttle-steps", 4.5),
        ("endurance", 4.0),
        ("mission-profile", 6.0),
    )
    for kind in ("controller-fault", "cavitation", "stuck")
)
"""(procedure, kind, moment): the drive latching a fault, the tank regulator failing, the flow reading
freezing, each while the pump runs: just after the start, during the step, at the duty point and in the
first seconds of the burn."""

BENCH = "sim"
TOLERATED = ("timeout", "garble", "bad-checksum", "modbus-exception")
"""One reply lost, garbled, with a bad checksum or refused as busy: the runner's one retry of a read
absorbs it. The run completes; a read_error event records it; no sample is lost."""

EXPECTED_TRIPS: dict[str, tuple[str, float]] = {
    # kind: (trip reason pattern, longest detection time after the fault in bench seconds)
    "silence": (r"^stale data from power meter 'power' ", 1.25),  # stale_data_s = 1 s, then the next tick
    "disconnect": (r"^stale data from [a-zA-Z -]+'(p_inlet|p_outlet|flow)' ", 1.25),
    "stuck": (r"^frozen reading .*: flow_m3_s =", 1.25),  # frozen_data_s = 1 s
    "drift": (r"^outlet pressure above limit:", 2.5),  # +20 bar/s from 3..9 bar to 40 bar
    "nan": (r"^stale data from power meter 'power' ", 1.25),
    "overload": (r"^overload reading: electrical_power_w = inf", 0.0),
    "overpressure": (r"^(flow below minimum while running|outlet pressure above limit)", 4.5),
    "cavitation": (r"^(inlet pressure below limit|flow below minimum while running)", 5.5),  # tau = 2 s
    "motor-overtemp": (r"^motor temperature above limit:", 3.5),  # 30 K/s from about 20 degC to 110 degC
    "controller-fault": (r"^drive reports a fault: drive_fault_code = 3,", 0.0),
}
"""Overpressure and cavitation at 1 s act during the ramp-up; the minimum-flow check waits
flow_check_delay_s (3 s) after the last speed change (1.8 s), hence their longer allowance."""

LINK_INSTRUMENTS = {
    "motor": ("motor",),
    "rs485": ("p_inlet", "p_outlet", "flow"),
    "power": ("power",),
    "daq": ("daq",),
}
IDLE_POWER_W = 20.0
"""A released drive draws only its controller's own consumption (about 4 W on the sim bench)."""


@dataclass
class CaseOutcome:
    """What one fault case's run directory shows (see the module docstring)."""

    kind: str
    at_s: float
    exit_code: int
    run_dir: Path
    wall_s: float
    status: str
    tick_s: float
    rows: int
    contiguous: bool
    complete_before_fault: bool
    complete_throughout: bool
    read_errors: list[dict[str, Any]]
    trips: list[dict[str, Any]]
    safe_events: list[dict[str, Any]]
    drive_name: str
    drive_released_next_tick: bool | None
    last_speed_rpm: float  # of the last row; NaN when the drive could not be read
    running_speed_rpm: float
    faults_in_metadata: list[str] = field(default_factory=list)

    @property
    def trip(self) -> dict[str, Any] | None:
        return self.trips[0] if self.trips else None

    @property
    def safe_at_trip(self) -> dict[str, Any] | None:
        """The first safe_state event at or after the trip: the one the trip itself caused."""
        trip = self.trip
        if trip is None:
            return None
        later = [
            e for e in self.safe_events if e["kind"] == "safe_state" and e["time_s"] >= trip["time_s"] - 1e-9
        ]
        return later[0] if later else None

    @property
    def detection_s(self) -> float:
        trip = self.trip
        return math.nan if trip is None else trip["time_s"] - self.at_s

    def problems(self) -> list[str]:
        """Every check this case fails; empty when it ends safe and as expected."""
        found = []
        if not self.contiguous:
            found.append("ticks missing from the log")
        if not self.complete_before_fault:
            found.append("a sample before the fault is incomplete")
        final = [e for e in self.safe_events if e["kind"] == "safe_state"]
        if not final or self.drive_name not in final[-1].get("commanded", []):
            found.append("the run did not end with the drive commanded safe")
        if any(
            e["kind"] == "safe_state_error" and e.get("instrument") == self.drive_name
            for e in self.safe_events
        ):
            found.append("commanding the drive safe failed")
        if self.kind in TOLERATED:
            if self.exit_code != 0 or self.status != "completed":
                found.append(f"expected completion, got exit {self.exit_code} ({self.status})")
            if self.trips:
                found.append(f"unexpected trip: {self.trips[0]['reason']}")
            if not self.read_errors or abs(self.read_errors[0]["time_s"] - self.at_s) > 1e-6:
                found.append("no read_error event at the fault's time")
            if not self.complete_throughout:
                found.append("a sample was lost although the retry should absorb the fault")
            return found
        pattern, latency_s = EXPECTED_TRIPS[self.kind]
        if self.exit_code != 3 or self.status != "aborted":
            found.append(f"expected exit 3 (aborted), got exit {self.exit_code} ({self.status})")
        trip = self.trip
        if trip is None:
            return found + ["no trip event"]
        if len(self.trips) != 1:
            found.append(f"{len(self.trips)} trip events (a trip is latched: one expected)")
        if not re.search(pattern, trip["reason"]):
            found.append(f"trip reason {trip['reason']!r} does not match {pattern!r}")
        if not trip.get("values"):
            found.append("the trip event has no values")
        if not -1e-6 <= self.detection_s <= latency_s + 1e-6:
            found.append(f"detected {self.detection_s:.2f} s after the fault (allowed 0..{latency_s} s)")
        safe = self.safe_at_trip
        if safe is None or abs(safe["time_s"] - trip["time_s"]) > 1e-9:
            found.append("the safe state was not commanded in the tick that detected the fault")
        elif not safe.get("commanded") or safe["commanded"][0] != self.drive_name:
            found.append("the drive was not the first instrument commanded safe")
        if self.drive_released_next_tick is False:
            found.append("the sample after the trip does not show the drive released")
        if self.last_speed_rpm > 0.1 * self.running_speed_rpm:  # NaN: the speed cannot be read
            found.append(f"the log stops at {self.last_speed_rpm:g} rpm, before the pump has stopped")
        return found

    @property
    def ends_safe(self) -> bool:
        return not self.problems()


def fault_text(kind: str, at_s: float) -> str:
    return f"{kind}@{at_s:g}"


def short_mission(directory: Path) -> Path:
    """The sample lander's mission with a short descent, for the mission-profile cases."""
    sample = Path(hil.__file__).parent / "data" / "lander_mission.toml"
    text = sample.read_text().replace("delta_v_m_s = 2000.0", f"delta_v_m_s = {SHORT_MISSION_DELTA_V_M_S}")
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "short_mission.toml"
    path.write_text(text)
    return path


def run_case(
    kind: str, at_s: float, out_dir: Path, fault: str | None = None, procedure: str = "performance-curve"
) -> CaseOutcome:
    """Run a short run of ``procedure`` with one fault and read back what the run directory shows.

    ``fault`` overrides the fault text (a target or duration of its own); default ``KIND@SECONDS``.
    """
    params = list(PROCEDURE_RUNS[procedure])
    if procedure == "mission-profile":
        params += ["-p", f"mission={short_mission(out_dir.parent / (out_dir.name + '-mission'))}"]
    clock = WallClock()
    start = clock.now_s()
    exit_code = hil_main(
        [
            "run",
            procedure,
            "--bench",
            BENCH,
            "--out",
            str(out_dir),
            "--quiet",
            *params,
            "--fault",
            fault or fault_text(kind, at_s),
        ],
        out=io.StringIO(),
    )
    wall_s = clock.now_s() - start
    (run_dir,) = sorted(p for p in out_dir.iterdir() if p.is_dir())
    return read_case(kind, at_s, exit_code, run_dir, wall_s)


def read_case(kind: str, at_s: float, exit_code: int, run_dir: Path, wall_s: float) -> CaseOutcome:
    config = load_bench(BENCH)
    drive = config.roles["pump_drive"]
    samples = read_samples(run_dir)
    events = read_events(run_dir)
    metadata = read_metadata(run_dir)
    tick_s = float(metadata["tick_s"])
    times = samples["time_s"].to_numpy()
    ticks = np.arange(1, len(times) + 1) * tick_s
    channels = [c for c in samples.columns if c != "time_s"]
    values = samples[channels].to_numpy()
    complete = ~np.isnan(values).any(axis=1)
    before = times < at_s - 1e-9
    trips = [e for e in events if e["kind"] == "trip"]
    released: bool | None = None
    if trips:
        after = samples[times > trips[0]["time_s"] + 1e-9]
        if len(after):
            first = after.iloc[0]
            if not math.isnan(first["motor_current_a"]):
                released = bool(first["motor_current_a"] == 0.0)
            elif not math.isnan(first["electrical_power_w"]):
                released = bool(first["electrical_power_w"] < IDLE_POWER_W)
        else:
            released = False
    return CaseOutcome(
        kind=kind,
        at_s=at_s,
        exit_code=exit_code,
        run_dir=run_dir,
        wall_s=wall_s,
        status=run_status(run_dir),
        tick_s=tick_s,
        rows=len(times),
        contiguous=bool(np.allclose(times, ticks, rtol=0.0, atol=1e-9)),
        complete_before_fault=bool(complete[before].all()) and bool(before.any()),
        complete_throughout=bool(complete.all()),
        read_errors=[e for e in events if e["kind"] == "read_error"],
        trips=trips,
        safe_events=[e for e in events if e["kind"].startswith("safe_state")],
        drive_name=drive,
        drive_released_next_tick=released,
        last_speed_rpm=float(samples["speed_rpm"].iloc[-1]) if len(samples) else math.nan,
        running_speed_rpm=config.limits.running_speed_rpm,
        faults_in_metadata=list(metadata.get("faults", [])),
    )


def cases(
    kinds: Sequence[str] = tuple(KINDS), moments: Sequence[float] = MOMENTS_S
) -> list[tuple[str, float]]:
    return [(kind, at_s) for kind in kinds for at_s in moments]


def format_line(outcome: CaseOutcome) -> str:
    trip = outcome.trip
    what = (
        f"trip +{outcome.detection_s:.1f} s: {trip['reason'][:60]}"
        if trip is not None
        else f"completed, {len(outcome.read_errors)} read_error(s)"
    )
    verdict = "safe" if outcome.ends_safe else "NOT SAFE: " + "; ".join(outcome.problems())
    return (
        f"{fault_text(outcome.kind, outcome.at_s):<22} exit {outcome.exit_code}  {outcome.wall_s:5.1f} s  "
        f"{what:<80} {verdict}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--moments", default=",".join(f"{m:g}" for m in MOMENTS_S))
    parser.add_argument(
        "--out", default=None, help="keep the run directories here (default: a temporary one)"
    )
    parser.add_argument(
        "--procedures", action="store_true", help="also the transient and mission-profile procedures' cases"
    )
    args = parser.parse_args(argv)
    kinds = [k for k in args.kinds.split(",") if k]
    moments = [float(m) for m in args.moments.split(",") if m]
    clock = WallClock()
    start = clock.now_s()
    with tempfile.TemporaryDirectory(prefix="fault-matrix-") as scratch:
        root = Path(args.out) if args.out else Path(scratch)
        outcomes = []
        for index, (kind, at_s) in enumerate(cases(kinds, moments)):
            outcome = run_case(kind, at_s, root / f"{index:02d}-{kind}-{at_s:g}")
            outcomes.append(outcome)
            print(format_line(outcome), flush=True)
        if args.procedures:
            for index, (procedure, kind, at_s) in enumerate(PROCEDURE_MATRIX):
                outcome = run_case(kind, at_s, root / f"p{index:02d}-{procedure}-{kind}", procedure=procedure)
                outcomes.append(outcome)
                print(f"{procedure:<17} {format_line(outcome)}", flush=True)
    safe = sum(o.ends_safe for o in outcomes)
    print(f"\ncases run: {len(outcomes)}, ending safe: {safe}, wall time {clock.now_s() - start:.1f} s")
    return 0 if safe == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
