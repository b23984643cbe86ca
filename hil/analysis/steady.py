"""Steady-state judgement over a window of samples: fluctuation and trend against limits.

A reading may be taken only at steady conditions. Rather than waiting a fixed time, the runner asks
on every tick whether the last few seconds of each quantity are steady, so each point takes as long
as the bench needs and no longer.

Definitions (per quantity, over one window):

- ``fluctuation_fraction = (max - min) / 2 / scale``: the half peak-to-peak swing. The standard bounds
  the *amplitude* of visible fluctuation as +- a percentage of the mean, and the half range is the
  literal reading of that amplitude. It is deliberately not a robust statistic: a single spike is a
  real swing the standard would see on a gauge. For Gaussian noise over 100-300 samples it is about
  2.5-3 standard deviations, so a limit of +-3 % tolerates noise of roughly 1 % (1 sigma).
- ``trend_fraction = slope * (t_max - t_min) / scale``: the least-squares drift over the window's
  duration, signed; its magnitude is compared with the limit. A slow drift can hide inside the
  fluctuation band, which is why both are checked. An oscillation only a few periods long also leaves
  a least-squares slope (odd part of the wave over the window); that is conservative, and the runner
  should use a window several periods of the slowest expected oscillation long.
- ``scale = |mean|``, or ``max(|mean|, reference_scale)`` when a reference scale is given, so a
  quantity that sits near zero (flow at shut-off, a differential pressure) is judged against a
  meaningful absolute floor instead of dividing by almost nothing. With a zero scale and no spread
  the fraction is 0 (a constant zero signal is steady).
- A window holding any NaN or infinity, fewer than two samples, or zero duration is never steady.

The run's judgement: :func:`judge_run_window` judges the last :func:`steady_window_count` samples of a
run's channels against :data:`DEFAULT_STEADY_LIMITS` (or a procedure's own limits), with the pump's
pressure rise ``delta_p_pa = p_outlet_pa - p_inlet_pa`` derived on the way. The runner calls it live
on every tick of a wait for steady state and replay calls it on the recorded log at each steady-state
event, so the two cannot judge differently.

Hot path: :func:`judge_steady` is plain vectorised numpy (no scipy) and costs tens of microseconds for
300 samples. :func:`judge_steady_windows` applies the same definitions to every sliding window of a
long log at once (replay and benchmarks), in O(n log w) time and O(n) memory;
:func:`judge_steady_windows_all` does so for every channel of a log, sharing the time axis's work.

Imports numpy, :mod:`hil.analysis.sliding` and :mod:`hil.core.errors` only; must not import scipy,
pandas or the rest of the harness.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType

import numpy as np

from hil.analysis.sliding import SlidingWindows, WindowSums
from hil.core.errors import ConfigError

DEFAULT_STEADY_LIMITS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {
        # quantity: (max fluctuation fraction, max trend fraction over the window); grade-2-like values
        "speed_rpm": (0.02, 0.01),
        "flow_m3_s": (0.06, 0.02),
        "delta_p_pa": (0.06, 0.02),
        "electrical_power_w": (0.06, 0.02),
    }
)
"""The limits a run's steady-state wait uses unless its procedure gives its own (read-only)."""

DELTA_P_CHANNEL = "delta_p_pa"
"""The derived quantity :func:`judge_run_window` adds: outlet minus inlet pressure."""


@dataclass(frozen=True)
class SteadyLimits:
    """Limits for one quantity: fractions of its scale (0.03 means +-3 %)."""

    max_fluctuation_fraction: float
    max_trend_fraction: float
    reference_scale: float | None = None

    def __post_init__(self) -> None:
        _check_limits(
            self.max_fluctuation_fraction, self.max_trend_fraction, self.reference_scale, "SteadyLimits"
        )


