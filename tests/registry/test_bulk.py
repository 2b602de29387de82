"""The bulk write path (批量导入) against the per-row one: the same rows give the same register.

Every person here is GENERATED (see conftest): invented names, IDs with the 永川区 prefix and a valid
GB 11643 check character, phones in the 138-0000 block.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.errors import Forbidden, InvalidInput
from zhizhi.registry import service
from zhizhi.registry.models import (
    Household,
    RegisterChange,
    RegisterConflict,
    Resident,
    ResidentVersion,
)

from .conftest import (
    GRID1,
    GRID2,
    GRID3,
    GRID_ACTOR,
    OTHER_TOWN_GRID,
    REGISTER_TABLES,
    SYSTEM_ACTOR,
    TOWN,
    TOWN_ACTOR,
    gen_id,
)

GONGAN = "import:gongan-hukou"
MZJ = "import:mzj-dibao"
CLERK = Actor(None, f"{TOWN}.clerk", "数据员(生成)", "clerk", f"{TOWN}-ZHZX", "500118", TOWN)
"""A town data clerk (数据员): holds registry.import, scope 中山路街道."""
D0, D1 = date(2026, 1, 1), date(2026, 6, 1)


def pid(seq: int, birth: str = "19800101") -> str:
    return gen_id(birth, seq)


OLD_ID = gen_id("19700101", 3, region="500383")
"""A GENERATED ID with 500383 (永川市, 1997-2005), so that its 15-digit form is a real possibility."""


def _existing(session: Session) -> None:
    """The register before the import: the household feed's people and two households."""
    for number, grid in (("500118000001", GRID1), ("500118000009", OTHER_TOWN_GRID)):
        service.upsert_household(session, SYSTEM_ACTOR, {"number": number, "grid_code": grid}, GONGAN)
    people = [
        (1, "19400501", GRID1, {"tags": ["gaoling"]}),
        (3, "19700101", GRID2, {"phone": "13800000003", "citizen_id": OLD_ID}),
        (5, "19800101", OTHER_TOWN_GRID, {}),  # in another town: outside the clerk's scope
        (7, "19900101", GRID3, {"status": "死亡", "status_date": "2026-02-01"}),
    ]
    for seq, birth, grid, kw in people:
        service.upsert_resident(
            session,
            SYSTEM_ACTOR,
            {"citizen_id": pid(seq, birth), "name": "张测试", "grid_code": grid, **kw},  # type: ignore[dict-item]
            GONGAN,
            valid_from=D0,
        )


def _rows() -> list[dict[str, Any]]:
    """An import file as a clerk would send it: new people, the same person twice, a 15-digit ID, a
    name that another source set (conflict, twice: one conflict), a death after a record, bad rows."""
    id15 = OLD_ID[:6] + OLD_ID[8:17]
    return [
        {"citizen_id": pid(11), "name": "李测试", "grid_code": GRID1, "phone": "13800000011",
         "tags": ["低保"]},
        {"citizen_id": pid(1, "19400501"), "name": "张测试改", "tags": ["dibao"]},  # name: conflict
        {"citizen_id": pid(13), "name": "王测试", "grid_code": GRID2, "household_number": "500118000001",
         "relation": "户主", "ethnicity": "汉族"},
        {"citizen_id": pid(11), "address": "中山路11号", "status": "迁出", "status_date": "2026-09-01"},
        {"citizen_id": id15, "phone": "13800000333"},  # the feed's phone: conflict; 15 digits: warning
        {"citizen_id": pid(15)[:17] + ("0" if pid(15)[17] != "0" else "1"), "name": "坏校验"},  # bad ID
        {"citizen_id": pid(17), "name": "外镇测试", "grid_code": OTHER_TOWN_GRID},  # outside the town
        {"citizen_id": pid(5), "name": "张测试", "grid_code": GRID1},  # stored in another town
        {"citizen_id": pid(5), "phone": "13800000005"},  # ... partial: as for a person not registered
        {"citizen_id": pid(1, "19400501"), "name": "张测试改"},  # the same proposal: the same conflict
        {"citizen_id": pid(7, "19900101"), "status": "在册"},  # back from 死亡: refused
        {"citizen_id": pid(19), "name": "赵测试", "grid_code": GRID3, "tags": ["高龄"]},  # too young
        {"citizen_id": pid(21), "name": "钱测试", "grid_code": GRID3, "household_number": "500118000009"},
        {"citizen_id": pid(13), "clear": ["household_number"], "phone": "13800000013"},
        {"citizen_id": pid(23), "name": "孙测试", "village_code": GRID3[:12], "status": "死亡",
         "status_date": "2026-07-01", "generated": True},
    ]  # fmt: skip


