"""What the platform does with a verification outcome (核查结论) on a real hotspot event: a non-fire
outcome ends the 卫星热点核查 (2207) event with 不予受理, 真实火情 opens a 森林火情 (2206) event and
merges the 2207 into it. On the test database (Yongchuan loaded by conftest) with the real 2022
FIRMS file (one detection in 朱沱镇, 4.3 km from 江津区)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.scenarios.fire.test_hotspot_service import FIRE_TABLES, REAL_2022, ZHUTUO
from zhizhi.cli import app
from zhizhi.core import time as ztime
from zhizhi.core.errors import Conflict
from zhizhi.event import service as events
from zhizhi.event import tasks
from zhizhi.event.models import Event, EventStep
from zhizhi.event.schemas import TransitionIn
from zhizhi.org import service as org
from zhizhi.scenarios.fire import resources as fire_resources
from zhizhi.scenarios.fire import service
from zhizhi.scenarios.fire.models import HotspotCluster
from zhizhi.scenarios.fire.service import kpis as fire_kpis

SYS = events.system_actor("500118")
VERIFIER = replace(SYS, name="朱沱镇值班员")


@pytest.fixture(autouse=True)
def _clean_fire(engine: Engine) -> Iterator[None]:
    """Empty the hotspot tables after each test (before conftest empties the event tables)."""
    yield
    with engine.begin() as c:
        for t in FIRE_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


@pytest.fixture
def jiangjin(session: Session) -> Iterator[None]:
    """江津区 (500116) loaded at district level in this test's transaction (rolled back after)."""
    org.load_district(session, "500116", with_staff=False)
    yield
    org.invalidate_locator()


def the_cluster(session: Session) -> HotspotCluster:
    (cl,) = session.scalars(select(HotspotCluster)).all()
    return cl


def steps(session: Session, eid: int) -> list[tuple[str, str, str, str]]:
    q = select(EventStep).where(EventStep.event_id == eid).order_by(EventStep.id)
    return [(s.action, s.to_node, s.actor_name, s.comment or "") for s in session.scalars(q)]


def fire_events(session: Session) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.category_code == "2206")))


@pytest.mark.parametrize(
    ("outcome", "key"),
    [
        ("农事用火", "agricultural"),
        ("工业热源", "industrial"),
        ("其他热源", "other_heat"),
        ("误报", "false_alarm"),
    ],
)
def test_a_non_fire_outcome_rejects_the_event_and_the_sweep_leaves_it(
    session: Session, outcome: str, key: str
) -> None:
    s = service.import_file(session, REAL_2022)
    (ref,) = s.events
    ev = session.get(Event, ref.event_id)
    assert ev is not None and ev.node == "reported"
    ev.node_deadline = ztime.utcnow() - timedelta(hours=1)  # overdue: the sweep would act on it
    cl = the_cluster(session)
    got = service.record_outcome(session, VERIFIER, cl.id, outcome, "现场核实")
    assert got.outcome == key
    assert ev.node == "rejected" and ev.node_deadline is None
    *_, note, reject = steps(session, ev.id)
    assert note[0] == "note" and note[3].startswith(f"核查结论：{outcome}（按时）")
    assert reject == (
        "reject",
        "rejected",
        "系统",
        f"核查结论：{outcome}，非森林火情：现场核实（朱沱镇值班员 核查）",
    )
    before = steps(session, ev.id)
    tasks.sweep(session)
    assert steps(session, ev.id) == before  # no 催办/督办/escalation on an ended event
    assert fire_events(session) == []


def test_configured_outcome_keys_are_the_ones_tested() -> None:
    keys = {o.key for o in service.hotspot_config().outcomes}
    assert keys == {"real_fire", "agricultural", "industrial", "other_heat", "false_alarm"}


def test_a_real_fire_opens_one_2206_event_in_the_same_town_and_merges_the_check(session: Session) -> None:
    s = service.import_file(session, REAL_2022)
    (ref,) = s.events
    cl = the_cluster(session)
    service.record_outcome(session, VERIFIER, cl.id, "真实火情", "林下可燃物燃烧")
    (fire,) = fire_events(session)
    check = session.get(Event, ref.event_id)
    assert check is not None
    assert (fire.town_code, fire.grid_code, fire.district_code) == (ZHUTUO, check.grid_code, "500118")
    assert (fire.urgency, fire.is_drill, fire.node) == ("urgent", False, "dispatched")
    assert fire.title == "森林火情：朱沱镇 卫星热点核查确认"
    assert f"卫星热点簇 {cl.id}" in fire.description and "朱沱镇值班员" in fire.description
    assert (check.node, check.merged_into_id, check.node_deadline) == ("merged", fire.id, None)
    assert service.fire_event_id(session, cl) == fire.id
    check_steps = steps(session, check.id)
    assert [a for a, *_ in check_steps[-3:]] == ["note", "note", "merge"]
    assert (
        check_steps[-2][3]
        == f"核查确认真实火情（朱沱镇值班员 核查），已立森林火情事件 {fire.id}，本事件并入该事件"
    )
    assert check_steps[-1][3] == f"合并到事件 {fire.id}"
    origin = [st for st in steps(session, fire.id) if f"卫星热点核查事件 {check.id}" in st[3]]
    assert [(a, c.endswith("扑救响应（预案）自动启动")) for a, _, _, c in origin] == [("note", True)]
    with pytest.raises(Conflict, match="already has the outcome 真实火情"):  # a second verify is refused
        service.record_outcome(session, VERIFIER, cl.id, "误报")
    assert len(fire_events(session)) == 1
    # the fire counts in "fires out within 24 h" once it is closed (结案)
    today = ztime.utcnow().astimezone(ztime.LOCAL_TZ).date()
    pending = fire_kpis.fire_kpis_between(session, SYS, today, today)["fires_out_within_24h"]
    assert (pending["hits"], pending["counted"], pending["pending"]) == (0, 0, 1)
    for action in ("sign", "handle", "verify_pass", "close"):  # the platform accepted and dispatched it
        events.transition(session, SYS, fire.id, TransitionIn(action=action, comment="扑灭"))
    assert fire.node == "closed"
    done = fire_kpis.fire_kpis_between(session, SYS, today, today)["fires_out_within_24h"]
    assert (done["hits"], done["counted"], done["pending"]) == (1, 1, 0)


