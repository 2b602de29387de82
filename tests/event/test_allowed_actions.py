"""The event page's buttons (``EventDetail.allowed_actions``) are exactly the moves the loop accepts.

GENERATED cases: events are driven to every state the loop can leave them in (each node; held by the
district after 上报区级; dispatched to a district department and to a town board; 延期 pending;
merged; tasked by a pre-plan to another town's center), each looked at by the demo staff of every
role (district center, town center, the other town's center, departments, a board, a grid worker, a
leader). For every move of the loop the test tries the transition in a
savepoint: a listed move must be accepted, a refused one must not be listed, and (as the
loop stands) every accepted move is listed: the buttons are exactly the moves. The officer's case
(issue 6): a town duty officer looking at an event the district dispatched to 永川区城市管理局 is not
offered 签收 / 回退 / 延期申请 (each refused with ``event.not_your_unit``).

The events sit at a real Yongchuan point (中山路社区, town 中山路街道 500118001000).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.auth.service import user_actor
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from zhizhi.event import rules, service
from zhizhi.event.models import Event, EventTask
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.org.models import OrgUnit

LON, LAT = 105.898213, 29.352365  # 中山路社区居民委员会 (500118001001), town 500118001000
TOWN = "500118001000"
TOWN_DUTY, DISTRICT_DUTY, CHIEF, LEADER = f"{TOWN}.duty", "500118.duty", "500118.chief", "500118.leader"
OTHER_TOWN = "500118002000"  # 胜利路街道: tasked on one event of 中山路 (a fire team's task)
OTHER_DUTY = f"{OTHER_TOWN}.duty"
CGJ, JTJ = "500118-CGJ", "500118-JTJ"  # 城市管理局 (the 0101 default), 交通局 (another department)


def _board(session: Session) -> str:
    """A board (板块) of the town: a unit it may dispatch to."""
    code = session.scalar(
        select(OrgUnit.code).where(OrgUnit.town_code == TOWN, OrgUnit.level == "board").order_by(OrgUnit.code)
    )
    assert code is not None
    return code


def _new(session: Session) -> Event:
    duty = user_actor(session, TOWN_DUTY)
    return service.create_event(
        session, duty, EventCreate(category_code="0101", title="测试", lon=LON, lat=LAT)
    )


def _do(session: Session, who: str, ev: Event, *moves: tuple[str, dict[str, Any]]) -> Event:
    for action, kw in moves:
        ev = service.transition(session, user_actor(session, who), ev.id, TransitionIn(action=action, **kw))
    return ev


Move = tuple[str, dict[str, Any]]
REG: tuple[Move, Move] = (("accept", {}), ("register", {}))
ESC: Move = ("escalate", {"comment": "属区级部门职责"})


def _states(session: Session) -> dict[str, Event]:
    """One event per state (the keys name it)."""
    board = _board(session)
    out: dict[str, Event] = {"reported": _new(session)}
    out["accepted"] = _do(session, TOWN_DUTY, _new(session), REG[0])
    out["registered"] = _do(session, TOWN_DUTY, _new(session), *REG)
    out["held_by_district"] = _do(session, TOWN_DUTY, _new(session), *REG, ESC)
    # the officer's case: escalated, then dispatched by the district center to the 城管局
    to_cgj = _do(session, TOWN_DUTY, _new(session), *REG, ESC)
    out["dispatched_to_cgj"] = _do(session, DISTRICT_DUTY, to_cgj, ("dispatch", {"unit_code": CGJ}))
    out["dispatched_to_board"] = _do(
        session, TOWN_DUTY, _new(session), *REG, ("dispatch", {"unit_code": board})
    )
    signed = _do(session, TOWN_DUTY, _new(session), *REG, ESC)
    signed = _do(session, DISTRICT_DUTY, signed, ("dispatch", {"unit_code": CGJ}))
    out["signed_cgj"] = _do(session, f"{CGJ}.handler", signed, ("sign", {}))
    ext = _do(session, TOWN_DUTY, _new(session), *REG, ESC)
    ext = _do(session, DISTRICT_DUTY, ext, ("dispatch", {"unit_code": CGJ}))
    out["extension_pending"] = _do(
        session,
        f"{CGJ}.handler",
        ext,
        ("sign", {}),
        ("request_extension", {"comment": "材料", "extra_amount": 1}),
    )
    b = _do(session, TOWN_DUTY, _new(session), *REG, ("dispatch", {"unit_code": board}))
    out["signed_board"] = _do(session, f"{board}.staff", b, ("sign", {}))
    p = _do(session, TOWN_DUTY, _new(session), *REG, ("dispatch", {"unit_code": board}))
    out["parked_board"] = _do(session, f"{board}.staff", p, ("sign", {}), ("park", {"comment": "待资金"}))
    h = _do(session, TOWN_DUTY, _new(session), *REG, ("dispatch", {"unit_code": board}))
    out["handled"] = _do(session, f"{board}.staff", h, ("sign", {}), ("handle", {"comment": "已清理"}))
    v = _do(session, TOWN_DUTY, _new(session), *REG, ("dispatch", {"unit_code": board}))
    v = _do(session, f"{board}.staff", v, ("sign", {}), ("handle", {"comment": "已清理"}))
    out["verified"] = _do(session, TOWN_DUTY, v, ("verify_pass", {}))
    c = _do(session, TOWN_DUTY, _new(session), *REG, ("dispatch", {"unit_code": board}))
    c = _do(session, f"{board}.staff", c, ("sign", {}), ("handle", {"comment": "已清理"}))
    out["closed"] = _do(session, TOWN_DUTY, c, ("verify_pass", {}), ("close", {}))
    out["rejected"] = _do(session, TOWN_DUTY, _new(session), ("reject", {"comment": "重复"}))
    child, parent = _new(session), _new(session)
    service.merge(session, user_actor(session, TOWN_DUTY), child.id, parent.id)
    out["merged"] = child
    # a fire team's task given to the center of another town (联动任务): it sees the event, moves nothing
    tasked = _do(session, TOWN_DUTY, _new(session), *REG)
    now = ztime.utcnow()
    session.add(
        EventTask(
            event_id=tasked.id, unit_code=f"{OTHER_TOWN}-ZHZX", role="town_duty", task="扑火队出动",
            status="open", created_at=now, deadline=now, comment="",
        )
    )  # fmt: skip
    session.flush()
    out["tasked_other_town"] = tasked
    return out


def _users(session: Session, ev: Event) -> list[str]:
    board = _board(session)
    users = [DISTRICT_DUTY, CHIEF, LEADER, TOWN_DUTY, OTHER_DUTY, f"{CGJ}.handler", f"{JTJ}.handler"]
    users.append(f"{board}.staff")
    if ev.grid_code:
        users.append(f"{ev.grid_code}.worker")
    return users


def _input(session: Session, actor: Actor, action: str) -> TransitionIn:
    """Well-formed input for ``action``: 派遣 to a unit ``actor`` may send to (routing for the district)."""
    unit = None
    if action == "dispatch":
        unit = "auto" if actor.town_code is None else _board(session)
    return TransitionIn(action=action, comment="测试", unit_code=unit, satisfaction=5, extra_amount=1)


def _accepted(session: Session, actor: Actor, ev: Event, action: str) -> tuple[bool, str]:
    """Try the move in a savepoint (rolled back): (accepted, the refusal's code)."""
    sp = session.begin_nested()
    try:
        service.transition(session, actor, ev.id, _input(session, actor, action))
        return True, ""
    except (Forbidden, Conflict, InvalidInput, NotFound) as e:
        return False, str(e.code or e)
    finally:
        if sp.is_active:
            sp.rollback()
        session.expire_all()


def test_every_button_is_a_move_the_loop_accepts_and_every_refused_move_has_no_button(
    session: Session,
) -> None:
    states = _states(session)
    for name, ev in states.items():
        assert ev.id is not None, name
    checked = 0
    wrong: list[str] = []
    for name, ev in states.items():
        for who in _users(session, ev):
            actor = user_actor(session, who)
            try:
                seen = service.get_event(session, actor, ev.id)
            except NotFound:
                continue
            listed = service.detail(session, actor, seen).allowed_actions
            for action in rules.TRANSITIONS:
                ok, why = _accepted(session, actor, ev, action)
                checked += 1
                if action in listed and not ok:
                    wrong.append(f"{name}: {who} offered {action}, refused {why}")
                if ok and action not in listed:
                    wrong.append(f"{name}: {who} not offered {action}, which the loop accepts")
    assert not wrong, "\n".join(wrong)
    assert checked > 500  # every state × user × move


def test_the_town_officer_is_not_offered_the_departments_moves(session: Session) -> None:
    """Issue 6: dispatched by the district to 永川区城市管理局, the town officer sees only 催办."""
    ev = _do(session, TOWN_DUTY, _new(session), *REG, ESC)
    ev = _do(session, DISTRICT_DUTY, ev, ("dispatch", {"unit_code": CGJ}))
    assert (ev.node, ev.unit_code) == ("dispatched", CGJ)
    town = user_actor(session, TOWN_DUTY)
    d = service.detail(session, town, service.get_event(session, town, ev.id))
    assert "sign" not in d.allowed_actions and "return" not in d.allowed_actions
    assert "request_extension" not in d.allowed_actions
    assert d.allowed_actions == ["remind"]
    for action in ("sign", "return", "request_extension"):
        ok, why = _accepted(session, town, ev, action)
        assert (ok, why) == (False, "event.not_your_unit")
    # the department itself gets them
    cgj = user_actor(session, f"{CGJ}.handler")
    d = service.detail(session, cgj, service.get_event(session, cgj, ev.id))
    assert {"sign", "return", "request_extension"} <= set(d.allowed_actions)


def test_at_accepted_register_comes_before_reject(session: Session) -> None:
    ev = _do(session, TOWN_DUTY, _new(session), REG[0])
    town = user_actor(session, TOWN_DUTY)
    d = service.detail(session, town, ev)
    assert d.allowed_actions[:2] == ["register", "reject"]
    assert [d.action_labels[a] for a in d.allowed_actions[:2]] == ["立案", "不予立案"]


def test_an_api_tokens_scopes_limit_the_buttons_as_they_limit_the_moves(session: Session) -> None:
    ev = _do(session, TOWN_DUTY, _new(session), *REG, ESC)
    ev = _do(session, DISTRICT_DUTY, ev, ("dispatch", {"unit_code": CGJ}))
    token = replace(user_actor(session, f"{CGJ}.handler"), scopes=frozenset({"event.read", "event.sign"}))
    d = service.detail(session, token, service.get_event(session, token, ev.id))
    assert d.allowed_actions == ["sign"]
    assert _accepted(session, token, ev, "return")[0] is False
    assert _accepted(session, token, ev, "sign") == (True, "")


def test_a_town_tasked_on_another_towns_event_is_offered_no_move(session: Session) -> None:
    """A fire team's task given to another town's center: it reads the event and may complete its task;
    every move is refused (``event.task_only``) and none is offered."""
    ev = _do(session, TOWN_DUTY, _new(session), *REG)
    now = ztime.utcnow()
    task = EventTask(
        event_id=ev.id, unit_code=f"{OTHER_TOWN}-ZHZX", role="town_duty", task="扑火队出动", status="open",
        created_at=now, deadline=now, comment="",
    )  # fmt: skip
    session.add(task)
    session.flush()
    other = user_actor(session, OTHER_DUTY)
    d = service.detail(session, other, service.get_event(session, other, ev.id))
    assert d.allowed_actions == [] and d.auto_unit_code is None
    assert [(t["id"], t["can_complete"]) for t in d.tasks] == [(task.id, True)]
    for action in rules.TRANSITIONS:
        assert _accepted(session, other, ev, action) == (False, "event.task_only"), action
    # the home town keeps its moves, and is not offered the other town's task
    town = user_actor(session, TOWN_DUTY)
    d = service.detail(session, town, service.get_event(session, town, ev.id))
    assert "dispatch" in d.allowed_actions and [t["can_complete"] for t in d.tasks] == [False]
