"""`create_app(settings)`: the FastAPI application, its routers, error handlers and dashboard."""

from __future__ import annotations

from collections.abc import AsyncIterator
from concurrent.futures import Executor, ThreadPoolExecutor
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from citywatch.errors import (
    CityWatchError,
    GameError,
    RosterError,
    ScenarioError,
    SolverError,
    TravelTimeError,
)
from citywatch.store.audit import AuditChain, seal
from citywatch.store.batch import AuditBatcher
from citywatch.store.db import connect, read_session_factory, session_factory, with_retry
from citywatch.store.keys import default_key_file, load_keys
from citywatch.web import services
from citywatch.web.deps import authorize
from citywatch.web.guard import RequestGuard
from citywatch.web.jobs import JobRunner
from citywatch.web.routers import audit, auth, maps, plans, rosters, scenarios, users
from citywatch.web.schemas import MARKING
from citywatch.web.security import PUBLIC, HashSlots, allow
from citywatch.web.settings import Settings

__all__ = ["SETTINGS_ENV", "checkpoint_file", "create_app", "create_app_from_env", "key_file"]

#: Environment variable through which `citywatch serve --processes` hands each worker
#: process its settings (JSON, without the secret, which comes from the key file or
#: ``$CITYWATCH_SECRET_KEY``).
SETTINGS_ENV = "CITYWATCH_SETTINGS_JSON"

DESCRIPTION = f"""**{MARKING}**

CityWatch planning service: scenarios, randomised armed-patrol plans (Stackelberg
security games), rosters, simulations and what-ifs, with role-based access and a
hash-chained audit log. Sign in with `POST /api/auth/token` and send the token as
`Authorization: Bearer <token>`. Every endpoint denies by default; each lists the
roles it allows.
"""


def _problem_detail(err: CityWatchError) -> list[dict[str, object]] | str:
    problems = getattr(err, "problems", None)
    if problems:
        return [{"loc": [p.file] + ([p.row] if p.row is not None else []) + [p.field],
                 "msg": str(p), "input": repr(p.value)[:200], "expected": p.expected}
                for p in problems]
    return str(err)


def key_file(settings: Settings) -> Path:
    """The key file the settings name, or the default one for their database."""
    return Path(settings.key_file) if settings.key_file else default_key_file(settings.db_url)


def checkpoint_file(settings: Settings) -> Path:
    """The audit checkpoint file: as set, else beside the key file."""
    if settings.checkpoint_file:
        return Path(settings.checkpoint_file)
    key = key_file(settings)
    return key.with_name(key.name.removesuffix(".key") + ".audit-checkpoints")


def create_app(settings: Settings | None = None, *, executor: Executor | None = None
               ) -> FastAPI:
    """The CityWatch web application.

    Parameters
    ----------
    settings
        Database, key, limits and worker settings (`Settings` defaults when None).
    executor
        Pool running solver work; a thread pool of ``settings.workers`` when None
        (tests may pass their own).

    Raises
    ------
    ConfigError
        A weak secret key, or a key file others can read.
    """
    settings = settings or Settings()
    keys = load_keys(settings.secret_key, key_file(settings))
    chain = AuditChain(keys.audit, checkpoint_file(settings))
    engine = connect(settings.db_url)
    sessions = session_factory(engine, chain)
    own_pool = executor is None
    pool = executor or ThreadPoolExecutor(settings.workers, thread_name_prefix="citywatch")

    runner: JobRunner | None = None

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if runner is not None:
            runner.start()
        yield
        if runner is not None:
            runner.stop()
        app.state.audit_batcher.close()
        if own_pool:
            pool.shutdown(wait=False, cancel_futures=True)
        engine.dispose()

    docs = {} if settings.docs else {"docs_url": None, "redoc_url": None, "openapi_url": None}
    app = FastAPI(title="CityWatch", version="0.1.0", description=DESCRIPTION,
                  lifespan=lifespan, dependencies=[Depends(authorize)], **docs)
    app.state.settings = settings
    app.state.engine = engine
    app.state.sessions = sessions
    app.state.read_sessions = read_session_factory(engine, chain)
    app.state.audit_chain = chain
    app.state.audit_batcher = AuditBatcher(sessions)
    app.state.token_key = keys.token
    app.state.hash_slots = HashSlots(settings.login_hash_concurrency)
    app.state.executor = pool
    app.state.finished_plans = services.EncodedCache()
    app.state.plans = services.PlanCache()
    app.add_middleware(RequestGuard, state=app.state)
    with_retry(sessions, lambda s: seal(s, chain))
    if settings.builtin_london:
        services.ensure_london(sessions)
    if settings.jobs == "inline":
        services.resume_jobs(sessions, pool.submit, app.state.plans)
    elif settings.jobs == "elected":
        lock = key_file(settings).with_suffix(".jobs.lock")
        runner = JobRunner(lock, sessions, app.state.read_sessions, pool.submit,
                           cache=app.state.plans)
    app.state.job_runner = runner

    for router in (auth.router, users.router, scenarios.router, plans.router,
                   rosters.router, audit.router, maps.router):
        app.include_router(router)

    status = {ScenarioError: 422, GameError: 422, TravelTimeError: 422, RosterError: 409,
              SolverError: 409}

    @app.exception_handler(CityWatchError)
    async def domain_error(_request: Request, err: CityWatchError) -> JSONResponse:
        code = next((c for cls, c in status.items() if isinstance(err, cls)), 400)
        return JSONResponse({"detail": _problem_detail(err)}, status_code=code)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, err: RequestValidationError) -> JSONResponse:
        detail = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""),
                   "type": e.get("type", "")} for e in err.errors()]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.get("/api/health", tags=["meta"])
    @allow(PUBLIC)
    def health() -> dict[str, str]:
        """Liveness probe."""
        return {"status": "ok", "marking": MARKING}

    static = resources.files("citywatch.web") / "static"

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    @allow(PUBLIC)
    def dashboard() -> HTMLResponse:
        """The dashboard page."""
        html = (static / "index.html").read_text(encoding="utf-8")
        return HTMLResponse(html, headers={"X-Protective-Marking": MARKING,
                                           "Cache-Control": "no-store"})

    app.mount("/static", StaticFiles(packages=[("citywatch.web", "static")]), name="static")
    return app


def create_app_from_env() -> FastAPI:
    """The app with the settings in ``$CITYWATCH_SETTINGS_JSON`` (a uvicorn factory for
    worker processes)."""
    import os

    from citywatch.store.keys import SECRET_KEY_ENV

    settings = Settings.model_validate_json(os.environ[SETTINGS_ENV])
    secret = os.environ.get(SECRET_KEY_ENV)
    if secret:
        settings = settings.model_copy(update={"secret_key": secret})
    return create_app(settings)
