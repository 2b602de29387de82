"""HTTP plumbing shared by the routers: one database session per request, the acting user, and the
RFC 9457 problem-details handlers. Imports no domain: ``app.py`` installs the actor resolver."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhizhi.core.access import Actor
from zhizhi.core.db import session_factory
from zhizhi.core.errors import FieldError, InvalidInput, Unauthorized, ZhizhiError

PROBLEM = "application/problem+json"
ActorResolver = Callable[[Session, str], Actor]
_resolver: dict[str, ActorResolver] = {}


def install_actor_resolver(fn: ActorResolver) -> None:
    """Set how a username becomes an :class:`Actor` (done once by ``create_app``)."""
    _resolver["fn"] = fn


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit when the handler returns, roll back on any error."""
    session = session_factory(request.app.state.engine)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def current_actor(request: Request, x_zhizhi_user: str | None = Header(default=None)) -> Actor:
    """The acting staff member named by the ``X-Zhizhi-User`` header.

    Interim identity until accounts, sessions and tokens land (issue 3): it trusts the header, so
    run the server on loopback only. Raises 401 when it is missing or unknown.
    """
    if not x_zhizhi_user:
        raise Unauthorized("missing X-Zhizhi-User header naming the acting staff member")
    session = session_factory(request.app.state.engine)()
    try:
        return _resolver["fn"](session, x_zhizhi_user)
    except ZhizhiError:
        raise Unauthorized("unknown or disabled user") from None
    finally:
        session.close()


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
