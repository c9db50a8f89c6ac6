"""The game JSON interchange format."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citywatch.errors import GameError
from citywatch.games.io import game_from_dict, game_to_dict, load_game, save_game
from citywatch.games.random import random_game


def _valid() -> dict:
    return {"targets": ["a", "b", "c"], "groups": [0, 0, 1], "resources": [1, 1],
            "attacker_types": [
                {"name": "x", "prior": 0.25,
                 "defender": {"covered": [1, 2, 3], "uncovered": [-1, -2, -3]},
                 "attacker": {"covered": [-1, -1, -1], "uncovered": [1, 2, 3]}},
                {"name": "y", "prior": 0.75,
                 "defender": {"covered": [0, 0, 0], "uncovered": [-5, -1, -1]},
                 "attacker": {"covered": [0, 0, 0], "uncovered": [5, 1, 1]}}]}


def test_round_trip(tmp_path: Path) -> None:
    game = random_game(targets=12, types=3, resources=[2, 1], groups=2, seed=4)
    again = load_game(save_game(game, tmp_path / "g.json"))
    for name in ("defender_covered", "defender_uncovered", "attacker_covered",
                 "attacker_uncovered", "priors", "groups", "resources"):
        np.testing.assert_array_equal(getattr(again, name), getattr(game, name))


def test_bare_int_resources_and_default_groups() -> None:
    data = _valid()
    del data["groups"]
    data["resources"] = 2
    game = game_from_dict(data)
    assert game.resources.tolist() == [2] and game.groups.tolist() == [0, 0, 0]
    assert game.target_labels == ("a", "b", "c") and game.type_names == ("x", "y")


@pytest.mark.parametrize(("mutate", "needle"), [
    (lambda d: d["attacker_types"][0]["defender"].update(covered=[1, 2]), "defender.covered"),
    (lambda d: d["attacker_types"][1].update(prior=0.5), "prior` must sum to 1"),
    (lambda d: d["attacker_types"][0]["defender"].update(covered=[-9, 2, 3]),
     "`attacker_types[].defender.covered` must be >="),
    (lambda d: d.update(resources=[3, 1]), "more than its 2 targets"),
    (lambda d: d["attacker_types"][0]["attacker"].update(uncovered=[1, float("nan"), 3]),
     "attacker.uncovered[1]` must be finite"),
    (lambda d: d.update(groups=[0, 0]), "`groups`"),
    (lambda d: d.update(resources="two"), "`resources`"),
    (lambda d: d.update(extra=1), "unknown field"),
    (lambda d: d["attacker_types"][0]["attacker"].update(covered=[-1, "x", -1]),
     "attacker.covered[1]` must be a number"),
    (lambda d: d["attacker_types"][0]["attacker"].update(covered=[-1, -1, True]),
     "attacker.covered[2]` must be a number"),
    (lambda d: d["attacker_types"][1]["defender"].update(uncovered=[-1, float("-inf"), -1]),
     "defender.uncovered[1]` must be finite"),
    (lambda d: d["attacker_types"][1]["defender"].update(uncovered=[-1, -10 ** 400, -1]),
     "defender.uncovered[1]` must be finite"),
])
def test_invalid_games_name_the_field(mutate, needle: str) -> None:  # type: ignore[no-untyped-def]
    data = _valid()
    mutate(data)
    with pytest.raises(GameError) as info:
        game_from_dict(data)
    assert needle in str(info.value)


def test_pretty_and_compact_files_hold_the_same_game(tmp_path: Path) -> None:
    game = random_game(targets=7, types=2, resources=2, seed=1)
    compact = save_game(game, tmp_path / "c.json")
    pretty = save_game(game, tmp_path / "p.json", pretty=True)
    assert "\n" not in compact.read_text() and "\n  " in pretty.read_text()
    assert json.loads(compact.read_text()) == json.loads(pretty.read_text()) == json.loads(
        json.dumps(game_to_dict(game)))


def test_missing_and_malformed_file(tmp_path: Path) -> None:
    with pytest.raises(GameError, match="not found"):
        load_game(tmp_path / "none.json")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(GameError, match="not valid JSON"):
        load_game(tmp_path / "bad.json")


@settings(max_examples=50, deadline=None)
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
                    lambda c: st.lists(c, max_size=4) | st.dictionaries(st.text(max_size=8), c,
                                                                         max_size=4),
                    max_leaves=20))
def test_arbitrary_json_never_crashes(data: object) -> None:
    """Any JSON value either parses to a game or raises GameError."""
    try:
        game = game_from_dict(data)
    except GameError:
        return
    assert game.n_targets >= 1


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 30), st.integers(1, 3), st.integers(0, 2 ** 32 - 1))
def test_dict_round_trip_property(n: int, types: int, seed: int) -> None:
    game = random_game(targets=n, types=types, resources=min(n, 2), seed=seed)
    data = json.loads(json.dumps(game_to_dict(game)))
    again = game_from_dict(data)
    np.testing.assert_array_equal(again.defender_covered, game.defender_covered)
    np.testing.assert_array_equal(again.priors, game.priors)
