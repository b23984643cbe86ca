"""The campaign file and its expansion into virtual-bench runs.

A campaign is a TOML file describing a matrix; every combination is one run::

    name = "spread"                 # required: the campaign's directory under `out`
    bench = "sim"                   # required: a bench file with a [virtual] table
    out = "runs"                    # parent of the campaign directory (default: runs)
    seeds = [1, 2]                  # each combination once per seed (default: the bench file's seed)

    [[procedure]]                   # one or more
    name = "performance-curve"
    # a scalar is one value; a list is an axis of alternatives (one run each)
    parameters = { dwell_s = 4, valve_openings = ["0.2,0.5,1.0", "0.3,0.6,1.0"] }

    [plant]                         # plant variations: each key a list of values, one variant each
    npsh3_multiplier = [1.0, 1.3]

    [spread]                        # manufacturing spread: `samples` plants drawn at random
    samples = 8
    seed = 7
    head_coefficient_shutoff = { mean = 5.8, sd = 0.1 }

    [faults]                        # fault kinds x moments (bench seconds), plus a run without
    kinds = ["stuck", "silence:power"]
    at_s = [5.0, 20.0]
    without = true                  # default true

    [acceptance]                    # optional: judge every run at a guarantee, as `hil run` does
    pump = "pump.toml"
    guarantee = "0.00045,200"
    grade = "2B"
    grades = "grades.toml"

A parameter whose own value is a list (``speeds_fraction``, ``valve_openings``, ``flows_m3_s``) is
written as one comma-separated string, as on the command line: a TOML list there means
alternatives. The runs are the product procedures x parameter alternatives x plant variants (the
``[plant]`` axes, each variant then crossed with every ``[spread]`` sample) x fault sets x seeds.

Each run is identified by a key made from everything that decides its result (procedure,
parameters, bench file text, seed, faults, acceptance settings), so re-reading an unchanged file
gives the same keys: that is what lets a campaign resume. A plant variant is a bench file: a copy of
the campaign's bench file with the variant's ``[virtual.plant]`` values, written once into the
campaign directory (``benches/``), so every run can be made again alone with ``hil run ... --bench
THAT_FILE`` (``campaign.json`` lists the exact command line of each run). Paths in the file are
relative to the campaign file.

A real bench (a bench file without ``[virtual]``) is never part of a campaign: it is refused here,
before anything starts. Every field is checked with :class:`hil.core.config.Section`.

Imports :mod:`hil.core`, :mod:`hil.bench` (the bench file), :mod:`hil.run` (procedures, the plant
check) and :mod:`hil.results` (acceptance settings).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import shlex
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import tomlkit

from hil.bench.config import BenchConfig, load_bench, resolve_bench_path
from hil.core.config import Section, load_toml
from hil.core.errors import ConfigError
from hil.run.procedure_api import load_procedure
from hil.run.virtual import check_plant_table

CAMPAIGN_PLAN = "campaign.json"
CAMPAIGN_COPY = "campaign.toml"
BENCHES = "benches"


@dataclass(frozen=True)
class AcceptanceInputs:
    """What ``hil run --pump/--guarantee/--grade/--grades`` would be given (paths absolute)."""

    pump: str | None = None
    guarantee: str | None = None
    grade: str | None = None
    grades: str | None = None


@dataclass(frozen=True)
class CampaignRun:
    """One run of a campaign: everything its result depends on, and where it goes.

    Picklable and self-contained: a worker on another machine needs nothing else (but the files it
    names, at the same paths).
    """

    key: str
    procedure: str
    parameters: dict[str, str]
    bench: str
    seed: int
    faults: tuple[str, ...]
    acceptance: AcceptanceInputs
    slot: str
    """The run's own directory in the campaign directory; the run directory is made inside it."""
    plant: dict[str, float] = field(default_factory=dict)
    """The plant values this run's variant sets (informative: the bench file holds them)."""

    def command_line(self) -> str:
        """The ``hil run`` command that makes this same run alone."""
        words = ["hil", "run", self.procedure, "--bench", self.bench, "--seed", str(self.seed)]
        for name, value in self.parameters.items():
            words += ["-p", f"{name}={value}"]
        for fault in self.faults:
            words += ["--fault", fault]
        for option, value in asdict(self.acceptance).items():
            if value is not None:
                words += [f"--{option}", value]
        return shlex.join(words)


@dataclass(frozen=True)
class Campaign:
    name: str
    source: str
    directory: Path
    runs: list[CampaignRun]
    bench_texts: dict[str, str]
    """Bench variant files to write: path -> text."""


# ------------------------------------------------------------------------------------ reading


