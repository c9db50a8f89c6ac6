"""Brute-force references and random instances for the response tests."""

from __future__ import annotations

import itertools

import numpy as np


def placements(n_c: int, p: int, cap: np.ndarray) -> list[np.ndarray]:
    """Every vector of vehicle counts with sum `p` and counts within `cap`."""
    out = []
    for combo in itertools.combinations_with_replacement(range(n_c), p):
        y = np.bincount(np.array(combo, dtype=np.int64), minlength=n_c)
        if np.all(y <= cap):
            out.append(y)
    return out


def covered(t: np.ndarray, w: np.ndarray, y: np.ndarray, s: float) -> float:
    return float(w[(t[:, y > 0] <= s).any(axis=1)].sum())


def median(t: np.ndarray, w: np.ndarray, y: np.ndarray) -> float:
    return float(w @ t[:, y > 0].min(axis=1))


def center(t: np.ndarray, w: np.ndarray, y: np.ndarray) -> float:
    return float(t[w > 0][:, y > 0].min(axis=1).max())


def expected(t: np.ndarray, w: np.ndarray, y: np.ndarray, s: float, q: float) -> float:
    n = (t <= s) @ y
    return float(w @ (1 - q ** n))

def random_instance(seed: int, *, n_d: int = 12, n_c: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Minutes (demand, candidates) from random points in a 10 km square at 0.5 km/min,
    and integer weights (some zero)."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(0, 10, (n_d, 2))
    c = rng.uniform(0, 10, (n_c, 2))
    t = np.sqrt(((d[:, None, :] - c[None, :, :]) ** 2).sum(-1)) / 0.5
    w = rng.integers(0, 20, n_d).astype(float)
    return np.round(t, 3), w
