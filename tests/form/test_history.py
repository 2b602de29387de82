"""Forms as of a date and as known at an instant: 低保 households per village before and after a change
that is valid later, a backdated death, reproducing a past render with ``known_at``, and the
columnar copy following every committed change (incremental refresh, rebuild after deletions).

Everyone here is GENERATED (conftest.gen_id)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.db import session_factory
from zhizhi.form import rules, service
from zhizhi.org.models import OrgUnit
from zhizhi.registry import service as registry

from .conftest import D0, SOURCE, SYSTEM, TOWN, _empty, gen_id

FORM = "mz-dibao-monthly"


@pytest.fixture
def s(engine: Engine, clean_registers: None) -> Iterator[Session]:
    _empty(engine)
    session = session_factory(engine)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def col(result: rules.FormResult, key: str) -> dict[str, object]:
    c = next(c for c in result.form.columns if c.key == key)
    return {(r.code or "total"): r.values[c.no - 1] for r in result.rows}


def person(
    s: Session, seq: int, grid: str, household: str, tags: list[str], birth: date = date(1970, 5, 1)
) -> str:
    cid = gen_id(birth, seq)
    registry.upsert_resident(
        s, SYSTEM, {"citizen_id": cid, "name": "王测试", "grid_code": grid, "household_number": household,
                    "tags": tags, "generated": True}, SOURCE, valid_from=D0,
    )  # fmt: skip
    return cid


def test_dibao_households_per_village_before_and_after_a_change_valid_later(
    s: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zhizhi.form import snapshot

    loads: list[int] = []
    real_load = snapshot._load

    def counted(*a: object) -> snapshot.Snapshot:
        loads.append(1)
        return real_load(*a)  # type: ignore[arg-type]

    monkeypatch.setattr(snapshot, "_load", counted)
    v1, v2 = s.scalars(select(OrgUnit.code).where(OrgUnit.level == "village", OrgUnit.town_code == TOWN)
                       .order_by(OrgUnit.code).limit(2)).all()  # fmt: skip
    g1, g2 = f"{v1}001", f"{v2}001"
    for number, grid in (("HIS1", g1), ("HIS2", g1), ("HIS3", g2), ("HIS4", g1)):
        registry.upsert_household(s, SYSTEM, {"number": number, "grid_code": grid}, SOURCE, valid_from=D0)
    person(s, 1, g1, "HIS1", ["dibao"])
    person(s, 3, g1, "HIS1", ["dibao"])
    lone = person(s, 5, g1, "HIS2", ["dibao"], birth=date(1940, 3, 3))
    for seq in (7, 9, 11):
        person(s, seq, g2, "HIS3", ["dibao"])
    newcomer = person(s, 13, g1, "HIS4", [])
    person(s, 15, g1, "HIS4", [])
    s.commit()
    first = service.compute(s, SYSTEM, FORM, TOWN, "2026-11", date(2026, 11, 30))
    assert (
        col(first, "households")[v1],
        col(first, "households")[v2],
        col(first, "households")["total"],
    ) == (2, 1, 3)
    assert (col(first, "persons")[v1], col(first, "persons")[v2]) == (3, 3)
    known = first.known_at
    built = len(loads)

    # 民政 grants 低保 to HIS4's first member from 15 November (recorded now)
    registry.upsert_resident(s, SYSTEM, {"citizen_id": newcomer, "tags": {"dibao": True}}, "dept:MZJ",
                             valid_from=date(2026, 11, 15))  # fmt: skip
    s.commit()
    before = service.compute(s, SYSTEM, FORM, TOWN, "2026-11", date(2026, 11, 10))
    after = service.compute(s, SYSTEM, FORM, TOWN, "2026-11", date(2026, 11, 30))
    october = service.compute(s, SYSTEM, FORM, TOWN, "2026-10")
    assert (col(before, "households")[v1], col(before, "persons")[v1]) == (2, 3)
    assert (col(after, "households")[v1], col(after, "persons")[v1], col(after, "households")["total"]) == (
        3,
        4,
        4,
    )
    assert col(after, "new_persons")[v1] == 1 and col(after, "new_persons")["total"] == 1
    assert col(before, "new_persons")["total"] == 0  # not yet on 10 November
    assert col(october, "households")[v1] == 2
    # the same form as known before the change: exactly the first render (SQL, past knowledge)
    again = service.compute(s, SYSTEM, FORM, TOWN, "2026-11", date(2026, 11, 30), known_at=known)
    assert [r.values for r in again.rows] == [r.values for r in first.rows]

    # a death on 20 November recorded afterwards: HIS2 (one member) leaves 低保 in November
    registry.upsert_resident(
        s, SYSTEM, {"citizen_id": lone, "status": "死亡", "status_date": "2026-11-20"}, SOURCE
    )
    s.commit()
    late = service.compute(s, SYSTEM, FORM, TOWN, "2026-11", date(2026, 11, 30))
    assert (col(late, "households")[v1], col(late, "persons")[v1], col(late, "exited_persons")[v1]) == (
        2,
        3,
        1,
    )
    assert col(late, "elderly")[v1] == 0
    ref = service.compute_form(
        s, SYSTEM, service.get_form(FORM), TOWN, "2026-11", date(2026, 11, 30), engine="sql"
    )
    assert [r.values for r in ref.rows] == [r.values for r in late.rows]
    assert late.failures == []
    assert len(loads) == built  # each committed change was applied to the copy, not rebuilt

    # uncommitted changes never reach the shared copy; deleted rows make it rebuild
    registry.upsert_resident(s, SYSTEM, {"citizen_id": person(s, 17, g2, "HIS3", ["dibao"])}, SOURCE)
    assert col(service.compute(s, SYSTEM, FORM, TOWN, "2026-11", date(2026, 11, 30)), "persons")[v2] == 3
    s.rollback()
    _empty(s.get_bind())  # type: ignore[arg-type]
    empty = service.compute(s, SYSTEM, FORM, TOWN, "2026-11", date(2026, 11, 30))
    assert col(empty, "persons")["total"] == 0 and ztime.utcnow() >= empty.known_at
    assert len(loads) == built + 1  # rows deleted: rebuilt
