"""Rosters: generated from a finished plan, read and exported (planners and approvers only)."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from citywatch.store.models import Approval, RosterRecord
from citywatch.web import services
from citywatch.web.deps import SessionDep, WhoDep
from citywatch.web.routers._audit import audit
from citywatch.web.routers.plans import get_plan, release
from citywatch.web.routers.scenarios import ExecutorDep
from citywatch.web.schemas import MARKING, Id, RosterIn, RosterOut
from citywatch.web.security import allow

router = APIRouter(tags=["rosters"])
WHO = ("planner", "approver")
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such plan or roster"}}


#: First characters that make a spreadsheet read a cell as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def escape_cell(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text: a leading ``= + - @`` tab or CR is quoted
    away with an apostrophe (OWASP's advice against CSV injection)."""
    return "'" + cell if cell.startswith(_FORMULA) else cell


def escape_csv(text: str) -> str:
    """`text` (CSV) with every cell passed through `escape_cell`."""
    rows = list(csv.reader(io.StringIO(text)))
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([escape_cell(c) for c in row]
                                                    for row in rows)
    return buf.getvalue()


def _approved(session: Session, plan_id: int) -> bool:
    return session.execute(select(Approval.id).where(Approval.plan_id == plan_id)
                           .limit(1)).first() is not None


def _out(r: RosterRecord, *, missions: bool = True, approved: bool = False) -> RosterOut:
    return RosterOut(id=r.id, plan_id=r.plan_id, days=r.days, start=r.start, seed=r.seed,
                     created_by=r.created_by, created_at=r.created_at,
                     missions=r.missions if missions else [], approved=approved)


def _get(session: Session, roster_id: int) -> RosterRecord:
    r = session.get(RosterRecord, roster_id)
    if r is None:
        raise HTTPException(404, f"roster_id: no roster {roster_id}")
    return r


@router.post("/api/plans/{plan_id}/rosters", response_model=RosterOut, status_code=201,
             responses={**NOT_FOUND, 409: {"description": "Plan not finished"}})
@allow(*WHO)
def generate(plan_id: Id, body: RosterIn, request: Request,
             session: SessionDep, who: WhoDep,
             executor: ExecutorDep) -> RosterOut:
    """Sample a roster from a finished plan and store it with its exports."""
    rec = get_plan(session, plan_id)
    if rec.status != "done":
        raise HTTPException(409, f"plan_id: plan {plan_id} is {rec.status}, not done")
    seed = services.new_seed() if body.seed is None else body.seed
    release(session, rec)
    row = executor.submit(services.roster_row, rec, cache=request.app.state.plans,
                          days=body.days, start=body.start,
                          seed=seed, user=who.name).result()
    session.add(row)
    session.flush()
    approved = bool(rec.approvals)
    audit(session, request, who.name, "roster.generate", f"roster/{row.id}",
          detail={"plan": plan_id, "days": body.days, "approved": approved})
    session.commit()
    return _out(row, approved=approved)


@router.get("/api/plans/{plan_id}/rosters", response_model=list[RosterOut],
            responses=NOT_FOUND)
@allow(*WHO)
def list_rosters(plan_id: Id, session: SessionDep) -> list[RosterOut]:
    """A plan's rosters (without their missions)."""
    get_plan(session, plan_id)
    rows = session.execute(select(RosterRecord).where(RosterRecord.plan_id == plan_id)
                           .order_by(RosterRecord.id)).scalars()
    approved = _approved(session, plan_id)
    return [_out(r, missions=False, approved=approved) for r in rows]


@router.get("/api/rosters/{roster_id}", response_model=RosterOut, responses=NOT_FOUND)
@allow(*WHO)
def read_roster(roster_id: Id, request: Request, session: SessionDep,
                who: WhoDep) -> RosterOut:
    """A roster with every mission (recorded in the audit log)."""
    r = _get(session, roster_id)
    audit(session, request, who.name, "roster.view", f"roster/{roster_id}")
    session.commit()
    return _out(r, approved=_approved(session, r.plan_id))


def _subzip(archive: bytes, prefix: str, marking: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(archive)) as src, \
            zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as out:
        out.writestr("MARKING.txt", f"{marking}\n")
        for info in src.infolist():
            if info.filename.startswith(prefix):
                data = src.read(info)
                if info.filename.endswith(".csv"):
                    data = escape_csv(data.decode("utf-8")).encode("utf-8")
                out.writestr(info, data)
    return buf.getvalue()


@router.get("/api/rosters/{roster_id}/export", responses={
    **NOT_FOUND, 200: {"content": {"text/csv": {}, "application/zip": {}},
                       "description": "The export, marked OFFICIAL-SENSITIVE"}})
@allow(*WHO)
def export(roster_id: Id, request: Request, session: SessionDep, who: WhoDep,
           format: Literal["csv", "ics", "html", "zip"] = "csv",  # noqa: A002
           ) -> Response:
    """Download a roster: ``csv`` (roster.csv), ``ics`` (one calendar per team, zipped),
    ``html`` (briefings, zipped) or ``zip`` (everything)."""
    r = _get(session, roster_id)
    approved = _approved(session, r.plan_id)
    marking = MARKING if approved else f"{MARKING} - DRAFT: plan {r.plan_id} NOT APPROVED"
    headers = {"X-Protective-Marking": MARKING, "X-Plan-Approved": str(approved).lower()}
    if format == "csv":
        with zipfile.ZipFile(io.BytesIO(r.archive)) as zf:
            text = escape_csv(zf.read("roster.csv").decode("utf-8"))
        body = f"# {marking}\n{text}".encode()
        media, name = "text/csv", f"roster-{roster_id}{'' if approved else '-DRAFT'}.csv"
    else:
        prefix = {"ics": "ics/", "html": "briefings/", "zip": ""}[format]
        if prefix and not any(n.startswith(prefix) for n in
                              zipfile.ZipFile(io.BytesIO(r.archive)).namelist()):
            raise HTTPException(404, f"format: this roster has no {format} export")
        body, media, name = _subzip(r.archive, prefix, marking), "application/zip", \
            f"roster-{roster_id}-{format}{'' if approved else '-DRAFT'}.zip"
    headers["Content-Disposition"] = f'attachment; filename="{name}"'
    audit(session, request, who.name, "roster.export", f"roster/{roster_id}",
          detail={"format": format, "approved": approved})
    session.commit()
    return Response(body, media_type=media, headers=headers)
