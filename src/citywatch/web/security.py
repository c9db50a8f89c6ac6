"""Passwords (Argon2), expiring signed tokens, throttled sign-in and the role table.

Sign-in (`authenticate`) is built so that concurrency cannot bypass it and timing does
not tell whether an account exists:

* Failures are counted per account *and address* and per address (`citywatch.store.
  throttle`): an attempt reserves its failure with one conditional UPDATE before the
  password is checked, so 40 parallel guesses get at most ``max_failed_logins`` checks
  and the account-from-that-address is then locked. A stranger guessing at the admin
  from elsewhere locks only their own address out, never the admin.
* Unknown and disabled accounts cost one Argon2 verification of a dummy hash with the
  same parameters, exactly like a wrong password; a locked account-from-address waits
  as long as a verification has recently taken (queueing included) without using the
  CPU, so the answer takes the same time and the flood costs nothing.
* Argon2 runs under a semaphore (``login_hash_concurrency`` at a time, 64 MiB each), so
  a flood of sign-ins queues instead of exhausting memory.
* No transaction is open while a password is hashed (the write lock is never held
  for the ~0.1-0.4 s of a verification).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from citywatch.store import throttle
from citywatch.store.db import with_retry
from citywatch.store.models import ROLES, User, user_key
from citywatch.web.settings import Settings

__all__ = ["PUBLIC", "ROLES", "SEES_SECRETS", "AuthError", "Claims", "SignIn", "allow",
           "authenticate", "create_user", "hash_password", "issue_token", "read_token",
           "roles_of", "user_key"]

F = TypeVar("F", bound=Callable[..., Any])
_hasher = PasswordHasher()
#: Roles that may see rosters and seeds.
SEES_SECRETS = frozenset({"planner", "approver"})
#: Marker for endpoints anyone may call (sign-in, health, the dashboard page).
PUBLIC = "public"
_ATTR = "__citywatch_roles__"
# One dummy hash (same parameters as real ones) so an unknown, disabled or locked user
# name costs as much time as a wrong password.
_DUMMY = _hasher.hash("not a password")


class AuthError(Exception):
    """Authentication failed; `status` is 401 (bad credentials/token), 423 (locked),
    429 (this address tried too often) or 503 (sign-in busy)."""

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


def check_password(password: str) -> None:
    """ValueError unless `password` is acceptable (8 to 256 characters)."""
    if not 8 <= len(password) <= 256:
        msg = f"`password` must have 8 to 256 characters, got {len(password)}"
        raise ValueError(msg)


def create_user(session: Session, name: str, password: str, role: str) -> User:
    """Add a user (the caller commits); ValueError if the name is taken once normalised."""
    if role not in ROLES:
        msg = f"`role` must be one of {', '.join(ROLES)}, got {role!r}"
        raise ValueError(msg)
    check_password(password)
    key = user_key(name)
    if not key:
        msg = f"`name` must not be blank, got {name!r}"
        raise ValueError(msg)
    if session.execute(select(User.id).where(User.name_key == key)).first():
        msg = f"`name`: user {name.strip()!r} exists already"
        raise ValueError(msg)
    user = User(name=" ".join(name.split()), name_key=key, password_hash=hash_password(password),
                role=role, active=True, failed_logins=0, token_version=0)
    session.add(user)
    session.flush()
    return user


@dataclass(frozen=True)
class SignIn:
    """A successful sign-in: the user's id, name, role and token version."""

    id: int
    name: str
    role: str
    token_version: int


class HashSlots:
    """At most `n` Argon2 computations at a time (each takes 64 MiB and ~0.1-0.4 s)."""

    def __init__(self, n: int, timeout: float = 60.0) -> None:
        self._sem = threading.BoundedSemaphore(n)
        self._timeout = timeout
        self._typical = 0.3  # seconds a verification takes, queueing included (EWMA)

    def verify(self, stored: str, password: str) -> bool:
        """Whether `password` matches the hash `stored` (AuthError 503 when saturated)."""
        start = time.monotonic()
        if not self._sem.acquire(timeout=self._timeout):
            raise AuthError("sign-in is busy: try again shortly", 503)
        try:
            return _hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
        finally:
            self._sem.release()
            self._typical = 0.8 * self._typical + 0.2 * (time.monotonic() - start)

    def wait_like_verify(self) -> None:
        """Take as long as a verification typically does, without computing one."""
        time.sleep(self._typical)


