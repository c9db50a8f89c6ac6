"""Plans: created as background jobs, read with their progress, approved."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, defer, joinedload, selectinload

from citywatch.store.models import Approval, PlanRecord, ScenarioVersion
from citywatch.web import services
from citywatch.web.deps import (
    Principal,
    SessionDep,
    SettingsDep,
    WhoDep,
    check_attacks,
)
from citywatch.web.routers._audit import audit
from citywatch.web.routers.scenarios import ExecutorDep, _version
from citywatch.web.routers.scenarios import _get as get_scenario_record
from citywatch.web.schemas import (
    ApprovalIn,
    ApprovalOut,
    Id,
    PlanIn,
    PlanOut,
    SimulationIn,
    SimulationOut,
)
from citywatch.web.security import SEES_SECRETS, allow, user_key

router = APIRouter(prefix="/api/plans", tags=["plans"])
READERS = ("viewer", "planner", "approver")
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"description": "No such plan"}}


def get_plan(session: Session, plan_id: int) -> PlanRecord:
    """The plan record or 404."""
    rec = session.get(PlanRecord, plan_id)
    if rec is None:
        raise HTTPException(404, f"plan_id: no plan {plan_id}")
    return rec


def release(session: Session, rec: PlanRecord) -> PlanRecord:
    """Load what solver work reads from `rec`, then end the transaction.

    On SQLite a write session holds the database's write lock from its first read; a
    simulation or roster must not keep every other writer (sign-ins, audit records)
    waiting while it computes.
    """
    _ = rec.scenario_version.scenario, rec.approvals, rec.result, rec.parameters
    session.commit()
    return rec


def plan_out(rec: PlanRecord, who: Principal, *, full: bool = True) -> PlanOut:
    """The API view of a plan; the seed only for roles that need it."""
    v = rec.scenario_version
    return PlanOut(
        id=rec.id, scenario_id=v.scenario_id, scenario_name=v.scenario.name,
        scenario_version=v.version, parameters=rec.parameters, method=rec.method,
        gap=rec.gap, status=rec.status, stage=rec.stage,  # type: ignore[arg-type]
        progress=rec.progress, error=rec.error, approved=bool(rec.approvals),
        approvals=[ApprovalOut(approver=a.approver, comment=a.comment, at=a.at)
                   for a in rec.approvals],
        created_by=rec.created_by, created_at=rec.created_at, finished_at=rec.finished_at,
        seed=rec.seed if who.role in SEES_SECRETS else None,
        result=rec.result if full else None)


@router.post("", response_model=PlanOut, status_code=202,
             responses={404: {"description": "No such scenario or version"}})
@allow("planner")
def create_plan(body: PlanIn, request: Request, session: SessionDep,
                who: WhoDep, settings: SettingsDep,
                executor: ExecutorDep) -> PlanOut:
    """Queue a plan for a scenario version; poll `GET /api/plans/{id}` for progress."""
    pending = session.execute(select(func.count()).select_from(PlanRecord).where(
        PlanRecord.created_by == who.name,
        PlanRecord.status.in_(("queued", "running")))).scalar_one()
    if pending >= settings.max_queued_plans:
        audit(session, request, who.name, "plan.create", outcome="refused",
              detail={"reason": "too many plans queued", "pending": pending})
        session.commit()
        raise HTTPException(429, f"{who.name!r} has {pending} plans queued or running "
                                 f"(at most {settings.max_queued_plans}): wait for them")
    scenario = get_scenario_record(session, body.scenario_id)
    v = _version(scenario, body.version)
    params = {"options": body.options().to_dict()}
    rec = PlanRecord(scenario_version_id=v.id, parameters=params,
                     seed=services.new_seed() if body.seed is None else body.seed,
                     status="queued", stage="queued", progress=0.0, created_by=who.name)
    session.add(rec)
    session.flush()
    audit(session, request, who.name, "plan.create", f"plan/{rec.id}",
          detail={"scenario": scenario.name, "version": v.version, **params})
    session.commit()
    if settings.jobs == "inline":  # else the elected runner process picks it up
        executor.submit(services.run_plan_job, request.app.state.sessions, rec.id,
                        request.app.state.plans)
    return plan_out(rec, who)


@router.get("", response_model=list[PlanOut])
@allow(*READERS)
def list_plans(session: SessionDep, who: WhoDep,
               scenario_id: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
               limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[PlanOut]:
    """Recent plans, newest first, without their full results."""
    q = (select(PlanRecord).order_by(PlanRecord.id.desc()).limit(limit)
         .options(defer(PlanRecord.result), selectinload(PlanRecord.approvals),
                  joinedload(PlanRecord.scenario_version).defer(ScenarioVersion.archive)
                  .joinedload(ScenarioVersion.scenario)))
    if scenario_id is not None:
        q = q.join(PlanRecord.scenario_version).where(
            ScenarioVersion.scenario_id == scenario_id)
    return [plan_out(r, who, full=False) for r in session.execute(q).scalars()]


@router.get("/{plan_id}", response_model=PlanOut, responses=NOT_FOUND)
@allow(*READERS)
def read_plan(plan_id: Id, request: Request, session: SessionDep, who: WhoDep) -> Response:
    """A plan: its status and progress while it runs, its result when done."""
    rec = session.get(PlanRecord, plan_id, options=[
        defer(PlanRecord.result), selectinload(PlanRecord.approvals),
        joinedload(PlanRecord.scenario_version).defer(ScenarioVersion.archive)
        .joinedload(ScenarioVersion.scenario)])
    if rec is None:
        raise HTTPException(404, f"plan_id: no plan {plan_id}")
    # A finished plan only changes by gaining approvals: its encoded view is cached
    # (per seed visibility) so the large result is not re-parsed and re-validated.
    cache: services.EncodedCache = request.app.state.finished_plans
    key = (plan_id, who.role in SEES_SECRETS, len(rec.approvals))
    finished = rec.status in ("done", "failed")
    body = cache.get(key) if finished else None
    if body is None:
        body = plan_out(rec, who).model_dump_json().encode()
        if finished:
            cache.put(key, body)
    audit(session, request, who.name, "plan.view", f"plan/{plan_id}")
    return Response(body, media_type="application/json")


@router.post("/{plan_id}/approve", response_model=PlanOut,
             responses={**NOT_FOUND, 409: {"description": "Plan not finished"}})
@allow("approver")
def approve(plan_id: Id, body: ApprovalIn, request: Request,
            session: SessionDep,
            who: WhoDep) -> PlanOut:
    """Approve a finished plan.

    Separation of duties: only approvers approve (planners cannot), the user who
    created the plan cannot approve it whatever their role is now, and each approver
    approves a plan once (the database enforces it too).
    """
    rec = get_plan(session, plan_id)

    def refuse(status: int, reason: str) -> HTTPException:
        audit(session, request, who.name, "plan.approve", f"plan/{plan_id}",
              outcome="refused", detail={"reason": reason})
        session.commit()
        return HTTPException(status, f"plan_id: {reason}")

    if rec.status != "done":
        raise refuse(409, f"plan {plan_id} is {rec.status}, not done")
    if user_key(rec.created_by) == user_key(who.name):
        raise refuse(403, f"plan {plan_id} was created by {who.name!r}, who cannot "
                          "also approve it")
    if any(user_key(a.approver) == user_key(who.name) for a in rec.approvals):
        raise refuse(409, f"plan {plan_id} is already approved by {who.name!r}")
    rec.approvals.append(Approval(approver=who.name, comment=body.comment))
    audit(session, request, who.name, "plan.approve", f"plan/{plan_id}",
          detail={"comment": body.comment})
    try:
        session.commit()
    except IntegrityError:  # the same approver, twice at once
        session.rollback()
        raise HTTPException(409, f"plan_id: plan {plan_id} is already approved by "
                                 f"{who.name!r}") from None
    return plan_out(rec, who)


@router.post("/{plan_id}/simulations", response_model=SimulationOut,
             responses={**NOT_FOUND, 409: {"description": "Plan not finished"}})
@allow("planner")
def simulate_plan(plan_id: Id, body: SimulationIn, request: Request,
                  session: SessionDep,
                  who: WhoDep,
                  settings: SettingsDep,
                  executor: ExecutorDep) -> SimulationOut:
    """Simulate `n` attacks against a finished plan (Monte Carlo)."""
    from citywatch.sim.simulate import simulate

    check_attacks(body.n, settings)
    rec = get_plan(session, plan_id)
    if rec.status != "done":
        raise HTTPException(409, f"plan_id: plan {plan_id} is {rec.status}, not done")
    seed = rec.seed if body.seed is None else body.seed
    release(session, rec)
    plan = executor.submit(services.plan_object, rec, request.app.state.plans).result()
    result = executor.submit(simulate, plan, n=body.n, seed=seed).result()
    audit(session, request, who.name, "plan.simulate", f"plan/{plan_id}",
          detail={"n": body.n})
    session.commit()
    return SimulationOut(plan_id=plan_id, n=body.n, seed=seed,
                         result=result.to_dict(groups=False))
