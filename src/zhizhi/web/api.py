"""Web API (页面接口): the big screen's aggregates and the live stream of event changes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.errors import ZhizhiError
from zhizhi.core.http import get_session, permit
from zhizhi.web import live, service

router = APIRouter(prefix="/api/v1", tags=["web"])
MAX_STREAMS = 500


@router.get("/screen/summary")
def screen_summary(
    session: Session = Depends(get_session), actor: Actor = Depends(permit("ops.kpis"))
) -> dict[str, Any]:
    """Everything the big screen (大屏) shows, within the caller's scope: today's counts, this
    month's 结案率 and 按期结案率, events per town today and this month, the 赛马比拼 ranking, a
    30-day trend, today's points and the latest reports (aggregates and codes, no free text)."""
    return service.summary(session, actor)


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
