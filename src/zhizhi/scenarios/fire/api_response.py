"""HTTP routes of fire resources and the response to fire events (issue 5, part 3):
``/api/v1/fire/resources…`` and ``/api/v1/fire/events/{event_id}/…``. Included by api.py's router.

Permissions (core/data/permissions.yaml): ``fire.read`` to read resources (every role of the district
sees the district's resources; another district's are 404), the nearest resources of a fire event,
and its record; ``fire.manage`` to create, change, delete and import resources; ``event.preplan`` to
start the one-click response; ``fire.verify`` to record a fire's area and casualties. A fire event out
of the caller's scope is 404.
"""

from __future__ import annotations

from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, Response, UploadFile
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.core.http import get_session, permit
from zhizhi.scenarios.fire.resource_schemas import (
    NearestRead,
    RecordIn,
    RecordRead,
    ResourceImportSummary,
    ResourceIn,
    ResourcePatch,
    ResourceRead,
    RespondRead,
)
from zhizhi.scenarios.fire.service import records, response
from zhizhi.scenarios.fire.service import resources as svc

router = APIRouter(tags=["fire 森林防灭火"])  # api.py includes it under /api/v1/fire

MAX_ID = 2**31 - 1
ResourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="fire resource id")]
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="a 森林火情 (2206) or 卫星热点核查 (2207) event")]
Kind = Annotated[
    str | None, Query(description="team | water | lookout | checkpoint | depot | drone_dock (or 中文名)")
]


# --- resources (防火资源) --------------------------------------------------------------------------------


@router.get("/resources", response_model=list[ResourceRead])
def resources(
    kind: Kind = None,
    town_code: str | None = Query(None, pattern=r"^\d{12}$", description="only this town's"),
    limit: int = Query(5000, ge=1, le=10_000),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> list[ResourceRead]:
    """Fire resources of the caller's district (teams, water sources, lookouts/cameras, checkpoints,
    depots, drone docks), by kind then id, with each kind's attributes; contacts masked."""
    return svc.list_resources(session, actor, kind, town_code, limit)


@router.get("/resources/geojson")
def resources_geojson(
    kind: Kind = None,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> dict[str, Any]:
    """The resources as a GeoJSON FeatureCollection of Points (WGS-84) for the map: one layer per
    ``kind`` property, with ``colour`` (#RRGGBB), names and attributes; no contact."""
    return svc.resources_geojson(session, actor, kind)


@router.get("/resources/{resource_id}", response_model=ResourceRead)
def resource(
    resource_id: ResourceId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> ResourceRead:
    """One resource of the caller's district; 404 otherwise."""
    return svc.resource_read(svc.get_resource(session, actor, resource_id))


@router.post("/resources", response_model=ResourceRead, status_code=201)
def create_resource(
    body: ResourceIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> ResourceRead:
    """Register a resource: its point must be in the caller's district (GCJ-02 with ``crs``); a team
    needs its owner unit (town code, department abbreviation or unit code). 409 for a code in use."""
    return svc.resource_read(svc.create_resource(session, actor, body))


@router.patch("/resources/{resource_id}", response_model=ResourceRead)
def update_resource(
    resource_id: ResourceId,
    body: ResourcePatch,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> ResourceRead:
    """Change the fields given (``attrs`` replaces the attributes and is checked against the kind)."""
    return svc.resource_read(svc.update_resource(session, actor, resource_id, body))


@router.delete("/resources/{resource_id}", status_code=204)
def delete_resource(
    resource_id: ResourceId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> Response:
    """Delete a resource of the caller's district."""
    svc.delete_resource(session, actor, resource_id)
    return Response(status_code=204)


@router.post("/resources/import", response_model=ResourceImportSummary)
def import_resources(
    file: UploadFile = File(..., description="a resource CSV or GeoJSON (docs/domains/fire.md §7)"),
    kind: Kind = None,
    crs: Literal["wgs84", "gcj02"] = Query("wgs84", description="gcj02: the file's points are GCJ-02"),
    fmt: Literal["csv", "geojson"] | None = Query(None, alias="format", description="default: by extension"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> ResourceImportSummary:
    """Import resources into the caller's district, all or nothing: any bad row refuses the file (422,
    every error with its line and column). ``kind`` for a file of one kind without a kind column. A
    row whose code is already a resource of the district updates it."""
    raw = file.file.read()
    if not raw:
        raise InvalidInput("the file is empty", [FieldError("file", "empty")])
    name = FsPath(file.filename or "upload.csv").name[:300]
    return svc.import_resources(session, actor, raw, name, fmt=fmt, kind=kind, crs=crs)


# --- the response to a fire event ------------------------------------------------------------------------


@router.get("/events/{event_id}/nearest", response_model=NearestRead)
def nearest(
    event_id: EventId,
    per_kind: int | None = Query(None, ge=1, le=100, description="how many of each kind (default 3)"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> NearestRead:
    """The nearest resources of each kind to a fire event's point, nearest first, with the
    straight-line (great-circle) distance in km. Road distances need a road network, which zhizhi
    does not have. 404 for an event out of scope; 422 for a non-fire event or one without a point."""
    return response.nearest(session, actor, event_id, per_kind)


@router.post("/events/{event_id}/respond", response_model=RespondRead)
def respond(
    event_id: EventId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("event.preplan")),
) -> RespondRead:
    """One click (一键响应): start the forest-fire pre-plan on the event — tasks for 林业局, the town
    center, the grid and 应急局 — and a task for the unit of the nearest team (扑火队出动, with its
    distance). 404 out of scope; 409 while the pre-plan already runs or the event is closed."""
    return response.respond(session, actor, event_id)


@router.get("/events/{event_id}/record", response_model=RecordRead)
def record(
    event_id: EventId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> RecordRead:
    """The fire record of an event: damaged forest area, casualties, grade (一般/较大/重大/特别重大
    森林火灾, 《森林防火条例》第四十条) and response level (Ⅳ…Ⅰ). 404 without a record or out of scope."""
    return records.record_read(records.get_record(session, actor, event_id))


@router.put("/events/{event_id}/record", response_model=RecordRead)
def put_record(
    event_id: EventId,
    body: RecordIn,
    response_: Response,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.verify")),
) -> RecordRead:
    """Record (or correct) a fire: damaged forest area (受害森林面积, ha), total burnt area, deaths,
    serious injuries; the grade is computed, and the response level is the grade's default unless
    given. 201 when created, 200 when updated. The damage-rate KPI sums these records."""
    rec, created = records.record_fire(session, actor, event_id, body)
    response_.status_code = 201 if created else 200
    return records.record_read(rec)
