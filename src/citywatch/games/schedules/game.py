"""Schedule games (ASPEN): teams choose whole schedules, and the equilibria that say so."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from citywatch.errors import GameError
from citywatch.games.equilibrium import Equilibrium, verify_equilibrium
from citywatch.model.game import SecurityGame

__all__ = [
    "ScheduleEquilibrium",
    "ScheduleGame",
    "singleton_schedules",
    "verify_schedule_equilibrium",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


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
