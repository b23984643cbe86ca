"""Benchmark: the cost of one optimisation of the sizing model and of a 1,000-point design sweep.

Loads the sample lander mission (``hil/data/lander_mission.toml``, Isp from CEA) with the default
pump model and times, each as the best of a few repeats,

  (0) reading the mission file, which tabulates CEA over the design box once,
  (a) one electric-pump-fed optimisation (screening + SLSQP), and
  (b) a 1,000-point Latin-hypercube sweep of the design box, evaluated as one vectorised batch,
  (c) one design with throttle profiles of 10, 100 and 1000 segments (time linear in the length),

and, as a baseline measured in the same process, the same optimisation with the Isp given as a
constant (the CEA table's value at the first bound), so the ratio shows what thermochemistry costs
per optimisation whatever the machine's load. Run: ``python benchmarks/bench_sizing.py``
(``--repeats N``, ``--points N``). Timing goes through :class:`hil.core.clock.WallClock`.

Imports hil (clock, pump_model, sizing) only.
"""

from __future__ import annotations

import argparse
import dataclasses
from importlib.resources import files
from pathlib import Path

from hil.core.clock import WallClock
from hil.model.pump_model import PumpModel
from hil.model.sizing.inputs import ThrottleSegment
from hil.model.sizing.mission import SizingInputs, load_mission
from hil.model.sizing.model import evaluate_electric
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
    clock = WallClock()
    t_load, inputs = _best_of(1, clock, lambda: load_mission(mission_path))
    assert isinstance(inputs, SizingInputs)
    model = PumpModel.default()
    given = dataclasses.replace(
        inputs,
        engine=dataclasses.replace(
            inputs.engine,
            performance=None,
            isp_s=float(inputs.engine.isp_at(inputs.bounds.chamber_pressure_pa[0])),
        ),
    )
    t_given, _ = _best_of(args.repeats, clock, lambda: optimise_electric(given, model))

    t_opt, result = _best_of(args.repeats, clock, lambda: optimise_electric(inputs, model))
    t_sweep, sweep = _best_of(args.repeats, clock, lambda: sweep_electric(inputs, model, args.points))

    print(f"mission: {inputs.mission.name}")
    print(f"(0) reading the mission file (CEA tabulated once): {t_load * 1e3:.1f} ms")
    print(f"    Isp: {inputs.engine.isp_source}")
    print(
        f"(a) one optimisation: {t_opt * 1e3:.1f} ms (best of {args.repeats}); "
        f"{result.evaluations} model evaluations, optimum {result.total_mass_kg:.2f} kg, "
        f"feasible {result.feasible}"
    )
    print(
        f"    baseline, Isp given as a constant: {t_given * 1e3:.1f} ms; "
        f"ratio CEA / given {t_opt / t_given:.2f}"
    )
    feasible = int(sweep.feasible.sum())
    print(
        f"(b) {args.points}-point sweep: {t_sweep * 1e3:.1f} ms (best of {args.repeats}); "
        f"{feasible} feasible designs, {t_sweep / args.points * 1e6:.1f} us per design"
    )
    # (c) throttle profiles of growing length: evaluation time should grow linearly with the length.
    design = result.design.as_array()[None, :]
    times = {}
    for segments in (10, 100, 1000):
        profile = tuple(ThrottleSegment(1.0 / segments, 0.35 + 0.65 * (k % 7) / 6) for k in range(segments))
        longer = dataclasses.replace(
            inputs, engine=dataclasses.replace(inputs.engine, throttle_profile=profile)
        )
        times[segments], _ = _best_of(
            args.repeats, clock, lambda s=longer: evaluate_electric(s, model, design)
        )
    print(
        "(c) one design, throttle profile of 10 / 100 / 1000 segments: "
        + " / ".join(f"{t * 1e3:.2f}" for t in times.values())
        + f" ms; 1000 vs 100 segments: x{times[1000] / times[100]:.1f} (linear: x10)"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
