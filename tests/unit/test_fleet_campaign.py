"""The campaign file: expansion into runs, stable keys, and a clear error for every bad input."""

from __future__ import annotations

import tomllib
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from hil.core.errors import ConfigError
from hil.fleet.campaign import load_campaign, parse_campaign
from hil.fleet.executor import SynchronousExecutor, check_scheduler_address, open_executor

BASE = """
name = "c"
bench = "sim"
seeds = [1, 2, 3]

[[procedure]]
name = "performance-curve"
parameters = { dwell_s = [2, 4], valve_openings = "0.3,1.0" }

[[procedure]]
name = "npsh3"
"""


def parse(text: str, tmp_path: Path) -> object:
    return parse_campaign(tomllib.loads(text), "c.toml", tmp_path, tmp_path / "runs")


def test_the_matrix_is_the_product_of_its_axes(tmp_path: Path) -> None:
    text = (
        BASE
        + '[plant]\nnpsh3_multiplier = [1.0, 1.2]\n[faults]\nkinds = ["stuck", "silence:power"]\nat_s = [5, 20.5]\n'
    )
    campaign = parse(text, tmp_path)
    # (2 dwell alternatives + 1 npsh3) x 2 plants x (1 + 2 kinds x 2 moments) x 3 seeds
    assert len(campaign.runs) == 3 * 2 * 5 * 3  # type: ignore[attr-defined]
    runs = campaign.runs  # type: ignore[attr-defined]
    assert {r.faults for r in runs} == {
        (),
        ("stuck@5.0",),
        ("stuck@20.5",),
        ("silence:power@5.0",),
        ("silence:power@20.5",),
    }
    assert {r.parameters.get("dwell_s") for r in runs} == {"2", "4", None}
    assert {r.seed for r in runs} == {1, 2, 3}
    assert len({r.key for r in runs}) == len(runs)
    # a plant variant is a bench file in the campaign directory holding the variant's value
    variant_files = campaign.bench_texts  # type: ignore[attr-defined]
    assert len(variant_files) == 2
    for path, text in variant_files.items():
        assert Path(path).parent == tmp_path / "runs" / "c" / "benches"
        assert tomllib.loads(text)["virtual"]["plant"]["npsh3_multiplier"] in (1.0, 1.2)


def test_keys_do_not_depend_on_where_the_campaign_goes_or_on_order(tmp_path: Path) -> None:
    a = parse(BASE, tmp_path)
    b = parse_campaign(tomllib.loads(BASE), "other.toml", tmp_path, tmp_path / "elsewhere")
    assert [r.key for r in a.runs] == [r.key for r in b.runs]  # type: ignore[attr-defined]
    reordered = BASE.replace("seeds = [1, 2, 3]", "seeds = [3, 1, 2]")
    assert {r.key for r in parse(reordered, tmp_path).runs} == {r.key for r in a.runs}  # type: ignore[attr-defined]
    changed = BASE.replace("dwell_s = [2, 4]", "dwell_s = [2, 5]")
    assert len({r.key for r in parse(changed, tmp_path).runs} & {r.key for r in a.runs}) == 3 + 3  # type: ignore[attr-defined]


def test_the_spread_is_drawn_from_its_seed(tmp_path: Path) -> None:
    text = BASE + "[spread]\nsamples = 3\nseed = 11\nnpsh3_multiplier = { mean = 1.1, sd = 0.05 }\n"
    campaign = parse(text, tmp_path)
    drawn = sorted({r.plant["npsh3_multiplier"] for r in campaign.runs})  # type: ignore[attr-defined]
    rng = np.random.default_rng(11)
    assert drawn == sorted(float(rng.normal(1.1, 0.05)) for _ in range(3))
    assert [r.key for r in parse(text, tmp_path).runs] == [r.key for r in campaign.runs]  # type: ignore[attr-defined]


