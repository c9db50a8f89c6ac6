"""Backtest the casualty and response models against real attacks (``attacks.csv`` rows).

For each attack record:

* ``predicted_casualties`` — the calibrated casualty model
  (`citywatch.model.casualties`) at the row's type, people present and minutes to stop
  (a ``pbied`` needs no minutes: a blast does not wait for armed help), beside
  ``observed_casualties`` = killed + injured and their ratio;
* when the row's place (``lat``, ``lon``) lies inside the scenario and its
  ``local_time`` is known, ``predicted_minutes_to_armed_intervention`` ``{p10, median,
  p90}``: the simulator's distribution of minutes from the call to armed officers
  stopping the attack at that place and time of day under a plan of the scenario
  (armed presence on site from the plan's coverage of the sites within
  `NEARBY_M` of the place, and for certain where one of them has a protection post,
  armed officers permanently on site; otherwise the nearest available of the plan's ARVs in that
  slot, with the simulator's dispatch and travel spread) — and the same with no armed
  officers on site (the ARVs alone, as when no patrol happened to be there) — beside
  the observed minutes
  (``observed_minutes_to_armed_intervention`` if the file has it, else
  ``minutes_to_stop``, which counts from the start of the attack).

The casualty parameters are fitted on these rows (`citywatch.model.calibration`); the
leave-one-out prediction of each row is reported beside the in-sample one, so the table
also shows what the model predicts for an attack it has not seen.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import time
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from citywatch._random import Seed, children
from citywatch.geo.distance import haversine_m, straight_line_times
from citywatch.model.attacks import AttackRecord
from citywatch.model.calibration import fit_parameters, usable
from citywatch.model.casualties import CasualtyParameters, predict_casualties
from citywatch.sim._engine import simulate_block
from citywatch.sim.model import DEFAULT_SPREAD, SimulationModel, Spread
from citywatch.sim.results import quantile_estimate
from citywatch.sim.simulate import blocks, root_seed

if TYPE_CHECKING:
    from citywatch.plan import Plan

__all__ = ["NEARBY_M", "BacktestRow", "BacktestResult", "backtest"]

FloatArray = npt.NDArray[np.float64]

#: Sites within this distance of an attack count as "on site" for it: an armed patrol
#: that close reaches the attacker in about the on-site minute [assumption].
NEARBY_M = 300.0
#: Simulated attacks per backtest row (quantiles to about ±0.1 minute).
DRAWS = 20_000


@dataclass(frozen=True)
class BacktestRow:
    """One attack's backtest (``None`` where the row's columns do not allow a figure)."""

    id: str
    type: str
    targeted: bool
    people_present: float | None
    minutes_to_stop: float | None
    observed_casualties: int | None
    predicted_casualties: float | None
    loo_predicted_casualties: float | None
    slot: str | None = None
    nearby_sites: tuple[str, ...] = ()
    armed_presence: float | None = None
    predicted_minutes: dict[str, float] | None = None
    predicted_minutes_no_patrol: dict[str, float] | None = None
    observed_minutes: float | None = None
    observed_minutes_source: str = ""
    stopped_by: str = ""
    outside: str = ""

    @property
    def ratio(self) -> float | None:
        """Predicted / observed casualties (``None`` when either is missing or zero)."""
        if self.predicted_casualties is None or not self.observed_casualties:
            return None
        return self.predicted_casualties / self.observed_casualties

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values."""
        return {
            "id": self.id, "type": self.type, "targeted": self.targeted,
            "people_present": self.people_present, "minutes_to_stop": self.minutes_to_stop,
            "predicted_casualties": _r(self.predicted_casualties),
            "loo_predicted_casualties": _r(self.loo_predicted_casualties),
            "observed_casualties": self.observed_casualties, "ratio": _r(self.ratio, 3),
            "slot": self.slot, "nearby_sites": list(self.nearby_sites),
            "armed_presence": _r(self.armed_presence, 3),
            "predicted_minutes_to_armed_intervention":
                None if self.predicted_minutes is None
                else {k: _r(v, 2) for k, v in self.predicted_minutes.items()},
            "predicted_minutes_without_patrol_on_site":
                None if self.predicted_minutes_no_patrol is None
                else {k: _r(v, 2) for k, v in self.predicted_minutes_no_patrol.items()},
            "observed_minutes_to_armed_intervention": self.observed_minutes,
            "observed_minutes_source": self.observed_minutes_source or None,
            "stopped_by": self.stopped_by or None,
            "not_in_scenario": self.outside or None,
        }


def _r(x: float | None, nd: int = 2) -> float | None:
    return None if x is None or not math.isfinite(x) else round(float(x), nd)


