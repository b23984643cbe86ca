"""NPSH3 results of a cavitation test: NPSH3 of each constant-flow sweep with its uncertainty and the
NPSH3(Q) curve (the rows of ``npsh3.csv``).

The derive step (:mod:`hil.results.derive`) calls :func:`npsh3_rows` after a live run and on replay,
on the points recomputed from the raw log and the ``point`` events' labels, so a replay reproduces
``npsh3.csv`` bit for bit; the procedure calls it live on its points only to report each flow's
NPSH3 as it goes.

What the points must carry: the labels ``npsh_series`` (one series per tested flow),
``npsh_role`` (``"reference"`` for the readings at ample inlet pressure and the target flow,
``"flow_sensitivity"`` for readings at ample pressure slightly off the target flow, ``"sweep"`` for
the rest) and ``flow_target_m3_s``; and, from :func:`hil.run.operating_points.operating_point`, the means,
standard deviations and counts of the channels, ``head_m`` and ``npsha_m``. The run's metadata
carries the stated accuracies (``accuracy``) and, under ``npsh3``, the tap diameters.

Uncertainty (95 %, the convention of :mod:`hil.analysis.uncertainty`):

- each reading: Student-t random part from the window's std and effective sample size, root-sum-square with the
  instrument's stated accuracy (a fraction of the reading; a channel without one contributes only
  its random part);
- head: random from the head series, instrument part propagated from both pressures and the flow
  (:func:`hil.analysis.uncertainty.head_uncertainty_m`);
- NPSHA ``(p1 - p_v(T))/(rho g) + v1^2/(2 g)``: from the inlet pressure, the temperature through
  ``dp_v/dT`` (numerical, from the same CoolProp water) and the flow through the velocity head;
- flow held only to a tolerance: a reading taken at a flow ``Q`` instead of the reference
  readings' mean ``Q_ref`` has a non-cavitating head different from the reference by
  ``H (Q/Q_ref)^k - H`` with ``k = d ln H / d ln Q``. A series that holds ``flow_sensitivity``
  readings (at ample pressure, a few per cent either side of the target) measures ``k``: a
  least-squares line of ``ln H`` on ``ln Q`` through them and the reference readings, with its 95 %
  (Student-t) uncertainty ``u_k``. Every head is then brought to ``Q_ref`` as
  ``H (Q_ref/Q)^k`` (the cavitation factor is unchanged by it: it multiplies the clean head), and
  ``H |ln(Q/Q_ref)| u_k`` is added (RSS) to its uncertainty. Without such readings ``k`` is not
  known: no correction, and ``u_k`` is the bound ``HEAD_FLOW_SENSITIVITY`` (1.0), which holds for a
  stable, drooping characteristic up to well beyond the best-efficiency flow. The sensitivity
  readings themselves take no part in the sweep;
- NPSH3: the linear propagation of :func:`hil.analysis.npsh.npsh3_from_sweep` (reference head
  uncertainty taken as one reading's, not divided by the number of reference readings), plus an
  interpolation term: the difference between the linear interpolation and the quadratic through the
  bracketing pair and the next reading above it. Near the knee the head falls ever faster, so the
  linear interpolation is biased; that difference estimates the bias from the data themselves
  (half the bracket's width when no third reading lies clearly above the bracket).

Imports hil's analysis, fluids, errors and the run directory's file names only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hil.analysis import AnalysisError
from hil.analysis.fits import PolynomialFit
from hil.analysis.grades import Grade
from hil.analysis.npsh import fit_npsh3_curve, npsh3_from_sweep, npsh3_tolerance_m
from hil.analysis.uncertainty import combine_rss, head_uncertainty_m, student_t_factor
from hil.core.errors import ConfigError
from hil.core.fluids import STANDARD_GRAVITY_M_S2, water_vapour_pressure_pa
from hil.store.names import METADATA

METADATA_KEY = "npsh3"
CONFIDENCE = 0.95
HEAD_FLOW_SENSITIVITY = 1.0
"""Bound on ``|d ln H / d ln Q|`` of the non-cavitating head (see the module docstring)."""
_VAPOUR_SLOPE_STEP_K = 0.05


@dataclass(frozen=True)
class Npsh3Row:
    """One line of ``npsh3.csv``: the NPSH3 of one constant-flow sweep."""

    npsh_series: int
    flow_target_m3_s: float
    flow_m3_s: float  # measured, interpolated at the 3 % crossing like NPSH3 itself
    speed_rpm: float  # likewise
    npsh3_m: float
    npsh3_uncertainty_m: float  # 95 %, including the interpolation term
    interpolation_uncertainty_m: float
    reference_head_m: float
    threshold_head_m: float
    head_flow_exponent: float  # k = d ln H / d ln Q used to bring heads to the reference flow
    head_flow_exponent_uncertainty: float
    points: int
    status: str  # "ok", or why this sweep gave no NPSH3


def _flow_held(point: Mapping[str, Any]) -> bool:
    """The reading's ``flow_held`` label (a reading recorded without one counts as held)."""
    return str(point.get("flow_held", True)).lower() not in ("false", "0", "0.0")


