"""WT310 emulator sessions at the byte level: framing, SCPI forms, `;` chains, items, error queue."""

from __future__ import annotations

import math
import struct

import pytest

from simulators.wt310_emulator import ERROR_QUEUE_CAPACITY, WT310Emulator, WT310Session

SELECT_U_I_P = b":NUM:NORM:NUM 3;:NUM:NORM:ITEM1 U,1;:NUM:NORM:ITEM2 I,1;:NUM:NORM:ITEM3 P,1\n"


class Plant:
    """Mutable stand-in for the plant: values the tests set, and how often each was sampled."""

    def __init__(self, voltage_v: float = 48.012, current_a: float = 45.012, power_w: float = 2161.1) -> None:
        self.voltage_v, self.current_a, self.power_w = voltage_v, current_a, power_w
        self.samples = {"U": 0, "I": 0, "P": 0}

    def u(self) -> float:
        self.samples["U"] += 1
        return self.voltage_v

    def i(self) -> float:
        self.samples["I"] += 1
        return self.current_a

    def p(self) -> float:
        self.samples["P"] += 1
        return self.power_w


@pytest.fixture
def plant() -> Plant:
    return Plant()


@pytest.fixture
def meter(plant: Plant) -> WT310Emulator:
    return WT310Emulator(plant.u, plant.i, plant.p, identity="YOKOGAWA,WT310,TEST0001,F9.9")


@pytest.fixture
def session(meter: WT310Emulator) -> WT310Session:
    return meter.session()


def errors(session: WT310Session) -> list[bytes]:
    """Drain the error queue through the wire, as a driver would."""
    drained = []
    while (reply := session.receive(b":STAT:ERR?\n")) != b'0,"No error"\n':
        drained.append(reply)
        assert len(drained) <= ERROR_QUEUE_CAPACITY, "error queue never empties"
    return drained


# --- framing ----------------------------------------------------------------------------------


def test_idn_reply_is_one_line(session: WT310Session) -> None:
    assert session.receive(b"*IDN?\n") == b"YOKOGAWA,WT310,TEST0001,F9.9\n"


def test_default_identity_has_four_fields(plant: Plant) -> None:
    reply = WT310Emulator(plant.u, plant.i, plant.p).session().receive(b"*IDN?\n")
    assert reply.startswith(b"YOKOGAWA,WT310,") and reply.count(b",") == 3 and reply.endswith(b"\n")


def test_bytes_split_anywhere_are_reassembled(session: WT310Session) -> None:
    assert session.receive(b"*ID") == b""
    assert session.receive(b"N") == b""
    assert session.receive(b"?") == b""
    assert session.receive(b"\n") == b"YOKOGAWA,WT310,TEST0001,F9.9\n"


def test_crlf_is_tolerated_and_replies_end_in_lf(session: WT310Session) -> None:
    assert session.receive(b"*IDN?\r\n") == b"YOKOGAWA,WT310,TEST0001,F9.9\n"


def test_two_lines_in_one_chunk_get_two_reply_lines(session: WT310Session) -> None:
    assert session.receive(b"*IDN?\n*OPC?\n") == b"YOKOGAWA,WT310,TEST0001,F9.9\n1\n"


def test_setting_commands_answer_nothing(session: WT310Session) -> None:
    assert session.receive(b"*CLS\n:NUM:FORM ASC\n:COMM:HEAD OFF\n:COMM:VERB ON\n") == b""
    assert errors(session) == []


def test_blank_lines_are_ignored(session: WT310Session) -> None:
    assert session.receive(b"\n\r\n  \n") == b""
    assert errors(session) == []


