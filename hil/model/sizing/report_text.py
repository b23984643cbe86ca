"""The readable summary ``hil optimize`` prints, from the JSON-ready report of
:func:`hil.model.sizing.command.build_report`.

Imports nothing from the project: it formats plain data.
"""

from __future__ import annotations

from typing import Any

__all__ = ["format_report"]


def _cell(value: float | None, scale: float, fmt: str) -> str:
    """A table cell; None (a quantity the model does not have) prints as such."""
    return "n/a" if value is None else format(value * scale, fmt)


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
        basis = pm.get("power_basis", "not recorded")
        lines.append(f"  pump model: calibrated, {pm['source']} (runs: {runs}); power basis: {basis}")
    else:
        lines.append(f"  pump model: {pm['source']}: {pm['description']}")
    if report["extrapolate"]:
        lines.append("  extrapolation beyond the calibrated envelope: ALLOWED")
    lines.append("")

    pf = report["pressure_fed"]
    if report["electric_pump_fed"] is None:
        lines.append("No feasible electric-pump-fed design within the bounds and the calibrated envelope.")
        lines.append(f"  tightest constraint: {report['infeasible_reason']}")
        if not report["extrapolate"] and "flow coefficient" in report["infeasible_reason"]:
            lines.append("  (allowing extrapolation beyond the calibrated envelope may find one)")
        if pf["feasible"]:
            lines.append(
                f"Pressure-fed baseline: {pf['total_mass_kg']:.1f} kg at chamber pressure "
                f"{pf['chamber_pressure_pa'] / 1e6:.2f} MPa"
            )
        else:
            lines.append(
                f"No feasible pressure-fed baseline either; tightest constraint: {pf['infeasible_reason']}"
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
    lines.append(f"  Isp source: {ep['isp_source']}; mixture ratio {ep['mixture_ratio']:.3g}")
    lines.append(f"  battery discharge rate {ep['battery_discharge_rate_c']:.1f} C")
    if pf["feasible"]:
        lines.append(
            f"Pressure-fed baseline: {pf['total_mass_kg']:.1f} kg; chamber pressure "
            f"{pf['chamber_pressure_pa'] / 1e6:.2f} MPa, Isp {pf['isp_s']:.1f} s, mixture ratio "
            f"{pf['mixture_ratio']:.3g}, tanks at "
            f"{pf['fuel_tank_pressure_pa'] / 1e5:.1f} / {pf['oxidiser_tank_pressure_pa'] / 1e5:.1f} bar"
        )
        saving = report["electric_saving_kg"]
        verdict = (
            f"electric feed is LIGHTER by {saving:.1f} kg"
            if saving > 0
            else f"electric feed is HEAVIER by {-saving:.1f} kg"
        )
        lines.append(
            f"=> {verdict} ({abs(saving) / pf['total_mass_kg'] * 100:.1f} % of the pressure-fed system)"
        )
    else:
        lines.append(f"No feasible pressure-fed baseline; tightest constraint: {pf['infeasible_reason']}")
        lines.append("=> only the electric-pump-fed option closes")
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
        ("  (pump power, its basis) (kW)", "pump_power_w", 1e-3, ".2f"),
        ("electrical power (kW)", "electrical_power_w", 1e-3, ".2f"),
        ("speed at full thrust (rpm)", "speed_rpm", 1.0, ",.0f"),
        ("impeller diameter (mm)", "impeller_diameter_m", 1e3, ".1f"),
        ("tank pressure (bar)", "tank_pressure_pa", 1e-5, ".2f"),
    )
    for label, key, scale, fmt in table:
        lines.append(_row(label, _cell(f[key], scale, fmt), _cell(o[key], scale, fmt)))
    lines.append("")

    lines.append("Mass breakdown (kg)" + " " * 15 + f"{'electric-pump-fed':>18}{'pressure-fed':>18}")
    ep_m, pf_m = report["mass_breakdown"]["electric_pump_fed"], report["mass_breakdown"]["pressure_fed"]
    for key in ep_m:
        label = key.removesuffix("_kg").replace("_", " ")
        lines.append(_row(label, f"{ep_m[key]:.2f}", "no design" if pf_m is None else f"{pf_m[key]:.2f}"))
    lines.append("")

    lines.append("What drives the answer (active at the optimum; mass change if relaxed by 1 %)")
    for b in ep["binding"]:
        change = b["mass_change_kg_if_relaxed_1_percent"]
        value = "" if change is None else f"{round(change, 3) + 0.0:+.3f} kg"
        lines.append(f"  {b['text']:<66}{value:>12}")
    for tank in ep["tanks_at_minimum_gauge"]:
        lines.append(f"  electric option: {tank} at minimum gauge (its pressure saves no wall mass)")
    for tank in pf["tanks_at_minimum_gauge"]:
        lines.append(f"  pressure-fed option: {tank} at minimum gauge")
    for s_label, key in (("fuel", "fuel"), ("oxidiser", "oxidiser")):
        if req[key]["pump_power_basis"] == "electrical":
            lines.append(
                f"  {s_label} pump: calibrated wire-to-water efficiency, so its power is electrical power; "
                "no shaft power without a torque measurement (motor sized on electrical power)"
            )
    lines.append("")

    mc = report.get("monte_carlo")
    if mc is not None:
        m, n, p = mc["total_mass_kg"], mc["min_npsha_over_npsh3"], mc["peak_electrical_power_w"]
        lines.append(
            f"Monte Carlo at the optimum ({mc['samples']} draws, seed {mc['seed']}): {', '.join(mc['sampled'])}"
        )
        lines.append(
            f"  system mass {m['p50']:.2f} kg (5-95 %: {m['p05']:.2f} .. {m['p95']:.2f}), 1-sigma {m['std']:.2f} kg"
        )
        feasible = mc["feasible_fraction"] * 100
        lines.append(
            f"  smallest NPSHA / NPSH3 {n['p50']:.2f} (5 %: {n['p05']:.2f}); feasible in {feasible:.0f} % of draws"
        )
        lines.append(f"  peak electrical power {p['p50'] / 1e3:.2f} kW (95 %: {p['p95'] / 1e3:.2f} kW)")
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
