"""SCPI reply parsing: numbers (NR1/NR2/NR3, overload, NaN), *IDN?, error-queue entries, fuzzing."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings

from drivers.scpi import Identity, parse_error_entry, parse_idn, parse_number, parse_numbers
from hil.core.errors import ProtocolError
from tests.fuzzing import Choices, fuzz_batches, fuzz_cases


@pytest.mark.parametrize(
    ("field", "expected"),
    [
        ("42", 42.0),  # NR1
        ("-7", -7.0),
        ("+3", 3.0),
        ("-4.5", -4.5),  # NR2
        ("0.25", 0.25),
        (".5", 0.5),
        ("5.", 5.0),
        ("4.8012E+01", 48.012),  # NR3
        ("104.75E+00", 104.75),  # Yokogawa's engineering-style mantissa
        ("-2.5e-3", -0.0025),
        (" 0.0E+00", 0.0),  # WT2x0 pads an unsigned mantissa with a space
        ("1E3", 1000.0),
    ],
)
def test_parse_number_reads_scpi_numeric_forms(field: str, expected: float) -> None:
    assert parse_number(":MEAS?", field) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize("field", ["9.9E37", "9.9E+37", "+9.90000E+37", "99E36", "inf", "INF", "+INF"])
def test_overload_is_positive_infinity(field: str) -> None:
    assert parse_number("READ?", field) == math.inf


@pytest.mark.parametrize("field", ["-9.9E37", "-9.9E+37", "NINF", "-INF"])
def test_negative_overload_is_negative_infinity(field: str) -> None:
    assert parse_number("READ?", field) == -math.inf


@pytest.mark.parametrize("field", ["9.91E37", "9.91E+37", "99.1E+36", "NAN", "nan"])
def test_not_a_number_stand_in_is_nan(field: str) -> None:
    assert math.isnan(parse_number("READ?", field))


def test_values_next_to_the_stand_ins_stay_ordinary_numbers() -> None:
    # Only the exact reserved values are special; 9.8E37 is a (silly but) finite reading.
    assert parse_number("READ?", "9.8E37") == 9.8e37
    assert parse_number("READ?", "9.92E37") == 9.92e37


def test_parse_numbers_splits_a_wt310_reply() -> None:
    values = parse_numbers(":NUM:NORM:VAL?", "4.8012E+01,4.5012E+01,2.1611E+03", count=3)
    assert values == [48.012, 45.012, 2161.1]


def test_parse_numbers_keeps_overload_and_nan_in_place() -> None:
    voltage, current, power = parse_numbers("V?", "1.0E+00,9.9E+37,9.91E+37")
    assert voltage == 1.0 and current == math.inf and math.isnan(power)


def test_parse_numbers_without_count_accepts_any_number_of_fields() -> None:
    assert parse_numbers("V?", "1,2,3,4,5") == [1.0, 2.0, 3.0, 4.0, 5.0]


def test_wrong_field_count_names_command_and_reply() -> None:
    with pytest.raises(ProtocolError, match=r":NUM:NORM:VAL\?.*2 fields, expected 3.*'1\.0E\+00,2\.0E\+00'"):
        parse_numbers(":NUM:NORM:VAL?", "1.0E+00,2.0E+00", count=3)


@pytest.mark.parametrize(
    "reply",
    [
        "",  # empty reply
        "1.0,,2.0",  # empty field
        "1.0,2.0,",  # trailing comma
        ":NUM:NORM:VAL 1.0E+00",  # header left on
        "1.0E",  # exponent without digits
        "0x10",
        "1_000",  # Python float() accepts this; SCPI does not
        "infinity",  # nor this
        "1.0 V",  # unit suffix
        "--1",
        "E5",
        "\u0663",  # an Arabic-Indic digit: float() accepts it, an instrument never sends it
        "1E999",  # finite literal beyond a double: not a reading
    ],
)
def test_malformed_replies_raise_protocol_error_with_command_and_reply(reply: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_numbers("READ?", reply)
    assert "READ?" in str(caught.value)
    assert repr(reply) in str(caught.value)


def test_decimal_comma_is_caught_by_the_field_count() -> None:
    # "1,0E+00" is two valid fields; only the expected count can tell it was meant as one number.
    with pytest.raises(ProtocolError, match="2 fields, expected 1"):
        parse_numbers("READ?", "1,0E+00", count=1)


def test_parse_idn_splits_four_fields() -> None:
    identity = parse_idn("YOKOGAWA,WT310,C2QD12345,F1.03")
    assert identity == Identity("YOKOGAWA", "WT310", "C2QD12345", "F1.03")
    assert str(identity) == "YOKOGAWA,WT310,C2QD12345,F1.03"


def test_parse_idn_strips_blanks_and_accepts_zero_for_unavailable_fields() -> None:
    identity = parse_idn("Keysight Technologies, 34465A, 0, 0")
    assert identity == Identity("Keysight Technologies", "34465A", "0", "0")


@pytest.mark.parametrize(
    "reply", ["", "YOKOGAWA", "YOKOGAWA,WT310,123", "A,B,C,D,E", ",WT310,1,2", "YOKOGAWA,,1,2"]
)
def test_parse_idn_rejects_a_reply_without_four_named_fields(reply: str) -> None:
    with pytest.raises(ProtocolError, match=r"\*IDN\?") as caught:
        parse_idn(reply)
    assert repr(reply) in str(caught.value)


@pytest.mark.parametrize(
    ("reply", "code", "message"),
    [
        ('0,"No error"', 0, "No error"),
        ('-113,"Undefined header"', -113, "Undefined header"),
        ('113,"Undefined header"', 113, "Undefined header"),  # Yokogawa-style positive code
        ('-222,"Data out of range; value 7"', -222, "Data out of range; value 7"),
    ],
)
def test_parse_error_entry(reply: str, code: int, message: str) -> None:
    entry = parse_error_entry(":STAT:ERR?", reply)
    assert (entry.code, entry.message) == (code, message)


@pytest.mark.parametrize("reply", ["", "No error", "0,No error", '"No error",0', "-113", 'x,"y"'])
def test_parse_error_entry_rejects_malformed_entries(reply: str) -> None:
    with pytest.raises(ProtocolError, match=r":SYST:ERR\?"):
        parse_error_entry(":SYST:ERR?", reply)


# --- fuzzing: arbitrary text yields floats or ProtocolError, never another exception ----------------

_SCPI_ALPHABET = list("0123456789+-.eE, \tINFANnaf:x\u0663_")


def _reply(choose: Choices) -> str:
    """Any text, or text of up to 40 characters from SCPI's numeric alphabet (and a few strangers)."""
    if choose.boolean():
        return choose.text(max_size=40, alphabet=_SCPI_ALPHABET)
    return choose.text(max_size=None)


