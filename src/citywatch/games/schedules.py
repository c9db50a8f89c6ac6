"""Schedule-constrained security games (ASPEN): teams choose whole schedules, not single targets."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import highspy
import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch._random import Seed, as_generator
from citywatch.errors import GameError, InfeasibleError, SolverError
from citywatch._highs import build_highs, run_highs
from citywatch.games.equilibrium import Equilibrium, verify_equilibrium
from citywatch.model.game import SecurityGame

__all__ = [
    "ScheduleEquilibrium",
    "ScheduleGame",
    "singleton_schedules",
    "solve_schedules",
    "verify_schedule_equilibrium",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

# Reduced costs, bounds and prunes are compared with this times the payoff scale; it sits
# above HiGHS's default dual feasibility tolerance (1e-7) so that column generation does
# not chase numerical noise.
_PRICE_TOL = 1e-7
_RANDOM_COLUMNS = 4
_GREEDY_STARTS = 3  # heuristic columns priced per group and round
_ROUNDS = 3
# Several types: prove the price-and-branch answer by multiple LPs over attack profiles
# when there are at most this many profiles (targets ** types) before pruning.
_MAX_PROFILES = 20_000


@dataclass(frozen=True, eq=False)
class ScheduleGame:
    """A security game whose teams are assigned whole schedules (patrol tours, beats).

    Budget group ``g`` of `game` is a slot with ``game.resources[g]`` teams. Each
    candidate schedule belongs to one group and covers a set of that group's targets.
    Each team takes one schedule of its group, the teams of a group take distinct
    schedules (two teams on one tour add nothing), and a target is covered when at
    least one chosen schedule covers it. A group with fewer schedules than teams runs
    all of them.

    Parameters
    ----------
    game
        The payoffs, attacker types, groups and team counts.
    incidence
        0/1 matrix, shape ``(schedules, targets)``; entry ``(s, t)`` is 1 when schedule
        ``s`` covers target ``t``. Stored as a :class:`scipy.sparse.csr_array`.
    schedule_groups
        Group of each schedule; default: the group of the targets it covers.

    Raises
    ------
    GameError
        If a schedule is empty, covers a target out of range or outside its group, or
        names a group that does not exist.
    """

    game: SecurityGame
    incidence: sp.csr_array
    schedule_groups: IntArray = field(default=None)  # type: ignore[arg-type]

    def __post_init__(self) -> None:
        if not isinstance(self.game, SecurityGame):
            msg = f"`game` must be a SecurityGame, got {type(self.game).__name__}"
            raise GameError(msg)
        n_targets = self.game.n_targets
        try:
            inc = sp.csr_array(self.incidence, dtype=np.float64)
        except (TypeError, ValueError) as err:
            msg = f"`incidence` must be a (schedules, targets) matrix, got {self.incidence!r}"
            raise GameError(msg) from err
        if inc.ndim != 2 or inc.shape[1] != n_targets:
            msg = (f"`incidence` must have shape (schedules, {n_targets}), got {inc.shape}")
            raise GameError(msg)
        inc.sum_duplicates()
        inc.eliminate_zeros()
        bad = np.flatnonzero(inc.data != 1.0)
        if bad.size:
            msg = f"`incidence` entries must be 0 or 1, got {inc.data[bad[0]]}"
            raise GameError(msg)
        inc.sort_indices()
        n_schedules = inc.shape[0]
        if n_schedules == 0:
            msg = "`incidence` must hold at least one schedule, got 0"
            raise GameError(msg)
        sizes = np.diff(inc.indptr)
        empty = np.flatnonzero(sizes == 0)
        if empty.size:
            msg = f"schedule {int(empty[0])} covers no target; every schedule must cover one"
            raise GameError(msg)
        rows = np.repeat(np.arange(n_schedules), sizes)
        target_groups = self.game.groups[inc.indices]
        if self.schedule_groups is None:
            groups = target_groups[inc.indptr[:-1]].astype(np.int64)
        else:
            groups = np.asarray(self.schedule_groups)
            if groups.shape != (n_schedules,) or groups.dtype.kind not in "iu":
                msg = (f"`schedule_groups` must hold one integer per schedule ({n_schedules}), "
                       f"got {groups!r}")
                raise GameError(msg)
            groups = groups.astype(np.int64)
            out = np.flatnonzero((groups < 0) | (groups >= self.game.n_groups))
            if out.size:
                s = int(out[0])
                msg = (f"`schedule_groups` values must lie in 0..{self.game.n_groups - 1}, got "
                       f"{int(groups[s])} for schedule {s}")
                raise GameError(msg)
        wrong = np.flatnonzero(target_groups != groups[rows])
        if wrong.size:
            i = int(wrong[0])
            msg = (f"schedule {int(rows[i])} is in group {int(groups[rows[i]])} but covers target "
                   f"{int(inc.indices[i])} of group {int(target_groups[i])}; a schedule covers "
                   f"targets of its own group only")
            raise GameError(msg)
        groups.setflags(write=False)
        object.__setattr__(self, "incidence", inc)
        object.__setattr__(self, "schedule_groups", groups)

    @classmethod
    def from_lists(cls, game: SecurityGame, schedules: Sequence[Sequence[int]], *,
                   groups: Sequence[int] | None = None) -> ScheduleGame:
        """Build from one list of covered target indices per schedule."""
        indptr = [0]
        indices: list[int] = []
        for s, targets in enumerate(schedules):
            ts = np.unique(np.asarray(list(targets), dtype=np.int64))
            out = ts[(ts < 0) | (ts >= game.n_targets)]
            if out.size:
                msg = (f"schedule {s} covers target {int(out[0])}, outside 0..{game.n_targets - 1}")
                raise GameError(msg)
            indices.extend(ts.tolist())
            indptr.append(len(indices))
        inc = sp.csr_array((np.ones(len(indices)), np.array(indices, dtype=np.int64),
                            np.array(indptr, dtype=np.int64)),
                           shape=(len(indptr) - 1, game.n_targets))
        return cls(game, inc, None if groups is None  # type: ignore[arg-type]
                   else np.asarray(groups, dtype=np.int64))

    @property
    def n_schedules(self) -> int:
        """Number of candidate schedules."""
        return int(self.incidence.shape[0])

    def schedule_targets(self, s: int) -> IntArray:
        """Targets covered by schedule `s`."""
        inc = self.incidence
        out: IntArray = inc.indices[inc.indptr[s]:inc.indptr[s + 1]].astype(np.int64)
        return out

    def teams(self) -> IntArray:
        """Schedules each group runs: its teams, or all its schedules if it has fewer."""
        available = np.bincount(self.schedule_groups, minlength=self.game.n_groups)
        return np.minimum(self.game.resources, available).astype(np.int64)

    def coverage_of(self, joint_schedules: Sequence[Sequence[int]],
                    probabilities: npt.ArrayLike) -> FloatArray:
        """Marginal coverage of a mixed strategy over joint schedules (one group each)."""
        p = np.asarray(probabilities, dtype=np.float64)
        coverage = np.zeros(self.game.n_targets)
        for joint, prob in zip(joint_schedules, p, strict=True):
            covered = np.zeros(self.game.n_targets, dtype=bool)
            for s in joint:
                covered[self.schedule_targets(int(s))] = True
            coverage += prob * covered
        return coverage


@dataclass(frozen=True, eq=False)
class ScheduleEquilibrium(Equilibrium):
    """An equilibrium of a :class:`ScheduleGame` with its mixed strategy over schedules.

    Attributes
    ----------
    joint_schedules
        Pure strategies in the support: each a sorted tuple of schedule indices of one
        group (the schedules that group's teams run).
    joint_groups
        Group of each joint schedule, shape (support,).
    probabilities
        Probability of each joint schedule; they sum to 1 within each group. Groups
        are independent, so a full deployment draws one joint schedule per group.
    iterations
        Master-problem solves made by column generation.
    columns
        Joint schedules generated (the final column pool).
    """

    joint_schedules: tuple[tuple[int, ...], ...] = ()
    joint_groups: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    probabilities: FloatArray = field(default_factory=lambda: np.zeros(0))
    iterations: int = 0
    columns: int = 0


def singleton_schedules(game: SecurityGame) -> ScheduleGame:
    """The schedule game in which every target is its own schedule (the plain game)."""
    return ScheduleGame(game, sp.identity(game.n_targets, format="csr", dtype=np.float64),
                        np.asarray(game.groups, dtype=np.int64))


def verify_schedule_equilibrium(sgame: ScheduleGame, eq: ScheduleEquilibrium, *,
                                tol: float = 1e-6) -> list[str]:
    """Re-check a schedule equilibrium; return what is wrong (empty if nothing).

    Checks that each group's probabilities are >= 0 and sum to 1, that every joint
    schedule runs the group's teams on distinct schedules of that group, that the
    mixed strategy reproduces the reported coverage, and then (with
    :func:`~citywatch.games.equilibrium.verify_equilibrium`, the compact budgets lifted
    because a schedule covers several targets) the attacker best responses and the
    reported utilities.
    """
    game = sgame.game
    problems: list[str] = []
    p = eq.probabilities
    if np.any(p < -tol):
        problems.append(f"negative probability {float(p.min())}")
    totals = np.bincount(eq.joint_groups, weights=p, minlength=game.n_groups)
    for g in np.flatnonzero(np.abs(totals - 1.0) > tol):
        problems.append(f"group {int(g)} probabilities sum to {float(totals[g])}, not 1")
    teams = sgame.teams()
    for joint, g in zip(eq.joint_schedules, eq.joint_groups, strict=True):
        if len(set(joint)) != len(joint) or len(joint) != teams[g]:
            problems.append(f"joint schedule {joint} of group {int(g)} does not run "
                            f"{int(teams[g])} distinct schedules")
        elif any(sgame.schedule_groups[s] != g for s in joint):
            problems.append(f"joint schedule {joint} mixes groups (expected group {int(g)})")
    coverage = sgame.coverage_of(eq.joint_schedules, p)
    err = float(np.abs(coverage - eq.coverage).max())
    if err > tol:
        problems.append(f"mixed strategy gives coverage off by {err} from `coverage`")
    lifted = SecurityGame(game.defender_covered, game.defender_uncovered,
                          game.attacker_covered, game.attacker_uncovered,
                          resources=np.bincount(game.groups, minlength=game.n_groups),
                          groups=game.groups, priors=game.priors)
    problems.extend(verify_equilibrium(lifted, eq, tol=tol))
    return problems


def solve_schedules(sgame: ScheduleGame, *, time_limit: float | None = None,
                    max_iterations: int | None = None,
                    seed: Seed = None) -> ScheduleEquilibrium:
    r"""Strong Stackelberg Equilibrium of a schedule game by column generation.

    A pure strategy of group :math:`g` is a *joint schedule*: a set :math:`J` of
    :math:`B_g` distinct schedules of the group (all of them if it has fewer), with
    coverage vector :math:`a_J \in \{0, 1\}^N`, :math:`a_{Jt} = 1` iff some schedule of
    :math:`J` covers :math:`t` (ASPEN, Jain et al. AAAI 2010). Groups cover disjoint
    targets, so a mixed strategy is one distribution :math:`x_g` per group and the
    marginal coverage is :math:`c = \sum_g \sum_J x_{gJ} a_J`.

    **One attacker type: exact multiple LPs with column generation.** For each
    candidate attacked target :math:`t^*` (Conitzer & Sandholm 2006),

    .. math::

        \max\ U^d(t^*, c) \quad\text{s.t.}\quad
        c_t - \textstyle\sum_J a_{Jt} x_J = 0\ (\pi_t),\quad
        \textstyle\sum_{J \in g} x_J = 1\ (\mu_g),\quad
        U^a(t, c) \le U^a(t^*, c)\ \forall t,\quad x \ge 0,

    over a pool of joint schedules. The pricing problem of group :math:`g` is a
    weighted maximum-coverage MILP with weights :math:`w = -\pi` (solved by HiGHS after
    a greedy heuristic fails):

    .. math::

        \max \sum_t w_t y_t \ \text{s.t.}\ \sum_s z_s = B_g,\
        y_t \le \sum_{s \ni t} z_s\ (w_t > 0),\ y_t \ge z_s\ (w_t < 0, s \ni t),\
        z \in \{0,1\},\ y \in [0, 1];

        a column improves iff its value exceeds :math:`-\mu_g`. With the gains
        :math:`\gamma_g` (their MILP dual bounds) the LP value is at most the restricted
        value plus :math:`\sum_g \max(0, \gamma_g)` (the Lagrangian bound), which proves
        convergence and prunes a :math:`t^*` as soon as it cannot beat the incumbent. A
        phase 1 (minimise a common slack on the attacker rows) proves a :math:`t^*`
        infeasible the same way. Candidates are visited in decreasing order of a cheap
        bound (the same LP with the schedule polytope relaxed to :math:`0 \le c_t \le 1`,
        :math:`c_t = 0` for targets no schedule covers and :math:`\sum_{t \in g} c_t \le`
        the most targets :math:`B_g` schedules can cover), and skipped when that bound
        cannot beat the incumbent. The column pool is shared by all candidates.

    **Several attacker types: price-and-branch (heuristic with a proven gap).** The
    Bayesian master is ERASER/DOBSS-style with binaries :math:`q_{kt}` (type :math:`k`
    attacks :math:`t`) and big-M rows :math:`d_k \le U^d_k(t, c) + M(1 - q_{kt})`,
    :math:`0 \le e_k - U^a_k(t, c) \le M(1 - q_{kt})`, :math:`\sum_t q_{kt} = 1`,
    objective :math:`\sum_k p_k d_k`. Columns are generated at its LP relaxation (the
    root), the pool is enriched with the exact single-type solutions of every type,
    then the MILP is solved over the pool; up to three times the MILP's attack profile
    is fixed, its LP re-priced, and the MILP re-solved. Branch-and-price is out of
    scope; the upper bound is :math:`\min(\text{root LP bound}, \sum_k p_k\,
    \text{SSE}_k)` (no strategy does better against type :math:`k` than that type's own
    SSE). If that leaves a gap and there are at most 20,000 attack profiles
    (``targets ** types``), the multiple LPs above are run over whole profiles
    :math:`(t^*_1, \dots, t^*_K)` (objective :math:`\sum_k p_k U^d_k(t^*_k, c)`, every
    type's attacker rows), best bound first with the bound
    :math:`\sum_k p_k R_k(t^*_k)` from the per-type relaxations and the incumbent from
    the MILP, which proves or improves it (exact, but exponential in the number of
    types). Otherwise the remaining difference is reported as ``gap``.

    Parameters
    ----------
    sgame
        The schedule game.
    time_limit
        Seconds; when reached, the best strategy found is returned with its proven gap
        (``optimal=False``) instead of raising.
    max_iterations
        Cap on master solves; when reached, behaves like `time_limit`. Default: none.
    seed
        Draws the few random joint schedules that seed the column pool.

    Returns
    -------
    ScheduleEquilibrium
        ``method="schedules-cg"`` (one type) or ``"schedules-price-and-branch"``.

    Raises
    ------
    SolverError
        If HiGHS fails, or a limit is reached before any strategy is found.
    GameError
        If `time_limit` or `max_iterations` is not positive.
    """
    start = time.perf_counter()
    if time_limit is not None and not time_limit > 0:
        msg = f"`time_limit` must be > 0 seconds, got {time_limit}"
        raise GameError(msg)
    if max_iterations is not None and max_iterations < 1:
        msg = f"`max_iterations` must be >= 1, got {max_iterations}"
        raise GameError(msg)
    rng = as_generator(seed)
    limits = _Limits(start, time_limit, max_iterations)
    pricer = _Pricer(sgame, limits)
    pricer.seed_pool(rng)
    if sgame.game.n_types == 1:
        return _solve_single(sgame, pricer, limits, start)
    return _solve_bayesian(sgame, pricer, limits, start, rng)


# ----------------------------------------------------------------------------- internals


class _LimitReached(Exception):
    """Raised inside the solver when the time or iteration limit is reached."""


class _Limits:
    def __init__(self, start: float, time_limit: float | None,
                 max_iterations: int | None) -> None:
        self.deadline = math.inf if time_limit is None else start + time_limit
        self.max_iterations = max_iterations
        self.iterations = 0

    def tick(self) -> None:
        """Count one master solve; raise when a limit is reached."""
        if time.perf_counter() >= self.deadline:
            raise _LimitReached
        if self.max_iterations is not None and self.iterations >= self.max_iterations:
            raise _LimitReached
        self.iterations += 1

    def remaining(self) -> float | None:
        if math.isinf(self.deadline):
            return None
        left = self.deadline - time.perf_counter()
        if left <= 0:
            raise _LimitReached
        return left


@dataclass
class _GroupData:
    group: int
    teams: int
    schedules: IntArray        # global schedule indices
    targets: IntArray          # global target indices of the group
    local: sp.csr_array        # (schedules, targets) incidence within the group


class _Pricer:
    """The shared column pool and the per-group pricing problems."""

    def __init__(self, sgame: ScheduleGame, limits: _Limits) -> None:
        self.sgame = sgame
        self.limits = limits
        game = sgame.game
        n = game.n_targets
        self.n_targets = n
        self.n_groups = game.n_groups
        teams = sgame.teams()
        self.data: list[_GroupData] = []
        for g in range(game.n_groups):
            scheds = np.flatnonzero(sgame.schedule_groups == g).astype(np.int64)
            targets = np.flatnonzero(game.groups == g).astype(np.int64)
            local_index = np.full(n, -1, dtype=np.int64)
            local_index[targets] = np.arange(targets.size)
            sub = sgame.incidence[scheds]
            local = sp.csr_array((sub.data, local_index[sub.indices], sub.indptr),
                                 shape=(scheds.size, targets.size))
            self.data.append(_GroupData(g, int(teams[g]), scheds, targets, local))
        self.col_group: list[int] = []
        self.col_schedules: list[tuple[int, ...]] = []
        self.col_targets: list[IntArray] = []
        self._keys: set[tuple[int, bytes]] = set()
        self.abs_gap = 1e-9

    @property
    def size(self) -> int:
        return len(self.col_group)

    def add(self, g: int, chosen_local: IntArray) -> bool:
        """Add the joint schedule of group `g` made of local schedules; False if known."""
        d = self.data[g]
        chosen = np.sort(d.schedules[chosen_local])
        covered_local = np.unique(d.local[np.sort(chosen_local)].indices)
        targets = d.targets[covered_local]
        key = (g, targets.tobytes())
        if key in self._keys:
            return False
        self._keys.add(key)
        self.col_group.append(g)
        self.col_schedules.append(tuple(int(s) for s in chosen))
        self.col_targets.append(targets)
        return True

    def add_global(self, g: int, schedules: Sequence[int]) -> bool:
        d = self.data[g]
        lookup = {int(s): i for i, s in enumerate(d.schedules)}
        return self.add(g, np.array([lookup[int(s)] for s in schedules], dtype=np.int64))

    def seed_pool(self, rng: np.random.Generator) -> None:
        """Start each group with a greedy maximum-coverage column and a few random ones."""
        for d in self.data:
            n_s = d.schedules.size
            if d.teams == 0 or d.teams == n_s:
                self.add(d.group, np.arange(n_s if d.teams else 0, dtype=np.int64))
                continue
            self.add(d.group, self._greedy(d, np.ones(d.targets.size)))
            for _ in range(_RANDOM_COLUMNS):
                self.add(d.group, rng.choice(n_s, size=d.teams, replace=False).astype(np.int64))

    def columns(self, first: int) -> sp.csc_array:
        """Link and convexity coefficients of pool columns from `first` on.

        Rows ``0..N-1`` carry ``-a_J`` (the link rows), rows ``N..N+G-1`` carry 1 in the
        column's group (the convexity rows).
        """
        rows: list[IntArray] = []
        vals: list[FloatArray] = []
        ptr = [0]
        for j in range(first, self.size):
            t = self.col_targets[j]
            rows.append(t)
            rows.append(np.array([self.n_targets + self.col_group[j]], dtype=np.int64))
            vals.append(-np.ones(t.size))
            vals.append(np.ones(1))
            ptr.append(ptr[-1] + t.size + 1)
        n_cols = self.size - first
        if n_cols == 0:
            return sp.csc_array((self.n_targets + self.n_groups, 0))
        return sp.csc_array((np.concatenate(vals), np.concatenate(rows), np.array(ptr)),
                            shape=(self.n_targets + self.n_groups, n_cols))

    def coverage(self, x: FloatArray) -> FloatArray:
        c = np.zeros(self.n_targets)
        for j, v in enumerate(x):
            c[self.col_targets[j]] += v
        return c

    @staticmethod
    def _firsts(d: _GroupData, w: FloatArray) -> list[int | None]:
        """Opening schedules for several greedy columns: the plain greedy and the runners-up."""
        gains = d.local @ w
        top = np.argsort(-gains, kind="stable")[1:_GREEDY_STARTS].tolist()
        return [None, *top]

    def _greedy(self, d: _GroupData, w: FloatArray, *, first: int | None = None) -> IntArray:
        covered = np.zeros(d.targets.size, dtype=bool)
        chosen = np.zeros(d.schedules.size, dtype=bool)
        picks: list[int] = []
        for i in range(d.teams):
            gains = d.local @ np.where(covered, 0.0, w)
            gains[chosen] = -np.inf
            s = int(np.argmax(gains)) if first is None or i else first
            picks.append(s)
            chosen[s] = True
            covered[d.local.indices[d.local.indptr[s]:d.local.indptr[s + 1]]] = True
        return np.array(picks, dtype=np.int64)

    def price(self, duals: FloatArray, tol: float) -> tuple[int, float]:
        """Add improving columns for the duals of the link and convexity rows.

        Returns the number of columns added and an upper bound on the total positive
        gain ``sum_g max(0, max_J w.a_J + mu_g)`` (``inf`` when only the heuristic ran).
        """
        n = self.n_targets
        added = 0
        for d in self.data:
            if d.teams in (0, d.schedules.size):
                continue
            w = -duals[d.targets]
            threshold = -duals[n + d.group]
            for first in self._firsts(d, w):
                picks = self._improve(d, w, self._greedy(d, w, first=first))
                value = self._value(d, w, picks)
                if value > threshold + tol and self.add(d.group, picks):
                    added += 1
        if added:
            return added, math.inf
        total = 0.0
        for d in self.data:
            if d.teams in (0, d.schedules.size):
                continue
            w = -duals[d.targets]
            threshold = -duals[n + d.group]
            picks, value, bound = self._milp(d, w, self._improve(d, w, self._greedy(d, w)))
            if value > threshold + tol and self.add(d.group, picks):
                added += 1
            total += max(0.0, bound - threshold)
        return added, total

    @staticmethod
    def _improve(d: _GroupData, w: FloatArray, picks: IntArray) -> IntArray:
        """One-swap local search on a joint schedule (two passes at most)."""
        picks = picks.copy()
        counts = np.bincount(d.local[picks].indices, minlength=d.targets.size)
        for _ in range(2):
            improved = False
            for i in range(picks.size):
                s = picks[i]
                own = d.local.indices[d.local.indptr[s]:d.local.indptr[s + 1]]
                counts[own] -= 1
                gains = d.local @ np.where(counts > 0, 0.0, w)
                gains[picks] = -np.inf
                best = int(np.argmax(gains))
                current = float(w[own][counts[own] == 0].sum())
                if gains[best] > current + 1e-12 * (1.0 + abs(current)):
                    picks[i] = best
                    own = d.local.indices[d.local.indptr[best]:d.local.indptr[best + 1]]
                    improved = True
                counts[own] += 1
            if not improved:
                break
        return picks

    @staticmethod
    def _value(d: _GroupData, w: FloatArray, picks: IntArray) -> float:
        covered = np.unique(d.local[np.sort(picks)].indices)
        return float(w[covered].sum())

    def _milp(self, d: _GroupData, w: FloatArray,
              warm: IntArray) -> tuple[IntArray, float, float]:
        n_s, n_t = d.schedules.size, d.targets.size
        cover = d.local.T.tocsr()  # (targets, schedules)
        pos = np.flatnonzero(w > 0)
        neg = np.flatnonzero(w < 0)
        blocks: list[sp.csr_array] = [
            sp.hstack([sp.csr_array(np.ones((1, n_s))), sp.csr_array((1, n_t))]).tocsr()]
        lower: list[FloatArray] = [np.array([float(d.teams)])]
        upper: list[FloatArray] = [np.array([float(d.teams)])]
        if pos.size:
            y = sp.csr_array((np.ones(pos.size), (np.arange(pos.size), pos)),
                             shape=(pos.size, n_t))
            blocks.append(sp.hstack([-cover[pos], y]).tocsr())
            lower.append(np.full(pos.size, -np.inf))
            upper.append(np.zeros(pos.size))
        if neg.size:
            sub = cover[neg].tocoo()
            m = sub.nnz
            z = sp.csr_array((-np.ones(m), (np.arange(m), sub.col)), shape=(m, n_s))
            y = sp.csr_array((np.ones(m), (np.arange(m), neg[sub.row])), shape=(m, n_t))
            blocks.append(sp.hstack([z, y]).tocsr())
            lower.append(np.zeros(m))
            upper.append(np.full(m, np.inf))
        matrix = sp.vstack(blocks).tocsc()
        y_upper = np.where(w != 0, 1.0, 0.0)
        h = build_highs(np.concatenate([np.zeros(n_s), w]), matrix,
                        np.concatenate(lower), np.concatenate(upper),
                        col_lower=0.0, col_upper=np.concatenate([np.ones(n_s), y_upper]),
                        integrality=np.concatenate([np.ones(n_s), np.zeros(n_t)]),
                        maximize=True, mip_rel_gap=0.0, time_limit=self.limits.remaining())
        h.setOptionValue("mip_abs_gap", self.abs_gap)
        start = np.zeros(n_s + n_t)
        start[warm] = 1.0
        covered = np.zeros(n_t, dtype=bool)
        covered[d.local[np.sort(warm)].indices] = True
        start[n_s:] = np.where(covered & (w != 0), 1.0, 0.0)
        h.setSolution(start.size, np.arange(start.size, dtype=np.int32), start)
        res = run_highs(h, what="schedule pricing MILP")
        if not res.optimal:
            raise _LimitReached
        picks = np.flatnonzero(res.x[:n_s] > 0.5).astype(np.int64)
        if picks.size != d.teams:  # rounding noise: fall back to the top values
            picks = np.argsort(-res.x[:n_s])[:d.teams].astype(np.int64)
        return picks, self._value(d, w, picks), float(res.bound)


def _scale(game: SecurityGame) -> float:
    return max(1.0, float(max(np.abs(a).max() for a in (
        game.defender_covered, game.defender_uncovered,
        game.attacker_covered, game.attacker_uncovered))))


def _relaxed_bounds(sgame: ScheduleGame, pricer: _Pricer, k: int = 0) -> FloatArray:
    """Upper bound on type `k`'s multiple-LP values over a relaxed schedule polytope.

    ``-inf`` marks a target that type `k` can be made to attack under no strategy.
    """
    game = sgame.game
    n = game.n_targets
    coverable = np.zeros(n, dtype=bool)
    coverable[sgame.incidence.indices] = True
    cap = np.zeros(game.n_groups)
    for d in pricer.data:
        sizes = np.sort(np.diff(d.local.indptr))[::-1]
        cap[d.group] = min(float(sizes[:d.teams].sum()),
                           float(np.count_nonzero(coverable[d.targets])))
    delta_a = game.attacker_uncovered[k] - game.attacker_covered[k]
    au = game.attacker_uncovered[k]
    du, dc = game.defender_uncovered[k], game.defender_covered[k]
    budget = sp.csr_array((np.ones(n), (game.groups, np.arange(n))), shape=(game.n_groups, n))
    bounds = np.full(n, -np.inf)
    for t_star in range(n):
        others = np.delete(np.arange(n), t_star)
        att = sp.csr_array((np.concatenate([-delta_a[others], np.full(n - 1, delta_a[t_star])]),
                            (np.concatenate([others, others]),
                             np.concatenate([others, np.full(n - 1, t_star)]))), shape=(n, n))
        rows_hi = au[t_star] - au
        rows_hi[t_star] = np.inf
        matrix = sp.vstack([budget, att])
        cost = np.zeros(n)
        cost[t_star] = dc[t_star] - du[t_star]
        try:
            res = run_highs(build_highs(cost, matrix,
                                        np.full(game.n_groups + n, -np.inf),
                                        np.concatenate([cap, rows_hi]),
                                        col_lower=0.0, col_upper=coverable.astype(np.float64),
                                        maximize=True, offset=float(du[t_star])),
                            what="relaxed multiple LP")
        except InfeasibleError:
            continue
        bounds[t_star] = res.objective
    return bounds


class _ProfileMaster:
    """The multiple-LP master for a fixed attack profile (one attacked target per type).

    Columns: ``c`` (N), slack ``sigma``, pool columns. Rows: link (N), convexity (G),
    then per type ``k`` the attacker rows
    ``-Da_kt c_t + Da_kt* c_t* - sigma <= Ua_u,kt* - Ua_u,kt`` (K*N). The profile is
    switched in place, so the model and its columns are reused across profiles.
    """

    def __init__(self, sgame: ScheduleGame, pricer: _Pricer) -> None:
        game = sgame.game
        n, g, k = game.n_targets, game.n_groups, game.n_types
        self.n, self.g, self.k = n, g, k
        self.pricer = pricer
        self.priors = game.priors
        self.delta_a = game.attacker_uncovered - game.attacker_covered
        self.au = game.attacker_uncovered
        self.delta_d = game.defender_covered - game.defender_uncovered
        self.du = game.defender_uncovered
        att = sp.vstack([-sp.diags_array(self.delta_a[kk]) for kk in range(k)])
        top = sp.vstack([sp.identity(n, format="csc"), sp.csc_array((g, n)), att])
        sigma = sp.csc_array((np.full(k * n, -1.0), (np.arange(n + g, n + g + k * n),
                                                     np.zeros(k * n, dtype=np.int64))),
                             shape=(n + g + k * n, 1))
        pool = pricer.columns(0)
        pool = sp.vstack([pool, sp.csc_array((k * n, pool.shape[1]))])
        matrix = sp.hstack([top, sigma, pool]).tocsc()
        n_cols = matrix.shape[1]
        lower = np.concatenate([np.zeros(n), np.ones(g), np.full(k * n, -np.inf)])
        upper = np.concatenate([np.zeros(n), np.ones(g), np.full(k * n, np.inf)])
        col_upper = np.concatenate([np.ones(n), [np.inf], np.full(n_cols - n - 1, np.inf)])
        self.h = build_highs(np.zeros(n_cols), matrix, lower, upper, col_lower=0.0,
                             col_upper=col_upper)
        self.n_pool = pricer.size
        self.profile: IntArray | None = None

    def sync(self) -> None:
        """Append the pool's new columns to the model."""
        if self.pricer.size == self.n_pool:
            return
        cols = self.pricer.columns(self.n_pool)
        m = cols.shape[1]
        self.h.addCols(m, np.zeros(m), np.zeros(m), np.full(m, np.inf), cols.nnz,
                       cols.indptr[:-1].astype(np.int32), cols.indices.astype(np.int32),
                       cols.data)
        self.n_pool = self.pricer.size

    def target(self, profile: IntArray) -> None:
        """Make type ``k`` attack ``profile[k]``."""
        n, g, h = self.n, self.g, self.h
        for kk in range(self.k):
            base = n + g + kk * n
            old = -1 if self.profile is None else int(self.profile[kk])
            new = int(profile[kk])
            if old == new:
                continue
            da = self.delta_a[kk]
            if old >= 0:
                for t in range(n):
                    h.changeCoeff(base + t, old, -da[old] if t == old else 0.0)
            for t in range(n):
                h.changeCoeff(base + t, new, 0.0 if t == new else da[new])
            hi = self.au[kk, new] - self.au[kk]
            hi[new] = np.inf
            h.changeRowsBounds(n, np.arange(base, base + n, dtype=np.int32),  # type: ignore[attr-defined]
                               np.full(n, -np.inf), hi)
        self.profile = np.array(profile, dtype=np.int64)

    def phase(self, one: bool) -> None:
        h, n = self.h, self.n
        assert self.profile is not None
        for t in range(n):
            h.changeColCost(t, 0.0)
        if one:
            h.changeColCost(n, 1.0)
            h.changeColBounds(n, 0.0, np.inf)
            return
        h.changeColCost(n, 0.0)
        h.changeColBounds(n, 0.0, 0.0)
        cost = np.zeros(n)
        for kk, t in enumerate(self.profile):
            cost[t] -= self.priors[kk] * self.delta_d[kk, t]
        for j in np.flatnonzero(cost).tolist():
            h.changeColCost(j, float(cost[j]))

    def offset(self) -> float:
        assert self.profile is not None
        return float(sum(self.priors[kk] * self.du[kk, t] for kk, t in enumerate(self.profile)))

    def solve(self) -> tuple[float, FloatArray, FloatArray]:
        """Objective (min form), pool weights and row duals of the restricted master."""
        left = self.pricer.limits.remaining()
        self.h.setOptionValue("time_limit", math.inf if left is None else left)
        res = run_highs(self.h, what="schedule master LP")
        if not res.optimal:
            raise _LimitReached
        return res.objective, res.x[self.n + 1:], res.row_duals


@dataclass
class _Search:
    """Incumbent and open bounds of a multiple-LP search over attack profiles."""

    value: float = -math.inf
    profile: IntArray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    x: FloatArray = field(default_factory=lambda: np.zeros(0))
    open_bound: float = -math.inf
    finished: bool = False


def _search_profiles(sgame: ScheduleGame, pricer: _Pricer, limits: _Limits,
                     search: _Search) -> None:
    """Exact multiple LPs by column generation over attack profiles, best bound first.

    Updates `search` in place; on a limit it leaves ``finished=False`` and the largest
    bound still open in ``open_bound``.
    """
    game = sgame.game
    scale = _scale(game)
    tol = _PRICE_TOL * scale
    feas_tol = 1e-9 * scale
    per_type = [_relaxed_bounds(sgame, pricer, kk) for kk in range(game.n_types)]
    candidates = [np.flatnonzero(np.isfinite(b)) for b in per_type]
    grids = np.meshgrid(*candidates, indexing="ij")
    profiles = np.stack([gr.reshape(-1) for gr in grids], axis=1)
    bounds = sum(game.priors[kk] * per_type[kk][profiles[:, kk]] for kk in range(game.n_types))
    order = np.argsort(-bounds, kind="stable")
    profiles, bounds = profiles[order], np.asarray(bounds)[order]
    master = _ProfileMaster(sgame, pricer)
    search.open_bound = float(bounds[0]) if bounds.size else -math.inf
    for i, profile in enumerate(profiles):
        search.open_bound = float(bounds[i])
        if bounds[i] <= search.value + tol:
            break
        master.target(profile)
        master.phase(True)
        feasible = False
        while True:
            limits.tick()
            sigma, _, duals = master.solve()
            if sigma <= feas_tol:
                feasible = True
                break
            added, gain = pricer.price(duals, tol)
            if sigma - gain > feas_tol or not added:
                break
            master.sync()
        if not feasible:
            continue
        master.phase(False)
        bound = float(bounds[i])
        while True:
            limits.tick()
            try:
                obj, x, duals = master.solve()
            except InfeasibleError:  # phase 1 left a slack within tolerance only
                break
            value = master.offset() - obj
            if value > search.value:
                search.value, search.profile, search.x = value, profile.copy(), x.copy()
            added, gain = pricer.price(duals, tol)
            bound = min(bound, value + gain)
            search.open_bound = max(bound, float(bounds[i + 1]) if i + 1 < bounds.size
                                    else -math.inf)
            if bound <= search.value + tol or not added:
                break
            master.sync()
    search.open_bound = -math.inf
    search.finished = True


def _solve_single(sgame: ScheduleGame, pricer: _Pricer, limits: _Limits,
                  start: float) -> ScheduleEquilibrium:
    search = _Search()
    try:
        _search_profiles(sgame, pricer, limits, search)
    except _LimitReached:
        pass
    if search.profile.size == 0:
        msg = ("schedule solver reached its limit before finding any strategy; raise "
               "`time_limit` or `max_iterations`") if not search.finished else (
               "schedule game has no feasible strategy (HiGHS proved every attacked target "
               "infeasible), which cannot happen for a valid game")
        raise SolverError(msg)
    gap = 0.0 if search.finished else max(0.0, search.open_bound - search.value)
    return _result(sgame, pricer, search.x, search.profile, search.finished, gap, limits,
                   start, "schedules-cg")


def _result(sgame: ScheduleGame, pricer: _Pricer, x: FloatArray, attacked: IntArray,
            optimal: bool, gap: float, limits: _Limits, start: float,
            method: str) -> ScheduleEquilibrium:
    game = sgame.game
    x = np.clip(x[:pricer.size], 0.0, None)
    groups = np.array(pricer.col_group[:x.size], dtype=np.int64)
    totals = np.bincount(groups, weights=x, minlength=game.n_groups)
    keep = np.flatnonzero(x > 1e-12)
    probs = x[keep] / totals[groups[keep]]
    joint = tuple(pricer.col_schedules[j] for j in keep)
    coverage = pricer.coverage(np.bincount(keep, weights=probs,
                                           minlength=pricer.size).astype(np.float64))
    ud = game.defender_payoffs(coverage)
    ua = game.attacker_payoffs(coverage)
    types = np.arange(game.n_types)
    return ScheduleEquilibrium(
        coverage=coverage,
        defender_utility=float(np.sum(game.priors * ud[types, attacked])),
        attacked=attacked.astype(np.int64),
        attacker_utility=ua[types, attacked],
        method=method,
        optimal=optimal,
        gap=gap,
        seconds=time.perf_counter() - start,
        joint_schedules=joint,
        joint_groups=groups[keep],
        probabilities=probs,
        iterations=limits.iterations,
        columns=pricer.size,
    )


class _BayesMaster:
    """ERASER/DOBSS-style master for several attacker types over the shared pool.

    Columns: ``c`` (N), ``d`` (K), ``e`` (K), ``q`` (K*N, row-major by type), pool.
    Rows: link (N), convexity (G), defender (K*N), attacker lower (K*N), attacker
    upper (K*N), one-target-per-type (K).
    """

    def __init__(self, sgame: ScheduleGame, pricer: _Pricer) -> None:
        game = sgame.game
        n, g, k = game.n_targets, game.n_groups, game.n_types
        self.n, self.g, self.k = n, g, k
        self.pricer = pricer
        dc, du = game.defender_covered, game.defender_uncovered
        ac, au = game.attacker_covered, game.attacker_uncovered
        delta_d = (dc - du).reshape(-1)
        delta_a = (au - ac).reshape(-1)
        m_d = np.repeat(dc.max(axis=1) - du.min(axis=1), n)
        m_a = np.repeat(au.max(axis=1) - ac.min(axis=1), n)
        kn = k * n
        kt = np.arange(kn)
        t_of = np.tile(np.arange(n), k)
        k_of = np.repeat(np.arange(k), n)
        self.q0 = n + 2 * k
        q0 = self.q0
        # Row blocks: link (0), convexity (n), then these.
        r_link, r_def, r_lo, r_hi = 0, n + g, n + g + kn, n + g + 2 * kn
        r_sum = n + g + 3 * kn
        n_rows = r_sum + k
        rows: list[IntArray] = []
        cols: list[IntArray] = []
        vals: list[FloatArray] = []

        def put(r: npt.ArrayLike, c: npt.ArrayLike, v: npt.ArrayLike) -> None:
            rr = np.atleast_1d(np.asarray(r, dtype=np.int64))
            cc = np.atleast_1d(np.asarray(c, dtype=np.int64))
            vv = np.broadcast_to(np.asarray(v, dtype=np.float64), rr.shape)
            rows.append(rr)
            cols.append(cc)
            vals.append(np.array(vv))

        put(r_link + np.arange(n), np.arange(n), 1.0)
        put(r_def + kt, n + k_of, 1.0)
        put(r_def + kt, t_of, -delta_d)
        put(r_def + kt, q0 + kt, m_d)
        put(r_lo + kt, n + k + k_of, 1.0)
        put(r_lo + kt, t_of, delta_a)
        put(r_hi + kt, n + k + k_of, 1.0)
        put(r_hi + kt, t_of, delta_a)
        put(r_hi + kt, q0 + kt, m_a)
        put(r_sum + k_of, q0 + kt, 1.0)
        base_cols = q0 + kn
        base = sp.csc_array((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                            shape=(n_rows, base_cols))
        pool = pricer.columns(0)
        pool = sp.vstack([pool, sp.csc_array((n_rows - n - g, pool.shape[1]))])
        matrix = sp.hstack([base, pool]).tocsc()
        lower = np.concatenate([np.zeros(n), np.ones(g), np.full(kn, -np.inf),
                                au.reshape(-1), np.full(kn, -np.inf), np.ones(k)])
        upper = np.concatenate([np.zeros(n), np.ones(g), du.reshape(-1) + m_d,
                                np.full(kn, np.inf), au.reshape(-1) + m_a, np.ones(k)])
        n_pool = pool.shape[1]
        col_lower = np.concatenate([np.zeros(n), np.full(k, -np.inf), ac.min(axis=1),
                                    np.zeros(kn), np.zeros(n_pool)])
        col_upper = np.concatenate([np.ones(n), dc.max(axis=1), au.max(axis=1),
                                    np.ones(kn), np.full(n_pool, np.inf)])
        cost = np.concatenate([np.zeros(n), -game.priors, np.zeros(k), np.zeros(kn),
                               np.zeros(n_pool)])
        self.h = build_highs(cost, matrix, lower, upper, col_lower=col_lower,
                             col_upper=col_upper)
        self.n_pool = pricer.size
        self.pool0 = base_cols

    def sync(self) -> None:
        if self.pricer.size == self.n_pool:
            return
        cols = self.pricer.columns(self.n_pool)
        k = cols.shape[1]
        self.h.addCols(k, np.zeros(k), np.zeros(k), np.full(k, np.inf), cols.nnz,
                       cols.indptr[:-1].astype(np.int32), cols.indices.astype(np.int32),
                       cols.data)
        self.n_pool = self.pricer.size

    def q_index(self) -> npt.NDArray[np.int32]:
        return np.arange(self.q0, self.q0 + self.k * self.n, dtype=np.int32)

    def set_integer(self, integer: bool) -> None:
        idx = self.q_index()
        kind = highspy.HighsVarType.kInteger if integer else highspy.HighsVarType.kContinuous
        self.h.changeColsIntegrality(idx.size, idx, np.array([kind] * idx.size))

    def fix_profile(self, attacked: IntArray | None) -> None:
        idx = self.q_index()
        lo = np.zeros(idx.size)
        hi = np.ones(idx.size)
        if attacked is not None:
            hi[:] = 0.0
            pos = np.arange(self.k) * self.n + attacked
            lo[pos] = 1.0
            hi[pos] = 1.0
        self.h.changeColsBounds(idx.size, idx, lo, hi)

    def solve(self, what: str) -> tuple[float, FloatArray, FloatArray, bool]:
        """Value (max form), solution, row duals and optimality of the current model."""
        h = self.h
        left = self.pricer.limits.remaining()
        h.setOptionValue("time_limit", math.inf if left is None else left)
        try:
            res = run_highs(h, what=what)
        except SolverError:
            if time.perf_counter() >= self.pricer.limits.deadline:
                raise _LimitReached from None
            raise
        return -res.objective, res.x, res.row_duals, res.optimal

    def column_generation(self, limits: _Limits, tol: float) -> tuple[float, float, FloatArray]:
        """Price the LP to optimality; return its last value, proven bound and solution."""
        bound = math.inf
        while True:
            limits.tick()
            value, x, duals, optimal = self.solve("Bayesian schedule master LP")
            if not optimal:
                raise _LimitReached
            added, gain = self.pricer.price(duals, tol)
            bound = min(bound, value + gain)
            if not added or bound <= value + tol:
                return value, max(value, bound), x
            self.sync()


def _solve_bayesian(sgame: ScheduleGame, pricer: _Pricer, limits: _Limits, start: float,
                    rng: np.random.Generator) -> ScheduleEquilibrium:
    game = sgame.game
    n, k = game.n_targets, game.n_types
    tol = _PRICE_TOL * _scale(game)
    pricer.abs_gap = tol / 2
    upper = math.inf
    best_value, best_x, best_attacked = -math.inf, np.zeros(0), np.zeros(k, dtype=np.int64)
    try:
        type_values = []
        for kk in range(k):
            single = ScheduleGame(game.single_type(kk), sgame.incidence, sgame.schedule_groups)
            left = limits.remaining()
            sub = solve_schedules(single, time_limit=left, seed=rng)
            for joint, g in zip(sub.joint_schedules, sub.joint_groups, strict=True):
                pricer.add_global(int(g), joint)
            type_values.append(sub.defender_utility + sub.gap)
        upper = float(np.dot(game.priors, type_values))
        master = _BayesMaster(sgame, pricer)
        _, root_bound, _ = master.column_generation(limits, tol)
        upper = min(upper, root_bound)
        profile: IntArray | None = None
        for _ in range(_ROUNDS):
            master.fix_profile(None)
            master.set_integer(True)
            limits.tick()
            value, x, _, _ = master.solve("Bayesian schedule MILP")
            master.set_integer(False)
            attacked = np.argmax(x[master.q0:master.q0 + k * n].reshape(k, n), axis=1)
            if value > best_value:
                best_value, best_x, best_attacked = value, x[master.pool0:].copy(), attacked
            if best_value >= upper - tol or (profile is not None
                                             and np.array_equal(attacked, profile)):
                break
            profile = attacked
            master.fix_profile(attacked)
            value, _, x = master.column_generation(limits, tol)
            if value > best_value:
                best_value, best_x, best_attacked = value, x[master.pool0:].copy(), attacked
            if best_value >= upper - tol:
                break
    except _LimitReached:
        pass
    search = _Search(best_value, best_attacked.astype(np.int64), best_x)
    if (best_x.size and best_value < upper - tol and time.perf_counter() < limits.deadline
            and n ** k <= _MAX_PROFILES):
        try:
            _search_profiles(sgame, pricer, limits, search)
        except _LimitReached:
            pass
        if search.finished:
            upper = search.value
        elif math.isfinite(search.open_bound):
            upper = min(upper, max(search.value, search.open_bound))
    best_value, best_x, best_attacked = search.value, search.x, search.profile
    if best_x.size == 0:
        msg = ("Bayesian schedule solver reached its limit before finding any strategy; "
               "raise `time_limit` or `max_iterations`")
        raise SolverError(msg)
    gap = max(0.0, upper - best_value)
    return _result(sgame, pricer, best_x, best_attacked.astype(np.int64),
                   gap <= 10 * tol, gap, limits, start, "schedules-price-and-branch")
