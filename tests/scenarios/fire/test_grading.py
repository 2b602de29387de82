"""Forest fire grades (森林防火条例 第四十条) at the edges of every threshold, response levels, the fire
record API, and the damage-rate KPI computed from the records.

Fires and records here are GENERATED test cases on the real Yongchuan org model.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.scenarios.fire.response_support import (
    CENTER,
    HOME,
    HOME_TOWN,
    OTHER_TOWN,
    SYS,
    clean_response,  # noqa: F401  (fixture)
    fire_event,
    user,
)
from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import service as events
from zhizhi.event.schemas import EventCreate
from zhizhi.scenarios.fire import grading
from zhizhi.scenarios.fire.resource_schemas import RecordIn
from zhizhi.scenarios.fire.rules import PolicyError
from zhizhi.scenarios.fire.service import kpis as kpi_svc
from zhizhi.scenarios.fire.service import records

pytestmark = pytest.mark.usefixtures("clean_response")


# --- grades (pure) --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("area", "deaths", "injuries", "grade"),
    [
        (0, 0, 0, "general"),  # other forest land on fire, nothing damaged: 一般
        (0.999, 0, 0, "general"),
        (1, 0, 0, "larger"),  # "以上包括本数": 1 ha is 较大
        (99.99, 0, 0, "larger"),
        (100, 0, 0, "major"),
        (999.999, 0, 0, "major"),
        (1000, 0, 0, "especially_major"),
        (0.5, 2, 9, "general"),
        (0.5, 3, 0, "larger"),
        (0.5, 9, 0, "larger"),
        (0.5, 10, 0, "major"),
        (0.5, 29, 0, "major"),
        (0.5, 30, 0, "especially_major"),
        (0.5, 0, 10, "larger"),
        (0.5, 0, 49, "larger"),
        (0.5, 0, 50, "major"),
        (0.5, 0, 99, "major"),
        (0.5, 0, 100, "especially_major"),
        (150, 2, 0, "major"),  # the highest grade any criterion reaches ("或者")
        (2, 0, 120, "especially_major"),
    ],
)
def test_grades_at_the_edges_of_article_40(area: float, deaths: int, injuries: int, grade: str) -> None:
    assert grading.fire_grade(area, deaths, injuries).key == grade


def test_grade_names_levels_and_reasons() -> None:
    g = grading.fire_grade(100, 3, 0)
    assert (g.name, g.response_level, g.reasons) == (
        "重大森林火灾",
        2,
        ("受害森林面积 100 公顷 ≥ 100 公顷",),
    )
    assert grading.fire_grade(1, 3, 10).reasons == (
        "受害森林面积 1 公顷 ≥ 1 公顷",
        "死亡 3 人 ≥ 3 人",
        "重伤 10 人 ≥ 10 人",
    )
    assert grading.fire_grade(0.2).as_dict() == {
        "key": "general",
        "name": "一般森林火灾",
        "response_level": 4,
        "reasons": [],
    }
    pol = grading.default_grading_policy()
    assert [(g.key, g.response_level) for g in pol.grades] == [
        ("general", 4),
        ("larger", 3),
        ("major", 2),
        ("especially_major", 1),
    ]
    assert [grading.level_numeral(r.level) + "级响应" == r.name for r in pol.response_levels] == [True] * 4


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((-0.1,), "area_ha must be >= 0 ha, got -0.1"),
        ((float("nan"),), "area_ha must be a finite number of hectares >= 0, got nan"),
        ((1, -1), "deaths must be a whole number >= 0, got -1"),
        ((1, 0, 2.5), "serious_injuries must be a whole number >= 0, got 2.5"),
    ],
)
def test_bad_values_are_refused(args: tuple[float, ...], message: str) -> None:
    with pytest.raises(ValueError) as e:
        grading.fire_grade(*args)  # type: ignore[arg-type]
    assert str(e.value) == message


def test_a_broken_grading_table_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    f = tmp_path / "grading.yaml"
    src = grading.GRADING_FILE.read_text("utf-8")
    f.write_text(src.replace("{area_ha: 100, deaths: 10", "{area_ha: 1, deaths: 10"), "utf-8")
    with pytest.raises(
        PolicyError, match=r"grading.yaml: grades: major.min.area_ha must be greater than larger"
    ):
        grading.load_grading_policy(f)
    f.write_text(src.replace("response_level: 1\n", "response_level: 5\n"), "utf-8")
    with pytest.raises(
        PolicyError, match=r"grades\.3\.response_level: Input should be less than or equal to 4"
    ):
        grading.load_grading_policy(f)


# --- the record API -------------------------------------------------------------------------------------


def test_record_a_fire_then_correct_it(client: TestClient) -> None:
    ev = fire_event(client, *HOME)
    url = f"/api/v1/fire/events/{ev['id']}/record"
    assert client.get(url, headers=CENTER).status_code == 404
    town = user(f"{HOME_TOWN}.duty")
    r = client.put(url, json={"burnt_area_ha": 0.8, "burnt_total_ha": 1.5, "deaths": 0}, headers=town)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["grade"], got["grade_name"], got["response_level"], got["response_level_name"]) == (
        "general", "一般森林火灾", 4, "Ⅳ级响应",
    )  # fmt: skip
    assert (got["response_level_given"], got["filled_by"]) == (False, got["updated_by"])
    r = client.put(
        url, json={"burnt_area_ha": 1.0, "serious_injuries": 10, "response_level": 2}, headers=CENTER
    )
    assert r.status_code == 200
    got = r.json()
    assert (got["grade"], got["grade_reasons"], got["response_level"], got["response_level_given"]) == (
        "larger", ["受害森林面积 1 公顷 ≥ 1 公顷", "重伤 10 人 ≥ 10 人"], 2, True,
    )  # fmt: skip
    assert got["response_level_lead"].startswith("设区的市级")
    assert client.get(url, headers=user("500118.leader")).json()["grade"] == "larger"
    bad = client.put(url, json={"burnt_area_ha": 3, "burnt_total_ha": 2}, headers=CENTER)
    assert bad.status_code == 422 and "smaller than the damaged forest area" in bad.json()["detail"]
    assert client.put(url, json={"burnt_area_ha": -1}, headers=CENTER).status_code == 422
    assert client.put(url, json={"burnt_area_ha": 1}, headers=user(f"{OTHER_TOWN}.duty")).status_code == 404
    r = client.put(url, json={"burnt_area_ha": 1}, headers=user("500118.leader"))
    assert r.status_code == 403 and "(fire.verify)" in r.json()["detail"]
    road = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "路灯", "lon": HOME[0], "lat": HOME[1]},
        headers=SYS,
    ).json()
    r = client.put(f"/api/v1/fire/events/{road['id']}/record", json={"burnt_area_ha": 1}, headers=CENTER)
    assert r.status_code == 422 and "a fire record belongs to a 森林火情 (2206)" in r.json()["detail"]


# --- the damage-rate KPI from the records ----------------------------------------------------------------


def _fire(session: Session, day: int, drill: bool = False) -> int:
    ev = events.create_event(
        session,
        events.system_actor("500118"),
        EventCreate(
            category_code="2206",
            title="林区火情",
            town_code="500118118000",
            reported_at=datetime(2026, 11, day, 10, tzinfo=LOCAL_TZ),
            is_drill=drill,
        ),
        propose_merges=False,
    )
    return ev.id


def test_the_damage_rate_sums_the_records_of_the_period(session: Session) -> None:
    sys_ = events.system_actor("500118")
    a, b, d = _fire(session, 3), _fire(session, 5), _fire(session, 6, drill=True)
    records.record_fire(session, sys_, a, RecordIn(burnt_area_ha=4.5))
    records.record_fire(session, sys_, d, RecordIn(burnt_area_ha=500))  # a drill never counts
    as_of = datetime(2026, 12, 2, tzinfo=LOCAL_TZ)
    got = kpi_svc.fire_kpis(session, sys_, "2026-11", as_of=as_of, forest_area_ha=30_000)["damage_rate"]
    assert got["rate_permille"] is None and got["records"] == 1
    assert got["reason"].startswith(
        f"1 of 2 fires (森林火情 2206) of the period have no fire record (受害森林面积): events {b} "
    )
    records.record_fire(session, sys_, b, RecordIn(burnt_area_ha=1.5, deaths=1))
    got = kpi_svc.fire_kpis(session, sys_, "2026-11", as_of=as_of, forest_area_ha=30_000)["damage_rate"]
    assert got == {
        "burnt_area_ha": 6.0,
        "forest_area_ha": 30_000,
        "rate_permille": 0.2,
        "target_max_permille": 0.3,
        "met": True,
        "reason": None,
        "burnt_area_source": "records",
        "records": 2,
    }
    # a period without fires has no damage: 0 ha of records
    quiet = kpi_svc.fire_kpis(session, sys_, "2026-10", as_of=as_of, forest_area_ha=30_000)["damage_rate"]
    assert (quiet["burnt_area_ha"], quiet["rate_permille"], quiet["records"]) == (0.0, 0.0, 0)
