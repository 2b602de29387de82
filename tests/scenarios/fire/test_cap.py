"""The daily fire danger bulletin as OASIS CAP 1.2 and GeoJSON (scenarios/fire/cap.py), the bulletin
service and `zhizhi fire bulletin`.

Every CAP document produced here is validated against the OASIS schema copied in
tests/data/standards/CAP-v1.2.xsd (see SOURCES.md there), and so is the specification's example.
Towns are the 23 real Yongchuan towns (NBS 2023 codes, org/data/yongchuan/divisions.csv); the levels
given to them are GENERATED test values (a cycle 1…5), not ratings of any real day.
"""

from __future__ import annotations

import csv
import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, date, datetime
from importlib import resources
from pathlib import Path

import pytest
import xmlschema
from shapely.geometry import Polygon
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.core.errors import InvalidInput, NotFound
from zhizhi.core.time import LOCAL_TZ
from zhizhi.event import service as events
from zhizhi.event.models import Event, EventStep
from zhizhi.scenarios.fire import cap
from zhizhi.scenarios.fire.models import DangerRating, DangerRun
from zhizhi.scenarios.fire.rules import PolicyError
from zhizhi.scenarios.fire.service import bulletin as svc

STANDARDS = Path(__file__).resolve().parents[2] / "data" / "standards"
NS = {"c": cap.CAP_NS}
DAY = date(2026, 11, 28)
SENT = datetime(2026, 11, 27, 16, 30, tzinfo=LOCAL_TZ)
EVE = datetime(2026, 11, 27, 20, 0, tzinfo=LOCAL_TZ)  # the evening before DAY: its bulletin is tomorrow's
SYS = events.system_actor("500118")
DANGER_TABLES = ("fire_danger_rating", "fire_station_day", "fire_danger_run")


@pytest.fixture(scope="module")
def schema() -> xmlschema.XMLSchema:
    return xmlschema.XMLSchema(str(STANDARDS / "CAP-v1.2.xsd"))


def towns() -> list[tuple[str, str]]:
    path = resources.files("zhizhi.org") / "data" / "yongchuan" / "divisions.csv"
    with path.open(encoding="utf-8") as fh:
        return [(r["code"], r["name"]) for r in csv.DictReader(fh) if r["level"] == "town"]


def ratings(day: date = DAY) -> list[cap.TownRating]:
    return [cap.TownRating(c, n, day, i % 5 + 1) for i, (c, n) in enumerate(towns())]


def parse(doc: bytes) -> ET.Element:
    return ET.fromstring(doc)


def txt(el: ET.Element, path: str) -> str:
    found = el.find(path, NS)
    assert found is not None, path
    return found.text or ""


# --- the schema and its example -----------------------------------------------------------------------


def test_the_specifications_example_validates(schema: xmlschema.XMLSchema) -> None:
    schema.validate(str(STANDARDS / "cap_example_amber_alert.xml"))


def test_the_schema_refuses_a_status_cap_does_not_have(schema: xmlschema.XMLSchema) -> None:
    doc = cap.bulletin_cap(ratings()[:1], district_name="永川区", sent=SENT).replace(
        b"<status>Actual</status>", b"<status>Drill</status>"
    )
    assert not schema.is_valid(doc.decode())


# --- the bulletin as CAP ------------------------------------------------------------------------------


def test_bulletin_of_23_towns_validates_with_one_info_per_town(schema: xmlschema.XMLSchema) -> None:
    doc = cap.bulletin_cap(ratings(), district_name="永川区", sent=SENT)
    schema.validate(doc.decode())
    root = parse(doc)
    assert [txt(root, f"c:{t}") for t in ("identifier", "sender", "sent", "status", "msgType", "scope")] == [
        "zhizhi-fire-500118-20261128-A-20261127T163000",
        "fire-500118@zhizhi.invalid",
        "2026-11-27T16:30:00+08:00",
        "Actual",
        "Alert",
        "Public",
    ]
    infos = root.findall("c:info", NS)
    assert len(infos) == 23
    assert [txt(i, "c:area/c:geocode[2]/c:value") for i in infos] == [c for c, _ in towns()]


