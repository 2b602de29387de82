"""The web + API application: ``create_app()`` builds the engine and mounts every domain's router."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import HTMLResponse
from sqlalchemy.engine import Engine

from zhizhi import __version__
from zhizhi.core.config import get_settings
from zhizhi.core.db import get_engine, session_scope, write_lock
from zhizhi.core.http import install_actor_resolver, install_problem_handlers, problem_response
from zhizhi.event import api as event_api
from zhizhi.event import open311
from zhizhi.event import service as event_service
from zhizhi.event import tasks as event_tasks
from zhizhi.ops import api as ops_api
from zhizhi.org import api as org_api

log = logging.getLogger("zhizhi")


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
    with write_lock(engine), session_scope(engine) as s:
        event_tasks.sweep(s)


def create_app(engine: Engine | None = None) -> FastAPI:
    """Build the FastAPI app on ``engine`` (default: the configured database). The SLA sweep runs in
    the background every ``ZHIZHI_SWEEP_INTERVAL_S`` seconds (0 turns it off)."""
    engine = engine or get_engine()
    every = get_settings().sweep_interval_s

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        task = asyncio.create_task(_sweep_forever(engine, every)) if every > 0 else None
        yield
        if task is not None:
            task.cancel()

    app = FastAPI(
        lifespan=lifespan,
        title="zhizhi 智治",
        version=__version__,
        description="District digital governance: the event closed loop (闭环), KPIs, Open311.",
    )
    app.state.engine = engine
    install_actor_resolver(event_service.actor_for)
    install_problem_handlers(app)
    limit = get_settings().max_body_bytes

    @app.middleware("http")
    async def _guard(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > limit):
            return problem_response(413, f"request body larger than {limit} bytes")
        response = await call_next(request)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        return response

    for r in (org_api.router, event_api.router, ops_api.router, open311.router):
        app.include_router(r)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> str:
        return INDEX

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app


INDEX = """<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>智治 zhizhi</title>
<style>body{font-family:sans-serif;max-width:46rem;margin:3rem auto;line-height:1.6;color:#1b2733}</style>
<h1>智治 zhizhi</h1>
<p>区级数字化城市运行和治理平台 · district digital-governance platform (永川区 500118).</p>
<ul><li><a href="/docs">API 文档 /docs</a> (OpenAPI)</li>
<li><a href="/api/v1/org/stats">组织统计 /api/v1/org/stats</a></li>
<li><a href="/api/v1/categories">事件分类 /api/v1/categories</a></li>
<li><a href="/open311/v2/services.json">Open311 GeoReport v2</a></li></ul>
<p>Town, village and grid boundaries are <b>generated approximations</b> (no public boundaries exist);
replayed citizen messages are real text and timings placed on generated locations.</p></html>"""
