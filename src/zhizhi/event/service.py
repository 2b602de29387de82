"""Event use cases (事件): report, move along the loop, route, merge, supervise, sweep deadlines.

Every state change goes through :func:`transition`, which checks the role and node
(:mod:`zhizhi.event.rules`), the actor's data scope (:mod:`zhizhi.core.access`) and the optimistic lock,
appends a timeline row with the time used against the node's limit, and sets the next node's deadline
from the category catalogue (立结案标准).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml
from sqlalchemy import Select, and_, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, Scope, can_full_view, mask_name, mask_phone, scope_of
from zhizhi.core.config import get_settings
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event import rules
from zhizhi.event.catalogue import Catalogue, CatalogueError, load_catalogue
from zhizhi.event.models import (
    Event,
    EventStep,
    EventTask,
    MergeProposal,
    PrePlan,
    RoutingRule,
    Supervision,
)
from zhizhi.event.rules import Node
from zhizhi.event.schemas import EventCreate, EventDetail, EventRead, StepRead, TransitionIn
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit, Staff

SYSTEM = Actor(id=None, username="system", name="系统", role="system", unit_code="", district_code="")


def catalogue() -> Catalogue:
    """The shipped category catalogue (validated once, cached)."""
    return load_catalogue()


def system_actor(district6: str) -> Actor:
    """The platform itself acting in ``district6`` (sweeps, imports, replays)."""
    return Actor(id=None, username="system", name="系统", role="system",
                 unit_code=f"{district6}-{org.CENTER_SUFFIX}", district_code=district6)


def actor_for(session: Session, username: str) -> Actor:
    """The :class:`Actor` of an active staff member; raises NotFound naming the user."""
    row = session.execute(
        select(Staff, OrgUnit).join(OrgUnit, Staff.org_unit_id == OrgUnit.id)
        .where(Staff.username == username, Staff.active.is_(True))
    ).first()
    if row is None:
        raise NotFound(f'unknown or disabled user "{username}"')
    s, u = row
    return Actor(id=s.id, username=s.username, name=s.name, role=s.role, unit_code=u.code,
                 district_code=u.district_code, town_code=u.town_code)


# --- reading with scope ----------------------------------------------------------------------------

def scoped(actor: Actor, q: Select[Any]) -> Select[Any]:
    """Restrict an event query to ``actor``'s data scope (core.access.scope_of)."""
    sc: Scope = scope_of(actor)
    if sc.kind == "district":
        return q.where(Event.district_code == sc.code)
    if sc.kind == "town":
        return q.where(Event.town_code == sc.code)
    if sc.kind == "grid":
        return q.where(or_(Event.grid_code == sc.code, Event.reporter_id == actor.id))
    return q.where(or_(and_(Event.unit_code == sc.code, Event.dispatch_count > 0),
                       Event.id.in_(select(EventStep.event_id).where(EventStep.target_unit_code == sc.code))))


def get_event(session: Session, actor: Actor, event_id: int) -> Event:
    """One event within ``actor``'s scope; NotFound otherwise (existence does not leak)."""
    ev = session.scalar(scoped(actor, select(Event).where(Event.id == event_id)))
    if ev is None:
        raise NotFound(f"event {event_id} not found")
    return ev


@dataclass
class EventFilter:
    node: str | None = None
    category_code: str | None = None
    town_code: str | None = None
    grid_code: str | None = None
    unit_code: str | None = None
    overdue: bool | None = None
    supervised: bool | None = None
    source: str | None = None
    q: str | None = None