@settings(max_examples=fuzz_batches(1500), deadline=None)
@given(fuzz_cases(_reply, case_bytes=200))
def test_fuzz_parse_numbers_returns_floats_or_raises_protocol_error(replies: list[str]) -> None:
    for reply in replies:
        try:
            values = parse_numbers("FETC?", reply)
        except ProtocolError:
            continue
        assert len(values) == reply.count(",") + 1
        assert all(isinstance(value, float) for value in values)


@settings(max_examples=fuzz_batches(1000), deadline=None)
@given(fuzz_cases(_reply, case_bytes=200))
def test_fuzz_parse_idn_returns_identity_or_raises_protocol_error(replies: list[str]) -> None:
    for reply in replies:
        try:
            identity = parse_idn(reply)
        except ProtocolError:
            continue
        assert reply.count(",") == 3 and identity.maker and identity.model


@settings(max_examples=fuzz_batches(1000), deadline=None)
@given(fuzz_cases(_reply, case_bytes=200))
def test_fuzz_parse_error_entry_returns_entry_or_raises_protocol_error(replies: list[str]) -> None:
    for reply in replies:
        try:
            entry = parse_error_entry("SYST:ERR?", reply)
        except ProtocolError:
            continue
        assert isinstance(entry.code, int)


def _finite_floats(choose: Choices) -> list[float]:
    """One to eight finite floats, the reserved magnitudes among the edge values."""
    return choose.lists(
        lambda value: value.float64(special=(9.9e37, 9.91e37), allow_nan=False, allow_infinity=False),
        min_size=1,
        max_size=8,
    )


@settings(max_examples=fuzz_batches(1000), deadline=None)
@given(fuzz_cases(_finite_floats, case_bytes=120))
def test_nr3_text_of_finite_values_parses_back_exactly(cases: list[list[float]]) -> None:
    for values in cases:
        # repr() gives the shortest exact decimal, in NR1/NR2/NR3 form for finite floats; reserved
        # magnitudes are the one exception by design.
        reply = ",".join(f"{value!r}".upper() for value in values)
        expected = [
            math.inf if v == 9.9e37 else -math.inf if v == -9.9e37 else math.nan if abs(v) == 9.91e37 else v
            for v in values
        ]
        parsed = parse_numbers("READ?", reply, count=len(values))
        assert [repr(v) for v in parsed] == [repr(v) for v in expected]
