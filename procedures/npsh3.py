"""The NPSH3 (cavitation) test: at constant speed and flow, lower the suction-tank pressure until the
head has dropped 3 %, at several flows (a type I test), and fit NPSH3(Q).

One sweep per flow (ISO 9906's constant-flow method, pump-testing reference "NPSH3"):

1. Tank at ``start_tank_pressure_pa`` (ample: no measurable cavitation), flow brought to its target
   by the throttle valve, then ``reference_points`` readings averaged into the reference head, and
   two readings at ``1 -+ sensitivity_flow_step_fraction`` times the target flow that measure the
   head's local flow sensitivity ``d ln H / d ln Q`` (the analysis uses it to bring every reading
   to the reference readings' flow, see :mod:`hil.results.npsh3`).
2. The tank pressure steps down by ``initial_step_pa`` while the head stays above
   ``knee_head_fraction`` of the reference. Once below (the knee: the head has started to fall, and
   will fall ever faster), each step is the previous one times ``shrink_factor``, down to
   ``bracket_step_pa``.
3. The first reading below 97 % ends the descent, and the tank goes straight back up: to the start
   pressure if the crossing is bracketed to within ``bracket_step_pa``; otherwise to the last
   pressure that read above 97 %, and the bracket is halved from there (each new reading approached
   from above, as cavitation has some hysteresis) until it is that narrow. So the pump is never held
   in breakdown: it spends one reading's settling and dwell below 97 % at a time.
4. A reading below ``abort_head_fraction`` (deep breakdown: a step far too coarse for this pump)
   abandons the flow at once, tank back to the start pressure.
5. The descent also stops, without an NPSH3 for that flow, when the next step would take the inlet
   pressure within ``inlet_pressure_margin_pa`` of the bench limit ``min_inlet_pressure_pa``
   (predicted from the last reading: at a held flow the inlet pressure follows the tank pressure
   one for one) or the tank below ``min_tank_pressure_pa``. The runner's interlock on the same
   bench limit stays armed throughout, whatever this procedure predicts.
6. A flow the bench cannot give (no reference reading held it: the valve at the end of its travel)
   is not swept at all: its status is "not reached", with the flow obtained, never an NPSH3
   reported against a flow that was not there (:func:`hil.results.npsh3.not_reached`).

Flow hold. As the head falls the flow falls with it, so at every reading the flow is re-established:
after the bench is steady, the mean flow over the steady window is compared with the target and,
outside ``flow_tolerance_fraction``, the valve opening is corrected with a secant step on
``ln Q(opening)`` (the slope learned from the previous corrections, about 2 per unit opening for an
equal-percentage valve to begin with), up to ``max_flow_corrections`` times. A reading whose flow
is still outside the tolerance is recorded with ``flow_held = False``. Within the tolerance the
flow still differs slightly from reading to reading (and, as the head falls, mostly from below);
the analysis corrects each head to the reference flow with the measured sensitivity and charges
the correction's uncertainty to that reading (:mod:`hil.results.npsh3`).

Every reading is an operating point (``operating_points.csv``, with ``npsha_m``) labelled
``npsh_series`` (the flow's index), ``npsh_role``, ``flow_target_m3_s``,
``tank_pressure_setpoint_pa``, ``valve_opening``, ``flow_held``, ``steady`` and ``settle_s``. After
each flow an ``npsh3`` event gives that flow's NPSH3 and uncertainty. The procedure writes no file:
its runs declare the derived product ``npsh3`` (one row per flow, and the fitted NPSH3(Q)), which
:mod:`hil.results.derive` computes from the recorded log after the run, and again on replay.

Imports hil only (never drivers or simulators).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hil.bench.config import BenchConfig
from hil.core.errors import ConfigError
from hil.run.procedure_api import Parameter, Point, ProcedureRunner, ProcedureSpec, check_speed_fractions

if TYPE_CHECKING:
    from hil.results.npsh3 import Npsh3Row

# hil.results.npsh3 (numpy, the fits and the uncertainty model) is imported where the run uses it, not
# when the procedure is listed: `hil procedures` and every other procedure's `hil run` load this module.

HEAD_DROP_THRESHOLD = 0.97  # NPSH3: the head 3 % below its non-cavitating value
MIN_VALVE_OPENING = 0.05  # the flow hold never closes the valve further (dead-heading the pump)
TANK_RETURN_TOLERANCE_FRACTION = 0.01  # "back at the start pressure": within 1 % of it
INITIAL_LOG_FLOW_GAIN = 2.0  # d ln Q / d opening guessed for the first correction
LOG_FLOW_GAIN_RANGE = (0.2, 20.0)  # secant estimates outside this are noise, not the valve
MIN_SECANT_STEP = 0.01  # a smaller valve move changes the flow by about the meter's noise: no slope from it
STEADY_LIMITS = {
    # (fluctuation, trend) fractions over the steady window. The inlet pressure is judged too: after
    # a tank pressure step it is the last quantity to settle (the regulator's lag), and the head
    # difference alone does not see it while the pump is not cavitating.
    "speed_rpm": (0.01, 0.005),
    "flow_m3_s": (0.03, 0.003),
    "delta_p_pa": (0.03, 0.003),
    "p_inlet_pa": (0.03, 0.003),
}

PARAMETERS = (
    Parameter(
        "speed_fraction",
        float,
        1.0,
        "test speed as a fraction of the bench's rated speed",
        minimum=0.05,
        maximum=1.2,
    ),
    Parameter(
        "flows_m3_s",
        "floats",
        [0.3e-3, 0.4e-3, 0.5e-3],
        "flows at which NPSH3 is measured, each held by the throttle valve",
        minimum=1e-7,
        maximum=10.0,
    ),
    Parameter(
        "start_tank_pressure_pa",
        float,
        1.0e5,
        "ample suction-tank pressure (absolute): each sweep starts and measures its reference head "
        "here, and the tank returns here after each sweep",
        minimum=1.0e3,
        maximum=1.0e8,
    ),
    Parameter(
        "min_tank_pressure_pa",
        float,
        5.0e3,
        "lowest tank pressure the sweep may command",
        minimum=1.0,
        maximum=1.0e8,
    ),
    Parameter(
        "initial_step_pa",
        float,
        5.0e3,
        "tank pressure step above the knee; keep one step under about 20 % of NPSH3 (as a pressure)",
        minimum=1.0,
        maximum=1.0e7,
    ),
    Parameter(
        "shrink_factor",
        float,
        0.5,
        "below the knee each step is the previous one times this",
        minimum=0.05,
        maximum=0.95,
    ),
    Parameter(
        "bracket_step_pa",
        float,
        500.0,
        "finest step: the 3 % crossing is bracketed to within this",
        minimum=1.0,
        maximum=1.0e7,
    ),
    Parameter(
        "knee_head_fraction",
        float,
        0.995,
        "head / reference head below which the steps shrink",
        minimum=0.971,
        maximum=0.9999,
    ),
    Parameter(
        "abort_head_fraction",
        float,
        0.90,
        "head / reference head below which the flow is abandoned (deep breakdown)",
        minimum=0.3,
        maximum=0.969,
    ),
    Parameter(
        "reference_points",
        int,
        3,
        "readings at the start pressure averaged into the reference head",
        minimum=1,
        maximum=50,
    ),
    Parameter(
        "sensitivity_flow_step_fraction",
        float,
        0.02,
        "two readings at ample pressure this far below and above the target flow give the head's "
        "local flow sensitivity, which corrects the readings' small flow offsets (0: none)",
        minimum=0.0,
        maximum=0.2,
    ),
    Parameter(
        "flow_tolerance_fraction",
        float,
        0.001,
        "flow hold: accepted deviation from the target flow",
        minimum=1e-5,
        maximum=0.1,
    ),
    Parameter(
        "max_flow_corrections",
        int,
        6,
        "flow hold: valve corrections per reading at most",
        minimum=0,
        maximum=100,
    ),
    Parameter(
        "inlet_pressure_margin_pa",
        float,
        1000.0,
        "the descent keeps the predicted inlet pressure this far above the bench limit min_inlet_pressure_pa",
        minimum=0.0,
        maximum=1.0e7,
    ),
    Parameter("dwell_s", float, 5.0, "averaging time of each reading", minimum=0.5, maximum=3600.0),
    Parameter(
        "steady_window_s",
        float,
        3.0,
        "window over which steadiness (and the held flow) is judged",
        minimum=0.5,
        maximum=600.0,
    ),
    Parameter(
        "steady_timeout_s",
        float,
        60.0,
        "longest wait for steady state before going on anyway",
        minimum=1.0,
        maximum=3600.0,
    ),
    Parameter("ramp_rate_rpm_s", float, 10000.0, "speed ramp rate", minimum=10.0, maximum=1e6),
)


@dataclass(frozen=True)
class Npsh3Parameters:
    """The parameters' values (see :data:`PARAMETERS` for units and ranges)."""

    speed_fraction: float
    flows_m3_s: list[float]
    start_tank_pressure_pa: float
    min_tank_pressure_pa: float
    initial_step_pa: float
    shrink_factor: float
    bracket_step_pa: float
    knee_head_fraction: float
    abort_head_fraction: float
    reference_points: int
    sensitivity_flow_step_fraction: float
    flow_tolerance_fraction: float
    max_flow_corrections: int
    inlet_pressure_margin_pa: float
    dwell_s: float
    steady_window_s: float
    steady_timeout_s: float
    ramp_rate_rpm_s: float