def list_events(session: Session, actor: Actor, f: EventFilter, limit: int = 50,
                offset: int = 0) -> tuple[int, Sequence[Event]]:
    """Events in scope matching ``f``, newest first; returns ``(total, page)``."""
    q = scoped(actor, select(Event))
    conds = []
    for col, val in ((Event.node, f.node), (Event.category_code, f.category_code), (Event.town_code, f.town_code),
                     (Event.grid_code, f.grid_code), (Event.unit_code, f.unit_code), (Event.source, f.source),
                     (Event.overdue, f.overdue), (Event.supervised, f.supervised)):
        if val is not None:
            conds.append(col == val)
    if f.q:
        conds.append(Event.title.contains(f.q))
    if conds:
        q = q.where(and_(*conds))
    total = session.scalar(select(func.count()).select_from(q.subquery())) or 0
    rows = session.scalars(q.order_by(Event.reported_at.desc(), Event.id.desc()).limit(limit).offset(offset)).all()
    return total, rows


def to_read(ev: Event, actor: Actor | None) -> EventRead:
    """Serialise an event, masking personal fields unless ``actor`` may see them in full."""
    out = EventRead.model_validate(ev)
    try:
        out.category_name = catalogue().leaf(ev.category_code).name
    except CatalogueError:
        out.category_name = None
    if not can_full_view(actor):
        out.reporter_phone = mask_phone(ev.reporter_phone)
        out.reporter_name = mask_name(ev.reporter_name)
    return out


def detail(session: Session, actor: Actor, ev: Event) -> EventDetail:
    """The event with its timeline, allowed actions, attachments, 督办, tasks and merge proposals."""
    from zhizhi.event.models import Attachment

    base = to_read(ev, actor).model_dump()
    steps = session.scalars(select(EventStep).where(EventStep.event_id == ev.id).order_by(EventStep.id)).all()
    atts = session.scalars(select(Attachment).where(Attachment.event_id == ev.id)).all()
    sups = session.scalars(select(Supervision).where(Supervision.event_id == ev.id).order_by(Supervision.id)).all()
    tasks = session.scalars(select(EventTask).where(EventTask.event_id == ev.id).order_by(EventTask.id)).all()
    props = session.scalars(select(MergeProposal).where(
        or_(MergeProposal.event_id == ev.id, MergeProposal.parent_id == ev.id))).all()
    return EventDetail(
        **base,
        timeline=[StepRead.model_validate(s) for s in steps],
        allowed_actions=rules.allowed_actions(ev.node, actor.role),
        attachments=[{"id": a.id, "kind": a.kind, "filename": a.filename, "content_type": a.content_type,
                      "size": a.size, "sha256": a.sha256, "uploaded_at": a.uploaded_at} for a in atts],
        supervisions=[_sup_dict(s) for s in sups],
        tasks=[{"id": t.id, "unit_code": t.unit_code, "role": t.role, "task": t.task, "status": t.status,
                "deadline": t.deadline, "done_at": t.done_at} for t in tasks],
        merge_proposals=[{"id": p.id, "event_id": p.event_id, "parent_id": p.parent_id,
                          "distance_m": round(p.distance_m, 1), "hours_apart": round(p.hours_apart, 2),
                          "status": p.status} for p in props],
    )


def _sup_dict(s: Supervision) -> dict[str, Any]:
    return {"id": s.id, "kind": s.kind, "level": s.level, "reason": s.reason, "issued_at": s.issued_at,
            "issued_by": s.issued_by, "target_unit_code": s.target_unit_code, "reply_due_at": s.reply_due_at,
            "reply": s.reply, "replied_at": s.replied_at}


# --- reporting -------------------------------------------------------------------------------------

def _limit(category: str, node: Node) -> tuple[float, str] | None:
    key = rules.LIMIT_OF_NODE.get(node)
    if key is None:
        return None
    amount, clock = catalogue().limit(category, key)
    return float(amount), str(clock)


def _fmt_limit(lim: tuple[float, str] | None) -> str | None:
    return None if lim is None else f"{lim[0]:g} {lim[1]}"


def _parse_limit(s: str | None) -> tuple[float, str] | None:
    if not s:
        return None
    a, c = s.split(" ", 1)
    return float(a), c


