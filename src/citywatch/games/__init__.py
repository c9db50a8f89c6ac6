"""Security-game solvers."""

from citywatch.games.equilibrium import Equilibrium, verify_equilibrium
from citywatch.model.game import SecurityGame

__all__ = ["Equilibrium", "SecurityGame", "verify_equilibrium"]
