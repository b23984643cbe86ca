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

from hil.model.sizing.mission import SizingInputs, parse_mission

SAMPLE = Path(str(files("hil") / "data" / "lander_mission.toml"))


def linear_isp_sample() -> SizingInputs:
    data = tomllib.loads(SAMPLE.read_text(encoding="utf-8"))
    del data["engine"]["cea"]
    del data["electric"]["battery_max_c_rate"]
    data["engine"].update(isp_s=318.0, chamber_pressure_pa=1.0e6, isp_per_chamber_pressure_s_per_pa=4.0e-6)
    return parse_mission(data, str(SAMPLE))
