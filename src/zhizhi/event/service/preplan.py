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
from zhizhi.event.service.read import get_event, scoped
from zhizhi.event.service.routing import unit_in_town
from zhizhi.org import service as org

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
    center (``event.task_any``). Raises NotFound (unknown or out of scope), Forbidden, Conflict (done)."""
    task = session.get(EventTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    try:
        get_event(session, actor, task.event_id, own_reports=False)
    except NotFound:
        raise NotFound(f"task {task_id} not found") from None  # the same answer as an unknown id
    if not may_complete_task(actor, task):
        raise Forbidden(f"task {task_id} belongs to {task.unit_code}")
    if task.status != "open":  # done, or closed with its ended drill event (close_open_tasks)
        raise Conflict(f"task {task_id} is already {task.status}")
    task.status, task.done_at, task.comment = "done", ztime.utcnow(), comment
    session.flush()
    return task


TASK_STATUSES = ("open", "done", "closed")
"""A task's statuses: ``open``; ``done`` (its unit or a dispatcher marked it); ``closed`` (its drill
event ended first, :func:`close_open_tasks`)."""


def list_tasks(
    session: Session, actor: Actor, status: str | None = "open", limit: int = 50, offset: int = 0
) -> tuple[int, list[TaskItem]]:
    """The pre-plan tasks (联动任务) of ``actor``'s unit, on events in its scope (another town's event
    included when the task is the unit's); holders of ``event.task_any`` (the district center) get
    every task on the events of their scope. ``status``: one of :data:`TASK_STATUSES`, or None for
    all. Open tasks come by deadline (soonest first), others newest first. Titles are masked as in
    the event list. Returns ``(total, page)``; raises InvalidInput for an unknown status."""
    require(actor, "event.read")
    if status is not None and status not in TASK_STATUSES:
        why = f'unknown status "{status}"; one of {", ".join(TASK_STATUSES)}'
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
                can_complete=task.status == "open" and may_complete_task(actor, task),
            )
        )
    return total, items


DRILL_END_COMMENT = "演练结束，未完成的任务随演练事件关闭"
"""The comment on a drill's pre-plan task closed because its event ended (:func:`close_open_tasks`)."""


def close_open_tasks(session: Session, event_id: int, at: datetime, comment: str) -> list[EventTask]:
    """Close the pre-plan tasks still open on event ``event_id`` because the event ended: status
    ``closed`` (not ``done``: nobody reported them done, so they time no drill node), ``done_at`` =
    ``at`` (UTC, the event's end), ``comment``. Called by the loop when a drill event (实战演练)
    reaches a done node (event.service.loop.transition). Returns the tasks closed."""
    open_tasks = session.scalars(
        select(EventTask)
        .where(EventTask.event_id == event_id, EventTask.status == "open")
        .order_by(EventTask.id)
    ).all()
    for task in open_tasks:
        task.status, task.done_at, task.comment = "closed", at, comment
    session.flush()
    return list(open_tasks)
