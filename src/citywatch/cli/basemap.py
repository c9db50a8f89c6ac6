"""``citywatch basemap``: build a compact basemap (roads, water, boundaries) from OpenStreetMap."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from citywatch.cli._common import console

app = typer.Typer(help="Build the basemap the dashboard and the report draw under the plan.",
                  no_args_is_help=True)


@app.command()
def build(
    pbf: Annotated[Path, typer.Argument(help="An OpenStreetMap extract (.osm.pbf).")],
    out: Annotated[Path, typer.Option(
        help="GeoJSON to write; put it in a scenario folder as basemap.geojson.")]
    = Path("basemap.geojson"),
    simplify: Annotated[float, typer.Option(help="Simplification tolerance in metres.")]
    = 20.0,
) -> None:
    """Keep the major roads, water and administrative boundaries of an extract (needs geo)."""
    from citywatch.cli._run import run_long, writing
    from citywatch.geo.basemap import build_basemap, write_basemap

    basemap = run_long(lambda: build_basemap(pbf, simplify_m=simplify), what="basemap:")
    with writing("basemap"):
        path = write_basemap(basemap, out)
    counts: dict[str, int] = {}
    for f in basemap["features"]:
        counts[f["properties"]["layer"]] = counts.get(f["properties"]["layer"], 0) + 1
    console.print(f"wrote {path} ({path.stat().st_size / 1024:,.0f} KB): "
                  + ", ".join(f"{n} {layer} features" for layer, n in sorted(counts.items())))
