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
:mod:`hil.model.sizing.components` and :mod:`hil.model.sizing.mission`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from hil.model.pump_model import PumpModel, PumpModelError
from hil.model.sizing import components as comp
from hil.model.sizing.mission import SizingInputs

G0 = comp.G0_M_S2

DESIGN_VARIABLES: tuple[str, ...] = (
    "chamber_pressure_pa",
    "fuel_tank_pressure_pa",
    "oxidiser_tank_pressure_pa",
    "fuel_pump_speed_rpm",
    "oxidiser_pump_speed_rpm",
)

Array = NDArray[np.float64]

# Points of the inverse-interpolation tables of the pump solvers (log-spaced over the phi bracket).
_SOLVER_TABLE_POINTS = 2001
_MASS_ITERATIONS = 200
_MASS_TOLERANCE = 1e-10


@dataclass(frozen=True)
class DesignPoint:
    """The design variables of the electric-pump-fed system (pump speeds at full thrust)."""

    chamber_pressure_pa: float
    fuel_tank_pressure_pa: float
    oxidiser_tank_pressure_pa: float
    fuel_pump_speed_rpm: float
    oxidiser_pump_speed_rpm: float

    def as_array(self) -> Array:
        return np.array([getattr(self, name) for name in DESIGN_VARIABLES], dtype=float)

    @classmethod
    def from_array(cls, values: ArrayLike) -> DesignPoint:
        arr = np.asarray(values, dtype=float).reshape(-1)
        return cls(**{name: float(v) for name, v in zip(DESIGN_VARIABLES, arr, strict=True)})


@dataclass(frozen=True)
class CurveAdjustment:
    """Changes to the pump, for sensitivities and uncertainty.

    ``*_sigma`` shift the fitted curves by that many standard deviations of the fit (psi and eta
    down and sigma3 up for positive pessimism: pass negative psi/eta and positive sigma3 values).
    ``efficiency_delta`` is added to eta, ``npsh3_factor`` multiplies NPSH3,
    ``extra_pressure_rise_pa`` is added to the rise each pump must deliver, ``flow_factor``
    multiplies the flow each pump must deliver, ``drive_efficiency_delta`` is added to the drive
    (motor x inverter) efficiency.
    """

    psi_sigma: float = 0.0
    eta_sigma: float = 0.0
    sigma3_sigma: float = 0.0
    efficiency_delta: float = 0.0
    npsh3_factor: float = 1.0
    extra_pressure_rise_pa: float = 0.0
    flow_factor: float = 1.0
    drive_efficiency_delta: float = 0.0