def test_the_recorded_command_line_is_a_hil_run(tmp_path: Path) -> None:
    text = BASE + '[faults]\nkinds = ["stuck"]\nat_s = [5]\nwithout = false\n'
    run = parse(text, tmp_path).runs[0]  # type: ignore[attr-defined]
    assert run.command_line() == (
        "hil run performance-curve --bench sim --seed 1 -p dwell_s=2 -p valve_openings=0.3,1.0 --fault stuck@5.0"
    )


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        (('name = "c"', 'name = "../c"'), "name", "plain directory name"),
        (("seeds = [1, 2, 3]", "seeds = [-1]"), "seeds", "integers >= 0"),
        (('name = "npsh3"', 'name = "npsh4"'), "procedure[1].name", "unknown procedure"),
        (("dwell_s = [2, 4]", "dwell_s = [2, -4]"), "procedure[0].parameters.dwell_s", ">= 0.5"),
        (("dwell_s = [2, 4]", "dwell_s = []"), "procedure[0].parameters.dwell_s", "empty list"),
        (("dwell_s = [2, 4]", "dwel_s = 2"), "procedure[0].parameters.dwel_s", "unknown parameter"),
        (("seeds = [1, 2, 3]", "seeds = [1]\ncolour = 1"), "colour", "unknown key"),
    ],
)
def test_bad_campaign_files_name_the_field(
    tmp_path: Path, change: tuple[str, str], field: str, words: str
) -> None:
    text = BASE.replace(*change)
    with pytest.raises(ConfigError) as caught:
        parse(text, tmp_path)
    assert caught.value.field.startswith(field), caught.value
    assert words in str(caught.value)


def test_a_real_bench_is_refused_before_anything_runs(tmp_path: Path) -> None:
    sim = (Path(__file__).parents[2] / "hil" / "data" / "sim_bench.toml").read_text()
    before, _, after = sim.partition("\n[virtual]\n")
    rest = after[after.index("[buses.rs485]") :]
    (tmp_path / "real.toml").write_text(before + rest)
    (tmp_path / "c.toml").write_text(BASE.replace('bench = "sim"', 'bench = "real.toml"'))
    with pytest.raises(ConfigError, match="a campaign runs virtual benches only") as caught:
        load_campaign(tmp_path / "c.toml")
    assert caught.value.source == str(tmp_path / "c.toml") and caught.value.field == "bench"


def test_bad_plant_and_fault_tables(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown plant parameter"):
        parse(BASE + "[plant]\nimpeller_colour = [1.0]\n", tmp_path)
    with pytest.raises(ConfigError, match="must be > 0|greater than 0|> 0"):
        parse(BASE + "[plant]\nnpsh3_multiplier = [0.0]\n", tmp_path)
    with pytest.raises(ConfigError, match="moments go in at_s"):
        parse(BASE + '[faults]\nkinds = ["stuck@5"]\nat_s = [5]\n', tmp_path)
    with pytest.raises(ConfigError, match="at least one parameter"):
        parse(BASE + "[spread]\nsamples = 2\nseed = 1\n", tmp_path)


def test_the_synchronous_executor_is_a_concurrent_futures_executor() -> None:
    executor = SynchronousExecutor()
    done: Future[int] = executor.submit(pow, 2, 10)
    assert done.done() and done.result() == 1024
    failed = executor.submit(int, "not a number")
    assert isinstance(failed.exception(), ValueError)
    assert list(executor.map(abs, [-1, -2])) == [1, 2]
    executor.shutdown()
    with pytest.raises(RuntimeError):
        executor.submit(abs, 1)


def test_executor_options_are_checked() -> None:
    assert check_scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    with pytest.raises(ConfigError, match="tcp://HOST:PORT"):
        check_scheduler_address("http://host")
    with pytest.raises(ConfigError, match="--workers"):
        with open_executor(workers=-1):
            pass
    with open_executor(workers=0) as executor:
        assert isinstance(executor, SynchronousExecutor)
