"""The ODrive ASCII line codec: a hand-computed checksum, round trips, and corrupt lines refused."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from drivers.odrive_codec import checksum, decode_reply, encode_command, parse_feedback, parse_float
from hil.core.errors import ProtocolError
from tests.fuzzing import Choices, fuzz_batches, fuzz_cases

PRINTABLE = [chr(code) for code in range(0x20, 0x7F) if chr(code) != "*"]


def _text(choose: Choices) -> str:
    """One or more printable ASCII characters but the checksum marker."""
    return choose.text(max_size=None, alphabet=PRINTABLE, min_size=1)


def test_checksum_by_hand() -> None:
    # 'u' 0x75 ^ ' ' 0x20 = 0x55; ^ '0' 0x30 = 0x65 = 101
    assert checksum("u 0") == 101
    assert encode_command("u 0", with_checksum=True) == b"u 0 *101\n"
    assert encode_command("r vbus_voltage") == b"r vbus_voltage\n"


def _line(choose: Choices) -> tuple[str, bool]:
    return _text(choose), choose.boolean()


@settings(max_examples=fuzz_batches(500), deadline=None)
@given(fuzz_cases(_line, case_bytes=96))
def test_fuzz_a_line_round_trips(cases: list[tuple[str, bool]]) -> None:
    for text, with_checksum in cases:
        # the device's reply is framed exactly like a command: what one side encodes the other decodes
        assert decode_reply(encode_command(text, with_checksum), with_checksum) == text


def _corrupted_line(choose: Choices) -> tuple[str, int, int]:
    """A text, a position (any non-negative integer, taken modulo the line) and a non-zero XOR."""
    return _text(choose), choose.integer(0, 2**64), choose.integer(1, 0x7F)


@settings(max_examples=fuzz_batches(500), deadline=None)
@given(fuzz_cases(_corrupted_line, case_bytes=112))
def test_fuzz_a_corrupted_checksummed_line_is_refused_or_decodes_to_other_text(
    cases: list[tuple[str, int, int]],
) -> None:
    for text, position, flip in cases:
        line = bytearray(encode_command(text, with_checksum=True))
        index = position % (len(line) - 1)  # any byte but the terminator
        line[index] ^= flip
        try:
            decoded = decode_reply(bytes(line), with_checksum=True)
        except ProtocolError:
            continue
        # a single corrupted byte can never pass the XOR checksum with the same text
        assert decoded != text


@pytest.mark.parametrize(
    ("line", "with_checksum", "problem"),
    [
        (b"12.5 *99\n", True, "does not match"),
        (b"12.5\n", True, "lacks the checksum"),
        (b"12.5 *50\n", False, "did not ask for"),
        (b"\xff12\n", False, "not ASCII"),
        (b"1\n2\n", False, "more than one line"),
    ],
)
def test_corrupt_replies_are_refused(line: bytes, with_checksum: bool, problem: str) -> None:
    with pytest.raises(ProtocolError, match=problem):
        decode_reply(line, with_checksum)


def test_commands_that_cannot_be_one_line_are_refused() -> None:
    for command in ("", "w a 1\nr b", "r x*2", "r \u00e9"):
        with pytest.raises(ProtocolError):
            encode_command(command)


def test_numbers_and_feedback() -> None:
    assert parse_float("r vbus_voltage", "47.982") == 47.982
    assert parse_feedback("f 0", "12.5 500.000000") == (12.5, 500.0)
    with pytest.raises(ProtocolError, match="invalid property"):
        parse_float("r axis0.bogus", "invalid property")
    with pytest.raises(ProtocolError):
        parse_feedback("f 0", "12.5")
