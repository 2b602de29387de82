"""Data quality of the registers on the database (数据治理): read the records of an area as of a day
(registry/quality checks them), report a score per village or town with the problems (masked),
send a problem to the grid worker as a task on the event loop, and re-check: a task whose problem is
gone is closed through the loop, one handled but still wrong goes back for rework (核查不通过).

A task is an event of the data-verification category (:data:`CATEGORY`) whose ``external_id`` is
``dq:<problem key>`` (``#2``, ``#3`` … when the same problem comes back after a closed task), so the
problem list shows the task of each problem and nothing else needs a table. The town's clerk (or
duty officer) sends it; the platform accepts, registers and dispatches it to the record's grid (the
town centre when the record has no grid) and closes it when the re-check finds the problem fixed.

Permission: ``registry.quality`` (core/data/permissions.yaml) for the report, sending a problem and
re-checking (town duty officers and clerks, departments, the district centre). Data scope: the area
must lie in the caller's scope (404 otherwise); a department (unit scope) has no area and is refused.

The records of an area are read by :mod:`.quality_records` (:func:`load`, re-exported here).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event import service as events
from zhizhi.event.models import Event
from zhizhi.event.rules import OPEN_NODES, Node
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.org import service as org
from zhizhi.org.models import OrgUnit
from zhizhi.registry import quality as q
from zhizhi.registry.service.quality_records import CHUNK as CHUNK
from zhizhi.registry.service.quality_records import _record_area, load, namesake_keys

PERMISSION = "registry.quality"
"""Read the quality report, send a problem to the grid worker, re-check an area."""
CATEGORY = "3701"
"""Event category of a data-quality task: 3701 台账数据核实 (大类 37 数据治理, event/data/categories.yaml)."""
SOURCE = "web"
"""Event source of a data-quality task (a staff report on the platform)."""
KEY_PREFIX = "dq:"
CHILD = {"district": "town", "town": "village", "village": "grid", "grid": "grid"}
"""An area's scores are given per unit of the level below it (a grid: itself)."""
CLOSE_PATH = {
    Node.REPORTED: "accept", Node.ACCEPTED: "register", Node.REGISTERED: "dispatch", Node.DISPATCHED: "sign",
    Node.SIGNED: "handle", Node.PARKED: "unpark", Node.HANDLED: "verify_pass", Node.VERIFIED: "close",
}  # fmt: skip
"""The next move of a task whose problem is fixed, from each open node, until it is closed."""


def _today() -> date:
    return ztime.to_local(ztime.utcnow()).date()


def area_in_scope(session: Session, actor: Actor, code: str) -> OrgUnit:
    """The district, town, village or grid ``code`` (a district also by its 6 digits) when it lies in
    the actor's data scope; NotFound otherwise (it does not exist for them). Forbidden for a
    department (unit scope): its rows are people with its tags, not an area."""
    sc = scope_of(actor)
    if sc.kind == "unit":
        raise Forbidden("data quality is kept per area (district, town, village, grid); ask the district")
    text = str(code).strip()
    try:
        unit = org.get_unit(session, f"{text}000000" if len(text) == 6 and text.isdigit() else text)
    except NotFound:
        raise NotFound(f'org unit "{text[:40]}" not found') from None
    inside = {
        "district": unit.district_code == sc.code,
        "town": unit.town_code == sc.code,
        "grid": unit.code == sc.code,
    }[sc.kind]
    if not inside or unit.level not in CHILD:
        raise NotFound(f'org unit "{text[:40]}" not found')
    return unit


def _names(session: Session, codes: Sequence[str | None]) -> dict[str, str]:
    real = sorted({c for c in codes if c})
    if not real:
        return {}
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(real))).all())