def _refuse(field: str, problem: str) -> ConfigError:
    return ConfigError("command line", f"-p {field}", problem)


def check(params: Npsh3Parameters, bench: BenchConfig) -> None:
    """Refuse, before anything moves, what the bench cannot do or what makes no sweep."""
    if "tank_pressure" not in bench.roles:
        raise ConfigError(
            bench.source,
            "roles.tank_pressure",
            "the NPSH3 test needs a suction-tank pressure regulator (a tank_pressure role)",
        )
    check_speed_fractions(bench, "speed_fraction", [params.speed_fraction])
    speed = params.speed_fraction * bench.geometry.rated_speed_rpm
    if speed < bench.limits.running_speed_rpm:
        raise _refuse(
            "speed_fraction",
            f"{speed:g} rpm is below the bench's running speed "
            f"{bench.limits.running_speed_rpm:g} rpm: the pump would not be running",
        )
    start = params.start_tank_pressure_pa
    if start > bench.limits.max_outlet_pressure_pa:
        raise _refuse(
            "start_tank_pressure_pa",
            f"{start:g} Pa exceeds the bench limit max_outlet_pressure_pa "
            f"= {bench.limits.max_outlet_pressure_pa:g} Pa ({bench.source})",
        )
    if not params.min_tank_pressure_pa < start:
        raise _refuse("min_tank_pressure_pa", f"must lie below start_tank_pressure_pa ({start:g} Pa)")
    if params.bracket_step_pa > params.initial_step_pa:
        raise _refuse("bracket_step_pa", f"must not exceed initial_step_pa ({params.initial_step_pa:g} Pa)")
    flows = params.flows_m3_s
    if len(set(flows)) != len(flows):
        raise _refuse("flows_m3_s", f"lists a flow twice: {flows}")


