"""The rest of the closed loop with exact times: the SLA sweep (时限巡检), similar-event merge (合并),
routing (权属配置), pre-plans (预案), extension (延期), 督办 replies and 挂账.

Times are back-dated with the system actor on Tuesday 2026-11-03, an ordinary working day
(08:30-12:00 and 14:00-18:00 Beijing time).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import as_user

from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import rules, service, tasks
from zhizhi.event.models import Event, EventStep, EventTask, JobRun, MergeProposal, Supervision
from zhizhi.event.schemas import EventCreate, TransitionIn

# 中山路社区居民委员会 (500118001001): a real village point from villages_points.csv
LON, LAT = 105.898213, 29.352365
M_PER_DEG_LAT = 6_371_008.8 * 3.141592653589793 / 180  # rules.haversine_m's sphere
SYS = service.system_actor("500118")
DUTY, CHIEF = as_user("500118.duty"), as_user("500118.chief")
CGJ = as_user("500118-CGJ.handler")
TOWN = "500118001000"  # 中山路街道


def local(h: int, m: int = 0, day: int = 3, s: int = 0) -> datetime:
    """Beijing time on 2026-11-<day> (3 = Tuesday)."""
    return datetime(2026, 11, day, h, m, s, tzinfo=LOCAL_TZ)


def report(session: Session, when: datetime, cat: str = "0101", lon: float = LON, lat: float = LAT,
           **kw: Any) -> Event:
    return service.create_event(session, SYS, EventCreate(category_code=cat, title="测试", lon=lon, lat=lat,
                                                          reported_at=when, **kw))


def move(session: Session, ev: Event, action: str, when: datetime, **kw: Any) -> Event:
    return service.transition(session, SYS, ev.id, TransitionIn(action=action, **kw), at=when)


def steps(session: Session, ev: Event) -> list[tuple[str, datetime]]:
    return [(s.action, s.at) for s in session.scalars(
        select(EventStep).where(EventStep.event_id == ev.id).order_by(EventStep.at, EventStep.id))]


def sups(session: Session, ev: Event) -> list[tuple[str, int, datetime, str | None]]:
    return [(s.kind, s.level, s.issued_at, s.target_unit_code) for s in session.scalars(
        select(Supervision).where(Supervision.event_id == ev.id).order_by(Supervision.level, Supervision.id))]


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def post_event(client: TestClient, lat: float = LAT, cat: str = "0101", **kw: Any) -> dict[str, Any]:
    body = {"category_code": cat, "title": "垃圾", "lon": LON, "lat": lat, **kw}
    r = client.post("/api/v1/events", json=body, headers=DUTY)
    assert r.status_code == 201, r.text
    return dict(r.json())


def act(client: TestClient, eid: int, who: dict[str, str], action: str, **kw: Any) -> Any:
    return client.post(f"/api/v1/events/{eid}/transitions", json={"action": action, **kw}, headers=who)


# --- SLA sweep (时限巡检) --------------------------------------------------------------------------------

def test_sweep_reminds_at_80_percent_then_supervises_at_the_deadline(session: Session) -> None:
    t0 = local(9)
    ev = report(session, t0)  # 受理 limit: 30 continuous minutes
    assert (ev.node_limit, ev.node_deadline) == ("0.5 continuous", utc(local(9, 30)))

    assert ev.next_check_at == utc(local(9, 15))  # first change: blue at 50 % of the limit
    c = tasks.sweep(session, t0 + timedelta(minutes=10))
    assert c == {"checked": 0, "due_soon": 0, "overdue": 0, "reminded": 0, "supervised": 0, "escalated": 0,
                 "tasks_overdue": 0}
    assert (ev.colour, ev.due_soon, ev.overdue) == ("green", False, False)
    tasks.sweep(session, t0 + timedelta(minutes=20))
    assert ev.colour == "blue" == rules.colour(20 / 60, 0.5)
    assert steps(session, ev) == [("report", utc(t0))]

    c = tasks.sweep(session, t0 + timedelta(minutes=24))  # exactly 80 %
    assert (c["reminded"], c["due_soon"], c["overdue"], c["supervised"]) == (1, 1, 0, 0)
    assert (ev.colour, ev.due_soon, ev.overdue) == ("yellow", True, False)
    remind = session.scalars(select(EventStep).where(EventStep.event_id == ev.id,
                                                     EventStep.action == "remind")).one()
    assert (remind.at, remind.used, remind.actor_role, remind.target_unit_code) == (
        utc(local(9, 24)), 0.4, "system", None)  # not dispatched yet: the reminder is the center's
    assert remind.data == {"auto": True, "node_seq": 1}

    c = tasks.sweep(session, t0 + timedelta(minutes=24))  # again: nothing new, nothing even looked at
    assert (c["checked"], c["reminded"], c["due_soon"]) == (0, 0, 0)
    assert ev.next_check_at == utc(local(9, 30))  # next change: orange at 100 % of the limit
    tasks.sweep(session, t0 + timedelta(minutes=30))
    assert ev.next_check_at == utc(local(9, 30)) + timedelta(microseconds=1)  # then: just past the deadline
    c = tasks.sweep(session, t0 + timedelta(minutes=30))  # at the deadline: not yet overdue
    assert (c["overdue"], c["supervised"], ev.overdue, ev.colour) == (0, 0, False, "orange")
    assert sups(session, ev) == []

    c = tasks.sweep(session, t0 + timedelta(minutes=31))
    assert (c["overdue"], c["supervised"], c["escalated"]) == (1, 1, 0)
    assert (ev.overdue, ev.ever_overdue, ev.supervised, ev.escalation_level, ev.colour) == (
        True, True, True, 1, "orange")
    assert sups(session, ev) == [("overdue", 1, utc(local(9, 30)), "500118-CYZX")]
    s1 = session.scalars(select(Supervision).where(Supervision.event_id == ev.id)).one()
    assert s1.node_seq == 1 and s1.issued_by == "系统"
    assert s1.reply_due_at == utc(local(9, 30, day=4))  # one working day (7.5 working hours) later

    for minutes in (31, 45, 59):
        c = tasks.sweep(session, t0 + timedelta(minutes=minutes))
        assert (c["supervised"], c["escalated"]) == (0, 0)
        # the sweep looks again only when something can change: red at 150 % (09:45)
        assert (c["checked"], c["overdue"]) == ((1, 1) if minutes == 45 else (0, 0))
    assert ev.colour == "red" == rules.colour(59 / 60, 0.5)
    c = tasks.sweep(session, t0 + timedelta(minutes=61))  # past twice the limit
    assert (c["supervised"], c["escalated"], ev.escalation_level) == (0, 1, 2)
    assert sups(session, ev) == [("overdue", 1, utc(local(9, 30)), "500118-CYZX"),
                                 ("overdue", 2, utc(local(10)), "500118-CYZX")]
    tasks.sweep(session, t0 + timedelta(days=3))
    assert steps(session, ev) == [("report", utc(t0)), ("remind", utc(local(9, 24))),
                                  ("supervise", utc(local(9, 30))), ("escalate", utc(local(10)))]
    runs = session.scalars(select(JobRun).where(JobRun.job == "sla_sweep").order_by(JobRun.id)).all()
    assert runs[-1].status == "ok" and runs[-1].as_of == utc(t0 + timedelta(days=3))
    assert runs[-1].counts["checked"] == 1


def test_one_late_sweep_catches_up_every_level_exactly_once(session: Session) -> None:
    t0 = local(9)
    ev = report(session, t0)
    c = tasks.sweep(session, t0 + timedelta(hours=5))
    assert c == {"checked": 1, "due_soon": 1, "overdue": 1, "reminded": 1, "supervised": 1, "escalated": 1,
                 "tasks_overdue": 0}
    assert steps(session, ev) == [("report", utc(t0)), ("remind", utc(local(9, 24))),
                                  ("supervise", utc(local(9, 30))), ("escalate", utc(local(10)))]
    # the 督办 reason is for people (node label, limit, clock); the facts for programs on the step
    reasons = session.scalars(select(Supervision.reason).where(Supervision.event_id == ev.id)
                              .order_by(Supervision.level)).all()
    assert reasons == ["“待受理”环节超过时限（时限 30 分钟，全天连续计时）",
                       "“待受理”环节用时已达时限的 2 倍（时限 30 分钟，全天连续计时）"]
    auto = session.scalars(select(EventStep).where(EventStep.event_id == ev.id,
                                                   EventStep.action == "escalate")).one()
    assert {k: auto.data[k] for k in ("level", "node", "limit_amount", "clock", "share")} == {
        "level": 2, "node": "reported", "limit_amount": 0.5, "clock": "continuous", "share": 2.0}
    assert [(k, lv, at) for k, lv, at, _ in sups(session, ev)] == [("overdue", 1, utc(local(9, 30))),
                                                                   ("overdue", 2, utc(local(10)))]
    c = tasks.sweep(session, t0 + timedelta(hours=9))
    assert (c["reminded"], c["supervised"], c["escalated"], c["overdue"]) == (0, 0, 0, 1)
    assert len(steps(session, ev)) == 4 and len(sups(session, ev)) == 2
    assert ev.colour == "red"


def test_a_new_node_starts_its_own_clock(session: Session) -> None:
    ev = report(session, local(9))
    tasks.sweep(session, local(9, 40))  # overdue at 受理
    move(session, ev, "accept", local(9, 45))
    assert (ev.node, ev.overdue, ev.due_soon, ev.colour) == ("accepted", False, False, "green")
    assert ev.node_seq == 2
    assert ev.node_deadline == utc(local(10, 15))  # 立案: 0.5 working hours
    c = tasks.sweep(session, local(10, 20))
    assert (c["reminded"], c["supervised"]) == (1, 1)
    assert [(k, lv) for k, lv, _, _ in sups(session, ev)] == [("overdue", 1), ("overdue", 1)]
    assert [s.node_seq for s in session.scalars(select(Supervision).where(Supervision.event_id == ev.id)
                                                .order_by(Supervision.id))] == [1, 2]


def test_working_hour_clock_and_town_escalation(session: Session) -> None:
    ev = report(session, local(11))
    move(session, ev, "accept", local(11, 5))
    move(session, ev, "register", local(11, 10))
    move(session, ev, "dispatch", local(11, 30), unit_code=f"{TOWN}-MS")
    assert (ev.unit_code, ev.dispatch_mode, ev.node_limit) == (f"{TOWN}-MS", "vertical", "1 working_hours")
    assert ev.node_deadline == utc(local(14, 30))  # 30 min before lunch, 30 min after
    tasks.sweep(session, local(13, 30))  # lunch does not count
    assert (ev.colour, ev.due_soon) == ("blue", False)
    c = tasks.sweep(session, local(14, 18))
    assert c["reminded"] == 1 and ev.colour == "yellow"
    c = tasks.sweep(session, local(15, 31))
    assert (c["supervised"], c["escalated"]) == (1, 1)
    # a board of the town holds it: level 1 goes to the town center, level 2 to the district center
    assert sups(session, ev) == [("overdue", 1, utc(local(14, 30)), f"{TOWN}-ZHZX"),
                                 ("overdue", 2, utc(local(15, 30)), "500118-CYZX")]


def test_an_event_held_by_a_grid_escalates_to_its_town_first(session: Session) -> None:
    ev = report(session, local(9))
    grid = ev.grid_code
    assert grid is not None and grid.startswith("500118001001")
    for a, t in (("accept", local(9, 5)), ("register", local(9, 10))):
        move(session, ev, a, t)
    move(session, ev, "dispatch", local(9, 15), unit_code=grid)
    tasks.sweep(session, local(10, 16))
    assert sups(session, ev) == [("overdue", 1, utc(local(10, 15)), f"{TOWN}-ZHZX")]


def test_extension_moves_reminder_deadline_and_escalation(session: Session) -> None:
    ev = report(session, local(9))
    for a, t, kw in (("accept", local(9, 5), {}), ("register", local(9, 10), {}),
                     ("dispatch", local(9, 15), {"unit_code": "500118-CGJ"}), ("sign", local(9, 30), {})):
        move(session, ev, a, t, **kw)
    assert (ev.node_limit, ev.node_deadline, ev.handle_deadline) == (
        "4 working_hours", utc(local(15, 30)), utc(local(15, 30)))
    move(session, ev, "request_extension", local(10), comment="需协调施工方", extra_amount=4)
    assert ev.extension_pending
    with pytest.raises(Exception, match="already has an extension request pending"):
        move(session, ev, "request_extension", local(10, 1), comment="再申请", extra_amount=1)
    move(session, ev, "approve_extension", local(10, 5))
    new = utc(local(10, day=4))  # 15:30 + 4 working hours: 2.5 h on Tuesday, 1.5 h on Wednesday
    assert (ev.node_deadline, ev.handle_deadline, ev.extension_pending) == (new, new, False)
    approve = session.scalars(select(EventStep).where(EventStep.event_id == ev.id,
                                                      EventStep.action == "approve_extension")).one()
    assert approve.data == {"extra_amount": 4.0, "old_deadline": utc(local(15, 30)).isoformat(),
                            "new_deadline": new.isoformat()}
    # the running limit is now 8 working hours: 80 % is 6.4 h → Tuesday 17:54
    c = tasks.sweep(session, local(17, 50))
    assert (c["reminded"], ev.colour) == (0, "blue")  # 6.33 h of 8
    c = tasks.sweep(session, local(9, day=4))
    assert (c["reminded"], c["overdue"], ev.colour) == (1, 0, "yellow")  # 7 h of 8
    assert ("remind", utc(local(17, 54))) in steps(session, ev)
    c = tasks.sweep(session, local(11, day=4))
    assert (c["supervised"], c["escalated"]) == (1, 0)
    c = tasks.sweep(session, local(10, 30, day=5))  # twice 8 working hours: Thursday 10:30
    assert c["escalated"] == 1
    assert sups(session, ev) == [("overdue", 1, new, "500118-CYZX"),
                                 ("overdue", 2, utc(local(10, 30, day=5)), "500118-CYZX")]


def test_denied_extension_keeps_the_deadline(client: TestClient) -> None:
    eid = post_event(client)["id"]
    for who, a, kw in ((DUTY, "accept", {}), (DUTY, "register", {}),
                       (DUTY, "dispatch", {"unit_code": "auto"}), (CGJ, "sign", {})):
        assert act(client, eid, who, a, **kw).status_code == 200
    before = client.get(f"/api/v1/events/{eid}", headers=DUTY).json()["node_deadline"]
    r = act(client, eid, CGJ, "request_extension", comment="x")
    assert r.status_code == 422 and 'needs "extra_amount"' in r.json()["detail"]
    r = act(client, eid, CHIEF, "deny_extension", comment="不同意")
    assert r.status_code == 409 and "no extension request pending" in r.json()["detail"]
    assert act(client, eid, CGJ, "request_extension", comment="需协调", extra_amount=2).status_code == 200
    r = act(client, eid, CGJ, "approve_extension")
    assert r.status_code == 403  # a handler cannot approve its own request
    r = act(client, eid, CHIEF, "deny_extension", comment="不同意")
    assert r.status_code == 200 and r.json()["node_deadline"] == before
    assert [s["action"] for s in r.json()["timeline"]][-2:] == ["request_extension", "deny_extension"]


def test_parked_events_are_not_swept_and_resume_with_a_fresh_limit(session: Session) -> None:
    ev = report(session, local(9))
    for a, t, kw in (("accept", local(9, 5), {}), ("register", local(9, 10), {}),
                     ("dispatch", local(9, 15), {"unit_code": "500118-CGJ"}), ("sign", local(9, 30), {})):
        move(session, ev, a, t, **kw)
    with pytest.raises(Exception, match='needs "comment"'):
        move(session, ev, "park", local(10))
    move(session, ev, "park", local(10), comment="需列入明年改造计划")
    assert (ev.node, ev.parked, ev.node_deadline, ev.node_limit) == ("parked", True, None, None)
    c = tasks.sweep(session, local(10, day=20))
    assert c["checked"] == 0 and sups(session, ev) == []
    move(session, ev, "unpark", local(9, day=20))  # Friday 2026-11-20
    assert (ev.node, ev.parked, ev.node_limit) == ("signed", False, "4 working_hours")
    assert ev.node_deadline == utc(local(15, day=20))  # 3 h before noon, 1 h after
    assert ev.handle_deadline == utc(local(15, 30))  # the first handling deadline stays


def test_sweep_endpoint_is_for_the_center(client: TestClient) -> None:
    r = client.post("/api/v1/events", json={"category_code": "0101", "title": "x", "lon": LON, "lat": LAT,
                                            "reported_at": "2026-11-03T09:00:00+08:00"}, headers=DUTY)
    eid = r.json()["id"]
    assert client.post("/api/v1/ops/sweep", params={"as_of": "2026-11-03T09:31:00+08:00"},
                       headers=CGJ).status_code == 403
    r = client.post("/api/v1/ops/sweep", params={"as_of": "2026-11-03T09:31:00+08:00"}, headers=DUTY)
    assert r.status_code == 200
    assert r.json() == {"checked": 1, "due_soon": 1, "overdue": 1, "reminded": 1, "supervised": 1,
                        "escalated": 0, "tasks_overdue": 0}
    ev = client.get(f"/api/v1/events/{eid}", headers=DUTY).json()
    assert (ev["overdue"], ev["supervised"], ev["colour"]) == (True, True, "orange")
    assert [(s["kind"], s["level"], s["issued_at"]) for s in ev["supervisions"]] == [
        ("overdue", 1, "2026-11-03T01:30:00Z")]


# --- 督办 replies ------------------------------------------------------------------------------------

def test_supervision_reply(client: TestClient) -> None:
    eid = post_event(client)["id"]
    for a, kw in (("accept", {}), ("register", {}), ("dispatch", {"unit_code": "500118-CGJ"})):
        act(client, eid, DUTY, a, **kw)
    r = act(client, eid, CHIEF, "supervise")
    assert r.status_code == 422 and 'needs "comment"' in r.json()["detail"]
    assert act(client, eid, CGJ, "supervise", comment="尽快处理").status_code == 403
    r = act(client, eid, CHIEF, "supervise", comment="尽快处理")
    assert r.status_code == 200 and r.json()["supervised"] is True
    r = act(client, eid, as_user("500118.leader"), "supervise", comment="领导关注", kind="leader")
    assert r.status_code == 200
    r = act(client, eid, CHIEF, "supervise", comment="再督办")
    got = [(s["kind"], s["level"], s["target_unit_code"], s["reply"]) for s in r.json()["supervisions"]]
    assert got == [("key", 1, "500118-CGJ", None), ("leader", 1, "500118-CGJ", None),
                   ("key", 2, "500118-CGJ", None)]
    sid = r.json()["supervisions"][0]["id"]
    assert client.post(f"/api/v1/supervisions/{sid}/reply", json={"reply": "已安排"},
                       headers=as_user("500118-STHJ.handler")).status_code == 404
    assert client.post(f"/api/v1/supervisions/{sid}/reply", json={"reply": ""},
                       headers=CGJ).status_code == 422
    r = client.post(f"/api/v1/supervisions/{sid}/reply", json={"reply": "已安排人员今日处理"}, headers=CGJ)
    assert r.status_code == 200 and r.json()["reply"] == "已安排人员今日处理" and r.json()["replied_at"]
    r = client.post(f"/api/v1/supervisions/{sid}/reply", json={"reply": "再答"}, headers=CGJ)
    assert r.status_code == 409 and "already answered" in r.json()["detail"]
    assert client.post("/api/v1/supervisions/999999/reply", json={"reply": "x"},
                       headers=CGJ).status_code == 404
    ev = client.get(f"/api/v1/events/{eid}", headers=DUTY).json()
    assert [s["reply"] for s in ev["supervisions"]] == ["已安排人员今日处理", None, None]


# --- similar-event merge (相似案件合并) ---------------------------------------------------------------



def test_two_reports_20_m_apart_are_proposed_for_merging(client: TestClient) -> None:
    a = post_event(client)
    b = post_event(client, lat=LAT + 20 / M_PER_DEG_LAT)
    props = client.get(f"/api/v1/events/{b['id']}", headers=DUTY).json()["merge_proposals"]
    assert [(p["event_id"], p["parent_id"], p["distance_m"], p["status"]) for p in props] == [
        (b["id"], a["id"], 20.0, "proposed")]
    assert client.get(f"/api/v1/events/{a['id']}", headers=DUTY).json()["merge_proposals"] == props


@pytest.mark.parametrize(("dlat_m", "cat", "hours_before"), [(80, "0101", 0), (20, "0102", 0),
                                                            (20, "0101", 25), (51, "0101", 0)])
def test_far_different_or_old_reports_are_not_proposed(client: TestClient, session: Session, dlat_m: float,
                                                       cat: str, hours_before: float) -> None:
    when = (datetime.now(UTC) - timedelta(hours=hours_before)).isoformat()
    post_event(client, reported_at=when)
    b = post_event(client, lat=LAT + dlat_m / M_PER_DEG_LAT, cat=cat)
    assert client.get(f"/api/v1/events/{b['id']}", headers=DUTY).json()["merge_proposals"] == []
    assert session.scalars(select(MergeProposal)).all() == []


def test_merge_then_the_child_follows_the_parent(client: TestClient) -> None:
    a = post_event(client)
    b = post_event(client, lat=LAT + 20 / M_PER_DEG_LAT)
    c = post_event(client, cat="0102")
    assert client.post(f"/api/v1/events/{b['id']}/merge", params={"parent_id": a["id"]},
                       headers=CGJ).status_code == 403
    r = client.post(f"/api/v1/events/{c['id']}/merge", params={"parent_id": a["id"]}, headers=DUTY)
    assert r.status_code == 422 and "categories differ (0102 vs 0101)" in r.json()["detail"]
    r = client.post(f"/api/v1/events/{a['id']}/merge", params={"parent_id": a["id"]}, headers=DUTY)
    assert r.status_code == 422
    r = client.post(f"/api/v1/events/{b['id']}/merge", params={"parent_id": a["id"]}, headers=DUTY)
    assert r.status_code == 200, r.text
    got = r.json()
    assert (got["node"], got["merged_into_id"], got["node_deadline"]) == ("merged", a["id"], None)
    child = client.get(f"/api/v1/events/{b['id']}", headers=DUTY).json()
    assert [p["status"] for p in child["merge_proposals"]] == ["accepted"]
    assert child["timeline"][-1]["action"] == "merge" and child["timeline"][-1]["to_node"] == "merged"
    assert child["allowed_actions"] == []
    r = client.post(f"/api/v1/events/{b['id']}/transitions", json={"action": "accept"}, headers=DUTY)
    assert r.status_code == 409 and f"merged into event {a['id']}" in r.json()["detail"]
    r = client.post(f"/api/v1/events/{a['id']}/merge", params={"parent_id": b["id"]}, headers=DUTY)
    assert r.status_code == 409  # b is itself merged

    assert client.post(f"/api/v1/events/{a['id']}/transitions", json={"action": "accept"},
                       headers=DUTY).status_code == 200
    child = client.get(f"/api/v1/events/{b['id']}", headers=DUTY).json()
    follow = child["timeline"][-1]
    assert (follow["action"], follow["from_node"], follow["to_node"]) == ("follow:accept", "merged", "merged")
    assert follow["comment"] == f"随主事件 {a['id']} accept"
    assert child["node"] == "merged"
    # a merged child is not swept (a and c are)
    assert client.post("/api/v1/ops/sweep", headers=DUTY).json()["checked"] == 0  # nothing due yet
    future = client.post("/api/v1/ops/sweep", params={"as_of": "2099-01-01T00:00:00Z"}, headers=DUTY)
    assert future.status_code == 422 and "cannot be in the future" in future.json()["detail"]
    child = client.get(f"/api/v1/events/{b['id']}", headers=DUTY).json()
    assert (child["supervisions"], child["overdue"]) == ([], False)


# --- routing (权属配置) ---------------------------------------------------------------------------------

def test_routing_rules_pick_the_most_specific_unit(client: TestClient) -> None:
    ev0 = post_event(client)
    grid = ev0["grid_code"]
    r = client.post("/api/v1/routing-rules", json={"category_code": "0101", "area_code": TOWN,
                                                    "unit_code": f"{TOWN}-MS"}, headers=DUTY)
    assert r.status_code == 201, r.text
    rule = r.json()
    assert (rule["district_code"], rule["mode"], rule["category_code"], rule["area_code"]) == (
        "500118", "vertical", "0101", TOWN)
    ev = post_event(client)
    assert (ev["suggested_unit_code"], ev["dispatch_mode"]) == (f"{TOWN}-MS", "vertical")
    for a in ("accept", "register"):
        client.post(f"/api/v1/events/{ev['id']}/transitions", json={"action": a}, headers=DUTY)
    d = act(client, ev["id"], DUTY, "dispatch", unit_code="auto").json()
    assert (d["node"], d["unit_code"], d["dispatch_mode"]) == ("dispatched", f"{TOWN}-MS", "vertical")
    # another category in the town keeps the catalogue default
    assert post_event(client, cat="0102")["suggested_unit_code"] == "500118-CGJ"
    # a 大类 rule for the whole district loses to the town's leaf rule, wins elsewhere
    assert client.post("/api/v1/routing-rules", json={"category_code": "01", "unit_code": "500118-ZJW",
                                                       "priority": 9}, headers=DUTY).status_code == 201
    assert post_event(client)["suggested_unit_code"] == f"{TOWN}-MS"
    assert post_event(client, cat="0102")["suggested_unit_code"] == "500118-ZJW"
    # a grid rule beats the town rule
    r = client.post("/api/v1/routing-rules", json={"category_code": "0101", "area_code": grid,
                                                    "unit_code": f"{TOWN}-PA"}, headers=CHIEF)
    assert r.status_code == 201
    assert post_event(client)["suggested_unit_code"] == f"{TOWN}-PA"
    rules_ = client.get("/api/v1/routing-rules", headers=DUTY).json()
    assert [(x["category_code"], x["area_code"], x["unit_code"]) for x in rules_] == [
        ("0101", TOWN, f"{TOWN}-MS"), ("01", None, "500118-ZJW"), ("0101", grid, f"{TOWN}-PA")]
    assert client.delete(f"/api/v1/routing-rules/{rules_[2]['id']}", headers=DUTY).status_code == 204
    assert post_event(client)["suggested_unit_code"] == f"{TOWN}-MS"
    assert client.delete(f"/api/v1/routing-rules/{rules_[2]['id']}", headers=DUTY).status_code == 404


@pytest.mark.parametrize(("body", "field", "reason"), [
    ({"category_code": "0101", "area_code": TOWN, "unit_code": "500118-NOPE"}, "unit_code",
     'unknown unit "500118-NOPE" in district 500118'),
    ({"category_code": "9999", "area_code": TOWN, "unit_code": f"{TOWN}-MS"}, "category_code",
     'unknown category "9999"'),
    ({"category_code": "0101", "area_code": "500118999000", "unit_code": f"{TOWN}-MS"}, "area_code",
     'unknown town/village/grid "500118999000" in district 500118'),
    ({"category_code": "0101", "area_code": "500118-CGJ", "unit_code": f"{TOWN}-MS"}, "area_code",
     'unknown town/village/grid "500118-CGJ" in district 500118'),
])
def test_bad_routing_rules_are_refused_by_name(client: TestClient, body: dict[str, str], field: str,
                                               reason: str) -> None:
    r = client.post("/api/v1/routing-rules", json=body, headers=DUTY)
    assert r.status_code == 422
    assert [(e["field"], e["reason"]) for e in r.json()["errors"]] == [(field, reason)]
    assert client.get("/api/v1/routing-rules", headers=DUTY).json() == []


def test_only_the_center_configures_routing(client: TestClient) -> None:
    body = {"category_code": "0101", "area_code": TOWN, "unit_code": f"{TOWN}-MS"}
    for who in (f"{TOWN}.duty", "500118-CGJ.handler", "500118.leader"):
        assert client.post("/api/v1/routing-rules", json=body, headers=as_user(who)).status_code == 403


# --- pre-plans (预案) ----------------------------------------------------------------------------------

def test_shipped_preplans_are_available_without_set_up(client: TestClient) -> None:
    assert [p["code"] for p in client.get("/api/v1/preplans").json()] == [
        "dispute-mediation", "forest-fire-alarm", "waterlogging"]


def test_waterlogging_preplan_creates_three_tasks(client: TestClient, session: Session) -> None:
    ev = post_event(client, cat="0401")
    r = client.post(f"/api/v1/events/{ev['id']}/preplans/waterlogging", headers=CGJ)
    assert r.status_code == 403
    r = client.post(f"/api/v1/events/{ev['id']}/preplans/nope", headers=DUTY)
    assert r.status_code == 404 and 'unknown pre-plan "nope"' in r.json()["detail"]
    r = client.post(f"/api/v1/events/{ev['id']}/preplans/waterlogging", headers=DUTY)
    assert r.status_code == 201, r.text
    got = r.json()["tasks"]
    assert [(t["unit_code"], t["role"], t["task"]) for t in got] == [
        ("500118-CGJ", "dept_handler", "排水抢险队赶赴积水点抽排"),
        ("500118-JTJ", "dept_handler", "设置警示并视情交通管制"),
        (f"{TOWN}-ZHZX", "town_duty", "组织转移受影响群众"),
    ]
    rows = session.scalars(select(EventTask).where(EventTask.event_id == ev["id"])
                           .order_by(EventTask.id)).all()
    assert [(t.deadline or t.created_at) - t.created_at for t in rows] == [
        timedelta(hours=1), timedelta(hours=1), timedelta(hours=2)]
    detail = client.get(f"/api/v1/events/{ev['id']}", headers=DUTY).json()
    last = detail["timeline"][-1]
    assert (last["action"], last["comment"]) == ("preplan", "启动预案 城市内涝处置预案")
    assert [t["status"] for t in detail["tasks"]] == ["open", "open", "open"]

    town_task = got[2]["id"]
    r = client.post(f"/api/v1/tasks/{town_task}/done", params={"comment": "已转移 12 人"},
                    headers=as_user(f"{TOWN}.duty"))
    assert r.status_code == 200 and r.json()["status"] == "done" and r.json()["done_at"]
    r = client.post(f"/api/v1/tasks/{town_task}/done", headers=DUTY)
    assert r.status_code == 409 and "already done" in r.json()["detail"]
    assert client.post(f"/api/v1/tasks/{got[0]['id']}/done", headers=DUTY).status_code == 200
    assert client.post("/api/v1/tasks/999999/done", headers=DUTY).status_code == 404
    detail = client.get(f"/api/v1/events/{ev['id']}", headers=DUTY).json()
    assert [(t["status"], t["done_at"] is not None) for t in detail["tasks"]] == [
        ("done", True), ("open", False), ("done", True)]
    done = session.get(EventTask, town_task)
    session.refresh(done)  # type: ignore[arg-type]
    assert done is not None and done.comment == "已转移 12 人"


def test_a_department_completes_its_own_preplan_task(client: TestClient) -> None:
    ev = post_event(client, cat="0401")
    tasks_ = client.post(f"/api/v1/events/{ev['id']}/preplans/waterlogging", headers=DUTY).json()["tasks"]
    jtj = next(t for t in tasks_ if t["unit_code"] == "500118-JTJ")
    r = client.post(f"/api/v1/tasks/{jtj['id']}/done", headers=as_user("500118-JTJ.handler"))
    assert r.status_code == 200


def test_sweep_survives_a_move_made_while_it_runs(engine: Any, session: Session,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """A user moves an event between the sweep reading it and writing it: the sweep must not fail
    (optimistic lock) and must judge the event at its new node. SQLite serialises writers (the user
    would wait for the sweep), so the race exists on PostgreSQL only."""
    if engine.dialect.name == "sqlite":
        pytest.skip("SQLite has one writer at a time: the move waits for the sweep to commit")
    from zhizhi.core.db import session_factory

    ev = report(session, local(9))
    other = report(session, local(9))
    session.commit()
    real_colour = rules.colour
    moved: list[int] = []

    def colour_then_move(used: float, limit: float | None) -> str:
        if not moved:
            moved.append(ev.id)
            with session_factory(engine)() as s2:
                service.transition(s2, SYS, ev.id, TransitionIn(action="accept"), at=local(9, 10))
                s2.commit()
        return real_colour(used, limit)

    monkeypatch.setattr(tasks.rules, "colour", colour_then_move)
    c = tasks.sweep(session, local(9, 31))
    session.commit()
    assert moved == [ev.id]
    session.expire_all()
    fresh, late = session.get(Event, ev.id), session.get(Event, other.id)
    assert fresh is not None and late is not None
    assert (fresh.node, fresh.overdue) == ("accepted", False)  # 立案 deadline 09:40: not overdue at 09:31
    assert sups(session, fresh) == []
    assert sups(session, late) == [("overdue", 1, utc(local(9, 30)), "500118-CYZX")]
    assert c["supervised"] == 1


# --- confidential categories (保密事项) -----------------------------------------------------------------

def test_confidential_reports_stay_in_the_handling_chain(client: TestClient) -> None:
    ev = post_event(client, cat="9401", description="举报某商户偷排污水")
    assert ev["suggested_unit_code"] == "500118-ZWB"
    assert client.get(f"/api/v1/events/{ev['id']}", headers=as_user(f"{ev['grid_code']}.worker")
                      ).status_code == 404
    assert client.get("/api/v1/events", headers=as_user(f"{TOWN}.duty")).json()["total"] == 0
