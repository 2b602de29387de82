"""Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) so civic-reporting clients work
unchanged: services = catalogue leaves, requests = events. Formats ``.json`` and ``.xml``.

Status mapping: ``closed`` for 结案/评价/不予受理/合并 events, ``open`` otherwise. Every error —
bad input, unknown paths and methods under the prefix, database conflicts, unexpected failures — is a
GeoReport error list (``[{"code": 400, "description": "…"}]``, XML ``<errors><error>…``) with the HTTP
status, since that is what GeoReport clients parse; the router's own route class guarantees it, so it
does not depend on the application's handlers. XML output is always well-formed: characters XML 1.0
forbids (C0 controls other than tab, newline, carriage return; U+FFFE, U+FFFF) are dropped from every
field, and new requests containing them are refused.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta
from typing import Any, Literal
from xml.sax.saxutils import escape

from fastapi import APIRouter, Depends, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy import BigInteger, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from zhizhi.core import time as ztime
from zhizhi.core.access import mask_text
from zhizhi.core.errors import ZhizhiError
from zhizhi.core.http import client_key, get_session
from zhizhi.event import service
from zhizhi.event.models import Event
from zhizhi.event.rules import DONE_NODES
from zhizhi.event.schemas import EventCreate

DEFAULT_WINDOW_DAYS = 90
"""GeoReport v2: without ``start_date`` the search covers the 90 days before ``end_date`` (or now)."""

MAX_ID = 2**63 - 1
"""Largest id a client may name (a signed 64-bit integer). Ids beyond what the ``event.id`` column
holds (2**31 - 1 for a PostgreSQL INTEGER) cannot exist and are never sent to the database."""

MAX_IDS = 1000
"""At most this many ids in one ``service_request_id`` list (a listing returns at most 1,000 rows)."""

DATE_YEARS = (1900, 2099)
"""``start_date``/``end_date`` must fall in these years (as written, before conversion to UTC)."""

CRS = ("wgs84", "gcj02")
"""Accepted values of the optional ``crs`` form field of a new request (default ``wgs84``)."""

# Every character outside XML 1.0's Char production (C0 controls but tab/newline/CR, surrogates,
# U+FFFE, U+FFFF): dropped from XML output, refused in new requests.
_NOT_XML = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_DIGITS = re.compile("[0-9]+")
_log = logging.getLogger("zhizhi")


def _fmt_of(request: Request) -> str:
    """The format an error to this request is written in: XML for ``….xml`` paths, else JSON."""
    return "xml" if request.url.path.endswith(".xml") else "json"


def _failure(request: Request, exc: Exception) -> Response:
    """Any exception of an Open311 endpoint as a GeoReport error list, without internals."""
    fmt = _fmt_of(request)
    if isinstance(exc, ZhizhiError):
        return _error(fmt, 400 if exc.status == 422 else exc.status, exc.detail)
    if isinstance(exc, RequestValidationError):
        parts = [".".join(str(p) for p in e.get("loc", ()) if p not in ("body", "query", "path"))
                 + f": {e.get('msg', 'invalid')}" for e in exc.errors()]
        return _error(fmt, 400, "; ".join(parts)[:500] or "invalid request")
    if isinstance(exc, StarletteHTTPException):
        return _error(fmt, exc.status_code, str(exc.detail))
    if isinstance(exc, IntegrityError):
        return _error(fmt, 409, "the request conflicts with a stored record; nothing was stored")
    _log.exception("unhandled error on %s %s", request.method, request.url.path)
    return _error(fmt, 500, "internal error; it has been logged")


class GeoReportRoute(APIRoute):
    """An Open311 route whose every failure (including request validation and database errors)
    leaves as a GeoReport error list; the request's session is rolled back first."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Exception as exc:
                session = getattr(request.state, "open311_session", None)
                if session is not None:
                    try:
                        session.rollback()
                    except Exception:  # e.g. the connection is gone: still answer the client
                        _log.exception("rollback failed on %s", request.url.path)
                return _failure(request, exc)

        return guarded


router = APIRouter(prefix="/open311/v2", tags=["open311"], route_class=GeoReportRoute)


def _session(request: Request, session: Session = Depends(get_session, scope="function")) -> Session:
    """The request's session, remembered so :class:`GeoReportRoute` can roll it back on failure."""
    request.state.open311_session = session
    return session