class _FlowHold:
    """Re-establishes the target flow with the throttle valve (see the module docstring)."""

    def __init__(self, runner: ProcedureRunner, params: Npsh3Parameters) -> None:
        self._runner = runner
        self._params = params
        self.opening = 1.0
        self._gain = INITIAL_LOG_FLOW_GAIN

    def settle(self, target_m3_s: float) -> tuple[bool, bool, float]:
        """Wait for steady state and hold the flow; returns (steady, flow held, seconds taken)."""
        runner, p = self._runner, self._params
        began = runner.now_s()
        window = p.steady_window_s
        previous: tuple[float, float] | None = None
        for attempt in range(p.max_flow_corrections + 1):
            steady = runner.wait_steady(window, p.steady_timeout_s, STEADY_LIMITS).steady
            now = runner.now_s()
            flow = runner.window_means(now - window, now)["flow_m3_s"]
            if not flow > 0.0:  # also NaN: no reading to correct from
                return steady, False, now - began
            if abs(flow / target_m3_s - 1.0) <= p.flow_tolerance_fraction:
                return steady, True, now - began
            log_flow = math.log(flow)
            if previous is not None and abs(self.opening - previous[0]) >= MIN_SECANT_STEP:
                gain = (log_flow - previous[1]) / (self.opening - previous[0])
                if LOG_FLOW_GAIN_RANGE[0] <= gain <= LOG_FLOW_GAIN_RANGE[1]:
                    self._gain = gain
            if attempt == p.max_flow_corrections:
                break
            wanted = self.opening - math.log(flow / target_m3_s) / self._gain
            opening = min(max(wanted, MIN_VALVE_OPENING), 1.0)
            if opening == self.opening:  # at the end of its travel: the valve can do no more
                break
            previous = (self.opening, log_flow)
            self.opening = opening
            runner.set_valve_opening(opening)
        return steady, False, runner.now_s() - began


