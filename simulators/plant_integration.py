"""The pump loop's integration: its state and the fixed-step integrator that advances it.

:class:`LoopState` is everything that changes during a run (commands and state variables, plain
floats); :func:`integrate` advances it over whole sub-steps of the global grid. :class:`simulators.plant.PumpLoop`
owns one state and decides when to integrate and what the instruments read; the parameters live in
:mod:`simulators.plant_parameters`.

Model, in the order one sub-step applies it:

1. Actuators: the throttle valve's positioner follows its command through a first-order lag and
   moves at a fixed stroke rate toward that lagged demand (its
   position is a state the DAQ reads back); the tank regulator follows its command with a first-order
   lag. Commands saturate at the actuator's physical range, as the real ones do.
2. Drive: in speed mode a PI loop (conditional integration against wind-up) sets the motor current; in
   current mode the command is applied directly; current 0 in current mode is coasting (FETs off, no
   torque). The current is bounded by the motor current limit and by the voltage the bus can drive
   against the back-EMF at the maximum duty (``duty <= 0.95``).
3. Rotor: ``J dw/dt = Kt I - T_pump(Q, n) - b w - T_coulomb``, integrated linearly-implicitly (the
   damping terms, including the back-EMF limit's ``Kt^2/R``, are taken at the new speed) so it stays
   stable for any step; the rotor never turns backwards.
4. Flow: ``dQ/dt = g (H_pump(Q, n) - H_system(Q)) / sum(L/A)``, implicit Euler. Without cavitation
   both heads are quadratic in Q and the step is a closed-form root; with the cavitation factor a
   few Newton iterations finish it. Implicit Euler is unconditionally stable, which matters: near
   shut-off the loop's time constant is well under a millisecond.
   ``H_system = (K_suction + K_discharge + K_valve(opening)) Q^2`` (closed loop, no static lift), the
   valve an equal-percentage trim given by its Kv, with a smooth roll-off to a seat leakage at 0.
5. Electrical: ``P_dc = Kt I w + I^2 R + P_controller`` with ``P_controller = P_fixed +
   k_sw V_bus |I| + I^2 R_fet`` (only the fixed part while coasting); the bus sags behind a source
   resistance and the input current is ``P_dc / V_bus``.
6. Heat: FET and winding temperatures as first-order thermal models; the tank water receives the
   whole shaft power (every watt the pump absorbs ends up as heat in the loop) and loses heat to
   the ambient through a conductance.
7. Sensors: each reading is the true value through a first-order lag, plus Gaussian noise, then
   quantised.

Time and determinism. The plant steps on a fixed global grid of ``SUB_STEP_S`` (10 ms): a call to
:meth:`PumpLoop.advance_to` runs every sub-step whose end lies at or before the requested time, so the
state depends only on the sequence of commands and the times they were given at, never on how the
advancing is split into calls. The state at ``time_s`` is the state at the last grid instant at or
before it. Fluid properties (CoolProp, costly) are re-evaluated only when the tank temperature has
moved 0.02 K, checked every 0.1 s of bench time, so at most once per runner tick and on the grid.
The cost of ``advance_to(t + 0.1)`` is about 40 us in CPython on the development machine.

The integrator is one long function on purpose: every quantity of a sub-step is a local float and the
constants are unpacked once per call, which keeps a 0.1 s advance (ten sub-steps) at tens of
microseconds in CPython; splitting it into a call per physical concern would cost a function call and
attribute traffic per sub-step per concern. It is the hot path of the virtual bench.

Imports :mod:`hil.core.fluids`, :mod:`simulators.pump_curves` and :mod:`simulators.plant_parameters`;
must not import drivers/.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hil.core.fluids import STANDARD_GRAVITY_M_S2, water_state_if97
from simulators import pump_curves
from simulators.plant_parameters import PlantParameters

SUB_STEP_S = 0.01
"""Fixed integration step. The flow and rotor steps are implicit (stable for any step); the thermal
models, lag filters and tank regulator use exact first-order updates; the valve moves at a rate. The
only explicit loop is the sampled PI speed controller, whose loop gain per step ``Kt Kp dt / J`` is
0.44 with the defaults (stable below 2). 10 ms keeps ``advance_to(t + 0.1)`` at ten sub-steps."""

SUB_STEPS_PER_S = 100

FLUID_PROPERTY_CHECK_STEPS = 10
FLUID_PROPERTY_TEMPERATURE_STEP_K = 0.02
"""Water density and vapour pressure are re-evaluated when, at a check every 10 sub-steps (0.1 s of
bench time), the tank temperature has moved 0.02 K since they were last evaluated: 0.004 kg/m3 and
3 Pa at most, below any instrument's resolution, for a cost that stays out of the per-tick budget
(a CoolProp evaluation costs hundreds of microseconds on a loaded machine)."""

CAVITATION_FACTOR_TOLERANCE = 1.0e-9
"""The closed-form flow step keeps the previous sub-step's cavitation factor when the factor at the
new flow differs by less than this (a head error below 1e-9 relative); otherwise Newton solves it."""

MIN_FLOW_FOR_OUTLET_HEATING_M3_S = 1.0e-5
"""Flow floor in the outlet-temperature rise ``(P_shaft - P_h) / (rho c_p Q)``, so a dead-headed pump
reads hot but finite at its outlet transducer."""

_TWO_PI = 2.0 * math.pi
_INV_TWO_PI = 1.0 / _TWO_PI
_RPM_PER_RAD_S = 60.0 / _TWO_PI
_G = STANDARD_GRAVITY_M_S2
_LN_097 = math.log(1.0 - pump_curves.HEAD_DROP_AT_NPSH3)
_KV_HEAD_FACTOR = 100.0 * 3600.0 * 3600.0 / _G
"""Valve head loss ``H = _KV_HEAD_FACTOR (Q / Kv)^2`` for Kv in m3/h at 1 bar and Q in m3/s: the Kv
definition ``dp[bar] = SG (Q[m3/h] / Kv)^2`` with SG = rho / 1000 makes the head independent of rho."""


@dataclass(slots=True)
class LoopState:
    """The loop's commands and state at the end of the last integrated sub-step (plain floats).

    Commands are what a fault layer intercepts; the rest is the physical state, the fluid properties
    in use (and the temperature they were evaluated at), and the true values of the sensed quantities
    (``raw``, in :data:`~simulators.plant_parameters.SENSOR_NAMES` order).
    """

    # Commands.
    speed_mode: bool
    speed_command_rad_s: float
    current_command_a: float
    valve_command: float
    tank_pressure_command_pa: float
    # Rotor, flow, actuators, heat.
    omega: float
    flow: float
    valve: float
    valve_demand: float
    """The positioner's internal demand: the command through its first-order lag."""
    k_system: float
    p_tank: float
    t_fluid: float
    t_fet: float
    t_motor: float
    # Drive and bus.
    integrator_a: float
    current_a: float
    duty: float
    bus_v: float
    p_dc: float
    input_current_a: float
    revolutions: float
    amp_hours: float
    watt_hours: float
    amp_hours_charged: float
    watt_hours_charged: float
    torque_pump_nm: float
    cavitation_factor: float
    # Fluid properties and sensed quantities.
    density: float
    p_vapour: float
    t_fluid_properties: float
    raw: tuple[float, ...]


