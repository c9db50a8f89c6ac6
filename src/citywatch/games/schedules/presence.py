r"""Patrol games in which a schedule gives each target a *share* of presence (walked beats).

A team walking a beat is at each stop for part of the slot only: schedule :math:`b`
gives target :math:`t` the presence share :math:`f_{bt} \in (0, 1]` (minutes at the
stop over the slot's minutes; :math:`\sum_t f_{bt} \le 1`, a team is in one place at
a time). In each group (slot) the :math:`B_g` teams run :math:`B_g` *site-disjoint*
schedules (one armed pair per site per slot), so a joint assignment :math:`J` gives
the coverage :math:`a_{Jt} = \sum_{b \in J} f_{bt} \le 1`: exactly the probability
that an attack at a uniformly random moment of the slot finds a team on site. A mixed
strategy is one distribution :math:`x_g` per group over joint assignments and
:math:`c = \sum_g \sum_J x_{gJ} a_J` (the sparse support reproduces :math:`c`
exactly). Let :math:`P` be the set of such :math:`c`.

**The game decomposes by slot except through the attacker's choice.** Write
:math:`U^a(t, c) = A_t - \Delta^a_t c_t` and :math:`U^d(t, c) = D_t + \Delta^d_t c_t`
(:math:`\Delta^a > 0`). Three steps, each exact or proven:

1. *Minimax by column generation.* :math:`u^* = \min_{c \in P} \max_t U^a(t, c)` is the
   LP :math:`\min u` s.t. :math:`A_t - \Delta^a_t c_t \le u`,
   :math:`c_t = \sum_J a_{Jt} x_J` (duals :math:`\pi_t`), :math:`\sum_{J \in g} x_J = 1`
   (:math:`\mu_g`), over a pool of joint assignments. Pricing decomposes by slot: with
   :math:`w = -\pi` the best column of slot :math:`g` is a maximum-weight packing of
   exactly :math:`B_g` site-disjoint schedules with values :math:`v_b = \sum_t w_t f_{bt}`
   (greedy first; a HiGHS MILP, warm-started, when the greedy finds nothing). The MILP
   dual bounds give the Lagrangian bound
   :math:`u^* \ge u_{\text{RMP}} - \sum_g \max(0, \bar v_g + \mu_g) =: u_{lb}`.
2. *Upper bound on the Strong Stackelberg value.* Let :math:`P'` be the down-closure
   of :math:`P` (teams may skip a stop). Attacker utility falls with coverage, so
   :math:`\min_{P'} \max_t U^a = u^*`, and in an SSE over :math:`P'` the attacked target
   :math:`t^*` has :math:`U^a(t^*, c) = u^*` (ORIGAMI's argument; Kiekintveld et al.
   2009, Korzhyk et al. 2011): otherwise the minimax coverage lowered at :math:`t^*`
   does better. Hence, with :math:`n_t(u) = (A_t - u) / \Delta^a_t` clipped to
   :math:`[0, \bar f_t]` (:math:`\bar f_t` the largest share any schedule gives
   :math:`t`),

   .. math:: \text{SSE}(P) \le \text{SSE}(P') \le \max_{t : A_t \ge u_{lb}}
             \bigl(D_t + \max(\Delta^d_t, 0)\, n_t(u_{lb})\bigr) =: \bar V,

   valid for any :math:`u_{lb} \le u^*`.
3. *Incumbent.* The minimax strategy with the attacker best-responding (ties for the
   defender) is feasible; then, best bound first, the multiple LP of a target
   :math:`t^*` (:math:`\max U^d(t^*, c)` s.t. :math:`U^a(t, c) \le U^a(t^*, c)`,
   Conitzer & Sandholm 2006) is solved by the same column generation from the shared
   pool, raising the incumbent and replacing :math:`t^*`'s bound by its Lagrangian
   bound, until the proven gap :math:`\bar V - V` is within `rel_gap` of :math:`|V|`.

For several attacker types, the bound is :math:`\sum_k p_k \bar V_k` (no strategy
beats a type's own SSE) and the incumbent the best of the candidate strategies (the
mixture's SSE, each type's minimax, the prior-weighted minimax) against the Bayesian
attacker; the gap is reported, not closed (branch-and-price is out of scope).
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.errors import GameError, InfeasibleError, SolverError
from citywatch.games.equilibrium import best_responses
from citywatch.games.schedules._presence_diversify import _diversify
from citywatch.games.schedules._presence_pool import (
    _PRICE_TOL,
    _LimitReached,
    _Master,
    _Pool,
    _scale,
)
from citywatch.games.schedules.game import ScheduleEquilibrium
from citywatch.model.game import SecurityGame

__all__ = [
    "PresenceGame",
    "PresenceSolution",
    "solve_presence",
    "solve_presence_bayesian",
    "verify_presence_equilibrium",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Multiple LPs solved at most to close the SSE gap (best bound first).
_MAX_TARGET_LPS = 12


@dataclass(frozen=True, eq=False)
class PresenceGame:
    """A security game whose teams run site-disjoint schedules giving presence shares.

    Parameters
    ----------
    game
        Payoffs, attacker types, groups (slots) and teams per group.
    presence
        Shape ``(schedules, targets)``: the share of the slot schedule ``s`` spends at
        target ``t`` (0 where it does not stop). Each row sums to at most 1.
    schedule_groups
        Group of each schedule; its targets must belong to that group.

    Raises
    ------
    GameError
        If a share lies outside (0, 1], a row sums above 1, a schedule is empty or
        stops at a target of another group.
    """

    game: SecurityGame
    presence: sp.csr_array
    schedule_groups: IntArray

    def __post_init__(self) -> None:
        game = self.game
        try:
            f = sp.csr_array(self.presence, dtype=np.float64)
        except (TypeError, ValueError) as err:
            msg = f"`presence` must be a (schedules, targets) matrix, got {self.presence!r}"
            raise GameError(msg) from err
        if f.ndim != 2 or f.shape[1] != game.n_targets:
            msg = f"`presence` must have shape (schedules, {game.n_targets}), got {f.shape}"
            raise GameError(msg)
        f.sum_duplicates()
        f.eliminate_zeros()
        f.sort_indices()
        if f.shape[0] == 0:
            msg = "`presence` must hold at least one schedule, got 0"
            raise GameError(msg)
        if f.nnz and (f.data.min() <= 0 or f.data.max() > 1 + 1e-9):
            msg = (f"`presence` shares must lie in (0, 1], got values in "
                   f"[{f.data.min():.4g}, {f.data.max():.4g}]")
            raise GameError(msg)
        sizes = np.diff(f.indptr)
        if np.any(sizes == 0):
            s = int(np.flatnonzero(sizes == 0)[0])
            msg = f"schedule {s} stops nowhere; every schedule must give some presence"
            raise GameError(msg)
        totals = np.asarray(f.sum(axis=1)).reshape(-1)
        if totals.max() > 1 + 1e-9:
            s = int(np.argmax(totals))
            msg = (f"schedule {s} spends {totals[s]:.4g} of the slot at its stops; a team is in "
                   f"one place at a time (at most 1)")
            raise GameError(msg)
        groups = np.asarray(self.schedule_groups, dtype=np.int64)
        if groups.shape != (f.shape[0],):
            msg = (f"`schedule_groups` must hold one group per schedule ({f.shape[0]}), got "
                   f"shape {groups.shape}")
            raise GameError(msg)
        if groups.min() < 0 or groups.max() >= game.n_groups:
            msg = (f"`schedule_groups` values must lie in 0..{game.n_groups - 1}, got "
                   f"{int(groups.min())}..{int(groups.max())}")
            raise GameError(msg)
        rows = np.repeat(np.arange(f.shape[0]), sizes)
        wrong = np.flatnonzero(game.groups[f.indices] != groups[rows])
        if wrong.size:
            i = int(wrong[0])
            msg = (f"schedule {int(rows[i])} of group {int(groups[rows[i]])} stops at target "
                   f"{int(f.indices[i])} of group {int(game.groups[f.indices[i]])}")
            raise GameError(msg)
        groups.setflags(write=False)
        object.__setattr__(self, "presence", f)
        object.__setattr__(self, "schedule_groups", groups)

    @property
    def n_schedules(self) -> int:
        """Number of candidate schedules."""
        return int(self.presence.shape[0])

    def coverage_of(self, joint_schedules: Sequence[Sequence[int]],
                    probabilities: npt.ArrayLike) -> FloatArray:
        """Coverage of a mixed strategy over joint assignments: ``sum_J p_J sum_{b in J} f_b``."""
        p = np.asarray(probabilities, dtype=np.float64)
        counts = np.zeros(self.n_schedules)
        for joint, prob in zip(joint_schedules, p, strict=True):
            counts[list(joint)] += prob
        return np.asarray(self.presence.T @ counts, dtype=np.float64)


@dataclass(frozen=True, eq=False)
class PresenceSolution:
    """A solved presence game: the equilibrium, its proven bound and the minimax level.

    Attributes
    ----------
    equilibrium
        The strategy (``joint_schedules``, ``joint_groups``, ``probabilities``) and the
        attacker's best response; ``gap`` is the proven gap to `bound`.
    bound
        Proven upper bound on the defender's optimal utility.
    minimax
        Attacker's utility under the minimax strategy and its proven lower bound.
    teams
        Schedules each group runs.
    stages
        Seconds spent per stage (``minimax``, ``target LPs``, ...).
    """

    equilibrium: ScheduleEquilibrium
    bound: float
    minimax: tuple[float, float]
    teams: IntArray
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def relative_gap(self) -> float:
        """Proven gap over the size of the defender's utility."""
        v = self.equilibrium.defender_utility
        return float(self.equilibrium.gap / max(abs(v), 1e-12))