def test_a_town_info_has_the_qxt77_wording_codes_and_valid_period() -> None:
    r = cap.TownRating("500118118000", "朱沱镇", DAY, 4, index_name="HTZ", index_value=78.0)
    info = parse(cap.bulletin_cap([r], district_name="永川区", sent=SENT)).find("c:info", NS)
    assert info is not None
    got = {t: txt(info, f"c:{t}") for t in (
        "language", "category", "event", "responseType", "urgency", "severity", "certainty",
        "effective", "expires", "senderName", "headline", "description",
    )}  # fmt: skip
    assert got == {
        "language": "zh-CN",
        "category": "Fire",
        "event": "森林火险气象等级",
        "responseType": "Prepare",
        "urgency": "Expected",
        "severity": "Severe",
        "certainty": "Likely",
        "effective": "2026-11-28T00:00:00+08:00",
        "expires": "2026-11-29T00:00:00+08:00",
        "senderName": "永川区森林防灭火指挥部办公室",
        "headline": "朱沱镇11月28日森林火险气象等级四级（高火险，橙色）",
        "description": "永川区朱沱镇2026年11月28日森林火险气象等级为四级（高火险，橙色）："
        "森林火险气象等级高，林区须加强火源管理。危险程度高，易燃程度易，蔓延扩散程度易；预警标志：橙旗。"
        "有效期：2026年11月28日00:00至2026年11月29日00:00（北京时间）。",
    }
    params = {txt(p, "c:valueName"): txt(p, "c:value") for p in info.findall("c:parameter", NS)}
    assert params == {
        "level": "4",
        "levelLabel": "四级",
        "levelName": "高火险",
        "colour": "#F28C28",
        "colourName": "橙色",
        "warningFlag": "橙旗",
        "HTZ": "78",
    }
    area = info.find("c:area", NS)
    assert area is not None
    assert txt(area, "c:areaDesc") == "永川区朱沱镇"
    codes = [(txt(g, "c:valueName"), txt(g, "c:value")) for g in area.findall("c:geocode", NS)]
    assert codes == [("GB/T 2260", "500118"), ("NBS", "500118118000")]


def test_each_level_maps_to_its_cap_urgency_severity_certainty_and_response() -> None:
    rs = [cap.TownRating(c, n, DAY, lv) for (c, n), lv in zip(towns(), range(1, 6), strict=False)]
    root = parse(cap.bulletin_cap(rs, district_name="永川区", sent=SENT))
    got = [
        tuple(txt(i, f"c:{t}") for t in ("urgency", "severity", "certainty", "responseType"))
        for i in root.findall("c:info", NS)
    ]
    assert got == [
        ("Future", "Minor", "Likely", "None"),
        ("Future", "Minor", "Likely", "None"),
        ("Future", "Moderate", "Likely", "Monitor"),
        ("Expected", "Severe", "Likely", "Prepare"),
        ("Expected", "Extreme", "Likely", "Avoid"),
    ]


@pytest.mark.parametrize("status", ["Exercise", "Test"])
def test_drill_and_test_bulletins_carry_their_status(schema: xmlschema.XMLSchema, status: cap.Status) -> None:
    doc = cap.bulletin_cap(ratings()[:3], district_name="永川区", sent=SENT, status=status)
    schema.validate(doc.decode())
    root = parse(doc)
    assert txt(root, "c:status") == status
    assert txt(root, "c:identifier") == f"zhizhi-fire-500118-20261128-{status[0]}-20261127T163000"


def test_sent_in_utc_is_written_in_beijing_time_and_text_is_escaped(schema: xmlschema.XMLSchema) -> None:
    r = cap.TownRating("500118118000", "朱沱镇 <A&B>", DAY, 5)
    doc = cap.bulletin_cap(
        [r], district_name="永川区", sent=datetime(2026, 11, 27, 8, 30, 15, 999, tzinfo=UTC)
    )
    schema.validate(doc.decode())
    root = parse(doc)
    assert txt(root, "c:sent") == "2026-11-27T16:30:15+08:00"
    assert txt(root, "c:info/c:area/c:areaDesc") == "永川区朱沱镇 <A&B>"


