"""Scale-out on Dask distributed: large simulations and sweeps over what-ifs and seeds."""

from citywatch.dist.runner import connect, dask_runner
from citywatch.dist.sweep import SweepSpec, SweepTask, load_spec, run_task, sweep

__all__ = ["SweepSpec", "SweepTask", "connect", "dask_runner", "load_spec", "run_task", "sweep"]