def _tank_back_to_start(runner: ProcedureRunner, params: Npsh3Parameters) -> None:
    """Command the start pressure and wait (bounded by ``steady_timeout_s``) until the regulator's
    feedback (run channel ``tank_pressure_pa``) reads it within ``TANK_RETURN_TOLERANCE_FRACTION``;
    without that channel, only the command is given."""
    start = params.start_tank_pressure_pa
    runner.set_tank_pressure_pa(start)
    deadline = runner.now_s() + params.steady_timeout_s
    while runner.now_s() < deadline:
        runner.hold(runner.tick_s)
        now = runner.now_s()
        tank = runner.window_means(now - runner.tick_s / 2, now).get("tank_pressure_pa", math.nan)
        if math.isnan(tank) or abs(tank - start) <= TANK_RETURN_TOLERANCE_FRACTION * start:
            return


class _SweepEnded(Exception):
    """This flow's descent is over without an NPSH3 (reason in the message); not an error of the run."""


def _reading(
    runner: ProcedureRunner,
    params: Npsh3Parameters,
    hold: _FlowHold,
    labels: dict[str, Any],
    setpoint_pa: float,
    role: str,
    flow_m3_s: float | None = None,
) -> Point:
    """Tank to ``setpoint_pa``, flow held (at the series' target unless ``flow_m3_s`` is given),
    steady, averaged: one operating point."""
    runner.set_tank_pressure_pa(setpoint_pa)
    steady, held, settle_s = hold.settle(labels["flow_target_m3_s"] if flow_m3_s is None else flow_m3_s)
    start, end = runner.average(params.dwell_s)
    return runner.record_point(
        start,
        end,
        **labels,
        npsh_role=role,
        tank_pressure_setpoint_pa=setpoint_pa,
        valve_opening=hold.opening,
        flow_held=held,
        steady=steady,
        settle_s=settle_s,
    )


def _sweep(
    runner: ProcedureRunner, params: Npsh3Parameters, hold: _FlowHold, series: int, target_m3_s: float
) -> None:
    """One flow's descent to the 3 % head drop; leaves the tank at the start pressure."""
    start_pa = params.start_tank_pressure_pa
    labels = {"npsh_series": series, "flow_target_m3_s": target_m3_s}
    runner.set_tank_pressure_pa(start_pa)
    references = [
        _reading(runner, params, hold, labels, start_pa, "reference") for _ in range(params.reference_points)
    ]
    if not any(point["flow_held"] for point in references):
        # The bench cannot give this flow (the valve at the end of its travel): no sweep, and no NPSH3
        # reported against a flow that was never there.
        from hil.results.npsh3 import not_reached

        obtained = sum(point["flow_m3_s"] for point in references) / len(references)
        raise _SweepEnded(not_reached(target_m3_s, obtained))
    step_fraction = params.sensitivity_flow_step_fraction
    if step_fraction > 0:
        for factor in (1.0 - step_fraction, 1.0 + step_fraction):
            _reading(runner, params, hold, labels, start_pa, "flow_sensitivity", target_m3_s * factor)
    reference_head = sum(point["head_m"] for point in references) / len(references)
    last = references[-1]
    upper_pa, lower_pa = start_pa, None  # setpoints of the bracket: last >= 97 %, first < 97 %
    step = params.initial_step_pa
    in_knee = False
    while True:
        if lower_pa is None:
            setpoint = upper_pa - step
            # At a held flow the inlet pressure follows the tank one for one: predict it from the last
            # reading, and stop short of the bench's inlet limit instead of tripping on it.
            offset = last["p_inlet_pa"] - last["tank_pressure_setpoint_pa"]
            floor = max(
                params.min_tank_pressure_pa,
                runner.limits.min_inlet_pressure_pa + params.inlet_pressure_margin_pa - offset,
            )
            if setpoint < floor:
                if upper_pa - floor < params.bracket_step_pa / 2:
                    raise _SweepEnded(
                        f"head still {last['head_m'] / reference_head:.4f} of the reference at the lowest "
                        f"tank pressure allowed ({floor:.0f} Pa: min_tank_pressure_pa, or the inlet within "
                        f"{params.inlet_pressure_margin_pa:g} Pa of min_inlet_pressure_pa): NPSH3 not reached"
                    )
                setpoint = floor
        elif upper_pa - lower_pa <= params.bracket_step_pa * (1 + 1e-9):
            return
        else:
            setpoint = (upper_pa + lower_pa) / 2
        runner.progress(
            f"NPSH3 flow {series + 1}: {target_m3_s * 1e3:.3f} L/s, tank {setpoint / 1e3:.2f} kPa",
            step=series + 1,
            steps=len(params.flows_m3_s),
        )
        last = _reading(runner, params, hold, labels, setpoint, "sweep")
        ratio = last["head_m"] / reference_head
        if ratio < params.abort_head_fraction:
            _tank_back_to_start(runner, params)
            raise _SweepEnded(
                f"deep breakdown: head fell to {ratio:.3f} of the reference at tank "
                f"{setpoint:.0f} Pa; step too coarse for this pump (initial_step_pa)"
            )
        if ratio < HEAD_DROP_THRESHOLD:
            lower_pa = setpoint
            if upper_pa - lower_pa <= params.bracket_step_pa * (1 + 1e-9):
                _tank_back_to_start(runner, params)
                return
            # Back out of cavitation at once, and approach the next reading from above.
            runner.set_tank_pressure_pa(upper_pa)
            runner.wait_steady(params.steady_window_s, params.steady_timeout_s, STEADY_LIMITS)
            continue
        upper_pa = setpoint
        if ratio < params.knee_head_fraction:
            in_knee = True
        if in_knee:
            step = max(step * params.shrink_factor, params.bracket_step_pa)


