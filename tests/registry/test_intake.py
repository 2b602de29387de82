"""Importing the files clerks really have (registry.intake): reading by content, encodings, merged
headers, header synonyms and remembered mappings, values (dates, numbers that lost digits, full-width
digits, tags), the row report and the reject workbook, and the database outcome of one transaction.

Every person is GENERATED (see conftest): invented names, IDs with the 永川区 prefix 500118 and a
valid GB 11643 check character, phones in the 138-0000 block. The spreadsheets are built here with
openpyxl; the one .xls is tests/data/registry/residents_legacy.xls (see its SOURCES.md).
"""

from __future__ import annotations

import random
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from python_calamine import CalamineWorkbook
from sqlalchemy import select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.errors import Forbidden, InvalidInput
from zhizhi.registry import rules
from zhizhi.registry.identifiers import NUMBER_LOST, check_char, validate_citizen_id, validate_phone
from zhizhi.registry.intake import ImportRefused, import_file, list_mappings, parse_column_options
from zhizhi.registry.intake.fast import FastIdentifiers
from zhizhi.registry.intake.header import column_letter, find_header, normalize_header, synonyms
from zhizhi.registry.intake.location import LocationError, Places
from zhizhi.registry.intake.source import decode_text, read_workbook
from zhizhi.registry.intake.values import excel_serial, parse_date_cell, parse_tags, report_text
from zhizhi.registry.models import Household, Resident, ResidentVersion

from .conftest import SYSTEM_ACTOR, gen_id

DATA = Path(__file__).resolve().parents[1] / "data" / "registry"
TOWN = "500118001000"  # 中山路街道
VILLAGE = "500118001001"  # 中山路社区居民委员会
GRID1, GRID2 = VILLAGE + "001", VILLAGE + "002"
VF = date(2026, 11, 1)
FULL = str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")
TAG_LABELS = "、".join(t.label for t in rules.tag_catalogue().values())


@pytest.fixture(autouse=True)
def _clean_mappings(request: pytest.FixtureRequest) -> Iterator[None]:
    """The remembered mappings are this module's table: emptied after each test that used the DB."""
    yield
    if "engine" in request.fixturenames:
        eng: Engine = request.getfixturevalue("engine")
        with eng.begin() as c:
            c.execute(text("DELETE FROM register_import_mapping"))


def bad_check(cid: str) -> str:
    """``cid`` with a wrong check character."""
    return cid[:17] + ("0" if cid[17] != "0" else "1")


def current(session: Session) -> list[tuple[Any, ...]]:
    """(citizen ID, name, grid, relation, ethnicity, phone, tags) of every resident on the register."""
    session.expire_all()
    q = (
        select(
            Resident.citizen_id,
            ResidentVersion.name,
            ResidentVersion.grid_code,
            ResidentVersion.relation,
            ResidentVersion.ethnicity,
            ResidentVersion.phone,
            ResidentVersion.tags,
        )
        .join(ResidentVersion, ResidentVersion.resident_id == Resident.id)
        .where(ResidentVersion.superseded_at.is_(None), ResidentVersion.valid_to.is_(None))
        .order_by(Resident.citizen_id)
    )
    return [tuple(r) for r in session.execute(q)]


def issues(res: Any) -> list[tuple[int, str, str]]:
    return [(i.row, i.letter, i.reason) for i in res.errors()]


# --- the messy workbook of a village clerk ------------------------------------------------------------

P = {  # the people of the messy workbook: row → citizen ID
    "zhang": gen_id("19400101", 1),
    "li": gen_id("19410203", 2),
    "wang": gen_id("19520505", 3),
    "liu": gen_id("19530606", 5),
    "chen": gen_id("19800301", 7),
    "yang": gen_id("19800302", 9),
    "huang": gen_id("19750815", 11),
    "zhou": gen_id("19900520", 13),
    "wu": gen_id("19851111", 15),
    "kong": gen_id("19660606", 19),
    "feng": gen_id("19880808", 21),
    "xu": gen_id("20100101", 23),
    "cao": gen_id("19600101", 25),
}


