"""The simulator against closed-form cases, the payoff model, and its own seeds."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from citywatch.errors import ScenarioError
from citywatch.model.io import load_scenario
from citywatch.model.payoffs import ALL_BUSY_EXTRA_MIN, expected_response_minutes
from citywatch.plan import Plan, make_plan
from citywatch.sim import SimulationModel, Spread, attack_distribution, simulate
from citywatch.sim._engine import Tally
from citywatch.sim.simulate import Block, run_blocks

NO_SPREAD = Spread(0.0, 0.0)


def single_site(*, c: float = 0.3, q: float = 0.4, b: float = 0.25, travel: float = 6.0,
                spread: Spread = NO_SPREAD, vehicles: Sequence[float] | None = None,
                rosters: np.ndarray | None = None) -> SimulationModel:
    """One site, one slot, one attack type: coverage `c`, interdiction `q`, busy `b`."""
    return SimulationModel.from_arrays(
        attack_probability=[[[1.0]]], coverage=[[c]],
        vehicle_minutes=[np.array(vehicles or [travel], dtype=float)[:, None]],
        busy_probability=b, dispatch_minutes=1.5, engage_minutes=1.0, on_site_minutes=1.0,
        interdiction=[q], initial=[2.0], rate=[3.0], people_cap=[1e9], people=[[100.0]],
        spread=spread, rosters=rosters)


def closed_form(c: float = 0.3, q: float = 0.4, b: float = 0.25, travel: float = 6.0
                ) -> dict[str, float]:
    """Exact expectations for `single_site` without spread."""
    free = 1.5 + travel + 1.0
    busy = free + ALL_BUSY_EXTRA_MIN
    off = 1.0 - c
    return {
        "interdiction": c * q,
        "on_site": c,
        "mean_minutes": c * (1 - q) * 1.0 + off * ((1 - b) * free + b * busy),
        "casualties": c * (1 - q) * 5.0 + off * ((1 - b) * (2 + 3 * free) + b * (2 + 3 * busy)),
        "within_10": c + off * (1 - b),
    }


def test_closed_form_point_estimates() -> None:
    r = simulate(single_site(), n=2_000_000, seed=11, people_share=False).overall
    truth = closed_form()
    assert r.attacks == 2_000_000
    for name in ("interdiction", "on_site", "mean_minutes", "casualties"):
        est = getattr(r, name)
        assert est.low <= truth[name] <= est.high, (name, est, truth[name])
    assert r.within[10.0].low <= truth["within_10"] <= r.within[10.0].high
    # below every ARV time, only the on-site atoms count
    assert r.within[5.0].value == pytest.approx(r.on_site.value)


def test_confidence_intervals_cover_the_truth() -> None:
    """95% intervals over 40 independent runs: coverage rate near 95%."""
    truth = closed_form(c=0.2, q=0.5, b=0.4)
    model = single_site(c=0.2, q=0.5, b=0.4)
    hits = {name: 0 for name in ("interdiction", "mean_minutes", "casualties")}
    for seed in range(40):
        r = simulate(model, n=20_000, seed=seed, people_share=False).overall
        for name in hits:
            est = getattr(r, name)
            hits[name] += est.low <= truth[name] <= est.high
    # P(Binomial(40, 0.95) <= 33) ≈ 0.014; fewer hits means the intervals are too narrow
    assert all(h >= 34 for h in hits.values()), hits


def test_quantiles_match_lognormal_travel() -> None:
    """No coverage, no busy vehicles: T = dispatch + engage + travel × lognormal."""
    sigma = 0.3
    model = single_site(c=0.0, b=0.0, travel=6.0, spread=Spread(0.0, sigma))
    r = simulate(model, n=1_000_000, seed=3, people_share=False).overall
    for p, est in ((0.5, r.median_minutes), (0.9, r.p90_minutes)):
        truth = 2.5 + 6.0 * np.exp(sigma * stats.norm.ppf(p) - sigma**2 / 2)
        # the histogram resolves 0.1 min; the interval is the order-statistic one
        assert est.low - 0.05 <= truth <= est.high + 0.05, (p, est, truth)
    assert r.mean_minutes.low <= 8.5 <= r.mean_minutes.high  # mean-one spread


def test_nearest_available_vehicle_matches_payoff_model() -> None:
    """Mean response over vehicle availability equals `expected_response_minutes`."""
    vehicles = [4.0, 7.0, 12.0]
    model = single_site(c=0.0, b=0.5, vehicles=vehicles)
    r = simulate(model, n=1_000_000, seed=5, people_share=False).overall
    expected = 2.5 + float(expected_response_minutes(np.array(vehicles)[:, None], [0, 1, 2],
                                                     busy_probability=0.5)[0])
    assert r.mean_minutes.low <= expected <= r.mean_minutes.high
    # arrivals 6.5, 9.5, 14.5 min (nearest + 10 when all busy: 16.5)
    assert r.within[8.0].low <= 0.5 <= r.within[8.0].high
    assert r.within[10.0].low <= 0.75 <= r.within[10.0].high


def test_vehicle_choice_chi_square() -> None:
    vehicles = [3.0, 6.0, 9.0]
    model = single_site(c=0.0, b=0.3, vehicles=vehicles)
    from citywatch.sim._engine import simulate_block

    tally = simulate_block(model, [100_000], [np.random.SeedSequence(8)])
    h = tally.hist_target[0]
    bpm = model.bins_per_minute
    observed = [h[int(t * bpm)] for t in (5.5, 8.5, 11.5)]
    observed.append(h[int(15.5 * bpm)])  # all busy: nearest + 10 min = 15.5
    b = 0.3
    expected = np.array([1 - b, b * (1 - b), b * b * (1 - b), b**3]) * 100_000
    assert sum(observed) == 100_000
    assert stats.chisquare(observed, expected).pvalue > 0.001


def test_rosters_give_the_same_marginals() -> None:
    rng = np.random.default_rng(0)
    rosters = rng.random((5000, 1, 1)) < 0.3
    c = float(rosters.mean())
    r = simulate(single_site(c=c, rosters=rosters), n=500_000, seed=2,
                 people_share=False).overall
    truth = closed_form(c=c)
    for name in ("interdiction", "on_site", "mean_minutes"):
        est = getattr(r, name)
        assert est.low <= truth[name] <= est.high, name


@pytest.fixture(scope="module")
def tiny_plan(tmp_path_factory: pytest.TempPathFactory) -> Plan:
    from _scenarios import write_tiny

    folder = write_tiny(Path(tmp_path_factory.mktemp("tiny")) / "tiny")
    return make_plan(load_scenario(folder), attacker="mixture")


def exact_casualties(model: SimulationModel) -> float:
    """Expected casualties per attack by enumerating every outcome (no spread)."""
    total = 0.0
    p = model.attack_probability
    b = model.busy_probability
    for k, s, i in zip(*np.nonzero(p), strict=True):
        c = model.coverage[s, i]
        q = model.interdiction[k]
        times = np.sort(model.vehicle_minutes[s][:, i])
        nv = times.size
        probs = list((1 - b) * b ** np.arange(nv)) + [b**nv]
        ts = list(times) + [times[0] + ALL_BUSY_EXTRA_MIN]

        def cas(t: float, k: int = k, s: int = s, i: int = i) -> float:
            return min(model.casualty_cap[k, s, i],
                       model.casualty_initial[k, s, i] + model.casualty_rate[k, s, i] * t)

        off = sum(pj * cas(model.dispatch_minutes + tj + model.engage_minutes)
                  for pj, tj in zip(probs, ts, strict=True))
        total += p[k, s, i] * (c * (1 - q) * cas(model.on_site_minutes) + (1 - c) * off)
    return total


@pytest.mark.parametrize("attacker", ["best", "qr", "people"])
def test_plan_casualties_match_enumeration(tiny_plan: Plan, attacker: str) -> None:
    model = SimulationModel.from_plan(tiny_plan, targeting=attacker, spread=NO_SPREAD)
    r = simulate(model, n=1_000_000, seed=4, people_share=False)
    truth = exact_casualties(model)
    assert r.overall.casualties.low <= truth <= r.overall.casualties.high
    assert sum(m.attacks for m in r.by_type.values()) == r.attacks
    assert sum(m.attacks for m in r.by_slot.values()) == r.attacks
    assert sum(m.attacks for m in r.by_site.values()) == r.attacks


def test_best_response_casualties_match_the_game(tiny_plan: Plan) -> None:
    """Without spread the game's expected casualties are the enumerated ones, exactly."""
    import dataclasses

    from citywatch.plan import make_plan

    sc = tiny_plan.scenario
    still = dataclasses.replace(sc, travel=dataclasses.replace(
        sc.travel, dispatch_sigma=0.0, travel_sigma=0.0))
    plan = make_plan(still, attacker="mixture")
    model = SimulationModel.from_plan(plan)   # the scenario's spread: none
    assert model.spread == NO_SPREAD
    p = model.attack_probability.reshape(model.n_types, -1)
    c = plan.coverage
    q = model.interdiction[:, None]
    # the game's covered/uncovered casualties, as the defender's payoff uses them
    game_k = float(np.sum(p * (c * (1 - q) * plan.built.casualties_covered
                               + (1 - c) * plan.built.casualties_uncovered)))
    assert exact_casualties(model) == pytest.approx(game_k, rel=1e-9)
    assert plan.expected_casualties_per_attack == pytest.approx(game_k, rel=1e-12)


