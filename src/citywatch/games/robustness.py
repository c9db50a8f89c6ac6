"""How much a coverage loses if the attacker errs or the payoffs are off."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError
from citywatch.games.equilibrium import best_responses
from citywatch.model.game import SecurityGame

__all__ = ["RobustnessReport", "robustness_report"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class RobustnessReport:
    """Defender utility of one coverage under attacker error and payoff uncertainty.

    Attributes
    ----------
    nominal
        Prior-weighted defender utility when every type best-responds (ties broken in
        the defender's favour, as in a Strong Stackelberg Equilibrium).
    epsilon
        Attacker error in utility units considered.
    epsilon_worst
        Worst defender utility when each type may attack any target within `epsilon`
        of its best (ε-optimal responses).
    interval
        Half-width of the payoff uncertainty considered.
    interval_worst
        Worst defender utility when every payoff may be off by up to `interval`: the
        attacker may pick any target whose best-case utility reaches the best
        worst-case utility, and the defender's payoffs are at their lower ends.
    per_type_epsilon_worst, per_type_interval_worst
        The same, per attacker type.
    """

    nominal: float
    epsilon: float
    epsilon_worst: float
    interval: float
    interval_worst: float
    per_type_epsilon_worst: tuple[float, ...]
    per_type_interval_worst: tuple[float, ...]

    @property
    def epsilon_loss(self) -> float:
        """Utility lost to ε-attacker error."""
        return self.nominal - self.epsilon_worst

    @property
    def interval_loss(self) -> float:
        """Utility lost to payoff uncertainty."""
        return self.nominal - self.interval_worst


def robustness_report(game: SecurityGame, coverage: npt.ArrayLike, *, epsilon: float = 0.0,
                      interval: float = 0.0, tol: float = 1e-9) -> RobustnessReport:
    """Evaluate `coverage` against an attacker off by `epsilon` and payoffs off by `interval`.

    For type *k*, with attacker utilities ``U_a`` and defender utilities ``U_d`` at the
    coverage:

    * ε-error: ``min { U_d[t] : U_a[t] >= max U_a − ε }``;
    * payoff interval ``δ`` (every payoff within ±δ, so every expected utility within
      ±δ since it is a convex combination): the attacker's choice set is
      ``{ t : U_a[t] + δ >= max (U_a − δ) }`` and the defender gets ``U_d[t] − δ`` at worst.

    With ``ε = δ = 0`` the worst case is the worst of the attacker's exact best
    responses: the gap to `nominal` is what the Strong Stackelberg Equilibrium's
    tie-breaking in the defender's favour is worth (a planner should keep it small, e.g.
    by solving with a small safety margin).
    """
    c = np.asarray(coverage, dtype=np.float64)
    if not game.is_feasible(c):
        msg = "`coverage` must lie in [0, 1] and respect every group's budget"
        raise GameError(msg)
    for name, value in (("epsilon", epsilon), ("interval", interval)):
        if not np.isfinite(value) or value < 0:
            msg = f"`{name}` must be a finite number >= 0, got {value}"
            raise GameError(msg)
    ua = game.attacker_payoffs(c)
    ud = game.defender_payoffs(c)
    _, nominal = best_responses(game, c, tol=tol)
    eps_worst, int_worst = [], []
    for k in range(game.n_types):
        best = ua[k].max()
        eps_worst.append(float(ud[k][ua[k] >= best - epsilon - tol].min()))
        choice = ua[k] + interval >= best - interval - tol
        int_worst.append(float((ud[k][choice] - interval).min()))
    p = game.priors
    return RobustnessReport(
        nominal=nominal, epsilon=epsilon, epsilon_worst=float(p @ eps_worst),
        interval=interval, interval_worst=float(p @ int_worst),
        per_type_epsilon_worst=tuple(eps_worst), per_type_interval_worst=tuple(int_worst))
