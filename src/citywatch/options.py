"""How a plan is solved: one set of options, built by every caller, stored with the plan.

`PlanOptions` is the only description of a solve. The CLI, the web schemas, `whatif`,
`capacity`, `sweep` and the Python API all build one; ``PlanOptions()`` is the
default everywhere (``citywatch plan``, ``compare optimal``, the "before" of a
what-if, the dashboard's default plan), and a stored plan records the options it was
solved with (`PlanOptions.to_dict` / `PlanOptions.from_dict`).

Limits come in two kinds (`SolveLimits`). *Work limits* (branch-and-bound nodes,
ARV placements evaluated) are deterministic: the same inputs give the same plan on
an idle and on a loaded machine. *Wall-clock limits* are safety nets only; when one
stops a solve the plan says so, because another machine could have gone further.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from citywatch.errors import GameError, ScenarioError
from citywatch.model.standards import ResponseStandard, parse_standard

__all__ = ["ARV_EVALUATIONS", "ARV_METHODS", "ATTACKER_MODELS", "QUICK", "SHIFT_LENGTHS",
           "PlanOptions", "PolicyOptions", "SolveLimits"]

#: The planner's attacker models (``"auto"`` is the exact Bayesian solver).
ATTACKER_MODELS = ("auto", "bayesian", "mixture", "qr")
#: How the ARV standby posts are chosen.
ARV_METHODS = ("joint", "sequential", "greedy")
#: Shift lengths (hours) the shift optimiser may choose from.
SHIFT_LENGTHS = (8.0, 10.0, 12.0)


def _number(name: str, value: Any, *, low: float, high: float | None = None,
            allow_none: bool = True, integer: bool = False) -> None:
    """Raise `GameError` naming `name` unless `value` is a number in range."""
    if value is None and allow_none:
        return
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if ok and integer:
        ok = float(value).is_integer()
    if ok:
        ok = math.isfinite(value) and value >= low and (high is None or value <= high)
    if not ok:
        kind = "an integer" if integer else "a number"
        rng = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
        msg = f"`{name}` must be {kind} {rng}" + (" or null" if allow_none else "") + \
            f", got {value!r}"
        raise GameError(msg)


@dataclass(frozen=True)
class PolicyOptions:
    """Planners' constraints on the randomised plan (all optional).

    Attributes
    ----------
    max_site_coverage
        Cap on any site's coverage in any slot (public reassurance: no site is under
        armed guard all the time).
    zone_min_teams
        Expected armed teams each zone (borough) gets in each slot at least, as far as
        its sites allow (no community left without).
    zone_max_share
        Largest share of a slot's patrol teams one zone may take (no community
        over-exposed to armed presence).
    required
        Minimum coverage of named sites in every slot, ``((site_id, coverage), ...)``.
    """

    max_site_coverage: float | None = None
    zone_min_teams: float | None = None
    zone_max_share: float | None = None
    required: tuple[tuple[str, float], ...] = ()

    @property
    def active(self) -> bool:
        """Whether any constraint is asked for."""
        return (self.max_site_coverage is not None or self.zone_min_teams is not None
                or self.zone_max_share is not None or bool(self.required))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``required`` as ``[[site, coverage], ...]``)."""
        return {"max_site_coverage": self.max_site_coverage,
                "zone_min_teams": self.zone_min_teams,
                "zone_max_share": self.zone_max_share,
                "required": [[s, c] for s, c in self.required]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PolicyOptions:
        """The inverse of `to_dict` (missing keys take their defaults)."""
        if data is None:
            return cls()
        _known("policy", data, ("max_site_coverage", "zone_min_teams", "zone_max_share",
                                "required"))
        required = data.get("required") or ()
        try:
            pairs = tuple((str(s), float(c)) for s, c in required)
        except (TypeError, ValueError):
            msg = f"`policy.required` must be a list of [site, coverage] pairs, got {required!r}"
            raise GameError(msg) from None
        return cls(data.get("max_site_coverage"), data.get("zone_min_teams"),
                   data.get("zone_max_share"), pairs)


#: Default work limit of the joint ARV search (placements evaluated).
ARV_EVALUATIONS = 20_000


@dataclass(frozen=True)
class SolveLimits:
    """How much work the solvers may do, and the wall-clock safety nets.

    Attributes
    ----------
    mip_nodes
        Work limit of the Bayesian solver's branch and bound: boxes of the level search
        (`citywatch.games.bayesian_levels`), a deterministic limit; ``None`` solves to
        the proven optimum (the MILP closes what the boxes leave open). The default
        2,000 proves the London default plan's game optimal (a few hundred boxes, 1-3 s
        on the games of 2026-12-02); a game it does not close gets the best strategy
        found and the search's proven gap. ``0`` runs no branch and bound: the
        profile-LP heuristic with the trivial bound (each type's single-type SSE),
        9-12% on London.
    arv_evaluations
        ARV placements the joint search may evaluate (each one an exact ORIGAMI solve
        of the patrol game); the local search stops at a local optimum or at this
        count, whichever comes first. A work limit: deterministic. The default lets
        London's search reach its local optimum (9,137 placements, 2 s of CPU).
    time_limit
        Wall-clock seconds for the patrol solve (Bayesian MILP, quantal response): a
        safety net, never reached on the default London plan.
    arv_time_limit
        Wall-clock seconds for the joint ARV search: a safety net.
    shift_evaluations
        Shift patterns the shift optimiser may score (``PlanOptions.optimise_shifts``),
        a work limit: deterministic.
    """

    mip_nodes: int | None = 2_000
    arv_evaluations: int = ARV_EVALUATIONS
    time_limit: float | None = 300.0
    arv_time_limit: float | None = 300.0
    shift_evaluations: int = 400

    def __post_init__(self) -> None:
        _number("limits.mip_nodes", self.mip_nodes, low=0, integer=True)
        _number("limits.arv_evaluations", self.arv_evaluations, low=1, integer=True,
                allow_none=False)
        _number("limits.shift_evaluations", self.shift_evaluations, low=1, integer=True,
                allow_none=False)
        _number("limits.time_limit", self.time_limit, low=1e-3)
        _number("limits.arv_time_limit", self.arv_time_limit, low=1e-3)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"mip_nodes": self.mip_nodes, "arv_evaluations": self.arv_evaluations,
                "time_limit": self.time_limit, "arv_time_limit": self.arv_time_limit,
                "shift_evaluations": self.shift_evaluations}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> SolveLimits:
        """The inverse of `to_dict` (missing keys take their defaults)."""
        if data is None:
            return cls()
        _known("limits", data, ("mip_nodes", "arv_evaluations", "time_limit",
                                "arv_time_limit", "shift_evaluations"))
        return cls(**{k: data[k] for k in data})


