"""HTTP plumbing shared by the routers: one database session per request, the acting user, and the
RFC 9457 problem-details handlers. Imports no domain: ``app.py`` installs the actor resolver."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import nullcontext
from typing import Any

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhizhi.core.access import Actor, require
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_factory, session_scope, write_lock
from zhizhi.core.errors import FieldError, Forbidden, InvalidInput, Unauthorized, ZhizhiError

PROBLEM = "application/problem+json"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
ACTOR_TTL_S = 5.0
_actors: dict[tuple[str, str], tuple[float, Actor]] = {}
ActorResolver = Callable[[Session, str], Actor]
_resolver: dict[str, Callable[[Session, str], Any]] = {}


def install_actor_resolver(
    fn: ActorResolver,
    token: Callable[[Session, str], Actor | None] | None = None,
    session: Callable[[Session, str], tuple[Actor, str] | None] | None = None,
) -> None:
    """Set how a request's credentials become an :class:`Actor` (done once by ``create_app``):
    ``fn`` resolves a username (the trusted header, dev/test only), ``token`` a bearer token,
    ``session`` a session cookie (returning the actor and the session's CSRF token)."""
    _resolver["fn"] = fn
    if token is not None:
        _resolver["token"] = token
    if session is not None:
        _resolver["session"] = session  # type: ignore[assignment]


def get_session(request: Request) -> Iterator[Session]:
    """One session per request: commit when the handler returns, roll back on any error. Routes use
    it as ``Depends(get_session, scope="function")`` so the commit happens BEFORE the response is
    sent (FastAPI's default for a yield dependency ends it after the response: a client could get
    200 for a write that then fails to commit).

    Requests that may write (not GET/HEAD/OPTIONS) hold the SQLite write lock (core.db.write_lock)."""
    engine = request.app.state.engine
    guard = write_lock(engine) if request.method not in SAFE_METHODS else nullcontext()
    with guard, session_scope(engine) as session:
        yield session


def _resolve(engine: Engine, kind: str, credential: str) -> Any:
    session = session_factory(engine)()
    try:
        return _resolver[kind](session, credential)
    finally:
        session.close()


SESSION_COOKIE = "zz_session"
CSRF_HEADER = "X-CSRF-Token"


async def current_actor(
    request: Request,
    authorization: str | None = Header(default=None),
    x_zhizhi_user: str | None = Header(default=None),
) -> Actor:
    """The acting user, from (in this order) ``Authorization: Bearer <token>``, the session cookie
    (``zz_session``; changes must echo the session's CSRF token in ``X-CSRF-Token``), or — only when
    ``ZHIZHI_TRUST_USER_HEADER`` is on (development and tests) — the ``X-Zhizhi-User`` header.
    Raises 401 without credentials or with bad ones (one message: nothing to learn from it), 403
    for a missing or wrong CSRF token. Lookups are cached for a few seconds (:data:`ACTOR_TTL_S`)."""
    engine = request.app.state.engine
    now = time.monotonic()
    if authorization:
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise Unauthorized("use Authorization: Bearer <token>")
        key = (str(engine.url), "token:" + secret.strip())
        hit = _actors.get(key)
        if hit is not None and now - hit[0] < ACTOR_TTL_S:
            return hit[1]
        actor = await run_in_threadpool(_resolve, engine, "token", secret.strip())
        if actor is None:
            raise Unauthorized("invalid, expired or revoked token")
        _remember(key, now, actor)
        return actor
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and "session" in _resolver:
        found = await run_in_threadpool(_resolve, engine, "session", cookie)
        if found is None:
            raise Unauthorized("the session has ended; sign in again")
        actor, csrf = found
        if request.method not in SAFE_METHODS and request.headers.get(CSRF_HEADER) != csrf:
            raise Forbidden(f"missing or wrong {CSRF_HEADER} header")
        return actor
    if x_zhizhi_user and get_settings().trust_user_header:
        key = (str(engine.url), "user:" + x_zhizhi_user)
        hit = _actors.get(key)
        if hit is not None and now - hit[0] < ACTOR_TTL_S:
            return hit[1]
        try:
            actor = await run_in_threadpool(_resolve, engine, "fn", x_zhizhi_user)
        except ZhizhiError:
            raise Unauthorized("unknown or disabled user") from None
        _remember(key, now, actor)
        return actor
    raise Unauthorized("sign in (POST /api/v1/auth/login) or send Authorization: Bearer <token>")


def _remember(key: tuple[str, str], now: float, actor: Actor) -> None:
    if len(_actors) > 10_000:
        _actors.clear()
    _actors[key] = (now, actor)


def _problem(exc: ZhizhiError, request: Request) -> JSONResponse:
    if request.url.path.startswith("/open311/"):
        # GeoReport v2 clients parse an error list, not a problem object
        return JSONResponse([{"code": exc.status, "description": exc.detail}], status_code=exc.status)
    headers = (
        {"Retry-After": str(max(1, int(exc.extra["retry_after"])))} if "retry_after" in exc.extra else None
    )
    return JSONResponse(
        exc.problem(str(request.url.path)), status_code=exc.status, media_type=PROBLEM, headers=headers
    )


def _field_errors(errors: Sequence[Any]) -> list[FieldError]:
    out = []
    for e in errors:
        if e.get("type") == "json_invalid":
            pos = e.get("ctx", {}).get("error", "")
            out.append(FieldError("body", f"malformed JSON ({pos})" if pos else "malformed JSON"))
            continue
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path", "header")]
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        out.append(FieldError(".".join(loc) or "body", msg))
    return out


def install_problem_handlers(app: FastAPI) -> None:
    """Make every error an RFC 9457 problem (a GeoReport error list under /open311): ours, validation
    errors, HTTP errors, database constraint and range errors, and anything else (500 without a
    stack trace)."""

    @app.exception_handler(ZhizhiError)
    async def _zhizhi(request: Request, exc: ZhizhiError) -> JSONResponse:
        return _problem(exc, request)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errs = _field_errors(exc.errors())
        detail = "; ".join(f"{fe.field}: {fe.reason}" for fe in errs) or "invalid request"
        return _problem(InvalidInput(detail, errs, code="validation"), request)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {404: "Not found", 405: "Method not allowed", 413: "Content too large"}
        err = ZhizhiError(str(exc.detail), status=exc.status_code, title=titles.get(exc.status_code, "Error"))
        return _problem(err, request)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        err = ZhizhiError(
            "the change conflicts with data stored meanwhile (a duplicate or a removed "
            "reference); reload and try again",
            status=409,
            title="Conflict",
        )
        return _problem(err, request)

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> JSONResponse:
        return _problem(InvalidInput("a number or date in the request is out of range"), request)

    @app.exception_handler(DataError)
    async def _data(request: Request, exc: DataError) -> JSONResponse:
        return _problem(InvalidInput("a value in the request is out of range for its field"), request)

    @app.exception_handler(Exception)
    async def _any(request: Request, exc: Exception) -> JSONResponse:  # pragma: no cover - last resort
        cause = exc.__cause__ or exc.__context__
        if isinstance(exc, StatementError) and isinstance(getattr(exc, "orig", None) or cause, OverflowError):
            return _problem(InvalidInput("a number or date in the request is out of range"), request)
        logging.getLogger("zhizhi").error(
            "unhandled %s on %s", type(exc).__name__, request.url.path, exc_info=exc
        )
        err = ZhizhiError("internal error; it has been logged", status=500, title="Internal error")
        return _problem(err, request)


def problem_response(status: int, detail: str, **extra: Any) -> JSONResponse:
    """A problem-details response built by hand (middleware)."""
    return JSONResponse(
        {"type": "about:blank", "title": "Error", "status": status, "detail": detail, **extra},
        status_code=status,
        media_type=PROBLEM,
    )


class BodyLimit:
    """ASGI middleware refusing request bodies over ``limit`` bytes with 413, whether the client
    declares a Content-Length or streams a chunked body (counted as it arrives)."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _send_413(scope, send, self.limit)
            return
        seen = 0
        too_big = False

        async def counted() -> dict[str, Any]:
            nonlocal seen, too_big
            message: dict[str, Any] = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    too_big = True
                    raise _TooLarge()
            return message

        started = False
        replaced = False

        async def guarded_send(message: dict[str, Any]) -> None:
            # the app may catch the overflow while reading the body and answer 400: answer 413 instead
            nonlocal started, replaced
            if message["type"] == "http.response.start":
                started = True
                if too_big:
                    replaced = True
                    await _send_413(scope, send, self.limit)
                    return
            if replaced:
                return
            await send(message)

        try:
            await self.app(scope, counted, guarded_send)
        except Exception:
            if too_big and not started:
                await _send_413(scope, send, self.limit)
            elif not too_big:
                raise


class _TooLarge(Exception):
    pass


async def _send_413(scope: dict[str, Any], send: Any, limit: int) -> None:
    path = scope.get("path", "")
    detail = f"request body larger than {limit} bytes"
    if path.startswith("/open311/"):
        body = json.dumps([{"code": 413, "description": detail}]).encode()
        ctype = b"application/json"
    else:
        body = json.dumps(
            {
                "type": "about:blank",
                "title": "Content too large",
                "status": 413,
                "detail": detail,
                "instance": path,
                "code": "request.too_large",
                "params": {"limit_bytes": limit},
            }
        ).encode()
        ctype = PROBLEM.encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per client address (限流): ``per_minute`` requests a minute on average, bursts up
    to ``burst``. In-process (one server process); behind a reverse proxy, limit there as well."""

    def __init__(self, per_minute: float, burst: int) -> None:
        self.rate = per_minute / 60.0
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}

    def retry_after(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``; returns 0 when allowed, else the seconds until the next token."""
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            if len(self._buckets) > 100_000:
                self._buckets.clear()
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate if self.rate > 0 else 3600.0


def client_key(request: Request) -> str:
    """The client address a request came from (the limiter's key)."""
    return request.client.host if request.client else "unknown"


def permit(permission: str) -> Callable[..., Awaitable[Actor]]:
    """A route dependency: the signed-in :class:`Actor` (see :func:`current_actor`) after checking it
    holds ``permission`` in the permission table (``core/data/permissions.yaml``) and, for a token
    with scopes, in its scopes. 401 without credentials, 403 without the permission. The returned
    callable carries ``.permission`` so the access-matrix test can read each route's rule."""

    async def dependency(actor: Actor = Depends(current_actor)) -> Actor:
        require(actor, permission)
        return actor

    dependency.permission = permission  # type: ignore[attr-defined]
    dependency.__name__ = f"permit_{permission.replace('.', '_')}"
    return dependency