@dataclass(frozen=True)
class SteadyVerdict:
    """Whether one quantity was steady over a window, with the numbers that decided it."""

    steady: bool
    mean: float
    std: float
    fluctuation_fraction: float
    trend_fraction: float
    n_samples: int
    duration_s: float
    max_fluctuation_fraction: float
    max_trend_fraction: float
    reason: str = ""


@dataclass(frozen=True)
class SteadyJudgement:
    """Verdicts for several quantities over the same window; steady only if every one is."""

    steady: bool
    verdicts: Mapping[str, SteadyVerdict]

    @property
    def unsteady_quantities(self) -> tuple[str, ...]:
        return tuple(name for name, verdict in self.verdicts.items() if not verdict.steady)


@dataclass(frozen=True)
class SteadyWindows:
    """Per-window results of :func:`judge_steady_windows` (arrays of one entry per window).

    ``std`` (the sample standard deviation of each window) is computed on first use: no verdict
    needs it, and its exact centred merges cost about as much as the verdicts themselves.
    """

    start_index: np.ndarray
    steady: np.ndarray
    mean: np.ndarray
    fluctuation_fraction: np.ndarray
    trend_fraction: np.ndarray
    _spread: Callable[[], np.ndarray] = field(repr=False, compare=False)

    @cached_property
    def std(self) -> np.ndarray:
        return self._spread()


def _check_limits(
    max_fluctuation_fraction: float, max_trend_fraction: float, reference_scale: float | None, source: str
) -> None:
    checks = [
        ("max_fluctuation_fraction", max_fluctuation_fraction),
        ("max_trend_fraction", max_trend_fraction),
    ]
    if reference_scale is not None:
        checks.append(("reference_scale", reference_scale))
    for name, value in checks:
        try:
            ok = math.isfinite(float(value)) and float(value) > 0
        except (TypeError, ValueError):
            ok = False
        if not ok:
            raise ConfigError(source, name, f"expected a positive finite number, got {value!r}")