class PumpCurves:
    """The pump model as the sizing model uses it: adjusted curves over a usable phi bracket.

    Without extrapolation the bracket is the calibrated envelope. With it, the bracket widens to the
    largest range around best efficiency where the fitted polynomials still describe a pump (positive
    head and efficiency, positive sigma3, and the monotonic relations the solver relies on), so a
    badly behaved polynomial is never used beyond where it makes sense.
    """

    def __init__(
        self,
        model: PumpModel,
        adjustment: CurveAdjustment,
        assumed_suction_specific_speed: float,
        extrapolate: bool,
    ) -> None:
        self.model = model
        self.adjustment = adjustment
        self.assumed_suction_specific_speed = assumed_suction_specific_speed
        self.extrapolate = extrapolate
        self.envelope_lo = model.envelope.phi_min
        self.envelope_hi = model.envelope.phi_max
        self.uses_assumed_npsh3 = model.sigma3_fit is None
        if extrapolate:
            self.phi_lo, self.phi_hi = self._usable_range()
        else:
            self.phi_lo, self.phi_hi = self.envelope_lo, self.envelope_hi
        self._phi_table = np.geomspace(self.phi_lo, self.phi_hi, _SOLVER_TABLE_POINTS)
        self._h_table = self._design_function(self._phi_table)
        self._k_table = self._operating_function(self._phi_table)
        if np.any(np.diff(self._h_table) <= 0) or np.any(np.diff(self._k_table) <= 0):
            raise PumpModelError(
                "the pump model's head curve psi(phi) is not usable over the envelope: the specific "
                "speed and flow-to-head relations must increase with phi (check the psi fit)"
            )
        self._h_lo, self._h_hi = float(self._h_table[0]), float(self._h_table[-1])
        self._k_lo, self._k_hi = float(self._k_table[0]), float(self._k_table[-1])

    # curves ---------------------------------------------------------------------------
    def psi(self, phi: Array) -> Array:
        return np.asarray(self.model.psi(phi, self.adjustment.psi_sigma), dtype=float)

    def eta(self, phi: Array) -> Array:
        eta = (
            np.asarray(self.model.eta(phi, self.adjustment.eta_sigma), dtype=float)
            + self.adjustment.efficiency_delta
        )
        return np.clip(eta, 0.02, 1.0)

    def sigma3(self, phi: Array) -> Array:
        if self.uses_assumed_npsh3:
            # Suction specific speed S = 2 pi phi^0.5 / sigma3^0.75 held constant.
            sigma = (2.0 * np.pi * np.sqrt(phi) / self.assumed_suction_specific_speed) ** (4.0 / 3.0)
        else:
            sigma = np.asarray(self.model.sigma3(phi, self.adjustment.sigma3_sigma), dtype=float)
        return np.maximum(sigma, 1e-6) * self.adjustment.npsh3_factor

    # monotonic relations used by the solvers ------------------------------------------
    def _design_function(self, phi: Array) -> Array:
        """``(phi^0.5 / psi^0.75)^2``: the squared specific speed, increasing with phi."""
        return phi / np.maximum(self.psi(phi), 1e-12) ** 1.5

    def _operating_function(self, phi: Array) -> Array:
        """``phi / psi^0.5``: the flow-to-head relation at fixed diameter, increasing with phi."""
        return phi / np.sqrt(np.maximum(self.psi(phi), 1e-12))

    def _usable_range(self) -> tuple[float, float]:
        lo_env, hi_env = self.envelope_lo, self.envelope_hi
        grid = np.geomspace(lo_env * 0.2, hi_env * 3.0, 4001)
        psi = np.asarray(self.model.psi(grid, self.adjustment.psi_sigma), dtype=float)
        eta = (
            np.asarray(self.model.eta(grid, self.adjustment.eta_sigma), dtype=float)
            + self.adjustment.efficiency_delta
        )
        ok = (psi > 0.05 * float(np.max(psi))) & (eta > 0.02)
        if not self.uses_assumed_npsh3:
            ok &= np.asarray(self.model.sigma3(grid, self.adjustment.sigma3_sigma), dtype=float) > 0.0
        safe_psi = np.where(psi > 0, psi, np.nan)
        h = grid / safe_psi**1.5
        k = grid / np.sqrt(safe_psi)
        increasing = np.ones_like(ok)
        increasing[1:] = (np.diff(h) > 0) & (np.diff(k) > 0)
        ok &= increasing
        start = int(np.argmin(np.abs(grid - self.model.best_efficiency_phi())))
        if not ok[start]:
            return lo_env, hi_env
        i = start
        while i > 0 and ok[i - 1]:
            i -= 1
        j = start
        while j < len(grid) - 1 and ok[j + 1]:
            j += 1
        return float(grid[i]), float(grid[j])

    # solvers --------------------------------------------------------------------------
    def _solve(self, func: Any, table: Array, target: Array, f_lo: float, f_hi: float) -> Array:
        """Solve ``func(phi) = target`` for an increasing ``func`` roughly proportional to phi.

        Inverse interpolation in a fine log-spaced table of ``func`` gives the root to about 1e-6,
        two Newton steps polish it to rounding. Outside the bracket the answer is extended
        proportionally (``phi = edge * target / f(edge)``), so a duty the curves cannot meet gives a phi
        beyond the bracket and a negative envelope constraint, continuously, instead of a silent clip.
        """
        target = np.asarray(target, dtype=float)
        inside = np.clip(target, f_lo, f_hi)
        log_phi = np.interp(np.log(inside), np.log(table), np.log(self._phi_table))
        phi = np.exp(log_phi)
        for _ in range(2):
            h = 1e-6 * phi
            slope = (func(phi + h) - func(phi - h)) / (2.0 * h)
            phi = np.clip(phi - (func(phi) - inside) / slope, self.phi_lo, self.phi_hi)
        phi = np.where(target < f_lo, self.phi_lo * target / f_lo, phi)
        phi = np.where(target > f_hi, self.phi_hi * target / f_hi, phi)
        return phi

    def design_phi(self, specific_speed_squared: Array) -> Array:
        """Flow coefficient at which the pump runs at the given squared specific speed."""
        return self._solve(
            self._design_function, self._h_table, specific_speed_squared, self._h_lo, self._h_hi
        )

    def operating_phi(self, flow_to_head: Array) -> Array:
        """Flow coefficient at which a pump of fixed diameter meets ``Q sqrt(rho) / (D^2 sqrt(dp))``."""
        return self._solve(self._operating_function, self._k_table, flow_to_head, self._k_lo, self._k_hi)

    def clip(self, phi: Array) -> Array:
        return np.clip(phi, self.phi_lo, self.phi_hi)

    def drive_efficiency(self, speed_fraction: Array, load_fraction: Array, fallback: float) -> Array:
        if self.model.drive is None:
            eta = np.full(np.broadcast(speed_fraction, load_fraction).shape, fallback)
        else:
            eta = self.model.drive.efficiency(speed_fraction, load_fraction)
        return np.clip(eta + self.adjustment.drive_efficiency_delta, 0.02, 1.0)


