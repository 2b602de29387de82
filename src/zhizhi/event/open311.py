"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) so civic-reporting clients work
unchanged: services = catalogue leaves, requests = events. Formats ``.json`` and ``.xml``.

Status mapping: ``closed`` for 结案/评价/不予受理/合并 events, ``open`` otherwise. Errors use the
GeoReport error list (``[{"code": 400, "description": "…"}]``) with the HTTP status, since that is
what GeoReport clients parse.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.errors import ZhizhiError
from zhizhi.core.http import get_session
from zhizhi.event import service
from zhizhi.event.models import Event
from zhizhi.event.rules import DONE_NODES
from zhizhi.event.schemas import EventCreate

router = APIRouter(prefix="/open311/v2", tags=["open311"])


def _fmt(fmt: str) -> str:
    if fmt not in {"json", "xml"}:
        raise ZhizhiError(f'format must be json or xml, not "{fmt}"', status=404, title="Not found")
    return fmt


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
    return {"service_code": leaf.code, "service_name": leaf.name, "description": "；".join(leaf.register_conditions),
            "metadata": "false", "type": "realtime", "keywords": leaf.name, "group": leaf.group_name}


@router.get("/services.{fmt}")
def services(fmt: str) -> Response:
    """All service types (= category leaves)."""
    fmt = _fmt(fmt)
    return _out(fmt, "services", "service", [_service_row(leaf) for leaf in service.catalogue().leaves()])


@router.get("/services/{code}.{fmt}")
def service_definition(code: str, fmt: str) -> Response:
    """Definition of one service: no extra attributes are required."""
    fmt = _fmt(fmt)
    try:
        service.catalogue().leaf(code)
    except Exception:
        return _error(fmt, 404, f'unknown service_code "{code}"')
    if fmt == "xml":
        return Response(f'<?xml version="1.0" encoding="utf-8"?><service_definition><service_code>{escape(code)}'
                        "</service_code><attributes></attributes></service_definition>", media_type="text/xml")
    return JSONResponse({"service_code": code, "attributes": []})


def _request_row(ev: Event) -> dict[str, Any]:
    try:
        name = service.catalogue().leaf(ev.category_code).name
    except Exception:
        name = ev.category_code
    return {
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


@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request, session: Session = Depends(get_session)) -> Response:
    """Create a service request from a form-encoded body (service_code, lat, long or address_string,
    description, first_name, last_name, phone, email, device_id, account_id). 201 once stored."""
    fmt = _fmt(fmt)
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
    if lat is None or lon is None:
        return _error(fmt, 400, "lat and long are required: addresses alone cannot be placed yet")
    desc = f.get("description", "")
    name = " ".join(x for x in (f.get("last_name", ""), f.get("first_name", "")) if x) or None
    try:
        data = EventCreate(source="open311", category_code=f["service_code"], title=(desc or f["service_code"])[:60],
                           description=desc, lon=lon, lat=lat, address=f.get("address_string") or None,
                           reporter_name=name, reporter_phone=f.get("phone") or None,
                           reporter_ref=f.get("account_id") or f.get("device_id") or f.get("email") or None)
        ev = service.create_event(session, None, data)
        session.commit()
    except ZhizhiError as e:
        session.rollback()
        return _error(fmt, 400 if e.status == 422 else e.status, e.detail)
    except ValueError as e:
        session.rollback()
        return _error(fmt, 400, str(e).splitlines()[0][:300])
    return _out(fmt, "service_requests", "request",
                [{"service_request_id": str(ev.id), "service_notice": "已受理登记，请留意处理进度", "account_id": None}],
                201)


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
    fmt = _fmt(fmt)
    q = select(Event).where(Event.is_drill.is_(False))
    try:
        if service_request_id:
            ids = [int(x) for x in service_request_id.split(",") if x.strip()]
            q = q.where(Event.id.in_(ids))
        else:
            if service_code:
                q = q.where(Event.category_code.in_(service_code.split(",")))
            if start_date:
                q = q.where(Event.reported_at >= _parse_dt(start_date, "start_date"))
            if end_date:
                q = q.where(Event.reported_at <= _parse_dt(end_date, "end_date"))
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
    rows = session.scalars(q.order_by(Event.reported_at.desc()).limit(1000)).all()
    return _out(fmt, "service_requests", "request", [_request_row(e) for e in rows])


@router.get("/requests/{request_id}.{fmt}")
def get_request(request_id: str, fmt: str, session: Session = Depends(get_session)) -> Response:
    """One service request (as a one-element list, per GeoReport v2)."""
    fmt = _fmt(fmt)
    ev = session.get(Event, int(request_id)) if request_id.isdigit() else None
    if ev is None or ev.is_drill:
        return _error(fmt, 404, f'service request "{request_id}" not found')
    return _out(fmt, "service_requests", "request", [_request_row(ev)])