def _tasks(session: Session, district: str, keys: Sequence[str] | None = None) -> dict[str, Event]:
    """The latest data-quality task (event) of each problem key of the district."""
    stmt = select(Event).where(
        Event.district_code == district, Event.source == SOURCE, Event.external_id.like(f"{KEY_PREFIX}%")
    )
    out: dict[str, Event] = {}
    for ev in session.scalars(stmt.order_by(Event.id)):
        key = (ev.external_id or "")[len(KEY_PREFIX) :].split("#", 1)[0]
        if keys is None or key in keys:
            out[key] = ev
    return out


def _tally(t: q.Tally) -> dict[str, Any]:
    return {"score": t.score, "checked": t.checked, "failed": t.failed, "by_dimension": dict(t.by_dimension)}


def scan(
    session: Session,
    unit: OrgUnit,
    on: date,
    rules_: Sequence[q.Rule],
    rule: str | None = None,
    limit: int | None = None,
) -> tuple[q.Tally, dict[str | None, q.Tally], list[q.Problem], int]:
    """Check every record of ``unit`` with ``rules_``: the tally of the whole area and of each unit
    of the level below, the problems (of ``rule`` only when given; the first ``limit`` in rule order
    then record id) and how many there are. A district is checked town by town, so memory holds one
    town's records at a time."""
    child = CHILD[unit.level]
    order = {r.code: i for i, r in enumerate(rules_)}
    parts = [unit]
    keys = None
    if unit.level == "district":
        parts = list(
            session.scalars(
                select(OrgUnit)
                .where(OrgUnit.level == "town", OrgUnit.district_code == unit.district_code)
                .order_by(OrgUnit.code)
            )
        )
        keys = namesake_keys(session, unit.district_code, on)
    total, areas = q.Tally(), dict[str | None, q.Tally]()
    kept: list[q.Problem] = []
    count = 0
    for part in parts:
        rep = q.check(load(session, part, on, keys), on, lambda p: getattr(p, child), rules_)
        total.add(rep.total)
        for code, t in rep.areas.items():
            areas.setdefault(code, q.Tally()).add(t)
        found = [p for p in rep.problems if rule is None or p.rule == rule]
        count += len(found)
        kept = sorted([*kept, *found], key=lambda p: (order[p.rule], p.entity_id))
        if limit is not None:
            kept = kept[:limit]
    return total, areas, kept, count