def _enter(ev: Event, node: Node, at: datetime) -> None:
    ev.node = node.value
    ev.node_seq = (ev.node_seq or 0) + 1
    ev.node_entered_at = at
    lim = _limit(ev.category_code, node) if node in rules.OPEN_NODES and node != Node.PARKED else None
    ev.node_limit = _fmt_limit(lim)
    ev.node_deadline = ztime.deadline(at, lim[0], lim[1]) if lim else None
    ev.due_soon = False
    ev.overdue = False
    ev.colour = "green"


def _resolve_area(session: Session, data: EventCreate, lon: float | None, lat: float | None,
                  allow_out: bool, district6: str | None) -> dict[str, Any]:
    loc = org.locator(session)
    if lon is not None and lat is not None:
        place = loc.locate(lon, lat)
        if place.district_code is None:
            if not allow_out:
                where = f" (nearest district {place.nearest_district})" if place.nearest_district else ""
                raise InvalidInput(
                    f"location {lon:.6f},{lat:.6f} is outside every loaded district, "
                    f"{place.distance_m:,.0f} m from the boundary{where}",
                    [FieldError("lon/lat", f"outside the district by {place.distance_m:,.0f} m")],
                    extra={"distance_m": round(place.distance_m, 1)})
            d6 = district6 or place.nearest_district or get_settings().district_code
            return {"district_code": d6, "out_of_area": True, "town_code": None, "village_code": None,
                    "grid_code": None}
        return {"district_code": place.district_code, "town_code": place.town_code,
                "village_code": place.village_code, "grid_code": place.grid_code, "out_of_area": False}
    code = data.grid_code or data.village_code or data.town_code
    if not code:
        raise InvalidInput("give lon/lat or an area code (grid_code, village_code or town_code)",
                           [FieldError("lon", "required when no area code is given")])
    field = "grid_code" if data.grid_code else "village_code" if data.village_code else "town_code"
    level = field.split("_")[0]
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code, OrgUnit.level == level))
    if unit is None:
        raise InvalidInput(f'unknown {level} "{code}"', [FieldError(field, f'unknown {level} "{code}"')])
    out = {"district_code": unit.district_code, "town_code": unit.town_code, "village_code": None,
           "grid_code": None, "out_of_area": False}
    if level == "grid":
        out["grid_code"] = unit.code
        parent = session.get(OrgUnit, unit.parent_id) if unit.parent_id else None
        out["village_code"] = parent.code if parent else None
    elif level == "village":
        out["village_code"] = unit.code
    return out


def validate_category(code: str, field: str = "category_code") -> Any:
    """The catalogue leaf ``code``; raises InvalidInput naming the field for unknown or non-leaf codes."""
    try:
        return catalogue().leaf(code)
    except CatalogueError as e:
        raise InvalidInput(str(e), [FieldError(field, str(e))]) from None


