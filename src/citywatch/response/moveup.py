"""Move-up: which free vehicles to relocate, and where, when others are committed to an incident."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.errors import ScenarioError
from citywatch.geo.distance import straight_line_times
from citywatch.response._problem import CoverageProblem

__all__ = ["Move", "MoveUpOption", "recommend_moveups", "relocation_minutes"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Move:
    """One vehicle driven from one standby point to another."""

    vehicle: int
    from_id: str
    to_id: str
    minutes: float


@dataclass(frozen=True)
class MoveUpOption:
    """A set of moves offered to the controller, with what it restores.

    Shares are of the demand weight reached within the standard; `restored` is the
    share of the coverage lost to the commitment that the moves win back (1 = all);
    `gain_per_minute` is the share of demand won back per minute of travel, what the
    options are ranked by. `efficient` marks options no other option beats on both
    coverage and travel.
    """

    moves: tuple[Move, ...]
    share_before_incident: float
    share_now: float
    share_after: float
    restored: float
    travel_minutes: float
    efficient: bool
    gain_per_minute: float = 0.0


def relocation_minutes(problem: CoverageProblem, *, speed_kmh: float = 30.0,
                       circuity: float = 1.3) -> FloatArray:
    """Straight-line minutes between candidate points (non-urgent driving at `speed_kmh`)."""
    if problem.candidate_lat is None or problem.candidate_lon is None:
        msg = "`problem` has no candidate coordinates; pass `relocation` minutes explicitly"
        raise ScenarioError(msg)
    lat, lon = problem.candidate_lat, problem.candidate_lon
    return straight_line_times(lat, lon, lat, lon, speed_kmh=speed_kmh, circuity=circuity,
                               short_trip_circuity=circuity) / 60.0


def recommend_moveups(problem: CoverageProblem, positions: Sequence[int],
                      committed: Sequence[int], *, standard_min: float = 8.0,
                      relocation: npt.ArrayLike | None = None, max_moves: int = 2,
                      top: int = 5) -> tuple[MoveUpOption, ...]:
    """Options for relocating free vehicles to restore coverage, ranked for a controller.

    Vehicle `v` waits at candidate ``positions[v]``; the vehicles in `committed` have
    gone to an incident. Every single move of a free vehicle to a point with room is
    scored by the demand weight its new placement reaches within `standard_min`; for
    two moves, each of the best single moves is extended by every second move. Options
    that make the same moves (two vehicles waiting at one point are interchangeable)
    are offered once. Options are ranked by the coverage they restore per minute of
    travel, ``(share_after − share_now) / travel_minutes`` (descending), then by coverage
    after the moves; those not beaten on both coverage and travel by another are
    marked ``efficient``. "No move" is never offered; an empty tuple means no move
    helps.

    Parameters
    ----------
    problem
        Demand, candidates and travel minutes.
    positions
        Candidate index of each vehicle.
    committed
        Indices (into `positions`) of the vehicles committed to the incident.
    standard_min
        Response standard, minutes.
    relocation
        Minutes between candidates, shape (candidates, candidates); default
        `relocation_minutes`.
    max_moves
        1 or 2.
    top
        Options returned.
    """
    pos = np.asarray(positions, dtype=np.int64)
    if pos.size == 0 or pos.min() < 0 or pos.max() >= problem.n_candidates:
        msg = f"`positions` must hold candidate indices 0..{problem.n_candidates - 1}"
        raise ScenarioError(msg)
    gone = set(int(v) for v in committed)
    if any(v < 0 or v >= pos.size for v in gone):
        msg = f"`committed` must hold vehicle indices 0..{pos.size - 1}, got {sorted(gone)}"
        raise ScenarioError(msg)
    if max_moves not in (1, 2):
        msg = f"`max_moves` must be 1 or 2, got {max_moves}"
        raise ScenarioError(msg)
    rel = relocation_minutes(problem) if relocation is None else np.asarray(relocation, float)
    reach = np.asarray(problem.coverage_matrix(standard_min).todense(), dtype=bool)
    w = problem.weights
    total = float(w.sum()) or 1.0

    def share(counts: npt.NDArray[np.int64]) -> float:
        return float(w[(reach[:, counts > 0]).any(axis=1)].sum() / total)

    n_c = problem.n_candidates
    before = np.bincount(pos, minlength=n_c)
    free = [v for v in range(pos.size) if v not in gone]
    now = np.bincount(pos[free], minlength=n_c) if free else np.zeros(n_c, dtype=np.int64)
    share_before, share_now = share(before), share(now)
    room = problem.capacity.copy()
    room[list(problem.forbidden)] = 0

    def moves_from(counts: npt.NDArray[np.int64], movers: Sequence[int]
                   ) -> list[tuple[int, int]]:
        out = []
        for v in movers:
            for j in range(n_c):
                if j != pos_now[v] and counts[j] < room[j]:
                    out.append((v, j))
        return out

    pos_now = pos.copy()
    scored: dict[tuple[tuple[int, int], ...], float] = {}
    singles = []
    for v, j in moves_from(now, free):
        c = now.copy()
        c[pos_now[v]] -= 1
        c[j] += 1
        s = share(c)
        scored[((v, j),)] = s
        singles.append((s, -rel[pos_now[v], j], v, j))
    if max_moves == 2:
        singles.sort(reverse=True)
        for _, _, v, j in singles[:10]:
            c1 = now.copy()
            c1[pos_now[v]] -= 1
            c1[j] += 1
            for v2, j2 in moves_from(c1, [u for u in free if u != v]):
                c = c1.copy()
                c[pos_now[v2]] -= 1
                c[j2] += 1
                key = tuple(sorted(((v, j), (v2, j2))))
                if key not in scored:
                    scored[key] = share(c)
    options = []
    seen: set[tuple[tuple[int, int], ...]] = set()
    for key, s in sorted(scored.items()):
        if s <= share_now + 1e-12:
            continue
        same = tuple(sorted((int(pos_now[v]), j) for v, j in key))
        if same in seen:  # the same moves by interchangeable vehicles
            continue
        seen.add(same)
        travel = float(sum(rel[pos_now[v], j] for v, j in key))
        options.append((s, travel, key))
    lost = share_before - share_now
    out = []
    for s, travel, key in options:
        efficient = not any(s2 >= s and t2 <= travel and (s2 > s or t2 < travel)
                            for s2, t2, _ in options)
        moves = tuple(Move(v, problem.candidate_ids[pos_now[v]], problem.candidate_ids[j],
                           float(rel[pos_now[v], j])) for v, j in key)
        restored = (s - share_now) / lost if lost > 1e-12 else 0.0
        per_minute = (s - share_now) / travel if travel > 0 else float("inf")
        out.append(MoveUpOption(moves, share_before, share_now, s, restored, travel, efficient,
                                per_minute))
    out.sort(key=lambda o: (-o.gain_per_minute, -o.share_after, o.travel_minutes,
                            [(m.from_id, m.to_id) for m in o.moves]))
    return tuple(out[:top])
