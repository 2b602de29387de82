"""Background job of the event domain: the SLA sweep (时限巡检: 预警, 超期, 催办, 督办, 升级).

The sweep is a pure function of the database and the time ``as_of``: it can run every minute or
once after a week of downtime and reaches the same state, issuing each reminder, 超时督办 and
escalation exactly once (idempotent: flags on the event and a unique key on 督办 rows). Rows it
writes carry the time the rule fired (the deadline), not the time the sweep ran.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.event import rules
from zhizhi.event.models import Event, EventStep, JobRun, Supervision
from zhizhi.event.service import _parse_limit
from zhizhi.org import service as org


def _escalation_target(ev: Event, level: int) -> str:
    """Who an overdue event escalates to: level 1 → the town center when a town-level unit (grid,
    board, post) holds it, else the district center; level 2 → the district center (网格 → 镇街 → 区)."""
    district_center = f"{ev.district_code}-{org.CENTER_SUFFIX}"
    if level >= 2 or not ev.town_code:
        return district_center
    town_center = f"{ev.town_code}-{org.TOWN_CENTER_SUFFIX}"
    if ev.unit_code and ev.unit_code.startswith(ev.town_code) and ev.unit_code != town_center:
        return town_center
    return district_center


def sweep(session: Session, as_of: datetime | None = None, batch: int = 5000) -> dict[str, Any]:
    """Run the SLA sweep as of ``as_of`` (UTC, default now) over all open events with a deadline.

    Returns counts ``{"checked", "due_soon", "overdue", "reminded", "supervised", "escalated"}`` and
    records a :class:`JobRun`. 预警 fires at ``due_soon_fraction`` (default 80 %) of the node limit,
    超时督办 (level 1) at the deadline, escalation (level 2) at twice the limit.
    """
    now = ztime.to_utc(as_of) if as_of else ztime.utcnow()
    frac = get_settings().due_soon_fraction
    run = JobRun(job="sla_sweep", started_at=ztime.utcnow(), as_of=now, status="running", counts={})
    session.add(run)
    session.flush()
    counts = dict.fromkeys(("checked", "due_soon", "overdue", "reminded", "supervised", "escalated"), 0)
    open_nodes = [n.value for n in rules.OPEN_NODES]
    last_id = 0
    while True:
        evs = session.scalars(
            select(Event).where(Event.id > last_id, Event.node.in_(open_nodes), Event.node_deadline.is_not(None),
                                Event.merged_into_id.is_(None))
            .order_by(Event.id).limit(batch)).all()
        if not evs:
            break
        last_id = evs[-1].id
        existing = {(s.event_id, s.node_seq, s.level) for s in session.scalars(
            select(Supervision).where(Supervision.event_id.in_([e.id for e in evs]), Supervision.kind == "overdue"))}
        for ev in evs:
            counts["checked"] += 1
            lim = _parse_limit(ev.node_limit)
            if lim is None or ev.node_deadline is None:
                continue
            amount, clock = lim
            used = ztime.elapsed(ev.node_entered_at, now, clock)
            ev.colour = rules.colour(used, amount)
            share = used / amount if amount > 0 else 0.0
            if share >= frac and not ev.due_soon:
                ev.due_soon = True
                t = ztime.deadline(ev.node_entered_at, amount * frac, clock)
                session.add(EventStep(event_id=ev.id, at=t, action="remind", from_node=ev.node, to_node=ev.node,
                                      actor_name="系统", actor_role="system", target_unit_code=ev.unit_code,
                                      comment="临期预警: 自动催办", limit=ev.node_limit, used=amount * frac,
                                      data={"auto": True, "node_seq": ev.node_seq}))
                counts["reminded"] += 1
            if ev.due_soon:
                counts["due_soon"] += 1
            if now <= ev.node_deadline:
                continue
            ev.overdue = True
            ev.ever_overdue = True
            counts["overdue"] += 1
            levels = [(1, ev.node_deadline)]
            if share >= 2:
                levels.append((2, ztime.deadline(ev.node_entered_at, 2 * amount, clock)))
            for level, fired in levels:
                if (ev.id, ev.node_seq, level) in existing:
                    continue
                target = _escalation_target(ev, level)
                session.add(Supervision(event_id=ev.id, node_seq=ev.node_seq, kind="overdue", level=level,
                                        reason=f"{ev.node} 超过时限 {ev.node_limit}", target_unit_code=target,
                                        issued_at=fired, issued_by="系统",
                                        reply_due_at=ztime.deadline(fired, 1, "working_days")))
                session.add(EventStep(event_id=ev.id, at=fired, action="supervise" if level == 1 else "escalate",
                                      from_node=ev.node, to_node=ev.node, actor_name="系统", actor_role="system",
                                      target_unit_code=target, comment=f"超时督办 (第{level}级) → {target}",
                                      limit=ev.node_limit, used=amount * level, overdue=True,
                                      data={"auto": True, "level": level}))
                ev.supervised = True
                ev.escalation_level = max(ev.escalation_level, level)
                counts["supervised" if level == 1 else "escalated"] += 1
        session.flush()
    run.status = "ok"
    run.finished_at = ztime.utcnow()
    run.counts = counts
    session.flush()
    return counts
