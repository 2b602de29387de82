"""No unmasked citizen ID or phone number in any list, detail, public (Open311) output or log line
produced by ordinary use, unless the user has full view (issue 3). Outputs are scanned with the
registry's identifier validators (check characters, number segments), not with the masking code's
own patterns."""

from __future__ import annotations

import logging
import re

import pytest
from fastapi.testclient import TestClient

from zhizhi.registry.identifiers.scan import find_identifiers

ID = "11010519491231002X"  # the example ID of GB 11643-1999 (check character X)
MOBILE = "13812345678"
HOME = {"lon": 105.898213, "lat": 29.352365}


def _leaks(text: str) -> list[str]:
    return [f"{f.kind}:{f.value}" for f in find_identifiers(text)]


def test_the_scanner_finds_what_it_must(client: TestClient) -> None:
    assert _leaks(f"电话{MOBILE}，身份证{ID}") == [f"phone:{MOBILE}", f"citizen-id:{ID}"]
    assert _leaks("电话138****5678，身份证110105********002X") == []


def test_no_identifier_leaks_through_lists_details_open311_or_logs(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    duty, chief = {"X-Zhizhi-User": "500118.duty"}, {"X-Zhizhi-User": "500118.chief"}
    worker_grid = client.get("/api/v1/org/locate", params=HOME).json()["grid_code"]
    worker = {"X-Zhizhi-User": f"{worker_grid}.worker"}
    caplog.set_level(logging.DEBUG)
    ev = client.post(
        "/api/v1/events",
        json={
            "category_code": "0101",
            "title": f"占道经营 请回电{MOBILE}",
            "description": f"市民张三（身份证{ID}，电话 {MOBILE[:3]}-{MOBILE[3:7]}-{MOBILE[7:]}）反映占道",
            "reporter_name": "张三",
            "reporter_phone": MOBILE,
            **HOME,
        },
        headers=duty,
    )
    assert ev.status_code == 201, ev.text
    eid = ev.json()["id"]
    for body in (
        {"action": "accept", "comment": f"已联系{MOBILE}"},
        {"action": "register"},
        {"action": "supervise", "comment": f"请联系市民{ID}"},
    ):
        assert client.post(f"/api/v1/events/{eid}/transitions", json=body, headers=duty).status_code == 200
    r311 = client.post(
        "/open311/v2/requests.json",
        data={
            "service_code": "0101",
            "description": f"路灯坏了 我的手机{MOBILE}",
            "phone": MOBILE,
            **{"lat": str(HOME["lat"]), "long": str(HOME["lon"])},
        },
    )
    assert r311.status_code == 201, r311.text
    outputs = {
        "create": ev.text,
        "open311 create": r311.text,
    }
    for who, h in (("duty", duty), ("chief", chief), ("worker", worker)):
        outputs[f"list {who}"] = client.get("/api/v1/events", headers=h).text
        outputs[f"search {who}"] = client.get("/api/v1/events", params={"q": "占道"}, headers=h).text
        outputs[f"detail {who}"] = client.get(f"/api/v1/events/{eid}", headers=h).text
        outputs[f"kpis {who}"] = client.get("/api/v1/kpis", params={"by": "grid"}, headers=h).text
    outputs["open311 list"] = client.get("/open311/v2/requests.json").text
    outputs["open311 one"] = client.get(f"/open311/v2/requests/{eid}.json").text
    outputs["open311 xml"] = client.get("/open311/v2/requests.xml").text
    # the audit rows without their SHA-256 chain hashes (hex digits could look like a phone number)
    outputs["audit"] = re.sub(
        r"\b[0-9a-f]{64}\b", "<sha256>", client.get("/api/v1/audit", headers=chief).text
    )
    outputs["logs"] = "\n".join(r.getMessage() for r in caplog.records)
    leaks = {k: _leaks(v) for k, v in outputs.items() if _leaks(v)}
    assert leaks == {}
    # the one way to see them: full view, with a reason, by a role that holds personal.full_view
    full = client.post(f"/api/v1/events/{eid}/personal", json={"reason": "回访核实"}, headers=chief)
    assert full.status_code == 200 and _leaks(full.text) == [f"phone:{MOBILE}"]
    denied = client.post(f"/api/v1/events/{eid}/personal", json={"reason": "好奇"}, headers=duty)
    assert denied.status_code == 403 and _leaks(denied.text) == []
