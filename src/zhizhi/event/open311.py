"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) so civic-reporting clients work
unchanged: services = catalogue leaves, requests = events. Formats ``.json`` and ``.xml``.

Status mapping: ``closed`` for 结案/评价/不予受理/合并 events, ``open`` otherwise. Errors use the
GeoReport error list (``[{"code": 400, "description": "…"}]``) with the HTTP status, since that is
what GeoReport clients parse.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.errors import ZhizhiError
from zhizhi.core.http import get_session
from zhizhi.event import service
from zhizhi.event.models import Event
from zhizhi.event.rules import DONE_NODES
from zhizhi.event.schemas import EventCreate

DEFAULT_WINDOW_DAYS = 90
"""GeoReport v2: without ``start_date`` the search covers the 90 days before ``end_date`` (or now)."""

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def _bad_format(fmt: str) -> Response | None:
    """A GeoReport 404 (as JSON, the format cannot be honoured) for a format other than json/xml."""
    if fmt in {"json", "xml"}:
        return None
    return _error("json", 404, f'format must be json or xml, not "{fmt}"')


def _xml(root: str, item: str, rows: list[dict[str, Any]]) -> str:
    parts = ['<?xml version="1.0" encoding="utf-8"?>', f"<{root}>"]
    for r in rows:
        parts.append(f"<{item}>")
        for k, v in r.items():
            if isinstance(v, list):
                v = ",".join(map(str, v))
            parts.append(f"<{k}>{'' if v is None else escape(str(v))}</{k}>")
        parts.append(f"</{item}>")
    parts.append(f"</{root}>")
    return "".join(parts)


def _out(fmt: str, root: str, item: str, rows: list[dict[str, Any]], status: int = 200) -> Response:
    if fmt == "xml":
        return Response(_xml(root, item, rows), status_code=status, media_type="text/xml; charset=utf-8")
    return JSONResponse(rows, status_code=status)


def _error(fmt: str, status: int, description: str) -> Response:
    return _out(fmt, "errors", "error", [{"code": status, "description": description}], status)


def _service_row(leaf: Any) -> dict[str, Any]:
    return {"service_code": leaf.code, "service_name": leaf.name,
            "description": "；".join(leaf.register_conditions), "metadata": "false", "type": "realtime",
            "keywords": leaf.name, "group": leaf.group_name}


@router.get("/services.{fmt}")
def services(fmt: str) -> Response:
    """All service types (= category leaves)."""
    if (bad := _bad_format(fmt)) is not None:
        return bad
    return _out(fmt, "services", "service", [_service_row(leaf) for leaf in service.catalogue().leaves()])


@router.get("/services/{code}.{fmt}")
def service_definition(code: str, fmt: str) -> Response:
    """Definition of one service: no extra attributes are required."""
    if (bad := _bad_format(fmt)) is not None:
        return bad
    try:
        service.catalogue().leaf(code)
    except Exception:
        return _error(fmt, 404, f'unknown service_code "{code}"')
    if fmt == "xml":
        return Response('<?xml version="1.0" encoding="utf-8"?><service_definition>'
                        f"<service_code>{escape(code)}</service_code><attributes></attributes>"
                        "</service_definition>", media_type="text/xml; charset=utf-8")
    return JSONResponse({"service_code": code, "attributes": []})


def _confidential_codes() -> list[str]:
    """Category leaves marked ``confidential`` (visible only to the handling chain, e.g. 举报)."""
    return [leaf.code for leaf in service.catalogue().leaves() if leaf.confidential]


def _request_row(ev: Event) -> dict[str, Any]:
    """One event as a GeoReport request. Reads are public: a confidential category keeps only its
    status and times (no text, place or handling unit)."""
    try:
        leaf = service.catalogue().leaf(ev.category_code)
        name, secret = leaf.name, bool(leaf.confidential)
    except Exception:
        name, secret = ev.category_code, False
    row = {
        "service_request_id": str(ev.id),
        "status": "closed" if ev.node in DONE_NODES else "open",
        "status_notes": ev.node,
        "service_name": name,
        "service_code": ev.category_code,
        "description": ev.description or ev.title,
        "agency_responsible": ev.unit_code or "",
        "service_notice": "",
        "requested_datetime": ztime.to_local(ev.reported_at).isoformat(),
        "updated_datetime": ztime.to_local(ev.node_entered_at).isoformat(),
        "expected_datetime": ztime.to_local(ev.node_deadline).isoformat() if ev.node_deadline else None,
        "address": ev.address or "",
        "address_id": "",
        "zipcode": "",
        "lat": ev.lat,
        "long": ev.lon,
        "media_url": "",
    }
    if secret:
        row.update(description="", agency_responsible="", address="", lat=None, long=None)
    return row


# EventCreate field → the GeoReport form field a client sent it as.
_FORM_NAME = {"category_code": "service_code", "lon": "long", "lat": "lat", "title": "description",
              "description": "description", "address": "address_string",
              "reporter_name": "first_name/last_name",
              "reporter_phone": "phone", "reporter_ref": "account_id/device_id/email"}


def _validation_text(e: ValidationError) -> str:
    """One line naming each bad form field, e.g. ``lat: Input should be less than or equal to 90``."""
    parts = []
    for err in e.errors():
        f = ".".join(str(p) for p in err["loc"])
        parts.append(f"{_FORM_NAME.get(f, f)}: {err['msg']}")
    return "; ".join(parts)[:500]


