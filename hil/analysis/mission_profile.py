"""A mission profile's boundary conditions each tick, and its verdict from the recorded log.

A mission-profile run (``procedures/mission_profile.py``) records, in its ``mission_case`` event,
every number of its flight case (:class:`MissionRecord`: the burn, the engine, the tank, the
similarity mapping and the requirements the sizing assumed). From that record and the samples:

* :func:`boundary` is what the procedure computes live every tick: the pressure the engine demands
  at the pump's discharge for the flow the pump is delivering, and the NPSH the tank offers at the
  inlet, both mapped to the bench liquid;
* :func:`judge` is the derived result: at every instant of the burn, delivered flow and pressure rise
  against the requirement within a tolerance band (outside a grace period after each throttle
  change), the NPSH margin (when the pump's NPSH3 was measured), electrical power against the peak
  the sizing assumed and the energy used against this pump's share of the battery; one verdict per
  requirement with its worst moment.

The same functions serve the live run and the replay, so the two cannot differ.

Pure functions over numbers and arrays; imports numpy, :mod:`hil.core` and the sibling boundary and
similarity modules only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from hil.analysis.feed_system import Burn, Engine, Tank
from hil.analysis.similarity import Similarity

__all__ = ["Boundary", "MissionRecord", "Npsh3Table", "boundary", "judge"]

EVENT_KIND = "mission_case"
"""The event that carries a mission-profile run's :class:`MissionRecord`."""
IGNITION_EVENT = "ignition"


@dataclass(frozen=True)
class Npsh3Table:
    """The pump's measured NPSH3 against flow at one speed, brought to any speed by similarity.

    At a given flow coefficient NPSH3 scales with the square of the speed (it is an energy per unit
    mass, like the head), so ``NPSH3(Q, n) = (n / n_t)^2 NPSH3_t(Q n_t / n)``, interpolated linearly
    between the tested flows and extended linearly beyond them (a measured curve rises steeply at
    high flow; flat extension would be optimistic).
    """

    speed_rpm: float
    flows_m3_s: tuple[float, ...]
    npsh3_m: tuple[float, ...]

    def at(self, flow_m3_s: float, speed_rpm: float) -> float:
        if speed_rpm <= 0.0:
            return 0.0
        ratio = speed_rpm / self.speed_rpm
        q = flow_m3_s / ratio
        xs, ys = self.flows_m3_s, self.npsh3_m
        if len(xs) == 1:
            value = ys[0]
        else:
            i = 0 if q <= xs[0] else (len(xs) - 2 if q >= xs[-1] else int(np.searchsorted(xs, q)) - 1)
            slope = (ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i])
            value = ys[i] + slope * (q - xs[i])
        return max(value, 0.0) * ratio * ratio


