"""What the endpoints do, on the store and the Python API (the routers only adapt HTTP)."""

from __future__ import annotations

import hashlib
import io
import secrets
import tempfile
import threading
import zipfile
from collections import OrderedDict
from datetime import UTC, date, datetime
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from citywatch.errors import ScenarioError
from citywatch.model.io import load_scenario, save_scenario
from citywatch.model.scenario import Scenario
from citywatch.options import PlanOptions
from citywatch.plan import Plan
from citywatch.planner import make_plan
from citywatch.store.audit import append_audit
from citywatch.store.models import (
    PlanRecord,
    RosterRecord,
    ScenarioRecord,
    ScenarioVersion,
)

__all__ = ["MAX_ARCHIVE_BYTES", "EncodedCache", "PlanCache", "add_version", "archive_folder",
           "create_scenario", "ensure_london", "load_version", "new_seed", "plan_object",
           "plan_options", "run_plan_job", "run_roster", "scenario_params", "unpack_archive"]

MAX_ARCHIVE_BYTES = 20_000_000
_ALLOWED_SUFFIXES = {".toml", ".csv", ".geojson", ".json", ".md", ".txt"}


def new_seed() -> int:
    """A fresh random seed, stored so the result can be reproduced."""
    return secrets.randbelow(2**62)


def archive_folder(folder: Path) -> bytes:
    """A deterministic zip of a scenario folder's files."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(folder).as_posix(), (2000, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes())
    return buf.getvalue()


def archive_scenario(scenario: Scenario) -> bytes:
    """A scenario saved as a folder and zipped."""
    with tempfile.TemporaryDirectory() as tmp:
        save_scenario(scenario, Path(tmp) / "s")
        return archive_folder(Path(tmp) / "s")


def unpack_archive(data: bytes, folder: Path) -> Path:
    """Extract an uploaded scenario zip safely into `folder` and return the scenario root.

    Raises
    ------
    ScenarioError
        If the upload is not a zip, too large, or holds paths outside the folder.
    """
    if len(data) > MAX_ARCHIVE_BYTES:
        msg = f"`file`: the archive is larger than {MAX_ARCHIVE_BYTES} bytes"
        raise ScenarioError(msg)
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        msg = "`file`: not a zip archive"
        raise ScenarioError(msg) from None
    with zf:
        total = 0
        for info in zf.infolist():
            name = PurePosixPath(info.filename)
            if name.is_absolute() or ".." in name.parts:
                msg = f"`file`: unsafe path in the archive: {info.filename!r}"
                raise ScenarioError(msg)
            total += info.file_size
            if total > 5 * MAX_ARCHIVE_BYTES:
                msg = "`file`: the archive expands to too much data"
                raise ScenarioError(msg)
            if info.is_dir():
                continue
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(zf.read(info))
    tomls = sorted(folder.rglob("scenario.toml"), key=lambda p: len(p.parts))
    if not tomls:
        msg = "`file`: the archive has no scenario.toml"
        raise ScenarioError(msg)
    return tomls[0].parent


def write_files(files: dict[str, str], folder: Path) -> Path:
    """Write a scenario given as ``{file name: text}`` into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        path = PurePosixPath(name)
        if (len(path.parts) != 1 or path.suffix not in _ALLOWED_SUFFIXES
                or name.startswith(".")):
            msg = (f"`files`: {name!r} must be a plain file name ending in "
                   f"{', '.join(sorted(_ALLOWED_SUFFIXES))}")
            raise ScenarioError(msg)
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def scenario_params(scenario: Scenario) -> dict[str, Any]:
    """The editable parameters of a scenario."""
    return {"threat_level": scenario.threat_level.name,
            "officers": scenario.force.officers,
            "committed_officers": scenario.force.committed_officers}


_cache: OrderedDict[str, Scenario] = OrderedDict()
_cache_lock = threading.Lock()


def load_version(version: ScenarioVersion) -> Scenario:
    """The scenario stored in `version` (cached by content hash)."""
    with _cache_lock:
        if version.sha256 in _cache:
            _cache.move_to_end(version.sha256)
            return _cache[version.sha256]
    with tempfile.TemporaryDirectory() as tmp:
        scenario = load_scenario(unpack_archive(version.archive, Path(tmp)))
    with _cache_lock:
        _cache[version.sha256] = scenario
        while len(_cache) > 16:
            _cache.popitem(last=False)
    return scenario


def _version_row(scenario: Scenario, archive: bytes, *, number: int, user: str,
                 note: str) -> ScenarioVersion:
    return ScenarioVersion(version=number, parameters=scenario_params(scenario),
                           archive=archive, sha256=hashlib.sha256(archive).hexdigest(),
                           note=note, created_by=user)


