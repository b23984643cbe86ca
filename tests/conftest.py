"""Project-wide pytest options."""

import pytest

from tests import fuzzing


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--fuzz-scale", type=int, default=1,
                     help="multiply the number of cases every protocol-parser fuzz test draws (long run on demand)")


def pytest_configure(config: pytest.Config) -> None:
    fuzzing.scale = max(1, int(config.getoption("--fuzz-scale")))
