"""KPIs (核心绩效) and rankings (赛马比拼) with exact numbers from events built with known timings.

Tuesday 2026-11-03 is an ordinary working day (08:30-12:00, 14:00-18:00). Category 0101 (暴露垃圾)
limits: 受理 30 continuous minutes, 立案 and 派遣 0.5 working hours each, 签收 1, 处置 4, 核查 2 and
结案 1 working hours.

Town 中山路街道 (500118001000), events dispatched to 区城市管理局 (CGJ):
  A  closed on time, evaluated 5 (satisfied)        处置 95 min after 派遣
  B  handled late (16:00 > 15:30), closed             395 min
  C  returned once by CGJ, re-dispatched, closed on time, evaluated 3 (not satisfied)   80 min
  D  failed 核查 once (返工), re-handled in time, closed                               305 min
  E  挂账 (parked) after signing
Town 胜利路街道 (500118002000), dispatched to 区住建委 (ZJW):
  F  受理 late (09:40 > 09:30), then everything on time    60 min
Not counted in 2026-11: a drill, a duplicate merged into E, and an October event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from tests.conftest import as_user

from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import service
from zhizhi.event.models import Event
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.ops import rules
from zhizhi.ops import service as ops

SYS = service.system_actor("500118")
TOWN1, TOWN2 = "500118001000", "500118002000"
P1 = (105.898213, 29.352365)  # 中山路社区 (500118001001), real village point
P2 = (105.890153, 29.349019)  # 张家坡社区 (500118002001), real village point
DUTY = as_user("500118.duty")


def local(h: int, m: int = 0, day: int = 3, month: int = 11) -> datetime:
    return datetime(2026, month, day, h, m, tzinfo=LOCAL_TZ)


def build(session: Session, point: tuple[float, float], moves: list[tuple[str, str, dict[str, Any]]],
          day: int = 3, month: int = 11, **kw: Any) -> Event:
    """An event reported at 09:00 and moved at the given HH:MM times by the system actor."""
    data = EventCreate(category_code="0101", title="暴露垃圾", lon=point[0], lat=point[1],
                       reported_at=local(9, day=day, month=month), **kw)
    ev = service.create_event(session, SYS, data)
    for action, hhmm, extra in moves:
        h, m = map(int, hhmm.split(":"))
        when = local(h, m, day, month)
        service.transition(session, SYS, ev.id, TransitionIn(action=action, **extra), at=when)
    return ev


CGJ, ZJW = {"unit_code": "500118-CGJ"}, {"unit_code": "500118-ZJW"}
START = [("accept", "09:10", {}), ("register", "09:20", {}), ("dispatch", "09:25", CGJ),
         ("sign", "09:30", {})]
HANDLE = ("handle", "11:00", {"comment": "已清运"})


@pytest.fixture
def loop(session: Session) -> dict[str, Event]:
    evs = {
        "A": build(session, P1, [*START, HANDLE, ("verify_pass", "11:30", {}), ("close", "11:40", {}),
                                 ("evaluate", "12:00", {"satisfaction": 5})]),
        "B": build(session, P1, [*START, ("handle", "16:00", {"comment": "已清运"}),
                                 ("verify_pass", "16:10", {}), ("close", "16:20", {})]),
        "C": build(session, P1, [*START[:3], ("return", "09:35", {"comment": "非本单位"}),
                                 ("dispatch", "09:40", CGJ), ("sign", "09:45", {}),
                                 ("handle", "11:00", {"comment": "已清运"}), ("verify_pass", "11:30", {}),
                                 ("close", "11:40", {}), ("evaluate", "12:00", {"satisfaction": 3})]),
        "D": build(session, P1, [*START, ("handle", "11:00", {"comment": "已清运"}),
                                 ("verify_fail", "11:30", {"comment": "仍有残留"}),
                                 ("handle", "14:30", {"comment": "再次清运"}), ("verify_pass", "15:00", {}),
                                 ("close", "15:10", {})]),
        "E": build(session, P1, [*START, ("park", "10:00", {"comment": "需列入改造计划"})]),
        "F": build(session, P2, [("accept", "09:40", {}), ("register", "09:50", {}),
                                 ("dispatch", "10:00", ZJW), ("sign", "10:10", {}),
                                 ("handle", "11:00", {"comment": "已处理"}),
                                 ("verify_pass", "11:30", {}), ("close", "11:40", {})]),
        "drill": build(session, P1, START, is_drill=True),
        "dup": build(session, P1, []),
        "october": build(session, P1, START, day=20, month=10),
    }
    service.merge(session, SYS, evs["dup"].id, evs["E"].id)
    session.commit()
    return evs


TOWN1_COUNTS = {
    "reported": 5, "registered": 5, "registered_on_time": 5, "dispatched": 5, "dispatch_total": 6,
    "return_total": 1, "returned": 1, "handled": 4, "handled_on_time": 3, "should_close": 5, "deferred": 1,
    "closed": 4, "closed_on_time": 3, "reworked": 1, "rework_total": 1, "overdue": 1, "evaluated": 2,
    "satisfied": 1, "handle_hours_sum": 14.583, "handle_hours_n": 4,  # (95 + 395 + 80 + 305) / 60 h
}
TOWN1_RATES = {
    "ontime_register_rate": 1.0, "accurate_dispatch_rate": 0.8333, "handle_rate": 0.8,
    "ontime_handle_rate": 0.75,
    "close_rate": 0.8, "ontime_close_rate": 0.75, "rework_rate": 0.25, "return_rate": 0.2,
    "satisfaction_rate": 0.5, "avg_handle_hours": 3.6458,
}
TOWN2_COUNTS = {
    "reported": 1, "registered": 1, "registered_on_time": 0, "dispatched": 1, "dispatch_total": 1,
    "return_total": 0, "returned": 0, "handled": 1, "handled_on_time": 1, "should_close": 1, "deferred": 0,
    "closed": 1, "closed_on_time": 1, "reworked": 0, "rework_total": 0, "overdue": 1, "evaluated": 0,
    "satisfied": 0, "handle_hours_sum": 1, "handle_hours_n": 1,
}
TOWN2_RATES = {
    "ontime_register_rate": 0.0, "accurate_dispatch_rate": 1.0, "handle_rate": 1.0, "ontime_handle_rate": 1.0,
    "close_rate": 1.0, "ontime_close_rate": 1.0, "rework_rate": 0.0, "return_rate": 0.0,
    "satisfaction_rate": None, "avg_handle_hours": 1.0,
}


def test_the_built_events_have_the_intended_facts(loop: dict[str, Event]) -> None:
    a, b, c, d, e, f = (loop[k] for k in "ABCDEF")
    assert (a.town_code, f.town_code) == (TOWN1, TOWN2)
    assert [x.node for x in (a, b, c, d, e, f)] == ["evaluated", "closed", "evaluated", "closed", "parked",
                                                    "closed"]
    assert [x.closed_on_time for x in (a, b, c, d, e, f)] == [True, False, True, True, None, True]
    assert [x.ever_overdue for x in (a, b, c, d, e, f)] == [False, True, False, False, False, True]
    assert [x.registered_on_time for x in (a, f)] == [True, False]
    assert b.handle_deadline == local(15, 30)
    assert [round(x.handle_hours or 0, 6) for x in (a, b, c, d, f)] == [
        1.583333, 6.583333, 1.333333, 5.083333, 1.0]


def test_kpis_by_town(client: TestClient, loop: dict[str, Event]) -> None:
    r = client.get("/api/v1/kpis", params={"period": "2026-11", "by": "town"}, headers=DUTY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["period"], body["by"], body["from"], body["to"]) == (
        "2026-11", "town", "2026-11-01T00:00:00+08:00", "2026-12-01T00:00:00+08:00")
    assert [(row["code"], row["name"]) for row in body["rows"]] == [
        (TOWN1, "中山路街道"), (TOWN2, "胜利路街道")]
    t1, t2 = body["rows"]
    assert t1["counts"] == TOWN1_COUNTS
    assert t1["rates"] == TOWN1_RATES
    assert t2["counts"] == TOWN2_COUNTS
    assert t2["rates"] == TOWN2_RATES
    total = {k: round(TOWN1_COUNTS[k] + TOWN2_COUNTS[k], 3) for k in TOWN1_COUNTS}
    assert body["total"]["counts"] == total
    assert body["total"]["rates"]["ontime_close_rate"] == 0.8  # (3 + 1) / (6 − 1)
    assert body["total"]["rates"]["accurate_dispatch_rate"] == round(1 - 1 / 7, 4)


def test_kpis_by_department(client: TestClient, loop: dict[str, Event]) -> None:
    body = client.get("/api/v1/kpis", params={"period": "2026-11", "by": "department"}, headers=DUTY).json()
    assert [(row["code"], row["name"]) for row in body["rows"]] == [
        ("500118-CGJ", "永川区城市管理局"), ("500118-ZJW", "永川区住房和城乡建设委员会")]
    assert body["rows"][0]["counts"] == TOWN1_COUNTS and body["rows"][0]["rates"] == TOWN1_RATES
    assert body["rows"][1]["counts"] == TOWN2_COUNTS and body["rows"][1]["rates"] == TOWN2_RATES


def test_periods_and_scopes(client: TestClient, loop: dict[str, Event]) -> None:
    def reported(period: str | None, who: dict[str, str] = DUTY, by: str = "town") -> dict[str, int]:
        params = {"by": by} | ({"period": period} if period else {})
        body = client.get("/api/v1/kpis", params=params, headers=who).json()
        return {row["code"]: row["counts"]["reported"] for row in body["rows"]}

    assert reported("2026-10") == {TOWN1: 1}
    assert reported("2026-Q4") == reported("2026") == reported(None) == {TOWN1: 6, TOWN2: 1}
    assert reported("2025") == {}
    # a town center sees its own town, a department its own events
    assert reported("2026-11", as_user(f"{TOWN2}.duty")) == {TOWN2: 1}
    assert reported("2026-11", as_user("500118-CGJ.handler"), "department") == {"500118-CGJ": 5}


@pytest.mark.parametrize("period", ["2026-13", "2026-00", "26-11", "2026-Q5", "2026/11", "last month"])
def test_bad_period_is_422_naming_period(client: TestClient, period: str) -> None:
    for path in ("/api/v1/kpis", "/api/v1/rankings"):
        r = client.get(path, params={"period": period}, headers=DUTY)
        assert r.status_code == 422, (path, period)
        assert [e["field"] for e in r.json()["errors"]] == ["period"]
        assert f'period "{period}"' in r.json()["detail"]


def test_bad_dimension_and_kind_are_named(client: TestClient) -> None:
    r = client.get("/api/v1/kpis", params={"by": "planet"}, headers=DUTY)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["by"]
    r = client.get("/api/v1/rankings", params={"kind": "grid"}, headers=DUTY)
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["kind"]
    assert client.get("/api/v1/kpis").status_code == 401


def test_rankings_of_towns_and_departments(client: TestClient, loop: dict[str, Event]) -> None:
    for kind, first, second in (("town", TOWN2, TOWN1), ("department", "500118-ZJW", "500118-CGJ")):
        r = client.get("/api/v1/rankings", params={"period": "2026-11", "kind": kind}, headers=DUTY)
        assert r.status_code == 200
        body = r.json()
        assert body["rule"]["weights"] == {"ontime_close_rate": 50.0, "close_rate": 20.0,
                                           "accurate_dispatch_rate": 10.0, "ontime_register_rate": 10.0,
                                           "satisfaction_rate": 10.0}
        assert [(row["rank"], row["code"], row["reported"]) for row in body["rows"]] == [(1, first, 1),
                                                                                          (2, second, 5)]
        # F: (50·1 + 20·1 + 10·1 + 10·0) × 100/90 (no evaluations: weights re-scaled) − 0.05 × 1 overdue
        assert body["rows"][0]["score"] == round(80 * 100 / 90 - 0.05, 4) == 88.8389
        # A-E: 50·0.75 + 20·0.8 + 10·(5/6) + 10·1 + 10·0.5 − 0.2 × 1 rework − 0.05 × 1 overdue
        assert body["rows"][1]["score"] == pytest.approx(76.5833, abs=5e-4)
        assert body["rows"][1]["rates"] == TOWN1_RATES


def test_ranking_score_uses_exact_rates(session: Session, loop: dict[str, Event]) -> None:
    body = ops.rankings(session, SYS, "2026-11", "town")
    assert body["rows"][1]["score"] == round(37.5 + 16 + 10 * 5 / 6 + 10 + 5 - 0.25, 4) == 76.5833


def test_rankings_from_given_kpis_read_no_events_and_rank_the_same(
    session: Session, loop: dict[str, Event], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The big screen and the KPI export have the KPIs already: rankings(kp=…) ranks from them."""
    for kind in ("town", "department"):
        kp = ops.kpis(session, SYS, "2026-11", kind)
        expected = ops.rankings(session, SYS, "2026-11", kind)
        with monkeypatch.context() as m:
            m.setattr(ops, "kpis", lambda *a, **k: pytest.fail("rankings read the KPIs again"))
            assert ops.rankings(session, SYS, "2026-11", kind, kp=kp) == expected
        assert [r["code"] for r in expected["rows"]] == (
            [TOWN2, TOWN1] if kind == "town" else ["500118-ZJW", "500118-CGJ"]
        )
    kp = ops.kpis(session, SYS, "2026-11", "town")
    with pytest.raises(ValueError, match="by town for 2026-11, not by department for 2026-11"):
        ops.rankings(session, SYS, "2026-11", "department", kp=kp)
    with pytest.raises(ValueError, match="by town for 2026-11, not by town for 2026-10"):
        ops.rankings(session, SYS, "2026-10", "town", kp=kp)


def test_kpi_rates_match_the_pure_formulas(session: Session, loop: dict[str, Event]) -> None:
    body = ops.kpis(session, SYS, "2026-11", "town")
    counts = {k: float(v) for k, v in body["rows"][0]["counts"].items()}
    counts["handle_hours_sum"] = 875 / 60
    exact = rules.kpi_rates(counts)
    assert {k: None if v is None else round(v, 4) for k, v in exact.items()} == TOWN1_RATES


def test_period_bounds_are_beijing_time(client: TestClient, session: Session) -> None:
    """23:30 on 31 October and 00:10 on 1 November Beijing time are the same UTC date (31 October)."""
    for when in (local(23, 30, day=31, month=10), local(0, 10, day=1)):
        data = EventCreate(category_code="0101", title="跨月", lon=P1[0], lat=P1[1], reported_at=when)
        service.create_event(session, SYS, data)
    session.commit()
    for period, n in (("2026-10", 1), ("2026-11", 1), ("2026-Q4", 2), ("2026-Q3", 0)):
        body = client.get("/api/v1/kpis", params={"period": period}, headers=DUTY).json()
        assert body["total"]["counts"]["reported"] == n, period
