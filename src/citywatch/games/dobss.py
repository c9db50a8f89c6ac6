"""DOBSS: the Bayesian Stackelberg MILP over the defender's pure strategies, as ARMOR ran it."""

from __future__ import annotations

import itertools
import math
import time

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.errors import GameError, SolverError
from citywatch.games._lp_model import _Model, _solve_milp
from citywatch.games.bayesian_profiles import _attack_bounds, _evaluate, _minimax_coverage
from citywatch.games.equilibrium import Equilibrium
from citywatch.model.game import SecurityGame

__all__ = ["pure_strategies", "solve_dobss"]

BoolArray = npt.NDArray[np.bool_]


def pure_strategies(game: SecurityGame, *, max_pure_strategies: int = 100_000) -> BoolArray:
    """Every pure defender assignment: which targets each group's teams cover.

    Group ``g``'s ``resources[g]`` teams cover at most that many distinct targets of
    the group, so there are ``prod(sum(comb(n_g, s) for s <= resources[g]))``
    assignments. Leaving a team idle must be allowed: the coverage representation
    only asks ``sum(c_t for t in g) <= resources[g]``, and a Stackelberg defender can
    gain from covering less (more coverage can move an attacker to a target worse for
    the defender), so exact-size assignments alone would lose those equilibria.

    Returns
    -------
    numpy.ndarray
        Boolean, shape (strategies, targets): row ``i`` marks the targets strategy
        ``i`` covers.

    Raises
    ------
    GameError
        If there are more than `max_pure_strategies` of them.
    """
    sizes = np.bincount(game.groups, minlength=game.n_groups)
    count = math.prod(sum(math.comb(int(n), s) for s in range(int(b) + 1))
                      for n, b in zip(sizes, game.resources, strict=True))
    if count > max_pure_strategies:
        msg = (f"the normal form has {count} pure defender strategies, more than "
               f"`max_pure_strategies` = {max_pure_strategies}; use solve_bayesian")
        raise GameError(msg)
    per_group = []
    for g in range(game.n_groups):
        members = np.flatnonzero(game.groups == g)
        per_group.append([combo for size in range(int(game.resources[g]) + 1)
                          for combo in itertools.combinations(members.tolist(), size)])
    covers = np.zeros((count, game.n_targets), dtype=bool)
    for i, choice in enumerate(itertools.product(*per_group)):
        for targets in choice:
            covers[i, list(targets)] = True
    return covers


