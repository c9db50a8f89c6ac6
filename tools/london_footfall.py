#!/usr/bin/env python3
"""Derive the footfall columns of CityWatch's London ``sites.csv``.

Reads the compact input table ``tools/london_sites_input.csv`` (one row per site,
with the figures each derivation needs) and writes ``sites.csv`` with the
expected number of people present at one time, on average, in each 4-hour
slot of the day (local time).  Standard library only, deterministic: the same
input always gives byte-identical output.

Usage::

    python tools/london_footfall.py                       # writes the packaged table
    python tools/london_footfall.py --output /tmp/sites.csv
    python tools/london_footfall.py --input other.csv --output out.csv

Every site is reduced to *person-minutes per average day* spent at the site,
which is then spread over the six slots by a named profile (shares of the
day's person-time, summing to 1)::

    people[slot] = person_minutes_per_day * profile[slot] / 240

Person-minutes per day by method (all inputs are in the input table):

``station``
    annual entries+exits A (millions).  Daily users U = A * 1e6 / 365 / 2; every
    user passes the gates twice (once in, once out), so passages = 2 U a day,
    each with a mean dwell ``dwell_min`` (gate-line to platform, waiting, and
    the same on the way out).  ``factor`` is the concourse factor: people in the
    station who are not in the gate counts (interchanging passengers, people on
    platforms and in trains standing at them, people waiting on the forecourt).
    person_minutes = 2 U * dwell_min * factor.

``visitors``
    annual visits V (millions), mean time on site ``dwell_min``:
    person_minutes = V * 1e6 / 365 * dwell_min.

``events``
    stadiums and arenas averaged over the year (planners add match days as
    events separately): person_minutes = capacity * factor (load factor) *
    events_per_year / 365 * dwell_min (time the crowd spends on site per event).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from pathlib import Path

SLOTS = ("00-04", "04-08", "08-12", "12-16", "16-20", "20-24")
SLOT_MINUTES = 240.0

CATEGORIES = frozenset(
    {
        "station",
        "landmark",
        "shopping_street",
        "stadium",
        "arena",
        "government",
        "worship",
        "market",
        "museum",
        "entertainment",
        "park",
    }
)

# Share of a day's person-time at the site falling in each slot (sums to 1).
# All profiles are assumptions ([est]); see data/london/SOURCES.md.
PROFILES: dict[str, tuple[float, ...]] = {
    # commuter station: AM peak mostly 07-10, PM peak 16-19
    "station": (0.01, 0.14, 0.27, 0.20, 0.30, 0.08),
    # West End / leisure station: weaker AM peak, busy evenings
    "station_leisure": (0.03, 0.05, 0.20, 0.27, 0.28, 0.17),
    # airport rail station: early departures, long day
    "airport": (0.02, 0.18, 0.24, 0.21, 0.21, 0.14),
    # shops open about 09:00-20:00
    "retail": (0.00, 0.01, 0.24, 0.42, 0.28, 0.05),
    # shops, restaurants and street life into the late evening
    "mixed": (0.03, 0.02, 0.18, 0.32, 0.27, 0.18),
    # museums 10:00-17:30 with occasional late openings
    "museum": (0.00, 0.00, 0.36, 0.50, 0.13, 0.01),
    # ticketed day attractions
    "attraction": (0.00, 0.00, 0.32, 0.48, 0.18, 0.02),
    # open-air landmarks and public squares
    "landmark": (0.02, 0.04, 0.22, 0.36, 0.25, 0.11),
    # bars and clubs
    "nightlife": (0.12, 0.02, 0.08, 0.20, 0.28, 0.30),
    # daytime street markets
    "market": (0.00, 0.02, 0.38, 0.45, 0.13, 0.02),
    # Sunday-morning market (Columbia Road), 08:00-15:00
    "market_sunday": (0.00, 0.05, 0.62, 0.33, 0.00, 0.00),
    # parks
    "park": (0.00, 0.04, 0.26, 0.40, 0.25, 0.05),
    # places of worship: morning services, midday prayers, evening prayers
    "worship": (0.01, 0.06, 0.34, 0.32, 0.19, 0.08),
    # offices and government buildings
    "office": (0.03, 0.07, 0.38, 0.36, 0.13, 0.03),
    # theatres: matinees and evening performances
    "theatre": (0.00, 0.00, 0.04, 0.16, 0.38, 0.42),
    # arts centres: daytime foyers plus evening performances
    "arts": (0.00, 0.01, 0.16, 0.33, 0.30, 0.20),
    # exhibition centres
    "exhibition": (0.00, 0.00, 0.36, 0.46, 0.17, 0.01),
    # seasonal fair open 10:00-22:00
    "winter_fair": (0.00, 0.00, 0.14, 0.34, 0.34, 0.18),
    # events: share of the crowd's person-time over the typical mix of kick-off
    # times (about 60% afternoon, 40% evening for football and rugby)
    "event_match": (0.00, 0.00, 0.02, 0.40, 0.36, 0.22),
    # all-day events (cricket, tennis), about 10:30-18:30
    "event_day": (0.00, 0.00, 0.32, 0.46, 0.22, 0.00),
    # evening concerts and shows, doors about 18:00, curfew about 23:00
    "event_evening": (0.00, 0.00, 0.00, 0.06, 0.44, 0.50),
}

INPUT_COLUMNS = (
    "id",
    "name",
    "category",
    "lat",
    "lon",
    "zone_id",
    "symbolic_value",
    "hardening",
    "annual_entries_exits_m",
    "capacity",
    "method",
    "annual_visitors_m",
    "dwell_min",
    "factor",
    "events_per_year",
    "profile",
    "basis",
)

OUTPUT_COLUMNS = (
    "id",
    "name",
    "category",
    "lat",
    "lon",
    "zone_id",
    "symbolic_value",
    "hardening",
    "annual_entries_exits_m",
    "capacity",
) + tuple(f"people_{slot}" for slot in SLOTS)

REPO = Path(__file__).resolve().parent.parent
DEFAULT_INPUT = REPO / "tools" / "london_sites_input.csv"
DEFAULT_OUTPUT = REPO / "src" / "citywatch" / "data" / "london" / "sites.csv"


class InputError(ValueError):
    """A row of the input table cannot be used."""


def _num(row: dict[str, str], key: str) -> float:
    text = row[key].strip()
    if not text:
        raise InputError(f"{row['id']}: {key} is required for method {row['method']!r}")
    value = float(text)
    if value < 0:
        raise InputError(f"{row['id']}: {key} must be non-negative, got {value}")
    return value


def person_minutes_per_day(row: dict[str, str]) -> float:
    """Average person-minutes spent at the site per day."""
    method = row["method"]
    if method == "station":
        annual = _num(row, "annual_entries_exits_m") * 1e6
        daily_users = annual / 365.0 / 2.0
        passages = 2.0 * daily_users
        return passages * _num(row, "dwell_min") * _num(row, "factor")
    if method == "visitors":
        return _num(row, "annual_visitors_m") * 1e6 / 365.0 * _num(row, "dwell_min")
    if method == "events":
        return (
            _num(row, "capacity")
            * _num(row, "factor")
            * _num(row, "events_per_year")
            / 365.0
            * _num(row, "dwell_min")
        )
    raise InputError(f"{row['id']}: unknown method {method!r}")


def people_by_slot(row: dict[str, str]) -> list[int]:
    """Expected people present at one time in each slot, rounded half up."""
    try:
        profile = PROFILES[row["profile"]]
    except KeyError:
        raise InputError(f"{row['id']}: unknown profile {row['profile']!r}") from None
    total = person_minutes_per_day(row)
    return [int(total * share / SLOT_MINUTES + 0.5) for share in profile]


def _check_row(row: dict[str, str], seen: set[str]) -> None:
    if row["id"] in seen:
        raise InputError(f"duplicate id {row['id']!r}")
    seen.add(row["id"])
    if row["category"] not in CATEGORIES:
        raise InputError(f"{row['id']}: unknown category {row['category']!r}")
    if (row["category"] == "station") != bool(row["annual_entries_exits_m"].strip()):
        raise InputError(f"{row['id']}: annual_entries_exits_m is for stations only")
    hardening = float(row["hardening"])
    if not 0.0 <= hardening <= 1.0:
        raise InputError(f"{row['id']}: hardening {hardening} outside [0, 1]")
    symbolic = float(row["symbolic_value"])
    if not 0.0 <= symbolic <= 60.0:
        raise InputError(f"{row['id']}: symbolic_value {symbolic} outside [0, 60]")


def build(input_path: Path) -> str:
    """Return the text of sites.csv derived from the input table."""
    for name, shares in PROFILES.items():
        if len(shares) != len(SLOTS) or abs(sum(shares) - 1.0) > 1e-9:
            raise InputError(f"profile {name!r} must have {len(SLOTS)} shares summing to 1")
    with input_path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if tuple(reader.fieldnames or ()) != INPUT_COLUMNS:
            raise InputError(f"{input_path}: columns must be {','.join(INPUT_COLUMNS)}")
        rows = list(reader)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(OUTPUT_COLUMNS)
    seen: set[str] = set()
    for row in rows:
        _check_row(row, seen)
        people = people_by_slot(row)
        writer.writerow([row[column] for column in OUTPUT_COLUMNS[:10]] + people)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Derive the footfall columns of sites.csv.")
    parser.add_argument("--input", type=Path, default=DEFAULT_INPUT)
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    try:
        text = build(args.input)
    except (InputError, OSError, ValueError) as exc:
        print(f"london_footfall: {exc}", file=sys.stderr)
        return 1
    args.output.parent.mkdir(parents=True, exist_ok=True)
    with args.output.open("w", newline="", encoding="utf-8") as handle:
        handle.write(text)
    print(f"wrote {text.count(chr(10)) - 1} sites to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
