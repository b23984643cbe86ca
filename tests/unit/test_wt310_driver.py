"""WT310 driver against a scripted MessageTransport: every exchange listed, none missing, none extra."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest

from drivers.wt310 import WT310PowerMeter
from hil.bench.roles import PowerMeter
from hil.core.errors import DeviceError, LimitError, ProtocolError, TransportTimeout

WRITE = None
"""Marks a scripted step as a write (no reply expected)."""


class ScriptedLink:
    """A MessageTransport that plays a command/response table in order.

    Each step is ``(command, reply)``: ``reply`` is ``WRITE`` for ``write_line``, a string for
    ``query``, or an exception instance that ``query`` raises. Any command out of order, of the wrong
    kind or beyond the table fails the test at once; unused steps fail it at teardown.
    """

    def __init__(self, steps: list[Step]) -> None:
        self.name = "scripted"
        self._steps = list(steps)
        self.closed = False

    def _next(self, command: str, kind: str) -> str | BaseException | None:
        assert self._steps, f"unexpected {kind} {command!r}: the script is exhausted"
        expected, reply = self._steps.pop(0)
        expected_kind = "write" if reply is WRITE else "query"
        assert (kind, command) == (expected_kind, expected), (
            f"got {kind} {command!r}, script expected {expected_kind} {expected!r}"
        )
        return reply

    def write_line(self, command: str) -> None:
        self._next(command, "write")

    def query(self, command: str) -> str:
        reply = self._next(command, "query")
        if isinstance(reply, BaseException):
            raise reply
        assert isinstance(reply, str)
        return reply

    def close(self) -> None:
        self.closed = True

    def assert_used_up(self) -> None:
        assert not self._steps, f"script steps never used: {self._steps}"


Script = list[ScriptedLink]


@pytest.fixture
def script() -> Iterator[Script]:
    links: list[ScriptedLink] = []
    yield links
    for link in links:
        link.assert_used_up()


Step = tuple[str, str | BaseException | None]


def meter(script, steps: list[Step], **kwargs: int) -> WT310PowerMeter:
    link = ScriptedLink(steps)
    script.append(link)
    return WT310PowerMeter(link, "pm1", **kwargs)


CONFIGURE_ELEMENT_1 = [
    ("*CLS", WRITE),
    (":NUM:FORM ASC", WRITE),
    (":COMM:HEAD OFF", WRITE),
    (":COMM:VERB ON", WRITE),
    (":NUM:NORM:NUM 3", WRITE),
    (":NUM:NORM:ITEM1 U,1", WRITE),
    (":NUM:NORM:ITEM2 I,1", WRITE),
    (":NUM:NORM:ITEM3 P,1", WRITE),
]


def test_fills_the_power_meter_role() -> None:
    assert isinstance(WT310PowerMeter(ScriptedLink([]), "pm1"), PowerMeter)


def test_configure_sends_the_reference_initialisation_then_checks_the_error_queue(script: Script) -> None:
    pm = meter(script, [*CONFIGURE_ELEMENT_1, (":STAT:ERR?", '0,"No error"')])
    pm.configure()


def test_configure_selects_items_of_the_chosen_element(script: Script) -> None:
    pm = meter(
        script,
        [
            *CONFIGURE_ELEMENT_1[:5],
            (":NUM:NORM:ITEM1 U,3", WRITE),
            (":NUM:NORM:ITEM2 I,3", WRITE),
            (":NUM:NORM:ITEM3 P,3", WRITE),
            (":STAT:ERR?", '0,"No error"'),
        ],
        element=3,
    )
    pm.configure()


def test_configure_raises_device_error_listing_every_queued_error(script: Script) -> None:
    pm = meter(
        script,
        [
            *CONFIGURE_ELEMENT_1,
            (":STAT:ERR?", '-224,"Illegal parameter value"'),
            (":STAT:ERR?", '-113,"Undefined header"'),
            (":STAT:ERR?", '0,"No error"'),
        ],
    )
    expected = r"pm1.*-224.*Illegal parameter value.*-113.*Undefined header"
    with pytest.raises(DeviceError, match=expected) as caught:
        pm.configure()
    assert caught.value.code == -224


def test_error_queue_that_never_empties_is_a_protocol_error(script: Script) -> None:
    steps = [(":STAT:ERR?", '-350,"Queue overflow"')] * 32
    pm = meter(script, steps)
    with pytest.raises(ProtocolError, match="not empty after 32"):
        pm.read_errors()


def test_read_is_one_query_returning_si_quantities(script: Script) -> None:
    pm = meter(script, [(":NUM:NORM:VAL?", "4.8012E+01,4.5012E+01,2.1611E+03")])
    assert pm.read() == {"voltage_v": 48.012, "current_a": 45.012, "power_w": 2161.1}


def test_read_passes_overload_and_no_data_through_for_the_interlocks(script: Script) -> None:
    pm = meter(script, [(":NUM:NORM:VAL?", "9.9E+37,-1.0E+00,9.91E+37")])
    reading = pm.read()
    assert reading["voltage_v"] == math.inf
    assert reading["current_a"] == -1.0
    assert math.isnan(reading["power_w"])


@pytest.mark.parametrize(
    "reply",
    [
        "4.8012E+01,4.5012E+01",  # items not configured: too few
        "4.8012E+01,4.5012E+01,2.1611E+03,2.1611E+03",  # or too many
        ":NUMERIC:NORMAL:VALUE 4.8012E+01,4.5012E+01,2.1611E+03",  # headers still on
        "#4001212345678901234",  # binary format still selected
    ],
)
def test_read_rejects_a_malformed_reply_naming_meter_command_and_reply(script: Script, reply: str) -> None:
    pm = meter(script, [(":NUM:NORM:VAL?", reply)])
    with pytest.raises(ProtocolError) as caught:
        pm.read()
    message = str(caught.value)
    assert message.startswith("pm1: ")
    assert ":NUM:NORM:VAL?" in message and repr(reply) in message


def test_read_timeout_propagates_unchanged(script: Script) -> None:
    timeout = TransportTimeout("scripted: no reply to ':NUM:NORM:VAL?' within the timeout")
    pm = meter(script, [(":NUM:NORM:VAL?", timeout)])
    with pytest.raises(TransportTimeout) as caught:
        pm.read()
    assert caught.value is timeout


def test_identify_returns_the_idn_reply(script: Script) -> None:
    pm = meter(script, [("*IDN?", "YOKOGAWA,WT310,C2QD12345,F1.03")])
    assert pm.identify() == "YOKOGAWA,WT310,C2QD12345,F1.03"


def test_identify_rejects_a_reply_without_four_fields(script: Script) -> None:
    pm = meter(script, [("*IDN?", "YOKOGAWA,WT310")])
    with pytest.raises(ProtocolError, match=r"pm1: .*\*IDN\?.*'YOKOGAWA,WT310'"):
        pm.identify()


def test_safe_state_sends_nothing(script: Script) -> None:
    pm = meter(script, [])
    pm.safe_state()
    pm.safe_state()


@pytest.mark.parametrize(
    ("rate_s", "command"), [(0.1, ":RATE 100MS"), (0.25, ":RATE 250MS"), (0.5, ":RATE 500MS")]
)
def test_set_update_rate_sends_the_interval(script: Script, rate_s: float, command: str) -> None:
    pm = meter(script, [(command, WRITE)])
    pm.set_update_rate_s(rate_s)


@pytest.mark.parametrize("rate_s", [0.0, 0.2, 1.0, -0.1, math.nan, 0.25000001])
def test_set_update_rate_refuses_other_intervals_without_sending(script: Script, rate_s: float) -> None:
    pm = meter(script, [])
    with pytest.raises(LimitError, match="pm1: update rate"):
        pm.set_update_rate_s(rate_s)


@pytest.mark.parametrize("element", [0, 4, -1, True])
def test_element_outside_the_family_is_refused(element: int) -> None:
    with pytest.raises(LimitError, match="pm1: input element"):
        WT310PowerMeter(ScriptedLink([]), "pm1", element=element)


def test_scripted_link_fails_on_an_unexpected_command() -> None:
    # The fake itself must be able to fail, or the tests above prove nothing.
    link = ScriptedLink([("*CLS", WRITE)])
    with pytest.raises(AssertionError, match="expected write '\\*CLS'"):
        link.query("*CLS")
    link = ScriptedLink([])
    with pytest.raises(AssertionError, match="exhausted"):
        link.write_line("*RST")
    link = ScriptedLink([("*CLS", WRITE)])
    with pytest.raises(AssertionError, match="never used"):
        link.assert_used_up()
