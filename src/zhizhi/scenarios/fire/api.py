"""HTTP routes of the fire scenario (森林防灭火): ``/api/v1/fire/…``.

Daily danger ratings per town and grid (and a GeoJSON of the towns for the map), satellite
hotspots and their clusters with the verification outcome, FIRMS file import, and static heat
sources, and drills; the bulletin and the KPIs (api_bulletin.py), resources and the response
(api_response.py), the hazard ledger and patrols (api_hazards.py). Permissions
(core/data/permissions.yaml): ``fire.read`` to read, ``fire.verify`` to record an outcome,
``fire.manage`` to import and to decide on static heat sources, ``fire.drill`` to start a drill.
Rows are limited to the caller's data scope; a cluster out of scope is 404 (existence does not leak).
"""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, File, Path, Query, UploadFile
from pydantic import BaseModel, ConfigDict
from pydantic import Field as PydField
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.core.http import get_session, permit
from zhizhi.scenarios.fire import service
from zhizhi.scenarios.fire.schemas import (
    ClusterView,
    DangerRatingRead,
    HotspotImportSummary,
    HotspotRead,
    StaticDecisionIn,
    StaticSourceEntry,
    StaticSourceRead,
    VerifyIn,
    VerifyRead,
)
from zhizhi.scenarios.fire.service.static import snooze_end

router = APIRouter(prefix="/api/v1/fire", tags=["fire 森林防灭火"])

MAX_ID = 2**31 - 1
ClusterId = Annotated[int, Path(ge=1, le=MAX_ID, description="hotspot cluster id")]
SourceId = Annotated[int, Path(ge=1, le=MAX_ID, description="static heat source id")]
Day = Annotated[date, Query(alias="date", description="the day rated, YYYY-MM-DD")]
Since = Annotated[
    datetime | None, Query(description="from this instant (ISO 8601; without a zone: Beijing time)")
]
Until = Annotated[datetime | None, Query(description="before this instant (ISO 8601; as since)")]


# --- danger ratings -------------------------------------------------------------------------------------


