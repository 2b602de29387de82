"""The fire views of the command line (``zhizhi fire ratings | hotspots clusters | hotspots show |
nearest | respond``) through typer's CliRunner on the test database (Yongchuan loaded by conftest).

Ratings come from the DERIVED station file of test_danger_service.py (YC-A rates 中山路街道 五级 on
2007-05-24), clusters from the real 2022 FIRMS MODIS file (one Aqua detection in 朱沱镇), resources
are GENERATED (response_support.py).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import Engine
from typer.testing import CliRunner

from tests.scenarios.fire.response_support import (
    HOME,
    HOME_TOWN,
    OTHER_TOWN,
    SYS,
    add_resource,
    clean_response,  # noqa: F401  (fixture)
    fire_event,
)
from tests.scenarios.fire.test_danger_service import DANGER_TABLES, DERIVED, ZHONGSHAN, ZHUTUO
from tests.scenarios.fire.test_hotspot_service import FIRE_TABLES, REAL_2022
from zhizhi.cli import app

pytestmark = pytest.mark.usefixtures("clean_response")
LON, LAT = HOME
ZHUTUO_GRID = "500118118207001"  # the grid of the real 2022-05-31 Aqua detection


@pytest.fixture(autouse=True)
def _clean_fire(engine: Engine) -> Iterator[None]:
    """Empty the danger and hotspot tables after each test (the commands commit)."""
    yield
    with engine.begin() as c:
        for t in (*DANGER_TABLES, *FIRE_TABLES):
            c.execute(text(f"DELETE FROM {t}"))


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


# --- zhizhi fire ratings --------------------------------------------------------------------------------


def test_ratings_list_the_stored_day(engine: Engine) -> None:
    code, out, err = zz("fire", "ratings")
    assert (code, err) == (0, "")
    assert out.strip() == (
        "no fire danger ratings in district 500118 (rate a day from station weather: "
        "zhizhi fire danger WEATHER.csv)"
    )
    code, _, err = zz("fire", "danger", str(DERIVED), "--date", "2007-05-24", "--wind-unit", "km/h")
    assert code == 0, err
    code, out, err = zz("fire", "ratings")  # the latest rated day by default
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        "森林火险等级 2007-05-24 · district 500118 · 23 towns, 3157 grids; each rated from its nearest "
        "station (straight-line distance)"
    )
    assert lines[1].split() == ["code", "镇街/网格", "等级", "火险", "HTZ", "FWI", "station", "km"]
    assert lines[2].split() == [ZHONGSHAN, "中山路街道", "五级", "极高火险", "95", "15.5", "YC-A", "3.2"]
    zhutuo = next(ln for ln in lines if ln.startswith(ZHUTUO))
    assert zhutuo.split() == [ZHUTUO, "朱沱镇", "二级", "较低火险", "35", "4.5", "YC-B", "2.7"]
    assert len(lines) == 2 + 23 + 3157
    code, out, _ = zz("fire", "ratings", "--date", "2007-05-24", "--unit", "town", "--level", "5", "--json")
    got = json.loads(out)
    assert code == 0 and len(got) == 17 and {r["label"] for r in got} == {"五级"}
    assert got[0]["unit_code"] == ZHONGSHAN and got[0]["fwi"]["fwi"] == pytest.approx(15.5, abs=0.05)
    code, out, _ = zz("fire", "ratings", "--unit", "town", "--level", "2")
    assert code == 0 and len(out.splitlines()) == 2 + 23
    code, out, _ = zz("fire", "ratings", "--date", "2007-05-25")
    assert (code, out.strip()) == (
        0,
        "no fire danger ratings in district 500118 on 2007-05-25 "
        "(rate that day: zhizhi fire danger WEATHER.csv --date YYYY-MM-DD)",
    )
    code, _, err = zz("fire", "ratings", "--date", "2007-5-40")
    assert code == 2 and err.startswith('error: --date "2007-5-40": not a date YYYY-MM-DD')
    code, _, err = zz("fire", "ratings", "--level", "6")
    assert code == 2 and err.startswith("error: ") and "--level" in err


# --- zhizhi fire hotspots clusters / show ----------------------------------------------------------------


def _import_2022() -> int:
    code, out, err = zz("fire", "hotspots", "import", str(REAL_2022))
    assert code == 0, err
    (ref,) = json.loads(out)["events"]
    assert (ref["town_code"], ref["grid_code"]) == (ZHUTUO, ZHUTUO_GRID)
    return int(ref["cluster_id"])


def test_clusters_list_and_show_a_real_firms_cluster(engine: Engine) -> None:
    code, out, _ = zz("fire", "hotspots", "clusters")
    assert code == 0 and out.strip() == (
        "no hotspot clusters in district 500118 (import NASA FIRMS files: zhizhi fire hotspots import FILE)"
    )
    cid = _import_2022()
    code, out, err = zz("fire", "hotspots", "clusters")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0].split() == [
        "id", "首次发现", "最近发现", "热点", "置信度", "镇街", "网格",
        "事件", "环节", "森林火情", "状态", "核查结论", "核查期限",
    ]  # fmt: skip
    row = lines[1].split()
    assert row[0] == str(cid)
    # the town and grid by name (as `show` names them), the 森林火情 event — until 真实火情
    assert row[1:8] == ["2022-05-31", "14:03", "2022-05-31", "14:03", "1", "39%", "朱沱镇"]
    assert row[8] == "转龙村村民委员会第1网格" and row[10] == "reported" and row[11] == "—"
    assert row[12] == "待核查" and row[13] == "—"
    assert lines[-1] == "times: 北京时间 (Beijing)"
    code, out, _ = zz("fire", "hotspots", "clusters", "--json", "--since", "2022-05-31")
    (got,) = json.loads(out)
    assert (got["id"], got["town_code"], got["first_seen"]) == (cid, ZHUTUO, "2022-05-31T06:03:00Z")
    code, out, _ = zz("fire", "hotspots", "clusters", "--since", "2022-06-01", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = zz("fire", "hotspots", "clusters", "--status", "verified", "--json")
    assert (code, json.loads(out)) == (0, [])
    code, out, _ = zz("fire", "hotspots", "clusters", "--status", "overdue")
    assert code == 0 and out.strip() == (
        "no clusters with status overdue in district 500118 (1 cluster in total; --status pending | "
        "overdue | verified | historical | drill_ended or an outcome to list others, no --status for all)"
    )
    code, _, err = zz("fire", "hotspots", "clusters", "--status", "烧烤")
    assert code == 2 and err.startswith(
        'error: --status "烧烤": not a state (pending (待核查) | overdue (核查逾期) | verified (已核查) | '
        "historical (历史热点) | drill_ended (演练已结束)) "
        'nor an outcome: unknown outcome "烧烤"; one of: 真实火情 (real_fire)'
    )

    code, out, err = zz("fire", "hotspots", "show", str(cid))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == (
        f"热点聚类 {cid} · district 500118 · 105.81419, 29.03551 · 1 detections, max confidence 39%, "
        "max FRP 10.2 MW"
    )
    assert lines[1].startswith(
        "  first 2022-05-31 14:03, last 2022-05-31 14:03 (北京时间); 待核查: 核查结论 —"
    )
    det = lines[lines.index("detections:") + 2].split()
    assert det[1:] == [
        "Aqua/MODIS", "2022-05-31", "14:03", "105.81419", "29.03551", "39%", "中", "10.2", "clustered",
    ]  # fmt: skip
    routing = out[out.index("routing:") :]
    assert "district 500118 永川区: the cluster lies in it" in routing
    assert re.search(
        rf"  event \d+ \(reported\): town {ZHUTUO} 朱沱镇, grid {ZHUTUO_GRID} 转龙村村民委员会第1网格 — the "
        r"detection's point lies in them \(point-in-polygon\); suggested unit 500118-LYJ 永川区林业局 "
        r"\(horizontal, 权属配置\)\n",
        routing,
    ), routing
    code, out, _ = zz("fire", "hotspots", "show", str(cid), "--json")
    got = json.loads(out)
    assert [(h["satellite"], h["confidence"], h["frp"]) for h in got["hotspots"]] == [("Aqua", 39, 10.15)]
    assert got["alerts"][0]["role"] == "primary"
    code, _, err = zz("fire", "hotspots", "show", "999999")
    assert (code, err.strip()) == (2, "error: hotspot cluster 999999 not found")

    code, out, err = zz("fire", "hotspots", "verify", str(cid), "--outcome", "误报", "--by", "张三")
    assert code == 0, err
    code, out, _ = zz("fire", "hotspots", "clusters", "--status", "误报")
    row = out.splitlines()[1].split()
    assert row[0] == str(cid) and row[12] == "已核查" and row[13].startswith("误报（")
    code, out, _ = zz("fire", "hotspots", "clusters", "--status", "pending", "--json")
    assert json.loads(out) == []


# --- zhizhi fire nearest / respond -----------------------------------------------------------------------


@pytest.fixture
def layers(client: TestClient) -> dict[str, dict[str, Any]]:
    """GENERATED resources north of HOME: a semi-professional team 0.01° (1.112 km) away, a water
    point 0.005° (0.556 km)."""
    return {
        "semi": add_resource(
            client, "team", "测试胜利路半专业扑火队", LON, LAT + 0.01, owner=OTHER_TOWN,
            attrs={"type": "semi_professional", "people": 20, "equipment": ["风力灭火机", "二号工具"]},
        ),
        "pond": add_resource(
            client, "water", "测试山坪塘", LON, LAT + 0.005, attrs={"type": "pond", "capacity_m3": 800}
        ),
    }  # fmt: skip


def test_nearest_lists_resources_with_straight_line_distances(
    client: TestClient, layers: dict[str, dict[str, Any]]
) -> None:
    ev = fire_event(client, LON, LAT)
    code, out, err = zz("fire", "nearest", str(ev["id"]))
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[0] == f"最近资源 event {ev['id']} (2206) at {LON:.6f}, {LAT:.6f}: 3 nearest of each kind"
    assert lines[1].split() == ["种类", "id", "name", "type", "km", "town", "owner"]
    assert lines[2].split()[:5] == [
        "扑火队伍",
        str(layers["semi"]["id"]),
        "测试胜利路半专业扑火队",
        "半专业扑火队",
        "1.112",
    ]
    assert lines[3].split()[:5] == ["水源/取水点", str(layers["pond"]["id"]), "测试山坪塘", "山坪塘", "0.556"]
    assert lines[4].split()[:3] == ["瞭望与监控", "—", "(none"]
    assert lines[-1] == (
        "distance: straight-line (great-circle, haversine on a sphere of radius 6371.0088 km) distance; "
        "the road distance needs a road network, which zhizhi does not have"
    )
    code, out, _ = zz("fire", "nearest", str(ev["id"]), "--kind", "水源/取水点", "--limit", "1", "--json")
    got = json.loads(out)
    assert code == 0 and [k["kind"] for k in got["kinds"]] == ["water"] and got["per_kind"] == 1
    assert [(r["name"], r["distance_km"]) for r in got["kinds"][0]["resources"]] == [("测试山坪塘", 0.556)]
    assert "road network" in got["distance"]
    code, _, err = zz("fire", "nearest", str(ev["id"]), "--kind", "boats")
    assert code == 2 and err.startswith(
        'error: --kind "boats": unknown resource kind; known: team (扑火队伍)'
    )
    code, _, err = zz("fire", "nearest", str(ev["id"]), "--limit", "50")
    assert code == 2 and "per_kind must be 1-" in err
    code, _, err = zz("fire", "nearest", "999999")
    assert (code, err.strip()) == (2, "error: event 999999 not found")


def test_respond_starts_the_preplan_once_with_the_api_permissions(
    client: TestClient, layers: dict[str, dict[str, Any]]
) -> None:
    ev = fire_event(client, LON, LAT)
    grid = ev["grid_code"]
    code, _, err = zz("fire", "respond", str(ev["id"]), "--as", f"{grid}.worker")  # no event.preplan
    assert code == 2 and err.startswith("error: ") and "event.preplan" in err
    code, _, err = zz("fire", "respond", str(ev["id"]), "--as", "nobody.here")
    assert (code, err.strip()) == (2, 'error: unknown or disabled user "nobody.here"')
    code, _, err = zz("fire", "respond", str(ev["id"]))
    assert code == 2 and "--as" in err

    code, out, err = zz("fire", "respond", str(ev["id"]), "--as", f"{HOME_TOWN}.duty")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert (
        lines[0] == f"预案启动 森林火情处置预案 (forest-fire-alarm) on event {ev['id']}: 5 tasks dispatched"
    )
    assert lines[1] == (
        f"扑火队: 测试胜利路半专业扑火队 (半专业扑火队, id {layers['semi']['id']}), 1.112 km straight line"
    )
    assert lines[2].split() == ["task", "unit", "role", "deadline", "任务"]
    units = [ln.split()[1:3] for ln in lines[3:8]]
    assert units == [
        [f"{OTHER_TOWN}-ZHZX", "town_duty"],
        ["500118-LYJ", "dept_handler"],
        [f"{HOME_TOWN}-ZHZX", "town_duty"],
        [grid, "grid_worker"],
        ["500118-YJJ", "dept_handler"],
    ]
    assert lines[3].endswith(
        "扑火队出动：测试胜利路半专业扑火队（半专业扑火队，20 人，装备：风力灭火机、二号工具）立即赶赴火点，"
        "距火点直线约 1.1 km（直线距离，道路距离需路网数据）"
    )
    assert lines[-1].startswith("distance: straight-line")
    detail = client.get(f"/api/v1/events/{ev['id']}", headers=SYS).json()
    assert len(detail["tasks"]) == 5

    code, out, err = zz("fire", "respond", str(ev["id"]), "--as", "500118.duty")
    assert (code, out) == (2, "")
    assert err.strip() == f'error: pre-plan "forest-fire-alarm" is already running on event {ev["id"]}'

    other = client.post(
        "/api/v1/events", json={"category_code": "0101", "title": "测试", "lon": LON, "lat": LAT}, headers=SYS
    ).json()
    code, _, err = zz("fire", "respond", str(other["id"]), "--as", "500118.duty")
    assert code == 2 and err.startswith(f"error: event {other['id']} is not a fire event (森林火情 2206")
    code, _, err = zz("fire", "respond", "999999", "--as", "500118.duty")
    assert (code, err.strip()) == (2, "error: event 999999 not found")

    fresh = fire_event(client, LON, LAT + 0.001)
    code, out, _ = zz("fire", "respond", str(fresh["id"]), "--as", "500118.duty", "--json")
    got = json.loads(out)
    assert code == 0 and got["team"]["id"] == layers["semi"]["id"] and len(got["tasks"]) == 5


# --- refusals of the trial: unknown districts, huge or negative ids, a day rated below --level -----------


def test_an_unknown_district_is_refused_naming_the_loaded_ones(engine: Engine) -> None:
    for args in (
        ("fire", "ratings", "--district", "999999"),
        ("fire", "resources", "list", "--district", "500118xx"),
    ):
        code, out, err = zz(*args)
        assert (code, out) == (2, "")
        value = args[-1]
        assert err.strip() == f'error: --district "{value}": not a loaded district; loaded: 500118 永川区'


def test_a_day_rated_below_the_level_asked_says_so(engine: Engine, tmp_path: Path) -> None:
    wet = tmp_path / "wet.csv"  # a wet, calm, cool day: 一级 everywhere
    wet.write_text(
        "station,lon,lat,date,tmax,rh_min,rain,wind_max\nYC-W,105.93,29.36,2007-06-01,18,95,30,1\n",
        encoding="utf-8",
    )
    code, _, err = zz("fire", "danger", str(wet))
    assert code == 0, err
    code, out, err = zz("fire", "ratings", "--level", "4")
    assert (code, err) == (0, "")
    assert out.strip() == "2007-06-01 was rated in district 500118: no town or grid reached level 4 or higher"
    code, out, _ = zz("fire", "ratings", "--level", "4", "--unit", "town")
    assert out.strip() == "2007-06-01 was rated in district 500118: no town reached level 4 or higher"


HUGE = "99999999999999999999"


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (("fire", "hotspots", "show", HUGE), "'CLUSTER_ID'"),
        (("fire", "hotspots", "static", "--accept", HUGE), "'--accept'"),
        (("fire", "hotspots", "static", "--reject", HUGE), "'--reject'"),
        (("fire", "nearest", HUGE), "'EVENT_ID'"),
        (("fire", "respond", HUGE, "--as", "x"), "'EVENT_ID'"),
        (("fire", "hazards", "close", HUGE), "'ID'"),
    ],
)
def test_a_huge_id_is_refused_by_its_range(engine: Engine, args: tuple[str, ...], name: str) -> None:
    code, out, err = zz(*args)
    assert (code, out) == (2, "")
    assert err.startswith(f"error: Invalid value for {name}: ")
    assert "2147483647" in err and "internal error" not in err


def test_a_negative_id_is_refused_as_below_1(engine: Engine) -> None:
    code, out, err = zz("fire", "hotspots", "show", "-1")
    assert (code, out) == (2, "")
    assert err.strip() == (
        "error: Invalid value for 'CLUSTER_ID': Input should be greater than or equal to 1 (got -1); an id "
        "is 1 to 2147483647 (see: zhizhi fire hotspots show --help)"
    )
    code, _, err = zz("fire", "nearest", "-5")
    assert code == 2 and "Invalid value for 'EVENT_ID': Input should be greater than or equal to 1" in err
    code, _, err = zz("fire", "hotspots", "static", "--accept", "0")
    assert code == 2 and "Invalid value for '--accept'" in err
    code, _, err = zz("fire", "hotspots", "show", "-x")  # a real unknown option stays one
    assert code == 2 and err.startswith("error: No such option: -x")
