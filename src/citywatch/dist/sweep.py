"""Sweeps: many what-ifs × seeds, each re-planned and simulated, run locally or on Dask."""

from __future__ import annotations

import itertools
import json
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from citywatch.errors import GameError, ScenarioError
from citywatch.options import QUICK, PlanOptions
from citywatch.model.scenario import Scenario

__all__ = ["SweepSpec", "SweepTask", "load_spec", "run_task", "sweep", "task_key"]

_CHANGE_KEYS = {"add_officers", "threat", "close_sites", "events", "label"}


@dataclass(frozen=True)
class SweepTask:
    """One cell of a sweep: a what-if change and a seed."""

    scenario: str
    change: tuple[tuple[str, Any], ...]
    seed: int
    attacks: int
    options: PlanOptions = QUICK
    targeting: str = "plan"

    @property
    def label(self) -> str:
        """The change's label (its ``label`` key, or its settings)."""
        d = dict(self.change)
        return str(d.get("label") or ", ".join(f"{k}={v}" for k, v in self.change) or "as is")


@dataclass(frozen=True)
class SweepSpec:
    """What to sweep: every change × every seed.

    A spec file (JSON or TOML)::

        scenario = "london"          # name or folder, as for --scenario
        attacks = 1000000            # per task
        seeds = [1, 2, 3]
        targeting = "plan"           # how simulated attackers choose (see `simulate`)
        [options]                    # PlanOptions.to_dict() form; default QUICK
        attacker = "mixture"         # the planner's attacker model
        arv = "greedy"
        [[changes]]
        label = "as is"
        [[changes]]
        add_officers = 600
        [[changes]]
        threat = "critical"
        events = ["wembley_stadium,16-20,90000"]
    """

    scenario: str = "london"
    attacks: int = 1_000_000
    seeds: tuple[int, ...] = (0,)
    options: PlanOptions = QUICK
    targeting: str = "plan"
    changes: tuple[dict[str, Any], ...] = field(default_factory=lambda: ({},))

    def tasks(self) -> list[SweepTask]:
        """Every (change, seed) task, changes outermost."""
        return [SweepTask(self.scenario, tuple(sorted(c.items())), int(s), self.attacks,
                          self.options, self.targeting)
                for c, s in itertools.product(self.changes, self.seeds)]


