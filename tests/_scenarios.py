"""A tiny scenario written from scratch, for tests."""

from __future__ import annotations

from pathlib import Path

TINY_TOML = """\
name = "Tiny"
version = "1"
timezone = "Europe/London"
threat_level = "SEVERE"

[bounds]
min_lat = 51.40
min_lon = -0.30
max_lat = 51.60
max_lon = 0.10

[[slots]]
name = "day"
start = "08:00"
hours = 12

[[slots]]
name = "night"
start = "20:00"
hours = 12

[force]
officers = 200
committed_officers = 50
abstraction_rate = 0.2

[travel]
slot_speed_factor = { "day" = 0.9, "night" = 1.2 }

[[attackers]]
id = "mtfa"
name = "Firearms"
prior = 0.4
initial_casualties = 10
casualties_per_minute = 5
people_cap = 0.3
interdiction = 0.3
capture_penalty = 20
hardening_effect = 0.5

[[attackers]]
id = "vehicle"
name = "Vehicle"
prior = 0.6
initial_casualties = 15
casualties_per_minute = 1
people_cap = 0.1
interdiction = 0.1
capture_penalty = 20
hardening_effect = 0.9
"""

SITES = """\
id,name,category,lat,lon,zone_id,symbolic_value,hardening,people_day,people_night
alpha,Alpha Station,station,51.50,-0.12,central,5,0.1,4000,300
bravo,Bravo Market,market,51.52,-0.08,central,2,0.0,1500,50
charlie,Charlie Stadium,stadium,51.45,-0.20,south,8,0.5,2000,2500
delta,Delta Cathedral,worship,51.51,-0.10,central,30,0.2,600,20
echo,Echo Street,shopping_street,51.55,0.02,east,1,0.05,2500,400
"""

ZONES = """\
id,name,population_2021,lat,lon,area_km2,inner
central,Central,200000,51.51,-0.11,20,true
south,South,300000,51.45,-0.20,60,false
east,East,250000,51.55,0.02,50,false
"""

STANDBY = """\
id,name,kind,lat,lon,zone_id,capacity
hq,Headquarters,base,51.505,-0.115,central,3
south_stn,South Police Station,police_station,51.46,-0.19,south,2
east_jct,East Junction,junction,51.54,0.0,east,2
"""


def write_tiny(folder: Path, **replace: str) -> Path:
    """Write the tiny scenario into `folder`; `replace` swaps a file's text by name."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {"scenario.toml": TINY_TOML, "sites.csv": SITES, "zones.csv": ZONES,
             "standby.csv": STANDBY}
    files.update({k.replace("_", "."): v for k, v in replace.items()})
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder
