"""Start-up and step response on the virtual bench against a hand calculation of the rotor's dynamics.

The bench is a copy of ``sim_bench.toml`` ticking at 100 Hz (a start takes about 0.2 s: the built-in
10 Hz would put one or two samples in it). The hand calculation uses only the plant's documented
drive and rotor parameters (``simulators/plant_parameters.py``): rotor inertia ``J = 5e-5 kg m2``,
torque constant ``Kt = 0.0115 N m/A``, current limit 80 A in both directions (driving and
regenerative braking), speed-loop gains ``Kp = 0.02 A/rpm`` and ``Ki = 0.2 A/(rpm s)`` with
conditional integration, updated every 10 ms (the drive's speed loop is sampled: it computes its
current from the speed at each update and holds it until the next), and the pump's load torque taken
as ``T_final (n / n_final)^2`` (affinity along a fixed system curve), with ``T_final = Kt I_final``
from the steady motor current the run itself reads at the end. It integrates ``J dw/dt = Kt I -
T_load`` in continuous time with a 10 us explicit step, nothing from the plant's code (which
sub-steps at 10 ms, implicitly, with the pump's curves and the water's inertia).

Why the 10 ms update matters: a down-step leaves the braking limit while still 40 % of the step from
its target (the proportional term is large), at 2,400 rpm per 10 ms; a controller that holds -80 A
until its next update brakes longer than a continuous one would, and the step is about 15 % quicker
(10-90 % in 45 ms, against 52 ms for a continuous loop). An up-step leaves its limit 3,000 rpm from
the target, where the speed changes less per update: about 5 %. The load torque helps the braking
(0.43 N m at 30,000 rpm beside the 0.92 N m of the current limit) and is in both calculations.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from hil.cli import main

ROOT = Path(__file__).resolve().parents[2]
SIM_BENCH = ROOT / "hil" / "data" / "sim_bench.toml"
J_KG_M2 = 5.0e-5
KT_NM_A = 0.0115
I_LIMIT_A = 80.0
KP_A_PER_RAD_S = 0.02 * 60.0 / (2.0 * math.pi)
KI_A_PER_RAD = 0.2 * 60.0 / (2.0 * math.pi)
RAD_S_PER_RPM = 2.0 * math.pi / 60.0


SPEED_LOOP_UPDATE_S = 0.01


def hand_step(
    start_rpm: float, target_rpm: float, final_current_a: float, start_current_a: float | None = None
) -> tuple[float, float]:
    """(time to 10 %, time to 90 %) of a speed step, up or down, integrating the rotor and the
    sampled PI loop by hand; the integrator starts at ``start_current_a`` (the steady current before
    the step), by default the load's at the start speed."""
    w, target = start_rpm * RAD_S_PER_RPM, target_rpm * RAD_S_PER_RPM
    t_final = KT_NM_A * final_current_a
    if start_current_a is None:
        start_current_a = final_current_a * (start_rpm / target_rpm) ** 2
    integral = start_current_a
    dt, t, next_update, current = 1.0e-5, 0.0, 0.0, 0.0
    t10 = t90 = math.nan
    rising = target_rpm > start_rpm
    lo, hi = start_rpm + 0.1 * (target_rpm - start_rpm), start_rpm + 0.9 * (target_rpm - start_rpm)
    while t < 1.0 and math.isnan(t90):
        if t >= next_update - 1e-12:  # the controller's update: current held until the next
            error = target - w
            integral_next = integral + KI_A_PER_RAD * error * SPEED_LOOP_UPDATE_S
            current = KP_A_PER_RAD_S * error + integral_next
            if current > I_LIMIT_A:
                current = I_LIMIT_A
                integral = integral_next if error < 0.0 else integral
            elif current < -I_LIMIT_A:  # regenerative braking, same limit
                current = -I_LIMIT_A
                integral = integral_next if error > 0.0 else integral
            else:
                integral = integral_next
            next_update += SPEED_LOOP_UPDATE_S
        w += dt * (KT_NM_A * current - t_final * (w / target) ** 2) / J_KG_M2
        t += dt
        rpm = w / RAD_S_PER_RPM
        if math.isnan(t10) and (rpm >= lo if rising else rpm <= lo):
            t10 = t
        if rpm >= hi if rising else rpm <= hi:
            t90 = t
    return t10, t90


@pytest.fixture(scope="module")
def fast_bench(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("bench") / "bench.toml"
    path.write_text(SIM_BENCH.read_text().replace("tick_hz = 10.0", "tick_hz = 100.0"))
    return path


def run(out: Path, procedure: str, bench: Path, *params: str) -> Path:
    code = main(["run", procedure, "--bench", str(bench), "--out", str(out), "--quiet", *params])
    assert code == 0
    (run_dir,) = [p for p in out.iterdir() if p.is_dir()]  # the run catalogue sits beside it
    return run_dir


def test_startup_agrees_with_the_rotor_and_current_limit_by_hand(tmp_path: Path, fast_bench: Path) -> None:
    run_dir = run(tmp_path, "startup", fast_bench)
    figures = json.loads((run_dir / "startup.json").read_text())
    speed = figures["speed"]
    t10, t90 = hand_step(0.0, 30000.0, figures["final_motor_current_a"])
    # By hand, about 17 ms and 182 ms: almost all of it at the 80 A limit.
    assert 0.012 < t10 < 0.022 and 0.15 < t90 < 0.21
    assert speed["time_to_10_s"] == pytest.approx(t10, rel=0.10)
    assert speed["time_to_90_s"] == pytest.approx(t90, rel=0.10)
    assert speed["rise_time_s"] == pytest.approx(t90 - t10, rel=0.10)
    assert figures["peak_motor_current_a"] == pytest.approx(I_LIMIT_A, rel=0.01)
    assert speed["overshoot_fraction"] < 0.01  # a start on the current limit does not overshoot
    # The energy of the start is at least the rotor's kinetic energy, 0.5 J w^2 = 247 J at 30,000 rpm.
    assert figures["energy_j"] > 0.5 * J_KG_M2 * (30000.0 * RAD_S_PER_RPM) ** 2


def test_speed_steps_up_and_down_agree_with_the_loop_by_hand(tmp_path: Path, fast_bench: Path) -> None:
    run_dir = run(tmp_path, "throttle-steps", fast_bench, "-p", "speeds_fraction=0.67,1.0,0.67")
    up, down = json.loads((run_dir / "steps.json").read_text())["steps"]
    t10, t90 = hand_step(20100.0, 30000.0, up["final_motor_current_a"])
    # By hand, about 84 ms to 90 %, 77 ms from 10 to 90 %.
    assert 0.075 < t90 < 0.095
    assert up["speed"]["rise_time_s"] == pytest.approx(t90 - t10, rel=0.10)
    assert up["speed"]["time_to_90_s"] == pytest.approx(t90, rel=0.10)
    assert up["min_npsha_m"] > 0.0
    t10, t90 = hand_step(
        30000.0, 20100.0, down["final_motor_current_a"], start_current_a=up["final_motor_current_a"]
    )
    # By hand, about 49 ms to 90 %, 45 ms from 10 to 90 %: quicker than the step up, as the load
    # brakes the rotor alongside the regenerative current.
    assert 0.042 < t90 < 0.056
    assert down["speed"]["rise_time_s"] == pytest.approx(t90 - t10, rel=0.10)
    assert down["speed"]["time_to_90_s"] == pytest.approx(t90, rel=0.10)
    assert down["peak_motor_current_a"] == pytest.approx(I_LIMIT_A, rel=0.01)  # braking on the limit
    assert down["speed"]["final"] == pytest.approx(20100.0, rel=0.01)


def test_a_start_is_the_same_for_the_same_seed(tmp_path: Path, fast_bench: Path) -> None:
    first = run(tmp_path / "a", "startup", fast_bench, "-p", "record_s=1")
    second = run(tmp_path / "b", "startup", fast_bench, "-p", "record_s=1")
    assert pd.read_parquet(first / "samples.parquet").equals(pd.read_parquet(second / "samples.parquet"))
    assert (first / "startup.json").read_text() == (second / "startup.json").read_text()


NPSH3_ONE_FLOW = [
    "-p",
    "flows_m3_s=0.3e-3",
    "-p",
    "dwell_s=1",
    "-p",
    "steady_window_s=0.5",
    "-p",
    "reference_points=1",
    "-p",
    "start_tank_pressure_pa=100000",
]


def hand_pressure_step(
    p_inlet_pa: float, p_start_pa: float, p_target_pa: float, start_rpm: float, tick_s: float, tau_s: float
) -> tuple[float, float, float]:
    """(time to 90 %, 10-90 % rise time, settling time to 2 %) of a discharge-pressure step by hand.

    The pump at a held valve: rise ``= c n^2`` with ``c`` from the steady start (affinity along a
    fixed system curve); the controller's command approaches ``n* = sqrt((p_target - p_in) / c)`` by
    the fraction ``a = tick / tau`` each tick, and the speed follows it within the tick (the drive's
    loop settles in about 20 ms for such small moves). Crossings are interpolated linearly between
    ticks and the settling time counted in ticks, as the figures are; the samples are each tick's.
    """
    c = (p_start_pa - p_inlet_pa) / start_rpm**2
    target_rpm = math.sqrt((p_target_pa - p_inlet_pa) / c)
    a = tick_s / tau_s
    speeds = [target_rpm + (start_rpm - target_rpm) * (1.0 - a) ** k for k in range(200)]
    pressures = [p_inlet_pa + c * n * n for n in speeds]
    change = p_target_pa - p_start_pa

    def crossing(fraction: float) -> float:
        level = p_start_pa + fraction * change
        k = next(k for k, p in enumerate(pressures) if (p - level) * change >= 0.0)
        return (k - 1 + (level - pressures[k - 1]) / (pressures[k] - pressures[k - 1])) * tick_s

    outside = [k for k, p in enumerate(pressures) if abs(p - p_target_pa) > 0.02 * abs(change)]
    return crossing(0.9), crossing(0.9) - crossing(0.1), (outside[-1] + 1) * tick_s


def test_discharge_pressure_steps_agree_with_the_pressure_loop_by_hand(tmp_path: Path) -> None:
    """12 -> 18 -> 12 bar on the built-in 10 Hz bench, loop time constant 0.5 s (a = 0.2 a tick).

    By hand about 1.08 s to 90 % up (rise time 1.02 s) and 0.99 s down (0.94 s), settled to 2 % in
    1.8 s, no overshoot: the figures must agree within 5 % (the speed loop's lag within each tick,
    about 20 ms of 100) and the settling time within a tick."""
    npsh3 = run(tmp_path / "npsh3", "npsh3", SIM_BENCH, *NPSH3_ONE_FLOW)
    run_dir = run(
        tmp_path / "steps",
        "throttle-steps",
        SIM_BENCH,
        "-p",
        "command=1",
        "-p",
        "dwell_s=5",
        "-p",
        f"npsh3_run={npsh3}",
    )
    up, down = json.loads((run_dir / "steps.json").read_text())["steps"]
    samples = pd.read_parquet(run_dir / "samples.parquet")
    for step in (up, down):
        assert (step["quantity"], step["from_pa"], step["to_pa"]) in (
            ("p_outlet_pa", 12.0e5, 18.0e5),
            ("p_outlet_pa", 18.0e5, 12.0e5),
        )
        before = samples[
            (samples.time_s > step["command_time_s"] - 1.0) & (samples.time_s <= step["command_time_s"])
        ]
        t90, rise, settle = hand_pressure_step(
            float(before.p_inlet_pa.mean()),
            float(before.p_outlet_pa.mean()),
            step["to_pa"],
            float(before.speed_rpm.mean()),
            0.1,
            0.5,
        )
        figures = step["discharge_pressure"]
        assert 0.9 < t90 < 1.2
        assert figures["time_to_90_s"] == pytest.approx(t90, rel=0.05)
        assert figures["rise_time_s"] == pytest.approx(rise, rel=0.05)
        assert abs(figures["settling_time_s"] - settle) <= 0.1 + 1e-9
        assert figures["overshoot_fraction"] < 0.01
        assert figures["final"] == pytest.approx(step["to_pa"], rel=0.002)
        assert step["min_npsha_m"] > 5.0  # the tank at 1 bar: about 10.5 m throughout
        # The margin against the pump's NPSH3 measured at one flow, 0.3 L/s at 30,000 rpm, carried to
        # the step's speed by similarity (NPSH3 ~ n^2 at a flow coefficient): by hand from the plant's
        # documented curve (tau0 (n D)^2 + tau2 (Q / D^2)^2) / g, tau0 0.04, tau2 170, D 40 mm, 2.24 m
        # there; the lowest margin is at the step's highest speed. Within 5 %: the NPSH3 test's own
        # uncertainty (a 3 % head drop found between readings).
        after = samples[
            (samples.time_s >= step["command_time_s"]) & (samples.time_s <= step["command_time_s"] + 5.0)
        ]
        top_rpm = float(after.speed_rpm.max())
        npsh3_by_hand = (0.04 * (500.0 * 0.040) ** 2 + 170.0 * (0.3e-3 / 0.040**2) ** 2) / 9.80665
        npsh3_by_hand *= (top_rpm / 30000.0) ** 2
        assert step["min_npsh_margin"] == pytest.approx(step["min_npsha_m"] / npsh3_by_hand, rel=0.05)
