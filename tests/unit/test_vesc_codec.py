"""VESC codec: reference frames byte for byte, length forms, streaming decoder, GET_VALUES by length."""

from __future__ import annotations

import struct

import pytest
from hypothesis import given, settings

from drivers.vesc_codec import (
    GET_VALUES_CORE_LEN,
    GET_VALUES_FULL_LEN,
    FrameDecoder,
    alive_payload,
    crc16_xmodem,
    decode_values,
    encode_frame,
    fault_name,
    get_values_payload,
    set_current_brake_payload,
    set_current_payload,
    set_duty_payload,
    set_rpm_payload,
)
from hil.core.errors import LimitError, ProtocolError
from tests.fuzzing import Choices, fuzz_batches, fuzz_cases

# Reference frames from shared/reference/protocols.md (VESC).
GET_VALUES_FRAME = bytes.fromhex("02 01 04 40 84 03")
SET_RPM_3000_FRAME = bytes.fromhex("02 05 08 00 00 0B B8 F8 04 03")
ALIVE_FRAME = bytes.fromhex("02 01 1E F3 FF 03")


def test_crc_matches_published_check_value() -> None:
    # CRC-16/XMODEM check value from the CRC catalogue: 0x31C3 for ASCII "123456789".
    assert crc16_xmodem(b"123456789") == 0x31C3
    assert crc16_xmodem(b"") == 0


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        (get_values_payload(), GET_VALUES_FRAME),
        (set_rpm_payload(3000), SET_RPM_3000_FRAME),
        (alive_payload(), ALIVE_FRAME),
    ],
)
def test_reference_frames_byte_for_byte(payload: bytes, expected: bytes) -> None:
    assert encode_frame(payload) == expected
    assert FrameDecoder().feed(expected) == [payload]


def test_command_payload_scaling() -> None:
    # duty x 1e5, currents in mA, rpm unscaled; all int32 big-endian after the command byte.
    assert set_duty_payload(0.5) == bytes([5]) + struct.pack(">i", 50_000)
    assert set_duty_payload(-0.25) == bytes([5]) + struct.pack(">i", -25_000)
    assert set_current_payload(12.345) == bytes([6]) + struct.pack(">i", 12_345)
    assert set_current_payload(0.0) == bytes([6, 0, 0, 0, 0])
    assert set_current_brake_payload(3.0) == bytes([7]) + struct.pack(">i", 3_000)
    assert set_rpm_payload(-1500) == bytes([8]) + struct.pack(">i", -1500)
    assert set_rpm_payload(2999.6) == bytes([8]) + struct.pack(">i", 3000)


@pytest.mark.parametrize(
    "build",
    [
        lambda: set_duty_payload(1.2),
        lambda: set_duty_payload(float("nan")),
        lambda: set_current_payload(3e6),
        lambda: set_rpm_payload(2**31),
        lambda: set_rpm_payload(float("nan")),
    ],
)
def test_unrepresentable_arguments_raise_limit_error(build) -> None:
    with pytest.raises(LimitError):
        build()


@pytest.mark.parametrize(
    ("size", "header"),
    [
        (1, bytes([0x02, 1])),
        (255, bytes([0x02, 255])),
        (256, bytes([0x03, 0x01, 0x00])),
        (65535, bytes([0x03, 0xFF, 0xFF])),
        (65536, bytes([0x04, 0x01, 0x00, 0x00])),
    ],
)
def test_length_forms(size: int, header: bytes) -> None:
    payload = bytes(i % 251 for i in range(size))
    framed = encode_frame(payload)
    assert framed[: len(header)] == header
    assert framed[-1] == 0x03
    assert int.from_bytes(framed[-3:-1], "big") == crc16_xmodem(payload)
    assert len(framed) == len(header) + size + 3
    assert FrameDecoder(max_payload_len=1 << 17).feed(framed) == [payload]


def test_frames_empty_payload_refused() -> None:
    with pytest.raises(ProtocolError):
        encode_frame(b"")


def test_decoder_buffers_partial_frames_across_calls() -> None:
    decoder = FrameDecoder()
    stream = GET_VALUES_FRAME + SET_RPM_3000_FRAME + ALIVE_FRAME
    out: list[bytes] = []
    for byte in stream:
        out += decoder.feed(bytes([byte]))
    assert out == [bytes([4]), bytes.fromhex("08 00 00 0B B8"), bytes([0x1E])]
    assert decoder.buffered == b""


