"""Reading events within the actor's data scope (数据权限), and serialising them (masked)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, false, func, or_, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import (
    Actor,
    Scope,
    can_full_view,
    has_permission,
    mask_name,
    mask_phone,
    mask_text,
    scope_of,
)
from zhizhi.core.errors import FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event import rules
from zhizhi.event.catalogue import CatalogueError
from zhizhi.event.models import (
    Event,
    EventStep,
    EventTask,
    MergeProposal,
    Supervision,
)
from zhizhi.event.schemas import EventDetail, EventRead, StepRead
from zhizhi.event.service.common import catalogue, held_by_district
from zhizhi.event.service.routing import UNIT_ACTIONS, in_unit_scope, route, unit_in_town
from zhizhi.org import service as org

# --- reading with scope ----------------------------------------------------------------------------


def confidential_codes() -> list[str]:
    """Category codes flagged ``confidential`` in the catalogue (保密事项, e.g. 未成年人保护, 举报)."""
    return [leaf.code for leaf in catalogue().leaves() if leaf.confidential]


def confidential_condition(actor: Actor) -> ColumnElement[bool] | None:
    """The row condition that hides confidential categories (保密类事件) from ``actor``, or None when
    it may see them all (``event.confidential``). It lets through categories granted to the user in
    person, what they reported, and what is assigned or tasked to their unit."""
    if has_permission(actor, "event.confidential"):
        return None
    secret = [c for c in confidential_codes() if c not in actor.grants]
    if not secret:
        return None
    tasked = Event.id.in_(select(EventTask.event_id).where(EventTask.unit_code == actor.unit_code))
    return or_(
        Event.category_code.notin_(secret),
        Event.reporter_id == actor.id if actor.id is not None else false(),
        and_(Event.unit_code == actor.unit_code, Event.dispatch_count > 0),
        tasked,
    )


def scoped(actor: Actor, q: Select[Any], own_reports: bool = True, own_tasks: bool = True) -> Select[Any]:
    """Restrict an event query to ``actor``'s data scope (core.access.scope_of).

    District roles see the district; town roles their town; grid workers their grid; a department
    what is or was dispatched to it (派遣, 重办) or tasked to it by a pre-plan; a town or grid unit
    also what a pre-plan tasked it with (联动任务: a fire team's task can go to the center of the next
    town, which must see the event to do and close its task); everyone what they reported themselves.
    ``own_reports`` False leaves out the events seen only as their reporter; ``own_tasks`` False
    leaves out the events a town or grid unit sees only through a task (a department's tasked events
    stay: they always were its scope). Moves on the loop use both False (:func:`get_event`).
    Confidential categories are further limited to the handling chain: roles holding
    ``event.confidential`` (the district center), the reporter, the unit the event is assigned to or
    tasked to, and users granted the category in person (``zhizhi user grant``).
    """
    sc: Scope = scope_of(actor)
    tasked = Event.id.in_(select(EventTask.event_id).where(EventTask.unit_code == actor.unit_code))
    mine = Event.reporter_id == actor.id if actor.id is not None and own_reports else false()
    by_task = tasked if own_tasks else false()
    if sc.kind == "district":
        q = q.where(Event.district_code == sc.code)
    elif sc.kind == "town":
        q = q.where(or_(Event.town_code == sc.code, by_task, mine))
    elif sc.kind == "grid":
        q = q.where(or_(Event.grid_code == sc.code, by_task, mine))
    else:
        sent_to_unit = select(EventStep.event_id).where(
            EventStep.target_unit_code == sc.code, EventStep.action.in_(("dispatch", "reopen"))
        )
        q = q.where(
            or_(
                and_(Event.unit_code == sc.code, Event.dispatch_count > 0),
                Event.id.in_(sent_to_unit),
                tasked,
                mine,
            )
        )
    hide = confidential_condition(actor)
    return q if hide is None else q.where(hide)


def get_event(
    session: Session, actor: Actor, event_id: int, own_reports: bool = True, own_tasks: bool = True
) -> Event:
    """One event within ``actor``'s scope (:func:`scoped`); NotFound otherwise (existence does not
    leak). ``own_reports`` False leaves out events visible only because the actor reported them: a
    reporter may read and add photos to a report, not move it along the loop. ``own_tasks`` False
    leaves out events a town or grid unit sees only through a pre-plan task (another town's event):
    it may read it, add notes and photos and complete its own task, not move the event; for such
    an event this raises Forbidden (code ``event.task_only``) rather than NotFound, since the actor
    sees the event anyway."""
    ev = session.scalar(scoped(actor, select(Event).where(Event.id == event_id), own_reports, own_tasks))
    if ev is None and not own_tasks:
        seen = session.scalar(scoped(actor, select(Event).where(Event.id == event_id), own_reports))
        if seen is not None:
            raise Forbidden(
                f"event {event_id} is not in your scope: your unit {actor.unit_code} sees it only "
                "through its pre-plan task (联动任务); it may read the event and complete the task, the "
                "loop's moves belong to the units in charge of it",
                extra={"node": seen.node, "version": seen.version},
                code="event.task_only",
            )
    if ev is None:
        # the same body for an unknown id and one out of scope, whatever the id (tests/auth/test_attacker.py)
        raise NotFound(f"event {event_id} not found", code="event.not_found")
    return ev


def task_only(session: Session, actor: Actor, ev: Event) -> bool:
    """Whether ``actor`` sees ``ev`` only through a pre-plan task of its unit (a town or grid unit
    tasked on another town's event): then it is offered no move on the loop."""
    q = select(Event.id).where(Event.id == ev.id)
    return (
        session.scalar(scoped(actor, q, own_reports=False, own_tasks=False)) is None
        and session.scalar(scoped(actor, q, own_reports=False)) is not None
    )


@dataclass
class EventFilter:
    """Filters of the event list. ``open``: True for open events (在办: every node before 结案, 挂账
    included), False for finished ones (结案, 评价, 不予受理/立案, 合并), None for all. ``mine``: only the
    events whose current step is for the actor's unit (:func:`mine_condition`)."""

    node: str | None = None
    category_code: str | None = None
    town_code: str | None = None
    grid_code: str | None = None
    unit_code: str | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    source: str | None = None
    q: str | None = None
    open: bool | None = None
    mine: bool = False


HANDLING_NODES = (rules.Node.DISPATCHED.value, rules.Node.SIGNED.value, rules.Node.PARKED.value)
BEFORE_DISPATCH = (rules.Node.REPORTED.value, rules.Node.ACCEPTED.value, rules.Node.REGISTERED.value)
AFTER_HANDLING = (rules.Node.HANDLED.value, rules.Node.VERIFIED.value)


def mine_condition(actor: Actor) -> ColumnElement[bool]:
    """我的待办: the events whose current step is for ``actor``'s unit, as a row condition.

    - 待签收 / 处置中 / 挂账: assigned (派遣) to the actor's unit or a unit under it (a board's posts);
    - for dispatchers (``event.dispatch``): 待受理 / 待立案 / 待派遣 events of their town not passed up
      to the district (a town center), or passed up to the district center or in no town (holders of
      ``event.any_unit``); 待核查 / 待结案 events and pending 延期 requests of events their unit
      dispatched (派遣 or 重办);
    - for verifiers without dispatch (网格员 ``event.verify_pass``, grid scope): 待核查 events of their grid;
    - for every unit: the events on which a pre-plan gave it a task still open (联动任务), at any node
      and in any town (a fire team's task can go to the center of the next town).
    """
    unit = actor.unit_code
    own = or_(Event.unit_code == unit, Event.unit_code.startswith(unit + "-", autoescape=True))
    conds: list[ColumnElement[bool]] = [
        and_(Event.node.in_(HANDLING_NODES), Event.dispatch_count > 0, own) if unit else false()
    ]
    if unit:
        open_task = select(EventTask.event_id).where(EventTask.unit_code == unit, EventTask.status == "open")
        conds.append(Event.id.in_(open_task))
    if has_permission(actor, "event.dispatch"):
        center = f"{actor.district_code}-{org.CENTER_SUFFIX}"
        if has_permission(actor, "event.any_unit"):
            waiting = or_(Event.town_code.is_(None), Event.unit_code == center)
        elif actor.town_code:
            waiting = and_(
                Event.town_code == actor.town_code, or_(Event.unit_code.is_(None), Event.unit_code != center)
            )
        else:
            waiting = false()
        conds.append(and_(Event.node.in_(BEFORE_DISPATCH), waiting))
        mine_sent = Event.id.in_(
            select(EventStep.event_id).where(
                EventStep.action.in_(("dispatch", "reopen")), EventStep.unit_code == unit
            )
        )
        conds.append(and_(Event.node.in_(AFTER_HANDLING), mine_sent))
        conds.append(and_(Event.extension_pending.is_(True), Event.node.in_(HANDLING_NODES), mine_sent))
    elif has_permission(actor, "event.verify_pass"):
        try:
            sc = scope_of(actor)
        except ValueError:
            sc = None
        if sc is not None and sc.kind == "grid":
            conds.append(and_(Event.node == rules.Node.HANDLED.value, Event.grid_code == sc.code))
    return or_(*conds)


SORTS: dict[str, tuple[ColumnElement[Any], ...]] = {
    "-reported_at": (Event.reported_at.desc(), Event.id.desc()),
    "reported_at": (Event.reported_at.asc(), Event.id.asc()),
    "node_deadline": (Event.node_deadline.asc().nulls_last(), Event.id.asc()),
    "-node_deadline": (Event.node_deadline.desc().nulls_last(), Event.id.desc()),
}
"""Orders of the event list: by the real instants (上报时间, 本环节截止), ``-`` for newest first."""


def list_events(
    session: Session,
    actor: Actor,
    f: EventFilter,
    limit: int = 50,
    offset: int = 0,
    sort: str = "-reported_at",
) -> tuple[int, Sequence[Event]]:
    """Events in scope matching ``f`` in the order ``sort`` (one of :data:`SORTS`; default newest
    first); returns ``(total, page)``. Raises InvalidInput for an unknown ``sort``."""
    if sort not in SORTS:
        why = f'unknown sort "{sort}"; one of {", ".join(SORTS)}'
        raise InvalidInput(why, [FieldError("sort", why)])
    q = scoped(actor, select(Event))
    conds: list[ColumnElement[bool]] = []
    if f.open is True:
        conds.append(Event.node.in_([n.value for n in rules.OPEN_NODES]))
    elif f.open is False:
        conds.append(Event.node.in_([n.value for n in rules.DONE_NODES]))
    if f.mine:
        conds.append(mine_condition(actor))
    for col, val in (
        (Event.node, f.node),
        (Event.category_code, f.category_code),
        (Event.town_code, f.town_code),
        (Event.grid_code, f.grid_code),
        (Event.unit_code, f.unit_code),
        (Event.source, f.source),
        (Event.overdue, f.overdue),
        (Event.supervised, f.supervised),
    ):
        if val is not None:
            conds.append(col == val)
    if f.q:
        if any(ch.isdigit() for ch in f.q) and not has_permission(actor, "personal.full_view"):
            # titles are shown masked; a digit search on the stored text would reveal masked digits
            why = (
                "digits are not searchable without personal.full_view (they may be part of a phone or "
                "ID number shown masked); search by words and filter by category, town or grid"
            )
            raise InvalidInput(why, [FieldError("q", why)])
        conds.append(Event.title.contains(f.q, autoescape=True))
    if conds:
        q = q.where(and_(*conds))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(*SORTS[sort]).limit(limit).offset(offset)).all()
    return total, rows


def to_read(ev: Event, actor: Actor | None) -> EventRead:
    """Serialise an event, masking personal fields unless ``actor`` may see them in full."""
    out = EventRead.model_validate(ev)
    out.held_by_district = held_by_district(ev)
    try:
        out.category_name = catalogue().leaf(ev.category_code).name
    except CatalogueError:
        out.category_name = None
    if not can_full_view(actor):
        out.reporter_phone = mask_phone(ev.reporter_phone)
        out.reporter_name = mask_name(ev.reporter_name)
        # citizens write their phone or ID number into the text too
        out.title = mask_text(ev.title) or ""
        out.description = mask_text(ev.description) or ""
    return out


def detail(session: Session, actor: Actor, ev: Event) -> EventDetail:
    """The event with its timeline, allowed actions, attachments, 督办, tasks and merge proposals.
    Each task carries ``done_by`` (who marked it done), ``overdue`` (open and past its deadline now)
    and ``can_complete``: whether ``actor`` may mark it done now (POST /api/v1/tasks/{id}/done;
    preplan.may_complete_task; never once the event has ended), the one thing a unit that sees the event
    only through its task may do besides reading it and adding notes and photos."""
    from zhizhi.event.models import Attachment
    from zhizhi.event.service.preplan import may_complete_task, task_overdue  # preplan imports this

    ended = rules.Node(ev.node) in rules.DONE_NODES  # an ended event's tasks are closed, not completed
    now = ztime.utcnow()

    base = to_read(ev, actor).model_dump()
    steps = session.scalars(select(EventStep).where(EventStep.event_id == ev.id).order_by(EventStep.id)).all()
    atts = session.scalars(select(Attachment).where(Attachment.event_id == ev.id)).all()
    sups = session.scalars(
        select(Supervision).where(Supervision.event_id == ev.id).order_by(Supervision.id)
    ).all()
    tasks = session.scalars(select(EventTask).where(EventTask.event_id == ev.id).order_by(EventTask.id)).all()
    props = session.scalars(
        select(MergeProposal).where(or_(MergeProposal.event_id == ev.id, MergeProposal.parent_id == ev.id))
    ).all()
    # a proposal names another event: show it only when that event is visible to the actor too
    others = {p.parent_id if p.event_id == ev.id else p.event_id for p in props}
    if others:
        visible = set(session.scalars(scoped(actor, select(Event.id).where(Event.id.in_(others)))))
        props = [p for p in props if (p.parent_id if p.event_id == ev.id else p.event_id) in visible]
    allowed = _allowed(session, actor, ev)
    auto_unit, auto_ok = _auto_unit(session, actor, ev) if "dispatch" in allowed else (None, False)
    return EventDetail(
        **base,
        timeline=[_step(s) for s in steps],
        allowed_actions=allowed,
        action_labels={a: rules.label_at(a, ev.node) for a in allowed},
        auto_unit_code=auto_unit,
        auto_unit_ok=auto_ok,
        attachments=[
            {
                "id": a.id,
                "kind": a.kind,
                "filename": a.filename,
                "content_type": a.content_type,
                "is_image": a.content_type in IMAGE_TYPES,
                "size": a.size,
                "sha256": a.sha256,
                "uploaded_at": a.uploaded_at,
            }
            for a in atts
        ],
        supervisions=[_sup_dict(s) for s in sups],
        tasks=[
            {
                "id": t.id,
                "unit_code": t.unit_code,
                "role": t.role,
                "task": t.task,
                "status": t.status,
                "deadline": t.deadline,
                "done_at": t.done_at,
                "comment": mask_text(t.comment) or "",
                "done_by": t.done_by,
                "overdue": task_overdue(t, now),
                "can_complete": t.status == "open" and not ended and may_complete_task(actor, t),
            }
            for t in tasks
        ],
        merge_proposals=[
            {
                "id": p.id,
                "event_id": p.event_id,
                "parent_id": p.parent_id,
                "distance_m": round(p.distance_m, 1),
                "hours_apart": round(p.hours_apart, 2),
                "status": p.status,
            }
            for p in props
        ],
    )


IMAGE_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})
"""Attachment types a browser shows inline (thumbnails, full size); others are downloaded."""


MERGED_ACTIONS = frozenset({"supervise", "remind"})
"""The only moves on an event merged into another (合并): 督办 and 催办; the rest act on the parent."""


def _allowed(session: Session, actor: Actor, ev: Event) -> list[str]:
    """The moves ``actor`` may make on ``ev`` now (the page's buttons): the role's moves at the node,
    less those service.loop.transition would refuse whatever the input: an event seen only as its
    reporter or only through a pre-plan task of the actor's unit (none); a merged event (all but
    :data:`MERGED_ACTIONS`); an API token's scopes; the 签收/回退/处置/挂账/延期申请 of another
    unit's event (routing.in_unit_scope); 延期 pending or not;
    派遣 and 上报区级 of an event the district center holds, for a town center; 上报区级 of an event in
    no town. 立案 comes before 不予立案 (the positive move first)."""
    # seen only as its reporter or through a pre-plan task: no move (get_event, both False)
    q = scoped(actor, select(Event.id).where(Event.id == ev.id), own_reports=False, own_tasks=False)
    if session.scalar(q) is None:
        return []
    district_wide = has_permission(actor, "event.any_unit")
    held = held_by_district(ev)
    unit_ok = in_unit_scope(actor, ev)
    out = []
    for a in rules.allowed_actions(ev.node, actor.role):
        if ev.merged_into_id is not None and a not in MERGED_ACTIONS:
            continue
        if actor.scopes is not None and not has_permission(actor, rules.TRANSITIONS[a].permission):
            continue
        if a in UNIT_ACTIONS and not unit_ok:
            continue
        if a in {"approve_extension", "deny_extension"} and not ev.extension_pending:
            continue
        if a == "request_extension" and ev.extension_pending:
            continue
        if a == "escalate" and (held or district_wide or ev.town_code is None):
            continue
        if a == "dispatch" and held and not district_wide:
            continue
        out.append(a)
    if "register" in out and "reject" in out:  # 立案 | 不予立案
        out.remove("reject")
        out.insert(out.index("register") + 1, "reject")
    return out