def test_same_seed_same_result_whatever_the_runner(tiny_plan: Plan) -> None:
    def reversed_runner(model: SimulationModel, work: Sequence[Block]) -> Iterator[Tally]:
        done = list(run_blocks(model, list(reversed(work))))
        yield from reversed(done)

    kw = {"n": 9_000_000, "seed": 21, "people_share": False}
    a = simulate(tiny_plan, **kw)
    b = simulate(tiny_plan, runner=reversed_runner, **kw)
    assert a.to_dict() == b.to_dict()
    c = simulate(tiny_plan, n=9_000_000, seed=22, people_share=False)
    assert a.to_dict() != c.to_dict()


def test_interrupt_returns_partial(tiny_plan: Plan) -> None:
    def interrupted(model: SimulationModel, work: Sequence[Block]) -> Iterator[Tally]:
        yield from run_blocks(model, work[:1])
        raise KeyboardInterrupt

    r = simulate(tiny_plan, n=9_000_000, seed=1, runner=interrupted, interruptible=True)
    assert not r.complete and 0 < r.attacks < 9_000_000 and r.notes
    with pytest.raises(KeyboardInterrupt):
        simulate(tiny_plan, n=9_000_000, seed=1, runner=interrupted)


def test_people_share_is_reported(tiny_plan: Plan) -> None:
    r = simulate(tiny_plan, n=200_000, seed=1)
    assert r.population is not None and r.population.attacks == 50_000
    shares = [e.value for e in r.people_within.values()]
    assert shares == sorted(shares) and 0 <= shares[0] <= shares[-1] <= 1
    data = r.to_dict()
    assert set(data["people_within_minutes"]) == {"5", "8", "10"}
    assert data["overall"]["median_minutes_ci"][0] <= data["overall"]["median_minutes"]


