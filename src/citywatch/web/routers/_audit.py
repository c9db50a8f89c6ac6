"""Audit helper shared by the routers."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from sqlalchemy.orm import Session

from citywatch.store.audit import append_audit
from citywatch.web.deps import client_ip


def audit(session: Session, request: Request, actor: str, action: str, target: str = "", *,
          outcome: str = "ok", detail: dict[str, Any] | None = None) -> None:
    """Append an audit record.

    In a write session the record joins the session's transaction (the caller commits,
    so the action and its record stand or fall together). A read session (GET) must not
    write, so the record of a read goes through the app's `AuditBatcher` (group commit)
    and is committed before this returns.
    """
    if session.info.get("read_only"):
        request.app.state.audit_batcher.append(
            actor=actor, action=action, target=target, source=client_ip(request),
            outcome=outcome, detail=detail)
        return
    append_audit(session, actor=actor, action=action, target=target,
                 source=client_ip(request), outcome=outcome, detail=detail)
