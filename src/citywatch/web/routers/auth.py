"""Sign-in and the caller's identity."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request

from citywatch.store.models import ROLES
from citywatch.web.deps import (
    SessionDep,
    SettingsDep,
    WhoDep,
)
from citywatch.web.routers._audit import audit
from citywatch.web.schemas import LoginIn, MeOut, TokenOut
from citywatch.web.security import PUBLIC, SEES_SECRETS, AuthError, allow, authenticate, issue_token

router = APIRouter(prefix="/api/auth", tags=["auth"])


@router.post("/token", response_model=TokenOut,
             responses={401: {"description": "Wrong name or password"},
                        423: {"description": "Account locked"}})
@allow(PUBLIC)
def login(body: LoginIn, request: Request, session: SessionDep,
          settings: SettingsDep) -> TokenOut:
    """Exchange a name and password for an expiring bearer token."""
    try:
        user = authenticate(session, body.name, body.password, settings)
    except AuthError as err:
        session.commit()  # keep the failure count
        audit(session, request, body.name, "login", outcome="denied",
              detail={"reason": str(err)})
        session.commit()
        raise HTTPException(err.status, str(err)) from None
    token, expires = issue_token(user, settings)
    audit(session, request, user.name, "login")
    session.commit()
    return TokenOut(access_token=token, expires_at=expires, name=user.name,
                    role=user.role)  # type: ignore[arg-type]


@router.get("/me", response_model=MeOut)
@allow(*ROLES)
def me(who: WhoDep) -> MeOut:
    """Who the token belongs to."""
    return MeOut(name=who.name, role=who.role,  # type: ignore[arg-type]
                 sees_rosters=who.role in SEES_SECRETS)
