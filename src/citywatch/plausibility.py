"""Plausibility checks of a plan, explained in plain words for the planner who signs it.

Three things make a planner distrust a plan, and each is explained when it occurs:

* **the busiest places at their busiest times get less armed presence than the average
  site** (presence: the patrols' coverage, or certainty where a protection post or a
  partner force keeps armed officers on site) — said why, from the payoffs: help
  reaches them fast, barriers blunt the attack, or an attacker gains more elsewhere;
* **a site is far from armed help** (expected minutes from the call to armed
  intervention beyond the plan's every-site response standard, else 15 minutes: the
  Met's Immediate-call standard) — said which, when and how the plan covers it;
* **the worst case is beyond the patrols' reach** — the attacker's best target is
  already fully covered, so more officers cannot lower the loss per attack; the remedy
  is protective security there.

The expected casualties per attack are also put per day, week and year with the threat level's
attack likelihood (`citywatch.model.threat.Posture.loss_rates`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from citywatch.plan import Plan

__all__ = ["BUSIEST", "STANDARD_MIN", "Finding", "check_plan", "loss_rates"]

#: How many of a slot's busiest sites are compared with the average.
BUSIEST = 20
#: Response standard for "far from help", minutes (Met Immediate calls: 15 minutes).
STANDARD_MIN = 15.0


@dataclass(frozen=True)
class Finding:
    """One plausibility finding: a kind (``"busiest"``, ``"far"``, ``"pinned"``) and text."""

    kind: str
    slot: str | None
    text: str

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {"kind": self.kind, "slot": self.slot, "text": self.text}


def loss_rates(plan: Plan) -> dict[str, float]:
    """The plan's expected casualties per attack, and per day, week and year at its level."""
    sc = plan.scenario
    return sc.postures[sc.threat_level].loss_rates(plan.expected_casualties_per_attack)


def check_plan(plan: Plan, *, busiest: int = BUSIEST,
               standard_min: float | None = None) -> list[Finding]:
    """The plan's plausibility findings, each with its reason in plain words.

    `standard_min` ("far from help"): default the strictest every-site response
    standard of the plan, else `STANDARD_MIN`.
    """
    from citywatch.model.protection import armed_on_site

    sc = plan.scenario
    built = plan.built
    if standard_min is None:
        strict = [x.minutes for x in plan.response_standards if x.every_site]
        standard_min = min(strict) if strict else STANDARD_MIN
    n_slots, n_sites = len(sc.slots), len(sc.sites)
    # armed presence: patrol coverage, or officers permanently on site (protection)
    cov = np.maximum(np.asarray(plan.coverage).reshape(n_slots, n_sites),
                     armed_on_site(sc).astype(np.float64))
    ppl = sc.people().T
    mix = built.game.mixture()
    ua = mix.attacker_payoffs(plan.coverage)[0].reshape(n_slots, n_sites)
    au = mix.attacker_uncovered.reshape(-1).reshape(n_slots, n_sites)
    value = float(ua.max())
    resp = built.response_minutes
    hard = np.array([s.hardening for s in sc.sites])
    names = {s.id: s.name for s in sc.sites}
    out: list[Finding] = []

    peak = int(np.argmax(ppl.sum(axis=1)))
    for s in range(n_slots):
        k = min(busiest, n_sites)
        top = np.argsort(-ppl[s], kind="stable")[:k]
        if ppl[s, top].sum() <= 0 or cov[s, top].mean() >= cov[s].mean():
            continue
        low = [int(i) for i in top if cov[s, i] < cov[s].mean()]
        reasons = []
        for i in low[:4]:
            why = []
            if resp[s, i] <= np.median(resp[s]):
                why.append(f"armed help {resp[s, i]:.0f} min away")
            if hard[i] >= 0.4:
                why.append(f"protective security (hardening {hard[i]:.1f})")
            if au[s, i] < value:
                why.append(f"worth {au[s, i]:.0f} to an attacker even unguarded, below the "
                           f"{value:.0f} it can already get elsewhere")
            reasons.append(f"{names[sc.site_ids[i]]} ({', '.join(why) or 'ties elsewhere'})")
        out.append(Finding(
            "busiest", sc.slot_names[s],
            f"In {sc.slot_names[s]} the {k} busiest sites get {cov[s, top].mean():.2f} "
            f"armed presence on average (patrol coverage, or 1 where armed officers are "
            f"posted on site) against {cov[s].mean():.2f} for all sites"
            + (" — the busiest slot of the day" if s == peak else "")
            + ". Patrols go where an attack would pay most; " + "; ".join(reasons) + "."))

    for s in range(n_slots):
        far = [int(i) for i in np.flatnonzero(resp[s] > standard_min) if ppl[s, i] > 0]
        if not far:
            continue
        far.sort(key=lambda i: -resp[s, i])
        worst = far[0]
        covered = [i for i in far if cov[s, i] > 0.05]
        out.append(Finding(
            "far", sc.slot_names[s],
            f"In {sc.slot_names[s]} {len(far)} site(s) are beyond {standard_min:g} minutes "
            f"from armed help when no patrol is there (worst: "
            f"{names[sc.site_ids[worst]]}, {resp[s, worst]:.0f} min, coverage "
            f"{cov[s, worst]:.2f}): the slot's {len(built.arv_posts[s])} ARVs wait where they "
            f"do most for the whole city"
            + (f", and patrols cover {len(covered)} of them instead"
               if covered else ", and no patrol covers them: an attack there waits")
            + "."))

    full = [int(t) for t in np.flatnonzero((plan.coverage >= 1 - 1e-6)
                                          & (ua.reshape(-1) >= value - 1e-6))]
    if full:
        t = full[0]
        site, slot = built.target_label(t)
        out.append(Finding(
            "pinned", slot,
            f"What an attack can gain is capped by {names[site]} at {slot}, which the plan "
            f"already covers fully: even with armed officers on site an attack there is "
            f"worth {value:.1f} casualty-equivalents to the attacker (a vehicle's first "
            f"seconds or a blast are over before they can act), so more patrols cannot "
            f"lower it; protective security there (barriers, search) can."))
    return out
