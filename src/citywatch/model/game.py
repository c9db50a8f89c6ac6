"""The security game: targets, budget groups and attacker types with their payoff vectors."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError

__all__ = ["SecurityGame"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

_PRIOR_TOL = 1e-6


def _matrix(name: str, values: npt.ArrayLike) -> FloatArray:
    arr = np.array(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[np.newaxis, :]
    if arr.ndim != 2:
        msg = f"`{name}` must be a vector or a (types, targets) matrix, got shape {arr.shape}"
        raise GameError(msg)
    if not np.all(np.isfinite(arr)):
        bad = np.argwhere(~np.isfinite(arr))[0]
        msg = f"`{name}` must be finite, got {arr[tuple(bad)]} at type {bad[0]}, target {bad[1]}"
        raise GameError(msg)
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False, init=False)
class SecurityGame:
    """A Stackelberg security game in compact (coverage) form.

    The defender splits ``resources[g]`` teams over the targets of budget group ``g``
    (a time slot, say), each target covered with probability ``c_t`` in [0, 1] and
    ``sum(c_t for t in g) <= resources[g]``. Attacker type ``k`` (probability
    ``priors[k]``) observes the coverage and attacks one target. If target ``t`` is
    attacked, the defender gets ``c_t * defender_covered[k, t] + (1 - c_t) *
    defender_uncovered[k, t]``, and the attacker the same with its own payoffs.

    Payoff matrices have shape ``(types, targets)``; a single vector means one type.
    The security-game assumptions hold by construction: covering a target is good for
    the defender and bad for the attacker (``defender_covered >= defender_uncovered``
    and ``attacker_covered <= attacker_uncovered``).

    Parameters
    ----------
    defender_covered, defender_uncovered, attacker_covered, attacker_uncovered
        Payoffs, shape ``(types, targets)`` or ``(targets,)``.
    resources
        Teams available in each budget group (a bare int for one group).
    groups
        Budget group of each target; default all 0.
    priors
        Probability of each attacker type; default uniform. Must sum to 1.
    target_labels, type_names, group_labels
        Optional names used in reports and the JSON interchange format.
    """

    defender_covered: FloatArray
    defender_uncovered: FloatArray
    attacker_covered: FloatArray
    attacker_uncovered: FloatArray
    resources: IntArray
    groups: IntArray
    priors: FloatArray
    target_labels: tuple[str, ...] | None
    type_names: tuple[str, ...] | None
    group_labels: tuple[str, ...] | None

    def __init__(self, defender_covered: npt.ArrayLike, defender_uncovered: npt.ArrayLike,
                 attacker_covered: npt.ArrayLike, attacker_uncovered: npt.ArrayLike, *,
                 resources: npt.ArrayLike, groups: npt.ArrayLike | None = None,
                 priors: npt.ArrayLike | None = None,
                 target_labels: Sequence[str] | None = None,
                 type_names: Sequence[str] | None = None,
                 group_labels: Sequence[str] | None = None) -> None:
        dc = _matrix("defender_covered", defender_covered)
        du = _matrix("defender_uncovered", defender_uncovered)
        ac = _matrix("attacker_covered", attacker_covered)
        au = _matrix("attacker_uncovered", attacker_uncovered)
        shape = dc.shape
        for name, arr in (("defender_uncovered", du), ("attacker_covered", ac),
                          ("attacker_uncovered", au)):
            if arr.shape != shape:
                msg = f"`{name}` has shape {arr.shape}, expected {shape} like `defender_covered`"
                raise GameError(msg)
        n_types, n_targets = shape
        if n_targets == 0:
            msg = "a security game needs at least one target, got 0"
            raise GameError(msg)
        bad = np.argwhere(dc < du)
        if bad.size:
            k, t = bad[0]
            msg = (f"`defender_covered` must be >= `defender_uncovered` (covering helps the "
                   f"defender), got {dc[k, t]} < {du[k, t]} at type {k}, target {t}")
            raise GameError(msg)
        bad = np.argwhere(ac > au)
        if bad.size:
            k, t = bad[0]
            msg = (f"`attacker_covered` must be <= `attacker_uncovered` (covering hurts the "
                   f"attacker), got {ac[k, t]} > {au[k, t]} at type {k}, target {t}")
            raise GameError(msg)

        groups_in = groups
        groups = (np.zeros(n_targets, dtype=np.int64) if groups_in is None
                  else np.asarray(groups_in))
        if groups.shape != (n_targets,) or (groups.size and groups.dtype.kind not in "iu"):
            msg = f"`groups` must hold one integer per target ({n_targets}), got {groups!r}"
            raise GameError(msg)
        groups = groups.astype(np.int64)
        resources_in = resources
        resources = np.atleast_1d(np.asarray(resources_in))
        if resources.ndim != 1 or resources.dtype.kind not in "iu":
            msg = f"`resources` must be integers (teams), got {resources_in!r}"
            raise GameError(msg)
        resources = resources.astype(np.int64)
        n_groups = resources.size
        if groups.min() < 0 or groups.max() >= n_groups:
            msg = (f"`groups` values must lie in 0..{n_groups - 1} (one per `resources` entry), "
                   f"got {int(groups.min())}..{int(groups.max())}")
            raise GameError(msg)
        if np.any(resources < 0):
            msg = f"`resources` must be >= 0, got {resources.tolist()}"
            raise GameError(msg)
        sizes = np.bincount(groups, minlength=n_groups)
        over = np.flatnonzero(resources > sizes)
        if over.size:
            g = int(over[0])
            msg = (f"`resources` of group {g} is {int(resources[g])}, more than its "
                   f"{int(sizes[g])} targets")
            raise GameError(msg)

        priors = (np.full(n_types, 1.0 / n_types) if priors is None
                  else np.asarray(priors, dtype=np.float64).reshape(-1))
        if priors.shape != (n_types,):
            msg = f"`priors` must have one entry per attacker type ({n_types}), got {priors.size}"
            raise GameError(msg)
        if not np.all(np.isfinite(priors)) or np.any(priors < 0):
            msg = f"`priors` must be finite and >= 0, got {priors.tolist()}"
            raise GameError(msg)
        if abs(priors.sum() - 1.0) > _PRIOR_TOL:
            msg = f"`priors` must sum to 1, got {priors.sum():.6g}"
            raise GameError(msg)

        for name, labels, size in (("target_labels", target_labels, n_targets),
                                   ("type_names", type_names, n_types),
                                   ("group_labels", group_labels, n_groups)):
            if labels is not None and len(labels) != size:
                msg = f"`{name}` must have {size} entries, got {len(labels)}"
                raise GameError(msg)

        for arr in (groups, resources, priors):
            arr.setflags(write=False)
        set_ = object.__setattr__
        set_(self, "defender_covered", dc)
        set_(self, "defender_uncovered", du)
        set_(self, "attacker_covered", ac)
        set_(self, "attacker_uncovered", au)
        set_(self, "groups", groups)
        set_(self, "resources", resources)
        set_(self, "priors", priors)
        for name, value in (("target_labels", target_labels), ("type_names", type_names),
                            ("group_labels", group_labels)):
            set_(self, name, None if value is None else tuple(str(v) for v in value))

    @property
    def n_targets(self) -> int:
        """Number of targets."""
        return int(self.defender_covered.shape[1])

    @property
    def n_types(self) -> int:
        """Number of attacker types."""
        return int(self.defender_covered.shape[0])

    @property
    def n_groups(self) -> int:
        """Number of budget groups."""
        return int(self.resources.size)

    def defender_payoffs(self, coverage: npt.ArrayLike) -> FloatArray:
        """Defender's expected utility if each type attacks each target, shape (types, targets)."""
        c = np.asarray(coverage, dtype=np.float64)
        return c * self.defender_covered + (1.0 - c) * self.defender_uncovered

    def attacker_payoffs(self, coverage: npt.ArrayLike) -> FloatArray:
        """Each attacker type's expected utility at each target, shape (types, targets)."""
        c = np.asarray(coverage, dtype=np.float64)
        return c * self.attacker_covered + (1.0 - c) * self.attacker_uncovered

    def group_coverage(self, coverage: npt.ArrayLike) -> FloatArray:
        """Coverage used in each budget group."""
        c = np.asarray(coverage, dtype=np.float64)
        return np.bincount(self.groups, weights=c, minlength=self.n_groups).astype(np.float64)

    def is_feasible(self, coverage: npt.ArrayLike, *, tol: float = 1e-7) -> bool:
        """Whether `coverage` lies in [0, 1] and respects every group's budget."""
        c = np.asarray(coverage, dtype=np.float64)
        if c.shape != (self.n_targets,) or not np.all(np.isfinite(c)):
            return False
        in_box = bool(np.all(c >= -tol) and np.all(c <= 1 + tol))
        return in_box and bool(np.all(self.group_coverage(c) <= self.resources + tol))

    def single_type(self, k: int) -> SecurityGame:
        """The game against attacker type `k` alone."""
        if not 0 <= k < self.n_types:
            msg = f"`k` must lie in 0..{self.n_types - 1}, got {k}"
            raise GameError(msg)
        return SecurityGame(
            self.defender_covered[k], self.defender_uncovered[k],
            self.attacker_covered[k], self.attacker_uncovered[k],
            resources=self.resources, groups=self.groups, priors=None,
            target_labels=self.target_labels,
            type_names=None if self.type_names is None else (self.type_names[k],),
            group_labels=self.group_labels,
        )

    def mixture(self) -> SecurityGame:
        """One attacker type whose payoffs are the prior-weighted mean of all types.

        This is exact for the defender's expected utility only when every type attacks
        the same target; it is the classic single-type approximation of a Bayesian game.
        """
        w = self.priors[:, np.newaxis]
        return SecurityGame(
            (w * self.defender_covered).sum(axis=0), (w * self.defender_uncovered).sum(axis=0),
            (w * self.attacker_covered).sum(axis=0), (w * self.attacker_uncovered).sum(axis=0),
            resources=self.resources, groups=self.groups,
            target_labels=self.target_labels, type_names=("mixture",),
            group_labels=self.group_labels,
        )
