"""The game interchange format: security games as JSON files other tools can read.

::

    {"targets": ["name", ...],          # optional; N entries
     "groups": [0, 0, 1, ...],          # optional; budget group of each target, default all 0
     "resources": [3, 2],               # teams per group (a bare int for one group)
     "attacker_types": [
       {"name": "mtfa", "prior": 0.6,
        "defender": {"covered": [...], "uncovered": [...]},
        "attacker": {"covered": [...], "uncovered": [...]}}]}

Optional ``"group_names"`` names the groups. Every error names the field at fault.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from citywatch._json import JSONDecodeError, loads, write_json
from citywatch.errors import GameError
from citywatch.games.equilibrium import Equilibrium
from citywatch.model.game import SecurityGame

__all__ = ["equilibrium_to_dict", "game_from_dict", "game_to_dict", "load_game", "save_game"]


_NUMBER_TYPES = frozenset({int, float})


def _numbers(field: str, value: object, size: int | None) -> list[float] | np.ndarray:
    if not isinstance(value, list):
        msg = f"`{field}` must be a list of numbers, got {type(value).__name__}"
        raise GameError(msg)
    if set(map(type, value)) <= _NUMBER_TYPES:  # fast path: plain numbers (no bools)
        try:
            arr = np.array(value, dtype=np.float64)
        except OverflowError:
            arr = None
        if arr is not None and np.isfinite(arr).all():
            if size is not None and arr.size != size:
                msg = f"`{field}` must have {size} entries (one per target), got {arr.size}"
                raise GameError(msg)
            return arr
    out = []
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int | float):
            msg = f"`{field}[{i}]` must be a number, got {v!r}"
            raise GameError(msg)
        try:
            finite = math.isfinite(v)
        except OverflowError:  # an integer beyond float's range
            finite = False
        if not finite:
            msg = f"`{field}[{i}]` must be finite, got {v!r}"
            raise GameError(msg)
        out.append(float(v))
    if size is not None and len(out) != size:
        msg = f"`{field}` must have {size} entries (one per target), got {len(out)}"
        raise GameError(msg)
    return out


def game_from_dict(data: Any) -> SecurityGame:
    """Build a game from the interchange format's data, checking every field."""
    if not isinstance(data, dict):
        msg = f"a game must be a JSON object, got {type(data).__name__}"
        raise GameError(msg)
    unknown = set(data) - {"targets", "groups", "resources", "attacker_types", "group_names"}
    if unknown:
        msg = f"unknown field(s) {sorted(unknown)}; expected targets, groups, resources, " \
              f"attacker_types, group_names"
        raise GameError(msg)
    types = data.get("attacker_types")
    if not isinstance(types, list) or not types:
        msg = f"`attacker_types` must be a non-empty list, got {types!r}"
        raise GameError(msg)
    first = types[0] if isinstance(types[0], dict) else {}
    size = None
    targets = data.get("targets")
    if targets is not None:
        if not isinstance(targets, list) or not all(isinstance(t, str) for t in targets):
            msg = "`targets` must be a list of names"
            raise GameError(msg)
        size = len(targets)
    elif isinstance(first.get("defender"), dict) and isinstance(
            first["defender"].get("covered"), list):
        size = len(first["defender"]["covered"])
    if not size:
        msg = "the game has no targets (`targets` or `attacker_types[0].defender.covered`)"
        raise GameError(msg)
    matrices: dict[str, list[list[float]]] = {k: [] for k in ("dc", "du", "ac", "au")}
    priors, names = [], []
    for k, t in enumerate(types):
        where = f"attacker_types[{k}]"
        if not isinstance(t, dict):
            msg = f"`{where}` must be an object, got {t!r}"
            raise GameError(msg)
        prior = t.get("prior", 1.0 if len(types) == 1 else None)
        if isinstance(prior, bool) or not isinstance(prior, int | float) or not math.isfinite(
                prior):
            msg = f"`{where}.prior` must be a number, got {prior!r}"
            raise GameError(msg)
        priors.append(float(prior))
        names.append(str(t.get("name", f"type{k}")))
        for side in ("defender", "attacker"):
            block = t.get(side)
            if not isinstance(block, dict):
                msg = f"`{where}.{side}` must be an object with covered and uncovered lists"
                raise GameError(msg)
            for part in ("covered", "uncovered"):
                key = side[0] + part[0]
                matrices[key].append(_numbers(f"{where}.{side}.{part}", block.get(part), size))
    if abs(sum(priors) - 1.0) > 1e-6:
        msg = f"`attacker_types[].prior` must sum to 1, got {sum(priors):.6g}"
        raise GameError(msg)
    resources = data.get("resources")
    if isinstance(resources, int) and not isinstance(resources, bool):
        resources = [resources]
    if not isinstance(resources, list) or not resources or not all(
            isinstance(r, int) and not isinstance(r, bool) for r in resources):
        msg = f"`resources` must be an integer or a list of integers, got {resources!r}"
        raise GameError(msg)
    groups = data.get("groups")
    if groups is not None:
        if not isinstance(groups, list) or len(groups) != size or not all(
                isinstance(g, int) and not isinstance(g, bool) for g in groups):
            msg = f"`groups` must list one integer group per target ({size})"
            raise GameError(msg)
    group_names = data.get("group_names")
    try:
        return SecurityGame(
            np.array(matrices["dc"]), np.array(matrices["du"]),
            np.array(matrices["ac"]), np.array(matrices["au"]),
            resources=np.array(resources, dtype=np.int64),
            groups=None if groups is None else np.array(groups, dtype=np.int64),
            priors=np.array(priors), target_labels=targets, type_names=tuple(names),
            group_labels=group_names,
        )
    except GameError as err:
        raise GameError(_translate(str(err))) from None


