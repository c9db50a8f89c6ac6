"""Service settings, passed to `create_app` and read by endpoints through `Depends`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

from citywatch.store.db import DEFAULT_URL

__all__ = ["Settings"]


class Settings(BaseModel):
    """How the service runs.

    Attributes
    ----------
    db_url
        SQLAlchemy URL (SQLite file by default; ``postgresql+psycopg://...`` works too).
    secret_key
        The service's secret (tokens and the audit MAC derive their keys from it); at
        least 32 varied characters. None: read from `key_file`, generated there once.
    key_file
        File holding the secret (mode 0600); None: beside the SQLite file, else
        ``./citywatch.key``.
    checkpoint_file
        Append-only file of signed audit checkpoints; None: beside the key file.
    token_minutes
        Lifetime of an access token.
    max_failed_logins, lockout_minutes
        An account is locked, for the address trying it, for `lockout_minutes` after
        this many failed sign-ins in a row.
    max_failed_per_address
        Failed sign-ins (any account) after which an address is locked out.
    login_hash_concurrency
        Argon2 verifications at a time (64 MiB each).
    max_body_bytes, max_upload_bytes
        Largest request body of JSON endpoints and of the scenario upload.
    docs
        Serve ``/docs`` and ``/openapi.json`` (off by default; the Swagger page's
        assets would come from a CDN).
    workers
        Threads running plan, roster and simulation jobs (the event loop never runs them).
    jobs
        Who runs plan jobs: ``"inline"`` this process (submitted on creation, resumed on
        start); ``"elected"`` one of several processes, elected by a file lock
        (`citywatch serve --processes`); ``"off"`` none (plans stay queued).
    max_simulated_attacks
        Upper bound on simulated attacks one request may ask for.
    max_queued_plans
        Plans one planner may have queued or running at once.
    builtin_london
        Load the embedded London scenario on start-up when it is not stored yet.
    """

    db_url: str = DEFAULT_URL
    secret_key: str | None = None
    key_file: str | None = None
    checkpoint_file: str | None = None
    token_minutes: int = 30
    max_failed_logins: int = 5
    lockout_minutes: int = 15
    max_failed_per_address: int = 30
    login_hash_concurrency: int = 2
    max_body_bytes: int = 1_000_000
    max_upload_bytes: int = 20_000_000
    docs: bool = False
    workers: int = 2
    jobs: Literal["inline", "elected", "off"] = "inline"
    max_simulated_attacks: int = 200_000
    max_queued_plans: int = 4
    builtin_london: bool = True
