"""The project's exception types: one root, each also a subclass of the matching builtin.

Every error a user can meet derives from :class:`HilError`, so the command line can tell an input or
instrument problem (printed as one clear line) from a bug (a traceback). Low-level errors (OSError,
serial exceptions, pymodbus exceptions) are mapped at the transport boundary with ``raise ... from``.

Imports nothing from the rest of the project.
"""

from __future__ import annotations


class HilError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(HilError, ValueError):
    """A bench, pump, mission, grade or procedure file (or parameter) is malformed.

    The message always names the file, the field and what was expected.
    """

    def __init__(self, source: str, field: str, problem: str) -> None:
        self.source = source
        self.field = field
        self.problem = problem
        where = f"{source}: {field}" if field else source
        super().__init__(f"{where}: {problem}")


class TransportError(HilError, OSError):
    """Bytes could not be moved: port missing, connection refused or dropped."""


class TransportTimeout(TransportError, TimeoutError):
    """The instrument did not answer (in full) within the transport's timeout."""


class ProtocolError(HilError, ValueError):
    """Bytes arrived but do not form a valid reply: bad framing, checksum, length or syntax."""


class DeviceError(HilError, RuntimeError):
    """The instrument answered that it cannot do what was asked (exception reply, fault code)."""

    def __init__(self, message: str, code: int | None = None) -> None:
        self.code = code
        super().__init__(message)


class LimitError(HilError, ValueError):
    """A setpoint or parameter lies beyond a driver's range or a bench limit; nothing was sent."""


class InterlockTrip(HilError):
    """A bench limit was violated during a run; the runner has commanded every actuator safe."""

    def __init__(self, reason: str, values: dict[str, float] | None = None) -> None:
        self.reason = reason
        self.values = dict(values or {})
        super().__init__(reason)


class OperatorStop(HilError):
    """The operator asked the run to stop (Ctrl-C, SIGTERM): a safe stop, not a crash."""


class NotConnectedError(HilError, ConnectionError):
    """One or more instruments could not be opened or identified; lists every failure at once."""

    def __init__(self, failures: dict[str, BaseException]) -> None:
        self.failures = dict(failures)
        lines = [f"  {name}: {exc}" for name, exc in sorted(self.failures.items())]
        super().__init__("could not connect to:\n" + "\n".join(lines))


class RunLogError(HilError, ValueError):
    """A run directory or its log is missing, truncated or corrupt; names the file and the place."""


class StorageError(HilError, OSError):
    """A file of a run directory could not be written (the disk is full, an I/O error, no
    permission); names the file. During a run it stops the run safely, like an interlock trip."""
