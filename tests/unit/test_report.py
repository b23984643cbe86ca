"""The HTML test report and the derived results it shows, on a synthetic run with known curves.

The run directory is written with the real run store from samples made up here: a pump whose head at
30,000 rpm is exactly ``H = 237 - 1.8e8 Q^2`` (m, Q in m3/s) and whose input power is
``P = 1000 + 2e6 Q`` (W), so every verdict can be checked by hand. No simulator is involved.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from hil.analysis.grades import load_grade_table
from hil.bench.config import BenchGeometry, load_bench
from hil.core.fluids import STANDARD_GRAVITY_M_S2, water_density_kg_m3
from hil.results.acceptance_settings import AcceptanceSettings
from hil.results.converted_points import converted_point
from hil.results.derive import derive_run
from hil.results.pump_definition import Guarantee
from hil.results.report import write_report
from hil.results.report_figures import npsh3_axes
from hil.results.report_log import _collapse_ramps, _summary
from hil.results.report_page import ReportData
from hil.results.report_sections import _quantity_verdict
from hil.run.operating_points import operating_point, window_samples
from hil.store.run_directory import read_samples
from hil.store.run_writer import RunWriter

G = 9.80665
CHANNELS = (
    "speed_rpm",
    "flow_m3_s",
    "p_inlet_pa",
    "p_outlet_pa",
    "electrical_power_w",
    "fluid_temperature_c",
)
FLOWS_M3_S = (0.1e-3, 0.2e-3, 0.3e-3, 0.4e-3, 0.43e-3, 0.45e-3, 0.47e-3, 0.6e-3)
ACCURACY = {
    "speed_rpm": 0.002,
    "flow_m3_s": 0.002,
    "p_inlet_pa": 0.001,
    "p_outlet_pa": 0.001,
    "electrical_power_w": 0.005,
}
T_975_19 = 2.093  # Student-t, 97.5 % quantile, 19 degrees of freedom (published tables)


def head_m(q: float) -> float:
    return 237.0 - 1.8e8 * q * q


def make_run(
    directory: Path,
    guarantee: Guarantee | None,
    pump_name: str = "EP-30 <prototype> & co",
    speed_rpm: float = 30000.0,
) -> Path:
    """A closed run directory: one 2 s window (20 samples) per flow, written by the real run store."""
    bench = load_bench("sim")
    geometry = bench.geometry
    directory.mkdir(parents=True)
    settings = AcceptanceSettings(
        30000.0,
        guarantee,
        None if guarantee is None else guarantee.grade,
        None,
        None,
        {
            "name": pump_name,
            "serial": "S/N 7",
            "build": "",
            "impeller_diameter_m": 0.04,
            "specified_speed_rpm": 30000.0,
            "input_power_w": None,
            "source": "test",
        },
    )
    metadata = {
        "procedure": "performance-curve",
        "parameters": {"dwell_s": 2.0},
        "bench_name": bench.name,
        "instruments": {"power": "YOKOGAWA,WT310,SIM0001,F1.00"},
        "accuracy": ACCURACY,
        "software": {"hil": "test"},
        "start_utc": "2026-01-01T00:00:00+00:00",
        "tick_s": 0.1,
        "acceptance_settings": settings.as_dict(),
        "notes": {"operator": "A. Tester"},
    }
    writer = RunWriter(directory, list(CHANNELS), metadata, bench.text)
    rho = water_density_kg_m3(20.0)
    a1, a2 = math.pi / 4 * 0.016**2, math.pi / 4 * 0.010**2
    k = speed_rpm / 30000.0
    time_s, windows = 0.0, []
    for q30 in FLOWS_M3_S:
        q, h = q30 * k, head_m(q30) * k * k
        velocity_head = (q * q / (a2 * a2) - q * q / (a1 * a1)) / (2 * G)
        start = time_s + 0.1
        for i in range(20):
            time_s += 0.1
            wiggle = 1.0 + (1e-3 if i % 2 else -1e-3)  # +-0.1 %: steady, yet with a spread
            writer.append_sample(
                time_s,
                [
                    speed_rpm,
                    q * wiggle,
                    1.0e5,
                    1.0e5 + rho * G * (h - velocity_head),
                    (1000.0 + 2e6 * q30) * k**3 * wiggle,
                    20.0,
                ],
            )
        windows.append((start, time_s))
    for index, (start, end) in enumerate(windows):
        writer.append_event(
            {
                "time_s": end,
                "kind": "point",
                "index": index,
                "window_start_s": start,
                "window_end_s": end,
                "labels": {"speed_setpoint_rpm": speed_rpm, "steady": True},
            }
        )
    writer.close("running")  # writes the Parquet copy; the status is fixed below
    samples = read_samples(directory)
    times = samples["time_s"].to_numpy()
    columns = {c: samples[c].to_numpy() for c in CHANNELS}
    points = []
    for start, end in windows:
        point: dict[str, Any] = {
            "speed_setpoint_rpm": speed_rpm,
            "steady": True,
            "window_start_s": start,
            "window_end_s": end,
        }
        point.update(operating_point(window_samples(times, columns, start, end), geometry))
        points.append(point)
    writer.write_points(points)
    writer.update_metadata(status="completed", end_utc="2026-01-01T00:10:00+00:00")
    derive_run(directory)  # the settings are the run's recorded ones
    return directory


@pytest.fixture(scope="module")
def healthy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_run(tmp_path_factory.mktemp("report") / "run", Guarantee(0.45e-3, 200.0, None, None, "2B"))


def report_text(run: Path) -> str:
    write_report(run)
    return (run / "report.html").read_text(encoding="utf-8")


def number(text: str) -> float:
    return float(re.match(r"\s*([-+]?[0-9.]+)", text.replace("\u2212", "-")).group(1))  # type: ignore[union-attr]


def verdict_rows(html: str) -> dict[str, list[str]]:
    table = re.search(r'<table class="verdicts">(.*?)</table>', html, re.S)
    assert table, "no verdict table"
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)[1:]:
        cells = [re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td>(.*?)</td>", row, re.S)]
        rows[cells[0]] = cells
    return rows


def test_report_is_one_self_contained_file(healthy: Path) -> None:
    html = report_text(healthy)
    assert html.startswith("<!DOCTYPE html>")
    assert not re.search(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", html), "external reference"
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert "url(" not in html.replace("url(#", "")  # only in-document references (clip paths)
    for figure in ("H-Q", "P-Q", "eta-Q"):
        assert re.search(rf'<figure id="fig-{figure}"><svg', html), figure
    assert html.count("<svg") == 4  # H-Q, P-Q, eta-Q and the time series; no NPSH3 figure without npsh3.csv


def test_report_holds_what_a_test_report_must(healthy: Path) -> None:
    html = report_text(healthy)
    for text in (
        "EP-30 &lt;prototype&gt; &amp; co",
        "S/N 7",
        "A. Tester",
        "YOKOGAWA,WT310",
        "&plusmn;0.5 % of reading",
        "water",
        "2026-01-01T00:00:00",
        "2B",
        "tolerance cross",
        "fitted H(Q)",
    ):
        assert text in html, text
    assert "<prototype>" not in html  # escaped, never markup
    points_table = re.search(r'<table class="points">(.*?)</table>', html, re.S)
    assert points_table and points_table.group(1).count("<tr>") == len(FLOWS_M3_S) + 1


def test_verdict_table_matches_the_hand_calculation(healthy: Path) -> None:
    rows = verdict_rows(report_text(healthy))
    # H(Q_G) on the exact parabola: 237 - 1.8e8 (0.45e-3)^2 = 200.55 m; the fit through exact points
    # reproduces it to the rounding of the table.
    head = rows["head H"]
    assert head[1] == "200.00 m" and head[2] == "200.55 m" and head[5] == "pass"
    assert number(head[3]) == pytest.approx(0.275, abs=0.006)  # 200.55 / 200 - 1, in per cent
    # a ~2 kW pump: the small-pump tolerances (unverified in the shipped table) apply and say so
    assert "8.0" in head[4] and "unverified" in head[4]
    # H = 200 m is reached at Q = sqrt(37 / 1.8e8) = 0.45338 L/s
    assert rows["flow Q"][2] == "0.4534 L/s" and rows["flow Q"][5] == "pass"
    assert '<span class="badge pass">PASS</span>' in report_text(healthy)


def test_a_missed_guarantee_is_reported_as_failed(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", Guarantee(0.45e-3, 225.0, None, None, "2B"))
    html = report_text(run)
    rows = verdict_rows(html)
    # -10.9 % at Q_G, beyond -8 %; and the curve reaches 225 m only at 0.258 L/s, outside 0.405..0.495
    assert number(rows["head H"][3]) == pytest.approx((200.55 / 225 - 1) * 100, abs=0.006)
    assert rows["head H"][5] == "FAIL"
    assert rows["flow Q"][5] == "FAIL"
    assert '<span class="badge fail">FAIL</span>' in html


def test_without_guarantee_the_report_says_not_judged(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", None)
    html = report_text(run)
    assert "not judged" in html and "verdicts" not in html
    assert html.count("<svg") == 4


def test_npsh3_figure_appears_when_the_run_has_npsh3_results(tmp_path: Path) -> None:
    run = make_run(tmp_path / "run", None)
    (run / "npsh3.csv").write_text(
        "flow_m3_s,npsh3_m,npsh3_uncertainty_m\n0.0003,2.2,0.1\n0.0004,2.7,0.1\n0.0005,3.3,0.1\n"
    )
    html = report_text(run)
    assert '<figure id="fig-NPSH3-Q"><svg' in html and html.count("<svg") == 5


@pytest.mark.parametrize(
    "rows", [["0.0004,2.7,0.1"], ["0.0003,2.2,0.1", "0.0004,2.7,0.1", "0.0005,3.3,0.1"]], ids=["one", "three"]
)
def test_npsh3_figure_keeps_every_point_and_error_bar_inside_the_frame(
    tmp_path: Path, rows: list[str]
) -> None:
    # A single flow once drew its point on the top edge (autoscale to the error bar, bottom clamped to 0).
    run = make_run(tmp_path / "run", None)
    (run / "npsh3.csv").write_text("flow_m3_s,npsh3_m,npsh3_uncertainty_m\n" + "\n".join(rows) + "\n")
    built = npsh3_axes(ReportData(run))
    assert built is not None
    _, axes = built
    (x_lo, x_hi), (y_lo, y_hi) = axes.get_xlim(), axes.get_ylim()
    assert x_lo == 0.0 and y_lo == 0.0  # NPSH3 and flow read from zero
    for row in rows:
        flow, npsh3, u = (float(v) for v in row.split(","))
        assert 0.1 < flow * 1000.0 / x_hi < 0.95  # clear of the right edge
        assert (npsh3 + u) / y_hi < 0.85  # the error bar's top clear of the top edge
        assert npsh3 / y_hi > 0.3  # and not squashed at the bottom
    (line,) = [c for c in axes.containers]  # the plotted data are the file's
    assert list(line.lines[0].get_ydata()) == [float(r.split(",")[1]) for r in rows]


def test_exports_beside_a_report_written_elsewhere(healthy: Path, tmp_path: Path) -> None:
    written = write_report(healthy, tmp_path / "out" / "pump.html")
    names = {p.name for p in written}
    assert names == {"pump.html", "points_converted.csv", "verdicts.csv"}
    assert (tmp_path / "out" / "points_converted.csv").read_bytes() == (
        healthy / "points_converted.csv"
    ).read_bytes()
    verdicts = (tmp_path / "out" / "verdicts.csv").read_text().splitlines()
    assert verdicts[0].startswith("quantity,") and len(verdicts) == 3  # head and flow


def test_conversion_to_the_specified_speed_and_its_uncertainty_by_hand() -> None:
    geometry = BenchGeometry(0.016, 0.010, 0.0, 0.0, 0.040, 30000.0)
    point = {
        "speed_rpm": 15000.0,
        "speed_rpm_std": 0.0,
        "speed_rpm_n": 20.0,
        "flow_m3_s": 0.2e-3,
        "flow_m3_s_std": 1e-6,
        "flow_m3_s_n": 20.0,
        "p_inlet_pa": 1e5,
        "p_inlet_pa_std": 0.0,
        "p_inlet_pa_n": 20.0,
        "p_outlet_pa": 6e5,
        "p_outlet_pa_std": 0.0,
        "p_outlet_pa_n": 20.0,
        "electrical_power_w": 300.0,
        "electrical_power_w_std": 0.0,
        "electrical_power_w_n": 20.0,
        "fluid_temperature_c": 20.0,
        "density_kg_m3": 998.2,
        "head_m": 51.0,
        "hydraulic_power_w": 100.0,
        "overall_efficiency": 1 / 3,
        "steady": True,
    }
    row = converted_point(point, 0, 30000.0, ACCURACY, geometry, load_grade_table())
    # affinity laws at twice the speed: Q x2, H x4, P x8, eta unchanged
    assert row["converted_flow_m3_s"] == pytest.approx(0.4e-3)
    assert row["converted_head_m"] == pytest.approx(204.0)
    assert row["converted_electrical_power_w"] == pytest.approx(2400.0)
    assert row["converted_overall_efficiency"] == pytest.approx(1 / 3)
    # flow: Student-t random part and 0.2 % of reading, root-sum-square
    u_flow = math.hypot(T_975_19 * 1e-6 / math.sqrt(20), 0.002 * 0.2e-3)
    assert row["u_flow_m3_s"] == pytest.approx(u_flow, rel=1e-3)
    # converted: the speed's 0.2 % enters once for Q, twice for H, three times for P
    assert row["u_converted_flow_m3_s"] / 0.4e-3 == pytest.approx(
        math.hypot(u_flow / 0.2e-3, 0.002), rel=1e-3
    )
    u_head_rel = row["u_head_m"] / 51.0
    assert row["u_converted_head_m"] / 204.0 == pytest.approx(math.hypot(u_head_rel, 0.004), rel=1e-6)
    assert row["u_converted_electrical_power_w"] / 2400.0 == pytest.approx(math.hypot(0.005, 0.006), rel=1e-6)
    # head from the pressures alone (no velocity or density terms vary): 0.1 % of each pressure over rho g
    expected_u_head = math.hypot(0.001 * 6e5, 0.001 * 1e5) / (998.2 * STANDARD_GRAVITY_M_S2)
    assert row["u_head_m"] == pytest.approx(expected_u_head, rel=0.02)  # the flow term adds ~0.1 %
    assert row["speed_in_range"] is True  # 50 % of the specified speed is the edge of the band, inside


def test_a_point_far_below_the_specified_speed_is_flagged() -> None:
    geometry = BenchGeometry(0.016, 0.010, 0.0, 0.0, 0.040, 30000.0)
    point = {
        "speed_rpm": 9000.0,
        "flow_m3_s": 0.1e-3,
        "p_inlet_pa": 1e5,
        "p_outlet_pa": 2e5,
        "electrical_power_w": 50.0,
        "fluid_temperature_c": 20.0,
        "density_kg_m3": 998.2,
        "head_m": 10.2,
        "hydraulic_power_w": 10.0,
        "overall_efficiency": 0.2,
    }
    row = converted_point(point, 3, 30000.0, {}, geometry, load_grade_table())
    assert row["speed_in_range"] is False and row["speed_ratio"] == pytest.approx(30000 / 9000)
    assert math.isinf(row["u_flow_m3_s"])  # no spread information: never a silent zero
    assert np.isfinite(row["converted_flow_m3_s"])


def test_the_event_log_reads_as_people_read_it() -> None:
    # A speed ramp is one setpoint a tick: one row from first to last; floats to 6 significant digits.
    ramp = [
        {"time_s": 0.1 * k, "kind": "setpoint", "quantity": "speed_rpm", "value": 1000.0 * k}
        for k in range(1, 25)
    ]
    valve = {"time_s": 2.4, "kind": "setpoint", "quantity": "valve_opening_fraction", "value": 0.3}
    steady = {"time_s": 6.2, "kind": "steady", "waited_s": 3.8000000000000007}
    rows = _collapse_ramps([*ramp, valve, steady])
    assert [r["kind"] for r in rows] == ["ramp", "setpoint", "steady"]
    assert (rows[0]["from"], rows[0]["to"], rows[0]["setpoints"]) == (1000.0, 24000.0, 24)
    assert _summary(steady) == '{"waited_s": 3.8}'
    two = ramp[:2]  # two setpoints are not a ramp: both kept
    assert _collapse_ramps(two) == two


def test_a_quantity_with_nothing_measured_is_not_judged_rather_than_failed() -> None:
    assert "not judged" in _quantity_verdict({"measured": None, "passed": False})
    assert "FAIL" in _quantity_verdict({"measured": 190.0, "passed": False})
    assert "pass" in _quantity_verdict({"measured": 200.0, "passed": True})
