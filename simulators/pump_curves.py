"""The pump's hydraulic characteristic: pure functions of flow, speed and the plant's parameters.

Head, shaft power and efficiency come from dimensionless curves of the flow coefficient
``phi = Q / (n D^3)`` (n in rev/s, D the impeller diameter):

- head coefficient ``psi(phi) = g H / (n D)^2 = psi0 + psi1 phi + psi2 phi^2`` (a drooping parabola);
- power coefficient ``lambda(phi) = P_shaft / (rho n^3 D^5) = lam0 + lam1 phi + lam2 phi^2``;
- efficiency ``eta(phi) = psi phi / lambda``.

The power coefficients are not free parameters: they are derived so that ``eta`` peaks at the
configured best efficiency at the configured best-efficiency flow coefficient, and so that the power
at shut-off is the configured fraction of the best-efficiency power (disc friction and recirculation
keep a real pump's shut-off power well above zero, which an ``eta(phi)`` curve on its own cannot say:
``P = P_h / eta`` is 0/0 at zero flow). Because everything is a function of ``phi`` alone, the affinity
laws (Q ~ n, H ~ n^2, P ~ n^3, equal efficiency) hold by construction. The polynomials are evaluated
in their dimensional form (``g H = psi0 (nD)^2 + psi1 n Q / D + psi2 Q|Q| / D^4``), which stays
defined at zero speed, where the stopped impeller is simply a flow resistance.

Cavitation: ``NPSH3 = m (tau0 (nD)^2 + tau2 (Q/D^2)^2) / g`` (a coefficient scaled by (nD)^2/g that
rises with phi^2), and the head is multiplied by ``0.97 ** exp(a (1 - NPSHA/NPSH3))``: a factor that is
1 to within 1e-6 when NPSHA is twice NPSH3 (for the default steepness), exactly 0.97 at NPSHA = NPSH3
(the definition of NPSH3), falls steeply below it and tends smoothly to 0; smooth and monotonic, so the
operating-point solve stays well posed. A cavitating pump still absorbs its shaft power (the head
collapses, the churning does not stop), so cavitation lowers the head and the efficiency, not the power.

Wear ("worn impeller"): ``head_degradation_fraction`` scales the head down,
``efficiency_degradation_fraction`` scales the efficiency down (so the shaft power at a given flow
rises by the ratio of the two), and
``npsh3_multiplier`` scales NPSH3.

The plant's time-stepping loop inlines the same polynomials for speed; these functions are the
reference that tests and other code use. The functions take any object with the curve coefficients
(:class:`CurveParameters`; :class:`simulators.plant_parameters.PlantParameters` is one), so this module
imports no other part of the plant and the parameters can check their curves with it.

Imports only :mod:`hil.core.fluids` (for g); must not import drivers/ or the rest of simulators/.
"""

from __future__ import annotations

import math
from typing import Protocol

from hil.core.fluids import STANDARD_GRAVITY_M_S2

GRAVITY_M_S2 = STANDARD_GRAVITY_M_S2
HEAD_DROP_AT_NPSH3 = 0.03
"""The head drop that defines NPSH3 (ISO 9906: NPSH3 is the NPSHA at a 3 % head drop)."""

_FACTOR_AT_NPSH3 = 1.0 - HEAD_DROP_AT_NPSH3
_MAX_BREAKDOWN_EXPONENT = 50.0
"""exp(50) ~ 5e21: 0.97 ** that is exactly 0.0 in floating point, so capping here changes nothing."""


class CurveParameters(Protocol):
    """The coefficients the curves read (read-only attributes of the plant's parameters)."""

    @property
    def impeller_diameter_m(self) -> float: ...
    @property
    def head_coefficient_shutoff(self) -> float: ...
    @property
    def head_coefficient_linear(self) -> float: ...
    @property
    def head_coefficient_quadratic(self) -> float: ...
    @property
    def best_efficiency_flow_coefficient(self) -> float: ...
    @property
    def best_efficiency(self) -> float: ...
    @property
    def shutoff_power_fraction(self) -> float: ...
    @property
    def head_degradation_fraction(self) -> float: ...
    @property
    def efficiency_degradation_fraction(self) -> float: ...
    @property
    def npsh3_multiplier(self) -> float: ...
    @property
    def npsh3_coefficient_shutoff(self) -> float: ...
    @property
    def npsh3_coefficient_flow(self) -> float: ...
    @property
    def cavitation_breakdown_steepness(self) -> float: ...


def speed_rev_s(speed_rpm: float) -> float:
    return speed_rpm / 60.0


def head_coefficient(flow_coefficient: float, params: CurveParameters) -> float:
    """``psi(phi)`` of the new (undegraded) impeller."""
    phi = flow_coefficient
    return params.head_coefficient_shutoff + phi * (
        params.head_coefficient_linear + phi * params.head_coefficient_quadratic
    )


