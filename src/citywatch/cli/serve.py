"""`citywatch serve` (the web service) and `citywatch audit verify` (the audit chain)."""

from __future__ import annotations

import os
from typing import Any

import typer

from citywatch.cli._common import console, fail
from citywatch.errors import require

__all__ = ["ADMIN_PASSWORD_ENV", "SECRET_KEY_ENV", "app", "serve", "verify"]

DEFAULT_DB = "sqlite:///citywatch.db"
#: Environment variable holding the first admin's password (else it is prompted for).
ADMIN_PASSWORD_ENV = "CITYWATCH_ADMIN_PASSWORD"
#: Environment variable holding the service's secret (else the key file).
SECRET_KEY_ENV = "CITYWATCH_SECRET_KEY"

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _settings(db: str, key_file: str | None, **more: object) -> Any:
    """The service settings: the secret from ${SECRET_KEY_ENV}, else the key file."""
    from citywatch.web.settings import Settings

    return Settings(db_url=db, secret_key=os.environ.get(SECRET_KEY_ENV) or None,
                    key_file=key_file, **more)


def _chain(settings: Any, *, create: bool = True) -> Any:
    from citywatch.errors import ConfigError
    from citywatch.store.audit import AuditChain
    from citywatch.store.keys import load_keys
    from citywatch.web.app import checkpoint_file, key_file

    try:
        keys = load_keys(settings.secret_key, key_file(settings), create=create)
    except ConfigError as err:
        fail(str(err))
    return AuditChain(keys.audit, checkpoint_file(settings))


def _init_admin(db: str, name: str, key_file: str | None) -> None:
    from citywatch.store import append_audit, connect, seal, session_factory
    from citywatch.web.security import create_user

    password = os.environ.get(ADMIN_PASSWORD_ENV)
    if not password:
        password = typer.prompt(f"Password for admin {name!r}", hide_input=True,
                                confirmation_prompt=True)
    chain = _chain(_settings(db, key_file))
    engine = connect(db)
    try:
        with session_factory(engine, chain)() as session:
            seal(session, chain)
            try:
                create_user(session, name, password, "admin")
            except ValueError as err:
                fail(f"`--init-admin`: {err}")
            append_audit(session, actor="cli", action="user.create", target=f"user/{name}",
                         source="local", detail={"role": "admin"})
            session.commit()
    finally:
        engine.dispose()
    console.print(f"admin {name!r} created")


def serve(
    host: str = typer.Option("127.0.0.1", help="Address to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="Port to listen on."),
    db: str = typer.Option(DEFAULT_DB, help="Database URL (SQLite file or PostgreSQL)."),
    key_file: str | None = typer.Option(
        None, help=f"File holding the service's secret (made once, mode 0600) when "
                   f"${SECRET_KEY_ENV} is not set; default: beside the SQLite file."),
    init_admin: str | None = typer.Option(
        None, help=f"Create this admin user first (password from ${ADMIN_PASSWORD_ENV} or "
                   "a prompt)."),
    init_only: bool = typer.Option(False, help="Only migrate the database (and create the "
                                               "admin); do not start the server."),
    workers: int = typer.Option(2, min=1, max=64, help="Threads for solver jobs "
                                                        "(in the process running jobs)."),
    processes: int = typer.Option(1, min=1, max=32, help="Server processes (uvicorn "
                                  "workers); they share one key and elect one job runner."),
    docs: bool = typer.Option(False, help="Serve /docs and /openapi.json (Swagger's assets "
                                          "come from a CDN)."),
) -> None:
    """Run the CityWatch web service and dashboard (migrates the database first)."""
    require("fastapi", "web")
    require("uvicorn", "web")
    from citywatch.errors import ConfigError
    from citywatch.store import connect

    connect(db).dispose()  # migrate before anything else
    if init_admin:
        _init_admin(db, init_admin, key_file)
    if init_only:
        console.print(f"database ready: {db}")
        return
    import uvicorn

    from citywatch.web.app import SETTINGS_ENV, create_app

    settings = _settings(db, key_file, workers=workers, docs=docs,
                         jobs="inline" if processes == 1 else "elected")
    try:
        # the first start makes the key file, seals the log and stores London, once,
        # before any worker process starts
        application = create_app(settings if processes == 1 else
                                 settings.model_copy(update={"jobs": "off"}))
    except ConfigError as err:
        fail(str(err))
    console.print(f"CityWatch on http://{host}:{port}/  (OFFICIAL-SENSITIVE, "
                  f"{processes} process{'es' if processes > 1 else ''})")
    if processes == 1:
        uvicorn.run(application, host=host, port=port, log_level="info")
        return
    application.state.engine.dispose()
    os.environ[SETTINGS_ENV] = settings.model_dump_json(exclude={"secret_key"})
    uvicorn.run("citywatch.web.app:create_app_from_env", factory=True, host=host, port=port,
                workers=processes, log_level="info")


@app.command()
def verify(db: str = typer.Option(DEFAULT_DB, help="Database URL."),
           key_file: str | None = typer.Option(
               None, help=f"The service's key file (when ${SECRET_KEY_ENV} is not set).")
           ) -> None:
    """Check the audit chain's MACs, head and signed checkpoints: exit 0 if intact, 1
    listing each problem, 2 if there is no database or key to check."""
    require("sqlalchemy", "web")
    from sqlalchemy import inspect
    from sqlalchemy.exc import SQLAlchemyError

    from citywatch.store import connect, read_session_factory, verify_audit
    from citywatch.store.db import sqlite_path

    path = sqlite_path(db)
    if path is not None and not path.is_file():
        fail(f"`--db`: no database at {path}")
    chain = _chain(_settings(db, key_file), create=False)
    try:
        engine = connect(db, upgrade=False)
        try:
            if "audit_log" not in inspect(engine).get_table_names():
                fail(f"`--db`: {db} is not a CityWatch database (no audit_log table)")
            with read_session_factory(engine, chain)() as session:
                check = verify_audit(session)
        finally:
            engine.dispose()
    except SQLAlchemyError as err:
        fail(f"`--db`: cannot read {db}: {str(err).splitlines()[0]}")
    if check.ok:
        console.print(f"audit log intact: {check.records} records, "
                      f"{check.checkpoints} signed checkpoints")
        return
    for problem in check.problems:
        console.print(f"[red]{problem}[/]")
    console.print(f"audit log TAMPERED: {len(check.problems)} problem(s) in "
                  f"{check.records} records")
    raise typer.Exit(1)
