"""Sign-in API (登录): a browser session in an HttpOnly cookie with a CSRF token."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from zhizhi.auth import rules, service
from zhizhi.core.access import Actor
from zhizhi.core.http import SESSION_COOKIE, current_actor, get_session

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


def _me(actor: Actor) -> dict[str, Any]:
    return {
        "username": actor.username,
        "name": actor.name,
        "role": actor.role,
        "unit_code": actor.unit_code,
        "district_code": actor.district_code,
        "town_code": actor.town_code,
    }


@router.post("/login")
def login(
    data: LoginIn, request: Request, response: Response, session: Session = Depends(get_session)
) -> dict[str, Any]:
    """Sign in. Sets the ``zz_session`` cookie (HttpOnly, SameSite=Strict); the body carries the CSRF
    token to send as ``X-CSRF-Token`` on every change. 401 with one message for any failure."""
    try:
        actor = service.authenticate(session, data.username, data.password)
    except Exception:
        session.commit()  # keep the failure count even though the request fails
        raise
    client = request.client.host if request.client else None
    new = service.start_session(session, actor, client)
    response.set_cookie(
        SESSION_COOKIE,
        new.secret,
        max_age=int(rules.SESSION_TTL.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/",
    )
    return {"user": _me(actor), "csrf_token": new.csrf_token, "expires_at": new.expires_at}


@router.post("/logout", status_code=204)
def logout(
    request: Request, session: Session = Depends(get_session), actor: Actor = Depends(current_actor)
) -> Response:
    """Sign out: the session is revoked and the cookie cleared."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        service.end_session(session, cookie)
    response = Response(status_code=204)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/me")
def me(actor: Actor = Depends(current_actor)) -> dict[str, Any]:
    """Who am I (the signed-in user or the token's owner)."""
    return _me(actor)
