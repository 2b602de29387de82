"""The registers over HTTP (``/api/v1/registry/…``), as the demo staff use them: writes with conflicts,
masked and scoped reads, counts that reproduce, the audited full view, permissions and the data
scope (404 for rows outside it; one refusal for writes outside it that discloses nothing).

Every person here is GENERATED (see conftest): invented names, IDs with the 永川区 prefix and a valid
GB 11643 check character, phones in the 138-0000 block.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.engine import Engine

from zhizhi.core.audit import AuditRow
from zhizhi.core.db import session_factory
from zhizhi.registry.identifiers.scan import find_identifiers

from .conftest import GRID1, GRID2, GRID3, OTHER_TOWN_GRID, TOWN, VILLAGE, VILLAGE2, gen_id

URL = "/api/v1/registry"
SYSTEM, DUTY, CHIEF = "500118.system", "500118.duty", "500118.chief"
TOWN_DUTY, OTHER_TOWN_DUTY = f"{TOWN}.duty", "500118002000.duty"
WORKER, WORKER2 = f"{GRID1}.worker", f"{GRID2}.worker"
MZJ, LEADER = "500118-MZJ.handler", "500118.leader"
GONGAN = "import:gongan-hukou"


def as_(user: str) -> dict[str, str]:
    return {"X-Zhizhi-User": user}


def person(seq: int, birth: str = "19800101", **kw: Any) -> dict[str, Any]:
    return {"citizen_id": gen_id(birth, seq), "name": "张测试", "grid_code": GRID1, **kw}


def post(client: TestClient, user: str, body: dict[str, Any], source: str = GONGAN, **kw: Any) -> Any:
    return client.post(f"{URL}/residents", json={**body, "source": source, **kw}, headers=as_(user))


def leaks(payload: Any) -> list[str]:
    text = json.dumps(payload, ensure_ascii=False)
    return [f"{f.kind}:{f.value}" for f in find_identifiers(text)]


def test_write_read_count_and_history_masked(client: TestClient) -> None:
    r = post(
        client, SYSTEM,
        person(1, "19400501", phone="13800001234", address="中山路1号 电话13800009999", tags=["高龄", "低保"],
               ethnicity="汉族"),
        valid_from="2026-01-01",
    )  # fmt: skip
    assert r.status_code == 201, r.text
    out = r.json()
    assert (out["kind"], out["created"], out["conflicts"]) == ("resident", True, [])
    assert sorted(out["applied"]) == [
        "address", "ethnicity", "grid_code", "name", "phone", "status", "tag:dibao", "tag:gaoling",
        "village_code",
    ]  # fmt: skip
    rid = out["id"]
    again = post(client, SYSTEM, person(1, "19400501", phone="13800005678"), valid_from="2026-03-01")
    assert again.status_code == 200 and again.json()["applied"] == ["phone"]
    assert post(client, SYSTEM, person(3, grid_code=GRID3), valid_from="2026-01-01").status_code == 201

    listed = client.get(f"{URL}/residents", params={"as_of": "2026-11-30"}, headers=as_(TOWN_DUTY)).json()
    assert (listed["total"], listed["limit"], listed["offset"]) == (2, 100, 0)
    first = listed["items"][0]
    assert first["citizen_id"] == f"500118********{gen_id('19400501', 1)[-4:]}"
    assert (first["name"], first["phone"], first["age"]) == ("张**", "138****5678", 86)
    assert first["address"] == "中山路1号 电话138****9999" and first["tags"] == ["dibao", "gaoling"]
    filtered = client.get(
        f"{URL}/residents",
        params={"tag": "gaoling", "min_age": 80, "village": VILLAGE},
        headers=as_(TOWN_DUTY),
    ).json()
    assert [i["id"] for i in filtered["items"]] == [rid]
    assert client.get(f"{URL}/residents", params={"grid": GRID2}, headers=as_(TOWN_DUTY)).json()["total"] == 0

    detail = client.get(f"{URL}/residents/{rid}", params={"as_of": "2026-02-01"}, headers=as_(DUTY)).json()
    assert detail["phone"] == "138****1234"  # the value in force on that day
    assert detail["provenance"]["phone"]["source"] == GONGAN
    assert detail["provenance"]["phone"]["valid_from"] == "2026-01-01"
    assert set(detail["provenance"]) >= {"name", "grid_code", "tag:dibao"}
    hist = client.get(f"{URL}/residents/{rid}/history", headers=as_(DUTY)).json()
    assert [(h["valid_from"], h["source"]) for h in hist] == [("2026-01-01", GONGAN), ("2026-03-01", GONGAN)]
    assert hist[1]["new"] == {"phone": "138****5678"} and hist[1]["old"] == {"phone": "138****1234"}

    by = {
        b: client.get(f"{URL}/counts", params={"by": b, "as_of": "2026-11-30"}, headers=as_(DUTY)).json()
        for b in ("village", "grid", "tag", "age_band", "status", "total")
    }
    assert by["village"]["counts"] == {VILLAGE: 1, VILLAGE2: 1}
    assert by["grid"]["counts"] == {GRID1: 1, GRID3: 1}
    assert {k: n for k, n in by["tag"]["counts"].items() if n} == {"dibao": 1, "gaoling": 1}
    assert by["age_band"]["counts"] == {"0-17": 0, "18-59": 1, "60-79": 0, "80+": 1}
    assert by["status"]["counts"] == {"active": 2} and by["total"]["counts"] == {"total": 2}
    assert by["village"]["as_of"] == "2026-11-30" and by["village"]["known_at"] is None
    for payload in (listed, filtered, detail, hist, by, out):
        assert leaks(payload) == []


def test_counts_as_known_at_a_moment_reproduce(client: TestClient) -> None:
    post(client, SYSTEM, person(1), valid_from="2026-01-01")
    post(client, SYSTEM, person(3, grid_code=GRID3), valid_from="2026-01-01")
    now = client.get(f"{URL}/counts", params={"by": "village", "as_of": "2026-10-31"}, headers=as_(DUTY))
    at = datetime.now(UTC).isoformat()  # after those writes, before the next one
    # a backdated death recorded later changes today's answer, not the answer as known then
    r = post(
        client, SYSTEM, {"citizen_id": gen_id("19800101", 3), "status": "死亡", "status_date": "2026-09-15"}
    )
    assert r.status_code == 200, r.text
    params = {"by": "village", "as_of": "2026-10-31"}
    later = client.get(f"{URL}/counts", params=params, headers=as_(DUTY)).json()
    then = client.get(f"{URL}/counts", params={**params, "known_at": at}, headers=as_(DUTY)).json()
    assert now.json()["counts"] == then["counts"] == {VILLAGE: 1, VILLAGE2: 1}
    assert later["counts"] == {VILLAGE: 1} and then["known_at"] == at
    naive = client.get(
        f"{URL}/counts", params={**params, "known_at": "2026-11-01T08:00:00"}, headers=as_(DUTY)
    )
    assert naive.status_code == 422 and "known_at must be timezone-aware" in naive.json()["detail"]


def test_conflicts_are_listed_masked_and_decided_by_roles_that_may(client: TestClient) -> None:
    rid = post(client, SYSTEM, person(1, phone="13800001234")).json()["id"]
    r = post(client, WORKER, person(1, name="张测试改"), source=f"grid:{GRID1}")
    assert r.status_code == 200 and r.json()["applied"] == [] and len(r.json()["conflicts"]) == 1
    cid = r.json()["conflicts"][0]
    listed = client.get(f"{URL}/conflicts", headers=as_(TOWN_DUTY)).json()
    assert listed["total"] == 1 and (listed["limit"], listed["offset"]) == (100, 0)
    (c,) = listed["items"]
    assert (c["id"], c["entity_id"], c["field"], c["current"], c["proposed"]) == (
        cid,
        rid,
        "name",
        "张**",
        "张***",
    )
    assert (c["current_source"], c["proposed_source"], c["status"]) == (GONGAN, f"grid:{GRID1}", "open")
    assert client.get(f"{URL}/conflicts", headers=as_(WORKER)).json()["total"] == 1  # the grid sees it
    assert client.get(f"{URL}/conflicts", headers=as_(OTHER_TOWN_DUTY)).json()["total"] == 0
    resolve = f"{URL}/conflicts/{cid}/resolve"
    for user, role in ((WORKER, "grid_worker"), (DUTY, "center_duty"), (LEADER, "leader")):
        r = client.post(resolve, json={"accept": True}, headers=as_(user))
        assert r.status_code == 403 and f'role "{role}"' in r.json()["detail"], r.text
        assert "(registry.resolve)" in r.json()["detail"]
    r = client.post(resolve, json={"accept": True}, headers=as_(OTHER_TOWN_DUTY))
    assert r.status_code == 404  # another town's conflict does not exist for them
    r = client.post(
        resolve, json={"accept": True, "note": "核实户籍照片，来电13800001234"}, headers=as_(TOWN_DUTY)
    )
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["resolved_by"]) == ("accepted", TOWN_DUTY)
    assert r.json()["note"] == "核实户籍照片，来电138****1234"
    assert client.get(f"{URL}/residents/{rid}", headers=as_(TOWN_DUTY)).json()["name"] == "张***"
    again = client.post(resolve, json={"accept": False}, headers=as_(TOWN_DUTY))
    assert again.status_code == 409 and "already accepted" in again.json()["detail"]
    assert (
        client.get(f"{URL}/conflicts", params={"status": "all"}, headers=as_(TOWN_DUTY)).json()["total"] == 1
    )
    bad = client.get(f"{URL}/conflicts", params={"entity": "planet"}, headers=as_(TOWN_DUTY))
    assert bad.status_code == 422


def test_full_view_is_for_full_view_roles_in_scope_with_a_reason_and_audited(
    client: TestClient, engine: Engine
) -> None:
    cid = gen_id("19800101", 1)
    rid = post(client, SYSTEM, person(1, phone="13800001234", address="中山路1号")).json()["id"]
    url = f"{URL}/residents/{rid}/personal"
    for user, role in ((DUTY, "center_duty"), (TOWN_DUTY, "town_duty"), (WORKER, "grid_worker")):
        r = client.post(url, json={"reason": "核实低保申请"}, headers=as_(user))
        assert r.status_code == 403 and f'role "{role}"' in r.json()["detail"]
        assert "(personal.full_view)" in r.json()["detail"]
    assert client.post(url, json={"reason": "看"}, headers=as_(CHIEF)).status_code == 422
    assert client.post(f"{URL}/residents/999999/personal", json={"reason": "核实低保申请"},
                       headers=as_(CHIEF)).status_code == 404  # fmt: skip
    with session_factory(engine)() as s:
        before = s.scalar(select(AuditRow.id).order_by(AuditRow.id.desc()).limit(1)) or 0
    r = client.post(url, json={"reason": "核实低保申请"}, headers=as_(CHIEF))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    assert r.json() == {
        "id": rid, "citizen_id": cid, "name": "张测试", "phone": "13800001234", "address": "中山路1号",
        "valid_from": r.json()["valid_from"],
    }  # fmt: skip
    with session_factory(engine)() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.id > before)).all()
    assert [
        (a.actor, a.actor_role, a.action, a.object_type, a.object_id, a.reason, a.scope) for a in rows
    ] == [
        (CHIEF, "center_chief", "personal.full_view", "resident", str(rid), "核实低保申请", "district:500118")
    ]
    assert cid not in json.dumps([a.fields() for a in rows], ensure_ascii=False)  # the log holds no ID


def test_rows_outside_the_scope_are_404_and_roles_without_read_403(client: TestClient) -> None:
    mine = post(client, SYSTEM, person(1)).json()["id"]
    other = post(client, SYSTEM, person(3, grid_code=GRID2)).json()["id"]
    far = post(client, SYSTEM, person(5, grid_code=OTHER_TOWN_GRID)).json()["id"]
    assert client.get(f"{URL}/residents", headers=as_(WORKER)).json()["total"] == 1
    for rid in (other, far, 999_999):
        for path in (f"{URL}/residents/{rid}", f"{URL}/residents/{rid}/history"):
            r = client.get(path, headers=as_(WORKER))
            assert r.status_code == 404, (path, r.text)
            # the same words whether the person is elsewhere or nowhere
            assert re.fullmatch(r"resident \d+ not found( on 2\d{3}-\d\d-\d\d)?", r.json()["detail"])
    assert client.get(f"{URL}/residents/{mine}", headers=as_(WORKER)).status_code == 200
    assert client.get(f"{URL}/residents/{far}", headers=as_(TOWN_DUTY)).status_code == 404
    assert client.get(f"{URL}/residents/{far}", headers=as_(OTHER_TOWN_DUTY)).status_code == 200
    assert client.get(f"{URL}/counts", params={"by": "total"}, headers=as_(WORKER)).json()["counts"] == {
        "total": 1
    }
    r = client.get(f"{URL}/residents", headers=as_(LEADER))
    assert r.status_code == 403 and r.json()["detail"].startswith('role "leader" may not')
    assert "(registry.read)" in r.json()["detail"]
    r = client.post(f"{URL}/residents", json={**person(7), "source": GONGAN}, headers=as_(DUTY))
    assert r.status_code == 403 and "(registry.write)" in r.json()["detail"]  # the center reads only


def _answer(r: Any) -> tuple[int, Any]:
    body = r.json()
    body.pop("instance", None)
    return r.status_code, body


def test_a_grid_worker_learns_nothing_about_people_outside_the_grid(client: TestClient) -> None:
    """A person registered in another grid is, for the grid worker, a person not on the register."""
    elsewhere = gen_id("19800101", 3)
    nowhere = gen_id("19800101", 9)
    post(client, SYSTEM, {"citizen_id": elsewhere, "name": "李测试", "grid_code": GRID2, "status": "死亡",
                          "status_date": "2026-05-01"}, valid_from="2026-01-01")  # fmt: skip
    client.post(f"{URL}/households", json={"number": "500118200002", "grid_code": GRID2, "source": GONGAN},
                headers=as_(SYSTEM))  # fmt: skip
    src = f"grid:{GRID1}"
    # a partial update: "required for a new resident", for both
    a = _answer(post(client, WORKER, {"citizen_id": elsewhere, "phone": "13800001234"}, src))
    b = _answer(post(client, WORKER, {"citizen_id": nowhere, "phone": "13800001234"}, src))
    assert a == b and a[0] == 422 and a[1]["detail"] == "resident: name: required for a new resident"
    # a status the stored person could not take is not checked against a history the worker cannot see
    a = _answer(post(client, WORKER, {"citizen_id": elsewhere, "status": "在册"}, src))
    assert a == b
    # a complete record for the own grid: the one out-of-scope refusal, the same as for a new person
    # proposed for another grid, naming only the worker's own scope
    refused = _answer(post(client, WORKER, {"citizen_id": elsewhere, "name": "李测试"}, src))
    other_grid = _answer(
        post(client, WORKER, {"citizen_id": nowhere, "name": "王测试", "grid_code": GRID2}, src)
    )
    assert refused == other_grid and refused[0] == 403
    assert refused[1]["detail"] == (
        f"outside your data scope (grid {GRID1}): you may write only records located there"
    )
    # a household of another grid is "not registered", like one that does not exist
    a = _answer(post(client, WORKER, {**person(11), "household_number": "500118200002"}, src))
    b = _answer(post(client, WORKER, {**person(11), "household_number": "500118299999"}, src))
    assert a[0] == b[0] == 422
    assert a[1]["errors"][0]["reason"].replace("200002", "X") == b[1]["errors"][0]["reason"].replace(
        "299999", "X"
    )
    # and a household head elsewhere is "no resident with this citizen ID", like a stranger
    a = _answer(client.post(f"{URL}/households", json={"number": "500118100001", "head_citizen_id": elsewhere,
                                                      "source": src}, headers=as_(WORKER)))  # fmt: skip
    b = _answer(client.post(f"{URL}/households", json={"number": "500118100001", "head_citizen_id": nowhere,
                                                      "source": src}, headers=as_(WORKER)))  # fmt: skip
    assert a == b and a[0] == 422 and "no resident with this citizen ID" in a[1]["detail"]
    # nothing was stored for the person elsewhere; the worker of that grid sees the same person unchanged
    hist = client.get(f"{URL}/residents", params={"status": "any"}, headers=as_(WORKER2)).json()["items"]
    assert [(i["status"], i["phone"]) for i in hist] == [("deceased", None)]


def test_households_houses_and_units(client: TestClient) -> None:
    r = client.post(f"{URL}/households", json={"number": "500118000001", "grid_code": GRID1, "kind": "家庭户",
                                               "source": GONGAN}, headers=as_(TOWN_DUTY))  # fmt: skip
    assert r.status_code == 201 and r.json()["kind"] == "household"
    house = {"code": "yc-0001", "use": "住宅", "floors": 6, "lon": 105.898, "lat": 29.352}
    r = client.post(f"{URL}/houses", json={**house, "source": f"grid:{GRID1}"}, headers=as_(WORKER))
    assert r.status_code == 201 and sorted(r.json()["applied"]) == [
        "floors", "grid_code", "lat", "lon", "status", "use", "village_code",
    ]  # fmt: skip
    body = {"uscc": "91350100M000100Y43", "name": "测试机械厂(生成)", "industry": "3011",
            "legal_rep": "李测试", "village_code": VILLAGE2, "source": f"town:{TOWN}"}  # fmt: skip
    r = client.post(f"{URL}/units", json=body, headers=as_(TOWN_DUTY))
    assert r.status_code == 201, r.text
    r = client.post(f"{URL}/units", json={**body, "employees": 12}, headers=as_(TOWN_DUTY))
    assert r.status_code == 200 and r.json()["applied"] == ["employees"]
    r = client.post(f"{URL}/units", json={**body, "industry": "A3011"}, headers=as_(TOWN_DUTY))
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "industry"


@pytest.mark.parametrize(
    ("method", "path", "params_or_body", "message"),
    [
        ("POST", "/residents", {"source": GONGAN, "citizen_id": 500118198001010010}, "stored as a number"),
        (
            "POST",
            "/residents",
            {"source": "somebody", "citizen_id": gen_id("19800101", 1)},
            "is not kind:key",
        ),
        ("POST", "/residents", {"source": GONGAN, "valid_from": 20260101}, "write the date as YYYY-MM-DD"),
        ("POST", "/residents", {"source": GONGAN, "nation": "汉"}, "nation"),
        ("GET", "/residents", {"status": "alive"}, 'status: "alive" is not one of'),
        ("GET", "/residents", {"tag": "vip"}, "unknown tag 'vip'"),
        ("GET", "/residents", {"grid": "G1"}, "grid"),
        ("GET", "/residents", {"as_of": "1850-01-01"}, "as_of"),
        ("GET", "/counts", {"by": "colour"}, 'by: "colour" is not one of'),
        ("GET", "/counts", {"min_age": 200}, "min_age"),
        ("GET", "/conflicts", {"status": "closed"}, 'status: "closed" is not one of'),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, method: str, path: str, params_or_body: dict[str, Any], message: str
) -> None:
    if method == "POST":
        r = client.post(URL + path, json=params_or_body, headers=as_(SYSTEM))
    else:
        r = client.get(URL + path, params=params_or_body, headers=as_(SYSTEM))
    assert r.status_code == 422, r.text
    assert message in r.json()["detail"], r.json()["detail"]