@router.get("/danger", response_model=list[DangerRatingRead])
def danger(
    day: Day,
    level: Literal["town", "grid"] | None = Query(None, description="only towns or only grids"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> list[DangerRatingRead]:
    """The fire danger ratings (森林火险等级) of a day in the caller's scope: towns, then grids.
    Each has the level 1-5 with its label, name and colour, HTZ and its factor scores, the FWI
    components, and the nearest station used with its straight-line distance (km). A district role
    sees its district; a town role its town and its grids; a grid role its grid and its town; a
    department its district. An empty list when the day was not rated."""
    return service.list_ratings(session, actor, day, level)


@router.get("/danger/geojson")
def danger_geojson(
    day: Day,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> dict[str, Any]:
    """The towns rated on a day in the caller's scope as a GeoJSON FeatureCollection (WGS-84) of
    their polygons, each with ``level``, ``label``, ``name``, ``colour`` (``#RRGGBB``) and ``fwi``:
    for the map. ``generated`` marks zhizhi's approximated town boundaries."""
    return service.danger_geojson(session, actor, day)


# --- hotspots and clusters ------------------------------------------------------------------------------


@router.get("/hotspots", response_model=list[HotspotRead])
def hotspots(
    since: Since = None,
    until: Until = None,
    drill: bool | None = Query(None, description="true: only exercises; false: only real detections"),
    limit: int = Query(1000, ge=1, le=5000),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> list[HotspotRead]:
    """Satellite hotspots (卫星热点) acquired in [since, until), newest first: those of the clusters
    in the caller's scope, and for the district center also the snoozed ones (static heat sources)."""
    return service.list_hotspots(session, actor, since, until, drill, limit)


@router.get("/clusters", response_model=list[ClusterView])
def clusters(
    since: Since = None,
    until: Until = None,
    drill: bool | None = Query(None, description="true: only exercises; false: only real clusters"),
    limit: int = Query(500, ge=1, le=5000),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> list[ClusterView]:
    """Hotspot clusters (热点簇) in the caller's scope (the town/grid of one of their events) whose
    last detection is in [since, until), newest first, with their verification state and alerts."""
    return service.list_clusters(session, actor, since, until, drill, limit)


@router.get("/clusters/{cluster_id}", response_model=ClusterView)
def cluster(
    cluster_id: ClusterId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> ClusterView:
    """One cluster with its detections; 404 when it does not exist or is out of the caller's scope."""
    return service.read_cluster(session, actor, cluster_id)


@router.post("/clusters/{cluster_id}/verify", response_model=VerifyRead)
def verify(
    cluster_id: ClusterId,
    body: VerifyIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.verify")),
) -> VerifyRead:
    """Record the verification outcome (核查结论) of a cluster in the caller's scope: 真实火情 /
    农事用火 / 工业热源 / 其他热源 / 误报 (or their keys), once; whether the deadline was met is
    recorded. 工业热源 proposes a static heat source. On a real event the platform then ends it
    (不予受理) for a non-fire outcome, or for 真实火情 opens a 森林火情 (2206) event
    (``fire_event_id``) and merges it into that; by policy (data/resources.yaml
    ``response.auto_respond_on_confirmed``) the platform also starts its response at once:
    ``response`` lists the tasks dispatched, ``response_note`` says why it could not start, ``hint``
    how to start it by hand. ``by`` names who checked on site (核查人; default: the caller). On a
    historical cluster (no event) the outcome is recorded only: 真实火情 opens no event and
    ``response_note`` says so. 404 out of scope, 409 when already recorded."""
    got = service.verify_cluster(session, actor, cluster_id, body.outcome, body.note, body.by)
    view = service.read_cluster(session, actor, cluster_id)
    return VerifyRead(
        **view.model_dump(exclude={"fire_event_id"}),
        fire_event_id=got.fire_event_id or view.fire_event_id,
        response=got.response,
        response_note=got.response_note,
        hint=got.hint,
    )


@router.post("/hotspots/import", response_model=HotspotImportSummary)
def import_hotspots(
    file: UploadFile = File(..., description="a NASA FIRMS active-fire CSV (MODIS C6.1 or VIIRS 375 m)"),
    skip_bad_rows: bool = Query(False, description="import the good rows, list the bad (default: refuse)"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> HotspotImportSummary:
    """Import a FIRMS file as ``zhizhi fire hotspots import`` does, returning the same summary. All
    or nothing: any bad row refuses the file (422 naming line and column) unless ``skip_bad_rows``.
    Larger files than the request limit (ZHIZHI_MAX_BODY_BYTES) go through the command line."""
    raw = file.file.read()
    if not raw:
        raise InvalidInput("the file is empty", [FieldError("file", "empty")])
    name = FsPath(file.filename or "upload.csv").name[:300]
    return service.import_bytes(session, raw, name, skip_bad_rows=skip_bad_rows)


# --- static heat sources --------------------------------------------------------------------------------


@router.get("/static-sources", response_model=list[StaticSourceRead])
def static_sources(
    status: Literal["proposed", "active", "rejected", "retired"] | None = Query(None),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> list[StaticSourceRead]:
    """Static heat sources (固定热源) of the caller's district: proposed ones await a decision."""
    return service.list_static_sources(session, actor, status)


@router.post("/static-sources", response_model=StaticSourceRead, status_code=201)
def add_static_source(
    body: StaticSourceEntry,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> StaticSourceRead:
    """Register a known static heat source (a point with radius_m, or a polygon; WGS-84); its
    detections are snoozed from now on (until ``snoozed_until`` if given)."""
    return StaticSourceRead.model_validate(service.add_static_source(session, actor, body))


@router.post("/static-sources/{source_id}/accept", response_model=StaticSourceRead)
def accept_static_source(
    source_id: SourceId,
    body: StaticDecisionIn | None = None,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> StaticSourceRead:
    """Accept a proposed static heat source: its detections are snoozed (through ``until``, a date in
    Beijing time, inclusive, if given). 409 when it is not a proposal."""
    until = body.until if body else None
    end = snooze_end(until) if until else None
    return StaticSourceRead.model_validate(service.decide_static_source(session, actor, source_id, True, end))


@router.post("/static-sources/{source_id}/reject", response_model=StaticSourceRead)
def reject_static_source(
    source_id: SourceId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.manage")),
) -> StaticSourceRead:
    """Reject a proposed static heat source (its detections keep alerting). 409 when not a proposal."""
    return StaticSourceRead.model_validate(service.decide_static_source(session, actor, source_id, False))


# --- drills (实战演练) -------------------------------------------------------------------------------

EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="the drill's event id")]


class DrillIn(BaseModel):
    """Start a drill: the town (12-digit NBS code); ``simulate`` makes every move on a simulated
    clock (delays from fire/data/drill.yaml) so the answer carries the full timing."""

    model_config = ConfigDict(extra="forbid")
    town_code: str = PydField(pattern=r"^\d{12}$", description="12-digit NBS town code")
    simulate: bool = False


@router.post("/drills", status_code=201)
def start_drill(
    body: DrillIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.drill")),
) -> dict[str, Any]:
    """Start a forest-fire drill (森林火情实战演练) in a town of the caller's scope: a simulated hotspot
    (flagged drill, never counted in KPIs) opens a 卫星热点核查 event that the platform accepts,
    registers and dispatches to the town center with the drill pre-plan. Returns the event id and the
    node timings so far (alarm seen ≤ 1 min, on site ≤ 3 min, team out ≤ 5 min, under control). 404
    for a town out of scope, 409 while the town's last drill is still open."""
    from zhizhi.scenarios.fire.service import drill

    return drill.start_drill(session, actor, body.town_code, simulate=body.simulate).as_dict()


@router.get("/drills/{event_id}")
def drill_timings(
    event_id: EventId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit("fire.read")),
) -> dict[str, Any]:
    """A drill's node timings so far against their targets (event in the caller's scope; 404
    otherwise, 422 for an event that is not a drill)."""
    from zhizhi.scenarios.fire.service import drill

    ev, result = drill.drill_report(session, actor, event_id)
    return {"event_id": ev.id, "title": drill.drill_title(session, ev), **result.as_dict()}


# --- resources, response, fire records, hazards and patrols (issue 5, part 3) ---------------------------
# Their routes live in api_response.py and api_hazards.py (same /api/v1/fire prefix), included here so
# the application keeps including this one router.

from zhizhi.scenarios.fire import api_bulletin, api_hazards, api_response  # noqa: E402

router.include_router(api_response.router)
router.include_router(api_hazards.router)
router.include_router(api_bulletin.router)  # the bulletin and the KPIs (issue 5, part 4)
