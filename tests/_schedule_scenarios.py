"""A small scenario for roster tests: eight sites a short walk apart."""

from __future__ import annotations

from pathlib import Path

from _scenarios import TINY_TOML, write_tiny

# Eight sites within about 1.5 km of each other around Westminster and the South Bank.
CLOSE_SITES = """\
id,name,category,lat,lon,zone_id,symbolic_value,hardening,people_day,people_night
abbey,Westminster Abbey,worship,51.4993,-0.1273,central,30,0.2,3000,100
parliament,Parliament Square,government,51.5005,-0.1263,central,40,0.5,2500,200
eye,London Eye,landmark,51.5033,-0.1196,central,10,0.1,4000,500
waterloo,Waterloo station,station,51.5031,-0.1132,central,8,0.2,6000,1500
trafalgar,Trafalgar Square,landmark,51.5080,-0.1281,central,15,0.1,3500,800
embankment,Embankment station,station,51.5074,-0.1223,central,3,0.1,2000,300
horse_guards,Horse Guards Parade,government,51.5048,-0.1291,central,20,0.3,1000,50
southbank,Southbank Centre,entertainment,51.5058,-0.1164,central,5,0.0,2500,1200
"""


def write_small(folder: Path, *, force: str = "") -> Path:
    """Write the small scenario (100 officers); `force` adds lines to its ``[force]`` table."""
    toml = TINY_TOML.replace("officers = 200", "officers = 100")
    toml = toml.replace("abstraction_rate = 0.2\n", "abstraction_rate = 0.2\n" + force)
    return write_tiny(folder, sites_csv=CLOSE_SITES, scenario_toml=toml)