@dataclass
class PumpBatch:
    """One propellant's pump over all designs (rows) and points (columns; column 0 = design point)."""

    flow_m3_s: Array
    mass_flow_kg_s: Array
    pressure_rise_pa: Array
    required_pressure_rise_pa: Array
    discharge_pressure_pa: Array
    tank_pressure_pa: Array
    inlet_pressure_pa: Array
    phi: Array
    speed_rpm: Array
    diameter_m: Array
    efficiency: Array
    shaft_power_w: Array
    drive_efficiency: Array
    electrical_power_w: Array
    npsha_m: Array
    npsh3_m: Array
    tip_speed_m_s: Array
    drive_map_covered: NDArray[np.bool_]


@dataclass
class MassBatch:
    """Masses (kg) of one feed option for every design row."""

    usable_propellant_kg: Array
    residual_and_reserve_kg: Array
    fuel_tank_kg: Array
    oxidiser_tank_kg: Array
    pressurant_gas_kg: Array
    pressurant_tank_kg: Array
    pumps_kg: Array
    motors_kg: Array
    inverters_kg: Array
    battery_kg: Array
    fixed_hardware_kg: Array
    fuel_tank_volume_m3: Array
    oxidiser_tank_volume_m3: Array
    pressurant_bottle_volume_m3: Array
    fuel_tank_design_pressure_pa: Array
    oxidiser_tank_design_pressure_pa: Array
    burn_time_s: Array
    battery_energy_limited: NDArray[np.bool_]
    converged: NDArray[np.bool_]

    @property
    def dry_kg(self) -> Array:
        """Propulsion-system hardware without propellant or pressurant gas."""
        return (
            self.fuel_tank_kg
            + self.oxidiser_tank_kg
            + self.pressurant_tank_kg
            + self.pumps_kg
            + self.motors_kg
            + self.inverters_kg
            + self.battery_kg
            + self.fixed_hardware_kg
        )

    @property
    def total_kg(self) -> Array:
        """Loaded propulsion-system mass: hardware, pressurant and all propellant carried."""
        return self.dry_kg + self.pressurant_gas_kg + self.usable_propellant_kg + self.residual_and_reserve_kg

    def breakdown(self, row: int = 0) -> dict[str, float]:
        """Mass breakdown of one design (kg), with the dry and total sums."""
        names = (
            "usable_propellant_kg",
            "residual_and_reserve_kg",
            "fuel_tank_kg",
            "oxidiser_tank_kg",
            "pressurant_gas_kg",
            "pressurant_tank_kg",
            "pumps_kg",
            "motors_kg",
            "inverters_kg",
            "battery_kg",
            "fixed_hardware_kg",
        )
        out = {name: float(getattr(self, name)[row]) for name in names}
        out["dry_kg"] = float(self.dry_kg[row])
        out["total_kg"] = float(self.total_kg[row])
        return out


@dataclass
class ElectricBatch:
    """Evaluation of electric-pump-fed designs (one row per design)."""

    designs: Array
    isp_s: Array
    throttle: Array
    duration_fraction: Array
    fuel: PumpBatch
    oxidiser: PumpBatch
    masses: MassBatch
    peak_electrical_power_w: Array
    electrical_energy_j: Array
    constraints: Array
    constraint_names: list[str]
    uses_assumed_npsh3: bool
    phi_bracket: tuple[float, float]

    @property
    def total_mass_kg(self) -> Array:
        return self.masses.total_kg

    def feasible(self, tolerance: float = 1e-6) -> NDArray[np.bool_]:
        return np.all(self.constraints >= -tolerance, axis=1) & self.masses.converged

    def worst_constraint(self, row: int = 0) -> tuple[str, float]:
        i = int(np.argmin(self.constraints[row]))
        return self.constraint_names[i], float(self.constraints[row, i])