@dataclass(frozen=True)
class PlanOptions:
    """Everything about *how* a plan is solved (the scenario says *what*).

    Attributes
    ----------
    attacker
        The planner's attacker model: ``"bayesian"`` (each attack type best-responds on
        its own: the exact Bayesian Stackelberg equilibrium), ``"mixture"`` (one
        attacker with prior-weighted payoffs, solved exactly by ORIGAMI), ``"qr"``
        (quantal response with rationality `lam`); ``"auto"`` means ``"bayesian"``.
    arv
        Where the armed response vehicles wait: ``"joint"`` (chosen with the patrols),
        ``"sequential"`` (maximal covering first) or ``"greedy"``.
    lam
        Quantal-response rationality (``attacker="qr"`` only; ``None``: the solver's
        default).
    policy
        Planners' constraints on the coverage.
    limits
        Work limits and wall-clock safety nets.
    response_standards
        ARV response standards every slot must meet (a hard constraint); ``None``: the
        scenario's own, ``()``: none.
    optimise_shifts
        Choose how many officers start each shift (`shift_lengths` hours, on the hour,
        within the working-time rules) for the least expected casualties per attack
        (`citywatch.schedule.shifts.optimise_shifts`), instead of the scenario's fixed
        pattern; the plan reports the gain over it.
    shift_lengths
        Shift lengths (hours, among 8, 10 and 12) the optimiser may use.
    """

    attacker: str = "auto"
    arv: str = "joint"
    lam: float | None = None
    policy: PolicyOptions = field(default_factory=PolicyOptions)
    limits: SolveLimits = field(default_factory=SolveLimits)
    response_standards: tuple[ResponseStandard, ...] | None = None
    optimise_shifts: bool = False
    shift_lengths: tuple[float, ...] = SHIFT_LENGTHS

    def __post_init__(self) -> None:
        if not isinstance(self.optimise_shifts, bool):
            msg = f"`optimise_shifts` must be true or false, got {self.optimise_shifts!r}"
            raise GameError(msg)
        lengths = self.shift_lengths
        if (not isinstance(lengths, tuple) or not lengths
                or any(isinstance(x, bool) or x not in SHIFT_LENGTHS for x in lengths)
                or len(set(lengths)) != len(lengths)):
            msg = (f"`shift_lengths` must be distinct hours among 8, 10 and 12, got "
                   f"{lengths!r}")
            raise GameError(msg)
        if self.attacker not in ATTACKER_MODELS:
            msg = (f"`attacker` must be one of {', '.join(ATTACKER_MODELS)}, "
                   f"got {self.attacker!r}")
            raise GameError(msg)
        if self.arv not in ARV_METHODS:
            msg = f"`arv` must be one of {', '.join(ARV_METHODS)}, got {self.arv!r}"
            raise GameError(msg)
        _number("lambda", self.lam, low=0.0)
        if self.lam is not None and self.attacker != "qr":
            msg = f"`lambda` applies to the qr attacker only, got attacker {self.attacker!r}"
            raise GameError(msg)
        if self.policy.active and self.attacker == "qr":
            msg = ("policy constraints are solved for the mixture or the Bayesian attacker; "
                   "got `attacker` = 'qr'")
            raise GameError(msg)

    @property
    def attacker_model(self) -> str:
        """The attacker model solved for (``"auto"`` resolved)."""
        return "bayesian" if self.attacker == "auto" else self.attacker

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; `from_dict` inverts it exactly."""
        return {"attacker": self.attacker, "arv": self.arv, "lam": self.lam,
                "policy": self.policy.to_dict(), "limits": self.limits.to_dict(),
                "response_standards": None if self.response_standards is None
                else [{"minutes": s.minutes, "share": s.share}
                      for s in self.response_standards],
                "optimise_shifts": self.optimise_shifts,
                "shift_lengths": list(self.shift_lengths)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> PlanOptions:
        """Options from `to_dict`'s form (missing keys take their defaults).

        Raises
        ------
        GameError
            Naming the field, for an unknown key or a bad value.
        """
        if data is None:
            return cls()
        _known("options", data, ("attacker", "arv", "lam", "policy", "limits",
                                 "response_standards", "optimise_shifts", "shift_lengths"))
        texts = data.get("response_standards")
        try:
            standards = None if texts is None else tuple(
                parse_standard(x, name="options.response_standards") if isinstance(x, str)
                else ResponseStandard(float(x["minutes"]), float(x.get("share", 1.0)))
                for x in texts)
        except (ScenarioError, TypeError, KeyError, ValueError) as err:
            msg = f"`options.response_standards` is not a list of standards: {err}"
            raise GameError(msg) from None
        lengths = data.get("shift_lengths", SHIFT_LENGTHS)
        try:
            lengths = tuple(float(x) for x in lengths)
        except (TypeError, ValueError):
            msg = f"`options.shift_lengths` must be a list of hours, got {lengths!r}"
            raise GameError(msg) from None
        return cls(attacker=str(data.get("attacker", "auto")), arv=str(data.get("arv", "joint")),
                   lam=data.get("lam"), policy=PolicyOptions.from_dict(data.get("policy")),
                   limits=SolveLimits.from_dict(data.get("limits")),
                   response_standards=standards,
                   optimise_shifts=data.get("optimise_shifts", False),
                   shift_lengths=lengths)


#: Options for commands that re-plan many times (``capacity``, ``sweep``): the mixture
#: attacker (exact, by ORIGAMI) and greedy ARV posts. Not the default plan.
QUICK = PlanOptions(attacker="mixture", arv="greedy")


def _known(where: str, data: Mapping[str, Any], keys: tuple[str, ...]) -> None:
    if not isinstance(data, Mapping):
        msg = f"`{where}` must be an object, got {data!r}"
        raise GameError(msg)
    extra = sorted(set(data) - set(keys))
    if extra:
        msg = f"`{where}` has unknown field(s) {', '.join(extra)}; known: {', '.join(keys)}"
        raise GameError(msg)