def _auto_unit(session: Session, actor: Actor, ev: Event) -> tuple[str | None, bool]:
    """What 派遣 ``unit_code: "auto"`` would choose now (the 权属配置), and whether ``actor`` may
    dispatch there (a town center only to units of its own town; they pass the others up to the
    district with 上报区级). ``(None, False)`` when routing finds no unit."""
    try:
        code, _mode = route(session, ev)
    except InvalidInput:
        return None, False
    if has_permission(actor, "event.any_unit"):
        return code, True
    return code, bool(actor.town_code and unit_in_town(code, actor.town_code))


_STEP_LABELS = {
    "report": "上报",
    "merge": "合并",
    rules.NOTE_ACTION: rules.NOTE_LABEL,
    "attach": "上传附件",
    "preplan": "启动预案",
    "task_done": "完成联动任务",  # preplan.TASK_DONE_ACTION
    "task_overdue": "联动任务超时",  # preplan.TASK_OVERDUE_ACTION, by the SLA sweep
}


def step_label(s: EventStep) -> str:
    """The Chinese label of a timeline row: the move's label at the node it was made (不予立案 at
    待立案), the SLA sweep's automatic rows by what they are (临期预警催办, 超时督办, 超时升级督办), and the
    non-moves (上报, 备注, 上传附件, 合并, 随主事件…)."""
    auto = isinstance(s.data, dict) and s.data.get("auto")
    if auto and s.action == "remind":
        return "临期预警催办"
    if auto and s.action == "supervise":
        return "超时督办"
    if auto and s.action == "escalate":
        return "超时升级督办"
    if s.action in _STEP_LABELS:
        return _STEP_LABELS[s.action]
    if s.action.startswith("follow:"):
        return "随主事件" + rules.label_at(s.action.split(":", 1)[1], None)
    return rules.label_at(s.action, s.from_node)


def _step(s: EventStep) -> StepRead:
    out = StepRead.model_validate(s)
    out.comment = mask_text(s.comment) or ""
    out.label = step_label(s)
    return out


def _sup_dict(s: Supervision) -> dict[str, Any]:
    return {
        "id": s.id,
        "kind": s.kind,
        "level": s.level,
        "reason": mask_text(s.reason),
        "issued_at": s.issued_at,
        "issued_by": s.issued_by,
        "target_unit_code": s.target_unit_code,
        "reply_due_at": s.reply_due_at,
        "reply": mask_text(s.reply),
        "replied_at": s.replied_at,
    }