def refresh_fluid_properties(state: LoopState) -> None:
    """Water density and vapour pressure at the state's tank temperature (IAPWS-IF97: see
    :mod:`hil.core.fluids` for why the plant does not use CoolProp)."""
    state.t_fluid_properties = state.t_fluid
    state.density, state.p_vapour = water_state_if97(state.t_fluid)


def loop_constants(params: PlantParameters, mass_heat_capacity_j_k: float) -> tuple[float, ...]:
    """Everything the inner loop needs that does not change during a run, in one tuple (the order
    :func:`integrate` unpacks)."""
    p = params
    dt = SUB_STEP_S
    d = p.impeller_diameter_m
    lam0, lam1, lam2 = pump_curves.power_coefficients(p)
    head_keep = 1.0 - p.head_degradation_fraction
    power_factor = head_keep / (1.0 - p.efficiency_degradation_fraction)
    a_in = math.pi * p.inlet_diameter_m**2 / 4.0
    a_out = math.pi * p.outlet_diameter_m**2 / 4.0
    k_velocity_in = 1.0 / (2.0 * _G * a_in * a_in)
    k_velocity_out = 1.0 / (2.0 * _G * a_out * a_out)
    return (
        p.head_coefficient_shutoff * d * d / _G * head_keep,
        p.head_coefficient_linear / (d * _G) * head_keep,
        p.head_coefficient_quadratic / (d**4 * _G) * head_keep,
        p.npsh3_multiplier * p.npsh3_coefficient_shutoff * d * d / _G,
        p.npsh3_multiplier * p.npsh3_coefficient_flow / (d**4 * _G),
        lam0 * d**5 * _INV_TWO_PI * power_factor,
        lam1 * d * d * _INV_TWO_PI * power_factor,
        lam2 / d * _INV_TWO_PI * power_factor,
        p.cavitation_breakdown_steepness,
        p.suction_loss_coefficient * k_velocity_in,
        k_velocity_in,
        k_velocity_out,
        _G / p.loop_length_over_area_per_m * dt,
        p.tank_liquid_height_m,
        p.torque_constant_nm_a,
        p.winding_resistance_ohm,
        p.viscous_friction_nm_s_rad,
        p.coulomb_friction_nm,
        p.rotor_inertia_kg_m2,
        p.motor_current_limit_a,
        p.max_duty,
        p.speed_kp_a_per_rpm * _RPM_PER_RAD_S,
        p.speed_ki_a_per_rpm_s * _RPM_PER_RAD_S * dt,
        p.torque_constant_nm_a**2 / p.winding_resistance_ohm,
        p.controller_fixed_loss_w,
        p.switching_loss_w_per_v_a,
        p.fet_resistance_ohm,
        p.bus_voltage_v,
        p.bus_source_resistance_ohm,
        p.ambient_temperature_c,
        1.0 - math.exp(-dt / (p.fet_thermal_resistance_k_w * p.fet_thermal_capacitance_j_k)),
        1.0 - math.exp(-dt / (p.motor_thermal_resistance_k_w * p.motor_thermal_capacitance_j_k)),
        p.fet_thermal_resistance_k_w,
        p.motor_thermal_resistance_k_w,
        dt / mass_heat_capacity_j_k,
        p.tank_heat_loss_w_k,
        p.water_specific_heat_j_kg_k,
        dt / p.valve_stroke_time_s,
        1.0 - math.exp(-dt / p.tank_pressure_time_constant_s),
        1.0 - math.exp(-dt / p.valve_positioner_time_constant_s)
        if p.valve_positioner_time_constant_s > 0
        else 1.0,
    )