def not_reached(target_m3_s: float, obtained_m3_s: float) -> str:
    """The status of a sweep whose flow the bench could not reach at ample inlet pressure: no
    NPSH3 is given for it (one at another flow would be reported against the wrong flow)."""
    return (
        f"not reached: flow {obtained_m3_s * 1e3:g} L/s obtained, {target_m3_s * 1e3:g} L/s asked "
        "(the throttle valve could not hold it)"
    )


def _independent(point: Mapping[str, Any], channel: str) -> float:
    """Effective sample size of a channel's window (its count for points recorded before n_eff)."""
    n_eff = point.get(f"{channel}_n_eff")
    if n_eff is not None and math.isfinite(float(n_eff)):
        return float(n_eff)
    return float(point.get(f"{channel}_n", 0) or 0)


def _reading_uncertainty(point: Mapping[str, Any], channel: str, accuracy: Mapping[str, float]) -> float:
    """Random (Student-t on the mean) and instrument part of one averaged channel, RSS."""
    mean = float(point[channel])
    std = float(point.get(f"{channel}_std", math.nan))
    n = _independent(point, channel)
    if n >= 2 and math.isfinite(std):
        random = student_t_factor(max(2, round(n)), CONFIDENCE) * std / math.sqrt(n)
    else:
        random = math.inf  # one sample says nothing about scatter
    return combine_rss(random, float(accuracy.get(channel, 0.0)) * abs(mean))


def point_uncertainties(
    point: Mapping[str, Any], accuracy: Mapping[str, float], inlet_diameter_m: float, outlet_diameter_m: float
) -> tuple[float, float]:
    """(head uncertainty, NPSHA uncertainty) of one reading, in metres, 95 %."""
    rho = float(point["density_kg_m3"])
    g = STANDARD_GRAVITY_M_S2
    p1, p2, q = float(point["p_inlet_pa"]), float(point["p_outlet_pa"]), float(point["flow_m3_s"])
    u_p1 = _reading_uncertainty(point, "p_inlet_pa", accuracy)
    u_q = _reading_uncertainty(point, "flow_m3_s", accuracy)
    head_n = _independent(point, "head_m")
    head_std = float(point.get("head_m_std", math.nan))
    head_random = (
        student_t_factor(max(2, round(head_n)), CONFIDENCE) * head_std / math.sqrt(head_n)
        if head_n >= 2 and math.isfinite(head_std)
        else math.inf
    )
    head_instrument = float(
        head_uncertainty_m(
            p1,
            float(accuracy.get("p_inlet_pa", 0.0)) * abs(p1),
            p2,
            float(accuracy.get("p_outlet_pa", 0.0)) * abs(p2),
            q,
            float(accuracy.get("flow_m3_s", 0.0)) * abs(q),
            rho,
            inlet_diameter_m,
            outlet_diameter_m,
        )
    )
    u_head = combine_rss(head_random, head_instrument)

    temperature = float(point["fluid_temperature_c"])
    u_temperature = _reading_uncertainty(point, "fluid_temperature_c", accuracy)
    dpv_dt = (
        water_vapour_pressure_pa(temperature + _VAPOUR_SLOPE_STEP_K)
        - water_vapour_pressure_pa(temperature - _VAPOUR_SLOPE_STEP_K)
    ) / (2 * _VAPOUR_SLOPE_STEP_K)
    area = math.pi / 4.0 * inlet_diameter_m**2
    u_npsha = combine_rss(u_p1 / (rho * g), dpv_dt * u_temperature / (rho * g), q / (area * area * g) * u_q)
    return u_head, u_npsha


def _quadratic_crossing(
    npsha: np.ndarray, head: np.ndarray, threshold: float, low: float, high: float
) -> float:
    """NPSHA where the parabola through three (NPSHA, head) readings reaches ``threshold``, within
    ``low..high`` (the linear bracket); NaN when it has no root there."""
    coefficients = np.polyfit(npsha, head, 2)
    coefficients[-1] -= threshold
    roots = np.roots(coefficients)
    inside = [float(r.real) for r in roots if abs(r.imag) < 1e-12 and low <= r.real <= high]
    return inside[0] if len(inside) == 1 else math.nan