def _one_by_one(session: Session, rows: list[dict[str, Any]]) -> list[Any]:
    out: list[Any] = []
    for data in rows:
        try:
            out.append(service.upsert_resident(session, CLERK, data, MZJ, valid_from=D1, ref="f.xlsx"))
        except InvalidInput as e:
            out.append(sorted((x.field, x.reason) for x in e.errors))
        except Forbidden as e:
            out.append([("scope", e.detail)])
    return out


def _bulk(session: Session, rows: list[dict[str, Any]], chunk_rows: int) -> list[Any]:
    res = service.bulk_upsert_residents(
        session, CLERK, rows, MZJ, D1, ref="f.xlsx", skip_invalid=True, chunk_rows=chunk_rows
    )
    out: list[Any] = list(res.results)
    for e in res.rejected:
        assert e.line is not None
        i = e.line - 1
        assert out[i] is None or isinstance(out[i], list)  # a refused row has no result
        if out[i] is None:
            out[i] = []
        out[i].append((e.field, e.reason))
    return [sorted(o) if isinstance(o, list) else o for o in out]


def _snapshot(session: Session, outcome: list[Any]) -> dict[str, Any]:
    """The register and the per-row outcome with every database id replaced by a natural key."""
    cid = dict(session.execute(select(Resident.id, Resident.citizen_id)).all())
    number = dict(session.execute(select(Household.id, Household.number)).all())
    changes = session.scalars(select(RegisterChange).order_by(RegisterChange.id)).all()
    seen: dict[str, int] = {}
    change_key: dict[int, tuple[str, int]] = {}
    for c in changes:
        # natural keys, not ids: PostgreSQL's sequences do not restart after the wipe between the runs
        if c.entity == "resident":
            who = cid.get(c.entity_id)
        elif c.entity == "household":
            who = f"hh:{number.get(c.entity_id)}"
        else:
            who = f"{c.entity}:{c.entity_id}"
        seen[str(who)] = seen.get(str(who), 0) + 1
        change_key[c.id] = (str(who), seen[str(who)])
    conflicts = session.scalars(select(RegisterConflict)).all()
    conflict_key = {
        c.id: (cid[c.entity_id], c.field, str(c.proposed), c.valid_from, c.proposed_source) for c in conflicts
    }
    results: list[Any] = []
    for r in outcome:
        if isinstance(r, list):
            results.append(r)
            continue
        results.append(
            (cid[r.id], r.created, sorted(r.applied), sorted(r.unchanged),
             sorted(conflict_key[i] for i in r.conflicts), [change_key[i] for i in r.changes], r.warnings)
        )  # fmt: skip
    cols = [c.key for c in ResidentVersion.__table__.c if c.key not in ("id", "recorded_at", "superseded_at")]
    believed = sorted(
        (cid[v.resident_id], *(number.get(v.household_id or 0) if c == "household_id" else getattr(v, c)
                               for c in cols if c != "resident_id"))
        for v in session.scalars(select(ResidentVersion).where(ResidentVersion.superseded_at.is_(None)))
    )  # fmt: skip

    def natural(values: dict[str, Any]) -> dict[str, Any]:
        return {k: number.get(v) if k == "household_id" else v for k, v in values.items()}

    log = sorted(  # per entity in recording order; entities of a chunked import interleave differently
        (change_key[c.id], c.entity, c.valid_from, c.actor, c.source, c.ref, natural(c.new), natural(c.old),
         c.conflict_id)
        for c in changes
    )  # fmt: skip
    people = sorted(
        (r.citizen_id, r.sex, r.birth_date, r.generated) for r in session.scalars(select(Resident))
    )
    conflict_rows = sorted(
        (conflict_key[c.id], c.current, c.current_source, change_key.get(c.current_change_id or 0), c.linked,
         c.proposed_ref, c.actor, c.town_code, c.grid_code, c.status)
        for c in conflicts
    )  # fmt: skip
    return {
        "results": results,
        "people": people,
        "believed": believed,
        "log": log,
        "conflicts": conflict_rows,
    }


def _wipe(session: Session) -> None:
    for t in REGISTER_TABLES:
        session.execute(text(f"DELETE FROM {t}"))
    session.expunge_all()


