"""Exact marginal-preserving sampling of team deployments from coverage or mixed strategies."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from citywatch._random import Seed, as_generator
from citywatch.errors import GameError

__all__ = [
    "COVERAGE_TOL",
    "assign_teams",
    "comb_sample",
    "sample_joint_schedules",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Coverage may exceed [0, 1] or its budget by this much (solver round-off) and is then
#: clipped or scaled back; anything further is an error.
COVERAGE_TOL = 1e-6


def _clean_coverage(coverage: npt.ArrayLike, budgets: npt.ArrayLike | None) -> FloatArray:
    """Validate coverage of shape (groups, sites) against integer budgets; trim round-off."""
    c = np.array(coverage, dtype=np.float64)
    if c.ndim == 1:
        c = c[np.newaxis, :]
    if c.ndim != 2 or c.shape[1] == 0:
        msg = f"`coverage` must have shape (groups, sites), got {np.shape(coverage)}"
        raise GameError(msg)
    if not np.all(np.isfinite(c)):
        msg = "`coverage` must be finite"
        raise GameError(msg)
    if c.min() < -COVERAGE_TOL or c.max() > 1 + COVERAGE_TOL:
        msg = f"`coverage` must lie in [0, 1], got values in [{c.min():.6g}, {c.max():.6g}]"
        raise GameError(msg)
    c = np.clip(c, 0.0, 1.0)
    if budgets is not None:
        b = np.atleast_1d(np.asarray(budgets))
        if b.shape != (c.shape[0],) or b.dtype.kind not in "iu" or np.any(b < 0):
            msg = (f"`budgets` must hold one integer >= 0 per group ({c.shape[0]}), "
                   f"got {np.asarray(budgets).tolist()}")
            raise GameError(msg)
        totals = c.sum(axis=1)
        over = np.flatnonzero(totals > b + COVERAGE_TOL)
        if over.size:
            g = int(over[0])
            msg = (f"`coverage` of group {g} sums to {totals[g]:.6g}, more than its budget of "
                   f"{int(b[g])} teams")
            raise GameError(msg)
        scale = np.where(totals > b, b / np.where(totals > 0, totals, 1.0), 1.0)
        c *= scale[:, np.newaxis]
    # A site covered with certainty up to round-off is covered with certainty.
    c[c > 1.0 - 1e-12] = 1.0
    return c


def comb_sample(coverage: npt.ArrayLike, *, budgets: npt.ArrayLike | None = None,
                draws: int = 1, seed: Seed = None) -> BoolArray:
    r"""Sample covered sites so that each site's inclusion probability equals its coverage.

    Systematic ("comb") sampling with a random order, done independently for every
    draw and group. For coverage :math:`p_1, \dots, p_n` of one group (each in
    [0, 1], :math:`\sum_i p_i \le B`), draw a uniformly random permutation
    :math:`\sigma` and lay the probabilities end to end on the line in that order, so
    site :math:`\sigma_j` owns the interval :math:`[F_{j-1}, F_j)` with
    :math:`F_j = \sum_{l \le j} p_{\sigma_l}`. Draw :math:`U \sim \mathcal U[0, 1)`
    and select every site whose interval contains a tooth :math:`U + k` of the comb,
    :math:`k = 0, 1, \dots`. Because each interval is at most 1 long it holds at most
    one tooth, and it holds one with probability exactly its length:
    :math:`P(\text{site } i) = p_i` for every permutation, hence also after averaging
    over them. The number selected is :math:`\lfloor \sum p \rfloor` or
    :math:`\lceil \sum p \rceil \le B`, so the budget holds in every draw (exactly
    :math:`\sum p` teams when it is an integer). The random permutation makes the joint
    distribution depend on no fixed site order, so no pair of sites is always or never
    covered together because of where they sit in a table.

    Sites with coverage 1 are always selected, coverage 0 never.

    Parameters
    ----------
    coverage
        Coverage of each site, shape (sites,) or (groups, sites); a group is a slot.
    budgets
        Integer teams per group; when given, each group's coverage must sum to at most
        its budget (round-off up to `COVERAGE_TOL` is scaled away).
    draws
        Independent samples (days) to draw.
    seed
        ``None`` for OS entropy (operational rosters), an int for reproducible drills.

    Returns
    -------
    numpy.ndarray
        Boolean, shape (draws, groups, sites); ``True`` where a team covers the site.

    Examples
    --------
    >>> x = comb_sample([[0.5, 0.5, 1.0]], budgets=[2], draws=1000, seed=1)
    >>> x.shape, bool(x.sum(axis=2).max() <= 2), bool(x[:, 0, 2].all())
    ((1000, 1, 3), True, True)
    """
    if draws < 0:
        msg = f"`draws` must be >= 0, got {draws}"
        raise GameError(msg)
    c = _clean_coverage(coverage, budgets)
    rng = as_generator(seed)
    n_groups, n_sites = c.shape
    # argsort of uniform keys is a uniformly random permutation per (draw, group) row.
    certain = c >= 1.0
    # Certain sites are taken outright so round-off in the running sum cannot move them.
    comb = np.where(certain, 0.0, c)
    order = np.argsort(rng.random((draws, n_groups, n_sites)), axis=2)
    cum = np.cumsum(np.take_along_axis(np.broadcast_to(comb, order.shape), order, axis=2),
                    axis=2)
    u = rng.random((draws, n_groups, 1))
    teeth = np.floor(cum - u)
    prev = np.concatenate([np.full((draws, n_groups, 1), -1.0), teeth[:, :, :-1]], axis=2)
    hit = teeth > prev
    selected = np.zeros((draws, n_groups, n_sites), dtype=bool)
    np.put_along_axis(selected, order, hit, axis=2)
    selected &= (comb > 0.0)[np.newaxis]
    selected |= certain[np.newaxis]
    return selected


def assign_teams(selected: npt.ArrayLike, teams: npt.ArrayLike, *,
                 seed: Seed = None) -> IntArray:
    """Give each selected site to a different team, uniformly at random.

    Parameters
    ----------
    selected
        Boolean, shape (draws, groups, sites), e.g. from `comb_sample`.
    teams
        Teams available in each group, shape (groups,) or (draws, groups); at least as
        many as the sites selected there.
    seed
        Random source for the matching.

    Returns
    -------
    numpy.ndarray
        Shape (draws, groups, max teams): entry ``[d, g, k]`` is the site given to the
        group's ``k``-th available team, or -1 when it has none (and -1 past the
        group's own team count). Every selected site goes to exactly one team, and
        which team gets which site (and which teams stay free) is uniform.
    """
    sel = np.asarray(selected, dtype=bool)
    if sel.ndim != 3:
        msg = f"`selected` must have shape (draws, groups, sites), got {sel.shape}"
        raise GameError(msg)
    draws, n_groups, n_sites = sel.shape
    t = np.broadcast_to(np.asarray(teams, dtype=np.int64), (draws, n_groups))
    counts = sel.sum(axis=2)
    short = np.argwhere(counts > t)
    if short.size:
        d, g = (int(v) for v in short[0])
        msg = (f"draw {d}, group {g}: {int(counts[d, g])} sites selected but only "
               f"{int(t[d, g])} `teams` available")
        raise GameError(msg)
    rng = as_generator(seed)
    width = int(t.max()) if t.size else 0
    # Selected sites first, in random order.
    keys = np.where(sel, rng.random(sel.shape), 2.0)
    sites = np.argsort(keys, axis=2)[:, :, :width]
    rank = np.arange(width)
    sites = np.where(rank < counts[:, :, np.newaxis], sites, -1).astype(np.int64)
    # A random permutation of each group's own teams decides who gets which.
    team_keys = np.where(rank < t[:, :, np.newaxis], rng.random((draws, n_groups, width)), 2.0)
    perm = np.argsort(team_keys, axis=2)
    out = np.full((draws, n_groups, width), -1, dtype=np.int64)
    np.put_along_axis(out, perm, sites, axis=2)
    return out


def sample_joint_schedules(groups: npt.ArrayLike, probabilities: npt.ArrayLike, *,
                           n_groups: int, draws: int = 1, seed: Seed = None) -> IntArray:
    """Draw one pure strategy per group from a mixed strategy over joint schedules.

    Parameters
    ----------
    groups
        Group of each pure strategy in the support (``ScheduleEquilibrium.joint_groups``).
    probabilities
        Probability of each pure strategy; they sum to 1 within each group.
    n_groups
        Number of groups; a group with no strategy gets -1.
    draws
        Independent draws (days).
    seed
        Random source.

    Returns
    -------
    numpy.ndarray
        Shape (draws, n_groups): index into the support of the strategy drawn.
    """
    g = np.asarray(groups, dtype=np.int64)
    p = np.asarray(probabilities, dtype=np.float64)
    if g.shape != p.shape or g.ndim != 1:
        msg = (f"`groups` and `probabilities` must be vectors of one length, got "
               f"{g.shape} and {p.shape}")
        raise GameError(msg)
    if p.size and (p.min() < -COVERAGE_TOL or not np.all(np.isfinite(p))):
        msg = "`probabilities` must be finite and >= 0"
        raise GameError(msg)
    rng = as_generator(seed)
    out = np.full((draws, n_groups), -1, dtype=np.int64)
    for k in range(n_groups):
        idx = np.flatnonzero(g == k)
        if idx.size == 0:
            continue
        w = np.clip(p[idx], 0.0, None)
        total = w.sum()
        if abs(total - 1.0) > COVERAGE_TOL:
            msg = f"`probabilities` of group {k} must sum to 1, got {total:.6g}"
            raise GameError(msg)
        cdf = np.cumsum(w / total)
        cdf[-1] = 1.0
        out[:, k] = idx[np.searchsorted(cdf, rng.random(draws), side="right")]
    return out
