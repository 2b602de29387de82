"""Pre-plan tasks (联动任务) end with their event and are recorded when done.

A user trial found: a real event could be closed with its tasks open forever (and completed after
the close); completing a task left no trace of who did it; the task list had no overdue flag; a JSON
body on POST /api/v1/tasks/{id}/done was silently ignored; ``status=all`` was refused.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from tests.conftest import as_user

from zhizhi.auth.service import user_actor
from zhizhi.core import time as ztime
from zhizhi.core.db import session_factory
from zhizhi.core.errors import Conflict
from zhizhi.event import service
from zhizhi.event.models import EventStep, EventTask
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.event.service.preplan import DRILL_END_COMMENT, EVENT_END_COMMENT, end_comment
from zhizhi.org.models import OrgUnit

LON, LAT = 105.898213, 29.352365  # 中山路社区, town 500118001000
DUTY, CGJ = as_user("500118.duty"), as_user("500118-CGJ.handler")


def _event(client: TestClient, title: str = "积水") -> dict[str, Any]:
    body = {"category_code": "0401", "title": title, "lon": LON, "lat": LAT}
    r = client.post("/api/v1/events", json=body, headers=DUTY)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _preplan(client: TestClient, eid: int) -> dict[str, int]:
    """Start 城市内涝处置预案 on ``eid``: the task ids by unit code."""
    r = client.post(f"/api/v1/events/{eid}/preplans/waterlogging", headers=DUTY)
    assert r.status_code == 201, r.text
    return {t["unit_code"]: t["id"] for t in r.json()["tasks"]}


def _move(client: TestClient, eid: int, who: dict[str, str], action: str, **kw: Any) -> dict[str, Any]:
    r = client.post(f"/api/v1/events/{eid}/transitions", json={"action": action, **kw}, headers=who)
    assert r.status_code == 200, r.text
    return dict(r.json())


def _detail(client: TestClient, eid: int) -> dict[str, Any]:
    return dict(client.get(f"/api/v1/events/{eid}", headers=DUTY).json())


def _unit_name(engine: Engine, code: str) -> str:
    with session_factory(engine)() as s:
        name = s.scalar(select(OrgUnit.name).where(OrgUnit.code == code))
    assert name is not None
    return name


def test_closing_a_real_event_closes_its_open_tasks_and_records_the_done_one(
    client: TestClient, engine: Engine
) -> None:
    eid = _event(client)["id"]
    tasks = _preplan(client, eid)
    cgj = tasks["500118-CGJ"]
    r = client.post(f"/api/v1/tasks/{cgj}/done", json={"comment": "已抽排"}, headers=CGJ)
    assert r.status_code == 200, r.text
    cgj_name = _unit_name(engine, "500118-CGJ")
    assert r.json()["comment"] == "已抽排" and r.json()["done_by"].endswith(f"（{cgj_name}）")
    for action, kw in (("accept", {}), ("register", {}), ("dispatch", {"unit_code": "500118-CGJ"})):
        _move(client, eid, DUTY, action, **kw)
    _move(client, eid, CGJ, "sign")
    _move(client, eid, CGJ, "handle", comment="已处置")
    _move(client, eid, DUTY, "verify_pass")
    assert {t["status"] for t in _detail(client, eid)["tasks"]} == {"open", "done"}  # not ended yet
    done = _move(client, eid, DUTY, "close")  # open tasks never block the close
    assert done["node"] == "closed"
    d = _detail(client, eid)
    by_id = {t["id"]: t for t in d["tasks"]}
    assert by_id[cgj]["status"] == "done" and by_id[cgj]["done_by"].endswith(f"（{cgj_name}）")
    others = [t for i, t in by_id.items() if i != cgj]
    assert len(others) == 2
    assert all(
        (t["status"], t["comment"], t["done_by"]) == ("closed", EVENT_END_COMMENT, None) for t in others
    )
    assert not any(t["can_complete"] or t["overdue"] for t in d["tasks"])
    # the timeline says who started the pre-plan and who did the task, in Chinese
    labels = {s["action"]: (s["label"], s["comment"]) for s in d["timeline"]}
    assert labels["preplan"][0] == "启动预案"
    assert labels["task_done"] == ("完成联动任务", f"{cgj_name}：排水抢险队赶赴积水点抽排（已抽排）")
    # completing a task of the ended event: 409 saying why
    jtj = tasks["500118-JTJ"]
    r = client.post(f"/api/v1/tasks/{jtj}/done", headers=DUTY)
    assert r.status_code == 409
    assert r.json()["detail"] == f"task {jtj} is already closed: its event {eid} has ended (node closed)"
    r = client.post(f"/api/v1/tasks/{cgj}/done", headers=DUTY)
    assert r.status_code == 409 and r.json()["detail"] == f"task {cgj} is already done"


@pytest.mark.parametrize("ending", ["reject", "merge"])
def test_rejected_and_merged_events_close_their_tasks(session: Session, ending: str) -> None:
    duty = user_actor(session, "500118.duty")
    ev = service.create_event(
        session, duty, EventCreate(category_code="0401", title="积水", lon=LON, lat=LAT)
    )
    tasks = service.start_preplan(session, duty, ev.id, "waterlogging")
    if ending == "reject":
        service.transition(session, duty, ev.id, TransitionIn(action="reject", comment="重复"))
    else:
        parent = service.create_event(
            session, duty, EventCreate(category_code="0401", title="积水", lon=LON, lat=LAT)
        )
        service.merge(session, duty, ev.id, parent.id)
    assert {(t.status, t.comment) for t in tasks} == {("closed", EVENT_END_COMMENT)}
    assert all(t.done_at is not None and t.done_by is None for t in tasks)
    with pytest.raises(Conflict, match=rf"task {tasks[0].id} is already closed: its event {ev.id} has ended"):
        service.complete_task(session, duty, tasks[0].id, "迟到")


def test_a_task_left_open_on_an_ended_event_cannot_be_completed(session: Session) -> None:
    """Tasks closed by no version (before this fix) stay open on an ended event: refused, clearly."""
    duty = user_actor(session, "500118.duty")
    ev = service.create_event(
        session, duty, EventCreate(category_code="0401", title="积水", lon=LON, lat=LAT)
    )
    tasks = service.start_preplan(session, duty, ev.id, "waterlogging")
    service.transition(session, duty, ev.id, TransitionIn(action="reject", comment="不属实"))
    tasks[0].status, tasks[0].done_at, tasks[0].comment = "open", None, ""  # as an old version left it
    session.flush()
    with pytest.raises(Conflict, match=rf"its event {ev.id} has ended \(node rejected\)") as e:
        service.complete_task(session, duty, tasks[0].id)
    assert e.value.code == "event.task_event_ended" and tasks[0].status == "open"
    assert [i.can_complete for i in service.list_tasks(session, duty, "open")[1] if i.id == tasks[0].id] == [
        False
    ]


def test_end_comment_keeps_the_drill_wording(session: Session) -> None:
    duty = user_actor(session, "500118.duty")
    ev = service.create_event(
        session, duty, EventCreate(category_code="0401", title="积水", lon=LON, lat=LAT)
    )
    assert end_comment(ev) == EVENT_END_COMMENT
    ev.is_drill = True
    assert end_comment(ev) == DRILL_END_COMMENT


def test_the_district_center_completes_a_units_task_on_record(session: Session) -> None:
    duty = user_actor(session, "500118.duty")  # event.task_any
    ev = service.create_event(
        session, duty, EventCreate(category_code="0401", title="积水", lon=LON, lat=LAT)
    )
    tasks = {t.unit_code: t for t in service.start_preplan(session, duty, ev.id, "waterlogging")}
    t = service.complete_task(session, duty, tasks["500118-JTJ"].id, "  已设警示  ")
    center = session.scalar(select(OrgUnit.name).where(OrgUnit.code == duty.unit_code))
    jtj = session.scalar(select(OrgUnit.name).where(OrgUnit.code == "500118-JTJ"))
    assert (t.status, t.comment, t.done_by) == ("done", "已设警示", f"{duty.name}（{center}）")
    step = session.scalars(
        select(EventStep).where(EventStep.event_id == ev.id, EventStep.action == "task_done")
    ).one()
    assert (step.actor_name, step.unit_code, step.from_node, step.to_node) == (
        duty.name,
        duty.unit_code,
        "reported",
        "reported",
    )
    assert step.comment == f"{jtj}：设置警示并视情交通管制（已设警示）"
    assert step.data == {"task_id": t.id, "task_unit_code": "500118-JTJ"}
    assert ev.version == 1 and ev.node == "reported"  # a record, not a move
    items = {i.id: i for i in service.list_tasks(session, duty, "all", limit=500)[1]}
    assert items[t.id].done_by == t.done_by and items[t.id].status == "done"
    # without a comment the step has none in brackets
    t2 = service.complete_task(session, duty, tasks["500118-CGJ"].id)
    step2 = session.scalars(
        select(EventStep)
        .where(EventStep.event_id == ev.id, EventStep.action == "task_done")
        .order_by(EventStep.id.desc())
    ).first()
    assert step2 is not None and step2.comment.endswith("：排水抢险队赶赴积水点抽排") and t2.comment == ""


def test_overdue_flags_open_tasks_past_their_deadline(session: Session) -> None:
    duty = user_actor(session, "500118.duty")
    ev = service.create_event(
        session, duty, EventCreate(category_code="0401", title="积水", lon=LON, lat=LAT)
    )
    tasks = service.start_preplan(session, duty, ev.id, "waterlogging")
    past = ztime.utcnow() - timedelta(hours=1)
    tasks[0].deadline = past
    tasks[1].deadline = past
    session.flush()
    service.complete_task(session, duty, tasks[1].id)
    d = service.detail(session, duty, service.get_event(session, duty, ev.id))
    assert [(t["id"], t["overdue"]) for t in d.tasks] == [
        (tasks[0].id, True),
        (tasks[1].id, False),
        (tasks[2].id, False),
    ]
    items = {i.id: i.overdue for i in service.list_tasks(session, duty, "all", limit=500)[1]}
    assert (items[tasks[0].id], items[tasks[1].id], items[tasks[2].id]) == (True, False, False)


def test_the_done_route_takes_the_comment_as_body_or_query(client: TestClient, engine: Engine) -> None:
    eid = _event(client)["id"]
    tasks = list(_preplan(client, eid).values())
    url = "/api/v1/tasks/{}/done".format
    r = client.post(url(tasks[0]), params={"comment": "甲"}, json={"comment": "乙"}, headers=DUTY)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["comment"]
    r = client.post(url(tasks[0]), json={"comment": "甲", "by": "x"}, headers=DUTY)
    assert r.status_code == 422  # extra="forbid"
    r = client.post(url(tasks[0]), json={"comment": 3}, headers=DUTY)
    assert r.status_code == 422
    with session_factory(engine)() as s:  # nothing was done by the refused calls
        assert s.get(EventTask, tasks[0]).status == "open"  # type: ignore[union-attr]
    r = client.post(url(tasks[0]), params={"comment": "同"}, json={"comment": " 同 "}, headers=DUTY)
    assert r.status_code == 200 and r.json()["comment"] == "同"
    r = client.post(url(tasks[1]), params={"comment": "查询参数"}, headers=DUTY)
    assert r.status_code == 200 and r.json()["comment"] == "查询参数"
    r = client.post(url(tasks[2]), headers=DUTY)
    assert r.status_code == 200 and r.json()["comment"] == "" and r.json()["done_by"]


def test_the_task_list_takes_all(client: TestClient) -> None:
    eid = _event(client)["id"]
    tasks = list(_preplan(client, eid).values())
    assert client.post(f"/api/v1/tasks/{tasks[0]}/done", headers=DUTY).status_code == 200
    ids: dict[str, set[int]] = {}
    for status in (None, "open", "done", "all", ""):
        params = {"limit": 500} | ({} if status is None else {"status": status})
        r = client.get("/api/v1/tasks", params=params, headers=DUTY)
        assert r.status_code == 200, (status, r.text)
        ids[str(status)] = {t["id"] for t in r.json()["items"]} & set(tasks)
    assert ids["None"] == ids["open"] == set(tasks[1:])
    assert ids["done"] == {tasks[0]}
    assert ids["all"] == ids[""] == set(tasks)
    r = client.get("/api/v1/tasks", params={"status": "every"}, headers=DUTY)
    assert r.status_code == 422 and "open, done, closed or all" in r.json()["detail"]
