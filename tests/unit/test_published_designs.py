"""Published electric-pump-fed designs reproduced component by component.

Two designs by different authors. First, Kwak, Kwon and Choi, "Performance assessment of
electrically driven pump-fed LOX/kerosene cycle rocket engine: Comparison with gas generator
cycle", Aerospace Science and Technology 77 (2018) 67-82: the electric-pump cycle at 100 kN and
10 MPa, burn times 300 s and 1200 s. The example mission files under ``examples/`` carry the papers'
inputs; the published breakdowns (kg) are below.

Where a component differs by more than rounding, the convention that explains it is named:

* tanks (LOX + fuel + helium bottle): ``tanks.shape = "sphere"`` with ``head_convention =
  "tank_height"``: this model sizes spheres and adds the liquid column of the full tank height under
  the maximum acceleration; the paper's tanks carry a shorter liquid column (their stated liquid
  heights are below the sphere diameters), so ours are heavier, more so for the larger (1200 s) tanks.
* battery and feed system at 300 s: the paper cools the battery with fuel and adds that coolant flow
  (and the motor's losses) to the pumps' flow, iterated; this model carries no coolant flow, so its
  pumps, motor, inverter and battery are a few per cent lighter where the battery's heat is largest
  relative to its energy (the short burn).

Second, Lee, Roh, Huh and Lee, "Performance analysis and mass estimation of a small-sized liquid
rocket engine with electric-pump cycle", International Journal of Aeronautical and Space Sciences 22
(2021): a 500 N LOX/kerosene kick-stage engine at 2 MPa burning 600 s
(``examples/lee_2021_electric_pump_500n.toml``). Published (kg): propellant 97.7883, tanks 0.5977,
power (battery, motor, inverter, pumps) 2.5853; its feed lines and thrust chamber have no counterpart
here and it carries no pressurant. Compared twice: like for like, with the Isp the paper's propellant
implies (344.1 s, given as ``isp_s``), and as shipped, with the model's own CEA Isp. The conventions:

* propellant: Isp. Given 344.1 s, equal by construction; CEA's ideal shifting-equilibrium value at
  the paper's 1028 Pa exit pressure (361 s, the convention that reproduces Kwak's 370 s) makes it
  5 % lighter.
* tanks: thin-wall spheres at the paper's tank pressures, Al 6061-T6, structural factor 1: the same
  formula, within 1 % like for like.
* power: the pump-mass convention. By specific power (Kwak's 15 and 20 kW/kg) these 160 W and
  260 W pumps weigh 24 g together and the group is 0.63 of the paper's; by the torque correlation
  ``m = A tau^B`` (Humble, Henry and Larson 1995, at the heavy end of its range, A = 2.6, B = 0.6) it
  is 0.89; with the paper's own small-pump mass (0.4703 kg a pump, coefficients not in the sources at
  hand) in place of ours it agrees within 2 %. Motor on its output power and battery from the larger
  of its power and energy masses are the paper's conventions too.
"""

from __future__ import annotations

import dataclasses
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
        at_300_s, at_1200_s, tolerance, convention = values
        published = (at_300_s, at_1200_s)[column]
        ratio = computed[component] / published
        assert abs(ratio - 1.0) <= tolerance, (component, computed[component], published, ratio, convention)
    # The burn time the paper states follows from the total impulse and Isp.
    assert float(result.evaluation.masses.burn_time_s[0]) == pytest.approx(burn_time_s, rel=0.005)


# Lee et al. (2021), published kg.
LEE_PROPELLANT_KG = 97.7883
LEE_TANKS_KG = 0.5977
LEE_POWER_KG = 2.5853  # battery, motor, inverter and both pumps
LEE_PUMP_CORRELATION_KG = 0.4703  # the paper's empirical mass of one small pump
LEE_IMPLIED_ISP_S = 500.0 * 600.0 / (9.80665 * LEE_PROPELLANT_KG / 1.1)  # 344.1 s


def _lee(isp_s: float | None = None, pump_mass_model: str | None = None) -> dict[str, float]:
    """The Lee example's masses: as the file has it, or with a given Isp / another pump-mass convention."""
    inputs = load_mission(EXAMPLES / "lee_2021_electric_pump_500n.toml")
    if isp_s is not None:  # what `isp_s = ...` in place of [engine.cea] gives
        inputs = dataclasses.replace(
            inputs, engine=dataclasses.replace(inputs.engine, performance=None, isp_s=isp_s)
        )
    if pump_mass_model is not None:
        inputs = dataclasses.replace(
            inputs, electric=dataclasses.replace(inputs.electric, pump_mass_model=pump_mass_model)
        )
    result = optimise_electric(inputs, PumpModel.default())
    assert [b.kind for b in result.binding].count("fixed") == 6
    # The uncalibrated default pump curves put this 0.15 kg/s pump below their flow envelope at the
    # paper's 57,940 rpm; the paper's stated efficiencies set the powers.
    assert not result.feasible and "flow coefficient" in result.evaluation.worst_constraint()[0]
    b = result.evaluation.masses.breakdown()
    return {
        "isp_s": float(result.evaluation.isp_s[0]),
        "propellant": b["usable_propellant_kg"] + b["residual_and_reserve_kg"],
        "tanks": b["fuel_tank_kg"] + b["oxidiser_tank_kg"],
        "pumps": b["pumps_kg"],
        "power": b["battery_kg"] + b["motors_kg"] + b["inverters_kg"] + b["pumps_kg"],
        "pressurant": b["pressurant_gas_kg"] + b["pressurant_tank_kg"],
    }