def report(
    session: Session,
    actor: Actor,
    org_code: str,
    on: date | None = None,
    rule: str | None = None,
    limit: int | None = 200,
) -> dict[str, Any]:
    """The data quality of area ``org_code`` on ``on`` (default today): its score and counts, one row
    per unit of the level below (towns of the district, villages of a town, grids of a village;
    ``None`` code: records without one), and the problems (masked; of ``rule`` only when given; at
    most ``limit``, ``problems_total`` says how many) each with its task (event id and node) when
    one was sent. Raises NotFound (area unknown or out of scope), Forbidden, InvalidInput (rule)."""
    require(actor, PERMISSION)
    unit = area_in_scope(session, actor, org_code)
    day = on or _today()
    rules_ = q.load_rules()
    if rule is not None and rule not in {r.code for r in rules_}:
        msg = f'rule "{rule[:40]}" is not a quality rule ({", ".join(r.code for r in rules_[:3])} …)'
        raise InvalidInput(msg, [FieldError("rule", msg)])
    child = CHILD[unit.level]
    total, areas, shown, count = scan(session, unit, day, rules_, rule, limit)
    by_code = {r.code: r for r in rules_}
    tasks = _tasks(session, unit.district_code, [p.key for p in shown])
    names = _names(session, [*areas, *(c for p in shown for c in (p.place.village, p.place.grid))])
    nowhere = "未落到" + {"town": "镇街", "village": "村(社区)"}.get(child, "网格")
    return {
        "org": unit.code,
        "name": unit.name,
        "level": unit.level,
        "on": day,
        **_tally(total),
        "areas": [
            {"code": code, "name": names.get(code, code) if code else nowhere, **_tally(t)}
            for code, t in sorted(areas.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
        ],
        "problems_total": count,
        "problems": [
            {
                "key": p.key,
                "rule": p.rule,
                "label": by_code[p.rule].label,
                "dimension": by_code[p.rule].dimension,
                "severity": by_code[p.rule].severity,
                "register": p.register,
                "subject": p.subject,
                "detail": p.detail,
                "town": p.place.town,
                "village": p.place.village,
                "grid": p.place.grid,
                "village_name": names.get(p.place.village or ""),
                "grid_name": names.get(p.place.grid or ""),
                "task": {"event_id": tasks[p.key].id, "node": tasks[p.key].node} if p.key in tasks else None,
            }  # fmt: skip
            for p in shown
        ],
    }


def find_problem(session: Session, actor: Actor, key: str, on: date | None = None) -> q.Problem:
    """The current problem ``key`` (``rule:register:id``) of a record in the actor's scope. Raises
    InvalidInput (a malformed key or unknown rule), NotFound (no such record in scope, or the
    problem is not there any more)."""
    try:
        code, register, entity_id = q.parse_key(key)
        rule = q.rule_by_code(code)
    except (ValueError, KeyError) as e:
        msg = str(e).strip("'\"")
        raise InvalidInput(msg, [FieldError("key", msg)]) from None
    if rule.register != register:
        raise InvalidInput(f"rule {code} checks {rule.register} records, not {register}")
    day = on or _today()
    where = _record_area(session, register, entity_id, day)
    if where is None:
        raise NotFound(f"problem {key} not found")
    # the record's village (or town) must lie in the caller's scope; a grid worker's own grid only
    sc = scope_of(actor)
    if sc.kind == "grid":
        area = area_in_scope(session, actor, sc.code)
    else:
        area = area_in_scope(session, actor, where.code)
    rep = q.check(load(session, area, day), day, lambda p: None, [rule])
    found = next((p for p in rep.problems if p.key == f"{code}:{register}:{entity_id}"), None)
    if found is None:
        raise NotFound(f"problem {key} not found (fixed already, or not in your area)")
    return found


def send(session: Session, actor: Actor, key: str, on: date | None = None) -> dict[str, Any]:
    """Send problem ``key`` to the grid worker as a task (an event of :data:`CATEGORY`): reported by
    the actor, accepted, registered and dispatched by the platform to the record's grid (or its
    town's centre). Returns ``{key, event_id, node, unit_code}``. Raises as :func:`find_problem`,
    Conflict when an open task of the problem exists already."""
    require(actor, PERMISSION)
    p = find_problem(session, actor, key, on)
    rule = q.rule_by_code(p.rule)
    earlier = list(
        session.scalars(
            select(Event).where(
                Event.source == SOURCE,
                or_(
                    Event.external_id == KEY_PREFIX + p.key, Event.external_id.like(f"{KEY_PREFIX}{p.key}#%")
                ),
            )
        )
    )
    open_ = [e for e in earlier if e.node in OPEN_NODES]
    if open_:
        raise Conflict(f"problem {p.key} was sent already as event {open_[0].id} ({open_[0].node})")
    ext = KEY_PREFIX + p.key + (f"#{len(earlier) + 1}" if earlier else "")
    area = {"grid_code": p.place.grid} if p.place.grid else (
        {"village_code": p.place.village} if p.place.village else {"town_code": p.place.town})  # fmt: skip
    description = f"{p.subject}: {p.detail}\n处理: {rule.fix}\n问题编号 {p.key}(复核通过后自动结案)"
    ev = events.create_event(
        session,
        actor,
        EventCreate(
            source=SOURCE,
            category_code=CATEGORY,
            title=f"台账数据核实: {rule.label}"[:200],
            description=description,
            external_id=ext,
            urgency="low",
            **area,
        ),  # fmt: skip
        propose_merges=False,
    )
    platform = replace(events.system_actor(ev.district_code), name="系统(数据治理)")
    target = p.place.grid or f"{ev.town_code}-{org.TOWN_CENTER_SUFFIX}"
    for action in ("accept", "register", "dispatch"):
        events.transition(
            session, platform, ev.id,
            TransitionIn(action=action, comment=f"数据质量: {rule.label}",
                         unit_code=target if action == "dispatch" else None),
        )  # fmt: skip
    session.flush()
    return {"key": p.key, "event_id": ev.id, "node": ev.node, "unit_code": ev.unit_code}


def recheck(session: Session, actor: Actor, org_code: str, on: date | None = None) -> dict[str, Any]:
    """Check the area again and follow up its open data-quality tasks: a task whose problem is gone is
    closed through the loop by the platform (复核通过, 结案); a task handled (处置反馈) while the problem
    is still there goes back to the grid worker (核查不通过, 返工). Only the records of open tasks are
    checked again (each record's village loaded once). Returns ``{tasks: open tasks looked at,
    closed: [event ids], returned: [event ids], open: tasks still open}``. Raises as :func:`report`."""
    require(actor, PERMISSION)
    unit = area_in_scope(session, actor, org_code)
    day = on or _today()
    col = {"district": Event.district_code, "town": Event.town_code, "village": Event.village_code}.get(
        unit.level, Event.grid_code
    )
    stmt = select(Event).where(
        and_(
            col == (unit.district_code if unit.level == "district" else unit.code),
            Event.source == SOURCE,
            Event.external_id.like(f"{KEY_PREFIX}%"),
            Event.node.in_([n.value for n in OPEN_NODES]),
        )
    )
    open_tasks = list(session.scalars(stmt.order_by(Event.id)))
    current = _still_there(session, [_key_of(ev) for ev in open_tasks], day)
    platform = replace(events.system_actor(unit.district_code), name="系统(数据治理)")
    closed, returned, still = [], [], 0
    for ev in open_tasks:
        if _key_of(ev) not in current:
            while ev.node != Node.CLOSED:
                action = CLOSE_PATH[Node(ev.node)]
                comment = f"复核({day}): 问题已不存在, 自动结案"
                ev = events.transition(
                    session, platform, ev.id,
                    TransitionIn(action=action, comment=comment,
                                 unit_code=(ev.grid_code or f"{ev.town_code}-{org.TOWN_CENTER_SUFFIX}")
                                 if action == "dispatch" else None),
                )  # fmt: skip
            closed.append(ev.id)
        elif ev.node == Node.HANDLED:
            again = TransitionIn(action="verify_fail", comment=f"复核({day}): 问题仍在, 请重新核实")
            events.transition(session, platform, ev.id, again)
            returned.append(ev.id)
        else:
            still += 1
    session.flush()
    return {"tasks": len(open_tasks), "closed": closed, "returned": returned, "open": still + len(returned)}


def _key_of(ev: Event) -> str:
    return (ev.external_id or "")[len(KEY_PREFIX) :].split("#", 1)[0]


def _still_there(session: Session, keys: Sequence[str], on: date) -> set[str]:
    """Those of the problem ``keys`` that are still found on ``on``: each record's village (or town)
    is loaded once and checked with the rules of its keys. A key whose rule is no longer in the
    rules file, or whose record has left every area, is gone."""
    by_area: dict[str, list[tuple[str, q.Rule]]] = {}
    units: dict[str, OrgUnit] = {}
    for key in keys:
        try:
            code, register, entity_id = q.parse_key(key)
            rule = q.rule_by_code(code)
        except (ValueError, KeyError):
            continue
        where = _record_area(session, register, entity_id, on)
        if where is not None:
            units[where.code] = where
            by_area.setdefault(where.code, []).append((key, rule))
    found: set[str] = set()
    names = namesake_keys(session, next(iter(units.values())).district_code, on) if units else None
    for code, wanted in by_area.items():
        rules_ = list({r.code: r for _, r in wanted}.values())
        problems = q.check(load(session, units[code], on, names), on, lambda p: None, rules_).problems
        found |= {p.key for p in problems} & {k for k, _ in wanted}
    return found
