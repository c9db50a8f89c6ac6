"""The plan end to end on the embedded London default and the tiny scenario."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from citywatch.data import PRE_2016_OFFICERS, london
from citywatch.errors import GameError
from citywatch.games import solve_multiple_lps
from citywatch.model.io import load_scenario, save_scenario
from citywatch.plan import best_responses, make_plan, write_plan


@pytest.fixture(scope="module")
def london_plan():  # type: ignore[no-untyped-def]
    return make_plan(london(), attacker="mixture", arv="greedy")


def test_london_has_the_promised_data() -> None:
    sc = london()
    assert len(sc.zones) == 33
    assert len(sc.sites) >= 150 and len(sc.standby) >= 40
    assert sum(z.population for z in sc.zones) == pytest.approx(8_799_800, rel=0.005)
    assert sc.threat_level.name == "SEVERE" and sc.timezone == "Europe/London"
    assert london(force="pre-2016").force.officers == PRE_2016_OFFICERS
    assert sc.force.officers - PRE_2016_OFFICERS == 600


def test_london_plan_respects_budgets_and_recomputes(london_plan) -> None:  # type: ignore[no-untyped-def]
    plan = london_plan
    game = plan.built.game
    data = json.loads(json.dumps(plan.to_dict()))
    by_slot: dict[str, float] = {}
    for row in data["coverage"]:
        assert 0 <= row["coverage"] <= 1 + 1e-9
        by_slot[row["slot"]] = by_slot.get(row["slot"], 0) + row["coverage"]
    for slot, teams in data["slots"].items():
        assert by_slot[slot] <= teams + 1e-6
    # the reported utility recomputes from the game with each type best-responding
    c = np.array([r["coverage"] for r in data["coverage"]])
    attacked, value = best_responses(game, c)
    assert data["defender_utility"] == pytest.approx(value, abs=1e-9)
    ud = game.defender_payoffs(c)
    assert value == pytest.approx(float(game.priors @ ud[np.arange(game.n_types), attacked]))
    # and the mixture equilibrium is the exact optimum of the game it solved
    mix = game.mixture()
    assert plan.equilibrium.defender_utility == pytest.approx(
        float(mix.defender_payoffs(c)[0, plan.equilibrium.attacked[0]]))


def test_mixture_plan_matches_multiple_lps_slotwise() -> None:
    """ORIGAMI's London plan value equals the slow exact method on the same game."""
    sc = london()
    plan = make_plan(sc, attacker="mixture", arv="greedy")
    ref = solve_multiple_lps(plan.built.game.mixture())
    assert plan.equilibrium.defender_utility == pytest.approx(ref.defender_utility, abs=1e-6)


def test_more_officers_never_worse() -> None:
    sc = london()
    base = make_plan(sc, attacker="mixture", arv="greedy").equilibrium.defender_utility
    more = make_plan(sc.with_force(officers=3400), attacker="mixture",
                     arv="greedy").equilibrium
    assert more.defender_utility >= base - 1e-9


