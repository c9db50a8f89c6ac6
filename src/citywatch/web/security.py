"""Passwords (Argon2), expiring signed tokens, lockout and the role table of every endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from citywatch.store.models import ROLES, User
from citywatch.web.settings import Settings

__all__ = ["PUBLIC", "ROLES", "SEES_SECRETS", "AuthError", "allow", "authenticate",
           "create_user", "hash_password", "issue_token", "read_token", "roles_of"]

F = TypeVar("F", bound=Callable[..., Any])
_hasher = PasswordHasher()
#: Roles that may see rosters and seeds.
SEES_SECRETS = frozenset({"planner", "approver"})
#: Marker for endpoints anyone may call (sign-in, health, the dashboard page).
PUBLIC = "public"
_ATTR = "__citywatch_roles__"
# One dummy hash so an unknown user name costs as much time as a wrong password.
_DUMMY = _hasher.hash("not a password")


class AuthError(Exception):
    """Authentication failed; `status` is 401 (bad credentials/token) or 423 (locked)."""

    def __init__(self, message: str, status: int = 401) -> None:
        super().__init__(message)
        self.status = status


def allow(*roles: str) -> Callable[[F], F]:
    """Mark an endpoint with the roles allowed to call it (endpoints without a mark deny all)."""
    unknown = [r for r in roles if r not in ROLES and r != PUBLIC]
    if unknown:
        msg = f"`roles` must be among {', '.join(ROLES)} or {PUBLIC!r}, got {unknown}"
        raise ValueError(msg)

    def mark(fn: F) -> F:
        setattr(fn, _ATTR, frozenset(roles))
        who = "anyone" if PUBLIC in roles else ", ".join(r for r in ROLES if r in roles)
        fn.__doc__ = f"{(fn.__doc__ or '').rstrip()}\n\n**Allowed:** {who}."
        return fn

    return mark


def roles_of(endpoint: Any) -> frozenset[str]:
    """The roles `allow` gave `endpoint` (empty: nobody)."""
    return frozenset(getattr(endpoint, _ATTR, frozenset()))


def hash_password(password: str) -> str:
    """An Argon2id hash of `password`."""
    return _hasher.hash(password)


def create_user(session: Session, name: str, password: str, role: str) -> User:
    """Add a user (the caller commits)."""
    if role not in ROLES:
        msg = f"`role` must be one of {', '.join(ROLES)}, got {role!r}"
        raise ValueError(msg)
    if len(password) < 8:
        msg = "`password` must have at least 8 characters"
        raise ValueError(msg)
    user = User(name=name, password_hash=hash_password(password), role=role, active=True,
                failed_logins=0)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, name: str, password: str, settings: Settings) -> User:
    """The user with `name` and `password`, counting failures and locking the account.

    Raises
    ------
    AuthError
        401 on a wrong name or password, 423 while the account is locked. The
        failure count is written either way (the caller commits).
    """
    now = datetime.now(UTC)
    user = session.execute(select(User).where(User.name == name)).scalar_one_or_none()
    if user is None or not user.active:
        try:
            _hasher.verify(_DUMMY, password)
        except VerificationError:
            pass
        raise AuthError("wrong user name or password")
    locked = user.locked_until
    if locked is not None and locked.tzinfo is None:
        locked = locked.replace(tzinfo=UTC)
    if locked is not None and locked > now:
        raise AuthError(f"account locked until {locked.isoformat(timespec='seconds')}", 423)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        user.failed_logins += 1
        if user.failed_logins >= settings.max_failed_logins:
            user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
            user.failed_logins = 0
            raise AuthError("too many failed logins: account locked", 423) from None
        raise AuthError("wrong user name or password") from None
    user.failed_logins = 0
    user.locked_until = None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    return user


def issue_token(user: User, settings: Settings) -> tuple[str, datetime]:
    """A signed token for `user` and when it expires."""
    expires = datetime.now(UTC) + timedelta(minutes=settings.token_minutes)
    token = jwt.encode({"sub": user.name, "role": user.role, "exp": expires},
                       settings.secret_key, algorithm="HS256")
    return token, expires


def read_token(token: str, settings: Settings) -> str:
    """The user name in a valid, unexpired token."""
    try:
        claims = jwt.decode(token, settings.secret_key, algorithms=["HS256"],
                            options={"require": ["exp", "sub"]})
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except jwt.PyJWTError:
        raise AuthError("invalid token") from None
    return str(claims["sub"])
