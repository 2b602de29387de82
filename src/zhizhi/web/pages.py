"""The pages (页面): server-rendered shells (Jinja2) that fetch everything from the API with small
scripts. Every page but ``/login`` needs a signed-in browser session (the ``zz_session`` cookie);
without one it redirects to ``/login?next=<page>``. The page carries the session's CSRF token for
the scripts' changes; what a user sees and may do is decided by the API (scope, permissions)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from datetime import date as date_type
from pathlib import Path
from typing import Any, cast

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from zhizhi.auth import service as auth_service
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, has_permission, permission_table, scope_of
from zhizhi.core.config import get_settings
from zhizhi.core.http import SESSION_COOKIE, get_session
from zhizhi.form import service as forms
from zhizhi.registry import service as registers
from zhizhi.web import i18n

HERE = Path(__file__).parent
STATIC_DIR = HERE / "static"
TEMPLATES = Jinja2Templates(directory=str(HERE / "templates"))
# tojson keeps Chinese as is (half the bytes of \uXXXX escapes); it still escapes < > & '
TEMPLATES.env.policies["json.dumps_kwargs"] = {"sort_keys": True, "ensure_ascii": False}
i18n.check_all()

router = APIRouter(include_in_schema=False)

# Scripts come from this server only (no inline script); ECharts and the pages set inline styles.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'self'"
)
HOME_BY_ROLE = {"grid_worker": "/m", "grid_leader": "/m", "leader": "/screen"}


def home_of(role: str) -> str:
    """Where a user lands after signing in: grid staff the phone page, leaders the big screen,
    everyone else the duty console."""
    return HOME_BY_ROLE.get(role, "/console")


def safe_next(target: str | None) -> str | None:
    """``target`` when it is a path on this site (``/…``, not ``//host`` or ``/\\host``), else None:
    the sign-in page never redirects elsewhere."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return None
    if any(ch in target for ch in "\r\n\t\\") or len(target) > 500:
        return None
    return target


def _signed_in(request: Request, session: Session) -> tuple[Actor, str] | None:
    cookie = request.cookies.get(SESSION_COOKIE)
    return auth_service.session_actor(session, cookie) if cookie else None


def _to_login(request: Request) -> RedirectResponse:
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?next={_quote(here)}", status_code=303)


def _quote(s: str) -> str:
    from urllib.parse import quote

    return quote(s, safe="/")


def _me(actor: Actor) -> dict[str, Any]:
    """What the scripts know of the user (as ``GET /api/v1/auth/me``): name, role, unit, scope and
    permissions, to show only the controls that will work; the API checks every call anyway."""
    table = permission_table()
    spec = table.roles.get(actor.role)
    try:
        sc = scope_of(actor)
        scope = {"kind": sc.kind, "code": sc.code}
    except ValueError:
        scope = None
    return {
        "name": actor.name,
        "role": actor.role,
        "role_label": spec.label if spec else actor.role,
        "unit_code": actor.unit_code,
        "district_code": actor.district_code,
        "town_code": actor.town_code,
        "scope": scope,
        "permissions": sorted(p for p in table.permissions if has_permission(actor, p)),
    }


def _render(
    request: Request, template: str, page: str, found: tuple[Actor, str] | None, **extra: Any
) -> Response:
    t = extra.pop("t", None) or i18n.messages(page)
    me = _me(found[0]) if found else None
    response = TEMPLATES.TemplateResponse(
        request,
        template,
        {
            "t": t,
            "page": page,
            "me": me,
            "csrf": found[1] if found else "",
            **extra,
        },
    )
    response.headers["Cache-Control"] = "no-store"  # the page carries the session's CSRF token
    response.headers["Content-Security-Policy"] = CSP
    return response


def _page(template: str, page: str, **extra: Any) -> Any:
    def handler(request: Request, session: Session = Depends(get_session, scope="function")) -> Response:
        found = _signed_in(request, session)
        if found is None:
            return _to_login(request)
        return _render(request, template, page, found, **extra)

    return handler


def _paths(routes: Any, prefix: str = "") -> Iterator[tuple[str, set[str]]]:
    """``(path, methods)`` of every API route, walking routers included into others (FastAPI keeps an
    included router as one entry holding the original router and the include's prefix)."""
    for r in routes:
        if isinstance(r, APIRoute):
            yield prefix + r.path, set(r.methods or ())
        elif hasattr(r, "original_router"):
            ctx = getattr(r, "include_context", None)
            yield from _paths(r.original_router.routes, prefix + (getattr(ctx, "prefix", "") or ""))


def has_route(request: Request, path: str, method: str = "GET") -> bool:
    """Whether this application serves ``method path`` (a route another part of the platform may add
    later: the pages use it when it is there and say so when it is not)."""
    return any(p == path and method in m for p, m in _paths(request.app.routes))


def day_param(text: str | None) -> str | None:
    """``text`` when it is a date YYYY-MM-DD from 2000-01-01 to today (北京时间), else None: a bad
    ``?as_of=`` or ``?date=`` in the address bar falls back to today instead of an error page."""
    if not text:
        return None
    try:
        d = date.fromisoformat(text)
    except ValueError:
        return None
    return d.isoformat() if date(2000, 1, 1) <= d <= ztime.to_local(ztime.utcnow()).date() else None


FIRE_RESOURCES = "/api/v1/fire/resources/geojson"
FIRE_NEAREST = "/api/v1/fire/events/{event_id}/nearest"
FIRE_BULLETIN = "/api/v1/fire/bulletin"


@router.get("/screen", name="screen")
def screen(
    request: Request, as_of: str | None = None, session: Session = Depends(get_session, scope="function")
) -> Response:
    """The big screen; ``?as_of=YYYY-MM-DD`` replays a past day (its figures as at the day's end)."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    data = {"as_of": day_param(as_of), "resources": has_route(request, FIRE_RESOURCES)}
    return _render(request, "screen.html", "screen", found, page_data=data)


router.add_api_route("/console", _page("console.html", "console"), methods=["GET"], name="console")
PHOTO_HEADROOM = 100_000
"""Bytes of a request body left for the multipart envelope when the phone page states its photo
limit: the limit shown (and checked before upload) is ``max_body_bytes`` less this, rounded down to
0.1 MB (4.9 MB with the default 5,000,000)."""


def photo_limit() -> dict[str, Any]:
    """The largest photo the server takes, as the pages state it: ``max_photo_bytes`` (bytes, the
    request-body limit less :data:`PHOTO_HEADROOM`, rounded down to 0.1 MB, at least 0.1 MB) and
    ``max_photo_mb`` (text, e.g. ``"4.9"``)."""
    tenths = max(1, (get_settings().max_body_bytes - PHOTO_HEADROOM) // 100_000)
    return {"max_photo_bytes": tenths * 100_000, "max_photo_mb": f"{tenths / 10:g}"}


@router.get("/m", name="mobile")
def mobile(request: Request, session: Session = Depends(get_session, scope="function")) -> Response:
    """The grid worker's phone page; it states the largest photo the server takes (``page_data``:
    ``max_photo_bytes``, ``max_photo_mb``) and checks a photo against it before reporting."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    data = photo_limit()
    return _render(request, "m.html", "m", found, page_data=data)


