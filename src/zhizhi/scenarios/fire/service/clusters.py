"""Reading hotspot clusters, detections and static heat sources within the caller's data scope.

Each cluster view says whether its verification is still awaited (``verification``,
schemas.ClusterRead): not for a historical cluster (no deadline) nor for a drill cluster once its drill
has ended (:func:`drill_ended`); and, once verified as 真实火情, the 森林火情 event its check event
was merged into (``fire_event_id``, :func:`fire_events`).

A cluster (热点簇) is in an actor's scope when one of its events — the primary 卫星热点核查 event or
a neighbour alert (邻区通报) — is: the events' district, town and grid codes decide, through the
event domain's scope rule (``event.service.scoped``). A cluster without an event is seen by its
district's center only. A detection is in scope with its cluster; snoozed detections (no cluster)
are seen by the center of their district. Out of scope is "not found" (404), never "forbidden".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Select, and_, false, or_, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import NotFound
from zhizhi.event import rules as event_rules
from zhizhi.event import service as events
from zhizhi.event.models import Event
from zhizhi.scenarios.fire.models import Hotspot, HotspotAlert, HotspotCluster, StaticHeatSource
from zhizhi.scenarios.fire.schemas import (
    ClusterAlertRead,
    ClusterRead,
    ClusterView,
    HotspotRead,
    StaticSourceRead,
)
from zhizhi.scenarios.fire.service.verification import FIRE_CATEGORY, fire_external_id

MAX_ROWS = 5000


def cluster_condition(actor: Actor) -> ColumnElement[bool]:
    """The clusters ``actor`` may see (module docstring), as a condition on each cluster row.

    Correlated ``EXISTS`` per cluster: its primary event, or the event of one of its alerts, looked
    up by primary key and tested against the scope. Not ``event_id IN (every visible event id)``:
    that list is the whole district for the center and cost two full reads of the event table on
    every call (121–227 ms p95 at 100,000 events with no cluster at all, docs/benchmarks.md §12)."""
    sc = scope_of(actor)
    no_event = (
        and_(HotspotCluster.event_id.is_(None), HotspotCluster.district_code == sc.code)
        if sc.kind == "district"
        else false()
    )
    primary = events.scoped(actor, select(Event.id).where(Event.id == HotspotCluster.event_id)).exists()
    alerted = events.scoped(
        actor,
        select(Event.id)
        .join(HotspotAlert, HotspotAlert.event_id == Event.id)
        .where(HotspotAlert.cluster_id == HotspotCluster.id),
    ).exists()
    return or_(primary, alerted, no_event)


def _window(
    col: InstrumentedAttribute[datetime], since: datetime | None, until: datetime | None
) -> list[ColumnElement[bool]]:
    out: list[ColumnElement[bool]] = []
    if since is not None:
        out.append(col >= ztime.to_utc(since))
    if until is not None:
        out.append(col < ztime.to_utc(until))
    return out


def fire_events(session: Session, actor: Actor, cluster_ids: list[int]) -> dict[int, int]:
    """{cluster id: id of its 森林火情 (2206) event} for the clusters of ``cluster_ids`` verified as
    真实火情 whose fire event is in ``actor``'s scope (verification.fire_event_id, batched): the event
    the cluster's 2207 check event was merged into."""
    if not cluster_ids:
        return {}
    wanted = {fire_external_id(i): i for i in cluster_ids}
    out: dict[int, int] = {}
    for part in range(0, len(cluster_ids), 500):
        keys = list(wanted)[part : part + 500]
        q = cast(
            "Select[Any]",
            select(Event.id, Event.external_id).where(
                Event.external_id.in_(keys), Event.category_code == FIRE_CATEGORY
            ),
        )
        for row in session.execute(events.scoped(actor, q)).all():
            out[wanted[row.external_id]] = int(row.id)
    return out


def _view(
    session: Session,
    actor: Actor,
    cl: HotspotCluster,
    with_hotspots: bool,
    fire: dict[int, int] | None = None,
) -> ClusterView:
    alerts = session.scalars(
        select(HotspotAlert).where(HotspotAlert.cluster_id == cl.id).order_by(HotspotAlert.id)
    ).all()
    ids = {a.event_id for a in alerts} | ({cl.event_id} if cl.event_id is not None else set())
    seen = set(session.scalars(events.scoped(actor, select(Event.id).where(Event.id.in_(ids)))).all())
    town = grid = None
    if cl.event_id is not None and cl.event_id in seen:
        ev = session.get(Event, cl.event_id)
        town, grid = (ev.town_code, ev.grid_code) if ev is not None else (None, None)
    view = ClusterView(
        **ClusterRead.model_validate(cl).model_dump(),
        town_code=town,
        grid_code=grid,
        fire_event_id=(fire if fire is not None else fire_events(session, actor, [cl.id])).get(cl.id),
        alerts=[
            ClusterAlertRead(
                district_code=a.district_code,
                role=a.role,
                event_id=a.event_id if a.event_id in seen else None,
                distance_m=a.distance_m,
            )
            for a in alerts
        ],
    )
    if view.verification == "awaiting" and drill_ended(session, cl):
        view.verification = "drill_ended"
    if cl.event_id is not None and cl.event_id not in seen:
        view.event_id = None
    if with_hotspots:
        members = session.scalars(
            select(Hotspot).where(Hotspot.cluster_id == cl.id).order_by(Hotspot.acq_at, Hotspot.id)
        ).all()
        view.hotspots = [HotspotRead.model_validate(h) for h in members]
    return view


