"""The propulsion-system sizing model: electric-pump-fed design and pressure-fed baseline.

What lives here:

* :class:`DesignPoint`: the optimiser's design variables (chamber pressure, the two pump-fed tank
  pressures and the two pump speeds at full thrust).
* :func:`evaluate_electric` and :func:`evaluate_pressure_fed`: vectorised evaluations of many
  designs at once (rows), returning every mass, power, pump duty and constraint.
* :func:`size_electric_pump_fed` and :func:`size_pressure_fed`: the same for one design, the plain
  functions of their inputs a notebook calls.
* :class:`CurveAdjustment`: shifts of the pump curves for sensitivity and uncertainty studies.

How the electric-pump-fed option is sized, in the order the code does it:

1. The burn: a throttle profile (segments of burn-time fraction at a thrust fraction) plus a
   virtual *design point* at full thrust with the lowest tank pressure of the burn, so that the
   pumps and motors are sized for full thrust whenever it is commanded.
2. Feed pressures: the pump must lift the propellant from the tank (less the suction-line loss)
   to ``f p_c + (k_inj p_c + dp_line) f^2`` at throttle ``f``.
3. The pump, by similarity with the calibrated model: at full thrust the chosen speed fixes the
   specific speed ``n Q^0.5 / (dp/rho)^0.75 = phi^0.5 / psi^0.75``, hence the operating flow
   coefficient and the impeller diameter ``D = (Q / (phi n))^(1/3)``. At each throttle point the
   diameter is fixed and the speed is whatever delivers the required pressure rise at that flow
   (``psi(phi) / phi^2 = dp D^4 / (rho Q^2)``). Efficiency ``eta(phi)``, NPSH3
   ``sigma3(phi) (n D)^2 / g`` follow; the shaft power is ``Q dp / eta``.
4. The electric chain: motor and inverter efficiencies (or the calibrated drive map at the speed
   and load fraction of each point), masses from specific powers, a battery sized by the larger of
   peak power and the energy integrated over the profile.
5. Tanks (thin wall, sphere or cylinder, ullage, hydrostatic head under maximum acceleration, minimum
   gauge), pressurant (regulated from a bottle, or blowdown) and its bottle.
6. Propellant: from the total impulse, or for a delta-v from the rocket equation with the
   propulsion system's own dry mass, pressurant and residuals in the final mass (a fixed-point
   iteration, since the tanks and battery grow with the propellant they serve).

The pressure-fed baseline has the same engine, plumbing, margins and tank model, with tanks at
``p_c (1 + k_inj) + line losses + suction loss`` and no pumps, motors or battery.

Constraints (non-negative when satisfied): NPSHA >= margin x NPSH3 at every point, flow coefficient
within the calibrated envelope (or the usable range of the fitted curves when extrapolating), a
positive pump pressure rise, a pressurant bottle that can feed the regulator, the electrical power
limit, and a closable rocket equation.

Must not import drivers, simulators, procedures or the runner; uses :mod:`hil.model.pump_model`,
:mod:`hil.model.sizing.components`, :mod:`hil.model.sizing.inputs` and the sizing modules it is
split into: :mod:`~hil.model.sizing.pump_curves` (the scaled pump), :mod:`~hil.model.sizing.mass_budget`
(tanks, pressurant, battery, propellant) and :mod:`~hil.model.sizing.batches` (the result containers).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hil.model.pump_model import PumpModel
from hil.model.sizing import components as comp
from hil.model.sizing.batches import ElectricBatch, MassBatch, PressureFedBatch, PumpBatch
from hil.model.sizing.inputs import SizingInputs
from hil.model.sizing.mass_budget import burn_profile, expelled_fraction, size_masses
from hil.model.sizing.pump_curves import CurveAdjustment, PumpCurves, power_basis

__all__ = [
    "DESIGN_VARIABLES",
    "G0",
    "CurveAdjustment",
    "DesignPoint",
    "ElectricBatch",
    "MassBatch",
    "PressureFedBatch",
    "PumpBatch",
    "PumpCurves",
    "evaluate_electric",
    "evaluate_pressure_fed",
    "size_electric_pump_fed",
    "size_pressure_fed",
]

G0 = comp.G0_M_S2

DESIGN_VARIABLES: tuple[str, ...] = (
    "chamber_pressure_pa",
    "fuel_tank_pressure_pa",
    "oxidiser_tank_pressure_pa",
    "fuel_pump_speed_rpm",
    "oxidiser_pump_speed_rpm",
    "mixture_ratio",
)

Array = NDArray[np.float64]


@dataclass(frozen=True)
class DesignPoint:
    """The design variables of the electric-pump-fed system (pump speeds at full thrust)."""

    chamber_pressure_pa: float
    fuel_tank_pressure_pa: float
    oxidiser_tank_pressure_pa: float
    fuel_pump_speed_rpm: float
    oxidiser_pump_speed_rpm: float
    mixture_ratio: float = math.nan
    """Oxidiser over fuel mass flow; NaN (or not positive): the engine's own mixture ratio."""

    def as_array(self) -> Array:
        return np.array([getattr(self, name) for name in DESIGN_VARIABLES], dtype=float)

    @classmethod
    def from_array(cls, values: ArrayLike) -> DesignPoint:
        """From 5 values (mixture ratio the engine's) or 6, in DESIGN_VARIABLES order."""
        arr = np.asarray(values, dtype=float).reshape(-1)
        return cls(**{name: float(v) for name, v in zip(DESIGN_VARIABLES, arr)})


