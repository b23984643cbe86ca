"""Water stands in for propellant on the bench: the similarity mapping and its limits.

A centrifugal pump's hydraulics are a function of its speed ``n``, flow ``Q`` and the energy per
unit mass it gives the liquid, ``g H``; the density only multiplies the pressures and powers
(``dp = rho g H``, ``P_h = rho g Q H``). So the bench runs the pump at the flight speed and the
flight volumetric flow, and then:

* heads are carried over in metres: the bench's pressure rise is the flight pressure rise times
  ``rho_bench / rho_flight``;
* NPSH is carried over in metres: the bench's inlet pressure is set so its NPSH available equals the
  flight NPSH available, ``p1 = p_v,bench + rho_bench g0 NPSHA - rho_bench v1^2 / 2``;
* hydraulic and shaft power scale with density: ``P_flight = P_bench rho_flight / rho_bench`` at the
  same efficiency. The motor's losses depend on torque (current) and speed, and torque scales with
  density too, so the drive efficiency is read at a torque different by the density ratio: the
  mapped electrical power is exact for the pump and approximate for the drive (a denser flight
  liquid loads the motor more than the bench does; with MMH, 0.88 times water, the bench motor is
  slightly over-loaded, which is conservative).

Limits, stated with each mapped figure in the report:

* Viscosity: the pump Reynolds number ``Re = n D^2 / nu`` (n in rev/s) differs by the ratio of
  kinematic viscosities. Disc friction and leakage losses fall slowly with Re (efficiency
  scale-up laws such as Moody's ``(1 - eta) ~ Re^-0.1 .. -0.2``); above about 1e6 the effect is a
  percent or two. MMH (about 0.97 mm2/s at 20 degC) is nearly water's 1.0 mm2/s; MON-3 (about
  0.29 mm2/s) has a Reynolds number 3.4 times higher in flight, so the bench's efficiency is
  slightly pessimistic for the oxidiser.
* Thermodynamic suppression of cavitation: in a liquid whose vapour pressure rises steeply with
  temperature (cryogens, hot liquids), the vapour cavity cools the liquid around it, which suppresses
  cavitation and lowers the NPSH3 below the cold-water value (Stepanoff's B-factor; Brennen,
  Hydrodynamics of Pumps, ch. 6). Water at room temperature has almost none, so the bench's NPSH3 is
  the conservative value; storable propellants near room temperature behave like cold water.
* Temperature rise: the energy the pump adds raises the liquid's temperature by
  ``g H (1 - eta) / (eta c_p)`` at the outlet; it is the same in both liquids only when their
  specific heats are alike (not checked).

Pure functions; imports :mod:`hil.core` only.
"""

from __future__ import annotations

from dataclasses import dataclass

from hil.core.fluids import STANDARD_GRAVITY_M_S2

__all__ = [
    "FLUID_KINEMATIC_VISCOSITY_M2_S",
    "Similarity",
    "pump_reynolds_number",
]

G0 = STANDARD_GRAVITY_M_S2

FLUID_KINEMATIC_VISCOSITY_M2_S: dict[str, float] = {
    "water": 1.00e-6,
    "MMH": 0.97e-6,
    "MON-3": 0.29e-6,
    "N2O4": 0.29e-6,
    "hydrazine": 0.91e-6,
}
"""Kinematic viscosity near 20 degC, for the Reynolds-number limit only (not used in any pressure):
water 1.002 mPa s / 998 kg/m3 (IAPWS); MMH 0.85 mPa s / 875 kg/m3, hydrazine 0.91 mPa s / 1004 kg/m3,
N2O4 0.42 mPa s / 1443 kg/m3 (USAF Propellant Handbooks, AFRPL-TR-69-149 and AFRPL-TR-77-71); MON-3 is
taken as N2O4."""


def pump_reynolds_number(
    speed_rpm: float, impeller_diameter_m: float, kinematic_viscosity_m2_s: float
) -> float:
    """``Re = n D^2 / nu`` with n in revolutions per second (the machine Reynolds number)."""
    return speed_rpm / 60.0 * impeller_diameter_m**2 / kinematic_viscosity_m2_s


@dataclass(frozen=True)
class Similarity:
    """The mapping between one flight propellant and the bench liquid at their temperatures."""

    flight_density_kg_m3: float
    flight_vapour_pressure_pa: float
    bench_density_kg_m3: float
    bench_vapour_pressure_pa: float

    @property
    def density_ratio(self) -> float:
        """``rho_bench / rho_flight``: multiplies flight pressure differences into bench ones."""
        return self.bench_density_kg_m3 / self.flight_density_kg_m3

    # heads ----------------------------------------------------------------------------------
    def flight_head_m(self, flight_pressure_rise_pa: float) -> float:
        return flight_pressure_rise_pa / (self.flight_density_kg_m3 * G0)

    def bench_head_m(self, bench_pressure_rise_pa: float) -> float:
        return bench_pressure_rise_pa / (self.bench_density_kg_m3 * G0)

    def bench_pressure_rise_pa(self, flight_pressure_rise_pa: float) -> float:
        """The bench pressure rise with the same head in metres."""
        return flight_pressure_rise_pa * self.density_ratio

    def flight_pressure_rise_pa(self, bench_pressure_rise_pa: float) -> float:
        return bench_pressure_rise_pa / self.density_ratio

    # NPSH -----------------------------------------------------------------------------------
    def bench_inlet_pressure_pa(self, npsha_m: float, bench_inlet_velocity_m_s: float = 0.0) -> float:
        """Static inlet pressure (absolute) that gives the bench ``npsha_m`` of NPSH available."""
        rho = self.bench_density_kg_m3
        return self.bench_vapour_pressure_pa + rho * G0 * npsha_m - 0.5 * rho * bench_inlet_velocity_m_s**2

    def bench_npsha_m(self, bench_inlet_pressure_pa: float, bench_inlet_velocity_m_s: float = 0.0) -> float:
        rho = self.bench_density_kg_m3
        return (bench_inlet_pressure_pa - self.bench_vapour_pressure_pa) / (
            rho * G0
        ) + bench_inlet_velocity_m_s**2 / (2.0 * G0)

    # power ----------------------------------------------------------------------------------
    def flight_power_w(self, bench_power_w: float) -> float:
        """Hydraulic or shaft power in flight from the bench's, at the same efficiency."""
        return bench_power_w / self.density_ratio

    def flight_mass_flow_kg_s(self, volume_flow_m3_s: float) -> float:
        return volume_flow_m3_s * self.flight_density_kg_m3