def test_lee_2021_with_its_own_isp_is_reproduced_component_by_component() -> None:
    """Like for like: the Isp the paper's propellant implies, given as ``isp_s``."""
    ours = _lee(isp_s=LEE_IMPLIED_ISP_S)
    assert LEE_IMPLIED_ISP_S == pytest.approx(344.1, abs=0.1)
    # Propellant: equal by construction (the Isp is derived from it); what it checks is the margin
    # convention (the paper's propellant margin factor 1.1 as a 10 % reserve) and the total impulse.
    assert ours["propellant"] / LEE_PROPELLANT_KG == pytest.approx(1.0, abs=0.001)
    # Tanks: the same thin-wall spheres (Al 6061-T6, structural factor 1, ullage factor 1.2) at the
    # paper's 3.1 and 3.79 bar: within 1 %.
    assert ours["tanks"] / LEE_TANKS_KG == pytest.approx(1.0, abs=0.01)
    # Power group, pump-mass convention "torque" (m = 2.6 tau^0.6, the heavy end of Humble et al.'s
    # range): 0.89 of the published mass. The remaining difference is the pumps' alone: the paper's
    # small-pump correlation gives 0.4703 kg a pump, Humble's turbopump correlation 0.30 and 0.40 kg.
    assert ours["power"] / LEE_POWER_KG == pytest.approx(0.893, abs=0.01)
    assert abs(ours["power"] / LEE_POWER_KG - 1.0) <= 0.12
    rest = ours["power"] - ours["pumps"]  # battery, motor, inverter: the paper's conventions
    assert (rest + 2 * LEE_PUMP_CORRELATION_KG) / LEE_POWER_KG == pytest.approx(1.0, abs=0.02)
    # Pressurant: the paper carries none; this model adds a helium bottle, not compared.
    assert ours["pressurant"] > 0.0


def test_lee_2021_with_cea_isp_names_the_conventions_of_every_difference() -> None:
    """The example as shipped: the model's own CEA Isp, the torque pump-mass convention."""
    ours = _lee()
    # Propellant: Isp convention (CEA ideal shifting equilibrium at the paper's exit pressure, 361 s,
    # against the 344 s the paper's propellant implies): 5 % lighter, exactly by the Isp ratio.
    assert ours["isp_s"] == pytest.approx(361.2, abs=0.5)
    assert ours["propellant"] / LEE_PROPELLANT_KG == pytest.approx(
        LEE_IMPLIED_ISP_S / ours["isp_s"], rel=0.002
    )
    assert abs(ours["propellant"] / LEE_PROPELLANT_KG - 1.0) <= 0.05
    # Tanks: per kilogram of propellant within 1 %, in total they follow the propellant (6 %).
    per_kg = (ours["tanks"] / ours["propellant"]) / (LEE_TANKS_KG / LEE_PROPELLANT_KG)
    assert per_kg == pytest.approx(1.0, abs=0.01)
    assert abs(ours["tanks"] / LEE_TANKS_KG - 1.0) <= 0.06
    # Power: the pump-mass convention plus the Isp's 5 % on the flows: 0.86.
    assert abs(ours["power"] / LEE_POWER_KG - 1.0) <= 0.15


def test_lee_2021_pump_mass_convention_is_what_separates_the_power_group() -> None:
    """The specific-power convention (Kwak's 15 and 20 kW/kg) gives grams for these pumps."""
    by_power = _lee(isp_s=LEE_IMPLIED_ISP_S, pump_mass_model="specific_power")
    by_torque = _lee(isp_s=LEE_IMPLIED_ISP_S, pump_mass_model="torque")
    assert by_power["pumps"] < 0.05  # 160 W and 260 W at 15 and 20 kW/kg
    assert by_power["power"] / LEE_POWER_KG == pytest.approx(0.63, abs=0.02)
    assert 0.6 < by_torque["pumps"] < 0.8
    # Everything but the pumps is the same in both conventions.
    assert by_power["power"] - by_power["pumps"] == pytest.approx(by_torque["power"] - by_torque["pumps"])
