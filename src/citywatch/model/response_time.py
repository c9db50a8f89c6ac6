r"""How long armed help takes: the response-time distribution, and expectations over it.

The payoff model (`citywatch.model.payoffs`) and the simulator (`citywatch.sim`) both
draw from this distribution, so the game's expected casualties are the simulator's
mean casualties.

An attack at a site that no armed team is standing at is answered by the nearest
*available* armed response vehicle. With the slot's :math:`n` vehicles sorted by
travel time to the site, :math:`\tau_{(1)} \le \dots \le \tau_{(n)}`, each busy with
another call independently with probability :math:`b`, the number :math:`J` of nearer
vehicles that are busy has

.. math::

    P(J = j) = b^j (1 - b) \quad (j < n), \qquad P(J = n) = b^n,

and the answering vehicle's travel is :math:`\tau_J = \tau_{(J+1)}` for :math:`J < n`
and :math:`\tau_n = \tau_{(1)} + \texttt{ALL\_BUSY\_EXTRA\_MIN}` when every vehicle is
busy (the call waits for the nearest to clear, or for mutual aid). Minutes from the
first call to armed intervention are

.. math::

    T = \delta D + \tau_J L + e,

with :math:`\delta` the mean detection + dispatch delay, :math:`e` the minutes from
arrival to stopping the attacker, and :math:`D, L` independent mean-one lognormal
factors :math:`\exp(\sigma Z - \sigma^2/2)` (`Spread`), so
:math:`E[T] = \delta + e + E[\tau_J]`.

Expectations are exact in :math:`J` and quadratures in the factors:

* `ResponseTimes.stop_loss` gives :math:`E[(T - x)^+]`: in each busy state the factor
  with the larger spread in minutes is integrated in closed form (for a mean-one
  lognormal :math:`L`, :math:`E[(\tau L - y)^+] = \tau\Phi(d_1) - y\Phi(d_2)`,
  :math:`d_{1,2} = (\ln(\tau / y) \pm \sigma_L^2/2) / \sigma_L`), the other by
  Gauss–Hermite quadrature on its normal :math:`Z` (smooth once the wider factor is
  integrated out).
* `expected_casualties` uses it for the piecewise-linear casualty curve
  :math:`K(T) = \min(\text{cap}, a + rT)`:
  :math:`E[K(T)] = a + rE[T] - rE[(T - x)^+]` with :math:`x = (\text{cap} - a)/r`.
* `ResponseTimes.expect` integrates any smooth vectorised curve ``f(minutes)`` by
  Gauss–Hermite in both factors (for curves with kinks, write them through
  `stop_loss` as `expected_casualties` does).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
import numpy.typing as npt

from citywatch.errors import ScenarioError

__all__ = [
    "ALL_BUSY_EXTRA_MIN",
    "DEFAULT_SPREAD",
    "PlacementCasualties",
    "ResponseTimes",
    "Spread",
    "answering_travel",
    "busy_state_probability",
    "expected_casualties",
]

FloatArray = npt.NDArray[np.float64]

#: Extra minutes when every vehicle is busy: the call waits for the nearest to clear
#: or for mutual aid [assumption].
ALL_BUSY_EXTRA_MIN = 10.0
#: Gauss–Hermite nodes for the factor integrated numerically.
QUADRATURE_NODES = 24
#: Busy states less likely than this are dropped (their mass is renormalised away).
STATE_CUTOFF = 1e-13


@dataclass(frozen=True)
class Spread:
    """Random spread of the response around the planning model's mean times.

    Dispatch delay and travel time are each the model's figure times an independent
    mean-one lognormal factor ``exp(σZ − σ²/2)``, so their means equal the model's
    while the right tail is long, as measured for emergency-vehicle travel (Budge,
    Ingolfsson & Zerom 2010 found ambulance travel times roughly lognormal with a
    coefficient of variation of 0.2–0.4) [assumption for armed response]. ``σ = 0``
    removes the spread.

    Attributes
    ----------
    dispatch_sigma
        Log-scale spread of detection + dispatch (default 0.5: a 1.5-minute median
        call-to-dispatch has a 90th percentile near 2.5 minutes).
    travel_sigma
        Log-scale spread of travel time (default 0.3, a coefficient of variation ≈ 0.31).
    """

    dispatch_sigma: float = 0.5
    travel_sigma: float = 0.3

    def __post_init__(self) -> None:
        for name in ("dispatch_sigma", "travel_sigma"):
            v = getattr(self, name)
            if not (np.isfinite(v) and 0.0 <= v <= 3.0):
                msg = f"`{name}` must lie in [0, 3], got {v}"
                raise ScenarioError(msg)


#: The default spread (dispatch σ 0.5, travel σ 0.3).
DEFAULT_SPREAD = Spread()


def busy_state_probability(n_vehicles: int, busy_probability: float) -> FloatArray:
    """``P(J = j)`` for ``j = 0..n``: ``j`` nearer vehicles busy (``n``: all busy)."""
    if n_vehicles < 1:
        msg = f"`n_vehicles` must be >= 1, got {n_vehicles}"
        raise ScenarioError(msg)
    b = float(busy_probability)
    if not 0.0 <= b <= 1.0:
        msg = f"`busy_probability` must lie in [0, 1], got {b}"
        raise ScenarioError(msg)
    j = np.arange(n_vehicles + 1)
    p = b ** j * (1.0 - b)
    p[-1] = b ** n_vehicles
    return np.asarray(p)


def answering_travel(travel: npt.ArrayLike) -> FloatArray:
    """Travel minutes of the answering vehicle in each busy state.

    `travel` has shape (vehicles, destinations); the result (vehicles + 1,
    destinations): row ``j < n`` is the ``j + 1``-th nearest vehicle, row ``n`` the
    all-busy time (nearest + `ALL_BUSY_EXTRA_MIN`).
    """
    t = np.asarray(travel, dtype=np.float64)
    if t.ndim != 2 or t.shape[0] < 1:
        msg = f"`travel` must have shape (vehicles >= 1, destinations), got {t.shape}"
        raise ScenarioError(msg)
    srt = np.sort(t, axis=0)
    return np.vstack([srt, srt[:1] + ALL_BUSY_EXTRA_MIN])


@cache
def _hermite(n: int) -> tuple[FloatArray, FloatArray]:
    """Gauss–Hermite nodes and weights for a standard normal (weights sum to one)."""
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return z, w / w.sum()


def _factor_nodes(sigma: float, n: int) -> tuple[FloatArray, FloatArray]:
    """Quadrature nodes and weights of the mean-one lognormal factor ``exp(σZ − σ²/2)``."""
    if sigma == 0:
        return np.ones(1), np.ones(1)
    z, w = _hermite(n)
    f = np.exp(sigma * z - 0.5 * sigma * sigma)
    return f / (w @ f), w   # rescaled so the quadrature mean is exactly one


def _lognormal_call(scale: FloatArray, strike: FloatArray, sigma: float) -> FloatArray:
    """``E[(scale · L − strike)^+]`` for a mean-one lognormal ``L`` (log-sd `sigma`)."""
    from scipy.special import ndtr

    scale, strike = np.broadcast_arrays(np.asarray(scale, np.float64),
                                        np.asarray(strike, np.float64))
    out = np.maximum(scale - strike, 0.0)   # sigma = 0, or strike <= 0 (then exact)
    if sigma == 0:
        return out
    ok = (strike > 0) & (scale > 0)
    s, k = scale[ok], strike[ok]
    d1 = (np.log(s / k) + 0.5 * sigma * sigma) / sigma
    out[ok] = s * ndtr(d1) - k * ndtr(d1 - sigma)
    return out


@dataclass(frozen=True, eq=False)
class ResponseTimes:
    """The distribution of minutes to armed intervention at each of some destinations.

    Attributes
    ----------
    travel
        Answering vehicle's travel minutes in each kept busy state, shape
        (states, destinations) (`answering_travel`).
    state_probability
        Probability of each kept state, shape (states,) (sums to one).
    dispatch_minutes
        Mean detection + dispatch delay ``δ``.
    engage_minutes
        Minutes from arrival to stopping the attacker ``e``.
    spread
        Log-scale spreads of dispatch and travel.
    """

    travel: FloatArray
    state_probability: FloatArray
    dispatch_minutes: float
    engage_minutes: float
    spread: Spread = DEFAULT_SPREAD

    @classmethod
    def from_vehicles(cls, vehicle_minutes: npt.ArrayLike, *, busy_probability: float,
                      dispatch_minutes: float, engage_minutes: float,
                      spread: Spread = DEFAULT_SPREAD) -> ResponseTimes:
        """The distribution for vehicles with travel minutes (vehicles, destinations)."""
        table = answering_travel(vehicle_minutes)
        p = busy_state_probability(table.shape[0] - 1, busy_probability)
        keep = p >= STATE_CUTOFF
        if not keep.any():
            keep[-1] = True
        p = p[keep]
        return cls(table[keep], p / p.sum(), float(dispatch_minutes), float(engage_minutes),
                   spread)

    @classmethod
    def from_posts(cls, travel: npt.ArrayLike, posts: Sequence[int], *,
                   busy_probability: float, dispatch_minutes: float, engage_minutes: float,
                   spread: Spread = DEFAULT_SPREAD) -> ResponseTimes:
        """The distribution for vehicles waiting at standby points `posts`.

        `travel` holds minutes from each standby point to each destination, shape
        (points, destinations); a point may appear in `posts` more than once.
        """
        idx = np.asarray(posts, dtype=np.int64)
        if idx.size == 0:
            msg = "`posts` is empty: at least one response vehicle is needed"
            raise ScenarioError(msg)
        return cls.from_vehicles(np.asarray(travel, dtype=np.float64)[idx],
                                 busy_probability=busy_probability,
                                 dispatch_minutes=dispatch_minutes,
                                 engage_minutes=engage_minutes, spread=spread)

    @property
    def n_destinations(self) -> int:
        """Number of destinations."""
        return int(self.travel.shape[1])

    def mean_travel(self) -> FloatArray:
        """Expected travel minutes of the answering vehicle, per destination."""
        return np.asarray(self.state_probability @ self.travel)

    def mean(self) -> FloatArray:
        """Expected minutes to armed intervention ``E[T]``, per destination."""
        return self.dispatch_minutes + self.engage_minutes + self.mean_travel()

    def stop_loss(self, x: npt.ArrayLike) -> FloatArray:
        """``E[(T − x)^+]`` per destination; `x` broadcasts to (..., destinations).

        In each busy state the factor with the larger spread in minutes (``δσ_D`` against
        ``τ_Jσ_L``) is integrated in closed form and the other by Gauss–Hermite, so the
        integrand of the quadrature is smooth on the scale of its nodes.
        """
        return np.asarray(self.state_probability @ self.state_stop_loss(x))

    def state_stop_loss(self, x: npt.ArrayLike) -> FloatArray:
        """``E[(T − x)^+ | J = j]`` for each kept busy state, shape (..., states, dest)."""
        x = np.asarray(x, dtype=np.float64)
        shape = np.broadcast_shapes(x.shape, (self.n_destinations,))
        y = np.broadcast_to(x, shape)[..., None, :] - self.engage_minutes  # (..., 1, dest)
        sd, sl = self.spread.dispatch_sigma, self.spread.travel_sigma
        delta = self.dispatch_minutes
        tau = self.travel                                                   # (states, dest)
        d, wd = _factor_nodes(sd, QUADRATURE_NODES)
        lf, wl = _factor_nodes(sl, QUADRATURE_NODES)
        over_l = sum(w * _lognormal_call(tau, y - delta * dm, sl)
                     for dm, w in zip(d, wd, strict=True))
        over_d = sum(w * _lognormal_call(np.full_like(tau, delta), y - tau * ln, sd)
                     for ln, w in zip(lf, wl, strict=True))
        closed_in_d = delta * sd >= tau * sl
        return np.asarray(np.where(closed_in_d, over_d, over_l))

    def expect(self, f: Callable[[FloatArray], FloatArray], *,
               nodes: int = QUADRATURE_NODES) -> FloatArray:
        """``E[f(T)]`` per destination for a smooth vectorised curve `f` (minutes → value).

        Exact in the busy state, Gauss–Hermite in both lognormal factors. `f` receives
        an array of shape (states, destinations) and must return the same shape.
        """
        d, wd = _factor_nodes(self.spread.dispatch_sigma, nodes)
        lf, wl = _factor_nodes(self.spread.travel_sigma, nodes)
        out = np.zeros(self.n_destinations)
        for dm, wm in zip(d, wd, strict=True):
            for ln, wn in zip(lf, wl, strict=True):
                t = self.engage_minutes + self.dispatch_minutes * dm + self.travel * ln
                out += wm * wn * (self.state_probability @ np.asarray(f(t), np.float64))
        return out


def _curve(initial: npt.ArrayLike, rate: npt.ArrayLike, cap: npt.ArrayLike, n_dest: int
           ) -> tuple[FloatArray, FloatArray, FloatArray, npt.NDArray[np.bool_], FloatArray]:
    """The casualty curve broadcast to (..., dest): ``a, r, k``, where ``r > 0``, and the
    minutes ``x = (k − a) / r`` at which the cap binds (0 where ``r = 0``)."""
    a, r, k = (np.asarray(v, dtype=np.float64) for v in (initial, rate, cap))
    a, r, k = np.broadcast_arrays(a, r, k, np.zeros(n_dest))[:3]
    if np.any(r < 0):
        msg = "`rate` must be >= 0"
        raise ScenarioError(msg)
    pos = r > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(pos, (k - a) / np.where(pos, r, 1.0), 0.0)
    return a, r, k, pos, x


def expected_casualties(times: ResponseTimes, *, initial: npt.ArrayLike, rate: npt.ArrayLike,
                        cap: npt.ArrayLike) -> FloatArray:
    """``E[min(cap, initial + rate · T)]`` per destination, exactly in the busy state.

    Parameters broadcast to (..., destinations), e.g. (types, destinations).
    """
    a, r, k, pos, x = _curve(initial, rate, cap, times.n_destinations)
    mean = times.mean()
    out = np.minimum(k, a).astype(np.float64)         # rate 0: no time dependence
    if pos.any():
        linear = a + r * mean
        # the cap can only bind below T's 8-sigma ceiling (beyond it E[(T - x)^+] < 1e-15
        # of T): the stop-loss is computed only where it can matter
        sd, sl = times.spread.dispatch_sigma, times.spread.travel_sigma
        ceiling = (times.engage_minutes + times.dispatch_minutes * np.exp(8.0 * sd)
                   + times.travel.max(axis=0) * np.exp(8.0 * sl))
        near = pos & (x < ceiling)
        cols = np.flatnonzero(near.reshape(-1, times.n_destinations).any(axis=0))
        if cols.size:
            sub = ResponseTimes(times.travel[:, cols], times.state_probability,
                                times.dispatch_minutes, times.engage_minutes, times.spread)
            loss = np.zeros_like(linear)
            loss[..., cols] = sub.stop_loss(x[..., cols])
            linear = linear - r * loss
        out = np.where(pos, linear, out)
    return np.asarray(out)


class PlacementCasualties:
    r"""``E[min(cap, initial + rate · T)]`` for any placement of vehicles, by table lookup.

    In busy state :math:`J = j` the answering vehicle is the :math:`(j+1)`-th nearest,
    so the stop-loss term of `expected_casualties` is
    :math:`\sum_j P(J=j)\, g(\tau_{(j+1)})` where :math:`g(\tau) = E[(T - x)^+ \mid
    \tau_J = \tau]` depends on the placement only through which standby point the
    ranked vehicle waits at. Tabulating :math:`g` once for every standby point (and
    for its all-busy time, plus `ALL_BUSY_EXTRA_MIN`) turns each placement's
    expectation into a sort and a gather: the same numbers as `expected_casualties`
    on `ResponseTimes.from_posts` (which also computes the stop-loss where it is below
    ``1e-15`` of ``T``), thousands of times faster for a placement search.

    Parameters
    ----------
    travel
        Minutes from each standby point to each destination, shape (points, dest).
    initial, rate, cap
        The casualty curve, broadcasting to (..., dest) (e.g. (types, dest)).
    busy_probability, dispatch_minutes, engage_minutes, spread
        As for `ResponseTimes.from_vehicles`.
    """

    def __init__(self, travel: npt.ArrayLike, *, initial: npt.ArrayLike,
                 rate: npt.ArrayLike, cap: npt.ArrayLike, busy_probability: float,
                 dispatch_minutes: float, engage_minutes: float,
                 spread: Spread = DEFAULT_SPREAD) -> None:
        t = np.asarray(travel, dtype=np.float64)
        if t.ndim != 2 or t.shape[0] < 1:
            msg = f"`travel` must have shape (points >= 1, destinations), got {t.shape}"
            raise ScenarioError(msg)
        self.a, self.r, self.k, self.pos, x = _curve(initial, rate, cap, t.shape[1])
        busy_state_probability(1, busy_probability)       # validates the probability
        self.travel, self.busy = t, float(busy_probability)
        one = np.ones(t.shape[0]) / t.shape[0]
        fixed = dict(dispatch_minutes=float(dispatch_minutes),
                     engage_minutes=float(engage_minutes), spread=spread)
        self.fixed = float(dispatch_minutes) + float(engage_minutes)
        # g for the ranked vehicle at each point, and for the all-busy wait: (..., points, dest)
        self.near = ResponseTimes(t, one, **fixed).state_stop_loss(x)
        self.all_busy = ResponseTimes(t + ALL_BUSY_EXTRA_MIN, one, **fixed).state_stop_loss(x)

    def __call__(self, posts: Sequence[int]) -> FloatArray:
        """Expected casualties at each destination with vehicles at `posts`, (..., dest)."""
        idx = np.asarray(posts, dtype=np.int64)
        if idx.ndim != 1 or idx.size == 0:
            msg = "`posts` is empty: at least one response vehicle is needed"
            raise ScenarioError(msg)
        n, dest = idx.size, self.travel.shape[1]
        p = busy_state_probability(n, self.busy)
        keep = p >= STATE_CUTOFF
        if not keep.any():
            keep[-1] = True
        p = np.where(keep, p, 0.0)
        p = p / p.sum()
        # P(J = j) falls with j < n, so the kept ranks are the k nearest (at least the
        # nearest, whose all-busy wait is the last state): only they are ranked
        k = max(1, int(keep[:n].sum()))
        t = self.travel[idx]
        if k < n:
            near = np.argpartition(t, k - 1, axis=0)[:k]
            order = np.take_along_axis(near, np.argsort(np.take_along_axis(t, near, axis=0),
                                                        axis=0, kind="stable"), axis=0)
        else:
            order = np.argsort(t, axis=0, kind="stable")
        ranked = idx[order]                                                  # (k, dest)
        cols = np.arange(dest)
        pk = p[:k]
        mean = self.fixed + pk @ self.travel[ranked, cols] + p[n] * (
            self.travel[ranked[0], cols] + ALL_BUSY_EXTRA_MIN)
        loss = (np.einsum("j,...jd->...d", pk, self.near[..., ranked, cols])
                + p[n] * self.all_busy[..., ranked[0], cols])
        return np.asarray(np.where(self.pos, self.a + self.r * (mean - loss),
                                   np.minimum(self.k, self.a)))
