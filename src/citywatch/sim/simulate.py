"""Monte Carlo attack simulation against a plan: the public entry point."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from citywatch._random import Seed, children, seed_record, seed_sequence
from citywatch.sim._engine import Tally, simulate_block
from citywatch.sim.model import DEFAULT_THRESHOLDS, SimulationModel, Spread
from citywatch.sim.results import SimulationResult, summarise

if TYPE_CHECKING:
    from citywatch.plan import Plan

__all__ = ["CHUNK", "Block", "Runner", "blocks", "people_model", "root_seed", "run_blocks",
           "sample_rosters", "simulate", "simulate_model"]

#: Attacks per chunk; each chunk has its own seed, so results do not depend on how
#: chunks are grouped into blocks or spread over workers.
CHUNK = 1 << 20
#: Chunks per block (the unit of progress, interruption and distribution).
CHUNKS_PER_BLOCK = 4


@dataclass(frozen=True)
class Block:
    """A unit of simulation work: chunk sizes and their seeds."""

    sizes: tuple[int, ...]
    seeds: tuple[np.random.SeedSequence, ...]

    @property
    def attacks(self) -> int:
        """Attacks in the block."""
        return sum(self.sizes)


#: Runs ``simulate_block(model, block)`` for each block, yielding tallies in order.
Runner = Callable[[SimulationModel, Sequence[Block]], Iterable[Tally]]


def root_seed(seed: Seed) -> np.random.SeedSequence:
    """The seed sequence every chunk seed derives from (`citywatch._random.seed_sequence`)."""
    return seed_sequence(seed)


def blocks(n: int, seed: np.random.SeedSequence, *, chunk: int = CHUNK,
           chunks_per_block: int = CHUNKS_PER_BLOCK) -> list[Block]:
    """Split `n` attacks into blocks of seeded chunks (deterministic given `seed`)."""
    if n < 0:
        msg = f"`n` must be >= 0, got {n}"
        raise ValueError(msg)
    sizes = [chunk] * (n // chunk) + ([n % chunk] if n % chunk else [])
    seeds = children(seed, len(sizes))
    return [Block(tuple(sizes[i:i + chunks_per_block]), tuple(seeds[i:i + chunks_per_block]))
            for i in range(0, len(sizes), chunks_per_block)]


def run_blocks(model: SimulationModel, work: Sequence[Block]) -> Iterator[Tally]:
    """The default runner: each block in this process, in order."""
    for block in work:
        yield simulate_block(model, list(block.sizes), list(block.seeds))


def people_model(model: SimulationModel) -> SimulationModel:
    """The same model with attacks placed in proportion to people (types by prior)."""
    priors = model.attack_probability.sum(axis=(1, 2))
    people = model.people / model.people.sum()
    return model.with_attack(priors[:, None, None] * people[None])


def simulate_model(model: SimulationModel, *, n: int, seed: Seed = None,
                   targeting: str = "custom", runner: Runner = run_blocks,
                   progress: Callable[[int, int], None] | None = None,
                   interruptible: bool = False) -> SimulationResult:
    """Simulate `n` attacks against a built model (see `simulate`)."""
    root = root_seed(seed)
    work = blocks(n, root)
    total = Tally.empty(model)
    done = 0
    complete = True
    try:
        for tally in runner(model, work):
            total = total.merge(tally)
            done = total.n
            if progress is not None:
                progress(done, n)
    except KeyboardInterrupt:
        if not interruptible:
            raise
        complete = False
    notes = () if complete else (f"interrupted after {done:,} of {n:,} attacks",)
    return summarise(model, total, targeting=targeting, requested=n, complete=complete,
                     notes=notes, seed=seed_record(root))


def sample_rosters(plan: Plan, *, draws: int, seed: Seed = None) -> npt.NDArray[np.bool_]:
    """Sample `draws` rosters (draws, slots, sites) from the plan's coverage.

    Uses `citywatch.schedule.comb_sample`: every site's inclusion probability equals
    its coverage and no roster exceeds a slot's teams.
    """
    from citywatch.schedule.sampling import comb_sample

    n_slots = len(plan.scenario.slots)
    cov = np.asarray(plan.coverage).reshape(n_slots, -1)
    return comb_sample(cov, budgets=plan.built.game.resources, draws=draws, seed=seed)


def simulate(plan: Plan | SimulationModel, *, n: int = 1_000_000, seed: Seed = None,
             targeting: str = "plan", lam: float | None = None, site: str | None = None,
             slot: str | None = None, spread: Spread | None = None,
             rosters: int | npt.ArrayLike | None = None,
             thresholds: Sequence[float] = DEFAULT_THRESHOLDS,
             people_share: bool = True, n_people: int | None = None,
             runner: Runner = run_blocks,
             progress: Callable[[int, int], None] | None = None,
             interruptible: bool = False) -> SimulationResult:
    """Simulate `n` attacks against a plan and measure what happens.

    Each attack: an attack type by the scenario's priors; a target (site and slot) by
    `targeting`; an armed team on site with the plan's coverage of that target
    (or from sampled `rosters`); otherwise the nearest *available* response vehicle
    (each busy elsewhere with the scenario's ``arv_busy_probability``) after a dispatch
    delay and a travel time spread around the model's (`Spread`); casualties from the
    scenario's casualty curve (`citywatch.model.payoffs.casualties`). See
    `citywatch.sim._engine.simulate_chunk` for the exact draws.

    Parameters
    ----------
    plan
        A solved plan, or a `SimulationModel` built by hand (then `targeting`, `lam`,
        `site`, `slot`, `spread`, `rosters` and `thresholds` are the model's own).
    n
        Attacks to simulate.
    seed
        Seed of every random draw (an int, a `numpy.random.SeedSequence`, a generator,
        or ``None`` for fresh OS entropy): the same seed gives the same result whatever
        the runner (chunks carry their own seeds). The result records the root it drew
        from (``result.seed``: entropy and spawn key), so any run can be reproduced.
    targeting
        How the simulated attackers choose (not the planner's attacker model):
        ``"plan"`` (as the plan's attacker model assumes, so ``overall.casualties``
        estimates the plan's ``expected_casualties_per_attack``), ``"best"`` (each
        type's best response to the coverage), ``"qr"`` (quantal response, rationality
        `lam`), ``"people"`` (in proportion to people) or ``"fixed"`` (`site`, and
        `slot` or a uniform time of day).
    spread
        Spread of dispatch delay and travel time around the model's; default the
        scenario's, which the plan's expected casualties integrate over (another spread
        simulates a different response than the plan assumed).
    rosters
        Sampled rosters, bool (rosters, slots, sites), read instead of coverage; an int
        samples that many with `citywatch.schedule.comb_sample` (exact marginals, each
        slot's team budget respected in every roster).
    thresholds
        Armed-arrival standards reported, minutes.
    people_share
        Also simulate attacks in proportion to people (`n_people`, default ``n // 4``)
        to estimate the share of people within each threshold of armed help.
    runner
        Where blocks run: this process by default; `citywatch.dist` passes a Dask one.
    progress
        Called with (attacks done, attacks requested) after each block.
    interruptible
        On Ctrl-C, return the attacks simulated so far (``complete=False``) instead of
        raising ``KeyboardInterrupt``.
    """
    root = root_seed(seed)
    main_seed, people_seed, roster_seed = children(root, 3)
    if isinstance(plan, SimulationModel):
        model = plan
    else:
        if isinstance(rosters, int | np.integer) and not isinstance(rosters, bool):
            rosters = sample_rosters(plan, draws=int(rosters), seed=roster_seed)
        model = SimulationModel.from_plan(plan, targeting=targeting, lam=lam, site=site,
                                          slot=slot, spread=spread, rosters=rosters,
                                          thresholds=thresholds)
    label = "custom" if isinstance(plan, SimulationModel) else targeting
    import dataclasses

    result = simulate_model(model, n=n, seed=main_seed, targeting=label, runner=runner,
                            progress=progress, interruptible=interruptible)
    # the record is the root: `simulate(plan, seed=SeedSequence(entropy, spawn_key=...))`
    # reproduces the run (its main, people and roster streams are the root's children)
    result = dataclasses.replace(result, seed=seed_record(root))
    if not people_share or not result.complete or model.people.sum() <= 0:
        return result
    m_people = n // 4 if n_people is None else n_people
    pop = simulate_model(people_model(model), n=m_people, seed=people_seed,
                         targeting="people", runner=runner, interruptible=interruptible)
    return dataclasses.replace(result, population=pop)
