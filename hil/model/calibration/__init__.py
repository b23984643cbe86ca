"""Calibration: from bench run directories to the dimensionless pump model the sizing model uses.

``hil calibrate RUN_DIR... --out pump_model.json`` calls :func:`calibrate_runs` and writes the
:class:`~hil.model.pump_model.PumpModel` it returns. What is fitted, and why this way:

**Head.** ``psi(phi) = g H / (n D)^2`` against ``phi = Q / (n D^3)`` (n in rev/s, D the bench file's
impeller diameter) over every non-cavitating operating point of every run: by the affinity laws the
points of all speeds collapse onto one curve. A polynomial of degree 2 (fewer with fewer distinct
flow coefficients), weighted by each point's uncertainty.

**Efficiency with a torque sensor (power basis "shaft").** When every performance point of every run
has a shaft power (torque times speed from a torque flange, as on the ``sim-odrive`` bench), the
pump's own efficiency ``eta_p = P_h / P_shaft`` is fitted as one polynomial through the origin over
all speeds (affinity: at equal phi it does not depend on speed), its random uncertainty from flow,
head, torque and shaft speed, its systematic part from their stated accuracies. The drive's
efficiency ``eta_d = P_shaft / P_el`` is fitted on its own, absolute, bilinear in speed and load
fraction (load = shaft power over the shaft power at the reference speed's best efficiency), and
stored as the model's ``bench_drive``. The model is labelled "shaft power"; the sizing model then
puts its own motor and inverter efficiencies behind the pump, since the flight drive is not the
bench's (see :mod:`hil.model.calibration.efficiency`). Runs mixing points with and without torque
are calibrated wire-to-water, with a warning.

**Efficiency without torque: what the bench can and cannot separate (power basis "wire_to_water").**
The bench measures hydraulic power (flow and head) and the *electrical* power into the motor controller
(the WT310 on the DC bus); it has no torque meter. The VESC's own input power (``drive_input_current_a``
x ``drive_bus_voltage_v``) is measured on the same DC bus, upstream of the same controller, so its ratio
to the WT310's reading is a cross-check of two meters, not a drive efficiency. The pump's own efficiency
and the drive's (motor times inverter) therefore cannot be told apart: only their product, the
wire-to-water efficiency ``eta_ww = P_h / P_el``, is measured. The model stores what the data support,
split so that the sizing model's ``P_el = Q dp / (eta(phi) x drive(s, l))`` reproduces every bench point
and counts the drive losses exactly once:

* ``eta(phi)`` is the **wire-to-water** efficiency at the *reference speed* (the highest tested
  speed): a polynomial through the origin (no flow, no hydraulic power) of up to four terms, fewer
  with fewer distinct flow coefficients;
* the drive map is the measured **relative** change of wire-to-water efficiency with speed and load
  at equal flow coefficient: with ``s = n / n_ref`` and ``l`` the load fraction,
  ``drive(s, l) = 1 + (s - 1)(a1 + a2 l)`` with two tested speeds, ``+ (s - 1)^2 (a3 + a4 l)`` with
  three or more, identically 1 with one. Every term vanishes at ``s = 1``, so the map is 1 at the
  reference speed whatever the load and ``eta(phi)`` stays exactly the reference-speed curve. At
  equal phi the pump's own efficiency is speed-independent (affinity; the Reynolds-number effect over
  a bench's speed range is small and is lumped in), so what the map captures is how the drive's
  efficiency falls at part speed, more so at light load where fixed and switching losses weigh
  more, along the pump's own load lines (shaft power ~ n^3 at equal phi), which is how a throttled
  flight pump loads its drive too. The load fraction is the sizing model's: the shaft-power
  equivalent ``P_h / eta(phi)`` over the rated one, the rated point being the reference speed at best
  efficiency (``rho n^3 D^5 phi psi / eta`` there); the speed- and load-fraction ranges state what
  the bench covered (the sizing model holds a flight point outside them at the edge and says so).
  The map is linear in ``l`` on purpose: it is evaluated a little off the tested load lines, and a
  higher power of ``l`` would swing wildly there. It is an empirical fit, not a loss model: values
  above 1 (part speed at a load the bench only reached at full speed) are clipped to 1 by the
  model, which is conservative.

Both are fitted together (weighted nonlinear least squares, the model ``eta(phi) drive(s, l)`` being
bilinear in the two sets of coefficients; the load fraction depends on the fitted eta, so the fit is
repeated with the updated load fractions, three times in all). The drive map's own covariance has no
place in the pump model file; ``hil calibrate`` prints it. Consequences the user should know: the
sizing model's "shaft power" is then the electrical power at the reference drive efficiency, so its
motor and pump masses (which scale with shaft power) are conservative by one drive efficiency (about
10 %); the "minimum efficiency" requirement it reports is a wire-to-water figure with a drive like the
bench's; and the mission's ``motor_efficiency`` and ``inverter_efficiency`` are not used with a calibrated
model (its drive map replaces them), since multiplying them in would count drive losses twice.
The model is labelled "electrical power (wire-to-water)".

**NPSH3.** From every run's ``npsh3.csv`` (the NPSH3 procedure's results, one row per constant-flow
sweep, status ``ok``): ``sigma3(phi) = g NPSH3 / (n D)^2``, a polynomial of degree 2 or fewer, weighted
by the stated NPSH3 uncertainty. With a single NPSH3 point the coefficient is taken constant (NPSH3
~ tip speed squared, the classic cavitation-coefficient form) and a warning says so. With two or
more the model's flow-coefficient envelope is the *intersection* of the performance and NPSH3 ranges:
outside it the cavitation curve would be an extrapolation, and the model refuses to extrapolate
unless told to. Operating points labelled ``npsh_role = "sweep"`` (taken while lowering the inlet
pressure into cavitation) never enter the head or efficiency fits.

**Uncertainty.** Each point's random standard uncertainty is the window's standard deviation over the
square root of its sample count, propagated to psi, eta and phi (first order; the uncertainty of phi
enters through the curve's slope, the effective-variance method), with a floor of 0.01 % of the value
so that a quantised, noise-free channel cannot take infinite weight. Consecutive samples are
correlated (sensor lags, 10 Hz logging), so ``s / sqrt(n)`` can understate the scatter: when the
residuals say so (chi-squared per degree of freedom above 1) the covariance is scaled up by that
ratio (the Birge ratio), never down. The instruments' stated accuracies (a fraction of reading at
95 %, from the run's metadata or its bench file) are systematic: the same gain error applies to every
point, so they are not averaged away by more points. They are added to the coefficient covariance as
a common relative scale error of the curve's value and of phi: with a scale error ``e_y`` of the
value and ``e_x`` of phi, the coefficient of ``phi^k`` moves by ``(e_y - k e_x) c_k``. NPSH3
uncertainties from ``npsh3.csv`` already contain the instrument part and are used as they are (95 %,
divided by 1.96 for a standard uncertainty). The stored covariances are 1-sigma.

Runs whose status is not ``completed`` are skipped (each named in the model's description); if none
remains, :class:`~hil.core.errors.ConfigError`. Runs of different impeller diameters or fluids are
refused: a model calibrates one prototype.

The package, by concern:

* :mod:`~hil.model.calibration.runs`: loading the usable points of each run directory;
* :mod:`~hil.model.calibration.curves`: the weighted fits (psi, sigma3, wire-to-water eta with its
  drive map, pump-only eta, the drive's efficiency) on :func:`hil.analysis.fits.weighted_least_squares`;
* :mod:`~hil.model.calibration.efficiency`: the efficiency on the power basis the runs support;
* :mod:`~hil.model.calibration.quality`: how well a curve fits (residuals, chi-squared, Birge ratio);
* :mod:`~hil.model.calibration.calibrate`: from runs to the model (dimensionless points, uncertainties,
  reference speed, envelope);
* :mod:`~hil.model.calibration.summary`: the readable summary ``hil calibrate`` prints.

Imports hil's analysis, bench, core, results (NPSH3 results), store and :mod:`hil.model.pump_model`;
never drivers, simulators, procedures or the runner.
"""

from hil.model.calibration.calibrate import Calibration, calibrate, calibrate_runs
from hil.model.calibration.curves import CurveFit, WireToWaterFit, fit_psi, fit_sigma3, fit_wire_to_water
from hil.model.calibration.quality import FitSummary
from hil.model.calibration.summary import format_calibration

__all__ = [
    "Calibration",
    "CurveFit",
    "FitSummary",
    "WireToWaterFit",
    "calibrate",
    "calibrate_runs",
    "fit_psi",
    "fit_sigma3",
    "fit_wire_to_water",
    "format_calibration",
]
