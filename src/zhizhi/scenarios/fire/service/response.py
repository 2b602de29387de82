"""The response to a fire event (火情处置): the nearest resources of each kind, and the one-click start
of the forest-fire pre-plan with a task for the nearest team.

A fire event is a 森林火情 (2206) or 卫星热点核查 (2207) event with a point. Distances are straight
lines (great-circle, resources.DISTANCE_NOTE): the road distance a team drives needs a road network,
which zhizhi does not have. Only the event's district's resources are considered (a resource of the
next district is not in this district's ledger).

One click (:func:`respond`) starts the pre-plan of ``data/resources.yaml`` (``forest-fire-alarm``,
event/data/preplans.yaml) through ``event.service.start_preplan`` — tasks for 林业局, the event's
town center, the event's grid and 应急局 — and adds one task, in the same pre-plan, to the unit the
nearest team belongs to (its town center or department): "扑火队出动", naming the team and its
distance, with its own deadline, and a timeline row saying so. The event itself stays at its node.
Services flush; the caller commits.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.event import service as events
from zhizhi.event.models import Event, EventStep, EventTask
from zhizhi.org import service as org
from zhizhi.scenarios.fire import resources as rules
from zhizhi.scenarios.fire.models import FireResource
from zhizhi.scenarios.fire.resource_schemas import (
    NearestKind,
    NearestRead,
    NearestResource,
    RespondRead,
    TaskRead,
)
from zhizhi.scenarios.fire.service.resources import district_resources, resource_read

FIRE_CATEGORIES = ("2206", "2207")  # 森林火情, 卫星热点核查 (event/data/categories.yaml)


def fire_event(session: Session, actor: Actor, event_id: int) -> Event:
    """The fire event ``event_id`` in the actor's scope (NotFound otherwise). Raises InvalidInput for
    an event of another category or without a point."""
    ev = events.get_event(session, actor, event_id, own_reports=False)
    if ev.category_code not in FIRE_CATEGORIES:
        why = f"event {event_id} is not a fire event (森林火情 2206 or 卫星热点核查 2207): {ev.category_code}"
        raise InvalidInput(why, [FieldError("event_id", why)])
    if ev.lon is None or ev.lat is None:
        why = f"event {event_id} has no point (lon/lat): the nearest resources need one"
        raise InvalidInput(why, [FieldError("event_id", why)])
    return ev


def _per_kind(per_kind: int | None) -> int:
    pol = rules.default_resource_policy().response
    n = pol.per_kind_default if per_kind is None else per_kind
    if not 1 <= n <= pol.per_kind_max:
        why = f"per_kind must be 1-{pol.per_kind_max}, got {n}"
        raise InvalidInput(why, [FieldError("per_kind", why)])
    return n


def _nearest(
    session: Session, ev: Event, per_kind: int, kind: str | None = None
) -> dict[str, list[tuple[FireResource, float]]]:
    assert ev.lon is not None and ev.lat is not None
    rows = district_resources(session, ev.district_code, kind)
    by_id = {r.id: r for r in rows}
    cands = [rules.Candidate(r.id, r.kind, r.lon, r.lat) for r in rows]
    found = rules.nearest_by_kind(ev.lon, ev.lat, cands, per_kind)
    return {k: [(by_id[i], d) for i, d in pairs] for k, pairs in found.items()}


def _with_distance(r: FireResource, d: float) -> NearestResource:
    return NearestResource(**resource_read(r).model_dump(), distance_km=round(d, 3))


def nearest(session: Session, actor: Actor, event_id: int, per_kind: int | None = None) -> NearestRead:
    """The ``per_kind`` nearest resources of each kind (data/resources.yaml order; an empty list for a
    kind the district has none of) to the point of fire event ``event_id``, with straight-line
    distances in km (3 decimals). Needs ``fire.read`` and the event in scope (NotFound otherwise).
    Raises InvalidInput for a non-fire event, an event without a point, or per_kind out of range."""
    require(actor, "fire.read")
    n = _per_kind(per_kind)
    ev = fire_event(session, actor, event_id)
    found = _nearest(session, ev, n)
    assert ev.lon is not None and ev.lat is not None
    return NearestRead(
        event_id=ev.id,
        category_code=ev.category_code,
        lon=round(ev.lon, 6),
        lat=round(ev.lat, 6),
        per_kind=n,
        distance=rules.DISTANCE_NOTE,
        kinds=[
            NearestKind(
                kind=k.key,
                name=k.name,
                colour=k.colour,
                resources=[_with_distance(r, d) for r, d in found.get(k.key, [])],
            )
            for k in rules.default_resource_policy().kinds
        ],
    )


def _task_role(session: Session, unit_code: str) -> str:
    roles = rules.default_resource_policy().response.team_task_roles
    try:
        unit = org.get_unit(session, unit_code)
    except NotFound:
        return roles["department"]
    if unit.level == "department":
        return roles["department"]
    return roles["town_center"] if unit.town_code else roles["district_center"]


def _team_text(team: FireResource, km: float) -> str:
    attrs = team.attrs or {}
    kind = rules.type_name("team", attrs)
    people = f"，{attrs['people']} 人" if "people" in attrs else ""
    gear = "、".join(attrs.get("equipment", [])[:5])
    gear = f"，装备：{gear}" if gear else ""
    return (
        f"扑火队出动：{team.name}（{kind}{people}{gear}）立即赶赴火点，距火点直线约 {km:.1f} km"
        "（直线距离，道路距离需路网数据）"
    )


def respond(session: Session, actor: Actor, event_id: int, *, preplan: str | None = None) -> RespondRead:
    """One-click response (一键启动预案) to fire event ``event_id``: start the forest-fire pre-plan
    (its tasks for 林业局, the town center, the grid and 应急局) and give the unit of the nearest team a
    task to send it, with a timeline row naming the team and its straight-line distance (its ``data``:
    ``preplan``, ``team_id``, ``task_id``, ``distance_km``).

    ``preplan``: the pre-plan code to start (default data/resources.yaml ``response.preplan``); a
    drill (service/drill.py) passes its own (data/drill.yaml ``preplan``). A drill event's tasks are
    drill tasks like its event: nothing here differs, KPIs leave drill events out.

    Needs ``event.preplan`` (the pre-plan) and ``fire.read``; the event in the actor's scope (NotFound
    otherwise). Raises InvalidInput for a non-fire event, an event without a point or without a grid
    (the pre-plan's grid task needs one), Conflict while the pre-plan already runs on the event or for
    an event no longer open. Without a registered team the pre-plan still starts and ``notes`` says
    so.
    """
    require(actor, "event.preplan")
    require(actor, "fire.read")
    ev = fire_event(session, actor, event_id)
    code = preplan or rules.default_resource_policy().response.preplan
    teams = _nearest(session, ev, 1, "team").get("team", [])
    tasks = events.start_preplan(session, actor, ev.id, code)
    notes: list[str] = []
    team_read: NearestResource | None = None
    team_task: EventTask | None = None
    if not teams:
        notes.append(f"district {ev.district_code} has no fire team registered: no team task was created")
    else:
        team, km = teams[0]
        team_read = _with_distance(team, km)
        if team.owner_unit_code is None:  # imports and the API require it; an old row may lack it
            notes.append(f"team {team.id} ({team.name}) has no owner unit: no team task was created")
        else:
            team_task = _add_team_task(session, actor, ev, team, km, tasks, code)
    ordered = ([team_task] if team_task is not None else []) + list(tasks)
    return RespondRead(
        event_id=ev.id,
        preplan=code,
        team=team_read,
        team_task_id=team_task.id if team_task is not None else None,
        tasks=[
            TaskRead(
                id=t.id, unit_code=t.unit_code, role=t.role, task=t.task, deadline=t.deadline, status=t.status
            )
            for t in ordered
        ],
        distance=rules.DISTANCE_NOTE,
        notes=notes,
    )


def _add_team_task(
    session: Session,
    actor: Actor,
    ev: Event,
    team: FireResource,
    km: float,
    tasks: list[EventTask],
    preplan: str,
) -> EventTask:
    """The team's task, in the pre-plan just started (same ``preplan_id``), and its timeline row.

    The event service has no use case to add one task to a unit outside a pre-plan's fixed rows, so
    this writes the two rows itself, as ``start_preplan`` writes its own (see docs/domains/fire.md)."""
    assert team.owner_unit_code is not None
    pol = rules.default_resource_policy().response
    now = ztime.utcnow()
    task = EventTask(
        event_id=ev.id,
        preplan_id=tasks[0].preplan_id if tasks else None,
        unit_code=team.owner_unit_code,
        role=_task_role(session, team.owner_unit_code),
        task=_team_text(team, km),
        status="open",
        created_at=now,
        deadline=ztime.deadline(now, pol.team_task_hours, "continuous"),
        comment="",
    )
    session.add(task)
    session.flush()  # its id, for the timeline row
    session.add(
        EventStep(
            event_id=ev.id,
            at=now,
            action="preplan",
            from_node=ev.node,
            to_node=ev.node,
            actor_id=actor.id,
            actor_name=actor.name,
            actor_role=actor.role,
            unit_code=actor.unit_code,
            target_unit_code=team.owner_unit_code,
            comment=f"派出最近扑火队 {team.name}（直线约 {km:.1f} km）",
            data={"preplan": preplan, "team_id": team.id, "task_id": task.id, "distance_km": round(km, 3)},
        )
    )
    session.flush()
    return task