def verify_presence_equilibrium(pgame: PresenceGame, eq: ScheduleEquilibrium, *,
                                tol: float = 1e-6) -> list[str]:
    """Re-check a presence equilibrium; return what is wrong (empty if nothing).

    Probabilities >= 0 summing to 1 per group; every joint assignment runs distinct,
    site-disjoint schedules of its group; the mixed strategy reproduces `coverage`;
    each type attacks a best response; the utilities recompute.
    """
    game = pgame.game
    problems: list[str] = []
    p = eq.probabilities
    if p.size and p.min() < -tol:
        problems.append(f"negative probability {float(p.min())}")
    totals = np.bincount(eq.joint_groups, weights=p, minlength=game.n_groups)
    for g in np.flatnonzero(np.abs(totals - 1.0) > tol):
        problems.append(f"group {int(g)} probabilities sum to {float(totals[g])}, not 1")
    f = pgame.presence
    for joint, g in zip(eq.joint_schedules, eq.joint_groups, strict=True):
        if len(set(joint)) != len(joint):
            problems.append(f"joint assignment {joint} repeats a schedule")
        if any(int(pgame.schedule_groups[s]) != int(g) for s in joint):
            problems.append(f"joint assignment {joint} mixes groups (expected {int(g)})")
        stops = np.concatenate([f.indices[f.indptr[s]:f.indptr[s + 1]] for s in joint]
                               ) if joint else np.zeros(0, dtype=np.int64)
        if stops.size != np.unique(stops).size:
            problems.append(f"joint assignment {joint} sends two teams to one site")
    coverage = pgame.coverage_of(eq.joint_schedules, p)
    err = float(np.abs(coverage - eq.coverage).max())
    if err > tol:
        problems.append(f"mixed strategy gives coverage off by {err} from `coverage`")
    ua = game.attacker_payoffs(eq.coverage)
    ud = game.defender_payoffs(eq.coverage)
    total = 0.0
    for k in range(game.n_types):
        t = int(eq.attacked[k])
        if ua[k, t] < ua[k].max() - tol * max(1.0, abs(float(ua[k].max()))):
            problems.append(f"type {k} attacks {t} with utility {ua[k, t]} but could get "
                            f"{ua[k].max()}")
        total += float(game.priors[k] * ud[k, t])
    if abs(total - eq.defender_utility) > tol * max(1.0, abs(total)):
        problems.append(f"defender utility {eq.defender_utility} recomputes to {total}")
    return problems


