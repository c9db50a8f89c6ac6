"""Candidate beats from a city's geography: walking times, hubs, dwell and the slot length.

Walking time between two points is the great-circle distance times a circuity factor
at a walking speed (defaults: 1.4, the short-trip circuity of REFERENCE.md, and
4.8 km/h, officers on foot in kit [assumption]); with an OpenStreetMap walking network
(`citywatch.geo.network.load_osm_pbf(..., network_type="walking")`) it is the shortest
path over the network instead. A planner adds, edits or forbids beats in a
``beats.csv`` beside the scenario (`read_beats_csv`).
"""

from __future__ import annotations

import csv
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError, Problem, ScenarioError
from citywatch.geo.distance import haversine_m
from citywatch.model.scenario import Scenario
from citywatch.schedule.beats import STATIC, TOUR, Beat

__all__ = [
    "BEATS_COLUMNS",
    "WALK_SPEED_KMH",
    "WalkingModel",
    "apply_beat_edits",
    "candidate_beats",
    "read_beats_csv",
]

FloatArray = npt.NDArray[np.float64]

WALK_SPEED_KMH = 4.8
"""Armed officers on foot in kit, km/h [assumption]."""
CIRCUITY = 1.4
"""Walked distance over the great-circle distance on short urban trips (REFERENCE.md)."""
LOCAL_LOOP_MINUTES = 15.0
"""A one-stop beat walks round the area this long between two stops at its site [assumption]."""
HUB_CATEGORIES = ("station",)
"""Site categories that are transport hubs a beat may start and end at."""

#: Columns of a planner's ``beats.csv``.
BEATS_COLUMNS = ("action", "id", "stops", "dwell_minutes", "hub")


@dataclass(frozen=True)
class WalkingModel:
    """How long officers take to walk between points.

    Attributes
    ----------
    speed_kmh
        Walking speed.
    circuity
        Walked distance over the great-circle distance.
    network
        An OpenStreetMap walking network (`citywatch.geo.network.RoadNetwork`); when
        given, walking times are shortest paths over it (`speed_kmh` and `circuity`
        are then unused).
    """

    speed_kmh: float = WALK_SPEED_KMH
    circuity: float = CIRCUITY
    network: Any = None

    def __post_init__(self) -> None:
        if not 2.0 <= self.speed_kmh <= 8.0:
            msg = f"`speed_kmh` must be a walking speed (2 to 8 km/h), got {self.speed_kmh}"
            raise GameError(msg)
        if not 1.0 <= self.circuity <= 3.0:
            msg = f"`circuity` must lie in [1, 3], got {self.circuity}"
            raise GameError(msg)

    def minutes(self, lat_a: FloatArray, lon_a: FloatArray, lat_b: FloatArray,
                lon_b: FloatArray) -> FloatArray:
        """Walking minutes from every point a to every point b, shape (a, b)."""
        if self.network is not None:
            from citywatch.geo.network import network_travel_times

            return np.asarray(network_travel_times(self.network, lat_a, lon_a, lat_b, lon_b)
                              / 60.0, dtype=np.float64)
        d = haversine_m(np.asarray(lat_a)[:, None], np.asarray(lon_a)[:, None],
                        np.asarray(lat_b)[None, :], np.asarray(lon_b)[None, :])
        return np.asarray(d * self.circuity / (self.speed_kmh * 1000.0 / 60.0),
                          dtype=np.float64)


@dataclass(frozen=True)
class _Hubs:
    ids: tuple[str, ...]
    names: tuple[str, ...]
    lat: FloatArray
    lon: FloatArray
    base: tuple[int | None, ...]   # standby index, or None for a transport-hub site


def _hubs(scenario: Scenario) -> _Hubs:
    ids, names, lat, lon, base = [], [], [], [], []
    for j, b in enumerate(scenario.standby):
        ids.append(b.id)
        names.append(b.name)
        lat.append(b.lat)
        lon.append(b.lon)
        base.append(j)
    for s in scenario.sites:
        if s.category in HUB_CATEGORIES:
            ids.append(s.id)
            names.append(s.name)
            lat.append(s.lat)
            lon.append(s.lon)
            base.append(None)
    return _Hubs(tuple(ids), tuple(names), np.array(lat), np.array(lon), tuple(base))


TRANSFER_SPEED_KMH = 13.0
"""Driving a team from its base to a beat out of walking reach: central London traffic
(REFERENCE.md)."""
DRIVE_CIRCUITY = 1.3
"""Road distance over the great-circle distance (REFERENCE.md)."""