@dataclass
class PressureFedBatch:
    """Evaluation of pressure-fed designs (one row per chamber pressure)."""

    chamber_pressure_pa: Array
    isp_s: Array
    fuel_tank_pressure_pa: Array
    oxidiser_tank_pressure_pa: Array
    masses: MassBatch
    constraints: Array = field(default_factory=lambda: np.zeros((0, 0)))
    constraint_names: list[str] = field(default_factory=list)

    @property
    def total_mass_kg(self) -> Array:
        return self.masses.total_kg

    def feasible(self, tolerance: float = 1e-6) -> NDArray[np.bool_]:
        return np.all(self.constraints >= -tolerance, axis=1) & self.masses.converged


# ------------------------------------------------------------------------------------ helpers


def _profile(inputs: SizingInputs) -> tuple[Array, Array]:
    """Throttle of each point (design point first) and duration fraction of each segment."""
    segments = inputs.engine.throttle_profile
    throttle = np.array([1.0] + [s.throttle for s in segments])
    tau = np.array([s.duration_fraction for s in segments])
    return throttle, tau / tau.sum()


def _expelled_fraction(throttle_segments: Array, tau: Array) -> Array:
    """Fraction of the usable propellant expelled by the end of each segment."""
    used = throttle_segments * tau
    return np.cumsum(used) / used.sum()


def _rocket_ratio(inputs: SizingInputs, isp: Array) -> Array:
    dv = inputs.mission.delta_v_m_s or 0.0
    return np.exp(dv / (G0 * isp))


