"""Schedule-constrained security games (ASPEN): teams choose whole schedules, not single targets.

Modules: `game` (the game and its equilibrium, re-verification), `solve`
(`solve_schedules`, with the mathematics in its docstring) and the internals
`_pricing` (column pool and pricing), `_profiles` (exact multiple LPs over attack
profiles) and `_bayes` (price-and-branch for several attacker types).
"""

from citywatch.games.schedules.game import (
    ScheduleEquilibrium,
    ScheduleGame,
    singleton_schedules,
    verify_schedule_equilibrium,
)
from citywatch.games.schedules.solve import solve_schedules

__all__ = [
    "ScheduleEquilibrium",
    "ScheduleGame",
    "singleton_schedules",
    "solve_schedules",
    "verify_schedule_equilibrium",
]