router.add_api_route("/console/kpis", _page("kpis.html", "kpis"), methods=["GET"], name="kpis")


@router.get("/fire", name="fire")
def fire(
    request: Request, date: str | None = None, session: Session = Depends(get_session, scope="function")
) -> Response:
    """The fire page (森林防火): ``?date=YYYY-MM-DD`` (default today for the hotspots; the danger
    ratings of the latest rated day in the user's scope, ``latest_rated``, when none is given:
    fire.service.latest_rated_day, as ``zhizhi fire ratings``, which the application hands over as
    ``app.state.fire_latest_rated_day``: the web layer imports no scenario)."""
    latest_rated_day: Callable[[Session, Any], date_type | None] | None = getattr(
        request.app.state, "fire_latest_rated_day", None
    )
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    outcomes = [{"key": k, "name": v} for k, v in i18n.messages("fire")["outcome"].items()]
    latest = None
    if latest_rated_day is not None and has_permission(found[0], "fire.read"):
        latest = latest_rated_day(session, found[0])
    data = {
        "date": day_param(date),
        "latest_rated": latest.isoformat() if latest else None,
        "outcomes": outcomes,
        "resources": has_route(request, FIRE_RESOURCES),
        "nearest": has_route(request, FIRE_NEAREST),
        "bulletin": has_route(request, FIRE_BULLETIN),
    }
    return _render(request, "fire.html", "fire", found, page_data=data)


