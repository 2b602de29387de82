"""Moves along the loop (闭环): transitions, 督办, merges."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, has_permission, require
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event import rules
from zhizhi.event.models import (
    Event,
    EventStep,
    MergeProposal,
    Supervision,
)
from zhizhi.event.rules import Node
from zhizhi.event.schemas import TransitionIn
from zhizhi.event.service.common import _enter, _parse_limit, district_center, held_by_district
from zhizhi.event.service.notify import changed
from zhizhi.event.service.preplan import close_open_tasks, end_comment
from zhizhi.event.service.read import MERGED_ACTIONS, get_event
from zhizhi.event.service.routing import (
    UNIT_ACTIONS,
    _unit_mode,
    check_dispatch_target,
    in_unit_scope,
    route,
)
from zhizhi.org.models import OrgUnit

# --- transitions -----------------------------------------------------------------------------------


def _was_escalated(session: Session, ev: Event) -> bool:
    """Whether a person passed ``ev`` up to the district (an ``escalate`` step of the loop; the SLA
    sweep's automatic second-level 督办 steps, also named ``escalate``, carry ``auto`` instead)."""
    rows = session.scalars(
        select(EventStep.data).where(EventStep.event_id == ev.id, EventStep.action == "escalate")
    ).all()
    return any(isinstance(d, dict) and d.get("escalated") for d in rows)


def transition(
    session: Session, actor: Actor, event_id: int, data: TransitionIn, at: datetime | None = None
) -> Event:
    """Make one move on the loop (see rules.TRANSITIONS) and record it on the timeline.

    ``at`` (UTC) back-dates the move; only the system role may (imports and replays).
    Raises NotFound (outside scope), Forbidden (role, or not the responsible unit), Conflict (wrong
    node, or ``expected_version`` differs: the body carries the current node and version),
    InvalidInput (missing or wrong field). Nothing changes when it raises.
    """
    ev = get_event(session, actor, event_id, own_reports=False, own_tasks=False)
    if data.expected_version is not None and data.expected_version != ev.version:
        raise Conflict(
            f"event {ev.id} changed meanwhile (version {ev.version}, you expected "
            f"{data.expected_version}); reload it",
            extra={"node": ev.node, "version": ev.version},
            code="event.stale_version",
        )
    if ev.merged_into_id is not None and data.action not in MERGED_ACTIONS:
        raise Conflict(
            f"event {ev.id} is merged into event {ev.merged_into_id}; act on that one",
            extra={
                "node": ev.node,
                "merged_into_id": ev.merged_into_id,
                "params": {"parent": str(ev.merged_into_id)},
            },
            code="event.merged",
        )
    try:
        tr = rules.check_transition(data.action, ev.node, actor.role, data.model_dump())
    except rules.TransitionError as e:
        err = [FieldError(e.field or "action", str(e))]
        extra = {"node": ev.node, "version": ev.version, "params": e.params}
        if e.status == 403:
            raise Forbidden(str(e), err, extra, code=e.code) from None
        if e.status == 409:
            raise Conflict(str(e), err, extra, code=e.code) from None
        raise InvalidInput(str(e), err, extra, code=e.code) from None
    if actor.scopes is not None:
        require(actor, tr.permission)  # an API token limited by its scopes
    if tr.action in UNIT_ACTIONS and not in_unit_scope(actor, ev):
        raise Forbidden(
            f"event {ev.id} is assigned to {ev.unit_code}, not to your unit {actor.unit_code}",
            extra={"node": ev.node, "version": ev.version, "params": {"label": tr.label}},
            code="event.not_your_unit",
        )
    now = ztime.utcnow()
    if at is not None:
        if not has_permission(actor, "event.backdate_step"):
            raise Forbidden("only the system may back-date a move")
        at = ztime.to_utc(at)
        if at < ev.node_entered_at:
            raise InvalidInput(
                f"time {at.isoformat()} is before the event entered node {ev.node} "
                f"({ev.node_entered_at.isoformat()})",
                [FieldError("at", "before the node began")],
            )
    t = at or now
    frm = Node(ev.node)
    lim = _parse_limit(ev.node_limit)
    used = ztime.elapsed(ev.node_entered_at, t, lim[1]) if lim else None
    late = bool(ev.node_deadline and t > ev.node_deadline)
    step = EventStep(
        event_id=ev.id,
        at=t,
        action=tr.action,
        from_node=frm.value,
        to_node=frm.value,
        actor_id=actor.id,
        actor_name=actor.name,
        actor_role=actor.role,
        unit_code=actor.unit_code or None,
        comment=data.comment,
        limit=ev.node_limit,
        used=used,
        overdue=late,
        data={},
    )
    if late:
        ev.ever_overdue = True
    _apply(session, actor, ev, tr, data, t, late, step)
    if tr.target is not None:
        _enter(ev, tr.target, t)
        step.to_node = ev.node
        if ev.node == Node.SIGNED.value and ev.handle_deadline is None:
            ev.handle_deadline = ev.node_deadline
        if Node(ev.node) in rules.DONE_NODES:  # an event's open tasks (联动任务) end with it
            close_open_tasks(session, ev.id, t, end_comment(ev))
    ev.version += 1  # a person's move is a new version; the sweep's flag updates are not
    session.add(step)
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        cur = session.get(Event, event_id)
        raise Conflict(
            f"event {event_id} was changed by someone else at the same time; reload it",
            extra={"node": cur.node if cur else None, "version": cur.version if cur else None},
        ) from None
    if tr.target is not None:
        _follow_parent(session, ev, step)
    changed(session, ev, tr.action)  # announced to live pages after the commit
    return ev


def _apply(
    session: Session,
    actor: Actor,
    ev: Event,
    tr: rules.Transition,
    data: TransitionIn,
    t: datetime,
    late: bool,
    step: EventStep,
) -> None:
    a = tr.action
    if a == "accept":
        ev.accepted_at = ev.accepted_at or t
    elif a == "register":
        if ev.registered_at is None:
            ev.registered_at = t
            ev.registered_on_time = not ev.ever_overdue
    elif a == "dispatch":
        district_wide = has_permission(actor, "event.any_unit")
        if held_by_district(ev) and not district_wide:
            raise Forbidden(
                f"event {ev.id} was passed up to the district center ({ev.unit_code}), which dispatches it",
                extra={"node": ev.node, "version": ev.version},
                code="event.held_by_district",
            )
        code, mode = route(session, ev) if data.unit_code in (None, "", "auto") else (data.unit_code, "")
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None or unit.district_code != ev.district_code:
            raise InvalidInput(
                f'unknown unit "{code}" in district {ev.district_code}',
                [FieldError("unit_code", f'unknown unit "{code}"')],
                code="event.unknown_unit",
            )
        check_dispatch_target(unit, ev.town_code)
        if not district_wide and unit.town_code != actor.town_code:
            raise Forbidden(
                f"a town center dispatches within its town; {code} is not in {actor.town_code}: "
                "pass it up to the district center instead (escalate, 上报区级)",
                [FieldError("unit_code", f"{code} is not a unit of town {actor.town_code}")],
                {"node": ev.node, "version": ev.version, "params": {"unit": unit.name}},
                code="event.dispatch_outside_town",
            )
        ev.unit_code = code
        ev.dispatch_mode = mode or _unit_mode(unit)
        ev.dispatched_at = t
        ev.dispatch_count += 1
        step.target_unit_code = code
    elif a == "sign":
        ev.signed_at = ev.signed_at or t
    elif a == "return":
        ev.return_count += 1
        step.target_unit_code = ev.unit_code
        # back to the command center that dispatched it: the district center after an escalation
        ev.unit_code = district_center(ev) if _was_escalated(session, ev) else None
        ev.handle_deadline = None
    elif a == "escalate":
        if held_by_district(ev):
            raise Conflict(
                f"event {ev.id} is already with the district center",
                extra={"node": ev.node, "version": ev.version},
                code="event.already_escalated",
            )
        if ev.town_code is None:
            raise Conflict(
                f"event {ev.id} is in no town: the district center dispatches it already",
                extra={"node": ev.node, "version": ev.version},
                code="event.no_town",
            )
        ev.unit_code = district_center(ev)
        step.target_unit_code = ev.unit_code
        step.data = {"escalated": True, "suggested_unit_code": ev.suggested_unit_code}
    elif a == "handle":
        ev.handled_at = t
        if ev.dispatched_at is not None:
            ev.handle_hours = (t - ev.dispatched_at).total_seconds() / 3600
        ev.handled_on_time = bool(ev.handle_deadline is None or t <= ev.handle_deadline)
    elif a == "verify_pass":
        ev.verified_at = t
    elif a == "verify_fail":
        ev.rework_count += 1
        ev.handled_on_time = None
    elif a == "close":
        ev.closed_at = t
        ev.closed_on_time = bool(ev.handled_on_time) and not ev.parked
    elif a == "evaluate":
        ev.satisfaction = data.satisfaction
        ev.evaluated_at = t
    elif a == "reopen":
        ev.reopen_count += 1
        ev.closed_at = None
        ev.closed_on_time = None
        ev.handled_on_time = None
        ev.handle_deadline = None
        ev.dispatched_at = t
        ev.dispatch_count += 1
        step.target_unit_code = ev.unit_code
    elif a == "park":
        ev.parked = True
    elif a == "unpark":
        ev.parked = False
    elif a == "request_extension":
        if ev.extension_pending:
            raise Conflict(f"event {ev.id} already has an extension request pending")
        ev.extension_pending = True
        step.data = {"extra_amount": data.extra_amount}
    elif a in {"approve_extension", "deny_extension"}:
        if not ev.extension_pending:
            raise Conflict(f"event {ev.id} has no extension request pending")
        req = session.scalar(
            select(EventStep)
            .where(EventStep.event_id == ev.id, EventStep.action == "request_extension")
            .order_by(EventStep.id.desc())
        )
        ev.extension_pending = False
        if a == "approve_extension" and req is not None and ev.node_deadline is not None:
            lim = _parse_limit(ev.node_limit)
            asked = float(req.data.get("extra_amount") or 0)
            extra = float(data.extra_amount or asked)
            if extra > asked:
                why = f"cannot grant more than was asked ({asked:g} in the limit's unit)"
                raise InvalidInput(why, [FieldError("extra_amount", why)])
            if lim:
                new = ztime.deadline(ev.node_deadline, extra, lim[1])
                step.data = {
                    "extra_amount": extra,
                    "old_deadline": ev.node_deadline.isoformat(),
                    "new_deadline": new.isoformat(),
                }
                if ev.handle_deadline == ev.node_deadline:
                    ev.handle_deadline = new
                ev.node_deadline = new
                ev.next_check_at = None
                ev.overdue = t > new
    elif a == "supervise":
        kind = data.kind or ("leader" if actor.role == "leader" else "key")
        _supervise(session, ev, kind, 1, data.comment, actor.name, t, ev.unit_code)
    elif a == "remind":
        step.target_unit_code = ev.unit_code


def _supervise(
    session: Session, ev: Event, kind: str, level: int, reason: str, by: str, t: datetime, target: str | None
) -> Supervision | None:
    exists = session.scalar(
        select(Supervision.id).where(
            Supervision.event_id == ev.id,
            Supervision.node_seq == ev.node_seq,
            Supervision.kind == kind,
            Supervision.level == level,
        )
    )
    if exists is not None and kind == "overdue":
        return None
    if exists is not None:
        level = (
            session.scalar(
                select(func.max(Supervision.level)).where(
                    Supervision.event_id == ev.id,
                    Supervision.node_seq == ev.node_seq,
                    Supervision.kind == kind,
                )
            )
            or 0
        ) + 1
    s = Supervision(
        event_id=ev.id,
        node_seq=ev.node_seq,
        kind=kind,
        level=level,
        reason=reason,
        issued_at=t,
        issued_by=by,
        target_unit_code=target,
        reply_due_at=ztime.deadline(t, 1, "working_days"),
    )
    session.add(s)
    ev.supervised = True
    return s


def reply_supervision(session: Session, actor: Actor, supervision_id: int, reply: str) -> Supervision:
    """Reply to a 督办 order (the responsible unit's required answer)."""
    s = session.get(Supervision, supervision_id)
    if s is None:
        raise NotFound(f"supervision {supervision_id} not found")
    try:
        ev = get_event(session, actor, s.event_id, own_reports=False, own_tasks=False)
    except NotFound:
        raise NotFound(f"supervision {supervision_id} not found") from None  # as for an unknown id
    if not (in_unit_scope(actor, ev) or actor.unit_code == s.target_unit_code):
        raise Forbidden(f"supervision {supervision_id} is addressed to {s.target_unit_code}")
    if s.replied_at is not None:
        raise Conflict(f"supervision {supervision_id} was already answered")
    s.reply, s.replied_at, s.replied_by = reply, ztime.utcnow(), actor.name
    session.flush()
    return s


def _follow_parent(session: Session, parent: Event, step: EventStep) -> None:
    """Merged reports follow the parent's node (their own timeline records it)."""
    children = session.scalars(select(Event).where(Event.merged_into_id == parent.id)).all()
    for c in children:
        session.add(
            EventStep(
                event_id=c.id,
                at=step.at,
                action=f"follow:{step.action}",
                from_node=c.node,
                to_node=c.node,
                actor_id=step.actor_id,
                actor_name=step.actor_name,
                actor_role=step.actor_role,
                comment=f"随主事件 {parent.id} {step.action}",
                data={},
            )
        )


def merge(
    session: Session, actor: Actor, event_id: int, parent_id: int, *, any_category: bool = False
) -> Event:
    """Merge report ``event_id`` into ``parent_id`` (合并): the child keeps its reporter, moves to node
    ``merged`` and follows the parent. Only dispatchers; both must be in scope, same category, open.
    ``any_category`` (the platform only, e.g. a 卫星热点核查 confirmed as a 森林火情) lifts the
    same-category rule."""
    require(actor, "event.merge")
    child = get_event(session, actor, event_id, own_reports=False, own_tasks=False)  # scope first
    parent = get_event(session, actor, parent_id, own_reports=False, own_tasks=False)
    if event_id == parent_id:
        raise InvalidInput(
            "an event cannot be merged into itself", [FieldError("parent_id", "same as event")]
        )
    if parent.merged_into_id is not None:
        raise Conflict(f"event {parent_id} is itself merged into {parent.merged_into_id}")
    for e in (child, parent):
        if Node(e.node) not in rules.OPEN_NODES:
            raise Conflict(
                f"event {e.id} is at node {e.node} and cannot be merged",
                extra={"node": e.node, "version": e.version},
            )
    if child.category_code != parent.category_code and not (any_category and actor.role == "system"):
        raise InvalidInput(
            f"categories differ ({child.category_code} vs {parent.category_code})",
            [FieldError("parent_id", "different category")],
        )
    t = ztime.utcnow()
    session.add(
        EventStep(
            event_id=child.id,
            at=t,
            action="merge",
            from_node=child.node,
            to_node=Node.MERGED.value,
            actor_id=actor.id,
            actor_name=actor.name,
            actor_role=actor.role,
            unit_code=actor.unit_code,
            comment=f"合并到事件 {parent.id}",
            data={"parent_id": parent.id},
        )
    )
    child.merged_into_id = parent.id
    child.version += 1
    child.node = Node.MERGED.value
    child.node_deadline = None
    child.overdue = False
    close_open_tasks(session, child.id, t, end_comment(child))  # the parent's tasks carry on
    for p in session.scalars(select(MergeProposal).where(MergeProposal.event_id == child.id)).all():
        p.status = "accepted" if p.parent_id == parent.id else "superseded"
        p.decided_by = actor.name
    session.flush()
    changed(session, child, "merge")
    return child
