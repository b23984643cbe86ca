"""Engine performance from thermochemistry: ideal Isp, c* and thrust coefficient from NASA's CEA.

:func:`ideal_performance` runs one CEA rocket problem (infinite-area combustor, shifting equilibrium
or frozen at the throat) for a propellant pair at a chamber pressure, mixture ratio and either an
area ratio or an exit pressure. :class:`PerformanceTable` tabulates it once over the design box
(chamber pressure, and mixture ratio where the optimiser may move it) and interpolates, because one
CEA solve costs milliseconds and one optimisation evaluates the engine about a hundred thousand
times: measured in ``benchmarks/bench_sizing.py``, the table keeps one optimisation within 1 s.

Delivered performance is ideal performance times documented efficiency factors: the c* efficiency
(combustion, typically 0.95-0.99) and the nozzle efficiency on the thrust coefficient (divergence,
boundary layer, kinetics: typically 0.95-0.99), so ``Isp = Isp_ideal x eta_c* x eta_Cf``.

Propellant names map to CEA species (:data:`CEA_SPECIES`); MON-3 is computed as N2O4 (3 % NO changes
Isp by well under 0.5 %), which the performance source text says.

The table is a plain object built from its inputs and kept by whoever built it (the mission file
reader). Only its grid of ideal values is remembered, by every input that makes it
(:func:`_ideal_isp_grid`, whose docstring says why and why it cannot change a result).

Imports :mod:`hil.core.errors` only from the project (and ``cea``, numpy, scipy).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any

import cea
import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.interpolate import RectBivariateSpline, make_interp_spline

from hil.core.errors import HilError

__all__ = [
    "CEA_SPECIES",
    "IdealPerformance",
    "PerformanceTable",
    "ThermochemistryError",
    "cea_species",
    "ideal_performance",
]

G0_M_S2 = 9.80665
PA_PER_BAR = 1.0e5

# Propellant name (as the propellant library spells it, lower case) -> CEA species and the
# temperature CEA's enthalpy is taken at by default (K): storables at 298.15 K, cryogens at their
# normal boiling point.
CEA_SPECIES: dict[str, tuple[str, float]] = {
    "mmh": ("CH6N2(L)", 298.15),
    "hydrazine": ("N2H4(L)", 298.15),
    "n2h4": ("N2H4(L)", 298.15),
    "n2o4": ("N2O4(L)", 298.15),
    "nto": ("N2O4(L)", 298.15),
    "mon-3": ("N2O4(L)", 298.15),
    "rp-1": ("RP-1", 298.15),
    "lox": ("O2(L)", 90.17),
    "o2": ("O2(L)", 90.17),
    "methane": ("CH4(L)", 111.66),
    "ch4": ("CH4(L)", 111.66),
    "ethanol": ("C2H5OH(L)", 298.15),
}


class ThermochemistryError(HilError, ValueError):
    """CEA cannot answer: unknown propellant, no converged equilibrium, or inputs out of range."""


def cea_species(name: str) -> tuple[str, float]:
    """The CEA species and reference temperature (K) of a propellant name."""
    key = name.strip().lower()
    if key not in CEA_SPECIES:
        known = ", ".join(sorted(CEA_SPECIES))
        raise ThermochemistryError(f"no CEA species for propellant {name!r}; known: {known}")
    return CEA_SPECIES[key]


@dataclass(frozen=True)
class IdealPerformance:
    """Ideal (CEA) performance at one operating point; velocities in m/s, Isp in s."""

    c_star_m_s: float
    thrust_coefficient: float
    isp_s: float
    isp_vacuum_s: float
    area_ratio: float
    chamber_temperature_k: float


class _RocketProblem:
    """One propellant pair's CEA mixtures and solver, set up once and solved many times."""

    def __init__(
        self, fuel: str, oxidiser: str, fuel_temperature_k: float | None, oxidiser_temperature_k: float | None
    ) -> None:
        self.fuel, self.oxidiser = fuel, oxidiser
        fuel_species, fuel_t = cea_species(fuel)
        ox_species, ox_t = cea_species(oxidiser)
        self.temperatures = np.array(
            [fuel_temperature_k or fuel_t, oxidiser_temperature_k or ox_t], dtype=float
        )
        self.reactants = cea.Mixture([fuel_species, ox_species])
        products = cea.Mixture([fuel_species, ox_species], products_from_reactants=True)
        self.solver = cea.RocketSolver(products, reactants=self.reactants)
        self.solution = cea.RocketSolution(self.solver)

    def solve(
        self,
        chamber_pressure_pa: float,
        mixture_ratio: float,
        area_ratio: float | None,
        exit_pressure_pa: float | None,
        frozen: bool,
    ) -> IdealPerformance:
        if (area_ratio is None) == (exit_pressure_pa is None):
            raise ThermochemistryError("give exactly one of area_ratio or exit_pressure_pa")
        if not (chamber_pressure_pa > 0 and mixture_ratio > 0):
            raise ThermochemistryError("chamber pressure and mixture ratio must be positive")
        weights = self.reactants.of_ratio_to_weights(
            np.array([0.0, 1.0]), np.array([1.0, 0.0]), mixture_ratio
        )
        enthalpy = self.reactants.calc_property(cea.ENTHALPY, weights, self.temperatures) / cea.R
        options: dict[str, object] = {"hc": enthalpy, "iac": True}
        if frozen:
            options["n_frz"] = 2
        if area_ratio is not None:
            if not area_ratio > 1.0:
                raise ThermochemistryError(f"area ratio must exceed 1, got {area_ratio}")
            options["supar"] = [float(area_ratio)]
        else:
            assert exit_pressure_pa is not None
            if not 0 < exit_pressure_pa < chamber_pressure_pa:
                raise ThermochemistryError("exit pressure must lie between 0 and the chamber pressure")
            options["pi_p"] = [chamber_pressure_pa / exit_pressure_pa]
        solution = self.solution
        self.solver.solve(solution, weights, chamber_pressure_pa / PA_PER_BAR, **options)
        if not solution.converged:
            raise ThermochemistryError(
                f"CEA did not converge for {self.fuel}/{self.oxidiser} at {chamber_pressure_pa:g} Pa, "
                f"O/F {mixture_ratio:g}"
            )
        exit_index = int(solution.num_pts) - 1
        return IdealPerformance(
            c_star_m_s=float(solution.c_star[exit_index]),
            thrust_coefficient=float(solution.coefficient_of_thrust[exit_index]),
            isp_s=float(solution.Isp[exit_index]) / G0_M_S2,
            isp_vacuum_s=float(solution.Isp_vacuum[exit_index]) / G0_M_S2,
            area_ratio=float(solution.ae_at[exit_index]),
            chamber_temperature_k=float(solution.T[0]),
        )


