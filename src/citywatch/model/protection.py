"""Armed officers permanently at a site: static protection posts and partner forces.

A `ProtectionPost` puts ``officers`` armed officers at a site in some slots (all slots
by default). ``force = "met"`` posts (the Met's Parliamentary and Diplomatic
Protection, Royalty and Specialist Protection, Aviation Policing) are funded from the
force's *committed* officers, the ones on protection and airport duties, not from the
street officers the plan deploys; partner forces (``"btp"`` British Transport Police,
``"colp"`` City of London Police, ``"other"``) bring their own.

In the payoffs (`citywatch.model.payoffs.build_game`) and the simulator, a site with
armed officers on site in a slot is covered for certain: an attack there is met in
``on_site_intervention_min`` (Westminster 2017: a protection officer stopped the
attacker in about a minute) and interdicted with the attack type's probability, so
its uncovered payoffs equal its covered ones and patrols gain nothing there.

Staffing a post around the clock takes more officers than stand on it: an officer
works ``weekly_hours`` of the week's 168 and is away for ``abstraction_rate`` of the
year, so a post of ``n`` officers for ``h`` hours a day needs

.. math::

    n \\cdot \\frac{7h}{\\text{weekly\\_hours}} \\cdot \\frac{1}{1 - \\text{abstraction\\_rate}}

officers on the books (`officers_needed`); the Met's posts must fit in
``committed_officers``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from citywatch.model.force import Force
    from citywatch.model.scenario import Scenario

__all__ = ["PROTECTION_FORCES", "ProtectionPost", "armed_on_site", "officers_needed",
           "protection_officers"]

#: Who staffs a post: the Met (from committed officers) or a partner force.
PROTECTION_FORCES = ("met", "btp", "colp", "other")


@dataclass(frozen=True)
class ProtectionPost:
    """Armed officers permanently at one site in some slots.

    Attributes
    ----------
    site_id
        The site.
    force
        ``"met"`` (funded from the committed officers), ``"btp"``, ``"colp"`` or
        ``"other"``.
    officers
        Armed officers on site at any moment of the slots.
    slots
        Slot names the post is staffed in; empty means every slot.
    unit
        Who they are, e.g. "Parliamentary and Diplomatic Protection".
    source
        Where the figure comes from, or "assumption".
    """

    site_id: str
    force: str
    officers: int
    slots: tuple[str, ...] = ()
    unit: str = ""
    source: str = "assumption"

    def staffed(self, slot: str) -> bool:
        """Whether the post is staffed in `slot`."""
        return not self.slots or slot in self.slots


def protection_officers(scenario: Scenario) -> npt.NDArray[np.float64]:
    """Armed officers on site at each (slot, site), shape (slots, sites)."""
    index = {sid: i for i, sid in enumerate(scenario.site_ids)}
    out = np.zeros((len(scenario.slots), len(scenario.sites)))
    for post in scenario.protection:
        i = index[post.site_id]
        for s, slot in enumerate(scenario.slot_names):
            if post.staffed(slot):
                out[s, i] += post.officers
    return out


def armed_on_site(scenario: Scenario) -> npt.NDArray[np.bool_]:
    """Whether armed officers are permanently on site at each (slot, site)."""
    return protection_officers(scenario) > 0


def officers_needed(posts: Sequence[ProtectionPost], force: Force,
                    slot_hours: dict[str, float]) -> float:
    """Officers on the books that staffing the Met's `posts` takes (module docstring)."""
    total = 0.0
    day = sum(slot_hours.values())
    for post in posts:
        if post.force != "met":
            continue
        hours = day if not post.slots else sum(slot_hours[s] for s in post.slots)
        total += (post.officers * 7.0 * hours / force.weekly_hours
                  / (1.0 - force.abstraction_rate))
    return total
