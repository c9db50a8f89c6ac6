"""The planning pipeline: a scenario and `PlanOptions` in, one `citywatch.plan.Plan` out.

`make_plan` runs the stages in order: ARV posts (`plan_arv_posts`: greedy, sequential or
jointly with the patrols, under the response standards), the payoffs of every site and
slot, the patrol game for the chosen attacker model (mixture, Bayesian, quantal
response; policy constraints), the filler rule for team-slots the equilibrium does not
need, and protection posts; or, with ``optimise_shifts``, the same on the best shift
pattern. Every stage stops on a work limit; wall-clock limits are safety nets whose use
the plan records (``clock_limited``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from citywatch.errors import GameError
from citywatch.games.equilibrium import best_responses
from citywatch.model.payoffs import build_game
from citywatch.model.scenario import Scenario
from citywatch.model.standards import ResponseStandard
from citywatch.options import PlanOptions, PolicyOptions, SolveLimits
from citywatch.plan import Plan, _standards, policy_constraints
from citywatch.progress import stage

if TYPE_CHECKING:
    from citywatch.response.joint import JointPlan

__all__ = ["make_plan", "plan_arv_posts"]

FloatArray = npt.NDArray[np.float64]


def make_plan(scenario: Scenario, options: PlanOptions | None = None, *,
              attacker: str | None = None, arv: str | None = None, lam: float | None = None,
              policy: PolicyOptions | None = None, limits: SolveLimits | None = None,
              response_standards: tuple[ResponseStandard, ...] | None = None,
              seed: int | np.random.SeedSequence | None = None) -> Plan:
    """Solve the scenario's deployment game under `options`.

    Parameters
    ----------
    scenario
        The scenario.
    options
        How to solve (`PlanOptions`); ``None`` is ``PlanOptions()``, the default of every
        command, the web service and this function alike.
    attacker, arv, lam, policy, limits
        Shorthands that replace the matching field of `options`
        (``make_plan(sc, attacker="mixture")`` is
        ``make_plan(sc, PlanOptions(attacker="mixture"))``).
    seed
        Entropy recorded in the plan for the rosters and simulations drawn from it
        (an int or a `numpy.random.SeedSequence`); ``None`` draws fresh OS entropy and
        records it, so a run without a seed can be reproduced. Solving uses no
        randomness.

    Notes
    -----
    The patrols are solved for the attacker model: ``"bayesian"`` (and ``"auto"``) is
    the exact Bayesian Stackelberg equilibrium over the attack types (with the policy
    constraints, if any); ``"mixture"`` one prior-weighted attacker, exactly (ORIGAMI,
    or one LP per attacked target under policy constraints); ``"qr"`` a quantal-response
    attacker. The ARV posts are chosen first (``"joint"``: with the patrols of the
    mixture game, `citywatch.response.joint_plan`; ``"sequential"``: MCLP;
    ``"greedy"``: one vehicle at a time, the response standards first, then the least
    people-weighted response time, `citywatch.response.joint.greedy_posts`).

    Team-slots the Bayesian equilibrium does not need are deployed by a stated rule
    (*filler*): in each slot, on the targets no attack type chooses, in proportion to
    the people present (water-filled, none above coverage one). Adding coverage where
    no type attacks leaves every type's best response and the plan's value unchanged;
    the filler is recorded per target (`Plan.filler`) and never counted among the most
    covered sites.

    Every solve stops on a deterministic work limit or at its proven optimum; the
    wall-clock limits in `SolveLimits` are safety nets, and when one stops a solve
    the plan says so (`Plan.clock_limited`).

    Response standards (`PlanOptions.response_standards`, default the scenario's;
    London's is armed help within 15 minutes at every site) are a hard constraint on
    every slot's ARV posts; sequential posts are moved as little as needed to meet
    them (`citywatch.response.standards.repair`), greedy ones meet them first.

    Raises
    ------
    InfeasibleError
        When the fleet cannot meet a response standard.
    """
    opts = options if options is not None else PlanOptions()
    changes = {k: v for k, v in (("attacker", attacker), ("arv", arv), ("lam", lam),
                                 ("policy", policy), ("limits", limits),
                                 ("response_standards", response_standards))
               if v is not None}
    if changes:
        opts = dataclasses.replace(opts, **changes)
    if not isinstance(opts, PlanOptions):
        msg = f"`options` must be a PlanOptions, got {type(opts).__name__}"
        raise GameError(msg)
    entropy = _entropy(seed)
    if opts.optimise_shifts:
        return _plan_optimising_shifts(scenario, opts, entropy)
    lim = opts.limits
    notes: list[str] = []
    clock_limited = False
    arv_plan: dict[str, Any] | None = None
    standards = _standards(scenario, opts)
    posts, jp = plan_arv_posts(scenario, opts)
    with stage("payoffs of every site and slot"):
        built = build_game(scenario, arv_posts=posts)
    if jp is None and opts.arv == "greedy":
        notes.append("ARV posts placed greedily one vehicle at a time: first to meet the "
                     "response standards, then for the least people-weighted expected "
                     "response time (nested: a larger fleet keeps the smaller one's posts).")
    elif jp is None:
        notes.append("ARV posts placed first by maximal covering (MCLP, 8-minute standard), "
                     "then the patrols planned (the sequential plan).")
    else:
        arv_plan = jp.to_dict()
        proof = ("proven optimal" if jp.optimal else
                 f"within {jp.expected_loss - jp.bound:.3g} of the optimum (proven bound)")
        notes.append(f"ARV posts chosen jointly with the patrols ({jp.method} search, "
                     f"{proof}): {jp.expected_loss:.3g} casualty-equivalents per attack for "
                     f"the mixture attacker against {jp.sequential_loss:.3g} for the "
                     f"sequential plan (MCLP first, then the game), a gain of "
                     f"{jp.gain:.3g}.")
        if jp.clock_limited:
            clock_limited = True
            notes.append(f"The ARV search was stopped by its wall-clock safety net "
                         f"({lim.arv_time_limit} s) before its work limit: the posts may "
                         f"differ on another machine.")
    game = built.game
    model = opts.attacker_model
    policy_result = None
    policy_rows = (policy_constraints(scenario, built, opts.policy) if opts.policy.active
                   else [])
    filler: FloatArray | None = None
    if model == "mixture" and policy_rows:
        from citywatch.games.policy import solve_with_policy

        with stage("mixture solve under the policy constraints"):
            policy_result = solve_with_policy(game.mixture(), policy_rows)
        eq = policy_result.equilibrium
        notes.append("Planned against the prior-weighted mixture of the attack types under "
                     "the policy constraints (exact: one LP per attacked target); the policy "
                     f"costs {policy_result.total_cost:.3g} casualty-equivalents per attack "
                     "against that attacker.")
    elif model == "mixture":
        from citywatch.games.origami import solve_origami

        with stage("mixture solve (ORIGAMI)"):
            eq = solve_origami(game.mixture())
        notes.append("Planned against one attacker whose payoffs are the prior-weighted "
                     "mixture of the attack types (solved exactly with ORIGAMI); each type's "
                     "own best response is then evaluated against that coverage.")
    elif model == "bayesian":
        from citywatch.games.bayesian import solve_bayesian

        with stage("Bayesian Stackelberg solve", limit_s=lim.time_limit):
            eq = solve_bayesian(game, time_limit=lim.time_limit, constraints=policy_rows,
                                node_limit=lim.mip_nodes)
        if policy_rows:
            notes.append(f"Solved under {len(policy_rows)} policy constraints. What each "
                         f"family costs is computed exactly for the mixture attacker: run "
                         f"with --attacker mixture.")
        if eq.optimal:
            notes.append(f"Bayesian Stackelberg equilibrium over the attack types, proven "
                         f"optimal (bound: {eq.bound_source}).")
        elif lim.time_limit is not None and eq.seconds >= lim.time_limit:
            clock_limited = True
            notes.append(f"Bayesian Stackelberg equilibrium over the attack types: the "
                         f"wall-clock safety net ({lim.time_limit} s) stopped the solver; the "
                         f"plan is within {eq.gap:.3g} casualty-equivalents "
                         f"({eq.relative_gap:.2%}) of the optimum (proven gap; bound: "
                         f"{eq.bound_source}) and may differ on another machine.")
        else:
            how = ("the solver's profile-LP heuristic (no branch and bound)"
                   if lim.mip_nodes == 0 else
                   f"the level branch and bound stopped at its work limit "
                   f"({lim.mip_nodes} boxes)")
            notes.append(f"Bayesian Stackelberg strategy over the attack types from {how}: "
                         f"within {eq.gap:.3g} casualty-equivalents ({eq.relative_gap:.2%}) "
                         f"of the optimum (proven gap; bound: {eq.bound_source}); a "
                         f"deterministic limit, the same on any machine.")
        unused = float(game.resources.sum() - eq.coverage.sum())
        if unused > 1e-6 * max(1.0, float(game.resources.sum())) and not policy_rows:
            from citywatch.games.leftover import fill_by_demand

            from citywatch.model.protection import armed_on_site

            # no filler where armed officers are permanently on site
            demand = np.where(armed_on_site(scenario).reshape(-1), 0.0,
                              scenario.people().T.reshape(-1))
            filled = fill_by_demand(game, eq.coverage, eq.attacked, demand=demand)
            filler = np.asarray(filled - eq.coverage)
            eq = dataclasses.replace(eq, coverage=filled)
            notes.append(f"{unused:.3g} team-slots the equilibrium does not need are filler: "
                         f"put, slot by slot, on targets no attack type chooses in "
                         f"proportion to the people present (the guarantee is unchanged; "
                         f"filler is not deterrence and is listed apart).")
    else:
        from citywatch.games.quantal import solve_quantal

        with stage("quantal-response solve", limit_s=lim.time_limit):
            eq = solve_quantal(game, lam=opts.lam, time_limit=lim.time_limit)
        if not eq.optimal:
            clock_limited = True
            notes.append(f"The quantal-response solver was stopped by its wall-clock safety "
                         f"net ({lim.time_limit} s): the plan may differ on another machine.")
        notes.append(f"Planned against a quantal-response attacker (lambda={opts.lam}).")
    if scenario.protection:
        from citywatch.model.protection import armed_on_site

        on = armed_on_site(scenario).reshape(-1)
        freed = float(eq.coverage[on].sum())
        if freed > 1e-9:
            eq = dataclasses.replace(eq, coverage=np.where(on, 0.0, eq.coverage))
            if filler is not None:
                filler = np.where(on, 0.0, filler)
            notes.append(f"{freed:.3g} team-slots the solver left on sites with armed "
                         f"officers permanently on site were withdrawn (payoffs there do not "
                         f"depend on patrols, so the guarantee is unchanged).")
    attacked, value = best_responses(game, eq.coverage)
    if model == "qr" and eq.attack_distribution is not None:
        notes.append(f"Against a fully rational attacker this coverage would cost "
                     f"{-value:.3g} casualty-equivalents per attack; the figures shown are "
                     f"against the quantal-response attacker planned for, each type's "
                     f"target being its most likely one.")
        attacked = np.argmax(eq.attack_distribution, axis=1).astype(np.int64)
        value = eq.defender_utility
    if any(built.idle_teams):
        notes.append(f"{sum(built.idle_teams)} patrol team-slots exceed one team per site "
                     f"and are left unassigned.")
    if standards:
        notes.append("Every slot's ARV posts meet the response standard"
                     + ("s " if len(standards) > 1 else " ")
                     + ", ".join(str(x) for x in standards)
                     + " (expected minutes from call to armed intervention; 100% means "
                       "every site).")
    return Plan(scenario, built, eq, model, attacked, value, tuple(notes), policy_result,
                arv_plan, standards, opts, filler, entropy, clock_limited)


def plan_arv_posts(scenario: Scenario, options: PlanOptions | None = None
                   ) -> tuple[tuple[tuple[int, ...], ...], JointPlan | None]:
    """The ARV posts per slot that `make_plan(scenario, options)` plans with.

    Its first stage, alone: greedy, sequential (MCLP, then moved to meet the standards)
    or the joint search with the patrols, as ``options.arv`` says, under the plan's
    response standards and work limits; with the joint search's result (``None`` for
    the other two). `citywatch scenario explain` shows these posts' response times
    without solving the patrol game.
    """
    opts = options if options is not None else PlanOptions()
    standards = _standards(scenario, opts)
    lim = opts.limits
    if opts.arv == "greedy":
        from citywatch.response.joint import greedy_posts

        with stage("ARV posts: greedy, response standards first"):
            return greedy_posts(scenario, standards), None
    if opts.arv == "sequential":
        from citywatch.response.joint import meet_standards, sequential_posts

        with stage("ARV posts: maximal covering (MCLP)"):
            return meet_standards(scenario, sequential_posts(scenario), standards), None
    from citywatch.response.joint import joint_plan

    with stage("ARV posts: joint search with the patrols", limit_s=lim.arv_time_limit):
        jp = joint_plan(scenario, time_limit=lim.arv_time_limit,
                        max_evaluations=lim.arv_evaluations, standards=standards)
    return jp.arv_posts, jp


def _plan_optimising_shifts(scenario: Scenario, opts: PlanOptions, entropy: int) -> Plan:
    """The plan on the best of the optimiser's candidate shift patterns and the fixed one.

    `citywatch.schedule.shifts.optimise_shifts` searches with its scoring model; the
    real plan is then solved (same options, same seed) on the fixed pattern and on each
    candidate, and the one of fewest expected casualties per attack is kept, so the
    optimised plan is never worse than the fixed one.
    """
    from citywatch.schedule.shifts import optimise_shifts, starting_officers

    with stage("shift pattern: optimising the officers starting each shift"):
        res = optimise_shifts(scenario, lengths=opts.shift_lengths,
                              standards=_standards(scenario, opts),
                              max_evaluations=opts.limits.shift_evaluations)
    base = dataclasses.replace(opts, optimise_shifts=False)
    fixed = make_plan(scenario, base, seed=entropy)
    before = fixed.expected_casualties_per_attack
    best, best_value, best_shifts = fixed, before, scenario.force.shifts
    values = []
    for k, cand in enumerate(res.candidates):
        with stage(f"shift pattern: the plan on candidate {k + 1} of {len(res.candidates)}"):
            p = make_plan(scenario.with_force(shifts=cand), base, seed=entropy)
        values.append(p.expected_casualties_per_attack)
        if values[-1] < best_value - 1e-9 * max(1.0, abs(best_value)):
            best, best_value, best_shifts = p, values[-1], cand
    kept = best is fixed
    res = dataclasses.replace(
        res, shifts=best_shifts, plan_before=before, plan_after=best_value, kept_fixed=kept,
        officers_after=tuple(float(t.officers) for t in best.built.teams),
        starting=starting_officers(best.scenario, best_shifts),
        plan_candidates=tuple(values))
    tried = ", ".join(f"{v:.3g}" for v in values) or "none"
    if kept:
        note = (f"Shift optimisation: no candidate pattern beat the fixed one on the plan "
                f"({before:.3g} expected casualties per attack; candidates {tried}), so the "
                f"fixed pattern is kept.")
    else:
        note = (f"Shift optimisation: {len(best_shifts)} shifts chosen ("
                + ", ".join(f"{k} {v:g}" for k, v in res.starting.items())
                + f" officers starting a day) for {best_value:.3g} expected casualties per "
                f"attack against {before:.3g} on the fixed pattern (gain "
                f"{before - best_value:.3g}; candidates {tried}); officers on duty per slot "
                + ", ".join(f"{sl} {a:.0f}->{b:.0f}" for sl, a, b in zip(
                    scenario.slot_names, res.officers_before, res.officers_after,
                    strict=True)) + ".")
    return dataclasses.replace(best, options=opts, shift_optimisation=res,
                               notes=(*best.notes, note, *res.notes))


def _entropy(seed: int | np.random.SeedSequence | None) -> int:
    """The entropy a plan records (fresh OS entropy for ``None``)."""
    if isinstance(seed, np.random.SeedSequence):
        ent = seed.entropy
        if isinstance(ent, int | np.integer) and 0 <= ent < 2**63 and not seed.spawn_key:
            return int(ent)
        return int(seed.generate_state(1, np.uint64)[0] >> np.uint64(1))
    if seed is None:  # 63 bits of OS entropy: exact in every JSON reader that has int64
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool) and seed >= 0:
        return int(seed)
    msg = f"`seed` must be a non-negative int, a SeedSequence or None, got {seed!r}"
    raise GameError(msg)
