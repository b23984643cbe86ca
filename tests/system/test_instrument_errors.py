"""Errors inside a run name the instrument (its name in the bench file, what it is, its driver and
where it was opened), not only the transport: in the trip reason, the event log and on stderr.

Through the CLI, with the virtual bench's fault injection: an instrument that goes silent.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from hil.cli import EXIT_ABORTED, main
from hil.store.run_directory import read_events, read_metadata

SHORT = [
    "-p",
    "speeds_fraction=0.6",
    "-p",
    "valve_openings=1.0",
    "-p",
    "dwell_s=2",
    "-p",
    "steady_window_s=1",
]


@pytest.mark.parametrize(
    ("fault", "instrument", "label"),
    [
        (
            "silence:power@3",
            "power",
            # the sim bench opens its meter over the line transport ([virtual] scpi_link = "socket")
            r"power meter 'power' \(wt310 at tcp://127\.0\.0\.1:\d+\): no reply within 0\.25 s",
        ),
        (
            "silence:rs485@3",
            "p_inlet",
            r"pressure transducer 'p_inlet' \(keller at unit 1 on bus 'rs485' at tcp://127\.0\.0\.1:\d+\): ",
        ),
    ],
    ids=["power-meter", "rs485-transducer"],
)
def test_a_silent_instrument_is_named_in_the_trip_the_events_and_on_stderr(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], fault: str, instrument: str, label: str
) -> None:
    out = tmp_path / "runs"
    code = main(
        ["run", "performance-curve", "--bench", "sim", "--out", str(out), "--quiet", "--fault", fault, *SHORT]
    )
    captured = capsys.readouterr()
    assert code == EXIT_ABORTED
    (run_dir,) = (m.parent for m in out.glob("*/metadata.json"))
    reason = read_metadata(run_dir)["reason"]
    head = label.split(": ")[0]
    assert re.match(rf"stale data from {head} \(last error: ", reason), reason
    assert re.search(head, captured.out)  # the status line carries the reason
    errors = [
        e["error"]
        for e in read_events(run_dir)
        if e["kind"] == "read_error" and e["instrument"] == instrument
    ]
    assert errors and all(re.fullmatch(label + ".*", e) for e in errors), errors[:2]
    assert re.search(rf"SAFE STATE NOT CONFIRMED: {instrument}: .*{label}", captured.err), captured.err
    assert "Traceback" not in captured.err
