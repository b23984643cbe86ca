"""The verdict an acceptance.json states, read the one way the CLI, the report and the catalogue use."""

from __future__ import annotations

import pytest

from hil.results.acceptance import stated_verdict


@pytest.mark.parametrize(
    ("document", "verdict"),
    [
        ({"verdict": "FAIL", "passed": True}, "FAIL"),  # the stated verdict wins over old fields
        ({"verdict": "PASSED"}, "INVALID"),  # not a verdict: never read as a pass
        ({"verdict": 1}, "INVALID"),
        ({"error": "no points at the guarantee"}, "NOT JUDGED"),  # files from before the verdict
        ({"passed": True, "guarantees_met": True}, "PASS"),
        ({"passed": False, "guarantees_met": False}, "FAIL"),
        ({"passed": False, "guarantees_met": True}, "INVALID"),  # met, but a test condition violated
    ],
)
def test_the_stated_verdict(document: dict[str, object], verdict: str) -> None:
    assert stated_verdict(document) == verdict
