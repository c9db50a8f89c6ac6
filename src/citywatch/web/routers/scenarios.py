"""Scenarios: upload, list, read, new versions with edited parameters, history, what-ifs."""

from __future__ import annotations

import tempfile
import zipfile
import zlib
from concurrent.futures import Executor
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, HTTPException, Query, Request, UploadFile
from sqlalchemy import select
from sqlalchemy.orm import Session

from citywatch.errors import ScenarioError
from citywatch.store.models import ScenarioRecord, ScenarioVersion
from citywatch.web import services
from citywatch.web.deps import (
    Principal,
    SessionDep,
    SettingsDep,
    WhoDep,
    check_attacks,
)
from citywatch.web.routers._audit import audit
from citywatch.web.schemas import (
    Id,
    PointOut,
    ScenarioDetailOut,
    ScenarioJSONIn,
    ScenarioOut,
    ScenarioParamsIn,
    ScenarioVersionOut,
    SiteOut,
    WhatIfIn,
    WhatIfOut,
)
from citywatch.web.security import allow

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])
READERS = ("viewer", "planner", "approver")
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such scenario or version"}}


def get_executor(request: Request) -> Executor:
    """The pool that runs solver work off the event loop."""
    executor: Executor = request.app.state.executor
    return executor


ExecutorDep = Annotated[Executor, Depends(get_executor)]


def _get(session: Session, scenario_id: int) -> ScenarioRecord:
    rec = session.get(ScenarioRecord, scenario_id)
    if rec is None:
        raise HTTPException(404, f"scenario_id: no scenario {scenario_id}")
    return rec


def _version(rec: ScenarioRecord, version: int | None) -> ScenarioVersion:
    if version is None:
        return rec.versions[-1]
    for v in rec.versions:
        if v.version == version:
            return v
    raise HTTPException(404, f"version: scenario {rec.id} has no version {version}")


def _out(rec: ScenarioRecord) -> ScenarioOut:
    return ScenarioOut(id=rec.id, name=rec.name, builtin=rec.builtin,
                       latest_version=rec.versions[-1].version, created_by=rec.created_by,
                       created_at=rec.created_at)


def _version_out(v: ScenarioVersion) -> ScenarioVersionOut:
    return ScenarioVersionOut(id=v.id, version=v.version, parameters=v.parameters,
                              sha256=v.sha256, note=v.note, created_by=v.created_by,
                              created_at=v.created_at)


@router.get("", response_model=list[ScenarioOut])
@allow(*READERS)
def list_scenarios(session: SessionDep) -> list[ScenarioOut]:
    """Every scenario with its latest version number."""
    rows = session.execute(select(ScenarioRecord).order_by(ScenarioRecord.id)).scalars()
    return [_out(r) for r in rows]


def _store(session: Session, request: Request, who: Principal, name: str,
           folder: Path) -> ScenarioOut:
    rec = services.create_scenario(session, name, folder, user=who.name)
    audit(session, request, who.name, "scenario.create", f"scenario/{rec.id}",
          detail={"name": name, "sha256": rec.versions[0].sha256})
    session.commit()
    return _out(rec)


@router.post("", response_model=ScenarioOut, status_code=201,
             responses={422: {"description": "Invalid scenario (each problem named)"}})
