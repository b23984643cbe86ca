"""The sample lander mission as it was before thermochemistry, for tests of the model's mechanics.

The shipped sample (``hil/data/lander_mission.toml``) takes its Isp from CEA and rates its battery at
10 C. Tests that check hand calculations, or optimiser behaviour in the regime the old sample put it
in (chamber pressure pushed to its upper bound by an Isp rising 4 s per MPa, pump inlet pressure the
binding NPSH lever), use this variant: the same file with the user-estimate Isp law (318 s at 1 MPa,
+4 s per MPa) and no battery rate rating.
"""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

import tomlkit

from hil.model.sizing.mission import SizingInputs, parse_mission

SAMPLE = Path(str(files("hil") / "data" / "lander_mission.toml"))


def linear_isp_sample_text() -> str:
    """The variant as mission-file text (for the command line)."""
    document = tomlkit.parse(SAMPLE.read_text(encoding="utf-8"))
    engine = document["engine"]
    del engine["cea"]  # type: ignore[union-attr]
    engine["isp_s"] = 318.0  # type: ignore[index]
    engine["chamber_pressure_pa"] = 1.0e6  # type: ignore[index]
    engine["isp_per_chamber_pressure_s_per_pa"] = 4.0e-6  # type: ignore[index]
    del document["electric"]["battery_max_c_rate"]  # type: ignore[union-attr]
    return tomlkit.dumps(document)


def linear_isp_sample() -> SizingInputs:
    return parse_mission(tomllib.loads(linear_isp_sample_text()), str(SAMPLE))


def write_linear_isp_sample(directory: Path) -> Path:
    """Write the variant to ``directory`` and return its path."""
    path = directory / "lander_mission_linear_isp.toml"
    path.write_text(linear_isp_sample_text(), encoding="utf-8")
    return path
