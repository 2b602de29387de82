"""Routes of the registers' data quality (数据治理): ``/api/v1/registry/quality``. They belong with the
registry's routes (registry/api.py) and are served from here until that file includes this router.

Permission: ``registry.quality`` for the report, for sending a problem to the grid worker as a task
and for re-checking (town duty officers and clerks, departments, the district centre). An area
outside the caller's scope is 404.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.http import get_session, permit
from zhizhi.form.schemas import QualityOut, QualityRecheckIn, QualitySendIn
from zhizhi.registry.service import quality

router = APIRouter(prefix="/api/v1/registry/quality", tags=["registry 台账"])

QUALITY = quality.PERMISSION


@router.get("", response_model=QualityOut)
def quality_report(
    org: str = Query(min_length=6, max_length=16, description="district, town, village or grid code"),
    on: date | None = Query(None, description="check date (default today)"),
    rule: str | None = Query(None, max_length=40, description="only this rule's problems"),
    limit: int = Query(200, ge=0, le=5000, description="problems listed at most"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(QUALITY)),
) -> dict[str, Any]:
    """Quality score of an area and of each unit below it (completeness, validity, consistency;
    registry/data/quality_rules.yaml), with the problems found (names and IDs masked) and the task
    each was sent as."""
    return quality.report(session, actor, org, on, rule, limit)


@router.post("/send")
def quality_send(
    body: QualitySendIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(QUALITY)),
) -> dict[str, Any]:
    """Send one problem to the grid worker as a task on the event loop (a data-verification event
    dispatched to the record's grid). 409 when an open task of it exists."""
    return quality.send(session, actor, body.key)


@router.post("/recheck")
def quality_recheck(
    body: QualityRecheckIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(QUALITY)),
) -> dict[str, Any]:
    """Check an area again: tasks whose problem is fixed are closed, handled ones still wrong are sent
    back for rework."""
    return quality.recheck(session, actor, body.org)
