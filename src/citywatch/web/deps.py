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

__all__ = ["Principal", "SessionDep", "SettingsDep", "WhoDep", "audit_denial", "authorize",
           "check_attacks", "client_ip", "get_session", "get_settings", "principal"]

_bearer = HTTPBearer(auto_error=False)
_READ_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Principal:
    """Who is calling: user id, name and role."""

    name: str
    role: str
    id: int = 0


async def get_settings(request: Request) -> Settings:
    """The settings the app was created with."""
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session, closed (and rolled back if uncommitted) after the request.

    GET requests get a read session (never takes SQLite's write lock); the others a
    write session. Creating a session does no I/O; the endpoints using it are plain
    functions and run in the thread pool, so the event loop never waits on the database.
    """
    read = request.method in _READ_METHODS
    factory = request.app.state.read_sessions if read else request.app.state.sessions
    with factory() as session:
        session.info["read_only"] = read
        yield session


def client_ip(request: Request) -> str:
    """The caller's address, for the audit log and sign-in throttling."""
    return request.client.host if request.client else ""


def audit_denial(app: object, *, actor: str, status: int, method: str, path: str,
                 source: str, reason: str) -> None:
    """Record a refused request (401/403/413/415...) in the audit log (its own transaction)."""
    state = app.state  # type: ignore[attr-defined]
    state.audit_batcher.append(actor=actor or "anonymous", action="http.denied",
                               target=f"{method} {path}"[:128], source=source,
                               outcome=str(status), detail={"reason": reason[:200]})


def _load_user(request: Request, uid: int) -> tuple[str, str, bool, int] | None:
    with request.app.state.read_sessions() as session:
        row = session.execute(select(User.name, User.role, User.active, User.token_version)
                              .where(User.id == uid)).first()
        return None if row is None else (row[0], row[1], row[2], row[3])


async def _deny(request: Request, status: int, message: str, actor: str = "") -> HTTPException:
    await run_in_threadpool(audit_denial, request.app, actor=actor, status=status,
                            method=request.method, path=request.url.path,
                            source=client_ip(request), reason=message)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return HTTPException(status, message, headers=headers)


async def authorize(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal | None:
    """Deny by default: the endpoint's `allow` roles decide; unmarked endpoints deny all.

    A token is valid while its user exists, is enabled and has the token version the
    token was issued with (a forced logout or password change raises it). Every
    denial is audited.
    """
    allowed = roles_of(request.scope.get("endpoint"))
    if PUBLIC in allowed:
        return None
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise await _deny(request, 401, "sign in first")
    try:
        claims = read_token(credentials.credentials, request.app.state.token_key)
    except AuthError as err:
        raise await _deny(request, 401, str(err)) from None
    user = await run_in_threadpool(_load_user, request, claims.uid)
    if user is None or not user[2] or user[3] != claims.version or user[0] != claims.name:
        raise await _deny(request, 401, "token revoked, or user unknown or disabled",
                          claims.name)
    who = Principal(user[0], user[1], claims.uid)
    request.state.principal = who
    if who.role not in allowed:
        raise await _deny(request, 403, f"role {who.role!r} may not do this", who.name)
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
