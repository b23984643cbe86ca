"""The test report's figures: H-Q with the tolerance cross, P-Q, eta-Q and NPSH3-Q, as inline SVG.

Imports :mod:`hil.results.report_page`, :mod:`hil.results.report_svg` and the analysis fits;
assembled by :mod:`hil.results.report`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from hil.analysis.fits import fit_polynomial
from hil.results.acceptance import (
    distinct_flows,
)
from hil.results.report_page import _COLOURS, ReportData, _new_axes
from hil.results.report_svg import svg_of


def _groups(converted: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    key = "speed_setpoint_rpm" if "speed_setpoint_rpm" in converted else None
    if key is None:
        return [("points", converted)]
    return [(f"tested at {speed:.0f} rpm", group) for speed, group in converted.groupby(key, sort=True)]


def _plot_points(axes: Any, converted: pd.DataFrame, column: str, scale: float = 1.0) -> None:
    for index, (label, group) in enumerate(_groups(converted)):
        axes.errorbar(
            group["converted_flow_m3_s"] * 1000.0,
            group[column] * scale,
            xerr=group["u_converted_flow_m3_s"] * 1000.0,
            yerr=group[f"u_{column}"] * scale,
            fmt="o",
            markersize=4,
            capsize=2.5,
            linewidth=0.9,
            color=_COLOURS[index % len(_COLOURS)],
            label=label,
        )


def _plot_fit(
    axes: Any,
    flow: np.ndarray,
    values: np.ndarray,
    degree: int,
    scale: float = 1.0,
    coefficients: Sequence[float] | None = None,
    label: str = "fitted curve",
) -> Any:
    finite = np.isfinite(flow) & np.isfinite(values)
    flow, values = flow[finite], values[finite]
    distinct = distinct_flows(flow)
    if coefficients is None:
        if distinct < 2:
            return None
        coefficients = [
            float(c) for c in fit_polynomial(flow, values, min(degree, distinct - 1)).coefficients
        ]
    q = np.linspace(flow.min(), flow.max(), 200)
    axes.plot(q * 1000.0, np.polyval(coefficients, q) * scale, color="#444444", linewidth=1.2, label=label)
    return coefficients


def figure_head(data: ReportData) -> str:
    c = data.curve_points
    figure, axes = _new_axes(
        f"H-Q at {data.settings.specified_speed_rpm:.0f} rpm (converted)", "flow Q (L/s)", "total head H (m)"
    )
    _plot_points(axes, c, "converted_head_m")
    doc = data.acceptance
    coefficients = (doc or {}).get("curve", {}).get("head_coefficients") if doc else None
    flow, head = c["converted_flow_m3_s"].to_numpy(float), c["converted_head_m"].to_numpy(float)
    _plot_fit(axes, flow, head, 2, coefficients=coefficients, label="fitted H(Q)")
    if doc:
        g, grade = doc["guarantee"], doc["grade"]
        q_g, h_g = g["flow_m3_s"] * 1000.0, g["head_m"]
        q_lo, q_hi = q_g * (1 - grade["flow_minus"]["value"]), q_g * (1 + grade["flow_plus"]["value"])
        h_lo, h_hi = h_g * (1 - grade["head_minus"]["value"]), h_g * (1 + grade["head_plus"]["value"])
        axes.plot([q_lo, q_hi], [h_g, h_g], color="#c0392b", linewidth=2.2, label="tolerance cross")
        axes.plot([q_g, q_g], [h_lo, h_hi], color="#c0392b", linewidth=2.2)
        _guarantee_mark(axes, q_g, h_g, "guarantee point")
        q_line = np.array([0.0, max(flow.max() * 1000.0, q_hi)])
        axes.plot(
            q_line,
            q_line * h_g / q_g,
            color="#c0392b",
            linewidth=0.8,
            linestyle="--",
            label="line through origin and guarantee",
        )
        q_op = (doc.get("curve") or {}).get("operating_flow_m3_s")
        if q_op is not None and coefficients is not None:
            axes.plot(
                [q_op * 1000.0],
                [np.polyval(coefficients, q_op)],
                marker="D",
                color="#222222",
                markersize=5,
                linestyle="none",
                label="operating point on that line",
            )
    _finish(axes, flow, head)
    # Show the curve and the cross, not the whole line through the origin down to zero head.
    finite = head[np.isfinite(head)]
    if finite.size:
        low = min(
            float(finite.min()),
            doc["guarantee"]["head_m"] * (1 - doc["grade"]["head_minus"]["value"])
            if doc
            else float(finite.min()),
        )
        high = max(
            float(finite.max()),
            doc["guarantee"]["head_m"] * (1 + doc["grade"]["head_plus"]["value"])
            if doc
            else float(finite.max()),
        )
        margin = 0.08 * (high - low) if high > low else 0.1 * abs(high)
        axes.set_ylim(low - margin, high + margin)
    return svg_of(figure)


def _guarantee_mark(axes: Any, flow_l_s: float, value: float, label: str) -> None:
    """The guarantee as a red cross, the same in every figure that has one."""
    axes.plot(
        [flow_l_s],
        [value],
        marker="x",
        color="#c0392b",
        markersize=9,
        markeredgewidth=2,
        linestyle="none",
        label=label,
    )


def _finish(axes: Any, flow: np.ndarray, values: np.ndarray) -> None:
    """Flow axis from zero; a single tested flow in the middle of it, not on the right edge (where
    matplotlib's autoscale to that one flow puts it), with headroom above the data."""
    finite = np.isfinite(flow) & np.isfinite(values)
    if finite.any():
        q_max = float(flow[finite].max()) * 1000.0
        if distinct_flows(flow[finite]) < 2:
            axes.set_xlim(left=0.0, right=2.0 * q_max if q_max > 0 else 1.0)
            low, high = axes.get_ylim()
            axes.set_ylim(low, high + 0.15 * (high - low))
        else:
            axes.set_xlim(left=0.0, right=max(axes.get_xlim()[1], q_max * 1.05))
    axes.legend(fontsize=8, loc="best")


def figure_power(data: ReportData) -> str:
    c = data.curve_points
    figure, axes = _new_axes(
        f"P-Q at {data.settings.specified_speed_rpm:.0f} rpm (converted)", "flow Q (L/s)", "power (W)"
    )
    _plot_points(axes, c, "converted_electrical_power_w")
    flow = c["converted_flow_m3_s"].to_numpy(float)
    power = c["converted_electrical_power_w"].to_numpy(float)
    _plot_fit(axes, flow, power, 2, label="fitted P_el(Q)")
    hydraulic = c["converted_hydraulic_power_w"].to_numpy(float)
    axes.errorbar(
        flow * 1000.0,
        hydraulic,
        yerr=c["u_converted_hydraulic_power_w"].to_numpy(float),
        fmt="s",
        markersize=3.5,
        capsize=2,
        linewidth=0.8,
        color="#7f7f7f",
        label="hydraulic power rho g Q H",
    )
    doc = data.acceptance
    if doc and doc["guarantee"].get("power_w"):
        g = doc["guarantee"]
        tolerance = (doc["grade"].get("power_plus") or {}).get("value", 0.0)
        q_g = g["flow_m3_s"] * 1000.0
        _guarantee_mark(axes, q_g, g["power_w"], "guaranteed input power")
        axes.plot(
            [q_g, q_g],
            [g["power_w"], g["power_w"] * (1 + tolerance)],
            color="#c0392b",
            linewidth=2.2,
            label="power tolerance",
        )
    axes.set_ylim(bottom=0.0)
    _finish(axes, flow, power)
    return svg_of(figure)


def figure_efficiency(data: ReportData) -> str:
    c = data.curve_points
    figure, axes = _new_axes(
        f"eta-Q at {data.settings.specified_speed_rpm:.0f} rpm (converted)",
        "flow Q (L/s)",
        "overall efficiency (%)",
    )
    _plot_points(axes, c, "converted_overall_efficiency", scale=100.0)
    flow = c["converted_flow_m3_s"].to_numpy(float)
    eta = c["converted_overall_efficiency"].to_numpy(float)
    degree = (
        int((data.acceptance or {}).get("curve", {}).get("efficiency_degree", 3)) if data.acceptance else 3
    )
    _plot_fit(axes, flow, eta, degree, scale=100.0, label="fitted eta(Q)")
    doc = data.acceptance
    if doc and doc["guarantee"].get("efficiency"):
        g = doc["guarantee"]
        tolerance = (doc["grade"].get("efficiency") or {}).get("value", 0.0)
        q_g = g["flow_m3_s"] * 1000.0
        _guarantee_mark(axes, q_g, g["efficiency"] * 100.0, "guaranteed efficiency")
        threshold = g["efficiency"] * (1 + tolerance) * 100.0
        q_op = (doc.get("curve") or {}).get("operating_flow_m3_s")
        centre = q_op * 1000.0 if q_op is not None else q_g
        axes.plot(
            [centre * 0.9, centre * 1.1],
            [threshold, threshold],
            color="#c0392b",
            linewidth=2.2,
            label="lowest acceptable, at the operating flow",
        )
        if q_op is not None:
            axes.axvline(
                q_op * 1000.0,
                color="#222222",
                linewidth=0.8,
                linestyle=":",
                label="operating flow (line through origin)",
            )
    _finish(axes, flow, eta)
    return svg_of(figure)


def _column(frame: pd.DataFrame, *candidates: str, containing: str | None = None) -> str | None:
    for name in candidates:
        if name in frame.columns:
            return name
    if containing:
        for name in frame.columns:
            if containing in name and not name.startswith("u_") and "uncertainty" not in name:
                return name
    return None


def npsh3_limits(
    flow_m3_s: np.ndarray, npsh3_m: np.ndarray, uncertainty_m: np.ndarray | None
) -> tuple[tuple[float, float], tuple[float, float]]:
    """Axis limits of the NPSH3-Q figure: (flow in L/s, NPSH3 in m), both from zero.

    Set here rather than left to matplotlib's autoscale: with a single flow (one constant-flow sweep,
    common for a first NPSH3 test) the autoscaled range is the point's own error bar, and clamping its
    bottom to zero puts the point on the top edge and at the right edge. Headroom of a quarter of the
    largest value (a half with a single flow, which centres the point's flow) keeps every point and
    its error bar inside the frame.
    """
    finite = np.isfinite(flow_m3_s) & np.isfinite(npsh3_m)
    if not finite.any():
        return (0.0, 1.0), (0.0, 1.0)
    flow, npsh = flow_m3_s[finite] * 1000.0, npsh3_m[finite]
    top = npsh + (np.nan_to_num(uncertainty_m[finite]) if uncertainty_m is not None else 0.0)
    single = distinct_flows(flow_m3_s[finite]) < 2
    x_right = float(flow.max()) * (2.0 if single else 1.1)
    y_top = float(top.max()) * (1.5 if single else 1.25)
    return (0.0, x_right if x_right > 0 else 1.0), (0.0, y_top if y_top > 0 else 1.0)


def npsh3_axes(data: ReportData) -> tuple[Any, Any] | None:
    """The NPSH3-Q figure and its axes (None without NPSH3 results)."""
    frame = data.npsh3
    if frame is None or frame.empty:
        return None
    flow_col = _column(frame, "converted_flow_m3_s", "flow_m3_s", containing="flow_m3_s")
    npsh_col = _column(frame, "converted_npsh3_m", "npsh3_m", containing="npsh3")
    if flow_col is None or npsh_col is None:
        return None
    u_col = _column(frame, f"u_{npsh_col}", "npsh3_uncertainty_m", "u_npsh3_m")
    if "status" in frame.columns:
        frame = frame[frame["status"] == "ok"]
    figure, axes = _new_axes("NPSH3-Q (at the test speed)", "flow Q (L/s)", "NPSH3 (m)")
    flow, npsh = frame[flow_col].to_numpy(float), frame[npsh_col].to_numpy(float)
    uncertainty = None if u_col is None else frame[u_col].to_numpy(float)
    axes.errorbar(
        flow * 1000.0,
        npsh,
        yerr=uncertainty,
        fmt="o",
        markersize=5,
        capsize=3,
        color=_COLOURS[0],
        label="NPSH3 (3 % head drop)",
    )
    if np.unique(flow[np.isfinite(flow)]).size >= 2:
        _plot_fit(axes, flow, npsh, 2, label="fitted NPSH3(Q)")
    x_limits, y_limits = npsh3_limits(flow, npsh, uncertainty)
    axes.set_xlim(*x_limits)
    axes.set_ylim(*y_limits)
    axes.legend(fontsize=8, loc="best")
    return figure, axes


def figure_npsh3(data: ReportData) -> str | None:
    built = npsh3_axes(data)
    return None if built is None else svg_of(built[0])
