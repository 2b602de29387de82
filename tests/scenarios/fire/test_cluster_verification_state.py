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
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.scenarios.fire.test_hotspot_service import FIRE_TABLES, REAL_2022, ZHUTUO
from zhizhi.cli import app
from zhizhi.core import time as ztime
from zhizhi.event import service as events
from zhizhi.event.schemas import TransitionIn
from zhizhi.scenarios.fire import service
from zhizhi.scenarios.fire.models import HotspotCluster
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