def _translate(message: str) -> str:
    """Say which JSON field a SecurityGame error is about."""
    for attr, field in (("`defender_covered`", "`attacker_types[].defender.covered`"),
                        ("`defender_uncovered`", "`attacker_types[].defender.uncovered`"),
                        ("`attacker_covered`", "`attacker_types[].attacker.covered`"),
                        ("`attacker_uncovered`", "`attacker_types[].attacker.uncovered`"),
                        ("`target_labels`", "`targets`"), ("`group_labels`", "`group_names`")):
        message = message.replace(attr, field)
    return message


def game_to_dict(game: SecurityGame) -> dict[str, Any]:
    """The interchange-format data of a game."""
    out: dict[str, Any] = {}
    if game.target_labels is not None:
        out["targets"] = list(game.target_labels)
    if game.n_groups > 1 or np.any(game.groups != 0):
        out["groups"] = game.groups.tolist()
    if game.group_labels is not None:
        out["group_names"] = list(game.group_labels)
    out["resources"] = int(game.resources[0]) if game.n_groups == 1 else game.resources.tolist()
    names = game.type_names or tuple(f"type{k}" for k in range(game.n_types))
    out["attacker_types"] = [
        {"name": names[k], "prior": float(game.priors[k]),
         "defender": {"covered": game.defender_covered[k].tolist(),
                      "uncovered": game.defender_uncovered[k].tolist()},
         "attacker": {"covered": game.attacker_covered[k].tolist(),
                      "uncovered": game.attacker_uncovered[k].tolist()}}
        for k in range(game.n_types)]
    return out


def load_game(path: str | Path) -> SecurityGame:
    """Read a game JSON file."""
    path = Path(path)
    try:
        text = path.read_bytes()
    except FileNotFoundError:
        msg = f"game file not found: {str(path)!r}"
        raise GameError(msg) from None
    try:
        data = loads(text)
    except JSONDecodeError as err:
        msg = f"{path}: not valid JSON ({err})"
        raise GameError(msg) from None
    return game_from_dict(data)


def save_game(game: SecurityGame, path: str | Path, *, pretty: bool = False) -> Path:
    """Write a game JSON file atomically: compact, or indented with `pretty`."""
    return write_json(path, game_to_dict(game), pretty=pretty)


def equilibrium_to_dict(game: SecurityGame, eq: Equilibrium) -> dict[str, Any]:
    """An equilibrium as JSON data: coverage, defender_utility, attack, method, optimal, gap
    (absolute and relative to the defender's utility) and what proved the bound."""
    names = game.type_names or tuple(f"type{k}" for k in range(game.n_types))
    if eq.attack_distribution is not None:
        attack: dict[str, Any] = {names[k]: eq.attack_distribution[k].tolist()
                                  for k in range(game.n_types)}
    else:
        attack = {names[k]: int(eq.attacked[k]) for k in range(game.n_types)}
    return {
        "coverage": eq.coverage.tolist(),
        "defender_utility": float(eq.defender_utility),
        "attack": attack,
        "attacker_utility": {names[k]: float(eq.attacker_utility[k])
                             for k in range(game.n_types)},
        "method": eq.method,
        "optimal": bool(eq.optimal),
        "gap": float(eq.gap) if math.isfinite(eq.gap) else None,
        "relative_gap": float(eq.relative_gap) if math.isfinite(eq.relative_gap) else None,
        "bound_source": eq.bound_source,
        "seconds": float(eq.seconds),
    }
