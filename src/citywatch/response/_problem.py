"""The coverage problem every location model solves: travel minutes, weights, standby rules."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.errors import ScenarioError, TravelTimeError
from citywatch.geo.distance import haversine_m, straight_line_times
from citywatch.model.payoffs import standby_travel_minutes
from citywatch.model.scenario import Scenario

__all__ = ["DEMAND_KINDS", "CoverageProblem"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

DEMAND_KINDS = ("sites", "grid")


@dataclass(frozen=True, eq=False)
class CoverageProblem:
    """Demand points, candidate standby points and the travel minutes between them.

    Build one with `from_travel_times` (numbers only) or `from_scenario` (a scenario's
    sites or H3 demand grid and its standby points); the constructors validate, the
    solvers trust.

    Attributes
    ----------
    minutes
        Travel minutes from each candidate to each demand point, shape (demand,
        candidates); ``inf`` where a candidate cannot reach a point.
    weights
        People (or any demand weight) at each demand point, shape (demand,), >= 0.
    candidate_ids
        Name of each candidate standby point.
    capacity
        Most vehicles that may wait at each candidate, shape (candidates,), >= 0.
    required
        Candidates that must hold at least one vehicle (sorted indices).
    forbidden
        Candidates that may hold none (sorted indices).
    demand_ids
        Name of each demand point (site ids or H3 cells).
    demand_lat, demand_lon, candidate_lat, candidate_lon
        Coordinates in degrees when the problem came from a map, else ``None``.
    """

    minutes: FloatArray
    weights: FloatArray
    candidate_ids: tuple[str, ...]
    capacity: IntArray
    required: tuple[int, ...] = ()
    forbidden: tuple[int, ...] = ()
    demand_ids: tuple[str, ...] = ()
    demand_lat: FloatArray | None = None
    demand_lon: FloatArray | None = None
    candidate_lat: FloatArray | None = None
    candidate_lon: FloatArray | None = None

    @property
    def n_demand(self) -> int:
        """Number of demand points."""
        return int(self.minutes.shape[0])

    @property
    def n_candidates(self) -> int:
        """Number of candidate standby points."""
        return int(self.minutes.shape[1])

    @property
    def allowed(self) -> npt.NDArray[np.bool_]:
        """Candidates that may hold a vehicle (not forbidden, capacity > 0)."""
        ok = self.capacity > 0
        ok[list(self.forbidden)] = False
        return ok

    @property
    def total_weight(self) -> float:
        """Sum of the demand weights."""
        return float(self.weights.sum())

    def coverage_matrix(self, standard_min: float) -> sp.csr_array:
        """Sparse 0/1 matrix ``a[i, j] = 1`` iff allowed candidate `j` reaches point `i`
        within `standard_min` minutes, shape (demand, candidates)."""
        reach = (self.minutes <= standard_min) & self.allowed[None, :]
        return sp.csr_array(reach.astype(np.int8))

    @classmethod
    def from_travel_times(
        cls,
        matrix_minutes: npt.ArrayLike,
        weights: npt.ArrayLike | None = None,
        *,
        candidate_ids: Sequence[str] | None = None,
        demand_ids: Sequence[str] | None = None,
        capacity: int | npt.ArrayLike | None = None,
        required: Sequence[int | str] = (),
        forbidden: Sequence[int | str] = (),
    ) -> CoverageProblem:
        """A problem from a bare travel-time matrix.

        Parameters
        ----------
        matrix_minutes
            Minutes from each candidate to each demand point, shape (demand,
            candidates); ``inf`` for "cannot reach", never NaN or negative.
        weights
            Demand weight of each point (>= 0); default 1 each.
        candidate_ids, demand_ids
            Names; default the indices as strings.
        capacity
            Most vehicles per candidate: one int for all or one per candidate;
            default 1 (each point holds at most one vehicle).
        required, forbidden
            Candidates (indices or ids) that must hold a vehicle, or may hold none.

        Raises
        ------
        TravelTimeError
            If the matrix or weights are malformed.
        ScenarioError
            If capacities, required or forbidden points are inconsistent.
        """
        t = np.asarray(matrix_minutes, dtype=np.float64)
        if t.flags.writeable:  # a read-only matrix (a cached one) is shared, not copied
            t = t.copy()
        if t.ndim != 2 or t.shape[0] == 0 or t.shape[1] == 0:
            msg = f"`matrix_minutes` must be a non-empty (demand, candidates) matrix, got {t.shape}"
            raise TravelTimeError(msg)
        bad = np.argwhere(np.isnan(t) | (t < 0))
        if bad.size:
            i, j = (int(v) for v in bad[0])
            msg = (f"`matrix_minutes[{i}, {j}]` must be >= 0 (inf for unreachable), "
                   f"got {t[i, j]!r}")
            raise TravelTimeError(msg)
        n_d, n_c = t.shape
        w = np.ones(n_d) if weights is None else np.array(weights, dtype=np.float64).reshape(-1)
        if w.shape != (n_d,):
            msg = f"`weights` must have one entry per demand point ({n_d}), got {w.size}"
            raise TravelTimeError(msg)
        badw = np.flatnonzero(~(np.isfinite(w) & (w >= 0)))
        if badw.size:
            i = int(badw[0])
            msg = f"`weights[{i}]` must be finite and >= 0, got {w[i]!r}"
            raise TravelTimeError(msg)
        cids = (tuple(str(j) for j in range(n_c)) if candidate_ids is None
                else tuple(str(c) for c in candidate_ids))
        if len(cids) != n_c:
            msg = f"`candidate_ids` must have {n_c} entries, got {len(cids)}"
            raise ScenarioError(msg)
        if len(set(cids)) != n_c:
            msg = "`candidate_ids` must be unique"
            raise ScenarioError(msg)
        dids = (tuple(str(i) for i in range(n_d)) if demand_ids is None
                else tuple(str(d) for d in demand_ids))
        if len(dids) != n_d:
            msg = f"`demand_ids` must have {n_d} entries, got {len(dids)}"
            raise ScenarioError(msg)
        cap_in = 1 if capacity is None else capacity
        cap = np.array(cap_in).reshape(-1)
        if cap.size == 1:
            cap = np.full(n_c, cap[0])
        if cap.shape != (n_c,) or cap.dtype.kind not in "iuf" or np.any(cap != np.round(cap)) \
                or np.any(cap < 0):
            msg = (f"`capacity` must be one integer >= 0 or one per candidate ({n_c}), "
                   f"got {cap_in!r}")
            raise ScenarioError(msg)
        cap = cap.astype(np.int64)
        req = _indices("required", required, cids)
        forb = _indices("forbidden", forbidden, cids)
        both = set(req) & set(forb)
        if both:
            j = min(both)
            msg = f"candidate `{cids[j]}` is both required and forbidden"
            raise ScenarioError(msg)
        zero = [j for j in req if cap[j] == 0]
        if zero:
            msg = f"required candidate `{cids[zero[0]]}` has capacity 0"
            raise ScenarioError(msg)
        for arr in (t, w, cap):
            arr.setflags(write=False)
        return cls(minutes=t, weights=w, candidate_ids=cids, capacity=cap, required=req,
                   forbidden=forb, demand_ids=dids)

    @classmethod
    def from_scenario(
        cls,
        scenario: Scenario,
        slot: str | int = 0,
        *,
        demand: str = "sites",
        resolution: int = 8,
        residents_weight: float = 1.0,
        travel_minutes: npt.ArrayLike | None = None,
        required: Sequence[int | str] = (),
        forbidden: Sequence[int | str] = (),
    ) -> CoverageProblem:
        """A problem from a scenario's demand and standby points in one time slot.

        Travel minutes are pure driving times (the scenario's straight-line model at
        the slot's speed factor, as `citywatch.model.payoffs.standby_travel_minutes`),
        without the dispatch delay or the minute to engage; standards are therefore
        travel standards. Matrices are computed once per scenario geometry and cached.

        Parameters
        ----------
        scenario
            The scenario.
        slot
            Slot name or index.
        demand
            ``"sites"``: the crowded places, weighted by the people present in the slot;
            ``"grid"``: the H3 demand grid, weighted by people at sites in the slot plus
            `residents_weight` times the residents of each cell.
        resolution
            H3 resolution of the grid.
        residents_weight
            Weight of a resident against a person present at a site (grid only).
        travel_minutes
            Travel minutes (demand, standby) to use instead of the straight-line model,
            e.g. from `citywatch.geo.network.network_travel_times` / 60.
        required, forbidden
            Standby points (indices or ids) that must hold a vehicle, or may hold none.
        """
        if demand not in DEMAND_KINDS:
            msg = f"`demand` must be one of {', '.join(DEMAND_KINDS)}, got {demand!r}"
            raise ScenarioError(msg)
        s = slot if isinstance(slot, int) else scenario.slot_index(slot)
        if not 0 <= s < len(scenario.slots):
            msg = f"`slot` index must be in 0..{len(scenario.slots) - 1}, got {slot}"
            raise ScenarioError(msg)
        if not (np.isfinite(residents_weight) and residents_weight >= 0):
            msg = f"`residents_weight` must be finite and >= 0, got {residents_weight!r}"
            raise ScenarioError(msg)
        if demand == "sites":
            dlat = np.array([x.lat for x in scenario.sites])
            dlon = np.array([x.lon for x in scenario.sites])
            weights = scenario.people()[:, s]
            dids = scenario.site_ids
            default: Callable[[], FloatArray] = lambda: _site_minutes(scenario)[s]  # noqa: E731
        else:
            from citywatch.model.demand import demand_grid

            grid = demand_grid(scenario, resolution=resolution)
            dlat, dlon = grid.lat, grid.lon
            foot = grid.footfall if grid.footfall.ndim == 1 else grid.footfall[s]
            weights = foot + residents_weight * grid.residents
            dids = grid.cells
            default = lambda: _grid_minutes(scenario, s, dlat, dlon)  # noqa: E731
        t = default() if travel_minutes is None else np.asarray(travel_minutes, dtype=np.float64)
        problem = cls.from_travel_times(
            t, weights, candidate_ids=[p.id for p in scenario.standby], demand_ids=dids,
            capacity=[p.capacity for p in scenario.standby], required=required,
            forbidden=forbidden)
        clat = np.array([p.lat for p in scenario.standby])
        clon = np.array([p.lon for p in scenario.standby])
        return cls(minutes=problem.minutes, weights=problem.weights,
                   candidate_ids=problem.candidate_ids, capacity=problem.capacity,
                   required=problem.required, forbidden=problem.forbidden,
                   demand_ids=problem.demand_ids, demand_lat=dlat, demand_lon=dlon,
                   candidate_lat=clat, candidate_lon=clon)


def _indices(name: str, values: Sequence[int | str], ids: tuple[str, ...]) -> tuple[int, ...]:
    out = set()
    for v in values:
        if isinstance(v, str) and not v.lstrip("-").isdigit():
            if v not in ids:
                msg = f"`{name}`: {v!r} is not a candidate id"
                raise ScenarioError(msg)
            out.add(ids.index(v))
        else:
            j = int(v)
            if not 0 <= j < len(ids):
                msg = f"`{name}`: candidate index {j} is out of range 0..{len(ids) - 1}"
                raise ScenarioError(msg)
            out.add(j)
    return tuple(sorted(out))


def _geometry_key(scenario: Scenario, *extra: object) -> str:
    """A digest of everything the straight-line matrices depend on."""
    h = hashlib.sha256()
    h.update(repr(scenario.travel).encode())
    for group in (scenario.sites, scenario.standby, scenario.zones):
        for item in group:
            h.update(repr((getattr(item, "lat", 0), getattr(item, "lon", 0),
                           getattr(item, "zone_id", ""), getattr(item, "inner", ""))).encode())
    h.update(repr(extra).encode())
    return h.hexdigest()


_CACHE: dict[str, FloatArray] = {}
_CACHE_MAX = 64


def _cached(key: str, compute: Callable[[], FloatArray]) -> FloatArray:
    if key not in _CACHE:
        if len(_CACHE) >= _CACHE_MAX:
            _CACHE.pop(next(iter(_CACHE)))
        value = compute()
        value.setflags(write=False)
        _CACHE[key] = value
    return _CACHE[key]


def _site_minutes(scenario: Scenario) -> FloatArray:
    """(slots, sites, standby) minutes, the transpose of the payoff model's matrix."""
    return _cached(_geometry_key(scenario, "sites"),
                   lambda: np.ascontiguousarray(standby_travel_minutes(scenario)
                                                .transpose(0, 2, 1)))


def _grid_minutes(scenario: Scenario, s: int, dlat: FloatArray, dlon: FloatArray) -> FloatArray:
    key = _geometry_key(scenario, "grid", s, hashlib.sha256(dlat.tobytes() + dlon.tobytes())
                        .hexdigest())
    return _cached(key, lambda: _straight_line(scenario, s, dlat, dlon))


def _straight_line(scenario: Scenario, s: int, dlat: FloatArray, dlon: FloatArray) -> FloatArray:
    """(demand, standby) minutes; a point's speed is that of its nearest zone centroid."""
    tm = scenario.travel
    zlat = np.array([z.lat for z in scenario.zones])
    zlon = np.array([z.lon for z in scenario.zones])
    inner = np.array([z.inner for z in scenario.zones], dtype=bool)
    if zlat.size:
        nearest = np.argmin(haversine_m(dlat[:, None], dlon[:, None], zlat[None, :],
                                        zlon[None, :]), axis=1)
        is_inner = inner[nearest]
    else:
        is_inner = np.zeros(dlat.size, dtype=bool)
    factors = tm.slot_speed_factor or (1.0,) * len(scenario.slots)
    speed = np.where(is_inner, tm.inner_speed_kmh, tm.outer_speed_kmh) * factors[s]
    olat = np.array([p.lat for p in scenario.standby])
    olon = np.array([p.lon for p in scenario.standby])
    seconds = straight_line_times(olat, olon, dlat, dlon, speed_kmh=speed,
                                  circuity=tm.circuity,
                                  short_trip_circuity=tm.short_trip_circuity,
                                  short_trip_m=tm.short_trip_m)
    return np.ascontiguousarray(seconds.T / 60.0)
