"""Published electric-pump-fed designs reproduced component by component.

Kwak, Kwon and Choi, "Performance assessment of electrically driven pump-fed LOX/kerosene cycle
rocket engine: Comparison with gas generator cycle", Aerospace Science and Technology 77 (2018)
67-82: the electric-pump cycle at 100 kN and 10 MPa, burn times 300 s and 1200 s. The example mission
files under ``examples/`` carry the paper's inputs; the published breakdowns (kg) are below.

Where a component differs by more than rounding, the convention that explains it is named:

* tanks (LOX + fuel + helium bottle): ``tanks.shape = "sphere"`` with ``head_convention =
  "tank_height"``: this model sizes spheres and adds the liquid column of the full tank height under
  the maximum acceleration; the paper's tanks carry a shorter liquid column (their stated liquid
  heights are below the sphere diameters), so ours are heavier, more so for the larger (1200 s) tanks.
* battery and feed system at 300 s: the paper cools the battery with fuel and adds that coolant flow
  (and the motor's losses) to the pumps' flow, iterated; this model carries no coolant flow, so its
  pumps, motor, inverter and battery are a few per cent lighter where the battery's heat is largest
  relative to its energy (the short burn).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from hil.model.pump_model import PumpModel
from hil.model.sizing.mission import load_mission
from hil.model.sizing.optimise import optimise_electric

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"

# component: (published kg at 300 s, at 1200 s, tolerance as a ratio band, the convention if any)
PUBLISHED = {
    "chamber propellant": (8350.0, 33402.0, 0.005, None),
    "battery": (415.0, 1373.0, 0.06, "no battery coolant flow"),
    "feed system (pumps, motor, inverter)": (151.0, 143.0, 0.06, "no battery coolant flow"),
    "tanks (LOX, fuel, helium bottle)": (207.0, 878.0, 0.10, "sphere, full-height liquid column"),
    "helium": (33.0, 134.0, 0.02, None),
    "total": (9156.0, 35930.0, 0.01, None),
}


def ours(breakdown: dict[str, float]) -> dict[str, float]:
    return {
        "chamber propellant": breakdown["usable_propellant_kg"] + breakdown["residual_and_reserve_kg"],
        "battery": breakdown["battery_kg"],
        "feed system (pumps, motor, inverter)": breakdown["pumps_kg"]
        + breakdown["motors_kg"]
        + breakdown["inverters_kg"],
        "tanks (LOX, fuel, helium bottle)": breakdown["fuel_tank_kg"]
        + breakdown["oxidiser_tank_kg"]
        + breakdown["pressurant_tank_kg"],
        "helium": breakdown["pressurant_gas_kg"],
        "total": breakdown["total_kg"],
    }


@pytest.mark.parametrize(("burn_time_s", "column"), [(300, 0), (1200, 1)])
def test_kwak_2018_electric_pump_cycle_is_reproduced_component_by_component(
    burn_time_s: int, column: int
) -> None:
    inputs = load_mission(EXAMPLES / f"kwak_2018_electric_pump_{burn_time_s}s.toml")
    # Every design variable is fixed by the paper (min = max in the file): the optimiser has only to
    # evaluate it.
    result = optimise_electric(inputs, PumpModel.default())
    assert [b.kind for b in result.binding].count("fixed") == 6
    assert float(result.evaluation.isp_s[0]) == pytest.approx(370.0, rel=0.005)  # the paper's Isp
    # The paper makes no NPSH check; this model does, and says its pumps (uncalibrated default curves,
    # no inducer) would cavitate at the paper's 2.5 and 4 bar tanks.
    assert not result.feasible and "NPSHA" in result.evaluation.worst_constraint()[0]
    computed = ours(result.evaluation.masses.breakdown())
    for component, values in PUBLISHED.items():
        published, tolerance, convention = values[column], values[2], values[3]
        ratio = computed[component] / published
        assert abs(ratio - 1.0) <= tolerance, (component, computed[component], published, ratio, convention)
    # The burn time the paper states follows from the total impulse and Isp.
    assert float(result.evaluation.masses.burn_time_s[0]) == pytest.approx(burn_time_s, rel=0.005)
