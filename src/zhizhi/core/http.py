"""HTTP plumbing shared by the routers: one database session per request, the acting user, and the
RFC 9457 problem-details handlers. Imports no domain: ``app.py`` installs the actor resolver."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhizhi.core.access import Actor
from zhizhi.core.db import session_factory, write_lock
from zhizhi.core.errors import FieldError, InvalidInput, Unauthorized, ZhizhiError

PROBLEM = "application/problem+json"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACTOR_TTL_S = 30.0
_actors: dict[tuple[str, str], tuple[float, Actor]] = {}
ActorResolver = Callable[[Session, str], Actor]
_resolver: dict[str, ActorResolver] = {}


def install_actor_resolver(fn: ActorResolver) -> None:
    """Set how a username becomes an :class:`Actor` (done once by ``create_app``)."""
    _resolver["fn"] = fn


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit when the handler returns, roll back on any error.

    Requests that may write (not GET/HEAD/OPTIONS) hold the SQLite write lock (core.db.write_lock)."""
    engine = request.app.state.engine
    guard = write_lock(engine) if request.method not in SAFE_METHODS else nullcontext()
    with guard:
        session = session_factory(engine)()
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()


def _resolve(engine: Engine, username: str) -> Actor:
    session = session_factory(engine)()
    try:
        return _resolver["fn"](session, username)
    finally:
        session.close()


async def current_actor(request: Request, x_zhizhi_user: str | None = Header(default=None)) -> Actor:
    """The acting staff member named by the ``X-Zhizhi-User`` header.

    Interim identity until accounts, sessions and tokens land (issue 3): it trusts the header, so
    run the server on loopback only. Raises 401 when it is missing or unknown. Lookups are cached
    for :data:`ACTOR_TTL_S` seconds (a disabled user is refused at most that much later).
    """
    if not x_zhizhi_user:
        raise Unauthorized("missing X-Zhizhi-User header naming the acting staff member")
    engine = request.app.state.engine
    key = (str(engine.url), x_zhizhi_user)
    hit = _actors.get(key)
    now = time.monotonic()
    if hit is not None and now - hit[0] < ACTOR_TTL_S:
        return hit[1]
    try:
        actor = await run_in_threadpool(_resolve, engine, x_zhizhi_user)
    except ZhizhiError:
        raise Unauthorized("unknown or disabled user") from None
    if len(_actors) > 10_000:
        _actors.clear()
    _actors[key] = (now, actor)
    return actor


def _problem(exc: ZhizhiError, request: Request) -> JSONResponse:
    return JSONResponse(exc.problem(str(request.url.path)), status_code=exc.status, media_type=PROBLEM)


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error an RFC 9457 problem: ours, validation errors, HTTP errors, and anything else
    (500 without a stack trace)."""

    @app.exception_handler(ZhizhiError)
    async def _zhizhi(request: Request, exc: ZhizhiError) -> JSONResponse:
        return _problem(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = []
        for e in exc.errors():
            loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
            errs.append(FieldError(".".join(loc) or "body", str(e.get("msg", "invalid"))))
        detail = "; ".join(f"{fe.field}: {fe.reason}" for fe in errs) or "invalid request"
        return _problem(InvalidInput(detail, errs), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large"}
        err = ZhizhiError(str(exc.detail), status=exc.status_code, title=titles.get(exc.status_code, "Error"))
        return _problem(err, request)

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - last resort
        import logging

        logging.getLogger("zhizhi").exception("unhandled error on %s", request.url.path)
        err = ZhizhiError("internal error; it has been logged", status=500, title="Internal error")
        return _problem(err, request)


def problem_response(status: int, detail: str, **extra: Any) -> JSONResponse:
    """A problem-details response built by hand (middleware)."""
    return JSONResponse(
        {"type": "about:blank", "title": "Error", "status": status, "detail": detail, **extra},
        status_code=status,
        media_type=PROBLEM,
    )