def messy_workbook(path: Path, extra_column: str | None = None) -> Path:
    """A 低保 roster as village clerks keep it: a title row, a 填报单位 line, a two-row header with a
    merged 家庭成员 group, a row of column numbers, then rows with every pitfall, a 合计 and a 填表人
    footer, and a second sheet of instructions."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws["A1"] = "中山路社区低保人员花名册(生成数据)"
    ws.merge_cells("A1:L1")
    ws["A2"] = "填报单位：中山路社区    填报日期：2026年11月"
    ws.merge_cells("A2:L2")
    ws["A3"], ws["B3"] = "序号", "家庭成员"
    ws.merge_cells("A3:A4")
    ws.merge_cells("B3:D3")
    for col, head in zip(
        "EFGHIJKL",
        ("性别", "出生日期", "民族", "联系电话", "所属村", "网格", "人员类别", "备注"),
        strict=True,
    ):
        ws[f"{col}3"] = head
        ws.merge_cells(f"{col}3:{col}4")
    ws["B4"], ws["C4"], ws["D4"] = "姓名", "公民身份\n号码", "与户主关系"
    if extra_column:
        ws["M3"] = extra_column
    ws.append(list(range(1, 13)))  # row 5: column numbers
    rows: list[list[Any]] = [
        # row 6: a datetime cell, two tags
        [
            1,
            "张测试",
            P["zhang"],
            "户主",
            "男",
            datetime(1940, 1, 1),
            "汉族",
            "13800000001",
            "中山路社区",
            "第1网格",
            "低保、高龄",
            "",
        ],
        # row 7: full-width digits in the ID; 2024年3月1日-style date; tag spelling 低保户
        [
            2,
            "李测试",
            P["li"].translate(FULL),
            "妻子",
            "女",
            "1941年2月3日",
            "汉",
            "13800000002",
            "中山路社区",
            "1",
            "低保户",
            "",
        ],
        # row 8: the ID cell is an Excel number ('General'): digits lost
        [
            3,
            "王测试",
            float(P["wang"]),
            "户主",
            "男",
            "1952-05-05",
            "汉族",
            "13800000003",
            "中山路社区",
            "第2网格",
            "",
            "",
        ],
        # row 9: the ID as the text Excel shows for such a number
        [
            4,
            "刘测试",
            "4.40524E+17",
            "户主",
            "男",
            "1953.6.6",
            "汉族",
            "13800000004",
            "中山路社区",
            "2",
            "",
            "",
        ],
        # row 10: wrong check character
        [
            5,
            "陈测试",
            bad_check(P["chen"]),
            "户主",
            "男",
            "19800301",
            "汉族",
            "13800000005",
            "中山路社区",
            "2",
            "",
            "",
        ],
        # row 11: 1980.3.2; the phone typed into a number cell (accepted, with a warning)
        [
            6,
            "杨测试",
            P["yang"],
            "户主",
            "男",
            "1980.3.2",
            "汉族",
            13800000006,
            "中山路社区",
            "第2网格",
            "",
            "迁入",
        ],
        # row 12: 20240301-style date as a number; relation spelling 儿子
        [
            7,
            "黄测试",
            P["huang"],
            "儿子",
            "男",
            19750815,
            "汉族",
            "13800000007",
            "中山路社区",
            "第1网格",
            "",
            "",
        ],
        # row 13: the same person as row 6
        [
            8,
            "张测试",
            P["zhang"],
            "户主",
            "男",
            "1940-01-01",
            "汉族",
            "13800000001",
            "中山路社区",
            "第1网格",
            "",
            "",
        ],
        # row 14: 1990/5/20
        [
            9,
            "周测试",
            P["zhou"],
            "户主",
            "男",
            "1990/5/20",
            "汉族",
            "13800000009",
            "中山路社区",
            "第1网格",
            "",
            "",
        ],
        # row 15: an Excel date serial typed into a General cell (1985-11-11)
        [10, "吴测试", P["wu"], "户主", "男", 31362, "汉族", "13800000010", "中山路社区", "第1网格", "", ""],
        # row 16: an unknown tag
        [
            11,
            "孔测试",
            P["kong"],
            "户主",
            "男",
            "1966年6月6日",
            "汉族",
            "13800000011",
            "中山路社区",
            "第1网格",
            "特困，外星人",
            "",
        ],
        # row 17: 性别 contradicts the ID (the registry service's check)
        [
            12,
            "冯测试",
            P["feng"],
            "户主",
            "女",
            "1988-08-08",
            "汉族",
            "13800000012",
            "中山路社区",
            "第1网格",
            "",
            "",
        ],
        # row 18: 高龄 for a child (the tag's age rule, registry service)
        [13, "徐测试", P["xu"], "子", "男", "2010-01-01", "汉族", "", "中山路社区", "第1网格", "高龄", ""],
        # row 19: a grid the village does not have
        [
            14,
            "曹测试",
            P["cao"],
            "户主",
            "男",
            "1960-01-01",
            "汉族",
            "13800000014",
            "中山路社区",
            "第99网格",
            "",
            "",
        ],
    ]
    for r in rows:
        ws.append(r)
    ws.append(["合计：14人"])  # row 20
    ws.append(["填表人：某某", None, None, "审核人：某某"])  # row 21
    notes = wb.create_sheet("填表说明")
    notes["A1"] = "身份证号请设置为文本格式"
    wb.save(path)
    return path


EXPECTED_ERRORS = [
    (8, "C", NUMBER_LOST),
    (9, "C", NUMBER_LOST),
    (10, "C", f"check character is {bad_check(P['chen'])[17]}, expected {P['chen'][17]} (校验码错误)"),
    (13, "C", "repeats row 6: the same 公民身份号码 twice in the file"),
    (16, "K", f'"外星人" is not a tag: use the labels {TAG_LABELS}'),
    (17, "E", "女 contradicts the citizen ID (male)"),
    (18, "K", "高龄 (gaoling) needs age 80 or more; the person is 16 on 2026-11-01"),
    (19, "J", '中山路社区居民委员会 has no grid "第99网格"'),
]
GOOD = [  # (citizen ID, name, grid, relation, ethnicity, phone, tags) after the import
    (P["zhang"], "张测试", GRID1, "02", "01", "13800000001", "|dibao|gaoling|"),
    (P["li"], "李测试", GRID1, "12", "01", "13800000002", "|dibao|"),
    (P["yang"], "杨测试", GRID2, "02", "01", "13800000006", ""),
    (P["huang"], "黄测试", GRID1, "20", "01", "13800000007", ""),
    (P["zhou"], "周测试", GRID1, "02", "01", "13800000009", ""),
    (P["wu"], "吴测试", GRID1, "02", "01", "13800000010", ""),
]


def test_messy_workbook_all_or_nothing_report(session: Session, tmp_path: Path) -> None:
    f = messy_workbook(tmp_path / "低保花名册.xlsx")
    with pytest.raises(ImportRefused) as ei:
        import_file(session, SYSTEM_ACTOR, f, "resident", area=TOWN, source="mzj-dibao", valid_from=VF)
    res = ei.value.result
    assert res is not None
    assert ei.value.detail.startswith(
        f"{f}: 8 of 14 rows refused, nothing imported (fix them in the file and import it again, or use "
        "--skip-invalid to import the 6 good rows); first: sheet 花名册, row 8, column C (家庭成员/公民身份"
        "号码), value 500118********0000 (a number, shown as 5.00118E+17): stored as a number, last "
        "digits lost"
    )
    assert issues(res) == EXPECTED_ERRORS
    # row 8: the digits Excel keeps (15) and what it shows; row 9: the text the cell holds
    assert [(i.row, i.letter, i.value) for i in res.errors()] == [
        (8, "C", "500118********0000 (a number, shown as 5.00118E+17)"),
        (9, "C", "4.40524E+17"),
        (10, "C", bad_check(P["chen"])[:6] + "********" + bad_check(P["chen"])[-4:]),
        (13, "C", P["zhang"][:6] + "********" + P["zhang"][-4:]),
        (16, "K", "特困，外星人"),
        (17, "E", "女"),
        (18, "K", "高龄"),
        (19, "J", "第99网格"),
    ]
    # the sheet has no 户号 column: one warning for the 14 rows that give a relation, on the first
    no_household = (
        "与户主关系 given without 户号 in 14 rows, from this one on: the sheet has no 户号 column, so these "
        "people are not placed in a household"
    )
    assert [(w.row, w.letter, w.value, w.reason) for w in res.warnings()] == [
        (6, "D", "户主", no_household),
        (
            11,
            "H",
            "138****0006",
            "stored as a number (以数字存储): keep the column as text so leading zeros are not lost",
        ),
    ]
    assert (res.rows_read, res.valid, res.invalid, res.left_out) == (14, 6, 8, 3)
    assert (res.created, res.updated, res.written) == (0, 0, False)
    assert res.sheets == [
        {"name": "花名册", "header_rows": "3-4", "rows_read": 14},
        {
            "name": "填表说明",
            "skipped": "no header row in rows 1-1 (closest: row 1, 0 of 1 headers known for a resident file)",
        },
    ]
    assert [(c["column"], c["header"], c["field"]) for c in res.columns] == [
        ("A", "序号", "ignore"),
        ("B", "家庭成员/姓名", "name"),
        ("C", "家庭成员/公民身份号码", "citizen_id"),
        ("D", "家庭成员/与户主关系", "relation"),
        ("E", "性别", "sex"),
        ("F", "出生日期", "birth_date"),
        ("G", "民族", "ethnicity"),
        ("H", "联系电话", "phone"),
        ("I", "所属村", "village"),
        ("J", "网格", "grid"),
        ("K", "人员类别", "tags"),
        ("L", "备注", "ignore"),
    ]
    session.rollback()
    assert current(session) == [] and list_mappings(session) == []
    assert res.reject_file == str(tmp_path / "低保花名册.xlsx.rejects.xlsx")
    text = res.text()
    assert "mapping not saved (nothing imported); it would be saved as mzj-dibao:" in text
    last_error = text.index(
        'sheet 花名册, row 19, column J (网格), value 第99网格: 中山路社区居民委员会 has no grid "第99网格"'
    )
    assert text[last_error + 1 :] == [
        f"warning: sheet 花名册, row 6, column D (家庭成员/与户主关系), value 户主: {no_household}",
        f"warning: sheet 花名册, row 11, column H (联系电话), value 138****0006: {res.warnings()[1].reason}",
        f"refused rows with their reasons: {tmp_path / '低保花名册.xlsx.rejects.xlsx'}",
    ]


def test_messy_workbook_skip_invalid_writes_the_good_rows(session: Session, tmp_path: Path) -> None:
    f = messy_workbook(tmp_path / "低保花名册.xlsx")
    res = import_file(
        session, SYSTEM_ACTOR, f, "resident", area=TOWN, source="mzj-dibao", valid_from=VF, skip_invalid=True
    )
    assert issues(res) == EXPECTED_ERRORS
    assert (
        res.rows_read,
        res.valid,
        res.invalid,
        res.created,
        res.updated,
        res.unchanged,
        res.conflicts,
    ) == (
        14,
        6,
        8,
        6,
        0,
        0,
        0,
    )
    assert res.written and res.mapping_status == "saved" and res.source == "import:mzj-dibao"
    assert current(session) == sorted(GOOD)
    # the same file again from the same source: nothing changes
    again = import_file(
        session, SYSTEM_ACTOR, f, "resident", area=TOWN, source="mzj-dibao", valid_from=VF, skip_invalid=True
    )
    assert (again.created, again.updated, again.unchanged, again.mapping_status) == (0, 0, 6, "remembered")


def test_reject_workbook_keeps_text_and_can_be_fixed_and_imported(session: Session, tmp_path: Path) -> None:
    f = messy_workbook(tmp_path / "花名册.xlsx")
    res = import_file(
        session, SYSTEM_ACTOR, f, "resident", area=TOWN, source="mzj-dibao", valid_from=VF, skip_invalid=True
    )
    rej = Path(str(res.reject_file))
    wb = openpyxl.load_workbook(rej)
    assert wb.sheetnames == ["花名册"]
    ws = wb["花名册"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows[0] == [
        "序号",
        "家庭成员/姓名",
        "家庭成员/公民身份号码",
        "家庭成员/与户主关系",
        "性别",
        "出生日期",
        "民族",
        "联系电话",
        "所属村",
        "网格",
        "人员类别",
        "备注",
        "错误原因",
        "原行号",
    ]
    assert [r[13] for r in rows[1:]] == ["8", "9", "10", "13", "16", "17", "18", "19"]
    assert all(
        c.number_format == "@" and c.data_type == "s" for r in ws.iter_rows(min_row=2) for c in r if c.value
    )
    assert rows[1][2].endswith("e+17")  # still a number's rendering: refused again until retyped
    assert validate_citizen_id(rows[1][2]).errors == [NUMBER_LOST]
    assert rows[2][2] == "4.40524E+17"
    assert rows[3][2] == bad_check(P["chen"]) and rows[3][5] == "19800301"
    assert rows[4][5] == "1940-01-01"
    assert rows[1][12] == f"column C (家庭成员/公民身份号码): {NUMBER_LOST}"
    assert rows[6][12] == "column E (性别): 女 contradicts the citizen ID (male)"
    # the clerk retypes the IDs, fixes the check character, drops the duplicate and the bad tag …
    fixes = {2: P["wang"], 3: P["liu"], 4: P["chen"]}
    for r, cid in fixes.items():
        ws.cell(r, 3).value = cid
    ws.delete_rows(5)  # the duplicate of row 6
    ws.cell(5, 11).value = "特困"  # was row 16
    ws.cell(6, 5).value = "男"  # was row 17
    ws.cell(7, 11).value = None  # was row 18
    ws.cell(8, 10).value = "第3网格"  # was row 19
    wb.save(rej)
    # … and imports the reject workbook as it is (错误原因 and 原行号 are read over; same mapping)
    res2 = import_file(session, SYSTEM_ACTOR, rej, "resident", area=TOWN, source="mzj-dibao", valid_from=VF)
    assert (res2.rows_read, res2.valid, res2.invalid, res2.created, res2.mapping_status) == (
        7,
        7,
        0,
        7,
        "remembered",
    )
    assert {c[0] for c in current(session)} == set(P.values())


def test_unknown_and_ambiguous_columns_refuse_the_file(session: Session, tmp_path: Path) -> None:
    f = messy_workbook(tmp_path / "a.xlsx", extra_column="身高")
    with pytest.raises(InvalidInput) as ei:
        import_file(session, SYSTEM_ACTOR, f, "resident", area=TOWN)
    assert ei.value.detail.startswith(
        f"{f}: sheet 花名册, column M (身高): unknown column: no field of a resident file has this header; "
        "rename it to one of 公民身份号码, 姓名, 户主姓名, 性别,"
    )
    assert ei.value.detail.endswith("or pass --column '身高=FIELD' (or =ignore)")
    # ignoring it by name (or by letter) lets the file through
    res = import_file(
        session,
        SYSTEM_ACTOR,
        f,
        "resident",
        area=TOWN,
        dry_run=True,
        columns=parse_column_options(["身高=ignore"], "resident"),
    )
    assert res.invalid == 8 and res.written is False
    f2 = messy_workbook(tmp_path / "b.xlsx", extra_column="证件号码")
    with pytest.raises(InvalidInput) as ei:
        import_file(session, SYSTEM_ACTOR, f2, "resident", area=TOWN)
    assert ei.value.detail == (
        f"{f2}: sheet 花名册, column C (家庭成员/公民身份号码): ambiguous: columns "
        "C (家庭成员/公民身份号码), M (证件号码) all map to citizen_id (公民身份号码); keep one, "
        "or pass --column '家庭成员/公民身份号码=ignore' (and 1 more)"
    )
    with pytest.raises(
        InvalidInput, match=r'--column "身高=height": "height" is not a field of a resident file'
    ):
        parse_column_options(["身高=height"], "resident")


def test_dry_run_checks_through_the_service_and_writes_nothing(session: Session, tmp_path: Path) -> None:
    f = messy_workbook(tmp_path / "c.xlsx")
    res = import_file(
        session, SYSTEM_ACTOR, f, "resident", area=TOWN, source="mzj-dibao", valid_from=VF, dry_run=True
    )
    assert issues(res) == EXPECTED_ERRORS
    assert (res.created, res.dry_run, res.written, res.mapping_status) == (6, True, False, "proposed")
    assert res.text()[-1] == "dry run: nothing was written"
    assert current(session) == [] and list_mappings(session) == []


# --- text files: encodings detected by content ---------------------------------------------------------

CSV_TEXT = (
    "姓名,身份证号,性别,出生日期,手机号,村(社区),网格,标签\r\n"
    f"赵测试,{P['zhou']},男,1990-05-20,13800000021,中山路社区,第1网格,低保\r\n"
    f'钱测试,"=""{P["wu"]}""",男,1985年11月11日,13800000022,中山路社区,第2网格,\r\n'
    f"孙测试,{P['cao'].translate(FULL)},男,1960.1.1,138 0000 0023,中山路社区,第1网格,高龄\r\n"
)


