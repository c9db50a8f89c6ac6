"""Seed normalisation: every random function converts its ``seed`` once, here."""

from __future__ import annotations

import numpy as np

__all__ = ["Seed", "as_generator"]

Seed = int | np.random.Generator | None


def as_generator(seed: Seed) -> np.random.Generator:
    """Return a NumPy generator for `seed`.

    ``None`` draws fresh entropy from the operating system (what operational rosters
    need: an attacker must not be able to predict them); an int gives a reproducible
    stream; a generator is returned as is.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or (isinstance(seed, int | np.integer) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    msg = f"`seed` must be an int, a numpy Generator or None, got {seed!r}"
    raise TypeError(msg)
