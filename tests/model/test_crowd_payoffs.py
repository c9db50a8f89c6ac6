"""The game feels the crowd: payoffs, loss and coverage follow people and response time."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from citywatch.data import london
from citywatch.games.origami import solve_origami
from citywatch.model.payoffs import ScenarioGame, attacker_curves, build_game
from citywatch.model.protection import armed_on_site
from citywatch.model.response_time import expected_casualties
from citywatch.model.scenario import Scenario


def _scaled(sc: Scenario, factor: float) -> Scenario:
    return dataclasses.replace(sc, sites=tuple(
        dataclasses.replace(s, people=tuple(v * factor for v in s.people)) for s in sc.sites))


@pytest.fixture(scope="module")
def built() -> ScenarioGame:
    return build_game(london())


def test_payoffs_monotone_in_crowd_and_time(built: ScenarioGame) -> None:
    sc = london()
    curves = attacker_curves(sc)
    ppl = sc.people().T.reshape(-1)
    hard = np.tile([s.hardening for s in sc.sites], len(sc.slots))
    for k, a in enumerate(sc.attackers):
        c = curves[k]
        # at equal hardening, more people never means fewer casualties
        for h in np.unique(hard):
            idx = np.flatnonzero(hard == h)
            order = idx[np.argsort(ppl[idx], kind="stable")]
            k8 = c(np.full(ppl.size, 8.0))[order]
            assert np.all(np.diff(k8) >= -1e-9), a.id
        t = np.linspace(0, 30, 7)
        vals = np.array([c(np.full(ppl.size, x)) for x in t])
        assert np.all(np.diff(vals, axis=0) >= -1e-12), a.id
        if a.casualties_per_minute > 0:
            busy = int(np.argmax(ppl))
            assert vals[-1, busy] > vals[0, busy]
    # the uncovered casualties are the curve's expectation over the response-time
    # distribution (model.response_time), at most the curve at the mean time (K is
    # concave); where armed officers stand permanently, the covered casualties
    n_sites = len(sc.sites)
    guarded = armed_on_site(sc).reshape(-1)
    for k in range(len(sc.attackers)):
        want = np.concatenate([expected_casualties(
            built.response_times[s], initial=curves[k].initial[s * n_sites:(s + 1) * n_sites],
            rate=curves[k].rate[s * n_sites:(s + 1) * n_sites],
            cap=curves[k].cap[s * n_sites:(s + 1) * n_sites]) for s in range(len(sc.slots))])
        want[guarded] = built.casualties_covered[k, guarded]
        assert np.allclose(built.casualties_uncovered[k], want, rtol=1e-12, atol=0)
        at_mean = curves[k](np.maximum(built.response_minutes.reshape(-1),
                                       sc.payoffs.on_site_intervention_min))
        assert np.all(built.casualties_uncovered[k] <= at_mean * (1 + 1e-12))


def test_footfall_moves_the_expected_loss(built: ScenarioGame) -> None:
    base = -solve_origami(built.game.mixture()).defender_utility
    for factor, at_least in ((0.5, 0.15), (1.5, 0.12)):
        other = build_game(_scaled(london(), factor), arv_posts=built.arv_posts)
        loss = -solve_origami(other.game.mixture()).defender_utility
        assert abs(loss / base - 1.0) > at_least, (factor, loss, base)
        assert (loss > base) == (factor > 1)


def test_busiest_sites_draw_coverage_in_the_morning_peak(built: ScenarioGame) -> None:
    sc = london()
    cov = solve_origami(built.game.mixture()).coverage.reshape(len(sc.slots), len(sc.sites))
    # armed officers permanently on site (BTP at the termini, protection posts) are armed
    # presence for certain (citywatch.model.protection)
    cov = np.maximum(cov, armed_on_site(sc))
    s = sc.slot_index("08-12")
    ppl = sc.people()[:, s]
    top = np.argsort(-ppl)[:20]
    assert cov[s, top].mean() > 2 * cov[s].mean()
    site = {sid: i for i, sid in enumerate(sc.site_ids)}
    for busy in ("liverpool_street_stn", "victoria_stn", "waterloo_stn", "oxford_street"):
        assert cov[s, site[busy]] > 0.2, busy
    for outer in ("uxbridge_town_centre", "bexleyheath_broadway"):
        assert cov[s, site[outer]] < cov[s, site["oxford_street"]], outer


def test_combined_and_targeted_attackers_in_a_scenario() -> None:
    sc = london()
    vehicle = next(a for a in sc.attackers if a.id == "vehicle")
    assert vehicle.kind == "vehicle+bladed" and vehicle.crowd_exponent > 0.3
    targeted = dataclasses.replace(vehicle, id="targeted", targets=1.0)
    sc2 = dataclasses.replace(sc, attackers=(*sc.attackers, targeted))
    sc2 = dataclasses.replace(sc2, attackers=tuple(
        dataclasses.replace(a, prior=a.prior / 1.25 if a.id != "targeted" else 0.2)
        for a in sc2.attackers))
    b = build_game(sc2)
    k_t = b.casualties_uncovered[-1]
    assert k_t.max() <= 1.0 + 1e-9 and k_t.max() > 0.5
    assert b.casualties_uncovered[2].max() > 50 * k_t.max()


def _loss_and_level(sc: Scenario) -> tuple[float, float, float]:
    """Mixture game: loss per attack, the attacker's level, and the floor of that level
    (the attacker's best target fully patrolled: no plan can push it lower)."""
    g = build_game(sc).game.mixture()
    eq = solve_origami(g)
    return (-eq.defender_utility, float(g.attacker_payoffs(eq.coverage)[0].max()),
            float(g.attacker_covered[0].max()))


def test_more_officers_lower_the_loss_per_attack() -> None:
    """Officers buy a lower loss per attack down to the floor no plan can beat.

    With demand-led shifts the SEVERE force (2,800) holds the attacker within 1% of the
    floor set by Oxford Street at 12-16 fully patrolled; 600 more close most of what is
    left, 600 fewer cost a third more per attack.
    """
    sc = london()
    fewer, mid, more = (_loss_and_level(sc.with_force(officers=n)) for n in (2200, 2800, 3400))
    floor = mid[2]
    assert fewer[0] > 1.3 * mid[0], (fewer, mid)
    assert more[0] <= mid[0] + 1e-9
    assert min(fewer[1], mid[1], more[1]) >= floor - 1e-9 * floor
    assert mid[1] > floor + 1e-3 * floor
    assert more[1] - floor < 0.5 * (mid[1] - floor), (mid, more)


def test_adjacent_threat_levels_differ_per_attack() -> None:
    """Each level up lowers the loss per attack by more than one casualty-equivalent,
    until the attacker is held at the floor (CRITICAL: within 0.1% of it, so its extra
    officers cannot lower the loss per attack further; its likelihood still does the
    rest, `test_threat_levels.test_adjacent_levels_differ_by_more_than_the_solver_gap`)."""
    rows = [_loss_and_level(london().with_threat(level))
            for level in ("LOW", "MODERATE", "SUBSTANTIAL", "SEVERE", "CRITICAL")]
    losses = [r[0] for r in rows]
    assert all(hi < lo - 1.0 for lo, hi in zip(losses[:4], losses[1:4], strict=False)), losses
    assert losses[4] <= losses[3]
    loss, level, floor = rows[4]
    assert level - floor <= 1e-3 * floor or losses[4] < losses[3] - 1.0, rows


def test_simulator_cells_match_the_payoff_curves(built: ScenarioGame) -> None:
    """The simulator evaluates the same curve per cell as the payoffs (reach cap too)."""
    from citywatch.plan import make_plan
    from citywatch.sim.model import SimulationModel

    sc = london()
    plan = make_plan(sc, attacker="mixture", arv="greedy")
    m = SimulationModel.from_plan(plan)
    for k, curve in enumerate(attacker_curves(sc)):
        t = np.full(curve.cap.size, 6.0)
        sim = np.minimum(m.casualty_cap[k].reshape(-1),
                         m.casualty_initial[k].reshape(-1) + m.casualty_rate[k].reshape(-1) * t)
        assert np.allclose(sim, curve(t)), sc.attackers[k].id
