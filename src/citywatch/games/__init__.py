"""Security-game solvers."""

from citywatch.games.equilibrium import Equilibrium, verify_equilibrium
from citywatch.games.multiple_lp import solve_multiple_lps
from citywatch.games.origami import solve_origami
from citywatch.games.random import random_game
from citywatch.games.solve import solve_sse
from citywatch.model.game import SecurityGame

__all__ = [
    "Equilibrium",
    "SecurityGame",
    "random_game",
    "solve_multiple_lps",
    "solve_origami",
    "solve_sse",
    "verify_equilibrium",
]
