"""User administration (admin only)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from sqlalchemy import select

from citywatch.store.models import User
from citywatch.web.deps import SessionDep, WhoDep
from citywatch.web.routers._audit import audit
from citywatch.web.schemas import Id, UserIn, UserOut
from citywatch.web.security import allow, create_user

router = APIRouter(prefix="/api/users", tags=["users"])


def _out(u: User) -> UserOut:
    return UserOut(id=u.id, name=u.name, role=u.role,  # type: ignore[arg-type]
                   active=u.active, locked_until=u.locked_until)


@router.get("", response_model=list[UserOut])
@allow("admin")
def list_users(session: SessionDep) -> list[UserOut]:
    """Every user."""
    return [_out(u) for u in session.execute(select(User).order_by(User.id)).scalars()]


@router.post("", response_model=UserOut, status_code=201,
             responses={409: {"description": "Name taken"}})
@allow("admin")
def add_user(body: UserIn, request: Request, session: SessionDep,
             who: WhoDep) -> UserOut:
    """Create a user with a role."""
    if session.execute(select(User).where(User.name == body.name)).first():
        raise HTTPException(409, f"name: user {body.name!r} exists already")
    user = create_user(session, body.name, body.password, body.role)
    audit(session, request, who.name, "user.create", f"user/{body.name}",
          detail={"role": body.role})
    session.commit()
    return _out(user)


@router.post("/{user_id}/unlock", response_model=UserOut,
             responses={404: {"description": "No such user"}})
@allow("admin")
def unlock_user(user_id: Id, request: Request, session: SessionDep,
                who: WhoDep) -> UserOut:
    """Clear a lockout."""
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"user_id: no user {user_id}")
    user.locked_until, user.failed_logins = None, 0
    audit(session, request, who.name, "user.unlock", f"user/{user.name}")
    session.commit()
    return _out(user)
