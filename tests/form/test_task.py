"""The catalogue, form tasks and the towns' answers on the GENERATED population of 青峰镇 (conftest): a
form is admitted, issued by 民政局 to two towns, computed by the town from the registers, adjusted
with a reason (audited), refused at sign-off while a check fails, signed, submitted; completion,
burden statistics and demands outside the catalogue are counted exactly."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.core import access
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.core.audit import AuditRow
from zhizhi.core.db import session_factory
from zhizhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from zhizhi.form import service
from zhizhi.form.models import FormTask
from zhizhi.form.service import admission, answer, burden, demand, task

from .conftest import (
    AS_OF,
    CHIEF,
    MZJ_ACTOR,
    OTHER_TOWN,
    OTHER_TOWN_ACTOR,
    SYSTEM,
    TOWN,
    TOWN_ACTOR,
    Person,
    Population,
    local_today,
    next_month,
)  # fmt: skip

DIBAO = "mz-dibao-monthly"


@pytest.fixture
def s(engine: Engine, population: Population) -> Iterator[Session]:
    session = session_factory(engine)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def active(p: Person, on: date = AS_OF) -> bool:
    return p.status == "active" or (p.status_date is not None and p.status_date > on)


def due() -> date:
    return task.today() + timedelta(days=3)


def col(view: dict[str, object], key: str) -> dict[str, object]:
    """Column ``key`` of an answer view by row code (合计 under "total")."""
    columns: Any = view["columns"]
    rows: Any = view["rows"]
    no = next(c["no"] for c in columns if c["key"] == key)
    return {(r["code"] or "total"): r["values"][no - 1] for r in rows}


def test_only_admitted_forms_are_issued_and_the_catalogue_says_which(s: Session) -> None:
    table = {e["form_id"]: e for e in admission.catalogue_table(s, TOWN_ACTOR)}
    assert len(table) == 12 and {e["status"] for e in table.values()} == {"not_admitted"}
    assert table["mz-gaoling-roster"]["issuable"] is False and table[DIBAO]["issuable"] is True
    with pytest.raises(Conflict, match=f'form "{DIBAO}" is not in the catalogue'):
        task.issue(s, MZJ_ACTOR, DIBAO, "2026-11", due(), [TOWN])
    with pytest.raises(Forbidden, match=r"\(form\.catalogue\)$"):  # a town does not keep the catalogue
        admission.admit(s, TOWN_ACTOR, DIBAO)
    clerk = replace(TOWN_ACTOR, username=f"{TOWN}.clerk", role="clerk")
    with pytest.raises(Forbidden, match=r'^role "clerk" may not .*\(form\.catalogue\)$'):
        admission.admit(s, clerk, DIBAO)
    e = admission.admit(s, CHIEF, DIBAO)
    assert (e["status"], e["admitted_by"], e["department"], e["period"]) == (
        "admitted",
        "500118.chief",
        "MZJ",
        "month",
    )
    assert e["legal_basis"] == service.get_form(DIBAO).legal_basis
    with pytest.raises(Conflict, match="in the catalogue already"):
        admission.admit(s, CHIEF, DIBAO)
    with pytest.raises(InvalidInput, match="at least 4"):
        admission.withdraw(s, CHIEF, DIBAO, "过时")
    w = admission.withdraw(s, CHIEF, DIBAO, "改由台账自动生成, 停止报送")
    assert (w["status"], w["withdrawn_by"], w["withdraw_reason"]) == (
        "withdrawn",
        "500118.chief",
        "改由台账自动生成, 停止报送",
    )
    with pytest.raises(Conflict, match="was withdrawn from the catalogue"):
        task.issue(s, MZJ_ACTOR, DIBAO, "2026-11", due(), [TOWN])
    assert admission.admit(s, CHIEF, DIBAO, "民政统计报表制度")["legal_basis"] == "民政统计报表制度"
    rows = s.scalars(select(AuditRow).where(AuditRow.object_id == DIBAO).order_by(AuditRow.id)).all()
    assert [(r.action, r.reason) for r in rows[-3:]] == [
        ("form.admit", None), ("form.withdraw", "改由台账自动生成, 停止报送"), ("form.admit", None)
    ]  # fmt: skip


def test_who_may_issue_what(s: Session) -> None:
    for f in (DIBAO, "tj-population-annual", "mz-gaoling-roster"):
        admission.admit(s, CHIEF, f)
    with pytest.raises(Forbidden, match=r'^role "town_duty" may not .*\(form\.issue\)$'):
        task.issue(s, TOWN_ACTOR, DIBAO, "2026-11", due(), [TOWN])
    with pytest.raises(Forbidden, match="is issued by TJJ; your department is MZJ"):
        task.issue(s, MZJ_ACTOR, "tj-population-annual", "2026", due(), [TOWN])
    with pytest.raises(InvalidInput, match="is a roster"):
        task.issue(s, MZJ_ACTOR, "mz-gaoling-roster", "2026-11", due(), [TOWN])
    with pytest.raises(InvalidInput, match="give YYYY-MM"):
        task.issue(s, MZJ_ACTOR, DIBAO, "2026-Q4", due(), [TOWN])
    with pytest.raises(InvalidInput, match="is before today"):
        task.issue(s, MZJ_ACTOR, DIBAO, "2026-11", task.today() - timedelta(days=1), [TOWN])
    start = next_month()
    with pytest.raises(InvalidInput) as e:  # a period not started yet: nothing to count
        task.issue(s, MZJ_ACTOR, DIBAO, f"{start:%Y-%m}", start + timedelta(days=5), [TOWN])
    assert str(e.value).startswith(
        f"period {start:%Y-%m} has not started yet (it starts on {start}; today is {local_today()}"
    )
    assert [x.field for x in e.value.errors] == ["period"]
    with pytest.raises(InvalidInput, match='town "500118100001" is not a town'):
        task.issue(s, MZJ_ACTOR, DIBAO, "2026-11", due(), ["500118100001"])
    everyone = task.issue(s, CHIEF, DIBAO, "2026-10", due())
    assert len(everyone["answers"]) == 23  # every town of Yongchuan
    t = task.issue(s, MZJ_ACTOR, DIBAO, "2026-11", due(), [TOWN, OTHER_TOWN])
    assert [a["town_code"] for a in t["answers"]] == [OTHER_TOWN, TOWN]
    with pytest.raises(Conflict, match=f"town {TOWN} was already asked"):
        task.issue(s, CHIEF, DIBAO, "2026-11", due(), [TOWN])


def test_a_town_or_grid_never_issues_even_when_a_table_grants_it(
    s: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The service refuses a town or grid scope as issuer whatever the role holds: a district's own
    table granting ``form.issue`` to a town role does not make the town an issuer."""
    table = access.permission_table()
    roles = dict(table.roles)
    for name in ("town_duty", "grid_worker"):
        roles[name] = replace(roles[name], permissions=roles[name].permissions | {"form.issue"})
    monkeypatch.setattr(access, "permission_table", lambda: replace(table, roles=roles))
    admission.admit(s, CHIEF, DIBAO)
    grid = Actor(None, "g.worker", "网格员(生成)", "grid_worker", f"{TOWN[:9]}201001", "500118", TOWN)
    for who in (TOWN_ACTOR, grid):
        with pytest.raises(Forbidden, match="a department or the district issues form tasks"):
            task.issue(s, who, DIBAO, "2026-11", due(), [TOWN])


