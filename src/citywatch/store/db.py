"""Engines, sessions and migrations: SQLite (WAL) by default, PostgreSQL with the same code."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from citywatch.errors import require

require("sqlalchemy", "web")

from sqlalchemy import Engine, create_engine, event  # noqa: E402
from sqlalchemy.orm import Session, sessionmaker  # noqa: E402

__all__ = ["DEFAULT_URL", "connect", "migrate", "session_factory"]

#: The database used when none is given: a SQLite file in the working directory.
DEFAULT_URL = "sqlite:///citywatch.db"
MIGRATIONS = Path(__file__).with_name("migrations")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cur = dbapi_connection.cursor()
    # WAL: readers never block the writer; FULL: a committed transaction survives a
    # crash of the process (and of the machine).
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def connect(url: str = DEFAULT_URL, *, upgrade: bool = True) -> Engine:
    """An engine for `url`, migrated to the latest schema unless `upgrade` is False.

    SQLite files get WAL mode, full synchronous commits, foreign keys and a busy
    timeout on every connection.
    """
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 10})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        engine = create_engine(url, pool_pre_ping=True)
    if upgrade:
        migrate(engine)
    return engine


def migrate(engine: Engine, *, revision: str = "head") -> None:
    """Run the packaged Alembic migrations up to `revision`."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions bound to `engine` that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
