"""The same scenario, options and seed give the same plan, however busy the machine is."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from citywatch.model.io import load_scenario
from citywatch.options import PlanOptions, SolveLimits
from citywatch.plan import make_plan


def _untimed(data: dict[str, Any]) -> dict[str, Any]:
    """The plan without its wall-clock timings (the only fields allowed to differ)."""
    out = {k: v for k, v in data.items() if k != "solve_seconds"}
    if out.get("arv_plan"):
        out["arv_plan"] = {k: v for k, v in out["arv_plan"].items() if k != "seconds"}
    return out


def test_plan_is_identical_with_both_cores_busy(tiny_dir: Path) -> None:
    sc = load_scenario(tiny_dir)
    # the default path, with the ARV search cut by its work limit mid-enumeration
    options = PlanOptions(limits=SolveLimits(arv_evaluations=40))
    quiet = make_plan(sc, options, seed=3).to_dict()
    hogs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        busy = make_plan(sc, options, seed=3).to_dict()
    finally:
        for p in hogs:
            p.kill()
            p.wait()
    assert quiet["arv_plan"]["evaluations"] == 40 and not quiet["clock_limited"]
    assert _untimed(busy) == _untimed(quiet)
