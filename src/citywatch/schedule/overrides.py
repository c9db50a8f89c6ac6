"""Planner overrides of a roster (pin a team to a site, forbid a site) and what they cost."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError, RosterError
from citywatch.model.game import SecurityGame
from citywatch.model.scenario import Scenario
from citywatch.schedule.sampling import comb_sample
from citywatch.schedule.teams import Team

__all__ = ["Forbid", "OverrideImpact", "Pin"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Pin:
    """Planner override: `team` covers `site_id` in every slot it is deployed on `day`.

    ``slot`` limits the pin to one slot. ``day`` is a roster day index or a date.
    """

    team: str
    site_id: str
    day: int | date
    slot: str | None = None


@dataclass(frozen=True)
class Forbid:
    """Planner override: no team goes to `site_id` on `day` (or only in `slot`)."""

    site_id: str
    day: int | date
    slot: str | None = None


@dataclass(frozen=True)
class OverrideImpact:
    """How far a day's overrides move coverage from the equilibrium and what that costs.

    ``expected_loss_*`` are casualty-equivalents per attack with each attack type
    best-responding to that day's coverage (``−`` the prior-weighted defender payoff);
    ``now_certain`` lists (site, slot) pairs the overrides made certain (always or never
    covered) although the equilibrium randomised them: an attacker can plan on those.
    """

    day: int
    overrides: tuple[str, ...]
    l1_shift: float
    max_shift: float
    expected_loss_equilibrium: float
    expected_loss_override: float
    now_certain: tuple[tuple[str, str], ...]

    @property
    def extra_loss(self) -> float:
        """Expected loss added by the overrides (>= 0 when the plan was optimal)."""
        return self.expected_loss_override - self.expected_loss_equilibrium

    def warning(self) -> str:
        """A one-line warning for the planner (ARMOR warned its users the same way)."""
        msg = (f"day {self.day}: overrides ({'; '.join(self.overrides)}) move coverage by "
               f"{self.l1_shift:.2f} team-slots (largest change {self.max_shift:.2f}) and "
               f"change expected loss by {self.extra_loss:+.3f} casualty-equivalents per attack")
        if self.now_certain:
            msg += ("; now predictable: " + ", ".join(f"{s} ({sl})"
                                                       for s, sl in self.now_certain[:5]))
        return msg


def _day_index(day: int | date, start: date, days: int) -> int:
    d = (day - start).days if isinstance(day, date) else int(day)
    if not 0 <= d < days:
        msg = f"override day {day} is outside the roster's {days} days from {start}"
        raise GameError(msg)
    return d


def _override_coverage(base: FloatArray, budgets: IntArray, pinned: dict[int, set[int]],
                       forbidden: dict[int, set[int]]) -> FloatArray:
    """Coverage of one day after overrides, slot by slot (shape (slots, sites)).

    Pinned sites get coverage 1, forbidden sites 0; the rest keep the equilibrium's
    coverage, scaled down when pins use up budget, and a forbidden site's coverage is
    spread over the other sites the equilibrium covers, in proportion to their
    coverage and capped at 1 each (what does not fit leaves a team free).
    """
    c = base.copy()
    for s in range(c.shape[0]):
        pin = sorted(pinned.get(s, set()))
        ban = sorted(forbidden.get(s, set()) - set(pin))
        free = np.ones(c.shape[1], dtype=bool)
        free[pin] = False
        free[ban] = False
        room = float(budgets[s] - len(pin))
        target = min(room, float(base[s].sum()) - float(base[s, pin].sum()))
        c[s, pin] = 1.0
        c[s, ban] = 0.0
        if room <= 0:
            c[s, free] = 0.0
            continue
        rest = c[s, free]
        total = rest.sum()
        if total > 0 and target <= total:  # pins used budget: scale everyone down
            rest = rest * (target / total)
        elif total > 0:  # a ban freed coverage: water-fill it up, capping sites at 1
            for _ in range(len(rest) + 1):
                capped = rest >= 1.0
                scalable = rest[~capped].sum()
                need = target - capped.sum()
                if scalable <= 0 or need <= scalable + 1e-12:
                    break
                rest = np.minimum(np.where(capped, 1.0, rest * (need / scalable)), 1.0)
        c[s, free] = rest
    return c


def _loss(game: SecurityGame, coverage: FloatArray) -> float:
    from citywatch.games.equilibrium import best_responses

    _, value = best_responses(game, coverage.reshape(-1))
    return -value


_Pins = dict[int, list[tuple[int, int, int]]]


def _apply_overrides(scenario: Scenario, c: FloatArray, b: IntArray, teams: Sequence[Team],
                     chosen: IntArray, selected: BoolArray,
                     overrides: Sequence[Pin | Forbid], start: date, days: int,
                     rng: np.random.Generator, game: SecurityGame | None
                     ) -> tuple[BoolArray, list[OverrideImpact], _Pins]:
    team_index = {t.name: k for k, t in enumerate(teams)}
    site_index = {sid: i for i, sid in enumerate(scenario.site_ids)}
    n_slots = len(scenario.slots)
    by_day: dict[int, list[Pin | Forbid]] = {}
    for o in overrides:
        if o.site_id not in site_index:
            scenario.site(o.site_id)  # raises with a suggestion
        if isinstance(o, Pin) and o.team not in team_index:
            msg = f"`team` {o.team!r} is not on the roster (teams are like {teams[0].name!r})"
            raise GameError(msg)
        if o.slot is not None:
            scenario.slot_index(o.slot)
        by_day.setdefault(_day_index(o.day, start, days), []).append(o)
    if game is None:
        from citywatch.model.payoffs import build_game

        game = build_game(scenario).game
    impacts = []
    pins_out: _Pins = {}
    selected = selected.copy()
    for d, items in sorted(by_day.items()):
        pinned: dict[int, set[int]] = {}
        forbidden: dict[int, set[int]] = {}
        pins: list[tuple[int, int, int]] = []
        for o in items:
            slots = range(n_slots) if o.slot is None else [scenario.slot_index(o.slot)]
            i = site_index[o.site_id]
            for s in slots:
                if isinstance(o, Pin):
                    k = team_index[o.team]
                    pos = np.flatnonzero(chosen[d, s] == k)
                    if pos.size == 0:
                        continue  # the team is not deployed in this slot
                    pinned.setdefault(s, set()).add(i)
                    pins.append((s, k, i))
                else:
                    forbidden.setdefault(s, set()).add(i)
            if isinstance(o, Pin) and not any(p[1] == team_index[o.team] for p in pins):
                msg = (f"team {o.team} is not deployed on day {d} "
                       f"({start + timedelta(days=d)}); it cannot be pinned to {o.site_id}")
                raise RosterError(msg, rule="pin", team=o.team)
        day_c = _override_coverage(c, b, pinned, forbidden)
        selected[d] = comb_sample(day_c, budgets=b, draws=1, seed=rng)[0]
        moved = np.abs(day_c - c)
        certain = (((day_c <= 0) | (day_c >= 1)) & (c > 1e-9) & (c < 1 - 1e-9))
        impacts.append(OverrideImpact(
            d, tuple(_describe(o) for o in items), float(moved.sum()), float(moved.max()),
            _loss(game, c), _loss(game, day_c),
            tuple((scenario.site_ids[i], scenario.slot_names[s])
                  for s, i in zip(*np.nonzero(certain), strict=True))))
        pins_out[d] = pins
    return selected, impacts, pins_out


def _describe(o: Pin | Forbid) -> str:
    when = f" in {o.slot}" if o.slot else ""
    if isinstance(o, Pin):
        return f"pin {o.team} to {o.site_id}{when}"
    return f"forbid {o.site_id}{when}"