def _person_name(first: str, last: str) -> str | None:
    """The reporter's name from GeoReport first/last name: Chinese order without a space (王小明),
    else "first last"."""
    first, last = first.strip(), last.strip()
    if not (first or last):
        return None
    if not (first + last).isascii():
        return last + first
    return " ".join(x for x in (first, last) if x)


@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request, session: Session = Depends(get_session)) -> Response:
    """Create a service request from a form-encoded body (service_code, lat, long or address_string,
    description, first_name, last_name, phone, email, device_id, account_id). 201 once stored."""
    if (bad := _bad_format(fmt)) is not None:
        return bad
    try:
        form = await request.form()
    except Exception:
        return _error(fmt, 400, "body must be application/x-www-form-urlencoded or multipart/form-data")
    f = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    if not f.get("service_code"):
        return _error(fmt, 400, "service_code is required")
    if not (f.get("lat") and f.get("long")) and not f.get("address_string"):
        return _error(fmt, 400, "lat and long (or address_string with a location) are required")
    try:
        lat = float(f["lat"]) if f.get("lat") else None
        lon = float(f["long"]) if f.get("long") else None
    except ValueError:
        return _error(fmt, 400, "lat and long must be decimal degrees (WGS-84)")
    if not all(math.isfinite(v) for v in (lat, lon) if v is not None):
        return _error(fmt, 400, "lat and long must be finite decimal degrees (WGS-84)")
    if lat is None or lon is None:
        return _error(fmt, 400, "lat and long are required: addresses alone cannot be placed yet")
    desc = f.get("description", "")
    try:
        data = EventCreate(source="open311", category_code=f["service_code"],
                           title=desc.strip()[:60] or f["service_code"],
                           description=desc, lon=lon, lat=lat, address=f.get("address_string") or None,
                           reporter_name=_person_name(f.get("first_name", ""), f.get("last_name", "")),
                           reporter_phone=f.get("phone") or None,
                           reporter_ref=f.get("account_id") or f.get("device_id") or f.get("email") or None)
        ev = service.create_event(session, None, data)
        session.commit()
    except ValidationError as e:
        session.rollback()
        return _error(fmt, 400, _validation_text(e))
    except ZhizhiError as e:
        session.rollback()
        return _error(fmt, 400 if e.status == 422 else e.status, e.detail)
    except ValueError as e:
        session.rollback()
        return _error(fmt, 400, str(e).splitlines()[0][:300])
    ack = {"service_request_id": str(ev.id), "service_notice": "已受理登记，请留意处理进度",
           "account_id": None}
    return _out(fmt, "service_requests", "request", [ack], 201)


def _parse_dt(s: str, name: str) -> datetime:
    try:
        return ztime.to_utc(datetime.fromisoformat(s.replace("Z", "+00:00")))
    except ValueError:
        raise ZhizhiError(f"{name} must be an ISO 8601 date-time", status=400) from None


@router.get("/requests.{fmt}")
def get_requests(fmt: str, service_request_id: str | None = None, service_code: str | None = None,
                 start_date: str | None = None, end_date: str | None = None, status: str | None = None,
                 session: Session = Depends(get_session)) -> Response:
    """Service requests, newest first (at most 1,000; default the last 90 days as GeoReport says)."""
    if (bad := _bad_format(fmt)) is not None:
        return bad
    q = select(Event).where(Event.is_drill.is_(False))
    try:
        if service_request_id:
            ids = [int(x) for x in service_request_id.split(",") if x.strip()]
            q = q.where(Event.id.in_(ids))
        else:
            if service_code:
                q = q.where(Event.category_code.in_(service_code.split(",")))
            end = _parse_dt(end_date, "end_date") if end_date else None
            start = (_parse_dt(start_date, "start_date") if start_date
                     else (end or ztime.utcnow()) - timedelta(days=DEFAULT_WINDOW_DAYS))
            q = q.where(Event.reported_at >= start)
            if end is not None:
                q = q.where(Event.reported_at <= end)
            if status:
                sts = set(status.split(","))
                if not sts <= {"open", "closed"}:
                    return _error(fmt, 400, "status must be open or closed")
                done = [n.value for n in DONE_NODES]
                if sts == {"open"}:
                    q = q.where(Event.node.notin_(done))
                elif sts == {"closed"}:
                    q = q.where(Event.node.in_(done))
    except ValueError:
        return _error(fmt, 400, "service_request_id must be a comma-separated list of integers")
    except ZhizhiError as e:
        return _error(fmt, 400, e.detail)
    if not service_request_id:  # searches never list confidential matters
        q = q.where(Event.category_code.notin_(_confidential_codes()))
    rows = session.scalars(q.order_by(Event.reported_at.desc()).limit(1000)).all()
    return _out(fmt, "service_requests", "request", [_request_row(e) for e in rows])


@router.get("/requests/{request_id}.{fmt}")
def get_request(request_id: str, fmt: str, session: Session = Depends(get_session)) -> Response:
    """One service request (as a one-element list, per GeoReport v2)."""
    if (bad := _bad_format(fmt)) is not None:
        return bad
    ev = session.get(Event, int(request_id)) if request_id.isdigit() else None
    if ev is None or ev.is_drill:
        return _error(fmt, 404, f'service request "{request_id}" not found')
    return _out(fmt, "service_requests", "request", [_request_row(ev)])
