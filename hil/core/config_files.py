"""Reading declarative files: bytes to text (UTF-8 only) to data (TOML or JSON), every failure a
:class:`~hil.core.errors.ConfigError` naming the file.

A file that is missing or unreadable, bytes that are not UTF-8, a syntax error, an integer beyond
Python's digit limit, nesting deep enough to exhaust the parser, and JSON's ``NaN`` / ``Infinity``
literals are all refused here, before any field is looked at; :class:`hil.core.config.Section` then
checks the fields.

TOML is parsed by ``tomli``: the project the standard library's ``tomllib`` was taken from, same
grammar and errors, whose wheels are compiled (mypyc). It parses the shipped bench, mission and
pump files 2.0-2.5x faster than ``tomllib`` (0.22-0.29 s against 0.45-0.73 s for 50 reads of all
of them, alternated, loaded 2-core machine); every command reads its files through here, and the
config fuzz (``tests/unit/test_config_fuzz.py``) reads tens of thousands. It refuses nesting deeper
than 400 levels with a ``RecursionError`` of its own, which ends here as the same ConfigError.

Imports only :mod:`hil.core.errors` from the project.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import tomli

from hil.core.errors import ConfigError

__all__ = [
    "load_json",
    "load_toml",
    "load_toml_document",
    "parse_json_text",
    "parse_toml_text",
    "read_config_text",
]


def read_config_text(path: Path) -> str:
    """The text of a declarative file; a missing, unreadable or non-UTF-8 file is a ConfigError."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise ConfigError(str(path), "", "file not found") from exc
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror or exc}") from exc
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            str(path), "", f"expected UTF-8 text, got byte 0x{raw[exc.start]:02x} at offset {exc.start}"
        ) from exc


def parse_toml_text(text: str, source: str) -> dict[str, Any]:
    """Parse TOML text; syntax errors, absurd integers and runaway nesting become ConfigError."""
    try:
        return tomli.loads(text)
    except tomli.TOMLDecodeError as exc:
        raise ConfigError(source, "", f"not valid TOML: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(source, "", "not valid TOML: nested too deeply to read") from exc
    except ValueError as exc:  # e.g. an integer beyond Python's digit limit
        raise ConfigError(source, "", f"not valid TOML: {exc}") from exc


def load_toml(path: Path) -> dict[str, Any]:
    """Read and parse a TOML file, turning every I/O, encoding and syntax problem into ConfigError."""
    return parse_toml_text(read_config_text(path), str(path))


def load_toml_document(path: Path) -> tuple[dict[str, Any], str]:
    """The parsed TOML file and its text (kept verbatim in run metadata), read once."""
    text = read_config_text(path)
    return parse_toml_text(text, str(path)), text


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a finite number")


def parse_json_text(text: str, source: str) -> Any:
    """Parse JSON text; NaN and Infinity literals, absurd integers and runaway nesting are refused."""
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except json.JSONDecodeError as exc:
        raise ConfigError(source, "", f"not valid JSON: {exc}") from exc
    except RecursionError as exc:
        raise ConfigError(source, "", "not valid JSON: nested too deeply to read") from exc
    except ValueError as exc:
        raise ConfigError(source, "", f"not valid JSON: {exc}") from exc


def load_json(path: Path) -> Any:
    """Read and parse a JSON file, turning every I/O, encoding and syntax problem into ConfigError."""
    return parse_json_text(read_config_text(path), str(path))