def authenticate(sessions: sessionmaker[Session], name: str, password: str, address: str,
                 settings: Settings, slots: HashSlots) -> SignIn:
    """The user with `name` and `password`, throttled per account+address and per address.

    Parameters
    ----------
    sessions
        Write sessions; each step is its own short transaction (none is open while the
        password is hashed).
    address
        The caller's address (the throttling key).

    Raises
    ------
    AuthError
        401 on a wrong name or password, 423 while this account is locked for this
        address, 429 while this address is locked, 503 when sign-in is saturated.
    """
    key = user_key(name)
    pair, addr = throttle.account_key(key, address), throttle.address_key(address)
    now = time.time()

    def reserve(session: Session) -> tuple[bool, bool, tuple[int, str, str, bool, str, int] | None]:
        if not throttle.reserve(session, addr, settings.max_failed_per_address, now):
            return False, False, None
        ok = throttle.reserve(session, pair, settings.max_failed_logins, now)
        if not ok:  # refused unchecked: only checked passwords count against the address
            throttle.release(session, addr)
        row = session.execute(select(User.id, User.name, User.role, User.active,
                                     User.password_hash, User.token_version)
                              .where(User.name_key == key)).first()
        return True, ok, None if row is None else tuple(row)  # type: ignore[return-value]

    addr_ok, pair_ok, row = with_retry(sessions, reserve)
    if not addr_ok:
        raise AuthError("too many failed sign-ins from this address: try again later", 429)
    if not pair_ok:
        slots.wait_like_verify()
        raise AuthError("too many failed sign-ins for this account from this address: "
                        "try again later", 423)
    usable = row is not None and row[3]
    right = slots.verify(row[4] if usable else _DUMMY, password) and usable  # type: ignore[index]
    until = now + 60 * settings.lockout_minutes
    if right:
        assert row is not None

        def success(session: Session) -> None:
            throttle.clear(session, pair)
            throttle.release(session, addr)
            if _hasher.check_needs_rehash(row[4]):
                user = session.get(User, row[0])
                if user is not None:
                    user.password_hash = hash_password(password)

        with_retry(sessions, success)
        return SignIn(row[0], row[1], row[2], row[5])
    locked = with_retry(sessions, lambda s: throttle.lock_if_full(
        s, pair, settings.max_failed_logins, until, now))
    if locked:
        raise AuthError("too many failed sign-ins: account locked for "
                        f"{settings.lockout_minutes} minutes from this address", 423)
    raise AuthError("wrong user name or password")


@dataclass(frozen=True)
class Claims:
    """What a valid token says: user id, name and token version."""

    uid: int
    name: str
    version: int


def issue_token(user: SignIn, key: str, minutes: int) -> tuple[str, datetime]:
    """A token signed with `key` for `user`, and when it expires."""
    expires = datetime.now(UTC) + timedelta(minutes=minutes)
    token = jwt.encode({"sub": user.name, "uid": user.id, "ver": user.token_version,
                        "role": user.role, "exp": expires, "iat": datetime.now(UTC)},
                       key, algorithm="HS256")
    return token, expires


def read_token(token: str, key: str) -> Claims:
    """The claims of a valid, unexpired token signed with `key`."""
    try:
        claims = jwt.decode(token, key, algorithms=["HS256"],
                            options={"require": ["exp", "sub", "uid", "ver"]})
        return Claims(int(claims["uid"]), str(claims["sub"]), int(claims["ver"]))
    except jwt.ExpiredSignatureError:
        raise AuthError("token expired") from None
    except (jwt.PyJWTError, TypeError, ValueError):
        raise AuthError("invalid token") from None
