"""Which time slot a moment falls in, on the scenario's local clock."""

from __future__ import annotations

import zoneinfo
from datetime import UTC, datetime

from citywatch.errors import ScenarioError
from citywatch.model.scenario import Scenario

__all__ = ["slot_at"]


def slot_at(scenario: Scenario, when: datetime | None = None) -> int:
    """Index of the slot holding `when` (default: now) in the scenario's time zone.

    A slot covers ``[start, start + hours)`` of local time and may run past midnight.
    When the slots leave part of the day uncovered, a moment there falls in the slot
    that began last before it.

    Raises
    ------
    ScenarioError
        If `when` is naive (no time zone): it would be ambiguous.
    """
    if when is None:
        when = datetime.now(UTC)
    if when.tzinfo is None:
        msg = f"`when` must carry a time zone, got the naive time {when.isoformat()}"
        raise ScenarioError(msg)
    local = when.astimezone(zoneinfo.ZoneInfo(scenario.timezone))
    hour = local.hour + local.minute / 60 + local.second / 3600
    best, best_since = 0, 25.0
    for k, slot in enumerate(scenario.slots):
        since = (hour - slot.start_hour) % 24
        if since < slot.hours:
            return k
        if since < best_since:
            best, best_since = k, since
    return best
