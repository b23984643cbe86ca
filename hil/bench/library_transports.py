"""Transports that wrap a library: a pyvisa resource for SCPI (:class:`VisaTransport`) and a
pymodbus client for Modbus (:class:`PymodbusTransport`).

They take the shapes of :mod:`hil.bench.transport` (a :class:`~hil.bench.transport.MessageTransport`,
a :class:`~hil.bench.transport.RegisterTransport`) and turn the libraries' failures into the same
errors, naming the transport; the libraries are imported when a transport is opened, not by every
command. They live apart from the project's own socket and serial transports because what they need
to know is the libraries' (resource names, client classes, their loggers), not the wire's.

Imports only :mod:`hil.core.errors` and :mod:`hil.bench.transport` from the project.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from hil.bench.transport import DEFAULT_TIMEOUT_S
from hil.core.errors import DeviceError, ProtocolError, TransportError, TransportTimeout


class VisaTransport:
    """A pyvisa resource (``TCPIP0::host::port::SOCKET``, ``ASRL/dev/ttyUSB0::INSTR``, USB-TMC).

    The backend is pyvisa-py (``@py``) unless another is named, so no vendor VISA is required.
    """

    def __init__(self, resource: str, timeout_s: float = DEFAULT_TIMEOUT_S, backend: str = "@py") -> None:
        import pyvisa

        self.name = resource
        self._timeout_s = timeout_s
        self._errors: tuple[type[BaseException], ...] = (pyvisa.errors.VisaIOError, OSError)
        _check_visa_resource_name(resource)
        try:
            self._manager = pyvisa.ResourceManager(backend)
            self._resource: Any = self._manager.open_resource(
                resource, read_termination="\n", write_termination="\n", timeout=int(timeout_s * 1000)
            )
        except (pyvisa.errors.Error, OSError, ValueError) as exc:
            raise TransportError(f"{resource}: cannot open VISA resource: {exc}") from exc
        self._timeout_code = pyvisa.constants.StatusCode.error_timeout
        self._reply_owed = False

    def _map(self, exc: BaseException, command: str) -> TransportError:
        if getattr(exc, "error_code", None) == self._timeout_code:
            return TransportTimeout(f"{self.name}: no reply to {command!r} within {self._timeout_s:g} s")
        return TransportError(f"{self.name}: I/O error on {command!r}: {exc}")

    def write_line(self, command: str) -> None:
        try:
            self._resource.write(command)
        except self._errors as exc:
            raise self._map(exc, command) from exc

    def query(self, command: str) -> str:
        """Like :meth:`LineTransport.query`: after a timeout, the late reply is awaited once and
        discarded with anything else pending before the next query is sent."""
        if self._reply_owed:
            self._reply_owed = False
            try:
                self._resource.read()
            except self._errors:
                pass
            except UnicodeDecodeError:
                pass
            try:
                self._resource.clear()
            except self._errors:
                pass
        try:
            return str(self._resource.query(command)).rstrip("\r\n")
        except self._errors as exc:
            error = self._map(exc, command)
            self._reply_owed = isinstance(error, TransportTimeout)
            raise error from exc
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"{self.name}: reply to {command!r} is not text") from exc

    def close(self) -> None:
        self._resource.close()
        self._manager.close()


def _silence_library_log(name: str) -> None:
    """Keep a library's own log lines off the user's console: its failures reach the user as this
    module's errors, naming the instrument, so "No response received after 0 retries" printed by
    Python's last-resort handler is noise in the middle of the progress display."""
    logger = logging.getLogger(name)
    if not any(isinstance(handler, logging.NullHandler) for handler in logger.handlers):
        logger.addHandler(logging.NullHandler())


VISA_EXAMPLES = "TCPIP0::192.168.1.5::10001::SOCKET, TCPIP0::192.168.1.5::INSTR, ASRL/dev/ttyUSB0::INSTR"


