"""Plan folders: `write_plan` writes what ``citywatch plan --out`` leaves, `load_plan` reads it.

``plan.json`` is `Plan.to_dict`; loading it gives the same plan exactly (coverage, ARV
posts, attacked targets, method, gap, options, seed), never a re-solved one.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from citywatch.errors import ScenarioError
from citywatch.model.scenario import Scenario

if TYPE_CHECKING:
    from citywatch.plan import Plan

__all__ = ["load_plan", "write_plan"]


def _atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` so a crash leaves either the old file or the new one."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_plan(plan: Plan, folder: str | Path) -> list[Path]:
    """Write ``plan.json``, ``coverage.csv``, ``sites.geojson`` and ``zones.geojson``.

    ``zones.geojson`` (only when the scenario has zone polygons) holds each zone's
    boundary with its coverage and response figures (`citywatch.maps.zone_figures`).

    ``plan.json`` is the plan (`Plan.to_dict`); `load_plan` reads it back exactly.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    data = plan.to_dict()
    written = []
    p = out / "plan.json"
    _atomic_write(p, json.dumps(data, indent=2))
    written.append(p)

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["site_id", "site_name", "slot", "coverage", "filler", "people",
                "response_minutes", "armed_on_site"])
    sc = plan.scenario
    people = sc.people()
    filler = np.zeros_like(plan.coverage) if plan.filler is None else plan.filler
    from citywatch.model.protection import protection_officers

    guards = protection_officers(sc)  # officers permanently on site (protection posts)
    for t, c in enumerate(plan.coverage):
        s, i = divmod(t, plan.built.n_sites)
        site = sc.sites[i]
        w.writerow([site.id, site.name, sc.slot_names[s], f"{c:.6f}", f"{filler[t]:.6f}",
                    f"{people[i, s]:g}", f"{plan.built.response_minutes[s, i]:.2f}",
                    f"{guards[s, i]:g}"])
    p = out / "coverage.csv"
    _atomic_write(p, buf.getvalue())
    written.append(p)

    ns = plan.built.n_sites
    features = []
    for i, site in enumerate(sc.sites):
        props: dict[str, Any] = {"id": site.id, "name": site.name, "category": site.category}
        for s, slot in enumerate(sc.slot_names):
            props[f"coverage_{slot}"] = round(float(plan.coverage[s * ns + i]), 6)
            props[f"filler_{slot}"] = round(float(filler[s * ns + i]), 6)
            props[f"people_{slot}"] = site.people[s]
        features.append({"type": "Feature", "properties": props,
                         "geometry": {"type": "Point", "coordinates": [site.lon, site.lat]}})
    p = out / "sites.geojson"
    _atomic_write(p, json.dumps({"type": "FeatureCollection", "features": features}))
    written.append(p)
    if any(z.polygon is not None for z in sc.zones):
        from citywatch.maps import zones_geojson

        p = out / "zones.geojson"
        _atomic_write(p, json.dumps(zones_geojson(plan)))
        written.append(p)
    return written


def load_plan(path: str | Path, scenario: Scenario) -> Plan:
    """The plan in a folder written by `write_plan` (or its ``plan.json``), exactly.

    Raises
    ------
    ScenarioError
        If the file is missing, not JSON, or not a plan of `scenario`.
    """
    p = Path(path)
    p = p / "plan.json" if p.is_dir() else p
    try:
        data = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        msg = f"`plan` file not found: {p}"
        raise ScenarioError(msg) from None
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        msg = f"`plan` {p} is not valid JSON: {err}"
        raise ScenarioError(msg) from None
    from citywatch.plan import Plan

    return Plan.from_dict(data, scenario, source=f"plan {p}")
