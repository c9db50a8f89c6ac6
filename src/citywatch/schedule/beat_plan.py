"""The plan with beats: the schedule-constrained game over walked beats, and its price.

Targets are slot-major (``slot * n_sites + site``, as `citywatch.model.payoffs` builds
them) and each slot is a budget group. Beat ``b`` run in slot ``s`` gives site ``i``
the presence share of its timetable over the slot (`Beat.presence`); the teams of a
slot run site-disjoint beats (`citywatch.games.schedules.presence`). The *price of
beats* is what walking costs against the unconstrained plan, in which a team may stand
at one site for the whole slot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._random import Seed, as_generator
from citywatch.errors import GameError, ScenarioError
from citywatch.games.equilibrium import best_responses
from citywatch.games.schedules.game import ScheduleEquilibrium
from citywatch.games.schedules.presence import (
    PresenceGame,
    PresenceSolution,
    solve_presence,
    solve_presence_bayesian,
)
from citywatch.model.game import SecurityGame
from citywatch.model.scenario import Scenario
from citywatch.schedule.beats import Beat

if TYPE_CHECKING:
    from citywatch.plan import Plan

__all__ = [
    "BeatPlan",
    "beat_features",
    "beat_game",
    "beats_for",
    "price_of_beats",
    "sample_beats",
    "solve_beats",
    "write_beat_plan",
    "write_beats_geojson",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


def beat_game(game: SecurityGame, beats: Sequence[Beat], *, n_sites: int,
              slot_minutes: Sequence[float]) -> tuple[PresenceGame, IntArray]:
    """The presence game of `beats` in every slot they fit, and each schedule's beat.

    Returns the game and an array mapping schedule ``j`` to its beat index (schedule
    ``j`` runs in slot ``pgame.schedule_groups[j]``).
    """
    n_slots = game.n_groups
    if game.n_targets != n_slots * n_sites:
        msg = (f"`game` has {game.n_targets} targets, expected {n_slots} slots x {n_sites} "
               f"sites")
        raise GameError(msg)
    if len(slot_minutes) != n_slots:
        msg = f"`slot_minutes` must have one entry per slot ({n_slots}), got {len(slot_minutes)}"
        raise GameError(msg)
    rows, cols, vals, groups, beat_of = [], [], [], [], []
    j = 0
    for s, minutes in enumerate(slot_minutes):
        for b, beat in enumerate(beats):
            if not beat.fits(minutes):
                continue
            share = beat.presence(minutes)
            if not share:
                continue
            for site, v in sorted(share.items()):
                rows.append(j)
                cols.append(s * n_sites + site)
                vals.append(min(1.0, v))
            groups.append(s)
            beat_of.append(b)
            j += 1
    if j == 0:
        msg = "no beat fits any slot; check `beats` and the slot lengths"
        raise GameError(msg)
    presence = sp.csr_array((vals, (rows, cols)), shape=(j, game.n_targets))
    return (PresenceGame(game, presence, np.asarray(groups, dtype=np.int64)),
            np.asarray(beat_of, dtype=np.int64))


@dataclass(frozen=True, eq=False)
class BeatPlan:
    """A mixed strategy over site-disjoint sets of beats, slot by slot.

    Attributes
    ----------
    beats
        The candidate beats.
    equilibrium
        The strategy: joint assignments (schedule indices), their slot and probability.
    schedule_beat
        Beat index of each schedule of the equilibrium.
    coverage
        Presence share each site gets in each slot, shape (slots, sites).
    budgets
        Teams (beats run) in each slot.
    slot_minutes
        Length of each slot.
    attacker_model
        ``"mixture"`` or ``"bayesian"``.
    bound
        Proven upper bound on the defender's utility with beats.
    stages
        Solver statistics (seconds per stage, master solves, pricing MILPs).
    """

    beats: tuple[Beat, ...]
    equilibrium: ScheduleEquilibrium
    schedule_beat: IntArray
    coverage: FloatArray
    budgets: IntArray
    slot_minutes: tuple[float, ...]
    attacker_model: str = "mixture"
    bound: float = float("nan")
    stages: dict[str, float] = field(default_factory=dict)

    def support(self, slot: int) -> list[tuple[tuple[int, ...], float]]:
        """The pure strategies of `slot`: (beats run, probability)."""
        eq = self.equilibrium
        return [(tuple(int(self.schedule_beat[j]) for j in joint), float(p))
                for joint, g, p in zip(eq.joint_schedules, eq.joint_groups, eq.probabilities,
                                       strict=True) if int(g) == slot]

    def marginals(self, slot: int) -> dict[int, float]:
        """Probability each beat is run in `slot`."""
        out: dict[int, float] = {}
        for run, p in self.support(slot):
            for b in run:
                out[b] = out.get(b, 0.0) + p
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: the beats used, the support per slot and the solve figures."""
        used = sorted({b for s in range(len(self.budgets)) for run, _ in self.support(s)
                       for b in run})
        eq = self.equilibrium
        return {
            "attacker_model": self.attacker_model,
            "method": eq.method,
            "optimal": eq.optimal,
            "gap": eq.gap,
            "bound": self.bound,
            "defender_utility": eq.defender_utility,
            "solve_seconds": eq.seconds,
            "candidate_beats": len(self.beats),
            "budgets": self.budgets.tolist(),
            "slot_minutes": list(self.slot_minutes),
            "stages": self.stages,
            "beats": {str(b): _beat_dict(self.beats[b]) for b in used},
            "support": [[{"beats": list(run), "probability": p} for run, p in self.support(s)]
                        for s in range(len(self.budgets))],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], scenario: Scenario) -> BeatPlan:
        """Rebuild a beat plan written by `to_dict` (no solving).

        Raises
        ------
        ScenarioError
            If the data names sites the scenario does not have or is malformed.
        """
        try:
            keys = sorted(data["beats"], key=int)
            beats = tuple(_beat_from(data["beats"][k], scenario) for k in keys)
            local = {int(k): i for i, k in enumerate(keys)}
            budgets = np.asarray(data["budgets"], dtype=np.int64)
            slot_minutes = tuple(float(m) for m in data["slot_minutes"])
            joints, groups, probs = [], [], []
            for s, runs in enumerate(data["support"]):
                for item in runs:
                    joints.append(tuple(local[int(b)] for b in item["beats"]))
                    groups.append(s)
                    probs.append(float(item["probability"]))
        except (KeyError, TypeError, ValueError) as err:
            msg = f"`beats` section of the plan is malformed ({err!r})"
            raise ScenarioError(msg) from err
        n_sites = len(scenario.sites)
        coverage = np.zeros((len(budgets), n_sites))
        for joint, s, p in zip(joints, groups, probs, strict=True):
            for b in joint:
                for site, v in beats[b].presence(slot_minutes[s]).items():
                    coverage[s, site] += p * v
        game_cov = coverage.reshape(-1)
        eq = ScheduleEquilibrium(
            coverage=game_cov, defender_utility=float(data.get("defender_utility", np.nan)),
            attacked=np.zeros(0, dtype=np.int64), attacker_utility=np.zeros(0),
            method=str(data.get("method", "")), optimal=bool(data.get("optimal", False)),
            gap=float(data.get("gap", np.nan)), seconds=float(data.get("solve_seconds", 0.0)),
            joint_schedules=tuple(joints), joint_groups=np.asarray(groups, dtype=np.int64),
            probabilities=np.asarray(probs))
        return cls(beats, eq, np.arange(len(beats), dtype=np.int64), coverage, budgets,
                   slot_minutes, str(data.get("attacker_model", "mixture")),
                   float(data.get("bound", np.nan)), dict(data.get("stages", {})))


