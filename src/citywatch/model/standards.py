"""Response standards: armed help within so many minutes of the call, for a share of people.

The objects and their parser; placing ARVs to meet them is
`citywatch.response.standards`.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from citywatch.errors import ScenarioError

__all__ = ["DEFAULT_STANDARDS", "ResponseStandard", "parse_standard", "parse_standards"]

_TOL = 1e-9
_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(?:m|min)?\s*(?:@\s*(\d+(?:\.\d+)?)\s*%)?\s*$")


@dataclass(frozen=True)
class ResponseStandard:
    """Armed help within `minutes` of the call for `share` of the people (1: every site).

    Attributes
    ----------
    minutes
        Expected minutes from the call to armed intervention.
    share
        Share of the people present in each slot who must be reached in time; ``1.0``
        means every site, whatever its crowd.
    """

    minutes: float
    share: float = 1.0

    def __post_init__(self) -> None:
        if not (isinstance(self.minutes, int | float) and math.isfinite(self.minutes)
                and self.minutes > 0):
            msg = f"`response_standard` minutes must be a number > 0, got {self.minutes!r}"
            raise ScenarioError(msg)
        if not (isinstance(self.share, int | float) and 0 < self.share <= 1):
            msg = f"`response_standard` share must lie in (0, 1], got {self.share!r}"
            raise ScenarioError(msg)

    @property
    def every_site(self) -> bool:
        """Whether the standard applies to every site (share 100%)."""
        return self.share >= 1.0 - _TOL

    def __str__(self) -> str:
        return f"{self.minutes:g}m@{self.share * 100:g}%"

    @property
    def text(self) -> str:
        """The standard as ``--response-standard`` writes it (``15m@100%``)."""
        return str(self)


#: The Met's Immediate-call standard applied to armed help: every site within 15 minutes.
DEFAULT_STANDARDS: tuple[ResponseStandard, ...] = (ResponseStandard(15.0, 1.0),)


def parse_standard(text: str, *, name: str = "--response-standard") -> ResponseStandard:
    """Parse ``"10m@90%"`` (10 minutes for 90% of people), ``"15m"`` or ``"15"`` (every site).

    Raises
    ------
    ScenarioError
        Naming `name` and the value, for anything else.
    """
    m = _PATTERN.match(str(text))
    minutes = float(m.group(1)) if m else math.nan
    share = float(m.group(2)) / 100 if m and m.group(2) is not None else 1.0
    if m is None or not (minutes > 0 and 0 < share <= 1):
        msg = (f"`{name}` must look like MINUTESm@SHARE% with minutes > 0 and a share in "
               f"(0, 100] (e.g. 10m@90%), got {text!r}")
        raise ScenarioError(msg)
    return ResponseStandard(minutes, share)


def parse_standards(texts: Sequence[str] | None, *, name: str = "--response-standard"
                    ) -> tuple[ResponseStandard, ...]:
    """Standards from their texts: none given -> the default; ``"none"`` -> no standard."""
    if not texts:
        return DEFAULT_STANDARDS
    if len(texts) == 1 and str(texts[0]).strip().lower() in ("none", "off"):
        return ()
    return tuple(parse_standard(t, name=name) for t in texts)