def _hub_minutes(walking: WalkingModel, lat: FloatArray, lon: FloatArray, hubs: _Hubs,
                 max_hub_minutes: float) -> FloatArray:
    """Minutes from each site to each hub: on foot within `max_hub_minutes`, else driven.

    A site no hub reaches on foot is served by a team driven from a standby base
    (`TRANSFER_SPEED_KMH`, road circuity `DRIVE_CIRCUITY`); transport hubs are
    reachable on foot only.
    """
    walk = walking.minutes(lat, lon, hubs.lat, hubs.lon)
    d = haversine_m(lat[:, None], lon[:, None], hubs.lat[None, :], hubs.lon[None, :])
    drive = d * DRIVE_CIRCUITY / (TRANSFER_SPEED_KMH * 1000.0 / 60.0)
    is_base = np.array([b is not None for b in hubs.base])
    out = np.where(walk <= max_hub_minutes, walk, np.inf)
    no_walk = ~np.isfinite(out).any(axis=1)
    out[no_walk] = np.where(is_base[None, :], drive[no_walk], np.inf)
    return np.asarray(out, dtype=np.float64)


def _check_dwell(dwell: float, field: str = "dwell_minutes") -> None:
    if not 10.0 <= dwell <= 20.0:
        msg = f"`{field}` should be 10 to 20 (a visible-presence stop), got {dwell}"
        raise GameError(msg)


def _make_beat(beat_id: str, order: Sequence[int], dwell: Sequence[float], walk: FloatArray,
               to_hub: FloatArray, hub: int, hubs: _Hubs, local_loop: float) -> Beat:
    """A beat walking `order` from and back to hub `hub` (walking minutes given)."""
    inner = [float(walk[a, b]) for a, b in itertools.pairwise(order)]
    legs = (float(to_hub[order[0], hub]), *inner, float(to_hub[order[-1], hub]))
    closing = local_loop if len(order) == 1 else float(walk[order[-1], order[0]])
    return Beat(beat_id, tuple(int(i) for i in order), tuple(float(d) for d in dwell), legs,
                hubs.base[hub], TOUR, closing, tuple(float(to_hub[i, hub]) for i in order),
                (hubs.ids[hub], hubs.names[hub], float(hubs.lat[hub]), float(hubs.lon[hub])))


def _best_loop(members: Sequence[int], walk: FloatArray) -> list[int]:
    """The shortest closed walk through `members` (brute force: at most a few stops)."""
    first, rest = members[0], list(members[1:])
    best, best_len = [first, *rest], np.inf
    for perm in itertools.permutations(rest):
        order = [first, *perm]
        length = sum(walk[a, b] for a, b in itertools.pairwise([*order, first]))
        if length < best_len - 1e-12:
            best, best_len = order, length
    return best