def create_event(session: Session, actor: Actor | None, data: EventCreate, propose_merges: bool = True) -> Event:
    """Record a report (上报) as an event at node ``reported`` with its 受理 deadline.

    Resolves the town/village/grid by point-in-polygon; GCJ-02 input (``crs="gcj02"``) is converted to
    WGS-84 first. Refuses (InvalidInput) unknown categories and areas, points outside the loaded
    districts (with the distance) unless the category allows out-of-area reports, and reports outside
    a grid worker's own scope. Proposes merges with similar open events (rules.is_similar).
    """
    leaf = validate_category(data.category_code)
    lon, lat = data.lon, data.lat
    if (lon is None) != (lat is None):
        missing = "lat" if lat is None else "lon"
        raise InvalidInput(f"{missing} is missing (give both lon and lat)", [FieldError(missing, "required")])
    if lon is not None and lat is not None and data.crs == "gcj02":
        lon, lat = org_rules.gcj02_to_wgs84(lon, lat)
    area = _resolve_area(session, data, lon, lat, bool(leaf.allow_out_of_area),
                         actor.district_code if actor else None)
    if actor is not None and actor.role != "system" and actor.district_code \
            and area["district_code"] != actor.district_code:
        raise InvalidInput(f"the location is in district {area['district_code']}, outside your district",
                           [FieldError("lon/lat", "outside your district")])
    now = ztime.utcnow()
    reported_at = ztime.to_utc(data.reported_at) if data.reported_at else now
    if reported_at > now + timedelta(minutes=5):
        raise InvalidInput("reported_at is in the future", [FieldError("reported_at", "in the future")])
    if data.external_id:
        dup = session.scalar(select(Event.id).where(Event.source == data.source,
                                                    Event.external_id == data.external_id))
        if dup is not None:
            raise Conflict(f'{data.source} report "{data.external_id}" already exists as event {dup}',
                           extra={"event_id": dup})
    ev = Event(
        source=data.source, external_id=data.external_id, category_code=data.category_code,
        title=data.title, description=data.description, lon=lon, lat=lat, address=data.address,
        reporter_id=actor.id if actor else None, reporter_ref=data.reporter_ref,
        reporter_name=data.reporter_name, reporter_phone=data.reporter_phone,
        urgency=data.urgency or leaf.urgency, reported_at=reported_at, is_drill=data.is_drill,
        node_seq=0, dispatch_count=0, return_count=0, rework_count=0, reopen_count=0, escalation_level=0,
        **area,
    )
    try:
        ev.unit_code, ev.dispatch_mode = router_for(session, area["district_code"]).route(
            data.category_code, area["town_code"], area["village_code"], area["grid_code"])
    except InvalidInput:
        ev.unit_code, ev.dispatch_mode = None, None
    _enter(ev, Node.REPORTED, reported_at)
    session.add(ev)
    session.flush()
    who = actor or SYSTEM
    session.add(EventStep(event_id=ev.id, at=reported_at, action="report", from_node=None, to_node=ev.node,
                          actor_id=who.id, actor_name=who.name, actor_role=who.role, unit_code=who.unit_code or None,
                          comment=f"来源 {data.source}", limit=ev.node_limit, data={}))
    if propose_merges and lon is not None and lat is not None:
        _propose_merges(session, ev)
    return ev


def _propose_merges(session: Session, ev: Event) -> None:
    s = get_settings()
    window = timedelta(hours=s.merge_window_h)
    dlat = s.merge_radius_m / 111_000.0
    cands = session.scalars(select(Event).where(
        Event.id != ev.id, Event.category_code == ev.category_code, Event.merged_into_id.is_(None),
        Event.node.notin_([Node.REJECTED.value, Node.MERGED.value]),
        Event.reported_at.between(ev.reported_at - window, ev.reported_at + window),
        Event.lat.between((ev.lat or 0) - dlat, (ev.lat or 0) + dlat),
    )).all()
    for c in cands:
        if c.lon is None or c.lat is None or ev.lon is None or ev.lat is None:
            continue
        d = rules.haversine_m(ev.lon, ev.lat, c.lon, c.lat)
        hours = (ev.reported_at - c.reported_at).total_seconds() / 3600
        if rules.is_similar(ev.category_code, c.category_code, d, hours, s.merge_radius_m, s.merge_window_h):
            parent, child = (c, ev) if c.reported_at <= ev.reported_at else (ev, c)
            session.add(MergeProposal(event_id=child.id, parent_id=parent.id, distance_m=d, hours_apart=abs(hours),
                                      created_at=ztime.utcnow()))
    session.flush()


# --- routing ---------------------------------------------------------------------------------------

def _unit_mode(unit: OrgUnit) -> str:
    return "horizontal" if unit.level == "department" else "vertical"


