"""How an error inside a run names the instrument it came from, not only the wire it travelled on.

A transport knows a port (``/dev/pts/4``, ``TCPIP0::10.0.0.7::10001::SOCKET``, ``rs485 unit 1``);
the operator knows an instrument by its name in the bench file and what it is for. So every error
the runner logs, trips on or ends a run with is said as, for example::

    power meter 'power' (wt310 at TCPIP0::127.0.0.1::5025::SOCKET): no reply to ':NUM:VAL?' within 0.25 s
    pump drive 'motor' (vesc motor controller at /dev/ttyACM0): no reply within 0.25 s: waited for ...

The label is made once, when the bench is assembled (:func:`hil.run.assembly.connect_bench`), from the
bench file (name, driver, the role it fills) and the transport actually opened. The transport's own
prefix is dropped from the message, as the label already says where the instrument is.

Imports only :mod:`hil.core.errors`.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import TypeVar

from hil.core.errors import HilError

DRIVER_KINDS = {
    "vesc": "motor controller",
    "odrive": "motor controller",
    "keller": "pressure transducer",
    "micromotion": "Coriolis flow meter",
    "wt310": "power meter",
    "labjack-t7": "DAQ",
    "dp800": "power supply",
    "truevolt-4-20ma": "4-20 mA loop DMM",
    "modbus": "Modbus instrument",
    "scpi": "SCPI instrument",
}
"""What each driver's instrument is, in the words of the people at the bench."""

ROLE_NAMES = {
    "pump_drive": "pump drive",
    "throttle_valve": "throttle valve",
    "tank_pressure": "tank-pressure regulator",
}

E = TypeVar("E", bound=HilError)


@dataclass(frozen=True)
class InstrumentLabel:
    """An instrument as errors name it; ``transport_prefix`` is what its transport's messages start with."""

    text: str
    transport_prefix: str = ""

    def named(self, exc: E) -> E:
        """The same error (same type and fields), its message led by this instrument's label."""
        message = str(exc)
        if self.transport_prefix:
            message = message.removeprefix(f"{self.transport_prefix}: ")
        if message.startswith(self.text):
            return exc
        renamed = copy.copy(exc)
        renamed.args = (f"{self.text}: {message}",)
        return renamed

    def say(self, exc: BaseException) -> str:
        """The message of any error, led by this label (the safe path catches more than HilError)."""
        if isinstance(exc, HilError):
            return str(self.named(exc))
        return f"{self.text}: {type(exc).__name__}: {exc}"


def instrument_label(
    name: str, driver: str, address: str | None, role: str | None = None, transport_prefix: str = ""
) -> InstrumentLabel:
    """``power meter 'power' (wt310 at ADDRESS)``; an instrument filling a bench role is called by the
    role first: ``pump drive 'motor' (vesc motor controller at ADDRESS)``."""
    kind = DRIVER_KINDS.get(driver, "instrument")
    where = f" at {address}" if address else ""
    if role is not None:
        return InstrumentLabel(
            f"{ROLE_NAMES.get(role, role)} '{name}' ({driver} {kind}{where})", transport_prefix
        )
    return InstrumentLabel(f"{kind} '{name}' ({driver}{where})", transport_prefix)