def load_campaign(path: Path, out: Path | None = None) -> Campaign:
    """Read and expand a campaign file; ``out`` overrides its ``out`` (the campaign's parent)."""
    data = load_toml(path)
    return parse_campaign(data, str(path), path.parent, out)


def _value_text(section: Section, key: str, value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise section.error(key, f"expected a string or a number (or a list of them), got {value!r}")
    return value if isinstance(value, str) else repr(value) if isinstance(value, float) else str(value)


def _alternatives(section: Section, key: str) -> list[str]:
    value = section.raw(key)
    values = value if isinstance(value, list) else [value]
    if not values:
        raise section.error(key, "an empty list of alternatives gives no run")
    return [_value_text(section, key, v) for v in values]


def _relative_to(base: Path, text: str) -> str:
    path = Path(text).expanduser()
    return str(path if path.is_absolute() else (base / path).resolve())


def _procedure_runs(section: Section) -> list[tuple[str, dict[str, str]]]:
    name = section.get("name", str)
    try:
        spec = load_procedure(name)
    except ConfigError as exc:
        raise section.error("name", exc.problem) from exc
    params = section.section("parameters", {})
    axes: dict[str, list[str]] = {}
    for key in params.data:
        axes[key] = _alternatives(params, key)
    params.finish()
    section.finish()
    combos = []
    for values in itertools.product(*axes.values()):
        overrides = dict(zip(axes, values))
        try:
            spec.resolve(overrides)
        except ConfigError as exc:
            raise section.error(f"parameters.{exc.field.removeprefix('-p ')}", exc.problem) from exc
        combos.append((name, overrides))
    return combos


def _plant_variants(top: Section) -> list[dict[str, float]]:
    axes: dict[str, list[float]] = {}
    if top.has("plant"):
        plant = top.section("plant")
        for key in plant.data:
            raw = plant.raw(key)
            values = raw if isinstance(raw, list) else [raw]
            if not values or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values):
                raise plant.error(key, "expected a number or a list of numbers")
            axes[key] = [float(v) for v in values]
        plant.finish()
    variants = [dict(zip(axes, values)) for values in itertools.product(*axes.values())]
    if not top.has("spread"):
        return variants
    spread = top.section("spread")
    samples = spread.get("samples", int, minimum=1, maximum=100_000)
    seed = spread.get("seed", int, minimum=0)
    laws: dict[str, tuple[float, float]] = {}
    for key in [k for k in spread.data if k not in ("samples", "seed")]:
        law = spread.section(key)
        laws[key] = (law.get("mean", float), law.get("sd", float, minimum=0.0))
        law.finish()
    spread.finish()
    if not laws:
        raise spread.error("samples", "a spread needs at least one parameter = { mean = ..., sd = ... }")
    # One generator for the whole table, drawn sample by sample in file order: the draws are a pure
    # function of the file.
    rng = np.random.default_rng(seed)
    draws = [{k: float(rng.normal(mean, sd)) for k, (mean, sd) in laws.items()} for _ in range(samples)]
    return [{**variant, **draw} for variant in variants for draw in draws]


def _fault_sets(top: Section) -> list[tuple[str, ...]]:
    if not top.has("faults"):
        return [()]
    faults = top.section("faults")
    kinds = faults.raw("kinds")
    moments = faults.raw("at_s")
    without = faults.get("without", bool, True)
    faults.finish()
    if not isinstance(kinds, list) or not kinds or not all(isinstance(k, str) and k for k in kinds):
        raise faults.error("kinds", 'expected a list of fault kinds, e.g. ["stuck", "silence:power"]')
    if not isinstance(moments, list) or not moments:
        raise faults.error("at_s", "expected a list of bench times in seconds")
    for moment in moments:
        if isinstance(moment, bool) or not isinstance(moment, (int, float)) or not 0 <= moment < math.inf:
            raise faults.error("at_s", f"expected bench times >= 0 s, got {moment!r}")
    sets: list[tuple[str, ...]] = [()] if without else []
    for kind in kinds:
        if "@" in kind:
            raise faults.error("kinds", f"give the kind without a moment ({kind!r}); moments go in at_s")
        sets += [(f"{kind}@{float(moment)!r}",) for moment in moments]
    return sets


def _bench_variant(base: BenchConfig, plant: Mapping[str, float]) -> str:
    """The base bench file's text with the variant's ``[virtual.plant]`` values (comments kept)."""
    document = tomlkit.parse(base.text)
    table: Any = document["virtual"]
    if "plant" not in table:
        table["plant"] = tomlkit.table()
    for key, value in plant.items():
        table["plant"][key] = value
    return tomlkit.dumps(document)


