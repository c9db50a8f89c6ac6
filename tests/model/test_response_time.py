"""The response-time distribution: exact busy states, quadrature in the lognormal factors."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import ndtri

from citywatch.errors import ScenarioError
from citywatch.model.response_time import (
    ALL_BUSY_EXTRA_MIN,
    ResponseTimes,
    Spread,
    answering_travel,
    busy_state_probability,
    expected_casualties,
)


def _grid(sigma: float, m: int) -> np.ndarray:
    """`m` equiprobable midpoint quantiles of the mean-one lognormal factor."""
    if sigma == 0:
        return np.ones(1)
    z = ndtri((np.arange(m) + 0.5) / m)
    f = np.exp(sigma * z - sigma * sigma / 2)
    return f / f.mean()


def _brute(times: ResponseTimes, f, m: int = 1500) -> np.ndarray:  # type: ignore[no-untyped-def]
    """E[f(T)] by a dense product grid over both factors (independent of the module)."""
    d = _grid(times.spread.dispatch_sigma, m)
    lf = _grid(times.spread.travel_sigma, m)
    out = np.zeros(times.n_destinations)
    for j, pj in enumerate(times.state_probability):
        t = (times.engage_minutes + times.dispatch_minutes * d[:, None, None]
             + times.travel[j][None, None, :] * lf[None, :, None])
        out += pj * f(t).mean(axis=(0, 1))
    return out


def test_busy_states_and_answering_vehicle() -> None:
    p = busy_state_probability(3, 0.3)
    np.testing.assert_allclose(p, [0.7, 0.21, 0.063, 0.027])
    table = answering_travel([[5.0, 1.0], [2.0, 9.0], [7.0, 4.0]])
    np.testing.assert_array_equal(table[:, 0], [2.0, 5.0, 7.0, 2.0 + ALL_BUSY_EXTRA_MIN])
    np.testing.assert_array_equal(table[:, 1], [1.0, 4.0, 9.0, 1.0 + ALL_BUSY_EXTRA_MIN])


@pytest.mark.parametrize("spread", [Spread(), Spread(0.8, 0.1), Spread(0.0, 0.4),
                                    Spread(0.6, 0.0), Spread(0.0, 0.0)])
def test_expected_casualties_match_a_dense_grid(spread: Spread) -> None:
    rng = np.random.default_rng(3)
    vehicles = rng.uniform(1, 20, size=(4, 6))
    times = ResponseTimes.from_vehicles(vehicles, busy_probability=0.35, dispatch_minutes=1.5,
                                        engage_minutes=1.0, spread=spread)
    initial = rng.uniform(0, 10, size=6)
    rate = rng.uniform(0, 4, size=6)
    cap = initial + rate * rng.uniform(2, 25, size=6)   # caps that bind inside the spread
    got = expected_casualties(times, initial=initial, rate=rate, cap=cap)
    want = _brute(times, lambda t: np.minimum(cap, initial + rate * t))
    np.testing.assert_allclose(got, want, rtol=2e-3)
    # and it is the mean exactly when the cap never binds
    far = expected_casualties(times, initial=initial, rate=rate, cap=np.full(6, 1e9))
    np.testing.assert_allclose(far, initial + rate * times.mean(), rtol=1e-12)
    # concave curve: below the casualties at the mean time (Jensen)
    assert np.all(got <= np.minimum(cap, initial + rate * times.mean()) + 1e-9)


def test_stop_loss_and_expect_agree_for_smooth_and_kinked_curves() -> None:
    vehicles = np.array([[3.0, 12.0, 0.5], [8.0, 2.0, 6.0]])
    times = ResponseTimes.from_vehicles(vehicles, busy_probability=0.2, dispatch_minutes=2.0,
                                        engage_minutes=1.0)
    np.testing.assert_allclose(times.expect(lambda t: t), times.mean(), rtol=1e-10)
    x = np.array([6.0, 9.0, 4.0])
    np.testing.assert_allclose(times.stop_loss(x), _brute(times, lambda t: np.maximum(t - x, 0)),
                               rtol=2e-3)
    np.testing.assert_allclose(times.expect(lambda t: np.sqrt(t)),
                               _brute(times, np.sqrt), rtol=1e-4)
    # stop-loss at or below zero is the mean minus the threshold
    np.testing.assert_allclose(times.stop_loss(np.full(3, -1.0)), times.mean() + 1.0)


def test_rejects_bad_input() -> None:
    from citywatch.errors import ScenarioError

    with pytest.raises(ScenarioError, match="`posts`"):
        ResponseTimes.from_posts(np.ones((2, 3)), [], busy_probability=0.3,
                                 dispatch_minutes=1, engage_minutes=1)
    with pytest.raises(ScenarioError, match="`busy_probability`"):
        busy_state_probability(2, 1.5)
    with pytest.raises(ScenarioError, match="`travel_sigma`"):
        Spread(0.5, -1)


@pytest.mark.parametrize("busy", [0.0, 0.3, 0.7, 1.0])
def test_placement_table_equals_the_direct_expectation(busy: float) -> None:
    """`PlacementCasualties` (tabulated per standby point) is `expected_casualties`."""
    from citywatch.model.response_time import PlacementCasualties

    rng = np.random.default_rng(int(busy * 10))
    points, dest, types = 30, 40, 3
    travel = rng.uniform(1, 30, (points, dest))
    travel[5] = travel[7]                                  # tied points
    a = rng.uniform(0, 5, (types, dest))
    r = rng.uniform(0, 3, (types, dest))
    r[0, :5] = 0.0                                         # no time dependence
    k = rng.uniform(5, 80, (types, dest))
    k[1, :3] = 0.5 * a[1, :3]                              # the cap binds at once
    table = PlacementCasualties(travel, initial=a, rate=r, cap=k, busy_probability=busy,
                                dispatch_minutes=1.5, engage_minutes=1.0)
    for n in (1, 2, 7, 28, 45):
        posts = rng.integers(0, points, n)
        posts[: min(n, 2)] = [5, 7][: min(n, 2)]
        times = ResponseTimes.from_posts(travel, posts, busy_probability=busy,
                                         dispatch_minutes=1.5, engage_minutes=1.0)
        want = expected_casualties(times, initial=a, rate=r, cap=k)
        assert np.allclose(table(posts), want, rtol=1e-12, atol=1e-12), n
    with pytest.raises(ScenarioError, match="posts"):
        table([])