def _beat_dict(b: Beat) -> dict[str, Any]:
    return {"id": b.id, "sites": list(b.sites), "dwell_minutes": list(b.dwell_minutes),
            "legs_minutes": list(b.legs_minutes), "base": b.base, "tactic": b.tactic,
            "closing_leg_minutes": b.closing_leg_minutes,
            "return_minutes": list(b.return_minutes),
            "hub": None if b.hub is None else list(b.hub)}


def _beat_from(d: dict[str, Any], scenario: Scenario) -> Beat:
    sites = tuple(int(i) for i in d["sites"])
    if any(not 0 <= i < len(scenario.sites) for i in sites):
        msg = f"beat {d.get('id')!r} names a site the scenario does not have"
        raise ScenarioError(msg)
    hub = d.get("hub")
    return Beat(str(d["id"]), sites, tuple(float(x) for x in d["dwell_minutes"]),
                tuple(float(x) for x in d["legs_minutes"]), d.get("base"),
                str(d.get("tactic", "beat")), float(d.get("closing_leg_minutes", 0.0)),
                tuple(float(x) for x in d.get("return_minutes", ())),
                None if hub is None else (str(hub[0]), str(hub[1]), float(hub[2]),
                                          float(hub[3])))


def solve_beats(game: SecurityGame, beats: Sequence[Beat], *, n_sites: int,
                slot_minutes: Sequence[float], attacker: str = "mixture",
                time_limit: float | None = 240.0, rel_gap: float = 1e-3) -> BeatPlan:
    """Solve the game in which each team walks one beat per slot.

    Parameters
    ----------
    game
        The scenario's game (all attack types).
    beats
        Candidate beats (`citywatch.schedule.walking.candidate_beats`).
    n_sites
        Sites per slot.
    slot_minutes
        Length of each slot; a beat runs in the slots it fits.
    attacker
        ``"mixture"`` (one prior-weighted attacker, solved within `rel_gap`, proven)
        or ``"bayesian"`` (each type responds; the best candidate with its proven gap).
    time_limit
        Seconds, a safety net.
    rel_gap
        Relative gap at which the mixture solve stops.
    """
    if attacker not in ("mixture", "bayesian"):
        msg = f"`attacker` must be mixture or bayesian for beats, got {attacker!r}"
        raise GameError(msg)
    pgame, beat_of = beat_game(game, beats, n_sites=n_sites, slot_minutes=slot_minutes)
    sol: PresenceSolution
    if attacker == "mixture":
        mix = PresenceGame(game.mixture(), pgame.presence, pgame.schedule_groups)
        sol = solve_presence(mix, time_limit=time_limit, rel_gap=rel_gap)
    else:
        sol = solve_presence_bayesian(pgame, time_limit=time_limit, rel_gap=rel_gap)
    eq = sol.equilibrium
    coverage = np.asarray(eq.coverage, dtype=np.float64).reshape(game.n_groups, n_sites)
    return BeatPlan(tuple(beats), eq, beat_of, coverage, sol.teams,
                    tuple(float(m) for m in slot_minutes), attacker, sol.bound,
                    dict(sol.stages))


