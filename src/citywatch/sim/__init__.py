"""Monte Carlo attack simulation, baselines, what-if and capacity."""

from citywatch.sim.model import (
    TARGETING,
    DEFAULT_SPREAD,
    DEFAULT_THRESHOLDS,
    SimulationModel,
    Spread,
    attack_distribution,
)
from citywatch.sim.results import Estimate, Metrics, SimulationResult
from citywatch.sim.simulate import sample_rosters, simulate, simulate_model

__all__ = [
    "TARGETING",
    "DEFAULT_SPREAD",
    "DEFAULT_THRESHOLDS",
    "Estimate",
    "Metrics",
    "SimulationModel",
    "SimulationResult",
    "Spread",
    "attack_distribution",
    "sample_rosters",
    "simulate",
    "simulate_model",
]