class Router:
    """Ownership configuration (权属配置) resolver for one district, built once from its rules.

    The most specific rule wins (grid > village > town > whole district; leaf > 大类 > any
    category; then priority), else the catalogue's default unit: a district department, or
    ``town`` → the town's center (纵向交办).
    """

    def __init__(self, district6: str, rules_: Sequence[RoutingRule]) -> None:
        self.district6 = district6
        self.rules = [(r.category_code, r.area_code, r.priority, r.unit_code, r.mode) for r in rules_]
        self.cat = catalogue()

    def route(self, category: str, town: str | None, village: str | None, grid: str | None) -> tuple[str, str]:
        """``(unit_code, mode)`` for an event of ``category`` at the given area codes.

        Raises InvalidInput when no unit can be found (a 属地 category outside every town)."""
        area_rank = {grid: 4, village: 3, town: 2, None: 1}
        best: tuple[tuple[int, int, int], str, str] | None = None
        for cat, area, prio, unit, mode in self.rules:
            if area not in area_rank:
                continue
            if cat is None:
                crank = 1
            elif cat == category:
                crank = 3
            elif category.startswith(cat):
                crank = 2
            else:
                continue
            key = (area_rank[area], crank, prio)
            if best is None or key > best[0]:
                best = (key, unit, mode)
        if best is not None:
            return best[1], best[2]
        leaf = self.cat.leaf(category)
        if leaf.default_unit == "town":
            if not town:
                raise InvalidInput("no town for this location: give a unit_code to dispatch it",
                                   [FieldError("unit_code", "required: no routing outside the towns")])
            return f"{town}-{org.TOWN_CENTER_SUFFIX}", "vertical"
        return f"{self.district6}-{leaf.default_unit}", "horizontal"


def router_for(session: Session, district6: str) -> Router:
    """A :class:`Router` over the current rules of ``district6``."""
    return Router(district6, session.scalars(
        select(RoutingRule).where(RoutingRule.district_code == district6)).all())


def route(session: Session, ev: Event) -> tuple[str, str]:
    """Responsible unit and mode (horizontal 横向分拨 / vertical 纵向交办) for ``ev``; see :class:`Router`."""
    return router_for(session, ev.district_code).route(ev.category_code, ev.town_code, ev.village_code,
                                                      ev.grid_code)


def add_routing_rule(session: Session, district6: str, category_code: str | None, area_code: str | None,
                     unit_code: str, priority: int = 0, note: str = "") -> RoutingRule:
    """Add a 权属配置 rule; refuses unknown categories, areas and units by name (InvalidInput)."""
    errs = []
    if category_code:
        cat = catalogue()
        known = {leaf.code for leaf in cat.leaves()} | {leaf.code[:2] for leaf in cat.leaves()}
        if category_code not in known:
            errs.append(FieldError("category_code", f'unknown category "{category_code}"'))
    unit = session.scalar(select(OrgUnit).where(OrgUnit.code == unit_code))
    if unit is None or unit.district_code != district6:
        errs.append(FieldError("unit_code", f'unknown unit "{unit_code}" in district {district6}'))
    if area_code and session.scalar(select(OrgUnit.id).where(
            OrgUnit.code == area_code, OrgUnit.district_code == district6,
            OrgUnit.level.in_(["town", "village", "grid"]))) is None:
        errs.append(FieldError("area_code", f'unknown town/village/grid "{area_code}" in district {district6}'))
    if errs:
        raise InvalidInput("; ".join(f"{e.field}: {e.reason}" for e in errs), errs)
    assert unit is not None
    r = RoutingRule(district_code=district6, category_code=category_code or None, area_code=area_code or None,
                    unit_code=unit_code, mode=_unit_mode(unit), priority=priority, note=note)
    session.add(r)
    session.flush()
    return r


# --- transitions -----------------------------------------------------------------------------------

def _in_unit_scope(session: Session, actor: Actor, ev: Event) -> bool:
    """Whether a handler ``actor`` is the responsible unit (or, for town roles, inside its town)."""
    if actor.role in {"system", "center_duty", "center_chief"}:
        return True
    if actor.role in {"town_duty", "board_staff"}:
        return bool(ev.unit_code and ev.town_code == actor.town_code) or ev.unit_code == actor.unit_code
    return ev.unit_code == actor.unit_code