def test_a_town_computes_adjusts_signs_and_submits_its_answer(s: Session, population: Population) -> None:
    admission.admit(s, CHIEF, DIBAO)
    t = task.issue(s, MZJ_ACTOR, DIBAO, "2026-11", due(), [TOWN, OTHER_TOWN], note="请于月底前报送")
    aid = next(a["id"] for a in t["answers"] if a["town_code"] == TOWN)
    # scope: the other town never sees it; the department may not answer; nothing before computing
    with pytest.raises(NotFound):
        answer.answer_view(s, OTHER_TOWN_ACTOR, aid)
    with pytest.raises(Forbidden, match=r'^role "dept_handler" may not .*\(form\.submit\)$'):
        answer.compute_answer(s, MZJ_ACTOR, aid, AS_OF)
    with pytest.raises(InvalidInput, match=f"as_of {local_today() + timedelta(days=1)} is in the future"):
        answer.compute_answer(s, TOWN_ACTOR, aid, local_today() + timedelta(days=1))
    with pytest.raises(Conflict, match="cannot sign an answer that is issued: compute it first"):
        answer.sign(s, TOWN_ACTOR, aid)

    v = answer.compute_answer(s, TOWN_ACTOR, aid, AS_OF)
    assert (v["state"], v["as_of"], v["computed_by"], v["version"]) == (
        "computed",
        AS_OF,
        TOWN_ACTOR.username,
        2,
    )
    assert [r["code"] for r in v["rows"]] == [None, *population.villages]
    persons = col(v, "persons")
    for vil in population.villages:
        assert persons[vil] == population.count(lambda p: "dibao" in p.tags and active(p), vil)
    fresh = service.compute(s, SYSTEM, DIBAO, TOWN, "2026-11", AS_OF)
    assert [r["values"] for r in v["rows"]] == [r.values for r in fresh.rows]
    # 7 rows × 27 columns: 9 computed columns are automatic, the 18 manual ones are typed by hand
    assert v["cells"] == {"auto": 63, "typed": 126, "adjusted": 0, "auto_share": 33.3}
    assert (v["checks"]["fail"], v["checks"]["failures"]) == (0, [])

    v0 = population.villages[0]
    wrong = int(persons[v0]) + 1  # type: ignore[call-overload]
    with pytest.raises(InvalidInput, match="at least 4 characters"):
        answer.adjust(s, TOWN_ACTOR, aid, v0, "female", wrong, "改")
    with pytest.raises(InvalidInput, match=r"column 27 \(当月人均补助额\) is computed from other columns"):
        answer.adjust(s, TOWN_ACTOR, aid, v0, "27", 1, "手工调整人均")
    with pytest.raises(InvalidInput, match='row "500118999999" is not in this answer'):
        answer.adjust(s, TOWN_ACTOR, aid, "500118999999", "female", 1, "手工调整数据")
    female0 = col(v, "female")[v0]
    v = answer.adjust(s, TOWN_ACTOR, aid, v0, "female", wrong, "村委会上报女性人数")
    v = answer.adjust(s, TOWN_ACTOR, aid, "合计", "labour_partial", 3, "按评定结果填写")
    assert (
        v["state"] == "adjusted" and col(v, "female")[v0] == wrong and col(v, "labour_partial")["total"] == 3
    )
    with pytest.raises(Conflict, match=r"fails 2 check\(s\)"):  # female <= persons; 合计 = 各行之和
        answer.sign(s, TOWN_ACTOR, aid)
    v = answer.adjust(s, TOWN_ACTOR, aid, v0, "3", female0, "核对后恢复为台账人数")  # type: ignore[arg-type]
    assert v["checks"]["fail"] == 0
    # the female cell of v0 was adjusted (typed by hand); the 合计 labour cell is manual anyway
    assert v["cells"] == {"auto": 62, "typed": 127, "adjusted": 2, "auto_share": 32.8}
    assert [(x["row"], x["column"], x["old"], x["new"]) for x in v["adjustments"]] == [
        (v0, 3, female0, wrong), ("total", 7, None, 3), (v0, 3, wrong, female0)
    ]  # fmt: skip
    audit_rows = s.scalars(
        select(AuditRow)
        .where(AuditRow.action == "form.adjust", AuditRow.object_id == str(aid))
        .order_by(AuditRow.id)
    ).all()
    assert [(r.reason, r.scope, r.detail["column"], r.detail["new"]) for r in audit_rows] == [
        ("村委会上报女性人数", f"town:{TOWN}", 3, str(wrong)),
        ("按评定结果填写", f"town:{TOWN}", 7, "3"),
        ("核对后恢复为台账人数", f"town:{TOWN}", 3, str(female0)),
    ]

    v = answer.sign(s, TOWN_ACTOR, aid)
    assert (v["state"], v["signed_by"]) == ("signed", TOWN_ACTOR.username)
    before = answer.answer_view(s, MZJ_ACTOR, aid)
    assert before["rows"] is None and before["state"] == "signed"  # the department waits for the submission
    v = answer.submit(s, TOWN_ACTOR, aid, expected_version=v["version"])
    assert (v["state"], v["late"], v["status"]) == ("submitted", False, "on_time")
    assert [x["action"] for x in v["steps"]] == [
        "issue",
        "compute",
        "adjust",
        "adjust",
        "adjust",
        "sign",
        "submit",
    ]
    seen = answer.answer_view(s, MZJ_ACTOR, aid)
    assert seen["rows"] is not None and col(seen, "labour_partial")["total"] == 3
    with pytest.raises(Conflict, match="cannot adjust an answer that is submitted"):
        answer.adjust(s, TOWN_ACTOR, aid, v0, "female", 1, "再次调整数据")

    # the other town is late: its due date passed before it submitted
    other = next(a["id"] for a in t["answers"] if a["town_code"] == OTHER_TOWN)
    s.get(FormTask, t["id"]).due_date = task.today() - timedelta(days=1)  # type: ignore[union-attr]
    answer.compute_answer(s, OTHER_TOWN_ACTOR, other, AS_OF)
    assert answer.answer_view(s, OTHER_TOWN_ACTOR, other)["status"] == "overdue"
    answer.sign(s, OTHER_TOWN_ACTOR, other)
    done = answer.submit(s, OTHER_TOWN_ACTOR, other)
    assert (done["late"], done["status"]) == (True, "late")
    n = len(done["rows"])  # 合计 and the communities of 中山路街道 (nobody lives there in this population)
    assert n > 1 and done["cells"] == {"auto": 9 * n, "typed": 18 * n, "adjusted": 0, "auto_share": 33.3}

    m = task.completion(s, CHIEF, "2026-11")
    assert len(m["towns"]) == 23 and [x["id"] for x in m["tasks"]] == [t["id"]]
    rows = {r["code"]: r for r in m["towns"]}
    assert rows[TOWN]["cells"] == [{"answer_id": aid, "state": "submitted", "status": "on_time"}]
    assert rows[OTHER_TOWN]["cells"] == [{"answer_id": other, "state": "submitted", "status": "late"}]
    assert m["total"] == {"asked": 2, "submitted": 2, "on_time": 1, "late": 1, "overdue": 0}
    mine = task.completion(s, TOWN_ACTOR)
    assert [r["code"] for r in mine["towns"]] == [TOWN] and mine["total"]["on_time"] == 1
    assert task.completion(s, CHIEF, "2026-10")["tasks"] == []

    month = ztime.to_local(ztime.utcnow()).strftime("%Y-%m")
    demand.report(s, TOWN_ACTOR, "区某局办公室", "临时统计辖区养老机构床位数", task.today(), "chat_group",
                  requester_unit="MZJ", items=12, minutes=90)  # fmt: skip
    demand.report(s, TOWN_ACTOR, "区某办", "电话要求报送 138 0000 1234 联系人名单", task.today(), "phone")
    b = burden.burden(s, CHIEF, month)
    by = {r["code"]: r for r in b["towns"]}
    assert {k: by[TOWN][k] for k in burden.COUNTS} == {
        "forms_answered": 1, "submissions": 1, "late": 0, "cells_auto": 62, "cells_typed": 127,
        "outside_demands": 2, "outside_items": 12, "outside_minutes": 90,
    }  # fmt: skip
    assert by[TOWN]["auto_share"] == 32.8 and by[OTHER_TOWN]["late"] == 1
    assert b["total"]["submissions"] == 2 and b["total"]["forms_answered"] == 1  # distinct forms
    assert b["total"]["cells_auto"] == 62 + 9 * n and b["total"]["outside_demands"] == 2
    assert burden.burden(s, MZJ_ACTOR, month)["total"]["outside_demands"] == 1  # attributed to 民政
    listed = demand.list_demands(s, TOWN_ACTOR, month)
    assert [d["channel"] for d in listed] == ["chat_group", "phone"]
    assert "138 ****" in listed[1]["what"] and "0000 1234" not in listed[1]["what"]  # masked


