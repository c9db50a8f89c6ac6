"""Threat levels that matter: deployed share, shift extension, Temperer, likelihood, priors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from citywatch.data import london
from citywatch.errors import ScenarioError
from citywatch.games.origami import solve_origami
from citywatch.model.force import officers_on_duty, teams_per_slot
from citywatch.model.payoffs import build_game
from citywatch.model.threat import ThreatLevel, default_postures, parse_postures

LEVELS = [level.name for level in ThreatLevel]


def test_every_level_changes_the_posture() -> None:
    table = default_postures()
    rows = [table[level] for level in LEVELS]
    for lo, hi in zip(rows, rows[1:], strict=False):
        assert hi.attack_likelihood > lo.attack_likelihood
        assert hi.deployed_share >= lo.deployed_share
    assert table["CRITICAL"].committed_released_share > 0
    assert all(table[x].committed_released_share == 0 for x in LEVELS[:-1])


def test_operation_temperer_releases_protection_officers_to_patrol() -> None:
    sc = london()
    posture = sc.postures["CRITICAL"]
    with_t = sum(officers_on_duty(sc.force, sc.slots, deployed_share=posture.deployed_share,
                                  shift_extension_hours=posture.shift_extension_hours,
                                  released_share=posture.committed_released_share))
    without = sum(officers_on_duty(sc.force, sc.slots, deployed_share=posture.deployed_share,
                                   shift_extension_hours=posture.shift_extension_hours))
    street = sc.force.street_officers
    released = sc.force.committed_officers * posture.committed_released_share
    assert with_t / without == pytest.approx((street + released) / street)
    severe = sum(t.patrol_teams for t in teams_per_slot(sc.force, sc.slots,
                                                        posture=sc.postures["SEVERE"]))
    critical = sum(t.patrol_teams for t in teams_per_slot(sc.force, sc.slots,
                                                          posture=posture))
    assert critical > 1.5 * severe
    with pytest.raises(ValueError, match="released_share"):
        officers_on_duty(sc.force, sc.slots, released_share=1.5)


def test_adjacent_levels_differ_by_more_than_the_solver_gap() -> None:
    """Expected casualties a week (likelihood × loss per attack) separate every level."""
    sc = london()
    weekly = []
    for level in LEVELS:
        s = sc.with_threat(level)
        eq = solve_origami(build_game(s).game.mixture())
        assert eq.optimal and eq.gap == 0.0
        weekly.append(s.postures[level].loss_rates(-eq.defender_utility)["per_week"])
    for lo, hi in zip(weekly, weekly[1:], strict=False):
        assert hi - lo > 0.25 * lo, weekly


def test_loss_rates() -> None:
    p = default_postures()["SEVERE"]
    r = p.loss_rates(70.0)
    assert r["per_year"] == pytest.approx(70.0 * p.attack_likelihood)
    assert r["per_week"] == pytest.approx(r["per_year"] * 7 / 365.25)
    assert r["per_day"] == pytest.approx(r["per_year"] / 365.25)


def _table(extra: str) -> dict:  # type: ignore[type-arg]
    import tomllib

    text = "version = 't'\n" + "".join(
        f"[{lv}]\nattack_likelihood = 1\ndeployed_share = 0.5\nshift_extension_hours = 0\n"
        + (extra if lv == "CRITICAL" else "") for lv in LEVELS)
    return tomllib.loads(text)


def test_posture_priors_replace_the_scenario_priors() -> None:
    table = parse_postures(_table("priors = { mtfa = 0.5, bladed = 0.2, vehicle = 0.2, "
                                  "pbied = 0.1 }\n"), source="t")
    sc = dataclasses.replace(london(), postures=table)
    assert np.allclose(sc.with_threat("CRITICAL").priors(), [0.5, 0.2, 0.2, 0.1])
    assert np.allclose(sc.with_threat("SEVERE").priors(), [a.prior for a in sc.attackers])
    with pytest.raises(ScenarioError) as err:
        parse_postures(_table("priors = { mtfa = 0.5 }\n"), source="t")
    assert "summing to 1" in str(err.value.problems[0])
    bad = parse_postures(_table("priors = { drone = 1.0 }\n"), source="t")
    with pytest.raises(ScenarioError, match="drone"):
        dataclasses.replace(london(), postures=bad).with_threat("CRITICAL").priors()
    with pytest.raises(ScenarioError) as err:
        parse_postures(_table("committed_released_share = 2\n"), source="t")
    assert "CRITICAL.committed_released_share" in str(err.value.problems[0])
