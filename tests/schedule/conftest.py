"""Fixtures for roster tests."""

from __future__ import annotations

import pytest
from _schedule_scenarios import write_small

from citywatch.model.io import load_scenario
from citywatch.model.scenario import Scenario


@pytest.fixture(scope="session")
def small(tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    """The small scenario (two 12-hour slots, eight close sites, SEVERE)."""
    return load_scenario(write_small(tmp_path_factory.mktemp("small")))
