"""Embedded data: the London default scenario and the threat-level posture table."""

from __future__ import annotations

from functools import cache
from importlib import resources

from citywatch.model.io import load_scenario
from citywatch.model.scenario import Scenario

__all__ = ["PRE_2016_OFFICERS", "london", "scenario_names"]

#: Authorised firearms officers in the Met before the January 2016 uplift of 600 [est].
PRE_2016_OFFICERS = 2200


@cache
def _london() -> Scenario:
    with resources.as_file(resources.files("citywatch.data") / "london") as folder:
        return load_scenario(folder)


def london(*, force: str = "2016-uplift") -> Scenario:
    """The embedded London scenario (SEVERE, the force after the 2016 uplift).

    Parameters
    ----------
    force
        ``"2016-uplift"`` (about 2,800 armed officers) or ``"pre-2016"`` (about 2,200).
    """
    scenario = _london()
    if force == "2016-uplift":
        return scenario
    if force == "pre-2016":
        return scenario.with_force(officers=PRE_2016_OFFICERS)
    msg = f"`force` must be '2016-uplift' or 'pre-2016', got {force!r}"
    raise ValueError(msg)


def scenario_names() -> tuple[str, ...]:
    """Names of the embedded scenarios."""
    return ("london",)
