"""Config fuzzing: bench, mission, pump-model and pump files mutated every way a hand, an editor or a
disk can mutate them, fed to the readers the command line uses; each must be accepted or refused
with one ConfigError naming the file, never any other exception (a traceback for the user).

Seeds are the shipped files (``hil/data/*.toml``, ``examples/*.toml``, the default pump model).
Hypothesis draws up to three structural mutations of a seed's data (a value replaced by NaN, inf,
1e308, -1, a 400-digit integer, a wrong type, a string, a list or a table; a key deleted, added or
renamed; a value wrapped in a list or a table), writes the file, then optionally mutates its bytes
(a non-UTF-8 byte, a truncation, a byte-order mark, 100,000-deep nesting, a 5,000-digit integer, a
duplicated line). The readers are the command line's own, in process: ``load_bench`` with the
checks ``hil bench check`` makes before connecting, ``load_mission`` (``hil optimize``),
``load_pump_model`` and ``load_pump_definition`` (``hil run --pump``).

Cases per kind (derandomized: the same cases on every run, so a failure reproduces):
``CASES_PER_KIND`` (10,000 for bench, mission and pump-model files); ``pytest --fuzz-scale 4`` runs
four times as many (``tests/fuzzing.py``).
"""

from __future__ import annotations

import copy
import json
import math
import struct
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from hil.bench.config import load_bench
from hil.core.errors import ConfigError
from hil.model.pump_model import PumpModel, load_pump_model
from hil.model.sizing.mission import load_mission
from hil.results.pump_definition import load_pump_definition
from hil.run.channel_readings import check_channel_readings
from tests.fuzzing import fuzz_examples

ROOT = Path(__file__).resolve().parents[2]
CASES_PER_KIND = {"bench": 10_000, "mission": 10_000, "pump_model": 10_000, "pump": 2000}
"""10,000 cases for each of the three file kinds a bench team writes by hand most (bench, mission,
pump model), in every run of the suite. Measured CPU time per case (1,000 cases a kind, 2-core
machine at load 3-4): bench 1.6 ms, mission 1.7 ms, pump model 0.8 ms, pump 0.9 ms, most of it now
the readers themselves; about 42 s of CPU in all, spread over the workers. It was 3.9, 3.2, 1.6 and
2.7 ms (88 s) before three changes, each measured: the product reads TOML with the compiled parser
(:mod:`hil.core.config_files`), an untouched line of the seed is not written anew
(:func:`_toml_document`), and hypothesis draws ten cases per example (``RECIPES_PER_EXAMPLE``). The
cases themselves are unchanged: the same recipes give byte-identical files (checked on 24,000
random recipes against the earlier writer). ``--fuzz-scale 4`` runs four times as many."""


def _read_bench(path: Path) -> object:
    config = load_bench(str(path))
    check_channel_readings(config)  # what ``hil bench check`` checks before connecting
    return config


def _toml_seeds(*paths: Path) -> list[dict[str, Any]]:
    return [tomllib.loads(path.read_text(encoding="utf-8")) for path in paths]


SEEDS: dict[str, tuple[list[Any], str, Callable[[Path], object]]] = {
    "bench": (_toml_seeds(*sorted((ROOT / "hil" / "data").glob("sim_*bench.toml"))), "toml", _read_bench),
    "mission": (
        _toml_seeds(
            ROOT / "hil" / "data" / "lander_mission.toml", *sorted((ROOT / "examples").glob("*.toml"))
        ),
        "toml",
        load_mission,
    ),
    "pump_model": ([PumpModel.default().to_dict()], "json", load_pump_model),
    "pump": (_toml_seeds(ROOT / "hil" / "data" / "sim_pump.toml"), "toml", load_pump_definition),
}


ODD_VALUES: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    1e308,
    -1e308,
    5e-324,
    -1,
    0,
    -0.0,
    10**400,
    -(10**400),
    2**63,
    2**64 + 1,
    True,
    False,
    "",
    "x",
    "nan",
    "1e9",
    "\u2603 snow",
    "a\nb",
    [],
    {},
    [1, "a"],
    [math.nan],
    {"a": 1},
    {"": {"": []}},
]
OPERATIONS = ("set", "set", "set", "delete", "add", "rename", "wrap_list", "wrap_table")
RECIPE_BYTES = 48
"""A case is drawn as 48 bytes and decoded into a seed, up to three mutations and a byte mutation
(:func:`_decode`): drawing bytes costs hypothesis 0.7 ms a case where the equivalent composite
strategies (lists of tuples of floats, texts, lists) cost 3.5 ms, five times the reading itself;
hypothesis still shrinks a failure, byte by byte, to the simplest recipe."""
RECIPES_PER_EXAMPLE = 10
"""Hypothesis draws ten recipes at a time (one 480-byte string) and the test checks each: its own
work for an example (a fresh PRNG, its tree of drawn choices, the bookkeeping) cost 1.0-1.3 ms,
more than many a reading, and is now paid once per ten cases. The cases are as many and drawn the
same way; a failing batch shrinks to the failing recipe with the other nine shrunk to zeros (the
plainest case, which reads)."""
BATCH_BYTES = RECIPE_BYTES * RECIPES_PER_EXAMPLE
BYTE_MUTATIONS = ("none", "none", "none", "non_utf8", "truncate", "bom", "deep", "huge_int", "duplicate_line")