def power_coefficients(params: CurveParameters) -> tuple[float, float, float]:
    """``(lam0, lam1, lam2)`` of the new impeller, derived from the head curve and the best point.

    Three conditions fix them: ``lambda(phi_b) = psi_b phi_b / eta_b`` (efficiency eta_b at phi_b),
    ``d eta/d phi = 0`` at phi_b (so it is the best point), and ``lambda(0) = f lambda(phi_b)`` with f the
    shut-off power fraction.
    """
    phi_b = params.best_efficiency_flow_coefficient
    eta_b = params.best_efficiency
    psi_b = head_coefficient(phi_b, params)
    dpsi_b = params.head_coefficient_linear + 2.0 * params.head_coefficient_quadratic * phi_b
    lam_b = psi_b * phi_b / eta_b
    slope_b = (psi_b + phi_b * dpsi_b) / eta_b
    lam0 = params.shutoff_power_fraction * lam_b
    lam2 = (lam0 + slope_b * phi_b - lam_b) / (phi_b * phi_b)
    lam1 = slope_b - 2.0 * lam2 * phi_b
    return lam0, lam1, lam2


def power_coefficient(flow_coefficient: float, params: CurveParameters) -> float:
    """``lambda(phi) = P_shaft / (rho n^3 D^5)`` of the new impeller."""
    lam0, lam1, lam2 = power_coefficients(params)
    phi = flow_coefficient
    return lam0 + phi * (lam1 + phi * lam2)


def clean_efficiency(flow_coefficient: float, params: CurveParameters) -> float:
    """``eta(phi) = psi phi / lambda`` of the new, non-cavitating impeller."""
    return (
        head_coefficient(flow_coefficient, params)
        * flow_coefficient
        / power_coefficient(flow_coefficient, params)
    )


def cavitation_head_factor(npsha_m: float, npsh3_m: float, steepness: float) -> float:
    """Head multiplier from the NPSH ratio: exactly 0.97 at NPSHA = NPSH3, monotonic, smooth.

    ``0.97 ** exp(a (1 - r))`` with ``r = NPSHA / NPSH3``: the drop is ``0.03 exp(a (1 - r))`` while
    small (negligible well above NPSH3, gradual near it) and saturates smoothly at a total loss of
    head instead of being capped with a kink. With NPSH3 = 0 (pump stopped) there is no cavitation.
    """
    if npsh3_m <= 0.0:
        return 1.0
    exponent = steepness * (1.0 - npsha_m / npsh3_m)
    if exponent > _MAX_BREAKDOWN_EXPONENT:
        exponent = _MAX_BREAKDOWN_EXPONENT
    return _FACTOR_AT_NPSH3 ** math.exp(exponent)


def npsh3_m(flow_m3_s: float, speed_rpm: float, params: CurveParameters) -> float:
    """NPSH required for a 3 % head drop at this flow and speed (including the wear multiplier)."""
    n = speed_rev_s(speed_rpm)
    d = params.impeller_diameter_m
    tip = n * d
    throat = flow_m3_s / (d * d)
    return (
        params.npsh3_multiplier
        * (params.npsh3_coefficient_shutoff * tip * tip + params.npsh3_coefficient_flow * throat * throat)
        / GRAVITY_M_S2
    )


def clean_head_m(flow_m3_s: float, speed_rpm: float, params: CurveParameters) -> float:
    """Head of the new, non-cavitating impeller (dimensional form, defined at zero speed)."""
    n = speed_rev_s(speed_rpm)
    d = params.impeller_diameter_m
    q = flow_m3_s
    return (
        params.head_coefficient_shutoff * n * n * d * d
        + params.head_coefficient_linear * n * q / d
        + params.head_coefficient_quadratic * q * abs(q) / d**4
    ) / GRAVITY_M_S2


def pump_head_m(
    flow_m3_s: float, speed_rpm: float, params: CurveParameters, npsha_m: float = math.inf
) -> float:
    """Pump total head at this flow and speed, with wear and (if ``npsha_m`` is given) cavitation."""
    head = clean_head_m(flow_m3_s, speed_rpm, params) * (1.0 - params.head_degradation_fraction)
    if math.isinf(npsha_m):
        return head
    factor = cavitation_head_factor(
        npsha_m, npsh3_m(flow_m3_s, speed_rpm, params), params.cavitation_breakdown_steepness
    )
    return head * factor


def pump_shaft_power_w(
    flow_m3_s: float, speed_rpm: float, density_kg_m3: float, params: CurveParameters
) -> float:
    """Shaft power the pump absorbs; wear raises it by (1 - head wear) / (1 - efficiency wear)."""
    lam0, lam1, lam2 = power_coefficients(params)
    n = speed_rev_s(speed_rpm)
    d = params.impeller_diameter_m
    q = flow_m3_s
    clean = density_kg_m3 * (lam0 * n**3 * d**5 + lam1 * n * n * d * d * q + lam2 * n * q * q / d)
    return clean * (1.0 - params.head_degradation_fraction) / (1.0 - params.efficiency_degradation_fraction)


def pump_efficiency(
    flow_m3_s: float, speed_rpm: float, params: CurveParameters, npsha_m: float = math.inf
) -> float:
    """Pump efficiency ``rho g Q H / P_shaft`` (independent of density); 0 when stopped."""
    if speed_rpm <= 0.0:
        return 0.0
    head = pump_head_m(flow_m3_s, speed_rpm, params, npsha_m)
    return GRAVITY_M_S2 * flow_m3_s * head / pump_shaft_power_w(flow_m3_s, speed_rpm, 1.0, params)


def flow_at_best_efficiency_m3_s(speed_rpm: float, params: CurveParameters) -> float:
    """``Q = phi_b n D^3``: the best-efficiency (rated) flow at this speed."""
    return params.best_efficiency_flow_coefficient * speed_rev_s(speed_rpm) * params.impeller_diameter_m**3