@dataclass(frozen=True)
class BacktestResult:
    """Every row's backtest and a summary."""

    rows: tuple[BacktestRow, ...]
    scenario: str | None
    parameters_version: str
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, Any]:
        """Rows, accuracy of casualties (log ratios) and of response times."""
        pairs = [(r.predicted_casualties, r.observed_casualties) for r in self.rows
                 if r.predicted_casualties is not None and r.observed_casualties is not None]
        loo = [(r.loo_predicted_casualties, r.observed_casualties) for r in self.rows
               if r.loo_predicted_casualties is not None and r.observed_casualties is not None]

        def rms(ps: Sequence[tuple[float | None, int | None]]) -> float | None:
            if not ps:
                return None
            lr = [math.log1p(p or 0.0) - math.log1p(o or 0) for p, o in ps]
            return round(math.sqrt(sum(x * x for x in lr) / len(lr)), 3)

        timed = [r for r in self.rows if r.predicted_minutes is not None]
        inside = [r for r in timed if r.observed_minutes is not None and r.predicted_minutes
                  and r.predicted_minutes["p10"] <= r.observed_minutes
                  <= r.predicted_minutes["p90"]]
        inside0 = [r for r in timed if r.observed_minutes is not None
                   and r.predicted_minutes_no_patrol
                   and r.predicted_minutes_no_patrol["p10"] <= r.observed_minutes
                   <= r.predicted_minutes_no_patrol["p90"]]
        within2 = [r for r in pairs if r[0] is not None and r[1]
                   and 0.5 <= (r[0] or 0.0) / r[1] <= 2.0]
        return {
            "rows": len(self.rows), "with_casualty_prediction": len(pairs),
            "rms_log_ratio": rms(pairs), "loo_rms_log_ratio": rms(loo),
            "within_factor_2": len(within2),
            "with_time_prediction": len(timed),
            "observed_minutes_within_p10_p90": len(inside),
            "observed_minutes_within_p10_p90_without_patrol": len(inside0),
            "scenario": self.scenario, "casualty_parameters": self.parameters_version,
            "notes": list(self.notes),
        }

    def to_dict(self) -> dict[str, Any]:
        """``{"rows": [...], "summary": {...}}``."""
        return {"rows": [r.to_dict() for r in self.rows], "summary": self.summary()}


def _slot_of(plan: Plan, at: time) -> int | None:
    hour = at.hour + at.minute / 60
    for k, s in enumerate(plan.scenario.slots):
        if (hour - s.start_hour) % 24 < s.hours:
            return k
    return None


def _presence(plan: Plan) -> FloatArray:
    """Probability of armed officers on site, (slots, sites).

    The plan's patrol coverage, and 1 where a protection post keeps armed officers
    permanently on site (`citywatch.model.protection.armed_on_site`; Westminster 2017
    was stopped by a protection officer in about a minute), as the payoffs and the
    simulator count them.
    """
    from citywatch.model.protection import armed_on_site

    sc = plan.scenario
    cov = np.asarray(plan.coverage, dtype=np.float64).reshape(len(sc.slots), len(sc.sites))
    return np.where(armed_on_site(sc), 1.0, cov)


def _time_distribution(plan: Plan, lat: float, lon: float, slot: int, *, spread: Spread,
                       seed: np.random.SeedSequence,
                       ) -> tuple[dict[str, float], dict[str, float], tuple[str, ...], float]:
    """p10/median/p90 minutes to armed intervention at a point in a slot (simulated).

    Returns the quantiles under the plan, those with no armed officers on site (the
    plan's ARVs alone), the sites near the point and the probability of armed officers
    on site.
    """
    sc = plan.scenario
    s_lat = np.array([s.lat for s in sc.sites])
    s_lon = np.array([s.lon for s in sc.sites])
    d = haversine_m(np.full(s_lat.size, lat), np.full(s_lat.size, lon), s_lat, s_lon)
    near = np.flatnonzero(d <= NEARBY_M)
    cov = _presence(plan)[slot]
    presence = float(1.0 - np.prod(1.0 - cov[near])) if near.size else 0.0
    zone = sc.zone(sc.sites[int(np.argmin(d))].zone_id)
    tm = sc.travel
    speed = (tm.inner_speed_kmh if zone.inner else tm.outer_speed_kmh)
    factor = tm.slot_speed_factor[slot] if tm.slot_speed_factor else 1.0
    posts = plan.built.arv_posts[slot]
    o_lat = np.array([sc.standby[j].lat for j in posts])
    o_lon = np.array([sc.standby[j].lon for j in posts])
    minutes = straight_line_times(o_lat, o_lon, np.array([lat]), np.array([lon]),
                                  speed_kmh=np.array([speed * factor]),
                                  circuity=tm.circuity,
                                  short_trip_circuity=tm.short_trip_circuity,
                                  short_trip_m=tm.short_trip_m) / 60.0
    n_slots = len(sc.slots)
    prob = np.zeros((1, n_slots, 1))
    prob[0, slot, 0] = 1.0
    vehicles = [np.asarray(minutes).reshape(-1, 1)] * n_slots  # only `slot` is attacked
    with_plan, alone = (_quantiles(SimulationModel.from_arrays(
        attack_probability=prob, coverage=np.full((n_slots, 1), c),
        vehicle_minutes=vehicles, busy_probability=tm.arv_busy_probability,
        dispatch_minutes=tm.dispatch_delay_min, engage_minutes=tm.engage_min,
        on_site_minutes=sc.payoffs.on_site_intervention_min, interdiction=0.0,
        initial=0.0, rate=0.0, people_cap=0.0, people=np.zeros((n_slots, 1)), spread=spread,
        slot_names=sc.slot_names, site_ids=("point",)), s)
        for c, s in zip((presence, 0.0), children(seed, 2), strict=True))
    return with_plan, alone, tuple(sc.site_ids[i] for i in near), presence