def beats_for(scenario: Scenario, *, folder: str | Path | None = None,
              **kwargs: Any) -> tuple[Beat, ...]:
    """Candidate beats for a scenario, with the planner's ``beats.csv`` edits if any.

    `folder` is the scenario folder; its ``beats.csv`` (if present) adds, replaces or
    forbids beats (`citywatch.schedule.walking.read_beats_csv`). Keyword arguments go
    to `candidate_beats`.
    """
    from citywatch.schedule.walking import apply_beat_edits, candidate_beats, read_beats_csv

    beats = candidate_beats(scenario, **kwargs)
    if folder is None:
        return beats
    path = Path(folder) / "beats.csv"
    if not path.is_file():
        return beats
    added, forbidden = read_beats_csv(path, scenario)
    minutes = min(s.hours for s in scenario.slots) * 60.0
    return apply_beat_edits(beats, added, forbidden, slot_minutes=minutes)


def sample_beats(plan: BeatPlan, *, draws: int = 1, seed: Seed = None) -> list[list[list[int]]]:
    """Draw the beats run in each slot of each day from the plan's mixed strategy.

    Returns ``out[day][slot]``: the beat indices run (site-disjoint, one per team),
    drawn independently per day and slot with the plan's probabilities, so each
    site's expected presence converges to its coverage.
    """
    from citywatch.schedule.sampling import sample_joint_schedules

    rng = as_generator(seed)
    eq = plan.equilibrium
    n_slots = plan.coverage.shape[0]
    picks = sample_joint_schedules(eq.joint_groups, eq.probabilities, n_groups=n_slots,
                                   draws=draws, seed=rng)
    joints = eq.joint_schedules
    return [[[] if picks[d, s] < 0 else [int(plan.schedule_beat[j]) for j in joints[picks[d, s]]]
             for s in range(n_slots)] for d in range(draws)]


def _slot_losses(game: SecurityGame, coverage: FloatArray, n_sites: int) -> FloatArray:
    """Per slot: expected casualties if the (one-type) attacker strikes in that slot."""
    out = np.zeros(game.n_groups)
    for s in range(game.n_groups):
        idx = np.arange(s * n_sites, (s + 1) * n_sites)
        sub = SecurityGame(game.defender_covered[:, idx], game.defender_uncovered[:, idx],
                           game.attacker_covered[:, idx], game.attacker_uncovered[:, idx],
                           resources=1, priors=game.priors)
        _, value = best_responses(sub, coverage[idx])
        out[s] = -value
    return out


