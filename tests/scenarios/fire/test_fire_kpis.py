"""Fire KPIs (森林防灭火考核指标): the pure shares and damage rate (kpis.py), the service query of a period
on the test database (drills left out), and `zhizhi fire kpis`.

Events and clusters here are GENERATED test cases built on the real Yongchuan org (conftest), walked
through the loop by the platform at chosen (back-dated) times.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.core.errors import InvalidInput
from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import service as events
from zhizhi.event.models import Event
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.scenarios.fire import kpis
from zhizhi.scenarios.fire.models import HotspotCluster
from zhizhi.scenarios.fire.rules import PolicyError
from zhizhi.scenarios.fire.service import kpis as svc

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=LOCAL_TZ)
H = timedelta(hours=1)
SYS = events.system_actor("500118")
ZHUTUO = "500118118000"


# --- pure ---------------------------------------------------------------------------------------------


def test_hotspots_verified_on_time_counts_only_what_is_decided() -> None:
    now = T0 + 10 * H
    share = kpis.hotspots_verified_on_time(
        [
            (T0 + H, T0 + H),  # exactly at the deadline: on time
            (T0 + H, T0 + 0.5 * H),  # early
            (T0 + H, T0 + 2 * H),  # late
            (T0 + H, None),  # unverified past the deadline: late
            (now + H, None),  # still within its deadline: pending
            (None, None),  # no deadline (a historical cluster): neither counted nor pending
            (None, T0 + 5 * H),  # the same, given an outcome later
        ],
        now,
        target_min=1.0,
    )
    assert share.as_dict() == {
        "hits": 2,
        "counted": 4,
        "pending": 1,
        "share": 0.5,
        "target_min": 1.0,
        "met": False,
    }


def test_fires_out_within_24h_with_the_boundary_inclusive() -> None:
    now = T0 + 100 * H
    share = kpis.fires_out_within(
        [
            (T0, T0 + 24 * H),  # out in exactly 24 h
            (T0, T0 + 3 * H),
            (T0, T0 + 24 * H + timedelta(seconds=1)),  # a second late
            (T0, None),  # still burning after 100 h
            (now - 2 * H, None),  # reported 2 h ago: pending
        ],
        now,
        hours=24,
        target_min=0.95,
    )
    assert (share.hits, share.counted, share.pending, share.share, share.met) == (2, 4, 1, 0.5, False)
    assert kpis.fires_out_within([], now).as_dict()["share"] is None


def test_damage_rate_in_per_mille() -> None:
    assert kpis.damage_rate_permille(3, 50_000) == pytest.approx(0.06, abs=1e-15)
    assert kpis.damage_rate_permille(0, 1) == 0.0
    assert kpis.damage(15, 50_000, 0.3) == {
        "burnt_area_ha": 15,
        "forest_area_ha": 50_000,
        "rate_permille": 0.3,
        "target_max_permille": 0.3,
        "met": True,
        "reason": None,
    }
    assert kpis.damage(16, 50_000, 0.3)["met"] is False
    assert kpis.damage(None, None)["reason"] == "burnt area not recorded; forest area not known"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: kpis.damage_rate_permille(-1, 10), "burnt_area_ha must be >= 0 ha, got -1"),
        (lambda: kpis.damage_rate_permille(float("nan"), 10), "burnt_area_ha must be >= 0 ha, got nan"),
        (lambda: kpis.damage_rate_permille(1, 0), "forest_area_ha must be > 0 ha, got 0"),
        (lambda: kpis.fires_out_within([], T0, hours=0), "hours must be > 0, got 0"),
        (
            lambda: kpis.fires_out_within([(T0, T0 - H)], T0),
            "fires[0]: closed 2026-11-03T08:00:00+08:00 before",
        ),
        (
            lambda: kpis.hotspots_verified_on_time([(datetime(2026, 11, 3), None)], T0),
            "clusters[0].verify_due_at",
        ),
    ],
)
def test_bad_values_are_refused(call: object, message: str) -> None:
    with pytest.raises(ValueError) as e:
        call()  # type: ignore[operator]
    assert str(e.value).startswith(message)


def test_shipped_policy_targets_and_unknown_forest_area() -> None:
    pol = kpis.default_kpi_policy()
    assert pol.targets.model_dump() == {
        "damage_rate_permille_max": 0.3,
        "fire_out_hours": 24.0,
        "fires_out_share_min": 0.95,
        "hotspots_on_time_share_min": 1.0,
    }
    assert pol.forest_area_ha == {"500118": None}


def test_a_broken_kpi_policy_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    f = tmp_path / "kpis.yaml"
    f.write_text(kpis.KPI_FILE.read_text(encoding="utf-8").replace('"500118": null', '"5001": 10'), "utf-8")
    with pytest.raises(PolicyError, match=r'kpis.yaml: forest_area_ha: "5001": not a 6-digit district code'):
        kpis.load_kpi_policy(f)


# --- the service on the database ----------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_clusters(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" not in request.fixturenames:
        return
    eng: Engine = request.getfixturevalue("engine")
    with eng.begin() as c:
        c.execute(text("DELETE FROM fire_hotspot_cluster"))


def fire(session: Session, reported: datetime, closed_after: timedelta | None, drill: bool = False) -> Event:
    """A 森林火情 (2206) event reported at ``reported``, walked by the platform to 结案 after
    ``closed_after`` (None: left burning, signed)."""
    ev = events.create_event(
        session,
        SYS,
        EventCreate(
            category_code="2206", title="林区火情", town_code=ZHUTUO, reported_at=reported, is_drill=drill
        ),
        propose_merges=False,
    )
    steps = ["accept", "register", "dispatch", "sign"]
    if closed_after is not None:
        steps += ["handle", "verify_pass", "close"]
    for i, action in enumerate(steps, start=1):
        last = action == "close"
        at = reported + (closed_after if last and closed_after else timedelta(minutes=i))
        data = TransitionIn(
            action=action, comment="扑灭", unit_code="500118118000-ZHZX" if action == "dispatch" else None
        )
        events.transition(session, SYS, ev.id, data, at=at)
    return ev


def cluster(
    session: Session, opened: datetime, verified_after: timedelta | None, drill: bool = False
) -> None:
    """A hotspot cluster opened at ``opened`` with a 1 h deadline, verified after ``verified_after``."""
    ev = events.create_event(
        session,
        SYS,
        EventCreate(
            category_code="2207",
            title="卫星热点核查",
            town_code=ZHUTUO,
            source="satellite",
            reported_at=opened,
            is_drill=drill,
        ),
        propose_merges=False,
    )
    session.add(
        HotspotCluster(
            district_code="500118", lon=105.8, lat=29.0, first_seen=opened, last_seen=opened, n_detections=1,
            max_frp=1.0, max_confidence=50, event_id=ev.id, opened_at=opened, verify_due_at=opened + H,
            verified_at=opened + verified_after if verified_after is not None else None, drill=drill,
            outcome="false_alarm" if verified_after is not None else None, outcome_note="",
        )
    )  # fmt: skip
    session.flush()


@pytest.fixture
def month(session: Session) -> Session:
    """November 2026 in 朱沱镇: 4 real fires, 1 drill fire, 1 fire of October; 3 real clusters, 1 drill."""
    fire(session, T0, 5 * H)  # out in 5 h
    fire(session, T0 + 24 * H, 24 * H)  # out in exactly 24 h
    fire(session, T0 + 48 * H, 30 * H)  # out in 30 h: late
    fire(session, T0 + 72 * H, None)  # still burning
    fire(session, T0 + 96 * H, 2 * H, drill=True)  # a drill: never counts
    fire(session, datetime(2026, 10, 31, 23, 30, tzinfo=LOCAL_TZ), 1 * H)  # October
    cluster(session, T0, 0.5 * H)
    cluster(session, T0 + H, 2 * H)  # verified late
    cluster(session, T0 + 2 * H, None)  # never verified
    cluster(session, T0 + 3 * H, 0.2 * H, drill=True)
    return session


def test_service_kpis_of_a_month_leave_drills_and_other_months_out(month: Session) -> None:
    as_of = datetime(2026, 11, 10, 12, tzinfo=LOCAL_TZ)
    got = svc.fire_kpis(month, SYS, "2026-11", as_of=as_of, burnt_area_ha=6.0, forest_area_ha=40_000)
    assert got == {
        "period": "2026-11",
        "from": "2026-11-01T00:00:00+08:00",
        "to": "2026-12-01T00:00:00+08:00",
        "district_code": "500118",
        "as_of": "2026-11-10T12:00:00+08:00",
        "hotspots_verified_on_time": {
            "hits": 1,
            "counted": 3,
            "pending": 0,
            "share": 0.3333,
            "target_min": 1.0,
            "met": False,
        },
        "fires_out_within_24h": {
            "hits": 2,
            "counted": 4,
            "pending": 0,
            "share": 0.5,
            "target_min": 0.95,
            "met": False,
            "hours": 24.0,
        },
        "fires": 4,
        "damage_rate": {
            "burnt_area_ha": 6.0,
            "forest_area_ha": 40_000,
            "rate_permille": 0.15,
            "target_max_permille": 0.3,
            "met": True,
            "reason": None,
            "burnt_area_source": "given",
            "records": 0,
        },
    }
    october = svc.fire_kpis(month, SYS, "2026-10", as_of=as_of)
    assert (october["fires"], october["fires_out_within_24h"]["hits"]) == (1, 1)
    # no burnt area given and October's fire has no fire record (test_grading.py covers the records)
    assert re.fullmatch(
        r"1 of 1 fires \(森林火情 2206\) of the period have no fire record \(受害森林面积\): events \d+ "
        r"\(record: PUT /api/v1/fire/events/\{id\}/record, or pass --burnt-area-ha\); "
        r"forest area of district 500118 not known "
        r"\(fire/data/kpis.yaml forest_area_ha; pass --forest-area-ha\)",
        october["damage_rate"]["reason"],
    )


def test_a_span_of_days_gives_the_same_figures_as_its_period(month: Session) -> None:
    as_of = datetime(2026, 11, 10, 12, tzinfo=LOCAL_TZ)
    by_days = svc.fire_kpis_between(
        month, SYS, date(2026, 11, 1), date(2026, 11, 30), as_of=as_of, burnt_area_ha=6.0, forest_area_ha=4e4
    )
    by_period = svc.fire_kpis(month, SYS, "2026-11", as_of=as_of, burnt_area_ha=6.0, forest_area_ha=4e4)
    assert by_days["period"] == "2026-11-01..2026-11-30"
    assert {**by_days, "period": "2026-11"} == by_period
    one_day = svc.fire_kpis_between(month, SYS, date(2026, 11, 3), date(2026, 11, 3), as_of=as_of)
    assert (one_day["from"], one_day["to"], one_day["fires"]) == (
        "2026-11-03T00:00:00+08:00",
        "2026-11-04T00:00:00+08:00",
        1,
    )
    assert one_day["hotspots_verified_on_time"]["counted"] == 3
    with pytest.raises(InvalidInput, match="to 2026-11-02 is before from 2026-11-03"):
        svc.fire_kpis_between(month, SYS, date(2026, 11, 3), date(2026, 11, 2))


def test_kpis_api_in_the_callers_scope(month: Session, client: TestClient) -> None:
    month.commit()
    q = {"from": "2026-11-01", "to": "2026-11-30"}

    def kpis_of(user: str, **params: str) -> Any:
        r = client.get("/api/v1/fire/kpis", params=params or q, headers={"X-Zhizhi-User": user})
        assert r.status_code == 200, r.text
        return r.json()

    district = kpis_of("500118.leader")
    assert (district["period"], district["district_code"], district["fires"]) == (
        "2026-11-01..2026-11-30",
        "500118",
        4,
    )
    assert (district["fires_out_within_24h"]["hits"], district["hotspots_verified_on_time"]["counted"]) == (
        2,
        3,
    )
    town = kpis_of(f"{ZHUTUO}.duty")  # every fire of the month is in 朱沱镇
    assert (town["fires"], town["hotspots_verified_on_time"]["counted"]) == (4, 3)
    assert town["damage_rate"]["reason"].endswith(
        "the forest area is known per district only (fire/data/kpis.yaml): the damage rate of a town "
        "scope is not computed"
    )
    other = kpis_of("500118001000.duty")  # 中山路街道: none of them
    assert (other["fires"], other["hotspots_verified_on_time"]["counted"]) == (0, 0)
    assert kpis_of("500118.duty", **{"from": "2026-10-01", "to": "2026-10-31"})["fires"] == 1
    r = client.get("/api/v1/fire/kpis", params={"from": "2026-11-30", "to": "2026-11-01"},
                   headers={"X-Zhizhi-User": "500118.duty"})  # fmt: skip
    assert r.status_code == 422 and r.json()["detail"] == "to 2026-11-01 is before from 2026-11-30"
    r = client.get(
        "/api/v1/fire/kpis", params={"from": "2026-11-01"}, headers={"X-Zhizhi-User": "500118.duty"}
    )
    assert r.status_code == 422


def test_a_fire_still_young_is_pending(month: Session) -> None:
    got = svc.fire_kpis(month, SYS, "2026-11", as_of=T0 + 80 * H)
    assert {k: got["fires_out_within_24h"][k] for k in ("hits", "counted", "pending")} == {
        "hits": 2,
        "counted": 3,
        "pending": 1,
    }


def test_service_refuses_a_bad_period(session: Session) -> None:
    with pytest.raises(
        InvalidInput, match='period "2026-13" must be YYYY, YYYY-MM or YYYY-Qn|month must be 01-12'
    ):
        svc.fire_kpis(session, SYS, "2026-13")


def test_cli_prints_the_kpis_as_json(month: Session) -> None:
    month.commit()
    res = CliRunner().invoke(
        app, ["fire", "kpis", "--period", "2026-11", "--burnt-area-ha", "3", "--forest-area-ha", "50000"]
    )
    assert res.exit_code == 0, res.output
    got = json.loads(res.stdout)
    assert (
        got["fires"],
        got["fires_out_within_24h"]["counted"],
        got["hotspots_verified_on_time"]["counted"],
    ) == (
        4,
        4,
        3,
    )
    assert (got["damage_rate"]["rate_permille"], got["damage_rate"]["met"]) == (0.06, True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--period", "2026-13"], 'error: period "2026-13": month must be 01-12'),
        (["--period", "last month"], 'error: period "last month" must be YYYY, YYYY-MM or YYYY-Qn'),
        (["--period", "2026-11", "--forest-area-ha", "0"], "error: forest_area_ha must be > 0 ha"),
    ],
)
def test_cli_kpis_bad_input_is_one_error_line(engine: Engine, args: list[str], message: str) -> None:
    res = CliRunner().invoke(app, ["fire", "kpis", *args])
    assert res.exit_code == 2, res.output
    assert res.stderr.startswith(message)


def test_now_default_is_used_without_as_of(session: Session) -> None:
    got = svc.fire_kpis(session, SYS, f"{datetime.now(UTC).astimezone(LOCAL_TZ):%Y}")
    assert got["fires"] == 0 and got["fires_out_within_24h"]["share"] is None