@pytest.mark.parametrize("chunk_rows", [3, 5000])
def test_bulk_gives_what_one_by_one_gives(session: Session, chunk_rows: int) -> None:
    rows = _rows()
    _existing(session)
    expected = _snapshot(session, _one_by_one(session, rows))
    _wipe(session)
    _existing(session)
    got = _snapshot(session, _bulk(session, rows, chunk_rows))
    for part in ("results", "people", "believed", "log", "conflicts"):
        assert got[part] == expected[part], part
    # the file did what it says, not merely the same thing twice
    r = expected["results"]
    assert r[0][1] is True and r[3][1] is False and r[3][2] == ["address", "status", "status_date"]
    assert len(r[1][4]) == 1 and r[9][4] == r[1][4]  # one conflict, found again by the second row
    assert r[4][4][0][1] == "phone" and any("15-digit" in w for w in r[4][6])
    refusal = [
        ("scope", "outside your data scope (town 500118001000): you may write only records located there")
    ]
    assert r[6] == refusal and r[7] == refusal
    assert r[8] == [("name", "required for a new resident")]
    assert r[5][0][0] == "citizen_id" and r[10] == [("status", "status cannot change from 死亡 to 在册")]
    assert r[11][0][1].startswith("高龄 (gaoling) needs age 80 or more")
    assert r[12] == [
        ("household_number", 'household "500118000009" is not registered: add the household first')
    ]
    assert len(expected["conflicts"]) == 2 and len(expected["people"]) == 4 + 3  # new: rows 1, 3, 15


def test_without_skip_invalid_the_call_is_refused_naming_rows(session: Session) -> None:
    rows: list[dict[str, Any]] = [
        {"citizen_id": pid(31), "name": "周测试", "grid_code": GRID1},
        {"citizen_id": 500118198001010010, "name": "坏"},  # a number: refused
        {"citizen_id": pid(33), "name": "吴测试", "grid_code": GRID1, "ethnicity": "99", "nation": "汉"},
    ]
    with pytest.raises(InvalidInput) as e:
        service.bulk_upsert_residents(session, CLERK, rows, MZJ, D1)
    assert e.value.detail.startswith("resident import: 2 of 3 rows refused; nothing is stored")
    assert [(x.line, x.field) for x in e.value.errors] == [
        (2, "citizen_id"),
        (3, "nation"),
        (3, "ethnicity"),
    ]
    assert e.value.errors[2].reason == '"99" is not a known code or label'


def test_bulk_needs_the_import_permission(session: Session) -> None:
    rows = [{"citizen_id": pid(41), "name": "郑测试", "grid_code": GRID1}]
    for actor, role in ((GRID_ACTOR, "grid_worker"), (TOWN_ACTOR, "town_duty")):
        with pytest.raises(Forbidden, match=rf'role "{role}" may not .* \(registry.import\)'):
            service.bulk_upsert_residents(session, actor, rows, MZJ)
    assert session.scalar(select(Resident.id)) is None
    # the per-row path asks for registry.write, which both hold
    assert service.upsert_resident(session, TOWN_ACTOR, rows[0], f"town:{TOWN}").created


@pytest.fixture
def statements(session: Session) -> Iterator[Callable[[], int]]:
    """Count the SQL statements the session's connection executes (executemany counts once)."""
    count = [0]

    def seen(*_: Any) -> None:
        count[0] += 1

    eng = session.get_bind()
    event.listen(eng, "before_cursor_execute", seen)
    yield lambda: count[0]
    event.remove(eng, "before_cursor_execute", seen)


def _people(n: int, start: int, **kw: Any) -> list[dict[str, Any]]:
    return [
        {"citizen_id": gen_id(f"19{50 + i % 40:02d}0{1 + i % 9}1{i % 9}", i % 1000), "name": "测试",
         "grid_code": (GRID1, GRID2, GRID3)[i % 3], **kw}
        for i in range(start, start + n)
    ]  # fmt: skip


