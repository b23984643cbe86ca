"""``hil optimize``: pump requirements and the electric versus pressure-fed mass comparison.

:func:`optimize_command` is what the CLI calls. It reads the mission file and the pump model file
(or takes the uncalibrated default, labelled as such everywhere it appears), optimises the
electric-pump-fed design and the pressure-fed baseline, derives the pump requirements per
propellant, the re-optimised sensitivity of system mass to each requirement, how the calibration's
uncertainty moves the mass, and the mass against peak-power Pareto front, then prints a readable
summary and optionally writes all of it as JSON.

:func:`build_report` returns the same content as a JSON-ready dictionary for scripts and notebooks.

Imports only :mod:`hil.model.sizing`, :mod:`hil.model.pump_model` and :mod:`hil.core.errors` from the project.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from hil.core.errors import ConfigError, HilError
from hil.model.pump_model import PumpModel, load_pump_model
from hil.model.sizing.mission import SizingInputs, input_summary, load_mission
from hil.model.sizing.model import G0, ElectricBatch, PressureFedBatch, PumpBatch
from hil.model.sizing.monte_carlo import monte_carlo
from hil.model.sizing.optimise import (
    OptimisationResult,
    PressureFedResult,
    optimise_electric,
    optimise_pressure_fed,
)
from hil.model.sizing.report_text import format_report
from hil.model.sizing.studies import (
    Sensitivity,
    UncertaintyResult,
    calibration_uncertainty,
    mass_sensitivities,
    pareto_by_power_limit,
)

__all__ = ["build_report", "optimize_command", "pump_requirements"]

REPORT_SCHEMA = "hil.optimize_report"
REPORT_VERSION = 1
_PARETO_LEVELS = 6


def pump_requirements(
    batch: ElectricBatch, pump: PumpBatch, npsh_margin: float, propellant: str, row: int = 0
) -> dict[str, Any]:
    """What the pump must deliver, read off an evaluated design.

    ``max_npsh3_m`` is the requirement (the largest NPSH3 the pump may have at any point of the burn,
    NPSHA / margin); ``predicted_npsh3_m`` is what the pump model predicts at the point where the
    requirement is tightest. ``min_efficiency`` is the lowest efficiency over the burn that the
    sizing assumed: a pump below it makes the system heavier than reported.
    """
    allowable = pump.npsha_m[row] / npsh_margin
    tight = int(np.argmin(allowable / pump.npsh3_m[row]))
    label = "fuel" if pump is batch.fuel else "oxidiser"
    basis = batch.power_basis.get(label, "shaft")
    pump_power = float(np.max(pump.shaft_power_w[row]))
    density = float(pump.mass_flow_kg_s[row, 0] / pump.flow_m3_s[row, 0])
    rise = float(pump.pressure_rise_pa[row, 0])
    return {
        "propellant": propellant,
        "flow_m3_s": float(np.max(pump.flow_m3_s[row])),
        "mass_flow_kg_s": float(np.max(pump.mass_flow_kg_s[row])),
        "pressure_rise_pa": float(np.max(pump.pressure_rise_pa[row])),
        "head_m": rise / (density * G0),
        "max_npsh3_m": float(np.min(allowable)),
        "predicted_npsh3_m": float(pump.npsh3_m[row, tight]),
        "min_npsha_m": float(np.min(pump.npsha_m[row])),
        "min_efficiency": float(np.min(pump.efficiency[row])),
        "design_efficiency": float(pump.efficiency[row, 0]),
        "shaft_power_w": pump_power if basis == "shaft" else None,
        "pump_power_w": pump_power,
        "pump_power_basis": basis,
        "efficiency_basis": "pump only (shaft)" if basis == "shaft" else "wire-to-water (electrical)",
        "electrical_power_w": float(np.max(pump.electrical_power_w[row])),
        "speed_rpm": float(pump.speed_rpm[row, 0]),
        "min_speed_rpm": float(np.min(pump.speed_rpm[row])),
        "impeller_diameter_m": float(pump.diameter_m[row]),
        "tip_speed_m_s": float(pump.tip_speed_m_s[row, 0]),
        "flow_coefficient_range": [float(np.min(pump.phi[row])), float(np.max(pump.phi[row]))],
        "tank_pressure_pa": float(np.min(pump.tank_pressure_pa[row])),
        "points": [
            {
                "point": "design (full thrust)" if j == 0 else f"segment {j}",
                "throttle": float(batch.throttle[j]),
                "flow_m3_s": float(pump.flow_m3_s[row, j]),
                "pressure_rise_pa": float(pump.pressure_rise_pa[row, j]),
                "speed_rpm": float(pump.speed_rpm[row, j]),
                "flow_coefficient": float(pump.phi[row, j]),
                "efficiency": float(pump.efficiency[row, j]),
                "shaft_power_w": float(pump.shaft_power_w[row, j]) if basis == "shaft" else None,
                "electrical_power_w": float(pump.electrical_power_w[row, j]),
                "npsha_m": float(pump.npsha_m[row, j]),
                "npsh3_m": float(pump.npsh3_m[row, j]),
            }
            for j in range(pump.phi.shape[1])
        ],
    }


def _sensitivity_dict(s: Sensitivity) -> dict[str, Any]:
    return {
        "requirement": s.requirement,
        "change": s.change,
        "delta_mass_kg": s.delta_mass_kg if s.feasible else None,
        "feasible": s.feasible,
        "redesigned": None if s.redesigned is None else s.redesigned.__dict__,
    }


def _uncertainty_dict(u: UncertaintyResult, base_mass: float) -> dict[str, Any]:
    return {
        "note": u.note,
        "mass_std_kg": u.mass_std_kg,
        "mass_std_by_curve_kg": u.mass_std_by_curve_kg,
        "k_sigma": u.k_sigma,
        "min_npsha_over_npsh3_at_design_pessimistic": u.min_npsh_ratio_pessimistic,
        "pessimistic_redesign_mass_kg": u.pessimistic_mass_kg,
        "pessimistic_redesign_delta_kg": None
        if u.pessimistic_mass_kg is None
        else u.pessimistic_mass_kg - base_mass,
        "optimistic_redesign_mass_kg": u.optimistic_mass_kg,
        "optimistic_redesign_delta_kg": None
        if u.optimistic_mass_kg is None
        else u.optimistic_mass_kg - base_mass,
    }


def build_report(
    inputs: SizingInputs,
    pump_model: PumpModel,
    pump_model_source: str,
    *,
    extrapolate: bool = False,
    monte_carlo_samples: int = 0,
    seed: int = 0,
) -> dict[str, Any]:
    """Optimise both feed options and gather everything ``hil optimize`` reports (JSON-ready).

    ``monte_carlo_samples`` > 0 adds the Monte Carlo distribution at the optimum (seeded by ``seed``).
    """
    electric = optimise_electric(inputs, pump_model, extrapolate=extrapolate)
    baseline = optimise_pressure_fed(inputs)
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_VERSION,
        "mission": {"name": inputs.mission.name, "file": inputs.source},
        "pump_model": {
            "source": pump_model_source,
            "calibrated": pump_model.calibrated,
            "power_basis": pump_model.power_basis_label,
            "description": pump_model.description,
            "source_runs": list(pump_model.source_runs),
            "fluid": pump_model.fluid,
            "envelope": pump_model.envelope.to_dict(),
        },
        "extrapolate": extrapolate,
        "feasible": electric.feasible,
        "inputs": input_summary(inputs),
    }
    report["pressure_fed"] = _pressure_fed_dict(baseline)
    if not electric.feasible:
        name, value = electric.evaluation.worst_constraint()
        report["electric_pump_fed"] = None
        report["infeasible_reason"] = f"{name} (constraint value {value:.3g})"
        report["warnings"] = electric.warnings
        report["envelope_warnings"] = [e.to_dict() for e in electric.envelope_excursions]
        return report

    report["electric_pump_fed"] = _electric_dict(electric, inputs.engine.isp_source)
    batch = electric.evaluation
    margin = inputs.margins.npsh_margin
    report["pump_requirements"] = {
        "fuel": pump_requirements(batch, batch.fuel, margin, inputs.propellants.fuel.name),
        "oxidiser": pump_requirements(batch, batch.oxidiser, margin, inputs.propellants.oxidiser.name),
    }
    report["mass_breakdown"] = {
        "electric_pump_fed": batch.masses.breakdown(),
        "pressure_fed": baseline.evaluation.masses.breakdown() if baseline.feasible else None,
    }
    if baseline.feasible:
        saving = baseline.total_mass_kg - electric.total_mass_kg
        report["electric_saving_kg"] = saving
        report["lighter_option"] = "electric_pump_fed" if saving > 0 else "pressure_fed"
    else:  # only the electric option closes: there is no saving to state
        report["electric_saving_kg"] = None
        report["lighter_option"] = "electric_pump_fed"
    report["sensitivity"] = [
        _sensitivity_dict(s)
        for s in mass_sensitivities(inputs, pump_model, electric, extrapolate=extrapolate)
    ]
    report["uncertainty"] = _uncertainty_dict(
        calibration_uncertainty(inputs, pump_model, electric, extrapolate=extrapolate), electric.total_mass_kg
    )
    front = pareto_by_power_limit(
        inputs, pump_model, _PARETO_LEVELS, extrapolate=extrapolate, unconstrained=electric
    )
    report["pareto_front"] = [
        {
            "peak_electrical_power_w": r.peak_electrical_power_w,
            "total_mass_kg": r.total_mass_kg,
            "design": r.design.__dict__,
        }
        for r in front
    ]
    report["warnings"] = electric.warnings
    report["envelope_warnings"] = [e.to_dict() for e in electric.envelope_excursions]
    if monte_carlo_samples > 0:
        report["monte_carlo"] = monte_carlo(
            inputs, pump_model, electric.design, samples=monte_carlo_samples, seed=seed, extrapolate=True
        ).summary()
    return report


def _electric_dict(result: OptimisationResult, isp_source: str) -> dict[str, Any]:
    batch = result.evaluation
    return {
        "design": result.design.__dict__,
        "isp_s": float(batch.isp_s[0]),
        "burn_time_s": float(batch.masses.burn_time_s[0]),
        "total_mass_kg": result.total_mass_kg,
        "peak_electrical_power_w": result.peak_electrical_power_w,
        "electrical_energy_j": float(batch.electrical_energy_j[0]),
        "battery_sized_by": _battery_sized_by(batch),
        "fuel_tank_volume_m3": float(batch.masses.fuel_tank_volume_m3[0]),
        "oxidiser_tank_volume_m3": float(batch.masses.oxidiser_tank_volume_m3[0]),
        "pressurant_bottle_volume_m3": float(batch.masses.pressurant_bottle_volume_m3[0]),
        "optimiser_message": result.message,
        "evaluations": result.evaluations,
        "active_constraint": batch.worst_constraint()[0],
        "mixture_ratio": float(batch.mixture_ratio[0]),
        "isp_source": isp_source,
        "binding": [
            {
                "kind": b.kind,
                "name": b.name,
                "text": b.text,
                "mass_change_kg_if_relaxed_1_percent": b.mass_change_kg,
            }
            for b in result.binding
        ],
        "tanks_at_minimum_gauge": _minimum_gauge(batch),
        "battery_discharge_rate_c": float(
            result.peak_electrical_power_w / max(float(_first(batch.masses.battery_capacity_wh)), 1e-12)
        ),
    }


def _battery_sized_by(batch: ElectricBatch) -> str:
    m = batch.masses
    if m.battery_rate_limited is not None and bool(m.battery_rate_limited[0]):
        return "its rated discharge rate (battery_max_c_rate)"
    return "energy" if bool(m.battery_energy_limited[0]) else "power"


def _first(values: Any) -> float:
    return float(np.asarray(values).reshape(-1)[0]) if values is not None else 0.0


def _minimum_gauge(batch: ElectricBatch | PressureFedBatch) -> list[str]:
    """Tanks whose wall sits at the minimum gauge: their pressure saves nothing there."""
    m = batch.masses
    flags = (
        ("fuel tank", m.fuel_tank_at_min_gauge),
        ("oxidiser tank", m.oxidiser_tank_at_min_gauge),
        ("pressurant bottle", m.pressurant_tank_at_min_gauge),
    )
    return [name for name, flag in flags if flag is not None and bool(np.asarray(flag).reshape(-1)[0])]


def _pressure_fed_dict(result: PressureFedResult) -> dict[str, Any]:
    batch = result.evaluation
    if not result.feasible:
        name, value = batch.worst_constraint()
        return {
            "feasible": False,
            "infeasible_reason": f"{name} (constraint value {value:.3g})",
            "chamber_pressure_pa": None,
            "total_mass_kg": None,
            "tanks_at_minimum_gauge": [],
        }
    return {
        "feasible": result.feasible,
        "chamber_pressure_pa": result.chamber_pressure_pa,
        "isp_s": float(batch.isp_s[0]),
        "mixture_ratio": float(batch.mixture_ratio[0]),
        "fuel_tank_pressure_pa": float(batch.fuel_tank_pressure_pa[0]),
        "oxidiser_tank_pressure_pa": float(batch.oxidiser_tank_pressure_pa[0]),
        "burn_time_s": float(batch.masses.burn_time_s[0]),
        "total_mass_kg": result.total_mass_kg,
        "pressurant_bottle_volume_m3": float(batch.masses.pressurant_bottle_volume_m3[0]),
        "tanks_at_minimum_gauge": _minimum_gauge(batch),
    }


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, (np.floating, float)):
        value = float(obj)
        return value if math.isfinite(value) else None
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return obj


def optimize_command(
    mission_path: Path,
    pump_model_path: Path | None,
    json_path: Path | None,
    extrapolate: bool,
    out: TextIO,
    monte_carlo_samples: int = 0,
    seed: int = 0,
) -> int:
    """Run ``hil optimize``: print the summary to ``out``, write JSON if asked; 0 ok, 1 no design.

    Configuration problems (mission or pump model file) raise :class:`ConfigError` for the CLI to
    print; other project errors are reported on ``out`` and give exit status 1.
    """
    inputs = load_mission(mission_path)
    if pump_model_path is None:
        model = PumpModel.default()
        source = "built-in default (uncalibrated)"
    else:
        model = load_pump_model(pump_model_path)
        source = str(pump_model_path)
    try:
        report = build_report(
            inputs, model, source, extrapolate=extrapolate, monte_carlo_samples=monte_carlo_samples, seed=seed
        )
    except ConfigError:
        raise
    except HilError as exc:
        out.write(f"hil optimize: {exc}\n")
        return 1
    out.write(format_report(report))
    if json_path is not None:
        try:
            Path(json_path).write_text(json.dumps(_json_safe(report), indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            raise ConfigError(
                str(json_path), "", f"cannot write the JSON report: {exc.strerror or exc}"
            ) from exc
        out.write(f"\nJSON written to {json_path}\n")
    return 0 if report["electric_pump_fed"] is not None else 1