def transition(session: Session, actor: Actor, event_id: int, data: TransitionIn,
               at: datetime | None = None) -> Event:
    """Make one move on the loop (see rules.TRANSITIONS) and record it on the timeline.

    ``at`` (UTC) back-dates the move; only the system role may (imports and replays).
    Raises NotFound (outside scope), Forbidden (role, or not the responsible unit), Conflict (wrong
    node, or ``expected_version`` differs: the body carries the current node and version),
    InvalidInput (missing or wrong field). Nothing changes when it raises.
    """
    ev = get_event(session, actor, event_id)
    if data.expected_version is not None and data.expected_version != ev.version:
        raise Conflict(f"event {ev.id} changed meanwhile (version {ev.version}, you expected "
                       f"{data.expected_version}); reload it", extra={"node": ev.node, "version": ev.version})
    if ev.merged_into_id is not None and data.action not in {"supervise", "remind"}:
        raise Conflict(f"event {ev.id} is merged into event {ev.merged_into_id}; act on that one",
                       extra={"node": ev.node, "merged_into_id": ev.merged_into_id})
    try:
        tr = rules.check_transition(data.action, ev.node, actor.role, data.model_dump())
    except rules.TransitionError as e:
        err = [FieldError(e.field or "action", str(e))]
        extra = {"node": ev.node, "version": ev.version}
        if e.status == 403:
            raise Forbidden(str(e), err, extra) from None
        if e.status == 409:
            raise Conflict(str(e), err, extra) from None
        raise InvalidInput(str(e), err, extra) from None
    if tr.action in {"sign", "return", "handle", "park", "request_extension"} and not _in_unit_scope(
            session, actor, ev):
        raise Forbidden(f"event {ev.id} is assigned to {ev.unit_code}, not to your unit {actor.unit_code}")
    now = ztime.utcnow()
    if at is not None:
        if actor.role != "system":
            raise Forbidden("only the system may back-date a move")
        at = ztime.to_utc(at)
        if at < ev.node_entered_at:
            raise InvalidInput(f"time {at.isoformat()} is before the event entered node {ev.node} "
                               f"({ev.node_entered_at.isoformat()})", [FieldError("at", "before the node began")])
    t = at or now
    frm = Node(ev.node)
    lim = _parse_limit(ev.node_limit)
    used = ztime.elapsed(ev.node_entered_at, t, lim[1]) if lim else None
    late = bool(ev.node_deadline and t > ev.node_deadline)
    step = EventStep(event_id=ev.id, at=t, action=tr.action, from_node=frm.value, to_node=frm.value,
                     actor_id=actor.id, actor_name=actor.name, actor_role=actor.role,
                     unit_code=actor.unit_code or None, comment=data.comment, limit=ev.node_limit,
                     used=used, overdue=late, data={})
    if late:
        ev.ever_overdue = True
    _apply(session, actor, ev, tr, data, t, late, step)
    if tr.target is not None:
        _enter(ev, tr.target, t)
        step.to_node = ev.node
        if ev.node == Node.SIGNED.value and ev.handle_deadline is None:
            ev.handle_deadline = ev.node_deadline
    session.add(step)
    try:
        session.flush()
    except StaleDataError:
        session.rollback()
        cur = session.get(Event, event_id)
        raise Conflict(f"event {event_id} was changed by someone else at the same time; reload it",
                       extra={"node": cur.node if cur else None, "version": cur.version if cur else None}) from None
    if tr.target is not None:
        _follow_parent(session, ev, step)
    return ev


