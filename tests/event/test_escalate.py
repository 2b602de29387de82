"""上报区级 (escalate, 纵向上报): a town center passes an event beyond its remit up to the district center,
which dispatches it (governance-features.md §2, §5: grid → community → street → district). Also the
dispatch picker's data (what "auto" would choose and whether the caller may send it there), the error
codes the pages translate, and the KPIs it must not disturb.

Events are GENERATED test cases at a real Yongchuan point (中山路社区, villages_points.csv, town
中山路街道 500118001000); the staff are the demo users the org loader creates.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from tests.conftest import as_user

from zhizhi.auth.service import user_actor
from zhizhi.core.errors import Conflict, Forbidden, InvalidInput
from zhizhi.event import rules, service
from zhizhi.event.models import Event, EventStep
from zhizhi.event.rules import Node, TransitionError, check_transition
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.ops import service as ops

LON, LAT = 105.898213, 29.352365  # 中山路社区居民委员会 (500118001001), town 500118001000
TOWN = "500118001000"
TOWN_DUTY, DISTRICT_DUTY = "500118001000.duty", "500118.duty"
CENTER = "500118-CYZX"
CGJ = "500118-CGJ"  # 城市管理局: where 暴露垃圾 (0101) goes by the catalogue default


# --- rules (no database) ----------------------------------------------------------------------------


def test_escalate_is_a_move_of_the_town_center_at_registered_with_a_reason() -> None:
    tr = check_transition("escalate", "registered", "town_duty", {"comment": "属区级部门职责"})
    assert (tr.label, tr.target, tr.permission) == ("上报区级", None, "event.escalate")
    assert tr.roles == {"town_duty", "system"}  # the district center dispatches; it does not escalate
    with pytest.raises(TransitionError) as e:
        check_transition("escalate", "registered", "town_duty", {"comment": "  "})
    assert (e.value.status, e.value.code, e.value.params) == (
        422,
        "event.field_required",
        {"label": "上报区级", "field": "comment"},
    )
    with pytest.raises(TransitionError) as e:
        check_transition("escalate", "accepted", "town_duty", {"comment": "x"})
    assert (e.value.status, e.value.code) == (409, "event.wrong_node")
    with pytest.raises(TransitionError) as e:
        check_transition("escalate", "registered", "board_staff", {"comment": "x"})
    assert (e.value.status, e.value.code, e.value.params) == (
        403,
        "event.role_not_allowed",
        {"label": "上报区级"},
    )
    assert "escalate" in rules.allowed_actions("registered", "town_duty")
    assert "escalate" not in rules.allowed_actions("registered", "center_duty")


def test_reject_is_labelled_by_the_node_it_is_made_at() -> None:
    assert rules.label_at("reject", "reported") == "不予受理"
    assert rules.label_at("reject", "accepted") == "不予立案"
    assert rules.label_at("dispatch", "registered") == "派遣"
    assert rules.label_at("fly", "registered") == "fly"
    with pytest.raises(TransitionError) as e:
        check_transition("reject", "accepted", "leader", {"comment": "x"})
    assert e.value.params == {"label": "不予立案"} and "may not 不予立案" in str(e.value)


# --- the loop ---------------------------------------------------------------------------------------


def registered(session: Session) -> Event:
    """A report of 暴露垃圾 accepted and registered by the town center."""
    duty = user_actor(session, TOWN_DUTY)
    ev = service.create_event(
        session, duty, EventCreate(category_code="0101", title="测试", lon=LON, lat=LAT)
    )
    for a in ("accept", "register"):
        service.transition(session, duty, ev.id, TransitionIn(action=a))
    return ev


def act(session: Session, who: str, ev: Event, action: str, **kw: Any) -> Event:
    return service.transition(session, user_actor(session, who), ev.id, TransitionIn(action=action, **kw))


def test_a_town_center_cannot_dispatch_to_a_district_department_and_escalates_instead(
    session: Session,
) -> None:
    ev = registered(session)
    assert (ev.town_code, ev.suggested_unit_code) == (TOWN, CGJ)
    duty = user_actor(session, TOWN_DUTY)
    d = service.detail(session, duty, ev)
    # the picker: "auto" would choose the 城管局, which the town center may not dispatch to
    assert (d.auto_unit_code, d.auto_unit_ok) == (CGJ, False)
    assert "dispatch" in d.allowed_actions and "escalate" in d.allowed_actions
    with pytest.raises(Forbidden) as e:
        act(session, TOWN_DUTY, ev, "dispatch", unit_code="auto")
    assert e.value.code == "event.dispatch_outside_town"
    assert e.value.extra["params"] == {"unit": "永川区城市管理局"}
    session.refresh(ev)
    assert (ev.node, ev.unit_code, ev.dispatch_count) == ("registered", None, 0)

    before = ev.node_deadline, ev.node_entered_at, ev.node_seq
    act(session, TOWN_DUTY, ev, "escalate", comment="暴露垃圾属区城管局职责,提请区级派遣")
    assert (ev.node, ev.unit_code, ev.dispatch_count, ev.return_count) == ("registered", CENTER, 0, 0)
    assert (ev.node_deadline, ev.node_entered_at, ev.node_seq) == before  # the 派遣 clock runs on
    step = session.scalars(select(EventStep).where(EventStep.event_id == ev.id).order_by(EventStep.id)).all()[
        -1
    ]
    assert (step.action, step.from_node, step.to_node, step.target_unit_code, step.actor_role) == (
        "escalate", "registered", "registered", CENTER, "town_duty",
    )  # fmt: skip
    assert step.data == {"escalated": True, "suggested_unit_code": CGJ}
    assert step.used is not None and step.limit == ev.node_limit

    # the town center now has neither 派遣 nor 上报区级; it may still read and remind
    d = service.detail(session, duty, ev)
    assert d.held_by_district and "dispatch" not in d.allowed_actions and "escalate" not in d.allowed_actions
    assert [s.label for s in d.timeline] == ["上报", "受理", "立案", "上报区级"]
    with pytest.raises(Forbidden) as e:
        act(session, TOWN_DUTY, ev, "dispatch", unit_code=f"{TOWN}-MS")
    assert e.value.code == "event.held_by_district"
    with pytest.raises(Conflict) as e2:
        service.transition(session, duty, ev.id, TransitionIn(action="escalate", comment="再报"))
    assert e2.value.code == "event.already_escalated"

    # the district center dispatches it to the department, which handles it as usual
    center = user_actor(session, DISTRICT_DUTY)
    d = service.detail(session, center, ev)
    assert (d.auto_unit_code, d.auto_unit_ok, "dispatch" in d.allowed_actions) == (CGJ, True, True)
    act(session, DISTRICT_DUTY, ev, "dispatch", unit_code="auto", comment="请城管局处置")
    assert (ev.node, ev.unit_code, ev.dispatch_mode, ev.dispatch_count) == (
        "dispatched",
        CGJ,
        "horizontal",
        1,
    )
    act(session, "500118-CGJ.handler", ev, "sign")
    act(session, "500118-CGJ.handler", ev, "handle", comment="已清运")
    assert ev.node == "handled"


def test_a_return_after_an_escalation_goes_back_to_the_district_center(session: Session) -> None:
    ev = registered(session)
    act(session, TOWN_DUTY, ev, "escalate", comment="区级职责")
    act(session, DISTRICT_DUTY, ev, "dispatch", unit_code="500118-STHJ")
    act(session, "500118-STHJ.handler", ev, "return", comment="不属于本单位职责")
    assert (ev.node, ev.unit_code, ev.return_count) == ("registered", CENTER, 1)
    assert service.detail(session, user_actor(session, TOWN_DUTY), ev).held_by_district
    # the district may also hand it down to the town center (纵向交办); a return then comes back up
    act(session, DISTRICT_DUTY, ev, "dispatch", unit_code=f"{TOWN}-ZHZX")
    act(session, TOWN_DUTY, ev, "return", comment="需区级协调")
    assert (ev.unit_code, ev.return_count, ev.dispatch_count) == (CENTER, 2, 2)


def test_a_return_without_an_escalation_is_back_with_the_town(session: Session) -> None:
    ev = registered(session)
    act(session, TOWN_DUTY, ev, "dispatch", unit_code=f"{TOWN}-MS")
    act(session, f"{TOWN}-MS.staff", ev, "return", comment="非本板块")
    assert (ev.node, ev.unit_code) == ("registered", None)
    # the SLA sweep's second-level 督办 rows are also called "escalate": they do not count as one
    session.add(EventStep(event_id=ev.id, at=ev.node_entered_at, action="escalate", from_node="dispatched",
                          to_node="dispatched", actor_name="系统", actor_role="system", comment="超时",
                          data={"auto": True, "level": 2}))  # fmt: skip
    act(session, TOWN_DUTY, ev, "dispatch", unit_code=f"{TOWN}-MS")
    act(session, f"{TOWN}-MS.staff", ev, "return", comment="仍非本板块")
    assert ev.unit_code is None
    labels = [s.label for s in service.detail(session, user_actor(session, TOWN_DUTY), ev).timeline]
    assert "超时升级督办" in labels and "上报区级" not in labels


def test_a_town_dispatches_auto_within_the_town_when_the_routing_says_so(session: Session) -> None:
    service.add_routing_rule(session, "500118", "0101", TOWN, f"{TOWN}-MS", note="测试:本镇街民生板块")
    ev = registered(session)
    d = service.detail(session, user_actor(session, TOWN_DUTY), ev)
    assert (d.auto_unit_code, d.auto_unit_ok) == (f"{TOWN}-MS", True)
    act(session, TOWN_DUTY, ev, "dispatch", unit_code="auto")
    assert (ev.unit_code, ev.dispatch_mode) == (f"{TOWN}-MS", "vertical")


def test_escalation_leaves_the_kpis_alone(session: Session) -> None:
    a, b = registered(session), registered(session)
    act(session, TOWN_DUTY, a, "escalate", comment="区级职责")
    before = ops.kpis(session, service.system_actor("500118"), None, "town")
    counts = before["total"]["counts"]
    assert (counts["reported"], counts["dispatched"], counts["dispatch_total"], counts["return_total"]) == (
        2,
        0,
        0,
        0,
    )
    for ev in (a, b):
        act(session, DISTRICT_DUTY, ev, "dispatch", unit_code=CGJ)
    rates = ops.kpis(session, service.system_actor("500118"), None, "town")["total"]["rates"]
    assert rates["accurate_dispatch_rate"] == 1.0 and rates["return_rate"] == 0.0


def test_the_api_carries_codes_for_the_pages(client: TestClient, session: Session) -> None:
    ev = registered(session)
    session.commit()
    town = as_user(TOWN_DUTY)

    def move(headers: dict[str, str], action: str, **kw: Any) -> Any:
        return client.post(
            f"/api/v1/events/{ev.id}/transitions", json={"action": action, **kw}, headers=headers
        )

    r = move(town, "dispatch", unit_code="auto")
    assert r.status_code == 403 and r.json()["code"] == "event.dispatch_outside_town"
    r = move(town, "close")
    assert r.status_code == 409
    assert (r.json()["code"], r.json()["params"]) == (
        "event.wrong_node",
        {"label": "结案", "node": "registered"},
    )
    r = move(town, "escalate")
    assert r.status_code == 422 and r.json()["code"] == "event.field_required"
    r = move(as_user(f"{ev.grid_code}.worker"), "dispatch", unit_code="auto")
    assert r.status_code == 403 and r.json()["code"] == "event.role_not_allowed"
    r = move(as_user("500118002000.duty"), "escalate", comment="x")  # another town
    assert r.status_code == 404 and r.json()["code"] == "event.not_found"
    r = move(town, "escalate", comment="区级职责", expected_version=1)
    assert r.status_code == 409 and r.json()["code"] == "event.stale_version"
    r = move(town, "escalate", comment="区级职责")
    assert r.status_code == 200
    body = r.json()
    assert (body["held_by_district"], body["unit_code"], body["allowed_actions"]) == (
        True,
        CENTER,
        ["remind"],
    )
    r = client.get(f"/api/v1/events/{ev.id}", headers=as_user(DISTRICT_DUTY)).json()
    assert "dispatch" in r["allowed_actions"] and r["action_labels"]["dispatch"] == "派遣"
    assert (r["auto_unit_code"], r["auto_unit_ok"]) == (CGJ, True)
    tr = {t["action"]: t for t in client.get("/api/v1/transitions").json()}
    assert tr["escalate"]["roles"] == ["system", "town_duty"] and tr["escalate"]["needs"] == ["comment"]
    assert tr["reject"]["labels"] == {"accepted": "不予立案"}


def test_an_event_in_no_town_cannot_be_escalated(session: Session) -> None:
    sys = service.system_actor("500118")
    ev = registered(session)
    ev.town_code = None  # as an out-of-area report (allow_out_of_area categories) has none
    session.flush()
    with pytest.raises(Conflict) as e:
        service.transition(session, sys, ev.id, TransitionIn(action="escalate", comment="x"))
    assert e.value.code == "event.no_town"
    with pytest.raises(InvalidInput):
        service.transition(session, sys, ev.id, TransitionIn(action="dispatch", unit_code="500118-NOPE"))
    assert Node(ev.node) == Node.REGISTERED
