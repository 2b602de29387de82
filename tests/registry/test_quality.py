"""Data quality of the registers (数据治理, issue 4 §5): the rules file, the pure checks and score over
hand-made records, and on the database a GENERATED 中山路街道 with one of each problem: the report
(score per village, problems masked), a problem sent to the grid worker as a task on the event loop,
and the re-check that closes it once fixed or sends it back while it is not.

Every person is invented (conftest: GENERATED citizen IDs with the GB 11643 check character)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
import typer
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.core.access import Actor
from zhizhi.core.db import session_factory
from zhizhi.core.errors import Conflict, Forbidden, InvalidInput, NotFound
from zhizhi.event import service as events
from zhizhi.event.schemas import TransitionIn
from zhizhi.registry import quality as q
from zhizhi.registry import service as registry
from zhizhi.registry.identifiers import org_check_char
from zhizhi.registry.models import Resident, ResidentVersion
from zhizhi.registry.service import quality

from .conftest import (
    GRID1,
    GRID2,
    GRID3,
    GRID_ACTOR,
    MZJ_ACTOR,
    SYSTEM_ACTOR,
    TOWN,
    TOWN_ACTOR,
    VILLAGE,
    VILLAGE2,
    gen_id,
)

ON = date(2026, 11, 30)
D0 = date(2026, 1, 1)
SRC = "import:quality-test"
OTHER_TOWN_ACTOR = Actor(
    None, "500118002000.duty", "外镇值班员(生成)", "town_duty", "500118002000-ZHZX", "500118", "500118002000"
)


# --- the rules and the pure checks --------------------------------------------------------------------


def test_the_shipped_rules_cover_the_three_dimensions() -> None:
    rules = q.load_rules()
    assert len(rules) == 20
    by_dim = {d: sorted(r.code for r in rules if r.dimension == d) for d in q.DIMENSIONS}
    assert by_dim["validity"] == ["citizen_id_invalid", "phone_invalid", "unit_code_invalid"]
    assert {
        "household_without_head",
        "person_in_two_households",
        "benefit_after_exit",
        "duplicate_person",
        "id_facts_mismatch",
        "tag_age_mismatch",
    } <= set(by_dim["consistency"])
    assert q.rule_by_code("benefit_after_exit").params["tags"] == [
        "dibao",
        "tekun",
        "gaoling",
        "canji",
        "shineng",
    ]


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"code": "X"}, "rule 1.code: a snake_case key of 3-30 characters"),
        ({"code": "abc", "dimension": "beauty"}, "rule abc.dimension: 'beauty' is not one of completeness"),
        (
            {
                "code": "abc",
                "dimension": "validity",
                "register": "house",
                "check": "phone",
                "label": "x",
                "fix": "y",
            },
            "rule abc.register: check phone works on resident records",
        ),
        (
            {
                "code": "abc",
                "dimension": "completeness",
                "register": "house",
                "check": "required",
                "params": {"field": "phone"},
                "label": "x",
                "fix": "y",
            },
            "rule abc.params.field: 'phone' is not one of use, structure, grid, address",
        ),
        (
            {
                "code": "abc",
                "dimension": "consistency",
                "register": "resident",
                "check": "benefit_after_exit",
                "params": {"tags": ["dibo"]},
                "label": "x",
                "fix": "y",
            },
            "rule abc.params.tags: unknown tag 'dibo'",
        ),
        (
            {
                "code": "abc",
                "dimension": "validity",
                "register": "resident",
                "check": "phone",
                "label": "x",
                "fix": "y",
                "weight": 0,
            },
            "rule abc.weight: a number above 0 and at most 10",
        ),
        (
            {
                "code": "abc",
                "dimension": "validity",
                "register": "resident",
                "check": "phone",
                "label": "x",
                "fix": "y",
                "colour": "red",
            },
            "rule abc: unknown key colour",
        ),
    ],
)
def test_a_broken_rules_file_is_refused_naming_the_rule_and_key(rule: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError) as e:
        q.parse_rules({"rules": [rule]}, ["dibao"], "rules.yaml")
    assert str(e.value).startswith(f"rules.yaml: {message}")


def person(pid: int, birth: str, seq: int, **kw: Any) -> q.Person:
    cid = gen_id(birth, seq, kw.pop("region", "500118"))
    b = date(int(birth[:4]), int(birth[4:6]), int(birth[6:]))
    defaults = {"name": "王测试", "phone": "13800000001", "place": q.Place(TOWN, VILLAGE, GRID1)}
    return q.Person(pid, cid, "male" if seq % 2 else "female", b, **{**defaults, **kw})


def test_score_is_one_minus_the_weighted_share_of_failed_checks() -> None:
    rules = [q.rule_by_code("resident_phone_missing"), q.rule_by_code("benefit_after_exit")]  # weights 0.5, 3
    data = q.Registers(
        people=[
            person(1, "19700501", 1),
            person(2, "19800303", 2, phone=None),
            person(3, "19400202", 3, status="deceased", tags=("dibao", "manbing")),
        ]
    )
    rep = q.check(data, ON, lambda p: p.village, rules)
    # phone: 2 active people checked (0.5 each), 1 failed; benefit: 1 exited person (3), failed
    assert (rep.total.checked, rep.total.failed, rep.total.weight_checked, rep.total.weight_failed) == (
        3,
        2,
        4.0,
        3.5,
    )
    assert rep.total.score == 12.5 == rep.areas[VILLAGE].score
    assert [(p.key, p.detail) for p in rep.problems] == [
        ("resident_phone_missing:resident:2", "phone 未填写"),
        ("benefit_after_exit:resident:3", "已死亡, 仍有标签: 低保"),
    ]
    assert rep.problems[0].subject == f"王** {gen_id('19800303', 2)[:6]}********{gen_id('19800303', 2)[-4:]}"
    assert q.check(q.Registers(), ON, lambda p: None, rules).total.score is None


def test_identifier_checks_warn_on_a_retired_region_and_fail_a_bad_check_character() -> None:
    old = person(1, "19800101", 3, region="510202")  # 510202: 重庆市渝中区 until 1996 (GB/T 2260)
    bad = q.Person(
        2,
        gen_id("19800101", 5)[:17] + ("0" if gen_id("19800101", 5)[17] != "0" else "1"),
        "male",
        date(1980, 1, 1),
        "李测试",
    )
    # a retired region code is valid for life: the warning exists, the shipped rules do not list it
    retired = q.Rule(
        "citizen_id_retired_region", "validity", "resident", "citizen_id", "地址码已撤销", "仅提示",
        0.5, "warning", "all", {"level": "warning"},
    )  # fmt: skip
    rules = [q.rule_by_code("citizen_id_invalid"), retired, q.rule_by_code("id_facts_mismatch")]
    rep = q.check(q.Registers(people=[old, bad]), ON, lambda p: None, rules)
    assert [(p.rule, p.entity_id) for p in rep.problems] == [
        ("citizen_id_invalid", 2),
        ("citizen_id_retired_region", 1),
    ]
    assert rep.problems[0].detail.startswith("check character is ")
    assert (
        rep.problems[1].detail
        == "region code 510202 (渝中区) is retired: last listed in 1996 (历史行政区划代码)"
    )
    assert q.parse_key("tag_age_mismatch:resident:42") == ("tag_age_mismatch", "resident", 42)
    with pytest.raises(ValueError, match="give rule:register:id"):
        q.parse_key("tag_age_mismatch:person:42")


# --- on the database ------------------------------------------------------------------------------------


@pytest.fixture
def s(engine: Engine) -> Iterator[Session]:
    session = session_factory(engine)()
    try:
        yield session
    finally:
        session.rollback()
        session.close()


def build(s: Session) -> dict[str, Any]:
    """A GENERATED 中山路街道 with one of each problem (see test below), committed."""

    def household(number: str, grid: str, head: str | None = None) -> int:
        data = {"number": number, "grid_code": grid, "kind": "family", "generated": True}
        if head:
            data["head_citizen_id"] = head
        return registry.upsert_household(s, SYSTEM_ACTOR, data, SRC, valid_from=D0).id

    h = {n: household(f"GENQ00{n}", g) for n, g in ((1, GRID1), (2, GRID1), (3, GRID3), (4, GRID2))}
    ids = {
        "A": gen_id("19700501", 1),
        "B": gen_id("19800303", 2),
        "C": gen_id("20100615", 3),
        "D": gen_id("19400202", 5),
        "E": gen_id("19750707", 7),
        "F": gen_id("19900101", 9),
        "G": gen_id("19900101", 11),
    }
    people: dict[str, tuple[str, int, str, dict[str, Any]]] = {
        "A": ("王测试", 1, GRID1, {}),
        "B": ("李测试", 1, GRID1, {"phone": None}),
        "C": ("张测试", 1, GRID1, {"tags": ["liushou"]}),
        "D": ("刘测试", 3, GRID3, {"tags": ["dibao", "gaoling"]}),
        "E": ("陈测试", 1, GRID2, {}),
        "F": ("赵测试", 2, GRID1, {}),
        "G": ("赵测试", 3, GRID3, {}),
    }
    rid = {}
    for k, (name, hh, grid, extra) in people.items():
        data = {
            "citizen_id": ids[k],
            "name": name,
            "grid_code": grid,
            "household_number": f"GENQ00{hh}",
            "ethnicity": "01",
            "phone": "13800000001",
            "address": f"生成路{k}号",
            "generated": True,
            **extra,
        }
        if data["phone"] is None:
            del data["phone"]
        when = date(2024, 1, 1) if k == "C" else D0  # 留守儿童 tagged at 13; 16 on the check date
        rid[k] = registry.upsert_resident(s, SYSTEM_ACTOR, data, SRC, valid_from=when).id
    for hh, head in ((1, "A"), (3, "D"), (4, "E")):  # E lives in household 1 and heads household 4
        household(f"GENQ00{hh}", {1: GRID1, 3: GRID3, 4: GRID2}[hh], ids[head])
    registry.upsert_resident(
        s, SYSTEM_ACTOR, {"citizen_id": ids["D"], "status": "deceased", "status_date": "2026-06-01"}, SRC
    )
    registry.upsert_house(
        s,
        SYSTEM_ACTOR,
        {"code": "GENQK1", "grid_code": GRID1, "use": "1", "structure": "4", "generated": True},
        SRC,
        valid_from=D0,
    )
    registry.upsert_house(
        s,
        SYSTEM_ACTOR,
        {"code": "GENQK2", "grid_code": GRID3, "use": "1", "generated": True},
        SRC,
        valid_from=D0,
    )
    body = "97100001"
    registry.upsert_unit(
        s,
        SYSTEM_ACTOR,
        {
            "org_code": f"{body}-{org_check_char(body)}",
            "name": "测试企业(生成)",
            "industry": "C3011",
            "employees": 5,
            "grid_code": GRID1,
            "generated": True,
        },
        SRC,
        valid_from=D0,
    )
    s.flush()
    # what an old import left behind: a wrong birth date, an impossible phone, a broken check character
    s.execute(update(Resident).where(Resident.id == rid["B"]).values(birth_date=date(1981, 3, 3)))
    s.execute(
        update(ResidentVersion).where(ResidentVersion.resident_id == rid["C"]).values(phone="12345678901")
    )
    broken = ids["E"][:17] + ("0" if ids["E"][17] != "0" else "1")
    s.execute(update(Resident).where(Resident.id == rid["E"]).values(citizen_id=broken))
    s.commit()
    return {"ids": ids, "rid": rid, "h": h}


@pytest.fixture
def town(engine: Engine) -> Iterator[dict[str, Any]]:
    with session_factory(engine)() as s:
        yield build(s)


def test_the_town_report_scores_each_village_and_lists_every_problem(
    s: Session, town: dict[str, Any]
) -> None:
    rep = quality.report(s, TOWN_ACTOR, TOWN, ON, limit=None)
    rid, h = town["rid"], town["h"]
    got = [(p["rule"], p["register"], p["village"]) for p in rep["problems"]]
    assert got == [  # in the order of the rules file, then by record
        ("resident_phone_missing", "resident", VILLAGE),
        ("house_structure_missing", "house", VILLAGE2),
        ("citizen_id_invalid", "resident", VILLAGE),
        ("phone_invalid", "resident", VILLAGE),
        ("id_facts_mismatch", "resident", VILLAGE),
        ("tag_age_mismatch", "resident", VILLAGE),
        ("household_without_head", "household", VILLAGE),
        ("household_head_inactive", "household", VILLAGE2),
        ("person_in_two_households", "household", VILLAGE),
        ("benefit_after_exit", "resident", VILLAGE2),
        ("duplicate_person", "resident", VILLAGE),
        ("duplicate_person", "resident", VILLAGE2),
    ]
    keys = [p["key"] for p in rep["problems"]]
    assert (
        keys[0] == f"resident_phone_missing:resident:{rid['B']}"
        and keys[6] == f"household_without_head:household:{h[2]}"
    )
    # 80 checks, 12 failed; weights 103 checked, 20 failed → 100 × (1 − 20/103)
    assert (rep["checked"], rep["failed"], rep["score"]) == (80, 12, 80.6)
    assert rep["by_dimension"] == {"completeness": 2, "validity": 2, "consistency": 8}
    areas = {a["code"]: (a["checked"], a["failed"], a["score"]) for a in rep["areas"]}
    # 中山路社区: 77 weighted, 12.5 failed; 汇龙路社区: 26 weighted, 7.5 failed
    assert areas == {VILLAGE: (62, 8, 83.8), VILLAGE2: (18, 4, 71.2)}
    details = {p["rule"]: p["detail"] for p in rep["problems"]}
    assert (
        details["tag_age_mismatch"]
        == "留守儿童 (liushou) needs age 15 or less; the person is 16 on 2026-11-30"
    )
    assert details["benefit_after_exit"] == "已死亡, 仍有标签: 低保、高龄"
    assert details["phone_invalid"].startswith("123****8901: segment 123 is not allocated")
    assert (
        details["person_in_two_households"].startswith("户主 陈** 500118********")
        and "GENQ001" in details["person_in_two_households"]
    )
    twin = next(p for p in rep["problems"] if p["rule"] == "duplicate_person")
    assert twin["detail"].startswith(f"与 {VILLAGE2} 的 赵** 500118********") and twin["subject"].startswith(
        "赵** "
    )
    for p in rep["problems"]:  # no citizen ID or phone in full
        assert all(v not in f"{p['subject']} {p['detail']}" for v in town["ids"].values())
    village = quality.report(s, TOWN_ACTOR, VILLAGE, ON, rule="duplicate_person")
    assert [a["code"] for a in village["areas"]] == [GRID1, GRID2]
    assert village["problems_total"] == 1  # F, whose twin lives in the other village
    with pytest.raises(NotFound):
        quality.report(s, OTHER_TOWN_ACTOR, TOWN, ON)
    with pytest.raises(Forbidden, match="kept per area"):  # a department holds registry.quality, no area
        quality.report(s, MZJ_ACTOR, TOWN, ON)
    board = Actor(None, f"{TOWN}-MS.staff", "板块人员(生成)", "board_staff", f"{TOWN}-MS", "500118", TOWN)
    with pytest.raises(Forbidden, match=r'^role "board_staff" may not .*\(registry\.quality\)$'):
        quality.report(s, board, TOWN, ON)  # reads registers (registry.read), not their quality
    clerk = Actor(None, f"{TOWN}.clerk", "数据员(生成)", "clerk", f"{TOWN}-ZHZX", "500118", TOWN)
    assert quality.report(s, clerk, TOWN, ON, limit=0)["score"] == 80.6  # the clerk (数据员) may
    with pytest.raises(InvalidInput, match='rule "nope" is not a quality rule'):
        quality.report(s, TOWN_ACTOR, TOWN, ON, rule="nope")


def test_a_problem_goes_to_the_grid_worker_and_the_recheck_closes_it(
    engine: Engine, town: dict[str, Any]
) -> None:
    h, ids = town["h"], town["ids"]
    no_head = f"household_without_head:household:{h[2]}"
    child = f"tag_age_mismatch:resident:{town['rid']['C']}"
    with session_factory(engine)() as s:
        with pytest.raises(Forbidden, match=r'^role "grid_worker" may not .*\(registry\.quality\)$'):
            quality.send(s, GRID_ACTOR, no_head, ON)
        with pytest.raises(Forbidden, match=r"\(registry\.quality\)$"):
            quality.report(s, GRID_ACTOR, TOWN, ON)
        with pytest.raises(NotFound):
            quality.send(s, OTHER_TOWN_ACTOR, no_head, ON)
        with pytest.raises(InvalidInput, match="give rule:register:id"):
            quality.send(s, TOWN_ACTOR, "no-such-key", ON)
        sent = quality.send(s, TOWN_ACTOR, no_head, ON)
        assert (sent["node"], sent["unit_code"]) == ("dispatched", GRID1)
        with pytest.raises(Conflict, match=f"was sent already as event {sent['event_id']}"):
            quality.send(s, TOWN_ACTOR, no_head, ON)
        other = quality.send(s, TOWN_ACTOR, child, ON)
        s.commit()
        ev = events.get_event(s, GRID_ACTOR, sent["event_id"])  # the grid worker sees the task
        assert (ev.category_code, ev.grid_code, ev.external_id) == ("3701", GRID1, f"dq:{no_head}")
        leaf = events.catalogue().leaf(ev.category_code)
        assert (leaf.name, leaf.group_code, leaf.group_name) == ("台账数据核实", "37", "数据治理")
        assert "户号 GENQ002: 未登记户主" in ev.description and "核实户主" in ev.description
        listed = {p["key"]: p["task"] for p in quality.report(s, TOWN_ACTOR, TOWN, ON)["problems"]}
        assert listed[no_head] == {"event_id": sent["event_id"], "node": "dispatched"}
        # the worker fixes the household (a head) but only claims to have fixed the child's tag
        registry.upsert_household(
            s, GRID_ACTOR, {"number": "GENQ002", "head_citizen_id": ids["F"]}, f"grid:{GRID1}", valid_from=D0
        )
        for action in ("sign", "handle"):
            events.transition(s, GRID_ACTOR, other["event_id"], TransitionIn(action=action, comment="已核实"))
        s.commit()
        out = quality.recheck(s, TOWN_ACTOR, TOWN, ON)
        s.commit()
        assert (out["closed"], out["returned"], out["open"]) == ([sent["event_id"]], [other["event_id"]], 1)
        assert out["tasks"] == 2
        assert events.get_event(s, TOWN_ACTOR, sent["event_id"]).node == "closed"
        assert events.get_event(s, TOWN_ACTOR, other["event_id"]).node == "signed"  # back to the worker
        with pytest.raises(NotFound, match="fixed already"):
            quality.send(s, TOWN_ACTOR, no_head, ON)


def test_the_quality_commands(engine: Engine, town: dict[str, Any]) -> None:
    from zhizhi.registry.cli_quality import register_quality_commands

    app = typer.Typer()

    @app.callback()
    def root() -> None:
        """registry"""

    register_quality_commands(app)
    runner = CliRunner()
    r = runner.invoke(
        app, ["quality", "--org", TOWN, "--on", ON.isoformat(), "--as", f"{TOWN}.duty", "--limit", "2"]
    )
    assert r.exit_code == 0, r.stdout
    lines = r.stdout.splitlines()
    assert (
        lines[0]
        == f"{TOWN} 中山路街道 on {ON}: score 80.6 · 80 checks, 12 failed (完整性 2, 有效性 2, 一致性 8)"
    )
    assert lines[3] == "problems: 12 (first 2)" and lines[4].startswith("  resident_phone_missing:resident:")
    r = runner.invoke(app, ["quality", "--org", TOWN, "--on", "30/11/2026"])
    assert r.exit_code == 2 and r.stderr.strip() == 'error: --on "30/11/2026" is not a date (YYYY-MM-DD)'
    r = runner.invoke(
        app, ["quality-send", f"household_without_head:household:{town['h'][2]}", "--as", f"{TOWN}.duty"]
    )
    assert r.exit_code == 0 and r.stdout.startswith("sent household_without_head:household:")
    assert r.stdout.strip().endswith(f"(dispatched) to {GRID1}")
    r = runner.invoke(app, ["quality-recheck", "--org", "500118002000", "--as", f"{TOWN}.duty"])
    assert r.exit_code == 2 and r.stderr.strip() == 'error: org unit "500118002000" not found'
