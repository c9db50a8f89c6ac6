"""Dependencies: settings, database sessions, the signed-in user and the role check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import select
from sqlalchemy.orm import Session

from citywatch.store.models import User
from citywatch.web.security import PUBLIC, AuthError, read_token, roles_of
from citywatch.web.settings import Settings

__all__ = ["Principal", "SessionDep", "SettingsDep", "WhoDep", "authorize", "check_attacks",
           "client_ip", "get_session", "get_settings", "principal"]

_bearer = HTTPBearer(auto_error=False)


@dataclass(frozen=True)
class Principal:
    """Who is calling: user name and role."""

    name: str
    role: str


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session, closed (and rolled back if uncommitted) after the request.

    Creating a session does no I/O; the endpoints using it are plain functions and run
    in the thread pool, so the event loop never waits on the database.
    """
    with request.app.state.sessions() as session:
        yield session


def client_ip(request: Request) -> str:
    """The caller's address, for the audit log."""
    return request.client.host if request.client else ""


def _load_user(request: Request, name: str) -> tuple[str, str, bool] | None:
    with request.app.state.sessions() as session:
        user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
        return None if user is None else (user.name, user.role, user.active)


async def authorize(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
        settings: Annotated[Settings, Depends(get_settings)]) -> Principal | None:
    """Deny by default: the endpoint's `allow` roles decide; unmarked endpoints deny all."""
    allowed = roles_of(request.scope.get("endpoint"))
    if PUBLIC in allowed:
        return None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(401, "sign in first", headers={"WWW-Authenticate": "Bearer"})
    try:
        name = read_token(credentials.credentials, settings)
    except AuthError as err:
        raise HTTPException(401, str(err), headers={"WWW-Authenticate": "Bearer"}) from None
    user = await run_in_threadpool(_load_user, request, name)
    if user is None or not user[2]:
        raise HTTPException(401, "unknown or disabled user",
                            headers={"WWW-Authenticate": "Bearer"})
    who = Principal(user[0], user[1])
    request.state.principal = who
    if who.role not in allowed:
        raise HTTPException(403, f"role {who.role!r} may not do this")
    return who


async def principal(request: Request) -> Principal:
    """The signed-in caller (set by `authorize`)."""
    who: Principal | None = getattr(request.state, "principal", None)
    if who is None:
        raise HTTPException(401, "sign in first")
    return who


#: A database session for the request.
SessionDep = Annotated[Session, Depends(get_session)]
#: The signed-in caller.
WhoDep = Annotated[Principal, Depends(principal)]
#: The app's settings.
SettingsDep = Annotated[Settings, Depends(get_settings)]


def check_attacks(n: int, settings: Settings) -> None:
    """422 naming `n` when more attacks are asked for than the server allows."""
    if n > settings.max_simulated_attacks:
        raise HTTPException(422, [{"loc": ["body", "n"], "type": "less_than_equal",
                                   "msg": f"n must be <= {settings.max_simulated_attacks}"}])
