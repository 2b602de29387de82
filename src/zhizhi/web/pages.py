"""The pages (页面): server-rendered shells (Jinja2) that fetch everything from the API with small
scripts. Every page but ``/login`` needs a signed-in browser session (the ``zz_session`` cookie);
without one it redirects to ``/login?next=<page>``. The page carries the session's CSRF token for
the scripts' changes; what a user sees and may do is decided by the API (scope, permissions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from zhizhi.auth import service as auth_service
from zhizhi.core.access import Actor, has_permission, permission_table, scope_of
from zhizhi.core.http import SESSION_COOKIE, get_session
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
    def handler(request: Request, session: Session = Depends(get_session)) -> Response:
        found = _signed_in(request, session)
        if found is None:
            return _to_login(request)
        return _render(request, template, page, found, **extra)

    return handler


router.add_api_route("/screen", _page("screen.html", "screen"), methods=["GET"], name="screen")
router.add_api_route("/console", _page("console.html", "console"), methods=["GET"], name="console")
router.add_api_route("/m", _page("m.html", "m"), methods=["GET"], name="mobile")


@router.get("/login", name="login")
def login(request: Request, next: str | None = None, session: Session = Depends(get_session)) -> Response:
    """The sign-in form; a signed-in user goes straight on to ``next`` or their home page."""
    found = _signed_in(request, session)
    if found is not None:
        return RedirectResponse(safe_next(next) or home_of(found[0].role), status_code=303)
    return _render(request, "login.html", "login", None, next=safe_next(next) or "")


@router.get("/console/events/{event_id}", name="console_event")
def console_event(
    request: Request,
    event_id: int = PathParam(ge=1, le=2**31 - 1),
    session: Session = Depends(get_session),
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
    session: Session = Depends(get_session),
) -> Response:
    """One event on the phone page (same script as the console, narrow layout)."""
    found = _signed_in(request, session)
    if found is None:
        return _to_login(request)
    return _render(request, "event.html", "console", found, event_id=event_id, layout="m")