# ----------------------------------------------------------------------------- solving


def _equilibrium(game: SecurityGame, pool: _Pool, x: FloatArray, *, method: str,
                 gap: float, start: float, iterations: int) -> ScheduleEquilibrium:
    x = np.clip(x[:pool.size], 0.0, None)
    groups = np.array(pool.col_group[:x.size], dtype=np.int64)
    totals = np.bincount(groups, weights=x, minlength=game.n_groups)
    keep = np.flatnonzero(x > 1e-12)
    probs = x[keep] / totals[groups[keep]]
    weights = np.zeros(pool.size)
    weights[keep] = probs
    coverage = np.clip(pool.coverage(weights), 0.0, 1.0)
    attacked, value = best_responses(game, coverage)
    ua = game.attacker_payoffs(coverage)
    return ScheduleEquilibrium(
        coverage=coverage, defender_utility=value, attacked=attacked,
        attacker_utility=ua[np.arange(game.n_types), attacked], method=method,
        optimal=gap <= 0.0, gap=max(0.0, gap), seconds=time.perf_counter() - start,
        joint_schedules=tuple(pool.col_schedules[j] for j in keep),
        joint_groups=groups[keep], probabilities=probs, iterations=iterations,
        columns=pool.size)


def _sse_bounds(game: SecurityGame, k: int, u_lb: float, cap: FloatArray) -> FloatArray:
    """Per-target upper bound on type `k`'s SSE value at an attacker level ``>= u_lb``."""
    au = game.attacker_uncovered[k]
    da = au - game.attacker_covered[k]
    du = game.defender_uncovered[k]
    dd = game.defender_covered[k] - du
    # a target coverage cannot move (da = 0) needs nothing below its own level, all above
    raw = np.divide(au - u_lb, da, out=np.where(au > u_lb, np.inf, 0.0), where=da > 0)
    need = np.clip(raw, 0.0, cap)
    out = du + np.maximum(dd, 0.0) * need
    return np.where(au >= u_lb - 1e-12 * max(1.0, abs(u_lb)), out, -np.inf)


