"""One seed path: roots, positional children and the records that reproduce a run."""

from __future__ import annotations

import numpy as np
import pytest

from citywatch._random import as_generator, children, seed_record, seed_sequence


def test_children_are_spawns_by_position_and_stateless() -> None:
    root = np.random.SeedSequence(11)
    mine = children(root, 4)
    assert children(root, 4)[2].generate_state(4).tolist() == mine[2].generate_state(4).tolist()
    spawned = np.random.SeedSequence(11).spawn(4)
    for a, b in zip(mine, spawned, strict=True):
        assert a.generate_state(8).tolist() == b.generate_state(8).tolist()
    grand = children(mine[1], 2)[1]
    assert grand.spawn_key == (1, 1)


def test_roots_and_records() -> None:
    assert seed_sequence(5).entropy == 5
    ss = np.random.SeedSequence(9, spawn_key=(2, 0))
    assert seed_sequence(ss) is ss
    assert seed_record(ss) == {"entropy": 9, "spawn_key": [2, 0]}
    fresh = seed_sequence(None)
    assert 0 <= fresh.entropy < 2**63
    assert seed_sequence(None).entropy != fresh.entropy
    g1, g2 = np.random.default_rng(3), np.random.default_rng(3)
    assert seed_sequence(g1).entropy == seed_sequence(g2).entropy
    assert seed_sequence(g1).entropy != seed_sequence(np.random.default_rng(3)).entropy


@pytest.mark.parametrize("bad", [-1, 1.5, "7", True])
def test_bad_seeds_are_refused(bad: object) -> None:
    with pytest.raises((TypeError, ValueError), match="seed"):
        seed_sequence(bad)  # type: ignore[arg-type]


def test_generators_from_every_kind_of_seed() -> None:
    ss = np.random.SeedSequence(4)
    assert (as_generator(ss).integers(1000, size=5).tolist()
            == np.random.default_rng(np.random.SeedSequence(4)).integers(1000, size=5).tolist())
    g = np.random.default_rng(1)
    assert as_generator(g) is g
    with pytest.raises(TypeError, match="seed"):
        as_generator("x")  # type: ignore[arg-type]
