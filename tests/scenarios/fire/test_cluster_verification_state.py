"""Which hotspot clusters await a verification (核查状态): not a historical cluster (an archive
detection: no event, no deadline), not a drill cluster once its drill has ended — in the clusters
listing (service, API, CLI) and the KPI "hotspots verified on time".

On the test database (Yongchuan loaded by conftest) with the real 2022 FIRMS file (one detection in
朱沱镇): tests whose name contains ``historical`` run with the shipped policy, where that 2022
detection is historical (conftest).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.scenarios.fire.test_hotspot_service import FIRE_TABLES, REAL_2022, ZHUTUO
from zhizhi.cli import app
from zhizhi.core import time as ztime
from zhizhi.event import service as events
from zhizhi.event.models import Event, EventTask
from zhizhi.event.schemas import EventCreate, TransitionIn
from zhizhi.scenarios.fire import service
from zhizhi.scenarios.fire.models import HotspotCluster, StaticHeatSource
from zhizhi.scenarios.fire.service import drill as drills
from zhizhi.scenarios.fire.service import kpis as fire_kpis

SYS = events.system_actor("500118")
VERIFIER = replace(SYS, name="区指挥中心值班员")


@pytest.fixture(autouse=True)
def _clean_fire(engine: Engine) -> Iterator[None]:
    yield
    with engine.begin() as c:
        for t in FIRE_TABLES:
            c.execute(text(f"DELETE FROM {t}"))


def hotspot_kpi_today(session: Session) -> tuple[int, int]:
    """(counted, pending) of "hotspots verified on time" for today, as the district center."""
    today = ztime.utcnow().astimezone(ztime.LOCAL_TZ).date()
    got = fire_kpis.fire_kpis_between(session, SYS, today, today)["hotspots_verified_on_time"]
    return got["counted"], got["pending"]


def test_a_historical_cluster_has_no_deadline_and_is_never_pending(session: Session) -> None:
    s = service.import_file(session, REAL_2022)
    assert (s.clusters_historical, s.events_opened) == (1, 0)
    (view,) = service.list_clusters(session, SYS)
    assert (view.event_id, view.verification, view.verify_due_at) == (None, "historical", None)
    assert service.read_cluster(session, SYS, view.id).verification == "historical"
    assert hotspot_kpi_today(session) == (0, 0)  # neither counted nor pending
    # it can still be given an outcome: with no deadline it is neither on time nor late
    got = service.verify_cluster(session, VERIFIER, view.id, "误报", "存档数据复核")
    assert (got.cluster.verified_on_time, got.fire_event_id) == (None, None)
    (after,) = service.list_clusters(session, SYS)
    assert (after.verification, after.verify_due_at) == ("verified", None)
    assert hotspot_kpi_today(session) == (0, 0)


def test_cli_lists_a_historical_cluster_as_historical_not_pending_or_overdue(engine: Engine) -> None:
    r = CliRunner().invoke(app, ["fire", "hotspots", "import", str(REAL_2022)], prog_name="zhizhi")
    assert r.exit_code == 0, r.stderr
    assert json.loads(r.stdout)["clusters_historical"] == 1

    def listed(*args: str) -> list[dict[str, object]]:
        r = CliRunner().invoke(app, ["fire", "hotspots", "clusters", "--json", *args], prog_name="zhizhi")
        assert r.exit_code == 0, r.stderr
        return list(json.loads(r.stdout))

    (row,) = listed()
    assert (row["verification"], row["verify_due_at"]) == ("historical", None)
    assert listed("--status", "pending") == [] and listed("--status", "核查逾期") == []
    assert [c["id"] for c in listed("--status", "historical")] == [row["id"]]
    r = CliRunner().invoke(app, ["fire", "hotspots", "clusters"], prog_name="zhizhi")
    assert r.exit_code == 0, r.stderr
    line = r.stdout.splitlines()[1]  # the header, the cluster, the times note
    assert "历史热点" in line and line.rstrip().endswith("—")  # no deadline
    r = CliRunner().invoke(app, ["fire", "hotspots", "show", str(row["id"])], prog_name="zhizhi")
    assert r.exit_code == 0, r.stderr
    assert "历史热点: 核查结论 —, deadline —" in r.stdout


def test_a_live_cluster_awaits_its_verification(session: Session) -> None:
    service.import_file(session, REAL_2022)
    (view,) = service.list_clusters(session, SYS)
    assert view.verification == "awaiting" and view.verify_due_at is not None
    assert hotspot_kpi_today(session) == (0, 1)


def test_a_simulated_drill_cluster_is_not_pending_after_the_drill(session: Session) -> None:
    run = drills.start_drill(session, SYS, ZHUTUO, simulate=True)  # the simulated clock closes it
    (view,) = service.list_clusters(session, SYS, drill=True)
    assert (view.id, view.outcome, view.verification) == (run.cluster_id, None, "drill_ended")
    assert hotspot_kpi_today(session) == (0, 0)  # drills never count


def test_a_live_drill_cluster_awaits_until_its_drill_ends(session: Session) -> None:
    run = drills.start_drill(session, SYS, ZHUTUO)
    (view,) = service.list_clusters(session, SYS, drill=True)
    assert view.verification == "awaiting"  # the drill runs: its verification is part of it
    for action in ("sign", "handle", "verify_pass", "close"):
        events.transition(session, SYS, run.event_id, TransitionIn(action=action, comment="演练"))
    (view,) = service.list_clusters(session, SYS, drill=True)
    assert view.verification == "drill_ended"
    cl = session.scalars(select(HotspotCluster)).one()
    assert service.read_cluster(session, SYS, cl.id).verification == "drill_ended"
    assert hotspot_kpi_today(session) == (0, 0)


# --- 真实火情 on a historical cluster: recorded for the record, no live event, no response --------------


def test_real_fire_on_a_historical_cluster_opens_no_event_and_counts_no_fire(session: Session) -> None:
    service.import_file(session, REAL_2022)
    (view,) = service.list_clusters(session, SYS)
    assert view.verification == "historical"
    before = session.scalar(select(func.count()).select_from(Event))
    got = service.verify_cluster(session, VERIFIER, view.id, "真实火情", "2022 年存档，当时确有火情")
    assert (got.fire_event_id, got.response, got.hint) == (None, None, None)
    assert got.response_note == "历史热点：仅记录核查结论，不立事件、不启动响应"
    assert (got.cluster.outcome, got.cluster.verified_on_time) == ("real_fire", None)
    assert got.cluster.verified_by == "区指挥中心值班员"
    # no 森林火情 event, no other event, no task: nothing was dispatched
    assert session.scalar(select(func.count()).select_from(Event)) == before
    assert session.scalars(select(Event).where(Event.category_code == "2206")).all() == []
    assert session.scalar(select(func.count()).select_from(EventTask)) == 0
    (after,) = service.list_clusters(session, SYS)
    assert (after.verification, after.outcome, after.fire_event_id) == ("verified", "real_fire", None)
    today = ztime.utcnow().astimezone(ztime.LOCAL_TZ).date()
    kpis = fire_kpis.fire_kpis_between(session, SYS, today, today)
    assert kpis["fires"] == 0 and kpis["fires_out_within_24h"]["pending"] == 0


def test_industrial_on_a_historical_cluster_still_proposes_its_static_source(session: Session) -> None:
    service.import_file(session, REAL_2022)
    (view,) = service.list_clusters(session, SYS)
    got = service.verify_cluster(session, VERIFIER, view.id, "工业热源", "砖厂窑炉")
    assert (got.fire_event_id, got.response_note) == (None, None)
    (src,) = session.scalars(select(StaticHeatSource)).all()
    assert (src.status, src.cluster_id) == ("proposed", view.id)


def test_kpi_fires_leave_out_a_fire_event_opened_earlier_for_a_historical_cluster(session: Session) -> None:
    """A 2206 event a historical cluster opened before the rule (external id hotspot-N-fire) is an old
    detection, not a fire of the period; another 2206 event still counts."""
    service.import_file(session, REAL_2022)
    (view,) = service.list_clusters(session, SYS)
    lon, lat = view.lon, view.lat
    for ext in (f"hotspot-{view.id}-fire", "report-1"):
        events.create_event(
            session,
            SYS,
            EventCreate(
                source="satellite", category_code="2206", title="森林火情(测试生成)", lon=lon, lat=lat,
                urgency="urgent", external_id=ext,
            ),
            propose_merges=False,
        )  # fmt: skip
    today = ztime.utcnow().astimezone(ztime.LOCAL_TZ).date()
    assert fire_kpis.fire_kpis_between(session, SYS, today, today)["fires"] == 1


def test_cli_verify_of_a_historical_real_fire_says_it_is_recorded_only(engine: Engine) -> None:
    r = CliRunner().invoke(app, ["fire", "hotspots", "import", str(REAL_2022)], prog_name="zhizhi")
    assert r.exit_code == 0, r.stderr
    with Session(engine) as s:
        (cid,) = s.scalars(select(HotspotCluster.id)).all()
    r = CliRunner().invoke(
        app,
        ["fire", "hotspots", "verify", str(cid), "--outcome", "真实火情", "--by", "张三"],
        prog_name="zhizhi",
    )
    assert r.exit_code == 0, r.stderr
    got = json.loads(r.stdout)
    assert (got["outcome"], got["verified_by"], got["verification"]) == ("real_fire", "张三", "verified")
    assert "fire_event_id" not in got and "response" not in got and "hint" not in got
    assert got["response_note"] == "历史热点：仅记录核查结论，不立事件、不启动响应"
    with Session(engine) as s:
        assert s.scalars(select(Event.id).where(Event.category_code == "2206")).all() == []
