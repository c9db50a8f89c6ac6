"""The compiled vehicle-response kernel (numba, ``citywatch[fast]``).

Two fused loops per piece of a cell's vehicle-answered attacks do what the NumPy path
(`citywatch.sim._engine._vehicle_piece`) does with a dozen array passes: the first finds
the busy nearer vehicles from each word's high 32 bits and reads the time tables (loads
the CPU can overlap), the second evaluates casualties and adds the histograms and
per-cell sums. It performs the same floating-point operations in the same order (sums
left to right within each cell and piece of ``PIECE`` attacks, flushed into the tally
at the same points), so both kernels give bit-identical tallies for the same seed;
tests/sim/test_engine.py checks it. Importing this module imports numba; the engine
does so only when a simulation first runs.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

__all__ = ["vehicle_chunk"]


@njit(cache=True, nogil=True, inline="always")
def _casualties(rate: float, initial: float, cap: float, minutes: float) -> float:
    """``K(T) = min(cap, initial + rate·T)``, as `citywatch.sim._engine._casualties`."""
    k = rate * minutes + initial
    return cap if k > cap else k


@njit(cache=True, nogil=True)
def vehicle_chunk(raw: npt.NDArray[np.uint64], rows: npt.NDArray[np.int64],
                  counts: npt.NDArray[np.int64], piece: int,
                  cells: npt.NDArray[np.int64], table_base: npt.NDArray[np.int64],
                  cell_target: npt.NDArray[np.int64], cell_type: npt.NDArray[np.int64],
                  rate: npt.NDArray[np.float64], initial: npt.NDArray[np.float64],
                  cap: npt.NDArray[np.float64], travel: npt.NDArray[np.float64],
                  factor: npt.NDArray[np.float64], dispatch_engage: npt.NDArray[np.float64],
                  thresholds: npt.NDArray[np.int64], n_sites: int, bins_per_minute: float,
                  n_bins: int, sum_t: npt.NDArray[np.float64],
                  sum_t2: npt.NDArray[np.float64], sum_k: npt.NDArray[np.float64],
                  sum_k2: npt.NDArray[np.float64], hist_target: npt.NDArray[np.int64],
                  hist_type: npt.NDArray[np.int64]) -> None:  # pragma: no cover - compiled
    """Tally ``counts[r]`` vehicle-answered attacks in active-cell row ``rows[r]``, in order.

    `raw` holds one random word per attack (the chunk's stream, as the NumPy path draws
    it piece by piece); `cells` are the rows' flat (type, slot, site) cells; `thresholds`
    come from `citywatch.sim._engine.busy_thresholds`. `hist_target` is flat
    (targets × bins), `hist_type` is (types, bins).
    """
    vmax = thresholds.size - 1
    minutes = np.empty(piece)
    pos = 0
    for r in range(rows.size):
        row = rows[r]
        c = cells[r]
        base = table_base[c]
        c_rate = rate[c]
        c_initial = initial[c]
        c_cap = cap[c]
        t_row = cell_target[c] * n_bins
        k_type = cell_type[c]
        left = counts[r]
        while left > 0:
            take = min(left, piece - pos % piece)
            # pass 1: times (independent table reads the CPU can overlap)
            for i in range(take):
                w = raw[pos + i]
                h = np.int64(w >> np.uint64(32))
                j = 0
                while j < vmax and h < thresholds[j + 1]:
                    j += 1
                t = travel[j * n_sites + base] * factor[np.intp(w & np.uint64(0xFFFF))]
                minutes[i] = t + dispatch_engage[np.intp((w >> np.uint64(16)) & np.uint64(0xFFFF))]
            # pass 2: casualties, histograms and the cell's sums, left to right
            acc_t = 0.0
            acc_t2 = 0.0
            acc_k = 0.0
            acc_k2 = 0.0
            for i in range(take):
                t = minutes[i]
                b = np.intp(t * bins_per_minute)
                if b > n_bins - 1:
                    b = n_bins - 1
                k = _casualties(c_rate, c_initial, c_cap, t)
                acc_t += t
                acc_t2 += t * t
                acc_k += k
                acc_k2 += k * k
                hist_target[t_row + b] += 1
                hist_type[k_type, b] += 1
            sum_t[row] += acc_t
            sum_t2[row] += acc_t2
            sum_k[row] += acc_k
            sum_k2[row] += acc_k2
            pos += take
            left -= take
