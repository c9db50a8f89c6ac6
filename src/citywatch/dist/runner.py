"""Dask clients and a simulation runner that spreads blocks over the cluster's workers."""

from __future__ import annotations

import ctypes
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from citywatch.errors import require
from citywatch.sim._engine import Tally, simulate_block
from citywatch.sim.model import SimulationModel
from citywatch.sim.simulate import Block, Runner

__all__ = ["connect", "dask_runner", "tune_malloc"]


@contextmanager
def connect(scheduler: str | None = None, *, workers: int | None = None,
            processes: bool = True) -> Iterator[Any]:
    """A Dask client: to the cluster at `scheduler`, or to a new local cluster.

    Parameters
    ----------
    scheduler
        Address of a running scheduler (``tcp://HOST:PORT``); ``None`` starts a
        local cluster for the duration of the ``with`` block.
    workers
        Local workers (default: one per CPU), each single-threaded: the simulator is
        NumPy-bound and holds the GIL between calls, so processes scale, threads do not.
    processes
        Local workers as processes (default) or threads (quick to start, for tests).
    """
    require("distributed", "dist")
    from distributed import Client, LocalCluster

    if scheduler is not None:
        client = Client(scheduler)  # type: ignore[no-untyped-call]
        try:
            yield client
        finally:
            client.close()  # type: ignore[no-untyped-call]
        return
    cluster = LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers, threads_per_worker=1, processes=processes, dashboard_address=None)
    client = Client(cluster)  # type: ignore[no-untyped-call]
    try:
        yield client
    finally:
        client.close()  # type: ignore[no-untyped-call]
        cluster.close()


_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_tuned = False


def tune_malloc() -> None:
    """Undo Dask's ``MALLOC_TRIM_THRESHOLD_=65536`` for this worker process (glibc only).

    Dask nannies start workers with that setting, which also freezes glibc's mmap
    threshold at 128 KiB: every one of the simulator's 256 KiB temporaries is then a
    fresh ``mmap`` with page faults, 2–4 times slower (measured). Raising both
    thresholds restores the single-process speed. A no-op elsewhere.
    """
    global _tuned
    if _tuned:
        return
    _tuned = True
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.mallopt(_M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(_M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):
        pass


def _block(model: SimulationModel, block: Block) -> Tally:
    tune_malloc()
    return simulate_block(model, list(block.sizes), list(block.seeds))


def dask_runner(client: Any) -> Runner:
    """A `citywatch.sim.simulate` runner that simulates blocks on the client's workers.

    The model is scattered once to every worker; blocks run in parallel and their
    tallies come back in block order, so the result is identical to the single-process
    run with the same seed (every chunk carries its own seed).
    """

    def run(model: SimulationModel, work: Sequence[Block]) -> Iterator[Tally]:
        if not work:
            return
        remote = client.scatter(model, broadcast=True)
        futures = client.map(_block, [remote] * len(work), list(work), pure=False)
        try:
            for future in futures:
                yield future.result()
        finally:
            client.cancel(futures)

    return run