def _size_masses(
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
) -> tuple[MassBatch, Array]:
    """Tanks, pressurant, battery and propellant for every row; returns masses and the bottle margin.

    ``energy_per_usable_kg`` is the electrical energy the burn draws per kg of usable propellant (the
    burn time grows with the propellant). The delta-v case iterates to a fixed point.
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
    r = eng.mixture_ratio
    f_rr = margins.residual_fraction + margins.reserve_fraction
    mdot1 = comp.mass_flow_kg_s(eng.thrust_n, isp)
    throttle, tau = _profile(inputs)
    zero = np.zeros(n)
    fixed = electric_fixed_kg or {"pumps_kg": zero, "motors_kg": zero, "inverters_kg": zero}
    spec_energy_j_kg = elec.battery_specific_energy_wh_kg * comp.JOULES_PER_WATT_HOUR
    poly = press.polytropic_exponent
    bottle_margin = np.ones(n)
    if not blowdown:
        assert regulated_pressure_f is not None and regulated_pressure_o is not None
        final_bottle = np.maximum(regulated_pressure_f, regulated_pressure_o) + press.regulator_drop_pa
        bottle_margin = (press.storage_pressure_pa - final_bottle) / press.storage_pressure_pa
        usable_fraction = np.maximum(1.0 - final_bottle / press.storage_pressure_pa, 1e-3)

    def masses_for(usable: Array) -> dict[str, Array]:
        usable_f = usable / (1.0 + r)
        usable_o = usable * r / (1.0 + r)
        liquid_f = usable_f * (1.0 + f_rr) / rho_f
        liquid_o = usable_o * (1.0 + f_rr) / rho_o
        if blowdown:
            ullage_f = comp.blowdown_initial_ullage_m3(usable_f / rho_f, press.blowdown_ratio, poly)
            ullage_o = comp.blowdown_initial_ullage_m3(usable_o / rho_o, press.blowdown_ratio, poly)
            vol_f = liquid_f + ullage_f
            vol_o = liquid_o + ullage_o
            gas = comp.ideal_gas_mass_kg(
                tank_design_pressure_f, ullage_f, press.gas_constant_j_kg_k, press.temperature_k
            ) + (
                comp.ideal_gas_mass_kg(
                    tank_design_pressure_o, ullage_o, press.gas_constant_j_kg_k, press.temperature_k
                )
            )
            bottle_volume = np.zeros(n)
            bottle = np.zeros(n)
        else:
            vol_f = liquid_f * (1.0 + margins.ullage_fraction)
            vol_o = liquid_o * (1.0 + margins.ullage_fraction)
            pv = regulated_pressure_f * vol_f + regulated_pressure_o * vol_o
            gas = pv / (press.gas_constant_j_kg_k * press.temperature_k) * poly / usable_fraction
            bottle_volume = comp.pressurant_bottle_volume_m3(
                gas, press.storage_pressure_pa, press.gas_constant_j_kg_k, press.temperature_k
            )
            bottle = comp.sphere_tank_mass_kg(
                bottle_volume,
                press.storage_pressure_pa,
                press.tank_material.density_kg_m3,
                press.tank_material.allowable_stress_pa,
                press.tank_safety_factor,
                press.tank_min_wall_thickness_m,
            )
        design_f = tank_design_pressure_f + comp.hydrostatic_pressure_pa(
            rho_f,
            tanks.max_acceleration_m_s2,
            comp.tank_height_m(vol_f, tanks.shape, tanks.length_to_diameter),
        )
        design_o = tank_design_pressure_o + comp.hydrostatic_pressure_pa(
            rho_o,
            tanks.max_acceleration_m_s2,
            comp.tank_height_m(vol_o, tanks.shape, tanks.length_to_diameter),
        )
        material = tanks.material
        tank_f = comp.tank_mass_kg(
            vol_f,
            design_f,
            material.density_kg_m3,
            material.allowable_stress_pa,
            tanks.safety_factor,
            tanks.shape,
            tanks.length_to_diameter,
            tanks.min_wall_thickness_m,
        )
        tank_o = comp.tank_mass_kg(
            vol_o,
            design_o,
            material.density_kg_m3,
            material.allowable_stress_pa,
            tanks.safety_factor,
            tanks.shape,
            tanks.length_to_diameter,
            tanks.min_wall_thickness_m,
        )
        if energy_per_usable_kg is not None and peak_power_w is not None:
            energy = energy_per_usable_kg * usable
            eta_d = comp.discharge_efficiency(
                peak_power_w, energy, elec.battery_discharge_efficiency, elec.battery_rate_derating_per_c
            )
            battery = comp.battery_mass_kg(
                peak_power_w,
                energy,
                elec.battery_specific_power_w_kg,
                spec_energy_j_kg,
                elec.battery_packing_factor,
                eta_d,
            )
            energy_limited = comp.battery_is_energy_limited(
                peak_power_w, energy, elec.battery_specific_power_w_kg, spec_energy_j_kg, eta_d
            )
        else:
            battery = np.zeros(n)
            energy_limited = np.zeros(n, dtype=bool)
        return {
            "usable": usable,
            "rr": usable * f_rr,
            "tank_f": np.asarray(tank_f),
            "tank_o": np.asarray(tank_o),
            "gas": np.asarray(gas),
            "bottle": np.asarray(bottle),
            "battery": np.asarray(battery),
            "vol_f": vol_f,
            "vol_o": vol_o,
            "bottle_volume": np.asarray(bottle_volume),
            "design_f": np.asarray(design_f),
            "design_o": np.asarray(design_o),
            "energy_limited": np.asarray(energy_limited),
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
            if np.all(change < _MASS_TOLERANCE):
                break
        converged = (change < 1e-6) & (closable > 0) & np.isfinite(usable)

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
        battery_energy_limited=m["energy_limited"],
        converged=converged,
    )
    return batch, bottle_margin


def _pump_side(
    curves: PumpCurves,
    inputs: SizingInputs,
    density: float,
    vapour_pressure: float,
    full_mass_flow: Array,
    throttle: Array,
    tank_pressure: Array,
    discharge_pressure: Array,
    speed_rpm: Array,
) -> PumpBatch:
    """Size one pump by similarity and run it over every point of the burn."""
    adj = curves.adjustment
    mass_flow = full_mass_flow[:, None] * throttle[None, :]
    flow = mass_flow / density * adj.flow_factor
    inlet = tank_pressure - inputs.engine.suction_line_loss_pa * throttle[None, :] ** 2
    required_rise = discharge_pressure - inlet + adj.extra_pressure_rise_pa
    rise = np.maximum(required_rise, 1e-3 * discharge_pressure)
    n_design = speed_rpm / 60.0
    specific_speed_sq = n_design**2 * flow[:, 0] / (rise[:, 0] / density) ** 1.5
    phi_design = curves.design_phi(specific_speed_sq)
    diameter = np.cbrt(flow[:, 0] / (phi_design * n_design))
    flow_to_head = flow * np.sqrt(density) / (diameter[:, None] ** 2 * np.sqrt(rise))
    phi = curves.operating_phi(flow_to_head)
    phi[:, 0] = phi_design
    n_rev_s = flow / (phi * diameter[:, None] ** 3)
    phi_eval = curves.clip(phi)
    eta = curves.eta(phi_eval)
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
    """Evaluate electric-pump-fed designs; ``designs`` has one row per design in DESIGN_VARIABLES order."""
    model = pump_model if pump_model is not None else PumpModel.default()
    adj = adjustment if adjustment is not None else CurveAdjustment()
    if curves is None:
        curves = PumpCurves(model, adj, inputs.electric.assumed_suction_specific_speed, extrapolate)
    x = np.atleast_2d(np.asarray(designs, dtype=float))
    pc, pt_f, pt_o, n_f, n_o = (x[:, i] for i in range(5))
    eng, props, press, elec = inputs.engine, inputs.propellants, inputs.pressurant, inputs.electric
    isp = np.asarray(eng.isp_at(pc), dtype=float)
    mdot1 = np.asarray(comp.mass_flow_kg_s(eng.thrust_n, isp))
    r = eng.mixture_ratio
    throttle, tau = _profile(inputs)
    blowdown = press.mode == "blowdown"

    if blowdown:
        r0 = 1.0 / (press.blowdown_ratio ** (1.0 / press.polytropic_exponent) - 1.0)
        expelled = _expelled_fraction(throttle[1:], tau)
        relative = press.blowdown_ratio * (r0 / (r0 + expelled)) ** press.polytropic_exponent
        relative = np.concatenate([[1.0], relative])  # design point at the final (lowest) pressure
        tank_f = pt_f[:, None] * relative[None, :]
        tank_o = pt_o[:, None] * relative[None, :]
        max_f, max_o = pt_f * press.blowdown_ratio, pt_o * press.blowdown_ratio
    else:
        tank_f = np.repeat(pt_f[:, None], throttle.size, axis=1)
        tank_o = np.repeat(pt_o[:, None], throttle.size, axis=1)
        max_f, max_o = pt_f, pt_o

    discharge_f = np.asarray(
        comp.required_discharge_pressure_pa(
            pc[:, None], throttle[None, :], eng.injector_drop_fraction, eng.fuel_line_loss_pa
        )
    )
    discharge_o = np.asarray(
        comp.required_discharge_pressure_pa(
            pc[:, None], throttle[None, :], eng.injector_drop_fraction, eng.oxidiser_line_loss_pa
        )
    )
    fuel = _pump_side(
        curves,
        inputs,
        props.fuel_density_kg_m3,
        props.fuel_vapour_pressure_pa,
        mdot1 / (1.0 + r),
        throttle,
        tank_f,
        discharge_f,
        n_f,
    )
    ox = _pump_side(
        curves,
        inputs,
        props.oxidiser_density_kg_m3,
        props.oxidiser_vapour_pressure_pa,
        mdot1 * r / (1.0 + r),
        throttle,
        tank_o,
        discharge_o,
        n_o,
    )

    shaft_max_f = np.max(fuel.shaft_power_w, axis=1)
    shaft_max_o = np.max(ox.shaft_power_w, axis=1)
    el_max_f = np.max(fuel.electrical_power_w, axis=1)
    el_max_o = np.max(ox.electrical_power_w, axis=1)
    if model.drive is None:
        motor_in_f = shaft_max_f / elec.motor_efficiency
        motor_in_o = shaft_max_o / elec.motor_efficiency
    else:
        motor_in_f, motor_in_o = el_max_f, el_max_o
    if elec.pump_mass_model == "size":
        pumps = elec.pump_size_coefficient_kg_m3 * (fuel.diameter_m**3 + ox.diameter_m**3)
    else:
        pumps = (shaft_max_f + shaft_max_o) / elec.pump_specific_power_w_kg
    fixed = {
        "pumps_kg": pumps,
        "motors_kg": (shaft_max_f + shaft_max_o) / elec.motor_specific_power_w_kg,
        "inverters_kg": (motor_in_f + motor_in_o) / elec.inverter_specific_power_w_kg,
    }
    total_power = fuel.electrical_power_w + ox.electrical_power_w
    peak_power = np.max(total_power, axis=1)
    mean_power = np.sum(total_power[:, 1:] * tau[None, :], axis=1)
    mean_throttle = float(np.sum(throttle[1:] * tau))
    # Burn time = usable / (mdot1 * mean throttle), so energy per kg of usable propellant:
    energy_per_kg = mean_power / (mdot1 * mean_throttle)

    masses, bottle_margin = _size_masses(
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
    )
    energy = energy_per_kg * masses.usable_propellant_kg

    names: list[str] = []
    columns: list[Array] = []
    span = curves.envelope_hi - curves.envelope_lo
    lo_c, hi_c = (
        (curves.phi_lo, curves.phi_hi) if curves.extrapolate else (curves.envelope_lo, curves.envelope_hi)
    )
    margin = inputs.margins.npsh_margin
    for label, pump in (("fuel", fuel), ("oxidiser", ox)):
        for j in range(throttle.size):
            point = "design point" if j == 0 else f"segment {j}"
            names.append(f"{label} NPSHA >= {margin:g} x NPSH3 at {point}")
            columns.append(pump.npsha_m[:, j] / (margin * pump.npsh3_m[:, j]) - 1.0)
            names.append(f"{label} flow coefficient >= {lo_c:.4g} at {point}")
            columns.append((pump.phi[:, j] - lo_c) / span)
            names.append(f"{label} flow coefficient <= {hi_c:.4g} at {point}")
            columns.append((hi_c - pump.phi[:, j]) / span)
            names.append(f"{label} pump pressure rise > 0 at {point}")
            columns.append(pump.required_pressure_rise_pa[:, j] / pump.discharge_pressure_pa[:, j] - 0.02)
    if not blowdown:
        names.append("pressurant bottle pressure above regulator inlet need")
        columns.append(bottle_margin)
    if np.isfinite(elec.max_electrical_power_w):
        names.append(f"peak electrical power <= {elec.max_electrical_power_w:g} W")
        columns.append((elec.max_electrical_power_w - peak_power) / elec.max_electrical_power_w)
    names.append("rocket equation closes (mass iteration converged)")
    columns.append(np.where(masses.converged, 1.0, -1.0))

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
        constraints=np.stack(columns, axis=1),
        constraint_names=names,
        uses_assumed_npsh3=curves.uses_assumed_npsh3,
        phi_bracket=(lo_c, hi_c),
    )


def evaluate_pressure_fed(inputs: SizingInputs, chamber_pressure_pa: ArrayLike) -> PressureFedBatch:
    """Evaluate the pressure-fed baseline at one or more chamber pressures (regulated pressurant)."""
    pc = np.atleast_1d(np.asarray(chamber_pressure_pa, dtype=float))
    eng = inputs.engine
    isp = np.asarray(eng.isp_at(pc), dtype=float)
    suction = eng.suction_line_loss_pa
    p_f = np.asarray(
        comp.pressure_fed_tank_pressure_pa(pc, eng.injector_drop_fraction, eng.fuel_line_loss_pa + suction)
    )
    p_o = np.asarray(
        comp.pressure_fed_tank_pressure_pa(
            pc, eng.injector_drop_fraction, eng.oxidiser_line_loss_pa + suction
        )
    )
    masses, bottle_margin = _size_masses(inputs, isp, p_f, p_o, p_f, p_o, False, None, None, None)
    constraints = np.stack([bottle_margin, np.where(masses.converged, 1.0, -1.0)], axis=1)
    return PressureFedBatch(
        chamber_pressure_pa=pc,
        isp_s=isp,
        fuel_tank_pressure_pa=p_f,
        oxidiser_tank_pressure_pa=p_o,
        masses=masses,
        constraints=constraints,
        constraint_names=[
            "pressurant bottle pressure above regulator inlet need",
            "rocket equation closes (mass iteration converged)",
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


def size_pressure_fed(inputs: SizingInputs, chamber_pressure_pa: float) -> PressureFedBatch:
    """Size the pressure-fed baseline at one chamber pressure (use ``.masses.breakdown()``)."""
    return evaluate_pressure_fed(inputs, np.array([chamber_pressure_pa]))