@pytest.mark.parametrize(
    ("encoding", "label"), [("gbk", "GB18030"), ("utf-8-sig", "UTF-8 with BOM"), ("utf-8", "UTF-8")]
)
def test_csv_in_each_encoding_imports_the_same(
    session: Session, tmp_path: Path, encoding: str, label: str
) -> None:
    f = tmp_path / "人口.txt"  # the extension says nothing: the content decides
    f.write_bytes(CSV_TEXT.encode(encoding))
    res = import_file(
        session, SYSTEM_ACTOR, f, "resident", area=VILLAGE, source="gongan", valid_from=VF, skip_invalid=True
    )
    assert (res.file_type, res.encoding) == ("csv", label)
    assert issues(res) == [(4, "H", "高龄 (gaoling) needs age 80 or more; the person is 66 on 2026-11-01")]
    assert current(session) == [
        (P["wu"], "钱测试", GRID2, None, None, "13800000022", ""),
        (P["zhou"], "赵测试", GRID1, None, None, "13800000021", "|dibao|"),
    ]


def test_decode_text_names_the_encoding_and_refuses_others(tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    assert decode_text(p, "姓名".encode("gb18030")) == ("姓名", "GB18030")
    assert decode_text(p, "\ufeff姓名".encode()) == ("姓名", "UTF-8 with BOM")
    assert decode_text(p, "姓名\t身份证号".encode("utf-16")) == ("姓名\t身份证号", "UTF-16")
    with pytest.raises(InvalidInput, match=r"x.csv: a binary file"):
        decode_text(p, b"ab\x00cd")
    with pytest.raises(
        InvalidInput, match=r"x.csv: text in an unknown encoding \(byte 0 is neither UTF-8 nor "
    ):
        decode_text(p, b"\x80\xff\xfe abc")


def test_tab_separated_utf16_text_export(session: Session, tmp_path: Path) -> None:
    f = tmp_path / "export.txt"  # Excel's "Unicode text": UTF-16 with BOM, tab-separated
    f.write_bytes(CSV_TEXT.replace(",", "\t").encode("utf-16"))
    res = import_file(session, SYSTEM_ACTOR, f, "resident", area=VILLAGE, dry_run=True)
    assert (res.encoding, res.rows_read, res.valid) == ("UTF-16", 3, 2)


# --- wrong files: one clear message naming the file ----------------------------------------------------


def _docx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("word/document.xml", "<w:document/>")
    return path


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("empty.xlsx", b"", "the file is empty"),
        ("scan.xlsx", b"%PDF-1.7 ...", "a PDF, not a spreadsheet: ask for the table as .xlsx or .csv"),
        (
            "page.xls",
            b"<html><body><table><tr><td>1</td></tr></table></body></html>",
            "an HTML page saved with a spreadsheet's name (网页格式): open it in Excel and save as .xlsx",
        ),
        ("bin.csv", b"\x01\x02\x00\x00\x03", "a binary file, not a spreadsheet or a text table"),
        (
            "fake.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
            "cannot read it as an Excel 97-2003 (.xls) workbook (an OLE2 file that may be a Word "
            "document or an encrypted workbook)",
        ),
    ],
)
def test_a_file_that_is_not_a_table_is_one_message(
    tmp_path: Path, name: str, content: bytes, message: str
) -> None:
    p = tmp_path / name
    p.write_bytes(content)
    with pytest.raises(InvalidInput) as ei:
        read_workbook(p)
    assert ei.value.detail.startswith(f"{p}: {message}")


