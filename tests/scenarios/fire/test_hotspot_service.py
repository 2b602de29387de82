"""Satellite hotspot import into the event loop, on the test database (Yongchuan loaded by conftest).

The real 2022 FIRMS MODIS file (tests/data/fire/firms) has one detection inside Yongchuan: Aqua,
2022-05-31 06:03 UTC, 29.03551N 105.81419E, in 朱沱镇, 4.3 km from 江津区. The other test files are
real rows moved into Yongchuan (labelled "derived" in SOURCES.md); the persistence test builds a
GENERATED file from that real row with made-up dates.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.core.access import Actor
from zhizhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from zhizhi.event import service as events
from zhizhi.event.models import Event, EventStep
from zhizhi.org import service as org
from zhizhi.scenarios.fire import service
from zhizhi.scenarios.fire.models import (
    Hotspot,
    HotspotAlert,
    HotspotCluster,
    HotspotImport,
    StaticHeatSource,
)
from zhizhi.scenarios.fire.schemas import StaticSourceEntry
from zhizhi.scenarios.fire.service.static import snooze_end

DATA = Path(__file__).resolve().parents[2] / "data" / "fire" / "firms"
REAL_2022 = DATA / "modis_c61_nrt_global7d_20220528-20220604_box102-110E_26-33N.csv"
REAL_2023 = DATA / "modis_c61_nrt_global24h_20230801-20230802_box102-110E_26-33N.csv"
FOLLOWUP = DATA / "derived_yongchuan_followup_modis_nrt.csv"  # 1.0 km north, 2022-06-01 03:34 UTC
ARCHIVE = DATA / "derived_yongchuan_archive_layout_modis.csv"
SYS = events.system_actor("500118")
ZHUTUO, HONGLU = "500118118000", "500118114000"  # 朱沱镇, 红炉镇
YC_ROW = "29.03551,105.81419,317.45,1.19,1.09,2022-05-31,0603,A,39,6.1NRT,298.69,10.15,D"  # line 89
HEADER = (
    "latitude,longitude,brightness,scan,track,acq_date,acq_time,satellite,confidence,version,"
    "bright_t31,frp,daynight"
)
FIRE_TABLES = (
    "fire_hotspot",
    "fire_hotspot_alert",
    "fire_static_source",
    "fire_hotspot_cluster",
    "fire_hotspot_import",
)


@pytest.fixture(autouse=True)
def _clean_fire(engine: Engine) -> Iterator[None]:
    """Empty the hotspot tables after each test (before conftest empties the event tables they refer to)."""
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


def count(session: Session, model: type) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


def only_cluster(session: Session) -> HotspotCluster:
    (cl,) = session.scalars(select(HotspotCluster)).all()
    return cl


# --- import ---------------------------------------------------------------------------------------------


def test_real_file_opens_one_event_in_the_town_where_the_detection_falls(session: Session) -> None:
    s = service.import_file(session, REAL_2022)
    got = s.model_dump(exclude={"file", "import_id", "events", "errors"})
    assert got == {
        "instrument": "MODIS",
        "drill": False,
        "rows_read": 99,
        "parsed": 99,
        "bad_rows": 0,
        "out_of_area": 98,
        "in_area": 1,
        "dropped_type": 0,
        "duplicates": 0,
        "same_pass": 0,
        "upgraded": 0,
        "snoozed": 0,
        "new": 1,
        "clusters": 1,
        "clusters_new": 1,
        "clusters_updated": 0,
        "clusters_historical": 0,
        "events_opened": 1,
        "events_updated": 0,
        "neighbour_alerts": 0,
        "static_proposed": 0,
    }
    (ref,) = s.events
    assert (ref.role, ref.district_code, ref.town_code, ref.grid_code) == (
        "primary",
        "500118",
        ZHUTUO,
        "500118118207001",
    )
    ev = session.get(Event, ref.event_id)
    assert ev is not None
    cl = only_cluster(session)
    assert (ev.category_code, ev.source, ev.external_id, ev.urgency) == (
        "2207",
        "satellite",
        f"hotspot-{cl.id}-500118",
        "urgent",
    )
    assert (ev.lon, ev.lat, ev.out_of_area, ev.suggested_unit_code, ev.node) == (
        105.81419,
        29.03551,
        False,
        "500118-LYJ",
        "reported",
    )
    assert ev.title == "卫星热点核查：2022-05-31 14:03 Aqua/MODIS"
    assert "过境时间 北京时间 2022-05-31 14:03（UTC 06:03）" in ev.description
    assert "位置 北纬 29.03551°、东经 105.81419°" in ev.description
    assert "置信度 39%（中），火辐射功率 FRP 10.2 MW，白天" in ev.description
    assert (
        "（1 小时内）到场核查，并反馈热点性质：真实火情 / 农事用火 / 工业热源 / 其他热源 / 误报"
        in ev.description
    )
    assert (cl.event_id, cl.district_code, cl.n_detections, cl.max_confidence, cl.max_frp) == (
        ev.id,
        "500118",
        1,
        39,
        10.15,
    )
    assert cl.first_seen == cl.last_seen == datetime(2022, 5, 31, 6, 3, tzinfo=UTC)
    assert cl.verify_due_at - cl.opened_at == timedelta(hours=1)
    assert (cl.outcome, cl.verified_on_time) == (None, None)
    (h,) = session.scalars(select(Hotspot)).all()
    assert (h.key, h.status, h.district_code, h.distance_m, h.line, h.cluster_id) == (
        "Aqua|20220531T0603|29.036|105.814",
        "clustered",
        "500118",
        0.0,
        89,
        cl.id,
    )
    (imp,) = session.scalars(select(HotspotImport)).all()
    assert (imp.filename, imp.instrument, imp.counts["new"], imp.counts["out_of_area"]) == (
        REAL_2022.name,
        "MODIS",
        1,
        98,
    )
    (alert,) = session.scalars(select(HotspotAlert)).all()
    assert (alert.role, alert.district_code, alert.event_id, alert.distance_m) == (
        "primary",
        "500118",
        ev.id,
        0.0,
    )


def test_reimporting_the_same_file_opens_nothing(session: Session) -> None:
    service.import_file(session, REAL_2022)
    before = [count(session, m) for m in (Event, EventStep, Hotspot, HotspotCluster, HotspotAlert)]
    again = service.import_file(session, REAL_2022)
    got = (
        again.in_area,
        again.duplicates,
        again.new,
        again.clusters,
        again.events_opened,
        again.events_updated,
    )
    assert got == (1, 1, 0, 0, 0, 0)
    assert [count(session, m) for m in (Event, EventStep, Hotspot, HotspotCluster, HotspotAlert)] == before
    assert count(session, HotspotImport) == 2


def test_a_later_detection_nearby_updates_the_same_event(session: Session) -> None:
    first = service.import_file(session, REAL_2022)
    before = session.get(Event, first.events[0].event_id)
    assert before is not None
    v0 = before.version
    s = service.import_file(session, FOLLOWUP)
    assert (s.new, s.clusters, s.clusters_new, s.clusters_updated, s.events_opened, s.events_updated) == (
        1,
        1,
        0,
        1,
        0,
        1,
    )
    assert count(session, Event) == 1
    ev_id = first.events[0].event_id
    steps = session.scalars(select(EventStep).where(EventStep.event_id == ev_id).order_by(EventStep.id)).all()
    assert [st.action for st in steps] == ["report", "note"]  # a note (备注), not a 催办 (remind)
    note = steps[1].comment
    assert (
        note.startswith("热点簇 ")
        and "新增卫星热点 1 个（累计 2 个，最近 北京时间 2022-06-01 11:34）" in note
    )
    assert (steps[1].from_node, steps[1].to_node, steps[1].actor_role) == ("reported", "reported", "system")
    assert steps[1].data == {
        "kind": "hotspot_update",
        "cluster_id": only_cluster(session).id,
        "detections": 1,
    }
    ev = session.get(Event, ev_id)
    assert ev is not None and (ev.node, ev.version, ev.supervised) == ("reported", v0, False)
    assert "Terra/MODIS（6.1NRT 近实时产品），过境时间 北京时间 2022-06-01 11:34" in note
    cl = only_cluster(session)
    assert (cl.n_detections, cl.last_seen, cl.max_confidence) == (
        2,
        datetime(2022, 6, 1, 3, 34, tzinfo=UTC),
        58,
    )
    assert cl.lat == pytest.approx((29.03551 + 29.0445) / 2)


def test_out_of_area_detections_are_counted_but_not_kept(session: Session) -> None:
    s = service.import_file(session, REAL_2023)
    assert (s.rows_read, s.parsed, s.out_of_area, s.in_area, s.new, s.events_opened) == (18, 18, 18, 0, 0, 0)
    assert count(session, Hotspot) == 0 and count(session, Event) == 0
    assert session.scalars(select(HotspotImport)).one().counts["out_of_area"] == 18


@pytest.mark.parametrize(("until", "status"), [("2022-06-03", "snoozed"), ("2022-06-02", "clustered")])
def test_snoozed_until_is_the_last_snoozed_beijing_day(session: Session, until: str, status: str) -> None:
    """issue 5: "until 2022-06-03" snoozes through the end of that Beijing day (16:00 UTC), so the
    detection of 2022-06-03 06:35 UTC (14:35 Beijing, line 5 of the archive file) is still snoozed."""
    assert snooze_end(date.fromisoformat(until)) == datetime.combine(
        date.fromisoformat(until), time(16), tzinfo=UTC
    )
    entry = StaticSourceEntry(
        name="测试热源",
        kind="other",
        lon=105.878919,
        lat=29.528202,
        radius_m=1000,
        source="test: the village point of 500118116002",
        snoozed_until=date.fromisoformat(until),
    )
    service.add_static_source(session, SYS, entry)
    s = service.import_file(session, ARCHIVE)
    row = session.scalars(select(Hotspot).where(Hotspot.import_id == s.import_id, Hotspot.line == 5)).one()
    assert row.status == status


def test_archive_layout_types_static_sources_and_nrt_upgrade(session: Session) -> None:
    service.import_file(session, REAL_2022)  # the NRT row of the Yongchuan detection
    # a known static source at 双河口社区 (the real village point), 1 km: row 5 of the archive file is there
    entry = StaticSourceEntry(
        name="测试热源",
        kind="other",
        lon=105.878919,
        lat=29.528202,
        radius_m=1000,
        source="test: the village point of 500118116002",
    )
    src = service.add_static_source(session, SYS, entry)
    s = service.import_file(session, ARCHIVE)
    got = (s.rows_read, s.out_of_area, s.in_area, s.dropped_type, s.duplicates, s.upgraded, s.snoozed, s.new)
    assert got == (6, 1, 5, 1, 1, 1, 2, 1)
    (ref,) = s.events
    assert (ref.town_code, ref.role) == (HONGLU, "primary")  # 会龙桥村, line 2 of the file
    rows = {h.line: h for h in session.scalars(select(Hotspot).where(Hotspot.import_id == s.import_id))}
    assert sorted(rows) == [2, 3, 5]  # type 3 (line 4) dropped, line 6 a duplicate, line 7 out of area
    assert (rows[3].status, rows[3].snooze_reason, rows[3].fire_type) == (
        "snoozed",
        "FIRMS type 2: 其他固定地表热源",
        2,
    )
    assert (rows[5].status, rows[5].static_source_id, rows[5].snooze_reason) == (
        "snoozed",
        src.id,
        f"固定热源 {src.id}: 测试热源",
    )
    assert (rows[2].status, rows[2].satellite, rows[2].version, rows[2].nrt) == (
        "clustered",
        "Terra",
        "6.1",
        False,
    )
    upgraded = session.scalars(select(Hotspot).where(Hotspot.line == 89)).one()
    assert (upgraded.version, upgraded.nrt, upgraded.fire_type, upgraded.import_id) == (
        "6.1",
        False,
        0,
        s.import_id - 1,
    )


def test_a_border_detection_alerts_the_loaded_neighbour(session: Session, jiangjin: None) -> None:
    s = service.import_file(session, REAL_2022)
    assert (s.events_opened, s.neighbour_alerts) == (2, 1)
    primary, neighbour = s.events
    assert (primary.role, primary.district_code, primary.town_code) == ("primary", "500118", ZHUTUO)
    assert (neighbour.role, neighbour.district_code, neighbour.town_code, neighbour.grid_code) == (
        "neighbour",
        "500116",
        None,
        None,
    )
    ev = session.get(Event, neighbour.event_id)
    assert ev is not None and (ev.district_code, ev.out_of_area, ev.suggested_unit_code) == (
        "500116",
        True,
        "500116-LYJ",
    )
    assert ev.title.startswith("邻区卫星热点核查：")
    assert ev.description.startswith("邻区通报：热点位于永川区，距本区边界约 4.3 km，请关注并协同核查。\n")
    alert = session.scalars(select(HotspotAlert).where(HotspotAlert.role == "neighbour")).one()
    assert alert.distance_m == pytest.approx(4326, abs=1)
    later = service.import_file(session, FOLLOWUP)
    assert (later.events_opened, later.events_updated) == (0, 2)


def test_the_outcome_is_a_step_on_the_timeline_of_every_event_alerted(
    session: Session, jiangjin: None
) -> None:
    s = service.import_file(session, REAL_2022)
    primary, neighbour = s.events
    cl = only_cluster(session)
    before = {e: session.get(Event, e) for e in (primary.event_id, neighbour.event_id)}
    versions = {e: ev.version for e, ev in before.items() if ev is not None}
    verifier = replace(events.system_actor("500118"), name="朱沱镇值班员")
    service.record_outcome(session, verifier, cl.id, "农事用火", "村民烧秸秆")

    def notes(eid: int) -> list[tuple[str, str, str, str]]:
        q = select(EventStep).where(EventStep.event_id == eid, EventStep.action == "note")
        return [(n.comment, n.actor_name, n.from_node, n.to_node) for n in session.scalars(q)]

    assert notes(primary.event_id) == [
        ("核查结论：农事用火（按时）：村民烧秸秆", "朱沱镇值班员", "reported", "reported")
    ]
    assert notes(neighbour.event_id) == [
        ("核查结论：农事用火（按时，永川区朱沱镇值班员 记录）：村民烧秸秆", "系统", "reported", "reported")
    ]
    step = session.scalars(
        select(EventStep).where(EventStep.event_id == primary.event_id, EventStep.action == "note")
    ).first()
    assert step is not None and step.data == {
        "kind": "hotspot_outcome", "cluster_id": cl.id, "outcome": "agricultural", "on_time": True,
    }  # fmt: skip
    for eid, v in versions.items():  # the note moves nothing; the platform's 不予受理 after it does
        ev = session.get(Event, eid)
        assert ev is not None and (ev.node, ev.version) == ("rejected", v + 1)


# --- verification outcomes --------------------------------------------------------------------------------


def test_outcome_recorded_on_time_and_only_once(session: Session) -> None:
    service.import_file(session, REAL_2022)
    cl = only_cluster(session)
    with pytest.raises(InvalidInput, match='unknown outcome "野火"; one of: 真实火情 \\(real_fire\\)'):
        service.record_outcome(session, SYS, cl.id, "野火")
    got = service.record_outcome(session, SYS, cl.id, "农事用火", "村民烧秸秆")
    assert (got.outcome, got.outcome_note, got.verified_by, got.verified_on_time) == (
        "agricultural",
        "村民烧秸秆",
        "系统",
        True,
    )
    with pytest.raises(Conflict, match="already has the outcome 农事用火"):
        service.record_outcome(session, SYS, cl.id, "误报")
    # 农事用火 closes the cluster: a later detection there is a new burn and opens a new event
    s = service.import_file(session, FOLLOWUP)
    assert (s.clusters_new, s.clusters_updated, s.events_opened, s.events_updated) == (1, 0, 1, 0)


def test_late_outcome_and_a_real_fire_keeps_the_cluster_open(session: Session) -> None:
    service.import_file(session, REAL_2022)
    cl = only_cluster(session)
    cl.verify_due_at = datetime.now(UTC) - timedelta(minutes=1)
    got = service.record_outcome(session, SYS, cl.id, "real_fire")
    assert (got.outcome, got.verified_on_time) == ("real_fire", False)
    s = service.import_file(session, FOLLOWUP)
    assert (s.clusters_new, s.clusters_updated, s.events_opened, s.events_updated) == (0, 1, 0, 1)
    fire_id = service.fire_event_id(session, cl)  # the 2207 is merged: the news goes to the 2206 event
    last = session.scalars(
        select(EventStep).where(EventStep.event_id == fire_id).order_by(EventStep.id.desc())
    ).first()
    assert last is not None and (last.comment or "").startswith(f"热点簇 {cl.id} 新增卫星热点 1 个")


def test_who_may_record_an_outcome(session: Session) -> None:
    service.import_file(session, REAL_2022)
    cl = only_cluster(session)
    other_grid = Actor(
        id=None,
        username="w",
        name="网格员",
        role="grid_worker",
        unit_code="500118001001001",
        district_code="500118",
    )
    with pytest.raises(NotFound):
        service.record_outcome(session, other_grid, cl.id, "误报")
    leader = Actor(
        id=None, username="l", name="领导", role="leader", unit_code="500118-CYZX", district_code="500118"
    )
    with pytest.raises(Forbidden):
        service.record_outcome(session, leader, cl.id, "误报")
    with pytest.raises(NotFound, match="hotspot cluster 999999 not found"):
        service.record_outcome(session, SYS, 999999, "误报")


def test_industrial_heat_source_is_proposed_then_snoozes_once_accepted(session: Session) -> None:
    service.import_file(session, REAL_2022)
    cl = only_cluster(session)
    service.record_outcome(session, SYS, cl.id, "工业热源", "砖窑")
    src = session.scalars(select(StaticHeatSource)).one()
    assert (src.status, src.origin, src.cluster_id, src.lon, src.lat) == (
        "proposed",
        "verification",
        cl.id,
        105.81419,
        29.03551,
    )
    assert src.radius_m == 850.0  # half the pixel diagonal hypot(1.19, 1.09)/2 = 0.807 km, up to 50 m
    assert src.reason == "核查结论 工业热源（系统）：砖窑"
    # a proposal snoozes nothing: the later detection opens a new event (工业热源 closed the cluster)
    assert service.import_file(session, FOLLOWUP).events_opened == 1
    session.execute(text("DELETE FROM fire_hotspot WHERE line = 2"))  # forget the follow-up detection
    service.decide_static_source(session, SYS, src.id, accept=True)
    assert src.status == "active" and src.decided_by == "系统"
    with pytest.raises(Conflict, match="is active, not proposed"):
        service.decide_static_source(session, SYS, src.id, accept=False)
    s = service.import_file(session, FOLLOWUP)  # 1.0 km away: outside the 850 m source
    assert (s.snoozed, s.new) == (0, 1)
    src.radius_m = 1500
    session.execute(text("DELETE FROM fire_hotspot WHERE line = 2"))
    s = service.import_file(session, FOLLOWUP)
    assert (s.snoozed, s.new, s.events_opened) == (1, 0, 0)


# --- files, drills, persistence --------------------------------------------------------------------------


def test_bad_rows_refuse_the_file_unless_skipped(session: Session, tmp_path: Path) -> None:
    p = tmp_path / "mixed.csv"
    p.write_text(f"{HEADER}\n{YC_ROW}\n{YC_ROW.replace(',0603,', ',2460,')}\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        service.import_file(session, p)
    assert e.value.detail == (
        "mixed.csv: 1 of 2 rows are invalid "
        '(first: line 3, column acq_time: acq_time "2460": hour 24 is not 00-23)'
    )
    assert count(session, Hotspot) == 0 and count(session, HotspotImport) == 0
    s = service.import_file(session, p, skip_bad_rows=True)
    assert (s.rows_read, s.parsed, s.bad_rows, s.new, s.events_opened) == (2, 1, 1, 1, 1)
    assert s.errors == ['line 3, column acq_time: acq_time "2460": hour 24 is not 00-23']


def test_a_row_acquired_in_the_future_is_a_bad_row_and_opens_nothing(
    session: Session, tmp_path: Path
) -> None:
    ahead = (datetime.now(UTC) + timedelta(days=2)).date().isoformat()  # (the trial's was 2027-11-30)
    p = tmp_path / "future.csv"
    p.write_text(f"{HEADER}\n{YC_ROW}\n{YC_ROW.replace(',2022-05-31,', f',{ahead},')}\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as e:
        service.import_file(session, p)
    assert e.value.detail.startswith(
        f"future.csv: 1 of 2 rows are invalid (first: line 3, column acq_date/acq_time: acquired {ahead} "
        "06:03 UTC, in the future: later than now ("
    )
    assert (e.value.errors[0].line, e.value.errors[0].value) == (3, f"{ahead} 0603")
    assert count(session, Hotspot) == 0 and count(session, HotspotImport) == 0
    s = service.import_file(session, p, skip_bad_rows=True)  # counted as a bad row, the good one kept
    assert (s.rows_read, s.parsed, s.bad_rows, s.new, s.events_opened) == (2, 1, 1, 1, 1)
    assert s.errors[0].startswith(
        f"line 3, column acq_date/acq_time: acquired {ahead} 06:03 UTC, in the future"
    )
    assert count(session, Hotspot) == 1
    session.rollback()
    code, out, err = zz("fire", "hotspots", "import", str(p))
    assert (code, out) == (2, "")
    assert err.startswith(
        "error: future.csv: 1 of 2 rows are invalid (first: line 3, column acq_date/acq_time"
    )
    assert "Traceback" not in err and count(session, Hotspot) == 0


def test_a_drill_never_joins_real_clusters(session: Session) -> None:
    service.import_file(session, REAL_2022)
    s = service.import_file(session, FOLLOWUP, drill=True)
    assert (s.drill, s.clusters_new, s.clusters_updated, s.events_opened) == (True, 1, 0, 1)
    ev = session.get(Event, s.events[0].event_id)
    assert ev is not None and ev.is_drill
    assert ev.title == "【演练】卫星热点核查：2022-06-01 11:34 Terra/MODIS"  # a drill says so in its title
    assert ev.description.startswith("【演练】本事件为森林火情实战演练，热点为模拟注入，非真实火情。\n")


def test_a_place_detected_on_many_days_is_proposed_as_static(session: Session, tmp_path: Path) -> None:
    # GENERATED: the real Yongchuan row repeated on 6 made-up dates 10 days apart (50-day span)
    dates = [f"2022-0{m}-{d:02d}" for m, d in ((4, 1), (4, 11), (4, 21), (5, 1), (5, 11), (5, 21))]
    p = tmp_path / "generated_persistent.csv"
    p.write_text(
        HEADER + "\n" + "".join(YC_ROW.replace("2022-05-31", d) + "\n" for d in dates), encoding="utf-8"
    )
    s = service.import_file(session, p)
    assert (s.new, s.clusters_new, s.events_opened, s.static_proposed) == (
        6,
        6,
        6,
        1,
    )  # > 120 h apart: 6 fires
    src = session.scalars(select(StaticHeatSource)).one()
    assert (src.status, src.origin, src.distinct_days, src.radius_m) == ("proposed", "persistence", 6, 500.0)
    assert src.reason == "2022-04-01至2022-05-21间 6 个不同日期被探测到（6 个热点，半径 1 km 内）"
    again = service.import_file(session, REAL_2022)  # a 7th date: the place is already proposed
    assert (again.new, again.static_proposed) == (1, 0)


# --- command line ----------------------------------------------------------------------------------------


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


def test_cli_import_verify_and_static(engine: Engine, tmp_path: Path) -> None:
    code, out, err = zz("fire", "hotspots", "import", str(REAL_2022))
    assert (code, err) == (0, "")
    summary = json.loads(out)
    assert (summary["rows_read"], summary["in_area"], summary["events_opened"]) == (99, 1, 1)
    cid = summary["events"][0]["cluster_id"]
    code, out, _ = zz("fire", "hotspots", "import", str(REAL_2022))
    assert code == 0 and json.loads(out)["duplicates"] == 1
    code, out, err = zz("fire", "hotspots", "verify", str(cid), "--outcome", "工业热源", "--by", "张三")
    assert code == 0, err
    got = json.loads(out)
    assert (got["outcome"], got["verified_by"], got["verified_on_time"]) == ("industrial", "张三", True)
    code, out, _ = zz("fire", "hotspots", "static")
    (src,) = json.loads(out)
    assert (src["status"], src["origin"], src["radius_m"]) == ("proposed", "verification", 850.0)
    assert src["kind"] == "industrial"  # 工业热源 maps to its kind, not "other"
    code, out, _ = zz("fire", "hotspots", "static", "--accept", str(src["id"]), "--until", "2030-01-01")
    assert code == 0 and json.loads(out)[0]["status"] == "active"
    assert json.loads(out)[0]["snoozed_until"] == "2030-01-01T16:00:00+00:00"  # through 01-01, Beijing
    bad = tmp_path / "bad.csv"
    bad.write_text(f"{HEADER}\n{YC_ROW.replace('29.03551', '95.1')}\n", encoding="utf-8")
    code, out, err = zz("fire", "hotspots", "import", str(bad))
    assert code == 2 and out == ""
    assert err.splitlines() == [
        "error: bad.csv: 1 of 1 rows are invalid "
        "(first: line 2, column latitude: latitude must be a number from -90 to 90)",
        "  line 2, column latitude: latitude must be a number from -90 to 90",
    ]
    code, _, err = zz("fire", "hotspots", "import", str(tmp_path / "missing.csv"))
    assert (code, err.strip()) == (2, f"error: {tmp_path / 'missing.csv'}: no such file")
    gbk = tmp_path / "gbk.csv"  # a spreadsheet export in GBK: the line and character, not only a byte
    gbk.write_bytes(f"{HEADER}\n{YC_ROW}\n{YC_ROW},火\n".encode("gbk"))
    code, out, err = zz("fire", "hotspots", "import", str(gbk))
    assert (code, out) == (2, "")
    assert err.splitlines()[0] == (
        f"error: gbk.csv: line 3, character {len(YC_ROW) + 2}: not UTF-8 text (invalid start byte at byte "
        f"{len(HEADER) + 2 * len(YC_ROW) + 3}); FIRMS files are UTF-8: save it as UTF-8 "
        "(e.g. from a GBK spreadsheet export)"
    )
    code, _, err = zz("fire", "hotspots", "verify", "999999", "--outcome", "误报", "--by", "张三")
    assert (code, err.strip()) == (2, "error: hotspot cluster 999999 not found")
    for by in ((), ("--by", " ")):  # a verification names a person: no silent "系统"
        code, out, err = zz("fire", "hotspots", "verify", str(cid), "--outcome", "误报", *by)
        assert (code, out, err.strip()) == (
            2,
            "",
            "error: --by is required: name the person who verified the hotspot on site (e.g. --by 张三)",
        )


def test_an_archive_detection_is_historical_and_opens_no_live_task(session: Session) -> None:
    """By the shipped policy (live_max_age_h 48) the 2022 detection in 朱沱镇, imported in 2026, is
    kept and clustered but opens no 1-hour verification event: it is history, not a fire to check."""
    s = service.import_file(session, REAL_2022)
    assert (s.in_area, s.new, s.clusters_new, s.clusters_historical, s.events_opened) == (1, 1, 1, 1, 0)
    assert s.events == []
    cluster = session.scalars(select(HotspotCluster)).one()
    assert cluster.event_id is None and cluster.n_detections == 1