@dataclass(frozen=True)
class MissionRecord:
    """Every number of a flight case a mission-profile run needs, as recorded with the run."""

    side: str
    propellant: str
    burn: Burn
    engine: Engine
    tank: Tank
    similarity: Similarity
    segment_speeds_rpm: tuple[float, ...]
    """The sizing's pump speed in each throttle segment (the speed schedule)."""
    segment_powers_w: tuple[float, ...]
    peak_electrical_power_w: float
    electrical_energy_j: float
    npsh_margin: float
    tolerance_fraction: float
    transient_grace_s: float
    bench_inlet_diameter_m: float
    npsh3: Npsh3Table | None = None
    sources: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["burn"]["segments"] = [list(s) for s in self.burn.segments]
        return out

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MissionRecord:
        burn = dict(d["burn"])
        burn["segments"] = tuple((float(a), float(b)) for a, b in burn["segments"])
        npsh3 = d.get("npsh3")
        return cls(
            side=d["side"],
            propellant=d["propellant"],
            burn=Burn(**burn),
            engine=Engine(**d["engine"]),
            tank=Tank(**d["tank"]),
            similarity=Similarity(**d["similarity"]),
            segment_speeds_rpm=tuple(d["segment_speeds_rpm"]),
            segment_powers_w=tuple(d["segment_powers_w"]),
            peak_electrical_power_w=d["peak_electrical_power_w"],
            electrical_energy_j=d["electrical_energy_j"],
            npsh_margin=d["npsh_margin"],
            tolerance_fraction=d["tolerance_fraction"],
            transient_grace_s=d["transient_grace_s"],
            bench_inlet_diameter_m=d["bench_inlet_diameter_m"],
            npsh3=None
            if npsh3 is None
            else Npsh3Table(npsh3["speed_rpm"], tuple(npsh3["flows_m3_s"]), tuple(npsh3["npsh3_m"])),
            sources=dict(d.get("sources", {})),
        )

    # what the sizing assumed at a moment of the burn -----------------------------------------
    def segment_index(self, time_s: float) -> int:
        index = 0
        for i, start in enumerate(self.burn.segment_starts_s()):
            if time_s >= start:
                index = i
        return index

    def nominal_flow_m3_s(self, time_s: float) -> float:
        """The flow this side must deliver at the commanded throttle (volumetric, flight = bench)."""
        density = self.similarity.flight_density_kg_m3
        return self.engine.side_full_mass_flow_kg_s * self.burn.throttle_at(time_s) / density

    def expelled_m3(self, time_s: float) -> float:
        """This side's propellant drawn by ``time_s`` at nominal flow (the tank's state)."""
        return (
            self.burn.expelled_mass_kg(time_s)
            * self.engine.side_fraction
            / self.similarity.flight_density_kg_m3
        )

    def bench_inlet_velocity_m_s(self, flow_m3_s: float) -> float:
        return flow_m3_s / (math.pi * self.bench_inlet_diameter_m**2 / 4.0)

    def since_throttle_change_s(self, time_s: float) -> float:
        starts = [s for s in self.burn.segment_starts_s() if s <= time_s]
        changes = [
            s
            for i, s in enumerate(starts)
            if i == 0 or self.burn.segments[i][1] != self.burn.segments[i - 1][1]
        ]
        return time_s - changes[-1] if changes else math.inf


@dataclass(frozen=True)
class Boundary:
    """The rest of the feed system at one instant, in flight units and mapped to the bench."""

    throttle: float
    acceleration_m_s2: float
    flight_inlet_pressure_pa: float
    flight_npsha_m: float
    demanded_discharge_pressure_pa: float
    """Engine demand at the pump's discharge for the flow it delivers now (the system curve)."""
    demanded_rise_pa: float
    nominal_rise_pa: float
    """Rise the pump must give at the nominal flow of this throttle (what the thrust needs)."""
    bench_rise_target_pa: float
    bench_nominal_rise_pa: float
    bench_inlet_target_pa: float


def boundary(record: MissionRecord, time_s: float, bench_flow_m3_s: float) -> Boundary:
    """The boundary conditions at ``time_s`` of the burn for a pump delivering ``bench_flow_m3_s``."""
    throttle = record.burn.throttle_at(time_s)
    accel = record.burn.acceleration_m_s2(time_s)
    expelled = record.expelled_m3(time_s)
    density = record.similarity.flight_density_kg_m3
    q = max(bench_flow_m3_s, 0.0)
    inlet = record.tank.inlet_pressure_pa(expelled, accel, q)
    demand = record.engine.required_discharge_pressure_pa(q * density, throttle)
    q_nom = record.nominal_flow_m3_s(time_s)
    inlet_nom = record.tank.inlet_pressure_pa(expelled, accel, q_nom)
    nominal_rise = record.engine.required_discharge_pressure_pa(q_nom * density, throttle) - inlet_nom
    npsha = record.tank.npsha_m(expelled, accel, q)
    sim = record.similarity
    return Boundary(
        throttle=throttle,
        acceleration_m_s2=accel,
        flight_inlet_pressure_pa=inlet,
        flight_npsha_m=npsha,
        demanded_discharge_pressure_pa=demand,
        demanded_rise_pa=demand - inlet,
        nominal_rise_pa=nominal_rise,
        bench_rise_target_pa=sim.bench_pressure_rise_pa(demand - inlet),
        bench_nominal_rise_pa=sim.bench_pressure_rise_pa(nominal_rise),
        bench_inlet_target_pa=sim.bench_inlet_pressure_pa(npsha, record.bench_inlet_velocity_m_s(q)),
    )


# --------------------------------------------------------------------------------- the verdict


def _verdict(
    name: str, passed: bool, worst_time_s: float, worst: float, limit: float, unit: str, **extra: Any
) -> dict[str, Any]:
    return {
        "requirement": name,
        "verdict": "pass" if passed else "fail",
        "worst_time_s": worst_time_s,
        "worst_value": worst,
        "limit": limit,
        "unit": unit,
        **extra,
    }