def _check(pgame: PresenceGame, time_limit: float | None, rel_gap: float) -> None:
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be > 0 seconds, got {time_limit}"
        raise GameError(msg)
    if not 0 <= rel_gap < 1:
        msg = f"`rel_gap` must lie in [0, 1), got {rel_gap}"
        raise GameError(msg)
    game = pgame.game
    if np.any(game.attacker_uncovered < game.attacker_covered):
        msg = "presence games need attackers who prefer uncovered targets (Ua_u >= Ua_c)"
        raise GameError(msg)


def _caps(pgame: PresenceGame) -> FloatArray:
    f = pgame.presence.tocsc()
    cap = np.zeros(pgame.game.n_targets)
    for t in range(cap.size):
        col = f.data[f.indptr[t]:f.indptr[t + 1]]
        cap[t] = col.max() if col.size else 0.0
    return cap


def _sse_single(pgame: PresenceGame, pool: _Pool, k: int, deadline: float, rel_gap: float,
                stats: dict[str, float]) -> tuple[FloatArray, float, float, tuple[float, float],
                                                  FloatArray]:
    """SSE against type `k` alone: (pool weights, value, bound, minimax, minimax weights)."""
    game = pgame.game
    single = game.single_type(k)
    scale = _scale(game)
    tol = _PRICE_TOL * scale
    t0 = time.perf_counter()
    master = _Master(single, pool, 0, None)
    u_val, u_lb, x_mm = master.generate(deadline, tol, stop_gap=1e-6 * scale, stats=stats)
    stats["minimax s"] = stats.get("minimax s", 0.0) + time.perf_counter() - t0
    cap = _caps(pgame)
    bounds = _sse_bounds(single, 0, u_lb, cap)
    coverage = pool.coverage(x_mm)
    _, best_value = best_responses(single, np.clip(coverage, 0.0, 1.0))
    best_x = x_mm.copy()
    t0 = time.perf_counter()
    order = np.argsort(-bounds, kind="stable")
    solved = 0
    for t in order.tolist():
        upper = float(bounds.max())
        if not np.isfinite(bounds[t]) or upper - best_value <= rel_gap * abs(best_value) + tol:
            break
        if bounds[t] <= best_value + tol:
            break
        if solved >= _MAX_TARGET_LPS or time.perf_counter() >= deadline:
            break
        solved += 1
        tm = _Master(single, pool, 0, int(t))
        try:
            val, lo, x = tm.generate(deadline, tol, stop_gap=rel_gap * abs(best_value) / 4,
                                     stats=stats)
        except InfeasibleError:
            bounds[t] = -np.inf
            continue
        value, bound = -val, -lo
        bounds[t] = min(bounds[t], bound)
        if tm.last_slack > 1e-9:  # t* cannot be made the best response
            continue
        if value > best_value:
            best_value, best_x = value, x.copy()
    stats["target LPs"] = stats.get("target LPs", 0) + solved
    stats["target LPs s"] = stats.get("target LPs s", 0.0) + time.perf_counter() - t0
    upper = max(best_value, float(bounds.max()))
    return best_x, best_value, upper, (u_val, u_lb), x_mm