def test_a_word_document_named_xlsx(tmp_path: Path) -> None:
    p = _docx(tmp_path / "名单.xlsx")
    with pytest.raises(InvalidInput) as ei:
        read_workbook(p)
    assert (
        ei.value.detail
        == f"{p}: a Word document, not a spreadsheet: copy the table into Excel and save as .xlsx"
    )


def test_an_xlsx_named_csv_is_read_as_a_workbook(tmp_path: Path) -> None:
    p = tmp_path / "really.csv"
    wb = openpyxl.Workbook()
    wb.active.append(["姓名", "身份证号"])
    wb.save(p)
    assert read_workbook(p).file_type == "xlsx"


def test_a_sheet_without_header_names_the_sheet(session: Session, tmp_path: Path) -> None:
    p = tmp_path / "x.xlsx"
    wb = openpyxl.Workbook()
    wb.active.title = "数据"
    wb.active.append(["张三", "500118", "男"])
    wb.save(p)
    with pytest.raises(InvalidInput) as ei:
        import_file(session, SYSTEM_ACTOR, p, "resident")
    assert ei.value.detail == (
        f"{p}: no sheet has a header row for a resident file (sheet 数据: no header row in rows 1-1 "
        "(closest: row 1, 0 of 3 headers known for a resident file))"
    )


