"""Benchmark: the cost of one optimisation of the sizing model and of a 1,000-point design sweep.

Loads the sample lander mission (``hil/data/lander_mission.toml``) with the default pump model and
times, each as the best of a few repeats,

  (a) one electric-pump-fed optimisation (screening + SLSQP), and
  (b) a 1,000-point Latin-hypercube sweep of the design box, evaluated as one vectorised batch,

then prints both. Run: ``python benchmarks/bench_sizing.py`` (``--repeats N``, ``--points N``).
Timing goes through :class:`hil.core.clock.WallClock`.

Imports hil (clock, pump_model, sizing) only.
"""

from __future__ import annotations

import argparse
from importlib.resources import files
from pathlib import Path

from hil.core.clock import WallClock
from hil.model.pump_model import PumpModel
from hil.model.sizing.mission import load_mission
from hil.model.sizing.optimise import optimise_electric, sweep_electric


def _best_of(repeats: int, clock: WallClock, work) -> tuple[float, object]:
    best = float("inf")
    result = None
    for _ in range(repeats):
        start = clock.now_s()
        result = work()
        best = min(best, clock.now_s() - start)
    return best, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--points", type=int, default=1000)
    parser.add_argument(
        "--mission", type=Path, default=None, help="mission TOML (default: the sample lander)"
    )
    args = parser.parse_args(argv)

    mission_path = args.mission or Path(str(files("hil") / "data" / "lander_mission.toml"))
    inputs = load_mission(mission_path)
    model = PumpModel.default()
    clock = WallClock()

    t_opt, result = _best_of(args.repeats, clock, lambda: optimise_electric(inputs, model))
    t_sweep, sweep = _best_of(args.repeats, clock, lambda: sweep_electric(inputs, model, args.points))

    print(f"mission: {inputs.mission.name}")
    print(
        f"(a) one optimisation: {t_opt * 1e3:.1f} ms (best of {args.repeats}); "
        f"{result.evaluations} model evaluations, optimum {result.total_mass_kg:.2f} kg, "
        f"feasible {result.feasible}"
    )
    feasible = int(sweep.feasible.sum())
    print(
        f"(b) {args.points}-point sweep: {t_sweep * 1e3:.1f} ms (best of {args.repeats}); "
        f"{feasible} feasible designs, {t_sweep / args.points * 1e6:.1f} us per design"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