def create_scenario(session: Session, name: str, folder: Path, *, user: str,
                    builtin: bool = False) -> ScenarioRecord:
    """Validate the scenario in `folder` and store it as version 1 (the caller commits)."""
    scenario = load_scenario(folder)
    if session.execute(select(ScenarioRecord).where(ScenarioRecord.name == name)).first():
        msg = f"`name`: a scenario called {name!r} exists already"
        raise ScenarioError(msg)
    archive = archive_scenario(scenario)
    rec = ScenarioRecord(name=name, builtin=builtin, created_by=user)
    rec.versions.append(_version_row(scenario, archive, number=1, user=user,
                                     note="uploaded" if not builtin else "built in"))
    session.add(rec)
    session.flush()
    return rec


def add_version(session: Session, rec: ScenarioRecord, changes: dict[str, Any], *,
                user: str, note: str = "") -> ScenarioVersion:
    """A new version of `rec` with `changes` to its parameters (the caller commits)."""
    latest = rec.versions[-1]
    scenario = load_version(latest)
    if changes.get("threat_level") is not None:
        scenario = scenario.with_threat(changes["threat_level"])
    force = {k: changes[k] for k in ("officers", "committed_officers")
             if changes.get(k) is not None}
    if force:
        scenario = scenario.with_force(**force)
        if scenario.force.committed_officers >= scenario.force.officers:
            msg = (f"`committed_officers` ({scenario.force.committed_officers}) must be "
                   f"fewer than `officers` ({scenario.force.officers})")
            raise ScenarioError(msg)
    archive = archive_scenario(scenario)
    load_scenario_check(archive)
    row = _version_row(scenario, archive, number=latest.version + 1, user=user, note=note)
    rec.versions.append(row)
    session.flush()
    return row


def load_scenario_check(archive: bytes) -> None:
    """Re-read an archive so a version that would not load is never stored."""
    with tempfile.TemporaryDirectory() as tmp:
        load_scenario(unpack_archive(archive, Path(tmp)))


def ensure_london(sessions: sessionmaker[Session]) -> None:
    """Store the embedded London scenario as built-in if it is not there yet."""
    from citywatch.data import london

    with sessions() as session:
        if session.execute(select(ScenarioRecord).where(ScenarioRecord.name == "London")
                           ).first():
            return
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp) / "london"
            save_scenario(london(), folder)
            create_scenario(session, "London", folder, user="system", builtin=True)
        append_audit(session, actor="system", action="scenario.builtin", target="London")
        session.commit()


class EncodedCache:
    """A small thread-safe LRU of encoded responses (per app: ids are per database)."""

    def __init__(self, size: int = 64) -> None:
        self._data: OrderedDict[Any, bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, key: Any) -> bytes | None:
        """The cached bytes for `key`, if any."""
        with self._lock:
            body = self._data.get(key)
            if body is not None:
                self._data.move_to_end(key)
            return body

    def put(self, key: Any, body: bytes) -> None:
        """Cache `body` under `key`, evicting the least recently used."""
        with self._lock:
            self._data[key] = body
            while len(self._data) > self._size:
                self._data.popitem(last=False)


# --- plans --------------------------------------------------------------------------
class PlanCache:
    """Solved plans of one app by plan id (``app.state.plans``; ids are per database).

    A small thread-safe LRU. A miss loads the plan stored with the record
    (`Plan.from_dict` of its ``result``): a stored plan is never solved again.
    """

    def __init__(self, size: int = 8) -> None:
        self._data: OrderedDict[int, Plan] = OrderedDict()
        self._lock = threading.Lock()
        self._size = size

    def get(self, plan_id: int) -> Plan | None:
        """The cached plan, if any."""
        with self._lock:
            plan = self._data.get(plan_id)
            if plan is not None:
                self._data.move_to_end(plan_id)
            return plan

    def put(self, plan_id: int, plan: Plan) -> None:
        """Remember `plan` under `plan_id`, evicting the least recently used."""
        with self._lock:
            self._data[plan_id] = plan
            while len(self._data) > self._size:
                self._data.popitem(last=False)


def plan_options(params: dict[str, Any]) -> PlanOptions:
    """The `PlanOptions` stored in a plan record's parameters."""
    return PlanOptions.from_dict(params.get("options"))


def plan_object(rec: PlanRecord, cache: PlanCache) -> Plan:
    """The plan of a finished record: from `cache`, else loaded from its stored result.

    Raises
    ------
    ScenarioError
        If the record has no stored plan (not finished) or one this version cannot read.
    """
    plan = cache.get(rec.id)
    if plan is not None:
        return plan
    if rec.result is None:
        msg = f"`plan_id`: plan {rec.id} has no stored result ({rec.status})"
        raise ScenarioError(msg)
    plan = Plan.from_dict(rec.result, load_version(rec.scenario_version),
                          source=f"plan {rec.id}")
    cache.put(rec.id, plan)
    return plan


