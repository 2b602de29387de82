"""Forest fire drills (实战演练): the pure timing (drill.py, data/drill.yaml), a drill run end to end on
the test database (Yongchuan loaded by conftest), `zhizhi fire drill`, and proof that drills count in
no KPI and never reach Open311.

The simulated hotspot is GENERATED from the real Aqua MODIS row of 2022-05-31 in 朱沱镇 (see
service/drill.py), moved to the town's representative point and to the drill's minute.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import xmlschema
from fastapi.testclient import TestClient
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.auth.service import user_actor
from zhizhi.cli import app
from zhizhi.core import time as ztime
from zhizhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import service as events
from zhizhi.event.models import Event, EventStep, EventTask
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.event.service.preplan import DRILL_END_COMMENT
from zhizhi.ops import service as ops
from zhizhi.org import service as org
from zhizhi.scenarios.fire import drill
from zhizhi.scenarios.fire.models import Hotspot, HotspotAlert, HotspotCluster, HotspotImport
from zhizhi.scenarios.fire.resource_schemas import ResourceIn
from zhizhi.scenarios.fire.rules import PolicyError
from zhizhi.scenarios.fire.service import drill as svc
from zhizhi.scenarios.fire.service import kpis as fire_kpis
from zhizhi.scenarios.fire.service import resources as fire_resources

ZHUTUO, HONGLU = "500118118000", "500118114000"  # 朱沱镇, 红炉镇
SYS = events.system_actor("500118")
T0 = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
FIRE_TABLES = (
    "fire_hotspot",
    "fire_hotspot_alert",
    "fire_static_source",
    "fire_hotspot_cluster",
    "fire_hotspot_import",
)
STANDARDS = Path(__file__).resolve().parents[2] / "data" / "standards"


@pytest.fixture(autouse=True)
def _clean_fire(request: pytest.FixtureRequest) -> Iterator[None]:
    """Empty the hotspot tables a drill writes (before conftest empties the event tables)."""
    yield
    if "engine" not in request.fixturenames:
        return
    eng: Engine = request.getfixturevalue("engine")
    with eng.begin() as c:
        for t in FIRE_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


# --- pure timing --------------------------------------------------------------------------------------


def test_shipped_policy_nodes_targets_and_marks() -> None:
    pol = drill.default_drill_policy()
    assert [(n.key, n.name, n.mark, n.target_s) for n in pol.nodes] == [
        ("alarm_seen", "接警签收", "step:sign", 60.0),
        ("on_site", "到达现场", "task:grid", 180.0),
        ("team_out", "扑火队出动", "task:town", 300.0),
        ("under_control", "火势控制", "step:handle", None),
    ]
    assert pol.preplan == "forest-fire-alarm"


def test_the_simulated_clock_advances_move_by_move() -> None:
    plan = drill.schedule(T0, drill.default_drill_policy().simulate)
    assert [(m, (t - T0).total_seconds()) for m, t in plan] == [
        ("step:accept", 5.0),
        ("step:register", 10.0),
        ("step:dispatch", 15.0),
        ("step:sign", 45.0),
        ("task:grid", 165.0),
        ("task:town", 255.0),
        ("step:handle", 1455.0),
        ("step:verify_pass", 1575.0),
        ("step:close", 1635.0),
    ]
    later = drill.schedule(T0, drill.default_drill_policy().simulate, {"step:sign": 75})
    assert [(t - T0).total_seconds() for _, t in later][3:6] == [90.0, 210.0, 300.0]


def test_schedule_refuses_unknown_or_negative_delays() -> None:
    moves = drill.default_drill_policy().simulate
    with pytest.raises(ValueError, match='delay for "step:fly": not a simulated move'):
        drill.schedule(T0, moves, {"step:fly": 3})
    with pytest.raises(ValueError, match='delay for "step:sign": -1 s is negative'):
        drill.schedule(T0, moves, {"step:sign": -1})


def test_evaluate_gives_each_node_its_status() -> None:
    s = timedelta(seconds=1)
    marks = {"step:sign": T0 + 60 * s, "task:grid": T0 + 181 * s, "task:town": None, "step:handle": None}
    r = drill.evaluate(T0, marks, as_of=T0 + 240 * s)
    assert [(n.key, n.elapsed_s, n.status, n.met) for n in r.nodes] == [
        ("alarm_seen", 60.0, "met", True),  # the target is inclusive
        ("on_site", 181.0, "missed", False),
        ("team_out", None, "pending", None),  # 4:00 of 5:00 used
        ("under_control", None, "open", None),
    ]
    assert (r.finished, r.all_met) == (False, False)
    late = drill.evaluate(T0, marks, as_of=T0 + 301 * s)
    assert late.nodes[2].status == "overdue"
    done = drill.evaluate(T0, {**marks, "task:town": T0 + 299 * s, "step:handle": T0 + 900 * s}, T0 + 999 * s)
    assert [n.status for n in done.nodes] == ["met", "missed", "met", "done"]
    assert done.finished


def test_evaluate_refuses_naive_times_and_marks_before_the_alarm() -> None:
    with pytest.raises(ValueError, match="step:sign: must be timezone-aware"):
        drill.evaluate(T0, {"step:sign": datetime(2026, 11, 20, 8, 1)}, T0)
    with pytest.raises(ValueError, match=r"step:sign: at 2026-11-20T07:59:00\+00:00 is before the alarm"):
        drill.evaluate(T0, {"step:sign": T0 - timedelta(minutes=1)}, T0)


def test_report_lines_show_times_against_targets() -> None:
    marks = {"step:sign": T0 + timedelta(seconds=45), "task:grid": T0 + timedelta(seconds=200)}
    r = drill.evaluate(T0, marks, as_of=T0 + timedelta(seconds=400))
    assert drill.report_lines(r, "演练") == [
        "演练",
        "报警时间 北京时间 2026-11-20 16:00:00",
        "  接警签收（alarm_seen）  16:00:45  用时 0:45  目标 ≤ 1:00  达标",
        "  到达现场（on_site）  16:03:20  用时 3:20  目标 ≤ 3:00  超时",
        "  扑火队出动（team_out）  --:--:--  用时 -  目标 ≤ 5:00  已超时未到",
        "  火势控制（under_control）  --:--:--  用时 -  目标 无目标  未完成",
        "演练进行中：1/3 个节点达标",
    ]
    assert [drill.mmss(x) for x in (0, 45, 59.6, 1455, 3725)] == ["0:00", "0:45", "1:00", "24:15", "1:02:05"]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("mark: step:sign", "mark: step:fly", 'nodes.0.mark: mark "step:fly": action must be one of'),
        ("mark: task:grid", "mark: grid", 'nodes.1.mark: mark "grid": must be step:<action> or task:<unit>'),
        ("target_s: 60", "target_s: -5", "nodes.0.target_s: Input should be greater than 0"),
        ("key: on_site", "key: alarm_seen", "duplicate key"),
        ("  - {move: step:sign, after_s: 30}\n", "", "no move reaches the node mark(s) step:sign"),
        ("{move: step:accept, after_s: 5}", "{move: step:close, after_s: 5}", "a move appears twice"),
        (
            "  - {move: step:verify_pass, after_s: 120}\n  - {move: step:close, after_s: 60}",
            "  - {move: step:close, after_s: 60}\n  - {move: step:verify_pass, after_s: 120}",
            "must follow the loop order",
        ),
    ],
)
def test_a_broken_drill_policy_is_refused_naming_file_and_key(
    tmp_path: Path, old: str, new: str, message: str
) -> None:
    src = drill.DRILL_FILE.read_text(encoding="utf-8")
    assert old in src
    f = tmp_path / "drill.yaml"
    f.write_text(src.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(PolicyError) as e:
        drill.load_drill_policy(f)
    assert str(e.value).startswith(f"{f}: ")
    assert message in str(e.value)


# --- a drill end to end -------------------------------------------------------------------------------


def test_simulated_drill_runs_the_loop_and_times_every_node(session: Session) -> None:
    began = ztime.utcnow()
    run = svc.start_drill(session, SYS, ZHUTUO, simulate=True)
    ended = ztime.utcnow()
    ev = session.get(Event, run.event_id)
    assert ev is not None
    assert (ev.category_code, ev.is_drill, ev.town_code, ev.node, ev.unit_code) == (
        "2207",
        True,
        ZHUTUO,
        "closed",
        "500118118000-ZHZX",
    )
    assert ev.grid_code == "500118118209012"  # the grid holding the town's representative point
    assert ev.title.startswith("【演练】卫星热点核查：") and ev.description.startswith("【演练】")
    assert (round(run.lon, 6), round(run.lat, 6)) == (105.808022, 29.011404)
    alarm = ev.reported_at
    steps = session.execute(
        select(EventStep.action, EventStep.at, EventStep.actor_name, EventStep.comment, EventStep.data)
        .where(EventStep.event_id == ev.id)
        .order_by(EventStep.at, EventStep.id)
    ).all()
    # no made-up time: every step, task and event time is the moment the platform made the move
    assert all(began <= at <= ended for _, at, *_ in steps)
    times = [ev.accepted_at, ev.registered_at, ev.dispatched_at, ev.signed_at, ev.handled_at, ev.closed_at]
    assert all(t is not None and alarm <= t <= ended for t in times)
    assert any(a == "task_done" for a, *_ in steps)  # the drill's tasks done, each on the timeline
    assert [a for a, *_ in steps if a not in ("preplan", "task_done")] == [
        "report", "note", "accept", "register", "dispatch", "sign", "handle", "verify_pass", "close"
    ]  # fmt: skip
    # the simulated clock is recorded beside them: one note, and each move's comment
    (clock,) = [d for a, _, _, _, d in steps if a == "note"]
    assert clock["kind"] == "drill_simulation" and clock["offsets_s"] == {
        "step:accept": 5.0,
        "step:register": 10.0,
        "step:dispatch": 15.0,
        "step:sign": 45.0,
        "task:grid": 165.0,
        "task:town": 255.0,
        "step:handle": 1455.0,
        "step:verify_pass": 1575.0,
        "step:close": 1635.0,
    }
    note = next(c for a, _, _, c, _ in steps if a == "note")
    assert note.startswith("演练模拟时钟（非真实时间）：平台受理卫星热点告警 +0:05，")
    assert "镇街指挥中心签收（接警）（接警签收） +0:45" in note and note.endswith("节点用时按模拟时钟计")
    assert dict((a, c) for a, _, _, c, _ in steps)["close"] == "演练：结案（模拟时钟 +27:15）"
    assert {n for a, _, n, _, _ in steps if a not in ("report", "preplan")} == {"演练模拟"}
    tasks = {t.unit_code: t for t in session.scalars(select(EventTask).where(EventTask.event_id == ev.id))}
    assert set(tasks) == {"500118-LYJ", "500118118000-ZHZX", "500118118209012", "500118-YJJ"}
    assert all(t.done_at is not None and began <= t.done_at <= ended for t in tasks.values())
    assert tasks["500118118209012"].comment.endswith("（模拟时钟 +2:45）")
    # the departments' tasks nobody simulated are closed with the drill (at its close), not left open
    for unit in ("500118-LYJ", "500118-YJJ"):
        t = tasks[unit]
        assert (t.status, t.comment, t.done_at) == (
            "closed",
            "演练结束，未完成的任务随演练事件关闭",
            ev.closed_at,
        )
    assert {t.status for t in tasks.values()} == {"done", "closed"}
    r = run.result
    assert [(n.key, n.elapsed_s, n.status) for n in r.nodes] == [
        ("alarm_seen", 45.0, "met"),
        ("on_site", 165.0, "met"),
        ("team_out", 255.0, "met"),
        ("under_control", 1455.0, "done"),
    ]
    assert all(n.at is not None and n.at <= ended for n in r.nodes)
    assert (r.finished, r.all_met, r.simulated, r.as_dict()["clock"]) == (True, True, True, "simulated")
    # no fire team registered in the district: team out is timed on the town center's task, as before
    assert (r.team_task, r.as_dict()["team_task"], r.as_dict()["team_task_id"]) == (False, False, None)
    assert r.team_note == "扑火队出动按镇街指挥中心预案任务计时：本区未登记扑火队伍，未派扑火队任务"
    cl = session.get(HotspotCluster, run.cluster_id)
    assert cl is not None and cl.drill and cl.event_id == ev.id
    (h,) = session.scalars(select(Hotspot).where(Hotspot.cluster_id == cl.id)).all()
    assert (h.drill, h.satellite, h.instrument, h.confidence, h.frp) == (True, "Aqua", "MODIS", 39, 10.15)
    (imp,) = session.scalars(select(HotspotImport)).all()
    assert imp.drill and imp.filename.startswith("drill-500118118000-")
    # the report read back from the database gives the same times
    ev2, again = svc.drill_report(session, SYS, ev.id)
    assert [(n.key, n.elapsed_s, n.status) for n in again.nodes] == [
        (n.key, n.elapsed_s, n.status) for n in r.nodes
    ]


def test_a_drill_never_alerts_the_neighbouring_district(session: Session) -> None:
    # 朱沱镇 borders 江津区 (500116): a real hotspot there alerts it (test_hotspot_service), a drill's not
    org.load_district(session, "500116", with_staff=False)
    try:
        run = svc.start_drill(session, SYS, ZHUTUO, simulate=True)
        alerts = session.scalars(select(HotspotAlert).where(HotspotAlert.cluster_id == run.cluster_id)).all()
        assert [(a.role, a.district_code, a.event_id) for a in alerts] == [
            ("primary", "500118", run.event_id)
        ]
        assert session.scalars(select(Event).where(Event.district_code == "500116")).all() == []
    finally:
        org.invalidate_locator()


def test_simulated_delays_can_miss_a_target(session: Session) -> None:
    run = svc.start_drill(session, SYS, HONGLU, simulate=True, delays={"step:sign": 75})
    assert [(n.key, n.elapsed_s, n.status) for n in run.result.nodes] == [
        ("alarm_seen", 90.0, "missed"),
        ("on_site", 210.0, "missed"),
        ("team_out", 300.0, "met"),
        ("under_control", 1500.0, "done"),
    ]
    assert not run.result.all_met


def test_drill_cap_alert_is_a_valid_exercise(session: Session) -> None:
    run = svc.start_drill(session, SYS, ZHUTUO, simulate=True)
    xsd = xmlschema.XMLSchema(str(STANDARDS / "CAP-v1.2.xsd"))
    xsd.validate(run.cap_xml.decode())
    assert b"<status>Exercise</status>" in run.cap_xml
    assert f"<identifier>zhizhi-fire-drill-{run.event_id}</identifier>".encode() in run.cap_xml


def test_live_drill_is_timed_by_the_moves_people_make(session: Session) -> None:
    run = svc.start_drill(session, SYS, ZHUTUO)
    ev = session.get(Event, run.event_id)
    assert ev is not None
    assert (ev.node, ev.unit_code, ev.is_drill) == ("dispatched", "500118118000-ZHZX", True)
    assert [n.status for n in run.result.nodes] == ["pending", "pending", "pending", "open"]
    _, late = svc.drill_report(session, SYS, ev.id, as_of=ev.reported_at + timedelta(minutes=4))
    assert [n.status for n in late.nodes] == ["overdue", "overdue", "pending", "open"]
    duty = user_actor(session, "500118118000.duty")
    worker = user_actor(session, f"{ev.grid_code}.worker")
    events.transition(session, duty, ev.id, TransitionIn(action="sign"))
    tasks = {t.unit_code: t for t in session.scalars(select(EventTask).where(EventTask.event_id == ev.id))}
    events.complete_task(session, worker, tasks[str(ev.grid_code)].id, "到场，确认火点")
    events.complete_task(session, duty, tasks["500118118000-ZHZX"].id, "半专业扑火队出发")
    events.transition(session, duty, ev.id, TransitionIn(action="handle", comment="明火已控制"))
    _, r = svc.drill_report(session, SYS, ev.id)
    assert [n.status for n in r.nodes] == ["met", "met", "met", "done"]
    assert all(n.elapsed_s is not None and 0 <= n.elapsed_s < 60 for n in r.nodes)
    assert r.finished and r.all_met
    # a town's duty officer may read its drill; a grid worker may not start one
    assert svc.drill_report(session, duty, ev.id)[0].id == ev.id
    with pytest.raises(Forbidden):
        svc.start_drill(session, worker, ZHUTUO)


def test_a_live_drill_closed_early_closes_its_open_tasks_without_timing_them(session: Session) -> None:
    run = svc.start_drill(session, SYS, ZHUTUO)
    ev = session.get(Event, run.event_id)
    assert ev is not None
    duty = user_actor(session, "500118118000.duty")
    events.transition(session, duty, ev.id, TransitionIn(action="sign"))
    events.transition(session, duty, ev.id, TransitionIn(action="handle", comment="演练中止"))
    open_before = session.scalars(select(EventTask).where(EventTask.event_id == ev.id)).all()
    assert {t.status for t in open_before} == {"open"}
    events.transition(session, SYS, ev.id, TransitionIn(action="verify_pass"))
    assert {t.status for t in open_before} == {"open"}  # verified is not the end yet
    events.transition(session, SYS, ev.id, TransitionIn(action="close"))
    tasks = session.scalars(select(EventTask).where(EventTask.event_id == ev.id)).all()
    assert len(tasks) == 4 and {(t.status, t.done_at) for t in tasks} == {("closed", ev.closed_at)}
    # closed is not done: the on-site and team-out nodes stay unmet in the report
    _, r = svc.drill_report(session, SYS, ev.id)
    assert {n.key: n.elapsed_s for n in r.nodes}["on_site"] is None
    assert {n.key: n.elapsed_s for n in r.nodes}["team_out"] is None
    with pytest.raises(Conflict, match=rf"task {tasks[0].id} is already closed"):
        events.complete_task(session, SYS, tasks[0].id, "迟到的反馈")


def test_a_second_drill_waits_for_the_open_one_and_other_refusals(session: Session) -> None:
    run = svc.start_drill(session, SYS, ZHUTUO)
    with pytest.raises(Conflict, match=rf"drill event {run.event_id} in 朱沱镇 is still open"):
        svc.start_drill(session, SYS, ZHUTUO, simulate=True)
    with pytest.raises(InvalidInput, match='"500118118" is not a loaded town'):
        svc.start_drill(session, SYS, "500118118")
    with pytest.raises(InvalidInput, match='"500118118207001" is not a loaded town'):
        svc.start_drill(session, SYS, "500118118207001")  # a grid
    with pytest.raises(InvalidInput, match='delay for "step:fly"'):
        svc.start_drill(session, SYS, HONGLU, simulate=True, delays={"step:fly": 1})
    other_town_duty = user_actor(session, f"{HONGLU}.duty")
    with pytest.raises(NotFound):
        svc.start_drill(session, other_town_duty, ZHUTUO)
    real = events.create_event(
        session, SYS, EventCreate(category_code="2206", title="林区烟点", town_code=ZHUTUO, source="web")
    )
    with pytest.raises(InvalidInput, match=f"event {real.id} is not a drill"):
        svc.drill_report(session, SYS, real.id)


# --- with a fire team registered: the drill starts the response as the real one does ----------------

DRILL_POINT = (105.808022, 29.011404)  # 朱沱镇's representative point, where the drill hotspot goes


def _teams(session: Session) -> dict[str, int]:
    """GENERATED fire teams (no public list exists; "测试" in their names): the nearest, 朱沱镇's own,
    0.01° north of the drill point, and a farther one of 林业局 0.05° north."""
    lon, lat = DRILL_POINT
    near = fire_resources.create_resource(
        session, SYS, ResourceIn(kind="team", name="测试朱沱半专业扑火队", lon=lon, lat=lat + 0.01,
                                 owner=ZHUTUO, attrs={"type": "semi_professional", "people": 20})
    )  # fmt: skip
    far = fire_resources.create_resource(
        session, SYS, ResourceIn(kind="team", name="测试区专业扑火队", lon=lon, lat=lat + 0.05,
                                 owner="LYJ", attrs={"type": "professional", "people": 35})
    )  # fmt: skip
    return {"near": near.id, "far": far.id}


def _drill_tasks(session: Session, event_id: int) -> list[EventTask]:
    return list(
        session.scalars(select(EventTask).where(EventTask.event_id == event_id).order_by(EventTask.id))
    )


def test_simulated_drill_sends_the_nearest_team_and_times_team_out_on_its_task(session: Session) -> None:
    teams = _teams(session)
    run = svc.start_drill(session, SYS, ZHUTUO, simulate=True)
    ev = session.get(Event, run.event_id)
    assert ev is not None and ev.is_drill and ev.node == "closed"
    tasks = _drill_tasks(session, ev.id)
    team = [t for t in tasks if t.task.startswith("扑火队出动：")]
    assert len(team) == 1 and len(tasks) == 5  # the pre-plan's four and the team's, in the same pre-plan
    (tt,) = team
    assert (tt.unit_code, tt.role, tt.preplan_id) == ("500118118000-ZHZX", "town_duty", tasks[0].preplan_id)
    assert tt.task.startswith("扑火队出动：测试朱沱半专业扑火队（半专业扑火队，20 人）")
    # the platform completed it (as the others), on the simulated clock of the team-out move
    assert (tt.status, tt.comment) == ("done", f"演练：{tt.task}（模拟时钟 +4:15）")
    (row,) = session.scalars(
        select(EventStep).where(EventStep.event_id == ev.id, EventStep.target_unit_code == tt.unit_code,
                                EventStep.action == "preplan", EventStep.comment.startswith("派出最近扑火队"))
    ).all()  # fmt: skip
    assert row.data == {"preplan": "forest-fire-alarm", "team_id": teams["near"], "task_id": tt.id,
                        "distance_km": 1.112}  # fmt: skip
    done = {t.unit_code: t.status for t in tasks if t.id != tt.id}
    assert done == {"500118-LYJ": "closed", "500118118000-ZHZX": "done", "500118118209012": "done",
                    "500118-YJJ": "closed"}  # fmt: skip
    r = run.result
    assert [(n.key, n.elapsed_s, n.status) for n in r.nodes] == [
        ("alarm_seen", 45.0, "met"),
        ("on_site", 165.0, "met"),
        ("team_out", 255.0, "met"),
        ("under_control", 1455.0, "done"),
    ]
    assert {n.key: n.at for n in r.nodes}["team_out"] == tt.done_at
    assert (r.team_task, r.team_task_id) == (True, tt.id)
    assert r.team_note == "扑火队出动按最近扑火队任务计时：测试朱沱半专业扑火队（任务单位 500118118000-ZHZX）"
    d = run.as_dict()
    assert (d["team_task"], d["team_task_id"]) == (True, tt.id)
    assert r.team_note in "\n".join(drill.report_lines(r, "演练"))
    _, again = svc.drill_report(session, SYS, ev.id)
    assert (again.team_task, again.team_task_id, again.team_note) == (True, tt.id, r.team_note)
    assert [(n.key, n.elapsed_s) for n in again.nodes] == [(n.key, n.elapsed_s) for n in r.nodes]


def test_live_drill_with_a_team_times_team_out_on_the_team_task_only(session: Session) -> None:
    _teams(session)
    run = svc.start_drill(session, SYS, ZHUTUO)
    ev = session.get(Event, run.event_id)
    assert ev is not None
    assert run.result.team_task is True and run.result.team_task_id is not None
    tasks = {t.id: t for t in _drill_tasks(session, ev.id)}
    team = tasks[run.result.team_task_id]
    town = next(t for t in tasks.values() if t.unit_code == "500118118000-ZHZX" and t.id != team.id)
    duty = user_actor(session, "500118118000.duty")
    worker = user_actor(session, f"{ev.grid_code}.worker")
    events.transition(session, duty, ev.id, TransitionIn(action="sign"))
    events.complete_task(session, worker, next(t.id for t in tasks.values() if t.unit_code == ev.grid_code),
                         "到场，确认火点")  # fmt: skip
    events.complete_task(session, duty, town.id, "已组织")
    _, r = svc.drill_report(session, SYS, ev.id)
    # the town's own task done is not the team out: that is the nearest team's task
    assert [(n.key, n.status) for n in r.nodes] == [
        ("alarm_seen", "met"), ("on_site", "met"), ("team_out", "pending"), ("under_control", "open")
    ]  # fmt: skip
    events.complete_task(session, duty, team.id, "测试朱沱半专业扑火队出发")
    _, r = svc.drill_report(session, SYS, ev.id)
    node = {n.key: n for n in r.nodes}["team_out"]
    assert node.status == "met" and node.at == team.done_at


def test_a_live_drill_with_a_team_closed_early_closes_the_team_task_too(session: Session) -> None:
    _teams(session)
    run = svc.start_drill(session, SYS, HONGLU)  # another town: the district's nearest team is sent
    ev = session.get(Event, run.event_id)
    assert ev is not None
    team = session.get(EventTask, run.result.team_task_id)
    assert team is not None and team.task.startswith("扑火队出动：")
    duty = user_actor(session, f"{HONGLU}.duty")
    events.transition(session, duty, ev.id, TransitionIn(action="sign"))
    events.transition(session, duty, ev.id, TransitionIn(action="handle", comment="演练中止"))
    events.transition(session, SYS, ev.id, TransitionIn(action="verify_pass"))
    events.transition(session, SYS, ev.id, TransitionIn(action="close"))
    tasks = _drill_tasks(session, ev.id)
    assert len(tasks) == 5
    assert {(t.status, t.comment, t.done_at) for t in tasks} == {("closed", DRILL_END_COMMENT, ev.closed_at)}
    _, r = svc.drill_report(session, SYS, ev.id)
    assert r.team_task is True and {n.key: n.elapsed_s for n in r.nodes}["team_out"] is None


# --- drills never count -------------------------------------------------------------------------------


def test_drills_count_in_no_kpi_and_never_reach_open311(session: Session, client: TestClient) -> None:
    run = svc.start_drill(session, SYS, ZHUTUO, simulate=True)
    drill_2206 = events.create_event(
        session,
        SYS,
        EventCreate(category_code="2206", title="演练火情", town_code=ZHUTUO, source="web", is_drill=True),
    )
    real = events.create_event(
        session, SYS, EventCreate(category_code="2206", title="林区烟点", town_code=ZHUTUO, source="web")
    )
    session.commit()
    period = f"{datetime.now(UTC).astimezone(LOCAL_TZ):%Y-%m}"
    k = ops.kpis(session, SYS, period, by="town")
    (row,) = [r for r in k["rows"] if r["code"] == ZHUTUO]
    assert row["counts"]["reported"] == 1  # the real report only; the drill's 2207 and 2206 left out
    assert k["total"]["counts"]["reported"] == 1
    fk = fire_kpis.fire_kpis(session, SYS, period)
    assert fk["fires"] == 1 and fk["fires_out_within_24h"]["pending"] == 1  # the real fire only
    assert fk["hotspots_verified_on_time"] == {
        "hits": 0,
        "counted": 0,
        "pending": 0,
        "share": None,
        "target_min": 1.0,
        "met": None,
    }
    ids = [x["service_request_id"] for x in client.get("/open311/v2/requests.json").json()]
    assert ids == [str(real.id)]
    for eid in (run.event_id, drill_2206.id):
        assert client.get(f"/open311/v2/requests/{eid}.json").status_code == 404
    assert client.get(f"/open311/v2/requests/{real.id}.json").status_code == 200


# --- CLI ----------------------------------------------------------------------------------------------


def test_cli_simulated_drill_prints_the_node_times(engine: Engine, tmp_path: Path) -> None:
    cap_file = tmp_path / "drill.xml"
    res = CliRunner().invoke(
        app, ["fire", "drill", "--town", ZHUTUO, "--simulate", "--delay", "sign=20", "--cap", str(cap_file)]
    )
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert re.fullmatch(r"森林火情实战演练 事件 \d+（朱沱镇，模拟）", lines[0])
    assert re.fullmatch(r"报警时间 北京时间 \d{4}-\d\d-\d\d \d\d:\d\d:\d\d", lines[1])
    assert [re.sub(r"\d\d:\d\d:\d\d  ", "", x) for x in lines[2:]] == [
        "  接警签收（alarm_seen）  用时 0:35  目标 ≤ 1:00  达标",
        "  到达现场（on_site）  用时 2:35  目标 ≤ 3:00  达标",
        "  扑火队出动（team_out）  用时 4:05  目标 ≤ 5:00  达标",
        "  火势控制（under_control）  用时 24:05  目标 无目标  已完成",
        "  扑火队出动按镇街指挥中心预案任务计时：本区未登记扑火队伍，未派扑火队任务",
        "演练完成：3/3 个节点达标",
        "模拟时钟：用时按模拟时钟计（fire/data/drill.yaml simulate）；时刻为平台实际记录的时刻",
    ]
    assert b"<status>Exercise</status>" in cap_file.read_bytes()
    eid = re.search(r"事件 (\d+)", lines[0]).group(1)  # type: ignore[union-attr]
    res = CliRunner().invoke(app, ["fire", "drill", "--report", eid, "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert (data["event_id"], data["node"], data["finished"], data["all_met"], data["team_task"]) == (
        int(eid),
        "closed",
        True,
        True,
        False,
    )
    assert [(n["key"], n["elapsed"], n["target"], n["status"]) for n in data["nodes"]] == [
        ("alarm_seen", "0:35", "1:00", "met"),
        ("on_site", "2:35", "3:00", "met"),
        ("team_out", "4:05", "5:00", "met"),
        ("under_control", "24:05", None, "done"),
    ]


def test_cli_live_drill_says_what_comes_next(engine: Engine) -> None:
    res = CliRunner().invoke(app, ["fire", "drill", "--town", HONGLU])
    assert res.exit_code == 0, res.output
    lines = res.stdout.splitlines()
    assert lines[-2] == "演练进行中：0/3 个节点达标"
    assert lines[-1].startswith("下一步：镇街指挥中心签收事件 ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "error: give --town CODE to start a drill, or --report EVENT_ID to show one"),
        (
            ["--town", ZHUTUO, "--report", "3"],
            "error: give --town CODE to start a drill, or --report EVENT_ID",
        ),
        (["--town", "5001"], 'error: --town "5001": give the town\'s 12-digit NBS code'),
        (["--town", ZHUTUO, "--delay", "sign=5"], "error: --delay needs --simulate"),
        (["--town", ZHUTUO, "--simulate", "--delay", "fly=5"], 'error: --delay "fly=5": give MOVE=SECONDS'),
        (
            ["--town", ZHUTUO, "--simulate", "--delay", "sign=x"],
            'error: --delay "sign=x": "x" is not a number',
        ),
        (
            ["--report", "3", "--simulate"],
            "error: --simulate, --delay and --cap go with --town, not --report",
        ),
        (["--report", "999999"], "error: event 999999 not found"),
        (["--town", "500118999000"], 'error: "500118999000" is not a loaded town'),
    ],
)
def test_cli_drill_bad_input_is_one_error_line(engine: Engine, args: list[str], message: str) -> None:
    res = CliRunner().invoke(app, ["fire", "drill", *args])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(message)
    assert len(res.stderr.splitlines()) == 1
