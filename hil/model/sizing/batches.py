"""What an evaluation of the sizing model returns: per-pump, mass and whole-option batches.

Every array has one row per design evaluated (and, for the pumps, one column per point of the burn,
column 0 being the full-thrust design point). Plain containers: the physics is in
:mod:`hil.model.sizing.model` and :mod:`hil.model.sizing.mass_budget`.

Imports nothing from the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np
from numpy.typing import NDArray

__all__ = ["ElectricBatch", "MassBatch", "PressureFedBatch", "PumpBatch"]

Array = NDArray[np.float64]


_PHYSICAL = "masses finite and non-negative"
_CLOSES = "rocket equation closes"
_BOTTLE = "pressurant bottle pressure"


def _worst(names: list[str], values: Array) -> tuple[str, float]:
    """The most violated constraint, named by its cause where one failure implies another.

    A bottle that cannot feed its regulator gives a negative pressurant mass, so the mass iteration
    and the physical-mass check fail with it: the bottle is named. Unphysical masses otherwise yield
    to any other violated constraint.
    """
    order = [int(j) for j in np.argsort(values, kind="stable")]
    i = order[0]
    violated = [j for j in order if values[j] < 0]
    if names[i] == _PHYSICAL or names[i].startswith(_CLOSES):
        bottle = [j for j in violated if names[j].startswith(_BOTTLE)]
        others = [j for j in violated if names[j] != _PHYSICAL]
        if bottle:
            i = bottle[0]
        elif names[i] == _PHYSICAL and others:
            i = others[0]
    return names[i], float(values[i])


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
    head_coefficient: Array
    """``psi = dp / (rho n^2 D^2)`` at every point (the pump's own, before any curve adjustment)."""

    def rows(self, index: slice) -> PumpBatch:
        """The same batch restricted to some rows (views, not copies)."""
        return PumpBatch(**{name: getattr(self, name)[index] for name in _PUMP_FIELDS})

    @property
    def shaft_torque_n_m(self) -> Array:
        """Torque on the pump shaft, ``P / omega`` (N m), at every point."""
        return self.shaft_power_w / (2.0 * np.pi * self.speed_rpm / 60.0)


_PUMP_FIELDS = tuple(f.name for f in fields(PumpBatch))


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
    physical: NDArray[np.bool_] = field(default_factory=lambda: np.ones(1, dtype=bool))
    """Every mass finite and non-negative (false: overflowed or impossible inputs, not a design)."""
    battery_capacity_wh: Array | None = None
    battery_rate_limited: NDArray[np.bool_] | None = None
    fuel_tank_at_min_gauge: NDArray[np.bool_] | None = None
    oxidiser_tank_at_min_gauge: NDArray[np.bool_] | None = None
    pressurant_tank_at_min_gauge: NDArray[np.bool_] | None = None

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
    mixture_ratio: Array = field(default_factory=lambda: np.zeros(0))
    power_basis: dict[str, str] = field(default_factory=dict)
    """Per pump, ``shaft`` or ``electrical``: what ``shaft_power_w`` of that pump really is."""

    @property
    def total_mass_kg(self) -> Array:
        return self.masses.total_kg

    def feasible(self, tolerance: float = 1e-6) -> NDArray[np.bool_]:
        return np.all(self.constraints >= -tolerance, axis=1) & self.masses.converged

    def worst_constraint(self, row: int = 0) -> tuple[str, float]:
        return _worst(self.constraint_names, self.constraints[row])


@dataclass
class PressureFedBatch:
    """Evaluation of pressure-fed designs (one row per chamber pressure)."""

    chamber_pressure_pa: Array
    isp_s: Array
    fuel_tank_pressure_pa: Array
    oxidiser_tank_pressure_pa: Array
    masses: MassBatch
    mixture_ratio: Array
    constraints: Array = field(default_factory=lambda: np.zeros((0, 0)))
    constraint_names: list[str] = field(default_factory=list)

    @property
    def total_mass_kg(self) -> Array:
        return self.masses.total_kg

    def feasible(self, tolerance: float = 1e-6) -> NDArray[np.bool_]:
        return np.all(self.constraints >= -tolerance, axis=1) & self.masses.converged

    def worst_constraint(self, row: int = 0) -> tuple[str, float]:
        return _worst(self.constraint_names, self.constraints[row])
