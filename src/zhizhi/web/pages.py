"""The pages (页面): server-rendered shells (Jinja2) that fetch everything from the API with small
scripts. Every page but ``/login`` needs a signed-in browser session (the ``zz_session`` cookie);
without one it redirects to ``/login?next=<page>``. The page carries the session's CSRF token for
the scripts' changes; what a user sees and may do is decided by the API (scope, permissions)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhizhi.auth import service as auth_service
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, has_permission, permission_table, scope_of
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
    t = i18n.messages(page)
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
router.add_api_route("/m", _page("m.html", "m"), methods=["GET"], name="mobile")
router.add_api_route("/console/kpis", _page("kpis.html", "kpis"), methods=["GET"], name="kpis")


@router.get("/fire", name="fire")
def fire(
    request: Request, date: str | None = None, session: Session = Depends(get_session, scope="function")
) -> Response:
    """The fire page (森林防火): ``?date=YYYY-MM-DD`` (default today)."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    outcomes = [{"key": k, "name": v} for k, v in i18n.messages("fire")["outcome"].items()]
    data = {
        "date": day_param(date),
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
    """One event in the duty console (its data comes from ``GET /api/v1/events/{id}``)."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    return _render(request, "event.html", "console", found, event_id=event_id, layout="console")


@router.get("/m/events/{event_id}", name="mobile_event")
def mobile_event(
    request: Request,
    event_id: int = PathParam(ge=1, le=2**31 - 1),
    session: Session = Depends(get_session, scope="function"),
) -> Response:
    """One event on the phone page (same script as the console, narrow layout)."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    return _render(request, "event.html", "console", found, event_id=event_id, layout="m")
