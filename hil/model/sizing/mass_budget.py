"""Masses of a feed option: tanks, pressurant and its bottle, battery, and the propellant they serve.

:func:`size_masses` sizes, for every design row, the propellant tanks (thin wall, ullage, liquid head
under acceleration, minimum gauge), the pressurant (regulated from a bottle, or blowdown), the
battery (larger of power and energy) and the propellant (from the total impulse, or by a fixed-point
iteration of the rocket equation for a delta-v, since the tanks and battery grow with the propellant
they serve). The burn profile helpers live here too.

Imports :mod:`hil.model.sizing.components`, :mod:`hil.model.sizing.batches` and
:mod:`hil.model.sizing.inputs` only from the project.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from hil.model.sizing import components as comp
from hil.model.sizing.batches import MassBatch
from hil.model.sizing.inputs import SizingInputs

__all__ = ["burn_profile", "expelled_fraction", "size_masses"]

Array = NDArray[np.float64]
G0 = comp.G0_M_S2
_MASS_ITERATIONS = 200
_MASS_TOLERANCE = 1e-10


def burn_profile(inputs: SizingInputs) -> tuple[Array, Array]:
    """Throttle of each point (design point first) and duration fraction of each segment."""
    segments = inputs.engine.throttle_profile
    throttle = np.array([1.0] + [s.throttle for s in segments])
    tau = np.array([s.duration_fraction for s in segments])
    return throttle, tau / tau.sum()


def expelled_fraction(throttle_segments: Array, tau: Array) -> Array:
    """Fraction of the usable propellant expelled by the end of each segment."""
    used = throttle_segments * tau
    return np.cumsum(used) / used.sum()


def _rocket_ratio(inputs: SizingInputs, isp: Array) -> Array:
    dv = inputs.mission.delta_v_m_s or 0.0
    return np.exp(dv / (G0 * isp))


@np.errstate(over="ignore", invalid="ignore", divide="ignore")
def size_masses(
    inputs: SizingInputs,
    isp: Array,
    tank_design_pressure_f: Array,
    tank_design_pressure_o: Array,
    regulated_pressure_f: Array | None,
    regulated_pressure_o: Array | None,
    blowdown: bool,
    electric_fixed_kg: dict[str, Array] | None,
    peak_power_w: Array | None,
    energy_per_usable_kg: Array | None,
    mixture_ratio: Array | None = None,
) -> tuple[MassBatch, Array]:
    """Tanks, pressurant, battery and propellant for every row; returns masses and the bottle margin.

    ``energy_per_usable_kg`` is the electrical energy the burn draws per kg of usable propellant (the
    burn time grows with the propellant). The delta-v case iterates to a fixed point. Overflow in a
    hopeless row is expected (a rocket equation that cannot close): such rows come back flagged
    (``converged`` or ``physical`` false), so numpy's floating-point warnings are silenced here.

    The iteration is most of an evaluation's cost on the optimiser's small batches (see
    :func:`~hil.model.sizing.model.evaluate_electric` for the figures), so each pass does only what
    changes with the propellant: the fuel and oxidiser tanks as the two rows of one array, one
    radius per tank for its liquid head and its wall, and the battery's rate bound and its limit
    flags (functions of the peak power, and read once) outside the loop. All rows iterate until
    every row has converged, as before: a row can take more passes in company than alone.
    """
    n = isp.shape[0]
    eng, props, margins, tanks, press, elec = (
        inputs.engine,
        inputs.propellants,
        inputs.margins,
        inputs.tanks,
        inputs.pressurant,
        inputs.electric,
    )
    rho_f, rho_o = props.fuel_density_kg_m3, props.oxidiser_density_kg_m3
    r = np.full(n, eng.mixture_ratio) if mixture_ratio is None else np.asarray(mixture_ratio, dtype=float)
    f_rr = margins.residual_fraction + margins.reserve_fraction
    mdot1 = comp.mass_flow_kg_s(eng.thrust_n, isp)
    throttle, tau = burn_profile(inputs)
    zero = np.zeros(n)
    fixed = electric_fixed_kg or {"pumps_kg": zero, "motors_kg": zero, "inverters_kg": zero}
    spec_energy_j_kg = elec.battery_specific_energy_wh_kg * comp.JOULES_PER_WATT_HOUR
    poly = press.polytropic_exponent
    bottle_margin = np.ones(n)
    if not blowdown:
        assert regulated_pressure_f is not None and regulated_pressure_o is not None
        final_bottle = np.maximum(regulated_pressure_f, regulated_pressure_o) + press.regulator_drop_pa
        if press.end_pressure_pa is not None:
            final_bottle = np.maximum(final_bottle, press.end_pressure_pa)
        bottle_margin = (press.storage_pressure_pa - final_bottle) / press.storage_pressure_pa
        usable_fraction = np.maximum(1.0 - final_bottle / press.storage_pressure_pa, 1e-3)

    one_plus_r = 1.0 + r
    head = 0.0 if tanks.head_convention == "none" else 1.0
    by_rate: Array | None = None
    if energy_per_usable_kg is not None and peak_power_w is not None:
        # The rated discharge rate bounds the power drawn per stored watt-hour: a pack must store at
        # least P / C_max, whatever its power and energy needs (Li-ion cells lose capacity and
        # overheat beyond their rating). A function of the peak power only: taken once, not per
        # iteration of the propellant mass.
        by_rate = (
            elec.battery_packing_factor
            * peak_power_w
            / (elec.battery_max_c_rate * elec.battery_specific_energy_wh_kg)
        )

    # Fuel (row 0) and oxidiser (row 1) side by side: every relation below is elementwise, so the
    # values are those two separate evaluations would give, at half the numpy calls (the optimiser
    # sizes small batches, where a call costs more than its arithmetic).
    share = np.array([np.ones(n), r])  # usable x 1.0 is exact: row 0 is usable / (1 + r)
    density = np.array([[rho_f], [rho_o]])
    design_pressure = _fuel_and_oxidiser(tank_design_pressure_f, tank_design_pressure_o, n)
    if not blowdown:
        assert regulated_pressure_f is not None and regulated_pressure_o is not None
        regulated = _fuel_and_oxidiser(regulated_pressure_f, regulated_pressure_o, n)

    def masses_for(usable: Array) -> dict[str, Array]:
        """Every mass for ``usable`` propellant (the battery's flags come after the iteration)."""
        usable_fo = usable * share / one_plus_r
        liquid = usable_fo * (1.0 + f_rr) / density
        if blowdown:
            ullage = np.asarray(
                comp.blowdown_initial_ullage_m3(usable_fo / density, press.blowdown_ratio, poly)
            )
            volume = liquid + ullage
            gas_fo = np.asarray(
                comp.ideal_gas_mass_kg(
                    design_pressure, ullage, press.gas_constant_j_kg_k, press.temperature_k
                )
            )
            gas = gas_fo[0] + gas_fo[1]
            bottle_volume: Array = np.zeros(n)
            bottle: Array = np.zeros(n)
        else:
            volume = liquid * (1.0 + margins.ullage_fraction)
            pv_fo = regulated * volume
            pv = pv_fo[0] + pv_fo[1]
            gas = (
                pv / (press.gas_constant_j_kg_k * press.temperature_k) * poly / usable_fraction
            ) * press.margin_factor
            bottle_volume = np.asarray(
                comp.pressurant_bottle_volume_m3(
                    gas, press.storage_pressure_pa, press.gas_constant_j_kg_k, press.temperature_k
                ),
                dtype=float,
            )
            bottle = np.asarray(
                comp.sphere_tank_mass_kg(
                    bottle_volume,
                    press.storage_pressure_pa,
                    press.tank_material.density_kg_m3,
                    press.tank_material.allowable_stress_pa,
                    press.tank_safety_factor,
                    press.tank_min_wall_thickness_m,
                ),
                dtype=float,
            )
        # One radius per tank serves its height (the liquid head) and its wall.
        radius = np.asarray(comp.tank_radius_m(volume, tanks.shape, tanks.length_to_diameter))
        column = np.asarray(
            comp.hydrostatic_pressure_pa(
                density,
                tanks.max_acceleration_m_s2,
                comp.tank_height_from_radius_m(radius, tanks.shape, tanks.length_to_diameter),
            )
        )
        design = design_pressure + (column if head == 1.0 else head * column)  # x 1.0 skipped
        material = tanks.material
        tank = np.asarray(
            comp.tank_wall_mass_kg(
                radius,
                design,
                material.density_kg_m3,
                material.allowable_stress_pa,
                tanks.safety_factor,
                tanks.shape,
                tanks.length_to_diameter,
                tanks.min_wall_thickness_m,
            )
        )
        by_energy_or_power: Array | None = None
        eta_d: Array | float = 1.0
        if energy_per_usable_kg is not None and peak_power_w is not None and by_rate is not None:
            energy = energy_per_usable_kg * usable
            eta_d = comp.discharge_efficiency(
                peak_power_w, energy, elec.battery_discharge_efficiency, elec.battery_rate_derating_per_c
            )
            if elec.battery_sizing == "sum":
                battery: Array = elec.battery_packing_factor * (
                    peak_power_w / elec.battery_specific_power_w_kg + energy / (spec_energy_j_kg * eta_d)
                )
            else:
                battery = np.asarray(
                    comp.battery_mass_kg(
                        peak_power_w,
                        energy,
                        elec.battery_specific_power_w_kg,
                        spec_energy_j_kg,
                        elec.battery_packing_factor,
                        eta_d,
                    ),
                    dtype=float,
                )
            by_energy_or_power = battery
            battery = np.maximum(battery, by_rate)
        else:
            battery = np.zeros(n)
        return {
            "usable": usable,
            "rr": usable * f_rr,
            "tank_f": tank[0],
            "tank_o": tank[1],
            "gas": np.asarray(gas),
            "bottle": np.asarray(bottle),
            "battery": np.asarray(battery),
            "vol_f": volume[0],
            "vol_o": volume[1],
            "bottle_volume": np.asarray(bottle_volume),
            "design_f": design[0],
            "design_o": design[1],
            "tank": tank,
            "volume": volume,
            "radius": radius,
            "design": design,
            "by_energy_or_power": by_energy_or_power,
            "discharge_efficiency": eta_d,
        }

    def carried(m: dict[str, Array]) -> Array:
        """Everything on board at burnout that this feed system adds (hardware, gas, residuals)."""
        return (
            m["tank_f"]
            + m["tank_o"]
            + m["gas"]
            + m["bottle"]
            + m["battery"]
            + m["rr"]
            + fixed["pumps_kg"]
            + fixed["motors_kg"]
            + fixed["inverters_kg"]
            + eng.fixed_hardware_mass_kg
        )

    converged = np.ones(n, dtype=bool)
    if inputs.mission.total_impulse_n_s is not None:
        usable = np.asarray(
            comp.propellant_for_total_impulse_kg(inputs.mission.total_impulse_n_s, isp), dtype=float
        )
        m = masses_for(usable)
    else:
        ratio = _rocket_ratio(inputs, isp) - 1.0
        closable = 1.0 - f_rr * ratio
        denominator = np.maximum(closable, 1e-6)
        usable = inputs.mission.dry_mass_kg * ratio
        m = masses_for(usable)
        converged = np.zeros(n, dtype=bool)
        for _ in range(_MASS_ITERATIONS):
            hardware = carried(m) - m["rr"]
            new_usable = (inputs.mission.dry_mass_kg + hardware) * ratio / denominator
            change = np.abs(new_usable - usable) / np.maximum(new_usable, 1e-9)
            usable = new_usable
            m = masses_for(usable)
            if (change < _MASS_TOLERANCE).all():
                break
        converged = (change < 1e-6) & (closable > 0) & np.isfinite(usable)
    # A design whose masses overflow or come out negative (inputs at the edge of arithmetic, a bottle
    # that cannot feed its regulator) is not a design: the flag becomes a constraint, so every caller
    # treats it as infeasible and no output prints its numbers as masses.
    # (Checked as one array of every part, row by row: the same flags as a loop over the parts.)
    parts = ("usable", "rr", "tank_f", "tank_o", "gas", "bottle", "battery")
    columns = [np.asarray(m[name], dtype=float) for name in parts]
    columns += [np.asarray(value, dtype=float) for value in fixed.values()]
    values = np.array([c if c.shape == (n,) else c * np.ones(n) for c in columns])
    physical = np.all(np.isfinite(values) & (values >= 0.0), axis=0)

    if by_rate is not None and energy_per_usable_kg is not None and peak_power_w is not None:
        rate_limited = by_rate > m["by_energy_or_power"] * (1.0 + 1e-12)
        energy_limited = np.asarray(
            comp.battery_is_energy_limited(
                peak_power_w,
                energy_per_usable_kg * m["usable"],
                elec.battery_specific_power_w_kg,
                spec_energy_j_kg,
                m["discharge_efficiency"],
            )
        )
    else:
        energy_limited = np.zeros(n, dtype=bool)
        rate_limited = np.zeros(n, dtype=bool)

    at_min_gauge = _at_minimum_gauge(inputs, m)
    batch = MassBatch(
        usable_propellant_kg=m["usable"],
        residual_and_reserve_kg=m["rr"],
        fuel_tank_kg=m["tank_f"],
        oxidiser_tank_kg=m["tank_o"],
        pressurant_gas_kg=m["gas"],
        pressurant_tank_kg=m["bottle"],
        pumps_kg=fixed["pumps_kg"],
        motors_kg=fixed["motors_kg"],
        inverters_kg=fixed["inverters_kg"],
        battery_kg=m["battery"],
        fixed_hardware_kg=np.full(n, eng.fixed_hardware_mass_kg),
        fuel_tank_volume_m3=m["vol_f"],
        oxidiser_tank_volume_m3=m["vol_o"],
        pressurant_bottle_volume_m3=m["bottle_volume"],
        fuel_tank_design_pressure_pa=m["design_f"],
        oxidiser_tank_design_pressure_pa=m["design_o"],
        burn_time_s=np.asarray(comp.burn_time_s(m["usable"], mdot1, throttle[1:], tau)) * np.ones(n),
        battery_energy_limited=energy_limited.astype(bool),
        converged=converged,
        physical=physical,
        battery_capacity_wh=np.asarray(m["battery"])
        / inputs.electric.battery_packing_factor
        * inputs.electric.battery_specific_energy_wh_kg,
        battery_rate_limited=np.asarray(rate_limited).astype(bool),
        fuel_tank_at_min_gauge=at_min_gauge[0],
        oxidiser_tank_at_min_gauge=at_min_gauge[1],
        pressurant_tank_at_min_gauge=at_min_gauge[2],
    )
    return batch, bottle_margin


def _fuel_and_oxidiser(fuel: Array, oxidiser: Array, n: int) -> Array:
    """The two as rows of one (2, n) array (the callers pass rows of n already; anything else broadcasts)."""
    if np.shape(fuel) == np.shape(oxidiser) == (n,):
        return np.array([fuel, oxidiser], dtype=float)
    return np.array([np.broadcast_to(fuel, (n,)), np.broadcast_to(oxidiser, (n,))], dtype=float)


def _at_minimum_gauge(inputs: SizingInputs, m: dict[str, Array]) -> tuple[NDArray[np.bool_], ...]:
    """Which tanks sit at the minimum wall thickness (pressure saves them nothing there)."""
    tanks, press = inputs.tanks, inputs.pressurant
    by_pressure = comp.tank_wall_mass_kg(  # fuel and oxidiser tanks as rows, as in the iteration
        m["radius"],
        m["design"],
        tanks.material.density_kg_m3,
        tanks.material.allowable_stress_pa,
        tanks.safety_factor,
        tanks.shape,
        tanks.length_to_diameter,
        0.0,
    )
    propellant_flags = m["tank"] > np.asarray(by_pressure) * (1.0 + 1e-9) + 1e-12
    flags = [propellant_flags[0], propellant_flags[1]]
    bottle_by_pressure = comp.sphere_tank_mass_kg(
        m["bottle_volume"],
        press.storage_pressure_pa,
        press.tank_material.density_kg_m3,
        press.tank_material.allowable_stress_pa,
        press.tank_safety_factor,
        0.0,
    )
    flags.append(np.asarray(m["bottle"]) > np.asarray(bottle_by_pressure) * (1.0 + 1e-9) + 1e-12)
    return tuple(np.asarray(f, dtype=bool) for f in flags)
