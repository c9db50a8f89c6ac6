"""Spend teams an equilibrium leaves unused without changing what it guarantees."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from citywatch.model.game import SecurityGame

__all__ = ["fill_by_demand", "spend_leftover"]

FloatArray = npt.NDArray[np.float64]


def spend_leftover(game: SecurityGame, coverage: npt.ArrayLike, attacked: npt.ArrayLike, *,
                   iterations: int = 100) -> FloatArray:
    """Put each group's unused budget on targets no attacker type attacks.

    Adding coverage to a target lowers every type's attacker utility there and leaves
    the attacked targets as they are, so each type's attacked target stays a best
    response and the defender's equilibrium utility is unchanged; against an attacker
    who errs or ties unfavourably the extra coverage can only help. (Operationally:
    every team on duty deploys.)

    The budget is water-filled on the prior-weighted attacker utility: the most
    attractive remaining targets are covered first, down to a common level, never
    above 1. Whatever still remains goes to targets covering cannot make less
    attractive.
    """
    c = np.array(coverage, dtype=np.float64)
    hit = np.zeros(game.n_targets, dtype=bool)
    hit[np.asarray(attacked, dtype=np.int64)] = True
    au = game.priors @ game.attacker_uncovered
    ac = game.priors @ game.attacker_covered
    delta = au - ac
    for g in range(game.n_groups):
        idx = np.flatnonzero((game.groups == g) & ~hit)
        spare = float(game.resources[g] - c[game.groups == g].sum())
        if idx.size == 0 or spare <= 1e-12:
            continue
        sloped = idx[delta[idx] > 1e-12]
        if sloped.size:
            now = au[sloped] - delta[sloped] * c[sloped]   # current attacker utility

            def extra(level: float, s: npt.NDArray[np.intp] = sloped) -> FloatArray:
                want = np.clip((au[s] - level) / delta[s], 0.0, 1.0)
                return np.asarray(np.maximum(want - c[s], 0.0), dtype=np.float64)

            lo, hi = float((au[sloped] - delta[sloped]).min()), float(now.max())
            if extra(lo).sum() <= spare:
                add = extra(lo)
            else:
                for _ in range(iterations):
                    mid = 0.5 * (lo + hi)
                    if extra(mid).sum() > spare:
                        lo = mid
                    else:
                        hi = mid
                add = extra(hi)
            c[sloped] += add
            spare -= float(add.sum())
        flat = idx[delta[idx] <= 1e-12]
        for t in flat:
            if spare <= 1e-12:
                break
            step = min(1.0 - c[t], spare)
            c[t] += step
            spare -= step
    return np.clip(c, 0.0, 1.0)


def fill_by_demand(game: SecurityGame, coverage: npt.ArrayLike, attacked: npt.ArrayLike, *,
                   demand: npt.ArrayLike, iterations: int = 200) -> FloatArray:
    """Put each group's unused budget on unattacked targets in proportion to `demand`.

    The stated filler rule: in each group (slot), the spare budget goes to the targets
    no attacker type attacks, each getting ``min(1 − c_t, κ · demand_t)`` more with one
    ``κ`` per group (water filling: proportional to demand, none above coverage one);
    what the targets with demand cannot absorb is left unused. Extra coverage where no
    type attacks lowers the attacker's utility only there, so every type's attacked
    target stays a best response and the defender's utility is unchanged.

    Parameters
    ----------
    game
        The game.
    coverage
        The equilibrium coverage, shape (targets,).
    attacked
        Each type's attacked target.
    demand
        Weight of each target, e.g. the people present, shape (targets,), >= 0.
    iterations
        Bisection steps for ``κ`` (each halves the bracket).
    """
    c = np.array(coverage, dtype=np.float64)
    d = np.asarray(demand, dtype=np.float64)
    if d.shape != c.shape or np.any(~np.isfinite(d)) or np.any(d < 0):
        msg = f"`demand` must be finite and >= 0 with shape {c.shape}, got shape {d.shape}"
        raise ValueError(msg)
    hit = np.zeros(game.n_targets, dtype=bool)
    hit[np.asarray(attacked, dtype=np.int64)] = True
    for g in range(game.n_groups):
        in_group = game.groups == g
        idx = np.flatnonzero(in_group & ~hit & (d > 0))
        spare = float(game.resources[g] - c[in_group].sum())
        if idx.size == 0 or spare <= 1e-12 * max(1.0, float(game.resources[g])):
            continue
        room = 1.0 - c[idx]
        if room.sum() <= spare:
            c[idx] = 1.0
            continue
        lo, hi = 0.0, float(np.max(room / d[idx]))
        for _ in range(iterations):
            mid = 0.5 * (lo + hi)
            if np.minimum(room, mid * d[idx]).sum() > spare:
                hi = mid
            else:
                lo = mid
        c[idx] += np.minimum(room, lo * d[idx])
    return np.clip(c, 0.0, 1.0)