def head_flow_exponent(flow_m3_s: np.ndarray, head_m: np.ndarray) -> tuple[float, float]:
    """``k = d ln H / d ln Q`` by least squares through the readings, with its 95 % uncertainty;
    (0, HEAD_FLOW_SENSITIVITY) when they cannot give a slope (fewer than three, or one flow)."""
    x = np.log(np.asarray(flow_m3_s, dtype=float))
    y = np.log(np.asarray(head_m, dtype=float))
    n = x.size
    sxx = float(np.sum((x - x.mean()) ** 2)) if n else 0.0
    if n < 3 or not sxx > 0.0:
        return 0.0, HEAD_FLOW_SENSITIVITY
    slope = float(np.sum((x - x.mean()) * (y - y.mean())) / sxx)
    residual = y - y.mean() - slope * (x - x.mean())
    standard_error = math.sqrt(float(residual @ residual) / (n - 2) / sxx)
    return slope, student_t_factor(n - 1, CONFIDENCE) * standard_error


def npsh3_of_series(
    points: Sequence[Mapping[str, Any]],
    accuracy: Mapping[str, float],
    inlet_diameter_m: float,
    outlet_diameter_m: float,
) -> Npsh3Row:
    """NPSH3 of one sweep (the points of one ``npsh_series``), with its 95 % uncertainty."""
    if not points:
        raise ConfigError("npsh3_of_series", "points", "expected the points of one sweep, got none")
    series = int(points[0]["npsh_series"])
    target = float(points[0]["flow_target_m3_s"])
    reference = [p for p in points if p.get("npsh_role") == "reference"]

    def failed(reason: str, k: float = math.nan, u_k: float = math.nan, flow: float = math.nan) -> Npsh3Row:
        return Npsh3Row(
            series,
            target,
            flow,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            k,
            u_k,
            len(points),
            reason,
        )

    if not reference:
        return failed("no reference readings at ample inlet pressure")
    if not any(_flow_held(p) for p in reference):
        obtained = float(np.mean([float(p["flow_m3_s"]) for p in reference]))
        return failed(not_reached(target, obtained), flow=obtained)
    roles = np.array([str(p.get("npsh_role")) for p in points])
    flow_all = np.array([float(p["flow_m3_s"]) for p in points])
    head_all = np.array([float(p["head_m"]) for p in points])
    is_reference = roles == "reference"
    k, u_k = head_flow_exponent(
        flow_all[is_reference | (roles == "flow_sensitivity")],
        head_all[is_reference | (roles == "flow_sensitivity")],
    )
    reference_flow = float(flow_all[is_reference].mean())

    used = [p for p, role in zip(points, roles) if role != "flow_sensitivity"]
    is_reference = np.array([p.get("npsh_role") == "reference" for p in used])
    npsha = np.array([float(p["npsha_m"]) for p in used])
    flow = np.array([float(p["flow_m3_s"]) for p in used])
    speed = np.array([float(p["speed_rpm"]) for p in used])
    log_offset = np.log(flow / reference_flow)
    head = np.array([float(p["head_m"]) for p in used]) * np.exp(-k * log_offset)
    pairs = [point_uncertainties(p, accuracy, inlet_diameter_m, outlet_diameter_m) for p in used]
    u_npsha = np.array([u for _, u in pairs])
    u_head = np.sqrt(np.array([u for u, _ in pairs]) ** 2 + (head * np.abs(log_offset) * u_k) ** 2)
    reference_head = float(head[is_reference].mean())
    try:
        result = npsh3_from_sweep(
            npsha,
            head,
            reference_head_m=reference_head,
            head_uncertainty_m=u_head,
            npsha_uncertainty_m=u_npsha,
            reference_head_uncertainty_m=float(u_head[is_reference].max()),
        )
    except AnalysisError as exc:
        return failed(str(exc), k, u_k)
    i, j = result.bracket_indices
    s = (result.threshold_head_m - head[i]) / (head[j] - head[i])
    # The next reading above the bracket, for the quadratic that estimates the interpolation bias.
    above = [m for m in np.argsort(-npsha, kind="stable") if npsha[m] > npsha[i]]
    interpolation = abs(float(npsha[i] - npsha[j])) / 2.0  # without a third reading: half the bracket
    if above and npsha[int(above[-1])] - npsha[i] >= 0.1 * (npsha[i] - npsha[j]):
        m = int(above[-1])
        quadratic = _quadratic_crossing(
            npsha[[m, i, j]], head[[m, i, j]], result.threshold_head_m, float(npsha[j]), float(npsha[i])
        )
        if math.isfinite(quadratic):  # else no root inside the bracket: keep half the bracket
            interpolation = abs(quadratic - result.npsh3_m)
    return Npsh3Row(
        npsh_series=series,
        flow_target_m3_s=target,
        flow_m3_s=float((1.0 - s) * flow[i] + s * flow[j]),
        speed_rpm=float((1.0 - s) * speed[i] + s * speed[j]),
        npsh3_m=result.npsh3_m,
        npsh3_uncertainty_m=math.hypot(result.uncertainty_m, interpolation),
        interpolation_uncertainty_m=float(interpolation),
        reference_head_m=result.reference_head_m,
        threshold_head_m=result.threshold_head_m,
        head_flow_exponent=k,
        head_flow_exponent_uncertainty=u_k,
        points=len(points),
        status="ok",
    )


