"""Response standards: parsing, the exact check, and placements that meet them."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citywatch.errors import InfeasibleError, ScenarioError
from citywatch.model.payoffs import expected_response_minutes
from citywatch.response.standards import (
    DEFAULT_STANDARDS,
    ResponseStandard,
    _PlacementMilp,
    meets,
    nested_greedy,
    parse_standard,
    parse_standards,
    repair,
    slot_report,
    violations,
)

BUSY = 0.3
FIXED = 2.5


def test_parse() -> None:
    assert parse_standard("10m@90%") == ResponseStandard(10.0, 0.9)
    assert parse_standard("15m") == ResponseStandard(15.0, 1.0)
    assert parse_standard(" 8 min @ 80 % ") == ResponseStandard(8.0, 0.8)
    assert parse_standards(None) == DEFAULT_STANDARDS == (ResponseStandard(15.0, 1.0),)
    assert parse_standards(["none"]) == ()
    assert str(ResponseStandard(10.0, 0.9)) == "10m@90%"


@pytest.mark.parametrize("bad", ["", "fast", "10m@", "0m", "-5m", "10m@0%", "10m@120%",
                                 "10s@90%", "m@90%"])
def test_parse_rejects_naming_option_and_value(bad: str) -> None:
    with pytest.raises(ScenarioError, match="--response-standard.*" + repr(bad)[1:-1]):
        parse_standard(bad)


@given(st.floats(0.1, 120), st.integers(1, 100))
def test_parse_round_trip(minutes: float, pct: int) -> None:
    std = parse_standard(f"{minutes:.3f}m@{pct}%")
    assert std.minutes == pytest.approx(round(minutes, 3))
    assert std.share == pytest.approx(pct / 100)
    assert parse_standard(str(std)) == std


@given(st.text(max_size=12))
def test_parse_never_crashes(text: str) -> None:
    try:
        std = parse_standard(text)
    except ScenarioError as err:
        assert "--response-standard" in str(err)
    else:
        assert std.minutes > 0 and 0 < std.share <= 1


def test_violations_every_site_and_share() -> None:
    r = np.array([5.0, 12.0, 16.0])
    ppl = np.array([80.0, 15.0, 5.0])
    assert violations(r, ppl, [ResponseStandard(15)]) == ["1 sites beyond 15 min"]
    assert meets(r, ppl, [ResponseStandard(10, 0.8)])
    assert not meets(r, ppl, [ResponseStandard(10, 0.9)])
    # a site with nobody there still counts for a 100% standard
    assert not meets(r, np.array([1.0, 1.0, 0.0]), [ResponseStandard(15)])
    # protected sites are met whatever the ARVs do
    assert meets(r, ppl, [ResponseStandard(15)], exempt=np.array([False, False, True]))
    rep = slot_report(r, ppl, ["a", "b", "c"])
    assert rep["worst_site"] == "c" and rep["worst_minutes"] == 16.0
    assert rep["within"] == {"5": 0.8, "8": 0.8, "10": 0.8, "15": 0.95}


def _line(n_points: int = 7, n_sites: int = 9) -> np.ndarray:
    """Standby points and sites on a line: travel = |x - y| minutes."""
    x = np.linspace(0.0, 30.0, n_points)
    y = np.linspace(0.0, 30.0, n_sites)
    return np.abs(x[:, None] - y[None, :])


def _feasible_by_brute_force(travel: np.ndarray, n: int, cap: list[int],
                             stds: list[ResponseStandard], ppl: np.ndarray) -> list[tuple]:
    out = []
    for combo in itertools.combinations_with_replacement(range(travel.shape[0]), n):
        if any(combo.count(j) > c for j, c in enumerate(cap)):
            continue
        r = FIXED + expected_response_minutes(travel, combo, busy_probability=BUSY)
        if meets(r, ppl, stds):
            out.append(combo)
    return out


@pytest.mark.parametrize(("minutes", "share", "n"), [(12.0, 1.0, 3), (10.0, 1.0, 4),
                                                     (9.0, 0.8, 3), (14.0, 1.0, 2)])
def test_repair_meets_the_standard_whenever_brute_force_can(minutes: float, share: float,
                                                            n: int) -> None:
    travel = _line()
    cap = [2] * travel.shape[0]
    ppl = np.array([10.0, 50, 5, 5, 200, 5, 5, 50, 10])
    stds = [ResponseStandard(minutes, share)]
    feasible = _feasible_by_brute_force(travel, n, cap, stds, ppl)
    start = (3,) * min(n, 2) + (2,) * (n - min(n, 2))  # everyone in the middle
    if not feasible:
        with pytest.raises(InfeasibleError):
            repair(travel, start, ppl, cap, stds, busy_probability=BUSY, fixed_minutes=FIXED)
        return
    out = repair(travel, start, ppl, cap, stds, busy_probability=BUSY, fixed_minutes=FIXED)
    assert len(out) == n
    assert all(out.count(j) <= c for j, c in enumerate(cap))
    assert out in feasible


def test_repair_keeps_a_placement_that_already_meets_it() -> None:
    travel = _line()
    start = (1, 3, 5)
    r = FIXED + expected_response_minutes(travel, start, busy_probability=BUSY)
    std = ResponseStandard(float(r.max()) + 0.1)
    assert repair(travel, (5, 1, 3), np.ones(9), [2] * 7, [std], busy_probability=BUSY,
                  fixed_minutes=FIXED) == start


def test_nested_greedy_meets_the_standard_and_nests() -> None:
    """Each extra vehicle keeps the smaller fleet's posts, so response times only fall;
    the expected minutes it computes incrementally are the payoff model's; without
    standards it is the plain greedy."""
    from citywatch.model.payoffs import default_arv_posts

    travel = _line(7, 9)
    ppl = np.array([10.0, 50, 5, 5, 200, 5, 5, 50, 10])
    cap = [2] * 7
    std = [ResponseStandard(12.0)]
    prev: tuple[int, ...] | None = None
    prev_r = None
    for n in range(3, 10):
        out = nested_greedy(travel, ppl, n, cap, std, busy_probability=BUSY,
                            fixed_minutes=FIXED)
        r = FIXED + expected_response_minutes(travel, out, busy_probability=BUSY)
        assert len(out) == n and meets(r, ppl, std)
        if prev is not None:
            rest = list(out)
            for j in prev:
                rest.remove(j)        # the smaller placement is contained in the larger
            assert len(rest) == 1
            # up to the all-busy term: b^(n-1) (1 - b) (tau - tau_1 - A) for the new vehicle
            assert np.all(r <= prev_r + BUSY ** (n - 1) * (1 - BUSY) * travel.max() + 1e-9)
            assert float(ppl @ r) < float(ppl @ prev_r)
        prev, prev_r = out, r
    skew = np.array([10.0, 50, 5, 7, 200, 3, 5, 40, 12])  # no exact ties
    for n in (1, 4, 8):
        plain = nested_greedy(travel, skew, n, cap, [], busy_probability=BUSY,
                              fixed_minutes=FIXED)
        assert plain == tuple(sorted(default_arv_posts(travel, skew, n, cap,
                                                       busy_probability=BUSY)))
    with pytest.raises(InfeasibleError):
        nested_greedy(travel, ppl, 2, cap, [ResponseStandard(6.0)], busy_probability=BUSY,
                      fixed_minutes=FIXED)


def test_unreachable_site_is_a_clear_error() -> None:
    travel = _line()
    with pytest.raises(InfeasibleError, match=r"no standby point can reach `s\d` in slot x within 3 min"):
        repair(travel, (0, 0), np.ones(9), [2] * 7, [ResponseStandard(3.0)],
               busy_probability=BUSY, fixed_minutes=FIXED,
               site_ids=[f"s{i}" for i in range(9)], slot="x")


def test_too_few_vehicles_is_a_clear_error() -> None:
    travel = _line()
    with pytest.raises(InfeasibleError, match="has 2 ARVs but at least 7 are needed"):
        repair(travel, (0, 1), np.ones(9), [2] * 7, [ResponseStandard(6.0)],
               busy_probability=BUSY, fixed_minutes=FIXED)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_milp_is_exact_against_brute_force(n: int) -> None:
    """The MILP's feasible set is exactly the placements that meet the standard."""
    travel = _line(5, 6)
    cap = [2] * 5
    ppl = np.ones(6)
    for minutes in (8.0, 10.0, 12.0, 15.0):
        std = ResponseStandard(minutes)
        feasible = _feasible_by_brute_force(travel, n, cap, [std], ppl)
        model = _PlacementMilp(travel, (0,) * n, np.array(cap), BUSY, FIXED)
        model.add_standard(std, range(6), ppl, np.zeros(6, dtype=bool))
        if feasible:
            assert model.solve("x") in feasible
        else:
            with pytest.raises(InfeasibleError):
                model.solve("x")
