"""The HTML report is self-contained and shows the plan, simulation and what-if."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from citywatch.model.io import load_scenario
from citywatch.plan import Plan, make_plan
from citywatch.sim import simulate
from citywatch.sim.report import MARKING, ReportParts, render_report, response_grid, write_report
from citywatch.sim.whatif import capacity, whatif


@pytest.fixture(scope="module")
def html_and_plan(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Plan]:
    from _scenarios import write_tiny

    sc = load_scenario(write_tiny(Path(tmp_path_factory.mktemp("tiny")) / "tiny"))
    plan = make_plan(sc, attacker="mixture")
    parts = ReportParts(simulate(plan, n=50_000, seed=1),
                        whatif(sc, add_officers=20, n=20_000, seed=1), None, "night")
    return render_report(plan, parts), plan


def test_report_is_offline(html_and_plan: tuple[str, Plan]) -> None:
    html, _ = html_and_plan
    markup = re.sub(r"<script>.*?</script>", "", html, flags=re.S)
    urls = set(re.findall(r"(?:src|href)=['\"]([^'\"]+)", markup))
    assert all(u.startswith("data:") for u in urls), urls
    assert "@import" not in markup and "url(" not in markup
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all(attrs == "" for attrs in scripts)  # inline only, nothing fetched
    assert "L.version" in html or "Leaflet" in html  # the map library is inlined
    assert html.count(MARKING) == 2


def test_report_sections(html_and_plan: tuple[str, Plan]) -> None:
    html, _ = html_and_plan
    assert "Stackelberg plan against the prior-weighted mixture" in html
    assert "none plan" not in html and "file:" not in html
    for needle in ("Maps by slot", "Slot day", "Slot night", "Teams and coverage by slot",
                   "Simulated attacks", "What if: +20 armed officers", "Assumptions",
                   "Alpha Station"):
        assert needle in html, needle
    # one small map per slot, drawn from the plan's map data
    assert html.count("class='cw-map small'") == 2
    data = json.loads(re.search(r"const CW_MAP = (\{.*?\});CW_MAP", html, re.S).group(1))
    assert len(data["sites"]) == 5 and data["slots"] == ["day", "night"]
    assert len(data["posts"]) == 2 and data["cells"]["minutes"]


def test_response_grid_is_plausible(html_and_plan: tuple[str, Plan]) -> None:
    _, plan = html_and_plan
    lat, lon, minutes = response_grid(plan, slot=0, cells=10)
    assert minutes.shape == (10, 10) and lat.size == lon.size == 10
    assert minutes.min() >= 2.5  # dispatch + engage at least


def test_write_report_with_capacity_png(tmp_path: Path, html_and_plan: tuple[str, Plan]
                                        ) -> None:
    pytest.importorskip("matplotlib")
    _, plan = html_and_plan
    curve = capacity(plan.scenario, added=[0, 20], n=10_000, seed=1)
    written = write_report(plan, tmp_path / "r.html", ReportParts(capacity=curve))
    assert [p.name for p in written] == ["r.html", "r_map.png", "r_capacity.png"]
    assert "data:image/png;base64," in written[0].read_text()
