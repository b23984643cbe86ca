"""Component equations of the propulsion-system sizing model: one physical relation per function.

Each function is a closed-form relation from the electric-feed literature (Soldà and Lentini 2008;
Rachov, Tacca and Lentini 2013; Kwak, Kwon and Choi 2018), written so that a hand calculation can
check it. They accept floats or numpy arrays (broadcasting), because the optimiser evaluates
thousands of designs at once. Coefficients are always arguments: defaults live in
:mod:`hil.model.sizing.mission`, never here.

Must not import anything from the project except :mod:`hil.core.fluids` (for standard gravity).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hil.core.fluids import STANDARD_GRAVITY_M_S2

G0_M_S2 = STANDARD_GRAVITY_M_S2
JOULES_PER_WATT_HOUR = 3600.0

FloatOrArray = float | NDArray[np.float64]


def _out(value: NDArray[np.float64]) -> FloatOrArray:
    # ``value.ndim`` rather than ``np.ndim(value)``: the same answer for what numpy returns here
    # (arrays and numpy scalars) without the dispatch, in a function the optimiser calls ~100 times
    # per evaluation.
    if isinstance(value, np.ndarray) and value.ndim:
        return value
    return float(value)


# ---------------------------------------------------------------------------------- mission


def propellant_for_delta_v_kg(
    delta_v_m_s: ArrayLike, final_mass_kg: ArrayLike, isp_s: ArrayLike
) -> FloatOrArray:
    """Usable propellant for ``delta_v`` from the rocket equation: ``m_f (exp(dv / (g0 Isp)) - 1)``.

    ``final_mass_kg`` is everything still on board at burnout (structure, payload, the propulsion
    system's dry mass and its unburned residuals).
    """
    ratio = np.exp(np.asarray(delta_v_m_s, dtype=float) / (G0_M_S2 * np.asarray(isp_s, dtype=float)))
    return _out(np.asarray(final_mass_kg, dtype=float) * (ratio - 1.0))


def propellant_for_total_impulse_kg(total_impulse_n_s: ArrayLike, isp_s: ArrayLike) -> FloatOrArray:
    """Usable propellant that delivers ``total_impulse``: ``I / (g0 Isp)``."""
    return _out(np.asarray(total_impulse_n_s, dtype=float) / (G0_M_S2 * np.asarray(isp_s, dtype=float)))


def mass_flow_kg_s(thrust_n: ArrayLike, isp_s: ArrayLike) -> FloatOrArray:
    """Total propellant mass flow at ``thrust``: ``F / (g0 Isp)``."""
    return _out(np.asarray(thrust_n, dtype=float) / (G0_M_S2 * np.asarray(isp_s, dtype=float)))


def burn_time_s(
    usable_propellant_kg: ArrayLike,
    full_thrust_mass_flow_kg_s: ArrayLike,
    throttle: ArrayLike,
    duration_fraction: ArrayLike,
) -> FloatOrArray:
    """Burn time over a throttle profile that consumes exactly the usable propellant.

    The profile is a list of segments, each a fraction of the burn time at a throttle level (thrust
    fraction, and mass-flow fraction since Isp is taken as constant over throttle). The mean throttle
    ``sum(f_i tau_i)`` stretches the full-thrust burn time ``m / mdot``.
    """
    throttle_arr = np.asarray(throttle, dtype=float)
    tau = np.asarray(duration_fraction, dtype=float)
    mean_throttle = float(np.sum(throttle_arr * tau) / np.sum(tau))
    return _out(
        np.asarray(usable_propellant_kg, dtype=float)
        / (np.asarray(full_thrust_mass_flow_kg_s, dtype=float) * mean_throttle)
    )


# ---------------------------------------------------------------------------------- feed pressures


def pressure_fed_tank_pressure_pa(
    chamber_pressure_pa: ArrayLike,
    injector_drop_fraction: float,
    line_loss_pa: ArrayLike,
) -> FloatOrArray:
    """Tank pressure a pressure-fed system needs at full thrust: ``p_c (1 + k_inj) + line losses``."""
    pc = np.asarray(chamber_pressure_pa, dtype=float)
    return _out(pc * (1.0 + injector_drop_fraction) + np.asarray(line_loss_pa, dtype=float))


def required_discharge_pressure_pa(
    chamber_pressure_pa: ArrayLike,
    throttle: ArrayLike,
    injector_drop_fraction: float,
    line_loss_pa: ArrayLike,
) -> FloatOrArray:
    """Pressure the feed must deliver at throttle ``f``: ``f p_c + (k_inj p_c + dp_line) f^2``.

    Chamber pressure scales with thrust (fixed throat, constant c*); injector and line losses scale
    with the square of the flow.
    """
    pc = np.asarray(chamber_pressure_pa, dtype=float)
    f = np.asarray(throttle, dtype=float)
    return _out(f * pc + (injector_drop_fraction * pc + np.asarray(line_loss_pa, dtype=float)) * f**2)


# ---------------------------------------------------------------------------------- electric chain


def pump_shaft_power_w(
    flow_m3_s: ArrayLike, pressure_rise_pa: ArrayLike, efficiency: ArrayLike
) -> FloatOrArray:
    """Shaft power a pump needs: ``P = Q dp / eta``."""
    return _out(
        np.asarray(flow_m3_s, dtype=float)
        * np.asarray(pressure_rise_pa, dtype=float)
        / np.asarray(efficiency, dtype=float)
    )


def motor_input_power_w(shaft_power_w: ArrayLike, motor_efficiency: ArrayLike) -> FloatOrArray:
    """Electrical power into the motor: ``P_shaft / eta_m``."""
    return _out(np.asarray(shaft_power_w, dtype=float) / np.asarray(motor_efficiency, dtype=float))


def inverter_input_power_w(motor_input_power_w: ArrayLike, inverter_efficiency: ArrayLike) -> FloatOrArray:
    """DC power into the inverter (drive electronics): ``P_motor_in / eta_inv``."""
    return _out(np.asarray(motor_input_power_w, dtype=float) / np.asarray(inverter_efficiency, dtype=float))


def mass_from_specific_power_kg(power_w: ArrayLike, specific_power_w_kg: ArrayLike) -> FloatOrArray:
    """Mass of a machine rated ``power`` with a given specific power (pump, motor, inverter)."""
    return _out(np.asarray(power_w, dtype=float) / np.asarray(specific_power_w_kg, dtype=float))


def pump_mass_from_torque_kg(
    shaft_torque_n_m: ArrayLike, coefficient: float = 1.5, exponent: float = 0.6
) -> FloatOrArray:
    """Pump mass from its shaft torque: ``m = A tau^B`` (kg, with ``tau`` in N m).

    The turbopump mass correlation of Humble, Henry and Larson, *Space Propulsion Analysis and
    Design* (1995): A between 1.3 and 2.6, B between 0.600 and 0.667, 1.5 and 0.6 for conceptual
    design. Torque, not power, sets a pump's size (its impeller and shaft carry the torque), so a
    small pump spinning fast is not as light as a specific power would make it.
    """
    return _out(coefficient * np.asarray(shaft_torque_n_m, dtype=float) ** exponent)


def battery_mass_kg(
    peak_power_w: ArrayLike,
    energy_j: ArrayLike,
    specific_power_w_kg: float,
    specific_energy_j_kg: float,
    packing_factor: float = 1.2,
    discharge_efficiency: ArrayLike = 1.0,
) -> FloatOrArray:
    """Battery mass sized by the larger of power and energy, times the packing factor.

    ``m_b = k_b max(P / delta_P, E / (delta_E eta_d))``: a short, hard burn is power-limited, a long
    throttled one energy-limited. ``discharge_efficiency`` derates the usable energy (published
    studies lower it at high discharge rates).
    """
    by_power = np.asarray(peak_power_w, dtype=float) / specific_power_w_kg
    by_energy = np.asarray(energy_j, dtype=float) / (
        specific_energy_j_kg * np.asarray(discharge_efficiency, dtype=float)
    )
    return _out(packing_factor * np.maximum(by_power, by_energy))


def battery_is_energy_limited(
    peak_power_w: ArrayLike,
    energy_j: ArrayLike,
    specific_power_w_kg: float,
    specific_energy_j_kg: float,
    discharge_efficiency: ArrayLike = 1.0,
) -> bool | NDArray[np.bool_]:
    """Whether energy, rather than power, sets the battery mass."""
    by_power = np.asarray(peak_power_w, dtype=float) / specific_power_w_kg
    by_energy = np.asarray(energy_j, dtype=float) / (
        specific_energy_j_kg * np.asarray(discharge_efficiency, dtype=float)
    )
    result = by_energy >= by_power
    return bool(result) if np.ndim(result) == 0 else result


def discharge_efficiency(
    peak_power_w: ArrayLike, energy_j: ArrayLike, nominal_efficiency: float, derating_per_c: float
) -> FloatOrArray:
    """Usable-energy fraction derated linearly with the discharge rate (C-rate, per hour).

    The C-rate is taken as peak power over the energy the burn draws (``P / E`` in 1/h): the rate the
    battery would see if it were sized exactly by energy, which is the case the derating matters for.
    Held to at least 0.3 so that a careless coefficient cannot make the battery infinite.
    """
    energy_wh = np.maximum(np.asarray(energy_j, dtype=float), 1e-9) / JOULES_PER_WATT_HOUR
    c_rate = np.asarray(peak_power_w, dtype=float) / energy_wh
    return _out(np.maximum(0.3, nominal_efficiency - derating_per_c * c_rate))


# ---------------------------------------------------------------------------------- tanks


def sphere_radius_m(volume_m3: ArrayLike) -> FloatOrArray:
    """Radius of a sphere of ``volume``."""
    return _out(np.cbrt(3.0 * np.asarray(volume_m3, dtype=float) / (4.0 * np.pi)))


def sphere_tank_mass_kg(
    volume_m3: ArrayLike,
    pressure_pa: ArrayLike,
    wall_density_kg_m3: float,
    allowable_stress_pa: float,
    safety_factor: float,
    min_wall_thickness_m: float = 0.0,
) -> FloatOrArray:
    """Thin-wall spherical tank: wall ``t = SF p r / (2 sigma)``, at least the minimum gauge.

    Without the minimum gauge this is the classical ``m = (3/2) SF rho_w p V / sigma``: tank mass is
    proportional to pressure times volume, which is why a low-pressure pump-fed tank is light.
    """
    return sphere_wall_mass_kg(
        sphere_radius_m(volume_m3),
        pressure_pa,
        wall_density_kg_m3,
        allowable_stress_pa,
        safety_factor,
        min_wall_thickness_m,
    )


def sphere_wall_mass_kg(
    radius_m: ArrayLike,
    pressure_pa: ArrayLike,
    wall_density_kg_m3: float,
    allowable_stress_pa: float,
    safety_factor: float,
    min_wall_thickness_m: float = 0.0,
) -> FloatOrArray:
    """:func:`sphere_tank_mass_kg` from the sphere's radius, for a caller that has it already."""
    r = np.asarray(radius_m, dtype=float)
    t = np.maximum(
        safety_factor * np.asarray(pressure_pa, dtype=float) * r / (2.0 * allowable_stress_pa),
        min_wall_thickness_m,
    )
    return _out(wall_density_kg_m3 * 4.0 * np.pi * r**2 * t)


def cylinder_radius_m(volume_m3: ArrayLike, length_to_diameter: float) -> FloatOrArray:
    """Radius of a cylinder with hemispherical heads of ``volume`` and overall length/diameter ``L/D``.

    ``V = pi r^2 L_c + 4/3 pi r^3`` with cylindrical length ``L_c = 2 r (L/D - 1)``.
    """
    if length_to_diameter < 1.0:
        raise ValueError("length_to_diameter of a cylinder with hemispherical heads must be >= 1")
    shape = np.pi * (2.0 * (length_to_diameter - 1.0) + 4.0 / 3.0)
    return _out(np.cbrt(np.asarray(volume_m3, dtype=float) / shape))


def cylinder_tank_mass_kg(
    volume_m3: ArrayLike,
    pressure_pa: ArrayLike,
    wall_density_kg_m3: float,
    allowable_stress_pa: float,
    safety_factor: float,
    length_to_diameter: float,
    min_wall_thickness_m: float = 0.0,
) -> FloatOrArray:
    """Thin-wall cylinder with hemispherical heads.

    The cylinder carries hoop stress, ``t_c = SF p r / sigma``; the heads carry the sphere's
    ``t_h = SF p r / (2 sigma)``. Mass ``rho_w (2 pi r L_c t_c + 4 pi r^2 t_h)``. A cylinder of the
    same volume and pressure is heavier than a sphere (twice the wall stress in the barrel) but fits
    a lander's envelope better.
    """
    return cylinder_wall_mass_kg(
        cylinder_radius_m(volume_m3, length_to_diameter),
        pressure_pa,
        wall_density_kg_m3,
        allowable_stress_pa,
        safety_factor,
        length_to_diameter,
        min_wall_thickness_m,
    )


def cylinder_wall_mass_kg(
    radius_m: ArrayLike,
    pressure_pa: ArrayLike,
    wall_density_kg_m3: float,
    allowable_stress_pa: float,
    safety_factor: float,
    length_to_diameter: float,
    min_wall_thickness_m: float = 0.0,
) -> FloatOrArray:
    """:func:`cylinder_tank_mass_kg` from the cylinder's radius, for a caller that has it already."""
    r = np.asarray(radius_m, dtype=float)
    p = np.asarray(pressure_pa, dtype=float)
    barrel_length = 2.0 * r * (length_to_diameter - 1.0)
    t_cyl = np.maximum(safety_factor * p * r / allowable_stress_pa, min_wall_thickness_m)
    t_head = np.maximum(safety_factor * p * r / (2.0 * allowable_stress_pa), min_wall_thickness_m)
    return _out(wall_density_kg_m3 * (2.0 * np.pi * r * barrel_length * t_cyl + 4.0 * np.pi * r**2 * t_head))


def tank_radius_m(volume_m3: ArrayLike, shape: str, length_to_diameter: float = 1.0) -> FloatOrArray:
    """Radius of a tank of ``shape`` 'sphere' or 'cylinder' (with hemispherical heads) of ``volume``."""
    if shape == "sphere":
        return sphere_radius_m(volume_m3)
    if shape == "cylinder":
        return cylinder_radius_m(volume_m3, length_to_diameter)
    raise ValueError(f"unknown tank shape {shape!r}")


def tank_height_m(volume_m3: ArrayLike, shape: str, length_to_diameter: float = 1.0) -> FloatOrArray:
    """Liquid column height of a full tank (diameter of a sphere, overall length of a cylinder)."""
    return tank_height_from_radius_m(
        tank_radius_m(volume_m3, shape, length_to_diameter), shape, length_to_diameter
    )


def tank_height_from_radius_m(
    radius_m: ArrayLike, shape: str, length_to_diameter: float = 1.0
) -> FloatOrArray:
    """:func:`tank_height_m` from the tank's radius, for a caller that has it already."""
    if shape == "sphere":
        return _out(2.0 * np.asarray(radius_m, dtype=float))
    if shape == "cylinder":
        return _out(2.0 * length_to_diameter * np.asarray(radius_m, dtype=float))
    raise ValueError(f"unknown tank shape {shape!r}")


def tank_mass_kg(
    volume_m3: ArrayLike,
    pressure_pa: ArrayLike,
    wall_density_kg_m3: float,
    allowable_stress_pa: float,
    safety_factor: float,
    shape: str,
    length_to_diameter: float = 1.0,
    min_wall_thickness_m: float = 0.0,
) -> FloatOrArray:
    """Thin-wall tank mass for ``shape`` 'sphere' or 'cylinder' (see the two functions above)."""
    return tank_wall_mass_kg(
        tank_radius_m(volume_m3, shape, length_to_diameter),
        pressure_pa,
        wall_density_kg_m3,
        allowable_stress_pa,
        safety_factor,
        shape,
        length_to_diameter,
        min_wall_thickness_m,
    )


def tank_wall_mass_kg(
    radius_m: ArrayLike,
    pressure_pa: ArrayLike,
    wall_density_kg_m3: float,
    allowable_stress_pa: float,
    safety_factor: float,
    shape: str,
    length_to_diameter: float = 1.0,
    min_wall_thickness_m: float = 0.0,
) -> FloatOrArray:
    """:func:`tank_mass_kg` from the tank's radius, for a caller that has it already.

    (The mass iteration of :mod:`hil.model.sizing.mass_budget` needs both the height, for the
    liquid head, and the wall mass of each tank: one radius serves both.)
    """
    if shape == "sphere":
        return sphere_wall_mass_kg(
            radius_m,
            pressure_pa,
            wall_density_kg_m3,
            allowable_stress_pa,
            safety_factor,
            min_wall_thickness_m,
        )
    if shape == "cylinder":
        return cylinder_wall_mass_kg(
            radius_m,
            pressure_pa,
            wall_density_kg_m3,
            allowable_stress_pa,
            safety_factor,
            length_to_diameter,
            min_wall_thickness_m,
        )
    raise ValueError(f"unknown tank shape {shape!r}")


def hydrostatic_pressure_pa(
    density_kg_m3: ArrayLike, acceleration_m_s2: ArrayLike, height_m: ArrayLike
) -> FloatOrArray:
    """Pressure of a liquid column under acceleration: ``rho a h`` (adds to the tank's design pressure)."""
    return _out(
        np.asarray(density_kg_m3, dtype=float)
        * np.asarray(acceleration_m_s2, dtype=float)
        * np.asarray(height_m, dtype=float)
    )


# ---------------------------------------------------------------------------------- pressurant


def ideal_gas_mass_kg(
    pressure_pa: ArrayLike, volume_m3: ArrayLike, gas_constant_j_kg_k: float, temperature_k: float
) -> FloatOrArray:
    """``m = p V / (R T)``."""
    return _out(
        np.asarray(pressure_pa, dtype=float)
        * np.asarray(volume_m3, dtype=float)
        / (gas_constant_j_kg_k * temperature_k)
    )


def regulated_pressurant_mass_kg(
    tank_pressure_volume_pa_m3: ArrayLike,
    storage_pressure_pa: float,
    final_storage_pressure_pa: ArrayLike,
    gas_constant_j_kg_k: float,
    temperature_k: float,
    polytropic_exponent: float,
) -> FloatOrArray:
    """Pressurant for a regulated system that keeps the propellant tanks at constant pressure.

    ``m = (p_t V_t / (R T0)) n / (1 - p_f / p_0)``: the gas that ends up filling the emptied tanks at
    ``p_t``, divided by the fraction of the bottle that can be used before its pressure ``p_f`` falls
    to the regulator's minimum inlet pressure; ``n`` is the polytropic exponent of the expansion in
    the bottle (1 isothermal, 1.667 adiabatic helium). ``tank_pressure_volume_pa_m3`` is the sum of
    ``p_t V_t`` over the tanks fed.
    """
    ratio = np.asarray(final_storage_pressure_pa, dtype=float) / storage_pressure_pa
    return _out(
        np.asarray(tank_pressure_volume_pa_m3, dtype=float)
        / (gas_constant_j_kg_k * temperature_k)
        * polytropic_exponent
        / (1.0 - ratio)
    )


def pressurant_bottle_volume_m3(
    pressurant_mass_kg: ArrayLike,
    storage_pressure_pa: float,
    gas_constant_j_kg_k: float,
    temperature_k: float,
) -> FloatOrArray:
    """Volume of the bottle that stores ``pressurant_mass`` at ``storage_pressure`` and ``temperature``."""
    return _out(
        np.asarray(pressurant_mass_kg, dtype=float)
        * gas_constant_j_kg_k
        * temperature_k
        / storage_pressure_pa
    )


def blowdown_initial_ullage_m3(
    expelled_volume_m3: ArrayLike, blowdown_ratio: float, polytropic_exponent: float
) -> FloatOrArray:
    """Initial gas volume so the tank pressure falls by ``blowdown_ratio`` while expelling the volume.

    ``p_i V_0^n = p_f (V_0 + V_e)^n`` with ``p_i / p_f = B`` gives ``V_0 = V_e / (B^(1/n) - 1)``.
    """
    if blowdown_ratio <= 1.0:
        raise ValueError("blowdown ratio (initial over final pressure) must exceed 1")
    return _out(
        np.asarray(expelled_volume_m3, dtype=float) / (blowdown_ratio ** (1.0 / polytropic_exponent) - 1.0)
    )


def blowdown_pressure_pa(
    initial_pressure_pa: ArrayLike,
    initial_ullage_m3: ArrayLike,
    expelled_volume_m3: ArrayLike,
    polytropic_exponent: float,
) -> FloatOrArray:
    """Tank pressure after expelling a volume in blowdown: ``p_i (V_0 / (V_0 + V_x))^n``."""
    v0 = np.asarray(initial_ullage_m3, dtype=float)
    return _out(
        np.asarray(initial_pressure_pa, dtype=float)
        * (v0 / (v0 + np.asarray(expelled_volume_m3, dtype=float))) ** polytropic_exponent
    )
