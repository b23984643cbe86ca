"""The report's figures as inline SVG: one figure setup, a fixed layout drawn once, long series thinned.

What lives here: :func:`new_figure` (a figure with its axes placed at fixed margins), :func:`svg_of`
(a figure as inline SVG: deterministic ids, text kept as text, no metadata block) and
:func:`min_max_decimate` (a long series reduced to the extremes of each of a few thousand slices).
Every figure of the report (:mod:`hil.results.report_page`, :mod:`hil.results.report_figures`,
:mod:`hil.results.report_log`, :mod:`hil.results.flight_report`) is made and written through them.

Why a fixed layout: matplotlib's ``bbox_inches="tight"`` draws the figure a first time (with drawing
disabled) to measure every artist, asks each axis for its tight bounding box (ticks laid out again),
and only then draws it for real: three passes of tick placement and text layout, which is what the
report's time went on (cProfile of ``hil report`` on a three-point performance curve: savefig 3.8 s
of 4.6 s under the profiler, ``_update_ticks`` 1.35 s, ``get_tightbbox`` 0.96 s). Here the axes sit
at margins in inches wide enough for the tick labels, axis labels and titles the report draws, so
one draw lays everything out once. ``layout="constrained"`` was measured too: it runs the same
measuring pass inside the draw and was no faster than ``tight`` (figure H-Q: 212-301 ms against
166-221 ms tight and 89-157 ms fixed, medians of 7, load 2). Titles are placed at the top of their
axes (``y=1``): left to itself matplotlib lays out the y axis once more, before the draw, to see
whether its offset text reaches the title.

Measured with ``benchmarks/bench_report.py --repeats 9`` (``hil report`` in-process on the test
suite's three-point performance curve, four figures), before and after alternately, twice, at load
3.3-4 on 2 cores: CPU median 1201 and 1114 ms before (113x and 117x reading the run's files), 592
and 662 ms after (68x and 65x); 0.86 million Python calls a report instead of 1.48 million (0.97
million with the fixed layout alone). Thinning long series changes nothing below 4,000 samples (the
suite's runs); on the default performance curve (11,440 samples a channel; ``--long --repeats 5``)
the whole report took CPU median 1652 ms before and 1021 ms after, 521 kB and 473 kB (the time
series alone 369 and 257 kB). Five panels of nine one-hour 100 Hz channels (360,000 samples each):
0.60-1.07 s of CPU and 3.5 MB of SVG drawn whole, 0.17 s and 0.78 MB thinned (the thinning itself
13 ms). What is left is matplotlib's own: a tick object costs about
1.2 ms to make (150 a report), a figure with its axes about 12 ms, each legend and text its layout.

Imports numpy and matplotlib only.
"""

from __future__ import annotations

import io
import re
from typing import Any

import numpy as np

MARGINS_IN = {"left": 1.0, "right": 0.25, "bottom": 0.6, "top": 0.4}
"""Space around the axes, in inches: y tick labels of up to about seven characters and the y label
on the left, the x tick labels and x label below, the title above."""
XLABEL_BELOW_IN = 24.0 / 72.0
"""The x label's top below the axes: tick (3.5 pt), its pad (3.5 pt), a 10 pt tick label (12 pt high),
the label's pad (4 pt). Fixed, since x tick labels are always one line high: matplotlib would lay the
x ticks out a second time to find it. The y label is left where matplotlib puts it, beside the widest
tick label (a fixed place would cover tick labels of eight characters such as "-0.00025")."""
DECIMATE_SLICES = 2000
"""A series longer than twice this many samples is drawn as the lowest and highest value of each of
this many slices (about twice the plot's width in pixels on a wide screen)."""


