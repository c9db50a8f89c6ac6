"""The audit log (auditors only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import select

from citywatch.store.audit import verify_audit
from citywatch.store.models import AuditRecord
from citywatch.web.deps import SessionDep, WhoDep
from citywatch.web.routers._audit import audit
from citywatch.web.schemas import AuditRecordOut, AuditVerifyOut
from citywatch.web.security import allow

router = APIRouter(prefix="/api/audit", tags=["audit"])


@router.get("", response_model=list[AuditRecordOut])
@allow("auditor")
def read_log(request: Request, session: SessionDep, who: WhoDep,
             after: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
             limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[AuditRecordOut]:
    """Audit records with id greater than `after`, oldest first (the read is audited)."""
    rows = session.execute(select(AuditRecord).where(AuditRecord.id > after)
                           .order_by(AuditRecord.id).limit(limit)).scalars()
    out = [AuditRecordOut.model_validate(r, from_attributes=True) for r in rows]
    audit(session, request, who.name, "audit.read", "audit",
          detail={"after": after, "records": len(out)})
    return out


@router.get("/verify", response_model=AuditVerifyOut)
@allow("auditor")
def verify(request: Request, session: SessionDep,
           who: WhoDep) -> AuditVerifyOut:
    """Check the chain's MACs, head and signed checkpoints; every problem is reported."""
    check = verify_audit(session, request.app.state.audit_chain)
    audit(session, request, who.name, "audit.verify",
          outcome="ok" if check.ok else "tampered", detail={"records": check.records})
    session.commit()
    return AuditVerifyOut(ok=check.ok, records=check.records, problems=list(check.problems))