def _row_event(runner: ProcedureRunner, row: Npsh3Row) -> None:
    runner.event(
        "npsh3",
        npsh_series=row.npsh_series,
        flow_target_m3_s=row.flow_target_m3_s,
        flow_m3_s=row.flow_m3_s,
        speed_rpm=row.speed_rpm,
        npsh3_m=row.npsh3_m,
        npsh3_uncertainty_m=row.npsh3_uncertainty_m,
        status=row.status,
    )
    if row.status == "ok":
        runner.progress(
            f"NPSH3 at {row.flow_m3_s * 1e3:.4f} L/s: {row.npsh3_m:.3f} m +- {row.npsh3_uncertainty_m:.3f} m"
        )
    else:
        runner.progress(f"NPSH3 at {row.flow_target_m3_s * 1e3:.4f} L/s: none ({row.status})")


def run(runner: ProcedureRunner, params: Npsh3Parameters) -> None:
    from hil.results.npsh3 import METADATA_KEY, npsh3_curve, npsh3_rows

    geometry = runner.geometry
    runner.record_metadata(
        **{
            METADATA_KEY: {
                "inlet_diameter_m": geometry.inlet_diameter_m,
                "outlet_diameter_m": geometry.outlet_diameter_m,
            }
        }
    )
    speed = params.speed_fraction * geometry.rated_speed_rpm
    start_pa = params.start_tank_pressure_pa
    hold = _FlowHold(runner, params)
    runner.set_tank_pressure_pa(start_pa)
    runner.set_valve_opening(hold.opening)
    runner.ramp_speed_rpm(speed, params.ramp_rate_rpm_s)
    for series, target in enumerate(sorted(params.flows_m3_s)):
        try:
            _sweep(runner, params, hold, series, target)
        except _SweepEnded as ended:
            _tank_back_to_start(runner, params)
            runner.event("npsh3_sweep_ended", npsh_series=series, flow_target_m3_s=target, reason=str(ended))
        # The sweep's NPSH3 now, for the operator and the log; the results file is derived after the
        # run (hil.results.derive), from the recorded log, exactly as a replay derives it.
        rows = [row for row in npsh3_rows(runner.points, runner.metadata) if row.npsh_series == series]
        if rows:
            _row_event(runner, rows[0])
    _tank_back_to_start(runner, params)
    hold.opening = 1.0
    runner.set_valve_opening(1.0)
    runner.ramp_speed_rpm(0.0, params.ramp_rate_rpm_s)
    curve = npsh3_curve(npsh3_rows(runner.points, runner.metadata))
    if curve is not None:
        runner.event(
            "npsh3_curve",
            coefficients=[float(c) for c in curve.coefficients],
            flow_min_m3_s=curve.x_min,
            flow_max_m3_s=curve.x_max,
            degree=curve.degree,
        )


PROCEDURE = ProcedureSpec(
    name="npsh3",
    summary="NPSH3 (3 % head drop) at several flows: suction-pressure sweeps at constant speed and flow",
    parameters=PARAMETERS,
    parameters_type=Npsh3Parameters,
    check=check,
    run=run,
    products=("points_converted", "acceptance", "npsh3"),
)