def candidate_beats(scenario: Scenario, *, dwell_minutes: float = 15.0, max_stops: int = 3,
                    neighbours: int = 3, max_leg_minutes: float = 20.0,
                    max_hub_minutes: float = 30.0, walking: WalkingModel | None = None,
                    slot_minutes: float | None = None,
                    local_loop_minutes: float = LOCAL_LOOP_MINUTES) -> tuple[Beat, ...]:
    """Candidate beats from the scenario's geography (walkable in every slot).

    Each site anchors beats of 1 to `max_stops` stops: the anchor and any subset of its
    `neighbours` nearest sites within `max_leg_minutes` walk, visited in the shortest
    loop order. A beat starts and ends at the hub (a standby point, or a station among
    the sites) nearest to one of its stops on foot (driven from a base when no hub is
    within `max_hub_minutes` walk); the loop starts at that stop. A
    one-stop beat walks round the area for `local_loop_minutes` between stops. A beat
    is kept when one pass (hub, every stop once with a `dwell_minutes` stop, back to
    the hub) fits in `slot_minutes` (default: the shortest slot). Site sets are unique.

    Parameters
    ----------
    scenario
        Sites, standby points and slots.
    dwell_minutes
        Visible-presence stop at each site, 10 to 20 minutes.
    max_stops
        Most sites on one beat (1 to 5).
    neighbours
        Nearest sites considered as the anchor's companions.
    max_leg_minutes
        Longest walk between consecutive stops.
    max_hub_minutes
        Longest walk from the hub to a stop; a beat out of walking reach of every hub
        starts with a drive from the nearest standby base instead.
    walking
        The walking model (default `WalkingModel()`).
    slot_minutes
        Time a beat must fit in; default the shortest slot of the scenario.
    local_loop_minutes
        Walk round the area between stops of a one-stop beat.

    Raises
    ------
    GameError
        If a parameter is out of range.
    """
    _check_dwell(dwell_minutes)
    if not 1 <= max_stops <= 5:
        msg = f"`max_stops` must lie in 1..5, got {max_stops}"
        raise GameError(msg)
    if neighbours < 0:
        msg = f"`neighbours` must be >= 0, got {neighbours}"
        raise GameError(msg)
    walking = walking or WalkingModel()
    limit = (min(s.hours for s in scenario.slots) * 60.0 if slot_minutes is None
             else float(slot_minutes))
    lat = np.array([s.lat for s in scenario.sites])
    lon = np.array([s.lon for s in scenario.sites])
    walk = walking.minutes(lat, lon, lat, lon)
    hubs = _hubs(scenario)
    to_hub = _hub_minutes(walking, lat, lon, hubs, max_hub_minutes)  # (sites, hubs)
    ids = scenario.site_ids
    beats: list[Beat] = []
    seen: set[frozenset[int]] = set()
    for anchor in range(lat.size):
        near = [int(j) for j in np.argsort(walk[anchor], kind="stable")
                if j != anchor and walk[anchor, j] <= max_leg_minutes][:neighbours]
        for size in range(0, min(max_stops - 1, len(near)) + 1):
            for extra in itertools.combinations(near, size):
                key = frozenset((anchor, *extra))
                if key in seen:
                    continue
                seen.add(key)
                members = sorted(key)
                # the stop nearest a hub opens the loop
                hub_of = np.argmin(to_hub[members], axis=1)
                near_hub = to_hub[members, hub_of]
                first = int(np.argmin(near_hub))
                hub = int(hub_of[first])
                ordered = [members[first], *[m for m in members if m != members[first]]]
                order = _best_loop(ordered, walk)
                if any(walk[a, b] > max_leg_minutes + 1e-9
                       for a, b in itertools.pairwise(order)):
                    continue
                beat = _make_beat("beat-" + "+".join(ids[i] for i in order), order,
                                  [dwell_minutes] * len(order), walk, to_hub, hub, hubs,
                                  local_loop_minutes)
                if beat.fits(limit):
                    beats.append(beat)
    return tuple(beats)


def _summary(path: Path, problems: Sequence[Problem]) -> str:
    shown = "; ".join(str(p) for p in problems[:3])
    more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
    return f"{len(problems)} problem(s) in {path}: {shown}{more}"


