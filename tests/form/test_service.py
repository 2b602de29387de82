"""Forms computed from the GENERATED population of 青峰镇 (conftest): every shipped form renders and
passes its own cross-column rules, and the figures equal those counted independently from the
generated people in plain Python."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.audit import AuditRow
from zhizhi.core.db import session_factory
from zhizhi.core.errors import Forbidden, InvalidInput, NotFound
from zhizhi.form import rules, service

from .conftest import (
    AS_OF,
    CHIEF,
    MZJ_ACTOR,
    OTHER_TOWN_ACTOR,
    SYSTEM,
    TOWN,
    TOWN_ACTOR,
    Person,
    Population,
    local_today,
    next_month,
)

DISTRICT = "500118"


@pytest.fixture
def s(engine: Engine, population: Population) -> Iterator[Session]:
    session = session_factory(engine)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def org_for(form: rules.FormDef, pop: Population) -> str:
    return {"village": TOWN, "town": DISTRICT, "grid": TOWN, "person": TOWN}[form.rows]


def period_for(form: rules.FormDef) -> str:
    return {"month": "2026-11", "quarter": "2026-Q4", "year": "2026"}[form.period]


def values(result: rules.FormResult, key: str) -> dict[str, object]:
    """Column ``key`` by row code (合计 under "total")."""
    col = next(c for c in result.form.columns if c.key == key)
    return {(r.code or "total"): r.values[col.no - 1] for r in result.rows}


def active(p: Person, on: date = AS_OF) -> bool:
    return p.status == "active" or (p.status_date is not None and p.status_date > on)


@pytest.mark.parametrize("form_id", sorted(service.catalogue()))
def test_every_shipped_form_renders_and_passes_its_own_checks(
    s: Session, population: Population, form_id: str
) -> None:
    form = service.get_form(form_id)
    result = service.compute(s, SYSTEM, form_id, org_for(form, population), period_for(form), AS_OF)
    assert result.failures == [], [(c.rule, c.row, c.values) for c in result.failures]
    tally = result.tally()
    assert tally["pass"] > 0
    if form.rows == "person":
        assert len([r for r in result.rows if not r.total]) == population.count(
            lambda p: "gaoling" in p.tags and active(p) and p.age(AS_OF) >= 80
        )
    else:
        assert len(result.rows) > 1 and result.rows[0].total
    data = service.export(s, SYSTEM, form_id, org_for(form, population), period_for(form), AS_OF)[1]
    wb = load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["报表", "校验", "说明"]


def test_dibao_form_counts_match_the_generated_people(s: Session, population: Population) -> None:
    r = service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, "2026-11", AS_OF)
    persons, households = values(r, "persons"), values(r, "households")
    elderly, minors, female = values(r, "elderly"), values(r, "minors"), values(r, "female")
    for v in population.villages:
        dibao = [p for p in population.people if p.village == v and "dibao" in p.tags and active(p)]
        assert persons[v] == len(dibao)
        assert households[v] == len({p.household for p in dibao})
        assert elderly[v] == sum(1 for p in dibao if p.age(AS_OF) >= 60)
        assert minors[v] == sum(1 for p in dibao if p.age(AS_OF) < 18)
        assert female[v] == sum(1 for p in dibao if p.sex == "female")
    total = population.count(lambda p: "dibao" in p.tags and active(p))
    assert persons["total"] == total and total > 10
    # the people who died or moved out in the month leave 低保 in that month (动态管理)
    left_nov = population.count(
        lambda p: (
            "dibao" in p.tags and p.status_date is not None and date(2026, 11, 1) <= p.status_date <= AS_OF
        )
    )
    assert values(r, "exited_persons")["total"] == left_nov
    assert values(r, "new_persons")["total"] == 0
    assert values(r, "labour_partial")["total"] is None  # manual: left blank, never faked
    assert values(r, "per_capita")["total"] is None  # formula over a manual column


def test_population_form_by_town_and_age_band(s: Session, population: Population) -> None:
    r = service.compute(s, SYSTEM, "tj-population-annual", DISTRICT, "2026", AS_OF)
    on = AS_OF
    here = [p for p in population.people if active(p, on)]
    assert values(r, "total")[TOWN] == len(here)
    assert values(r, "a80")[TOWN] == sum(1 for p in here if p.age(on) >= 80)
    assert values(r, "a0")[TOWN] == sum(1 for p in here if p.age(on) <= 14)
    assert values(r, "deaths")[TOWN] == population.count(lambda p: p.status == "deceased") == 2
    assert values(r, "moved_out")[TOWN] == 1
    assert values(r, "households")[TOWN] == len(population.households) == 48
    assert values(r, "total")[OTHER_TOWN_ACTOR.town_code] == 0  # type: ignore[index]
    assert len(r.rows) == 1 + 23  # 合计 + the 23 towns of Yongchuan


def test_village_basic_form_counts_registers_and_the_org_tree(s: Session, population: Population) -> None:
    r = service.compute(s, SYSTEM, "tj-village-basic", TOWN, "2026", AS_OF)
    v0 = population.villages[0]
    assert values(r, "houses")[v0] == 3 and values(r, "dwellings")[v0] == 2
    assert values(r, "employees")["total"] == sum(u[3] for u in population.units)
    assert values(r, "units")["total"] == len(population.units)
    assert values(r, "minority")["total"] == population.count(lambda p: p.ethnicity != "01" and active(p))
    from zhizhi.org.models import OrgUnit

    grids = s.scalar(select(func.count()).where(OrgUnit.level == "grid", OrgUnit.code.like(f"{v0}%"))) or 0
    assert values(r, "grids")[v0] == grids > 0


def test_tekun_splits_rural_and_urban_by_village_class(s: Session, population: Population) -> None:
    r = service.compute(s, SYSTEM, "mz-tekun-quarterly", DISTRICT, "2026-Q4", AS_OF)
    rural = {v for v in population.villages if v.endswith(("203", "204"))}  # 城乡划分代码 220
    tekun = [p for p in population.people if "tekun" in p.tags and active(p)]
    assert values(r, "r_total")[TOWN] == sum(1 for p in tekun if p.village in rural)
    assert values(r, "u_total")[TOWN] == sum(1 for p in tekun if p.village not in rural)
    assert values(r, "total")[TOWN] == len(tekun) > 0


def test_the_roster_is_masked_unless_a_full_view_is_granted(s: Session, population: Population) -> None:
    r = service.compute(s, SYSTEM, "mz-gaoling-roster", TOWN, "2026-11", AS_OF)
    people = [row.values[2] for row in r.rows if not row.total]
    assert people and all(isinstance(x, str) and "********" in x and len(x) == 18 for x in people)
    with pytest.raises(Forbidden, match="personal.full_view"):
        service.compute(s, TOWN_ACTOR, "mz-gaoling-roster", TOWN, "2026-11", AS_OF, full_view=True)
    with pytest.raises(InvalidInput, match="reason"):
        service.export(s, CHIEF, "mz-gaoling-roster", TOWN, "2026-11", AS_OF, full_view=True)
    result, data = service.export(s, CHIEF, "mz-gaoling-roster", TOWN, "2026-11", AS_OF, full_view=True,
                                  reason="核对高龄津贴发放名单")  # fmt: skip
    full = [r.values[2] for r in result.rows if not r.total]
    expected = sorted(p.citizen_id for p in population.people if "gaoling" in p.tags and active(p))
    assert sorted(full) == expected  # type: ignore[type-var]
    ws = load_workbook(io.BytesIO(data))["报表"]
    id_col = 1 + 3  # 甲 序号, then name, sex, citizen_id
    cells = [c for c in ws.iter_cols(min_col=id_col, max_col=id_col)][0]
    shown = [c for c in cells if isinstance(c.value, str) and c.value in expected]
    assert len(shown) == len(expected)
    assert all(c.data_type == "s" and c.number_format == "@" for c in shown)
    row = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).one()
    assert (row.actor, row.action, row.object_type, row.object_id, row.scope, row.reason) == (
        "500118.chief",
        "export",
        "form",
        "mz-gaoling-roster",
        f"town:{TOWN}",
        "核对高龄津贴发放名单",
    )
    assert row.detail["full_view"] is True and row.detail["rows"] == len(expected)


def test_export_writes_an_audit_row_and_user_and_time_in_the_footer(
    s: Session, population: Population
) -> None:
    result, data = service.export(s, TOWN_ACTOR, "mz-dibao-monthly", TOWN, "2026-11", AS_OF)
    row = s.scalars(select(AuditRow).order_by(AuditRow.id.desc()).limit(1)).one()
    assert (row.actor, row.actor_role, row.action, row.object_id, row.scope) == (
        TOWN_ACTOR.username,
        "town_duty",
        "export",
        "mz-dibao-monthly",
        f"town:{TOWN}",
    )
    assert row.detail == {"period": "2026-11", "as_of": "2026-11-30", "known_at": row.detail["known_at"],
                          "rows": 6, "full_view": False, "checks_failed": 0, "bytes": len(data)}  # fmt: skip
    ws = load_workbook(io.BytesIO(data))["报表"]
    texts = [c.value for r in ws.iter_rows() for c in r if isinstance(c.value, str)]
    footer = next(t for t in texts if t.startswith("单位负责人"))
    assert f"填表人：{TOWN_ACTOR.name}" in footer and "报出日期：" in footer
    assert f"填报单位(盖章)：{result.org_name}" in texts
    numbers = next(r for r in ws.iter_rows(values_only=True) if r[0] == "甲")
    assert numbers[:5] == ("甲", "乙", 1, 2, 3)
    codes = [c for c in ws["B"] if isinstance(c.value, str) and c.value.startswith("500118")]
    assert len(codes) == 6 and all(c.data_type == "s" and c.number_format == "@" for c in codes)
    assert ws.max_column == 2 + 27
    checks = load_workbook(io.BytesIO(data))["校验"]
    assert any(r[3] == "通过" for r in checks.iter_rows(min_row=4, values_only=True))


def test_an_org_outside_the_scope_is_not_found(s: Session, population: Population) -> None:
    with pytest.raises(NotFound, match=f'org unit "{TOWN}" not found'):
        service.compute(s, OTHER_TOWN_ACTOR, "mz-dibao-monthly", TOWN, "2026-11", AS_OF)
    with pytest.raises(NotFound):
        service.compute(s, TOWN_ACTOR, "tj-population-annual", DISTRICT, "2026", AS_OF)
    with pytest.raises(NotFound, match="form"):
        service.compute(s, SYSTEM, "no-such-form", TOWN, "2026-11")


def test_bad_period_date_and_org_level_are_refused(s: Session, population: Population) -> None:
    with pytest.raises(InvalidInput, match="give YYYY-MM"):
        service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, "2026-Q4")
    with pytest.raises(InvalidInput, match=r"as_of 2026-10-31 is outside the period 2026-11 \(2026-11-01 to"):
        service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, "2026-11", date(2026, 10, 31))
    with pytest.raises(InvalidInput, match="filled for a town; 500118000000 is a district"):
        service.compute(s, SYSTEM, "mz-dibao-monthly", DISTRICT, "2026-11")
    with pytest.raises(InvalidInput, match="known_at"):
        service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, "2026-11", known_at=datetime(2026, 1, 1))


def test_a_period_not_started_and_a_statistical_date_in_the_future_are_refused(
    s: Session, population: Population
) -> None:
    today, start = local_today(), next_month()
    future = f"{start:%Y-%m}"
    with pytest.raises(InvalidInput) as e:
        service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, future)
    assert str(e.value) == (
        f"period {future} has not started yet (it starts on {start}; today is {today}, Beijing time): "
        "a form is filled for the current period or a past one"
    )
    assert [x.field for x in e.value.errors] == ["period"]
    with pytest.raises(InvalidInput, match=f"period {today.year + 1} has not started yet"):
        service.compute(s, SYSTEM, "tj-population-annual", DISTRICT, str(today.year + 1))
    # the running period is counted as of today by default; tomorrow is refused
    running = f"{today:%Y-%m}"
    assert service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, running).as_of == today
    assert service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, running, today).as_of == today
    tomorrow = today + timedelta(days=1)
    with pytest.raises(InvalidInput) as e:
        service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, running, tomorrow)
    assert str(e.value) == (
        f"as_of {tomorrow} is in the future (today is {today}, Beijing time): "
        "a form is counted as of today or an earlier day"
    )
    assert [x.field for x in e.value.errors] == ["as_of"]


def test_computing_a_form_needs_form_read_and_a_roster_registry_read(
    s: Session, population: Population
) -> None:
    grid = population.grids[population.villages[0]][0]
    worker = Actor(None, f"{grid}.worker", "网格员(生成)", "grid_worker", grid, "500118", TOWN)
    with pytest.raises(Forbidden, match=r'^role "grid_worker" may not .*\(form\.read\)$'):
        service.compute(s, worker, "ga-grid-monthly", TOWN, "2026-11", AS_OF)
    leader = Actor(None, "500118.leader", "领导(生成)", "leader", "500118-CYZX", "500118")
    by_leader = service.compute(s, leader, "mz-dibao-monthly", TOWN, "2026-11", AS_OF)
    by_system = service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, "2026-11", AS_OF)
    assert [r.values for r in by_leader.rows] == [r.values for r in by_system.rows]
    roster = service.get_form("mz-gaoling-roster")
    assert roster.rows == "person"
    with pytest.raises(Forbidden, match=r'^role "leader" may not .*\(registry\.read\)$'):
        service.compute(s, leader, roster.id, TOWN, period_for(roster), AS_OF)


def test_a_department_gets_only_forms_within_its_tags(s: Session, population: Population) -> None:
    mzj = service.compute(s, MZJ_ACTOR, "mz-dibao-monthly", TOWN, "2026-11", AS_OF)
    sys_ = service.compute(s, SYSTEM, "mz-dibao-monthly", TOWN, "2026-11", AS_OF)
    assert [r.values for r in mzj.rows] == [r.values for r in sys_.rows]
    with pytest.raises(Forbidden, match="beyond your department's tags"):
        service.compute(s, MZJ_ACTOR, "tj-village-basic", TOWN, "2026", AS_OF)


def test_grid_rows_and_events_by_town(s: Session, population: Population) -> None:
    r = service.compute(s, SYSTEM, "ga-grid-monthly", TOWN, "2026-11", AS_OF)
    g0 = population.grids[population.villages[0]][0]
    assert values(r, "people")[g0] == population.count(lambda p: p.grid == g0 and active(p))
    assert values(r, "houses")[g0] == 3
    assert values(r, "people")["total"] == population.count(active)


@pytest.mark.parametrize("form_id", sorted(f for f, d in service.catalogue().items() if d.rows != "person"))
def test_the_snapshot_and_sql_engines_give_the_same_figures(
    s: Session, population: Population, form_id: str
) -> None:
    form = service.get_form(form_id)
    org, period = org_for(form, population), period_for(form)
    fast = service.compute_form(s, SYSTEM, form, org, period, AS_OF, engine="snapshot")
    ref = service.compute_form(s, SYSTEM, form, org, period, AS_OF, engine="sql")
    assert [(r.code, r.values) for r in fast.rows] == [(r.code, r.values) for r in ref.rows]
    dept = service.compute_form(s, MZJ_ACTOR, service.get_form("mz-disabled-annual"), TOWN, "2026", AS_OF)
    assert dept.rows[0].values[0] == population.count(lambda p: "canji" in p.tags and active(p))
