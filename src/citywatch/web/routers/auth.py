"""Sign-in and the caller's identity."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from citywatch.store.models import ROLES
from citywatch.web.deps import SettingsDep, WhoDep, client_ip
from citywatch.web.schemas import LoginIn, MeOut, TokenOut
from citywatch.web.security import (
    PUBLIC,
    SEES_SECRETS,
    AuthError,
    allow,
    authenticate,
    issue_token,
)

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut,
             responses={401: {"description": "Wrong name or password"},
                        423: {"description": "Account locked for this address"},
                        429: {"description": "Too many failed sign-ins from this address"}})
@allow(PUBLIC)
def login(body: LoginIn, request: Request, settings: SettingsDep) -> TokenOut:
    """Exchange a name and password for an expiring bearer token.

    Failed sign-ins are counted per account and address; the account is locked for that
    address after ``max_failed_logins`` of them (an admin can unlock it).
    """
    state = request.app.state
    source = client_ip(request)

    def record(actor: str, outcome: str, detail: dict[str, object] | None = None) -> None:
        state.audit_batcher.append(actor=actor, action="login", source=source,
                                   outcome=outcome, detail=detail)

    try:
        user = authenticate(state.sessions, body.name, body.password, source, settings,
                            state.hash_slots)
    except AuthError as err:
        record(body.name, "denied", {"reason": str(err), "status": err.status})
        headers = {"Retry-After": "60"} if err.status in (429, 503) else None
        raise HTTPException(err.status, str(err), headers=headers) from None
    token, expires = issue_token(user, state.token_key, settings.token_minutes)
    record(user.name, "ok")
    return TokenOut(access_token=token, expires_at=expires, name=user.name,
                    role=user.role)  # type: ignore[arg-type]


@router.get("/me", response_model=MeOut)
@allow(*ROLES)
def me(who: WhoDep) -> MeOut:
    """Who the token belongs to."""
    return MeOut(name=who.name, role=who.role,  # type: ignore[arg-type]
                 sees_rosters=who.role in SEES_SECRETS)
