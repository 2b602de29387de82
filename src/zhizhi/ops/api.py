"""Operations API (运行): KPIs, rankings, the SLA sweep."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.http import get_session, permit
from zhizhi.event import tasks
from zhizhi.ops import service

router = APIRouter(prefix="/api/v1", tags=["ops"])


@router.get("/kpis")
def get_kpis(
    period: str | None = Query(None, description="YYYY, YYYY-MM or YYYY-Qn; omit for all time"),
    by: str = Query("town", description="town|village|grid|department|board|unit"),
    district: str | None = None,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("ops.kpis")),
) -> dict[str, Any]:
    """核心绩效 per unit for the period, within the caller's scope."""
    return service.kpis(session, actor, period, by, district)


@router.get("/rankings")
def get_rankings(
    period: str | None = None,
    kind: str = Query("town", description="town|department"),
    district: str | None = None,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("ops.kpis")),
) -> dict[str, Any]:
    """赛马比拼 ranking of towns or departments for the period."""
    return service.rankings(session, actor, period, kind, district)


@router.post("/ops/sweep")
def run_sweep(
    as_of: datetime | None = None,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("ops.sweep")),
) -> dict[str, Any]:
    """Run the SLA sweep now (or as of a time); district-center staff only."""
    return tasks.sweep(session, as_of)
