"""Sliding-window statistics of a long series in O(n) time and memory: centred moments and extremes.

:func:`sliding_window_statistics` gives, for every window of ``window`` samples starting every
``step`` samples, the count, the means of time and value, the centred sums of squares of both, their
centred cross product, and the extremes of both. The steady-state judgement over a whole log
(:func:`hil.analysis.steady.judge_steady_windows`) is built on it.

Why not the obvious ways. Viewing every window as a row (``sliding_window_view``) and reducing rows
costs memory and time proportional to the log times the window: a one-hour log at 100 Hz judged over
2 s windows every 0.1 s makes 36,000 x 200 arrays per statistic (hundreds of MB). Cumulative sums
are O(n) but subtract large, nearly equal numbers (sums of ``t * v`` over an hour with ``t`` in the
thousands of seconds and pressures in the 1e5 Pa), which costs several significant digits of a
window's trend: enough to flip a verdict near its limit.

How. The series is cut into blocks of ``b = gcd(window, step)`` samples, so every window is exactly
``k = window / b`` consecutive blocks. Each block's statistics are computed centred on the block's
own means (two passes over ``b`` samples, as accurate as the direct computation). Blocks merge with
the pairwise update of Chan, Golub and LeVeque (1979), which combines centred sums without
cancellation and is associative. Sliding an associative merge over ``k`` blocks in O(1) per window is
the van Herk / Gil-Werman scheme: cut the blocks into chunks of ``k``, build within each chunk the
running merge from its start (prefix) and from its end (suffix); the window starting at block ``p``
is then ``suffix[p] merged with prefix[p + k - 1]``, one merge per window. The prefix and suffix
scans loop ``k`` times over arrays of ``n / (b k)`` chunks, so the Python-level work is ``k`` steps
whatever the log's length. Extremes (exact operations) go the same way. Memory is a few arrays of the
log's length (the block statistics are ``n / b`` long).

Non-finite samples propagate (a NaN or infinity anywhere in a window makes its statistics NaN or
infinite); the caller decides what that means.

Imports numpy only.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["SlidingStatistics", "sliding_window_statistics"]


@dataclass(frozen=True)
class SlidingStatistics:
    """Statistics of each window (one entry per window); ``*_m2`` are centred sums of squares,
    ``cross`` the centred sum of products ``sum((t - mean_t)(v - mean_v))``."""

    start_index: np.ndarray
    count: int
    mean_t: np.ndarray
    mean_v: np.ndarray
    t_m2: np.ndarray
    v_m2: np.ndarray
    cross: np.ndarray
    t_max: np.ndarray
    t_min: np.ndarray
    v_max: np.ndarray
    v_min: np.ndarray


@dataclass
class _Blocks:
    """Statistics of equal-sized groups of samples (one entry per group; all groups hold ``n``)."""

    n: float
    mean_t: np.ndarray
    mean_v: np.ndarray
    t_m2: np.ndarray
    v_m2: np.ndarray
    cross: np.ndarray
    t_max: np.ndarray
    t_min: np.ndarray
    v_max: np.ndarray
    v_min: np.ndarray

    def take(self, index: int | slice | np.ndarray) -> _Blocks:
        return _Blocks(
            self.n,
            self.mean_t[index],
            self.mean_v[index],
            self.t_m2[index],
            self.v_m2[index],
            self.cross[index],
            self.t_max[index],
            self.t_min[index],
            self.v_max[index],
            self.v_min[index],
        )


def _merge(a: _Blocks, b: _Blocks) -> _Blocks:
    """Chan-Golub-LeVeque pairwise merge of centred statistics, elementwise (a before b)."""
    n = a.n + b.n
    weight = a.n * b.n / n
    share = b.n / n
    dt = b.mean_t - a.mean_t
    dv = b.mean_v - a.mean_v
    return _Blocks(
        n,
        a.mean_t + dt * share,
        a.mean_v + dv * share,
        a.t_m2 + b.t_m2 + dt * dt * weight,
        a.v_m2 + b.v_m2 + dv * dv * weight,
        a.cross + b.cross + dt * dv * weight,
        np.maximum(a.t_max, b.t_max),
        np.minimum(a.t_min, b.t_min),
        np.maximum(a.v_max, b.v_max),
        np.minimum(a.v_min, b.v_min),
    )


def _block_statistics(times: np.ndarray, values: np.ndarray, size: int, count: int) -> _Blocks:
    """Each block's statistics, centred on its own means (two passes over its ``size`` samples).

    The samples are first laid out as (size, count), block index contiguous: numpy reduces a long
    axis fast and short rows slowly, so one transposing copy makes every later reduction several
    times cheaper than reducing (count, size) rows.
    """
    t = np.ascontiguousarray(times[: count * size].reshape(count, size).T)
    v = np.ascontiguousarray(values[: count * size].reshape(count, size).T)
    mean_t = t.sum(axis=0) / size
    mean_v = v.sum(axis=0) / size
    ct = t - mean_t
    cv = v - mean_v
    return _Blocks(
        float(size),
        mean_t,
        mean_v,
        np.einsum("ij,ij->j", ct, ct),
        np.einsum("ij,ij->j", cv, cv),
        np.einsum("ij,ij->j", ct, cv),
        t.max(axis=0),
        t.min(axis=0),
        v.max(axis=0),
        v.min(axis=0),
    )


def _scan(chunks: _Blocks, k: int, reverse: bool) -> _Blocks:
    """Running merge along each chunk (arrays shaped (k, chunks)): from the start, or from the end."""
    out = _Blocks(chunks.n, *(np.empty_like(getattr(chunks, name)) for name in _ARRAY_FIELDS))
    order = range(k - 1, -1, -1) if reverse else range(k)
    running: _Blocks | None = None
    for done, j in enumerate(order):
        column = chunks.take(np.s_[j])
        if running is None:
            running = column
        elif reverse:
            running = _merge(column, _sized(running, chunks.n * done))
        else:
            running = _merge(_sized(running, chunks.n * done), column)
        for name in _ARRAY_FIELDS:
            getattr(out, name)[j] = getattr(running, name)
    return out


def _sized(blocks: _Blocks, n: float) -> _Blocks:
    return _Blocks(n, *(getattr(blocks, name) for name in _ARRAY_FIELDS))


_ARRAY_FIELDS = ("mean_t", "mean_v", "t_m2", "v_m2", "cross", "t_max", "t_min", "v_max", "v_min")


def sliding_window_statistics(
    times: np.ndarray, values: np.ndarray, window: int, step: int
) -> SlidingStatistics:
    """Statistics of every window of ``window`` samples starting at 0, ``step``, ``2 step``, ...
    (the last window ends at or before the series' end). See the module docstring for the method.

    ``times`` and ``values`` are 1-D float arrays of equal length with at least ``window`` samples;
    ``window >= 1`` and ``step >= 1``.
    """
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        return _sliding(times, values, window, step)


def _sliding(times: np.ndarray, values: np.ndarray, window: int, step: int) -> SlidingStatistics:
    n = int(values.size)
    size = math.gcd(window, step)
    k = window // size
    stride = step // size
    count = n // size
    blocks = _block_statistics(times, values, size, count)
    positions = count - k + 1  # window start positions, in blocks
    chunk_count = -(-count // k)
    pad = chunk_count * k - count
    if pad:
        # Padding blocks only ever meet real blocks in positions beyond the last window; their
        # values are finite so that they raise no warnings.
        blocks = _Blocks(
            blocks.n,
            *(np.concatenate([getattr(blocks, name), np.zeros(pad)]) for name in _ARRAY_FIELDS),
        )
    # (k, chunks) layout: position j of every chunk is one contiguous row for the scans.
    chunks = _Blocks(
        blocks.n,
        *(np.ascontiguousarray(getattr(blocks, name).reshape(chunk_count, k).T) for name in _ARRAY_FIELDS),
    )
    prefix = _scan(chunks, k, reverse=False)
    suffix = _scan(chunks, k, reverse=True)
    flat_prefix = _Blocks(prefix.n, *(getattr(prefix, name).T.ravel() for name in _ARRAY_FIELDS))
    flat_suffix = _Blocks(suffix.n, *(getattr(suffix, name).T.ravel() for name in _ARRAY_FIELDS))
    starts = np.arange(0, positions, stride)
    first = starts % k
    # A window is the suffix of the chunk it starts in (from its first block on) merged with the
    # prefix of the next chunk up to its last block; one that starts a chunk is that chunk's whole
    # prefix. Slices, not index arrays: views of the scans, no copies.
    head = flat_suffix.take(np.s_[0:positions:stride])
    tail = flat_prefix.take(np.s_[k - 1 : k - 1 + positions : stride])
    head_n = (k - first) * blocks.n
    tail_n = (first + 0.0) * blocks.n
    merged = _merge_sized(head, head_n, tail, tail_n)
    aligned = first == 0
    result = {name: np.where(aligned, getattr(tail, name), merged[name]) for name in _ARRAY_FIELDS}
    return SlidingStatistics(start_index=starts * size, count=window, **result)


def _merge_sized(a: _Blocks, a_n: np.ndarray, b: _Blocks, b_n: np.ndarray) -> dict[str, np.ndarray]:
    """:func:`_merge` with per-element counts (windows straddle chunks at different offsets)."""
    n = a_n + b_n
    weight = a_n * b_n / n
    share = b_n / n
    dt = b.mean_t - a.mean_t
    dv = b.mean_v - a.mean_v
    return {
        "mean_t": a.mean_t + dt * share,
        "mean_v": a.mean_v + dv * share,
        "t_m2": a.t_m2 + b.t_m2 + dt * dt * weight,
        "v_m2": a.v_m2 + b.v_m2 + dv * dv * weight,
        "cross": a.cross + b.cross + dt * dv * weight,
        "t_max": np.maximum(a.t_max, b.t_max),
        "t_min": np.minimum(a.t_min, b.t_min),
        "v_max": np.maximum(a.v_max, b.v_max),
        "v_min": np.minimum(a.v_min, b.v_min),
    }
