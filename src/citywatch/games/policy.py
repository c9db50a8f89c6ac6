"""Policy constraints on coverage, and what each binding one costs.

Planners constrain the randomised plan for reasons outside the game: proportionality
between boroughs (no community over-exposed to armed presence, none left without),
caps on visible armed teams at one site (public reassurance), required minimum
coverage of named sites. Each is a linear constraint ``lower <= Σ_t w_t c_t <= upper``
on the coverage; `solve_with_policy` solves the Strong Stackelberg Equilibrium under
them and reports each binding constraint's shadow price and its cost in expected loss.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._highs import run_highs
from citywatch.errors import GameError, InfeasibleError, SolverError
from citywatch.games.equilibrium import Equilibrium
from citywatch.games.multiple_lp import attack_lp, best_candidate
from citywatch.model.game import SecurityGame

__all__ = [
    "BindingConstraint",
    "LinearConstraint",
    "PolicyEquilibrium",
    "constraint_matrix",
    "coverage_cap",
    "coverage_floor",
    "group_bounds",
    "solve_with_policy",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
# A constraint is binding when its activity is within this of its bound (relative).
_TOL = 1e-7
# Targets whose uncovered attacker utility is this close (relative to the attacker's
# payoff range) to the least level the policy allows stay candidates.
_LEVEL_TOL = 1e-9


@dataclass(frozen=True, eq=False)
class LinearConstraint:
    """``lower <= Σ_i weights[i] · c[targets[i]] <= upper``, with a name for reports.

    Constraints of one `family` (default: the name) are costed together: "site caps"
    may be hundreds of rows, and what a planner asks is what the caps cost.
    """

    name: str
    targets: IntArray
    weights: FloatArray | None = None
    lower: float = -math.inf
    upper: float = math.inf
    family: str | None = None

    def __post_init__(self) -> None:
        t = np.asarray(self.targets, dtype=np.int64).reshape(-1)
        w = (np.ones(t.size) if self.weights is None
             else np.asarray(self.weights, dtype=np.float64).reshape(-1))
        if w.shape != t.shape:
            msg = f"constraint {self.name!r}: `weights` must match `targets` ({t.size}), " \
                  f"got {w.size}"
            raise GameError(msg)
        if not np.all(np.isfinite(w)):
            msg = f"constraint {self.name!r}: `weights` must be finite"
            raise GameError(msg)
        if math.isnan(self.lower) or math.isnan(self.upper) or self.lower > self.upper:
            msg = (f"constraint {self.name!r}: need `lower` <= `upper`, got {self.lower} > "
                   f"{self.upper}")
            raise GameError(msg)
        object.__setattr__(self, "targets", t)
        object.__setattr__(self, "weights", w)
        if self.family is None:
            object.__setattr__(self, "family", self.name)


def coverage_floor(name: str, targets: Sequence[int], minimum: float) -> LinearConstraint:
    """Each listed target covered at least `minimum` (a required site)."""
    return _per_target(name, targets, lower=minimum)


def coverage_cap(name: str, targets: Sequence[int], maximum: float) -> LinearConstraint:
    """Each listed target covered at most `maximum` (a cap on visible armed presence)."""
    return _per_target(name, targets, upper=maximum)


def _per_target(name: str, targets: Sequence[int], *, lower: float = -math.inf,
                upper: float = math.inf) -> LinearConstraint:
    # a constraint per target reads as one in reports; encode as a block with a suffix
    t = np.asarray(targets, dtype=np.int64)
    if t.size != 1:
        msg = f"`targets` of {name!r} must hold one target; use group_bounds for sums"
        raise GameError(msg)
    return LinearConstraint(name, t, lower=lower, upper=upper)


def group_bounds(name: str, targets: Sequence[int], *, lower: float = -math.inf,
                 upper: float = math.inf) -> LinearConstraint:
    """Total coverage (expected teams) over `targets` between `lower` and `upper`.

    For a borough in a slot this bounds the expected number of armed teams there.
    """
    return LinearConstraint(name, np.asarray(targets, dtype=np.int64), lower=lower,
                            upper=upper)


@dataclass(frozen=True)
class BindingConstraint:
    """A constraint that holds at equality in the solution.

    ``shadow_price`` is the marginal gain in defender utility per unit the bound is
    relaxed (from the LP's duals, at the attacked target found).
    """

    name: str
    family: str
    side: str
    bound: float
    shadow_price: float


@dataclass(frozen=True, eq=False)
class PolicyEquilibrium:
    """The equilibrium under policy constraints, with what binds and what it costs.

    ``costs`` maps each family with a binding constraint to the defender utility
    regained by dropping the whole family and re-solving exactly (so it counts a
    change of attacked target too).
    """

    equilibrium: Equilibrium
    unconstrained_utility: float
    binding: tuple[BindingConstraint, ...]
    costs: dict[str, float]

    @property
    def total_cost(self) -> float:
        """Defender utility the whole policy costs against the unconstrained plan."""
        return self.unconstrained_utility - self.equilibrium.defender_utility


def constraint_matrix(constraints: Sequence[LinearConstraint], n_targets: int
                      ) -> tuple[sp.csc_array, FloatArray, FloatArray]:
    """Rows ``lower <= A @ c <= upper`` of `constraints` over `n_targets` coverage columns."""
    rows, cols, vals = [], [], []
    for j, con in enumerate(constraints):
        if con.targets.size and (con.targets.min() < 0 or con.targets.max() >= n_targets):
            msg = f"constraint {con.name!r}: `targets` must lie in 0..{n_targets - 1}"
            raise GameError(msg)
        rows.append(np.full(con.targets.size, j))
        cols.append(con.targets)
        vals.append(np.asarray(con.weights, dtype=np.float64))
    matrix = sp.csc_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(len(constraints), n_targets))
    return (matrix, np.array([c.lower for c in constraints], dtype=np.float64),
            np.array([c.upper for c in constraints], dtype=np.float64))


def _solve(game: SecurityGame, constraints: Sequence[LinearConstraint],
           ) -> tuple[Equilibrium, FloatArray | None, FloatArray | None]:
    """Multiple LPs with side constraints; returns the equilibrium, row activities, duals."""
    start = time.perf_counter()
    au, ac = game.attacker_uncovered[0], game.attacker_covered[0]
    dc, du = game.defender_covered[0], game.defender_uncovered[0]
    n, n_groups = game.n_targets, game.n_groups
    extra = constraint_matrix(constraints, n) if constraints else None
    h = attack_lp(game, extra=None if extra is None else extra[0],
                  extra_lower=[] if extra is None else extra[1],
                  extra_upper=[] if extra is None else extra[2])
    # The least attacker level the policy allows: every target's attacker utility must
    # stay at or below the attacked one's, so only targets whose uncovered utility
    # reaches this level can be attacked, and each one's coverage (hence the defender's
    # value) is bounded by reaching exactly this level.
    h.changeColCost(n, 1.0)
    h.changeObjectiveSense(highspy.ObjSense.kMinimize)
    try:
        level = run_highs(h, what="policy minimum attacker level LP").objective
    except InfeasibleError:
        msg = "the policy constraints leave no feasible coverage within the budgets; relax " \
              "a floor or a cap"
        raise InfeasibleError(msg) from None
    h.changeColCost(n, 0.0)
    h.changeObjectiveSense(highspy.ObjSense.kMaximize)
    delta_a = au - ac
    with np.errstate(divide="ignore", invalid="ignore"):
        reach = np.where(delta_a > 0, np.clip((au - level) / delta_a, 0.0, 1.0), 1.0)
    bound = du + (dc - du) * reach
    span = max(float(np.ptp(au)), float(np.max(delta_a)), np.finfo(float).tiny)
    candidates = np.flatnonzero(au >= level - _LEVEL_TOL * span)
    found = best_candidate(game, h, candidates, bound)
    if found.result is None:
        msg = "the policy constraints leave no feasible coverage (no target can be attacked " \
              "under them); relax a floor or a cap"
        raise InfeasibleError(msg)
    best, best_t = found.result, found.target
    c = np.clip(best.x[:n], 0.0, 1.0)
    ua, ud = game.attacker_payoffs(c)[0], game.defender_payoffs(c)[0]
    eq = Equilibrium(coverage=c, defender_utility=float(ud[best_t]),
                     attacked=np.array([best_t], dtype=np.int64),
                     attacker_utility=np.array([ua[best_t]]), method="multiple-lps-policy",
                     optimal=True, gap=0.0, seconds=time.perf_counter() - start)
    return eq, best.row_values[n + n_groups:], best.row_duals[n + n_groups:]


def solve_with_policy(game: SecurityGame, constraints: Sequence[LinearConstraint]
                      ) -> PolicyEquilibrium:
    r"""Strong Stackelberg Equilibrium under linear policy constraints (one attacker type).

    For each candidate attacked target :math:`t^*` (Conitzer & Sandholm's multiple LPs):

    .. math::

        \max_{c, u}\ & U^d(t^*, c_{t^*}) \\
        \text{s.t.}\ & U^a(t, c_t) \le u\ \forall t, \quad U^a(t^*, c_{t^*}) = u, \quad
                       \textstyle\sum_{t \in g} c_t \le B_g\ \forall g, \\
                     & l_j \le \textstyle\sum_t w_{jt} c_t \le h_j\ \forall j, \quad
                       0 \le c \le 1.

    The best feasible LP is the equilibrium. One LP first finds the least attacker
    level :math:`u_p` the policy allows; only targets with :math:`U^a_{u,t} \ge u_p`
    can be attacked, and each one's value is at most :math:`U^d` at the coverage that
    brings it to :math:`u_p`, so candidates are visited by that bound and the search
    stops when none can beat the best (exact pruning). For games with several attacker types, pass
    ``game.mixture()`` (the plan's single-type approximation).

    Returns
    -------
    PolicyEquilibrium
        The constrained equilibrium, the unconstrained utility, each binding
        constraint with its shadow price, and each binding family's exact cost
        (utility regained by dropping the family and re-solving).

    Raises
    ------
    InfeasibleError
        If no coverage satisfies the constraints and the budgets.
    """
    if game.n_types != 1:
        msg = (f"policy constraints are solved for one attacker type, got `game.n_types` = "
               f"{game.n_types}; pass game.mixture()")
        raise GameError(msg)
    constraints = list(constraints)
    names = [c.name for c in constraints]
    if len(set(names)) != len(names):
        msg = f"constraint names must be unique, got {names}"
        raise GameError(msg)
    eq, activity, duals = _solve(game, constraints)
    free, _, _ = _solve(game, [])
    binding = []
    assert activity is not None and duals is not None
    for j, con in enumerate(constraints):
        for side, bound in (("lower", con.lower), ("upper", con.upper)):
            if math.isfinite(bound) and abs(activity[j] - bound) <= _TOL * max(1, abs(bound)):
                binding.append(BindingConstraint(con.name, str(con.family), side, float(bound),
                                                 float(abs(duals[j]))))
    costs: dict[str, float] = {}
    for family in dict.fromkeys(b.family for b in binding):
        rest = [c for c in constraints if c.family != family]
        try:
            without, _, _ = _solve(game, rest)
        except InfeasibleError:  # pragma: no cover - dropping rows cannot make it infeasible
            raise SolverError(f"re-solving without {family!r} failed") from None
        costs[family] = max(0.0, without.defender_utility - eq.defender_utility)
    return PolicyEquilibrium(eq, free.defender_utility, tuple(binding), costs)