def _value(selector: int, raw: bytes) -> Any:
    """A replacement value: one of the odd ones, or any float, integer, huge integer, text or list."""
    choice = selector % (len(ODD_VALUES) + 5)
    if choice < len(ODD_VALUES):
        return ODD_VALUES[choice]
    kind = choice - len(ODD_VALUES)
    if kind == 0:
        return struct.unpack("<d", raw)[0]  # every bit pattern: NaNs, infinities, subnormals
    if kind == 1:
        return struct.unpack("<q", raw)[0]
    if kind == 2:
        return (-1) ** raw[1] * 10 ** (raw[0] * 2)  # up to 510 digits
    if kind == 3:
        return raw.decode("latin-1")  # control characters included
    return [struct.unpack("<f", raw[:4])[0], raw[4]]


def _decode(recipe: bytes) -> tuple[int, list[tuple[list[int], str, Any]], str, int]:
    """(seed, mutations, byte mutation, position) from a recipe's bytes."""
    seed, count, byte_operation = (
        recipe[0],
        1 + recipe[1] % 3,
        BYTE_MUTATIONS[recipe[2] % len(BYTE_MUTATIONS)],
    )
    position = int.from_bytes(recipe[3:5], "little")
    mutations = []
    for index in range(count):
        chunk = recipe[5 + 14 * index : 5 + 14 * (index + 1)]
        path = list(chunk[1 : 1 + chunk[0] % 5])
        mutations.append((path, OPERATIONS[chunk[5] % len(OPERATIONS)], _value(chunk[6], chunk[6:14])))
    return seed, mutations, byte_operation, position


def _mutate(data: dict[str, Any], path: list[int], operation: str, value: Any) -> str:
    """Apply one mutation at the container the path leads to (each step picks a child by index);
    return the top-level key whose value it changed (or added), so only that line is written anew.

    Copy on write: ``data`` is a copy of the seed's top-level table, and each container the path
    passes through is copied into its parent before the step into it, so the mutation changes
    copies only and every container it did not pass through is still the seed's own (whose text
    :func:`_toml_value` has ready). The data it leaves is equal to what mutating a whole copy of the
    seed left (checked: the same bytes as before for 80,000 recipes)."""
    node: Any = data
    top_key: str | None = None
    for step in path:
        children = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        containers = [(name, child) for name, child in children if isinstance(child, dict | list) and child]
        if not containers:
            break
        name, child = containers[step % len(containers)]
        copied = dict(child) if isinstance(child, dict) else list(child)
        node[name] = copied
        node = copied
        if top_key is None:
            top_key = str(name)  # the first step is taken in the top-level table: a key
    if isinstance(node, dict):
        keys = sorted(node)
        if operation == "add" or not keys:
            key = f"extra_{len(keys)}"
            node[key] = value
        else:
            key = keys[(path[-1] if path else 0) % len(keys)]
            if operation == "delete":
                del node[key]
            elif operation == "rename":
                node[f"{key}_x"] = node.pop(key)
                key = f"{key}_x"
            elif operation == "wrap_list":
                node[key] = [node[key]]
            elif operation == "wrap_table":
                node[key] = {"value": node[key]}
            else:
                node[key] = value
        return top_key if top_key is not None else key
    if isinstance(node, list):
        if operation == "add" or not node:
            node.append(value)
        else:
            index = (path[-1] if path else 0) % len(node)
            if operation == "delete":
                del node[index]
            elif operation == "wrap_list":
                node[index] = [node[index]]
            elif operation == "wrap_table":
                node[index] = {"value": node[index]}
            else:
                node[index] = value
    assert top_key is not None  # a list is only reached through a top-level key
    return top_key