def _pump_side(
    curves: PumpCurves,
    inputs: SizingInputs,
    density: Array,
    vapour_pressure: Array,
    full_mass_flow: Array,
    throttle: Array,
    tank_pressure: Array,
    discharge_pressure: Array,
    speed_rpm: Array,
    stated_efficiency: Array,
) -> PumpBatch:
    """Size pumps by similarity and run them over every point of the burn, one pump per row.

    ``density``, ``vapour_pressure`` and ``stated_efficiency`` are columns (one value per row): the
    fuel and the oxidiser pumps of a batch go through in one call, every relation here being
    elementwise, so each pump gets the values a call of its own would give at half the numpy calls.
    ``stated_efficiency`` (a pump-only efficiency the mission states for this propellant, NaN where
    none) replaces the pump model's efficiency curve; the curves still set the pump's size, speed
    and NPSH3.
    """
    adj = curves.adjustment
    mass_flow = full_mass_flow[:, None] * throttle[None, :]
    flow = mass_flow / density
    if adj.flow_factor != 1.0:  # times 1.0 is the identity: skipped, one array operation fewer
        flow = flow * adj.flow_factor
    inlet = tank_pressure - inputs.engine.suction_line_loss_pa * throttle[None, :] ** 2
    required_rise = discharge_pressure - inlet + adj.extra_pressure_rise_pa
    rise = np.maximum(required_rise, 1e-3 * discharge_pressure)
    n_design = speed_rpm / 60.0
    specific_speed_sq = n_design**2 * flow[:, 0] / (rise[:, 0] / density[:, 0]) ** 1.5
    phi_design = curves.design_phi(specific_speed_sq)
    diameter = np.cbrt(flow[:, 0] / (phi_design * n_design))
    # The design point's phi is phi_design by construction: only the other points are solved for.
    flow_to_head = flow[:, 1:] * np.sqrt(density) / (diameter[:, None] ** 2 * np.sqrt(rise[:, 1:]))
    phi = np.empty_like(flow)
    phi[:, 0] = phi_design
    phi[:, 1:] = curves.operating_phi(flow_to_head)
    n_rev_s = flow / (phi * diameter[:, None] ** 3)
    phi_eval = curves.clip(phi)
    curve = np.isnan(stated_efficiency)
    if np.all(curve):
        eta = curves.eta(phi_eval)
    else:
        stated = np.broadcast_to(stated_efficiency, flow.shape) + adj.efficiency_delta
        eta = np.clip(stated, 0.02, 1.0)
        if np.any(curve):
            eta = np.where(curve, curves.eta(phi_eval), eta)
    shaft = flow * rise / eta
    npsh3 = curves.sigma3(phi_eval) * (n_rev_s * diameter[:, None]) ** 2 / G0
    npsha = (inlet - vapour_pressure) / (density * G0) + inputs.margins.inlet_static_head_m
    speed_fraction = n_rev_s / n_rev_s[:, :1]
    load_fraction = shaft / np.max(shaft, axis=1, keepdims=True)
    elec = inputs.electric
    drive_eta = curves.drive_efficiency(
        speed_fraction, load_fraction, elec.motor_efficiency * elec.inverter_efficiency
    )
    if curves.model.drive is None:
        covered = np.ones(speed_fraction.shape[0], dtype=bool)
    else:
        drive = curves.model.drive
        covered = (
            np.all(speed_fraction >= drive.speed_fraction_range[0] - 1e-9, axis=1)
            & np.all(speed_fraction <= drive.speed_fraction_range[1] + 1e-9, axis=1)
            & np.all(load_fraction >= drive.load_fraction_range[0] - 1e-9, axis=1)
            & np.all(load_fraction <= drive.load_fraction_range[1] + 1e-9, axis=1)
        )
    return PumpBatch(
        flow_m3_s=flow,
        mass_flow_kg_s=mass_flow,
        pressure_rise_pa=rise,
        required_pressure_rise_pa=required_rise,
        discharge_pressure_pa=discharge_pressure,
        tank_pressure_pa=tank_pressure,
        inlet_pressure_pa=inlet,
        phi=phi,
        speed_rpm=n_rev_s * 60.0,
        diameter_m=diameter,
        efficiency=eta,
        shaft_power_w=shaft,
        drive_efficiency=drive_eta,
        electrical_power_w=shaft / drive_eta,
        npsha_m=npsha,
        npsh3_m=npsh3,
        tip_speed_m_s=np.pi * n_rev_s * diameter[:, None],
        drive_map_covered=covered,
        head_coefficient=rise / (density * n_rev_s**2 * diameter[:, None] ** 2),
    )


