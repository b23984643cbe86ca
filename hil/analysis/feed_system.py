"""The rest of the lander's feed system, as the pump would see it in flight: a real-time boundary model.

A pump on the bench is one part of a feed system. To test it as it will fly, every tick of a
mission-profile run asks this module what the rest of the system imposes at that instant of the
burn, given what the pump delivers:

* :class:`Burn`: the descent burn in time. Thrust follows the mission's throttle profile; the
  lander's mass falls as propellant is drawn; the acceleration the liquid in the tanks feels is
  ``a = F / m`` (in free flight gravity acts on the tank and the liquid alike, so only the thrust
  loads the liquid column).
* :class:`Engine`: downstream of the pump. The chamber pressure follows the propellant mass flow
  delivered, ``p_c = mdot c* / A_t`` (fixed throat, constant c*); the injector and the cooling and
  line losses of this propellant's side grow with the square of its flow. Their sum is the pressure
  the pump must deliver at its discharge.
* :class:`Tank`: upstream. The ullage pressure is regulated (constant) or blows down as the
  propellant is drawn (``p V^n`` constant); the liquid column above the tank outlet, under the
  current acceleration, adds ``rho a h``; the suction line loses its loss at full flow times the
  square of the flow fraction. Less the vapour pressure, in metres at standard gravity, that is the
  NPSH available at the pump inlet.

The relations are the ones :mod:`hil.model.sizing` sizes the stage with (the same throttle profile,
``f p_c + (k_inj p_c + dp_line) f^2`` at throttle ``f``, the same blowdown law), evaluated at the
pump's actual delivered flow instead of the nominal one, so that a pump that falls short of its flow
lowers the chamber pressure it has to work against, as it would in flight.

Heads are in metres at standard gravity (``dp / (rho g0)``), like every pump head in the harness:
what a pump does is energy per unit mass, and g0 is only the unit.

Pure functions and frozen dataclasses; imports :mod:`hil.core` only (no instruments, no runner, no
sizing model: :mod:`hil.model.flight_case` builds these from a sized stage, and the derive step
rebuilds them from the numbers a run recorded).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from hil.core.fluids import STANDARD_GRAVITY_M_S2

__all__ = [
    "CHARACTERISTIC_VELOCITY_M_S",
    "Burn",
    "Engine",
    "Tank",
    "sphere_liquid_height_m",
]

G0 = STANDARD_GRAVITY_M_S2

CHARACTERISTIC_VELOCITY_M_S = 1650.0
"""Default c* for MMH / N2O4-family engines: the theoretical value near mixture ratio 1.6-2 is about
1720 m/s (Sutton and Biblarz, Rocket Propulsion Elements, table of propellant performance), and small
throttleable engines deliver about 95 % of it. Only ``c* / A_t`` enters the chamber pressure, and the
throat is sized so the engine runs at its design chamber pressure at full thrust, so this value sets
the throat area reported, not the pressures."""


@dataclass(frozen=True)
class Burn:
    """The descent burn: throttle, thrust, mass and the liquid's acceleration against time.

    ``segments`` are ``(duration_s, throttle)`` in order; the mass flow is the full-thrust mass flow
    times the throttle (constant Isp over the throttle range, as the sizing model takes it).
    """

    full_thrust_n: float
    full_mass_flow_kg_s: float
    initial_mass_kg: float
    segments: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        if not self.segments or any(d <= 0.0 or not 0.0 < f <= 1.0 for d, f in self.segments):
            raise ValueError("a burn needs segments of positive duration at throttles in (0, 1]")
        if self.expelled_mass_kg(self.duration_s) >= self.initial_mass_kg:
            raise ValueError("the burn would expel more mass than the lander has")

    @property
    def duration_s(self) -> float:
        return sum(d for d, _ in self.segments)

    def throttle_at(self, time_s: float) -> float:
        """Thrust fraction commanded at ``time_s`` (the last segment's after the end, 0 before start)."""
        if time_s < 0.0:
            return 0.0
        start = 0.0
        for duration, throttle in self.segments:
            if time_s < start + duration:
                return throttle
            start += duration
        return self.segments[-1][1]

    def segment_starts_s(self) -> list[float]:
        starts, t = [], 0.0
        for duration, _ in self.segments:
            starts.append(t)
            t += duration
        return starts

    def expelled_mass_kg(self, time_s: float) -> float:
        """Propellant burned (both sides) from ignition to ``time_s``."""
        used, start = 0.0, 0.0
        t = max(time_s, 0.0)
        for duration, throttle in self.segments:
            span = min(max(t - start, 0.0), duration)
            used += span * throttle * self.full_mass_flow_kg_s
            start += duration
        if t > start:
            used += (t - start) * self.segments[-1][1] * self.full_mass_flow_kg_s
        return used

    def mass_kg(self, time_s: float) -> float:
        return self.initial_mass_kg - self.expelled_mass_kg(time_s)

    def acceleration_m_s2(self, time_s: float) -> float:
        """Thrust over current mass: the acceleration the liquid column in a tank feels."""
        return self.full_thrust_n * self.throttle_at(time_s) / self.mass_kg(time_s)


@dataclass(frozen=True)
class Engine:
    """Downstream of one propellant's pump: chamber, injector and lines.

    ``side_fraction`` is this propellant's share of the total mass flow (``1 / (1 + r)`` for the
    fuel, ``r / (1 + r)`` for the oxidiser). The other side is taken to deliver its nominal flow at
    the commanded throttle (its own pump is not on this bench).
    """

    design_chamber_pressure_pa: float
    full_mass_flow_kg_s: float
    side_fraction: float
    injector_drop_fraction: float
    line_loss_pa: float
    characteristic_velocity_m_s: float = CHARACTERISTIC_VELOCITY_M_S

    @property
    def throat_area_m2(self) -> float:
        """``A_t = mdot c* / p_c`` at full thrust and design chamber pressure."""
        return self.full_mass_flow_kg_s * self.characteristic_velocity_m_s / self.design_chamber_pressure_pa

    @property
    def side_full_mass_flow_kg_s(self) -> float:
        return self.full_mass_flow_kg_s * self.side_fraction

    def chamber_pressure_pa(self, total_mass_flow_kg_s: float) -> float:
        """``p_c = mdot c* / A_t``."""
        return total_mass_flow_kg_s * self.characteristic_velocity_m_s / self.throat_area_m2

    def required_discharge_pressure_pa(self, side_mass_flow_kg_s: float, throttle: float) -> float:
        """Pump discharge pressure (absolute) that pushes ``side_mass_flow_kg_s`` into the chamber.

        The chamber pressure comes from this side's delivered flow plus the other side's nominal flow
        at ``throttle``; the injector drop is ``k_inj p_c,design`` and the lines ``dp_line`` at full
        flow, both scaled with the square of this side's flow fraction. At the nominal flow this is
        the sizing model's ``f p_c + (k_inj p_c + dp_line) f^2``.
        """
        other = self.full_mass_flow_kg_s * (1.0 - self.side_fraction) * throttle
        flow_fraction = side_mass_flow_kg_s / self.side_full_mass_flow_kg_s
        losses = self.injector_drop_fraction * self.design_chamber_pressure_pa + self.line_loss_pa
        return self.chamber_pressure_pa(side_mass_flow_kg_s + other) + losses * flow_fraction * abs(
            flow_fraction
        )


def sphere_liquid_height_m(liquid_volume_m3: float, radius_m: float) -> float:
    """Depth of liquid in a sphere: solves ``V = pi h^2 (3R - h) / 3`` (a spherical cap) for h.

    With ``f`` the filled fraction of the sphere, ``x = h / R`` solves ``x^3 - 3x^2 + 4f = 0``, whose
    root in ``[0, 2]`` is the trigonometric solution of the depressed cubic,
    ``x = 1 + 2 cos((arccos(1 - 2f) - 2 pi) / 3)``, here in the form ``x = 2 sin^2(phi / 2) + sqrt(3)
    sin(phi)`` with ``phi = 2 asin(sqrt(f)) / 3``, which keeps its digits near empty (no ``1 - 2f`` to
    round, no difference of nearly equal terms). Within a few ulps of the cubic solved in 50 digits, or
    of the volume's own rounding carried to the depth where the liquid surface shrinks near full
    (``tests/unit/test_feed_system.py``). 1.6 us a call; the 60-step bisection it replaced took 22 us
    (the mission-profile procedure calls it three times a tick) and, resolving the depth only to
    2R / 2^60, failed that test near empty.
    """
    full = 4.0 / 3.0 * math.pi * radius_m**3
    v = min(max(liquid_volume_m3, 0.0), full)
    if v <= 0.0:
        return 0.0
    if v >= full:
        return 2.0 * radius_m
    phi = 2.0 / 3.0 * math.asin(math.sqrt(v / full))
    half = math.sin(0.5 * phi)
    return min(radius_m * (2.0 * half * half + math.sqrt(3.0) * math.sin(phi)), 2.0 * radius_m)


@dataclass(frozen=True)
class Tank:
    """Upstream of one propellant's pump: tank, ullage gas, liquid column and suction line.

    ``mode`` 'regulated' holds ``pressure_pa``; 'blowdown' starts at ``pressure_pa`` with
    ``initial_ullage_m3`` of gas and expands it polytropically as liquid leaves. ``shape`` 'sphere'
    uses the spherical-cap depth; 'cylinder' (hemispherical heads) takes the depth proportional to the
    volume, which ignores the heads' curvature (a few per cent of the column near empty and full).
    ``static_head_m`` is the mission's fixed inlet head (``margins.inlet_static_head_m``), in metres
    of NPSH as the sizing model counts it.
    """

    volume_m3: float
    initial_liquid_m3: float
    density_kg_m3: float
    vapour_pressure_pa: float
    pressure_pa: float
    suction_line_loss_pa: float
    full_volume_flow_m3_s: float
    mode: str = "regulated"
    initial_ullage_m3: float = 0.0
    polytropic_exponent: float = 1.3
    shape: str = "sphere"
    length_to_diameter: float = 1.0
    static_head_m: float = 0.0

    def __post_init__(self) -> None:
        if self.mode not in ("regulated", "blowdown"):
            raise ValueError(f"tank mode must be regulated or blowdown, got {self.mode!r}")
        if self.mode == "blowdown" and self.initial_ullage_m3 <= 0.0:
            raise ValueError("a blowdown tank needs a positive initial ullage volume")
        if not 0.0 < self.initial_liquid_m3 <= self.volume_m3:
            raise ValueError("the tank's initial liquid must be positive and fit in the tank")

    def ullage_pressure_pa(self, expelled_m3: float) -> float:
        """Regulated: constant. Blowdown: ``p0 (V0 / (V0 + V_expelled))^n``."""
        if self.mode == "regulated":
            return self.pressure_pa
        v0 = self.initial_ullage_m3
        return self.pressure_pa * (v0 / (v0 + max(expelled_m3, 0.0))) ** self.polytropic_exponent

    def liquid_height_m(self, expelled_m3: float) -> float:
        """Depth of liquid above the tank outlet after ``expelled_m3`` has left."""
        liquid = max(self.initial_liquid_m3 - expelled_m3, 0.0)
        if self.shape == "sphere":
            radius = (3.0 * self.volume_m3 / (4.0 * math.pi)) ** (1.0 / 3.0)
            return sphere_liquid_height_m(liquid, radius)
        # Cylinder with hemispherical heads: V = pi r^2 2r (L/D - 1) + 4/3 pi r^3, overall length 2r L/D.
        ld = self.length_to_diameter
        radius = (self.volume_m3 / (math.pi * (2.0 * (ld - 1.0) + 4.0 / 3.0))) ** (1.0 / 3.0)
        return 2.0 * radius * ld * liquid / self.volume_m3

    def inlet_pressure_pa(self, expelled_m3: float, acceleration_m_s2: float, flow_m3_s: float) -> float:
        """Static pressure at the pump inlet: ullage + ``rho a h`` - suction loss at this flow."""
        fraction = flow_m3_s / self.full_volume_flow_m3_s
        return (
            self.ullage_pressure_pa(expelled_m3)
            + self.density_kg_m3 * acceleration_m_s2 * self.liquid_height_m(expelled_m3)
            - self.suction_line_loss_pa * fraction * abs(fraction)
        )

    def npsha_m(self, expelled_m3: float, acceleration_m_s2: float, flow_m3_s: float) -> float:
        """NPSH available at the pump inlet, metres of this propellant at standard gravity."""
        inlet = self.inlet_pressure_pa(expelled_m3, acceleration_m_s2, flow_m3_s)
        return (inlet - self.vapour_pressure_pa) / (self.density_kg_m3 * G0) + self.static_head_m