def read_beats_csv(path: str | Path, scenario: Scenario, *,
                   walking: WalkingModel | None = None, default_dwell: float = 15.0,
                   local_loop_minutes: float = LOCAL_LOOP_MINUTES
                   ) -> tuple[list[Beat], list[str]]:
    """A planner's beat edits: beats to add (or replace, by id) and ids to forbid.

    Columns (`BEATS_COLUMNS`): ``action`` (``add``, ``static`` or ``forbid``), ``id``,
    ``stops``
    (site ids in walking order separated by ``;``), ``dwell_minutes`` (one value, or
    one per stop separated by ``;``; default 15) and ``hub`` (a standby id or a station
    site id; default the hub nearest the first stop). A ``forbid`` row needs only the
    ``id``; a ``static`` row names one site where a team may stand for the whole slot
    (a planner's exception to walking, e.g. at the most crowded site).

    Returns
    -------
    tuple
        The beats to add and the ids to forbid.

    Raises
    ------
    ScenarioError
        With every problem found, each naming the row, the field and the value.
    """
    walking = walking or WalkingModel()
    path = Path(path)
    name = path.name
    problems: list[Problem] = []
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            header = reader.fieldnames or []
            rows = list(reader)
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise ScenarioError(f"{path}: unreadable beats file ({err})",
                            [Problem(name, "(file)", str(path), f"a readable CSV ({err})")]
                            ) from err
    missing = [c for c in ("action", "id") if c not in header]
    unknown = [c for c in header if c not in BEATS_COLUMNS]
    for c in missing:
        problems.append(Problem(name, c, None, f"a `{c}` column ({', '.join(BEATS_COLUMNS)})"))
    for c in unknown:
        problems.append(Problem(name, c, c, f"one of the columns {', '.join(BEATS_COLUMNS)}"))
    if problems:
        raise ScenarioError(_summary(path, problems), problems)
    site_index = {sid: i for i, sid in enumerate(scenario.site_ids)}
    hubs = _hubs(scenario)
    hub_index = {hid: j for j, hid in enumerate(hubs.ids)}
    lat = np.array([s.lat for s in scenario.sites])
    lon = np.array([s.lon for s in scenario.sites])
    added: list[Beat] = []
    forbidden: list[str] = []
    ids_seen: set[str] = set()
    for r, row in enumerate(rows, start=2):
        action = (row.get("action") or "").strip().lower()
        beat_id = (row.get("id") or "").strip()
        if not beat_id:
            problems.append(Problem(name, "id", row.get("id"), "a beat id", r))
            continue
        if beat_id in ids_seen:
            problems.append(Problem(name, "id", beat_id, "an id listed once", r))
            continue
        ids_seen.add(beat_id)
        if action == "forbid":
            forbidden.append(beat_id)
            continue
        if action not in ("add", "static"):
            problems.append(Problem(name, "action", row.get("action"),
                                    "`add`, `static` or `forbid`", r))
            continue
        stops = [s.strip() for s in (row.get("stops") or "").split(";") if s.strip()]
        bad = [s for s in stops if s not in site_index]
        if not stops or bad:
            problems.append(Problem(name, "stops", row.get("stops"),
                                    "site ids of the scenario separated by `;`"
                                    + (f" (unknown: {', '.join(bad)})" if bad else ""), r))
            continue
        if len(set(stops)) != len(stops):
            problems.append(Problem(name, "stops", row.get("stops"), "each site once", r))
            continue
        if action == "static":
            if len(stops) != 1:
                problems.append(Problem(name, "stops", row.get("stops"),
                                        "one site for a static post", r))
                continue
            added.append(Beat(beat_id, (site_index[stops[0]],), (0.0,), (0.0, 0.0), None,
                              STATIC))
            continue
        raw_dwell = [d.strip() for d in (row.get("dwell_minutes") or "").split(";")
                     if d.strip()]
        try:
            dwell = [float(d) for d in raw_dwell] or [default_dwell]
        except ValueError:
            problems.append(Problem(name, "dwell_minutes", row.get("dwell_minutes"),
                                    "minutes (one value, or one per stop separated by `;`)", r))
            continue
        if len(dwell) == 1:
            dwell = dwell * len(stops)
        if len(dwell) != len(stops) or not all(10.0 <= d <= 20.0 for d in dwell):
            problems.append(Problem(name, "dwell_minutes", row.get("dwell_minutes"),
                                    f"10 to 20 minutes, one value or {len(stops)} (one per "
                                    f"stop)", r))
            continue
        order = [site_index[s] for s in stops]
        hub_id = (row.get("hub") or "").strip()
        to_hub = _hub_minutes(walking, lat, lon, hubs, 30.0)
        if hub_id:
            if hub_id not in hub_index:
                problems.append(Problem(name, "hub", hub_id, "a standby point id or a station "
                                        "site id of the scenario", r))
                continue
            hub = hub_index[hub_id]
        else:
            hub = int(np.argmin(to_hub[order[0]]))
        walk = walking.minutes(lat, lon, lat, lon)
        added.append(_make_beat(beat_id, order, dwell, walk, to_hub, hub, hubs,
                                local_loop_minutes))
    if problems:
        raise ScenarioError(_summary(path, problems), problems)
    return added, forbidden


def apply_beat_edits(beats: Sequence[Beat], added: Sequence[Beat], forbidden: Sequence[str],
                     *, slot_minutes: float, file: str = "beats.csv") -> tuple[Beat, ...]:
    """Generated beats with a planner's edits: forbid by id, add or replace by id.

    Raises
    ------
    ScenarioError
        If a forbidden id names no beat, or an added beat does not fit the slot.
    """
    by_id = {b.id: b for b in beats}
    problems = [Problem(file, "id", bid, "the id of a generated or added beat to forbid")
                for bid in forbidden if bid not in by_id and bid not in {b.id for b in added}]
    for b in added:
        if not b.fits(slot_minutes):
            problems.append(Problem(file, "stops", b.id,
                                    f"a beat that fits the {slot_minutes:g}-minute slot (one "
                                    f"pass takes {b.minutes:.0f} min)"))
    if problems:
        raise ScenarioError(_summary(Path(file), problems), problems)
    for b in added:
        by_id[b.id] = b
    ban = set(forbidden)
    return tuple(b for bid, b in by_id.items() if bid not in ban)