def profile_series(
    record: MissionRecord, ignition_s: float, times: np.ndarray, columns: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray]:
    """The burn sample by sample: delivered against required, in flight units (for the verdict and plots).

    Keys: ``mission_time_s``, ``throttle``, ``flow_m3_s`` and ``required_flow_m3_s``, ``flight_rise_pa``
    and ``required_rise_pa`` (at the nominal flow), ``npsha_m`` (what the bench imposed) and
    ``npsh3_m`` / ``npsh_ratio`` (NaN without a measured NPSH3), ``speed_rpm``,
    ``flight_electrical_power_w`` and ``judged`` (1 outside the grace period after a throttle change).
    """
    t = np.asarray(times, dtype=float) - ignition_s
    inside = (t >= 0.0) & (t <= record.burn.duration_s + 1e-9)
    t = t[inside]
    q = np.asarray(columns["flow_m3_s"], dtype=float)[inside]
    p_in = np.asarray(columns["p_inlet_pa"], dtype=float)[inside]
    p_out = np.asarray(columns["p_outlet_pa"], dtype=float)[inside]
    power = np.asarray(columns["electrical_power_w"], dtype=float)[inside]
    speed = np.asarray(columns["speed_rpm"], dtype=float)[inside]
    sim = record.similarity
    out = {name: np.full(t.size, np.nan) for name in ("throttle", "required_flow_m3_s", "required_rise_pa")}
    out["npsh3_m"] = np.full(t.size, np.nan)
    out["judged"] = np.zeros(t.size)
    out["npsha_m"] = np.full(t.size, np.nan)
    for i, ti in enumerate(t):
        q_nom = record.nominal_flow_m3_s(float(ti))
        b = boundary(record, float(ti), q_nom)
        out["throttle"][i] = b.throttle
        out["required_flow_m3_s"][i] = q_nom
        out["required_rise_pa"][i] = b.nominal_rise_pa
        out["npsha_m"][i] = sim.bench_npsha_m(p_in[i], record.bench_inlet_velocity_m_s(q[i]))
        if record.npsh3 is not None and not math.isnan(q[i]) and not math.isnan(speed[i]):
            out["npsh3_m"][i] = record.npsh3.at(q[i], speed[i])
        out["judged"][i] = (
            1.0 if record.since_throttle_change_s(float(ti)) >= record.transient_grace_s else 0.0
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(out["npsh3_m"] > 0.0, out["npsha_m"] / out["npsh3_m"], np.inf)
    out["npsh_ratio"] = np.where(np.isnan(out["npsh3_m"]), np.nan, ratio)
    out.update(
        mission_time_s=t,
        flow_m3_s=q,
        flight_rise_pa=(p_out - p_in) / sim.density_ratio,
        speed_rpm=speed,
        flight_electrical_power_w=power / sim.density_ratio,
    )
    return out


def judge(
    record: MissionRecord, ignition_s: float, times: np.ndarray, columns: Mapping[str, np.ndarray]
) -> dict[str, Any]:
    """The mission verdict: one entry per requirement with its worst moment (mission time, s).

    Samples with a missing reading are left out of the instantaneous checks (they are the
    interlocks' concern); the energy integrates the power over the burn by the trapezoidal rule.
    """
    series = profile_series(record, ignition_s, times, columns)
    t, q, speed = series["mission_time_s"], series["flow_m3_s"], series["speed_rpm"]
    flow_err = series["flow_m3_s"] / series["required_flow_m3_s"] - 1.0
    rise_err = series["flight_rise_pa"] / series["required_rise_pa"] - 1.0
    npsha, npsh_ratio, judged = series["npsha_m"], series["npsh_ratio"], series["judged"] > 0.5
    flight_power = series["flight_electrical_power_w"]
    duration = record.burn.duration_s
    tol = record.tolerance_fraction
    verdicts = []

    def band(name: str, err: np.ndarray) -> dict[str, Any]:
        valid = judged & ~np.isnan(err)
        if not valid.any():
            return _verdict(name, False, math.nan, math.nan, tol, "fraction", note="no judged sample")
        k = int(np.argmax(np.where(valid, np.abs(err), -1.0)))
        return _verdict(
            name, bool(abs(err[k]) <= tol), float(t[k]), float(err[k]), tol, "fraction of requirement"
        )

    verdicts.append(band("delivered flow within the band", flow_err))
    verdicts.append(band("pressure rise within the band", rise_err))
    valid_npsh = ~np.isnan(npsh_ratio)
    if record.npsh3 is None or not valid_npsh.any():
        k = int(np.nanargmin(npsha)) if np.isfinite(npsha).any() else 0
        verdicts.append(
            {
                "requirement": f"NPSHA >= {record.npsh_margin:g} x NPSH3",
                "verdict": "not judged",
                "note": "no measured NPSH3 of this pump was given (run npsh3 and pass its run)",
                "worst_time_s": float(t[k]) if t.size else math.nan,
                "worst_value": float(npsha[k]) if t.size else math.nan,
                "unit": "m (lowest NPSHA imposed)",
            }
        )
    else:
        ratio = np.where(valid_npsh, npsh_ratio, np.inf)
        k = int(np.argmin(ratio))
        lost = np.nonzero(valid_npsh & (npsh_ratio < record.npsh_margin))[0]
        verdicts.append(
            _verdict(
                f"NPSHA >= {record.npsh_margin:g} x NPSH3",
                lost.size == 0,
                float(t[k]),
                float(ratio[k]),
                record.npsh_margin,
                "NPSHA / NPSH3",
                margin_lost_at_s=float(t[lost[0]]) if lost.size else None,
            )
        )
    valid_power = ~np.isnan(flight_power)
    k = int(np.argmax(np.where(valid_power, flight_power, -np.inf))) if valid_power.any() else 0
    peak = float(flight_power[k]) if valid_power.any() else math.nan
    verdicts.append(
        _verdict(
            "electrical power <= the peak the sizing assumed",
            bool(valid_power.any() and peak <= record.peak_electrical_power_w),
            float(t[k]) if t.size else math.nan,
            peak,
            record.peak_electrical_power_w,
            "W (flight)",
        )
    )
    filled = np.where(valid_power, flight_power, 0.0)
    cumulative = (
        np.concatenate([[0.0], np.cumsum(0.5 * (filled[1:] + filled[:-1]) * np.diff(t))])
        if t.size
        else np.zeros(0)
    )
    energy = float(cumulative[-1]) if t.size else math.nan
    over = np.nonzero(cumulative > record.electrical_energy_j)[0]
    verdicts.append(
        _verdict(
            "energy used <= this pump's share of the battery",
            bool(t.size and energy <= record.electrical_energy_j),
            float(t[over[0]]) if over.size else (float(t[-1]) if t.size else math.nan),
            energy,
            record.electrical_energy_j,
            "J (flight)",
        )
    )
    flown = bool(t.size) and float(t[-1]) >= duration - 1.5 * (
        float(np.median(np.diff(t))) if t.size > 1 else 0.0
    )
    verdicts.append(
        {
            "requirement": "the whole burn was flown",
            "verdict": "pass" if flown else "fail",
            "worst_time_s": float(t[-1]) if t.size else math.nan,
            "worst_value": float(t[-1]) if t.size else math.nan,
            "limit": duration,
            "unit": "s of mission time",
        }
    )
    segments = []
    for i, start in enumerate(record.burn.segment_starts_s()):
        end = start + record.burn.segments[i][0]
        mask = (t >= start) & (t < end) & judged
        segments.append(
            {
                "segment": i + 1,
                "throttle": record.burn.segments[i][1],
                "start_s": start,
                "end_s": end,
                "mean_flow_m3_s": float(np.nanmean(q[mask])) if mask.any() else math.nan,
                "mean_flight_rise_pa": float(np.nanmean(series["flight_rise_pa"][mask]))
                if mask.any()
                else math.nan,
                "mean_speed_rpm": float(np.nanmean(speed[mask])) if mask.any() else math.nan,
                "mean_flight_power_w": float(np.nanmean(flight_power[mask])) if mask.any() else math.nan,
                "sizing_speed_rpm": record.segment_speeds_rpm[i],
                "sizing_power_w": record.segment_powers_w[i],
            }
        )
    passed = all(v["verdict"] != "fail" for v in verdicts)
    return {
        "verdict": "pass" if passed else "fail",
        "side": record.side,
        "propellant": record.propellant,
        "burn_time_s": duration,
        "energy_used_j": energy,
        "requirements": verdicts,
        "segments": segments,
    }