def new_figure(width_in: float, height_in: float, rows: int = 1) -> tuple[Any, list[Any]]:
    """A figure of that size with ``rows`` axes stacked at fixed margins (x shared when several)."""
    from matplotlib.figure import Figure
    from matplotlib.transforms import ScaledTranslation

    figure = Figure(figsize=(width_in, height_in), dpi=100)
    figure.subplots_adjust(
        left=MARGINS_IN["left"] / width_in,
        right=1.0 - MARGINS_IN["right"] / width_in,
        bottom=MARGINS_IN["bottom"] / height_in,
        top=1.0 - MARGINS_IN["top"] / height_in,
        hspace=0.15,
    )
    axes_list = list(figure.subplots(rows, 1, sharex=rows > 1, squeeze=False)[:, 0])
    inches = figure.dpi_scale_trans
    for axes in axes_list:
        axes.xaxis.set_major_locator(_in_view_locator())
        axes.yaxis.set_major_locator(_in_view_locator())
        axes.xaxis.set_label_coords(
            0.5, 0.0, transform=axes.transAxes + ScaledTranslation(0, -XLABEL_BELOW_IN, inches)
        )
    return figure, axes_list


def _in_view_locator() -> Any:
    """matplotlib's default tick locator, keeping only the ticks inside the axis's view.

    The default one also returns a tick beyond each end of the view, which matplotlib makes into a
    tick object (three lines, two texts: 1.2 ms each here) and then does not draw: about one tick
    object in five of the report's. Defined here so that matplotlib is imported when a figure is made.
    """
    from matplotlib.ticker import AutoLocator

    class InViewLocator(AutoLocator):
        def __call__(self) -> Any:
            if self.axis is None:  # not yet on an axis: nothing to trim to
                return super().__call__()
            low, high = sorted(self.axis.get_view_interval())
            tolerance = 1e-10 * (high - low)
            return [v for v in super().__call__() if low - tolerance <= v <= high + tolerance]

    return InViewLocator()


def svg_of(figure: Any) -> str:
    """A matplotlib figure as inline SVG: deterministic ids, text kept as text, no metadata block."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.hashsalt": "hil-report", "svg.fonttype": "none"}):
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    return re.sub(r"<metadata>.*?</metadata>", "", text, flags=re.S)


def min_max_decimate(
    time_s: np.ndarray, values: np.ndarray, slices: int = DECIMATE_SLICES
) -> tuple[np.ndarray, np.ndarray]:
    """The series as the lowest and highest sample of each of ``slices`` runs of samples, in time order.

    Every extreme stays visible (a one-sample spike is the highest value of its slice, drawn at its own
    time), so a plot of hours at 100 Hz draws a few thousand points instead of hundreds of thousands,
    and looks the same at the width it is shown. A slice that holds a missing value (NaN) is followed by
    a NaN, so a gap in the record stays a gap in the line (placed within one slice). A series of at most
    ``2 * slices`` samples is returned as it is.
    """
    n = values.size
    if n <= 2 * slices:
        return time_s, values
    per = -(-n // slices)
    rows = -(-n // per)
    padded = np.full(rows * per, np.nan)
    padded[:n] = values
    grid = padded.reshape(rows, per)
    missing = np.isnan(grid)
    starts = np.arange(rows) * per
    low = starts + np.argmin(np.where(missing, np.inf, grid), axis=1)
    high = starts + np.argmax(np.where(missing, -np.inf, grid), axis=1)
    picked = np.stack([np.minimum(low, high), np.maximum(low, high), np.full(rows, -1)], axis=1)
    gap = missing.copy()
    gap[-1, n - starts[-1] :] = False  # the padding after the last sample is no gap
    keep = np.ones_like(picked, dtype=bool)
    keep[:, 2] = gap.any(axis=1)
    index = picked[keep]
    out_values = np.where(index >= 0, padded[np.clip(index, 0, None)], np.nan)
    out_time = np.where(index >= 0, time_s[np.clip(index, 0, n - 1)], np.nan)
    # A gap marker's time: that of the slice's last sample, so the time axis stays ordered.
    marker = index < 0
    out_time[marker] = time_s[np.minimum(starts[keep[:, 2]] + per - 1, n - 1)]
    return out_time, out_values
