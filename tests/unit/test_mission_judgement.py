"""The mission verdict on synthetic logs, and the NPSH3 table's similarity scaling, by hand."""

import math

import numpy as np
import pytest

from hil.analysis.feed_system import Burn, Engine, Tank
from hil.analysis.mission_profile import MissionRecord, Npsh3Table, boundary, judge
from hil.analysis.similarity import Similarity

G0 = 9.80665


def test_npsh3_table_scales_with_speed_squared_at_equal_flow_coefficient() -> None:
    table = Npsh3Table(30000.0, (3e-4, 5e-4), (2.0, 3.0))
    assert table.at(4e-4, 30000.0) == pytest.approx(2.5)
    # At 15,000 rpm, 0.2 L/s has the flow coefficient of 0.4 L/s at 30,000: 2.5 m / 4.
    assert table.at(2e-4, 15000.0) == pytest.approx(0.625)
    # Beyond the tested flows the line extends: 0.6 L/s at 30,000 rpm -> 3.5 m.
    assert table.at(6e-4, 30000.0) == pytest.approx(3.5)


def _record(npsh3: Npsh3Table | None = None) -> MissionRecord:
    # 100 s burn: 50 s at full thrust, 50 s at 50 %; one side carries all the flow, 1 kg/s of a
    # 1000 kg/m3 liquid (1 L/s); chamber 1 MPa at full flow, no injector or line loss; regulated tank
    # at 2 bar, half full, under 0.1 m/s2 (a liquid column of 6 Pa per 6 cm: negligible).
    burn = Burn(1000.0, 1.0, 10000.0, ((50.0, 1.0), (50.0, 0.5)))
    engine = Engine(1.0e6, 1.0, 1.0, 0.0, 0.0)
    tank = Tank(1.0, 0.5, 1000.0, 2000.0, 2.0e5, 0.0, 1e-3)
    sim = Similarity(1000.0, 2000.0, 1000.0, 2000.0)
    return MissionRecord(
        side="fuel",
        propellant="test",
        burn=burn,
        engine=engine,
        tank=tank,
        similarity=sim,
        segment_speeds_rpm=(30000.0, 20000.0),
        segment_powers_w=(2000.0, 600.0),
        peak_electrical_power_w=2000.0,
        electrical_energy_j=130000.0,
        npsh_margin=1.3,
        tolerance_fraction=0.05,
        transient_grace_s=2.0,
        bench_inlet_diameter_m=0.016,
        npsh3=npsh3,
    )


def _log(
    record: MissionRecord, power_w: float, flow_scale: float = 1.0
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    times = np.arange(0.0, 100.01, 0.5)
    flow = np.array([record.nominal_flow_m3_s(t) for t in times]) * flow_scale
    p_in = np.array([boundary(record, t, q).flight_inlet_pressure_pa for t, q in zip(times, flow)])
    rise = np.array([boundary(record, t, record.nominal_flow_m3_s(t)).nominal_rise_pa for t in times])
    return times, {
        "flow_m3_s": flow,
        "p_inlet_pa": p_in,
        "p_outlet_pa": p_in + rise,
        "electrical_power_w": np.where(times < 50.0, power_w, 0.3 * power_w),
        "speed_rpm": np.where(times < 50.0, 30000.0, 20000.0),
    }


def test_nominal_rise_by_hand() -> None:
    record = _record()
    # Full thrust: chamber 1 MPa; inlet = 2 bar + 1000 kg/m3 * 0.1 m/s2 * h. Mass 10000 kg, 1 kN.
    b = boundary(record, 0.0, 1e-3)
    height = record.tank.liquid_height_m(0.0)
    assert b.flight_inlet_pressure_pa == pytest.approx(2.0e5 + 1000.0 * 0.1 * height)
    assert b.nominal_rise_pa == pytest.approx(1.0e6 - b.flight_inlet_pressure_pa)
    # Half thrust at t = 75 s: chamber 0.5 MPa.
    assert boundary(record, 75.0, 5e-4).demanded_discharge_pressure_pa == pytest.approx(0.5e6)


def test_a_pump_on_its_requirements_passes_and_a_thirsty_one_fails_power_and_energy() -> None:
    record = _record()
    times, columns = _log(record, 1900.0)
    doc = judge(record, 0.0, times, columns)
    verdicts = {v["requirement"]: v for v in doc["requirements"]}
    assert doc["verdict"] == "pass"
    # Energy: 1900 W to 49.5 s, 570 W from 50 s, the 0.5 s between by the trapezoid (1235 W):
    # 94050 + 617.5 + 28500 = 123167.5 J.
    expected = 1900.0 * 49.5 + 0.5 * 1235.0 + 570.0 * 50.0
    assert doc["energy_used_j"] == pytest.approx(expected, rel=1e-9)
    npsh = verdicts["NPSHA >= 1.3 x NPSH3"]
    assert npsh["verdict"] == "not judged"
    times, columns = _log(record, 2200.0)
    doc = judge(record, 0.0, times, columns)
    verdicts = {v["requirement"]: v for v in doc["requirements"]}
    power = verdicts["electrical power <= the peak the sizing assumed"]
    assert power["verdict"] == "fail" and power["worst_value"] == 2200.0 and power["worst_time_s"] == 0.0
    energy = verdicts["energy used <= this pump's share of the battery"]
    # 2200 W to 49.5 s (108.9 kJ), 715 J to 50 s, then 660 W: the 130 kJ share is used up
    # (130000 - 109615) / 660 = 30.9 s later, at 80.9 s; the first sample beyond is at 81.0 s.
    assert energy["verdict"] == "fail"
    assert energy["worst_time_s"] == 81.0


def test_short_flow_fails_its_band_after_the_grace_period() -> None:
    record = _record()
    times, columns = _log(record, 1000.0, flow_scale=0.9)
    doc = judge(record, 0.0, times, columns)
    flow = {v["requirement"]: v for v in doc["requirements"]}["delivered flow within the band"]
    assert flow["verdict"] == "fail" and flow["worst_value"] == pytest.approx(-0.1)


def test_npsh_margin_lost_where_the_ratio_crosses() -> None:
    # NPSHA read at the bench inlet at full thrust: (2e5 + 62 - 2000) / 9806.65 = 20.2 m plus the
    # inlet velocity head (1 L/s in 16 mm: 4.97 m/s, 1.26 m) = 21.5 m. Against 4 m of NPSH3 the margin
    # is 5.4, never lost; against 18 m it is 1.19 < 1.3 from the first instant.
    record = _record(Npsh3Table(30000.0, (5e-4, 1e-3), (2.0, 4.0)))
    times, columns = _log(record, 1000.0)
    verdict = {v["requirement"]: v for v in judge(record, 0.0, times, columns)["requirements"]}
    assert verdict["NPSHA >= 1.3 x NPSH3"]["verdict"] == "pass"
    record = _record(Npsh3Table(30000.0, (5e-4, 1e-3), (9.0, 18.0)))
    verdict = {v["requirement"]: v for v in judge(record, 0.0, times, columns)["requirements"]}
    npsh = verdict["NPSHA >= 1.3 x NPSH3"]
    assert npsh["verdict"] == "fail" and npsh["margin_lost_at_s"] == 0.0
    assert not math.isnan(npsh["worst_value"])