def test_an_explicit_valid_period_is_used() -> None:
    r = cap.TownRating(
        "500118118000",
        "朱沱镇",
        DAY,
        3,
        valid_from=datetime(2026, 11, 27, 20, tzinfo=LOCAL_TZ),
        valid_to=datetime(2026, 11, 28, 20, tzinfo=LOCAL_TZ),
    )
    info = parse(cap.bulletin_cap([r], district_name="永川区", sent=SENT)).find("c:info", NS)
    assert info is not None
    assert (txt(info, "c:effective"), txt(info, "c:expires")) == (
        "2026-11-27T20:00:00+08:00",
        "2026-11-28T20:00:00+08:00",
    )


@pytest.mark.parametrize(
    ("rs", "message"),
    [
        ([], "ratings: a bulletin needs at least one town rating"),
        (
            [cap.TownRating("500118118", "朱沱镇", DAY, 1)],
            "ratings[0].town_code: '500118118' is not a 12-digit",
        ),
        ([cap.TownRating("500118118000", "朱沱镇", DAY, 6)], "ratings[0].level: 6 is not a level 1-5"),
        ([cap.TownRating("500118118000", " ", DAY, 2)], "ratings[0].town_name: empty"),
        (
            [
                cap.TownRating("500118118000", "朱沱镇", DAY, 2),
                cap.TownRating("500118114000", "红炉镇", date(2026, 11, 29), 2),
            ],
            "ratings[1].day: 2026-11-29 differs from the bulletin's day 2026-11-28",
        ),
        (
            [
                cap.TownRating("500118118000", "朱沱镇", DAY, 2),
                cap.TownRating("500116100000", "某镇", DAY, 2),
            ],
            "ratings[1].town_code: 500116100000 is in county 500116, the bulletin's is 500118",
        ),
        (
            [
                cap.TownRating("500118118000", "朱沱镇", DAY, 2),
                cap.TownRating("500118118000", "朱沱镇", DAY, 3),
            ],
            "ratings[1].town_code: 500118118000 is rated twice",
        ),
        (
            [cap.TownRating("500118118000", "朱沱镇", DAY, 2, valid_from=SENT)],
            "ratings[0]: give both valid_from and valid_to, or neither",
        ),
    ],
)
def test_bad_ratings_are_refused_naming_the_field(rs: list[cap.TownRating], message: str) -> None:
    with pytest.raises(ValueError) as e:
        cap.bulletin_cap(rs, district_name="永川区", sent=SENT)
    assert str(e.value).startswith(message)


def test_a_naive_sent_time_is_refused() -> None:
    with pytest.raises(ValueError, match="a CAP time must be timezone-aware"):
        cap.bulletin_cap(ratings()[:1], district_name="永川区", sent=datetime(2026, 11, 27, 16, 30))


def test_a_broken_cap_policy_is_refused_naming_file_and_key(tmp_path: Path) -> None:
    bad = cap.CAP_FILE.read_text(encoding="utf-8").replace(
        "  5: {urgency: Expected, severity: Extreme, certainty: Likely, response: Avoid}\n", ""
    )
    f = tmp_path / "cap.yaml"
    f.write_text(bad, encoding="utf-8")
    with pytest.raises(
        PolicyError, match=r"cap.yaml: levels: levels must map exactly the levels 1-5, got \[1, 2, 3, 4\]"
    ):
        cap.load_cap_policy(f)
    f.write_text(bad.replace("severity: Severe, certainty", "severity: Grave, certainty"), encoding="utf-8")
    with pytest.raises(PolicyError, match=r"cap.yaml: levels.4.severity: Input should be"):
        cap.load_cap_policy(f)


# --- hotspot alert (drills) ---------------------------------------------------------------------------


