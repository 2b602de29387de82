"""The web + API application: ``create_app()`` builds the engine and mounts every domain's router."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import swagger_ui
from fastapi import FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from sqlalchemy.engine import Engine

from zhizhi import __version__, web
from zhizhi.auth import api as auth_api
from zhizhi.auth import service as auth_service
from zhizhi.core.access import install_log_masking, permission_table
from zhizhi.core.config import get_settings
from zhizhi.core.db import get_engine, session_scope, write_lock
from zhizhi.core.http import BodyLimit, RateLimiter, install_actor_resolver, install_problem_handlers
from zhizhi.event import api as event_api
from zhizhi.event import open311
from zhizhi.event import service as event_service
from zhizhi.event import tasks as event_tasks
from zhizhi.form import api as form_api
from zhizhi.ops import api as ops_api
from zhizhi.org import api as org_api
from zhizhi.registry import api as registry_api
from zhizhi.scenarios.fire import api as fire_api

log = logging.getLogger("zhizhi")
SWAGGER_DIR = Path(swagger_ui.__file__).parent / "static"


async def _sweep_forever(engine: Engine, every_s: float) -> None:
    """Run the SLA sweep every ``every_s`` seconds in a worker thread; a failed run is logged and the
    next one catches up (the sweep is idempotent)."""
    while True:
        try:
            await asyncio.to_thread(_sweep_once, engine)
        except Exception:  # pragma: no cover - logged, retried next period
            log.exception("SLA sweep failed; retrying in %s s", every_s)
        await asyncio.sleep(every_s)


def _sweep_once(engine: Engine) -> None:
    """One sweep, committed batch by batch; on SQLite the write lock is released between batches so
    requests are never held up for more than one batch."""
    lock = write_lock(engine)
    with session_scope(engine) as s:

        def between_batches() -> None:
            s.commit()
            lock.__exit__(None, None, None)
            # threading.Lock is not fair: without a pause this thread would take it straight back
            # and requests would wait for the whole sweep (seen as 5 s stalls in bench/api.py)
            time.sleep(0.02)
            lock.__enter__()

        with lock:
            event_tasks.sweep(s, between_batches=between_batches)
            s.commit()


def validate_policy_data() -> None:
    """Load and validate the policy data (permission table, category catalogue, message rules,
    pre-plans, ranking rule) so a bad edit stops the start with a message naming the file and field,
    not a later request."""
    from zhizhi.event.message_rules import load_message_rules
    from zhizhi.ops.service import scoring_rule

    permission_table()
    event_service.catalogue()
    load_message_rules()
    event_service.shipped_preplans()
    scoring_rule()


def create_app(engine: Engine | None = None) -> FastAPI:
    """Build the FastAPI app on ``engine`` (default: the configured database). The SLA sweep runs in
    the background every ``ZHIZHI_SWEEP_INTERVAL_S`` seconds (0 turns it off)."""
    engine = engine or get_engine()
    every = get_settings().sweep_interval_s
    validate_policy_data()

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweep_forever(engine, every)) if every > 0 else None
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        title="zhizhi 智治",
        version=__version__,
        description="District digital governance: the event closed loop (闭环), KPIs, Open311.",
    )
    app.state.engine = engine
    settings = get_settings()
    app.state.login_limiter = RateLimiter(settings.login_per_minute, burst=5)
    app.state.open311_limiter = RateLimiter(settings.open311_post_per_minute, burst=10)
    install_actor_resolver(
        auth_service.user_actor, token=auth_service.token_actor, session=auth_service.session_actor
    )
    install_problem_handlers(app)
    install_log_masking()  # no citizen ID or phone number in any log line

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    app.add_middleware(BodyLimit, limit=get_settings().max_body_bytes)

    for r in (
        auth_api.router,
        auth_api.audit_router,
        org_api.router,
        event_api.router,
        ops_api.router,
        open311.router,
        registry_api.router,
        form_api.router,
        fire_api.router,
        web.router,
    ):
        app.include_router(r)
    web.pages.install_not_found_page(app)  # unknown page addresses: a Chinese HTML 404, not JSON
    # what the web pages take from a scenario, handed to them here (web imports no scenario)
    app.state.fire_latest_rated_day = fire_api.service.latest_rated_day

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return INDEX

    # Swagger UI served from the installed swagger-ui-py package: no CDN (intranets are offline)
    app.mount("/static/swagger", StaticFiles(directory=SWAGGER_DIR), name="swagger")
    app.mount(web.STATIC_PATH, web.static_files(), name="web-static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="zhizhi 智治 API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/swagger/favicon-32x32.png",
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


INDEX = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>智治 zhizhi</title>
<style>body{font-family:sans-serif;max-width:46rem;margin:3rem auto;line-height:1.6;color:#1b2733}</style>
<h1>智治 zhizhi</h1>
<p>区级数字化城市运行和治理平台 · district digital-governance platform (永川区 500118).</p>
<ul><li><a href="/login">登录 sign in</a> → <a href="/screen">大屏 /screen</a>
· <a href="/console">值班台 /console</a> · <a href="/m">网格员 /m</a></li>
<li><a href="/docs">API 文档 /docs</a> (OpenAPI)</li>
<li><a href="/api/v1/org/stats">组织统计 /api/v1/org/stats</a></li>
<li><a href="/api/v1/categories">事件分类 /api/v1/categories</a></li>
<li><a href="/open311/v2/services.json">Open311 GeoReport v2</a></li></ul>
<p>Town, village and grid boundaries are <b>generated approximations</b> (no public boundaries exist);
replayed citizen messages are real text and timings placed on generated locations.</p></html>"""