# --- headers: case and short/long forms ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        b":NUM:NORM:VAL?\n",
        b":num:norm:val?\n",
        b":NUMERIC:NORMAL:VALUE?\n",
        b":Numeric:Normal:Value?\n",
        b":NUM:VAL?\n",  # [:NORMal] is optional
        b"NUM:NORM:VAL?\n",  # a leading colon is optional at the start of a line
    ],
)
def test_value_query_in_any_legal_spelling(session: WT310Session, query: bytes) -> None:
    session.receive(SELECT_U_I_P)
    assert session.receive(query) == b"4.8012E+01,4.5012E+01,2.1611E+03\n"


@pytest.mark.parametrize(
    "bad", [b":NUME:NORM:VAL?\n", b":NUM:NOR:VAL?\n", b":NUM:NORM:VALU?\n", b":NUMERICS:VAL?\n"]
)
def test_neither_short_nor_long_form_is_undefined(session: WT310Session, bad: bytes) -> None:
    assert session.receive(bad) == b""
    assert errors(session) == [b'-113,"Undefined header"\n']


# --- item selection and values -------------------------------------------------------------------


def test_selected_items_come_back_in_nr3(session: WT310Session) -> None:
    assert session.receive(SELECT_U_I_P) == b""
    assert session.receive(b":NUM:NORM:VAL?\n") == b"4.8012E+01,4.5012E+01,2.1611E+03\n"


def test_item_order_follows_the_selection(session: WT310Session) -> None:
    session.receive(b":NUM:NORM:NUM 3;ITEM1 P,1;ITEM2 U,1;ITEM3 I,1\n")
    assert session.receive(b":NUM:NORM:VAL?\n") == b"2.1611E+03,4.8012E+01,4.5012E+01\n"


def test_item_count_limits_the_reply(session: WT310Session) -> None:
    session.receive(SELECT_U_I_P + b":NUM:NORM:NUM 2\n")
    assert session.receive(b":NUM:NORM:VAL?\n") == b"4.8012E+01,4.5012E+01\n"


def test_single_item_by_number(session: WT310Session) -> None:
    session.receive(SELECT_U_I_P)
    assert session.receive(b":NUM:NORM:VAL? 3\n") == b"2.1611E+03\n"


def test_derived_functions_against_hand_calculation(meter: WT310Emulator, plant: Plant) -> None:
    # 230 V, 2 A, 400 W: S = 460 VA, Q = sqrt(460^2 - 400^2) = 227.156 var, lambda = 400/460 = 0.869565
    plant.voltage_v, plant.current_a, plant.power_w = 230.0, 2.0, 400.0
    session = meter.session()
    session.receive(b":NUM:NORM:NUM 4;ITEM1 S,1;ITEM2 Q,1;ITEM3 LAMB,1;ITEM4 NONE\n")
    assert session.receive(b":NUM:NORM:VAL?\n") == b"4.6000E+02,2.2716E+02,8.6957E-01,9.91E+37\n"


def test_each_plant_quantity_is_sampled_once_per_query(meter: WT310Emulator, plant: Plant) -> None:
    session = meter.session()
    session.receive(b":NUM:NORM:NUM 5;ITEM1 U,1;ITEM2 I,1;ITEM3 P,1;ITEM4 S,1;ITEM5 Q,1\n")
    session.receive(b":NUM:NORM:VAL?\n")
    assert plant.samples == {"U": 1, "I": 1, "P": 1}


def test_values_are_live(meter: WT310Emulator, plant: Plant) -> None:
    session = meter.session()
    session.receive(SELECT_U_I_P)
    plant.voltage_v, plant.current_a, plant.power_w = -1.5, 0.0, 1.23456e-3
    assert session.receive(b":NUM:NORM:VAL?\n") == b"-1.5000E+00,0.0000E+00,1.2346E-03\n"


def test_overload_and_nan_use_the_scpi_stand_ins(meter: WT310Emulator, plant: Plant) -> None:
    session = meter.session()
    session.receive(SELECT_U_I_P)
    plant.voltage_v, plant.current_a, plant.power_w = math.inf, -math.inf, math.nan
    assert session.receive(b":NUM:NORM:VAL?\n") == b"9.9E+37,-9.9E+37,9.91E+37\n"


