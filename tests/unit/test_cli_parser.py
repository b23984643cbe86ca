"""The ``hil`` parser built for one subcommand parses as the whole one does.

:func:`hil.cli.build_parser` given a subcommand's name builds only the subcommands of the module that
adds it (:data:`hil.cli._GROUPS` says which); these tests check that table against the parsers the
modules really make, and that the part parses every command line below into the same arguments and
shows the same usage as the whole.
"""

from __future__ import annotations

import argparse

import pytest

from hil.cli import _COMMANDS, _GROUPS, build_parser

COMMAND_LINES = [
    ["sim", "serve", "--bench", "sim", "--clock", "lockstep"],
    ["bench", "check", "--bench", "sim"],
    ["bench", "read", "--bench", "sim", "--interval", "0.5"],
    ["procedures"],
    ["run", "performance-curve", "--bench", "sim", "-p", "dwell_s=3", "-p", "valve_openings=0.5"],
    ["console", "runs/x"],
    ["replay", "runs/x", "--grade", "1B", "--steady", "flow_m3_s=0.03,0.01"],
    ["report", "runs/x", "--out", "page.html"],
    ["calibrate", "runs/a", "runs/b", "--out", "model.json"],
    ["optimize", "--mission", "mission.toml", "--seed", "3"],
    ["runs", "list", "runs"],
    ["campaign", "campaign.toml"],
]


@pytest.mark.parametrize("add_commands, names", _GROUPS, ids=[names[0] for _, names in _GROUPS])
def test_each_module_adds_the_subcommands_the_table_names(add_commands, names) -> None:  # type: ignore[no-untyped-def]
    sub = argparse.ArgumentParser(prog="hil").add_subparsers(dest="command")
    add_commands(sub)
    assert tuple(sub.choices) == names


def _subcommands(parser: argparse.ArgumentParser) -> list[str]:
    (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return list(action.choices)


def test_the_whole_parser_lists_every_subcommand_in_the_table_order() -> None:
    assert "{" + ",".join(_subcommands(build_parser())) + "}" == _COMMANDS


def test_every_command_line_is_covered() -> None:
    assert {line[0] for line in COMMAND_LINES} == {name for _, names in _GROUPS for name in names}


@pytest.mark.parametrize("argv", COMMAND_LINES, ids=[" ".join(line[:2]) for line in COMMAND_LINES])
def test_the_part_parses_as_the_whole(argv: list[str]) -> None:
    whole, part = build_parser(), build_parser(argv[0])
    assert argv[0] in _subcommands(part) and len(_subcommands(part)) <= 2
    assert vars(part.parse_args(argv)) == vars(whole.parse_args(argv))
    assert part.format_usage() == whole.format_usage()
