"""Pre-plans (预案): tasks for several units on one event (联动任务), completing and listing them."""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, can_full_view, has_permission, mask_text, require
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event import rules
from zhizhi.event.models import (
    Event,
    EventStep,
    EventTask,
    PrePlan,
)
from zhizhi.event.rules import Node
from zhizhi.event.schemas import TaskItem
from zhizhi.event.service.notes import side_step
from zhizhi.event.service.read import get_event, scoped
from zhizhi.event.service.routing import unit_in_town
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit

# --- pre-plans (预案) ------------------------------------------------------------------------------


@lru_cache
def shipped_preplans() -> list[dict[str, Any]]:
    """Pre-plans shipped in ``event/data/preplans.yaml``."""
    doc = yaml.safe_load(
        (resources.files("zhizhi.event") / "data" / "preplans.yaml").read_text(encoding="utf-8")
    )
    return list(doc["preplans"])


def ensure_preplans(session: Session) -> None:
    """Insert the shipped pre-plans that are not in the database yet."""
    have = set(session.scalars(select(PrePlan.code)).all())
    for p in shipped_preplans():
        if p["code"] not in have:
            session.add(
                PrePlan(
                    code=p["code"],
                    name=p["name"],
                    trigger_categories=p.get("trigger_categories", []),
                    tasks=p["tasks"],
                )
            )
    session.flush()


def start_preplan(session: Session, actor: Actor, event_id: int, code: str) -> list[EventTask]:
    """Start pre-plan ``code`` on an event: one task per (unit, role, task) row, with a deadline.

    Unit ``town`` means the event's town center; ``grid`` the event's grid; otherwise a department
    abbreviation of the event's district. Raises NotFound/Forbidden/Conflict/InvalidInput."""
    require(actor, "event.preplan")
    ev = get_event(session, actor, event_id, own_reports=False, own_tasks=False)
    ensure_preplans(session)
    plan = session.scalar(select(PrePlan).where(PrePlan.code == code))
    if plan is None:
        raise NotFound(f'unknown pre-plan "{code}"')
    running = session.scalar(
        select(EventTask.id).where(
            EventTask.event_id == ev.id, EventTask.preplan_id == plan.id, EventTask.status == "open"
        )
    )
    if running is not None:
        raise Conflict(f'pre-plan "{code}" is already running on event {ev.id}')
    if Node(ev.node) not in rules.OPEN_NODES:
        raise Conflict(f"event {ev.id} is at node {ev.node}; a pre-plan needs an open event")
    t = ztime.utcnow()
    out = []
    for row in plan.tasks:
        u = row["unit"]
        if u == "town":
            unit = f"{ev.town_code}-{org.TOWN_CENTER_SUFFIX}" if ev.town_code else None
        elif u == "grid":
            unit = ev.grid_code
        else:
            unit = f"{ev.district_code}-{u}"
        if unit is None:
            raise InvalidInput(f'pre-plan "{code}" needs a {u} but event {ev.id} has none')
        task = EventTask(
            event_id=ev.id,
            preplan_id=plan.id,
            unit_code=unit,
            role=row.get("role", ""),
            task=row["task"],
            created_at=t,
            deadline=ztime.deadline(t, float(row.get("hours", 2)), "continuous"),
        )
        session.add(task)
        out.append(task)
    session.add(
        EventStep(
            event_id=ev.id,
            at=t,
            action="preplan",
            from_node=ev.node,
            to_node=ev.node,
            actor_id=actor.id,
            actor_name=actor.name,
            actor_role=actor.role,
            unit_code=actor.unit_code,
            comment=f"启动预案 {plan.name}",
            data={"preplan": code, "tasks": len(out)},
        )
    )
    session.flush()
    return out


def may_complete_task(actor: Actor, task: EventTask) -> bool:
    """Whether ``actor`` may mark ``task`` done, its event being in the actor's scope: the task's own
    unit (also a town or grid unit tasked on another town's event), a town dispatcher
    (``event.dispatch``) for units of its town, or the district center (``event.task_any``). The
    task's status is not looked at (:func:`complete_task` refuses a finished one)."""
    own_town = (
        actor.town_code is not None
        and has_permission(actor, "event.dispatch")
        and unit_in_town(task.unit_code, actor.town_code)
    )
    return has_permission(actor, "event.task_any") or own_town or actor.unit_code == task.unit_code


