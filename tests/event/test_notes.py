"""Notes on the timeline (备注, event.service.add_note): a step that moves nothing, counts in no KPI,
open at every node, written by whoever may read the event in their own data scope.

Events here are GENERATED test cases at a real Yongchuan point (中山路社区, villages_points.csv), moved
by the platform; the staff are the demo users the org loader creates.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import as_user

from zhizhi.auth.service import user_actor
from zhizhi.core.errors import Forbidden, InvalidInput, NotFound
from zhizhi.event import rules, service
from zhizhi.event.models import Event, EventStep
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.ops import service as ops

LON, LAT = 105.898213, 29.352365  # 中山路社区居民委员会 (500118001001)
SYS = service.system_actor("500118")
OTHER_TOWN = "500118002000"  # 胜利路街道

# every Event column a note could disturb: the node and its clock, the flags and counters KPIs read
WATCHED = (
    "node", "node_seq", "node_entered_at", "node_deadline", "node_limit", "colour", "overdue", "due_soon",
    "ever_overdue", "version", "unit_code", "dispatch_count", "return_count", "rework_count",
    "reopen_count", "supervised", "parked", "extension_pending", "accepted_at", "registered_at",
    "dispatched_at", "signed_at", "handled_at", "closed_at", "handled_on_time", "closed_on_time",
)  # fmt: skip


def report(session: Session, **where: Any) -> Event:
    place = where or {"lon": LON, "lat": LAT}
    return service.create_event(session, SYS, EventCreate(category_code="0101", title="测试", **place))


def move(session: Session, ev: Event, *actions: str, unit: str = "500118-CGJ") -> None:
    for a in actions:
        data = TransitionIn(action=a, comment="测试", unit_code=unit if a == "dispatch" else None)
        service.transition(session, SYS, ev.id, data)


def state(ev: Event) -> dict[str, Any]:
    return {c: getattr(ev, c) for c in WATCHED}


def notes(session: Session, ev: Event) -> list[EventStep]:
    q = (
        select(EventStep)
        .where(EventStep.event_id == ev.id, EventStep.action == "note")
        .order_by(EventStep.id)
    )
    return list(session.scalars(q))


def test_a_note_is_a_step_that_moves_nothing(session: Session) -> None:
    ev = report(session)
    move(session, ev, "accept", "register", "dispatch")
    before = state(ev)
    kpis = ops.kpis(session, SYS, None, "town")
    duty = user_actor(session, "500118.duty")
    step = service.add_note(session, duty, ev.id, "  现场核实：已联系责任单位  ", {"kind": "test"})
    assert (step.action, step.from_node, step.to_node, step.comment, step.data) == (
        "note", "dispatched", "dispatched", "现场核实：已联系责任单位", {"kind": "test"},
    )  # fmt: skip
    assert (step.actor_name, step.actor_role, step.unit_code, step.limit, step.used, step.overdue) == (
        duty.name, "center_duty", duty.unit_code, None, None, False,
    )  # fmt: skip
    session.refresh(ev)
    assert state(ev) == before
    assert ops.kpis(session, SYS, None, "town") == kpis
    assert rules.NOTE_ACTION not in rules.TRANSITIONS  # not a move: no event.note permission needed
    assert "note" not in rules.allowed_actions("dispatched", "center_duty")


def test_notes_at_any_node_even_merged_or_closed(session: Session) -> None:
    done = report(session)
    move(session, done, "accept", "register", "dispatch", "sign", "handle", "verify_pass", "close")
    parent, child = report(session), report(session)
    service.merge(session, SYS, child.id, parent.id)
    for ev in (done, child):
        before = state(ev)
        service.add_note(session, SYS, ev.id, "补充说明")
        session.refresh(ev)
        assert state(ev) == before and [n.to_node for n in notes(session, ev)] == [ev.node]
    assert (done.node, child.node) == ("closed", "merged")


def test_who_may_add_a_note(session: Session) -> None:
    ev = report(session)
    move(session, ev, "accept", "register", "dispatch")  # to 城管局 (500118-CGJ)
    worker = user_actor(session, f"{ev.grid_code}.worker")
    for who in (worker, user_actor(session, "500118001000.duty"), user_actor(session, "500118-CGJ.handler"),
                user_actor(session, "500118.leader")):  # fmt: skip
        service.add_note(session, who, ev.id, f"{who.role} 的备注")
    assert [n.actor_role for n in notes(session, ev)] == [
        "grid_worker",
        "town_duty",
        "dept_handler",
        "leader",
    ]
    for outsider in ("500118002000.duty", "500118-STHJ.handler"):  # another town, a department not sent it
        with pytest.raises(NotFound, match=f"event {ev.id} not found"):
            service.add_note(session, user_actor(session, outsider), ev.id, "越权")
    # seen only as its reporter (a department reports; nothing is sent to it): may read it, not
    # annotate it
    dept = user_actor(session, "500118-SLJ.handler")
    own = service.create_event(
        session, dept, EventCreate(category_code="0101", title="部门上报", lon=LON, lat=LAT)
    )
    assert service.get_event(session, dept, own.id).id == own.id
    with pytest.raises(NotFound):
        service.add_note(session, dept, own.id, "补充")
    no_read = replace(worker, scopes=frozenset({"event.report"}))  # an API token without event.read
    with pytest.raises(Forbidden, match='scopes do not include "event.read"'):
        service.add_note(session, no_read, ev.id, "补充")
    assert len(notes(session, ev)) == 4


def test_a_note_needs_a_text_of_reasonable_length(session: Session) -> None:
    ev = report(session)
    with pytest.raises(InvalidInput, match="a note needs a text"):
        service.add_note(session, SYS, ev.id, "   ")
    with pytest.raises(InvalidInput, match="a note is at most 4000 characters, got 4001"):
        service.add_note(session, SYS, ev.id, "备" * 4001)
    with pytest.raises(NotFound, match="event 999999 not found"):
        service.add_note(session, SYS, 999999, "补充")
    assert notes(session, ev) == []


def test_the_note_shows_on_the_timeline_of_the_api(session: Session, client: TestClient) -> None:
    ev = report(session)
    service.add_note(session, SYS, ev.id, "核查结论：误报")
    session.commit()
    got = client.get(f"/api/v1/events/{ev.id}", headers=as_user("500118.duty")).json()
    assert [(s["action"], s["comment"], s["from_node"], s["to_node"]) for s in got["timeline"][1:]] == [
        ("note", "核查结论：误报", "reported", "reported"),
    ]
    assert (got["node"], got["version"]) == ("reported", ev.version)