def test_values_in_a_column_without_header_refuse_the_file(session: Session, tmp_path: Path) -> None:
    p = tmp_path / "x.csv"
    p.write_text(f"姓名,身份证号,,网格\n赵测试,{P['zhou']},多余,1\n", encoding="utf-8")
    with pytest.raises(InvalidInput) as ei:
        import_file(session, SYSTEM_ACTOR, p, "resident", area=VILLAGE)
    assert ei.value.detail == (
        f"{p}: sheet x, column C: 1 row(s) have values but the column has no header: give it a header (or "
        "delete the values)"
    )


# --- .xls ----------------------------------------------------------------------------------------------


def test_legacy_xls(session: Session, tmp_path: Path) -> None:
    f = DATA / "residents_legacy.xls"
    res = import_file(
        session,
        SYSTEM_ACTOR,
        f,
        "resident",
        source="legacy",
        valid_from=VF,
        skip_invalid=True,
        reject_path=tmp_path / "legacy.rejects.xlsx",
    )
    assert res.file_type == "xls"
    assert res.sheets == [{"name": "花名册", "header_rows": "2-3", "rows_read": 3}]
    assert issues(res) == [(6, "C", NUMBER_LOST)]
    assert res.reject_file == str(tmp_path / "legacy.rejects.xlsx")
    assert current(session) == [
        (gen_id("19500101", 11), "赵测试", GRID1, "02", None, "13800000011", "|dibao|"),
        (gen_id("19620315", 12), "钱测试", GRID2, "10", None, "13800000012", ""),
    ]