def test_item_query_reports_the_selection(session: WT310Session) -> None:
    session.receive(b":COMM:HEAD OFF;:NUM:NORM:ITEM2 LAMBDA,1;ITEM3 NONE\n")
    assert session.receive(b":NUM:NORM:ITEM2?;ITEM3?\n") == b"LAMB,1;NONE\n"
    session.receive(b":COMM:VERB ON\n")
    assert session.receive(b":NUM:NORM:ITEM2?\n") == b"LAMBDA,1\n"


def test_defaults_differ_from_the_configured_selection(session: WT310Session) -> None:
    # An unconfigured meter must not happen to answer U, I, P only: the driver's set-up has to matter.
    reply = session.receive(b":NUM:NORM:VAL?\n")
    assert reply.count(b",") + 1 == 15
    assert session.receive(b":COMM:HEAD OFF;:NUM:NORM:NUM?\n") == b"15\n"


def test_float_format_sends_a_definite_length_block(session: WT310Session) -> None:
    session.receive(SELECT_U_I_P + b":NUM:FORM FLOAT\n")
    reply = session.receive(b":NUM:NORM:VAL?\n")
    assert reply[:6] == b"#40012" and reply.endswith(b"\n") and len(reply) == 6 + 12 + 1
    values = struct.unpack(">3f", reply[6:18])
    assert values == pytest.approx((48.012, 45.012, 2161.1), rel=1e-7)


# --- `;` chains and the header path --------------------------------------------------------------


def test_relative_headers_continue_the_previous_path(session: WT310Session) -> None:
    # ITEM2, NUM and VAL? all resolve under :NUM:NORM; the query's reply comes back for the line.
    reply = session.receive(b":NUM:NORM:ITEM1 P,1;ITEM2 U,1;NUM 2;VAL?\n")
    assert reply == b"2.1611E+03,4.8012E+01\n"


def test_common_commands_do_not_change_the_path(session: WT310Session) -> None:
    session.receive(b":NUM:NORM:ITEM1 P,1;*CLS;ITEM2 P,1;*OPC?;NUM 2\n")
    assert session.receive(b":NUM:NORM:VAL?\n") == b"2.1611E+03,2.1611E+03\n"
    assert errors(session) == []


def test_relative_header_at_the_wrong_level_is_undefined(session: WT310Session) -> None:
    # After :COMM:HEAD the path is :COMM, so ITEM1 means :COMM:ITEM1, which does not exist.
    assert session.receive(b":COMM:HEAD OFF;ITEM1 U,1\n") == b""
    assert errors(session) == [b'-113,"Undefined header"\n']


def test_replies_of_one_line_are_joined_by_semicolons(session: WT310Session) -> None:
    session.receive(SELECT_U_I_P + b":COMM:HEAD OFF\n")
    assert session.receive(b"*IDN?;:NUM:NORM:VAL?;:RATE?\n") == (
        b"YOKOGAWA,WT310,TEST0001,F9.9;4.8012E+01,4.5012E+01,2.1611E+03;5.0000E-01\n"
    )


def test_a_bad_unit_in_a_chain_is_skipped_and_queued(session: WT310Session) -> None:
    assert session.receive(b":FOO;*IDN?;:NUM:NORM:NUM 0\n") == b"YOKOGAWA,WT310,TEST0001,F9.9\n"
    assert errors(session) == [b'-113,"Undefined header"\n', b'-222,"Data out of range"\n']


# --- headers and verbosity in replies ------------------------------------------------------------


