"""Boundedly rational attackers: quantal response and SUQR, evaluated and optimised (PASAQ)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.errors import GameError, SolverError
from citywatch._highs import build_highs, run_highs
from citywatch.games.equilibrium import Equilibrium
from citywatch.games.origami import solve_origami
from citywatch.model.game import SecurityGame

__all__ = [
    "SUQR_WEIGHTS",
    "evaluate_against",
    "quantal_response",
    "solve_quantal",
    "suqr_response",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: SUQR weights (coverage, attacker reward, attacker penalty) fitted to human-subject
#: data by Nguyen, Yang, Azaria, Kraus & Tambe, "Analyzing the effectiveness of adversary
#: modeling in security games", AAAI 2013 (Table 1, "SUQR" row: -9.85, 0.37, 0.15).
#: Fitted on payoffs in [-10, 10]; refit or rescale for other payoff units.
SUQR_WEIGHTS: tuple[float, float, float] = (-9.85, 0.37, 0.15)

_MODELS = ("qr", "suqr", "rational")
_METHODS = ("pasaq", "gradient")
_FIRST_SEGMENTS = 8
_MAX_SEGMENTS = 1024
_TIE_TOL = 1e-9


# ----------------------------------------------------------------------------- responses


def quantal_response(game: SecurityGame, coverage: npt.ArrayLike, *,
                     lam: float | npt.ArrayLike) -> FloatArray:
    r"""Quantal-response attack distribution, shape (types, targets).

    :math:`q_{kt} \propto \exp(\lambda_k U^a_k(t, c_t))` (McKelvey & Palfrey 1995; Yang
    et al. 2012). :math:`\lambda = 0` attacks uniformly; :math:`\lambda \to \infty`
    approaches a best response. `lam` is one value or one per attacker type.
    """
    alpha, gamma = _exponents(game, lam=lam, weights=None)
    return _softmax(alpha + gamma * _coverage(game, coverage))


def suqr_response(game: SecurityGame, coverage: npt.ArrayLike, *,
                  weights: tuple[float, float, float] | npt.ArrayLike = SUQR_WEIGHTS,
                  ) -> FloatArray:
    r"""Subjective-utility quantal-response (SUQR) attack distribution, (types, targets).

    :math:`q_{kt} \propto \exp(w_1 c_t + w_2 U^a_{u,kt} + w_3 U^a_{c,kt})` (Nguyen et al.,
    AAAI 2013), with :math:`U^a_u` the attacker's reward (target uncovered) and
    :math:`U^a_c` its penalty (covered). The default weights are the paper's fitted
    values :data:`SUQR_WEIGHTS`.
    """
    alpha, gamma = _exponents(game, lam=None, weights=weights)
    return _softmax(alpha + gamma * _coverage(game, coverage))


def evaluate_against(game: SecurityGame, coverage: npt.ArrayLike, *, model: str = "qr",
                     lam: float | npt.ArrayLike | None = None,
                     weights: tuple[float, float, float] | npt.ArrayLike | None = None,
                     ) -> float:
    """Defender's expected utility of `coverage` against an attacker model.

    Parameters
    ----------
    game
        The game (its priors weight the attacker types).
    coverage
        Coverage probabilities, shape (targets,).
    model
        ``"qr"`` (needs `lam`), ``"suqr"`` (`weights`, default :data:`SUQR_WEIGHTS`) or
        ``"rational"`` (best response, ties broken in the defender's favour as in a
        Strong Stackelberg Equilibrium).
    """
    c = _coverage(game, coverage)
    ud = game.defender_payoffs(c)
    if model == "rational":
        ua = game.attacker_payoffs(c)
        scale = max(1.0, float(np.abs(ua).max()))
        best = ua >= ua.max(axis=1, keepdims=True) - _TIE_TOL * scale
        return float(np.dot(game.priors, np.where(best, ud, -np.inf).max(axis=1)))
    if model == "qr":
        if lam is None:
            msg = "`lam` is required for `model`='qr'"
            raise GameError(msg)
        q = quantal_response(game, c, lam=lam)
    elif model == "suqr":
        q = suqr_response(game, c, weights=SUQR_WEIGHTS if weights is None else weights)
    else:
        msg = f"`model` must be one of {_MODELS}, got {model!r}"
        raise GameError(msg)
    return float(np.dot(game.priors, np.sum(q * ud, axis=1)))


# ----------------------------------------------------------------------------- solver


def solve_quantal(game: SecurityGame, *, lam: float | npt.ArrayLike | None = None,
                  weights: tuple[float, float, float] | npt.ArrayLike | None = None,
                  epsilon: float = 1e-3, method: str = "pasaq", segments: int | None = None,
                  time_limit: float | None = None) -> Equilibrium:
    r"""Defender's best coverage against a quantal-response or SUQR attacker.

    Give `lam` for quantal response or `weights` for SUQR (pass
    :data:`SUQR_WEIGHTS` for the published fit). Both attacker models make type
    :math:`k` attack :math:`t` with probability :math:`q_{kt} \propto f_{kt}(c_t) =
    \exp(\alpha_{kt} + \gamma_{kt} c_t)`, so against one type the defender maximises

    .. math::

        V(c) = \frac{\sum_t f_t(c_t)\,U^d_t(c_t)}{\sum_t f_t(c_t)}, \qquad
        U^d_t(c) = U^d_{u,t} + \delta_t c,\ \delta_t = U^d_{c,t} - U^d_{u,t},

    over :math:`0 \le c \le 1` with each group's budget :math:`\sum_{t \in g} c_t \le B_g`.

    **PASAQ** (Yang, Ordóñez, Tambe, AAMAS 2012), one type: binary search on the value
    :math:`r`; :math:`V^* \ge r` iff :math:`\min_c H_r(c) \le 0` with
    :math:`H_r(c) = \sum_t h_t(c_t)`, :math:`h_t(c) = f_t(c)\,(r - U^d_t(c))`. Each
    :math:`h_t` is replaced by its interpolant :math:`\tilde h_t` at :math:`K` equal
    segments of [0, 1] (incremental formulation, with fill-order binaries only for
    targets whose interpolant is not convex) and the MILP is solved by HiGHS.

    *Certificate.* On a segment :math:`[a, b]`,
    :math:`|h_t - \tilde h_t| \le \frac{(b-a)^2}{8} \max(f_t(a), f_t(b))
    \max(|m_t(a)|, |m_t(b)|)` with :math:`m_t(c) = \gamma_t^2 (r - U^d_t(c)) -
    2\gamma_t\delta_t` (the second derivative's bound; :math:`f_t` is monotone and
    :math:`m_t` linear). The MILP interpolates the breakpoint values lowered by the
    larger error of their two segments, a piecewise-linear function below
    :math:`h_t` everywhere, so its dual bound :math:`L \le \min_c H_r(c)`, and since
    :math:`H_r(c) = D(c)(r - V(c))`, every :math:`c` has
    :math:`V(c) \le r - L / D_{\max}` if :math:`L \ge 0` and :math:`V(c) \le r - L /
    D_{\min}` otherwise, where :math:`D_{\min}, D_{\max} = \sum_t \min / \max(f_t(0),
    f_t(1))`. The smallest such value over all steps is the reported upper bound; the
    value is the *true* :math:`V` of the best coverage met (each MILP's coverage is
    evaluated exactly), and ``gap = bound - value``. With ``segments=None`` the
    search starts at 8 segments and doubles them (up to 1024) until ``gap <=
    epsilon``.

    **Several types.** :math:`\sum_k p_k V_k(c)` is a sum of ratios, which the binary
    search does not handle. Each type is solved alone by PASAQ; the certified upper
    bound is :math:`\sum_k p_k \bar V_k` (no coverage beats a type's own optimum), and
    the coverage is found by projected gradient ascent on the weighted sum started
    from each type's PASAQ coverage and the starts of the gradient method. The gap is
    certified but can be loose (it ignores that types pull apart).

    **Gradient** (``method="gradient"``, for large games): projected gradient ascent
    with Armijo backtracking and Barzilai–Borwein steps on the smooth objective, using
    :math:`\partial V_k / \partial c_t = q_{kt}(\gamma_{kt}(U^d_{kt}(c_t) - V_k) +
    \delta_{kt})`, from three deterministic starts (uniform spread, ORIGAMI's SSE
    coverage of the prior-mixture game, coverage proportional to the attacker's
    reward). A local optimum only: ``gap=inf``, ``optimal=False``.

    Parameters
    ----------
    game
        The game.
    lam
        Quantal-response rationality, one value or one per type (>= 0).
    weights
        SUQR weights ``(w_coverage, w_reward, w_penalty)`` (one triple for all types).
    epsilon
        Target certified gap for PASAQ (absolute, in defender utility).
    method
        ``"pasaq"`` (default) or ``"gradient"``.
    segments
        PASAQ segments per target; ``None`` refines automatically.
    time_limit
        Seconds; when reached, the best coverage so far is returned with its certified
        gap (``optimal=False``).

    Returns
    -------
    Equilibrium
        ``attacked`` is ``-1`` for every type and ``attack_distribution`` holds the
        attack probabilities at the returned coverage; ``defender_utility`` is exact.
        ``optimal`` means ``gap <= epsilon``.

    Raises
    ------
    GameError
        If the model arguments are missing, both given, or invalid.
    SolverError
        If HiGHS fails.
    """
    start = time.perf_counter()
    if (lam is None) == (weights is None):
        msg = ("give exactly one of `lam` (quantal response) or `weights` (SUQR, e.g. "
               "SUQR_WEIGHTS)")
        raise GameError(msg)
    if method not in _METHODS:
        msg = f"`method` must be one of {_METHODS}, got {method!r}"
        raise GameError(msg)
    if not (epsilon > 0 and math.isfinite(epsilon)):
        msg = f"`epsilon` must be > 0, got {epsilon}"
        raise GameError(msg)
    if segments is not None and (isinstance(segments, bool) or not isinstance(segments, int)
                                 or segments < 1):
        msg = f"`segments` must be a positive integer or None, got {segments!r}"
        raise GameError(msg)
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be > 0 seconds, got {time_limit}"
        raise GameError(msg)
    alpha, gamma = _exponents(game, lam=lam, weights=weights)
    model = _Model(game, alpha, gamma)
    deadline = math.inf if time_limit is None else start + time_limit

    if method == "gradient":
        c = model.ascend_from(model.starts(), deadline)
        return model.result(c, math.inf, False, "quantal-gradient", start)

    if game.n_types == 1:
        run = _pasaq(model, 0, epsilon, segments, deadline)
        return model.result(run.coverage, run.bound - run.value, run.bound - run.value
                            <= epsilon, "pasaq", start)

    runs = [_pasaq(model, k, epsilon / 2, segments, deadline) for k in range(game.n_types)]
    bound = float(sum(game.priors[k] * runs[k].bound for k in range(game.n_types)))
    c = model.ascend_from([r.coverage for r in runs] + model.starts(), deadline)
    gap = max(0.0, bound - model.value(c))
    return model.result(c, gap, gap <= epsilon, "pasaq-bayesian", start)


# ----------------------------------------------------------------------------- internals


def _coverage(game: SecurityGame, coverage: npt.ArrayLike) -> FloatArray:
    c = np.asarray(coverage, dtype=np.float64)
    if c.shape != (game.n_targets,) or not np.all(np.isfinite(c)):
        msg = f"`coverage` must be {game.n_targets} finite values, got shape {c.shape}"
        raise GameError(msg)
    return c


def _softmax(logits: FloatArray) -> FloatArray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    out: FloatArray = z / z.sum(axis=1, keepdims=True)
    return out


def _exponents(game: SecurityGame, *, lam: float | npt.ArrayLike | None,
               weights: tuple[float, float, float] | npt.ArrayLike | None,
               ) -> tuple[FloatArray, FloatArray]:
    """``alpha, gamma`` (types, targets) with attack weight ``exp(alpha + gamma * c)``."""
    au, ac = game.attacker_uncovered, game.attacker_covered
    if lam is not None:
        lam_arr = np.asarray(lam, dtype=np.float64).reshape(-1)
        if lam_arr.size == 1:
            lam_arr = np.full(game.n_types, float(lam_arr[0]))
        if lam_arr.shape != (game.n_types,) or not np.all(np.isfinite(lam_arr)) \
                or np.any(lam_arr < 0):
            msg = (f"`lam` must be one finite value >= 0 or one per attacker type "
                   f"({game.n_types}), got {lam!r}")
            raise GameError(msg)
        lk = lam_arr[:, np.newaxis]
        return lk * au, lk * (ac - au)
    w = np.asarray(weights, dtype=np.float64).reshape(-1)
    if w.shape != (3,) or not np.all(np.isfinite(w)):
        msg = f"`weights` must be three finite numbers (coverage, reward, penalty), got {weights!r}"
        raise GameError(msg)
    return w[1] * au + w[2] * ac, np.full(au.shape, w[0])


class _Model:
    """The smooth objective, its gradient, projection and local search."""

    def __init__(self, game: SecurityGame, alpha: FloatArray, gamma: FloatArray) -> None:
        self.game = game
        self.alpha = alpha
        self.gamma = gamma
        self.du = game.defender_uncovered
        self.delta = game.defender_covered - game.defender_uncovered
        self.budget = game.resources.astype(np.float64)

    def distribution(self, c: FloatArray) -> FloatArray:
        return _softmax(self.alpha + self.gamma * c)

    def type_values(self, c: FloatArray) -> FloatArray:
        q = self.distribution(c)
        out: FloatArray = np.sum(q * (self.du + self.delta * c), axis=1)
        return out

    def value(self, c: FloatArray) -> float:
        return float(np.dot(self.game.priors, self.type_values(c)))

    def gradient(self, c: FloatArray) -> tuple[float, FloatArray]:
        q = self.distribution(c)
        u = self.du + self.delta * c
        v = np.sum(q * u, axis=1, keepdims=True)
        grad = q * (self.gamma * (u - v) + self.delta)
        p = self.game.priors
        return float(np.dot(p, v[:, 0])), p @ grad

    def project(self, y: FloatArray) -> FloatArray:
        """Euclidean projection onto ``0 <= c <= 1`` and the group budgets."""
        groups = self.game.groups
        c = np.clip(y, 0.0, 1.0)
        over = np.bincount(groups, weights=c, minlength=self.budget.size) > self.budget
        if not over.any():
            return c
        lo = np.zeros(self.budget.size)
        hi = np.full(self.budget.size, float(np.max(y)) + 1.0)
        mask = over[groups]
        for _ in range(100):
            mid = (lo + hi) / 2
            used = np.bincount(groups, weights=np.clip(y - mid[groups], 0.0, 1.0),
                               minlength=self.budget.size)
            high = used > self.budget
            lo = np.where(high, mid, lo)
            hi = np.where(high, hi, mid)
        c[mask] = np.clip(y - hi[groups], 0.0, 1.0)[mask]
        return c

    def starts(self) -> list[FloatArray]:
        game = self.game
        sizes = np.bincount(game.groups, minlength=game.n_groups)
        uniform = (self.budget / np.maximum(sizes, 1))[game.groups]
        try:
            sse = solve_origami(game.mixture()).coverage
        except (GameError, SolverError):
            sse = uniform
        reward = game.attacker_uncovered.mean(axis=0)
        reward = reward - reward.min() + 1e-9
        share = reward / np.bincount(game.groups, weights=reward)[game.groups]
        return [uniform, self.project(sse), self.project(share * self.budget[game.groups])]

    def ascend(self, c: FloatArray, deadline: float, *, max_iter: int = 5000) -> FloatArray:
        c = self.project(c)
        v, g = self.gradient(c)
        step = 1.0
        for _ in range(max_iter):
            if time.perf_counter() >= deadline:
                break
            while True:
                new = self.project(c + step * g)
                move = new - c
                v_new, g_new = self.gradient(new)
                if v_new >= v + 1e-4 * float(np.dot(g, move)) or step < 1e-14:
                    break
                step /= 2
            if float(np.abs(move).max()) < 1e-10:
                break
            dg = g_new - g
            curv = -float(np.dot(move, dg))
            step = float(np.dot(move, move)) / curv if curv > 1e-30 else step * 2
            step = min(max(step, 1e-8), 1e8)
            c, v, g = new, v_new, g_new
        return c

    def ascend_from(self, starts: list[FloatArray], deadline: float) -> FloatArray:
        best, best_v = starts[0], -math.inf
        for s in starts:
            c = self.ascend(s, deadline)
            v = self.value(c)
            if v > best_v:
                best, best_v = c, v
        return best

    def result(self, c: FloatArray, gap: float, optimal: bool, method: str,
               start: float) -> Equilibrium:
        game = self.game
        q = self.distribution(c)
        ua = game.attacker_payoffs(c)
        return Equilibrium(
            coverage=c,
            defender_utility=self.value(c),
            attacked=np.full(game.n_types, -1, dtype=np.int64),
            attacker_utility=np.sum(q * ua, axis=1),
            method=method,
            optimal=bool(optimal),
            gap=float(gap),
            seconds=time.perf_counter() - start,
            attack_distribution=q,
        )


@dataclass
class _Pasaq:
    coverage: FloatArray
    value: float
    bound: float
    segments: int
    milps: int


def _pasaq(model: _Model, k: int, epsilon: float, segments: int | None,
           deadline: float) -> _Pasaq:
    """PASAQ for attacker type `k` alone (see :func:`solve_quantal`)."""
    game = model.game
    du, delta = model.du[k], model.delta[k]
    gamma = model.gamma[k]
    alpha = model.alpha[k] - float(np.max(np.maximum(model.alpha[k],
                                                     model.alpha[k] + model.gamma[k])))
    f0, f1 = np.exp(alpha), np.exp(alpha + gamma)
    d_min, d_max = float(np.minimum(f0, f1).sum()), float(np.maximum(f0, f1).sum())
    single = SecurityGame(game.defender_covered[k], game.defender_uncovered[k],
                          game.attacker_covered[k], game.attacker_uncovered[k],
                          resources=game.resources, groups=game.groups)
    sub = _Model(single, model.alpha[k:k + 1], model.gamma[k:k + 1])

    best_c = sub.ascend_from(sub.starts(), deadline)
    best_v = sub.value(best_c)
    bound = float(game.defender_covered[k].max())
    lo, hi = best_v, bound
    n_seg = _FIRST_SEGMENTS if segments is None else segments
    milps = 0
    while bound - best_v > epsilon and time.perf_counter() < deadline:
        lo, hi = max(lo, best_v), min(hi, bound)
        if hi - lo <= epsilon / 4:
            if segments is not None or n_seg >= _MAX_SEGMENTS:
                break
            n_seg *= 2
            lo, hi = best_v, bound
            continue
        r = (lo + hi) / 2
        step = _pasaq_step(game, alpha, gamma, du, delta, r, n_seg, deadline)
        if step is None:
            break
        milps += 1
        primal, low, c = step
        v = sub.value(c)
        if v > best_v:
            best_c, best_v = c, v
        candidate = r - low / d_max if low >= 0 else (r - low / d_min if d_min > 0
                                                      else math.inf)
        bound = min(bound, candidate)
        if primal <= 0:
            lo = r
        else:
            hi = r
    return _Pasaq(best_c, best_v, max(bound, best_v), n_seg, milps)


def _pasaq_step(game: SecurityGame, alpha: FloatArray, gamma: FloatArray, du: FloatArray,
                delta: FloatArray, r: float, n_seg: int, deadline: float,
                ) -> tuple[float, float, FloatArray] | None:
    """Solve ``min sum_t h~_t(c_t)`` over the budget polytope at level `r`.

    ``h~_t`` interpolates ``h_t`` lowered by its interpolation error, so the returned
    dual bound is a rigorous lower bound on ``min_c H_r(c)``. Returns the MILP's
    objective, that bound and the coverage; ``None`` when the deadline passed first.
    """
    n = game.n_targets
    grid = np.linspace(0.0, 1.0, n_seg + 1)
    f = np.exp(alpha[:, np.newaxis] + gamma[:, np.newaxis] * grid)        # (N, K+1)
    h = f * (r - du[:, np.newaxis] - delta[:, np.newaxis] * grid)
    m = (gamma ** 2)[:, np.newaxis] * (r - du[:, np.newaxis] - delta[:, np.newaxis] * grid) \
        - (2 * gamma * delta)[:, np.newaxis]
    fmax = np.maximum(f[:, :-1], f[:, 1:])
    mmax = np.maximum(np.abs(m[:, :-1]), np.abs(m[:, 1:]))
    seg_error = fmax * mmax / (8.0 * n_seg ** 2)                          # (N, K)
    # Lower each breakpoint by the larger error of its two segments: the interpolant of
    # the lowered values lies below h_t everywhere, so the MILP's dual bound is a
    # rigorous lower bound on min_c H_r(c).
    drop = np.empty_like(h)
    drop[:, 0] = seg_error[:, 0]
    drop[:, -1] = seg_error[:, -1]
    drop[:, 1:-1] = np.maximum(seg_error[:, :-1], seg_error[:, 1:])
    h = h - drop
    slopes = np.diff(h, axis=1) * n_seg                                   # (N, K)

    # Incremental formulation: c_t = sum_j x_tj, x_tj in [0, 1/K]; fill order enforced
    # by binaries z_tj (x_tj >= z_tj / K >= x_t,j+1) only where h~_t is not convex.
    nonconvex = np.flatnonzero(np.any(np.diff(slopes, axis=1) < -1e-12, axis=1)) \
        if n_seg > 1 else np.zeros(0, dtype=np.int64)
    n_x = n * n_seg
    n_z = nonconvex.size * (n_seg - 1)
    x_index = np.arange(n_x).reshape(n, n_seg)
    budget = sp.csr_array((np.ones(n_x), (np.repeat(game.groups, n_seg), np.arange(n_x))),
                          shape=(game.n_groups, n_x + n_z))
    blocks = [budget]
    lower = [np.full(game.n_groups, -np.inf)]
    upper = [game.resources.astype(np.float64)]
    if n_z:
        z = n_x + np.arange(n_z)
        xs = x_index[nonconvex]
        first = xs[:, :-1].reshape(-1)   # x_tj >= z_tj / K
        nxt = xs[:, 1:].reshape(-1)      # x_t,j+1 <= z_tj / K
        rows = np.arange(n_z)
        a1 = sp.csr_array((np.concatenate([np.ones(n_z), np.full(n_z, -1.0 / n_seg)]),
                           (np.concatenate([rows, rows]), np.concatenate([first, z]))),
                          shape=(n_z, n_x + n_z))
        a2 = sp.csr_array((np.concatenate([np.ones(n_z), np.full(n_z, -1.0 / n_seg)]),
                           (np.concatenate([rows, rows]), np.concatenate([nxt, z]))),
                          shape=(n_z, n_x + n_z))
        blocks += [a1, a2]
        lower += [np.zeros(n_z), np.full(n_z, -np.inf)]
        upper += [np.full(n_z, np.inf), np.zeros(n_z)]
    left = deadline - time.perf_counter()
    if left <= 0:
        return None
    h_model = build_highs(
        np.concatenate([slopes.reshape(-1), np.zeros(n_z)]), sp.vstack(blocks),
        np.concatenate(lower), np.concatenate(upper),
        col_lower=0.0, col_upper=np.concatenate([np.full(n_x, 1.0 / n_seg), np.ones(n_z)]),
        integrality=np.concatenate([np.zeros(n_x), np.ones(n_z)]) if n_z else None,
        offset=float(h[:, 0].sum()), mip_rel_gap=1e-6,
        time_limit=None if math.isinf(left) else left)
    try:
        res = run_highs(h_model, what="PASAQ piecewise-linear MILP")
    except SolverError:
        # the deadline passed before HiGHS found anything feasible: its own time limit,
        # or the wall-clock watch of `run_highs` interrupting it (a loaded machine)
        if h_model.getModelStatus() in (highspy.HighsModelStatus.kTimeLimit,
                                        highspy.HighsModelStatus.kInterrupt):
            return None
        raise
    c = np.clip(res.x[:n_x].reshape(n, n_seg).sum(axis=1), 0.0, 1.0)
    bound = res.bound if math.isfinite(res.bound) else -math.inf
    if not res.optimal and not n_z:
        bound = -math.inf  # an interrupted LP proves nothing
    return res.objective, bound, c