# --- remembered mappings, sources, conflicts ---------------------------------------------------------------


def small_book(path: Path, rows: list[list[Any]], header: list[str] | None = None) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(header or ["居民姓名", "证件号码", "电话号码", "所属网格"])
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def test_a_mapping_is_proposed_saved_and_remembered(session: Session, tmp_path: Path) -> None:
    f = small_book(tmp_path / "m.xlsx", [["赵测试", P["zhou"], "13800000031", GRID1]])
    with pytest.raises(InvalidInput, match=r"column A \(居民姓名\): unknown column"):
        import_file(session, SYSTEM_ACTOR, f, "resident", source="wjw-manbing")
    given = parse_column_options(["A=name"], "resident")
    res = import_file(
        session, SYSTEM_ACTOR, f, "resident", source="wjw-manbing", columns=given, valid_from=VF
    )
    assert (res.mapping_name, res.mapping_status, res.created) == ("wjw-manbing", "saved", 1)
    assert list_mappings(session)[0]["columns"] == {
        "居民姓名": "name",
        "证件号码": "citizen_id",
        "电话号码": "phone",
        "所属网格": "grid",
    }
    # next month's file of the same source: the remembered mapping knows 居民姓名
    g = small_book(tmp_path / "m2.xlsx", [["赵测试", P["zhou"], "13800000032", GRID1]])
    res = import_file(session, SYSTEM_ACTOR, g, "resident", source="wjw-manbing", valid_from=VF)
    assert (res.mapping_status, res.updated, [c["how"] for c in res.columns]) == (
        "remembered",
        1,
        ["remembered"] * 4,
    )
    # a mapping of another kind is refused by name
    with pytest.raises(InvalidInput, match='mapping "wjw-manbing" is for resident files, not household'):
        import_file(session, SYSTEM_ACTOR, g, "household", mapping="wjw-manbing")


def test_two_sources_disagreeing_record_a_conflict(session: Session, tmp_path: Path) -> None:
    head = ["姓名", "身份证号", "手机号", "网格"]
    a = small_book(tmp_path / "a.xlsx", [["赵测试", P["zhou"], "13800000041", GRID1]], head)
    b = small_book(tmp_path / "b.xlsx", [["赵测试", P["zhou"], "13800000042", GRID1]], head)
    import_file(session, SYSTEM_ACTOR, a, "resident", source="gongan", valid_from=VF)
    res = import_file(session, SYSTEM_ACTOR, b, "resident", source="mzj-dibao", valid_from=VF)
    assert (res.created, res.updated, res.unchanged, res.conflicts, res.rows_with_conflicts) == (
        0,
        0,
        0,
        1,
        1,
    )
    assert current(session)[0][5] == "13800000041"  # nothing silently overwritten


def test_the_import_needs_the_import_permission_and_the_scope(session: Session, tmp_path: Path) -> None:
    f = small_book(
        tmp_path / "s.xlsx",
        [["赵测试", P["zhou"], "13800000051", "500118002001001"]],
        ["姓名", "身份证号", "手机号", "网格"],
    )
    grid_worker = Actor(None, "w", "网格员(生成)", "grid_worker", GRID1, "500118", TOWN)
    with pytest.raises(Forbidden, match=r"registry.import"):
        import_file(session, grid_worker, f, "resident")
    clerk = Actor(None, "c", "数据员(生成)", "clerk", f"{TOWN}-ZHZX", "500118", TOWN)
    res = import_file(session, clerk, f, "resident", skip_invalid=True, valid_from=VF)
    assert [(i.row, i.letter, i.field) for i in res.errors()] == [(2, "D", "grid")]
    assert res.errors()[0].reason.startswith(f"outside your data scope (town {TOWN})")


