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
import pickle
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
pump model), in every run of the suite. Measured CPU time per case (1,000 cases a kind, on the loaded
2-core machine): bench 3.2-3.8 ms, mission 2.5-3.1 ms (most mutations are refused before CEA runs),
pump model 1.5-2.0 ms, pump 2.1-2.3 ms; of it the reader 0.4-1.5 ms, hypothesis's draw and bookkeeping
0.6 ms, the seed's copy, the file's text and its writing 0.1-0.6 ms. About 80 s of CPU in all, the
largest single cost of the suite (spread over the workers), accepted because these readers are what
stands between a typo and a moving pump. ``--fuzz-scale 4`` runs four times as many."""


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

PICKLED_SEEDS = {kind: [pickle.dumps(seed) for seed in seeds] for kind, (seeds, _, _) in SEEDS.items()}
"""Each case starts from a fresh copy of its seed: unpickling one costs a tenth of ``copy.deepcopy``."""

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


def _mutate(data: Any, path: list[int], operation: str, value: Any) -> None:
    """Apply one mutation at the container the path leads to (each step picks a child by index)."""
    node = data
    for step in path:
        children = list(node.values()) if isinstance(node, dict) else node
        containers = [c for c in children if isinstance(c, dict | list) and c]
        if not containers:
            break
        node = containers[step % len(containers)]
    if isinstance(node, dict):
        keys = sorted(node)
        if operation == "add" or not keys:
            node[f"extra_{len(keys)}"] = value
            return
        key = keys[(path[-1] if path else 0) % len(keys)]
        if operation == "delete":
            del node[key]
        elif operation == "rename":
            node[f"{key}_x"] = node.pop(key)
        elif operation == "wrap_list":
            node[key] = [node[key]]
        elif operation == "wrap_table":
            node[key] = {"value": node[key]}
        else:
            node[key] = value
    elif isinstance(node, list):
        if operation == "add" or not node:
            node.append(value)
            return
        index = (path[-1] if path else 0) % len(node)
        if operation == "delete":
            del node[index]
        elif operation == "wrap_list":
            node[index] = [node[index]]
        elif operation == "wrap_table":
            node[index] = {"value": node[index]}
        else:
            node[index] = value


def _toml_value(value: Any) -> str:
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


def _toml_key(key: str) -> str:
    return json.dumps(key, ensure_ascii=False)


def _toml_document(data: dict[str, Any]) -> str:
    """Tables as inline tables: one ``key = value`` line per top-level key (valid TOML 1.0)."""
    return "".join(f"{_toml_key(k)} = {_toml_value(v)}\n" for k, v in data.items())


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
    _, syntax, read = SEEDS[kind]
    seeds = PICKLED_SEEDS[kind]
    data = pickle.loads(seeds[seed % len(seeds)])
    for path, operation, value in mutations:
        _mutate(data, path, operation, copy.deepcopy(value))
    text = _toml_document(data) if syntax == "toml" else json.dumps(data, allow_nan=True)
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
        max_examples=fuzz_examples(CASES_PER_KIND[kind]),
        derandomize=True,
        database=None,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(recipe=st.binary(min_size=RECIPE_BYTES, max_size=RECIPE_BYTES))
    def fuzz(recipe: bytes) -> None:
        seed, mutations, byte_operation, position = _decode(recipe)
        try:
            _check_one(kind, directory, seed, mutations, byte_operation, position)
        except BaseException:
            # Written only for a failing case (hypothesis shows it with the shrunk example): the repr
            # of a case's values (510-digit integers, long texts) costs more than many a reading.
            note(f"seed {seed}, mutations {mutations!r}, bytes {byte_operation} at {position}")
            raise

    fuzz()
