"""The vectorised core: simulate one chunk of attacks into additive per-cell tallies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.sim.model import SimulationModel

__all__ = ["Tally", "simulate_block", "simulate_chunk"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Tally:
    """Additive sums over simulated attacks.

    Per active cell (``model.active_cells``: type, slot, site): attacks, armed team on
    site, interdicted, and sums of time and casualties (and
    their squares). ``hist_target`` (targets, bins) and ``hist_type`` (types, bins)
    count the times of attacks answered by a response vehicle, in bins of
    ``1 / model.bins_per_minute`` minutes (the last also holds anything beyond
    ``max_minutes``); shares within a threshold are read off these exactly;
    attacks stopped by a team on site are exact atoms (``0`` if interdicted,
    ``on_site_minutes`` otherwise), so quantiles are exact where they fall on one.
    Arrays are filled in place while a block is simulated, then never changed.
    """

    count: IntArray
    on_site: IntArray
    interdicted: IntArray
    sum_t: FloatArray
    sum_t2: FloatArray
    sum_k: FloatArray
    sum_k2: FloatArray
    hist_target: IntArray    # (targets, bins)
    hist_type: IntArray      # (types, bins)

    @classmethod
    def empty(cls, model: SimulationModel) -> Tally:
        """A tally of no attacks for `model`."""
        r = model.active_cells.size
        zi = np.zeros(r, dtype=np.int64)
        zf = np.zeros(r, dtype=np.float64)
        nb = model.n_bins
        return cls(zi, zi.copy(), zi.copy(), zf, zf.copy(), zf.copy(), zf.copy(),
                   np.zeros((model.n_targets, nb), np.int64),
                   np.zeros((model.n_types, nb), np.int64))

    @property
    def n(self) -> int:
        """Attacks tallied."""
        return int(self.count.sum())

    def merge(self, other: Tally) -> Tally:
        """The sum of two tallies of the same model (summed in argument order)."""
        return Tally(*(getattr(self, f) + getattr(other, f) for f in _FIELDS))


#: Attacks simulated per vectorised step: arrays of this size stay in the L2 cache.
PIECE = 1 << 15

_FIELDS = ("count", "on_site", "interdicted", "sum_t", "sum_t2", "sum_k", "sum_k2",
           "hist_target", "hist_type")


def simulate_block(model: SimulationModel, sizes: list[int],
                   seeds: list[np.random.SeedSequence]) -> Tally:
    """Simulate chunks of `sizes` attacks with their own `seeds` into one new tally."""
    tally = Tally.empty(model)
    for size, seed in zip(sizes, seeds, strict=True):
        simulate_chunk(model, size, np.random.default_rng(seed), into=tally)
    return tally


def simulate_chunk(model: SimulationModel, n: int, rng: np.random.Generator, *,
                   into: Tally) -> None:
    """Simulate `n` attacks against `model` and add them to the tally `into`.

    Vectorised throughout (no per-attack Python), in two stages:

    1. **Outcome classes, per cell.** Cell counts ``~ Multinomial(n, p)`` over the
       active (type, slot, site) cells; within a cell of coverage ``c`` and
       interdiction ``q``, the attacks interdicted by a team on site
       ``~ Binomial(n_cell, c·q)``, those stopped by a team on site without
       interdiction ``~ Binomial(rest, c(1 − q)/(1 − c·q))``, the others are answered
       by a response vehicle. This is the joint distribution of drawing each attack's
       cell and presence independently; the on-site outcomes are atoms (time ``0`` or
       ``on_site_minutes``, casualties ``0`` or ``K(on_site_minutes)``), tallied as
       counts × values with no per-attack work. With sampled rosters, presence is read
       per attack from a random roster instead, then interdiction
       ``~ Binomial(on site, q)`` per cell.
    2. **Vehicle response, per attack.** The vehicle-answered attacks are laid out cell
       by cell (``np.repeat``) and processed in cache-sized pieces. One 64-bit random
       word per attack: its high 32 bits give a uniform ``v`` and the number of busy
       nearer vehicles ``J = ⌊log v / log b⌋`` (``P(J ≥ j) = b^j``; capped at the
       slot's vehicle count, when the nearest answers ``ALL_BUSY_EXTRA_MIN`` later);
       its two low 16-bit fields index the dispatch-delay and travel-factor tables
       (inverse-CDF tables of 65,536 equiprobable lognormal quantiles). Time
       ``T = D + τ_J·L + engage``; casualties ``K = min(cap, initial + rate·T)``
       (hardening already applied). Per-cell sums are contiguous ``np.add.reduceat``.
    """
    m = model
    active = m.active_cells
    counts = rng.multinomial(n, m.active_probability)
    if m.rosters is None:
        cq = m.cell_coverage_interdiction[active]
        n_inter = rng.binomial(counts, cq)
        with np.errstate(divide="ignore", invalid="ignore"):
            p_on = np.where(cq < 1.0, (m.cell_coverage[active] - cq) / (1.0 - cq), 0.0)
        n_on = rng.binomial(counts - n_inter, np.clip(p_on, 0.0, 1.0))
    else:
        present = _roster_presence(m, counts, rng)
        n_inter = rng.binomial(present, m.cell_interdiction[active])
        n_on = present - n_inter
    into.count[:] += counts
    into.on_site[:] += n_on + n_inter
    into.interdicted[:] += n_inter
    t_site = m.on_site_minutes
    k_site = m.cell_site_casualties[active]
    into.sum_t[:] += n_on * t_site
    into.sum_t2[:] += n_on * t_site * t_site
    into.sum_k[:] += n_on * k_site
    into.sum_k2[:] += n_on * k_site * k_site

    n_off = counts - n_inter - n_on
    keep = np.flatnonzero(n_off)
    block_rows = keep
    block_ends = np.cumsum(n_off[keep])
    total = int(block_ends[-1]) if block_ends.size else 0
    for lo in range(0, total, PIECE):
        hi = min(total, lo + PIECE)
        first = int(np.searchsorted(block_ends, lo, side="right"))
        last = int(np.searchsorted(block_ends, hi, side="left"))
        seg_ends = np.minimum(block_ends[first:last + 1], hi) - lo
        seg_counts = np.diff(seg_ends, prepend=0)
        _vehicle_piece(m, block_rows[first:last + 1], seg_counts, rng, into)


def _roster_presence(m: SimulationModel, counts: IntArray,
                     rng: np.random.Generator) -> IntArray:
    """Attacks per active cell that find an armed team on site in a random roster."""
    assert m.rosters is not None
    present = np.zeros(counts.size, dtype=np.int64)
    flat = m.rosters.reshape(-1)
    targets = m.cell_target[m.active_cells]
    n_rosters = m.rosters.shape[0]
    keep = np.flatnonzero(counts)
    ends = np.cumsum(counts[keep])
    total = int(ends[-1]) if ends.size else 0
    for lo in range(0, total, PIECE):
        hi = min(total, lo + PIECE)
        first = int(np.searchsorted(ends, lo, side="right"))
        last = int(np.searchsorted(ends, hi, side="left"))
        seg_counts = np.diff(np.minimum(ends[first:last + 1], hi) - lo, prepend=0)
        rows = keep[first:last + 1]
        r = rng.integers(0, n_rosters, size=hi - lo)
        on = flat[r * m.n_targets + np.repeat(targets[rows], seg_counts)]
        starts = np.concatenate(([0], np.cumsum(seg_counts)[:-1]))
        present[rows] += np.add.reduceat(on, starts, dtype=np.int64)
    return present


def _vehicle_piece(m: SimulationModel, rows: IntArray, seg_counts: IntArray,
                   rng: np.random.Generator, into: Tally) -> None:
    """Simulate vehicle-answered attacks: `seg_counts` of them in active-cell `rows`."""
    n = int(seg_counts.sum())
    cells = m.active_cells[rows]
    starts = np.zeros(rows.size, dtype=np.int64)
    np.cumsum(seg_counts[:-1], out=starts[1:])

    def rep(values: npt.NDArray[Any]) -> npt.NDArray[Any]:
        return np.repeat(values[cells], seg_counts)

    raw = rng.bit_generator.random_raw(n)
    i_travel = (raw & np.uint64(0xFFFF)).astype(np.intp)
    i_dispatch = ((raw >> np.uint64(16)) & np.uint64(0xFFFF)).astype(np.intp)
    vmax = m.max_vehicles
    b_busy = m.busy_probability
    if b_busy <= 0.0:
        idx = rep(m.cell_table_base)
    elif b_busy >= 1.0:
        idx = rep(m.cell_table_base) + vmax * m.n_sites
    else:
        # log v with v = (hi32 + ½)/2^32, then J = ⌊log v / log b⌋ capped at vmax
        jf = (raw >> np.uint64(32)).astype(np.float64)
        jf += 0.5
        np.log(jf, out=jf)
        jf -= 32.0 * np.log(2.0)
        jf *= 1.0 / np.log(b_busy)
        np.minimum(jf, vmax, out=jf)
        idx = jf.astype(np.intp)
        idx *= m.n_sites
        idx += rep(m.cell_table_base)
    t = m.travel_table.reshape(-1)[idx]
    t *= m.travel_factor_table[i_travel]
    t += m.dispatch_engage_table[i_dispatch]
    b = (t * float(m.bins_per_minute)).astype(np.intp)
    np.minimum(b, m.n_bins - 1, out=b)
    k = rep(m.cell_rate) * t
    k += rep(m.cell_initial)
    np.minimum(k, rep(m.cell_cap), out=k)

    into.sum_t[rows] += np.add.reduceat(t, starts)
    into.sum_k[rows] += np.add.reduceat(k, starts)
    t *= t
    k *= k
    into.sum_t2[rows] += np.add.reduceat(t, starts)
    into.sum_k2[rows] += np.add.reduceat(k, starts)
    nb = m.n_bins
    target = rep(m.cell_target)
    target *= nb
    target += b
    np.add.at(into.hist_target.reshape(-1), target, 1)
    ends = starts + seg_counts
    types = m.cell_type[cells]
    for k_type in np.unique(types):
        lo = starts[np.searchsorted(types, k_type)]
        hi = ends[np.searchsorted(types, k_type, side="right") - 1]
        into.hist_type[k_type] += np.bincount(b[lo:hi], minlength=nb)
