"""Travel times: straight-line model, road networks and H3 demand grids."""

from citywatch.geo.distance import EARTH_RADIUS_M, haversine_m, straight_line_times
from citywatch.geo.h3grid import MAX_DISK_CELLS, DemandGrid, build_demand_grid
from citywatch.geo.network import ACCESS_SPEED_KMH, RoadNetwork, from_edges, snap
from citywatch.geo.osm import (
    DEFAULT_SPEEDS_KMH,
    NETWORK_TYPES,
    WALKING_SPEED_KMH,
    from_networkx,
    load_graphml,
    load_osm_pbf,
    parse_maxspeed,
)
from citywatch.geo.traveltimes import network_travel_times

__all__ = [
    "ACCESS_SPEED_KMH",
    "DEFAULT_SPEEDS_KMH",
    "EARTH_RADIUS_M",
    "MAX_DISK_CELLS",
    "NETWORK_TYPES",
    "WALKING_SPEED_KMH",
    "DemandGrid",
    "RoadNetwork",
    "build_demand_grid",
    "from_edges",
    "from_networkx",
    "haversine_m",
    "load_graphml",
    "load_osm_pbf",
    "network_travel_times",
    "parse_maxspeed",
    "snap",
    "straight_line_times",
]