# ------------------------------------------------------------------------------ evaluation


def evaluate_electric(
    inputs: SizingInputs,
    pump_model: PumpModel | None,
    designs: ArrayLike,
    *,
    adjustment: CurveAdjustment | None = None,
    extrapolate: bool = False,
    curves: PumpCurves | None = None,
) -> ElectricBatch:
    """Evaluate electric-pump-fed designs; ``designs`` has one row per design in DESIGN_VARIABLES order.

    ``hil optimize`` of the sample lander calls this ~1,200 times, mostly on six rows (a design and
    its finite-difference neighbours), where numpy's cost per call, not its arithmetic, sets the
    time: so both pumps go through :func:`_pump_side` as rows of one array, their tanks through
    :func:`~hil.model.sizing.mass_budget.size_masses` likewise, and nothing constant is rebuilt per
    call. The relations stay elementwise, so every value is bit for bit what one pump at a time
    gave (identical JSON reports: the lander with and without ``--extrapolate``/``--monte-carlo``,
    the three example missions). CPU (``time.process_time``, 7 runs of each tree alternated on a
    shared 2-core machine): ``build_report`` of the lander with the default pump after a warm-up,
    3.52 s (3.31-4.54) before, 2.16 s (1.93-3.13) after, median ratio per pair 1.65; one six-row
    evaluation, best of 15 x 60 calls, 2.09 ms before, 1.09 ms after (median ratio 1.92).
    """
    model = pump_model if pump_model is not None else PumpModel.default()
    adj = adjustment if adjustment is not None else CurveAdjustment()
    if curves is None:
        curves = PumpCurves(model, adj, inputs.electric.assumed_suction_specific_speed, extrapolate)
    x = np.atleast_2d(np.asarray(designs, dtype=float))
    if x.shape[1] == len(DESIGN_VARIABLES) - 1:
        x = np.hstack([x, np.full((x.shape[0], 1), np.nan)])
    eng, props, press, elec = inputs.engine, inputs.propellants, inputs.pressurant, inputs.electric
    # A mixture ratio left out (NaN, or a zero column from a caller that sized arrays by
    # DESIGN_VARIABLES before it had one) is the engine's own.
    x[:, 5] = np.where(x[:, 5] > 0, x[:, 5], eng.mixture_ratio)
    pc, pt_f, pt_o, n_f, n_o, r = (x[:, i] for i in range(6))
    isp = np.asarray(eng.isp_at(pc, r), dtype=float)
    mdot1 = np.asarray(comp.mass_flow_kg_s(eng.thrust_n, isp))
    throttle, tau = burn_profile(inputs)
    blowdown = press.mode == "blowdown"

    rows = x.shape[0]

    def per_pump(fuel_value: float | None, oxidiser_value: float | None) -> Array:
        """A column of the fuel value on the fuel pumps' rows, then the oxidiser value."""
        values = [math.nan if v is None else v for v in (fuel_value, oxidiser_value)]
        return np.repeat(np.array(values)[:, None], rows, axis=0)

    tank_design = np.concatenate([pt_f, pt_o])  # the fuel pumps' rows, then the oxidiser pumps'
    if blowdown:
        r0 = 1.0 / (press.blowdown_ratio ** (1.0 / press.polytropic_exponent) - 1.0)
        expelled = expelled_fraction(throttle[1:], tau)
        relative = press.blowdown_ratio * (r0 / (r0 + expelled)) ** press.polytropic_exponent
        relative = np.concatenate([[1.0], relative])  # design point at the final (lowest) pressure
        tank = tank_design[:, None] * relative[None, :]
        max_f, max_o = pt_f * press.blowdown_ratio, pt_o * press.blowdown_ratio
    else:
        tank = np.repeat(tank_design[:, None], throttle.size, axis=1)
        max_f, max_o = pt_f, pt_o
    discharge = np.asarray(
        comp.required_discharge_pressure_pa(
            np.concatenate([pc, pc])[:, None],
            throttle[None, :],
            eng.injector_drop_fraction,
            per_pump(eng.fuel_line_loss_pa, eng.oxidiser_line_loss_pa),
        )
    )

    # Fuel pumps on rows 0..n-1, oxidiser pumps on rows n..2n-1: one pass for both (see _pump_side).
    both = _pump_side(
        curves,
        inputs,
        per_pump(props.fuel_density_kg_m3, props.oxidiser_density_kg_m3),
        per_pump(props.fuel_vapour_pressure_pa, props.oxidiser_vapour_pressure_pa),
        np.concatenate([mdot1 / (1.0 + r), mdot1 * r / (1.0 + r)]),
        throttle,
        tank,
        discharge,
        np.concatenate([n_f, n_o]),
        per_pump(elec.pump_efficiency("fuel"), elec.pump_efficiency("oxidiser")),
    )
    fuel, ox = both.rows(slice(0, rows)), both.rows(slice(rows, None))

    shaft_max = np.max(both.shaft_power_w, axis=1)
    el_max = np.max(both.electrical_power_w, axis=1)
    shaft_max_f, shaft_max_o = shaft_max[:rows], shaft_max[rows:]
    el_max_f, el_max_o = el_max[:rows], el_max[rows:]
    if model.drive is None:
        motor_in_f = shaft_max_f / elec.motor_efficiency
        motor_in_o = shaft_max_o / elec.motor_efficiency
    else:
        motor_in_f, motor_in_o = el_max_f, el_max_o
    if elec.pump_mass_model == "size":
        pumps = elec.pump_size_coefficient_kg_m3 * (fuel.diameter_m**3 + ox.diameter_m**3)
    elif elec.pump_mass_model == "torque":
        torque_f = np.max(fuel.shaft_torque_n_m, axis=1)
        torque_o = np.max(ox.shaft_torque_n_m, axis=1)
        a, b = elec.pump_mass_torque_coefficient, elec.pump_mass_torque_exponent
        pumps = np.asarray(comp.pump_mass_from_torque_kg(torque_f, a, b)) + np.asarray(
            comp.pump_mass_from_torque_kg(torque_o, a, b)
        )
    else:
        pumps = shaft_max_f / elec.pump_specific_power("fuel") + shaft_max_o / elec.pump_specific_power(
            "oxidiser"
        )
    motor_power = shaft_max_f + shaft_max_o  # what the motors deliver (their output)
    inverter_power = motor_in_f + motor_in_o  # what the inverters deliver (the motors' input)
    if elec.motor_sizing == "input":
        motor_power, inverter_power = inverter_power, inverter_power / elec.inverter_efficiency
    fixed = {
        "pumps_kg": pumps,
        "motors_kg": motor_power / elec.motor_specific_power_w_kg,
        "inverters_kg": inverter_power / elec.inverter_specific_power_w_kg,
    }
    total_power = fuel.electrical_power_w + ox.electrical_power_w
    peak_power = np.max(total_power, axis=1)
    mean_power = np.sum(total_power[:, 1:] * tau[None, :], axis=1)
    mean_throttle = float(np.sum(throttle[1:] * tau))
    # Burn time = usable / (mdot1 * mean throttle), so energy per kg of usable propellant:
    energy_per_kg = mean_power / (mdot1 * mean_throttle)

    masses, bottle_margin = size_masses(
        inputs,
        isp,
        max_f,
        max_o,
        None if blowdown else pt_f,
        None if blowdown else pt_o,
        blowdown,
        fixed,
        peak_power,
        energy_per_kg,
        r,
    )
    energy = energy_per_kg * masses.usable_propellant_kg

    span = curves.envelope_hi - curves.envelope_lo
    lo_c, hi_c = (
        (curves.phi_lo, curves.phi_hi) if curves.extrapolate else (curves.envelope_lo, curves.envelope_hi)
    )
    margin = inputs.margins.npsh_margin
    # Four constraints per pump and point, interleaved point by point ([..., point j: NPSH, phi low,
    # phi high, rise, ...]) as whole arrays: a profile of thousands of segments costs numpy time, not
    # a Python loop per segment.
    # Both pumps' rows at once, then the fuel block and the oxidiser block side by side.
    per_point = np.stack(
        [
            both.npsha_m / (margin * both.npsh3_m) - 1.0,
            (both.phi - lo_c) / span,
            (hi_c - both.phi) / span,
            both.required_pressure_rise_pa / both.discharge_pressure_pa - 0.02,
        ],
        axis=2,
    ).reshape(2 * rows, -1)
    blocks: list[Array] = [per_point[:rows], per_point[rows:]]
    names = list(_pump_constraint_names(margin, lo_c, hi_c, throttle.size))
    columns: list[Array] = []
    if not blowdown:
        names.append("pressurant bottle pressure above regulator inlet need")
        columns.append(bottle_margin)
    if np.isfinite(elec.max_electrical_power_w):
        names.append(f"peak electrical power <= {elec.max_electrical_power_w:g} W")
        columns.append((elec.max_electrical_power_w - peak_power) / elec.max_electrical_power_w)
    names.append("rocket equation closes (mass iteration converged)")
    columns.append(np.where(masses.converged, 1.0, -1.0))
    names.append("masses finite and non-negative")
    columns.append(np.where(masses.physical, 1.0, -1.0))
    blocks.append(np.stack(columns, axis=1))

    constraints = np.concatenate(blocks, axis=1)
    if not np.isfinite(constraints).all():  # (nan_to_num of finite values is a copy: skipped)
        constraints = np.nan_to_num(constraints, nan=-1.0, posinf=1.0, neginf=-1.0)
    return ElectricBatch(
        designs=x,
        isp_s=isp,
        throttle=throttle,
        duration_fraction=tau,
        fuel=fuel,
        oxidiser=ox,
        masses=masses,
        peak_electrical_power_w=peak_power,
        electrical_energy_j=energy,
        constraints=constraints,
        constraint_names=names,
        uses_assumed_npsh3=curves.uses_assumed_npsh3,
        phi_bracket=(lo_c, hi_c),
        mixture_ratio=r,
        power_basis={
            label: power_basis(model, elec.pump_efficiency(label)) for label in ("fuel", "oxidiser")
        },
    )