def _set(sessions: sessionmaker[Session], plan_id: int, **values: Any) -> None:
    with sessions() as session:
        rec = session.get(PlanRecord, plan_id)
        assert rec is not None
        for k, v in values.items():
            setattr(rec, k, v)
        session.commit()


def run_plan_job(sessions: sessionmaker[Session], plan_id: int,
                 cache: PlanCache | None = None) -> None:
    """Solve a queued plan, recording progress, and store the result and an audit record.

    The plan is solved with the `PlanOptions` in the record's parameters and the
    record's seed; the stored result is `Plan.to_dict` (what `plan_object` loads).
    """
    try:
        _set(sessions, plan_id, status="running", stage="loading scenario", progress=0.1)
        with sessions() as session:
            rec = session.get(PlanRecord, plan_id)
            assert rec is not None
            scenario = load_version(rec.scenario_version)
            params = dict(rec.parameters)
            seed = rec.seed
            user = rec.created_by
        _set(sessions, plan_id, stage="solving", progress=0.3)
        plan = make_plan(scenario, plan_options(params), seed=seed)
        if cache is not None:
            cache.put(plan_id, plan)
        data = plan.to_dict()
        eq = plan.equilibrium
        gap = float(eq.gap) if np.isfinite(eq.gap) else None
        with sessions() as session:
            rec = session.get(PlanRecord, plan_id)
            assert rec is not None
            rec.result = data
            rec.method, rec.gap = eq.method, gap
            rec.status, rec.stage, rec.progress = "done", "done", 1.0
            rec.finished_at = datetime.now(UTC)
            append_audit(session, actor=user, action="plan.solved", target=f"plan/{plan_id}",
                         detail={"method": eq.method, "gap": gap})
            session.commit()
    except Exception as err:  # a failed job is recorded, never lost
        with sessions() as session:
            rec = session.get(PlanRecord, plan_id)
            if rec is not None:
                rec.status, rec.stage, rec.error = "failed", "failed", f"{err}"[:2000]
                rec.finished_at = datetime.now(UTC)
                append_audit(session, actor=rec.created_by, action="plan.solved",
                             target=f"plan/{plan_id}", outcome="error",
                             detail={"error": f"{type(err).__name__}: {err}"[:500]})
                session.commit()


def resume_jobs(sessions: sessionmaker[Session], submit: Any,
                cache: PlanCache | None = None) -> list[int]:
    """Queue again the plans a previous process left queued or running (after a crash)."""
    with sessions() as session:
        ids = list(session.execute(select(PlanRecord.id).where(
            PlanRecord.status.in_(("queued", "running"))).order_by(PlanRecord.id)).scalars())
        for pid in ids:
            rec = session.get(PlanRecord, pid)
            assert rec is not None
            rec.status, rec.stage, rec.progress = "queued", "queued after restart", 0.0
            append_audit(session, actor="system", action="plan.resume", target=f"plan/{pid}")
        session.commit()
    for pid in ids:
        submit(run_plan_job, sessions, pid, cache)
    return ids


# --- rosters ------------------------------------------------------------------------
def run_roster(rec: PlanRecord, *, days: int, start: date | None, seed: int,
               cache: PlanCache) -> tuple[list[dict[str, Any]], bytes, str]:
    """Sample and export a roster from a stored plan: (missions, zip, start)."""
    from citywatch.schedule.export import export_roster, mission_rows
    from citywatch.schedule.roster import roster_from_plan

    plan = plan_object(rec, cache)
    roster = roster_from_plan(plan, days=days, start=start, seed=seed)
    formats = ["csv", "html"]
    try:
        import icalendar  # noqa: F401
        formats.append("ics")
    except ImportError:
        pass
    with tempfile.TemporaryDirectory() as tmp:
        export_roster(roster, tmp, formats=formats)
        archive = archive_folder(Path(tmp))
    missions = mission_rows(roster.missions())
    return missions, archive, roster.start.isoformat()


def next_version(session: Session, scenario_id: int) -> int:
    """The number the next version of a scenario gets."""
    n = session.execute(select(func.max(ScenarioVersion.version))
                        .where(ScenarioVersion.scenario_id == scenario_id)).scalar()
    return int(n or 0) + 1


def roster_row(rec: PlanRecord, *, days: int, start: date | None, seed: int,
               user: str, cache: PlanCache) -> RosterRecord:
    """A roster record for `rec` (not yet added to a session)."""
    missions, archive, start_iso = run_roster(rec, days=days, start=start, seed=seed,
                                              cache=cache)
    return RosterRecord(plan_id=rec.id, seed=seed, days=days, start=start_iso,
                        missions=missions, archive=archive, created_by=user)