def _check_visa_resource_name(resource: str) -> None:
    """Refuse what is not a message-based VISA resource name before pyvisa tries it (pyvisa's own
    error for a garbage name is about an attribute of a generic resource class)."""
    from pyvisa import rname

    try:
        parsed = rname.parse_resource_name(resource)
    except rname.InvalidResourceName as exc:
        raise TransportError(
            f"{resource!r} is not a VISA resource name ({exc}); expected e.g. {VISA_EXAMPLES}"
        ) from exc
    if parsed.resource_class not in ("INSTR", "SOCKET"):
        raise TransportError(
            f"{resource}: a {parsed.resource_class} resource does not exchange text messages; "
            f"expected an INSTR or SOCKET resource, e.g. {VISA_EXAMPLES}"
        )


class PymodbusTransport:
    """Register access through a pymodbus client (serial RTU or TCP), shared by a bus's devices."""

    def __init__(self, client: Any, name: str) -> None:
        from pymodbus.exceptions import ModbusException

        _silence_library_log("pymodbus")
        self.name = name
        self._client = client
        self._modbus_exception = ModbusException
        if not client.connect():
            raise TransportError(f"{name}: cannot open Modbus connection")

    @classmethod
    def rtu(cls, port: str, baudrate: int = 9600, timeout_s: float = DEFAULT_TIMEOUT_S) -> PymodbusTransport:
        from pymodbus.client import ModbusSerialClient

        client = ModbusSerialClient(port, baudrate=baudrate, timeout=timeout_s, retries=0)
        return cls(client, f"modbus-rtu:{port}")

    @classmethod
    def tcp(cls, host: str, port: int = 502, timeout_s: float = DEFAULT_TIMEOUT_S) -> PymodbusTransport:
        from pymodbus.client import ModbusTcpClient

        client = ModbusTcpClient(host, port=port, timeout=timeout_s, retries=0)
        return cls(client, f"modbus-tcp://{host}:{port}")

    def _check(self, reply: Any, what: str, unit: int) -> Any:
        if reply.isError():
            code = getattr(reply, "exception_code", None)
            raise DeviceError(f"{self.name} unit {unit}: {what} refused with Modbus exception {code}", code)
        return reply

    def read_holding_registers(self, address: int, count: int, unit: int) -> list[int]:
        return self._read("holding", self._client.read_holding_registers, address, count, unit)

    def read_input_registers(self, address: int, count: int, unit: int) -> list[int]:
        return self._read("input", self._client.read_input_registers, address, count, unit)

    def _read(self, kind: str, call: Any, address: int, count: int, unit: int) -> list[int]:
        """One register read (function 3 or 4): its errors named, its length checked."""
        what = f"read {count} {kind} registers at {address}"
        try:
            reply = call(address, count=count, device_id=unit)
        except self._modbus_exception as exc:
            raise TransportTimeout(f"{self.name} unit {unit}: {what}: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"{self.name} unit {unit}: {what}: {exc}") from exc
        registers = list(self._check(reply, what, unit).registers)
        if len(registers) != count:
            raise ProtocolError(f"{self.name} unit {unit}: {what}: got {len(registers)} registers")
        return registers

    def write_register(self, address: int, value: int, unit: int) -> None:
        what = f"write register {address}"
        try:
            reply = self._client.write_register(address, value, device_id=unit)
        except self._modbus_exception as exc:
            raise TransportTimeout(f"{self.name} unit {unit}: {what}: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"{self.name} unit {unit}: {what}: {exc}") from exc
        self._check(reply, what, unit)

    def write_registers(self, address: int, values: Sequence[int], unit: int) -> None:
        what = f"write {len(values)} registers at {address}"
        try:
            reply = self._client.write_registers(address, list(values), device_id=unit)
        except self._modbus_exception as exc:
            raise TransportTimeout(f"{self.name} unit {unit}: {what}: {exc}") from exc
        except OSError as exc:
            raise TransportError(f"{self.name} unit {unit}: {what}: {exc}") from exc
        self._check(reply, what, unit)

    def close(self) -> None:
        self._client.close()