def _toml_value(value: Any) -> str:
    if type(value) in (dict, list):
        seed_text = _SEED_TEXTS.get(id(value))
        if seed_text is not None:
            return seed_text
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_key(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TOML for {value!r}")


_QUOTED_KEYS: dict[str, str] = {}


def _toml_key(key: str) -> str:
    """A key as a quoted TOML string; remembered, since the seeds' keys recur in every case."""
    quoted = _QUOTED_KEYS.get(key)
    if quoted is None:
        quoted = _QUOTED_KEYS[key] = json.dumps(key, ensure_ascii=False)
    return quoted


def _toml_line(key: str, value: Any) -> str:
    return f"{_toml_key(key)} = {_toml_value(value)}\n"


def _toml_document(data: dict[str, Any], seed_lines: dict[str, str], changed: set[str]) -> str:
    """Tables as inline tables: one ``key = value`` line per top-level key (valid TOML 1.0). A line
    the mutations did not touch is the seed's, written once (writing a seed's ~150 values anew was
    half of a bench case's time)."""
    return "".join(
        _toml_line(key, value) if key in changed or key not in seed_lines else seed_lines[key]
        for key, value in data.items()
    )


_SEED_TEXTS: dict[int, str] = {}
"""The TOML text of every table and list inside the TOML seeds, by identity: a case's mutations copy
the containers they change (:func:`_mutate`), so a container of the seed met while writing a changed
line is unchanged and its text is this one. With the copy on write (no whole copy of the seed per
case), making the bytes of 80,000 cases (20,000 of each kind) took 4.6 s of CPU instead of 7.1 s, the
bytes identical for every one. The seeds live as long as the module, so no other object can take one
of their identities."""


def _remember_seed_texts(value: Any) -> None:
    if type(value) in (dict, list):
        for child in value.values() if isinstance(value, dict) else value:
            _remember_seed_texts(child)
        _SEED_TEXTS[id(value)] = _toml_value(value)


for _kind, (_seeds, _syntax, _) in SEEDS.items():
    if _syntax == "toml":
        for _seed in _seeds:
            _remember_seed_texts(_seed)

SEED_LINES = {
    kind: [{key: _toml_line(key, value) for key, value in seed.items()} for seed in seeds]
    for kind, (seeds, syntax, _) in SEEDS.items()
    if syntax == "toml"
}
"""Each TOML seed's top-level lines, written once."""


def _mutate_bytes(raw: bytes, syntax: str, operation: str, position: int) -> bytes:
    at = position % (len(raw) + 1)
    if operation == "non_utf8":
        return raw[:at] + b"\xff\xfe" + raw[at:]
    if operation == "truncate":
        return raw[:at]
    if operation == "bom":
        return b"\xef\xbb\xbf" + raw
    if operation == "deep":
        nest = b"[" * 100_000 + b"]" * 100_000
        return raw + b"deep = " + nest + b"\n" if syntax == "toml" else b'{"deep": ' + nest + b", " + raw[1:]
    if operation == "huge_int":
        digits = b"9" * 5000
        return (
            raw + b"huge = " + digits + b"\n" if syntax == "toml" else b'{"huge": ' + digits + b", " + raw[1:]
        )
    if operation == "duplicate_line":
        lines = raw.splitlines(keepends=True)
        if lines:
            line = lines[position % len(lines)]
            return raw + (line if line.endswith(b"\n") else line + b"\n")
    return raw


def _check_one(
    kind: str, directory: Path, seed: int, mutations: list[Any], byte_operation: str, position: int
) -> None:
    seeds, syntax, read = SEEDS[kind]
    data = dict(seeds[seed % len(seeds)])  # copied on write below the top level (_mutate)
    changed = {_mutate(data, path, operation, copy.deepcopy(value)) for path, operation, value in mutations}
    if syntax == "toml":
        text = _toml_document(data, SEED_LINES[kind][seed % len(seeds)], changed)
    else:
        text = json.dumps(data, allow_nan=True)
    raw = _mutate_bytes(text.encode("utf-8"), syntax, byte_operation, position)
    path = directory / f"{kind}.{syntax}"
    # A new file each case, not the last case's overwritten: on ext4, truncating a file whose data is
    # not yet on disk forces it out first (auto_da_alloc), 3 ms a case; removing it first costs 0.2 ms.
    path.unlink(missing_ok=True)
    path.write_bytes(raw)
    try:
        read(path)
    except ConfigError as exc:
        assert str(path) in str(exc), f"the error does not name the file: {exc}"


@pytest.mark.parametrize("kind", list(SEEDS))
def test_a_mutated_file_is_read_or_refused_with_one_clear_error(
    kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    directory = tmp_path_factory.mktemp(f"fuzz_{kind}")

    @settings(
        max_examples=fuzz_examples(CASES_PER_KIND[kind]) // RECIPES_PER_EXAMPLE,
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(recipes=st.binary(min_size=BATCH_BYTES, max_size=BATCH_BYTES))
    def fuzz(recipes: bytes) -> None:
        for start in range(0, BATCH_BYTES, RECIPE_BYTES):
            seed, mutations, byte_operation, position = _decode(recipes[start : start + RECIPE_BYTES])
            try:
                _check_one(kind, directory, seed, mutations, byte_operation, position)
            except BaseException:
                # Written only for a failing case (hypothesis shows it with the shrunk example): the
                # repr of a case's values (510-digit integers, long texts) costs more than a reading.
                note(f"seed {seed}, mutations {mutations!r}, bytes {byte_operation} at {position}")
                raise

    fuzz()
