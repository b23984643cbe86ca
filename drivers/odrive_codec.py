"""ODrive ASCII protocol: lines out, lines back, with the optional checksum.

Wire format (shared/reference/protocols.md, ODrive; ODrive's "ASCII protocol" documentation):

* one command per line, terminated by ``\\n``; the device does not echo;
* an optional checksum suffix `` *NN``: the XOR of every byte before the ``*``, written in decimal
  (``r vbus_voltage *93``); the reply carries one only if the request did, computed the same way
  over the reply's text;
* ``r <property>`` answers the value as text, ``f <axis>`` answers ``<pos> <vel>`` (turns, turns/s);
  ``w``, ``v``, ``c``, ``u`` and ``sc`` answer nothing.
* An unknown property is answered ``invalid property``, a malformed command ``invalid command format``
  and an unknown one ``unknown command`` (the texts **unverified** beyond the first: a driver treats
  any reply that is not a number where one is expected as a device error).

This module is the codec only: :func:`encode_command` and :func:`decode_reply` round-trip a line and
reject anything corrupt (non-ASCII, a line break inside, a checksum that does not match, a missing
checksum where one was asked for) with :class:`~hil.core.errors.ProtocolError`.

Imports :mod:`hil.core.errors` only from the project.
"""

from __future__ import annotations

import re
from functools import reduce

from hil.core.errors import ProtocolError

_CHECKSUM = re.compile(r"^(.*) \*(\d{1,3})$", re.DOTALL)
DEVICE_REPLIES = ("invalid property", "invalid command format", "unknown command")
"""Replies by which the firmware refuses a command."""


def checksum(text: str) -> int:
    """XOR of the ASCII bytes of ``text``."""
    return reduce(lambda acc, byte: acc ^ byte, text.encode("ascii"), 0)


def encode_command(command: str, with_checksum: bool = False) -> bytes:
    """The bytes of one command line, with `` *NN`` appended when ``with_checksum``."""
    if not command or not command.isascii() or any(ch in command for ch in "\r\n*"):
        raise ProtocolError(f"ODrive command must be one line of ASCII without '*', got {command!r}")
    if with_checksum:
        command = f"{command} *{checksum(command)}"
    return (command + "\n").encode("ascii")


def decode_reply(line: bytes, with_checksum: bool = False) -> str:
    """The text of one reply line (terminator stripped), its checksum checked and removed."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"ODrive reply is not ASCII: {line!r}") from exc
    text = text.removesuffix("\n").removesuffix("\r")
    if "\n" in text or "\r" in text:
        raise ProtocolError(f"ODrive reply holds more than one line: {line!r}")
    match = _CHECKSUM.match(text)
    if with_checksum:
        if match is None:
            raise ProtocolError(f"ODrive reply lacks the checksum the request asked for: {line!r}")
        body, given = match.group(1), int(match.group(2))
        if given != checksum(body):
            raise ProtocolError(f"ODrive reply checksum {given} does not match {checksum(body)}: {line!r}")
        return body
    if match is not None:
        raise ProtocolError(f"ODrive reply carries a checksum the request did not ask for: {line!r}")
    return text


def parse_float(command: str, reply: str) -> float:
    """A numeric reply; a refusal or anything else is a ProtocolError naming the command."""
    try:
        return float(reply)
    except ValueError:
        raise ProtocolError(f"ODrive reply to {command!r} is not a number: {reply!r}") from None


def parse_feedback(command: str, reply: str) -> tuple[float, float]:
    """The ``<pos> <vel>`` reply to ``f <axis>``."""
    fields = reply.split()
    if len(fields) != 2:
        raise ProtocolError(f"ODrive reply to {command!r} is not '<pos> <vel>': {reply!r}")
    return parse_float(command, fields[0]), parse_float(command, fields[1])
