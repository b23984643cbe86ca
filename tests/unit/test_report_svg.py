"""The report's figure helpers: the min/max thinning of long series keeps every extreme and every gap,
and a figure written as SVG keeps its text as text and everything it draws inside its frame."""

from __future__ import annotations

import re

import numpy as np
import pytest

from hil.results.report_svg import min_max_decimate, new_figure, svg_of


def test_a_short_series_is_drawn_as_it_is() -> None:
    time_s = np.arange(4000) / 100.0
    values = np.sin(time_s)
    out_time, out_values = min_max_decimate(time_s, values, slices=2000)
    assert out_time is time_s and out_values is values


def test_a_one_sample_spike_in_an_hour_at_100_hz_stays_in_the_plot_at_its_own_time() -> None:
    rng = np.random.default_rng(3)
    time_s = np.arange(360_000) / 100.0
    values = 1000.0 + rng.normal(0.0, 1.0, time_s.size)
    values[123_457] = 1900.0  # one sample, 10 ms wide
    values[300_001] = 100.0  # and a dip
    out_time, out_values = min_max_decimate(time_s, values, slices=2000)
    assert out_values.size <= 2 * 2000
    assert out_values.max() == 1900.0 and out_time[np.argmax(out_values)] == time_s[123_457]
    assert out_values.min() == 100.0 and out_time[np.argmin(out_values)] == time_s[300_001]
    assert np.all(np.diff(out_time) >= 0)
    # Every value drawn is a recorded sample at its recorded time.
    assert np.array_equal(values[np.searchsorted(time_s, out_time)], out_values)


def test_the_envelope_of_every_stretch_of_the_record_is_kept() -> None:
    time_s = np.arange(200_003) * 0.01  # not a multiple of the slices: the last one is short
    values = np.sin(2 * np.pi * 7.3 * time_s) * (1.0 + time_s / 100.0)
    out_time, out_values = min_max_decimate(time_s, values, slices=1000)
    for start in range(0, time_s.size, 200_003 // 37):
        stretch = slice(start, start + 5000)
        t0, t1 = time_s[stretch][0], time_s[stretch][-1]
        drawn = out_values[(out_time >= t0 - 2.01) & (out_time <= t1 + 2.01)]  # a slice is 2.01 s
        assert drawn.max() >= values[stretch].max() and drawn.min() <= values[stretch].min()
    assert out_time[-1] > time_s[-202]  # the last, short slice is drawn too


def test_a_gap_in_the_record_stays_a_gap_and_missing_slices_draw_nothing() -> None:
    time_s = np.arange(100_000) / 100.0
    values = np.cos(time_s)
    values[40_000:41_000] = np.nan  # 10 s without a reading
    out_time, out_values = min_max_decimate(time_s, values, slices=2000)
    inside = (out_time > time_s[40_000]) & (out_time < time_s[40_999])
    assert np.all(np.isnan(out_values[inside]))
    assert np.isnan(out_values).sum() >= 1000 // 50  # every slice inside the gap is missing
    assert np.nanmax(out_values) == np.nanmax(values) and np.nanmin(out_values) == np.nanmin(values)
    assert np.all(np.diff(out_time) >= 0)


def test_a_figure_is_inline_svg_with_its_text_as_text_and_no_metadata() -> None:
    figure, (axes,) = new_figure(9.0, 4.8)
    axes.plot([0.0, 1.0], [2.0, 3.0])
    axes.set_title("H-Q at 30000 rpm", y=1.0)
    axes.set_ylabel("total head H (m)")
    text = svg_of(figure)
    assert text.startswith("<svg") and "<metadata>" not in text
    assert "H-Q at 30000 rpm" in text and "total head H (m)" in text
    view_box = re.search(r'viewBox="0 0 ([\d.]+) ([\d.]+)"', text)
    assert view_box is not None
    assert [float(v) for v in view_box.groups()] == pytest.approx([9.0 * 72, 4.8 * 72])  # all of it, points
    assert svg_of(figure) == text  # deterministic ids


def test_the_axes_leave_room_for_their_labels() -> None:
    """Drawn once at fixed margins and label positions: with the widest tick labels the report draws
    (seven characters), everything stays inside the figure and no axis label covers a tick label."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    for rows, height_in in ((1, 4.8), (5, 11.1)):
        figure, axes_list = new_figure(11.0 if rows > 1 else 9.0, height_in, rows=rows)
        for axes in axes_list:
            axes.plot([0.0, 3600.0], [-0.0004, 0.0009])
            axes.set_ylabel("overall efficiency (%)")
            axes.set_xlabel("bench time (s)")
        axes_list[0].set_title("Main channels against bench time (dashed: bench limits)", y=1.0)
        canvas = FigureCanvasAgg(figure)
        canvas.draw()
        renderer = canvas.get_renderer()
        extent = figure.get_tightbbox(renderer)  # inches
        width_in, height_in = figure.get_size_inches()
        assert extent.x0 >= 0 and extent.y0 >= 0, extent
        assert extent.x1 <= width_in and extent.y1 <= height_in, extent
        for axes in axes_list:  # the axis labels clear the tick labels
            y_ticks = [t.get_window_extent(renderer) for t in axes.get_yticklabels() if t.get_text()]
            assert max(len(t.get_text()) for t in axes.get_yticklabels()) >= 7  # "-0.00025"
            assert axes.yaxis.label.get_window_extent(renderer).x1 < min(b.x0 for b in y_ticks)
        x_ticks = [t.get_window_extent(renderer) for t in axes_list[-1].get_xticklabels() if t.get_text()]
        assert axes_list[-1].xaxis.label.get_window_extent(renderer).y1 < min(b.y0 for b in x_ticks)