def test_bulk_is_set_based(session: Session, statements: Callable[[], int]) -> None:
    """The statements of a bulk call do not grow with its rows (per chunk: a few look-ups and one
    insert per table), while the per-row path needs several per row."""
    used = []
    for n in (300, 1200):
        rows = _people(n, 0 if n == 300 else 300)
        before = statements()
        res = service.bulk_upsert_residents(session, SYSTEM_ACTOR, rows, GONGAN, D0)
        used.append(statements() - before)
        assert res.summary() == {
            "rows": n, "created": n, "updated": 0, "unchanged": 0, "conflicts": 0, "rejected": 0,
        }  # fmt: skip
    assert used[1] <= used[0] + 12, used  # 4x the rows: a few more IN-list chunks, nothing per row
    assert used[0] < 40, used
    before = statements()
    service.upsert_resident(session, SYSTEM_ACTOR, _people(1, 2000)[0], GONGAN, valid_from=D0)
    assert statements() - before >= 5
    # an update of every one of them (another source's phone: applied, the field was empty)
    rows = [{**r, "phone": "13800001234"} for r in _people(1500, 0)]
    before = statements()
    res = service.bulk_upsert_residents(session, SYSTEM_ACTOR, rows, MZJ, D1)
    assert res.summary()["updated"] == 1500 and statements() - before < 60
    n_versions = session.scalar(
        select(text("count(*)")).select_from(ResidentVersion).where(ResidentVersion.superseded_at.is_(None))
    )
    assert n_versions == 2 * 1501 - 1  # each updated person: [D0, D1) and [D1, ∞); the extra one: 1 row


def test_bulk_households_and_houses_match_one_by_one(session: Session) -> None:
    service.upsert_resident(
        session, SYSTEM_ACTOR, {"citizen_id": pid(51), "name": "户主测试", "grid_code": GRID1}, GONGAN
    )
    households: list[dict[str, Any]] = [
        {"number": "500118100001", "grid_code": GRID1, "kind": "家庭户", "head_citizen_id": pid(51)},
        {"number": "500118100002", "grid_code": OTHER_TOWN_GRID},
        {"number": "500118100001", "status": "注销"},
        {"number": ""},
    ]
    houses: list[dict[str, Any]] = [
        {"code": "yc-9001", "grid_code": GRID2, "use": "住宅", "floors": 3, "lon": 105.9, "lat": 29.35},
        {"code": "YC-9001", "floors": 4},
        {"code": "yc-9002", "grid_code": GRID1, "use": "宫殿"},
    ]

    def run(bulk: bool) -> list[Any]:
        out: list[Any] = []
        for rows, one, many in (
            (households, service.upsert_household, service.bulk_upsert_households),
            (houses, service.upsert_house, service.bulk_upsert_houses),
        ):
            if bulk:
                res = many(session, CLERK, rows, MZJ, D1, skip_invalid=True)
                out += [(r.created, r.applied, r.unchanged, r.conflicts) if r else None for r in res.results]
                out.append(sorted((e.line, e.field, e.reason) for e in res.rejected))
                continue
            errs = []
            for i, data in enumerate(rows, start=1):
                try:
                    r = one(session, CLERK, data, MZJ, valid_from=D1)
                    out.append((r.created, r.applied, r.unchanged, r.conflicts))
                except (InvalidInput, Forbidden) as e:
                    out.append(None)
                    errs += [(i, x.field, x.reason) for x in getattr(e, "errors", [])] or [
                        (i, "scope", e.detail)
                    ]
            out.append(sorted(errs))
        out.append(service.entities_as_of(session, SYSTEM_ACTOR, "household", D1)["items"])
        out.append(service.entities_as_of(session, SYSTEM_ACTOR, "house", D1)["items"])
        return out

    expected = run(bulk=False)
    _wipe(session)
    service.upsert_resident(
        session, SYSTEM_ACTOR, {"citizen_id": pid(51), "name": "户主测试", "grid_code": GRID1}, GONGAN
    )
    got = run(bulk=True)
    strip = [[{k: v for k, v in i.items() if k not in ("id", "head_id")} for i in x] for x in expected[-2:]]
    assert [
        [{k: v for k, v in i.items() if k not in ("id", "head_id")} for i in x] for x in got[-2:]
    ] == strip
    assert got[:-2] == expected[:-2]
    assert expected[0] == (True, ["head_id", "kind", "grid_code", "village_code", "status"], [], [])
    assert expected[2] == (False, ["status"], [], [])
    assert expected[5] == (
        True,
        ["use", "floors", "lon", "lat", "grid_code", "village_code", "status"],
        [],
        [],
    )
    assert expected[6] == (False, ["floors"], [], [])
    assert [e[:2] for e in expected[4]] == [(2, "scope"), (4, "number")]
    assert expected[8] == [(3, "use", '"宫殿" is not a known code or label')]
