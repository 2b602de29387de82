"""Background job of the event domain: the SLA sweep (时限巡检: 预警, 超期, 催办, 督办, 升级).

The sweep is a pure function of the database and the time ``as_of``: for the node each event is at
now, running it every minute or once after a week of downtime reaches the same state, issuing each
reminder, 超时督办 and escalation exactly once (idempotent: flags on the event and a unique key on
督办 rows). Rows it writes carry the time the rule fired (the deadline), not the time the sweep ran.
A node the event has already left is not judged afterwards: its lateness is on the timeline
(``EventStep.overdue``) and in ``Event.ever_overdue``, set by the move itself. Pre-plan tasks
(联动任务) past their deadline are noted once on their event's timeline (联动任务超时,
``EventTask.reminded_at``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.errors import FieldError, InvalidInput
from zhizhi.event import rules
from zhizhi.event.models import Event, EventStep, EventTask, JobRun, Supervision
from zhizhi.event.schemas import EARLIEST
from zhizhi.event.service import _parse_limit
from zhizhi.event.service.preplan import TASK_OVERDUE_ACTION, unit_names
from zhizhi.org import service as org


def _escalation_target(ev: Event, level: int) -> str:
    """Who an overdue event escalates to: level 1 → the town center when a town-level unit (grid,
    board, post) holds it, else the district center; level 2 → the district center (网格 → 镇街 → 区)."""
    district_center = f"{ev.district_code}-{org.CENTER_SUFFIX}"
    if level >= 2 or not ev.town_code:
        return district_center
    town_center = f"{ev.town_code}-{org.TOWN_CENTER_SUFFIX}"
    # a unit inside the town: its boards and posts (town code + suffix), villages and grids (NBS code
    # sharing the town's first 9 digits: 6 district + 3 town)
    if ev.unit_code and ev.unit_code != town_center and ev.unit_code[:9] == ev.town_code[:9]:
        return town_center
    return district_center


def _effective_limit(entered: datetime, deadline: datetime, amount: float, clock: str) -> tuple[float, str]:
    """The limit actually running at a node: ``amount`` on ``clock``, or, when an approved 延期
    moved the deadline, the time from ``entered`` to ``deadline`` on that clock (same unit)."""
    if deadline == ztime.deadline(entered, amount, clock):
        return amount, clock
    return ztime.elapsed(entered, deadline, clock), clock


COUNT_KEYS = ("checked", "due_soon", "overdue", "reminded", "supervised", "escalated", "tasks_overdue")
RETRIES = 3
"""Attempts per batch when users move events while the sweep runs (optimistic-lock conflicts)."""


def sweep(
    session: Session,
    as_of: datetime | None = None,
    batch: int = 1000,
    between_batches: Callable[[], None] | None = None,
) -> dict[str, Any]:
    """Run the SLA sweep as of ``as_of`` (UTC, default now) over all open events with a deadline.

    Returns counts ``{"checked", "due_soon", "overdue", "reminded", "supervised", "escalated",
    "tasks_overdue"}`` and records a :class:`JobRun`. 预警 fires at ``due_soon_fraction`` (default
    80 %) of the node limit, 超时督办 (level 1) at the deadline, escalation (level 2) at twice the
    limit. The limit is the node's own limit, or the extended one after an approved 延期 (the time
    from entering the node to the current deadline, on the limit's clock); the 五色 colour is
    measured against it too. The 督办 reason is written for people (rules.overdue_reason: node
    label, limit, clock), the same facts for programs in the step's ``data``. Then each open
    pre-plan task past its deadline is noted once on its event (``tasks_overdue``,
    :func:`_note_overdue_tasks`).

    Each batch of ``batch`` events is written inside a SAVEPOINT; when a user moved one of them
    between the sweep reading and writing it (the optimistic lock refuses the write), the batch is
    read again and redone, up to :data:`RETRIES` times, so it is judged at its new node.
    ``between_batches`` is called after each batch (the server commits there and lets other writers
    in, so a long sweep never holds SQLite's write lock for more than one batch).
    Raises InvalidInput for an ``as_of`` in the future or before 2000 (it would write made-up
    times into live data); StaleDataError only if a batch keeps conflicting.
    """
    real_now = ztime.utcnow()
    if as_of is not None:
        aware = as_of if as_of.tzinfo is not None else as_of.replace(tzinfo=ztime.LOCAL_TZ)
        if aware > real_now + timedelta(minutes=1):
            raise InvalidInput(
                "the sweep judges deadlines up to now; as_of cannot be in the future",
                [FieldError("as_of", "in the future")],
            )
        if aware < EARLIEST:
            raise InvalidInput("as_of must be on or after 2000-01-01", [FieldError("as_of", "too early")])
    now = ztime.to_utc(as_of) if as_of else real_now
    frac = get_settings().due_soon_fraction
    run = JobRun(job="sla_sweep", started_at=ztime.utcnow(), as_of=now, status="running", counts={})
    session.add(run)
    session.flush()
    counts = dict.fromkeys(COUNT_KEYS, 0)
    open_nodes = [n.value for n in rules.OPEN_NODES]
    last_id = 0
    while True:
        for attempt in range(1, RETRIES + 1):
            got = dict.fromkeys(COUNT_KEYS, 0)
            savepoint = session.begin_nested()
            try:
                evs = session.scalars(
                    select(Event)
                    .where(
                        Event.id > last_id,
                        Event.node.in_(open_nodes),
                        Event.node_deadline.is_not(None),
                        Event.merged_into_id.is_(None),
                        or_(Event.next_check_at.is_(None), Event.next_check_at <= now),
                    )
                    .order_by(Event.id)
                    .limit(batch)
                ).all()
                _sweep_batch(session, evs, now, frac, got)
                session.flush()
                savepoint.commit()
                break
            except StaleDataError:
                savepoint.rollback()
                if attempt == RETRIES:
                    raise
        if not evs:
            break
        last_id = evs[-1].id
        for k in COUNT_KEYS:
            counts[k] += got[k]
        if between_batches is not None:
            between_batches()
    counts["tasks_overdue"] = _note_overdue_tasks(session, now, batch, between_batches)
    run.status = "ok"
    run.finished_at = ztime.utcnow()
    run.counts = counts
    session.flush()
    return counts


def _sweep_batch(
    session: Session, evs: Sequence[Event], now: datetime, frac: float, counts: dict[str, int]
) -> None:
    """Judge one batch of events as of ``now``: colour, 预警 reminder, 超时督办 and escalation."""
    if not evs:
        return
    existing = {
        (s.event_id, s.node_seq, s.level)
        for s in session.scalars(
            select(Supervision).where(
                Supervision.event_id.in_([e.id for e in evs]), Supervision.kind == "overdue"
            )
        )
    }
    for ev in evs:
        counts["checked"] += 1
        lim = _parse_limit(ev.node_limit)
        if lim is None or ev.node_deadline is None:
            continue
        amount, clock = _effective_limit(ev.node_entered_at, ev.node_deadline, *lim)
        used = ztime.elapsed(ev.node_entered_at, now, clock)
        ev.colour = rules.colour(used, amount)
        share = used / amount if amount > 0 else 0.0
        ev.next_check_at = rules.next_check(
            ev.node_entered_at, ev.node_deadline, now, amount, clock, share, frac
        )
        if share >= frac and not ev.due_soon:
            ev.due_soon = True
            t = ztime.deadline(ev.node_entered_at, amount * frac, clock)
            session.add(
                EventStep(
                    event_id=ev.id,
                    at=t,
                    action="remind",
                    from_node=ev.node,
                    to_node=ev.node,
                    actor_name="系统",
                    actor_role="system",
                    target_unit_code=ev.unit_code,
                    comment="临期预警: 自动催办",
                    limit=ev.node_limit,
                    used=amount * frac,
                    data={"auto": True, "node_seq": ev.node_seq},
                )
            )
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
            reason = rules.overdue_reason(ev.node, amount, clock, float(level))
            session.add(
                Supervision(
                    event_id=ev.id,
                    node_seq=ev.node_seq,
                    kind="overdue",
                    level=level,
                    reason=reason,
                    target_unit_code=target,
                    issued_at=fired,
                    issued_by="系统",
                    reply_due_at=ztime.deadline(fired, 1, "working_days"),
                )
            )
            session.add(
                EventStep(
                    event_id=ev.id,
                    at=fired,
                    action="supervise" if level == 1 else "escalate",
                    from_node=ev.node,
                    to_node=ev.node,
                    actor_name="系统",
                    actor_role="system",
                    target_unit_code=target,
                    comment=f"超时督办 (第{level}级) → {target}",
                    limit=ev.node_limit,
                    used=amount * level,
                    overdue=True,
                    data={
                        "auto": True,
                        "level": level,
                        "node": ev.node,
                        "limit_amount": amount,
                        "clock": clock,
                        "share": float(level),
                        "reason": reason,
                    },
                )
            )
            ev.supervised = True
            ev.escalation_level = max(ev.escalation_level, level)
            counts["supervised" if level == 1 else "escalated"] += 1


def task_overdue_comment(unit: str, task: str, deadline: datetime) -> str:
    """The note on an event whose pre-plan task is past its deadline: "联动任务超时：<unit>：<task>（时限
    <deadline, Beijing time YYYY-MM-DD HH:MM>）". ``unit``: the task unit's name (or code)."""
    return f"联动任务超时：{unit}：{task}（时限 {ztime.to_local(deadline):%Y-%m-%d %H:%M}）"


def _note_overdue_tasks(
    session: Session, now: datetime, batch: int, between_batches: Callable[[], None] | None
) -> int:
    """Note once on its event's timeline each open pre-plan task (联动任务) past its deadline as of
    ``now``: a ``task_overdue`` step by the system, at the deadline (the time the rule fired), moving
    nothing (as a note), and ``EventTask.reminded_at`` set to that time so it is noted once. Only
    events at an open node (drills included, as the sweep judges them; an ended event's tasks are
    closed). A task completed meanwhile is left alone (the update is conditional). Returns how many
    tasks were noted."""
    open_nodes = [n.value for n in rules.OPEN_NODES]
    noted, last_id = 0, 0
    while True:
        rows = session.execute(
            select(EventTask, Event.node)
            .join(Event, Event.id == EventTask.event_id)
            .where(
                EventTask.id > last_id,
                EventTask.status == "open",
                EventTask.deadline.is_not(None),
                EventTask.deadline < now,
                EventTask.reminded_at.is_(None),
                Event.node.in_(open_nodes),
            )
            .order_by(EventTask.id)
            .limit(batch)
        ).all()
        if not rows:
            return noted
        names = unit_names(session, [t.unit_code for t, _ in rows])
        with session.begin_nested():
            for task, node in rows:
                fired = task.deadline
                assert fired is not None  # selected so
                claimed = session.execute(
                    update(EventTask)
                    .where(
                        EventTask.id == task.id, EventTask.status == "open", EventTask.reminded_at.is_(None)
                    )
                    .values(reminded_at=fired)
                    .execution_options(synchronize_session="fetch")
                )
                if getattr(claimed, "rowcount", 0) != 1:
                    continue
                session.add(
                    EventStep(
                        event_id=task.event_id,
                        at=fired,
                        action=TASK_OVERDUE_ACTION,
                        from_node=node,
                        to_node=node,
                        actor_name="系统",
                        actor_role="system",
                        target_unit_code=task.unit_code,
                        overdue=True,
                        comment=task_overdue_comment(
                            names.get(task.unit_code, task.unit_code), task.task, fired
                        ),
                        data={
                            "auto": True,
                            "task_id": task.id,
                            "task_unit_code": task.unit_code,
                            "deadline": fired.isoformat(),
                        },
                    )
                )
                noted += 1
            session.flush()
        last_id = rows[-1][0].id
        if between_batches is not None:
            between_batches()
