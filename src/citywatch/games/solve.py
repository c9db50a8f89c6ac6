"""One entry point for every Strong Stackelberg Equilibrium solver."""

from __future__ import annotations

import importlib
import importlib.util

from citywatch.errors import GameError
from citywatch.games.equilibrium import Equilibrium
from citywatch.games.multiple_lp import solve_multiple_lps
from citywatch.games.origami import solve_origami
from citywatch.model.game import SecurityGame

__all__ = ["METHODS", "solve_sse"]

METHODS = ("auto", "origami", "single", "multiple-lps", "bayesian", "bayesian-milp")


def solve_sse(game: SecurityGame, *, method: str = "auto", time_limit: float | None = None,
              node_limit: int | None = None) -> Equilibrium:
    """Strong Stackelberg Equilibrium of `game` by the chosen algorithm.

    Parameters
    ----------
    game
        The security game.
    method
        ``"auto"`` (default): ORIGAMI for one attacker type, the Bayesian solver for
        several. ``"origami"`` or its alias ``"single"``: :func:`solve_origami`, exact,
        O(N log N), one type. ``"multiple-lps"``: :func:`solve_multiple_lps`, one LP per
        target, one type (a cross-check). ``"bayesian"``:
        ``citywatch.games.bayesian.solve_bayesian``, several types, by the level branch
        and bound; ``"bayesian-milp"``: the same by the ``tight`` MILP on HiGHS.
    time_limit
        Seconds, for the LP/MILP-based methods; ORIGAMI is exact in well under a
        second per million targets and ignores it.
    node_limit
        Deterministic work limit of the Bayesian methods (boxes or MILP nodes).

    Raises
    ------
    GameError
        For an unknown `method`, a method that does not fit the number of attacker
        types, or several types when the Bayesian solver is not installed.
    """
    if method not in METHODS:
        msg = f"`method` must be one of {METHODS}, got {method!r}"
        raise GameError(msg)
    if method == "auto":
        method = "origami" if game.n_types == 1 else "bayesian"
    if method in ("origami", "single"):
        return solve_origami(game)
    if method == "multiple-lps":
        return solve_multiple_lps(game, time_limit=time_limit)
    return _solve_bayesian(game, time_limit=time_limit, node_limit=node_limit,
                           milp=method == "bayesian-milp")


def _solve_bayesian(game: SecurityGame, *, time_limit: float | None, node_limit: int | None,
                    milp: bool) -> Equilibrium:
    module = "citywatch.games.bayesian"
    if importlib.util.find_spec(module) is None:
        msg = (f"games with several attacker types (`game.n_types` = {game.n_types}) need "
               f"method='bayesian', whose solver ({module}) is not available")
        raise GameError(msg)
    bayesian = importlib.import_module(module)
    result: Equilibrium = bayesian.solve_bayesian(
        game, method="milp" if milp else "levels", time_limit=time_limit,
        node_limit=node_limit)
    return result
