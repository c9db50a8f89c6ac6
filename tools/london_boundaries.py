#!/usr/bin/env python3
"""Write CityWatch's London ``zones.geojson`` and ``basemap.geojson`` from the borough boundaries.

Reads ``london_boroughs.geojson`` (the 33 borough MultiPolygons with ONS ``code`` and
``name``, see shared/data/README.md) and writes the packaged
``src/citywatch/data/london/zones.geojson``: the same geometry, each feature's ``id``
property the borough's zone id in ``zones.csv`` (matched by name), and the credit the
CC BY 4.0 licence asks for as the collection's ``attribution`` member.

It also writes ``basemap.geojson``, the River Thames as the maps draw it: the boundaries
are clipped to the river banks, so the river is the gap between the north- and the
south-bank boroughs. A vertex of a riverside borough belongs to a bank when the nearest
boundary segment of a borough on the other bank is between 45 m (more than a shared
boundary, allowing for the ~60 m quantisation) and 1,500 m (the estuary's width) away; runs of at
least three such vertices along a ring become the bank lines (layer ``water``).
Richmond, on both banks, faces both (its own stretch between Twickenham and Richmond,
with Richmond on either side, is not drawn). Standard library only, deterministic.

Usage::

    python tools/london_boundaries.py [--input PATH] [--output PATH]
"""

from __future__ import annotations

import argparse
import csv
import json
import math
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LONDON = ROOT / "src" / "citywatch" / "data" / "london"
ATTRIBUTION = ("Contains Ordnance Survey data © Crown copyright and database right 2014. "
               "Contains National Statistics data © Crown copyright and database right 2014. "
               "Boundary GeoJSON by Martin Chorley (CC BY 4.0).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", type=Path,
                        default=ROOT.parents[1] / "shared" / "data" / "london_boroughs.geojson")
    parser.add_argument("--output", type=Path, default=LONDON / "zones.geojson")
    parser.add_argument("--basemap", type=Path, default=LONDON / "basemap.geojson")
    args = parser.parse_args()
    with (LONDON / "zones.csv").open(encoding="utf-8") as fh:
        ids = {row["name"]: row["id"] for row in csv.DictReader(fh)}
    data = json.loads(args.input.read_text(encoding="utf-8"))
    features = []
    for feat in data["features"]:
        name = feat["properties"]["name"]
        if name not in ids:
            raise SystemExit(f"borough {name!r} is not a zone name in zones.csv")
        features.append({"type": "Feature",
                         "properties": {"id": ids[name], "name": name,
                                        "code": feat["properties"]["code"]},
                         "geometry": feat["geometry"]})
    features.sort(key=lambda f: f["properties"]["id"])
    if len(features) != len(ids):
        raise SystemExit(f"{len(features)} boundaries for {len(ids)} zones")
    out = {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": features}
    args.output.write_text(json.dumps(out, ensure_ascii=False, separators=(",", ":")) + "\n",
                           encoding="utf-8")
    lines = bank_lines(features)
    basemap = {"type": "FeatureCollection", "attribution": ATTRIBUTION, "features": [
        {"type": "Feature", "properties": {"layer": "water", "name": "River Thames"},
         "geometry": {"type": "MultiLineString", "coordinates": lines}}]}
    args.basemap.write_text(json.dumps(basemap, ensure_ascii=False, separators=(",", ":"))
                            + "\n", encoding="utf-8")


NORTH_BANK = {"hounslow", "hammersmith_fulham", "kensington_chelsea", "westminster",
              "city_of_london", "tower_hamlets", "newham", "barking_dagenham", "havering",
              "richmond"}
SOUTH_BANK = {"richmond", "kingston", "wandsworth", "lambeth", "southwark", "lewisham",
              "greenwich", "bexley"}


def bank_lines(features: list[dict]) -> list[list[list[float]]]:
    """Runs of riverside boundary vertices that face a borough on the other bank."""
    bank_of = [({"N"} if f["properties"]["id"] in NORTH_BANK else set())
               | ({"S"} if f["properties"]["id"] in SOUTH_BANK else set()) for f in features]
    rings = [(k, ring[:-1]) for k, f in enumerate(features)
             for poly in f["geometry"]["coordinates"] for ring in poly if bank_of[k]]
    kx = math.cos(math.radians(51.5)) * 111_320.0
    ky = 111_320.0
    cell = 1_500.0
    grid: dict[tuple[int, int], list[tuple[int, float, float, float, float]]] = {}
    for k, ring in rings:
        for (x0, y0), (x1, y1) in zip(ring, ring[1:] + ring[:1], strict=True):
            a = (x0 * kx, y0 * ky, x1 * kx, y1 * ky)
            key = (int((a[0] + a[2]) / 2 // cell), int((a[1] + a[3]) / 2 // cell))
            grid.setdefault(key, []).append((k, *a))

    def nearest_other(k: int, x: float, y: float) -> float:
        """Metres to the nearest boundary segment of a borough on the other bank."""
        px, py = x * kx, y * ky
        gx, gy = int(px // cell), int(py // cell)
        best = math.inf
        for dx in (-2, -1, 0, 1, 2):
            for dy in (-2, -1, 0, 1, 2):
                for k2, ax, ay, bx, by in grid.get((gx + dx, gy + dy), ()):
                    if k2 == k or bank_of[k2] == bank_of[k]:
                        continue
                    vx, vy = bx - ax, by - ay
                    n2 = vx * vx + vy * vy
                    t = 0.0 if n2 == 0 else max(0.0, min(1.0, ((px - ax) * vx + (py - ay) * vy)
                                                         / n2))
                    best = min(best, math.hypot(px - ax - t * vx, py - ay - t * vy))
        return best

    out = []
    for k, ring in rings:
        bank = [45.0 < nearest_other(k, x, y) < 1_500.0 for x, y in ring]
        if all(bank):
            out.append([[x, y] for x, y in ring + ring[:1]])
            continue
        start = bank.index(False)
        order = [(start + j) % len(ring) for j in range(len(ring))] + [start]
        run: list[list[float]] = []
        for j in order:
            if bank[j]:
                run.append([ring[j][0], ring[j][1]])
                continue
            if len(run) >= 3:
                out.append(run)
            run = []
    return out


if __name__ == "__main__":
    main()
