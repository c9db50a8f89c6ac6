"""The vectorised core: simulate one chunk of attacks into additive per-cell tallies."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from typing import Any

import numpy as np
import numpy.typing as npt

from citywatch.sim.model import SimulationModel

__all__ = ["KERNELS", "KERNEL_ENV", "Tally", "busy_thresholds", "default_kernel",
           "simulate_block", "simulate_chunk"]

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


#: The vehicle-response kernels: compiled (numba, ``citywatch[fast]``) and NumPy.
KERNELS = ("numba", "numpy")
#: Environment variable that picks a kernel (``numpy`` forces the fallback).
KERNEL_ENV = "CITYWATCH_SIM_KERNEL"


@cache
def _numba_kernel() -> Any:
    """The compiled vehicle kernel function, or None when numba is not installed."""
    try:
        from citywatch.sim._kernel import vehicle_chunk
    except ImportError:
        return None
    return vehicle_chunk


def default_kernel() -> str:
    """``numba`` when it is installed, else ``numpy``; `KERNEL_ENV` may choose either."""
    wanted = os.environ.get(KERNEL_ENV, "").strip().lower()
    if wanted and wanted not in KERNELS:
        msg = f"`{KERNEL_ENV}` must be one of {', '.join(KERNELS)}, got {wanted!r}"
        raise ValueError(msg)
    if wanted == "numpy":
        return "numpy"
    return "numba" if _numba_kernel() is not None else "numpy"


def _kernel(kernel: str | None) -> str:
    if kernel is None:
        return default_kernel()
    if kernel not in KERNELS:
        msg = f"`kernel` must be one of {', '.join(KERNELS)}, got {kernel!r}"
        raise ValueError(msg)
    if kernel == "numba" and _numba_kernel() is None:
        from citywatch.errors import require

        require("numba", "fast")
    return kernel


def simulate_block(model: SimulationModel, sizes: list[int],
                   seeds: list[np.random.SeedSequence], *, kernel: str | None = None) -> Tally:
    """Simulate chunks of `sizes` attacks with their own `seeds` into one new tally.

    `kernel` (``"numba"`` or ``"numpy"``, default `default_kernel`) changes the speed,
    never the result.
    """
    tally = Tally.empty(model)
    name = _kernel(kernel)
    for size, seed in zip(sizes, seeds, strict=True):
        simulate_chunk(model, size, np.random.default_rng(seed), into=tally, kernel=name)
    return tally


def simulate_chunk(model: SimulationModel, n: int, rng: np.random.Generator, *,
                   into: Tally, kernel: str | None = None) -> None:
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
       counts × values with no per-attack work. With sampled rosters, each attack reads
       presence from a roster drawn uniformly at random; attacks draw their rosters
       independently, so the attacks of a cell at target ``t`` that find a team are
       ``~ Binomial(n_cell, ρ_t)``, ``ρ_t`` the share of rosters with a team at ``t``
       (`SimulationModel.roster_share`): the same joint distribution as one look-up per
       attack, at no per-attack cost. Then interdiction ``~ Binomial(on site, q)``.
    2. **Vehicle response, per attack.** The vehicle-answered attacks are laid out cell
       by cell (``np.repeat``) and processed in cache-sized pieces. One 64-bit random
       word per attack: its high 32 bits give a uniform ``v`` and the number of busy
       nearer vehicles ``J = ⌊log v / log b⌋`` (``P(J ≥ j) = b^j``; capped at the
       slot's vehicle count, when the nearest answers ``ALL_BUSY_EXTRA_MIN`` later);
       its two low 16-bit fields index the dispatch-delay and travel-factor tables
       (inverse-CDF tables of 65,536 equiprobable lognormal quantiles). Time
       ``T = D + τ_J·L + engage``; casualties ``K = min(cap, initial + rate·T)``
       (hardening already applied). Per-cell sums add each cell's attacks left to
       right within a piece.

    `kernel` picks the implementation of stage 2: ``"numba"`` (one compiled loop,
    `citywatch.sim._kernel`) or ``"numpy"`` (the vectorised piece above). Both draw the
    same words and do the same floating-point operations in the same order, so the
    tally is bit-identical; the default is `default_kernel`.
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
        present = rng.binomial(counts, m.roster_share[m.cell_target[active]])
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
    if _kernel(kernel) == "numba":
        _vehicle_compiled(m, keep, n_off[keep], rng, into)
        return
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


def _vehicle_compiled(m: SimulationModel, rows: IntArray, counts: IntArray,
                      rng: np.random.Generator, into: Tally) -> None:
    """Stage 2 by the compiled kernel: the same words the NumPy pieces would draw."""
    total = int(counts.sum())
    if total == 0:
        return
    raw = rng.bit_generator.random_raw(total)
    _numba_kernel()(
        raw, rows, counts, PIECE, m.active_cells[rows], m.cell_table_base, m.cell_target,
        m.cell_type, m.cell_rate, m.cell_initial, m.cell_cap, m.travel_table.reshape(-1),
        m.travel_factor_table, m.dispatch_engage_table,
        _thresholds(m.busy_probability, m.max_vehicles), m.n_sites,
        float(m.bins_per_minute), m.n_bins, into.sum_t, into.sum_t2, into.sum_k, into.sum_k2,
        into.hist_target.reshape(-1), into.hist_type)


@cache
def _thresholds(busy_probability: float, max_vehicles: int) -> IntArray:
    return busy_thresholds(busy_probability, max_vehicles)


def _casualties(rate: FloatArray, initial: FloatArray, cap: FloatArray,
                minutes: FloatArray) -> FloatArray:
    """Casualties ``K(T) = min(cap, initial + rate·T)`` of attacks answered after `minutes`.

    The NumPy kernel's one evaluation of the casualty curve (``citywatch.sim._kernel``
    has the compiled twin, which must stay operation for operation the same).
    """
    k = rate * minutes
    k += initial
    np.minimum(k, cap, out=k)
    return k


def busy_thresholds(busy_probability: float, max_vehicles: int) -> IntArray:
    r"""Thresholds on a word's high 32 bits ``h`` that give the busy nearer vehicles ``J``.

    With ``v = (h + ½)/2^{32}`` uniform, ``J = ⌊\log v / \log b⌋`` capped at
    `max_vehicles`, so ``J ≥ j`` exactly when ``v ≤ b^j``, i.e. ``h < θ_j`` with
    ``θ_j = ⌊b^j 2^{32} − ½⌋ + 1`` (0 when ``b^j 2^{32} < ½``). Entry 0 is ``2^{32}``
    (every word has ``J ≥ 0``). Both kernels count ``J`` by these integers, so they agree
    bit for bit whatever the platform's ``log``.
    """
    b = float(busy_probability)
    out = np.empty(max_vehicles + 1, dtype=np.int64)
    out[0] = 1 << 32
    for j in range(1, max_vehicles + 1):
        x = min(1.0, max(0.0, b)) ** j * 4294967296.0
        out[j] = int(np.floor(x - 0.5)) + 1 if x >= 0.5 else 0
    return out


def _busy_nearer(m: SimulationModel, raw: npt.NDArray[np.uint64]) -> IntArray:
    """``J`` of every word (see `busy_thresholds`): ``log`` first, then an exact correction."""
    vmax = m.max_vehicles
    jf = (raw >> np.uint64(32)).astype(np.float64)
    h = jf.copy()
    jf += 0.5
    np.log(jf, out=jf)
    jf -= 32.0 * np.log(2.0)
    jf *= 1.0 / np.log(m.busy_probability)
    np.minimum(jf, vmax, out=jf)
    j = jf.astype(np.intp)
    # θ_0 = ∞ and θ_{vmax+1} = -1 keep the correction inside [0, vmax]
    theta = np.concatenate([busy_thresholds(m.busy_probability, vmax).astype(np.float64),
                            [-1.0]])
    theta[0] = np.inf
    j -= h >= theta[j]
    j += h < theta[j + 1]
    return j


def _vehicle_piece(m: SimulationModel, rows: IntArray, seg_counts: IntArray,
                   rng: np.random.Generator, into: Tally) -> None:
    """Simulate vehicle-answered attacks: `seg_counts` of them in active-cell `rows`.

    Per-cell sums are plain left-to-right sums of each cell's attacks in the piece
    (``np.bincount`` with weights), the order the compiled kernel adds them in.
    """
    n = int(seg_counts.sum())
    cells = m.active_cells[rows]
    starts = np.zeros(rows.size, dtype=np.int64)
    np.cumsum(seg_counts[:-1], out=starts[1:])
    seg = np.repeat(np.arange(rows.size), seg_counts)

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
        idx = _busy_nearer(m, raw)
        idx *= m.n_sites
        idx += rep(m.cell_table_base)
    t = m.travel_table.reshape(-1)[idx]
    t *= m.travel_factor_table[i_travel]
    t += m.dispatch_engage_table[i_dispatch]
    b = (t * float(m.bins_per_minute)).astype(np.intp)
    np.minimum(b, m.n_bins - 1, out=b)
    k = _casualties(rep(m.cell_rate), rep(m.cell_initial), rep(m.cell_cap), t)

    nr = rows.size
    into.sum_t[rows] += np.bincount(seg, weights=t, minlength=nr)
    into.sum_k[rows] += np.bincount(seg, weights=k, minlength=nr)
    t *= t
    k *= k
    into.sum_t2[rows] += np.bincount(seg, weights=t, minlength=nr)
    into.sum_k2[rows] += np.bincount(seg, weights=k, minlength=nr)
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