@router.get("/registry", name="registry")
def registry(request: Request, session: Session = Depends(get_session, scope="function")) -> Response:
    """The 一表通 pages: register browser (masked), form catalogue and download, import how-to."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    labels = forms.context().tags
    visible = registers.visible_tags(found[0]) if has_permission(found[0], "registry.read") else []
    codes = list(labels) if visible is None else [c for c in labels if c in visible]
    data = {"tags": [{"code": c, "label": labels[c]} for c in codes]}
    return _render(request, "registry.html", "registry", found, page_data=data)


@router.get("/login", name="login")
def login(
    request: Request, next: str | None = None, session: Session = Depends(get_session, scope="function")
) -> Response:
    """The sign-in form; a signed-in user goes straight on to ``next`` or their home page."""
    found = _signed_in(request, session)
    if found is not None:
        return RedirectResponse(safe_next(next) or home_of(found[0].role), status_code=303)
    return _render(request, "login.html", "login", None, next=safe_next(next) or "")


@router.get("/console/events/{event_id}", name="console_event")
def console_event(
    request: Request,
    event_id: int = PathParam(ge=1, le=2**31 - 1),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """One event in the duty console (its data comes from ``GET /api/v1/events/{id}``); 404 with a
    Chinese page (事件不存在或不在您的管辖范围) for an event outside the user's scope."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    return _event_page(request, session, found, event_id, layout="console")


def _event_page(
    request: Request, session: Session, found: tuple[Actor, str], event_id: int, **extra: Any
) -> Response:
    """The event page, or — when the event does not exist or is outside the user's scope (the same
    check as ``GET /api/v1/events/{id}``) — the page's "not found" state with status 404 and no
    empty sections. ``page_data`` states the largest photo the server takes (as on the phone page)."""
    from zhizhi.core.errors import NotFound
    from zhizhi.event import service as events

    try:
        events.get_event(session, found[0], event_id)
        missing = False
    except NotFound:
        missing = True
    data = photo_limit()
    response = _render(
        request, "event.html", "console", found, event_id=event_id, missing=missing, page_data=data, **extra
    )
    if missing:
        response.status_code = 404
    return response


@router.get("/m/events/{event_id}", name="mobile_event")
def mobile_event(
    request: Request,
    event_id: int = PathParam(ge=1, le=2**31 - 1),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """One event on the phone page (same script as the console, narrow layout; the menu and the
    window title say 网格员, not 值班台, and the back link leads to the phone page, not the queue)."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    t = i18n.messages("console")
    t = {**t, "title": i18n.messages("m")["title"], "event": {**t["event"], "back": t["nav"]["back_mobile"]}}
    return _event_page(request, session, found, event_id, layout="m", nav="m", t=t)


NOT_PAGES = ("/api/", "/open311/", "/static/", "/openapi.json", "/healthz")
"""Address prefixes that are not pages: their errors stay problem details (JSON)."""


def wants_page(request: Request) -> bool:
    """Whether an error for ``request`` should be an HTML page: a GET or HEAD of an address outside
    :data:`NOT_PAGES` from a client that does not ask for JSON only (a browser sends
    ``Accept: text/html…``; ``Accept: application/json`` keeps the problem details)."""
    if request.method not in ("GET", "HEAD") or request.url.path.startswith(NOT_PAGES):
        return False
    accept = request.headers.get("accept", "").lower()
    return "text/html" in accept or "json" not in accept


def not_found_page(request: Request) -> Response:
    """The Chinese 404 page (页面不存在) for an unknown page address, with a link home (``/login``
    leads a signed-in user on to their home page)."""
    common = i18n.messages("login")
    t = {**common, "title": common["not_found"]["title"]}
    response = TEMPLATES.TemplateResponse(
        request, "not_found.html", {"t": t, "page": "not_found", "me": None, "csrf": ""}, status_code=404
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Content-Security-Policy"] = CSP
    return response


def install_not_found_page(app: FastAPI) -> None:
    """Answer an unknown page address (``/kpis``) or a malformed one (``/m/events/abc``) with the
    404 page instead of problem JSON; API addresses (``/api/…``, ``/open311/…``) and clients asking
    for JSON keep the problem details. Call after ``install_problem_handlers``: it wraps them."""
    handlers: dict[Any, Any] = app.exception_handlers
    http_handler = handlers[StarletteHTTPException]
    validation_handler = handlers[RequestValidationError]

    async def on_http(request: Request, exc: Exception) -> Response:
        if isinstance(exc, StarletteHTTPException) and exc.status_code == 404 and wants_page(request):
            return not_found_page(request)
        return cast(Response, await http_handler(request, exc))

    async def on_validation(request: Request, exc: Exception) -> Response:
        if wants_page(request):
            return not_found_page(request)
        return cast(Response, await validation_handler(request, exc))

    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(RequestValidationError, on_validation)
