"""User administration (admin only): create, change role, disable, reset the password,
force a logout, unlock, delete. Every change is audited.

A forced logout, a password reset and disabling an account each raise the user's token
version, which ends every token issued before. The last enabled admin cannot be
disabled, demoted or deleted (nobody could manage users any more), and admins cannot
delete or disable themselves.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from citywatch.store import throttle
from citywatch.store.models import User
from citywatch.web.deps import Principal, SessionDep, WhoDep
from citywatch.web.routers._audit import audit
from citywatch.web.schemas import Id, PasswordIn, UserIn, UserOut, UserPatchIn
from citywatch.web.security import allow, create_user, hash_password

router = APIRouter(prefix="/api/users", tags=["users"])
NOT_FOUND = {404: {"description": "No such user"}}


def _out(session: Session, u: User) -> UserOut:
    until = throttle.locked_until(session, u.name_key, time.time())
    return UserOut(id=u.id, name=u.name, role=u.role,  # type: ignore[arg-type]
                   active=u.active, disabled=not u.active,
                   locked_until=None if until is None else datetime.fromtimestamp(until, UTC))


def _get(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise HTTPException(404, f"user_id: no user {user_id}")
    return user


def _keeps_an_admin(session: Session, user: User) -> None:
    """409 if `user` is the last enabled admin."""
    if user.role != "admin" or not user.active:
        return
    n = session.execute(select(func.count()).select_from(User).where(
        User.role == "admin", User.active.is_(True))).scalar_one()
    if n <= 1:
        raise HTTPException(409, f"user_id: {user.name!r} is the last enabled admin")


@router.get("", response_model=list[UserOut])
@allow("admin")
def list_users(session: SessionDep) -> list[UserOut]:
    """Every user."""
    return [_out(session, u)
            for u in session.execute(select(User).order_by(User.id)).scalars()]


@router.post("", response_model=UserOut, status_code=201,
             responses={409: {"description": "Name taken (compared case- and "
                                             "space-insensitively, Unicode-normalised)"}})
@allow("admin")
def add_user(body: UserIn, request: Request, session: SessionDep,
             who: WhoDep) -> UserOut:
    """Create a user with a role."""
    try:
        user = create_user(session, body.name, body.password, body.role)
        audit(session, request, who.name, "user.create", f"user/{user.name}",
              detail={"role": body.role})
        session.commit()
    except (ValueError, IntegrityError) as err:
        session.rollback()
        raise HTTPException(409, f"name: user {body.name!r} exists already") from err
    return _out(session, user)


@router.patch("/{user_id}", response_model=UserOut,
              responses={**NOT_FOUND, 409: {"description": "Would leave no enabled admin"}})
@allow("admin")
def change_user(user_id: Id, body: UserPatchIn, request: Request, session: SessionDep,
                who: WhoDep) -> UserOut:
    """Change a user's role or disable/enable the account (disabling ends its tokens)."""
    user = _get(session, user_id)
    changes: dict[str, object] = {}
    if body.role is not None and body.role != user.role:
        if body.role != "admin":
            _keeps_an_admin(session, user)
        changes["role"] = [user.role, body.role]
        user.role = body.role
        user.token_version += 1
    if body.disabled is not None and body.disabled == user.active:
        if body.disabled:
            _self_guard(user, who, "disable")
            _keeps_an_admin(session, user)
            user.token_version += 1
        changes["disabled"] = body.disabled
        user.active = not body.disabled
    audit(session, request, who.name, "user.change", f"user/{user.name}", detail=changes)
    session.commit()
    return _out(session, user)


def _self_guard(user: User, who: Principal, verb: str) -> None:
    if user.id == who.id:
        raise HTTPException(409, f"user_id: admins cannot {verb} themselves")


@router.post("/{user_id}/password", response_model=UserOut, responses=NOT_FOUND)
@allow("admin")
def reset_password(user_id: Id, body: PasswordIn, request: Request, session: SessionDep,
                   who: WhoDep) -> UserOut:
    """Set a new password; every token of the user ends and any lockout is lifted."""
    user = _get(session, user_id)
    user.password_hash = hash_password(body.password)
    user.token_version += 1
    throttle.clear_account(session, user.name_key)
    audit(session, request, who.name, "user.password", f"user/{user.name}")
    session.commit()
    return _out(session, user)


@router.post("/{user_id}/logout", response_model=UserOut, responses=NOT_FOUND)
@allow("admin")
def force_logout(user_id: Id, request: Request, session: SessionDep,
                 who: WhoDep) -> UserOut:
    """End every token the user holds (they must sign in again)."""
    user = _get(session, user_id)
    user.token_version += 1
    audit(session, request, who.name, "user.logout", f"user/{user.name}")
    session.commit()
    return _out(session, user)


@router.delete("/{user_id}", status_code=204,
               responses={**NOT_FOUND, 409: {"description": "Self, or the last admin"}})
@allow("admin")
def delete_user(user_id: Id, request: Request, session: SessionDep,
                who: WhoDep) -> Response:
    """Delete a user (what they did stays in the audit log under their name)."""
    user = _get(session, user_id)
    _self_guard(user, who, "delete")
    _keeps_an_admin(session, user)
    name, key = user.name, user.name_key
    session.delete(user)
    throttle.clear_account(session, key)
    audit(session, request, who.name, "user.delete", f"user/{name}",
          detail={"role": user.role})
    session.commit()
    return Response(status_code=204)


@router.post("/{user_id}/unlock", response_model=UserOut, responses=NOT_FOUND)
@allow("admin")
def unlock_user(user_id: Id, request: Request, session: SessionDep,
                who: WhoDep) -> UserOut:
    """Clear the account's sign-in lockouts from every address."""
    user = _get(session, user_id)
    n = throttle.clear_account(session, user.name_key)
    audit(session, request, who.name, "user.unlock", f"user/{user.name}",
          detail={"cleared": n})
    session.commit()
    return _out(session, user)
