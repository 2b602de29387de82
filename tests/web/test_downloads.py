"""Downloads the pages offer: the KPI export (GET /api/v1/kpis/export.xlsx: same scope as /kpis, an
audit row per export, who and when on the sheet) and an event's attachment (GET
/api/v1/events/{id}/attachments/{aid}: scoped, a file with Content-Disposition, never a path)."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path
from typing import Any

import openpyxl
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.engine import Engine

from tests.conftest import as_user
from zhizhi.core import audit
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_factory
from zhizhi.event.models import Attachment

HOME = {"lon": 105.898213, "lat": 29.352365}  # 中山路社区, town 500118001000
HOME_TOWN, OTHER_TOWN = "500118001000", "500118002000"
SYSTEM = as_user("500118.system")
# a 1×1 PNG, GENERATED
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def report(client: TestClient, **body: Any) -> dict[str, Any]:
    body = {"category_code": "0101", "title": "导出测试", **body}
    r = client.post("/api/v1/events", json=body, headers=SYSTEM)
    assert r.status_code == 201, r.text
    return dict(r.json())


def sheet_rows(data: bytes, name: str) -> list[tuple[Any, ...]]:
    wb = openpyxl.load_workbook(io.BytesIO(data))
    return [tuple(r) for r in wb[name].iter_rows(values_only=True)]


def test_the_kpi_export_is_the_kpis_of_the_scope_as_xlsx_and_is_audited(
    client: TestClient, engine: Engine
) -> None:
    for _ in range(2):
        report(client, **HOME)
    report(client, town_code=OTHER_TOWN)
    duty = as_user(f"{HOME_TOWN}.duty")
    r = client.get("/api/v1/kpis/export.xlsx", params={"by": "town"}, headers=duty)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert r.headers["content-disposition"].startswith('attachment; filename="kpis_town_all_')
    title = "filename*=UTF-8''%E6%A0%B8%E5%BF%83%E7%BB%A9%E6%95%88"  # 核心绩效
    assert title in r.headers["content-disposition"]
    rows = sheet_rows(r.content, "核心绩效")
    assert rows[0][0] == "核心绩效(全部时间,按镇街)"
    assert rows[1][0] == "导出人" and str(rows[1][1]).endswith(f"({HOME_TOWN}.duty)")
    assert rows[2][0] == "导出时间(北京时间)" and len(str(rows[2][1])) == 19
    assert rows[3][:2] == ("数据范围", f"town:{HOME_TOWN}")
    header = rows[6]
    assert header[:4] == ("编码", "名称", "上报数", "立案数") and "按期结案率" in header
    data = [row for row in rows[7:] if row[1] is not None and row[1] != "合计" and row[0]]
    api = client.get("/api/v1/kpis", params={"by": "town"}, headers=duty).json()
    assert [(row[0], row[2]) for row in data] == [(x["code"], x["counts"]["reported"]) for x in api["rows"]]
    assert [(row[0], row[2]) for row in data] == [(HOME_TOWN, 2)]  # the other town is out of scope
    total = next(row for row in rows if row[1] == "合计")
    assert total[2] == 2
    ranking = sheet_rows(r.content, "赛马比拼")
    assert ranking[0] == ("名次", "编码", "单位", "得分", "上报数") and ranking[1][1] == HOME_TOWN

    with session_factory(engine)() as s:
        row = audit.search(s, action="export", object_type="kpis", limit=1)[0]
        assert (row.actor, row.scope) == (f"{HOME_TOWN}.duty", f"town:{HOME_TOWN}")
        assert row.detail == {"period": "all", "by": "town", "rows": 1, "bytes": len(r.content)}


def test_the_kpi_export_needs_the_permission_and_a_good_period(client: TestClient) -> None:
    duty = as_user(f"{HOME_TOWN}.duty")
    url = "/api/v1/kpis/export.xlsx"
    assert client.get(url, params={"period": "2026-13"}, headers=duty).status_code == 422
    assert client.get(url, params={"by": "planet"}, headers=duty).status_code == 422
    assert client.get(url, headers=as_user("m.nobody")).status_code in (401, 403)
    r = client.get("/api/v1/kpis/export.xlsx", params={"by": "department", "period": "2026"}, headers=duty)
    assert r.status_code == 200 and "赛马比拼" in openpyxl.load_workbook(io.BytesIO(r.content)).sheetnames
    r = client.get("/api/v1/kpis/export.xlsx", params={"by": "grid"}, headers=duty)
    assert openpyxl.load_workbook(io.BytesIO(r.content)).sheetnames == ["核心绩效"]


def test_an_attachment_downloads_within_the_scope_only(client: TestClient, engine: Engine) -> None:
    ev = report(client, **HOME)
    up = client.post(
        f"/api/v1/events/{ev['id']}/attachments",
        files={"file": ("现场 照片.png", PNG, "image/png")},
        data={"kind": "before"},
        headers=SYSTEM,
    )
    assert up.status_code == 201, up.text
    aid = up.json()["id"]
    url = f"/api/v1/events/{ev['id']}/attachments/{aid}"
    r = client.get(url, headers=as_user(f"{HOME_TOWN}.duty"))
    assert r.status_code == 200 and r.content == PNG and r.headers["content-type"] == "image/png"
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"_____.png\"; filename*=UTF-8''%E7%8E%B0%E5%9C%BA%20%E7%85%A7%E7%89%87.png"
    )
    assert r.headers["x-content-type-options"] == "nosniff" and "no-store" in r.headers["cache-control"]
    # out of scope: 404, as if it did not exist; another event's attachment id: 404
    assert client.get(url, headers=as_user(f"{OTHER_TOWN}.duty")).status_code == 404
    other = report(client, **HOME)
    assert client.get(f"/api/v1/events/{other['id']}/attachments/{aid}", headers=SYSTEM).status_code == 404
    assert client.get(f"/api/v1/events/{ev['id']}/attachments/{aid + 999}", headers=SYSTEM).status_code == 404


def test_an_attachment_is_read_by_its_hash_never_by_a_stored_path(client: TestClient, engine: Engine) -> None:
    ev = report(client, **HOME)
    aid = client.post(
        f"/api/v1/events/{ev['id']}/attachments", files={"file": ("a.png", PNG, "image/png")}, headers=SYSTEM
    ).json()["id"]
    url = f"/api/v1/events/{ev['id']}/attachments/{aid}"
    secret = Path(get_settings().data_dir) / "secret.txt"
    secret.write_text("not an attachment", "utf-8")
    with session_factory(engine)() as s:
        a = s.scalar(select(Attachment).where(Attachment.id == aid))
        assert a is not None
        digest = a.sha256
        # a tampered row: the path points elsewhere; the route ignores it and serves the hashed file
        s.execute(update(Attachment).where(Attachment.id == aid).values(path=str(secret)))
        s.commit()
    assert client.get(url, headers=SYSTEM).content == PNG
    with session_factory(engine)() as s:  # a hash that is not 64 hex digits: refused, not joined to a path
        s.execute(update(Attachment).where(Attachment.id == aid).values(sha256="../../secret.txt"))
        s.commit()
    r = client.get(url, headers=SYSTEM)
    assert r.status_code == 404 and "not an attachment" not in r.text
    with session_factory(engine)() as s:  # the file changed on disk: its hash no longer matches
        s.execute(update(Attachment).where(Attachment.id == aid).values(sha256=digest))
        s.commit()
    stored = Path(get_settings().data_dir) / "attachments" / digest[:2] / digest
    stored.write_bytes(b"\x89PNG\r\n\x1a\nchanged")
    try:
        assert client.get(url, headers=SYSTEM).status_code == 404
    finally:
        stored.write_bytes(PNG)
    zero = client.get(f"/api/v1/events/{ev['id']}/attachments/0", headers=SYSTEM)
    assert json.loads(zero.text)["status"] == 422