def solve_dobss(game: SecurityGame, *, time_limit: float | None = None,
                max_pure_strategies: int = 100_000) -> Equilibrium:
    r"""Bayesian Strong Stackelberg equilibrium by DOBSS on the normal form.

    DOBSS (Paruchuri et al., AAMAS 2008), the MILP behind ARMOR. With pure defender
    strategies :math:`i` (every way of covering at most ``resources[g]`` targets of each group, see
    :func:`pure_strategies`), defender and attacker payoffs
    :math:`R^l_{ij}, C^l_{ij}` when type :math:`l` attacks target :math:`j` against
    strategy :math:`i`, prior :math:`p^l`, and :math:`x_i = \sum_j z^l_{ij}` the mixed
    strategy (the same for every type):

    .. math::

        \max \sum_{l,i,j} p^l R^l_{ij} z^l_{ij} \quad\text{s.t.}\quad
        \sum_{i,j} z^l_{ij} = 1,\;
        q^l_j \le \sum_i z^l_{ij} \le 1,\;
        \sum_j q^l_j = 1,\;
        \sum_j z^l_{ij} = x_i,\;
        0 \le a^l - \sum_i C^l_{ij} x_i \le (1 - q^l_j) M,

    with :math:`z \ge 0`, :math:`q^l_j \in \{0, 1\}` and :math:`M` the span of the
    attacker's payoffs. The paper substitutes :math:`\sum_h z^l_{ih}` for :math:`x_i`;
    making :math:`x` a column keeps the matrix sparse. The result is returned as
    marginal coverage :math:`c_t = \sum_{i \ni t} x_i`, with each type's best response
    recomputed from it (ties within 1e-8 broken for the defender).

    This is the textbook reference: exponential in the teams, it is for small games
    and for checking :func:`~citywatch.games.bayesian.solve_bayesian`.

    Parameters
    ----------
    game
        The security game.
    time_limit
        Wall-clock seconds for HiGHS; on expiry the best strategy found is returned
        with ``optimal=False`` and its proven gap.
    max_pure_strategies
        Refuse games with more pure defender strategies than this.

    Raises
    ------
    GameError
        If the normal form is too large or `time_limit` is not positive.
    SolverError
        If HiGHS stops short of optimality and no `time_limit` was given.
    """
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be > 0 seconds, got {time_limit}"
        raise GameError(msg)
    start = time.perf_counter()
    covers = pure_strategies(game, max_pure_strategies=max_pure_strategies)
    n_x, n_t = covers.shape
    n_l = game.n_types
    cov = covers.astype(np.float64)
    # columns: x (X) | z^l (X*T per type) | q^l (T per type) | a^l (1 per type)
    x_idx = np.arange(n_x)
    z_idx = n_x + np.arange(n_l * n_x * n_t).reshape(n_l, n_x, n_t)
    q_idx = n_x + n_l * n_x * n_t + np.arange(n_l * n_t).reshape(n_l, n_t)
    a_idx = n_x + n_l * n_x * n_t + n_l * n_t + np.arange(n_l)
    n_cols = a_idx[-1] + 1
    attacker = np.stack([game.attacker_covered, game.attacker_uncovered])
    big_m = max(1.0, float(attacker.max() - attacker.min()))

    rows: list[npt.NDArray[np.int64]] = []
    cols: list[npt.NDArray[np.int64]] = []
    vals: list[npt.NDArray[np.float64]] = []
    lower: list[npt.NDArray[np.float64]] = []
    upper: list[npt.NDArray[np.float64]] = []
    n_rows = 0

    def add(r: npt.ArrayLike, c: npt.ArrayLike, v: npt.ArrayLike) -> None:
        r_, c_ = np.broadcast_arrays(np.asarray(r), np.asarray(c))
        rows.append(r_.ravel())
        cols.append(c_.ravel())
        vals.append(np.broadcast_to(np.asarray(v, dtype=np.float64), r_.shape).ravel())

    cost = np.zeros(n_cols)
    ii, jj = np.meshgrid(np.arange(n_x), np.arange(n_t), indexing="ij")
    for l_ in range(n_l):
        r_pay = np.where(covers, game.defender_covered[l_], game.defender_uncovered[l_])
        c_pay = np.where(covers, game.attacker_covered[l_], game.attacker_uncovered[l_])
        cost[z_idx[l_]] = game.priors[l_] * r_pay
        # sum_ij z = 1
        add(n_rows, z_idx[l_], 1.0)
        lower.append(np.ones(1))
        upper.append(np.ones(1))
        n_rows += 1
        # sum_j z_ij - x_i = 0
        add(n_rows + ii, z_idx[l_], 1.0)
        add(n_rows + x_idx, x_idx, -1.0)
        lower.append(np.zeros(n_x))
        upper.append(np.zeros(n_x))
        n_rows += n_x
        # q_j <= sum_i z_ij <= 1
        add(n_rows + jj, z_idx[l_], 1.0)
        add(n_rows + np.arange(n_t), q_idx[l_], -1.0)
        lower.append(np.zeros(n_t))
        upper.append(np.ones(n_t))
        n_rows += n_t
        # sum_j q_j = 1
        add(n_rows, q_idx[l_], 1.0)
        lower.append(np.ones(1))
        upper.append(np.ones(1))
        n_rows += 1
        # 0 <= a - sum_i C_ij x_i  and  a - sum_i C_ij x_i + M q_j <= M
        for with_q in (False, True):
            add(n_rows + np.arange(n_t), a_idx[l_], 1.0)
            add(n_rows + jj, x_idx[ii], -c_pay)
            if with_q:
                add(n_rows + np.arange(n_t), q_idx[l_], big_m)
                lower.append(np.full(n_t, -np.inf))
                upper.append(np.full(n_t, big_m))
            else:
                lower.append(np.zeros(n_t))
                upper.append(np.full(n_t, np.inf))
            n_rows += n_t
    matrix = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                           shape=(n_rows, n_cols))
    col_lower = np.zeros(n_cols)
    col_lower[a_idx] = -np.inf
    col_upper = np.ones(n_cols)
    col_upper[a_idx] = np.inf
    integer = np.zeros(n_cols, dtype=bool)
    integer[q_idx.ravel()] = True
    model = _Model(cost=cost, matrix=matrix, row_lower=np.concatenate(lower),
                   row_upper=np.concatenate(upper), col_lower=col_lower, col_upper=col_upper,
                   integer=integer)
    remaining = None if time_limit is None else max(time_limit - (time.perf_counter() - start),
                                                    1e-3)
    result = _solve_milp(model, time_limit=remaining, initial=None)
    if result.status != "optimal" and (time_limit is None or result.status != "time limit"):
        msg = f"HiGHS stopped on the DOBSS MILP with status {result.status}"
        raise SolverError(msg)

    if result.x is not None:
        x = np.clip(result.x[x_idx], 0.0, None)
        coverage = np.clip(x @ cov / max(x.sum(), 1e-300), 0.0, 1.0)
    else:
        coverage = _minimax_coverage(game, _attack_bounds(game), game.priors)
    best = _evaluate(game, coverage)
    optimal = result.status == "optimal"
    types = np.arange(n_l)
    return Equilibrium(
        coverage=best.coverage,
        defender_utility=best.value,
        attacked=best.attacked,
        attacker_utility=game.attacker_payoffs(best.coverage)[types, best.attacked],
        method="dobss",
        optimal=optimal,
        gap=0.0 if optimal else max(0.0, result.bound - best.value),
        seconds=time.perf_counter() - start,
    )