@functools.lru_cache(maxsize=16)
def _pump_constraint_names(margin: float, lo_c: float, hi_c: float, points: int) -> tuple[str, ...]:
    """Names of the per-point pump constraints, in the order :func:`evaluate_electric` stacks them.

    A pure function of its arguments, cached because the optimiser asks for the same names at every
    evaluation and a long profile has thousands of them.
    """
    names: list[str] = []
    for label in ("fuel", "oxidiser"):
        for j in range(points):
            point = "design point" if j == 0 else f"segment {j}"
            names += [
                f"{label} NPSHA >= {margin:g} x NPSH3 at {point}",
                f"{label} flow coefficient >= {lo_c:.4g} at {point}",
                f"{label} flow coefficient <= {hi_c:.4g} at {point}",
                f"{label} pump pressure rise > 0 at {point}",
            ]
    return tuple(names)


def evaluate_pressure_fed(
    inputs: SizingInputs, chamber_pressure_pa: ArrayLike, mixture_ratio: ArrayLike | None = None
) -> PressureFedBatch:
    """Evaluate the pressure-fed baseline at one or more chamber pressures (regulated pressurant).

    ``mixture_ratio`` (broadcast against the chamber pressures) defaults to the engine's own; the
    optimiser varies it within the same bounds as the electric option's, so the two compare like for
    like.
    """
    pc = np.atleast_1d(np.asarray(chamber_pressure_pa, dtype=float))
    eng = inputs.engine
    ratio = eng.mixture_ratio if mixture_ratio is None else mixture_ratio
    pc, r = (np.array(a, dtype=float) for a in np.broadcast_arrays(pc, np.asarray(ratio, dtype=float)))
    isp = np.asarray(eng.isp_at(pc, r), dtype=float)
    suction = eng.suction_line_loss_pa
    p_f = np.asarray(
        comp.pressure_fed_tank_pressure_pa(pc, eng.injector_drop_fraction, eng.fuel_line_loss_pa + suction)
    )
    p_o = np.asarray(
        comp.pressure_fed_tank_pressure_pa(
            pc, eng.injector_drop_fraction, eng.oxidiser_line_loss_pa + suction
        )
    )
    masses, bottle_margin = size_masses(inputs, isp, p_f, p_o, p_f, p_o, False, None, None, None, r)
    constraints = np.nan_to_num(
        np.stack(
            [
                bottle_margin,
                np.where(masses.converged, 1.0, -1.0),
                np.where(masses.physical, 1.0, -1.0),
            ],
            axis=1,
        ),
        nan=-1.0,
        posinf=1.0,
        neginf=-1.0,
    )
    return PressureFedBatch(
        chamber_pressure_pa=pc,
        isp_s=isp,
        fuel_tank_pressure_pa=p_f,
        oxidiser_tank_pressure_pa=p_o,
        masses=masses,
        mixture_ratio=r,
        constraints=constraints,
        constraint_names=[
            "pressurant bottle pressure above regulator inlet need",
            "rocket equation closes (mass iteration converged)",
            "masses finite and non-negative",
        ],
    )


def size_electric_pump_fed(
    inputs: SizingInputs,
    design: DesignPoint,
    pump_model: PumpModel | None = None,
    *,
    adjustment: CurveAdjustment | None = None,
    extrapolate: bool = False,
) -> ElectricBatch:
    """Size one electric-pump-fed design (a batch of one row: use ``.masses.breakdown()``)."""
    return evaluate_electric(
        inputs, pump_model, design.as_array()[None, :], adjustment=adjustment, extrapolate=extrapolate
    )


def size_pressure_fed(
    inputs: SizingInputs, chamber_pressure_pa: float, mixture_ratio: float | None = None
) -> PressureFedBatch:
    """Size the pressure-fed baseline at one chamber pressure (use ``.masses.breakdown()``)."""
    return evaluate_pressure_fed(inputs, np.array([chamber_pressure_pa]), mixture_ratio)
