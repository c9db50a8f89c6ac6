"""Time slots: the parts of the day a plan treats as one budget group.

Below both `citywatch.model.force` (teams on duty per slot) and
`citywatch.model.scenario` (which holds the slots), so neither imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

__all__ = ["TimeSlot"]


@dataclass(frozen=True)
class TimeSlot:
    """A part of the day planned as one budget group (default: six 4-hour slots).

    ``patrol_teams`` and ``arv_crews``, when given, override the teams on duty that
    the force's shift pattern would give (a planner who knows the duty sheet).
    """

    name: str
    start: time
    hours: float
    patrol_teams: int | None = None
    arv_crews: int | None = None

    @property
    def start_hour(self) -> float:
        """Start as hours after midnight."""
        return self.start.hour + self.start.minute / 60
