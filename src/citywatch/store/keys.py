"""The service's secret: one key kept outside the database, from which the token-signing
key and the audit MAC key are derived.

The secret comes from ``$CITYWATCH_SECRET_KEY`` (or `Settings.secret_key`) when given, and
then must be strong (at least 32 characters, not repetitive); otherwise from a key file,
generated once with 32 random bytes and permissions 0600 (created with ``O_EXCL``, so
several processes starting together agree on one key). A key file that others can read
is refused. Each purpose gets its own key, ``HMAC-SHA256(secret, purpose)``, so a leaked
token key does not let anyone forge audit records.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from citywatch.errors import ConfigError

__all__ = ["SECRET_KEY_ENV", "Keys", "check_secret", "default_key_file", "load_keys"]

#: Environment variable holding the service's secret.
SECRET_KEY_ENV = "CITYWATCH_SECRET_KEY"
_MIN_CHARS = 32


def check_secret(secret: str, origin: str) -> None:
    """ConfigError unless `secret` is long and varied enough to resist guessing."""
    if len(secret) < _MIN_CHARS:
        msg = (f"`{origin}` is too weak: {len(secret)} characters, at least {_MIN_CHARS} "
               "needed (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)")
        raise ConfigError(msg)
    if len(set(secret)) < 12:
        msg = f"`{origin}` is too weak: only {len(set(secret))} distinct characters"
        raise ConfigError(msg)


def default_key_file(db_url: str) -> Path:
    """Where the key file lives by default: beside a SQLite file, else ./citywatch.key."""
    from citywatch.store.db import sqlite_path

    path = sqlite_path(db_url)
    return Path(f"{path}.key") if path is not None else Path("citywatch.key")


def _read_key_file(path: Path) -> str:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        msg = (f"`key file` {path} is readable by others (mode {stat.S_IMODE(mode):o}): "
               f"run `chmod 600 {path}`")
        raise ConfigError(msg)
    secret = path.read_text(encoding="utf-8").strip()
    check_secret(secret, f"key file {path}")
    return secret


def _create_key_file(path: Path) -> str:
    secret = secrets.token_urlsafe(32)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return _read_key_file(path)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(secret + "\n")
        f.flush()
        os.fsync(f.fileno())
    return secret


class Keys:
    """The derived keys: `token` signs access tokens, `audit` MACs the audit chain."""

    def __init__(self, secret: str) -> None:
        raw = secret.encode()
        self.token = hmac.new(raw, b"citywatch token v1", hashlib.sha256).hexdigest()
        self.audit = hmac.new(raw, b"citywatch audit v1", hashlib.sha256).digest()


def load_keys(secret: str | None, key_file: Path, *, create: bool = True) -> Keys:
    """The service's keys from `secret`, else from `key_file` (made once when `create`).

    Raises
    ------
    ConfigError
        A weak secret, a key file others can read, or no key file when `create` is False.
    """
    if secret:
        check_secret(secret, SECRET_KEY_ENV)
        return Keys(secret)
    if key_file.exists():
        return Keys(_read_key_file(key_file))
    if not create:
        msg = (f"`key file` {key_file} does not exist and ${SECRET_KEY_ENV} is not set: "
               "the audit chain cannot be checked without the service's key")
        raise ConfigError(msg)
    return Keys(_create_key_file(key_file))
