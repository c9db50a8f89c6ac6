"""Game-file JSON (issue 15): reading and writing a 10⁶-target game, before and after.

"before" is the standard library with the previous per-number check of every payoff
(``json.loads`` + a Python loop; ``json.dumps(indent=2)`` for ``game solve --json``);
"after" is `citywatch._json` (orjson when installed) with the vectorised check, compact.
Both parse to the same game. CPU seconds (``time.process_time``), best of 3.
Run: ``python benchmarks/bench_json.py [--targets N]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from citywatch import _json
from citywatch.games.io import game_from_dict, game_to_dict
from citywatch.games.random import random_game


def _old_numbers(field: str, value: Any, size: int | None) -> list[float]:
    """The check every payoff list went through before (games/io.py at b7e6aea)."""
    out = []
    for i, v in enumerate(value):
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise ValueError(f"`{field}[{i}]` must be a number")
        if not math.isfinite(v):
            raise ValueError(f"`{field}[{i}]` must be finite")
        out.append(float(v))
    return out


def _best(func: Callable[[], Any]) -> tuple[float, Any]:
    best, out = math.inf, None
    for _ in range(3):
        start = time.process_time()
        out = func()
        best = min(best, time.process_time() - start)
    return best, out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--targets", type=int, default=1_000_000)
    a = parser.parse_args()
    game = random_game(targets=a.targets, types=1, resources=a.targets // 10, seed=0)
    data = game_to_dict(game)
    text = json.dumps(data)
    eq = {"coverage": np.random.default_rng(0).random(a.targets).tolist(),
          "defender_utility": -1.5, "attack": {"type0": 3}, "method": "origami"}
    print(f"Python {platform.python_version()} on {platform.platform()}; orjson "
          f"{_json.HAVE_ORJSON}; load average {os.getloadavg()[0]:.2f}; "
          f"{a.targets:,} targets, file {len(text) / 1e6:.0f} MB\n")

    def old_parse() -> Any:
        d = json.loads(text)
        for t in d["attacker_types"]:
            for side in ("defender", "attacker"):
                for part in ("covered", "uncovered"):
                    _old_numbers(part, t[side][part], None)
        return d

    rows = [
        ("parse + check the game file", lambda: old_parse(),
         lambda: game_from_dict(_json.loads(text))),
        ("write the game file", lambda: json.dumps(data), lambda: _json.dumps(data)),
        ("print `game solve --json`", lambda: json.dumps(eq, indent=2),
         lambda: _json.dumps(eq)),
    ]
    print("| step | before CPU s | after CPU s | ratio |")
    print("|:--|---:|---:|---:|")
    for label, old, new in rows:
        t_old, _ = _best(old)
        t_new, _ = _best(new)
        print(f"| {label} | {t_old:.2f} | {t_new:.2f} | {t_old / t_new:.1f}x |", flush=True)
    again = game_from_dict(_json.loads(_json.dumps(data)))
    assert np.array_equal(again.defender_covered, game.defender_covered)
    print("\nround trip identical: True")


if __name__ == "__main__":
    main()