def test_plan_summary_and_outputs(london_plan, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    text = london_plan.summary()
    assert "casualty-equivalents" in text and "equally attractive" in text
    files = write_plan(london_plan, tmp_path)
    assert {f.name for f in files} == {"plan.json", "coverage.csv", "sites.geojson",
                                       "zones.geojson"}
    zones = json.loads((tmp_path / "zones.geojson").read_text())
    assert len(zones["features"]) == 33
    assert {f["properties"]["id"] for f in zones["features"]} == {z.id for z in london().zones}
    assert all(f["geometry"]["type"] == "MultiPolygon" for f in zones["features"])
    assert "Crown copyright" in zones["attribution"]
    with (tmp_path / "coverage.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == len(london().sites) * 6
    geo = json.loads((tmp_path / "sites.geojson").read_text())
    assert len(geo["features"]) == len(london().sites)


def test_export_round_trip(tmp_path: Path) -> None:
    sc = london()
    again = load_scenario(save_scenario(sc, tmp_path / "london"))
    assert again == sc
    header = (tmp_path / "london" / "sites.csv").read_text().splitlines()[0].split(",")
    assert header[:5] == ["id", "name", "category", "lat", "lon"]


def test_bayesian_plan_on_tiny(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    from citywatch.options import SolveLimits

    bay = make_plan(sc, attacker="bayesian", limits=SolveLimits(mip_nodes=None))
    mix = make_plan(sc, attacker="mixture")
    assert bay.equilibrium.optimal
    # the default work limit (2,000 boxes of the level search) closes the tiny game
    default = make_plan(sc, attacker="bayesian")
    assert default.equilibrium.optimal and default.equilibrium.method == "bayesian-levels"
    assert default.defender_utility == pytest.approx(bay.defender_utility, abs=1e-9)
    assert "level branch and bound" in " ".join(default.notes)
    # no branch and bound (the profile-LP heuristic) or one box: deterministic, and says so
    for nodes in (0, 1):
        quick = make_plan(sc, attacker="bayesian", limits=SolveLimits(mip_nodes=nodes))
        assert quick.defender_utility <= bay.defender_utility + 1e-9 and not quick.clock_limited
        assert quick.equilibrium.optimal or "deterministic limit" in " ".join(quick.notes)
        assert quick.defender_utility + quick.equilibrium.gap >= bay.defender_utility - 1e-9
    # the exact Bayesian plan is at least as good against the real types
    assert bay.defender_utility >= mix.defender_utility - 1e-6


def test_unknown_attacker_model(tiny_dir: Path) -> None:
    with pytest.raises(GameError, match="`attacker`"):
        make_plan(load_scenario(tiny_dir), attacker="psychic")


def test_policy_constraints_hold_and_are_costed(tiny_dir: Path) -> None:
    from citywatch.plan import PolicyOptions

    sc = load_scenario(tiny_dir)
    free = make_plan(sc, attacker="mixture")
    opts = PolicyOptions(max_site_coverage=0.6, zone_min_teams=0.5,
                         required=(("echo", 0.4),))
    plan = make_plan(sc, attacker="mixture", policy=opts)
    c = plan.coverage.reshape(len(sc.slots), len(sc.sites))
    assert np.all(c <= 0.6 + 1e-9)
    assert np.all(c[:, sc.site_ids.index("echo")] >= 0.4 - 1e-9)
    zones = {z.id: [i for i, s in enumerate(sc.sites) if s.zone_id == z.id] for z in sc.zones}
    for idx in zones.values():
        assert np.all(c[:, idx].sum(axis=1) >= 0.5 - 1e-9)
    assert plan.policy is not None
    assert plan.policy.total_cost >= -1e-9
    assert plan.equilibrium.defender_utility <= free.equilibrium.defender_utility + 1e-9
    data = plan.to_dict()["policy"]
    assert set(data["cost_by_family"]) <= {"site caps", "zone floors", "required sites"}


def test_policy_rejects_bad_values(tiny_dir: Path) -> None:
    from citywatch.errors import ScenarioError
    from citywatch.plan import PolicyOptions

    sc = load_scenario(tiny_dir)
    with pytest.raises(ScenarioError, match="max_site_coverage"):
        make_plan(sc, policy=PolicyOptions(max_site_coverage=1.5))
    with pytest.raises(ScenarioError, match="did you mean|`site`"):
        make_plan(sc, policy=PolicyOptions(required=(("nowhere", 0.5),)))


def test_qr_plan_reports_against_qr(tiny_dir: Path) -> None:
    from citywatch.games.quantal import evaluate_against

    sc = load_scenario(tiny_dir)
    plan = make_plan(sc, attacker="qr", lam=0.3)
    assert plan.attacker_model == "qr"
    expect = evaluate_against(plan.built.game, plan.coverage, model="qr", lam=0.3)
    assert plan.defender_utility == pytest.approx(expect, abs=1e-9)


@pytest.mark.parametrize("arv", ["joint", "sequential", "greedy"])
def test_arv_methods(tiny_dir: Path, arv: str) -> None:
    sc = load_scenario(tiny_dir)
    plan = make_plan(sc, attacker="mixture", arv=arv)
    for posts, teams in zip(plan.built.arv_posts, plan.built.teams, strict=True):
        assert len(posts) == teams.arv_crews
    if arv == "joint":
        assert plan.arv_plan is not None
        data = plan.to_dict()["arv_plan"]
        assert data["expected_loss"] <= data["sequential_loss"] + 1e-9
        # the plan's game is built on the joint posts
        posts = [[sc.standby[j].id for j in p] for p in plan.built.arv_posts]
        assert posts == list(data["arv_posts"].values())
        assert "sequential plan" in " ".join(plan.notes)
    else:
        assert plan.arv_plan is None
    with pytest.raises(GameError, match="`arv`"):
        make_plan(sc, arv="teleport")


def test_bayesian_plan_under_policy(tiny_dir: Path) -> None:
    from citywatch.plan import PolicyOptions

    sc = load_scenario(tiny_dir)
    from citywatch.options import SolveLimits

    plan = make_plan(sc, attacker="bayesian", arv="greedy", limits=SolveLimits(mip_nodes=None),
                     policy=PolicyOptions(max_site_coverage=0.5))
    assert plan.attacker_model == "bayesian" and plan.equilibrium.optimal
    assert np.all(plan.coverage <= 0.5 + 1e-7)
    assert "policy constraints" in " ".join(plan.notes)


def _plans_for_round_trip(sc):  # type: ignore[no-untyped-def]
    from citywatch.options import PlanOptions, PolicyOptions

    yield make_plan(sc, seed=7)                                   # the default: bayesian, joint
    yield make_plan(sc, PlanOptions(attacker="mixture", arv="sequential"), seed=8)
    yield make_plan(sc, PlanOptions(attacker="qr", lam=0.3, arv="greedy"))
    yield make_plan(sc, PlanOptions(attacker="mixture", arv="greedy",
                                    policy=PolicyOptions(max_site_coverage=0.6,
                                                         required=(("echo", 0.4),))))


def test_plan_round_trips_exactly(tiny_dir: Path, tmp_path: Path) -> None:
    """to_dict -> JSON -> from_dict -> to_dict is the identity, and so is a plan folder."""
    from citywatch.plan import Plan, load_plan

    sc = load_scenario(tiny_dir)
    for k, plan in enumerate(_plans_for_round_trip(sc)):
        data = plan.to_dict()
        text = json.dumps(data)
        again = Plan.from_dict(json.loads(text), sc)
        assert json.dumps(again.to_dict()) == text
        np.testing.assert_array_equal(again.coverage, plan.coverage)
        np.testing.assert_array_equal(again.attacked, plan.attacked)
        assert again.built.arv_posts == plan.built.arv_posts
        assert again.options == plan.options and again.seed == plan.seed
        assert again.expected_casualties_per_attack == plan.expected_casualties_per_attack
        assert (again.equilibrium.method, again.equilibrium.gap) == (
            plan.equilibrium.method, plan.equilibrium.gap)
        write_plan(plan, tmp_path / f"p{k}")
        loaded = load_plan(tmp_path / f"p{k}", sc)
        assert json.dumps(loaded.to_dict()) == text


def test_stored_plan_refuses_another_game(tiny_dir: Path, tmp_path: Path) -> None:
    from citywatch.errors import ScenarioError
    from citywatch.plan import Plan, load_plan

    sc = load_scenario(tiny_dir)
    plan = make_plan(sc, attacker="mixture", arv="greedy")
    data = plan.to_dict()
    with pytest.raises(ScenarioError, match="different game"):
        Plan.from_dict(data, dataclasses.replace(sc, payoffs=dataclasses.replace(
            sc.payoffs, symbolic_weight=sc.payoffs.symbolic_weight + 1.0)))
    with pytest.raises(ScenarioError, match="version"):
        Plan.from_dict({**data, "scenario": {"name": sc.name, "version": "other"}}, sc)
    with pytest.raises(ScenarioError, match="format"):
        Plan.from_dict({**data, "format": 1}, sc)
    with pytest.raises(ScenarioError, match="coverage"):
        Plan.from_dict({k: v for k, v in data.items() if k != "coverage"}, sc)
    (tmp_path / "bad.json").write_text("{nope", encoding="utf-8")
    with pytest.raises(ScenarioError, match="not valid JSON"):
        load_plan(tmp_path / "bad.json", sc)


def test_default_options_are_one_default() -> None:
    """make_plan(), the CLI, the web schema and whatif all start from PlanOptions()."""
    import inspect

    from citywatch.cli.plan import plan as plan_command
    from citywatch.options import PlanOptions, SolveLimits
    from citywatch.sim.whatif import whatif

    default = PlanOptions()
    assert default.attacker_model == "bayesian" and default.arv == "joint"
    cli = inspect.signature(plan_command).parameters
    assert PlanOptions(attacker=cli["attacker"].default, arv=cli["arv"].default,
                       lam=cli["lam"].default,
                       limits=SolveLimits(mip_nodes=cli["mip_nodes"].default,
                                          arv_evaluations=cli["arv_evaluations"].default,
                                          time_limit=cli["time_limit"].default,
                                          arv_time_limit=cli["arv_time_limit"].default)
                       ) == default
    assert inspect.signature(whatif).parameters["options"].default is None
    pytest.importorskip("fastapi")
    from citywatch.web.schemas import PlanIn

    assert PlanIn(scenario_id=1).options() == default


def test_plan_options_round_trip_and_reject_bad_fields() -> None:
    from citywatch.options import PlanOptions, PolicyOptions, SolveLimits

    opts = PlanOptions(attacker="qr", lam=0.2, arv="greedy",
                       limits=SolveLimits(mip_nodes=50, arv_evaluations=10))
    assert PlanOptions.from_dict(json.loads(json.dumps(opts.to_dict()))) == opts
    pol = PlanOptions(policy=PolicyOptions(zone_max_share=0.3, required=(("a", 0.5),)))
    assert PlanOptions.from_dict(json.loads(json.dumps(pol.to_dict()))) == pol
    with pytest.raises(GameError, match="`limits.arv_evaluations`"):
        SolveLimits(arv_evaluations=0)
    with pytest.raises(GameError, match="`options` has unknown field"):
        PlanOptions.from_dict({"attacker": "auto", "speed": 3})
    with pytest.raises(GameError, match="`lambda`"):
        PlanOptions(attacker="bayesian", lam=0.3)
    with pytest.raises(GameError, match="policy constraints"):
        PlanOptions(attacker="qr", policy=PolicyOptions(max_site_coverage=0.5))


def test_filler_is_stated_and_not_most_covered(tiny_dir: Path) -> None:
    """Team-slots the equilibrium leaves go by people to unattacked targets, flagged."""
    base = load_scenario(tiny_dir)
    many = len(base.sites) - 1
    sc = dataclasses.replace(base, slots=tuple(dataclasses.replace(s, patrol_teams=many)
                                               for s in base.slots))
    plan = make_plan(sc, attacker="bayesian", arv="greedy")
    game = plan.built.game
    if plan.filler is None:
        pytest.skip("the equilibrium uses every team here")
    assert np.all(plan.filler >= 0) and np.all(plan.filler[plan.attacked] == 0)
    # the guarantee is unchanged: each type still attacks the same target
    attacked, value = best_responses(game, plan.coverage)
    np.testing.assert_array_equal(attacked, plan.attacked)
    for slot in sc.slot_names:
        for site, cov in plan.top_sites(slot):
            s, i = sc.slot_index(slot), sc.site_ids.index(site)
            assert cov == pytest.approx(plan.deterrence_coverage[s * len(sc.sites) + i])
    assert "filler" in " ".join(plan.notes)
    rows = plan.to_dict()["coverage"]
    assert sum(r["filler"] for r in rows) == pytest.approx(float(plan.filler.sum()))


@pytest.mark.parametrize("arv", ["joint", "greedy", "sequential"])
def test_plan_arv_posts_are_the_plans(tiny_dir: Path, arv: str) -> None:
    """`scenario explain` shows the posts the plan itself uses (its first stage alone)."""
    from citywatch.model.io import load_scenario
    from citywatch.options import PlanOptions
    from citywatch.plan import plan_arv_posts

    sc = load_scenario(tiny_dir)
    opts = PlanOptions(arv=arv, attacker="mixture")
    posts, jp = plan_arv_posts(sc, opts)
    assert posts == make_plan(sc, opts).built.arv_posts
    assert (jp is not None) == (arv == "joint")


def test_the_pipeline_is_importable_beside_the_artifact() -> None:
    import citywatch.plan
    import citywatch.planner

    assert citywatch.plan.make_plan is citywatch.planner.make_plan
    assert citywatch.plan.plan_arv_posts is citywatch.planner.plan_arv_posts
    with pytest.raises(AttributeError, match="no_such"):
        citywatch.plan.no_such  # noqa: B018
