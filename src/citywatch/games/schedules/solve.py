"""Strong Stackelberg equilibria of schedule games by column generation."""

from __future__ import annotations

import time

from citywatch._random import Seed, as_generator
from citywatch.errors import GameError
from citywatch.games.schedules._bayes import _solve_bayesian
from citywatch.games.schedules._pricing import _Limits, _Pricer
from citywatch.games.schedules._profiles import _solve_single
from citywatch.games.schedules.game import ScheduleEquilibrium, ScheduleGame

__all__ = ["solve_schedules"]


def solve_schedules(sgame: ScheduleGame, *, time_limit: float | None = None,
                    max_iterations: int | None = None,
                    seed: Seed = None) -> ScheduleEquilibrium:
    r"""Strong Stackelberg Equilibrium of a schedule game by column generation.

    A pure strategy of group :math:`g` is a *joint schedule*: a set :math:`J` of
    :math:`B_g` distinct schedules of the group (all of them if it has fewer), with
    coverage vector :math:`a_J \in \{0, 1\}^N`, :math:`a_{Jt} = 1` iff some schedule of
    :math:`J` covers :math:`t` (ASPEN, Jain et al. AAAI 2010). Groups cover disjoint
    targets, so a mixed strategy is one distribution :math:`x_g` per group and the
    marginal coverage is :math:`c = \sum_g \sum_J x_{gJ} a_J`.

    **One attacker type: exact multiple LPs with column generation.** For each
    candidate attacked target :math:`t^*` (Conitzer & Sandholm 2006),

    .. math::

        \max\ U^d(t^*, c) \quad\text{s.t.}\quad
        c_t - \textstyle\sum_J a_{Jt} x_J = 0\ (\pi_t),\quad
        \textstyle\sum_{J \in g} x_J = 1\ (\mu_g),\quad
        U^a(t, c) \le U^a(t^*, c)\ \forall t,\quad x \ge 0,

    over a pool of joint schedules. The pricing problem of group :math:`g` is a
    weighted maximum-coverage MILP with weights :math:`w = -\pi` (solved by HiGHS after
    a greedy heuristic fails):

    .. math::

        \max \sum_t w_t y_t \ \text{s.t.}\ \sum_s z_s = B_g,\
        y_t \le \sum_{s \ni t} z_s\ (w_t > 0),\ y_t \ge z_s\ (w_t < 0, s \ni t),\
        z \in \{0,1\},\ y \in [0, 1];

        a column improves iff its value exceeds :math:`-\mu_g`. With the gains
        :math:`\gamma_g` (their MILP dual bounds) the LP value is at most the restricted
        value plus :math:`\sum_g \max(0, \gamma_g)` (the Lagrangian bound), which proves
        convergence and prunes a :math:`t^*` as soon as it cannot beat the incumbent. A
        phase 1 (minimise a common slack on the attacker rows) proves a :math:`t^*`
        infeasible the same way. Candidates are visited in decreasing order of a cheap
        bound (the same LP with the schedule polytope relaxed to :math:`0 \le c_t \le 1`,
        :math:`c_t = 0` for targets no schedule covers and :math:`\sum_{t \in g} c_t \le`
        the most targets :math:`B_g` schedules can cover), and skipped when that bound
        cannot beat the incumbent. The column pool is shared by all candidates.

    **Several attacker types: price-and-branch (heuristic with a proven gap).** The
    Bayesian master is ERASER/DOBSS-style with binaries :math:`q_{kt}` (type :math:`k`
    attacks :math:`t`) and big-M rows :math:`d_k \le U^d_k(t, c) + M(1 - q_{kt})`,
    :math:`0 \le e_k - U^a_k(t, c) \le M(1 - q_{kt})`, :math:`\sum_t q_{kt} = 1`,
    objective :math:`\sum_k p_k d_k`. Columns are generated at its LP relaxation (the
    root), the pool is enriched with the exact single-type solutions of every type,
    then the MILP is solved over the pool; up to three times the MILP's attack profile
    is fixed, its LP re-priced, and the MILP re-solved. Branch-and-price is out of
    scope; the upper bound is :math:`\min(\text{root LP bound}, \sum_k p_k\,
    \text{SSE}_k)` (no strategy does better against type :math:`k` than that type's own
    SSE). If that leaves a gap and there are at most 20,000 attack profiles
    (``targets ** types``), the multiple LPs above are run over whole profiles
    :math:`(t^*_1, \dots, t^*_K)` (objective :math:`\sum_k p_k U^d_k(t^*_k, c)`, every
    type's attacker rows), best bound first with the bound
    :math:`\sum_k p_k R_k(t^*_k)` from the per-type relaxations and the incumbent from
    the MILP, which proves or improves it (exact, but exponential in the number of
    types). Otherwise the remaining difference is reported as ``gap``.

    Parameters
    ----------
    sgame
        The schedule game.
    time_limit
        Seconds; when reached, the best strategy found is returned with its proven gap
        (``optimal=False``) instead of raising.
    max_iterations
        Cap on master solves; when reached, behaves like `time_limit`. Default: none.
    seed
        Draws the few random joint schedules that seed the column pool.

    Returns
    -------
    ScheduleEquilibrium
        ``method="schedules-cg"`` (one type) or ``"schedules-price-and-branch"``.

    Raises
    ------
    SolverError
        If HiGHS fails, or a limit is reached before any strategy is found.
    GameError
        If `time_limit` or `max_iterations` is not positive.
    """
    start = time.perf_counter()
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be > 0 seconds, got {time_limit}"
        raise GameError(msg)
    if max_iterations is not None and max_iterations < 1:
        msg = f"`max_iterations` must be >= 1, got {max_iterations}"
        raise GameError(msg)
    rng = as_generator(seed)
    limits = _Limits(start, time_limit, max_iterations)
    pricer = _Pricer(sgame, limits)
    pricer.seed_pool(rng)
    if sgame.game.n_types == 1:
        return _solve_single(sgame, pricer, limits, start)
    return _solve_bayesian(sgame, pricer, limits, start, rng)