def test_attack_distributions(tiny_plan: Plan) -> None:
    priors = tiny_plan.scenario.priors()
    for targeting in ("plan", "best", "qr", "people"):
        p = attack_distribution(tiny_plan, targeting=targeting)
        np.testing.assert_allclose(p.sum(axis=(1, 2)), priors)
    flat = attack_distribution(tiny_plan, targeting="qr", lam=0.0)
    np.testing.assert_allclose(flat, np.broadcast_to(priors[:, None, None] / 10, flat.shape))
    fixed = attack_distribution(tiny_plan, targeting="fixed", site="alpha", slot="night")
    assert fixed[:, 1, 0].sum() == pytest.approx(1.0)
    with pytest.raises(ScenarioError, match="`site`"):
        attack_distribution(tiny_plan, targeting="fixed", site="nowhere")
    with pytest.raises(ValueError, match="`targeting`"):
        attack_distribution(tiny_plan, targeting="psychic")
    # "plan" is the plan's own assumption: here (mixture) each type's best response
    np.testing.assert_array_equal(attack_distribution(tiny_plan, targeting="plan"),
                                  attack_distribution(tiny_plan, targeting="best"))


@pytest.mark.parametrize(("change", "needle"), [
    ({"coverage": np.array([[1.5]])}, "`coverage`"),
    ({"busy_probability": 1.2}, "`busy_probability`"),
    ({"attack_probability": np.array([[[0.5]]])}, "`attack_probability`"),
    ({"thresholds": (5.05,)}, "`thresholds`"),
])
def test_invalid_models_are_rejected(change: dict[str, object], needle: str) -> None:
    with pytest.raises(ScenarioError, match=needle):
        dataclasses.replace(single_site(), **change)


def test_spread_is_validated() -> None:
    with pytest.raises(ValueError, match="`travel_sigma`"):
        Spread(0.5, -1.0)


def test_a_run_without_a_seed_records_what_reproduces_it(tiny_plan: Plan) -> None:
    a = simulate(tiny_plan, n=300_000, seed=None, rosters=20)
    rec = a.seed
    assert isinstance(rec["entropy"], int) and rec["spawn_key"] == []
    assert a.to_dict()["seed"] == rec
    again = simulate(tiny_plan, n=300_000, seed=rec["entropy"], rosters=20)
    assert again.to_dict() == a.to_dict()
    other = simulate(tiny_plan, n=300_000, seed=None, rosters=20)
    assert other.seed["entropy"] != rec["entropy"]


def test_seed_sequences_pass_down_unchanged(tiny_plan: Plan) -> None:
    root = np.random.SeedSequence(7, spawn_key=(3,))
    a = simulate(tiny_plan, n=200_000, seed=root)
    assert a.seed == {"entropy": 7, "spawn_key": [3]}
    # asking again gives the same streams: children are derived by position
    b = simulate(tiny_plan, n=200_000, seed=np.random.SeedSequence(7, spawn_key=(3,)))
    assert a.to_dict() == b.to_dict()
    assert simulate(tiny_plan, n=200_000, seed=root).to_dict() == a.to_dict()
    # a generator gives a root from one draw, recorded too
    g = simulate(tiny_plan, n=200_000, seed=np.random.default_rng(5))
    assert g.to_dict() == simulate(tiny_plan, n=200_000,
                                   seed=g.seed["entropy"]).to_dict()
