"""``zhizhi form list | check | render``: output, the written xlsx, one-line errors with exit code 2."""

from __future__ import annotations

import json
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from zhizhi.cli import app

from .conftest import TOWN, Population


def zz(*args: str) -> tuple[int, str, str]:
    r = CliRunner().invoke(app, list(args), prog_name="zhizhi")
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    return r.exit_code, r.stdout, r.stderr


def test_list_and_check() -> None:
    code, out, _ = zz("form", "list")
    assert code == 0 and "mz-dibao-monthly" in out and "城乡居民最低生活保障统计表" in out
    assert len(out.strip().splitlines()) >= 10
    code, out, _ = zz("form", "list", "--json")
    assert code == 0 and {f["id"] for f in json.loads(out)} >= {"mz-dibao-monthly", "yj-hazard-monthly"}


def test_check_names_the_file_and_field_of_a_bad_definition(tmp_path: Path) -> None:
    p = tmp_path / "x-form.yaml"
    src = "source: {form: F02, title: t, url: 'http://yongtai.gov.cn/a.htm'}\n"
    p.write_text(
        f"id: x-form\ntitle: 表\ndepartment: MZJ\nperiod: month\nrows: village\ncolumns: []\n{src}", "utf-8"
    )
    code, out, err = zz("form", "check", str(p))
    assert (code, out) == (2, "")
    assert err == f"error: {p}: columns: needs a list of columns\n"


def test_render_writes_the_xlsx_and_lists_the_checks(tmp_path: Path, population: Population) -> None:
    out_file = tmp_path / "dibao.xlsx"
    code, out, err = zz("form", "render", "mz-dibao-monthly", "--org", TOWN, "--period", "2026-11",
                        "--as-of", "2026-11-30", "-o", str(out_file))  # fmt: skip
    assert (code, err) == (0, ""), err
    assert "6 rows, 9 columns computed, 18 manual" in out and "0 failed" in out
    assert load_workbook(out_file).sheetnames == ["报表", "校验", "说明"]
    code, out, _ = zz("form", "render", "tj-population-annual", "--org", "500118", "--period", "2026",
                      "--as-of", "2026-11-30", "-o", str(tmp_path / "p.xlsx"), "--json")  # fmt: skip
    body = json.loads(out)
    assert code == 0 and body["rows"] == 23 and body["checks"]["fail"] == 0 and body["failures"] == []


def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, population: Population) -> None:
    o = str(tmp_path / "x.xlsx")
    for args, message in (
        (["--period", "2026-13"], 'error: period "2026-13": the month must be 01-12'),
        (
            ["--period", "2026-11", "--as-of", "30/11/2026"],
            'error: --as-of "30/11/2026" is not a date (YYYY-MM-DD)',
        ),
        (
            ["--period", "2026-11", "--user", f"{TOWN}.nobody"],
            f'error: unknown or disabled user "{TOWN}.nobody"',
        ),
        (["--period", "2026-11", "--user", "500118001000.duty"], f'error: org unit "{TOWN}" not found'),
    ):
        code, out, err = zz("form", "render", "mz-dibao-monthly", "--org", TOWN, *args, "-o", o)
        assert (code, out) == (2, "") and err.strip() == message, err
    code, _, err = zz(
        "form", "render", "mz-dibao-monthly", "--org", TOWN, "--period", "2026-11", "-o", "x.csv"
    )
    assert code == 2 and err.startswith("error: --output x.csv: give a file name ending in .xlsx")
    assert not Path(o).exists()
