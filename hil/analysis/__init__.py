"""Analysis of pump tests: pure functions over arrays, no instruments, no I/O beyond the grade table.

What lives where (import the submodule you need; this package imports none of them eagerly, so the
runner's hot path pays only for :mod:`hil.analysis.steady`):

- :mod:`~hil.analysis.steady`: is a window of samples steady (fluctuation and trend limits)?
- :mod:`~hil.analysis.head`: total head, hydraulic and shaft power, efficiency, NPSHA, dimensionless
  coefficients and specific speeds.
- :mod:`~hil.analysis.uncertainty`: averaging with Student-t random and instrument uncertainty, and
  linearised propagation into head, power and efficiency.
- :mod:`~hil.analysis.speed_conversion`: affinity-law conversion to the specified speed, with speed
  range violations reported.
- :mod:`~hil.analysis.fits`: least-squares polynomial fits of the characteristic curves.
- :mod:`~hil.analysis.grades`: the acceptance grade table (``hil/data/grades.toml`` plus overrides).
- :mod:`~hil.analysis.acceptance`: tolerance cross, efficiency and power at the guarantee point,
  violated test conditions.
- :mod:`~hil.analysis.measured_curve`: the measured curve over the measured flow range (fitted
  polynomial or straight segments), its extremes and its crossings with a line.
- :mod:`~hil.analysis.npsh`: NPSH3 from a suction-pressure sweep, NPSH3(Q) fit and its tolerance.
- :mod:`~hil.analysis.feed_system`: the rest of the lander's feed system in flight (burn, engine, tank),
  the boundary conditions a mission-profile run imposes.
- :mod:`~hil.analysis.similarity`: water for propellant on the bench (heads and NPSH in metres).

Nothing here imports drivers, simulators, procedures, the runner or the CLI; the only project modules
used are :mod:`hil.core.errors` and :mod:`hil.core.fluids`.
"""

from __future__ import annotations

from hil.core.errors import HilError


class AnalysisError(HilError, ValueError):
    """The data cannot support the analysis asked for: too few points, no crossing, empty range.

    Distinct from :class:`hil.core.errors.ConfigError` (a malformed parameter or grade file): here the
    parameters are fine but the measurements do not contain what the analysis needs.
    """
