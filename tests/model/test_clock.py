"""The slot a moment falls in, on the scenario's local clock."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta, timezone

import pytest

from citywatch.data import london
from citywatch.errors import ScenarioError
from citywatch.model.clock import slot_at
from citywatch.model.scenario import TimeSlot


@pytest.mark.parametrize(("when", "slot"), [
    (datetime(2026, 12, 1, 18, 20, tzinfo=UTC), "16-20"),        # GMT: local = UTC
    (datetime(2026, 7, 1, 17, 20, tzinfo=UTC), "16-20"),         # BST: 18:20 local
    (datetime(2026, 7, 1, 23, 30, tzinfo=UTC), "00-04"),         # 00:30 local next day
    (datetime(2026, 12, 1, 3, 59, 59, tzinfo=UTC), "00-04"),
    (datetime(2026, 12, 1, 4, 0, tzinfo=UTC), "04-08"),
    (datetime(2026, 12, 1, 19, 0, tzinfo=timezone(timedelta(hours=-5))), "00-04"),
])
def test_london_slots(when: datetime, slot: str) -> None:
    sc = london()
    assert sc.slot_names[slot_at(sc, when)] == slot


def test_gaps_and_slots_past_midnight() -> None:
    sc = dataclasses.replace(london(), timezone="UTC", slots=(
        TimeSlot("day", time(8, 0), 10.0), TimeSlot("night", time(22, 0), 6.0)))
    at = lambda h: sc.slot_names[slot_at(sc, datetime(2026, 1, 1, h, tzinfo=UTC))]  # noqa: E731
    assert [at(h) for h in (9, 17, 18, 21, 23, 2, 3, 4, 7)] == [
        "day", "day", "day", "day", "night", "night", "night", "night", "night"]


def test_naive_time_is_refused() -> None:
    with pytest.raises(ScenarioError, match="`when` must carry a time zone"):
        slot_at(london(), datetime(2026, 1, 1, 12, 0))
