"""真实火情 starts the response at once (data/resources.yaml ``response.auto_respond_on_confirmed``).

On the test database (Yongchuan loaded by conftest) with the real 2022 FIRMS file (one detection in
朱沱镇). The fire team is GENERATED ("测试" in its name, 1.1 km north of the real detection): no public
list of Yongchuan's fire teams exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from tests.scenarios.fire.response_support import CENTER
from tests.scenarios.fire.test_hotspot_service import FIRE_TABLES, REAL_2022, ZHUTUO
from zhizhi.core import time as ztime
from zhizhi.core.errors import Conflict, InvalidInput
from zhizhi.event import service as events
from zhizhi.event.models import Event, EventStep, EventTask
from zhizhi.scenarios.fire import resources as fire_resources
from zhizhi.scenarios.fire import service
from zhizhi.scenarios.fire.models import HotspotCluster
from zhizhi.scenarios.fire.resource_schemas import ResourceIn
from zhizhi.scenarios.fire.service import drill as drills
from zhizhi.scenarios.fire.service import resources as resource_svc
from zhizhi.scenarios.fire.service import response

SYS = events.system_actor("500118")
VERIFIER = replace(SYS, name="朱沱镇值班员")
TOWN_CENTER = f"{ZHUTUO}-ZHZX"


@pytest.fixture(autouse=True)
def _clean_fire(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as c:
        for t in (*FIRE_TABLES, "fire_resource"):
            c.execute(text(f"DELETE FROM {t}"))


@pytest.fixture
def auto_off(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shipped resource policy with ``auto_respond_on_confirmed: false``."""
    pol = fire_resources.load_resource_policy()
    off = pol.model_copy(
        update={"response": pol.response.model_copy(update={"auto_respond_on_confirmed": False})}
    )
    monkeypatch.setattr(fire_resources, "default_resource_policy", lambda: off)


def add_team(session: Session) -> int:
    """A GENERATED semi-professional team of 朱沱镇, 0.01° (1.1 km) north of the real detection."""
    data = ResourceIn(
        kind="team",
        name="测试朱沱半专业扑火队",
        lon=105.81419,
        lat=29.04551,
        owner=ZHUTUO,
        attrs={"type": "semi_professional", "people": 20},
    )
    return resource_svc.create_resource(session, SYS, data).id


def imported_cluster(session: Session) -> tuple[HotspotCluster, int]:
    s = service.import_file(session, REAL_2022)
    (ref,) = s.events
    (cl,) = session.scalars(select(HotspotCluster)).all()
    return cl, ref.event_id


def tasks_of(session: Session, eid: int) -> list[tuple[str, str]]:
    q = select(EventTask).where(EventTask.event_id == eid).order_by(EventTask.id)
    return [(t.unit_code, t.role) for t in session.scalars(q)]


def steps(session: Session, eid: int) -> list[tuple[str, str, str]]:
    q = select(EventStep).where(EventStep.event_id == eid).order_by(EventStep.id)
    return [(s.action, s.actor_name, s.comment or "") for s in session.scalars(q)]


def test_confirming_a_real_fire_dispatches_the_preplan_and_the_nearest_team(session: Session) -> None:
    add_team(session)
    cl, check_id = imported_cluster(session)
    got = service.verify_cluster(session, VERIFIER, cl.id, "真实火情", "林下明火")
    fire = session.get(Event, got.fire_event_id)
    assert fire is not None and fire.category_code == "2206" and got.cluster.outcome == "real_fire"
    assert got.response is not None and got.response_note is None and got.hint is None
    grid = str(fire.grid_code)
    recipients = [(t.unit_code, t.role) for t in got.response.tasks]
    assert recipients == [
        (TOWN_CENTER, "town_duty"),  # the nearest team's unit (扑火队出动) first
        ("500118-LYJ", "dept_handler"),
        (TOWN_CENTER, "town_duty"),
        (grid, "grid_worker"),
        ("500118-YJJ", "dept_handler"),
    ]
    assert sorted(tasks_of(session, fire.id)) == sorted(recipients)
    assert tasks_of(session, check_id) == []  # nothing on the merged 2207 event
    assert got.response.team is not None and got.response.team.name == "测试朱沱半专业扑火队"
    # the platform started it (the steps are 系统's); a note names the verifier who triggered it
    fs = steps(session, fire.id)
    assert [(a, who) for a, who, _ in fs if a == "preplan"] == [("preplan", "系统"), ("preplan", "系统")]
    assert fs[-1][:2] == ("note", "系统")
    assert fs[-1][2].startswith(
        "朱沱镇值班员 核查确认真实火情，按策略自动启动扑救响应（预案 forest-fire-alarm），"
    )
    assert "派发任务 5 项" in fs[-1][2]
    assert fire.node == "dispatched"  # taken on by the platform (test_hotspot_take_on), not by the response
    # starting twice is impossible: the one click is refused while the pre-plan runs
    with pytest.raises(Conflict, match="already running"):
        response.respond(session, SYS, fire.id)
    assert len(tasks_of(session, fire.id)) == 5


