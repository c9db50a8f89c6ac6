"""CityWatch's exceptions, one tree for the whole package.

::

    CityWatchError (Exception)
     ├── ScenarioError (ValueError)      a scenario is invalid; ``.problems`` lists each problem
     ├── GameError (ValueError)          a security game is malformed
     ├── TravelTimeError (ValueError)    travel-time inputs are invalid or points cannot be snapped
     ├── RosterError (ValueError)        a roster breaks a working-time rule or cannot be staffed;
     │                                   ``.rule`` and ``.team`` say which
     ├── SolverError (RuntimeError)      a solver did not prove an answer
     │    └── InfeasibleError            the problem has no feasible solution
     └── MissingDependencyError (ImportError)
                                         an optional extra is not installed; the message says which
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "CityWatchError",
    "GameError",
    "InfeasibleError",
    "MissingDependencyError",
    "Problem",
    "RosterError",
    "ScenarioError",
    "SolverError",
    "TravelTimeError",
    "require",
]


class CityWatchError(Exception):
    """Base class of every error CityWatch raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input: where it is, what it holds, and what was expected."""

    file: str
    field: str
    value: object
    expected: str
    row: int | None = None

    def __str__(self) -> str:
        where = self.file if self.row is None else f"{self.file} row {self.row}"
        return f"{where}: `{self.field}` = {self.value!r}: {self.expected}"


class ScenarioError(CityWatchError, ValueError):
    """A scenario is invalid; ``problems`` holds every problem found, not just the first."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.problems: list[Problem] = list(problems or [])


class GameError(CityWatchError, ValueError):
    """A security game's arrays are malformed (shapes, NaN, priors, payoff order, budgets)."""


class TravelTimeError(CityWatchError, ValueError):
    """Travel-time inputs are invalid (coordinates, speeds, graphs, unreachable points)."""


class RosterError(CityWatchError, ValueError):
    """A roster breaks a working-time rule or cannot be staffed; it must not be published.

    ``rule`` names the rule (``"max_shift_hours"``, ``"min_rest_hours"``, ...) and
    ``team`` the first team that breaks it (``None`` for rules about the whole roster).
    """

    def __init__(self, message: str, *, rule: str, team: str | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.team = team


class SolverError(CityWatchError, RuntimeError):
    """A solver stopped without proving an answer (status other than optimal)."""


class InfeasibleError(SolverError):
    """The optimisation problem has no feasible solution."""


class MissingDependencyError(CityWatchError, ImportError):
    """An optional dependency is missing; the message gives the install command."""


def require(module: str, extra: str) -> object:
    """Import an optional module or fail with the install command for its extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as err:
        msg = f"`{module}` is required for this feature: pip install 'citywatch[{extra}]'"
        raise MissingDependencyError(msg) from err


class ConfigError(CityWatchError, ValueError):
    """A setting the service refuses to start with (a weak key, a key file others can read)."""