def _window_statistics(
    times_s: np.ndarray, values: np.ndarray, reference_scale: float | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Mean, std, fluctuation and trend fractions and duration along the last axis.

    Works on one window (1-D) or many (2-D, one window per row); NaN propagates into every result,
    which makes the comparison with the limits false, hence "never steady".
    """
    n = values.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = values.mean(axis=-1)
        deviation = values - mean[..., np.newaxis]
        std = np.sqrt((deviation * deviation).sum(axis=-1) / (n - 1)) if n > 1 else np.full_like(mean, np.nan)
        half_range = (values.max(axis=-1) - values.min(axis=-1)) / 2.0
        centred_t = times_s - times_s.mean(axis=-1)[..., np.newaxis]
        sxx = (centred_t * centred_t).sum(axis=-1)
        slope = (centred_t * deviation).sum(axis=-1) / sxx
        duration = times_s.max(axis=-1) - times_s.min(axis=-1)
        drift = slope * duration
        scale = np.abs(mean)
        if reference_scale is not None:
            scale = np.maximum(scale, reference_scale)
        fluctuation = np.where((half_range == 0) & (scale == 0), 0.0, half_range / scale)
        trend = np.where((drift == 0) & (scale == 0), 0.0, drift / scale)
        if n < 2:
            fluctuation = np.full_like(mean, np.nan)
            trend = np.full_like(mean, np.nan)
        # Zero duration gives a NaN slope already; make it explicit for the 0 * inf corner.
        trend = np.where(duration > 0, trend, np.nan)
    return mean, std, fluctuation, trend, duration


def _as_float_array(name: str, data: np.ndarray, source: str) -> np.ndarray:
    try:
        array = np.asarray(data, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ConfigError(source, name, f"expected numbers, got {type(data).__name__}") from exc
    return array


def judge_steady(
    times_s: np.ndarray,
    values: np.ndarray,
    max_fluctuation_fraction: float,
    max_trend_fraction: float,
    reference_scale: float | None = None,
) -> SteadyVerdict:
    """Judge whether ``values`` sampled at ``times_s`` are steady within the given limits.

    Steady means ``fluctuation_fraction <= max_fluctuation_fraction`` and
    ``|trend_fraction| <= max_trend_fraction`` (definitions in the module docstring). NaN or too few
    samples give a verdict that is not steady, with the reason stated, rather than an exception: the
    runner calls this every tick and a dropped sample must not abort a run.
    """
    _check_limits(max_fluctuation_fraction, max_trend_fraction, reference_scale, "judge_steady")
    times = _as_float_array("times_s", times_s, "judge_steady")
    data = _as_float_array("values", values, "judge_steady")
    if times.ndim != 1 or data.shape != times.shape:
        raise ConfigError(
            "judge_steady",
            "values",
            f"expected 1-D times and values of equal length, got shapes {times.shape} and {data.shape}",
        )
    n = int(data.size)
    if n == 0:
        return SteadyVerdict(
            False,
            math.nan,
            math.nan,
            math.nan,
            math.nan,
            0,
            0.0,
            max_fluctuation_fraction,
            max_trend_fraction,
            "no samples in the window",
        )
    mean, std, fluctuation, trend, duration = (
        float(x) for x in _window_statistics(times, data, reference_scale)
    )
    finite = bool(np.isfinite(times).all() and np.isfinite(data).all())
    reason = _reason(n, finite, duration, fluctuation, trend, max_fluctuation_fraction, max_trend_fraction)
    return SteadyVerdict(
        steady=not reason,
        mean=mean,
        std=std,
        fluctuation_fraction=fluctuation,
        trend_fraction=trend,
        n_samples=n,
        duration_s=duration,
        max_fluctuation_fraction=max_fluctuation_fraction,
        max_trend_fraction=max_trend_fraction,
        reason=reason,
    )


def _reason(
    n: int,
    finite: bool,
    duration: float,
    fluctuation: float,
    trend: float,
    max_fluctuation: float,
    max_trend: float,
) -> str:
    """Why a window is not steady ("" when it is); the first failing test wins."""
    if n < 2:
        return f"only {n} sample(s) in the window"
    if not finite:
        return "non-finite samples or times in the window"
    if not duration > 0:
        return "window has zero duration"
    if not fluctuation <= max_fluctuation:
        return f"fluctuation +-{fluctuation:.3%} exceeds +-{max_fluctuation:.3%}"
    if not abs(trend) <= max_trend:
        return f"trend {trend:+.3%} over the window exceeds +-{max_trend:.3%}"
    return ""


def judge_steady_all(
    times_s: np.ndarray | Mapping[str, np.ndarray],
    values: Mapping[str, np.ndarray],
    limits: Mapping[str, SteadyLimits],
) -> SteadyJudgement:
    """Judge every quantity that has limits; overall steady only if all of them are.

    ``times_s`` is one time base shared by every quantity (the runner samples all channels on the
    same tick) or a mapping with a time base per quantity. Quantities in ``values`` without limits
    are not judged (the runner logs more channels than steadiness depends on); a quantity with limits
    but no values is a configuration error, never silently skipped.
    """
    if not limits:
        raise ConfigError("judge_steady_all", "limits", "expected limits for at least one quantity")
    verdicts: dict[str, SteadyVerdict] = {}
    for name, limit in limits.items():
        if name not in values:
            raise ConfigError(
                "judge_steady_all", name, f"has steady limits but no values (values hold {sorted(values)})"
            )
        if isinstance(times_s, Mapping):
            if name not in times_s:
                raise ConfigError("judge_steady_all", name, "has values but no time base in times_s")
            times = times_s[name]
        else:
            times = times_s
        verdicts[name] = judge_steady(
            times,
            values[name],
            limit.max_fluctuation_fraction,
            limit.max_trend_fraction,
            limit.reference_scale,
        )
    return SteadyJudgement(steady=all(v.steady for v in verdicts.values()), verdicts=verdicts)


def steady_window_count(window_s: float, tick_s: float) -> int:
    """How many of the latest samples a steady-state window of ``window_s`` holds (at least 2)."""
    return max(2, int(round(window_s / tick_s)))


def judge_run_window(
    times_s: np.ndarray,
    columns: Mapping[str, np.ndarray],
    limits: Mapping[str, tuple[float, float]] | None = None,
) -> SteadyJudgement:
    """Judge one window of a run's channels: every quantity in ``limits`` (default
    :data:`DEFAULT_STEADY_LIMITS`), each as ``(max fluctuation fraction, max trend fraction)``.

    ``columns`` holds the window's samples per channel, on the time base ``times_s``;
    ``delta_p_pa`` is derived from ``p_outlet_pa`` and ``p_inlet_pa`` when judged and not given. A
    quantity with limits but no channel is a :class:`~hil.core.errors.ConfigError`.
    """
    used = DEFAULT_STEADY_LIMITS if limits is None else limits
    values: Mapping[str, np.ndarray] = columns
    if DELTA_P_CHANNEL in used and DELTA_P_CHANNEL not in columns:
        if "p_outlet_pa" not in columns or "p_inlet_pa" not in columns:
            raise ConfigError(
                "judge_run_window", DELTA_P_CHANNEL, "needs the channels p_outlet_pa and p_inlet_pa"
            )
        values = {**columns, DELTA_P_CHANNEL: columns["p_outlet_pa"] - columns["p_inlet_pa"]}
    verdicts: dict[str, SteadyVerdict] = {}
    for quantity, (fluctuation, trend) in used.items():
        if quantity not in values:
            raise ConfigError("judge_run_window", quantity, "has steady limits but no channel in the run")
        verdicts[quantity] = judge_steady(times_s, values[quantity], fluctuation, trend)
    return SteadyJudgement(steady=all(v.steady for v in verdicts.values()), verdicts=verdicts)


def steady_detail(judgement: SteadyJudgement) -> dict[str, dict[str, float]]:
    """The numbers a steady-state event records per quantity: its fluctuation and trend fractions."""
    return {
        quantity: {
            "fluctuation_fraction": verdict.fluctuation_fraction,
            "trend_fraction": verdict.trend_fraction,
        }
        for quantity, verdict in judgement.verdicts.items()
    }


def _check_windows(source: str, times_s: np.ndarray, window_samples: int, step_samples: int) -> np.ndarray:
    times = _as_float_array("times_s", times_s, source)
    if times.ndim != 1:
        raise ConfigError(source, "times_s", f"expected a 1-D array, got shape {times.shape}")
    if not (isinstance(window_samples, int) and window_samples >= 2):
        raise ConfigError(source, "window_samples", f"expected an integer >= 2, got {window_samples!r}")
    if not (isinstance(step_samples, int) and step_samples >= 1):
        raise ConfigError(source, "step_samples", f"expected an integer >= 1, got {step_samples!r}")
    return times


def _no_windows() -> SteadyWindows:
    empty = np.empty(0)
    return SteadyWindows(np.empty(0, dtype=int), np.empty(0, dtype=bool), empty, empty, empty, lambda: empty)


def _judge_windows(
    windows: SlidingWindows, values: np.ndarray, sums: WindowSums, limits: SteadyLimits
) -> SteadyWindows:
    """:func:`judge_steady`'s definitions on every window's sums of ``values``, in the same order
    of operations as the single-window judgement (so that a window judges the same either way).

    Works in place in ``sums``' arrays, which are this judgement's own: every fresh array of the
    windows' length costs its page faults again (measured: about 0.15 ms each for 36,000 windows).
    """
    duration = windows.duration
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        mean = sums.mean
        fluctuation = np.subtract(sums.high, sums.low, out=sums.high)
        fluctuation /= 2.0  # the half range
        trend = np.divide(sums.cross, windows.t_m2, out=sums.cross)
        trend *= duration  # the drift
        scale = np.abs(mean)
        if limits.reference_scale is not None:
            np.maximum(scale, limits.reference_scale, out=scale)
        zero = None if scale.all() else scale == 0
        if zero is not None:  # 0 / 0: a constant zero signal is steady (the module docstring)
            flat, still = zero & (fluctuation == 0), zero & (trend == 0)
        fluctuation /= scale
        trend /= scale
        if zero is not None:
            fluctuation[flat] = 0.0
            trend[still] = 0.0
        trend[~(duration > 0)] = np.nan
        steady = fluctuation <= limits.max_fluctuation_fraction
        steady &= np.abs(trend, out=scale) <= limits.max_trend_fraction

    def spread() -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.sqrt(windows.centred_squares(values) / (windows.window - 1))

    return SteadyWindows(windows.start_index, steady, mean, fluctuation, trend, spread)


def judge_steady_windows(
    times_s: np.ndarray,
    values: np.ndarray,
    window_samples: int,
    step_samples: int,
    max_fluctuation_fraction: float,
    max_trend_fraction: float,
    reference_scale: float | None = None,
) -> SteadyWindows:
    """Judge every window of ``window_samples`` samples, starting every ``step_samples``, at once.

    Same definitions as :func:`judge_steady`; meant for replaying or benchmarking a long log (for
    several channels on one time base, :func:`judge_steady_windows_all` shares the time axis's
    work). Time is O(n log w) and memory O(n) in the log's length (:mod:`hil.analysis.sliding`:
    block sums doubled into windows, kept relative to each window's own first time). The results
    agree with calling :func:`judge_steady` on each window to within rounding (mean and
    fluctuation to a few ulps, extremes exactly, trend fraction to about 1e-15), so a verdict
    sitting that close to a limit could in principle differ.
    """
    source = "judge_steady_windows"
    _check_limits(max_fluctuation_fraction, max_trend_fraction, reference_scale, source)
    times = _check_windows(source, times_s, window_samples, step_samples)
    data = _as_float_array("values", values, source)
    if data.shape != times.shape:
        raise ConfigError(
            source, "values", f"expected 1-D arrays of equal length, got {times.shape}, {data.shape}"
        )
    if data.size < window_samples:
        return _no_windows()
    windows = SlidingWindows(times, window_samples, step_samples)
    limit = SteadyLimits(max_fluctuation_fraction, max_trend_fraction, reference_scale)
    return _judge_windows(windows, data, windows.sums(data), limit)


def judge_steady_windows_all(
    times_s: np.ndarray,
    values: Mapping[str, np.ndarray],
    limits: Mapping[str, SteadyLimits],
    window_samples: int,
    step_samples: int,
) -> dict[str, SteadyWindows]:
    """:func:`judge_steady_windows` for every quantity that has limits, on one shared time base.

    The time axis's share of the work (its window statistics and the time shifts of every merge,
    about the cost of judging two quantities) is done once for all quantities, and one scratch
    array serves them all. As in :func:`judge_steady_all`, quantities without limits are not judged and a quantity
    with limits but no values is a configuration error.
    """
    source = "judge_steady_windows_all"
    if not limits:
        raise ConfigError(source, "limits", "expected limits for at least one quantity")
    times = _check_windows(source, times_s, window_samples, step_samples)
    data: dict[str, np.ndarray] = {}
    for name in limits:
        if name not in values:
            raise ConfigError(source, name, f"has steady limits but no values (values hold {sorted(values)})")
        data[name] = _as_float_array(name, values[name], source)
        if data[name].shape != times.shape:
            raise ConfigError(
                source, name, f"expected as many values as times {times.shape}, got {data[name].shape}"
            )
    if times.size < window_samples:
        return {name: _no_windows() for name in limits}
    windows = SlidingWindows(times, window_samples, step_samples)
    sums = windows.each_sums(data.values())
    return {name: _judge_windows(windows, data[name], next(sums), limit) for name, limit in limits.items()}
