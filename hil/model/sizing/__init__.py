"""Propulsion-system sizing model for the lander stage and its optimiser (``hil optimize``).

The bench measures what a pump does; this package turns those curves into what the lander needs:
pump requirements per propellant and the mass of an electric-pump-fed feed system against a
pressure-fed baseline.

Modules: :mod:`~hil.model.sizing.components` (one physical relation per function),
:mod:`~hil.model.sizing.inputs` (inputs with documented defaults), :mod:`~hil.model.sizing.mission`
(the mission TOML file), :mod:`~hil.model.sizing.pump_curves` (the scaled pump),
:mod:`~hil.model.sizing.mass_budget` (tanks, pressurant, battery, propellant),
:mod:`~hil.model.sizing.batches` (result containers), :mod:`~hil.model.sizing.model` (the vectorised
system model), :mod:`~hil.model.sizing.envelope` (each pump's duty against the calibrated
envelope), :mod:`~hil.model.sizing.optimise` (scipy optimisation, sweep, Pareto filter, what is
active at the optimum) over :mod:`~hil.model.sizing.design_problem` (the problem as SLSQP
searches it), :mod:`~hil.model.sizing.studies` (Pareto by power limit, sensitivities,
linearised uncertainty), :mod:`~hil.model.sizing.monte_carlo` (the Monte Carlo),
:mod:`~hil.model.sizing.command` and :mod:`~hil.model.sizing.report_text` (the CLI entry point and
its printout). Isp from thermochemistry comes from :mod:`hil.model.thermochemistry`.

Knows nothing of instruments: must not import drivers, simulators, procedures or the runner. It
consumes the pump model file (:mod:`hil.model.pump_model`) that calibration writes.
"""

from hil.model.sizing.mission import SizingInputs, load_mission, parse_mission
from hil.model.sizing.model import (
    CurveAdjustment,
    DesignPoint,
    evaluate_electric,
    evaluate_pressure_fed,
    size_electric_pump_fed,
    size_pressure_fed,
)
from hil.model.sizing.optimise import optimise_electric, optimise_pressure_fed, sweep_electric

__all__ = [
    "CurveAdjustment",
    "DesignPoint",
    "SizingInputs",
    "evaluate_electric",
    "evaluate_pressure_fed",
    "load_mission",
    "optimise_electric",
    "optimise_pressure_fed",
    "parse_mission",
    "size_electric_pump_fed",
    "size_pressure_fed",
    "sweep_electric",
]
