"""The armed force: officers, teams, shifts, and how many teams are on duty in each slot."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import time
from typing import TYPE_CHECKING

from citywatch.errors import ScenarioError
from citywatch.model.slots import TimeSlot

if TYPE_CHECKING:
    from citywatch.model.threat import Posture

__all__ = ["Force", "Shift", "SlotTeams", "officers_on_duty", "overlap_hours",
           "rostered_hours_per_day", "teams_per_slot"]


@dataclass(frozen=True)
class Shift:
    """A shift: start time, the share of the rostered officers who work it, its length.

    ``hours`` is the shift's normal length (``None``: the force's ``shift_hours``).
    With every shift of one length, ``share`` is also the share of each day's working
    officers who start then; an officer on a shift of ``L`` hours works
    ``weekly_hours / L`` of them a week, so shorter shifts put more officers on duty
    each day for the same hours.
    """

    name: str
    start: time
    share: float
    hours: float | None = None

    def length(self, force: Force) -> float:
        """Normal length in hours (the force's ``shift_hours`` unless set)."""
        return force.shift_hours if self.hours is None else self.hours


@dataclass(frozen=True)
class Force:
    """The armed officers available to the deployment and how they are organised.

    Attributes
    ----------
    officers
        Authorised firearms officers in the force.
    committed_officers
        Officers tied to other armed duties (protection, airports), not on the plan.
    abstraction_rate
        Share of the rest away on a given day for leave, training, court, sickness.
    patrol_team_size, arv_crew_size
        Officers per armed foot patrol (2) and per armed response vehicle (3).
    arv_share
        Share of on-duty street officers crewing ARVs; the rest patrol on foot.
    weekly_hours, shift_hours
        Contracted hours a week and the normal shift length.
    shifts
        When shifts start, and the share of each day's workers on each.
    """

    officers: int
    committed_officers: int = 0
    abstraction_rate: float = 0.25
    patrol_team_size: int = 2
    arv_crew_size: int = 3
    arv_share: float = 0.5
    weekly_hours: float = 40.0
    shift_hours: float = 10.0
    shifts: tuple[Shift, ...] = (
        Shift("early", time(7, 0), 0.35),
        Shift("late", time(14, 0), 0.40),
        Shift("night", time(22, 0), 0.25),
    )

    @property
    def street_officers(self) -> int:
        """Officers not committed to other armed duties."""
        return self.officers - self.committed_officers


@dataclass(frozen=True)
class SlotTeams:
    """Officers and teams on duty during one slot."""

    slot: str
    officers: float
    patrol_teams: int
    arv_crews: int


def overlap_hours(start: float, length: float, slot_start: float, slot_hours: float) -> float:
    """Hours a shift overlaps a slot, with both wrapping around midnight."""
    total = 0.0
    for shift_day in (-24.0, 0.0, 24.0):
        a, b = start + shift_day, start + shift_day + length
        total += max(0.0, min(b, slot_start + slot_hours) - max(a, slot_start))
    return total


def rostered_hours_per_day(force: Force, *, deployed_share: float = 1.0,
                           released_share: float = 0.0) -> float:
    """Normal officer-hours the rostered pool works a day, ``pool × weekly_hours / 7``.

    ``pool`` as in `officers_on_duty`; the same for every shift pattern.
    """
    if not 0.0 <= released_share <= 1.0:
        msg = f"`released_share` must lie in [0, 1], got {released_share}"
        raise ValueError(msg)
    street = force.street_officers + force.committed_officers * released_share
    pool = street * (1.0 - force.abstraction_rate) * deployed_share
    return pool * force.weekly_hours / 7.0


def officers_on_duty(force: Force, slots: Sequence[TimeSlot], *,
                     deployed_share: float = 1.0,
                     shift_extension_hours: float = 0.0,
                     released_share: float = 0.0) -> list[float]:
    """Average number of street officers on duty during each slot.

    ``pool = (officers − committed × (1 − released_share)) × (1 − abstraction_rate)
    × deployed_share`` officers can be rostered, ``released_share`` being the share of
    the committed (protection) officers whom military guards release to patrol
    (Operation Temperer at CRITICAL). A share ``share_k`` of them works shift ``k`` of
    ``L_k`` hours (`Shift.length`), ``weekly_hours / L_k`` shifts a week, so
    ``pool × share_k × weekly_hours / L_k / 7`` start it on a given day (the day's
    officer-hours, ``pool × weekly_hours / 7``, do not depend on the pattern); a shift
    lasts ``L_k + shift_extension_hours`` (extensions add hours, not working days).
    The officers on duty in a slot are averaged over the slot's length.

    Examples
    --------
    >>> from datetime import time
    >>> from citywatch.model.slots import TimeSlot
    >>> slots = [TimeSlot(f"{h:02d}", time(h), 4) for h in range(0, 24, 4)]
    >>> f = Force(officers=1160, committed_officers=160, abstraction_rate=0.0,
    ...           weekly_hours=42, shift_hours=8,
    ...           shifts=(Shift("all", time(0), 1.0),))
    >>> [round(x, 1) for x in officers_on_duty(f, slots)]
    [750.0, 750.0, 0.0, 0.0, 0.0, 0.0]
    """
    hours_per_day = rostered_hours_per_day(force, deployed_share=deployed_share,
                                           released_share=released_share)
    on_duty = []
    for slot in slots:
        officers = sum(
            hours_per_day * shift.share / shift.length(force)
            * overlap_hours(shift.start.hour + shift.start.minute / 60,
                             shift.length(force) + shift_extension_hours,
                             slot.start_hour, slot.hours) / slot.hours
            for shift in force.shifts)
        on_duty.append(officers)
    return on_duty


def teams_per_slot(force: Force, slots: Sequence[TimeSlot], *,
                   posture: Posture | None = None) -> list[SlotTeams]:
    """Armed foot-patrol teams and ARV crews on duty in each slot.

    On-duty officers (see `officers_on_duty`) are split by ``arv_share`` into ARV
    crews of ``arv_crew_size`` and foot patrols of ``patrol_team_size``, rounding
    down to whole teams. A slot's explicit ``patrol_teams`` / ``arv_crews`` win.

    Parameters
    ----------
    force
        The force.
    slots
        The day's time slots.
    posture
        The threat level's posture (deployed share, shift extension); ``None`` deploys
        everyone at normal shift length.

    Examples
    --------
    >>> from datetime import time
    >>> from citywatch.model.slots import TimeSlot
    >>> slots = [TimeSlot("day", time(0), 24)]
    >>> f = Force(officers=2800, committed_officers=1600, abstraction_rate=0.25,
    ...           weekly_hours=40, shift_hours=10)
    >>> t = teams_per_slot(f, slots)[0]
    >>> round(t.officers, 1), t.patrol_teams, t.arv_crews
    (214.3, 53, 35)
    """
    if force.street_officers < 0:
        msg = (f"`committed_officers` ({force.committed_officers}) exceeds `officers` "
               f"({force.officers})")
        raise ScenarioError(msg)
    share = 1.0 if posture is None else posture.deployed_share
    extension = 0.0 if posture is None else posture.shift_extension_hours
    released = 0.0 if posture is None else posture.committed_released_share
    on_duty = officers_on_duty(force, slots, deployed_share=share,
                               shift_extension_hours=extension, released_share=released)
    result = []
    for slot, officers in zip(slots, on_duty, strict=True):
        arv = math.floor(officers * force.arv_share / force.arv_crew_size + 1e-9)
        patrol = math.floor(officers * (1.0 - force.arv_share) / force.patrol_team_size + 1e-9)
        if slot.arv_crews is not None:
            arv = slot.arv_crews
        if slot.patrol_teams is not None:
            patrol = slot.patrol_teams
        if slot.arv_crews is not None or slot.patrol_teams is not None:
            officers = float(arv * force.arv_crew_size + patrol * force.patrol_team_size)
            if officers > force.street_officers:
                msg = (f"slot `{slot.name}`: {patrol} patrol teams and {arv} ARV crews need "
                       f"{officers:.0f} officers, more than the {force.street_officers} "
                       f"street officers in the force")
                raise ScenarioError(msg)
        result.append(SlotTeams(slot.name, officers, patrol, arv))
    return result
