"""Store fixtures: every test runs on SQLite, and on PostgreSQL when one is configured.

CI (`.ci/run`) starts PostgreSQL and exports ``CITYWATCH_TEST_PG_URL``; on a machine
without it the PostgreSQL cases skip (CI sets ``CITYWATCH_REQUIRE_PG=1`` so they cannot).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

if os.environ.get("CITYWATCH_REQUIRE_PG"):
    import sqlalchemy  # noqa: F401  (CI: a missing web extra must fail, not skip)
else:
    pytest.importorskip("sqlalchemy")

from sqlalchemy import Engine, create_engine, text  # noqa: E402

from citywatch.store import connect  # noqa: E402

PG_URL = os.environ.get("CITYWATCH_TEST_PG_URL")


def _pg_database() -> Iterator[str]:
    if not PG_URL:
        if os.environ.get("CITYWATCH_REQUIRE_PG"):
            pytest.fail("CITYWATCH_REQUIRE_PG is set but CITYWATCH_TEST_PG_URL is not")
        pytest.skip("PostgreSQL not configured (set CITYWATCH_TEST_PG_URL)")
    name = f"cw_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    base = PG_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database URL on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store.db'}"
    else:
        yield from _pg_database()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """A migrated engine."""
    eng = connect(db_url)
    yield eng
    eng.dispose()
