"""An error named after its instrument keeps its type and fields, and drops the transport's prefix."""

from __future__ import annotations

from hil.core.errors import DeviceError, TransportTimeout
from hil.run.instrument_labels import instrument_label


def test_a_named_error_keeps_its_type_and_code_and_says_the_instrument_once() -> None:
    label = instrument_label(
        "p_inlet", "keller", "unit 1 on bus 'rs485' at /dev/ttyUSB0", None, "rs485 unit 1"
    )
    error = label.named(DeviceError("rs485 unit 1: read refused with Modbus exception 6", 6))
    assert isinstance(error, DeviceError) and error.code == 6
    assert str(error) == (
        "pressure transducer 'p_inlet' (keller at unit 1 on bus 'rs485' at /dev/ttyUSB0): "
        "read refused with Modbus exception 6"
    )
    assert str(label.named(error)) == str(error)  # named once, however often it passes a boundary


def test_an_instrument_in_a_bench_role_is_called_by_its_role() -> None:
    label = instrument_label("motor", "vesc", "/dev/ttyACM0", "pump_drive", "/dev/ttyACM0")
    error = label.named(
        TransportTimeout("/dev/ttyACM0: no reply within 0.25 s: waited for 2 bytes, got none")
    )
    assert isinstance(error, TransportTimeout)
    assert str(error) == (
        "pump drive 'motor' (vesc motor controller at /dev/ttyACM0): "
        "no reply within 0.25 s: waited for 2 bytes, got none"
    )
    assert (
        label.say(KeyError("x"))
        == "pump drive 'motor' (vesc motor controller at /dev/ttyACM0): KeyError: 'x'"
    )