def ideal_performance(
    fuel: str,
    oxidiser: str,
    chamber_pressure_pa: float,
    mixture_ratio: float,
    *,
    area_ratio: float | None = None,
    exit_pressure_pa: float | None = None,
    frozen: bool = False,
    fuel_temperature_k: float | None = None,
    oxidiser_temperature_k: float | None = None,
) -> IdealPerformance:
    """One CEA rocket solve (infinite-area combustor) at the nozzle exit.

    Give exactly one of ``area_ratio`` (exit over throat area) or ``exit_pressure_pa``. ``isp_s`` is
    the exit-plane Isp (``c* Cf / g0`` with the exit pressure matched), ``isp_vacuum_s`` the vacuum
    Isp. ``frozen`` freezes the composition at the throat (CEA's ``nfz = 2``).
    """
    problem = _RocketProblem(fuel, oxidiser, fuel_temperature_k, oxidiser_temperature_k)
    return problem.solve(chamber_pressure_pa, mixture_ratio, area_ratio, exit_pressure_pa, frozen)


@functools.lru_cache(maxsize=32)
def _ideal_isp_grid(
    fuel: str,
    oxidiser: str,
    pressures_pa: tuple[float, ...],
    ratios: tuple[float, ...],
    area_ratio: float | None,
    exit_pressure_pa: float | None,
    vacuum: bool,
    frozen: bool,
    fuel_temperature_k: float | None,
    oxidiser_temperature_k: float | None,
) -> tuple[tuple[float, ...], ...]:
    """Ideal Isp (s) solved by CEA at every pressure (rows) and mixture ratio (columns) of the grid.

    Remembered by every argument (the 32 grids last asked for): the same arguments give the same
    numbers, since each grid is solved by a fresh problem in the same order (checked: a grid solved
    again after others, bit for bit), and what is kept is a tuple of floats nobody can change. An
    error (a pair CEA does not know, no convergence) is not kept, so it is raised again each time.
    Why: a grid is 7 to 35 CEA solves, 10-15 ms of CPU, and every read of a mission file with
    ``[engine.cea]`` tabulates one; the config fuzz reads 10,000 mutated mission files, of which 176
    tabulate only 14 distinct grids (2.3 s of CPU), and the sizing tests 35 grids, 8 distinct (0.9 s).
    """
    problem = _RocketProblem(fuel, oxidiser, fuel_temperature_k, oxidiser_temperature_k)
    table = []
    for pc in pressures_pa:
        row = []
        for mr in ratios:
            perf = problem.solve(pc, mr, area_ratio, exit_pressure_pa, frozen)
            row.append(perf.isp_vacuum_s if vacuum else perf.isp_s)
        table.append(tuple(row))
    return tuple(table)


