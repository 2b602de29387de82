"""What a clerk trial of ``zhizhi registry import`` asked for (issue 4): a warning for 与户主关系 without
户号; 子女 accepted as 20 子 or 30 女 by the person's sex; every error of every row in one run (the
pure checks and all the stages of the registry service's own checks); masked IDs readable as the cell
held them; the mapping line saying what happened, and a dry run saving no mapping.

Every person is GENERATED (see conftest): IDs with the 永川区 prefix 500118 and a valid check
character; an odd sequence number is a man, an even one a woman.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.core.errors import InvalidInput
from zhizhi.registry import rules, rules_relation
from zhizhi.registry import service as registry
from zhizhi.registry.identifiers import NUMBER_LOST, validate_phone
from zhizhi.registry.intake import ImportRefused, get_mapping, import_file, list_mappings
from zhizhi.registry.intake.report import REASON_HEADER
from zhizhi.registry.intake.values import mask_id_text, shown_value

from .conftest import GRID1, SYSTEM_ACTOR, gen_id
from .test_import_cli import n_residents, zz
from .test_intake import TOWN, VF, current, issues, small_book

NO_HOUSEHOLD = "与户主关系 given without 户号: the person is not placed in a household"
HEAD = gen_id("19600202", 31)  # a man, head of household H0101
SON = gen_id("19900303", 33)
DAUGHTER = gen_id("19920404", 34)
ONLY_DAUGHTER = gen_id("19940505", 36)
LOOSE_SON = gen_id("19950606", 37)
OLD = gen_id("19800707", 39)
YOUNG = gen_id("20100808", 41)


@pytest.fixture(autouse=True)
def _clean_mappings(request: pytest.FixtureRequest) -> Iterator[None]:
    """The remembered mappings are emptied after each test that used the database."""
    yield
    if "engine" in request.fixturenames:
        eng: Engine = request.getfixturevalue("engine")
        with eng.begin() as c:
            c.execute(text("DELETE FROM register_import_mapping"))


def relations_of(session: Session) -> dict[str, str | None]:
    """Citizen ID → relation code of every resident on the register."""
    return {row[0]: row[3] for row in current(session)}


# --- 1, 2: 与户主关系 without 户号; 子女 by the person's sex ---------------------------------------------


def test_the_sex_dependent_spellings_are_data() -> None:
    table, by_sex = rules.relations(), rules_relation.by_sex()
    assert (table["20"], table["30"]) == ("子", "女")  # GB/T 4761: the son and daughter groups
    assert (by_sex["子女"].code("male"), by_sex["子女"].code("female")) == ("20", "30")
    assert (by_sex["独生子女"].male, by_sex["独生子女"].female) == ("21", "31")
    assert (table["27"], table["37"]) == ("养子或继子", "养女或继女")
    assert (by_sex["养子女"].male, by_sex["养子女"].female) == ("27", "37")
    assert [rules_relation.parse_sex(v) for v in ("男", "女性", 1, 2.0, "F", "", None, "未知")] == [
        "male",
        "female",
        "male",
        "female",
        "female",
        None,
        None,
        None,
    ]


def test_zinv_takes_the_sex_and_a_relation_without_household_is_warned(
    session: Session, tmp_path: Path
) -> None:
    # the head: a relation but no 户号 → warned (row 2, column E), imported all the same
    head = small_book(
        tmp_path / "户主.xlsx",
        [["郑测试", HEAD, "男", "", "户主", "中山路社区", "1"]],
        ["姓名", "身份证号", "性别", "户号", "与户主关系", "所属村", "网格"],
    )
    res = import_file(session, SYSTEM_ACTOR, head, "resident", area=TOWN, valid_from=VF)
    assert [(w.row, w.letter, w.header, w.value, w.reason) for w in res.warnings()] == [
        (2, "E", "与户主关系", "户主", NO_HOUSEHOLD)
    ]
    assert f"warning: sheet Sheet, row 2, column E (与户主关系), value 户主: {NO_HOUSEHOLD}" in res.text()
    hh = small_book(
        tmp_path / "户.xlsx", [["H0101", HEAD, "中山路社区", "1"]], ["户号", "户主身份证号", "所属村", "网格"]
    )
    assert import_file(session, SYSTEM_ACTOR, hh, "household", area=TOWN, valid_from=VF).created == 1
    members = small_book(
        tmp_path / "成员.xlsx",
        [
            ["郑一(生成)", SON, "", "H0101", "子女", "中山路社区", "1"],  # row 2: a man → 20 子
            ["郑二(生成)", DAUGHTER, "", "H0101", "子女", "中山路社区", "1"],  # row 3: a woman → 30 女
            ["郑三(生成)", ONLY_DAUGHTER, "女", "H0101", "独生子女", "中山路社区", "1"],  # row 4 → 31
            ["郑四(生成)", LOOSE_SON, "男", "", "子女", "中山路社区", "1"],  # row 5: → 20, no 户号: warned
            # row 6: the ID went through a number; 性别 says 女, so 子女 is 30 (only the ID is refused)
            ["郑五(生成)", float(gen_id("19960101", 38)), "女", "H0101", "子女", "中山路社区", "1"],
            # row 7: the ID went through a number and no 性别: 子女 cannot be settled either
            ["郑六(生成)", "4.40524E+17", "", "H0101", "子女", "中山路社区", "1"],
        ],
        ["姓名", "身份证号", "性别", "户号", "与户主关系", "所属村", "网格"],
    )
    res = import_file(session, SYSTEM_ACTOR, members, "resident", area=TOWN, valid_from=VF, skip_invalid=True)
    unknown = (
        '"子女" does not say son or daughter, and the person\'s sex is unknown (no valid 公民身份号码, '
        "no 性别): fix the ID, fill in 性别, or write 子 (20) or 女 (30)"
    )
    assert issues(res) == [(6, "B", NUMBER_LOST), (7, "B", NUMBER_LOST), (7, "E", unknown)]
    assert [(w.row, w.letter, w.value, w.reason) for w in res.warnings()] == [(5, "E", "子女", NO_HOUSEHOLD)]
    assert (res.created, res.invalid) == (4, 2)
    assert relations_of(session) == {
        HEAD: "02",
        SON: "20",
        DAUGHTER: "30",
        ONLY_DAUGHTER: "31",
        LOOSE_SON: "20",
    }


def test_one_warning_for_a_sheet_without_household_column(session: Session, tmp_path: Path) -> None:
    f = small_book(
        tmp_path / "无户号.xlsx",
        [["郑测试", HEAD, "户主", "中山路社区", "1"], ["郑一(生成)", SON, "", "中山路社区", "1"]],
        ["姓名", "身份证号", "与户主关系", "所属村", "网格"],
    )
    res = import_file(session, SYSTEM_ACTOR, f, "resident", area=TOWN, valid_from=VF, dry_run=True)
    assert [(w.row, w.letter, w.value, w.reason) for w in res.warnings()] == [
        (2, "C", "户主", NO_HOUSEHOLD + " (the sheet has no 户号 column)")
    ]


def test_a_single_record_with_zinv_is_told_which_codes_to_give(session: Session) -> None:
    # one record (API, per-row service) has no importer to settle 子女: it is refused, saying how
    row = {"citizen_id": SON, "name": "郑一(生成)", "grid_code": GRID1, "relation": "子女"}
    with pytest.raises(InvalidInput) as ei:
        registry.upsert_resident(session, SYSTEM_ACTOR, row, "import:t", valid_from=VF)
    assert [(e.field, e.reason) for e in ei.value.errors or []] == [
        ("relation", '"子女" does not say son or daughter: give 20 (子) or 30 (女)')
    ]
    assert registry.upsert_resident(session, SYSTEM_ACTOR, {**row, "relation": "20"}, "import:t").created


# --- 3: every error of every row in one run ---------------------------------------------------------------

ALL_HEAD = ["姓名", "身份证号", "性别", "户号", "联系电话", "所属村", "网格", "人员类别"]


def all_errors_book(path: Path) -> Path:
    return small_book(
        path,
        [
            ["卫一(生成)", OLD, "男", "", "13800000051", "中山路社区", "1", ""],  # row 2: good
            # row 3: a bad phone (the file check), then the service's three stages: a household that
            # is not registered, 性别 against the ID, the 高龄 tag's age rule
            ["卫二(生成)", YOUNG, "女", "H9999", "12345", "中山路社区", "1", "高龄"],
            # row 4: only the service refuses it, at each of its stages
            ["卫三(生成)", gen_id("20120909", 43), "女", "H9999", "13800000053", "中山路社区", "1", "高龄"],
            # row 5: a grid the village does not have (no second "village required" from the
            # service) and the 高龄 rule
            ["卫四(生成)", gen_id("20141010", 45), "男", "", "13800000054", "中山路社区", "第99网格", "高龄"],
            # row 6: the ID went through a number; the service still checks the household
            [
                "卫五(生成)",
                float(gen_id("19700101", 47)),
                "男",
                "H9999",
                "13800000055",
                "中山路社区",
                "1",
                "",
            ],
        ],
        ALL_HEAD,
    )


def expected_all_errors() -> list[tuple[int, str, str]]:
    household = 'household "H9999" is not registered: add the household first'
    old = "高龄 (gaoling) needs age 80 or more; the person is {} on 2026-11-01"
    return [
        (3, "C", "女 contradicts the citizen ID (male)"),
        (3, "D", household),
        (3, "E", "; ".join(validate_phone("12345").errors)),
        (3, "H", old.format(16)),
        (4, "C", "女 contradicts the citizen ID (male)"),
        (4, "D", household),
        (4, "H", old.format(14)),
        (5, "G", '中山路社区居民委员会 has no grid "第99网格"'),
        (5, "H", old.format(12)),
        (6, "B", NUMBER_LOST),
        (6, "D", household),
    ]


def test_all_errors_of_every_row_in_one_run_and_nothing_written(session: Session, tmp_path: Path) -> None:
    f = all_errors_book(tmp_path / "全.xlsx")
    with pytest.raises(ImportRefused) as ei:
        import_file(session, SYSTEM_ACTOR, f, "resident", area=TOWN, valid_from=VF)
    res = ei.value.result
    assert res is not None
    assert issues(res) == expected_all_errors()
    assert (res.rows_read, res.valid, res.invalid, res.created, res.written) == (5, 1, 4, 0, False)
    assert len(ei.value.errors or []) == len(expected_all_errors())
    session.rollback()
    assert n_residents(session) == 0
    # the reject workbook lists them all, in column order
    ws = openpyxl.load_workbook(str(res.reject_file)).active
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    reason = rows[0].index(REASON_HEADER)
    assert [r[reason + 1] for r in rows[1:]] == ["3", "4", "5", "6"]
    assert rows[1][reason] == "; ".join(
        f"column {c} ({ALL_HEAD[ord(c) - 65]}): {why}" for r, c, why in expected_all_errors() if r == 3
    )


@pytest.mark.parametrize("mode", ["skip_invalid", "dry_run"])
def test_all_errors_with_skip_invalid_and_dry_run(session: Session, tmp_path: Path, mode: str) -> None:
    f = all_errors_book(tmp_path / "全.xlsx")
    res = import_file(
        session, SYSTEM_ACTOR, f, "resident", area=TOWN, valid_from=VF,
        skip_invalid=mode == "skip_invalid", dry_run=mode == "dry_run",
    )  # fmt: skip
    assert issues(res) == expected_all_errors()
    assert (res.valid, res.invalid, res.created) == (1, 4, 1)
    session.flush()
    assert [c[0] for c in current(session)] == ([OLD] if mode == "skip_invalid" else [])


def test_all_errors_of_a_household_row(session: Session, tmp_path: Path) -> None:
    # a household whose head is not on the register, a kind the code table lacks and a bad grid
    f = small_book(
        tmp_path / "户.xlsx",
        [["H0201", OLD, "外星户", "中山路社区", "第99网格"]],
        ["户号", "户主身份证号", "户别", "所属村", "网格"],
    )
    res = import_file(session, SYSTEM_ACTOR, f, "household", area=TOWN, valid_from=VF, dry_run=True)
    assert issues(res) == [
        (2, "B", "no resident with this citizen ID: add the head first"),
        (2, "C", '"外星户" is not a known code or label'),
        (2, "E", '中山路社区居民委员会 has no grid "第99网格"'),
    ]


# --- 4: masked values readable as the cell held them ----------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "shown"),
    [
        ("500118199001011234", "500118********1234"),
        ("4.40524E+17", "4.40524E+17"),  # Excel's display, saved as CSV: nothing past the region
        ("4.4052418800101e+17", "4.40524********e+17"),
        ("440524188001010000.0", "440524*********000.0"),
        ("440,524,188,001,010,000", "440,524,***,***,**0,000"),
        ('="500118199001011234"', '="500118********1234"'),
        ("500118 19900101 1234", "500118 ******** 1234"),
        ("５００１１８１９９００１０１１２３４", "５００１１８********１２３４"),
        ("44052418800101001", "440524********001"),  # 17 characters: the birth date stays hidden
        ("500118900101123", "500118*****1123"),  # 15 digits (legacy)
        ("12345", "***45"),
        (5.001181990010113e17, "500118********1000 (a number, shown as 5.00118E+17)"),
        (500118199001011234, "500118********1234 (a number, shown as 5.00118E+17)"),
        (4.40524e17, "440524********0000 (a number, shown as 4.40524E+17)"),
        (12345.0, "***45 (a number)"),
    ],
)
def test_masked_citizen_ids_keep_the_cells_shape(cell: Any, shown: str) -> None:
    assert shown_value("citizen_id", cell) == shown


def test_mask_id_text_keeps_the_masking_rule() -> None:
    cid = gen_id("19900101", 123)
    assert mask_id_text(cid) == rules.mask_citizen_id(cid) == cid[:6] + "*" * 8 + cid[-4:]
    assert shown_value("uscc", 9.13101e17) == "913101000000000000 (a number, shown as 9.13101E+17)"


def test_the_text_report_shows_numeric_ids_readably(session: Session, tmp_path: Path) -> None:
    f = tmp_path / "名册.csv"
    f.write_text(
        "姓名,身份证号,所属村,网格\r\n"
        "甲测试,4.40524E+17,中山路社区,1\r\n"
        "乙测试,5.00118E+17,中山路社区,1\r\n"
        "丙测试,440524188001010000.0,中山路社区,1\r\n",
        encoding="gbk",
    )
    res = import_file(session, SYSTEM_ACTOR, f, "resident", area=TOWN, valid_from=VF, dry_run=True)
    lines = [ln for ln in res.text() if ln.startswith("sheet 名册, row ")]
    assert [ln.split(": stored as a number")[0] for ln in lines] == [
        "sheet 名册, row 2, column B (身份证号), value 4.40524E+17",
        "sheet 名册, row 3, column B (身份证号), value 5.00118E+17",
        "sheet 名册, row 4, column B (身份证号), value 440524*********000.0",
    ]


# --- 5: the mapping line, and a dry run saves no mapping ---------------------------------------------------


def test_the_mapping_line_says_what_happened(session: Session, tmp_path: Path) -> None:
    one = small_book(
        tmp_path / "a.xlsx", [["赵测试", OLD, "中山路社区", "1"]], ["姓名", "身份证号", "所属村", "网格"]
    )
    dry = import_file(
        session, SYSTEM_ACTOR, one, "resident", area=TOWN, source="wjw", valid_from=VF, dry_run=True
    )
    assert (dry.mapping_status, list_mappings(session)) == ("proposed", [])
    assert "mapping would be saved as wjw:" in dry.text()
    res = import_file(session, SYSTEM_ACTOR, one, "resident", area=TOWN, source="wjw", valid_from=VF)
    assert "mapping wjw saved:" in res.text()
    saved = dict(list_mappings(session)[0]["columns"])
    # next month's file has a phone column: a dry run says it would update the mapping, and does not
    two = small_book(
        tmp_path / "b.xlsx",
        [["赵测试", OLD, "中山路社区", "1", "13800000061"]],
        ["姓名", "身份证号", "所属村", "网格", "手机号"],
    )
    dry = import_file(
        session, SYSTEM_ACTOR, two, "resident", area=TOWN, source="wjw", valid_from=VF, dry_run=True
    )
    assert dry.mapping_status == "changed"
    assert "mapping would be saved as wjw (new headers added to the remembered one):" in dry.text()
    session.expire_all()
    mapping = get_mapping(session, "wjw")
    assert mapping is not None and dict(mapping.columns) == saved
    res = import_file(session, SYSTEM_ACTOR, two, "resident", area=TOWN, source="wjw", valid_from=VF)
    assert "mapping wjw updated (new headers added):" in res.text()
    assert list_mappings(session)[0]["columns"] == {**saved, "手机号": "phone"}
    res = import_file(session, SYSTEM_ACTOR, two, "resident", area=TOWN, source="wjw", valid_from=VF)
    assert "mapping wjw remembered (unchanged):" in res.text()


def test_a_dry_run_from_the_command_line_saves_no_mapping(session: Session, tmp_path: Path) -> None:
    f = small_book(
        tmp_path / "c.xlsx", [["赵测试", OLD, "中山路社区", "1"]], ["姓名", "身份证号", "所属村", "网格"]
    )
    code, out, err = zz(
        "registry", "import", str(f), "--kind", "resident", "--org", TOWN, "--source", "dry1", "--dry-run"
    )
    assert (code, err) == (0, "")
    assert "mapping would be saved as dry1:" in out.splitlines()
    assert out.splitlines()[-1] == "dry run: nothing was written"
    assert zz("registry", "mappings", "dry1") == (2, "", 'error: no remembered mapping "dry1"\n')
    assert n_residents(session) == 0
    code, out, _ = zz("registry", "import", str(f), "--kind", "resident", "--org", TOWN, "--source", "dry1")
    assert code == 0 and "mapping dry1 saved:" in out.splitlines()
    assert zz("registry", "mappings", "dry1")[0] == 0


def test_all_errors_of_a_unit_row_written_row_by_row(session: Session, tmp_path: Path) -> None:
    f = small_book(
        tmp_path / "单位.xlsx",
        [["示例公司(生成)", "91350100M000100Y43", "Z99", "中山路社区", -5, "第99网格"]],
        ["单位名称", "统一社会信用代码", "行业代码", "所属村", "从业人员数", "网格"],
    )
    res = import_file(session, SYSTEM_ACTOR, f, "unit", area=TOWN, valid_from=VF, dry_run=True)
    # the grid is refused by the file checks; the service still checks the code and the count
    assert issues(res) == [
        (2, "C", '"Z99" is not a GB/T 4754 code (letter and 2-4 digits)'),
        (2, "E", "-5 is outside 0..1e+07"),
        (2, "F", '中山路社区居民委员会 has no grid "第99网格"'),
    ]
