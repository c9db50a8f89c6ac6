"""The result every game solver returns, and an independent check of it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.model.game import SecurityGame

__all__ = ["Equilibrium", "best_responses", "verify_equilibrium"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Equilibrium:
    """A defender strategy with the attacker's response to it.

    Attributes
    ----------
    coverage
        Probability each target is covered, shape (targets,).
    defender_utility
        Defender's expected utility (prior-weighted over attacker types).
    attacked
        Target each attacker type attacks, shape (types,); ``-1`` where the type's
        response is a distribution (quantal response) given in `attack_distribution`.
    attacker_utility
        Each type's expected utility at its response, shape (types,).
    method
        Name of the algorithm that produced the result.
    optimal
        Whether the result is proven optimal (within numerical tolerance).
    gap
        Proven absolute gap in defender utility between this result and the best
        possible (0 when optimal; ``inf`` when nothing is proven).
    seconds
        Wall-clock solve time.
    attack_distribution
        For boundedly rational attackers, each type's probability of attacking each
        target, shape (types, targets); otherwise ``None``.
    """

    coverage: FloatArray
    defender_utility: float
    attacked: IntArray
    attacker_utility: FloatArray
    method: str
    optimal: bool
    gap: float
    seconds: float
    attack_distribution: FloatArray | None = None

    def attack_set(self, game: SecurityGame, *, k: int = 0, tol: float = 1e-7) -> IntArray:
        """Targets between which attacker type `k` is indifferent (its best responses)."""
        ua = game.attacker_payoffs(self.coverage)[k]
        return np.flatnonzero(ua >= ua.max() - tol).astype(np.int64)


def verify_equilibrium(game: SecurityGame, eq: Equilibrium, *, tol: float = 1e-6) -> list[str]:
    """Re-check an equilibrium against its game; return what is wrong (empty if nothing).

    Checks that the coverage is feasible, that each type's attacked target is one of
    its best responses, and that the reported utilities recompute from the payoffs.
    """
    problems: list[str] = []
    c = eq.coverage
    if not game.is_feasible(c, tol=tol):
        problems.append(f"coverage infeasible: group use {game.group_coverage(c).tolist()} "
                        f"vs resources {game.resources.tolist()}, range [{c.min()}, {c.max()}]")
        return problems
    ud = game.defender_payoffs(c)
    ua = game.attacker_payoffs(c)
    if eq.attack_distribution is None:
        total = 0.0
        for k in range(game.n_types):
            t = int(eq.attacked[k])
            if ua[k, t] < ua[k].max() - tol:
                problems.append(f"type {k} attacks {t} with utility {ua[k, t]} but could get "
                                f"{ua[k].max()}")
            if abs(ua[k, t] - eq.attacker_utility[k]) > tol:
                problems.append(f"type {k} attacker utility {eq.attacker_utility[k]} "
                                f"recomputes to {ua[k, t]}")
            total += game.priors[k] * ud[k, t]
    else:
        q = eq.attack_distribution
        total = float(np.sum(game.priors * np.sum(q * ud, axis=1)))
    if abs(total - eq.defender_utility) > tol * max(1.0, abs(total)):
        problems.append(f"defender utility {eq.defender_utility} recomputes to {total}")
    return problems


def best_responses(game: SecurityGame, coverage: FloatArray, *,
                   tol: float = 1e-9) -> tuple[npt.NDArray[np.int64], float]:
    """Each type's best target against `coverage` and the prior-weighted defender utility.

    Ties between a type's best targets are broken in the defender's favour (as in a
    Strong Stackelberg Equilibrium).
    """
    ua = game.attacker_payoffs(coverage)
    ud = game.defender_payoffs(coverage)
    attacked = np.empty(game.n_types, dtype=np.int64)
    for k in range(game.n_types):
        best = np.flatnonzero(ua[k] >= ua[k].max() - tol)
        attacked[k] = best[np.argmax(ud[k, best])]
    value = float(game.priors @ ud[np.arange(game.n_types), attacked])
    return attacked, value
