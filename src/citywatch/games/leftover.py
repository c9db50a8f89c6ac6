"""Spend teams an equilibrium leaves unused without changing what it guarantees."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from citywatch.model.game import SecurityGame

__all__ = ["spend_leftover"]

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