def test_headers_on_prefix_setting_queries_in_short_or_long_form(session: WT310Session) -> None:
    session.receive(b":COMM:HEAD ON;VERB OFF\n")
    assert session.receive(b":NUM:NORM:NUM?\n") == b":NUM:NORM:NUM 15\n"
    assert session.receive(b":numeric:format?\n") == b":NUM:FORM ASC\n"
    session.receive(b":COMM:VERB ON\n")
    assert session.receive(b":NUM:NUM?\n") == b":NUMERIC:NORMAL:NUMBER 15\n"
    assert session.receive(b":NUM:NORM:ITEM3?\n") == b":NUMERIC:NORMAL:ITEM3 P,1\n"


def test_headers_off_gives_bare_values(session: WT310Session) -> None:
    session.receive(b":COMM:HEAD OFF;VERB ON\n")
    assert session.receive(b":NUM:FORM?;:COMM:HEAD?;VERB?\n") == b"ASCII;0;1\n"


def test_value_query_never_carries_a_header(session: WT310Session) -> None:
    session.receive(SELECT_U_I_P + b":COMM:HEAD ON;VERB ON\n")
    assert session.receive(b":NUM:NORM:VAL?\n") == b"4.8012E+01,4.5012E+01,2.1611E+03\n"


# --- update rate ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("setting", "reply"),
    [(b"250MS", b"2.5000E-01"), (b"100ms", b"1.0000E-01"), (b"0.5", b"5.0000E-01"), (b"0.25S", b"2.5000E-01"),
     (b"100M", b"1.0000E-01"), (b"2.5E-1", b"2.5000E-01")],
)  # fmt: skip
def test_rate_accepts_time_values_with_multiplier_and_unit(
    session: WT310Session, setting: bytes, reply: bytes
) -> None:
    session.receive(b":COMM:HEAD OFF\n")
    assert session.receive(b":RATE " + setting + b";:RATE?\n") == reply + b"\n"
    assert errors(session) == []


@pytest.mark.parametrize("setting", [b"1", b"0.2", b"250", b"0"])
def test_rate_outside_the_offered_intervals_is_refused(session: WT310Session, setting: bytes) -> None:
    session.receive(b":COMM:HEAD OFF;:RATE 100MS\n")
    assert session.receive(b":RATE " + setting + b"\n") == b""
    assert errors(session) == [b'-222,"Data out of range"\n']
    assert session.receive(b":RATE?\n") == b"1.0000E-01\n"


# --- errors and the error queue ------------------------------------------------------------------


def test_unknown_query_gets_no_reply_and_queues_undefined_header(session: WT310Session) -> None:
    assert session.receive(b":BOGUS:THING?\n") == b""
    assert session.receive(b":STAT:ERR?\n") == b'-113,"Undefined header"\n'
    assert session.receive(b":STAT:ERR?\n") == b'0,"No error"\n'


def test_both_error_queries_read_the_same_fifo_queue(session: WT310Session) -> None:
    session.receive(b":FOO\n:NUM:NORM:ITEM1 X,1\n:NUM:NORM:NUM\n")
    assert session.receive(b":SYST:ERR?\n") == b'-113,"Undefined header"\n'
    assert session.receive(b":SYSTEM:ERROR:NEXT?\n") == b'-224,"Illegal parameter value"\n'
    assert session.receive(b":STATUS:ERROR?\n") == b'-109,"Missing parameter"\n'
    assert session.receive(b":SYST:ERR?\n") == b'0,"No error"\n'