def valve_kv_m3_h(opening_fraction: float, params: PlantParameters) -> float:
    """Throttle valve Kv at an opening: equal percentage, rolled off to the seat leakage at 0."""
    x = opening_fraction
    rolloff = params.valve_closing_rolloff_fraction
    equal_percentage = params.valve_rangeability ** (x - 1.0) * (1.0 + rolloff) * x / (x + rolloff)
    leak = params.valve_leakage_fraction
    return params.valve_kv_max_m3_h * (leak + (1.0 - leak) * equal_percentage)


def system_resistance_s2_m5(opening_fraction: float, params: PlantParameters) -> float:
    """``K`` in ``H_system = K Q^2``: suction line + discharge line + throttle valve (head per flow^2)."""
    a_in = math.pi * params.inlet_diameter_m**2 / 4.0
    a_out = math.pi * params.outlet_diameter_m**2 / 4.0
    k_suction = params.suction_loss_coefficient / (2.0 * _G * a_in * a_in)
    k_discharge = params.discharge_loss_coefficient / (2.0 * _G * a_out * a_out)
    kv = valve_kv_m3_h(opening_fraction, params)
    return k_suction + k_discharge + _KV_HEAD_FACTOR / (kv * kv)


def integrate(
    state: LoopState,
    constants: tuple[float, ...],
    params: PlantParameters,
    lagged: list[float],
    lag_pairs: tuple[tuple[int, float], ...],
    first_step: int,
    end_step: int,
) -> None:
    """Sub-steps ``first_step`` .. ``end_step - 1``; plain floats and locals for speed.

    The order inside a sub-step is the module docstring's; the rotor update uses the pump torque
    at the end of the previous sub-step, and the flow solve starts from the cavitation factor of
    the previous sub-step (Newton takes over if the factor at the new flow differs noticeably).
    """
    (
        h0,
        h1,
        h2,
        t0,
        t2,
        q0,
        q1,
        q2,
        a_cav,
        k_suction,
        k_vin,
        k_vout,
        c_flow_dt,
        z_tank,
        kt,
        r_wind,
        b_visc,
        t_coulomb,
        inertia,
        i_limit,
        max_duty,
        kp,
        ki_dt,
        backemf_damping,
        p_fixed,
        k_switch,
        r_fet,
        v0,
        r_source,
        t_amb,
        a_fet,
        a_motor,
        rth_fet,
        rth_motor,
        tank_dt_per_j,
        tank_loss,
        c_p,
        valve_rate_dt,
        a_tank,
        a_valve,
    ) = constants
    dt = SUB_STEP_S
    g = _G
    exp = math.exp
    sqrt = math.sqrt
    keep_at_npsh3 = 1.0 - pump_curves.HEAD_DROP_AT_NPSH3
    k_vin_total = k_suction + k_vin
    k_vout_vin = k_vout - k_vin
    ah_per_a = dt / 3600.0
    # Commands.
    speed_mode = state.speed_mode
    w_cmd = state.speed_command_rad_s
    i_cmd = state.current_command_a
    valve_cmd = state.valve_command
    p_tank_cmd = state.tank_pressure_command_pa
    # State.
    w = state.omega
    q = state.flow
    x = state.valve
    x_demand = state.valve_demand
    k_system = state.k_system
    p_tank = state.p_tank
    t_fluid = state.t_fluid
    t_fet = state.t_fet
    t_motor = state.t_motor
    integ = state.integrator_a
    v_bus = state.bus_v
    rho = state.density
    p_vap = state.p_vapour
    rho_g = rho * g
    revs = state.revolutions
    ah = state.amp_hours
    wh = state.watt_hours
    ah_c = state.amp_hours_charged
    wh_c = state.watt_hours_charged
    current = state.current_a
    duty = state.duty
    p_dc = state.p_dc
    i_in = state.input_current_a
    torque_pump = state.torque_pump_nm
    factor = state.cavitation_factor
    raw = state.raw

    for step in range(first_step, end_step):
        if step % FLUID_PROPERTY_CHECK_STEPS == 0 and abs(t_fluid - state.t_fluid_properties) >= (
            FLUID_PROPERTY_TEMPERATURE_STEP_K
        ):
            state.t_fluid = t_fluid
            refresh_fluid_properties(state)
            rho = state.density
            p_vap = state.p_vapour
            rho_g = rho * g

        # 1. Actuators.
        if x_demand != valve_cmd:
            x_demand += (valve_cmd - x_demand) * a_valve
            if abs(valve_cmd - x_demand) < 1e-6:  # a millionth of the stroke: below any position sensor
                x_demand = valve_cmd
        if x != x_demand:
            if x_demand - x > valve_rate_dt:
                x += valve_rate_dt
            elif x - x_demand > valve_rate_dt:
                x -= valve_rate_dt
            else:
                x = x_demand
            k_system = system_resistance_s2_m5(x, params)
        p_tank += (p_tank_cmd - p_tank) * a_tank

        # 2. Drive: motor current from the speed loop or the current command.
        voltage_limited = False
        if speed_mode:
            e = w_cmd - w
            hi = (max_duty * v_bus - kt * w) / r_wind
            if hi < i_limit:
                limit_by_voltage = True
                if hi < -i_limit:
                    hi = -i_limit
            else:
                hi = i_limit
                limit_by_voltage = False
            integ_next = integ + ki_dt * e
            current = kp * e + integ_next
            if current > hi:
                current = hi
                voltage_limited = limit_by_voltage
                if e < 0.0:
                    integ = integ_next
            elif current < -i_limit:
                current = -i_limit
                if e > 0.0:
                    integ = integ_next
            else:
                integ = integ_next
            driving = True
        elif i_cmd != 0.0:
            hi = (max_duty * v_bus - kt * w) / r_wind
            if i_cmd > hi:
                current = hi if hi > -i_limit else -i_limit
                voltage_limited = True
            else:
                current = i_cmd
            driving = True
        else:
            current = 0.0
            driving = False

        # 3. Rotor, linearly implicit in the speed-proportional torques.
        n = w * _INV_TWO_PI
        friction = b_visc * w + (t_coulomb if w > 0.0 else 0.0)
        damping = rho * (2.0 * q0 * n + q1 * q) * _INV_TWO_PI + b_visc
        if voltage_limited:
            damping += backemf_damping
        w += dt * (kt * current - torque_pump - friction) / (inertia + dt * damping)
        if w < 0.0:
            w = 0.0
        n = w * _INV_TWO_PI

        # 4. Flow, implicit Euler: closed-form root with the last cavitation factor; Newton when
        #    the factor at the new flow differs noticeably.
        a0 = h0 * n * n
        a1 = h1 * n
        cf = c_flow_dt * factor
        lin = 1.0 - cf * a1
        const = q + cf * a0
        quad = c_flow_dt * k_system - cf * h2
        q_new = 2.0 * const / (lin + sqrt(lin * lin + 4.0 * quad * const))
        npsh3_speed = t0 * n * n
        npsha_static = (p_tank - p_vap) / rho_g + z_tank
        npsh3 = npsh3_speed + t2 * q_new * q_new
        if npsh3 > 0.0:
            expo = a_cav * (1.0 - (npsha_static - k_suction * q_new * q_new) / npsh3)
            factor_new = keep_at_npsh3 ** exp(expo if expo < 50.0 else 50.0)
        else:
            factor_new = 1.0
        if abs(factor_new - factor) > CAVITATION_FACTOR_TOLERANCE:
            q_new, factor_new = _solve_cavitating_flow(
                q, q_new, a0, a1, h2, k_system, c_flow_dt, npsh3_speed, t2, npsha_static, k_suction, a_cav
            )
        q = q_new
        factor = factor_new
        head = factor * (a0 + a1 * q + h2 * q * q)

        # 5. Powers, bus.
        torque_pump = rho * (q0 * n * n + q1 * n * q + q2 * q * q)
        p_shaft = torque_pump * w
        p_copper = r_wind * current * current
        if driving:
            p_controller = p_fixed + k_switch * v_bus * abs(current) + r_fet * current * current
            duty = (kt * w + r_wind * current) / v_bus
            duty = 0.0 if duty < 0.0 else (max_duty if duty > max_duty else duty)
        else:
            p_controller = p_fixed
            duty = 0.0
        p_dc = kt * current * w + p_copper + p_controller
        if r_source > 0.0:
            disc = v0 * v0 - 4.0 * r_source * p_dc
            i_in = (v0 - sqrt(disc if disc > 0.0 else 0.0)) / (2.0 * r_source)
            v_bus = v0 - r_source * i_in
        else:
            i_in = p_dc / v0
        if i_in >= 0.0:
            ah += i_in * ah_per_a
            wh += p_dc * ah_per_a
        else:
            ah_c -= i_in * ah_per_a
            wh_c -= p_dc * ah_per_a
        revs += n * dt

        # 6. Heat.
        t_motor += (t_amb + rth_motor * (p_copper + friction * w) - t_motor) * a_motor
        t_fet += (t_amb + rth_fet * p_controller - t_fet) * a_fet
        t_fluid += (p_shaft - tank_loss * (t_fluid - t_amb)) * tank_dt_per_j

        # 7. Sensor inputs (SENSOR_NAMES order) and their lag filters.
        qq = q * q
        p_inlet = p_tank + rho_g * (z_tank - k_vin_total * qq)
        outlet_rise = (p_shaft - rho_g * q * head) / (
            rho * c_p * (q if q > MIN_FLOW_FOR_OUTLET_HEATING_M3_S else MIN_FLOW_FOR_OUTLET_HEATING_M3_S)
        )
        raw = (
            p_inlet,
            p_inlet + rho_g * (head - k_vout_vin * qq),
            rho * q,
            q,
            rho,
            t_fluid,
            x,
            p_tank,
            v_bus,
            i_in,
            v_bus * i_in,
            t_fluid,
            t_fluid + outlet_rise,
        )
        for i, alpha in lag_pairs:
            lagged[i] += (raw[i] - lagged[i]) * alpha

    # Write the state back.
    state.omega = w
    state.flow = q
    state.valve = x
    state.valve_demand = x_demand
    state.k_system = k_system
    state.p_tank = p_tank
    state.t_fluid = t_fluid
    state.t_fet = t_fet
    state.t_motor = t_motor
    state.integrator_a = integ
    state.bus_v = v_bus
    state.revolutions = revs
    state.amp_hours = ah
    state.watt_hours = wh
    state.amp_hours_charged = ah_c
    state.watt_hours_charged = wh_c
    state.current_a = current
    state.duty = duty
    state.p_dc = p_dc
    state.input_current_a = i_in
    state.torque_pump_nm = torque_pump
    state.cavitation_factor = factor
    state.raw = raw