def test_bytes_needed_never_reads_past_a_frame() -> None:
    decoder = FrameDecoder()
    assert decoder.bytes_needed() == 2
    decoder.feed(SET_RPM_3000_FRAME[:2])
    assert decoder.bytes_needed() == len(SET_RPM_3000_FRAME) - 2
    long_frame = encode_frame(bytes(300))
    decoder = FrameDecoder()
    decoder.feed(long_frame[:2])
    assert decoder.bytes_needed() == 1  # the second length byte
    decoder.feed(long_frame[2:3])
    assert decoder.bytes_needed() == len(long_frame) - 3


@pytest.mark.parametrize(
    ("stream", "fragment", "offending"),
    [
        (bytes.fromhex("55 66") + ALIVE_FRAME, "bad start byte 0x55", "55 66"),
        (bytes.fromhex("02 01 04 40 85 03"), "bad CRC 0x4085", "02 01 04 40 85 03"),
        (bytes.fromhex("02 01 04 40 84 04"), "bad end byte 0x04", "02 01 04 40 84 04"),
        (bytes.fromhex("02 00 04"), "zero length", "02 00"),
        (bytes.fromhex("04 01 00 00"), "length 65536 exceeds", "04 01 00 00"),
    ],
)
def test_decoder_errors_name_the_bytes(stream: bytes, fragment: str, offending: str) -> None:
    with pytest.raises(ProtocolError, match=fragment) as info:
        FrameDecoder().feed(stream)
    assert offending in str(info.value)


def test_decoder_recovers_after_error_in_stream_order() -> None:
    decoder = FrameDecoder()
    bad = bytes.fromhex("02 01 04 40 85 03")
    # A good frame before the bad one comes out first; the error follows; then the next good frame.
    assert decoder.feed(ALIVE_FRAME + bad + GET_VALUES_FRAME) == [bytes([0x1E])]
    with pytest.raises(ProtocolError, match="bad CRC"):
        decoder.feed(b"")
    assert decoder.feed(b"") == [bytes([4])]


def _drain(decoder: FrameDecoder, chunks: list[bytes]) -> tuple[list[bytes], int]:
    """Feed every chunk, collecting payloads and counting ProtocolErrors; anything else escapes."""
    payloads: list[bytes] = []
    errors = 0
    total = sum(len(c) for c in chunks)
    for chunk in chunks:
        data = chunk
        while True:
            try:
                payloads += decoder.feed(data)
                break
            except ProtocolError:
                errors += 1
                assert errors <= total, "decoder makes no progress"
                data = b""
        for _ in range(total + 1):
            if decoder.bytes_needed() != 0 or not decoder.buffered:
                break
            try:
                payloads += decoder.feed(b"")
            except ProtocolError:
                errors += 1
        else:
            raise AssertionError("decoder claims a result is ready but never gives one")
    return payloads, errors


def _chunks(choose: Choices) -> list[bytes]:
    return choose.lists(lambda chunk: chunk.binary(max_size=40), max_size=8)


@settings(max_examples=fuzz_batches(1000), deadline=None)
@given(fuzz_cases(_chunks, case_bytes=400))
def test_fuzz_arbitrary_bytes_give_payloads_or_protocol_errors(cases: list[list[bytes]]) -> None:
    for chunks in cases:
        payloads, _ = _drain(FrameDecoder(max_payload_len=64), chunks)
        for payload in payloads:
            assert 1 <= len(payload) <= 64


def _corruption(choose: Choices) -> tuple[bytes, int, int]:
    """A payload of 1-300 bytes, the index of one byte of its frame and a different value for it."""
    payload = choose.binary(min_size=1, max_size=300)
    index = choose.integer(0, len(encode_frame(payload)) - 1)
    return payload, index, choose.integer(1, 255)  # added to the byte: any other value


@settings(max_examples=fuzz_batches(1000), deadline=None)
@given(fuzz_cases(_corruption, case_bytes=320))
def test_fuzz_single_byte_corruption(cases: list[tuple[bytes, int, int]]) -> None:
    for payload, index, change in cases:
        framed = encode_frame(payload)
        replacement = (framed[index] + change) % 256
        corrupted = framed[:index] + bytes([replacement]) + framed[index + 1 :]
        header_len = 2 if len(payload) < 256 else 3
        decoder = FrameDecoder()
        if index >= header_len:
            # Payload, CRC or end byte: CRC-16 catches every single-byte error, so this must be refused.
            with pytest.raises(ProtocolError):
                decoder.feed(corrupted)
        else:
            # A changed header shifts or resizes the frame: the original payload can no longer come out.
            payloads, _ = _drain(decoder, [corrupted])
            assert payload not in payloads