def npsh3_rows(points: Sequence[Mapping[str, Any]], metadata: Mapping[str, Any]) -> list[Npsh3Row]:
    """One row per ``npsh_series`` among ``points`` (points without the label are ignored)."""
    settings = metadata.get(METADATA_KEY)
    if not isinstance(settings, Mapping):
        raise ConfigError(METADATA, METADATA_KEY, "missing: the NPSH3 test records its tap diameters there")
    accuracy = metadata.get("accuracy", {})
    grouped: dict[int, list[Mapping[str, Any]]] = {}
    for point in points:
        if "npsh_series" in point:
            grouped.setdefault(int(point["npsh_series"]), []).append(point)
    return [
        npsh3_of_series(
            group, accuracy, float(settings["inlet_diameter_m"]), float(settings["outlet_diameter_m"])
        )
        for _, group in sorted(grouped.items())
    ]


def npsh3_curve(rows: Sequence[Npsh3Row]) -> PolynomialFit | None:
    """NPSH3(Q) through the successful sweeps: a parabola, or lower when fewer flows were measured;
    None with fewer than two."""
    good = [row for row in rows if row.status == "ok"]
    if len(good) < 2:
        return None
    return fit_npsh3_curve(
        [row.flow_m3_s for row in good], [row.npsh3_m for row in good], degree=min(2, len(good) - 1)
    )


def npsh3_table(rows: Sequence[Npsh3Row], grade: Grade) -> list[dict[str, Any]]:
    """One entry per tested flow: NPSH3, its 95 % uncertainty and the grade's NPSH3 tolerance
    (the larger of the fraction of NPSH3 and the floor, :func:`hil.analysis.npsh.npsh3_tolerance_m`)."""
    table = []
    for row in rows:
        ok = row.status == "ok" and math.isfinite(row.npsh3_m)
        table.append(
            {
                "flow_target_m3_s": row.flow_target_m3_s,
                "flow_m3_s": row.flow_m3_s if math.isfinite(row.flow_m3_s) else None,  # obtained, if not ok
                "speed_rpm": row.speed_rpm if ok else None,
                "npsh3_m": row.npsh3_m if ok else None,
                "npsh3_uncertainty_m": row.npsh3_uncertainty_m if ok else None,
                "tolerance_m": npsh3_tolerance_m(grade, row.npsh3_m) if ok else None,
                "grade": grade.name,
                "tolerance_verified": grade.grade_class.npsh3_tolerance_fraction.verified,
                "status": row.status,
            }
        )
    return table


def format_npsh3_table(table: Sequence[Mapping[str, Any]]) -> str:
    """The NPSH3 results as a readable table (flows in L/s)."""
    if not table:
        return "NPSH3: no sweep measured"
    grade = table[0]["grade"]
    mark = "" if table[0]["tolerance_verified"] else " (unverified)"
    lines = [
        f"NPSH3 per flow (95 % uncertainty; tolerance of grade {grade}{mark}; flow in L/s):",
        f"  {'Q target L/s':>12} {'Q L/s':>8} {'NPSH3 m':>8} {'+- m':>7} {'tol m':>7}  status",
    ]
    for entry in table:
        if entry["npsh3_m"] is None:
            flow = "-" if entry["flow_m3_s"] is None else f"{entry['flow_m3_s'] * 1000:.4f}"
            lines.append(
                f"  {entry['flow_target_m3_s'] * 1000:12.4f} {flow:>8} {'-':>8} {'-':>7} {'-':>7}  {entry['status']}"
            )
            continue
        lines.append(
            f"  {entry['flow_target_m3_s'] * 1000:12.4f} {entry['flow_m3_s'] * 1000:8.4f} "
            f"{entry['npsh3_m']:8.3f} {entry['npsh3_uncertainty_m']:7.3f} {entry['tolerance_m']:7.3f}  ok"
        )
    return "\n".join(lines)
