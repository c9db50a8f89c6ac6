"""Backtest against real attacks: casualty predictions and response times in London."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pytest

from citywatch.data import london
from citywatch.model.attacks import default_attacks, read_attacks_text
from citywatch.model.casualties import predict_casualties
from citywatch.plan import Plan, make_plan
from citywatch.sim.backtest import backtest

from _cli import assert_clean_error, run

LONDON_ROWS = ("westminster_2017", "london_bridge_2017", "fishmongers_hall_2019",
               "woolwich_2013", "streatham_2020", "finsbury_park_2017")


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(london(), attacker="mixture", arv="greedy")


def test_casualties_only() -> None:
    res = backtest(default_attacks())
    by = {r.id: r for r in res.rows}
    nice = by["nice_2016"]
    assert nice.predicted_casualties == pytest.approx(
        float(predict_casualties("vehicle", 30_000, 5)))
    assert nice.observed_casualties == 520 and nice.ratio == pytest.approx(
        nice.predicted_casualties / 520)
    assert by["woolwich_2013"].targeted and by["woolwich_2013"].predicted_casualties == 1.0
    assert all(r.loo_predicted_casualties is not None for r in res.rows)
    assert all(r.predicted_minutes is None for r in res.rows)
    data = res.to_dict()
    assert set(data) == {"rows", "summary"} and len(data["rows"]) == 11
    assert data["summary"]["with_casualty_prediction"] == 11
    assert data["summary"]["within_factor_2"] >= 9
    json.dumps(data)


def test_rows_with_few_columns() -> None:
    res = backtest(read_attacks_text("id,type,people_present\na,pbied,500\nb,bladed,\n"))
    a, b = res.rows
    assert a.predicted_casualties == pytest.approx(float(predict_casualties("pbied", 500, 0)))
    assert b.predicted_casualties is None and b.ratio is None and a.observed_casualties is None


def test_london_rows_get_response_times(plan: Plan) -> None:
    res = backtest(default_attacks(), plan=plan, seed=3)
    by = {r.id: r for r in res.rows}
    for rid in LONDON_ROWS:
        r = by[rid]
        assert r.slot is not None and r.predicted_minutes is not None, rid
        q, q0 = r.predicted_minutes, r.predicted_minutes_no_patrol
        assert q0 is not None
        assert 0 < q["p10"] <= q["median"] <= q["p90"]
        assert q0["p10"] <= q0["median"] <= q0["p90"]
        assert q["median"] <= q0["median"] + 0.25   # patrols only shorten it (± MC error)
    assert by["westminster_2017"].slot == "12-16" and by["london_bridge_2017"].slot == "20-24"
    assert "palace_of_westminster" in by["westminster_2017"].nearby_sites
    assert by["nice_2016"].predicted_minutes is None and "outside" in by["nice_2016"].outside
    assert "blast" in by["london_7july_2005"].outside
    # one real attack is one draw: the ARV-only spread must reach what happened in the
    # central-London attacks answered by ARVs (London Bridge 8.5 min from the first
    # call, Fishmongers' Hall about 5 min from the first stabbing)
    lb = by["london_bridge_2017"].predicted_minutes_no_patrol
    fh = by["fishmongers_hall_2019"].predicted_minutes_no_patrol
    assert lb is not None and fh is not None
    assert 8.5 <= 1.25 * lb["p90"] and lb["median"] <= 8.5 * 1.25
    assert fh["p10"] <= 5.0 * 1.25 and 5.0 <= 1.25 * fh["p90"]
    again = backtest(default_attacks(), plan=plan, seed=3)
    assert again.to_dict() == res.to_dict()


def test_full_coverage_means_the_on_site_minute(plan: Plan) -> None:
    sc = plan.scenario
    full = dataclasses.replace(plan, equilibrium=dataclasses.replace(
        plan.equilibrium, coverage=np.ones_like(plan.coverage)))
    (r,) = backtest(read_attacks_text(
        "id,type,lat,lon,local_time\nx,bladed,51.5178,-0.0817,09:00\n"), plan=full).rows
    assert r.armed_presence == pytest.approx(1.0)
    assert r.predicted_minutes == {"p10": pytest.approx(sc.payoffs.on_site_intervention_min),
                                   "median": pytest.approx(sc.payoffs.on_site_intervention_min),
                                   "p90": pytest.approx(sc.payoffs.on_site_intervention_min)}


def test_protection_posts_count_as_armed_presence(plan: Plan) -> None:
    """Westminster 2017 was stopped by a protection officer already on site: the
    Palace of Westminster's post puts armed officers there for certain, whatever the
    patrols do, so the predicted time is the on-site minute; without the post the
    patrol coverage alone (zero there: the plan withdraws patrols from guarded sites)
    leaves it to the ARVs."""
    sc = plan.scenario
    west = [r for r in default_attacks() if r.id == "westminster_2017"]
    (r,) = backtest(west, plan=plan, seed=1).rows
    assert "palace_of_westminster" in r.nearby_sites
    assert r.armed_presence == pytest.approx(1.0)
    minute = sc.payoffs.on_site_intervention_min
    assert r.predicted_minutes == {"p10": pytest.approx(minute),
                                   "median": pytest.approx(minute),
                                   "p90": pytest.approx(minute)}
    unguarded = dataclasses.replace(plan, scenario=dataclasses.replace(
        sc, protection=tuple(p for p in sc.protection
                             if p.site_id != "palace_of_westminster")))
    (r0,) = backtest(west, plan=unguarded, seed=1).rows
    assert r0.armed_presence is not None and r0.armed_presence < 0.5
    assert r0.predicted_minutes is not None and r0.predicted_minutes["median"] > 2 * minute


def test_cli_backtest_table_json_and_errors(tmp_path: Path) -> None:
    proc = run("backtest", "--scenario", "none")
    assert proc.returncode == 0, proc.stderr
    assert "nice_2016" in proc.stdout and "leave-one-out" in proc.stdout
    out = run("backtest", "--scenario", "none", "--json")
    data = json.loads(out.stdout)
    assert len(data["rows"]) == 11 and data["summary"]["rms_log_ratio"] < 0.5
    bad = tmp_path / "bad.csv"
    bad.write_text("id,type,people_present\na,bladed,many\n")
    assert_clean_error(run("backtest", str(bad), "--scenario", "none"), "row 1",
                       "people_present", "many")
    assert_clean_error(run("backtest", str(tmp_path / "none.csv"), "--scenario", "none"),
                       "not found")