def _xml_text(v: Any) -> str:
    """A field value as XML character data: booleans as true/false, lists comma-joined, characters
    XML 1.0 forbids dropped, markup escaped."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        v = ",".join(map(str, v))
    return escape(_NOT_XML.sub("", str(v)))


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
            parts.append(f"<{k}>{_xml_text(v)}</{k}>")
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
            "description": "；".join(leaf.register_conditions), "metadata": False, "type": "realtime",
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
    if not service.catalogue().has_leaf(code):
        return _error(fmt, 404, f'unknown service_code "{code[:64]}"')
    if fmt == "xml":
        return Response('<?xml version="1.0" encoding="utf-8"?><service_definition>'
                        f"<service_code>{_xml_text(code)}</service_code><attributes></attributes>"
                        "</service_definition>", media_type="text/xml; charset=utf-8")
    return JSONResponse({"service_code": code, "attributes": []})


def _confidential_codes() -> list[str]:
    """Category leaves marked ``confidential`` (visible only to the handling chain, e.g. 举报)."""
    return [leaf.code for leaf in service.catalogue().leaves() if leaf.confidential]


def _request_row(ev: Event) -> dict[str, Any]:
    """One event as a GeoReport request. Reads are public: a confidential category keeps only its
    status and times (no text, place or handling unit)."""
    cat = service.catalogue()
    if cat.has_leaf(ev.category_code):  # else a category retired since: shown by its code
        leaf = cat.leaf(ev.category_code)
        name, secret = leaf.name, bool(leaf.confidential)
    else:
        name, secret = ev.category_code, False
    row = {
        "service_request_id": str(ev.id),
        "status": "closed" if ev.node in DONE_NODES else "open",
        "status_notes": ev.node,
        "service_name": name,
        "service_code": ev.category_code,
        "description": mask_text(ev.description or ev.title),
        # the assigned unit (派遣), else the one routing proposed when it was reported
        "agency_responsible": ev.unit_code or ev.suggested_unit_code or "",
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


# Form fields of a new request that are stored (or decide what is stored), in the order they are named.
_TEXT_FIELDS = ("service_code", "description", "first_name", "last_name", "address_string", "phone",
                "email", "device_id", "account_id", "crs")


@router.post("/requests.{fmt}")
async def post_request(fmt: str, request: Request, session: Session = Depends(_session)) -> Response:
    """Create a service request from a form-encoded body (service_code, lat, long or address_string,
    crs, description, first_name, last_name, phone, email, device_id, account_id). 201 once stored.

    ``lat``/``long`` are WGS-84 degrees unless ``crs`` is ``gcj02`` (火星坐标, as Chinese map SDKs
    give), which is converted to WGS-84 like the REST API does."""
    if (bad := _bad_format(fmt)) is not None:
        return bad
    limiter = getattr(request.app.state, "open311_limiter", None)
    wait = limiter.retry_after(client_key(request)) if limiter is not None else 0.0
    if wait:
        resp = _error(fmt, 429, f"too many reports from this address; try again in {wait:.0f} s")
        resp.headers["Retry-After"] = str(max(1, round(wait)))
        return resp
    try:
        form = await request.form()
    except Exception:
        return _error(fmt, 400, "body must be application/x-www-form-urlencoded or multipart/form-data")
    f = {k: str(v) for k, v in form.items() if isinstance(v, str)}
    if bad_fields := [k for k in _TEXT_FIELDS if _NOT_XML.search(f.get(k, ""))]:
        return _error(fmt, 400, f"{', '.join(bad_fields)}: control characters (U+0000-U+001F other than "
                                "tab, newline and carriage return) are not allowed")
    if not f.get("service_code"):
        return _error(fmt, 400, "service_code is required")
    crs: Literal["wgs84", "gcj02"] = "gcj02" if f.get("crs", "").strip().lower() == "gcj02" else "wgs84"
    if f.get("crs", "").strip().lower() not in {"", *CRS}:
        return _error(fmt, 400, f'crs must be wgs84 or gcj02, not "{f["crs"][:32]}"')
    if not (f.get("lat") and f.get("long")) and not f.get("address_string"):
        return _error(fmt, 400, "lat and long (or address_string with a location) are required")
    try:
        lat = float(f["lat"]) if f.get("lat") else None
        lon = float(f["long"]) if f.get("long") else None
    except ValueError:
        return _error(fmt, 400, "lat and long must be decimal degrees (WGS-84, or GCJ-02 with crs=gcj02)")
    if not all(math.isfinite(v) for v in (lat, lon) if v is not None):
        return _error(fmt, 400, "lat and long must be finite decimal degrees")
    if lat is None or lon is None:
        return _error(fmt, 400, "lat and long are required: addresses alone cannot be placed yet")
    desc = f.get("description", "")
    try:
        data = EventCreate(source="open311", category_code=f["service_code"],
                           title=desc.strip()[:60] or f["service_code"],
                           description=desc, lon=lon, lat=lat, crs=crs,
                           address=f.get("address_string") or None,
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


def _event_id(s: str) -> int | None:
    """``s`` as an event id if it is ASCII digits (``^[0-9]+$``) no larger than :data:`MAX_ID`."""
    if not _DIGITS.fullmatch(s):
        return None
    digits = s.lstrip("0") or "0"
    return int(digits) if len(digits) <= 19 and int(digits) <= MAX_ID else None


def _storable_max(session: Session) -> int:
    """Largest value the ``event.id`` column can hold on this session's database: 2**63 - 1 for
    SQLite (INTEGER is 64-bit) or a BIGINT column, else 2**31 - 1 (a 32-bit INTEGER)."""
    if session.get_bind().dialect.name == "sqlite" or isinstance(Event.__table__.c.id.type, BigInteger):
        return MAX_ID
    return 2**31 - 1


def _parse_dt(s: str, name: str) -> datetime:
    """An ISO 8601 date-time query parameter as aware UTC (naive = Beijing time); its year must lie
    in :data:`DATE_YEARS`. Raises ZhizhiError (400, naming ``name``) otherwise."""
    try:
        if not s.isascii() or _NOT_XML.search(s):  # fromisoformat ignores what follows a NUL
            raise ValueError(s)
        dt = datetime.fromisoformat(s.strip().replace("Z", "+00:00"))
    except (ValueError, TypeError):
        raise ZhizhiError(f"{name} must be an ISO 8601 date-time", status=400) from None
    lo, hi = DATE_YEARS
    if not lo <= dt.year <= hi:
        raise ZhizhiError(f"{name} must be between {lo}-01-01 and {hi}-12-31", status=400)
    try:
        return ztime.to_utc(dt)
    except (OverflowError, ValueError):  # pragma: no cover - excluded by the year range
        raise ZhizhiError(f"{name} is out of range", status=400) from None


@router.get("/requests.{fmt}")
def get_requests(fmt: str, service_request_id: str | None = None, service_code: str | None = None,
                 start_date: str | None = None, end_date: str | None = None, status: str | None = None,
                 session: Session = Depends(_session)) -> Response:
    """Service requests, newest first (at most 1,000; default the last 90 days as GeoReport says).

    ``service_request_id`` (comma-separated ids, at most :data:`MAX_IDS`) overrides every other
    filter, as GeoReport says. Otherwise ``start_date``/``end_date`` (ISO 8601, start not after end),
    ``service_code`` (comma-separated) and ``status`` (open, closed) narrow the search."""
    if (bad := _bad_format(fmt)) is not None:
        return bad
    q = select(Event).where(Event.is_drill.is_(False))
    sid = (service_request_id or "").strip(" ")  # blank = absent, as a form would send it
    try:
        if sid:
            parts = [x.strip(" ") for x in sid.split(",") if x.strip(" ")]
            ids = [_event_id(x) for x in parts]
            if not ids or None in ids:
                return _error(fmt, 400, "service_request_id must be a comma-separated list of integers "
                                        f"from 0 to {MAX_ID}")
            if len(ids) > MAX_IDS:
                return _error(fmt, 400, f"service_request_id lists at most {MAX_IDS} ids")
            top = _storable_max(session)
            q = q.where(Event.id.in_([i for i in ids if i is not None and i <= top]))
        else:
            if service_code:
                q = q.where(Event.category_code.in_(service_code.split(",")))
            end = _parse_dt(end_date, "end_date") if end_date else None
            start = (_parse_dt(start_date, "start_date") if start_date
                     else (end or ztime.utcnow()) - timedelta(days=DEFAULT_WINDOW_DAYS))
            if end is not None and start > end:
                return _error(fmt, 400, "start_date must not be after end_date")
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
    except ZhizhiError as e:
        return _error(fmt, 400, e.detail)
    # confidential matters (未成年人保护, 举报 …) do not exist for the public API, not even by id
    q = q.where(Event.category_code.notin_(_confidential_codes()))
    rows = session.scalars(q.order_by(Event.reported_at.desc()).limit(1000)).all()
    return _out(fmt, "service_requests", "request", [_request_row(e) for e in rows])


@router.get("/requests/{request_id}.{fmt}")
def get_request(request_id: str, fmt: str, session: Session = Depends(_session)) -> Response:
    """One service request (as a one-element list, per GeoReport v2). An id that is not ASCII
    digits, or larger than :data:`MAX_ID`, cannot exist: 404 like any unknown id."""
    if (bad := _bad_format(fmt)) is not None:
        return bad
    eid = _event_id(request_id)
    ev = session.get(Event, eid) if eid is not None and eid <= _storable_max(session) else None
    if ev is None or ev.is_drill or ev.category_code in _confidential_codes():
        return _error(fmt, 404, f'service request "{request_id[:64]}" not found')
    return _out(fmt, "service_requests", "request", [_request_row(ev)])


_ANY_METHOD = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@router.api_route("", methods=_ANY_METHOD, include_in_schema=False)
@router.api_route("/{path:path}", methods=_ANY_METHOD, include_in_schema=False)
def unknown_endpoint(request: Request) -> Response:
    """Anything else under the prefix (registered last): a GeoReport 405 when the path is an endpoint
    that does not take this method, else a GeoReport 404."""
    allowed: set[str] = set()
    for r in router.routes:
        if isinstance(r, APIRoute) and r.endpoint is not unknown_endpoint:
            match, _ = r.matches(request.scope)
            if match is Match.PARTIAL:
                allowed |= r.methods or set()
    fmt = _fmt_of(request)
    if allowed:
        resp = _error(fmt, 405, f"{request.method} is not allowed here; use {', '.join(sorted(allowed))}")
        resp.headers["Allow"] = ", ".join(sorted(allowed))
        return resp
    return _error(fmt, 404, f'no GeoReport v2 endpoint at "{request.url.path[:200]}"')