def test_a_form_with_one_row_per_town_keeps_the_towns_own_row(s: Session, population: Population) -> None:
    admission.admit(s, CHIEF, "tj-population-annual")
    t = task.issue(s, CHIEF, "tj-population-annual", "2026", due(), [TOWN])
    v = answer.compute_answer(s, TOWN_ACTOR, t["answers"][0]["id"], AS_OF)
    district = service.compute(s, SYSTEM, "tj-population-annual", "500118", "2026", AS_OF)
    own = next(r for r in district.rows if r.code == TOWN)
    assert [(r["code"], r["values"]) for r in v["rows"]] == [(TOWN, own.values)]
    assert col(v, "total")[TOWN] == population.count(lambda p: active(p))
    assert v["cells"] == {"auto": 14, "typed": 0, "adjusted": 0, "auto_share": 100.0}


def test_outside_demands_are_checked(s: Session) -> None:
    with pytest.raises(InvalidInput, match='channel "fax"'):
        demand.report(s, TOWN_ACTOR, "区某局", "要数", task.today(), "fax")
    with pytest.raises(InvalidInput, match="a date from 2000-01-01 to today"):
        demand.report(s, TOWN_ACTOR, "区某局", "要数", task.today() + timedelta(days=1), "phone")
    with pytest.raises(Forbidden, match="your own town"):
        demand.report(s, TOWN_ACTOR, "区某局", "要数", task.today(), "phone", town_code=OTHER_TOWN)
    with pytest.raises(InvalidInput, match="town_code: give the town"):
        demand.report(s, SYSTEM, "区某局", "要数", task.today(), "phone")
    with pytest.raises(InvalidInput, match='requester_unit "XYZ"'):
        demand.report(s, TOWN_ACTOR, "区某局", "要数", task.today(), "phone", requester_unit="xyz")
    d = demand.report(s, SYSTEM, "区某局", "报送名单", date(2026, 11, 2), "paper", town_code=OTHER_TOWN)
    assert (d["town_code"], d["channel_label"], d["reported_by"]) == (OTHER_TOWN, "纸质通知", "system")
    assert demand.list_demands(s, TOWN_ACTOR, "2026-11") == []
    assert [x["id"] for x in demand.list_demands(s, OTHER_TOWN_ACTOR, "2026-11")] == [d["id"]]
    assert demand.list_demands(s, CHIEF, "2026-10") == []
