"""Working-time checks every published roster must pass (Working Time Regulations 1998)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from citywatch.errors import RosterError

if TYPE_CHECKING:
    from citywatch.schedule.missions import Roster

__all__ = ["check_working_time"]

FloatArray = npt.NDArray[np.float64]


def _team_edges(roster: Roster, team: int, days: Sequence[int]) -> FloatArray:
    """Real minutes of each shift's start, break edges and end, shape (shifts, edges)."""
    t = roster.teams[team]
    s0 = np.array([roster.shift_start(team, e) for e in days])
    cols = [s0]
    for offset, length in t.breaks:
        cols += [s0 + offset, s0 + offset + length]
    cols.append(s0 + t.hours * 60.0)
    return np.stack(cols, axis=1)


def check_working_time(roster: Roster) -> None:
    """Check every team's shifts against the roster's working-time rules.

    Times are real elapsed time in the scenario's time zone (rest after a shift that
    crosses a clock change is an hour shorter or longer). Rules: shift length, longest stretch
    without a break, meal-break length, rest between shifts, 24 hours' rest in every
    7 days (no run of shifts without such a gap spans more than 6 days), and average
    weekly hours over the horizon.

    Raises
    ------
    RosterError
        Naming the first rule broken and the team that breaks it.
    """
    r = roster.rules
    weeks = max(1.0, roster.days / 7.0)
    for k, team in enumerate(roster.teams):
        days = [e for e in range(-1, roster.days) if team.works(e)]
        if not days:
            continue
        edges = _team_edges(roster, k, days)
        for _, length in team.breaks:
            if length + 1e-9 < r.meal_break_minutes:
                msg = (f"team {team.name}: meal break of {length:g} min is shorter than "
                       f"the rule's {r.meal_break_minutes:g} min")
                raise RosterError(msg, rule="meal_break_minutes", team=team.name)
        start_real, end_real = edges[:, 0], edges[:, -1]
        length_h = (end_real - start_real) / 60.0
        if length_h.max() > r.max_shift_hours + 1e-9:
            i = int(np.argmax(length_h))
            msg = (f"team {team.name}: shift starting {roster.at(edges[i, 0]).isoformat()} lasts "
                   f"{length_h[i]:.2f} h, more than the {r.max_shift_hours:g} h allowed")
            raise RosterError(msg, rule="max_shift_hours", team=team.name)
        stretches = (edges[:, 1::2] - edges[:, 0::2]) / 60.0
        if stretches.max() > r.max_continuous_hours + 1e-9:
            msg = (f"team {team.name}: works {stretches.max():.2f} h without a break, more "
                   f"than the {r.max_continuous_hours:g} h allowed")
            raise RosterError(msg, rule="max_continuous_hours", team=team.name)
        gaps = (start_real[1:] - end_real[:-1]) / 60.0
        if gaps.size and gaps.min() < r.min_rest_hours - 1e-9:
            i = int(np.argmin(gaps))
            msg = (f"team {team.name}: {gaps[i]:.2f} h rest before the shift starting "
                   f"{roster.at(edges[i + 1, 0]).isoformat()}, less than the "
                   f"{r.min_rest_hours:g} h required")
            raise RosterError(msg, rule="min_rest_hours", team=team.name)
        cut = np.flatnonzero(gaps >= r.weekly_rest_hours - 1e-9)
        run_first = np.concatenate([[0], cut + 1])
        run_last = np.concatenate([cut, [len(days) - 1]])
        spans = (end_real[run_last] - start_real[run_first]) / 60.0
        # Runs cut by the horizon are checked as if they went on no further.
        limit = 7 * 24.0 - r.weekly_rest_hours
        if spans.max() > limit + 1e-9:
            msg = (f"team {team.name}: works {spans.max() / 24:.1f} days without "
                   f"{r.weekly_rest_hours:g} h off; the rule needs that rest in every 7 days")
            raise RosterError(msg, rule="weekly_rest_hours", team=team.name)
        in_horizon = np.array([0 <= e < roster.days for e in days])
        worked = float(stretches.sum(axis=1)[in_horizon].sum())
        if worked / weeks > r.max_average_weekly_hours + 1e-9:
            msg = (f"team {team.name}: averages {worked / weeks:.1f} h a week, more than the "
                   f"{r.max_average_weekly_hours:g} h allowed")
            raise RosterError(msg, rule="max_average_weekly_hours", team=team.name)
