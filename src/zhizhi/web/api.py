"""Web API (页面接口): the big screen's aggregates, the live stream of event changes, and the KPI
export the console's KPI page downloads."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response, StreamingResponse
from sqlalchemy.orm import Session

from zhizhi.core import audit
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, scope_of
from zhizhi.core.db import write_lock
from zhizhi.core.errors import FieldError, InvalidInput, ZhizhiError
from zhizhi.core.http import get_session, permit
from zhizhi.ops import service as ops
from zhizhi.web import cache, export, live, service

router = APIRouter(prefix="/api/v1", tags=["web"])
MAX_STREAMS = 500
EARLIEST = date(2000, 1, 1)


@router.get("/screen/summary")
def screen_summary(
    request: Request,
    response: Response,
    as_of: date | None = Query(
        None, description="a past day (YYYY-MM-DD, 北京时间) shown as it stood at its end; default today"
    ),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("ops.kpis")),
) -> dict[str, Any]:
    """Everything the big screen (大屏) shows, within the caller's scope: today's counts, this
    month's 结案率 and 按期结案率, events and rates per town, the 赛马比拼 ranking, a 30-day trend,
    today's points and the latest reports (aggregates and codes, no free text). With ``as_of`` a
    past day is replayed: its counts, month and trend, with nodes and colours rebuilt from the
    timelines at the day's end. 422 for a day before 2000-01-01 or after today.

    The figures are shared by everyone with the same scope and visibility (web/cache.py): computed
    once after each change, at most 15 s old otherwise (5 min for a past day); the month's part
    (its rates, the towns' month figures and the ranking) is recomputed at most every 30 s. The
    ``X-Cache`` header says ``hit`` or ``miss``; the body's ``as_of`` says when they were computed."""
    now = ztime.utcnow()
    if as_of is not None and not EARLIEST <= as_of <= ztime.to_local(now).date():
        why = f"as_of {as_of.isoformat()} is outside 2000-01-01 … today"
        raise InvalidInput(why, [FieldError("as_of", why)])
    engine = request.app.state.engine
    day, past, period = service.day_and_period(now, as_of)
    who = cache.audience(actor)
    ttl = cache.PAST_SECONDS if past else cache.LIVE_SECONDS

    def compute() -> dict[str, Any]:
        month, _ = cache.MONTHS.get(
            engine,
            ("month", who, period),
            cache.PAST_SECONDS if past else cache.MONTH_SECONDS,
            lambda: service.month_figures(session, actor, period),
        )
        return service.summary(session, actor, now, as_of, month=month)

    value, hit = cache.SUMMARIES.get(engine, ("screen", who, day.isoformat(), past), ttl, compute)
    response.headers["X-Cache"] = "hit" if hit else "miss"
    return dict(value)


@router.get(
    "/kpis/export.xlsx",
    response_class=Response,
    responses={200: {"content": {export.XLSX: {}}, "description": "the KPIs as an xlsx workbook"}},
)
def export_kpis(
    request: Request,
    period: str | None = Query(None, max_length=10, description="YYYY, YYYY-MM or YYYY-Qn; omit: all time"),
    by: str = Query("town", description="town|village|grid|department|board|unit"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("ops.kpis")),
) -> Response:
    """The KPIs of ``GET /api/v1/kpis`` (same scope, period and dimension) as an xlsx workbook, with
    the 赛马比拼 sheet for towns and departments. Every export writes an audit row (action
    ``export``: user, period, dimension, scope, row count) committed before the file is returned;
    the sheet names who exported it and when."""
    kp = ops.kpis(session, actor, period, by)
    ranked = ops.rankings(session, actor, period, kind=by, kp=kp) if by in ("town", "department") else None
    sc = scope_of(actor)
    scope = f"{sc.kind}:{sc.code}"
    at = ztime.utcnow()
    data = export.kpi_workbook(
        kp, ranked, exported_by=f"{actor.name}({actor.username})", exported_at=at, scope=scope
    )
    session.commit()  # end the read transaction before taking the write lock
    with write_lock(request.app.state.engine):
        audit.record(
            session,
            actor=actor.username,
            actor_role=actor.role,
            action=audit.Action.export,
            object_type="kpis",
            scope=scope,
            client=request.client.host if request.client else None,
            detail={"period": kp["period"], "by": by, "rows": len(kp["rows"]), "bytes": len(data)},
            at=at,
        )
        session.commit()
    stamp = ztime.to_local(at).strftime("%Y%m%d-%H%M%S")
    name = f"kpis_{by}_{kp['period']}_{stamp}.xlsx"
    title = f"核心绩效_{kp['period']}_{stamp}.xlsx"
    disposition = f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(title, safe='')}"
    return Response(
        data,
        media_type=export.XLSX,
        headers={
            "Content-Disposition": disposition,
            "Cache-Control": "no-store",
        },
    )


# Not in the OpenAPI schema: an endless text/event-stream response has no schema to describe, and
# the generated-request tests would wait on it forever. Its access rules are tested in tests/web.
@router.get("/stream", include_in_schema=False)
async def stream(request: Request, actor: Actor = Depends(permit("event.read"))) -> StreamingResponse:
    """Server-sent events: ``hello`` on connect, then ``change`` (an event reported or moved, within
    the caller's scope), ``bulk`` (many at once: reload) or ``resync`` (fell behind: reload)."""
    if live.BROADCASTER.count >= MAX_STREAMS:
        raise ZhizhiError("too many live streams open; try again later", status=503, title="Busy")
    return StreamingResponse(
        live.stream(actor, request.app.state.engine),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
