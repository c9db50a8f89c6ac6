"""Service settings, passed to `create_app` and read by endpoints through `Depends`."""

from __future__ import annotations

import secrets

from pydantic import BaseModel, Field

from citywatch.store.db import DEFAULT_URL

__all__ = ["Settings"]


class Settings(BaseModel):
    """How the service runs.

    Attributes
    ----------
    db_url
        SQLAlchemy URL (SQLite file by default; ``postgresql+psycopg://...`` works too).
    secret_key
        Key signing access tokens; a random one per process unless given (tokens then
        end when the server restarts).
    token_minutes
        Lifetime of an access token.
    max_failed_logins, lockout_minutes
        An account is locked for `lockout_minutes` after this many failed logins in a row.
    workers
        Threads running plan, roster and simulation jobs (the event loop never runs them).
    max_simulated_attacks
        Upper bound on simulated attacks one request may ask for.
    builtin_london
        Load the embedded London scenario on start-up when it is not stored yet.
    """

    db_url: str = DEFAULT_URL
    secret_key: str = Field(default_factory=lambda: secrets.token_urlsafe(32))
    token_minutes: int = 30
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    workers: int = 2
    max_simulated_attacks: int = 200_000
    builtin_london: bool = True
