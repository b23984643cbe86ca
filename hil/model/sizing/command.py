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
from hil.model.sizing.model import G0, ElectricBatch, PumpBatch
from hil.model.sizing.optimise import (
    OptimisationResult,
    PressureFedResult,
    optimise_electric,
    optimise_pressure_fed,
)
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
        "shaft_power_w": float(np.max(pump.shaft_power_w[row])),
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
                "shaft_power_w": float(pump.shaft_power_w[row, j]),
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
) -> dict[str, Any]:
    """Optimise both feed options and gather everything ``hil optimize`` reports (JSON-ready)."""
    electric = optimise_electric(inputs, pump_model, extrapolate=extrapolate)
    baseline = optimise_pressure_fed(inputs)
    report: dict[str, Any] = {
        "schema": REPORT_SCHEMA,
        "schema_version": REPORT_VERSION,
        "mission": {"name": inputs.mission.name, "file": inputs.source},
        "pump_model": {
            "source": pump_model_source,
            "calibrated": pump_model.calibrated,
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
        return report

    report["electric_pump_fed"] = _electric_dict(electric)
    batch = electric.evaluation
    margin = inputs.margins.npsh_margin
    report["pump_requirements"] = {
        "fuel": pump_requirements(batch, batch.fuel, margin, inputs.propellants.fuel.name),
        "oxidiser": pump_requirements(batch, batch.oxidiser, margin, inputs.propellants.oxidiser.name),
    }
    report["mass_breakdown"] = {
        "electric_pump_fed": batch.masses.breakdown(),
        "pressure_fed": baseline.evaluation.masses.breakdown(),
    }
    saving = baseline.total_mass_kg - electric.total_mass_kg
    report["electric_saving_kg"] = saving
    report["lighter_option"] = "electric_pump_fed" if saving > 0 else "pressure_fed"
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
    return report


def _electric_dict(result: OptimisationResult) -> dict[str, Any]:
    batch = result.evaluation
    return {
        "design": result.design.__dict__,
        "isp_s": float(batch.isp_s[0]),
        "burn_time_s": float(batch.masses.burn_time_s[0]),
        "total_mass_kg": result.total_mass_kg,
        "peak_electrical_power_w": result.peak_electrical_power_w,
        "electrical_energy_j": float(batch.electrical_energy_j[0]),
        "battery_sized_by": "energy" if bool(batch.masses.battery_energy_limited[0]) else "power",
        "fuel_tank_volume_m3": float(batch.masses.fuel_tank_volume_m3[0]),
        "oxidiser_tank_volume_m3": float(batch.masses.oxidiser_tank_volume_m3[0]),
        "pressurant_bottle_volume_m3": float(batch.masses.pressurant_bottle_volume_m3[0]),
        "optimiser_message": result.message,
        "evaluations": result.evaluations,
        "active_constraint": batch.worst_constraint()[0],
    }


def _pressure_fed_dict(result: PressureFedResult) -> dict[str, Any]:
    batch = result.evaluation
    return {
        "feasible": result.feasible,
        "chamber_pressure_pa": result.chamber_pressure_pa,
        "isp_s": float(batch.isp_s[0]),
        "fuel_tank_pressure_pa": float(batch.fuel_tank_pressure_pa[0]),
        "oxidiser_tank_pressure_pa": float(batch.oxidiser_tank_pressure_pa[0]),
        "burn_time_s": float(batch.masses.burn_time_s[0]),
        "total_mass_kg": result.total_mass_kg,
        "pressurant_bottle_volume_m3": float(batch.masses.pressurant_bottle_volume_m3[0]),
    }


# ------------------------------------------------------------------------------------- printing


def _row(label: str, *values: str) -> str:
    return f"  {label:<32}" + "".join(f"{v:>18}" for v in values)


def format_report(report: dict[str, Any]) -> str:
    """The readable summary ``hil optimize`` prints."""
    lines: list[str] = []
    pm = report["pump_model"]
    lines.append(f"hil optimize: {report['mission']['name']}")
    lines.append(f"  mission file: {report['mission']['file']}")
    if pm["calibrated"]:
        runs = ", ".join(pm["source_runs"]) or "(no run ids recorded)"
        lines.append(f"  pump model: calibrated, {pm['source']} (runs: {runs})")
    else:
        lines.append(f"  pump model: {pm['source']}: {pm['description']}")
    if report["extrapolate"]:
        lines.append("  extrapolation beyond the calibrated envelope: ALLOWED")
    lines.append("")

    pf = report["pressure_fed"]
    if report["electric_pump_fed"] is None:
        lines.append("No feasible electric-pump-fed design within the bounds and the calibrated envelope.")
        lines.append(f"  tightest constraint: {report['infeasible_reason']}")
        if not report["extrapolate"]:
            lines.append("  (allowing extrapolation beyond the calibrated envelope may find one)")
        lines.append(
            f"Pressure-fed baseline: {pf['total_mass_kg']:.1f} kg at chamber pressure "
            f"{pf['chamber_pressure_pa'] / 1e6:.2f} MPa"
        )
        lines.extend(_warning_lines(report))
        return "\n".join(lines) + "\n"

    ep = report["electric_pump_fed"]
    lines.append(
        f"Electric-pump-fed optimum: {ep['total_mass_kg']:.1f} kg loaded propulsion system; chamber pressure "
        f"{ep['design']['chamber_pressure_pa'] / 1e6:.2f} MPa, Isp {ep['isp_s']:.1f} s, "
        f"burn {ep['burn_time_s']:.0f} s"
    )
    lines.append(
        f"  peak electrical power {ep['peak_electrical_power_w'] / 1e3:.2f} kW, energy "
        f"{ep['electrical_energy_j'] / 3.6e6:.2f} kWh (battery sized by {ep['battery_sized_by']})"
    )
    lines.append(
        f"Pressure-fed baseline: {pf['total_mass_kg']:.1f} kg; chamber pressure "
        f"{pf['chamber_pressure_pa'] / 1e6:.2f} MPa, Isp {pf['isp_s']:.1f} s, tanks at "
        f"{pf['fuel_tank_pressure_pa'] / 1e5:.1f} / {pf['oxidiser_tank_pressure_pa'] / 1e5:.1f} bar"
    )
    saving = report["electric_saving_kg"]
    verdict = (
        f"electric feed is LIGHTER by {saving:.1f} kg"
        if saving > 0
        else f"electric feed is HEAVIER by {-saving:.1f} kg"
    )
    lines.append(f"=> {verdict} ({abs(saving) / pf['total_mass_kg'] * 100:.1f} % of the pressure-fed system)")
    lines.append("")

    req = report["pump_requirements"]
    f, o = req["fuel"], req["oxidiser"]
    lines.append(
        "Pump requirements"
        + " " * 17
        + f"{'fuel (' + f['propellant'] + ')':>18}{'oxidiser (' + o['propellant'] + ')':>18}"
    )
    table = (
        ("flow (L/s)", "flow_m3_s", 1e3, ".3f"),
        ("mass flow (kg/s)", "mass_flow_kg_s", 1.0, ".3f"),
        ("pressure rise (bar)", "pressure_rise_pa", 1e-5, ".1f"),
        ("head (m)", "head_m", 1.0, ".0f"),
        ("maximum NPSH3 (m)", "max_npsh3_m", 1.0, ".2f"),
        ("  predicted NPSH3 there (m)", "predicted_npsh3_m", 1.0, ".2f"),
        ("minimum efficiency", "min_efficiency", 1.0, ".3f"),
        ("shaft power (kW)", "shaft_power_w", 1e-3, ".2f"),
        ("electrical power (kW)", "electrical_power_w", 1e-3, ".2f"),
        ("speed at full thrust (rpm)", "speed_rpm", 1.0, ",.0f"),
        ("impeller diameter (mm)", "impeller_diameter_m", 1e3, ".1f"),
        ("tank pressure (bar)", "tank_pressure_pa", 1e-5, ".2f"),
    )
    for label, key, scale, fmt in table:
        lines.append(_row(label, format(f[key] * scale, fmt), format(o[key] * scale, fmt)))
    lines.append("")

    lines.append("Mass breakdown (kg)" + " " * 15 + f"{'electric-pump-fed':>18}{'pressure-fed':>18}")
    ep_m, pf_m = report["mass_breakdown"]["electric_pump_fed"], report["mass_breakdown"]["pressure_fed"]
    for key in ep_m:
        label = key.removesuffix("_kg").replace("_", " ")
        lines.append(_row(label, f"{ep_m[key]:.2f}", f"{pf_m[key]:.2f}"))
    lines.append("")

    lines.append("Sensitivity of the optimum system mass (re-optimised for each change)")
    for s in report["sensitivity"]:
        value = (
            "infeasible" if s["delta_mass_kg"] is None else f"{round(s['delta_mass_kg'], 2) + 0.0:+.2f} kg"
        )
        lines.append(f"  {s['requirement'] + ' ' + s['change']:<52}{value:>14}")
    lines.append("")

    u = report["uncertainty"]
    lines.append(f"Calibration uncertainty ({u['note']})")
    parts = ", ".join(f"{k} {v:.2f}" for k, v in u["mass_std_by_curve_kg"].items())
    lines.append(f"  1-sigma system mass, design held: {u['mass_std_kg']:.2f} kg ({parts})")
    k = u["k_sigma"]
    lines.append(
        f"  NPSHA/NPSH3 at the design with curves {k:g} sigma pessimistic: "
        f"{u['min_npsha_over_npsh3_at_design_pessimistic']:.2f} "
        f"(margin required {report['inputs']['margins']['npsh_margin']:g})"
    )
    for label, key in (
        ("pessimistic", "pessimistic_redesign_delta_kg"),
        ("optimistic", "optimistic_redesign_delta_kg"),
    ):
        value = "infeasible" if u[key] is None else f"{round(u[key], 2) + 0.0:+.2f} kg"
        lines.append(f"  redesign with curves {k:g} sigma {label}: {value}")
    lines.append("")

    if report["pareto_front"]:
        lines.append("Pareto front: mass against peak electrical power")
        lines.append(f"  {'peak power (kW)':>16}{'mass (kg)':>12}{'chamber (MPa)':>15}")
        for point in report["pareto_front"]:
            lines.append(
                f"  {point['peak_electrical_power_w'] / 1e3:>16.2f}{point['total_mass_kg']:>12.2f}"
                f"{point['design']['chamber_pressure_pa'] / 1e6:>15.2f}"
            )
    lines.extend(_warning_lines(report))
    return "\n".join(lines) + "\n"


def _warning_lines(report: dict[str, Any]) -> list[str]:
    warnings = list(report.get("warnings") or [])
    if not report["pump_model"]["calibrated"]:
        warnings.insert(0, "results rest on an UNCALIBRATED literature pump model: calibrate with bench runs")
    if not warnings:
        return []
    return ["", "Warnings:"] + [f"  - {w}" for w in warnings]


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
        report = build_report(inputs, model, source, extrapolate=extrapolate)
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