def _quantiles(model: SimulationModel, seed: np.random.SeedSequence) -> dict[str, float]:
    work = blocks(DRAWS, seed)
    tally = simulate_block(model, [n for b in work for n in b.sizes],
                           [q for b in work for q in b.seeds])
    atoms = [(model.on_site_minutes, int(tally.on_site.sum()))]
    hist = tally.hist_target[model.cell_target[model.active_cells][0]]
    return {name: quantile_estimate(hist, atoms, p, bins_per_minute=model.bins_per_minute).value
            for name, p in (("p10", 0.1), ("median", 0.5), ("p90", 0.9))}


def backtest(records: Sequence[AttackRecord], *, plan: Plan | None = None,
             params: CasualtyParameters | None = None, leave_one_out: bool = True,
             spread: Spread = DEFAULT_SPREAD, seed: Seed = 0) -> BacktestResult:
    """Backtest the models on attack records (see the module docstring).

    Parameters
    ----------
    records
        Attack records (`citywatch.model.attacks.read_attacks`).
    plan
        A plan of the scenario whose response is predicted at the rows inside it;
        ``None``: casualties only.
    params
        Casualty-model parameters; default the calibrated ones.
    leave_one_out
        Also predict each row from a fit to the other usable rows of `records`.
    spread
        Random spread of dispatch and travel in the simulated response.
    seed
        Seed of the simulated response times (one stream per row).
    """
    from citywatch.model.casualties import default_casualty_parameters

    p = params or default_casualty_parameters()
    fit_rows = usable(records)
    loo: dict[str, float] = {}
    notes: list[str] = []
    if leave_one_out and len(fit_rows) > 6:
        for r in fit_rows:
            others = [x for x in fit_rows if x.id != r.id]
            q = fit_parameters(others)
            loo[r.id] = float(predict_casualties(r.type, r.people_present or 0.0,
                                                 r.minutes_to_stop or 0.0, params=q,
                                                 targets=r.targets))
    elif leave_one_out:
        notes.append("too few complete rows for leave-one-out predictions")
    root = root_seed(seed)
    row_seeds = children(root, len(records))
    out: list[BacktestRow] = []
    for r, rs in zip(records, row_seeds, strict=True):
        minutes = r.minutes_to_stop
        if minutes is None and r.type == ("pbied",):
            minutes = 0.0
        pred = None
        if r.people_present is not None and minutes is not None:
            pred = float(predict_casualties(r.type, r.people_present, minutes, params=p,
                                            targets=r.targets))
        obs_min, obs_src = (r.observed_minutes_to_armed_intervention,
                            "observed_minutes_to_armed_intervention")
        if obs_min is None and r.minutes_to_stop is not None and r.type != ("pbied",):
            obs_min, obs_src = r.minutes_to_stop, "minutes_to_stop"
        if obs_min is None:
            obs_src = ""
        extra: dict[str, Any] = {}
        if plan is not None:
            sc = plan.scenario
            if r.lat is None or r.lon is None:
                extra["outside"] = "no lat/lon"
            elif not sc.bounds.contains(r.lat, r.lon):
                extra["outside"] = f"outside {sc.name}"
            elif r.local_time is None:
                extra["outside"] = "no local_time"
            elif r.type == ("pbied",):
                extra["outside"] = "a blast: armed response does not change it"
            else:
                slot = _slot_of(plan, r.local_time)
                if slot is None:
                    extra["outside"] = "local_time in no slot"
                else:
                    q, q0, near, presence = _time_distribution(plan, r.lat, r.lon, slot,
                                                               spread=spread, seed=rs)
                    extra.update(slot=sc.slot_names[slot], nearby_sites=near,
                                 armed_presence=presence, predicted_minutes=q,
                                 predicted_minutes_no_patrol=q0)
        out.append(BacktestRow(
            id=r.id, type=r.type_label, targeted=r.targets is not None,
            people_present=r.people_present, minutes_to_stop=r.minutes_to_stop,
            observed_casualties=r.casualties, predicted_casualties=pred,
            loo_predicted_casualties=loo.get(r.id), observed_minutes=obs_min,
            observed_minutes_source=obs_src, stopped_by=r.stopped_by, **extra))
    if any(r.targets_source == "notes" for r in records):
        notes.append("rows whose notes say 'targeted attack' are read as aimed at one person "
                     "(add a `targets` column to say otherwise)")
    return BacktestResult(tuple(out), None if plan is None else plan.scenario.name,
                          p.version, tuple(notes))
