"""`citywatch serve` (the web service) and `citywatch audit verify` (the audit chain)."""

from __future__ import annotations

import os

import typer

from citywatch.cli._common import console, fail
from citywatch.errors import require

__all__ = ["ADMIN_PASSWORD_ENV", "SECRET_KEY_ENV", "app", "serve", "verify"]

DEFAULT_DB = "sqlite:///citywatch.db"
#: Environment variable holding the first admin's password (else it is prompted for).
ADMIN_PASSWORD_ENV = "CITYWATCH_ADMIN_PASSWORD"
#: Environment variable holding the token signing key (else a random key per start).
SECRET_KEY_ENV = "CITYWATCH_SECRET_KEY"

app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)


def _init_admin(db: str, name: str) -> None:
    from sqlalchemy import select

    from citywatch.store import append_audit, connect, session_factory
    from citywatch.store.models import User
    from citywatch.web.security import create_user

    password = os.environ.get(ADMIN_PASSWORD_ENV)
    if not password:
        password = typer.prompt(f"Password for admin {name!r}", hide_input=True,
                                confirmation_prompt=True)
    engine = connect(db)
    try:
        with session_factory(engine)() as session:
            if session.execute(select(User).where(User.name == name)).first():
                fail(f"`--init-admin`: user {name!r} exists already")
            try:
                create_user(session, name, password, "admin")
            except ValueError as err:
                fail(str(err))
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
    init_admin: str | None = typer.Option(
        None, help=f"Create this admin user first (password from ${ADMIN_PASSWORD_ENV} or "
                   "a prompt)."),
    init_only: bool = typer.Option(False, help="Only migrate the database (and create the "
                                               "admin); do not start the server."),
    workers: int = typer.Option(2, min=1, max=64, help="Threads for solver jobs."),
) -> None:
    """Run the CityWatch web service and dashboard (migrates the database first)."""
    require("fastapi", "web")
    require("uvicorn", "web")
    from citywatch.store import connect

    connect(db).dispose()  # migrate before anything else
    if init_admin:
        _init_admin(db, init_admin)
    if init_only:
        console.print(f"database ready: {db}")
        return
    import uvicorn

    from citywatch.web import Settings, create_app

    settings = Settings(db_url=db, workers=workers)
    if os.environ.get(SECRET_KEY_ENV):
        settings = settings.model_copy(update={"secret_key": os.environ[SECRET_KEY_ENV]})
    console.print(f"CityWatch on http://{host}:{port}/  (OFFICIAL-SENSITIVE)")
    uvicorn.run(create_app(settings), host=host, port=port, log_level="info")


@app.command()
def verify(db: str = typer.Option(DEFAULT_DB, help="Database URL.")) -> None:
    """Re-hash the audit chain: exit 0 if intact, 1 listing each edited or deleted record."""
    require("sqlalchemy", "web")
    from citywatch.store import connect, session_factory, verify_audit

    engine = connect(db)
    try:
        with session_factory(engine)() as session:
            check = verify_audit(session)
    finally:
        engine.dispose()
    if check.ok:
        console.print(f"audit log intact: {check.records} records")
        return
    for problem in check.problems:
        console.print(f"[red]{problem}[/]")
    console.print(f"audit log TAMPERED: {len(check.problems)} problem(s) in "
                  f"{check.records} records")
    raise typer.Exit(1)
