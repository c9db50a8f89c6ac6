"""The result every game solver returns, and an independent check of it."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.model.game import SecurityGame

__all__ = ["Equilibrium", "Normalised", "best_responses", "normalise", "payoff_spans",
           "relative_gap", "verify_equilibrium"]

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
    bound_source
        What proved the bound behind `gap` (e.g. ``"level branch and bound"``,
        ``"HiGHS dual bound"``, ``"sum of single-type SSEs"``); empty if not reported.
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
    bound_source: str = ""

    @property
    def relative_gap(self) -> float:
        """`gap` relative to the defender's utility (see :func:`relative_gap`)."""
        return relative_gap(self.gap, self.defender_utility)

    def attack_set(self, game: SecurityGame, *, k: int = 0, tol: float = 1e-7) -> IntArray:
        """Targets between which attacker type `k` is indifferent (its best responses).

        `tol` is relative to the type's attacker payoff span.
        """
        ua = game.attacker_payoffs(self.coverage)[k]
        span = payoff_spans(game)[0][k]
        return np.flatnonzero(ua >= ua.max() - tol * span).astype(np.int64)


def relative_gap(gap: float, value: float) -> float:
    """``gap / |value|`` (``inf`` for a positive gap at value 0; 0 for no gap)."""
    if gap <= 0.0:
        return 0.0
    return gap / abs(value) if value != 0.0 else float("inf")


def payoff_spans(game: SecurityGame) -> tuple[FloatArray, float]:
    """Each type's attacker payoff span (K,) and the defender's span over all types.

    Spans are ``max - min`` over covered and uncovered payoffs, floored at the smallest
    positive float so they can divide. Every tolerance on utilities in games/ is a
    multiple of these, so a game and the same game with payoffs scaled by any positive
    factor get the same answer.
    """
    tiny = float(np.finfo(np.float64).tiny)
    att = np.maximum(game.attacker_uncovered.max(axis=1) - game.attacker_covered.min(axis=1),
                     tiny)
    dfd = max(float(game.defender_covered.max() - game.defender_uncovered.min()), tiny)
    return att.astype(np.float64), dfd


@dataclass(frozen=True, eq=False)
class Normalised:
    """A game with payoffs mapped affinely to spans of 1, and the map back.

    Attacker type ``k``'s payoffs become ``(A - min_k A^c) / span_k`` (best responses
    are unchanged by a positive affine map per type); the defender's become
    ``(D - shift) / scale`` for all types at once, so a defender utility ``u`` of the
    normalised game is ``shift + scale * u`` in the original.
    """

    game: SecurityGame
    shift: float
    scale: float

    def utility(self, u: float) -> float:
        """A defender utility of the normalised game in the original's units."""
        return self.shift + self.scale * u


def normalise(game: SecurityGame) -> Normalised:
    """The game with every player's payoffs spanning [0, 1] (see :class:`Normalised`)."""
    att, dfd = payoff_spans(game)
    low = game.attacker_covered.min(axis=1, keepdims=True)
    shift = float(game.defender_uncovered.min())
    norm = SecurityGame(
        (game.defender_covered - shift) / dfd, (game.defender_uncovered - shift) / dfd,
        (game.attacker_covered - low) / att[:, None],
        (game.attacker_uncovered - low) / att[:, None],
        resources=game.resources, groups=game.groups, priors=game.priors,
        target_labels=game.target_labels, type_names=game.type_names,
        group_labels=game.group_labels)
    return Normalised(game=norm, shift=shift, scale=dfd)


def verify_equilibrium(game: SecurityGame, eq: Equilibrium, *, tol: float = 1e-6) -> list[str]:
    """Re-check an equilibrium against its game; return what is wrong (empty if nothing).

    Checks that the coverage is feasible (within `tol`), that each type's attacked
    target is one of its best responses, and that the reported utilities recompute from
    the payoffs (within `tol` times that player's payoff span: scale-free).
    """
    problems: list[str] = []
    att_span, def_span = payoff_spans(game)
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
            if ua[k, t] < ua[k].max() - tol * att_span[k]:
                problems.append(f"type {k} attacks {t} with utility {ua[k, t]} but could get "
                                f"{ua[k].max()}")
            if abs(ua[k, t] - eq.attacker_utility[k]) > tol * att_span[k]:
                problems.append(f"type {k} attacker utility {eq.attacker_utility[k]} "
                                f"recomputes to {ua[k, t]}")
            total += game.priors[k] * ud[k, t]
    else:
        q = eq.attack_distribution
        total = float(np.sum(game.priors * np.sum(q * ud, axis=1)))
    if abs(total - eq.defender_utility) > tol * def_span:
        problems.append(f"defender utility {eq.defender_utility} recomputes to {total}")
    return problems


def best_responses(game: SecurityGame, coverage: FloatArray, *,
                   tol: float = 1e-9) -> tuple[npt.NDArray[np.int64], float]:
    """Each type's best target against `coverage` and the prior-weighted defender utility.

    Ties between a type's best targets (utilities within `tol` times the type's attacker
    payoff span) are broken in the defender's favour (as in a Strong Stackelberg
    Equilibrium).
    """
    ua = game.attacker_payoffs(coverage)
    ud = game.defender_payoffs(coverage)
    span = payoff_spans(game)[0]
    attacked = np.empty(game.n_types, dtype=np.int64)
    for k in range(game.n_types):
        best = np.flatnonzero(ua[k] >= ua[k].max() - tol * span[k])
        attacked[k] = best[np.argmax(ud[k, best])]
    value = float(game.priors @ ud[np.arange(game.n_types), attacked])
    return attacked, value