# --- GET_VALUES replies: built here from the reference layout, independently of any encoder ----------

# (raw integer on the wire, expected SI value) in wire order after the command byte 0x04.
_CORE = [
    (">h", 453, "temp_fet_c", 45.3),
    (">h", -125, "temp_motor_c", -12.5),
    (">i", 1234, "motor_current_a", 12.34),
    (">i", -567, "input_current_a", -5.67),
    (">i", 10, "id_a", 0.10),
    (">i", 1200, "iq_a", 12.00),
    (">h", 873, "duty", 0.873),
    (">i", 21000, "erpm", 21000),
    (">h", 482, "v_in_v", 48.2),
    (">i", 12345, "amp_hours", 1.2345),
    (">i", 1, "amp_hours_charged", 0.0001),
    (">i", 560000, "watt_hours", 56.0),
    (">i", 0, "watt_hours_charged", 0.0),
    (">i", -77, "tachometer", -77),
    (">i", 4242, "tachometer_abs", 4242),
    (">B", 5, "fault_code", 5),
]
_OPTIONAL = [
    (">i", 90_500_000, "pid_pos", 90.5),
    (">B", 17, "controller_id", 17),
    (">h", 401, "temp_mos1_c", 40.1),
    (">h", 402, "temp_mos2_c", 40.2),
    (">h", 403, "temp_mos3_c", 40.3),
    (">i", -1500, "vd_v", -1.5),
    (">i", 24000, "vq_v", 24.0),
    (">B", 0x03, "status", 3),
]


def _reply(fields: list[tuple[str, int, str, float]]) -> bytes:
    return bytes([4]) + b"".join(struct.pack(fmt, raw) for fmt, raw, _, _ in fields)


def test_reply_lengths_follow_the_reference_layout() -> None:
    assert len(_reply(_CORE)) == GET_VALUES_CORE_LEN == 54
    assert len(_reply(_CORE + _OPTIONAL)) == GET_VALUES_FULL_LEN == 74


def test_decode_new_firmware_reply() -> None:
    values = decode_values(_reply(_CORE + _OPTIONAL))
    for _, _, name, expected in _CORE + _OPTIONAL:
        assert getattr(values, name) == pytest.approx(expected, abs=1e-12), name
    assert values.command_timeout_active is True
    assert values.fault_name == "FET over-temperature"


def test_decode_old_firmware_reply_without_status() -> None:
    values = decode_values(_reply(_CORE + _OPTIONAL[:-1]))
    assert values.status is None
    assert values.command_timeout_active is None
    assert values.vq_v == pytest.approx(24.0)


@pytest.mark.parametrize("stop", range(len(_OPTIONAL)))
def test_decode_by_length_at_every_field_boundary(stop: int) -> None:
    values = decode_values(_reply(_CORE + _OPTIONAL[:stop]))
    for _, _, name, expected in _OPTIONAL[:stop]:
        assert getattr(values, name) == pytest.approx(expected), name
    for _, _, name, _ in _OPTIONAL[stop:]:
        assert getattr(values, name) is None, name


def test_trailing_fields_of_newer_firmware_are_ignored() -> None:
    values = decode_values(_reply(_CORE + _OPTIONAL) + bytes(9))
    assert values.status == 3


def test_reply_shorter_than_core_is_refused() -> None:
    with pytest.raises(ProtocolError, match="shorter than the 54-byte core"):
        decode_values(_reply(_CORE)[:-1])


def test_reply_ending_inside_a_field_is_refused() -> None:
    with pytest.raises(ProtocolError, match="inside field pid_pos"):
        decode_values(_reply(_CORE) + bytes(2))


@pytest.mark.parametrize("payload", [b"", bytes([5]) + bytes(73)])
def test_reply_with_wrong_command_byte_is_refused(payload: bytes) -> None:
    with pytest.raises(ProtocolError, match="expected 0x04"):
        decode_values(payload)


def test_fault_names() -> None:
    assert [fault_name(code) for code in range(7)] == [
        "none",
        "over-voltage",
        "under-voltage",
        "gate driver",
        "absolute over-current",
        "FET over-temperature",
        "motor over-temperature",
    ]
    assert fault_name(42) == "unknown fault 42"
