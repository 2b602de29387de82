"""Registers through the service (SQLite test database with Yongchuan's org tree): upserts with history,
conflicts between sources, as-of queries and counts that reproduce, data scope and masking.

Every person here is GENERATED (see conftest): invented names, IDs with the 永川区 prefix and a valid
GB 11643 check character, phones in the 138-0000 block.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from zhizhi.registry import service
from zhizhi.registry.identifiers import org_check_char
from zhizhi.registry.models import RegisterChange, ResidentVersion
from zhizhi.registry.service import ResidentFilter

from .conftest import (
    DISTRICT_ACTOR,
    GRID1,
    GRID2,
    GRID3,
    GRID_ACTOR,
    MZJ_ACTOR,
    OTHER_TOWN_GRID,
    OTHER_TOWN_VILLAGE,
    SYSTEM_ACTOR,
    TOWN_ACTOR,
    VILLAGE,
    VILLAGE2,
    gen_id,
)

CHIEF_ACTOR = Actor(None, "500118.chief", "城运中心值班长(生成)", "center_chief", "500118-CYZX", "500118")
"""A district role holding registry.resolve (the duty officer, DISTRICT_ACTOR, only reads)."""
GONGAN = "import:gongan-hukou"  # a recurring household-register feed
GRID_SRC = f"grid:{GRID1}"
D0, D1, D2 = date(2026, 1, 1), date(2026, 3, 1), date(2026, 6, 1)


def person(seq: int, birth: str = "19800101", **kw: Any) -> dict[str, Any]:
    return {"citizen_id": gen_id(birth, seq), "name": "张测试", "grid_code": GRID1, **kw}


def add(
    session: Session,
    seq: int,
    birth: str = "19800101",
    source: str = GONGAN,
    valid_from: date = D0,
    **kw: Any,
) -> int:
    return service.upsert_resident(
        session, SYSTEM_ACTOR, person(seq, birth, **kw), source, valid_from=valid_from
    ).id


def versions(session: Session, rid: int, believed: bool = True) -> list[ResidentVersion]:
    q = select(ResidentVersion).where(ResidentVersion.resident_id == rid)
    if believed:
        q = q.where(ResidentVersion.superseded_at.is_(None))
    return list(session.scalars(q.order_by(ResidentVersion.valid_from, ResidentVersion.id)))


# --- create, update, history -------------------------------------------------------------------------


def test_create_then_same_source_update_keeps_history(session: Session) -> None:
    r1 = service.upsert_resident(
        session,
        SYSTEM_ACTOR,
        person(1, phone="13800001234", ethnicity="汉族", address="中山路1号"),
        GONGAN,
        valid_from=D0,
    )
    assert r1.created and r1.conflicts == [] and r1.changes
    assert sorted(r1.applied) == [
        "address",
        "ethnicity",
        "grid_code",
        "name",
        "phone",
        "status",
        "village_code",
    ]
    r2 = service.upsert_resident(session, SYSTEM_ACTOR, person(1, phone="13800005678"), GONGAN, valid_from=D1)
    assert (r2.id, r2.created, r2.applied, r2.conflicts) == (r1.id, False, ["phone"], [])
    assert sorted(r2.unchanged) == ["grid_code", "name", "village_code"]
    # a blank cell is "not supplied": nothing changes, nothing is recorded
    r3 = service.upsert_resident(
        session, SYSTEM_ACTOR, person(1, phone="", address=None), GONGAN, valid_from=D2
    )
    assert r3.applied == [] and r3.changes == []

    hist = service.history_of(session, DISTRICT_ACTOR, "resident", r1.id)
    assert [(h["valid_from"], h["source"], h["actor"]) for h in hist] == [
        ("2026-01-01", GONGAN, "system"),
        ("2026-03-01", GONGAN, "system"),
    ]
    assert hist[1]["new"] == {"phone": "138****5678"} and hist[1]["old"] == {"phone": "138****1234"}
    assert hist[0]["new"]["name"] == "张**" and hist[0]["new"]["address"] == "***"
    rows = versions(session, r1.id)
    assert [(v.valid_from, v.valid_to, v.phone) for v in rows] == [
        (D0, D1, "13800001234"),
        (D1, None, "13800005678"),
    ]
    # the row believed before the update is kept, superseded
    old = [v for v in versions(session, r1.id, believed=False) if v.superseded_at is not None]
    assert [(v.valid_from, v.valid_to, v.phone) for v in old] == [(D0, None, "13800001234")]
    assert session.scalar(select(RegisterChange.old).where(RegisterChange.id == r2.changes[0])) == {
        "phone": "13800001234"
    }


def test_fifteen_digit_id_is_converted_and_deduplicated(session: Session) -> None:
    # a GENERATED pre-1999 number with 500383 (永川市, 1997-2005): stored as its 18-digit form
    id18 = gen_id("19700101", 15, region="500383")
    id15 = id18[:6] + id18[8:17]
    a = service.upsert_resident(session, SYSTEM_ACTOR, {**person(0), "citizen_id": id18}, GONGAN)
    b = service.upsert_resident(session, SYSTEM_ACTOR, {**person(0), "citizen_id": id15}, GONGAN)
    assert b.id == a.id and not b.created
    assert any("15-digit number" in w for w in b.warnings) and any("is retired" in w for w in b.warnings)


# --- conflicts ---------------------------------------------------------------------------------------


def test_another_source_conflicts_and_a_person_resolves(session: Session) -> None:
    rid = add(session, 1)
    before = service.upsert_resident(
        session, GRID_ACTOR, person(1, name="张测试改", phone="13800001234"), GRID_SRC
    )
    # the phone was empty: applied; the name is the import's: conflict, value unchanged
    assert before.applied == ["phone"] and len(before.conflicts) == 1
    assert versions(session, rid)[-1].name == "张测试"
    again = service.upsert_resident(session, GRID_ACTOR, person(1, name="张测试改"), GRID_SRC)
    assert again.conflicts == before.conflicts  # the same proposal finds the open conflict

    listed = service.list_conflicts(session, TOWN_ACTOR)
    assert listed["total"] == 1
    c = listed["items"][0]
    assert (c["field"], c["current"], c["proposed"]) == ("name", "张**", "张***")
    assert (c["current_source"], c["proposed_source"], c["status"]) == (GONGAN, GRID_SRC, "open")
    assert service.list_conflicts(session, GRID_ACTOR)["total"] == 1  # the grid sees its conflicts ...
    with pytest.raises(Forbidden, match=r'role "grid_worker" may not .* \(registry.resolve\)'):
        service.resolve_conflict(session, GRID_ACTOR, c["id"], accept=True)  # ... but does not decide
    other = Actor(None, "t2", "t2", "town_duty", "x", "500118", "500118002000")
    assert service.list_conflicts(session, other)["total"] == 0
    with pytest.raises(NotFound):
        service.resolve_conflict(session, other, c["id"], accept=True)

    done = service.resolve_conflict(session, TOWN_ACTOR, c["id"], accept=True, note="核实户籍照片")
    assert (done["status"], done["resolved_by"], done["note"]) == (
        "accepted",
        TOWN_ACTOR.username,
        "核实户籍照片",
    )
    assert versions(session, rid)[-1].name == "张测试改"
    prov = service.provenance_of(session, DISTRICT_ACTOR, "resident", rid)
    assert (prov["name"]["source"], prov["name"]["actor"]) == (GRID_SRC, TOWN_ACTOR.username)
    assert prov["grid_code"]["source"] == GONGAN and prov["phone"]["source"] == GRID_SRC
    with pytest.raises(Conflict, match="already accepted"):
        service.resolve_conflict(session, TOWN_ACTOR, c["id"], accept=False)
    assert service.list_conflicts(session, TOWN_ACTOR)["total"] == 0
    assert service.list_conflicts(session, TOWN_ACTOR, status="accepted")["total"] == 1


def test_rejected_conflict_changes_nothing_and_stale_one_is_refused(session: Session) -> None:
    rid = add(session, 1, address="A路1号")
    c1 = service.upsert_resident(session, GRID_ACTOR, person(1, address="B路2号"), GRID_SRC).conflicts[0]
    c2 = service.upsert_resident(session, MZJ_ACTOR, person(1, address="C路3号"), "dept:MZJ").conflicts[0]
    service.resolve_conflict(session, CHIEF_ACTOR, c1, accept=False)
    assert versions(session, rid)[-1].address == "A路1号"
    service.upsert_resident(session, SYSTEM_ACTOR, person(1, address="D路4号"), GONGAN)  # the import moves on
    with pytest.raises(Conflict, match="the value changed since it was raised"):
        service.resolve_conflict(session, CHIEF_ACTOR, c2, accept=True)


def test_status_conflict_holds_its_date_until_accepted(session: Session) -> None:
    rid = add(session, 1)
    r = service.upsert_resident(
        session, GRID_ACTOR, person(1, status="死亡", status_date="2026-10-02"), GRID_SRC
    )
    assert r.applied == [] and len(r.conflicts) == 1  # status_date is not applied on its own
    (c,) = service.list_conflicts(session, DISTRICT_ACTOR)["items"]
    assert (c["field"], c["proposed"], c["linked"]) == ("status", "deceased", {"status_date": "2026-10-02"})
    assert versions(session, rid)[-1].status == "active" and versions(session, rid)[-1].status_date is None
    service.resolve_conflict(session, CHIEF_ACTOR, c["id"], accept=True)
    last = versions(session, rid)[-1]
    assert (last.valid_from, last.status, last.status_date) == (
        date(2026, 10, 2),
        "deceased",
        date(2026, 10, 2),
    )


def test_department_tags_and_conflicts_on_them(session: Session) -> None:
    rid = add(session, 1, birth="19400501", tags=["gaoling"])
    # MZJ adds 低保 (empty before: applied); the grid removes 高龄 set by the import: conflict
    assert service.upsert_resident(
        session, MZJ_ACTOR, person(1, "19400501", tags=["低保"]), "dept:MZJ"
    ).applied == ["tag:dibao"]
    r = service.upsert_resident(session, GRID_ACTOR, person(1, "19400501", tags={"gaoling": False}), GRID_SRC)
    assert r.applied == [] and len(r.conflicts) == 1
    assert versions(session, rid)[-1].tags == "|dibao|gaoling|"
    wjw = Actor(None, "w", "w", "dept_handler", "500118-WJW", "500118")
    assert service.list_conflicts(session, MZJ_ACTOR)["total"] == 1  # 高龄 is one of MZJ's tags
    assert service.list_conflicts(session, wjw)["total"] == 1  # ... and of WJW's
    sfj = Actor(None, "s", "s", "dept_handler", "500118-SFJ", "500118")
    assert service.list_conflicts(session, sfj)["total"] == 0


# --- as of a date ------------------------------------------------------------------------------------


def test_as_of_returns_the_value_in_force(session: Session) -> None:
    rid = add(session, 1, address="A路1号", valid_from=D1)
    service.upsert_resident(session, SYSTEM_ACTOR, person(1, address="B路2号"), GONGAN, valid_from=D2)
    at = {
        d: service.residents_as_of(session, DISTRICT_ACTOR, d)["items"] for d in (D0, date(2026, 5, 31), D2)
    }
    assert at[D0] == []  # not on the register yet
    assert at[date(2026, 5, 31)][0]["address"] == "A路1号"
    assert at[D2][0]["address"] == "B路2号" and at[D2][0]["id"] == rid


def test_counts_as_of_a_date_reproduce(session: Session) -> None:
    add(session, 1, birth="19400501", tags=["gaoling", "dibao", "manbing"])  # 86 on the day
    add(session, 3, birth="19800101")
    add(session, 5, birth="20150301", grid_code=GRID2, tags=["留守儿童"])
    add(session, 7, birth="19600701", grid_code=GRID3, tags=["dibao"])
    add(session, 9, birth="19500201", grid_code=OTHER_TOWN_GRID)
    add(session, 11, birth="19900101", grid_code=GRID3, status="迁出", status_date="2026-06-30")
    day = date(2026, 10, 31)
    queries: list[tuple[str, ResidentFilter | None]] = [
        ("village", None), ("tag", None), ("age_band", None), ("status", ResidentFilter(status=None)),
        ("total", None),
    ]  # fmt: skip
    first = {by: service.count_residents(session, DISTRICT_ACTOR, day, by, f) for by, f in queries}
    assert first["village"] == {VILLAGE: 3, VILLAGE2: 1, OTHER_TOWN_VILLAGE: 1}
    assert {k: n for k, n in first["tag"].items() if n} == {
        "dibao": 2,
        "gaoling": 1,
        "liushou": 1,
        "manbing": 1,
    }
    assert len(first["tag"]) == 12 and first["tag"]["tekun"] == 0
    assert first["age_band"] == {"0-17": 1, "18-59": 1, "60-79": 2, "80+": 1}
    assert first["status"] == {"active": 5, "moved_out": 1}
    assert first["total"] == {"total": 5}
    assert service.count_residents(session, DISTRICT_ACTOR, date(2026, 6, 29), "total") == {"total": 6}
    known = ztime.utcnow()

    # later: a backdated death (before the day), and a move after the day
    service.upsert_resident(
        session,
        SYSTEM_ACTOR,
        {"citizen_id": gen_id("19600701", 7), "status": "死亡", "status_date": "2026-09-15"},
        GONGAN,
    )
    service.upsert_resident(
        session, SYSTEM_ACTOR, person(3, grid_code=OTHER_TOWN_GRID), GONGAN, valid_from=date(2026, 12, 1)
    )
    again = {
        by: service.count_residents(session, DISTRICT_ACTOR, day, by, f, known_at=known) for by, f in queries
    }
    assert again == first  # as known then: the same numbers
    now = {by: service.count_residents(session, DISTRICT_ACTOR, day, by, f) for by, f in queries}
    assert now["village"] == {VILLAGE: 3, OTHER_TOWN_VILLAGE: 1}  # the death is in; the move is not yet
    assert now["tag"]["dibao"] == 1 and now["status"] == {"active": 4, "deceased": 1, "moved_out": 1}
    assert service.count_residents(session, DISTRICT_ACTOR, day, "village") == now["village"]  # stable
    assert service.count_residents(session, DISTRICT_ACTOR, date(2026, 12, 1), "village") == {
        VILLAGE: 2,
        OTHER_TOWN_VILLAGE: 2,
    }
    by_age = service.count_residents(
        session, DISTRICT_ACTOR, day, "total", ResidentFilter(min_age=60, max_age=85)
    )
    assert by_age == {"total": 1}  # 1950-02-01 (76); 1940-05-01 is 86, 1960-07-01 died
    with pytest.raises(InvalidInput, match='by: "colour" is not one of'):
        service.count_residents(session, DISTRICT_ACTOR, day, "colour")


# --- scope and masking -------------------------------------------------------------------------------


def test_grid_worker_sees_and_writes_only_the_own_grid(session: Session) -> None:
    add(session, 1)
    add(session, 3, grid_code=GRID2)
    add(session, 5, grid_code=OTHER_TOWN_GRID)
    mine = service.residents_as_of(session, GRID_ACTOR)
    assert mine["total"] == 1 and {i["grid_code"] for i in mine["items"]} == {GRID1}
    assert service.residents_as_of(session, TOWN_ACTOR)["total"] == 2
    assert service.residents_as_of(session, DISTRICT_ACTOR)["total"] == 3
    refusal = "^outside your data scope \\(grid 500118001001001\\): you may write only records located there$"
    with pytest.raises(Forbidden, match=refusal):  # a new person in another grid
        service.upsert_resident(session, GRID_ACTOR, person(21, grid_code=GRID2), GRID_SRC)
    with pytest.raises(Forbidden, match=refusal):  # a person registered in another grid: the same words
        service.upsert_resident(session, GRID_ACTOR, person(3, grid_code=GRID1), GRID_SRC)
    # a partial update of that person gets the answer a person not on the register gets
    for seq in (3, 25):
        with pytest.raises(InvalidInput, match="^resident: name: required for a new resident$"):
            service.upsert_resident(
                session, GRID_ACTOR, {"citizen_id": gen_id("19800101", seq), "phone": "13800001234"}, GRID_SRC
            )
    created = service.upsert_resident(
        session, GRID_ACTOR, {"citizen_id": gen_id("19800101", 23), "name": "王测试"}, GRID_SRC
    )
    assert versions(session, created.id)[-1].grid_code == GRID1  # a grid worker's record goes to the own grid
    other = service.residents_as_of(
        session, DISTRICT_ACTOR, filters=ResidentFilter(grid_code=OTHER_TOWN_GRID)
    )
    with pytest.raises(NotFound):
        service.history_of(session, GRID_ACTOR, "resident", other["items"][0]["id"])


def test_department_sees_residents_with_its_tags_and_only_its_tags(session: Session) -> None:
    add(session, 1, birth="19400501", tags=["gaoling", "manbing"])
    add(session, 3)
    add(session, 5, grid_code=OTHER_TOWN_GRID, tags=["dibao"])
    seen = service.residents_as_of(session, MZJ_ACTOR)
    assert seen["total"] == 2
    assert [i["tags"] for i in seen["items"]] == [["gaoling"], ["dibao"]]  # 慢病 (WJW) hidden
    assert service.count_residents(session, MZJ_ACTOR, by="tag") == {
        "dibao": 1, "tekun": 0, "gaoling": 1, "shineng": 0, "canji": 0, "liushou": 0, "dujv": 0,
    }  # fmt: skip
    tyj = Actor(None, "t", "t", "dept_handler", "500118-TYJ", "500118")
    assert service.residents_as_of(session, tyj)["total"] == 0


def test_outputs_are_masked(session: Session) -> None:
    cid = gen_id("19800101", 1)
    add(session, 1, name="张测试", phone="13800001234", address="中山路1号")
    (item,) = service.residents_as_of(session, DISTRICT_ACTOR, date(2026, 11, 30))["items"]
    assert item["citizen_id"] == f"500118********{cid[-4:]}" and item["name"] == "张**"
    assert item["phone"] == "138****1234" and item["age"] == 46 and "birth_date" not in item
    assert item["sex"] == "male" and item["status"] == "active" and item["generated"] is False


# --- bad input ---------------------------------------------------------------------------------------


def _errors(session: Session, data: dict[str, Any], source: str = GONGAN) -> dict[str, str]:
    with pytest.raises(InvalidInput) as e:
        service.upsert_resident(session, SYSTEM_ACTOR, data, source)
    return {x.field: x.reason for x in e.value.errors}


def test_bad_input_names_every_field_and_reason(session: Session) -> None:
    good = gen_id("19800101", 1)
    bad_check = good[:17] + ("0" if good[17] != "0" else "1")
    assert "check character is" in _errors(session, person(1, citizen_id=bad_check))["citizen_id"]
    assert (
        "stored as a number, last digits lost"
        in _errors(session, person(1, citizen_id=500118198001010010))["citizen_id"]
    )
    errs = _errors(
        session, person(1, nation="汉", ethnicity="99", sex="男", grid_code="500118999999001", tags=["vip"])
    )
    assert errs["nation"].startswith("unknown field")
    assert errs["ethnicity"] == '"99" is not a known code or label'
    assert errs["grid_code"] == '"500118999999001" is not a known grid code'
    assert errs["tags"].startswith("'vip': not a tag")
    assert _errors(session, person(1, sex="女"))["sex"] == "女 contradicts the citizen ID (male)"
    assert "contradicts" not in str(_errors(session, person(1, sex="男", ethnicity="x")))
    assert (
        "contradicts the citizen ID (1980-01-01)"
        in _errors(session, person(1, birth_date="1980-01-02"))["birth_date"]
    )
    assert _errors(session, {"citizen_id": good})["name"] == "required for a new resident"
    assert _errors(session, person(1, household_number="9999"))["household_number"].startswith(
        'household "9999" is not'
    )
    assert "needs age 80 or more" in _errors(session, person(1, tags=["高龄"]))["tags"]
    assert _errors(session, person(1), source="somebody")["source"].startswith(
        "source: 'somebody' is not kind:key"
    )
    assert (
        _errors(session, person(1, status_date="2026-3-1"))["status_date"]
        == "'2026-3-1' is not a date (YYYY-MM-DD)"
    )
    assert session.scalar(select(RegisterChange.id)) is None  # nothing stored


def test_clearing_a_field_follows_the_same_rule(session: Session) -> None:
    rid = add(session, 1, phone="13800001234", address="中山路1号")
    r = service.upsert_resident(session, GRID_ACTOR, {**person(1), "clear": ["phone"]}, GRID_SRC)
    assert r.applied == [] and len(r.conflicts) == 1  # the import's phone is not the grid's to clear
    r = service.upsert_resident(session, SYSTEM_ACTOR, {**person(1), "clear": ["phone", "address"]}, GONGAN)
    assert sorted(r.applied) == ["address", "phone"]
    assert (versions(session, rid)[-1].phone, versions(session, rid)[-1].address) == (None, None)
    errs = _errors(session, {**person(1), "clear": ["citizen_id"]})
    assert errs["clear"].startswith(
        "expected a list of fields to empty, among: address, ethnicity, grid_code"
    )
    assert _errors(session, {**person(1, phone="13800001234"), "clear": ["phone"]})["phone"] == (
        "both given and listed under clear"
    )
    assert _errors(session, person(1, generated="yes"))["generated"] == "true or false"


def test_nothing_comes_back_from_death(session: Session) -> None:
    rid = add(session, 1, status="死亡", status_date="2026-05-01")  # new: on the register, then dead
    assert [(v.valid_from, v.status) for v in versions(session, rid)] == [
        (D0, "active"),
        (date(2026, 5, 1), "deceased"),
    ]
    assert _errors(session, person(1, status="在册"))["status"] == "status cannot change from 死亡 to 在册"
    assert _errors(session, person(1, status="迁出", status_date="2026-07-01"))["status"] == (
        "status cannot change from 死亡 to 迁出"
    )
    # a move-out backdated before the death is history, and so is a return before the death
    service.upsert_resident(session, SYSTEM_ACTOR, person(1, status="迁出", status_date="2026-02-01"), GONGAN)
    service.upsert_resident(session, SYSTEM_ACTOR, person(1, status="在册", status_date="2026-03-01"), GONGAN)
    assert [v.status for v in versions(session, rid)] == ["active", "moved_out", "active", "deceased"]


def test_a_backdated_death_cannot_precede_a_later_record(session: Session) -> None:
    add(session, 1, status="迁出", status_date="2026-08-01")
    errs = _errors(session, person(1, status="死亡", status_date="2026-05-01"))
    assert errs["status"] == "status cannot change from 死亡 to 迁出 (a later record on the register)"


# --- households, houses, units ------------------------------------------------------------------------


def test_household_with_members(session: Session) -> None:
    hh = service.upsert_household(
        session, SYSTEM_ACTOR, {"number": "500118000001", "grid_code": GRID1, "kind": "家庭户"}, GONGAN
    )
    assert hh.created
    add(session, 1, household_number="500118000001", relation="户主")
    add(session, 4, household_number="500118000001", relation="妻", birth="19820301")
    up = service.upsert_household(
        session, SYSTEM_ACTOR, {"number": "500118000001", "head_citizen_id": gen_id("19800101", 1)}, GONGAN
    )
    assert up.applied == ["head_id"]
    (item,) = service.entities_as_of(session, DISTRICT_ACTOR, "household")["items"]
    assert (item["number"], item["kind"], item["status"], item["village_code"]) == (
        "500118000001",
        "family",
        "active",
        VILLAGE,
    )
    assert item["head_id"] is not None
    members = service.count_residents(
        session, DISTRICT_ACTOR, by="total", filters=ResidentFilter(household_id=hh.id)
    )
    assert members == {"total": 2}
    assert service.entities_as_of(session, GRID_ACTOR, "household")["total"] == 1
    assert service.entities_as_of(session, MZJ_ACTOR, "household")["total"] == 0  # no member with its tags


def test_house_and_unit(session: Session) -> None:
    h = service.upsert_house(
        session, GRID_ACTOR,
        {"code": "yc-0001", "use": "住宅", "structure": "混合结构", "floors": "6",
         "lon": 105.898, "lat": 29.352},
        GRID_SRC,
    )  # fmt: skip
    (house,) = service.entities_as_of(session, TOWN_ACTOR, "house")["items"]
    assert (house["code"], house["use"], house["structure"], house["floors"], house["grid_code"]) == (
        "YC-0001",
        "1",
        "4",
        6,
        GRID1,
    )
    assert h.created and service.count_entities(session, DISTRICT_ACTOR, "house", by="village") == {
        VILLAGE: 1
    }

    uscc = "91350100M000100Y43"  # GB 32100-2015 worked example
    u = service.upsert_unit(
        session, TOWN_ACTOR,
        {"uscc": uscc, "name": "测试机械厂(生成)", "industry": "3011", "legal_rep": "李测试", "employees": 12,
         "village_code": VILLAGE2},
        "town:500118001000",
    )  # fmt: skip
    (unit,) = service.entities_as_of(session, DISTRICT_ACTOR, "unit")["items"]
    assert (unit["uscc"], unit["org_code"], unit["industry"], unit["legal_rep"]) == (
        uscc,
        "M000100Y4",
        "C3011",
        "李**",
    )
    same = service.upsert_unit(
        session, TOWN_ACTOR, {"org_code": "M000100Y-4", "employees": 15}, "town:500118001000"
    )
    assert (same.id, same.created, same.applied) == (u.id, False, ["employees"])
    other_org = f"12345678-{org_check_char('12345678')}"
    with pytest.raises(
        InvalidInput, match=f"org_code: {other_org.replace('-', '')} differs from the code in the cr"
    ):
        service.upsert_unit(session, TOWN_ACTOR, {"uscc": uscc, "org_code": other_org}, "town:500118001000")
    with pytest.raises(InvalidInput, match="unit: industry: division 30 belongs to section C, not A"):
        service.upsert_unit(session, TOWN_ACTOR, {"uscc": uscc, "industry": "A3011"}, "town:500118001000")