def solve_presence(pgame: PresenceGame, *, time_limit: float | None = None,
                   rel_gap: float = 1e-3, diversify: bool = True) -> PresenceSolution:
    """Strong Stackelberg equilibrium of a one-type presence game with a proven gap.

    See the module docstring for the method. Deterministic: no random columns, HiGHS
    with a fixed random seed.

    Parameters
    ----------
    pgame
        The game; it must have one attacker type (e.g. ``game.mixture()``).
    time_limit
        Seconds (a safety net); on reaching it the incumbent is returned with its gap.
    rel_gap
        Stop when the proven gap is within this share of the defender's utility.
    diversify
        Spread each slot's strategy over many beats without changing the guarantee
        (`_diversify`): where the attacker's choice leaves slack, the SSE alone may run
        the same beats every day.

    Raises
    ------
    GameError
        If the game has several types or a limit is malformed.
    SolverError
        If the limit is reached before the minimax level is proven.
    """
    start = time.perf_counter()
    _check(pgame, time_limit, rel_gap)
    game = pgame.game
    if game.n_types != 1:
        msg = (f"`solve_presence` needs one attacker type, got {game.n_types}; use "
               f"`solve_presence_bayesian` or `game.mixture()`")
        raise GameError(msg)
    deadline = math.inf if time_limit is None else start + time_limit
    pool = _Pool(pgame, deadline)
    pool.seed([game.attacker_uncovered[0] - game.attacker_covered[0],
               np.ones(game.n_targets)])
    stats: dict[str, float] = {}
    try:
        x, value, upper, minimax, _ = _sse_single(pgame, pool, 0, deadline, rel_gap, stats)
    except _LimitReached:
        msg = ("beat solver reached its time limit before proving the minimax level; raise "
               "`time_limit`")
        raise SolverError(msg) from None
    if diversify:
        t0 = time.perf_counter()
        x = _diversify(game, pool, x, deadline)
        stats["diversify s"] = time.perf_counter() - t0
    stats["pricing MILPs"] = pool.milps
    stats["pricing MILP s"] = pool.milp_seconds
    eq = _equilibrium(game, pool, x, method="beats-presence-cg", gap=upper - value,
                      start=start, iterations=int(stats.get("master solves", 0)))
    gap = max(0.0, upper - eq.defender_utility)
    eq = _replace_gap(eq, gap, rel_gap)
    return PresenceSolution(eq, upper, minimax, pool.teams, stats)


