"""The form API as a client uses it: the catalogue, a rendered xlsx with its checks and audit row,
404 outside the caller's scope, the full view of a roster only for roles that hold it."""

from __future__ import annotations

import io
from datetime import date, timedelta

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.engine import Engine
from tests.conftest import as_user

from zhizhi.core.audit import AuditRow
from zhizhi.core.db import session_factory
from zhizhi.org.models import OrgUnit

from .conftest import AS_OF, OTHER_TOWN, TOWN, Population, local_today, next_month

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DUTY = as_user(f"{TOWN}.duty")


def test_the_catalogue_lists_every_shipped_form(client: TestClient) -> None:
    r = client.get("/api/v1/forms", headers=DUTY)
    assert r.status_code == 200
    forms = {f["id"]: f for f in r.json()}
    assert len(forms) >= 10
    d = forms["mz-dibao-monthly"]
    assert (d["department"], d["period"], d["rows"], d["org_levels"], d["modelled_on"]["form"]) == (
        "MZJ",
        "month",
        "village",
        ["town"],
        "F02",
    )
    assert (d["columns"], d["computed"], d["manual"]) == (27, 9, 18)


def test_a_town_renders_its_form_as_xlsx_and_the_export_is_audited(
    client: TestClient, engine: Engine, population: Population
) -> None:
    q = {"org": TOWN, "period": "2026-11", "as_of": AS_OF.isoformat()}
    r = client.get("/api/v1/forms/mz-dibao-monthly/render", params=q, headers=DUTY)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == XLSX
    assert r.headers["x-form-checks"].split("; ")[1] == "fail=0"
    assert 'filename="mz-dibao-monthly_500118100000_2026-11.xlsx"' in r.headers["content-disposition"]
    ws = load_workbook(io.BytesIO(r.content))["报表"]
    total = next(row for row in ws.iter_rows(values_only=True) if row[0] == "合计")
    assert total[3] == population.count(lambda p: "dibao" in p.tags and (p.status_date or date.max) > AS_OF)
    with session_factory(engine)() as s:
        row = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).one()
    assert (row.actor, row.action, row.object_type, row.object_id, row.scope) == (
        f"{TOWN}.duty",
        "export",
        "form",
        "mz-dibao-monthly",
        f"town:{TOWN}",
    )
    assert row.detail["period"] == "2026-11" and row.client is not None


def test_outside_the_scope_is_404_and_bad_input_422(client: TestClient, population: Population) -> None:
    other = as_user(f"{OTHER_TOWN}.duty")
    r = client.get(
        "/api/v1/forms/mz-dibao-monthly/render", params={"org": TOWN, "period": "2026-11"}, headers=other
    )
    assert r.status_code == 404 and "not found" in r.json()["detail"]
    r = client.get("/api/v1/forms/nothing/render", params={"org": TOWN, "period": "2026-11"}, headers=DUTY)
    assert r.status_code == 404
    r = client.get(
        "/api/v1/forms/mz-dibao-monthly/render", params={"org": TOWN, "period": "2026-Q4"}, headers=DUTY
    )
    assert r.status_code == 422 and "give YYYY-MM" in r.json()["detail"]


def test_a_future_period_or_statistical_date_is_refused(client: TestClient, population: Population) -> None:
    url = "/api/v1/forms/mz-dibao-monthly/render"
    today, start = local_today(), next_month()
    r = client.get(url, params={"org": TOWN, "period": f"{start:%Y-%m}"}, headers=DUTY)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "period"
    assert r.json()["detail"] == (
        f"period {start:%Y-%m} has not started yet (it starts on {start}; today is {today}, Beijing time): "
        "a form is filled for the current period or a past one"
    )
    tomorrow = today + timedelta(days=1)
    r = client.get(
        url, params={"org": TOWN, "period": f"{today:%Y-%m}", "as_of": str(tomorrow)}, headers=DUTY
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"
    assert r.json()["detail"].startswith(f"as_of {tomorrow} is in the future (today is {today}")
    r = client.get(url, params={"org": TOWN, "period": f"{today:%Y-%m}", "as_of": str(today)}, headers=DUTY)
    assert r.status_code == 200, r.text


def test_forms_need_form_read(client: TestClient, engine: Engine, population: Population) -> None:
    with session_factory(engine)() as s:
        grid = s.scalar(
            select(OrgUnit.code)
            .where(OrgUnit.level == "grid", OrgUnit.town_code == TOWN)
            .order_by(OrgUnit.code)
        )
    worker = as_user(f"{grid}.worker")
    for url, params in (
        ("/api/v1/forms", {}),
        ("/api/v1/forms/ga-grid-monthly/render", {"org": str(grid), "period": "2026-11"}),
    ):
        r = client.get(url, params=params, headers=worker)
        assert r.status_code == 403 and r.json()["detail"] == (
            'role "grid_worker" may not 查看报表目录、报表任务与填报进度 (form.read)'
        ), r.text
    leader = as_user("500118.leader")  # form.read: aggregate forms yes, a roster of people no
    r = client.get(
        "/api/v1/forms/mz-dibao-monthly/render", params={"org": TOWN, "period": "2026-11"}, headers=leader
    )
    assert r.status_code == 200, r.text
    r = client.get(
        "/api/v1/forms/mz-gaoling-roster/render", params={"org": TOWN, "period": "2026-11"}, headers=leader
    )
    assert r.status_code == 403 and r.json()["detail"].endswith("(registry.read)")


def test_a_full_view_of_a_roster_needs_the_permission_and_a_reason(
    client: TestClient, population: Population
) -> None:
    url = "/api/v1/forms/mz-gaoling-roster/render"
    q = {"org": TOWN, "period": "2026-11", "as_of": AS_OF.isoformat()}
    r = client.get(url, params={**q, "full": "true", "reason": "核对名单"}, headers=DUTY)
    assert r.status_code == 403 and "personal.full_view" in r.json()["detail"]
    chief = as_user("500118.chief")
    r = client.get(url, params={**q, "full": "true"}, headers=chief)
    assert r.status_code == 422 and "reason" in r.json()["detail"]
    masked = load_workbook(io.BytesIO(client.get(url, params=q, headers=chief).content))["报表"]
    why = {"full": "true", "reason": "核对高龄津贴名单"}
    full = load_workbook(io.BytesIO(client.get(url, params={**q, **why}, headers=chief).content))["报表"]
    ids = {p.citizen_id for p in population.people if "gaoling" in p.tags}
    assert not any(c.value in ids for row in masked.iter_rows() for c in row)
    assert {c.value for row in full.iter_rows() for c in row} >= ids - {
        p.citizen_id for p in population.people if p.status != "active"
    }