@pytest.mark.parametrize(
    ("command", "error"),
    [
        (b":NUM:NORM:ITEM1 U,2", b'-224,"Illegal parameter value"'),  # a WT310 has one element
        (b":NUM:NORM:ITEM1 W,1", b'-224,"Illegal parameter value"'),
        (b":NUM:NORM:ITEM1 U,1,1", b'-108,"Parameter not allowed"'),
        (b":NUM:NORM:ITEM1 U", b'-109,"Missing parameter"'),
        (b":NUM:NORM:ITEM0 U,1", b'-114,"Header suffix out of range"'),
        (b":NUM:NORM:NUM 256", b'-222,"Data out of range"'),
        (b":NUM:NORM:NUM THREE", b'-104,"Data type error"'),
        (b":NUM:NORM:NUM 2.5", b'-224,"Illegal parameter value"'),
        (b":NUM:FORM TEXT", b'-224,"Illegal parameter value"'),
        (b":COMM:HEAD MAYBE", b'-224,"Illegal parameter value"'),
        (b":COMM:HEAD", b'-109,"Missing parameter"'),
        (b"*IDN? 1", b'-108,"Parameter not allowed"'),
        (b"*IDN", b'-113,"Undefined header"'),  # a query header without its "?"
        (b"*FOO?", b'-113,"Undefined header"'),
        (b":NUM::VAL?", b'-102,"Syntax error"'),
        (b":NUM:NORM:ITEM1 U,,1", b'-102,"Syntax error"'),
        (b":NUM:FORM? ASC", b'-108,"Parameter not allowed"'),
        (b"\xff*IDN?", b'-101,"Invalid character"'),
    ],
)
def test_bad_commands_answer_nothing_and_queue_their_error(
    session: WT310Session, command: bytes, error: bytes
) -> None:
    session.receive(b":COMM:HEAD OFF\n")
    assert session.receive(command + b"\n") == b""
    assert errors(session) == [error + b"\n"]


def test_a_rejected_setting_leaves_the_old_one(session: WT310Session) -> None:
    session.receive(SELECT_U_I_P + b":NUM:NORM:ITEM1 U,2\n")
    assert session.receive(b":NUM:NORM:VAL?\n") == b"4.8012E+01,4.5012E+01,2.1611E+03\n"


def test_queue_overflow_keeps_the_oldest_and_ends_in_350(session: WT310Session) -> None:
    session.receive(b":BAD\n" + b"".join(b":NUM:NORM:NUM 0\n" for _ in range(ERROR_QUEUE_CAPACITY + 10)))
    drained = errors(session)
    assert len(drained) == ERROR_QUEUE_CAPACITY
    assert drained[0] == b'-113,"Undefined header"\n'
    assert set(drained[1:-1]) == {b'-222,"Data out of range"\n'}
    assert drained[-1] == b'-350,"Queue overflow"\n'


def test_cls_empties_the_queue_and_rst_does_not(session: WT310Session) -> None:
    session.receive(b":FOO\n*RST\n")
    assert errors(session) == [b'-113,"Undefined header"\n']
    session.receive(b":FOO\n*CLS\n")
    assert errors(session) == []


def test_rst_restores_the_defaults(session: WT310Session) -> None:
    session.receive(SELECT_U_I_P + b":COMM:HEAD OFF;:RATE 100MS\n*RST\n")
    assert session.receive(b":NUM:NORM:NUM?;:RATE?\n") == b":NUM:NORM:NUM 15;:RATE 5.0000E-01\n"


def test_an_endless_line_is_dropped_with_an_error(session: WT310Session) -> None:
    assert session.receive(b"X" * 70000) == b""
    assert session.receive(b"\n*IDN?\n") == b"YOKOGAWA,WT310,TEST0001,F9.9\n"  # the tail is an empty line
    assert errors(session) == [b'-223,"Too much data"\n']


# --- one instrument, several connections ---------------------------------------------------------


def test_settings_and_errors_are_shared_but_framing_is_per_session(meter: WT310Emulator) -> None:
    first, second = meter.session(), meter.session()
    assert first.receive(b":NUM:NORM:NUM 3;ITEM1 U,1;ITEM2 I,1;ITEM3 P,1\n:BOGUS\n*ID") == b""
    assert second.receive(b":NUM:NORM:VAL?\n") == b"4.8012E+01,4.5012E+01,2.1611E+03\n"
    assert second.receive(b":STAT:ERR?\n") == b'-113,"Undefined header"\n'  # queued by the first
    assert first.receive(b"N?\n") == b"YOKOGAWA,WT310,TEST0001,F9.9\n"  # its partial line survived
