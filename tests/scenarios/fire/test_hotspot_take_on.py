"""A confirmed real fire (真实火情) is taken on by the platform: its 森林火情 (2206) event is accepted,
registered and dispatched to the town center at once, so it waits for 签收 with that node's limit
instead of sitting at ``reported`` and being escalated by the SLA sweep while the response runs.

On the test database (Yongchuan loaded by conftest) with the real 2022 FIRMS file (one detection in
朱沱镇)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.scenarios.fire.test_hotspot_service import FIRE_TABLES, REAL_2022, ZHUTUO
from zhizhi.core import time as ztime
from zhizhi.core.errors import NotFound
from zhizhi.event import service as events
from zhizhi.event import tasks
from zhizhi.event.models import Event, EventStep
from zhizhi.org import service as org
from zhizhi.scenarios.fire import resources as fire_resources
from zhizhi.scenarios.fire import service
from zhizhi.scenarios.fire.models import HotspotCluster
from zhizhi.scenarios.fire.service import verification

SYS = events.system_actor("500118")
VERIFIER = replace(SYS, name="朱沱镇值班员")
TOWN_CENTER = f"{ZHUTUO}-ZHZX"
SIGN_LIMIT = timedelta(minutes=3)  # event/data/categories.yaml 2206 limits.sign


@pytest.fixture(autouse=True)
def _clean_fire(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as c:
        for t in FIRE_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


@pytest.fixture(params=[True, False], ids=["auto_respond", "respond_by_hand"])
def auto(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    """``response.auto_respond_on_confirmed`` on and off: the take-on happens either way."""
    pol = fire_resources.load_resource_policy()
    setting = pol.response.model_copy(update={"auto_respond_on_confirmed": request.param})
    monkeypatch.setattr(
        fire_resources, "default_resource_policy", lambda: pol.model_copy(update={"response": setting})
    )
    return bool(request.param)


def confirm(session: Session) -> tuple[Event, Event]:
    """Import the real file, record 真实火情; (the 2206 event, the merged 2207 event)."""
    (ref,) = service.import_file(session, REAL_2022).events
    (cl,) = session.scalars(select(HotspotCluster)).all()
    got = service.verify_cluster(session, VERIFIER, cl.id, "真实火情", "林下明火")
    fire, check = session.get(Event, got.fire_event_id), session.get(Event, ref.event_id)
    assert fire is not None and check is not None and got.cluster.outcome == "real_fire"
    return fire, check


def steps(session: Session, eid: int) -> list[tuple[str, str, str, str]]:
    q = select(EventStep).where(EventStep.event_id == eid).order_by(EventStep.id)
    return [(s.action, s.to_node, s.actor_name, s.comment or "") for s in session.scalars(q)]


def test_the_fire_event_is_accepted_registered_and_dispatched_to_the_town_center(
    session: Session, auto: bool
) -> None:
    fire, check = confirm(session)
    assert (fire.node, fire.unit_code, fire.dispatch_count) == ("dispatched", TOWN_CENTER, 1)
    assert fire.accepted_at is not None and fire.registered_at is not None
    assert fire.dispatched_at is not None and fire.node_limit == "0.05 continuous"  # 3 min, in hours
    assert fire.node_deadline == fire.dispatched_at + SIGN_LIMIT  # the 签收 limit, not 受理's 1 min
    assert (fire.overdue, fire.colour) == (False, "green")
    moves = [st for st in steps(session, fire.id) if st[0] in ("accept", "register", "dispatch")]
    assert moves == [
        ("accept", "accepted", "系统", "核查确认真实火情，平台自动受理（朱沱镇值班员 核查）"),
        ("register", "registered", "系统", "核查确认真实火情，平台自动立案（朱沱镇值班员 核查）"),
        (
            "dispatch",
            "dispatched",
            "系统",
            "核查确认真实火情，平台自动派遣朱沱镇基层治理指挥中心（朱沱镇值班员 核查）",
        ),
    ]
    assert (check.node, check.merged_into_id) == ("merged", fire.id)
    if auto:
        assert any(a == "preplan" for a, *_ in steps(session, fire.id))


def test_the_sla_sweep_right_after_does_not_escalate_it(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    fire, _ = confirm(session)
    before = steps(session, fire.id)
    # 70 s on: past 受理's 1-minute limit (where the event used to wait), within 签收's 3 minutes
    later = fire.node_entered_at + timedelta(seconds=70)
    monkeypatch.setattr(ztime, "utcnow", lambda: later)
    got = tasks.sweep(session)
    assert (got["overdue"], got["supervised"], got["escalated"]) == (0, 0, 0)
    assert (fire.node, fire.overdue, fire.colour, fire.escalation_level) == ("dispatched", False, "green", 0)
    assert steps(session, fire.id) == before


def test_without_a_town_center_it_stays_registered_with_a_note_and_the_verification_stands(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = org.get_unit

    def no_center(session: Session, code: str):  # type: ignore[no-untyped-def]
        if code == TOWN_CENTER:
            raise NotFound(f"unit {code} not found")
        return real(session, code)

    monkeypatch.setattr(verification.org, "get_unit", no_center)
    fire, _ = confirm(session)
    assert (fire.node, fire.unit_code, fire.dispatch_count) == ("registered", None, 0)
    note = [st for st in steps(session, fire.id) if "未能自动" in st[3]]
    assert note == [
        (
            "note",
            "registered",
            "系统",
            f"核查确认真实火情，平台未能自动派遣：镇街 {ZHUTUO} 未登记指挥中心（{TOWN_CENTER}），"
            "请区指挥中心人工派遣",
        )
    ]


def test_a_fire_in_no_town_has_no_unit_to_dispatch_to(session: Session) -> None:
    ev = Event(district_code="500118", town_code=None)
    assert verification.fire_unit(session, ev) == (
        None,
        "火情位置不在本区任何镇街内，无属地镇街可派遣，请区指挥中心人工派遣",
    )


def test_a_move_the_loop_refuses_leaves_the_event_where_it_is(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = events.transition

    def refuse_register(session: Session, actor, event_id, data, at=None):  # type: ignore[no-untyped-def]
        if data.action == "register":
            from zhizhi.core.errors import Conflict

            raise Conflict("event changed meanwhile")
        return real(session, actor, event_id, data, at)

    monkeypatch.setattr(verification.events, "transition", refuse_register)
    fire, _ = confirm(session)
    assert fire.node == "accepted"
    assert steps(session, fire.id)[2][:3] == ("note", "accepted", "系统")
    assert steps(session, fire.id)[2][3] == "核查确认真实火情，平台未能自动立案：event changed meanwhile"
