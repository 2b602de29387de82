"""HTTP routes of the fire hazard ledger (隐患台账) and ranger patrols (护林员巡护):
``/api/v1/fire/hazards…`` and ``/api/v1/fire/patrols…``. Included by api.py's router.

Permissions (core/data/permissions.yaml): ``fire.read`` to read; ``fire.hazard`` to put a hazard on
the ledger (登记), start its rectification (整改) and close it out (销号) — closing also needs a town or
district role (data/hazards.yaml ``close.scopes``); ``fire.record`` to record a ranger's patrol
(护林员巡护; the hazards found on it go on the ledger too, so with hazards it needs ``fire.hazard`` as
well). Rows are limited to the caller's data scope by place (plus what they found or walked); out of
scope is 404.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Path, Query
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.http import get_session, permit
from zhizhi.scenarios.fire.hazard_schemas import (
    CloseIn,
    HazardIn,
    HazardRead,
    PatrolIn,
    PatrolRead,
    RectifyIn,
)
from zhizhi.scenarios.fire.service import hazards as svc

router = APIRouter(tags=["fire 森林防灭火"])  # api.py includes it under /api/v1/fire

MAX_ID = 2**31 - 1
HazardId = Annotated[int, Path(ge=1, le=MAX_ID, description="hazard id")]
PatrolId = Annotated[int, Path(ge=1, le=MAX_ID, description="patrol id")]


@router.get("/hazards", response_model=list[HazardRead])
def hazards(
    status: Literal["open", "rectifying", "closed"] | None = Query(None),
    kind: str | None = Query(None, description="a kind key or Chinese name (data/hazards.yaml)"),
    town_code: str | None = Query(None, pattern=r"^\d{12}$"),
    overdue: bool | None = Query(None, description="true: only overdue (逾期); false: only not overdue"),
    limit: int = Query(1000, ge=1, le=5000),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> list[HazardRead]:
    """The hazard ledger (隐患台账) in the caller's scope, newest found first, with status (待整改 /
    整改中 / 已销号), deadline and whether overdue."""
    return svc.list_hazards(
        session, actor, status=status, kind=kind, town_code=town_code, overdue=overdue, limit=limit
    )


@router.post("/hazards", response_model=HazardRead, status_code=201)
def add_hazard(
    body: HazardIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.hazard")),
) -> HazardRead:
    """Put a hazard on the ledger (status open): kind, point in the caller's district, description;
    the deadline defaults to the kind's days (data/hazards.yaml)."""
    return svc.hazard_read(svc.add_hazard(session, actor, body))


@router.get("/hazards/{hazard_id}", response_model=HazardRead)
def hazard(
    hazard_id: HazardId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> HazardRead:
    """One hazard in the caller's scope (or found by the caller); 404 otherwise."""
    return svc.hazard_read(svc.get_hazard(session, actor, hazard_id))


@router.post("/hazards/{hazard_id}/rectify", response_model=HazardRead)
def rectify(
    hazard_id: HazardId,
    body: RectifyIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.hazard")),
) -> HazardRead:
    """Rectification started (整改中), saying what is being done. 409 unless the hazard is open."""
    return svc.hazard_read(svc.start_rectification(session, actor, hazard_id, body.note))


@router.post("/hazards/{hazard_id}/close", response_model=HazardRead)
def close(
    hazard_id: HazardId,
    body: CloseIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.hazard")),
) -> HazardRead:
    """Close a hazard out (销号) with the evidence of its rectification: a town or district role only
    (403 for others); 404 out of scope; 409 when already closed."""
    return svc.hazard_read(svc.close_hazard(session, actor, hazard_id, body.evidence))


@router.get("/patrols", response_model=list[PatrolRead])
def patrols(
    since: datetime | None = Query(None, description="started from (ISO 8601; no zone: Beijing time)"),
    until: datetime | None = Query(None, description="started before (as since)"),
    grid_code: str | None = Query(None, max_length=16),
    limit: int = Query(1000, ge=1, le=5000),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> list[PatrolRead]:
    """Ranger patrols (护林员巡护) in the caller's scope, newest first: ranger, grid, times, track length
    (km) and the hazards found; without the tracks."""
    return svc.list_patrols(session, actor, since=since, until=until, grid_code=grid_code, limit=limit)


@router.post("/patrols", response_model=PatrolRead, status_code=201)
def add_patrol(
    body: PatrolIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.record")),
) -> PatrolRead:
    """Record a patrol (ranger: a grid worker, default the caller) with its track (GeoJSON LineString
    or points) and the hazards found on it."""
    p = svc.add_patrol(session, actor, body)
    return svc.patrol_read(session, p, with_track=True)


@router.get("/patrols/{patrol_id}", response_model=PatrolRead)
def patrol(
    patrol_id: PatrolId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> PatrolRead:
    """One patrol with its track (GeoJSON LineString, WGS-84); 404 out of scope."""
    return svc.patrol_read(session, svc.get_patrol(session, actor, patrol_id), with_track=True)