def _solve_cavitating_flow(
    q_old: float,
    q_guess: float,
    a0: float,
    a1: float,
    h2: float,
    k_system: float,
    c_flow_dt: float,
    n3_speed: float,
    t2: float,
    npsha_static: float,
    k_suction: float,
    a_cav: float,
) -> tuple[float, float]:
    """Newton on ``F(Q) = Q - Q_old - c dt (f(Q) H_clean(Q) - K Q^2)`` when the cavitation factor
    depends noticeably on the flow. F rises with Q wherever f matters (f falls with flow, H_clean >= 0
    there), so the iteration converges from the closed-form guess; iterates are kept non-negative."""
    ln_keep = _LN_097
    q = q_guess
    factor = 1.0
    for _ in range(40):
        h_clean = a0 + a1 * q + h2 * q * q
        dh_clean = a1 + 2.0 * h2 * q
        npsh3 = n3_speed + t2 * q * q
        if npsh3 > 0.0:
            npsha = npsha_static - k_suction * q * q
            ratio = npsha / npsh3
            expo = a_cav * (1.0 - ratio)
            e = math.exp(expo if expo < 50.0 else 50.0)
            factor = math.exp(ln_keep * e)
            dratio = (-2.0 * k_suction * q * npsh3 - npsha * 2.0 * t2 * q) / (npsh3 * npsh3)
            dfactor = factor * ln_keep * e * (-a_cav) * dratio if expo < 50.0 else 0.0
        else:
            factor = 1.0
            dfactor = 0.0
        residual = q - q_old - c_flow_dt * (factor * h_clean - k_system * q * q)
        slope = 1.0 - c_flow_dt * (dfactor * h_clean + factor * dh_clean - 2.0 * k_system * q)
        if slope < 1.0:
            slope = 1.0
        step = residual / slope
        q_next = q - step
        if q_next < 0.0:
            q_next = 0.5 * q
        converged = abs(q_next - q) <= 1.0e-15 + 1.0e-12 * q
        q = q_next
        if converged:
            break
    npsh3 = n3_speed + t2 * q * q
    if npsh3 > 0.0:
        expo = a_cav * (1.0 - (npsha_static - k_suction * q * q) / npsh3)
        factor = math.exp(ln_keep * math.exp(expo if expo < 50.0 else 50.0))
    else:
        factor = 1.0
    return q, factor
