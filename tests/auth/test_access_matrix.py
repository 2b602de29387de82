"""The access matrix (issue 3): every endpoint of the OpenAPI schema is classified here, and the
classification is checked. A new endpoint fails the first test until it is added with its rule."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import Engine

from zhizhi.core import http
from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_factory
from zhizhi.event.models import EventTask

PUBLIC = "public"  # no credentials: public reference data, or GeoReport's public civic API
AUTH = "auth"  # any signed-in user; rows limited to the caller's scope in the query
EVENT = "event"  # one event by id: out of the caller's scope it is 404, never 403 (no existence leak);
# a unit that sees it only through a pre-plan task reads it, moves are 403 (TASKED_EXPECT)
ROLE = "role"  # a role check first (403 for others), then scope

MATRIX: dict[tuple[str, str], str] = {
    ("POST", "/api/v1/auth/login"): PUBLIC,
    ("POST", "/api/v1/auth/logout"): AUTH,
    ("GET", "/api/v1/auth/me"): AUTH,
    ("GET", "/api/v1/audit"): ROLE,
    ("GET", "/api/v1/audit/verify"): ROLE,
    ("GET", "/api/v1/org/stats"): PUBLIC,
    ("GET", "/api/v1/org/units"): PUBLIC,
    ("GET", "/api/v1/org/units/{code}"): PUBLIC,
    ("GET", "/api/v1/org/locate"): PUBLIC,
    ("GET", "/api/v1/org/geojson"): AUTH,
    ("GET", "/api/v1/categories"): PUBLIC,
    ("GET", "/api/v1/transitions"): PUBLIC,
    ("GET", "/api/v1/preplans"): PUBLIC,
    ("POST", "/api/v1/events"): AUTH,
    ("GET", "/api/v1/events"): AUTH,
    ("GET", "/api/v1/events/{event_id}"): EVENT,
    ("POST", "/api/v1/events/{event_id}/transitions"): EVENT,
    ("POST", "/api/v1/events/{event_id}/personal"): ROLE,
    ("POST", "/api/v1/events/{event_id}/attachments"): EVENT,
    ("GET", "/api/v1/events/{event_id}/attachments/{attachment_id}"): EVENT,
    ("POST", "/api/v1/events/{event_id}/merge"): EVENT,
    ("POST", "/api/v1/events/{event_id}/preplans/{code}"): ROLE,
    ("POST", "/api/v1/tasks/{task_id}/done"): AUTH,
    ("GET", "/api/v1/tasks"): AUTH,
    ("POST", "/api/v1/supervisions/{supervision_id}/reply"): AUTH,
    ("GET", "/api/v1/routing-rules"): AUTH,
    ("POST", "/api/v1/routing-rules"): ROLE,
    ("DELETE", "/api/v1/routing-rules/{rule_id}"): ROLE,
    ("GET", "/api/v1/kpis"): AUTH,
    ("GET", "/api/v1/rankings"): AUTH,
    ("GET", "/api/v1/screen/summary"): AUTH,
    ("GET", "/api/v1/kpis/export.xlsx"): AUTH,
    ("POST", "/api/v1/ops/sweep"): ROLE,
    ("POST", "/api/v1/registry/validate"): AUTH,
    ("POST", "/api/v1/registry/residents"): ROLE,
    ("GET", "/api/v1/registry/residents"): ROLE,
    ("GET", "/api/v1/registry/residents/{resident_id}"): ROLE,
    ("GET", "/api/v1/registry/residents/{resident_id}/history"): ROLE,
    ("POST", "/api/v1/registry/residents/{resident_id}/personal"): ROLE,
    ("POST", "/api/v1/registry/households"): ROLE,
    ("POST", "/api/v1/registry/houses"): ROLE,
    ("POST", "/api/v1/registry/units"): ROLE,
    ("GET", "/api/v1/registry/counts"): ROLE,
    ("GET", "/api/v1/registry/conflicts"): ROLE,
    ("POST", "/api/v1/registry/conflicts/{conflict_id}/resolve"): ROLE,
    ("GET", "/api/v1/forms"): ROLE,
    ("GET", "/api/v1/forms/{form_id}/render"): ROLE,
    ("GET", "/api/v1/forms/catalogue"): ROLE,
    ("POST", "/api/v1/forms/catalogue/{form_id}/admit"): ROLE,
    ("POST", "/api/v1/forms/catalogue/{form_id}/withdraw"): ROLE,
    ("POST", "/api/v1/forms/tasks"): ROLE,
    ("GET", "/api/v1/forms/tasks"): ROLE,
    ("GET", "/api/v1/forms/tasks/{task_id}"): ROLE,
    ("GET", "/api/v1/forms/answers/{answer_id}"): ROLE,
    ("POST", "/api/v1/forms/answers/{answer_id}/compute"): ROLE,
    ("POST", "/api/v1/forms/answers/{answer_id}/adjust"): ROLE,
    ("POST", "/api/v1/forms/answers/{answer_id}/sign"): ROLE,
    ("POST", "/api/v1/forms/answers/{answer_id}/submit"): ROLE,
    ("GET", "/api/v1/forms/completion"): ROLE,
    ("POST", "/api/v1/forms/outside-demands"): ROLE,
    ("GET", "/api/v1/forms/outside-demands"): ROLE,
    ("GET", "/api/v1/forms/burden"): ROLE,
    ("GET", "/api/v1/registry/quality"): ROLE,
    ("POST", "/api/v1/registry/quality/send"): ROLE,
    ("POST", "/api/v1/registry/quality/recheck"): ROLE,
    ("GET", "/api/v1/fire/danger"): AUTH,
    ("GET", "/api/v1/fire/danger/geojson"): AUTH,
    ("GET", "/api/v1/fire/bulletin"): AUTH,
    ("GET", "/api/v1/fire/kpis"): AUTH,
    ("GET", "/api/v1/fire/hotspots"): AUTH,
    ("GET", "/api/v1/fire/clusters"): AUTH,
    ("GET", "/api/v1/fire/clusters/{cluster_id}"): AUTH,
    ("POST", "/api/v1/fire/clusters/{cluster_id}/verify"): ROLE,
    ("POST", "/api/v1/fire/hotspots/import"): ROLE,
    ("GET", "/api/v1/fire/static-sources"): ROLE,
    ("POST", "/api/v1/fire/static-sources"): ROLE,
    ("POST", "/api/v1/fire/static-sources/{source_id}/accept"): ROLE,
    ("POST", "/api/v1/fire/static-sources/{source_id}/reject"): ROLE,
    ("POST", "/api/v1/fire/drills"): ROLE,
    ("GET", "/api/v1/fire/drills/{event_id}"): EVENT,
    ("GET", "/api/v1/fire/resources"): AUTH,
    ("GET", "/api/v1/fire/resources/geojson"): AUTH,
    ("GET", "/api/v1/fire/resources/{resource_id}"): AUTH,
    ("POST", "/api/v1/fire/resources"): ROLE,
    ("PATCH", "/api/v1/fire/resources/{resource_id}"): ROLE,
    ("DELETE", "/api/v1/fire/resources/{resource_id}"): ROLE,
    ("POST", "/api/v1/fire/resources/import"): ROLE,
    ("GET", "/api/v1/fire/events/{event_id}/nearest"): EVENT,
    ("POST", "/api/v1/fire/events/{event_id}/respond"): EVENT,
    ("GET", "/api/v1/fire/events/{event_id}/record"): EVENT,
    ("PUT", "/api/v1/fire/events/{event_id}/record"): ROLE,
    ("GET", "/api/v1/fire/hazards"): AUTH,
    ("POST", "/api/v1/fire/hazards"): ROLE,
    ("GET", "/api/v1/fire/hazards/{hazard_id}"): AUTH,
    ("POST", "/api/v1/fire/hazards/{hazard_id}/rectify"): ROLE,
    ("POST", "/api/v1/fire/hazards/{hazard_id}/close"): ROLE,
    ("GET", "/api/v1/fire/patrols"): AUTH,
    ("POST", "/api/v1/fire/patrols"): ROLE,
    ("GET", "/api/v1/fire/patrols/{patrol_id}"): AUTH,
    ("GET", "/open311/v2/services.{fmt}"): PUBLIC,
    ("GET", "/open311/v2/services/{code}.{fmt}"): PUBLIC,
    ("POST", "/open311/v2/requests.{fmt}"): PUBLIC,
    ("GET", "/open311/v2/requests.{fmt}"): PUBLIC,
    ("GET", "/open311/v2/requests/{request_id}.{fmt}"): PUBLIC,
}

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def call(client: TestClient, method: str, path: str, headers: dict[str, str], eid: int = 1) -> Any:
    url = (
        path.replace("{event_id}", str(eid))
        .replace("{code}", "waterlogging")
        .replace("{task_id}", "1")
        .replace("{supervision_id}", "1")
        .replace("{rule_id}", "1")
        .replace("{fmt}", "json")
        .replace("{request_id}", "1")
        .replace("{attachment_id}", "1")
    )
    kw: dict[str, Any] = {"headers": headers}
    if method == "POST":
        if path.endswith("/attachments"):
            kw["files"] = {"file": ("p.png", PNG, "image/png")}
        elif path.endswith("/merge"):
            url += f"?parent_id={eid}"
        elif path.endswith("/transitions"):
            kw["json"] = {"action": "accept"}
        elif path.endswith("/personal"):
            kw["json"] = {"reason": "核实诉求"}
        elif path.endswith("/reply"):
            kw["json"] = {"reply": "已处理"}
        elif path == "/api/v1/events":
            kw["json"] = {"category_code": "0101", "title": "x", "lon": 105.898213, "lat": 29.352365}
        elif path == "/api/v1/routing-rules":
            kw["json"] = {"unit_code": "500118-CGJ", "category_code": "0101"}
    return client.request(method, url, **kw)


def test_every_endpoint_is_in_the_matrix(client: TestClient) -> None:
    schema = {(m.upper(), p) for p, ops in client.app.openapi()["paths"].items() for m in ops}  # type: ignore[attr-defined]
    assert schema - set(MATRIX) == set(), "new endpoint: classify it in MATRIX with its access rule"
    assert set(MATRIX) - schema == set(), "endpoint gone: remove it from MATRIX"


@pytest.fixture
def strict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(get_settings(), "trust_user_header", False)
    http._actors.clear()


@pytest.mark.parametrize(("method", "path"), [k for k, v in MATRIX.items() if v != PUBLIC])
def test_without_credentials_every_protected_endpoint_is_401(
    client: TestClient, strict: None, method: str, path: str
) -> None:
    r = call(client, method, path, {})
    assert r.status_code == 401, (method, path, r.status_code, r.text)


@pytest.mark.parametrize(("method", "path"), [k for k, v in MATRIX.items() if v == EVENT])
@pytest.mark.parametrize("outsider", ["500118002000.duty", "500118002000-MS.staff", "500118-STHJ.handler"])
def test_an_event_outside_the_scope_is_404(client: TestClient, method: str, path: str, outsider: str) -> None:
    ev = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "中山路的事件", "lon": 105.898213, "lat": 29.352365},
        headers={"X-Zhizhi-User": "500118.duty"},
    ).json()
    assert ev["town_code"] == "500118001000"
    r = call(client, method, path, {"X-Zhizhi-User": outsider}, ev["id"])
    # 404: the event does not exist for them; a refusal by role alone (the same for every id) is fine too
    by_role = r.status_code == 403 and 'role "' in r.json()["detail"]
    assert r.status_code == 404 or by_role, (method, path, outsider, r.status_code, r.text)
    after = client.get(f"/api/v1/events/{ev['id']}", headers={"X-Zhizhi-User": "500118.duty"}).json()
    assert (after["node"], after["version"], len(after["timeline"]), after["attachments"]) == (
        "reported",
        ev["version"],
        1,
        [],
    )


TASKED_EXPECT = {
    ("GET", "/api/v1/events/{event_id}"): 200,
    ("POST", "/api/v1/events/{event_id}/transitions"): 403,
    ("POST", "/api/v1/events/{event_id}/attachments"): 201,
    ("GET", "/api/v1/events/{event_id}/attachments/{attachment_id}"): 404,  # attachment 1 is not its
    ("POST", "/api/v1/events/{event_id}/merge"): 403,
    ("GET", "/api/v1/fire/drills/{event_id}"): 422,  # not a drill
    ("GET", "/api/v1/fire/events/{event_id}/nearest"): 200,
    ("POST", "/api/v1/fire/events/{event_id}/respond"): 403,  # starts a pre-plan: a move
    ("GET", "/api/v1/fire/events/{event_id}/record"): 404,  # no fire record yet
}
"""What a unit tasked on a fire event (森林火情) outside its scope gets on each EVENT route (联动任务:
a fire team's task for the center of another town): it sees the event, a move is 403
``event.task_only``."""


@pytest.mark.parametrize(("method", "path"), [k for k, v in MATRIX.items() if v == EVENT])
def test_a_unit_tasked_on_an_event_outside_its_scope_reads_it_and_moves_nothing(
    client: TestClient, engine: Engine, method: str, path: str
) -> None:
    assert set(TASKED_EXPECT) == {k for k, v in MATRIX.items() if v == EVENT}, "classify the new route"
    duty = {"X-Zhizhi-User": "500118.duty"}
    ev = client.post(
        "/api/v1/events",
        json={"category_code": "2206", "title": "中山路的火情", "lon": 105.898213, "lat": 29.352365},
        headers=duty,
    ).json()
    with session_factory(engine)() as s:
        now = ztime.utcnow()
        s.add(
            EventTask(
                event_id=ev["id"], unit_code="500118002000-ZHZX", role="town_duty", task="扑火队出动",
                created_at=now, deadline=now,
            )
        )  # fmt: skip
        s.commit()
    r = call(client, method, path, {"X-Zhizhi-User": "500118002000.duty"}, ev["id"])
    assert r.status_code == TASKED_EXPECT[(method, path)], (method, path, r.status_code, r.text)
    if r.status_code == 403:
        assert r.json()["code"] == "event.task_only"
    after = client.get(f"/api/v1/events/{ev['id']}", headers=duty).json()
    assert (after["node"], after["version"]) == ("reported", ev["version"])


def test_a_grid_worker_sees_only_the_own_grid(client: TestClient) -> None:
    duty = {"X-Zhizhi-User": "500118.duty"}
    here = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "本网格", "lon": 105.898213, "lat": 29.352365},
        headers=duty,
    ).json()
    there = client.post(
        "/api/v1/events",
        json={"category_code": "0101", "title": "外镇", "town_code": "500118002000"},
        headers=duty,
    ).json()
    worker = {"X-Zhizhi-User": f"{here['grid_code']}.worker"}
    listed = client.get("/api/v1/events", headers=worker).json()
    assert [e["id"] for e in listed["items"]] == [here["id"]] and listed["total"] == 1
    assert client.get(f"/api/v1/events/{there['id']}", headers=worker).status_code == 404
    kpis = client.get("/api/v1/kpis", params={"by": "town"}, headers=worker).json()
    assert [r["code"] for r in kpis["rows"]] == ["500118001000"] and kpis["total"]["counts"]["reported"] == 1


@pytest.mark.parametrize(
    ("method", "path", "who"),
    [
        ("GET", "/api/v1/audit", "500118.duty"),
        ("GET", "/api/v1/audit/verify", "500118001000.duty"),
        ("POST", "/api/v1/routing-rules", "500118001000.duty"),
        ("DELETE", "/api/v1/routing-rules/{rule_id}", "500118-CGJ.handler"),
        ("POST", "/api/v1/ops/sweep", "500118.leader"),
        ("POST", "/api/v1/events/{event_id}/personal", "500118.duty"),
        ("POST", "/api/v1/events/{event_id}/preplans/{code}", "500118-CGJ.handler"),
        ("POST", "/api/v1/fire/hotspots/import", "500118001000.duty"),
        ("POST", "/api/v1/fire/clusters/{cluster_id}/verify", "500118.leader"),
        ("GET", "/api/v1/fire/static-sources", "500118001000.duty"),
        ("POST", "/api/v1/fire/static-sources/{source_id}/accept", "500118001000.duty"),
    ],
)
def test_role_checked_endpoints_refuse_other_roles(
    client: TestClient, method: str, path: str, who: str
) -> None:
    r = call(client, method, path, {"X-Zhizhi-User": who})
    assert r.status_code == 403, (method, path, who, r.status_code, r.text)
