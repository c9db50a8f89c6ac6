"""Records of real attacks (the ``attacks.csv`` format) for calibration and backtests."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, time
from importlib import resources
from pathlib import Path

from citywatch.errors import Problem, ScenarioError

__all__ = [
    "ATTACK_COMPONENTS",
    "AttackRecord",
    "default_attacks",
    "parse_attack_type",
    "read_attacks",
    "read_attacks_text",
]

#: The elementary attack types; a combined attack joins them with ``+``.
ATTACK_COMPONENTS = ("mtfa", "bladed", "vehicle", "pbied")

_TARGETED = re.compile(r"\btargeted attack\b", re.IGNORECASE)


def parse_attack_type(value: str) -> tuple[str, ...]:
    """Components of an attack type: ``"vehicle+bladed"`` → ``("vehicle", "bladed")``.

    Case and spaces are ignored; each component must be one of `ATTACK_COMPONENTS` and
    appear once.
    """
    parts = tuple(p.strip().lower() for p in str(value).split("+"))
    if not parts or any(p not in ATTACK_COMPONENTS for p in parts) or len(set(parts)) != len(
            parts):
        msg = (f"`type` must be one of {', '.join(ATTACK_COMPONENTS)} or several joined by "
               f"'+', got {value!r}")
        raise ScenarioError(msg)
    return parts


@dataclass(frozen=True)
class AttackRecord:
    """One real attack; every field but `id` and `type` may be unknown (``None``).

    ``casualties`` is killed + injured when both are known. ``targets`` is the number of
    people the attacker meant to harm when the attack was aimed at them rather than at
    the crowd (``None``: indiscriminate). ``targets_source`` says where it came from
    (``"column"`` or ``"notes"``).
    """

    id: str
    type: tuple[str, ...]
    row: int
    date: date | None = None
    place: str = ""
    country: str = ""
    setting: str = ""
    people_present: float | None = None
    minutes_to_stop: float | None = None
    observed_minutes_to_armed_intervention: float | None = None
    stopped_by: str = ""
    killed: int | None = None
    injured: int | None = None
    lat: float | None = None
    lon: float | None = None
    local_time: time | None = None
    targets: float | None = None
    targets_source: str = ""
    notes: str = ""

    @property
    def type_label(self) -> str:
        """The attack type as written in the file's convention (``vehicle+bladed``)."""
        return "+".join(self.type)

    @property
    def casualties(self) -> int | None:
        """Killed + injured, when both are known."""
        if self.killed is None or self.injured is None:
            return None
        return self.killed + self.injured


def _number(source: str, row: int, name: str, raw: str, *, integer: bool = False,
            low: float = 0.0, high: float = math.inf) -> float | int | None:
    if raw == "":
        return None
    try:
        value = int(raw) if integer else float(raw)
    except ValueError:
        kind = "a whole number" if integer else "a number"
        raise ScenarioError(str(Problem(source, name, raw, f"{kind} is expected",
                                        row))) from None
    if not (math.isfinite(value) and low <= value <= high):
        bound = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g}]"
        raise ScenarioError(str(Problem(source, name, raw, f"must be {bound}", row)))
    return value


