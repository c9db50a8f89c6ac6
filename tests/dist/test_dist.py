"""Dask scale-out gives exactly the single-process results for the same seeds."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("distributed")

from citywatch.dist import SweepSpec, connect, dask_runner, load_spec, sweep  # noqa: E402
from citywatch.errors import ScenarioError  # noqa: E402
from citywatch.model.io import load_scenario  # noqa: E402
from citywatch.plan import make_plan  # noqa: E402
from citywatch.sim import simulate  # noqa: E402


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    # process workers, as production sweeps use (tasks and blocks must pickle)
    with connect(workers=2, processes=True) as c:
        yield c


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from _scenarios import write_tiny

    return write_tiny(Path(tmp_path_factory.mktemp("tiny")) / "tiny")


def test_simulation_identical_on_dask(client: Any, tiny_folder: Path) -> None:
    plan = make_plan(load_scenario(tiny_folder), attacker="mixture")
    kw = {"n": 9_000_000, "seed": 5, "targeting": "qr"}
    local = simulate(plan, **kw)
    remote = simulate(plan, runner=dask_runner(client), **kw)
    assert remote.to_dict() == local.to_dict()


def test_sweep_identical_on_dask(client: Any, tiny_folder: Path) -> None:
    spec = SweepSpec(scenario=str(tiny_folder), attacks=50_000, seeds=(1, 2),
                     changes=({"label": "as is"}, {"add_officers": 20},
                              {"events": ["alpha,night,3000"]}))
    remote = sweep(spec, client=client)
    local = sweep(spec)
    assert remote == local
    assert [r["label"] for r in local] == ["as is", "as is", "add_officers=20",
                                           "add_officers=20", "events=['alpha,night,3000']",
                                           "events=['alpha,night,3000']"]
    assert local[0] != local[1]  # different seeds


def test_spec_files(tmp_path: Path) -> None:
    toml = tmp_path / "s.toml"
    toml.write_text('scenario = "london"\nattacks = 1000\nseeds = [1, 2]\n'
                    '[[changes]]\nadd_officers = 600\n[[changes]]\nthreat = "critical"\n')
    spec = load_spec(toml)
    assert len(spec.tasks()) == 4 and spec.tasks()[0].label == "add_officers=600"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"changes": [{"officers": 1}]}))
    with pytest.raises(ScenarioError, match="unknown change key"):
        load_spec(bad)
    with pytest.raises(ScenarioError, match="not found"):
        load_spec(tmp_path / "none.json")


def test_sweep_resumes_and_reports_partial(tiny_folder: Path) -> None:
    spec = SweepSpec(scenario=str(tiny_folder), attacks=20_000, seeds=(1, 2, 3))
    full = sweep(spec)
    calls: list[int] = []

    def stop_after_one(done: int, total: int) -> None:
        calls.append(done)
        if done == 1:
            raise KeyboardInterrupt

    partial = sweep(spec, progress=stop_after_one, interruptible=True)
    assert partial == full[:1]
    with pytest.raises(KeyboardInterrupt):
        sweep(spec, progress=stop_after_one)
    resumed = sweep(spec, done=json.loads(json.dumps(partial)))
    assert resumed == full