def load_spec(path: str | Path) -> SweepSpec:
    """Read a sweep spec from a ``.json`` or ``.toml`` file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        msg = f"`SPEC` file not found: {p}"
        raise ScenarioError(msg) from None
    try:
        data = tomllib.loads(text) if p.suffix.lower() == ".toml" else json.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as err:
        msg = f"`SPEC` {p} is not valid {p.suffix.lstrip('.').upper() or 'JSON'}: {err}"
        raise ScenarioError(msg) from err
    return spec_from_dict(data, source=str(p))


def spec_from_dict(data: dict[str, Any], *, source: str = "spec") -> SweepSpec:
    """Validate a spec read from a file."""
    known = {"scenario", "attacks", "seeds", "options", "targeting", "changes"}
    extra = set(data) - known
    if extra:
        msg = f"{source}: unknown key(s) {', '.join(sorted(extra))}; expected {sorted(known)}"
        raise ScenarioError(msg)
    changes = tuple(dict(c) for c in data.get("changes", [{}])) or ({},)
    for c in changes:
        bad = set(c) - _CHANGE_KEYS
        if bad:
            msg = (f"{source}: unknown change key(s) {', '.join(sorted(bad))}; expected "
                   f"{sorted(_CHANGE_KEYS)}")
            raise ScenarioError(msg)
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not all(isinstance(s, int) for s in seeds) or not seeds:
        msg = f"{source}: `seeds` must be a non-empty list of integers, got {seeds!r}"
        raise ScenarioError(msg)
    attacks = data.get("attacks", 1_000_000)
    if not isinstance(attacks, int) or attacks < 1:
        msg = f"{source}: `attacks` must be a positive integer, got {attacks!r}"
        raise ScenarioError(msg)
    try:
        options = (QUICK if data.get("options") is None
                   else PlanOptions.from_dict({**QUICK.to_dict(), **data["options"]}))
    except GameError as err:
        msg = f"{source}: {err}"
        raise ScenarioError(msg) from None
    return SweepSpec(str(data.get("scenario", "london")), attacks, tuple(seeds), options,
                     str(data.get("targeting", "plan")), changes)


def _load(scenario: str) -> Scenario:
    """An embedded scenario by name, or a scenario folder."""
    from citywatch.data import london, scenario_names
    from citywatch.model.io import load_scenario

    return london() if scenario.lower() in scenario_names() else load_scenario(scenario)


def run_task(task: SweepTask) -> dict[str, Any]:
    """Re-plan and simulate one task (the same function locally and on a worker)."""
    from citywatch.dist.runner import tune_malloc
    from citywatch.planner import make_plan
    from citywatch.sim.simulate import simulate
    from citywatch.sim.whatif import Outcome, apply_changes, parse_event

    tune_malloc()
    c = dict(task.change)
    sc = apply_changes(_load(task.scenario), add_officers=int(c.get("add_officers", 0)),
                       threat=c.get("threat"), close_sites=list(c.get("close_sites", [])),
                       events=[parse_event(e) for e in c.get("events", [])])
    plan = make_plan(sc, task.options, seed=task.seed)
    result = simulate(plan, n=task.attacks, seed=task.seed, targeting=task.targeting)
    out = Outcome(plan, result).to_dict()
    return {"label": task.label, "seed": task.seed, "change": dict(task.change), **out}


def task_key(task: SweepTask | dict[str, Any]) -> str:
    """A task's identity (change and seed), the same for a task and its result."""
    if isinstance(task, SweepTask):
        change, seed = dict(task.change), task.seed
    else:
        change, seed = task["change"], task["seed"]
    return json.dumps([change, seed], sort_keys=True, default=str)


def sweep(spec: SweepSpec, *, client: Any | None = None,
          progress: Callable[[int, int], None] | None = None,
          tasks: Sequence[SweepTask] | None = None,
          done: Sequence[dict[str, Any]] = (), interruptible: bool = False
          ) -> list[dict[str, Any]]:
    """Run every task of `spec`, on the Dask `client` if given, else in this process.

    Results come back in task order and are identical either way: each task is
    deterministic given its seed.

    Parameters
    ----------
    done
        Results of an earlier, interrupted run (e.g. read back from ``--out``): tasks
        with the same change and seed are not run again, their results are reused.
    interruptible
        On Ctrl-C, return the results finished so far (in task order) instead of
        raising ``KeyboardInterrupt``; pass them back as `done` to resume.
    """
    work = list(spec.tasks() if tasks is None else tasks)
    finished: dict[int, dict[str, Any]] = {}
    previous = {task_key(r): r for r in done}
    for j, task in enumerate(work):
        if task_key(task) in previous:
            finished[j] = previous[task_key(task)]
    todo = [j for j in range(len(work)) if j not in finished]
    try:
        if client is None:
            for j in todo:
                finished[j] = run_task(work[j])
                if progress is not None:
                    progress(len(finished), len(work))
        else:
            _run_on(client, work, todo, finished, progress)
    except KeyboardInterrupt:
        if not interruptible:
            raise
    return [finished[j] for j in range(len(work)) if j in finished]


def _run_on(client: Any, work: list[SweepTask], todo: list[int],
            finished: dict[int, dict[str, Any]],
            progress: Callable[[int, int], None] | None) -> None:
    from distributed import as_completed

    futures = client.map(run_task, [work[j] for j in todo], pure=False)
    index = {f.key: j for j, f in zip(todo, futures, strict=True)}
    try:
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            finished[index[future.key]] = future.result()
            if progress is not None:
                progress(len(finished), len(work))
    finally:
        client.cancel(futures)