def _apply(session: Session, actor: Actor, ev: Event, tr: rules.Transition, data: TransitionIn, t: datetime,
           late: bool, step: EventStep) -> None:
    a = tr.action
    if a == "accept":
        ev.accepted_at = ev.accepted_at or t
    elif a == "register":
        if ev.registered_at is None:
            ev.registered_at = t
            ev.registered_on_time = not ev.ever_overdue
    elif a == "dispatch":
        code, mode = (route(session, ev) if data.unit_code in (None, "", "auto") else (data.unit_code, ""))
        unit = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
        if unit is None or unit.district_code != ev.district_code:
            raise InvalidInput(f'unknown unit "{code}" in district {ev.district_code}',
                               [FieldError("unit_code", f'unknown unit "{code}"')])
        if actor.role in {"town_duty"} and unit.town_code != actor.town_code:
            raise Forbidden(f"a town center dispatches within its town; {code} is not in {actor.town_code}")
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
        ev.unit_code = None
        ev.handle_deadline = None
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
        req = session.scalar(select(EventStep).where(EventStep.event_id == ev.id,
                                                     EventStep.action == "request_extension")
                             .order_by(EventStep.id.desc()))
        ev.extension_pending = False
        if a == "approve_extension" and req is not None and ev.node_deadline is not None:
            lim = _parse_limit(ev.node_limit)
            extra = float(data.extra_amount or req.data.get("extra_amount") or 0)
            if lim:
                new = ztime.deadline(ev.node_deadline, extra, lim[1])
                step.data = {"extra_amount": extra, "old_deadline": ev.node_deadline.isoformat(),
                             "new_deadline": new.isoformat()}
                if ev.handle_deadline == ev.node_deadline:
                    ev.handle_deadline = new
                ev.node_deadline = new
                ev.overdue = t > new
    elif a == "supervise":
        kind = data.kind or ("leader" if actor.role == "leader" else "key")
        _supervise(session, ev, kind, 1, data.comment, actor.name, t, ev.unit_code)
    elif a == "remind":
        step.target_unit_code = ev.unit_code


def _supervise(session: Session, ev: Event, kind: str, level: int, reason: str, by: str, t: datetime,
               target: str | None) -> Supervision | None:
    exists = session.scalar(select(Supervision.id).where(
        Supervision.event_id == ev.id, Supervision.node_seq == ev.node_seq, Supervision.kind == kind,
        Supervision.level == level))
    if exists is not None and kind == "overdue":
        return None
    if exists is not None:
        level = (session.scalar(select(func.max(Supervision.level)).where(
            Supervision.event_id == ev.id, Supervision.node_seq == ev.node_seq, Supervision.kind == kind)) or 0) + 1
    s = Supervision(event_id=ev.id, node_seq=ev.node_seq, kind=kind, level=level, reason=reason, issued_at=t,
                    issued_by=by, target_unit_code=target, reply_due_at=ztime.deadline(t, 1, "working_days"))
    session.add(s)
    ev.supervised = True
    return s


def reply_supervision(session: Session, actor: Actor, supervision_id: int, reply: str) -> Supervision:
    """Reply to a 督办 order (the responsible unit's required answer)."""
    s = session.get(Supervision, supervision_id)
    if s is None:
        raise NotFound(f"supervision {supervision_id} not found")
    ev = get_event(session, actor, s.event_id)
    if not _in_unit_scope(session, actor, ev) and actor.unit_code != s.target_unit_code:
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
        session.add(EventStep(event_id=c.id, at=step.at, action=f"follow:{step.action}", from_node=c.node,
                              to_node=c.node, actor_id=step.actor_id, actor_name=step.actor_name,
                              actor_role=step.actor_role, comment=f"随主事件 {parent.id} {step.action}", data={}))