def test_hotspot_alert_of_a_drill_is_an_exercise_with_a_circle(schema: xmlschema.XMLSchema) -> None:
    h = cap.HotspotAlert(
        "zhizhi-fire-drill-7",
        "500118118000",
        "朱沱镇",
        105.808022,
        29.011404,
        datetime(2026, 11, 27, 16, 29, tzinfo=LOCAL_TZ),
        datetime(2026, 11, 27, 17, 29, tzinfo=LOCAL_TZ),
    )
    doc = cap.hotspot_cap(h, district_name="永川区", sent=SENT)
    schema.validate(doc.decode())
    root = parse(doc)
    assert txt(root, "c:status") == "Exercise"
    info = root.find("c:info", NS)
    assert info is not None
    assert [txt(info, f"c:{t}") for t in ("event", "urgency", "severity", "certainty", "headline")] == [
        "森林火情（卫星热点）",
        "Immediate",
        "Severe",
        "Possible",
        "朱沱镇卫星热点核查（演练）",
    ]
    assert txt(info, "c:description") == (
        "北京时间 2026年11月27日16:29在永川区朱沱镇（北纬 29.01140°、东经 105.80802°）探测到卫星热点，"
        "请于北京时间 2026年11月27日17:29前到场核查并反馈热点性质。本信息为实战演练，非真实火情。"
    )
    assert txt(info, "c:area/c:circle") == "29.01140,105.80802 1"
    assert txt(info, "c:expires") == "2026-11-27T17:30:00+08:00"


# --- GeoJSON ------------------------------------------------------------------------------------------


def test_geojson_has_one_feature_per_town_with_level_colour_and_polygon() -> None:
    rs = ratings()[:2]
    square = Polygon([(105.9, 29.3), (105.9000004, 29.3), (105.9, 29.4), (105.9, 29.3)])
    doc = json.loads(cap.bulletin_geojson(rs, {rs[0].town_code: square}, generated={rs[0].town_code: True}))
    assert doc["type"] == "FeatureCollection"
    assert doc["status"] == "Actual"
    f0, f1 = doc["features"]
    assert f0["geometry"] == {
        "type": "Polygon",
        "coordinates": [[[105.9, 29.3], [105.9, 29.3], [105.9, 29.4], [105.9, 29.3]]],
    }
    assert f0["properties"] == {
        "town_code": "500118001000",
        "town_name": "中山路街道",
        "county_code": "500118",
        "date": "2026-11-28",
        "level": 1,
        "label": "一级",
        "name": "低火险",
        "colour": "#2E9E44",
        "colour_name": "绿色",
        "warning_flag": "可不设",
        "valid_from": "2026-11-28T00:00:00+08:00",
        "valid_to": "2026-11-29T00:00:00+08:00",
        "geometry_generated": True,
    }
    assert f1["geometry"] is None
    assert (
        f1["properties"]["level"],
        f1["properties"]["colour"],
        f1["properties"]["geometry_generated"],
    ) == (
        2,
        "#1F6FD1",
        False,
    )


# --- the bulletin service and CLI (stored ratings) ----------------------------------------------------


