"""Sign-in throttling with atomic counters: a reservation before the password is checked.

Each key (``acct:<user key>|<address>``, ``addr:<address>``) has a failure count and a
lock time. An attempt first *reserves* a failure with one conditional UPDATE::

    UPDATE login_throttle SET failures = failures + 1
     WHERE key = :k AND failures < :limit AND (locked_until IS NULL OR locked_until <= :now)

so of any number of concurrent attempts at most `limit` get past it; the others are
refused without their password being checked. An attempt whose password was right gives
its reservation back (`clear` for the account key, `release` for the address); one whose
password was wrong keeps it, and the attempt that fills the budget locks the key
(`lock_if_full`) for the lockout period, after which the count starts again. Every step
is a single statement, so the rule holds across threads and processes on SQLite and
PostgreSQL alike.
"""

from __future__ import annotations

from sqlalchemy import case, delete, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from citywatch.store.models import LoginThrottle

__all__ = ["account_key", "address_key", "clear", "clear_account", "lock_if_full",
           "locked_until", "release", "reserve"]

T = LoginThrottle.__table__


def account_key(user_key: str, address: str) -> str:
    """The throttle key of one account tried from one address."""
    return f"acct:{user_key}|{address}"[:200]


def address_key(address: str) -> str:
    """The throttle key of one address, whatever account it tries."""
    return f"addr:{address}"[:200]


def _ensure(session: Session, key: str) -> None:
    dialect = session.get_bind().dialect.name
    ins = (postgresql.insert(T) if dialect == "postgresql" else sqlite.insert(T))
    session.execute(ins.values(key=key, failures=0, locked_until=None)
                    .on_conflict_do_nothing(index_elements=["key"]))


def reserve(session: Session, key: str, limit: int, now: float) -> bool:
    """Count one attempt on `key` unless it is locked or `limit` attempts are pending/failed.

    A lock that has expired is lifted and the count restarts at this attempt.
    """
    _ensure(session, key)
    expired = T.c.locked_until.is_not(None) & (T.c.locked_until <= now)
    stmt = (update(T).where(T.c.key == key,
                            or_(T.c.locked_until.is_(None), T.c.locked_until <= now),
                            or_(T.c.failures < limit, expired))
            .values(failures=case((expired, 1), else_=T.c.failures + 1),
                    locked_until=case((expired, None), else_=T.c.locked_until)))
    return session.execute(stmt).rowcount == 1


def lock_if_full(session: Session, key: str, limit: int, until: float, now: float) -> bool:
    """Lock `key` until `until` if its failures reached `limit` (True if this call locked)."""
    stmt = (update(T).where(T.c.key == key, T.c.failures >= limit,
                            or_(T.c.locked_until.is_(None), T.c.locked_until <= now))
            .values(locked_until=until, failures=0))
    return session.execute(stmt).rowcount == 1


def clear(session: Session, key: str) -> None:
    """A right password: forget the failures of `key` (its lock too)."""
    session.execute(update(T).where(T.c.key == key).values(failures=0, locked_until=None))


def release(session: Session, key: str) -> None:
    """Give back one reservation of `key` (the attempt did not fail)."""
    session.execute(update(T).where(T.c.key == key, T.c.failures > 0)
                    .values(failures=T.c.failures - 1))


def clear_account(session: Session, user_key: str) -> int:
    """Lift every lock and count of an account, from every address (admin unlock)."""
    prefix = account_key(user_key, "")
    return session.execute(delete(T).where(T.c.key.startswith(prefix, autoescape=True))
                           ).rowcount


def locked_until(session: Session, user_key: str, now: float) -> float | None:
    """The latest lock on an account from any address, if one is in force."""
    prefix = account_key(user_key, "")
    value = session.execute(select(T.c.locked_until).where(
        T.c.key.startswith(prefix, autoescape=True), T.c.locked_until > now)
        .order_by(T.c.locked_until.desc()).limit(1)).scalar()
    return None if value is None else float(value)
