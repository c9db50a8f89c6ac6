"""Protection posts and partner forces: loaded, counted on site in payoffs, plan and simulator."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from citywatch.data import london
from citywatch.errors import ScenarioError
from citywatch.games.origami import solve_origami
from citywatch.model.io import load_scenario, save_scenario
from citywatch.model.payoffs import build_game
from citywatch.model.protection import ProtectionPost, armed_on_site, officers_needed
from tests._scenarios import TINY_TOML, write_tiny

GUARDED_TOML = TINY_TOML + '\n[tables]\nprotection = "protection.csv"\n'


def _tiny(tmp_path: Path, rows: str, toml: str = GUARDED_TOML) -> Path:
    table = "site_id,force,officers,slots,unit,source\n" + rows
    return write_tiny(tmp_path, scenario_toml=toml, protection_csv=table)


def test_london_westminster_is_met_in_about_a_minute() -> None:
    sc = london()
    built = build_game(sc)
    i = sc.site_ids.index("palace_of_westminster")
    # Westminster 2017: stopped by a protection officer already on site in about a minute
    assert np.allclose(built.response_minutes[:, i], sc.payoffs.on_site_intervention_min)
    forces = {p.force for p in sc.protection}
    assert forces == {"met", "btp", "colp"}
    assert all(p.source for p in sc.protection)
    need = officers_needed(sc.protection, sc.force, {s.name: s.hours for s in sc.slots})
    assert 0 < need <= sc.force.committed_officers
    # BTP at King's Cross from 04:00, not in the small hours
    k = sc.site_ids.index("kings_cross_st_pancras_stn")
    assert armed_on_site(sc)[:, k].tolist() == [False, True, True, True, True, True]


def test_protection_counts_as_armed_officers_on_site(tmp_path: Path) -> None:
    # 3 and 2 patrol teams for 5 sites, so a team on a guarded site would be a waste
    bare = load_scenario(write_tiny(tmp_path / "bare")).with_force(officers=120)
    sc = load_scenario(_tiny(tmp_path / "g", "delta,met,2,,PaDP,assumption\n"
                                             "alpha,btp,2,day,BTP,assumption\n")
                       ).with_force(officers=120)
    assert sc.protection[1] == ProtectionPost("alpha", "btp", 2, ("day",), "BTP", "assumption")
    g0, g1 = build_game(bare), build_game(sc)
    n = g1.n_sites
    d, a = sc.site_ids.index("delta"), sc.site_ids.index("alpha")
    guarded = [d, n + d, a]  # delta day and night, alpha by day
    game = g1.game
    for t in guarded:
        assert np.allclose(game.defender_uncovered[:, t], game.defender_covered[:, t])
        assert np.allclose(game.attacker_uncovered[:, t], game.attacker_covered[:, t])
        assert np.allclose(g1.casualties_uncovered[:, t], g1.casualties_covered[:, t])
    assert g1.response_minutes[0, d] == sc.payoffs.on_site_intervention_min
    assert g1.response_minutes[1, a] == pytest.approx(g0.response_minutes[1, a])
    # everything else is unchanged
    others = [t for t in range(2 * n) if t not in guarded]
    assert np.allclose(game.defender_uncovered[:, others], g0.game.defender_uncovered[:, others])
    # covering a guarded site gains nothing, and the plan sends no patrol there
    # (the loss may still rise: a guarded site no longer draws the attack, which is
    # displaced to the next best target; Stackelberg values are not monotone here)
    eq = solve_origami(game.mixture())
    from citywatch.plan import make_plan

    plan = make_plan(sc, attacker="mixture", arv="greedy")
    assert np.all(plan.coverage[guarded] == 0.0)
    from citywatch.games.equilibrium import best_responses

    _, value = best_responses(game.mixture(), plan.coverage)
    assert value == pytest.approx(eq.defender_utility)  # the withdrawal costs nothing


def test_round_trip_and_field_naming_errors(tmp_path: Path) -> None:
    sc = load_scenario(_tiny(tmp_path / "a", "delta,met,2,,PaDP,assumption\n"))
    back = load_scenario(save_scenario(sc, tmp_path / "out"))
    assert back.protection == sc.protection
    lon = london()
    assert load_scenario(save_scenario(lon, tmp_path / "lon")).protection == lon.protection
    bad = ("nowhere,met,2,,,\n"        # unknown site
           "alpha,army,2,,,\n"          # unknown force
           "alpha,btp,0,,,\n"           # no officers
           "alpha,btp,2,day;dusk,,\n")  # unknown slot
    with pytest.raises(ScenarioError) as err:
        load_scenario(_tiny(tmp_path / "b", bad))
    fields = {(p.field, p.row) for p in err.value.problems}
    assert {("site_id", 2), ("force", 3), ("officers", 4), ("slots", 5)} <= fields
    # Met posts must fit in the committed officers (tiny: 50)
    with pytest.raises(ScenarioError) as err:
        load_scenario(_tiny(tmp_path / "c", "delta,met,10,,,\n"))
    assert any(p.field == "officers" and p.file == "protection.csv"
               for p in err.value.problems)


def test_simulator_sees_the_officers_on_site(tmp_path: Path) -> None:
    from citywatch.plan import make_plan
    from citywatch.sim.model import SimulationModel

    sc = load_scenario(_tiny(tmp_path / "s", "delta,met,2,,PaDP,assumption\n"))
    plan = make_plan(sc, attacker="mixture", arv="greedy")
    model = SimulationModel.from_plan(plan)
    d = sc.site_ids.index("delta")
    assert np.all(np.asarray(model.coverage)[:, d] == 1.0)