@allow("planner")
def create_from_json(body: ScenarioJSONIn, request: Request,
                     session: SessionDep,
                     who: WhoDep) -> ScenarioOut:
    """Create a scenario from its folder given as JSON ``{"files": {name: text}}``."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = services.write_files(body.files, Path(tmp) / "scenario")
        return _store(session, request, who, body.name, folder)


@router.post("/upload", response_model=ScenarioOut, status_code=201,
             responses={422: {"description": "Invalid archive or scenario"}})
@allow("planner")
def create_from_zip(request: Request, session: SessionDep, who: WhoDep,
                    name: Annotated[str, Form(min_length=1, max_length=64,
                                              pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._-]*$")],
                    file: Annotated[UploadFile, File(description="The scenario folder as a zip")]
                    ) -> ScenarioOut:
    """Create a scenario from an uploaded zip of its folder (a refused upload is audited).

    The body's size is capped while it streams in (`RequestGuard`), before this runs.
    """
    data = file.file.read(services.MAX_ARCHIVE_BYTES + 1)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            try:
                folder = services.unpack_archive(data, Path(tmp))
            except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError,
                    ValueError, OSError) as err:
                if isinstance(err, ScenarioError):
                    raise
                msg = f"`file`: the zip archive is damaged ({type(err).__name__}: {err})"
                raise ScenarioError(msg[:300]) from None
            return _store(session, request, who, name, folder)
    except ScenarioError as err:
        session.rollback()
        audit(session, request, who.name, "scenario.upload", f"scenario/{name}",
              outcome="refused", detail={"reason": str(err)[:300], "bytes": len(data)})
        session.commit()
        raise


@router.get("/{scenario_id}", response_model=ScenarioDetailOut, responses=NOT_FOUND)
@allow(*READERS)
def get_scenario(scenario_id: Id, session: SessionDep,
                 version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None
                 ) -> ScenarioDetailOut:
    """A scenario version with what the map needs: sites, zones, standby points."""
    rec = _get(session, scenario_id)
    v = _version(rec, version)
    sc = services.load_version(v)
    b = sc.bounds
    return ScenarioDetailOut(
        **_out(rec).model_dump(), version=v.version, parameters=v.parameters,
        slots=list(sc.slot_names),
        bounds={"min_lat": b.min_lat, "min_lon": b.min_lon, "max_lat": b.max_lat,
                "max_lon": b.max_lon},
        sites=[SiteOut(id=s.id, name=s.name, category=s.category, lat=s.lat, lon=s.lon,
                       zone_id=s.zone_id,
                       people=dict(zip(sc.slot_names, s.people, strict=True)))
               for s in sc.sites],
        zones=[PointOut(id=z.id, name=z.name, lat=z.lat, lon=z.lon) for z in sc.zones],
        standby=[PointOut(id=p.id, name=p.name, lat=p.lat, lon=p.lon, kind=p.kind)
                 for p in sc.standby])


@router.get("/{scenario_id}/versions", response_model=list[ScenarioVersionOut],
            responses=NOT_FOUND)
@allow(*READERS)
def history(scenario_id: Id, session: SessionDep
            ) -> list[ScenarioVersionOut]:
    """Every version of a scenario, oldest first."""
    return [_version_out(v) for v in _get(session, scenario_id).versions]


@router.post("/{scenario_id}/versions", response_model=ScenarioVersionOut, status_code=201,
             responses=NOT_FOUND)
@allow("planner")
def edit_parameters(scenario_id: Id, body: ScenarioParamsIn, request: Request,
                    session: SessionDep,
                    who: WhoDep) -> ScenarioVersionOut:
    """Change parameters (threat level, officers): stored as a new version.

    Concurrent edits are serialised (the scenario row is locked on PostgreSQL; SQLite's
    write session holds the write lock), so each gets the next version number.
    """
    session.execute(select(ScenarioRecord.id).where(ScenarioRecord.id == scenario_id)
                    .with_for_update())
    rec = _get(session, scenario_id)
    changes = body.model_dump(exclude={"note"}, exclude_none=True)
    v = services.add_version(session, rec, changes, user=who.name, note=body.note)
    audit(session, request, who.name, "scenario.edit", f"scenario/{rec.id}",
          detail={"version": v.version, "changes": changes})
    session.commit()
    return _version_out(v)


@router.post("/{scenario_id}/whatif", response_model=WhatIfOut, responses=NOT_FOUND)
@allow("planner")
def what_if(scenario_id: Id, body: WhatIfIn, request: Request, session: SessionDep,
            who: WhoDep, executor: ExecutorDep, settings: SettingsDep,
            version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None) -> WhatIfOut:
    """Re-plan with more or fewer officers or another threat level and simulate both."""
    from citywatch.sim.whatif import whatif

    check_attacks(body.n, settings)
    rec = _get(session, scenario_id)
    v = _version(rec, version)
    sc = services.load_version(v)
    seed = services.new_seed() if body.seed is None else body.seed
    session.commit()  # no write lock held while re-planning (SQLite)
    from citywatch.options import PlanOptions

    result = executor.submit(whatif, sc, add_officers=body.add_officers,
                             threat=body.threat_level, n=body.n, seed=seed,
                             options=PlanOptions(arv=body.arv)).result()
    audit(session, request, who.name, "whatif", f"scenario/{rec.id}",
          detail={"version": v.version, "add_officers": body.add_officers,
                  "threat_level": body.threat_level, "n": body.n})
    session.commit()
    return WhatIfOut(scenario_id=rec.id, version=v.version, result=result.to_dict())