def price_of_beats(plan: Plan, beat_plan: BeatPlan) -> dict[str, Any]:
    """What walking beats costs against the unconstrained plan, overall and per slot.

    Expected casualties per attack (casualty-equivalents, ``-`` the defender's
    utility), with beats and without: against the prior-weighted mixture attacker
    (unconstrained: its exact ORIGAMI plan) and with each attack type best-responding
    (unconstrained: the plan's own coverage). Per slot: the mixture attacker restricted
    to that slot's targets.
    """
    from citywatch.games.origami import solve_origami

    game = plan.built.game
    mix = game.mixture()
    n_sites = plan.built.n_sites
    beats_c = beat_plan.coverage.reshape(-1)
    free_mix = solve_origami(mix).coverage
    _, beats_mix = best_responses(mix, beats_c)
    _, free_mix_v = best_responses(mix, free_mix)
    _, beats_all = best_responses(game, beats_c)
    _, plan_all = best_responses(game, plan.coverage)
    lb = _slot_losses(mix, beats_c, n_sites)
    lf = _slot_losses(mix, free_mix, n_sites)
    slots = plan.scenario.slot_names
    return {
        "mixture": {"beats": -beats_mix, "unconstrained": -free_mix_v,
                    "price": free_mix_v - beats_mix},
        "each_type": {"beats": -beats_all, "unconstrained": -plan_all,
                      "price": plan_all - beats_all},
        "per_slot": {slot: {"beats": float(lb[s]), "unconstrained": float(lf[s]),
                            "price": float(lb[s] - lf[s])} for s, slot in enumerate(slots)},
        "presence_per_team": {slot: float(beat_plan.coverage[s].sum()
                                          / max(1, int(beat_plan.budgets[s])))
                              for s, slot in enumerate(slots)},
    }


def beat_features(beat_plan: BeatPlan, scenario: Scenario) -> list[dict[str, Any]]:
    """One GeoJSON LineString feature per (slot, beat) the plan runs, stops in order."""
    sites = scenario.sites
    features = []
    for s, slot in enumerate(scenario.slot_names):
        for b, p in sorted(beat_plan.marginals(s).items()):
            beat = beat_plan.beats[b]
            coords = [[sites[i].lon, sites[i].lat] for i in beat.sites]
            if beat.hub is not None:
                coords = [[beat.hub[3], beat.hub[2]], *coords, [beat.hub[3], beat.hub[2]]]
            if len(coords) == 1:
                coords = coords * 2
            stops = beat.timetable(0.0, beat_plan.slot_minutes[s])
            features.append({"type": "Feature",
                             "geometry": {"type": "LineString", "coordinates": coords},
                             "properties": {
                                 "slot": slot, "beat_id": beat.id,
                                 "stops": [sites[i].id for i in beat.sites],
                                 "stop_names": [sites[i].name for i in beat.sites],
                                 "dwell_minutes": list(beat.dwell_minutes),
                                 "hub": None if beat.hub is None else beat.hub[0],
                                 "walk_minutes": round(beat.walk_minutes, 1),
                                 "loop_minutes": round(beat.loop_minutes, 1),
                                 "stops_per_slot": len(stops),
                                 "probability": round(p, 6)}})
    return features


def write_beats_geojson(beat_plan: BeatPlan, scenario: Scenario, path: str | Path) -> Path:
    """Write ``beats.geojson``: one LineString per beat the plan runs, per slot."""
    from citywatch.schedule.export import _atomic_write

    p = Path(path)
    doc = {"type": "FeatureCollection", "name": f"{scenario.name} beats",
           "features": beat_features(beat_plan, scenario)}
    _atomic_write(p, json.dumps(doc))
    return p


def write_beat_plan(beat_plan: BeatPlan, plan: Plan, price: dict[str, Any],
                    folder: str | Path) -> list[Path]:
    """Write ``beats.geojson`` and ``beats.json`` (the strategy, the solve and its price)."""
    from citywatch.schedule.export import _atomic_write

    out = Path(folder)
    written = [write_beats_geojson(beat_plan, plan.scenario, out / "beats.geojson")]
    data = {**beat_plan.to_dict(), "scenario": plan.scenario.name,
            "threat_level": plan.scenario.threat_level.name, "price": price}
    written.append(_atomic_write(out / "beats.json", json.dumps(data, indent=1)))
    return written