def test_households_then_their_members(session: Session, tmp_path: Path) -> None:
    hh = small_book(
        tmp_path / "户.xlsx",
        [["H0001", P["zhang"], "家庭户", "中山路社区", "1"]],
        ["户号", "户主身份证号", "户别", "所属村", "网格"],
    )
    with pytest.raises(ImportRefused) as ei:  # the head is not on the register yet
        import_file(session, SYSTEM_ACTOR, hh, "household", area=TOWN, valid_from=VF)
    assert issues(ei.value.result) == [(2, "B", "no resident with this citizen ID: add the head first")]
    people = small_book(
        tmp_path / "人.xlsx",
        [["张测试", P["zhang"], "H0001", "户主", "中山路社区", "1"]],
        ["姓名", "身份证号", "户号", "与户主关系", "所属村", "网格"],
    )
    first = import_file(
        session, SYSTEM_ACTOR, people, "resident", area=TOWN, valid_from=VF, skip_invalid=True
    )
    assert issues(first) == [(2, "C", 'household "H0001" is not registered: add the household first')]
    p2 = small_book(
        tmp_path / "人2.xlsx",
        [["张测试", P["zhang"], "户主", "中山路社区", "1"]],
        ["姓名", "身份证号", "与户主关系", "所属村", "网格"],
    )
    import_file(session, SYSTEM_ACTOR, p2, "resident", area=TOWN, valid_from=VF)
    res = import_file(session, SYSTEM_ACTOR, hh, "household", area=TOWN, valid_from=VF)
    assert res.created == 1
    assert session.scalar(select(Household.number)) == "H0001"
    res = import_file(session, SYSTEM_ACTOR, people, "resident", area=TOWN, valid_from=VF)
    assert (res.created, res.updated) == (0, 1)


def test_units_are_written_row_by_row(session: Session, tmp_path: Path) -> None:
    uscc = "91350100M000100Y43"  # GB 32100-2015's worked example
    f = small_book(
        tmp_path / "单位.xlsx",
        [
            ["示例公司(生成)", uscc, "C3011", "中山路社区", 12, "第1网格"],
            ["无代码单位(生成)", "", "C3011", "中山路社区", 3, "第1网格"],
        ],
        ["单位名称", "统一社会信用代码", "行业代码", "所属村", "从业人员数", "网格"],
    )
    res = import_file(session, SYSTEM_ACTOR, f, "unit", area=TOWN, valid_from=VF, skip_invalid=True)
    assert issues(res) == [(3, "B", "required: 统一社会信用代码")]
    assert res.created == 1


# --- pure parts -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        (datetime(2024, 3, 1, 0, 0), date(2024, 3, 1)),
        (date(2024, 3, 1), date(2024, 3, 1)),
        (45352, date(2024, 3, 1)),
        (45352.75, date(2024, 3, 1)),
        (20240301, date(2024, 3, 1)),
        ("2024年3月1日", date(2024, 3, 1)),
        ("2024.3.1", date(2024, 3, 1)),
        ("2024-03-01", date(2024, 3, 1)),
        ("20240301", date(2024, 3, 1)),
        ("2024/3/1", date(2024, 3, 1)),
        ("２０２４年３月１日", date(2024, 3, 1)),
        ("2024-03-01 00:00:00", date(2024, 3, 1)),
        (" 2024 年 3 月 1 日 ", date(2024, 3, 1)),
        ("", None),
    ],
)
def test_dates_as_clerks_write_them(cell: Any, expected: date | None) -> None:
    assert parse_date_cell(cell) == expected


