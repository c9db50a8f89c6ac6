"""Seed normalisation: every random function converts its ``seed`` once, here.

One seed path: a run's root `numpy.random.SeedSequence` is made once (`seed_sequence`),
its children are derived from it by position (`children`, stateless: the same root
always gives the same children, however often they are asked for) and passed down as
`SeedSequence` objects, never squeezed into ints and back. Every result records the
root it drew from (`seed_record`), so a run made without a seed can be reproduced for
an inquiry: ``SeedSequence(entropy, spawn_key=spawn_key)``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["Seed", "as_generator", "children", "fresh_entropy", "seed_record", "seed_sequence"]

Seed = int | np.random.Generator | np.random.SeedSequence | None


def fresh_entropy() -> int:
    """63 bits of operating-system entropy (fits every JSON encoder and SQL integer)."""
    return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))


def seed_sequence(seed: Seed) -> np.random.SeedSequence:
    """The root seed sequence of a run.

    An int seeds it directly; ``None`` draws fresh OS entropy (`fresh_entropy`, which
    the result then records); a `SeedSequence` is used as it is; a generator gives a
    root from one 63-bit draw (advancing the generator, as any use of it does).
    """
    if isinstance(seed, np.random.SeedSequence):
        return seed
    if isinstance(seed, np.random.Generator):
        return np.random.SeedSequence(int(seed.integers(2**63)))
    if seed is None:
        return np.random.SeedSequence(fresh_entropy())
    if isinstance(seed, int | np.integer) and not isinstance(seed, bool):
        if seed < 0:
            msg = f"`seed` must be a non-negative int, got {seed}"
            raise ValueError(msg)
        return np.random.SeedSequence(int(seed))
    msg = f"`seed` must be an int, a numpy Generator or SeedSequence, or None, got {seed!r}"
    raise TypeError(msg)


def children(seed: np.random.SeedSequence, n: int) -> list[np.random.SeedSequence]:
    """The first `n` children of `seed` by position (what ``seed.spawn(n)`` gives first).

    Unlike `SeedSequence.spawn`, which counts the children already handed out, this is
    stateless: asking twice gives the same streams (common random numbers).
    """
    return [np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i),
                                   pool_size=seed.pool_size) for i in range(n)]


def seed_record(seed: np.random.SeedSequence) -> dict[str, Any]:
    """``{"entropy", "spawn_key"}``: what reproduces `seed` (JSON-ready)."""
    ent = seed.entropy
    return {"entropy": int(ent) if isinstance(ent, int | np.integer) else
            [int(e) for e in np.atleast_1d(ent)],
            "spawn_key": [int(k) for k in seed.spawn_key]}


def as_generator(seed: Seed) -> np.random.Generator:
    """Return a NumPy generator for `seed`.

    ``None`` draws fresh entropy from the operating system (what operational rosters
    need: an attacker must not be able to predict them); an int or a `SeedSequence`
    gives a reproducible stream; a generator is returned as is.
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if seed is None or (isinstance(seed, int | np.integer) and not isinstance(seed, bool)):
        return np.random.default_rng(seed)
    msg = f"`seed` must be an int, a numpy Generator or SeedSequence, or None, got {seed!r}"
    raise TypeError(msg)
