"""The catalogue, task, answer, completion, burden, outside-demand and data-quality routes as a client
uses them, on the GENERATED population of 青峰镇 (conftest); and every role against every one of these
routes: refused (403 naming the permission) exactly when the permission table does not grant it."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine
from tests.conftest import as_user

from zhizhi.core import time as ztime
from zhizhi.core.access import permission_table
from zhizhi.core.db import session_factory
from zhizhi.form.service import task

from .conftest import AS_OF, OTHER_TOWN, TOWN, Population, local_today, next_month

DUTY, OTHER = as_user(f"{TOWN}.duty"), as_user(f"{OTHER_TOWN}.duty")
CHIEF, MZJ, LEADER = as_user("500118.chief"), as_user("500118-MZJ.handler"), as_user("500118.leader")
DIBAO = "mz-dibao-monthly"


def refused(r: Any, permission: str) -> bool:
    """A 403 naming ``permission``."""
    return r.status_code == 403 and r.json()["detail"].endswith(f"({permission})")


def test_a_form_task_over_http(
    client: TestClient, population: Population, role_users: dict[str, str]
) -> None:
    clerk, worker = as_user(role_users["clerk"]), as_user(role_users["grid_worker"])
    due = (task.today() + timedelta(days=2)).isoformat()
    body = {"form_id": DIBAO, "period": "2026-11", "due_date": due, "towns": [TOWN]}
    r = client.post("/api/v1/forms/tasks", json=body, headers=MZJ)
    assert r.status_code == 409 and "not in the catalogue" in r.json()["detail"]
    for who in (DUTY, clerk, MZJ):  # the district keeps the catalogue
        assert refused(client.post(f"/api/v1/forms/catalogue/{DIBAO}/admit", json={}, headers=who),
                       "form.catalogue")  # fmt: skip
    r = client.post(f"/api/v1/forms/catalogue/{DIBAO}/admit", json={}, headers=CHIEF)
    assert r.status_code == 200 and r.json()["status"] == "admitted"
    cat = {e["form_id"]: e["status"] for e in client.get("/api/v1/forms/catalogue", headers=DUTY).json()}
    assert cat[DIBAO] == "admitted" and cat["wj-phs-monthly"] == "not_admitted"
    assert client.get("/api/v1/forms/catalogue", headers=LEADER).status_code == 200
    r = client.get("/api/v1/forms/catalogue", headers=worker)  # a grid has no forms to answer
    assert refused(r, "form.read") and r.json()["detail"].startswith('role "grid_worker" may not')
    assert refused(client.get("/api/v1/forms/tasks", headers=worker), "form.read")
    for who in (DUTY, clerk):  # towns answer tasks; they do not issue them
        assert refused(client.post("/api/v1/forms/tasks", json=body, headers=who), "form.issue")
    start = next_month()
    r = client.post("/api/v1/forms/tasks", json={**body, "period": f"{start:%Y-%m}"}, headers=MZJ)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period"
    assert r.json()["detail"].startswith(f"period {start:%Y-%m} has not started yet (it starts on {start}")
    r = client.post("/api/v1/forms/tasks", json=body, headers=MZJ)
    assert r.status_code == 201, r.text
    t = r.json()
    aid = t["answers"][0]["id"]
    assert [x["id"] for x in client.get("/api/v1/forms/tasks", headers=DUTY).json()] == [t["id"]]
    assert client.get("/api/v1/forms/tasks", headers=OTHER).json() == []
    assert client.get(f"/api/v1/forms/tasks/{t['id']}", headers=OTHER).status_code == 404
    assert client.get(f"/api/v1/forms/answers/{aid}", headers=OTHER).status_code == 404
    r = client.post(f"/api/v1/forms/answers/{aid}/compute", json={"as_of": "2026-11-30"}, headers=OTHER)
    assert r.status_code == 404

    assert refused(client.post(f"/api/v1/forms/answers/{aid}/compute", json={}, headers=MZJ), "form.submit")
    tomorrow = (local_today() + timedelta(days=1)).isoformat()
    r = client.post(f"/api/v1/forms/answers/{aid}/compute", json={"as_of": tomorrow}, headers=DUTY)
    assert r.status_code == 422 and r.json()["detail"].startswith(f"as_of {tomorrow} is in the future")
    r = client.post(f"/api/v1/forms/answers/{aid}/compute", json={"as_of": AS_OF.isoformat()}, headers=DUTY)
    assert r.status_code == 200, r.text
    v = r.json()
    assert (v["state"], v["cells"]["auto"], v["cells"]["typed"]) == ("computed", 63, 126)
    r = client.post(f"/api/v1/forms/answers/{aid}/submit", json={}, headers=DUTY)
    assert (
        r.status_code == 409
        and r.json()["detail"] == "cannot submit an answer that is computed: sign it first"
    )
    adj = {"row": "total", "column": "labour_full", "value": 2, "reason": "按评定台账填写"}
    r = client.post(f"/api/v1/forms/answers/{aid}/adjust", json={**adj, "expected_version": 1}, headers=DUTY)
    assert r.status_code == 409 and r.json()["version"] == 2
    r = client.post(f"/api/v1/forms/answers/{aid}/adjust", json=adj, headers=DUTY)
    assert r.status_code == 200 and r.json()["adjustments"][0]["new"] == 2
    r = client.post(f"/api/v1/forms/answers/{aid}/adjust", json={**adj, "value": "二"}, headers=DUTY)
    assert r.status_code == 422
    for move in ("sign", "submit"):  # the town's clerk (数据员) signs and submits
        r = client.post(f"/api/v1/forms/answers/{aid}/{move}", json={}, headers=clerk)
        assert r.status_code == 200, r.text
    assert r.json()["state"] == "submitted" and r.json()["late"] is False
    assert r.json()["submitted_by"] == role_users["clerk"]
    seen = client.get(f"/api/v1/forms/answers/{aid}", headers=MZJ).json()
    assert seen["rows"][0]["values"][7] == 2  # 合计, column 8 (完全丧失) as typed

    m = client.get("/api/v1/forms/completion", params={"period": "2026-11"}, headers=LEADER).json()
    row = next(x for x in m["towns"] if x["code"] == TOWN)
    assert row["cells"] == [{"answer_id": aid, "state": "submitted", "status": "on_time"}]
    assert m["total"] == {"asked": 1, "submitted": 1, "on_time": 1, "late": 0, "overdue": 0}
    assert refused(client.get("/api/v1/forms/completion", headers=worker), "form.read")

    today = task.today().isoformat()
    d = {
        "requester": "区某局",
        "what": "统计辖区快递网点",
        "asked_on": today,
        "channel": "meeting",
        "items": 5,
    }
    assert client.post("/api/v1/forms/outside-demands", json=d, headers=DUTY).status_code == 201
    r = client.post("/api/v1/forms/outside-demands", json={**d, "channel": "fax"}, headers=DUTY)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "channel"
    month = ztime.to_local(ztime.utcnow()).strftime("%Y-%m")
    b = client.get("/api/v1/forms/burden", params={"period": month}, headers=CHIEF).json()
    mine = next(x for x in b["towns"] if x["code"] == TOWN)
    assert (mine["submissions"], mine["cells_auto"], mine["cells_typed"], mine["outside_demands"]) == (
        1,
        63,
        126,
        1,
    )
    assert mine["auto_share"] == 33.3 and mine["outside_items"] == 5
    r = client.get("/api/v1/forms/burden", params={"period": "2026-13"}, headers=CHIEF)
    assert r.status_code == 422 and "give a month" in r.json()["detail"]
    listed = client.get("/api/v1/forms/outside-demands", params={"period": month}, headers=OTHER).json()
    assert listed == []


def test_the_data_quality_of_a_town(client: TestClient, population: Population) -> None:
    r = client.get("/api/v1/registry/quality", params={"org": TOWN, "limit": 5}, headers=DUTY)
    assert r.status_code == 200, r.text
    q = r.json()
    assert q["org"] == TOWN and q["level"] == "town" and len(q["areas"]) == len(population.villages)
    # the generated people have no phone and no address: warnings on every one of them (and no errors
    # of identity); the two dead with benefit tags are found
    assert q["problems_total"] >= len(population.people) and len(q["problems"]) == 5
    assert all("********" in p["subject"] for p in q["problems"] if p["register"] == "resident")
    assert client.get("/api/v1/registry/quality", params={"org": TOWN}, headers=OTHER).status_code == 404
    r = client.get("/api/v1/registry/quality", params={"org": TOWN, "rule": "nope"}, headers=DUTY)
    assert r.status_code == 422


# --- every role × every route of this module ----------------------------------------------------------

PREFIXES = tuple(
    f"/api/v1/{p}"
    for p in (
        "forms/catalogue",
        "forms/tasks",
        "forms/answers",
        "forms/completion",
        "forms/outside-demands",
        "forms/burden",
        "registry/quality",
    )  # fmt: skip
)


def _permission(route: APIRoute) -> str | None:
    stack = list(route.dependant.dependencies)
    while stack:
        d = stack.pop()
        p = getattr(d.call, "permission", None)
        if p:
            return str(p)
        stack.extend(d.dependencies)
    return None


def _routes(client: TestClient) -> dict[tuple[str, str], str | None]:
    out: dict[tuple[str, str], str | None] = {}
    for ctx in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        r, path = ctx.route, str(ctx.path)
        if isinstance(r, APIRoute) and path.startswith(PREFIXES):
            for m in r.methods or ():
                out[(m, path)] = _permission(r)
    return out


@pytest.fixture(scope="module")
def role_users(engine: Engine) -> Iterator[dict[str, str]]:
    from zhizhi.auth import service as auth
    from zhizhi.org.models import OrgUnit, Staff

    with session_factory(engine)() as s:
        grid = s.scalar(
            select(OrgUnit.code)
            .where(OrgUnit.level == "grid", OrgUnit.town_code == TOWN)
            .order_by(OrgUnit.code)
        )
        for name, role, unit in (
            ("f.gridleader", "grid_leader", grid),
            ("f.admin", "admin", "500118-CYZX"),
            ("f.clerk", "clerk", f"{TOWN}-ZHZX"),
        ):
            if s.scalar(select(Staff).where(Staff.username == name)) is None:
                auth.add_user(s, name, name, role, str(unit))
        s.commit()
    users = {
        "grid_worker": f"{grid}.worker", "grid_leader": "f.gridleader", "town_duty": f"{TOWN}.duty",
        "board_staff": f"{TOWN}-MS.staff", "clerk": "f.clerk", "dept_handler": "500118-MZJ.handler",
        "center_duty": "500118.duty", "center_chief": "500118.chief", "leader": "500118.leader",
        "admin": "f.admin", "system": "500118.system",
    }  # fmt: skip
    assert set(users) == set(permission_table().roles)
    yield users


def test_every_role_is_refused_exactly_where_the_table_says(
    client: TestClient, role_users: dict[str, str]
) -> None:
    found = _routes(client)
    assert len(found) == 18 and all(found.values()), found
    wrong: list[Any] = []
    for (method, path), perm in sorted(found.items()):
        url = path.replace("{form_id}", DIBAO).replace("{task_id}", "999999").replace("{answer_id}", "999999")
        for role, user in role_users.items():
            # a body no route accepts (422) and no required query: nothing is written by anyone
            r = client.request(
                method, url, headers=as_user(user), json={"nothing": 1} if method == "POST" else None
            )
            refused = r.status_code == 403 and f"({perm})" in r.json().get("detail", "")
            if refused == permission_table().allows(role, str(perm)) or r.status_code >= 500:
                wrong.append((method, path, role, perm, r.status_code, r.text[:100]))
    assert wrong == []
