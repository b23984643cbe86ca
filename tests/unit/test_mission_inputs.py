"""A mission profile's other inputs: the ``hil optimize --json`` report and a plain thrust profile.

The requirements case is checked against the report's own numbers and a hand sum (its energy is the
segments' electrical power times their durations), the thrust profile against the steps written in
the file; every bad input must be refused with the file and the field named.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hil.core.errors import ConfigError
from hil.model.flight_case import flight_case, requirements_case
from hil.model.requirements_file import load_requirements
from hil.model.sizing.mission import load_mission
from hil.model.thrust_profile import load_thrust_profile, throttle_segments
from hil.results.npsh3_table import npsh3_table

MISSION = Path(__file__).resolve().parents[2] / "hil" / "data" / "lander_mission.toml"


@pytest.fixture(scope="module")
def report_file(sample_lander_optimisation: tuple[int, str, Path]) -> Path:
    """The sample lander sized by the optimiser (what ``hil optimize --json`` writes)."""
    status, _, path = sample_lander_optimisation
    assert status == 0
    return path


def test_the_requirements_case_takes_the_reports_design_and_requirements(report_file: Path) -> None:
    report = json.loads(report_file.read_text())
    fuel = report["pump_requirements"]["fuel"]
    case = requirements_case(load_requirements(report_file, "fuel"), bench_impeller_diameter_m=0.040)
    design = report["electric_pump_fed"]["design"]
    assert case.engine.design_chamber_pressure_pa == pytest.approx(design["chamber_pressure_pa"], rel=1e-12)
    assert case.tank.pressure_pa == pytest.approx(design["fuel_tank_pressure_pa"], rel=1e-12)  # regulated
    assert case.burn.duration_s == pytest.approx(report["electric_pump_fed"]["burn_time_s"], rel=1e-9)
    assert case.peak_electrical_power_w == fuel["electrical_power_w"]
    assert [s.flow_m3_s for s in case.segments] == [p["flow_m3_s"] for p in fuel["points"][1:]]
    # the battery share by hand: 60 %, 25 % and 15 % of the burn at each segment's power
    burn = report["electric_pump_fed"]["burn_time_s"]
    powers = [p["electrical_power_w"] for p in fuel["points"][1:]]
    assert case.electrical_energy_j == pytest.approx(
        burn * (0.6 * powers[0] + 0.25 * powers[1] + 0.15 * powers[2])
    )
    # the flight pump's schedule carried to the 40 mm prototype at the same tip speed
    record = case.record(tolerance_fraction=0.05, transient_grace_s=3.0, bench_inlet_diameter_m=0.016)
    assert record.segment_speeds_rpm[0] == pytest.approx(
        fuel["speed_rpm"] * fuel["impeller_diameter_m"] / 0.040
    )
    # the boundary model's nominal rise at full thrust is the report's (same engine and tank relations)
    inlet = case.tank.inlet_pressure_pa(0.0, case.burn.acceleration_m_s2(0.0), fuel["flow_m3_s"])
    demand = case.engine.required_discharge_pressure_pa(fuel["mass_flow_kg_s"], 1.0)
    assert demand - inlet == pytest.approx(fuel["pressure_rise_pa"], rel=0.02)


def test_a_report_whose_mission_has_changed_is_refused(report_file: Path, tmp_path: Path) -> None:
    changed = tmp_path / "mission.toml"
    changed.write_text(MISSION.read_text().replace("dry_mass_kg = 500.0", "dry_mass_kg = 520.0"))
    with pytest.raises(ConfigError) as caught:
        requirements_case(
            load_requirements(report_file, "fuel"), bench_impeller_diameter_m=0.040, mission_file=str(changed)
        )
    assert str(report_file) in str(caught.value) and "does not reproduce" in str(caught.value)


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda r: r.update(schema="something else"), "schema"),
        (lambda r: r.update(feasible=False, infeasible_reason="too heavy"), "feasible"),
        (lambda r: r["pump_requirements"]["fuel"].update(electrical_power_w=-1.0), "electrical_power_w"),
        (lambda r: r["pump_requirements"]["fuel"]["points"][1].pop("flow_m3_s"), "points[1].flow_m3_s"),
        (
            lambda r: r["electric_pump_fed"]["design"].update(chamber_pressure_pa="high"),
            "chamber_pressure_pa",
        ),
    ],
)
def test_a_bad_report_names_its_file_and_field(report_file: Path, tmp_path: Path, edit, field: str) -> None:
    report = json.loads(report_file.read_text())
    edit(report)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(report))
    with pytest.raises(ConfigError) as caught:
        load_requirements(path, "fuel")
    assert str(path) in str(caught.value) and field in str(caught.value)


def test_csv_and_toml_profiles_give_the_same_steps(tmp_path: Path) -> None:
    csv = tmp_path / "p.csv"
    csv.write_text("time_s,thrust_n\n0,4000\n15,3200\n30,1400\n48,0\n")
    toml = tmp_path / "p.toml"
    toml.write_text("time_s = [0.0, 15.0, 30.0, 48.0]\nthrust_n = [4000.0, 3200.0, 1400.0, 0.0]\n")
    rows = load_thrust_profile(csv)
    assert rows == load_thrust_profile(toml)
    assert throttle_segments(rows, 4000.0, "p") == ((15.0, 1.0), (15.0, 0.8), (18.0, 0.35))


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("time_s,thrust\n0,4000\n10,0\n", "header"),
        ("time_s,thrust_n\n1,4000\n10,0\n", "time_s[0]"),
        ("time_s,thrust_n\n0,4000\n10,3000\n10,0\n", "time_s[2]"),
        ("time_s,thrust_n\n0,4000\n10,0\n20,0\n", "thrust_n[1]"),
        ("time_s,thrust_n\n0,4000\n10,100\n", "thrust_n[1]"),
        ("time_s,thrust_n\n0,four\n10,0\n", "line 2.thrust_n"),
        ("time_s,thrust_n\n0,nan\n10,0\n", "line 2.thrust_n"),
        ("time_s,thrust_n\n0,4000\n", "time_s"),
    ],
)
def test_a_bad_profile_names_its_file_and_field(tmp_path: Path, text: str, field: str) -> None:
    path = tmp_path / "profile.csv"
    path.write_text(text)
    with pytest.raises(ConfigError) as caught:
        load_thrust_profile(path)
    assert str(path) in str(caught.value) and field in str(caught.value)


def test_a_thrust_above_the_engines_is_refused() -> None:
    with pytest.raises(ConfigError, match=r"thrust_n\[1\].*above the engine's full thrust"):
        throttle_segments(((0.0, 4000.0), (5.0, 4500.0), (9.0, 0.0)), 4000.0, "p.csv")


def test_a_profile_longer_than_the_tanks_hold_is_refused() -> None:
    case = flight_case(
        load_mission(MISSION),
        "fuel",
        impeller_diameter_m=0.040,
        chamber_pressure_pa=1.0e6,
        tank_pressure_pa=2.0e5,
    )
    twice = ((2.0 * case.burn.duration_s, 1.0),)
    with pytest.raises(ConfigError, match="more than the"):
        case.with_thrust_profile(twice, "long.csv")
    shorter = case.with_thrust_profile(((10.0, 1.0), (10.0, 0.8)), "p.csv")
    assert shorter.burn.duration_s == 20.0
    assert shorter.segments[1].flow_m3_s == pytest.approx(0.8 * case.segments[0].flow_m3_s)
    assert case.segments[1].speed_rpm < shorter.segments[1].speed_rpm < case.segments[0].speed_rpm


def test_an_npsh3_table_reads_quoted_fields_and_skips_flows_without_npsh3(tmp_path: Path) -> None:
    """Two flows measured at 30,000 and 29,000 rpm, one failed (its status quoted, with commas)."""
    (tmp_path / "npsh3.csv").write_text(
        "npsh_series,flow_m3_s,speed_rpm,npsh3_m,status\n"
        "0,0.0003,30000.0,2.2,ok\n"
        '1,0.0002,,,"the head never fell 3% (lowest 224.3 m, threshold 222.5 m): lower the inlet pressure"\n'
        "2,0.00029,29000.0,2.0,ok\n"
    )
    table = npsh3_table(str(tmp_path))
    assert table is not None
    assert table.speed_rpm == 29500.0
    # each row carried to 29,500 rpm by similarity (Q x n'/n, NPSH3 x (n'/n)^2), in order of flow
    assert table.flows_m3_s == pytest.approx((0.00029 * 29500 / 29000, 0.0003 * 29500 / 30000))
    assert table.npsh3_m == pytest.approx((2.0 * (29500 / 29000) ** 2, 2.2 * (29500 / 30000) ** 2))
    assert npsh3_table("") is None
    with pytest.raises(ConfigError, match="holds no npsh3.csv"):
        npsh3_table(str(tmp_path / "missing"))
