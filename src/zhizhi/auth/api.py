"""Sign-in API (登录): a browser session in an HttpOnly cookie with a CSRF token."""

from __future__ import annotations

import dataclasses
import math
import threading
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.auth import rules, service
from zhizhi.core import audit
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, Scope, has_permission, permission_table, scope_of
from zhizhi.core.errors import TooManyRequests, Unauthorized
from zhizhi.core.http import SESSION_COOKIE, client_key, current_actor, get_session, permit
from zhizhi.org.models import Staff

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=200)


def _me(actor: Actor) -> dict[str, Any]:
    """The caller, with the permissions it may use (its role's, narrowed by a token's scopes) and
    its data scope, so pages show only the buttons and filters that will work."""
    table = permission_table()
    spec = table.roles.get(actor.role)
    try:
        sc: Scope | None = scope_of(actor)
    except ValueError:
        sc = None
    return {
        "username": actor.username,
        "name": actor.name,
        "role": actor.role,
        "role_label": spec.label if spec else actor.role,
        "unit_code": actor.unit_code,
        "district_code": actor.district_code,
        "town_code": actor.town_code,
        "permissions": sorted(p for p in table.permissions if has_permission(actor, p)),
        "scope": {"kind": sc.kind, "code": sc.code} if sc else None,
    }


@router.post("/login")
def login(
    data: LoginIn,
    request: Request,
    response: Response,
    session: Session = Depends(get_session, scope="function"),
) -> dict[str, Any]:
    """Sign in. Sets the ``zz_session`` cookie (HttpOnly, SameSite=Strict); the body carries the CSRF
    token to send as ``X-CSRF-Token`` on every change. 401 with one message for any failure, but for
    a locked name: 401 with code ``auth.locked`` and ``params.minutes`` left (see
    :func:`_locked_until`)."""
    client = request.client.host if request.client else None
    wait = request.app.state.login_limiter.retry_after(client_key(request))
    if wait:
        raise TooManyRequests(
            f"too many sign-in attempts from this address; try again in {wait:.0f} s",
            extra={"retry_after": round(wait)},
        )
    try:
        actor = service.authenticate(session, data.username, data.password)
    except Exception as failed:
        # keep the failure count and its audit row even though the request fails
        audit.record(
            session,
            # as typed, but printable: a NUL or a line break must not break or forge the log
            actor="".join(ch if ch.isprintable() else "\ufffd" for ch in data.username[:64]) or "\ufffd",
            actor_role="unknown",
            action=audit.Action.login_failed,
            client=client,
        )
        session.commit()
        if isinstance(failed, Unauthorized):
            now = ztime.utcnow()
            until = _locked_until(session, data.username, now)
            if until is not None:
                minutes = max(1, math.ceil((until - now).total_seconds() / 60))
                raise Unauthorized(
                    f"the account is locked after repeated failed sign-ins; try again in {minutes} min",
                    extra={"params": {"minutes": minutes}},
                    code="auth.locked",
                ) from None
        raise
    audit.record(
        session, actor=actor.username, actor_role=actor.role, action=audit.Action.login, client=client
    )
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


_SHADOW: dict[str, tuple[int, datetime | None]] = {}
_SHADOW_LOCK = threading.Lock()


def _locked_until(session: Session, username: str, now: datetime) -> datetime | None:
    """Until when (UTC) the sign-in name ``username`` is locked after a failed attempt, None when it
    is not: what ``POST /login`` tells the user (problem code ``auth.locked``) instead of the one
    failure message.

    An account's lock is its own (:func:`service.authenticate` keeps count in the database). A name
    without a usable account (unknown, disabled, no password) locks the same way, counted in this
    process: every name locks after :data:`rules.MAX_FAILURES` failures in a row with the same
    back-off, so "locked" tells no one which names exist."""
    staff = (
        session.scalar(select(Staff).where(Staff.username == username))
        if service.USERNAME.fullmatch(username)
        else None
    )
    if staff is not None and staff.active and staff.password_hash is not None:
        until = staff.locked_until
        return until if until is not None and now < until else None
    with _SHADOW_LOCK:
        count, until = _SHADOW.get(username, (0, None))
        if until is None or now >= until:  # like an account: no count while locked
            count += 1
            lock = rules.lock_for(count)
            until = now + lock if lock else None
            if len(_SHADOW) > 10_000:
                _SHADOW.clear()
            _SHADOW[username] = (count, until)
    return until if until is not None and now < until else None


@router.post("/logout", status_code=204)
def logout(
    request: Request,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(current_actor),
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


audit_router = APIRouter(prefix="/api/v1/audit", tags=["audit"])


def _auditor(actor: Actor = Depends(permit("audit.read"))) -> Actor:
    return actor


@audit_router.get("")
def list_audit(
    actor: str | None = None,
    action: str | None = None,
    object_type: str | None = None,
    object_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    before_id: int | None = Query(None, ge=1, le=2**31 - 1),
    limit: int = Query(100, ge=1, le=1000),
    session: Session = Depends(get_session, scope="function"),
    _: Actor = Depends(_auditor),
) -> dict[str, Any]:
    """Audit rows, newest first (auditors only); next page: ``before_id`` = ``next_before_id``.
    Naive times are 北京时间."""
    rows = audit.search(
        session,
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        since=ztime.to_utc(since) if since else None,
        until=ztime.to_utc(until) if until else None,
        before_id=before_id,
        limit=limit,
    )
    return {
        "items": [{**r.fields(), "prev_hash": r.prev_hash, "hash": r.hash} for r in rows],
        "next_before_id": rows[-1].id if len(rows) == limit else None,
    }


@audit_router.get("/verify")
def verify_audit(
    anchor: str | None = Query(None, pattern=r"^\d+:[0-9a-f]{64}$"),
    session: Session = Depends(get_session, scope="function"),
    _: Actor = Depends(_auditor),
) -> dict[str, Any]:
    """Recompute the hash chain (about 10 s per million rows) and name the first bad row."""
    pin = (int(anchor.split(":")[0]), anchor.split(":")[1]) if anchor else None
    return dataclasses.asdict(audit.verify(session, anchor=pin))
