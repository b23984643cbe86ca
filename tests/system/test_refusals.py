"""Values no procedure may run with are refused before anything is connected: through the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.cli import EXIT_USAGE, main


@pytest.mark.parametrize(
    ("parameter", "value"),
    [
        ("dwell_s", "nan"),
        ("dwell_s", "inf"),
        ("dwell_s", "-inf"),
        ("speeds_fraction", "0.5,nan"),
        ("valve_openings", "inf"),
    ],
)
def test_a_parameter_that_is_not_a_finite_number_is_refused_before_anything_connects(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], parameter: str, value: str
) -> None:
    code = main(
        ["run", "performance-curve", "--bench", "sim", "--out", str(tmp_path), "-p", f"{parameter}={value}"]
    )
    assert code == EXIT_USAGE
    assert f"-p {parameter}: must be a finite number" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # no run directory: nothing was started
