"""Engines, sessions and migrations: SQLite (WAL) by default, PostgreSQL with the same code.

Writers are serialised the same way on both back ends. On SQLite every transaction of a
write session starts with ``BEGIN IMMEDIATE`` (it takes the write lock before it reads, so
two writers can never read the same state and then collide, and the busy timeout makes
the second one wait instead of failing); read sessions start a plain deferred ``BEGIN``
and never block a writer (WAL). On PostgreSQL the code that must serialise (the audit
chain, scenario versions) takes a lock explicitly (`lock_for_append`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from citywatch.errors import require

require("sqlalchemy", "web")

from sqlalchemy import Engine, create_engine, event, text  # noqa: E402
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

__all__ = ["DEFAULT_URL", "connect", "lock_for_append", "migrate", "read_session_factory",
           "session_factory", "sqlite_path", "with_retry"]

T = TypeVar("T")

#: The database used when none is given: a SQLite file in the working directory.
DEFAULT_URL = "sqlite:///citywatch.db"
MIGRATIONS = Path(__file__).with_name("migrations")
#: Execution option marking connections of read sessions (deferred BEGIN on SQLite).
_READ = "citywatch_read"
#: Connections each engine keeps (a request thread pool of 40 plus the job workers).
POOL_SIZE, POOL_OVERFLOW = 20, 30


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The driver must not open transactions itself: `_sqlite_begin` does, IMMEDIATE or not.
    dbapi_connection.isolation_level = None
    cur = dbapi_connection.cursor()
    # WAL: readers never block the writer; FULL: a committed transaction survives a
    # crash of the process (and of the machine).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


def _sqlite_begin(conn: Any) -> None:
    read = conn.get_execution_options().get(_READ, False)
    conn.exec_driver_sql("BEGIN" if read else "BEGIN IMMEDIATE")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None for other databases and in-memory SQLite)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    path = path.split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


def connect(url: str = DEFAULT_URL, *, upgrade: bool = True, pool_size: int = POOL_SIZE,
            max_overflow: int = POOL_OVERFLOW) -> Engine:
    """An engine for `url`, migrated to the latest schema unless `upgrade` is False.

    SQLite files get WAL mode, full synchronous commits, foreign keys, a busy timeout
    and ``BEGIN IMMEDIATE`` for write sessions on every connection. The pool holds
    `pool_size` connections (+ `max_overflow` in bursts) so that every request thread
    gets one without waiting on the pool.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30},
                               pool_size=pool_size, max_overflow=max_overflow,
                               pool_timeout=60)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
    else:
        engine = create_engine(url, pool_pre_ping=True, pool_size=pool_size,
                               max_overflow=max_overflow, pool_timeout=60)
    if upgrade:
        migrate(engine)
    return engine


def migrate(engine: Engine, *, revision: str = "head") -> None:
    """Run the packaged Alembic migrations up to `revision`.

    Several processes may start at once: on PostgreSQL an advisory lock makes the
    others wait for the first (on SQLite the IMMEDIATE transaction does).
    """
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def session_factory(engine: Engine, chain: Any = None) -> sessionmaker[Session]:
    """Write sessions bound to `engine` that keep loaded objects usable after commit.

    On SQLite their transactions take the write lock at once (``BEGIN IMMEDIATE``).
    `chain` (an `AuditChain`: key and checkpoint file) is what `append_audit` uses in
    these sessions.
    """
    return sessionmaker(engine, expire_on_commit=False, info={"audit_chain": chain})


def read_session_factory(engine: Engine, chain: Any = None) -> sessionmaker[Session]:
    """Sessions for reading only: on SQLite they never take the write lock.

    A read session must not write (on SQLite a write after a read may fail when
    another process wrote in between); audit records of reads go through a write session.
    `chain` is what `verify_audit` checks with in these sessions.
    """
    return sessionmaker(engine.execution_options(**{_READ: True}), expire_on_commit=False,
                        info={"audit_chain": chain})


def lock_for_append(session: Session, name: str) -> None:
    """Serialise appends to `name` across sessions and processes (until commit).

    PostgreSQL: a transaction-scoped advisory lock; SQLite: nothing more is needed, the
    write session's ``BEGIN IMMEDIATE`` already holds the database's write lock.
    """
    if session.get_bind().dialect.name == "postgresql":
        key = int.from_bytes(name.encode()[:7].ljust(7, b"\0"), "big")
        session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def _transient(err: DBAPIError) -> bool:
    msg = str(err.orig).lower() if err.orig is not None else str(err).lower()
    return any(s in msg for s in ("database is locked", "busy", "deadlock",
                                  "could not serialize", "unique", "duplicate key"))


def with_retry(sessions: sessionmaker[Session], work: Callable[[Session], T], *,
               attempts: int = 5) -> T:
    """Run `work(session)` in a fresh write session and commit, retrying on a conflict.

    A lost race (a lock timeout, a serialisation failure, a duplicate key) is retried
    with a short back-off; any other error, or the last conflict, propagates.
    """
    for attempt in range(attempts):
        try:
            with sessions() as session:
                result = work(session)
                session.commit()
                return result
        except (OperationalError, IntegrityError) as err:
            if attempt == attempts - 1 or not _transient(err):
                raise
            time.sleep(0.01 * 2 ** attempt)
    raise AssertionError("unreachable")