def _replace_gap(eq: ScheduleEquilibrium, gap: float, rel_gap: float) -> ScheduleEquilibrium:
    import dataclasses

    tol = 1e-9 * max(1.0, abs(eq.defender_utility))
    return dataclasses.replace(eq, gap=gap, optimal=gap <= tol)


def solve_presence_bayesian(pgame: PresenceGame, *, time_limit: float | None = None,
                            rel_gap: float = 1e-3) -> PresenceSolution:
    """Bayesian presence game: the best of several candidate strategies, with a proven gap.

    Candidates: the mixture attacker's SSE, each type's minimax and the prior-weighted
    minimax, each evaluated with every type best-responding (ties for the defender).
    The bound is ``sum_k p_k SSE_k`` (each from `solve_presence`'s bound).
    """
    start = time.perf_counter()
    _check(pgame, time_limit, rel_gap)
    game = pgame.game
    deadline = math.inf if time_limit is None else start + time_limit
    pool = _Pool(pgame, deadline)
    mix = game.mixture()
    # On the time limit the candidates found so far are compared; the bound then needs
    # every type's SSE bound, else it is reported as infinite.
    pool.seed([mix.attacker_uncovered[0] - mix.attacker_covered[0], np.ones(game.n_targets)])
    stats: dict[str, float] = {}
    candidates: list[FloatArray] = []
    upper_k: list[float] = []
    try:
        mixture = PresenceGame(mix, pgame.presence, pgame.schedule_groups)
        x_mix, _, _, _, _ = _sse_single(mixture, pool, 0, deadline, rel_gap, stats)
        candidates.append(x_mix)
        for k in range(game.n_types):
            x_k, _, up, _, x_mm = _sse_single(pgame, pool, k, deadline, rel_gap, stats)
            candidates += [x_k, x_mm]
            upper_k.append(up)
        tol = _PRICE_TOL * _scale(game)
        master = _Master(game, pool, None, None, priors=game.priors)
        _, _, x_w = master.generate(deadline, tol, stop_gap=1e-6 * _scale(game), stats=stats)
        candidates.append(x_w)
    except _LimitReached:
        if not candidates:
            msg = "Bayesian beat solver reached its time limit before any strategy"
            raise SolverError(msg) from None
    best_x, best_value = candidates[0], -math.inf
    for i, x in enumerate(candidates):
        padded = np.zeros(pool.size)
        padded[:x.size] = x
        _, value = best_responses(game, np.clip(pool.coverage(padded), 0.0, 1.0))
        if value > best_value:
            best_x, best_value = padded, value
            stats["best candidate"] = i  # 0 mixture SSE, 2k+1 / 2k+2 type k SSE / minimax
    upper = (float(np.dot(game.priors, upper_k)) if len(upper_k) == game.n_types
             else math.inf)
    stats["pricing MILPs"] = pool.milps
    stats["pricing MILP s"] = pool.milp_seconds
    eq = _equilibrium(game, pool, best_x, method="beats-presence-bayesian",
                      gap=upper - best_value, start=start,
                      iterations=int(stats.get("master solves", 0)))
    eq = _replace_gap(eq, max(0.0, upper - eq.defender_utility), rel_gap)
    return PresenceSolution(eq, upper, (math.nan, math.nan), pool.teams, stats)