def _parse_row(source: str, row: int, rec: Mapping[str, str], *,
               has_targets: bool) -> AttackRecord:
    def text(name: str) -> str:
        return (rec.get(name) or "").strip()

    ident = text("id")
    if not ident:
        raise ScenarioError(str(Problem(source, "id", rec.get("id"), "must not be empty", row)))
    try:
        kind = parse_attack_type(text("type"))
    except ScenarioError:
        raise ScenarioError(str(Problem(
            source, "type", text("type"),
            f"must be one of {', '.join(ATTACK_COMPONENTS)} or several joined by '+'",
            row))) from None
    day: date | None = None
    if text("date"):
        try:
            day = date.fromisoformat(text("date"))
        except ValueError:
            raise ScenarioError(str(Problem(source, "date", text("date"),
                                            "a date YYYY-MM-DD is expected", row))) from None
    at: time | None = None
    if text("local_time"):
        m = re.fullmatch(r"(\d{1,2}):(\d{2})", text("local_time"))
        if m is None or int(m.group(1)) > 23 or int(m.group(2)) > 59:
            raise ScenarioError(str(Problem(source, "local_time", text("local_time"),
                                            "a time HH:MM is expected", row)))
        at = time(int(m.group(1)), int(m.group(2)))
    num = {name: _number(source, row, name, text(name), low=lo, high=hi)
           for name, lo, hi in (("people_present", 0.0, 1e7), ("minutes_to_stop", 0.0, 1440.0),
                                ("observed_minutes_to_armed_intervention", 0.0, 1440.0),
                                ("lat", -90.0, 90.0), ("lon", -180.0, 180.0),
                                ("targets", 1.0, 1e7))}
    killed = _number(source, row, "killed", text("killed"), integer=True, high=1e7)
    injured = _number(source, row, "injured", text("injured"), integer=True, high=1e7)
    if (num["lat"] is None) != (num["lon"] is None):
        missing = "lat" if num["lat"] is None else "lon"
        raise ScenarioError(str(Problem(source, missing, "", "lat and lon go together", row)))
    targets, targets_source = num["targets"], "column" if num["targets"] is not None else ""
    if not has_targets and _TARGETED.search(text("notes")):
        targets, targets_source = 1.0, "notes"
    return AttackRecord(
        id=ident, type=kind, row=row, date=day, place=text("place"), country=text("country"),
        setting=text("setting"), people_present=num["people_present"],
        minutes_to_stop=num["minutes_to_stop"],
        observed_minutes_to_armed_intervention=num["observed_minutes_to_armed_intervention"],
        stopped_by=text("stopped_by"),
        killed=None if killed is None else int(killed),
        injured=None if injured is None else int(injured),
        lat=num["lat"], lon=num["lon"], local_time=at, targets=targets,
        targets_source=targets_source, notes=text("notes"))


def read_attacks_text(text: str, *, source: str = "<attacks>") -> tuple[AttackRecord, ...]:
    """Parse attack records from CSV text (header row first).

    Only ``id`` and ``type`` are required; the other columns of ``attacks.csv`` are
    optional and unknown columns are ignored. A row whose notes say "targeted attack"
    is read as aimed at one person unless the file has a ``targets`` column.

    Raises
    ------
    ScenarioError
        On the first bad value, naming the row (1 = first data row), field and value.
    """
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in (reader.fieldnames or [])]
    for name in ("id", "type"):
        if name not in header:
            msg = f"{source}: the `{name}` column is required (header: {', '.join(header)})"
            raise ScenarioError(msg)
    reader.fieldnames = header
    out: list[AttackRecord] = []
    seen: dict[str, int] = {}
    for row, rec in enumerate(reader, start=1):
        if not any((v or "").strip() for v in rec.values() if isinstance(v, str)):
            continue
        r = _parse_row(source, row, {k: v for k, v in rec.items() if isinstance(k, str)
                                     and isinstance(v, str)}, has_targets="targets" in header)
        if r.id in seen:
            raise ScenarioError(str(Problem(source, "id", r.id,
                                            f"duplicates row {seen[r.id]}", row)))
        seen[r.id] = row
        out.append(r)
    return tuple(out)


def read_attacks(path: str | Path) -> tuple[AttackRecord, ...]:
    """Read an ``attacks.csv`` file (see `read_attacks_text`)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ScenarioError(f"attacks file not found: {path}") from None
    except UnicodeDecodeError as err:
        raise ScenarioError(f"{path}: not UTF-8 text ({err.reason})") from None
    return read_attacks_text(text, source=str(path))


def default_attacks() -> tuple[AttackRecord, ...]:
    """The attacks CityWatch is calibrated on (``citywatch/data/attacks/attacks.csv``)."""
    text = resources.files("citywatch.data").joinpath("attacks", "attacks.csv").read_text(
        "utf-8")
    return read_attacks_text(text, source="citywatch/data/attacks/attacks.csv")


def with_ids(records: Iterable[AttackRecord], ids: Iterable[str]) -> tuple[AttackRecord, ...]:
    """The records whose id is in `ids`, in file order."""
    keep = set(ids)
    return tuple(r for r in records if r.id in keep)