@dataclass(frozen=True)
class PerformanceTable:
    """Delivered Isp over chamber pressure (and mixture ratio), tabulated from CEA once.

    ``vacuum`` selects vacuum Isp (a space engine) or exit-plane Isp; ``c_star_efficiency`` and
    ``nozzle_efficiency`` multiply the ideal value. Interpolation is cubic in ``ln(pc)`` (and in the
    mixture ratio where it varies), accurate to 0.1 % on the default grids (checked against direct
    solves in the tests). Outside the pressure range the spline extrapolates (the optimiser stays
    inside its bounds, which the table spans).
    """

    fuel: str
    oxidiser: str
    chamber_pressure_pa: tuple[float, ...]
    mixture_ratio: tuple[float, ...]
    ideal_isp_s: tuple[tuple[float, ...], ...]
    c_star_efficiency: float = 1.0
    nozzle_efficiency: float = 1.0
    area_ratio: float | None = None
    exit_pressure_pa: float | None = None
    vacuum: bool = True
    frozen: bool = False
    _interpolator: Any = field(default=None, compare=False, repr=False)

    @classmethod
    def build(
        cls,
        fuel: str,
        oxidiser: str,
        chamber_pressure_range_pa: tuple[float, float],
        mixture_ratio_range: tuple[float, float],
        *,
        area_ratio: float | None = None,
        exit_pressure_pa: float | None = None,
        vacuum: bool = True,
        frozen: bool = False,
        c_star_efficiency: float = 1.0,
        nozzle_efficiency: float = 1.0,
        fuel_temperature_k: float | None = None,
        oxidiser_temperature_k: float | None = None,
        pressure_points: int = 7,
        mixture_points: int = 5,
    ) -> PerformanceTable:
        """Solve CEA on a grid spanning the ranges (log-spaced pressures) and keep the results."""
        pc_lo, pc_hi = chamber_pressure_range_pa
        mr_lo, mr_hi = mixture_ratio_range
        pressures = np.geomspace(pc_lo, pc_hi, pressure_points) if pc_hi > pc_lo else np.array([pc_lo])
        ratios = np.linspace(mr_lo, mr_hi, mixture_points) if mr_hi > mr_lo else np.array([mr_lo])
        pressure_grid = tuple(float(p) for p in pressures)
        ratio_grid = tuple(float(r) for r in ratios)
        table = _ideal_isp_grid(
            fuel,
            oxidiser,
            pressure_grid,
            ratio_grid,
            area_ratio,
            exit_pressure_pa,
            vacuum,
            frozen,
            fuel_temperature_k,
            oxidiser_temperature_k,
        )
        return cls(
            fuel=fuel,
            oxidiser=oxidiser,
            chamber_pressure_pa=pressure_grid,
            mixture_ratio=ratio_grid,
            ideal_isp_s=table,
            c_star_efficiency=c_star_efficiency,
            nozzle_efficiency=nozzle_efficiency,
            area_ratio=area_ratio,
            exit_pressure_pa=exit_pressure_pa,
            vacuum=vacuum,
            frozen=frozen,
        )

    def __getstate__(self) -> dict[str, Any]:
        """Pickle the table, not its spline (rebuilt on first use): process pools and Dask ship it."""
        state = dict(self.__dict__)
        state["_interpolator"] = None
        return state

    def _grid(self) -> Any:
        """A spline through the table: 2-D where both axes vary, 1-D where one is fixed."""
        if self._interpolator is None:
            values = np.asarray(self.ideal_isp_s, dtype=float)
            pcs = np.log(np.asarray(self.chamber_pressure_pa))
            mrs = np.asarray(self.mixture_ratio)
            grid: Any
            if len(pcs) > 1 and len(mrs) > 1:
                grid = RectBivariateSpline(pcs, mrs, values, kx=min(3, len(pcs) - 1), ky=min(3, len(mrs) - 1))
            elif len(pcs) > 1:
                line = make_interp_spline(pcs, values[:, 0], k=min(3, len(pcs) - 1))
                grid = lambda p, m: line(p)  # noqa: E731
            elif len(mrs) > 1:
                line = make_interp_spline(mrs, values[0, :], k=min(3, len(mrs) - 1))
                grid = lambda p, m: line(m)  # noqa: E731
            else:
                constant = float(values[0, 0])
                grid = lambda p, m: np.full(np.shape(p), constant)  # noqa: E731
            object.__setattr__(self, "_interpolator", grid)
        return self._interpolator

    def ideal_isp(self, chamber_pressure_pa: ArrayLike, mixture_ratio: ArrayLike) -> NDArray[np.float64]:
        """Ideal Isp (s), interpolated; outside the table it is extrapolated linearly in ln(pc)."""
        pc = np.log(np.maximum(np.asarray(chamber_pressure_pa, dtype=float), 1.0))
        mr = np.asarray(mixture_ratio, dtype=float)
        pc_b, mr_b = np.broadcast_arrays(pc, mr)
        mr_b = np.clip(mr_b, self.mixture_ratio[0], self.mixture_ratio[-1])
        grid = self._grid()
        if isinstance(grid, RectBivariateSpline):
            values = grid(pc_b.ravel(), mr_b.ravel(), grid=False)
        else:
            values = grid(pc_b.ravel(), mr_b.ravel())
        return np.asarray(values, dtype=float).reshape(pc_b.shape)

    def isp(self, chamber_pressure_pa: ArrayLike, mixture_ratio: ArrayLike) -> NDArray[np.float64]:
        """Delivered Isp (s): ideal times the c* and nozzle efficiencies."""
        return (
            self.ideal_isp(chamber_pressure_pa, mixture_ratio)
            * self.c_star_efficiency
            * self.nozzle_efficiency
        )

    def describe(self) -> str:
        """Where the Isp comes from, for every output."""
        nozzle = (
            f"area ratio {self.area_ratio:g}"
            if self.area_ratio is not None
            else f"exit pressure {self.exit_pressure_pa:g} Pa"
        )
        mode = "frozen at the throat" if self.frozen else "shifting equilibrium"
        kind = "vacuum" if self.vacuum else "exit-plane"
        note = " (MON-3 computed as N2O4)" if "mon" in self.oxidiser.lower() else ""
        return (
            f"CEA {kind} Isp of {self.fuel}/{self.oxidiser}{note}, {mode}, {nozzle}, "
            f"x c* efficiency {self.c_star_efficiency:g} x nozzle efficiency {self.nozzle_efficiency:g}"
        )