def test_a_hand_accepted_event_is_not_forced(session: Session) -> None:
    s = service.import_file(session, REAL_2022)
    (ref,) = s.events
    for action in ("accept", "register"):
        events.transition(session, SYS, ref.event_id, TransitionIn(action=action, comment="受理"))
    cl = the_cluster(session)
    service.record_outcome(session, VERIFIER, cl.id, "误报")
    ev = session.get(Event, ref.event_id)
    assert ev is not None and ev.node == "registered"
    last = steps(session, ev.id)[-1]
    assert last == (
        "note",
        "registered",
        "系统",
        "核查结论：误报，非森林火情（朱沱镇值班员 核查）；核查结论允许结案，请按流程办结",
    )


def test_neighbour_alerts_follow_the_outcome(session: Session, jiangjin: None) -> None:
    s = service.import_file(session, REAL_2022)
    primary, neighbour = s.events
    cl = the_cluster(session)
    service.record_outcome(session, VERIFIER, cl.id, "农事用火", "村民烧秸秆")
    ev = session.get(Event, neighbour.event_id)
    assert ev is not None and ev.node == "rejected"
    assert steps(session, ev.id)[-1] == (
        "reject",
        "rejected",
        "系统",
        "核查结论：农事用火，非森林火情：村民烧秸秆（永川区朱沱镇值班员 核查）",
    )


def test_a_real_fire_notes_the_neighbour_without_a_fire_event_there(session: Session, jiangjin: None) -> None:
    s = service.import_file(session, REAL_2022)
    primary, neighbour = s.events
    cl = the_cluster(session)
    service.record_outcome(session, VERIFIER, cl.id, "real_fire")
    (fire,) = fire_events(session)
    assert fire.district_code == "500118"
    ev = session.get(Event, neighbour.event_id)
    assert ev is not None and ev.node == "reported"
    assert steps(session, ev.id)[-1] == (
        "note",
        "reported",
        "系统",
        f"核查结论：真实火情（永川区朱沱镇值班员 核查），永川区已立森林火情事件 {fire.id}",
    )


@pytest.mark.parametrize("auto", [True, False])
def test_cli_verify_prints_the_fire_event_and_its_response_or_the_hint(
    engine: Engine, monkeypatch: pytest.MonkeyPatch, auto: bool
) -> None:
    pol = fire_resources.load_resource_policy()
    setting = pol.response.model_copy(update={"auto_respond_on_confirmed": auto})
    monkeypatch.setattr(
        fire_resources, "default_resource_policy", lambda: pol.model_copy(update={"response": setting})
    )
    r = CliRunner().invoke(app, ["fire", "hotspots", "import", str(REAL_2022)], prog_name="zhizhi")
    assert r.exit_code == 0, r.stderr
    cid = json.loads(r.stdout)["events"][0]["cluster_id"]
    r = CliRunner().invoke(
        app,
        ["fire", "hotspots", "verify", str(cid), "--outcome", "真实火情", "--by", "张三"],
        prog_name="zhizhi",
    )
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    fid = got["fire_event_id"]
    assert isinstance(fid, int) and got["outcome"] == "real_fire"
    if not auto:
        assert "response" not in got
        assert (
            got["hint"]
            == f"森林火情事件 {fid} 已立；启动扑救响应（预案）: zhizhi fire respond {fid} --as 用户 "
            f"或 POST /api/v1/fire/events/{fid}/respond"
        )
        return
    assert "hint" not in got and got["response"]["event_id"] == fid  # no team registered in this test
    units = [t["unit_code"] for t in got["response"]["tasks"]]
    assert units[0::2] == ["500118-LYJ", "500118118207001"] and units[1::2] == [
        f"{ZHUTUO}-ZHZX",
        "500118-YJJ",
    ]
