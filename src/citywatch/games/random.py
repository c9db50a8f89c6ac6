"""Random security games from the generators used in the literature, for tests and benchmarks."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from citywatch._random import Seed, as_generator
from citywatch.errors import GameError
from citywatch.model.game import SecurityGame

__all__ = ["GENERATORS", "random_game"]

GENERATORS = ("uniform", "covariance")


def random_game(
    *,
    targets: int,
    types: int = 1,
    resources: int | Sequence[int],
    groups: int = 1,
    generator: str = "uniform",
    covariance: float = 0.0,
    seed: Seed = None,
) -> SecurityGame:
    r"""Draw a random security game.

    ``"uniform"`` (Kiekintveld et al. 2009; Jain et al. 2010): independently for each
    type and target, defender covered :math:`U[0, 10]`, defender uncovered
    :math:`U[-10, 0]`, attacker covered :math:`U[-10, 0]`, attacker uncovered
    :math:`U[0, 10]`.

    ``"covariance"`` (the covariant games of Jain et al. and GAMUT): the defender's
    payoffs are drawn as above and the attacker's are the mixture

    .. math::

        U^a = (1 - r)\, U^a_{\text{indep}} - r\, U^d, \qquad r = -\text{covariance},

    of an independent uniform draw and the negated defender payoffs, so
    ``covariance = 0`` is the uniform generator and ``covariance = -1`` is zero-sum.
    (`covariance` is the mixing weight; the Pearson correlation it induces is
    :math:`-r / \sqrt{r^2 + (1 - r)^2}`.) Both keep every payoff in
    :math:`[-10, 10]` with covering good for the defender and bad for the attacker.

    Targets are assigned round-robin to `groups` budget groups (target ``t`` to group
    ``t % groups``); attacker types have uniform priors.

    Parameters
    ----------
    targets
        Number of targets, >= 1.
    types
        Number of attacker types, >= 1.
    resources
        Teams per group: one int for every group, or one per group.
    groups
        Number of budget groups, 1..`targets`.
    generator
        ``"uniform"`` or ``"covariance"``.
    covariance
        In [-1, 0]; only with ``generator="covariance"``.
    seed
        Seed or generator; ``None`` draws fresh entropy.

    Raises
    ------
    GameError
        For counts out of range, an unknown `generator`, a `covariance` outside
        [-1, 0] or given to the uniform generator, or `resources` of the wrong length
        or larger than a group.
    """
    if not isinstance(targets, int | np.integer) or targets < 1:
        msg = f"`targets` must be an int >= 1, got {targets!r}"
        raise GameError(msg)
    if not isinstance(types, int | np.integer) or types < 1:
        msg = f"`types` must be an int >= 1, got {types!r}"
        raise GameError(msg)
    if not isinstance(groups, int | np.integer) or not 1 <= groups <= targets:
        msg = f"`groups` must be an int in 1..{targets} (`targets`), got {groups!r}"
        raise GameError(msg)
    if generator not in GENERATORS:
        msg = f"`generator` must be one of {GENERATORS}, got {generator!r}"
        raise GameError(msg)
    if not -1.0 <= covariance <= 0.0:
        msg = f"`covariance` must lie in [-1, 0], got {covariance}"
        raise GameError(msg)
    if generator == "uniform" and covariance != 0.0:
        msg = (f"`covariance` = {covariance} needs generator='covariance'; "
               f"the uniform generator has covariance 0")
        raise GameError(msg)
    budget = np.asarray(resources)
    if budget.ndim == 0:
        budget = np.full(groups, budget)
    if budget.shape != (groups,) or budget.dtype.kind not in "iu":
        msg = f"`resources` must be an int or {groups} ints (one per group), got {resources!r}"
        raise GameError(msg)

    rng = as_generator(seed)
    shape = (types, targets)
    defender_covered = rng.uniform(0.0, 10.0, shape)
    defender_uncovered = rng.uniform(-10.0, 0.0, shape)
    attacker_covered = rng.uniform(-10.0, 0.0, shape)
    attacker_uncovered = rng.uniform(0.0, 10.0, shape)
    if generator == "covariance":
        r = -covariance
        attacker_covered = (1.0 - r) * attacker_covered - r * defender_covered
        attacker_uncovered = (1.0 - r) * attacker_uncovered - r * defender_uncovered
    return SecurityGame(
        defender_covered, defender_uncovered, attacker_covered, attacker_uncovered,
        resources=budget.astype(np.int64), groups=np.arange(targets, dtype=np.int64) % groups,
    )
