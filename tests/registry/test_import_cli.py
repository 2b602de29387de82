"""``zhizhi registry import`` as a clerk runs it: the text report, exit codes, one transaction, the
reject workbook, remembered mappings, the acting user. In-process through typer's CliRunner against
the test database (the ``engine`` fixture sets ZHIZHI_DATABASE_URL).

Every person is GENERATED (see conftest and test_intake.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from zhizhi.cli import app
from zhizhi.core.audit import AuditRow
from zhizhi.registry.models import Resident

from .test_intake import CSV_TEXT, EXPECTED_ERRORS, GRID1, TOWN, VILLAGE, P, messy_workbook, small_book


@pytest.fixture(autouse=True)
def _clean_mappings(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "engine" in request.fixturenames:
        eng: Engine = request.getfixturevalue("engine")
        with eng.begin() as c:
            c.execute(text("DELETE FROM register_import_mapping"))


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


def n_residents(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Resident)) or 0


BASE = ("--kind", "resident", "--org", TOWN, "--source", "mzj-dibao", "--valid-from", "2026-11-01")


def last_audit_id(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(AuditRow.id).order_by(AuditRow.id.desc()).limit(1)) or 0


def exports_after(session: Session, before: int) -> list[tuple[str, str, Any]]:
    session.expire_all()
    q = select(AuditRow.actor, AuditRow.action, AuditRow.detail).where(AuditRow.id > before)
    return [tuple(r) for r in session.execute(q.order_by(AuditRow.id))]


def test_refused_rows_mean_nothing_is_written(session: Session, tmp_path: Path) -> None:
    f = messy_workbook(tmp_path / "低保花名册.xlsx")
    before = last_audit_id(session)
    code, out, err = zz("registry", "import", str(f), *BASE)
    assert (code, out) == (2, "")
    lines = err.splitlines()
    assert lines[0].startswith(
        f"error: {f}: 8 of 14 rows refused, nothing imported (fix them in the file and "
    )
    rows = [ln for ln in lines if ln.startswith("  sheet 花名册, row ")]
    assert [ln.split(", value")[0] for ln in rows] == [
        f"  sheet 花名册, row {r}, column {c} ({h})"
        for (r, c, _), h in zip(
            EXPECTED_ERRORS,
            ["家庭成员/公民身份号码"] * 4 + ["人员类别", "性别", "人员类别", "网格"],
            strict=True,
        )
    ]
    assert (
        "  rows read 14, valid 6, invalid 8, created 0, updated 0, unchanged 0, conflicts 0, left out 3 "
        "(blank/footer)" in lines
    )
    assert lines[-1] == f"  refused rows with their reasons: {tmp_path / '低保花名册.xlsx.rejects.xlsx'}"
    assert n_residents(session) == 0
    # the reject workbook is an export of personal data: audited, although the import rolled back
    rej = str(tmp_path / "低保花名册.xlsx.rejects.xlsx")
    detail = {"file": "低保花名册.xlsx", "reject_file": rej, "rows": 8, "kind": "resident"}
    assert exports_after(session, before) == [("system", "export", detail)]


def test_skip_invalid_imports_the_good_rows(session: Session, tmp_path: Path) -> None:
    f = messy_workbook(tmp_path / "低保花名册.xlsx")
    code, out, err = zz("registry", "import", str(f), *BASE, "--skip-invalid")
    assert (code, err) == (0, "")
    lines = out.splitlines()
    assert lines[:4] == [
        f"{f} (xlsx): resident import, source import:mzj-dibao",
        "sheet 花名册: header rows 3-4, data rows 14",
        "sheet 填表说明: skipped, no header row in rows 1-1 (closest: row 1, 0 of 1 headers known for a "
        "resident file)",
        "mapping mzj-dibao saved:",
    ]
    assert (
        "rows read 14, valid 6, invalid 8, created 6, updated 0, unchanged 0, conflicts 0, left out 3 "
        "(blank/footer)" in lines
    )
    assert (tmp_path / "低保花名册.xlsx.rejects.xlsx").is_file()
    assert n_residents(session) == 6
    code, out, _ = zz("registry", "mappings", "mzj-dibao")
    assert code == 0 and json.loads(out)["columns"]["家庭成员/公民身份号码"] == "citizen_id"


def test_dry_run_exits_1_when_rows_are_bad_and_writes_nothing(session: Session, tmp_path: Path) -> None:
    f = messy_workbook(tmp_path / "x.xlsx")
    code, out, err = zz("registry", "import", str(f), *BASE, "--dry-run", "--json")
    assert (code, err) == (1, "")
    body = json.loads(out)
    assert (body["rows_read"], body["valid"], body["invalid"], body["created"], body["written"]) == (
        14,
        6,
        8,
        6,
        False,
    )
    errors = [(i["row"], i["column"], i["reason"]) for i in body["issues"] if i["level"] == "error"]
    assert errors == EXPECTED_ERRORS
    assert n_residents(session) == 0
    assert zz("registry", "mappings")[1].strip() == "[]"


def test_gbk_csv_from_the_command_line(session: Session, tmp_path: Path) -> None:
    f = tmp_path / "低保.csv"
    f.write_bytes(CSV_TEXT.encode("gbk"))
    code, out, err = zz(
        "registry", "import", str(f), "--kind", "resident", "--org", VILLAGE, "--skip-invalid"
    )
    assert (code, err) == (0, "")
    assert out.splitlines()[0] == f"{f} (csv, GB18030): resident import, source import:低保"
    assert out.splitlines()[1].startswith("  (source from the file name: give --source NAME")
    assert n_residents(session) == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--kind", "person"), 'error: --kind "person": use one of resident, household, house, unit'),
        (
            ("--kind", "resident", "--valid-from", "1.11.2026"),
            'error: --valid-from "1.11.2026": write the date as YYYY-MM-DD',
        ),
        (
            ("--kind", "resident", "--column", "身高"),
            'error: --column "身高": write HEADER=FIELD, e.g. "户主姓名=ignore"',
        ),
        (("--kind", "resident", "--org", "999999"), 'error: --org "999999": not a known org unit code'),
        (("--kind", "resident", "--as", "nobody"), 'error: unknown or disabled user "nobody"'),
        (
            ("--kind", "resident", "--as", "500118001000.duty"),
            'error: role "town_duty" may not 导入台账文件 (registry.import)',
        ),
        (
            ("--kind", "resident", "--source", "a b:c"),
            "error: --source: source: 'a b:c' is not kind:key with kind "
            "one of import, grid, dept, town, district, system",
        ),
    ],
)
def test_bad_options_are_one_line(
    engine: object, tmp_path: Path, args: tuple[str, ...], message: str
) -> None:
    f = messy_workbook(tmp_path / "y.xlsx")
    code, out, err = zz("registry", "import", str(f), *args)
    assert (code, out, err) == (2, "", message + "\n")


def test_an_unreadable_file_is_one_line(engine: object, tmp_path: Path) -> None:
    f = tmp_path / "scan.xlsx"
    f.write_bytes(b"%PDF-1.4")
    assert zz("registry", "import", str(f), "--kind", "resident") == (
        2,
        "",
        f"error: {f}: a PDF, not a spreadsheet: ask for the table as .xlsx or .csv\n",
    )
    assert zz("registry", "import", str(tmp_path / "none.xlsx"), "--kind", "resident") == (
        2,
        "",
        f"error: {tmp_path / 'none.xlsx'}: no such file\n",
    )


def test_a_row_the_register_refuses_undoes_the_rows_before_it(session: Session, tmp_path: Path) -> None:
    # every row passes the file checks; the registry service refuses the second (性别 vs the ID) after
    # the first was flushed: the command's transaction rolls back, nothing stays
    f = small_book(
        tmp_path / "two.xlsx",
        [["赵测试", P["zhou"], "男", GRID1], ["钱测试", P["wu"], "女", GRID1]],
        ["姓名", "身份证号", "性别", "网格"],
    )
    code, out, err = zz("registry", "import", str(f), "--kind", "resident", "--source", "gongan")
    assert (code, out) == (2, "")
    assert err.splitlines()[0].startswith(f"error: {f}: 1 of 2 rows refused, nothing imported")
    assert (
        "  sheet Sheet, row 3, column C (性别), value 女: 女 contradicts the citizen ID (male)"
        in err.splitlines()
    )
    assert n_residents(session) == 0