def complete_task(session: Session, actor: Actor, task_id: int, comment: str = "") -> EventTask:
    """Mark a pre-plan task done: by its unit, a town dispatcher for units of the town, or the district
    center (``event.task_any``).

    Records who did it (``done_by``: the actor's display name and unit, :func:`actor_label`) and
    writes a ``task_done`` step (完成联动任务) on the event's timeline, comment
    ``"<task unit>：<task>（<comment>）"``; like a note (备注) the step moves nothing and does not bump
    the event's version. ``comment``: free text, trimmed, at most :data:`MAX_TASK_COMMENT` characters.
    Raises NotFound (unknown or out of scope), Forbidden, Conflict (the task is done or closed, or its
    event has ended: closed, evaluated, rejected or merged), InvalidInput (comment too long)."""
    task = session.get(EventTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    try:
        ev = get_event(session, actor, task.event_id, own_reports=False)
    except NotFound:
        raise NotFound(f"task {task_id} not found") from None  # the same answer as an unknown id
    if not may_complete_task(actor, task):
        raise Forbidden(f"task {task_id} belongs to {task.unit_code}")
    ended = Node(ev.node) in rules.DONE_NODES
    if task.status != "open":  # done, or closed with its ended event (close_open_tasks)
        why = f": its event {ev.id} has ended (node {ev.node})" if ended and task.status == "closed" else ""
        raise Conflict(f"task {task_id} is already {task.status}{why}", extra={"node": ev.node})
    if ended:  # a task left open by a version before close_open_tasks ran for every event
        raise Conflict(
            f"task {task_id} cannot be completed: its event {ev.id} has ended (node {ev.node}); "
            "an ended event's tasks close with it",
            extra={"node": ev.node},
            code="event.task_event_ended",
        )
    text = comment.strip()
    if len(text) > MAX_TASK_COMMENT:
        why = f"a comment is at most {MAX_TASK_COMMENT} characters, got {len(text)}"
        raise InvalidInput(why, [FieldError("comment", why)])
    t = ztime.utcnow()
    task.status, task.done_at, task.comment = "done", t, text
    task.done_by = actor_label(session, actor)
    unit = unit_names(session, [task.unit_code]).get(task.unit_code, task.unit_code)
    comment_ = f"{unit}：{task.task}" + (f"（{text}）" if text else "")
    data = {"task_id": task.id, "task_unit_code": task.unit_code}
    side_step(session, actor, ev, TASK_DONE_ACTION, comment_, data, at=t)
    return task


MAX_TASK_COMMENT = 4000
"""Longest comment on a completed task, characters (as a note, notes.MAX_NOTE)."""

TASK_DONE_ACTION = "task_done"
"""The timeline action of a completed pre-plan task (完成联动任务); it moves nothing."""

TASK_OVERDUE_ACTION = "task_overdue"
"""The timeline action the SLA sweep writes once for an open task past its deadline (联动任务超时)."""


def actor_label(session: Session, actor: Actor) -> str:
    """Who did something, for people: ``"<display name>（<unit name>）"`` (the unit's code when the
    unit is unknown; the name alone for an actor without a unit), at most 160 characters."""
    if not actor.unit_code:
        return actor.name[:160]
    unit = unit_names(session, [actor.unit_code]).get(actor.unit_code, actor.unit_code)
    return f"{actor.name}（{unit}）"[:160]


def unit_names(session: Session, codes: list[str]) -> dict[str, str]:
    """Org-unit names by code (``{code: name}``), for those of ``codes`` found."""
    rows = session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(set(codes))))
    return {c: n for c, n in rows}


def task_overdue(task: EventTask, now: datetime | None = None) -> bool:
    """Whether ``task`` is open and past its deadline as of ``now`` (UTC, default now)."""
    return task.status == "open" and task.deadline is not None and (now or ztime.utcnow()) > task.deadline


TASK_STATUSES = ("open", "done", "closed")
"""A task's statuses: ``open``; ``done`` (its unit or a dispatcher marked it); ``closed`` (its event
ended first, :func:`close_open_tasks`). ``list_tasks`` also takes ``all``: every status."""


