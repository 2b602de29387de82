"""Hotspot verification (热点核查): the outcome of a cluster, recorded once, with its deadline."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, Scope, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, InvalidInput, NotFound
from zhizhi.event import service as events
from zhizhi.scenarios.fire import hotspots as hs
from zhizhi.scenarios.fire.models import HotspotAlert, HotspotCluster
from zhizhi.scenarios.fire.schemas import (
    ClusterRead,
    HotspotOutcome,
)
from zhizhi.scenarios.fire.service.alerts import _district_name
from zhizhi.scenarios.fire.service.config import (
    hotspot_config,
)
from zhizhi.scenarios.fire.service.static import _propose_from_cluster

# --- verification and static sources ---------------------------------------------------------------------


def get_cluster(session: Session, cluster_id: int) -> HotspotCluster:
    """The cluster ``cluster_id``; raises NotFound."""
    cl = session.get(HotspotCluster, cluster_id)
    if cl is None:
        raise NotFound(f"hotspot cluster {cluster_id} not found")
    return cl


def record_outcome(
    session: Session, actor: Actor, cluster_id: int, outcome: str, note: str = ""
) -> HotspotCluster:
    """Record the verification outcome (核查结论) of a cluster: one of ``data/hotspots.yaml`` outcomes,
    by key or Chinese name (真实火情 / 农事用火 / 工业热源 / 其他热源 / 误报).

    Sets verified_at/by and whether the verification deadline was met (``verified_on_time``). An
    outcome with ``proposes_static`` (工业热源) proposes a static heat source covering the cluster.
    The outcome is also written on the timeline of the cluster's events as a note (备注,
    event.service.add_note; "核查结论：农事用火（按时）：…"): on the primary event by the actor
    (who and when are the step's), on each neighbour-alert event by that district's platform naming
    the verifier, so every district alerted sees it. A note moves nothing and counts in no KPI.
    The actor needs ``fire.verify`` and ``event.read`` and must see the cluster's primary event (its
    data scope: the event's district, town or grid); a cluster without an event only its district's
    center.
    Raises Forbidden (role), NotFound (no such cluster, or out of scope), InvalidInput (unknown
    outcome), Conflict (an outcome is already recorded).
    """
    cfg = hotspot_config()
    require(actor, "fire.verify")  # a refusal by role first: it says nothing about the cluster
    cl = get_cluster(session, cluster_id)
    if cl.event_id is not None:
        events.get_event(session, actor, cl.event_id)  # NotFound outside the actor's scope
    elif scope_of(actor) != Scope("district", cl.district_code):
        raise NotFound(f"hotspot cluster {cluster_id} not found")
    try:
        o: HotspotOutcome = cfg.outcome(outcome)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("outcome", str(e))]) from None
    if cl.outcome is not None:
        raise Conflict(
            f"cluster {cl.id} already has the outcome {cfg.outcome(cl.outcome).name} "
            f"(recorded by {cl.verified_by} at 北京时间 {hs.beijing(cl.verified_at or cl.opened_at)})"
        )
    now = ztime.utcnow()
    cl.outcome, cl.outcome_note = o.key, note
    cl.verified_at, cl.verified_by = now, actor.name
    cl.verified_on_time = now <= cl.verify_due_at
    if o.proposes_static:
        _propose_from_cluster(session, cl, o, actor, note, now)
    session.flush()
    _note_outcome(session, actor, cl, o, note)
    return cl


def outcome_text(o: HotspotOutcome, on_time: bool, note: str = "", by: str | None = None) -> str:
    """The timeline note of a verification outcome:
    ``核查结论：<name>（按时|超时[，<by> 记录]）[：<note>]``."""
    who = f"，{by} 记录" if by else ""
    text = f"核查结论：{o.name}（{'按时' if on_time else '超时'}{who}）"
    return text + (f"：{note.strip()}" if note.strip() else "")


def _note_outcome(session: Session, actor: Actor, cl: HotspotCluster, o: HotspotOutcome, note: str) -> None:
    """Write the outcome on the timelines of the cluster's events (see :func:`record_outcome`)."""
    on_time = bool(cl.verified_on_time)
    data = {"kind": "hotspot_outcome", "cluster_id": cl.id, "outcome": o.key, "on_time": on_time}
    if cl.event_id is not None:
        events.add_note(session, actor, cl.event_id, outcome_text(o, on_time, note), data)
    alerts = session.scalars(
        select(HotspotAlert).where(HotspotAlert.cluster_id == cl.id).order_by(HotspotAlert.id)
    ).all()
    for a in alerts:
        if a.event_id is None or a.event_id == cl.event_id:
            continue
        platform = events.system_actor(a.district_code)
        by = f"{_district_name(session, cl.district_code)}{actor.name}"
        events.add_note(session, platform, a.event_id, outcome_text(o, on_time, note, by), data)


def cluster_read(cl: HotspotCluster) -> ClusterRead:
    """The cluster as its read model."""
    return ClusterRead.model_validate(cl)
