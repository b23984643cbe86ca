"""How many cases the protocol-parser fuzz tests draw: thousands in the normal run, more on demand
with ``pytest --fuzz-scale N`` (N times as many), e.g. ``pytest tests/unit -k fuzz --fuzz-scale 50``.

Most parser fuzz tests draw their cases in batches (:func:`fuzz_cases`): hypothesis draws one
fixed-size byte string per example and each case decodes its own share of it into the same
structures a composite strategy would build (lists of chunks, frames with a valid CRC, corrupted
frames, texts from an alphabet, special floats). Hypothesis spent most of those tests' CPU drawing
composite strategies, not in the parser under test (the RTU bus fuzz: 7.2 s under a profiler for
1,000 lists of chunks, of which the bus's ``receive`` took 1.2 s); a byte string costs it about a
microsecond a byte, and its per-example work (a fresh PRNG, the tree of drawn choices, the
bookkeeping) is paid once per ``CASES_PER_EXAMPLE`` cases. The decoders follow hypothesis' own
habits where they matter to a parser (sizes mostly short, often the largest allowed, elements
repeated, edge-value floats). A failure still shrinks, byte by byte, towards zeros, which every
decoder reads as the plainest choice (the first option, the smallest number, the shortest list),
and hypothesis shows the decoded batch.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Sequence
from typing import TypeVar

from hypothesis import strategies as st

scale = 1

CASES_PER_EXAMPLE = 10
"""Cases decoded from one hypothesis example by :func:`fuzz_cases`."""

T = TypeVar("T")


def fuzz_examples(normal_run: int) -> int:
    return normal_run * scale


def fuzz_batches(normal_run: int) -> int:
    """Hypothesis examples for a test that checks ``CASES_PER_EXAMPLE`` cases an example, so that it
    checks ``fuzz_examples(normal_run)`` cases in all."""
    return -(-fuzz_examples(normal_run) // CASES_PER_EXAMPLE)


class Choices:
    """One case's choices, read in order from its share of the drawn bytes. Past the end it reads
    zeros: the plainest choice, as hypothesis shrinks towards."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw
        self._at = 0

    def take(self, size: int) -> bytes:
        """The next ``size`` bytes as they were drawn (zeros past the end)."""
        chunk = self._raw[self._at : self._at + size]
        self._at += size
        return chunk + bytes(size - len(chunk))

    def integer(self, low: int, high: int) -> int:
        """Any integer from ``low`` to ``high``, both included (zero bytes give ``low``); over a
        range wider than a byte, one time in eight an edge of it (the bounds, 0 and 1, the powers of
        two above ``low`` and one less), as hypothesis draws its integer constants."""
        span = high - low + 1
        if span > 256 and self.take(1)[0] >= 224:
            edges = [low, high, *(value for value in (-1, 0, 1) if low <= value <= high)]
            for bit in range(span.bit_length()):
                edges += [edge for edge in (low + 2**bit - 1, low + 2**bit) if edge <= high]
            return edges[self.take(1)[0] % len(edges)]
        return low + int.from_bytes(self.take(((span - 1).bit_length() + 7) // 8 + 1), "big") % span

    def boolean(self) -> bool:
        return self.take(1)[0] & 1 == 1

    def sampled_from(self, options: Sequence[T]) -> T:
        return options[self.integer(0, len(options) - 1)]

    def size(self, max_size: int | None, min_size: int = 0) -> int:
        """A collection's size as hypothesis draws it: a quarter of the time the largest allowed
        (hypothesis gives 17-39 % there for a short range), otherwise geometric, averaging
        ``min_size`` + 5 (at most the middle of the range), cut at ``max_size`` (none: uncut). An
        empty collection is rare: it is a single example, which hypothesis draws about once (zero
        bytes give it)."""
        average: float = max(min_size * 2, min_size + 5)
        if max_size is not None:
            average = min(average, (min_size + max_size) / 2)
            if self.take(1)[0] >= 192:
                return max_size
        uniform = int.from_bytes(self.take(2), "big")
        if uniform == 0:
            return min_size
        low = max(min_size, 1)
        extra = 0
        if average > low:
            extra = int(math.log1p(-uniform / 65536) / math.log1p(-1 / (1 + average - low)))
        return low + extra if max_size is None else min(max_size, low + extra)

    def binary(self, max_size: int, min_size: int = 0) -> bytes:
        return self.take(self.size(max_size, min_size))

    def lists(self, element: Callable[[Choices], T], max_size: int, min_size: int = 0) -> list[T]:
        """Elements drawn by ``element``; one in eight repeats an earlier one, as hypothesis'
        mutations copy a part of an example elsewhere (a frame that got a reply, sent again)."""
        elements: list[T] = []
        for _ in range(self.size(max_size, min_size)):
            repeat = self.take(1)[0]
            if elements and repeat >= 224:
                elements.append(elements[repeat % len(elements)])
            else:
                elements.append(element(self))
        return elements

    def text(self, max_size: int | None, alphabet: Sequence[str] | None = None, min_size: int = 0) -> str:
        """Characters from ``alphabet``, or any code point but a surrogate (as ``st.text()``): half
        of them ASCII, then the other planes, so control characters, accents, CJK, and code points
        past the BMP all occur."""
        size = self.size(max_size, min_size)
        if alphabet is not None:
            return "".join(self.sampled_from(alphabet) for _ in range(size))
        characters = []
        for _ in range(size):
            kind, value = self.take(1)[0], int.from_bytes(self.take(3), "big")
            if kind < 128:
                code = value % 0x80
            elif kind < 192:
                code = value % 0x800
            else:
                code = value % 0x110000
            characters.append(chr(code if not 0xD800 <= code <= 0xDFFF else code - 0x800))
        return "".join(characters)

    def float64(
        self, special: Sequence[float] = (), allow_nan: bool = True, allow_infinity: bool = True
    ) -> float:
        """A float as ``st.floats`` draws them: a quarter from the edge values (zeros, the limits of
        the format, infinities and NaN where allowed), a quarter from ``special`` (the constants the
        code under test treats apart, as hypothesis draws the code's own constants; none given: the
        edge values again), a quarter small integers and short decimals, a quarter any bit pattern
        (subnormals, huge and tiny exponents)."""
        kind = self.take(1)[0] % 4
        if kind < 2:
            edges = list(special) if kind == 1 and special else list(FLOAT64_EDGES)
            edges += [-value for value in edges]
            if allow_infinity and kind == 0:
                edges += [math.inf, -math.inf]
            if allow_nan and kind == 0:
                edges.append(math.nan)
            return self.sampled_from(edges)
        if kind == 2:
            return self.integer(-(10**6), 10**6) / 10 ** self.integer(0, 6)
        value = struct.unpack(">d", self.take(8))[0]
        if math.isnan(value) and not allow_nan or math.isinf(value) and not allow_infinity:
            return math.copysign(1.7976931348623157e308, value)
        return value

    def float32(self) -> float:
        """A float32 value (as a Python float), drawn as :meth:`float64` draws with NaN and
        infinities; the edge values are float32's own."""
        kind = self.take(1)[0] % 3
        if kind == 0:
            edges = [*FLOAT32_EDGES, *(-value for value in FLOAT32_EDGES)]
            return self.sampled_from([*edges, math.inf, -math.inf, math.nan])
        if kind == 1:
            value = self.integer(-(10**6), 10**6) / 10 ** self.integer(0, 6)
            return struct.unpack(">f", struct.pack(">f", value))[0]
        return struct.unpack(">f", self.take(4))[0]


FLOAT64_EDGES = (
    0.0,
    0.5,
    1.0,
    1.5,
    1.1,
    1 / 3,
    10e6,
    10e-6,
    1 - 10e-6,
    2 + 10e-6,
    2.0**53,
    2.0**53 + 2,
    5e-324,
    2.2250738585072014e-308,
    1.7976931348623157e308,
    2.220446049250313e-16,
    1.175494351e-38,
    3.4028234663852886e38,
)
FLOAT32_EDGES = (
    0.0,
    0.5,
    1.0,
    1.5,
    2.0**24,
    1.401298464324817e-45,
    1.1754943508222875e-38,
    3.4028234663852886e38,
    1.1920928955078125e-07,
)


def fuzz_cases(decode: Callable[[Choices], T], case_bytes: int) -> st.SearchStrategy[list[T]]:
    """``CASES_PER_EXAMPLE`` cases, each decoded by ``decode`` from its own ``case_bytes`` of one
    drawn byte string (its own share, so shrinking one case leaves the others as they are).

    ``case_bytes`` should cover what ``decode`` reads for nearly every case (past its share a case
    reads zeros, the plainest choices). A failing test shows the decoded batch as its falsifying
    example, and hypothesis' database replays the same bytes on the next run."""
    size = case_bytes * CASES_PER_EXAMPLE

    def decode_all(raw: bytes) -> list[T]:
        return [decode(Choices(raw[start : start + case_bytes])) for start in range(0, size, case_bytes)]

    return st.binary(min_size=size, max_size=size).map(decode_all)
