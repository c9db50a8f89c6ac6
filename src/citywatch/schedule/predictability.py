"""How predictable a roster's visits are: entropy of each site's visit pattern."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["SitePredictability", "predictability"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class SitePredictability:
    """How predictable a site's visits were over the horizon.

    ``entropy_bits`` is the mean over slots of the binary entropy of the site's visit
    frequency in that slot (0: always or never visited; 1: a fair coin).
    ``conditional_entropy_bits`` is the same given whether the site was visited in the
    same slot the day before. ``predictability = 1 − conditional / marginal`` is 0 when
    yesterday says nothing about today (independent draws) and 1 for a fixed routine;
    a site with zero entropy (always or never visited) scores 1.
    """

    site_id: str
    visits: int
    entropy_bits: float
    conditional_entropy_bits: float
    predictability: float


def _entropy(p: FloatArray) -> FloatArray:
    q = np.clip(p, 1e-300, 1.0)
    r = np.clip(1.0 - p, 1e-300, 1.0)
    h = -(p * np.log2(q) + (1.0 - p) * np.log2(r))
    return np.asarray(np.where((p <= 0) | (p >= 1), 0.0, h), dtype=np.float64)


def predictability(visits: npt.ArrayLike, site_ids: Sequence[str]) -> list[SitePredictability]:
    """Entropy of each site's visit pattern over the horizon (see `SitePredictability`).

    Parameters
    ----------
    visits
        Boolean, shape (days, slots, sites), e.g. ``roster.visits()``.
    site_ids
        Site ids in order.
    """
    v = np.asarray(visits, dtype=bool)
    days, n_slots, n_sites = v.shape
    freq = v.mean(axis=0)  # (slots, sites)
    marginal = _entropy(freq).mean(axis=0)
    if days > 1:
        prev, cur = v[:-1], v[1:]
        cond = np.zeros(n_sites)
        for state in (False, True):
            mask = prev == state
            n = mask.sum(axis=0)  # (slots, sites)
            p1 = np.where(n > 0, (cur & mask).sum(axis=0) / np.maximum(n, 1), 0.0)
            cond += (_entropy(p1) * n / (days - 1)).mean(axis=0)
    else:
        cond = marginal.copy()
    score = np.where(marginal > 1e-12, 1.0 - cond / np.maximum(marginal, 1e-12), 1.0)
    return [SitePredictability(site_ids[i], int(v[:, :, i].sum()), float(marginal[i]),
                               float(cond[i]), float(np.clip(score[i], 0.0, 1.0)))
            for i in range(n_sites)]