def drill_ended(session: Session, cl: HotspotCluster) -> bool:
    """Whether ``cl`` is a drill cluster whose drill has ended: its drill event is at a done node
    (closed, rejected …, by the simulated clock or by people) or gone. Its verification is then no
    longer awaited (``drill_ended``, schemas.ClusterRead), whether or not an outcome was recorded."""
    if not cl.drill:
        return False
    ev = session.get(Event, cl.event_id) if cl.event_id is not None else None
    return ev is None or event_rules.Node(ev.node) not in event_rules.OPEN_NODES


def list_clusters(
    session: Session,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    drill: bool | None = None,
    limit: int = 500,
) -> list[ClusterView]:
    """Clusters in ``actor``'s scope whose last detection is in [since, until) (aware datetimes, or
    naive Beijing time), newest first, at most ``limit`` (<= 5000); ``drill`` True/False keeps only
    exercises / real ones. Each with the town and grid of its primary event and its alerts (event
    ids out of the caller's scope are None). Needs ``fire.read``."""
    require(actor, "fire.read")
    q = select(HotspotCluster).where(
        cluster_condition(actor), *_window(HotspotCluster.last_seen, since, until)
    )
    if drill is not None:
        q = q.where(HotspotCluster.drill.is_(drill))
    rows = session.scalars(
        q.order_by(HotspotCluster.last_seen.desc(), HotspotCluster.id.desc()).limit(min(limit, MAX_ROWS))
    ).all()
    fire = fire_events(session, actor, [cl.id for cl in rows])
    return [_view(session, actor, cl, with_hotspots=False, fire=fire) for cl in rows]


def read_cluster(session: Session, actor: Actor, cluster_id: int) -> ClusterView:
    """One cluster with its detections, if in ``actor``'s scope; NotFound otherwise (existence does
    not leak). Needs ``fire.read``."""
    require(actor, "fire.read")
    cl = session.scalar(
        select(HotspotCluster).where(HotspotCluster.id == cluster_id, cluster_condition(actor))
    )
    if cl is None:
        raise NotFound(f"hotspot cluster {cluster_id} not found")
    return _view(session, actor, cl, with_hotspots=True)


def list_hotspots(
    session: Session,
    actor: Actor,
    since: datetime | None = None,
    until: datetime | None = None,
    drill: bool | None = None,
    limit: int = 1000,
) -> list[HotspotRead]:
    """Detections in ``actor``'s scope acquired in [since, until), newest first, at most ``limit``
    (<= 5000): those of visible clusters, and for a district role also the snoozed detections of its
    district. Needs ``fire.read``."""
    require(actor, "fire.read")
    sc = scope_of(actor)
    visible = select(HotspotCluster.id).where(cluster_condition(actor))
    own_district = Hotspot.district_code == sc.code if sc.kind == "district" else false()
    q = select(Hotspot).where(
        or_(Hotspot.cluster_id.in_(visible), and_(Hotspot.cluster_id.is_(None), own_district)),
        *_window(Hotspot.acq_at, since, until),
    )
    if drill is not None:
        q = q.where(Hotspot.drill.is_(drill))
    rows = session.scalars(q.order_by(Hotspot.acq_at.desc(), Hotspot.id.desc()).limit(min(limit, MAX_ROWS)))
    return [HotspotRead.model_validate(h) for h in rows.all()]


def list_static_sources(session: Session, actor: Actor, status: str | None = None) -> list[StaticSourceRead]:
    """Static heat sources of ``actor``'s district (and those without a district), by id; ``status``
    keeps one status (proposed, active, rejected, retired). Needs ``fire.manage``."""
    require(actor, "fire.manage")
    q = select(StaticHeatSource).where(
        or_(StaticHeatSource.district_code == actor.district_code, StaticHeatSource.district_code.is_(None))
    )
    if status:
        q = q.where(StaticHeatSource.status == status)
    return [StaticSourceRead.model_validate(s) for s in session.scalars(q.order_by(StaticHeatSource.id))]