def test_with_the_setting_off_only_the_hint_is_given(session: Session, auto_off: None) -> None:
    add_team(session)
    cl, _ = imported_cluster(session)
    got = service.verify_cluster(session, VERIFIER, cl.id, "real_fire")
    assert got.fire_event_id is not None and got.response is None and got.response_note is None
    assert got.hint == (
        f"森林火情事件 {got.fire_event_id} 已立；启动扑救响应（预案）: zhizhi fire respond "
        f"{got.fire_event_id} --as 用户 或 POST /api/v1/fire/events/{got.fire_event_id}/respond"
    )
    assert tasks_of(session, got.fire_event_id) == []
    assert steps(session, got.fire_event_id)[-1][2].endswith("扑救响应（预案）请在本事件一键启动")
    manual = response.respond(session, SYS, got.fire_event_id)  # the one click still works
    assert manual.tasks[0].unit_code == TOWN_CENTER


def test_without_a_registered_team_the_preplan_starts_and_a_note_says_why_no_team(session: Session) -> None:
    cl, _ = imported_cluster(session)
    got = service.verify_cluster(session, VERIFIER, cl.id, "真实火情")
    assert got.cluster.outcome == "real_fire" and got.response is not None
    assert got.response.team is None and got.response.team_task_id is None
    assert [t.unit_code for t in got.response.tasks][0] == "500118-LYJ" and len(got.response.tasks) == 4
    note = steps(session, int(got.fire_event_id or 0))[-1]
    assert note[0] == "note" and note[2].endswith(
        "；本区未登记扑火队伍，未派扑火队任务（登记：zhizhi fire resources import）"
    )


def test_a_response_that_cannot_start_leaves_a_note_and_the_verification_stands(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(session: Session, actor: object, event_id: int) -> None:
        session.add(
            EventTask(
                event_id=event_id,
                unit_code="x",
                role="",
                task="half-written",
                status="open",
                created_at=ztime.utcnow(),
            )
        )
        session.flush()
        raise InvalidInput(f'pre-plan "forest-fire-alarm" needs a grid but event {event_id} has none')

    monkeypatch.setattr(response, "respond", refuse)
    cl, _ = imported_cluster(session)
    got = service.verify_cluster(session, VERIFIER, cl.id, "真实火情")
    fid = int(got.fire_event_id or 0)
    assert got.cluster.outcome == "real_fire" and got.response is None
    assert got.response_note == (
        f'扑救响应（预案）未能自动启动：pre-plan "forest-fire-alarm" needs a grid but event {fid} has none；'
        f"请在本事件一键启动（POST /api/v1/fire/events/{fid}/respond）"
    )
    assert got.hint is not None and steps(session, fid)[-1] == ("note", "系统", got.response_note)
    assert tasks_of(session, fid) == []  # what the failed start wrote is rolled back


@pytest.mark.parametrize("outcome", ["农事用火", "工业热源", "其他热源", "误报"])
def test_other_outcomes_start_nothing(session: Session, outcome: str) -> None:
    add_team(session)
    cl, check_id = imported_cluster(session)
    got = service.verify_cluster(session, VERIFIER, cl.id, outcome)
    assert (got.fire_event_id, got.response, got.response_note, got.hint) == (None, None, None, None)
    assert session.scalars(select(EventTask)).all() == []
    assert session.get(Event, check_id).node == "rejected"  # type: ignore[union-attr]


def test_a_drill_confirmation_dispatches_no_real_task(session: Session) -> None:
    add_team(session)
    run = drills.start_drill(session, SYS, ZHUTUO)
    before = tasks_of(session, run.event_id)
    assert len(before) == 5  # the drill's own response: its pre-plan and the nearest team's task
    assert run.cluster_id is not None
    got = service.verify_cluster(session, VERIFIER, run.cluster_id, "真实火情")
    assert (got.fire_event_id, got.response, got.response_note) == (None, None, None)
    assert session.scalars(select(Event).where(Event.category_code == "2206")).all() == []
    assert sum(len(tasks_of(session, e.id)) for e in session.scalars(select(Event))) == 5
    assert tasks_of(session, run.event_id) == before


def test_api_verify_reports_the_tasks_dispatched(engine: Engine, client: TestClient) -> None:
    from zhizhi.core.db import session_factory

    with session_factory(engine)() as s:
        add_team(s)
        cl, _ = imported_cluster(s)
        s.commit()
        cid = cl.id
    r = client.post(f"/api/v1/fire/clusters/{cid}/verify", json={"outcome": "真实火情"}, headers=CENTER)
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["outcome"] == "real_fire" and got["response_note"] is None and got["hint"] is None
    assert [t["unit_code"] for t in got["response"]["tasks"]][:3] == [TOWN_CENTER, "500118-LYJ", TOWN_CENTER]
    assert got["response"]["event_id"] == got["fire_event_id"]
    again = client.post(f"/api/v1/fire/events/{got['fire_event_id']}/respond", headers=CENTER)
    assert again.status_code == 409, again.text
