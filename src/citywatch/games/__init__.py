"""Security-game solvers."""

from citywatch.games.bayesian import solve_bayesian
from citywatch.games.dobss import solve_dobss
from citywatch.games.equilibrium import Equilibrium, verify_equilibrium
from citywatch.games.multiple_lp import solve_multiple_lps
from citywatch.games.origami import solve_origami
from citywatch.games.policy import LinearConstraint, solve_with_policy
from citywatch.games.quantal import (
    evaluate_against,
    quantal_response,
    solve_quantal,
    suqr_response,
)
from citywatch.games.random import random_game
from citywatch.games.robustness import robustness_report
from citywatch.games.schedules import ScheduleGame, singleton_schedules, solve_schedules
from citywatch.games.solve import solve_sse
from citywatch.model.game import SecurityGame

__all__ = [
    "Equilibrium",
    "LinearConstraint",
    "ScheduleGame",
    "SecurityGame",
    "evaluate_against",
    "quantal_response",
    "random_game",
    "robustness_report",
    "solve_bayesian",
    "solve_dobss",
    "singleton_schedules",
    "solve_multiple_lps",
    "solve_origami",
    "solve_quantal",
    "solve_schedules",
    "solve_sse",
    "solve_with_policy",
    "suqr_response",
    "verify_equilibrium",
]