def list_tasks(
    session: Session, actor: Actor, status: str | None = "open", limit: int = 50, offset: int = 0
) -> tuple[int, list[TaskItem]]:
    """The pre-plan tasks (联动任务) of ``actor``'s unit, on events in its scope (another town's event
    included when the task is the unit's); holders of ``event.task_any`` (the district center) get
    every task on the events of their scope. ``status``: one of :data:`TASK_STATUSES`, or ``all``
    or None for every status. Open tasks come by deadline (soonest first), others newest first.
    Titles are masked as in the event list; ``overdue`` marks an open task past its deadline now.
    Returns ``(total, page)``; raises InvalidInput for an unknown status."""
    require(actor, "event.read")
    if status == "all":
        status = None
    if status is not None and status not in TASK_STATUSES:
        why = f'unknown status "{status}"; one of {", ".join(TASK_STATUSES)} or all'
        raise InvalidInput(why, [FieldError("status", why)])
    both: Any = select(EventTask, Event).join(Event, Event.id == EventTask.event_id)
    q = scoped(actor, both)
    if not has_permission(actor, "event.task_any"):
        q = q.where(EventTask.unit_code == actor.unit_code)
    if status is not None:
        q = q.where(EventTask.status == status)
    total = (
        session.scalar(select(func.count()).select_from(q.with_only_columns(EventTask.id).subquery())) or 0
    )
    order = (
        (EventTask.deadline.asc().nulls_last(), EventTask.id.asc())
        if status == "open"
        else (EventTask.created_at.desc(), EventTask.id.desc())
    )
    full = can_full_view(actor)
    now = ztime.utcnow()
    items = []
    for task, ev in session.execute(q.order_by(*order).limit(limit).offset(offset)).all():
        items.append(
            TaskItem(
                id=task.id,
                event_id=ev.id,
                event_title=ev.title if full else mask_text(ev.title) or "",
                event_node=ev.node,
                event_category_code=ev.category_code,
                event_town_code=ev.town_code,
                event_is_drill=ev.is_drill,
                unit_code=task.unit_code,
                role=task.role,
                task=task.task,
                status=task.status,
                created_at=task.created_at,
                deadline=task.deadline,
                done_at=task.done_at,
                comment=(task.comment if full else mask_text(task.comment)) or "",
                done_by=task.done_by,
                overdue=task_overdue(task, now),
                can_complete=task.status == "open"
                and Node(ev.node) not in rules.DONE_NODES
                and may_complete_task(actor, task),
            )
        )
    return total, items


DRILL_END_COMMENT = "演练结束，未完成的任务随演练事件关闭"
"""The comment on a drill's pre-plan task closed because its event ended (:func:`close_open_tasks`)."""

EVENT_END_COMMENT = "事件已办结，未完成的任务随事件关闭"
"""The comment on a real (non-drill) event's pre-plan task closed because the event ended."""


def end_comment(ev: Event) -> str:
    """The comment on ``ev``'s open tasks closed as it ends: :data:`DRILL_END_COMMENT` for a drill
    (实战演练), :data:`EVENT_END_COMMENT` otherwise."""
    return DRILL_END_COMMENT if ev.is_drill else EVENT_END_COMMENT


def close_open_tasks(session: Session, event_id: int, at: datetime, comment: str) -> list[EventTask]:
    """Close the pre-plan tasks still open on event ``event_id`` because the event ended: status
    ``closed`` (not ``done``: nobody reported them done, so they time no drill node), ``done_at`` =
    ``at`` (UTC, the event's end), ``comment`` (:func:`end_comment`). Called by the loop when any
    event, drill (实战演练) or real, reaches a done node (rules.DONE_NODES: closed, evaluated,
    rejected, merged; event.service.loop.transition and merge); closing is never refused for open
    tasks. Returns the tasks closed."""
    open_tasks = session.scalars(
        select(EventTask)
        .where(EventTask.event_id == event_id, EventTask.status == "open")
        .order_by(EventTask.id)
    ).all()
    for task in open_tasks:
        task.status, task.done_at, task.comment = "closed", at, comment
    session.flush()
    return list(open_tasks)