def merge(session: Session, actor: Actor, event_id: int, parent_id: int) -> Event:
    """Merge report ``event_id`` into ``parent_id`` (合并): the child keeps its reporter, moves to node
    ``merged`` and follows the parent. Only dispatchers; both must be in scope, same category, open."""
    if actor.role not in rules.DISPATCHERS:
        raise Forbidden(f'role "{actor.role}" may not merge events')
    if event_id == parent_id:
        raise InvalidInput("an event cannot be merged into itself", [FieldError("parent_id", "same as event")])
    child = get_event(session, actor, event_id)
    parent = get_event(session, actor, parent_id)
    if parent.merged_into_id is not None:
        raise Conflict(f"event {parent_id} is itself merged into {parent.merged_into_id}")
    for e in (child, parent):
        if Node(e.node) not in rules.OPEN_NODES:
            raise Conflict(f"event {e.id} is at node {e.node} and cannot be merged",
                           extra={"node": e.node, "version": e.version})
    if child.category_code != parent.category_code:
        raise InvalidInput(f"categories differ ({child.category_code} vs {parent.category_code})",
                           [FieldError("parent_id", "different category")])
    t = ztime.utcnow()
    session.add(EventStep(event_id=child.id, at=t, action="merge", from_node=child.node, to_node=Node.MERGED.value,
                          actor_id=actor.id, actor_name=actor.name, actor_role=actor.role,
                          unit_code=actor.unit_code, comment=f"合并到事件 {parent.id}", data={"parent_id": parent.id}))
    child.merged_into_id = parent.id
    child.node = Node.MERGED.value
    child.node_deadline = None
    child.overdue = False
    for p in session.scalars(select(MergeProposal).where(MergeProposal.event_id == child.id)).all():
        p.status = "accepted" if p.parent_id == parent.id else "superseded"
        p.decided_by = actor.name
    session.flush()
    return child


# --- pre-plans (预案) ------------------------------------------------------------------------------

@lru_cache
def shipped_preplans() -> list[dict[str, Any]]:
    """Pre-plans shipped in ``event/data/preplans.yaml``."""
    doc = yaml.safe_load((resources.files("zhizhi.event") / "data" / "preplans.yaml").read_text(encoding="utf-8"))
    return list(doc["preplans"])


def ensure_preplans(session: Session) -> None:
    """Insert the shipped pre-plans that are not in the database yet."""
    have = set(session.scalars(select(PrePlan.code)).all())
    for p in shipped_preplans():
        if p["code"] not in have:
            session.add(PrePlan(code=p["code"], name=p["name"], trigger_categories=p.get("trigger_categories", []),
                                tasks=p["tasks"]))
    session.flush()


def start_preplan(session: Session, actor: Actor, event_id: int, code: str) -> list[EventTask]:
    """Start pre-plan ``code`` on an event: one task per (unit, role, task) row, with a deadline.

    Unit ``town`` means the event's town center; ``grid`` the event's grid; otherwise a department
    abbreviation of the event's district. Raises NotFound/Forbidden/Conflict/InvalidInput."""
    if actor.role not in rules.DISPATCHERS:
        raise Forbidden(f'role "{actor.role}" may not start a pre-plan')
    ev = get_event(session, actor, event_id)
    plan = session.scalar(select(PrePlan).where(PrePlan.code == code))
    if plan is None:
        raise NotFound(f'unknown pre-plan "{code}"')
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
        task = EventTask(event_id=ev.id, preplan_id=plan.id, unit_code=unit, role=row.get("role", ""),
                         task=row["task"], created_at=t,
                         deadline=ztime.deadline(t, float(row.get("hours", 2)), "continuous"))
        session.add(task)
        out.append(task)
    session.add(EventStep(event_id=ev.id, at=t, action="preplan", from_node=ev.node, to_node=ev.node,
                          actor_id=actor.id, actor_name=actor.name, actor_role=actor.role, unit_code=actor.unit_code,
                          comment=f"启动预案 {plan.name}", data={"preplan": code, "tasks": len(out)}))
    session.flush()
    return out


def complete_task(session: Session, actor: Actor, task_id: int, comment: str = "") -> EventTask:
    """Mark a pre-plan task done (by its unit or a dispatcher)."""
    task = session.get(EventTask, task_id)
    if task is None:
        raise NotFound(f"task {task_id} not found")
    get_event(session, actor, task.event_id)
    if actor.role not in rules.DISPATCHERS and actor.unit_code != task.unit_code:
        raise Forbidden(f"task {task_id} belongs to {task.unit_code}")
    if task.status == "done":
        raise Conflict(f"task {task_id} is already done")
    task.status, task.done_at, task.comment = "done", ztime.utcnow(), comment
    session.flush()
    return task