@pytest.mark.parametrize(
    ("cell", "reason"),
    [
        ("2024-13-01", "not a real date"),
        ("2024年2月30日", "not a real date"),
        ("三月一日", "not a date: write it as 2024-03-01"),
        (60, "serial 60 is 1900-02-29, which does not exist"),
        (-3, "a number that is not a date"),
        (True, "true/false is not a date"),
    ],
)
def test_bad_dates_say_why(cell: Any, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_date_cell(cell)


def test_excel_serials_follow_the_1900_system() -> None:
    # ECMA-376 §18.17.4.1: serial 1 is 1900-01-01, 59 is 1900-02-28, 61 is 1900-03-01
    assert [excel_serial(n) for n in (1, 59, 61, 45352)] == [
        date(1900, 1, 1),
        date(1900, 2, 28),
        date(1900, 3, 1),
        date(2024, 3, 1),
    ]


def test_tags_split_and_map() -> None:
    aliases = synonyms()["resident"].values["tags"]
    assert parse_tags("低保、高龄", aliases) == ["dibao", "gaoling"]
    assert parse_tags("残疾人,低保户；dibao  特困", aliases) == ["dibao", "tekun", "canji"]
    assert parse_tags("", aliases) == []
    with pytest.raises(ValueError, match='"外星人" is not a tag'):
        parse_tags("低保/外星人", aliases)


def test_report_text_keeps_lost_digits_visible() -> None:
    assert report_text(4.4052418800101e17) == "4.4052418800101e+17"
    assert report_text(13800000006.0) == "13800000006"
    assert report_text(datetime(1980, 3, 1)) == "1980-03-01"
    assert report_text(True) == "TRUE"


def test_headers_normalise_and_join() -> None:
    assert normalize_header(" 公民身份\n号码（必填）* ") == "公民身份号码"
    assert normalize_header("村（社区）：") == "村(社区)"
    assert [column_letter(i) for i in (0, 25, 26, 701, 702)] == ["A", "Z", "AA", "ZZ", "AAA"]
    syn = synonyms()["resident"]
    head: list[list[Any]] = [
        ["XX村低保人员花名册", "", "", ""],
        ["序号", "户主姓名", "家庭成员", ""],
        ["", "", "姓名", "身份证号"],
        [1, "张三", "张三", "x"],
    ]
    h = find_header(head, [(0, 0, 0, 3), (1, 0, 2, 0), (1, 1, 2, 1), (1, 2, 1, 3)], syn)
    assert h is not None
    assert (h.rows_shown(), h.texts) == ("2-3", ["序号", "户主姓名", "家庭成员/姓名", "家庭成员/身份证号"])
    assert [syn.match(k) for k in h.keys] == ["ignore", "head_name", "name", "citizen_id"]


def test_calamine_rows_start_at_column_a(tmp_path: Path) -> None:
    # python-calamine's iter_rows starts at row 1 but at the first used column; the reader puts A back
    p = tmp_path / "offset.xlsx"
    wb = openpyxl.Workbook()
    wb.active["C3"], wb.active["D5"] = "姓名", 1
    wb.save(p)
    rows = list(read_workbook(p).sheets[0].rows)
    assert rows == [
        ["", "", "", ""],
        ["", "", "", ""],
        ["", "", "姓名", ""],
        ["", "", "", ""],
        ["", "", "", 1.0],
    ]
    assert CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).start == (2, 2)


def test_places_resolve_names_numbers_and_codes() -> None:
    units = [
        (TOWN, "中山路街道", "town"),
        ("500118100000", "青峰镇", "town"),
        (VILLAGE, "中山路社区居民委员会", "village"),
        (GRID1, "中山路社区居民委员会第1网格", "grid"),
        (GRID2, "中山路社区居民委员会第2网格", "grid"),
        ("500118100001", "兴隆村村民委员会", "village"),
        ("500118001009", "兴隆村村民委员会", "village"),
        ("500118100001001", "兴隆村村民委员会第1网格", "grid"),
    ]
    p = Places(units)
    assert p.resolve("", "中山路社区", "第2网格") == (VILLAGE, GRID2)
    assert p.resolve("", "中山路社区居民委员会", "2") == (VILLAGE, GRID2)
    assert p.resolve("", "", "中山路社区居民委员会第1网格") == (VILLAGE, GRID1)
    assert p.resolve("", "５００１１８００１００１", "") == (VILLAGE, None)
    assert p.resolve("青峰", "兴隆村", "1") == ("500118100001", "500118100001001")
    with pytest.raises(LocationError, match=r'"兴隆村" is the name of 2 villages \(in 青峰镇、中山路街道\)'):
        p.resolve("", "兴隆村", "")
    with pytest.raises(LocationError, match="a grid number needs the village"):
        p.resolve("", "", "3")
    in_village = Places(units, VILLAGE)
    assert in_village.resolve("", "", "第1网格") == (VILLAGE, GRID1)
    assert in_village.resolve("", "", "") == (VILLAGE, None)
    with pytest.raises(
        LocationError, match=r"兴隆村村民委员会 is outside 中山路社区居民委员会 \(500118001001\)"
    ):
        in_village.resolve("青峰镇", "兴隆村", "")


def test_fast_paths_agree_with_the_validators() -> None:
    """The fast paths accept exactly what the validators accept without a warning, unchanged."""
    fast = FastIdentifiers(date(2026, 11, 29))
    rng = random.Random(4)
    regions = ["500118", "110105", "500383", "500100", "999999", "110000", "500101", "440524", "500381"]
    ids: list[object] = []
    for _ in range(3000):
        body = (
            rng.choice(regions)
            + f"{rng.randint(1880, 2030):04d}{rng.randint(0, 13):02d}{rng.randint(0, 32):02d}"
        )
        body += f"{rng.randint(0, 999):03d}"
        good = body + check_char(body)
        ids += [good, good.lower(), bad_check(good), " " + good, good.translate(FULL)]
    ids += [None, "", 4.4e17, "4.40524E+17", gen_id("19800101", 1)[:15]]
    hits = 0
    for v in ids:
        r = validate_citizen_id(v, today=date(2026, 11, 29))
        want = r.normalized if r.valid and not r.warnings else None
        got = fast.citizen_id(v)
        if got is not None or (want is not None and want == v):  # plain valid values take the fast path
            assert got == want, v
            hits += 1
    assert hits > 1000
    phones: list[object] = [f"1{rng.randint(0, 9_999_999_999):010d}" for _ in range(3000)]
    phones += ["13800000000", "17400000000", "1349000000", "138-0000-0000", 13800000000, "０１３８"]
    hits = 0
    for v in phones:
        r = validate_phone(v)
        want = r.normalized if r.valid and not r.warnings else None
        got = fast.mobile(v)
        if got is not None or (want is not None and want == v):
            assert got == want, v
            hits += 1
    assert hits > 500