def _key(
    procedure: str, parameters: Mapping[str, str], bench_text: str, seed: int, faults: Any, acc: Any
) -> str:
    identity = json.dumps(
        [
            procedure,
            dict(parameters),
            hashlib.sha256(bench_text.encode()).hexdigest(),
            seed,
            list(faults),
            acc,
        ],
        sort_keys=True,
    )
    return f"{procedure}-s{seed}-{hashlib.sha256(identity.encode()).hexdigest()[:12]}"


def parse_campaign(data: dict[str, Any], source: str, base: Path, out: Path | None = None) -> Campaign:
    """Check a parsed campaign document and expand it; ``base`` resolves its relative paths."""
    top = Section(data, source)
    name = top.get("name", str)
    if not name or "/" in name or name.startswith("."):
        raise top.error("name", f"expected a plain directory name, got {name!r}")
    bench_name = top.get("bench", str)
    bench_path = bench_name if bench_name == "sim" else _relative_to(base, bench_name)
    try:
        bench = load_bench(bench_path)
    except ConfigError as exc:
        raise top.error("bench", str(exc)) from exc
    if bench.virtual is None:
        raise top.error(
            "bench",
            f"{bench.source} is a real bench (no [virtual] table): a campaign runs virtual benches only; "
            "run a real bench one run at a time with 'hil run'",
        )
    out_text = top.get("out", str, "runs")
    parent = out if out is not None else Path(_relative_to(base, out_text))
    directory = parent / name
    seeds_raw = top.raw("seeds", [bench.virtual.seed])
    if (
        not isinstance(seeds_raw, list)
        or not seeds_raw
        or not all(isinstance(s, int) and not isinstance(s, bool) and s >= 0 for s in seeds_raw)
    ):
        raise top.error("seeds", "expected a non-empty list of seeds (integers >= 0)")
    procedures = top.raw("procedure")
    if not isinstance(procedures, list) or not procedures:
        raise top.error("procedure", "expected one or more [[procedure]] tables")
    combos = []
    for index, table in enumerate(procedures):
        combos += _procedure_runs(Section(table, source, f"procedure[{index}]"))
    variants = _plant_variants(top)
    fault_sets = _fault_sets(top)
    acceptance = AcceptanceInputs()
    if top.has("acceptance"):
        section = top.section("acceptance")
        pump, grades = section.get("pump", str, None), section.get("grades", str, None)
        acceptance = AcceptanceInputs(
            pump=None if pump is None else _relative_to(base, pump),
            guarantee=section.get("guarantee", str, None),
            grade=section.get("grade", str, None),
            grades=None if grades is None else _relative_to(base, grades),
        )
        section.finish()
    top.finish()

    bench_texts: dict[str, str] = {}
    variant_benches: list[tuple[str, str, dict[str, float]]] = []  # (bench argument, text, values)
    base_bench = str(resolve_bench_path(bench_path)) if bench_name != "sim" else "sim"
    for variant in variants:
        if not variant:
            variant_benches.append((base_bench, bench.text, {}))
            continue
        check_plant_table({**bench.virtual.plant, **variant}, f"{source}: plant variant {variant}")
        text = _bench_variant(bench, variant)
        path = directory / BENCHES / f"plant-{hashlib.sha256(text.encode()).hexdigest()[:12]}.toml"
        bench_texts[str(path)] = text
        variant_benches.append((str(path), text, variant))
    runs = []
    acc = asdict(acceptance)
    for (procedure, overrides), (bench_arg, text, values), faults, seed in itertools.product(
        combos, variant_benches, fault_sets, seeds_raw
    ):
        key = _key(procedure, overrides, text, seed, faults, acc)
        runs.append(
            CampaignRun(
                key, procedure, overrides, bench_arg, seed, faults, acceptance, str(directory / key), values
            )
        )
    keys = [run.key for run in runs]
    if len(set(keys)) != len(keys):
        raise top.error("(matrix)", "two combinations give the same run: remove the repeated alternative")
    return Campaign(name, source, directory, runs, bench_texts)


def plan_document(campaign: Campaign) -> dict[str, Any]:
    """What ``campaign.json`` holds: every run with its key, settings and ``hil run`` command line."""
    return {
        "campaign": campaign.name,
        "source": campaign.source,
        "runs": [
            {
                "key": run.key,
                "procedure": run.procedure,
                "parameters": run.parameters,
                "bench": run.bench,
                "seed": run.seed,
                "faults": list(run.faults),
                "plant": run.plant,
                "acceptance": asdict(run.acceptance),
                "command": run.command_line(),
            }
            for run in campaign.runs
        ],
    }