@pytest.fixture(autouse=True)
def _clean_danger(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" not in request.fixturenames:
        return
    eng: Engine = request.getfixturevalue("engine")
    with eng.begin() as c:
        for t in DANGER_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


def store(
    session: Session, levels: dict[str, int], grids: dict[str, int] | None = None, day: date = DAY
) -> None:
    """GENERATED ratings of ``day``: every Yongchuan town at ``levels.get(code, 1)``, plus grid rows."""
    now = datetime.now(UTC)
    run = DangerRun(
        day=day,
        source_file="generated",
        sha256="0" * 64,
        wind_unit="m/s",
        computed_at=now,
        computed_by="test",
    )
    session.add(run)
    session.flush()
    rows = [(c, n, "town", c, levels.get(c, 1)) for c, n in towns()]
    rows += [(g, f"网格{g[-6:]}", "grid", g[:9] + "000", lv) for g, lv in (grids or {}).items()]
    for code, name, level_kind, town, lv in rows:
        session.add(
            DangerRating(
                run_id=run.id, day=day, unit_code=code, unit_level=level_kind, unit_name=name,
                district_code="500118", town_code=town, level=lv, htz=20.0 * lv - 5, scores={},
                station="YC-A", distance_km=1.0, computed_at=now, source_file="generated",
            )
        )  # fmt: skip
    session.flush()


ZHUTUO, HONGLU = "500118118000", "500118114000"


def test_service_builds_a_valid_cap_and_geojson_from_the_stored_ratings(
    session: Session, schema: xmlschema.XMLSchema
) -> None:
    store(session, {ZHUTUO: 4, HONGLU: 5})
    doc, dr = svc.bulletin(session, SYS, DAY, "cap", sent=SENT)
    schema.validate(doc.decode())
    assert (dr.district_code, dr.district_name, len(dr.towns)) == ("500118", "永川区", 23)
    root = parse(doc)
    by_town = {txt(i, "c:area/c:geocode[2]/c:value"): i for i in root.findall("c:info", NS)}
    assert txt(by_town[HONGLU], "c:headline") == "红炉镇11月28日森林火险气象等级五级（极高火险，红色）"
    assert {txt(p, "c:valueName"): txt(p, "c:value") for p in by_town[ZHUTUO].findall("c:parameter", NS)}[
        "HTZ"
    ] == "75"
    gj = json.loads(svc.bulletin(session, SYS, DAY, "geojson")[0])
    feats = {f["id"]: f for f in gj["features"]}
    assert len(feats) == 23
    assert feats[ZHUTUO]["geometry"]["type"] in {"Polygon", "MultiPolygon"}
    assert (feats[ZHUTUO]["properties"]["colour"], feats[ZHUTUO]["properties"]["geometry_generated"]) == (
        "#F28C28",
        True,
    )


def test_no_stored_ratings_says_how_to_rate_the_day(session: Session) -> None:
    with pytest.raises(
        NotFound, match=r"no town of district 500118 has a stored fire danger rating for 2026-11-28"
    ):
        svc.bulletin(session, SYS, DAY, "cap")


def test_the_shipped_prevention_category_must_exist_in_the_catalogue(session: Session) -> None:
    with pytest.raises(InvalidInput, match='prevention tasks need the event category "9999"'):
        svc.check_prevention_category(_policy_with("9999"))


def _policy_with(category: str) -> svc.BulletinPolicy:
    pol = svc.default_bulletin_policy()
    return pol.model_copy(
        update={"prevention": pol.prevention.model_copy(update={"category_code": category})}
    )


def test_high_towns_get_one_prevention_task_each_dispatched_to_the_town_center_once(session: Session) -> None:
    pol = svc.default_bulletin_policy()  # 2208 森林防火预防
    grid_hi, grid_lo = "500118118209012", "500118118207001"
    store(session, {ZHUTUO: 4, HONGLU: 5, "500118001000": 3}, grids={grid_hi: 4, grid_lo: 2})
    dr = svc.day_ratings(session, SYS, DAY)
    tasks = svc.open_prevention_tasks(session, SYS, dr, pol, as_of=EVE)
    assert [(t.town_code, t.level, t.opened) for t in tasks] == [(HONGLU, 5, True), (ZHUTUO, 4, True)]
    by_town = {t.town_code: t for t in tasks}
    assert by_town[ZHUTUO].grids == [grid_hi]  # only the grid rated ≥ 4
    assert len(by_town[HONGLU].grids) > 1  # no grid of 红炉镇 was rated: all its grids
    ev = session.get(Event, by_town[ZHUTUO].event_id)
    assert ev is not None
    assert (
        ev.category_code,
        ev.source,
        ev.external_id,
        ev.town_code,
        ev.node,
        ev.unit_code,
        ev.is_drill,
    ) == (
        "2208",
        "sensor",
        "fire-prevention-20261128-500118118000",
        ZHUTUO,
        "dispatched",
        "500118118000-ZHZX",
        False,
    )
    assert ev.title == "朱沱镇11月28日森林火险四级（高火险）防火预防任务"
    assert ev.description.splitlines() == [
        "永川区朱沱镇2026年11月28日森林火险气象等级为四级（高火险，橙色）：森林火险气象等级高，林区须加强火源管理。"
        "有效期：2026-11-28 00:00至2026-11-29 00:00（北京时间）。"
        "请镇街指挥中心组织下列网格落实森林防火预防措施（巡山护林、野外火源管控、防火宣传提醒），并反馈落实情况：",
        f"- 网格209012（{grid_hi}）：四级",
    ]
    steps = session.scalars(
        select(EventStep.action).where(EventStep.event_id == ev.id).order_by(EventStep.id)
    )
    assert list(steps) == ["report", "accept", "register", "dispatch"]
    again = svc.open_prevention_tasks(session, SYS, dr, pol, as_of=EVE)
    assert [(t.event_id, t.opened) for t in again] == [(t.event_id, False) for t in tasks]


def test_prevention_tasks_only_for_today_or_tomorrow(session: Session) -> None:
    pol = svc.default_bulletin_policy()
    store(session, {ZHUTUO: 5})
    dr = svc.day_ratings(session, SYS, DAY)
    day_after = datetime(2026, 11, 29, 0, 0, tzinfo=LOCAL_TZ)  # DAY is yesterday (Beijing time)
    assert svc.tasks_skipped_because(DAY, day_after) == (
        "2026-11-28 is past (today is 2026-11-29, Beijing time): prevention tasks are opened only for "
        "today's or tomorrow's bulletin"
    )
    assert svc.open_prevention_tasks(session, SYS, dr, pol, as_of=day_after) == []
    early = datetime(2026, 11, 26, 9, 0, tzinfo=LOCAL_TZ)  # DAY is the day after tomorrow
    assert svc.tasks_skipped_because(DAY, early) == (
        "2026-11-28 is more than a day ahead (today is 2026-11-26, Beijing time): prevention tasks are "
        "opened only for today's or tomorrow's bulletin"
    )
    assert svc.open_prevention_tasks(session, SYS, dr, pol, as_of=early) == []
    assert session.scalar(select(Event.id).where(Event.category_code == "2208")) is None
    # 23:59 Beijing on DAY is still "today"; 16:00 UTC on DAY is already the next day in Beijing
    assert svc.tasks_skipped_because(DAY, datetime(2026, 11, 28, 15, 59, tzinfo=UTC)) is None
    assert svc.tasks_skipped_because(DAY, datetime(2026, 11, 28, 8, tzinfo=UTC), status="Exercise") == (
        "the bulletin's status is Exercise, an exercise (演练): only an Actual bulletin opens "
        "prevention tasks"
    )
    assert svc.tasks_skipped_because(DAY, datetime(2026, 11, 28, 16, 0, tzinfo=UTC)) is not None
    (task,) = svc.open_prevention_tasks(
        session, SYS, dr, pol, as_of=datetime(2026, 11, 28, 8, tzinfo=LOCAL_TZ)
    )
    assert (task.town_code, task.opened) == (ZHUTUO, True)


def test_cli_writes_a_valid_cap_file_and_opens_no_task_below_level_4(
    session: Session, schema: xmlschema.XMLSchema, tmp_path: Path
) -> None:
    store(session, {ZHUTUO: 3})
    session.commit()
    f = tmp_path / "bulletin.xml"
    res = CliRunner().invoke(
        app, ["fire", "bulletin", "--date", "2026-11-28", "--format", "cap", "-o", str(f)]
    )
    assert res.exit_code == 0, res.output
    schema.validate(f.read_text(encoding="utf-8"))
    summary = json.loads(res.stdout)
    assert (summary["towns"], summary["towns_per_level"], summary["prevention_tasks"]) == (
        23,
        {"1": 22, "2": 0, "3": 1, "4": 0, "5": 0},
        [],
    )
    g = tmp_path / "bulletin.geojson"
    res = CliRunner().invoke(
        app, ["fire", "bulletin", "--date", "2026-11-28", "--format", "geojson", "-o", str(g)]
    )
    assert res.exit_code == 0, res.output
    assert len(json.loads(g.read_text(encoding="utf-8"))["features"]) == 23


def test_cli_at_level_4_opens_tasks_or_says_the_category_is_missing(session: Session, tmp_path: Path) -> None:
    today = datetime.now(UTC).astimezone(LOCAL_TZ).date()  # tasks are opened for today's bulletin
    store(session, {ZHUTUO: 4}, day=today)
    session.commit()
    f = tmp_path / "b.xml"
    args = ["fire", "bulletin", "--date", today.isoformat(), "-o", str(f)]
    res = CliRunner().invoke(app, args)
    code = svc.default_bulletin_policy().prevention.category_code
    try:
        events.catalogue().leaf(code)
    except Exception:
        assert res.exit_code == 2
        assert res.stderr.startswith(f'error: prevention tasks need the event category "{code}"')
        assert not f.exists()  # nothing written when the tasks cannot be opened
    else:
        assert res.exit_code == 0, res.output
        assert [t["town_code"] for t in json.loads(res.stdout)["prevention_tasks"]] == [ZHUTUO]
    res = CliRunner().invoke(app, [*args, "--no-tasks"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["prevention_tasks"] == []
    res = CliRunner().invoke(app, [*args, "--status", "Exercise"])
    assert res.exit_code == 0, res.output
    assert b"<status>Exercise</status>" in f.read_bytes()
    # an exercise bulletin opens no task and says why (not a bare null)
    why = (
        "the bulletin's status is Exercise, an exercise (演练): only an Actual bulletin opens "
        "prevention tasks"
    )
    summary = json.loads(res.stdout)
    assert (summary["prevention_tasks"], summary["prevention_skipped"]) == ([], why)
    assert res.stderr == f"note: prevention tasks skipped for 1 town rated 四级 or above: {why}\n"


def test_an_exercise_bulletin_says_why_it_opens_no_task_even_without_high_towns(
    session: Session, tmp_path: Path
) -> None:
    today = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    store(session, {ZHUTUO: 2}, day=today)
    session.commit()
    f = tmp_path / "b.xml"
    args = ["fire", "bulletin", "--date", today.isoformat(), "-o", str(f)]
    res = CliRunner().invoke(app, [*args, "--status", "Test"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["prevention_skipped"] == (
        "the bulletin's status is Test, a test: only an Actual bulletin opens prevention tasks"
    )
    assert res.stderr == ""  # no high-rated town: nothing to note
    res = CliRunner().invoke(app, args)  # an Actual bulletin with no high-rated town: none were due
    assert res.exit_code == 0, res.output
    assert (json.loads(res.stdout)["prevention_tasks"], json.loads(res.stdout)["prevention_skipped"]) == (
        [],
        None,
    )


def test_cli_for_a_past_date_skips_the_tasks_and_says_why(session: Session, tmp_path: Path) -> None:
    store(session, {ZHUTUO: 4, HONGLU: 5})  # DAY, 2026-11-28: past when this runs
    session.commit()
    today = datetime.now(UTC).astimezone(LOCAL_TZ).date()
    assert today > DAY
    f = tmp_path / "b.xml"
    res = CliRunner().invoke(app, ["fire", "bulletin", "--date", DAY.isoformat(), "-o", str(f)])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    why = (
        f"2026-11-28 is past (today is {today.isoformat()}, Beijing time): prevention tasks are opened "
        "only for today's or tomorrow's bulletin"
    )
    assert (summary["prevention_tasks"], summary["prevention_skipped"]) == ([], why)
    assert res.stderr == f"note: prevention tasks skipped for 2 towns rated 四级 or above: {why}\n"
    assert session.scalar(select(Event.id).where(Event.category_code == "2208")) is None
    assert f.exists()  # the bulletin itself is written


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--date", "2026-13-01"], 'error: --date "2026-13-01": not a date YYYY-MM-DD'),
        (
            ["--date", "2026-11-27"],
            "error: no town of district 500118 has a stored fire danger rating for 2026-11-27",
        ),
        (["--date", "2026-11-27", "--format", "kml"], "Invalid value for '--format'"),
    ],
)
def test_cli_bad_input_is_one_error_line(
    engine: Engine, tmp_path: Path, args: list[str], message: str
) -> None:
    res = CliRunner().invoke(app, ["fire", "bulletin", "-o", str(tmp_path / "x.xml"), *args])
    assert res.exit_code == 2
    assert message in res.stderr
    assert "Traceback" not in res.output
