"""``zhizhi form list | check | render``: output, the written xlsx, one-line errors with exit code 2."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from openpyxl import load_workbook
from typer.testing import CliRunner

from zhizhi.cli import app

from .conftest import TOWN, Population, local_today, next_month


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
            ["--period", "2026-11", "--as", f"{TOWN}.nobody"],
            f'error: unknown or disabled user "{TOWN}.nobody"',
        ),
        (["--period", "2026-11", "--as", "500118001000.duty"], f'error: org unit "{TOWN}" not found'),
        # --user: the old name of --as, still accepted
        (["--period", "2026-11", "--user", "500118001000.duty"], f'error: org unit "{TOWN}" not found'),
        (
            ["--period", "2026-11", "--as", f"{TOWN}.duty", "--user", "500118001000.duty"],
            f'error: --as "{TOWN}.duty" and --user "500118001000.duty" name different users; --user is '
            "the old name of --as: give --as only",
        ),
    ):
        code, out, err = zz("form", "render", "mz-dibao-monthly", "--org", TOWN, *args, "-o", o)
        assert (code, out) == (2, "") and err.strip() == message, err
    code, _, err = zz(
        "form", "render", "mz-dibao-monthly", "--org", TOWN, "--period", "2026-11", "-o", "x.csv"
    )
    assert code == 2 and err.startswith("error: --output x.csv: give a file name ending in .xlsx")
    assert not Path(o).exists()


def test_render_refuses_a_period_not_started_and_an_as_of_in_the_future(
    tmp_path: Path, population: Population
) -> None:
    o = str(tmp_path / "x.xlsx")
    today, start = local_today(), next_month()
    tomorrow = today + timedelta(days=1)
    for args, message in (
        (
            ["--period", f"{start:%Y-%m}"],
            f"error: --period {start:%Y-%m} has not started yet (it starts on {start}; today is {today}, "
            "Beijing time): a form is filled for the current period or a past one",
        ),
        (
            ["--period", f"{today:%Y-%m}", "--as-of", str(tomorrow)],
            f"error: --as-of {tomorrow} is in the future (today is {today}, Beijing time): a form is counted "
            "as of today or an earlier day",
        ),
    ):
        code, out, err = zz("form", "render", "mz-dibao-monthly", "--org", TOWN, *args, "-o", o, "--as",
                            f"{TOWN}.duty")  # fmt: skip
        assert (code, out, err.strip()) == (2, "", message), err
    assert not Path(o).exists()
    code, out, err = zz("form", "render", "mz-dibao-monthly", "--org", TOWN, "--period", f"{today:%Y-%m}",
                        "--as-of", str(today), "-o", o, "--as", f"{TOWN}.duty", "--json")  # fmt: skip
    assert (code, err) == (0, "") and json.loads(out)["as_of"] == str(today)


def test_form_commands_take_as_and_hide_the_old_user_option() -> None:
    for cmd in ("render", "catalogue", "admit", "issue", "tasks", "answer", "adjust", "sign", "submit",
                "completion", "burden", "outside-demand"):  # fmt: skip
        code, out, _ = zz("form", cmd, "--help")
        assert code == 0
        assert re.search(
            r"^  --as <str>\s+act as this user \(username\); default: the platform of", out, re.M
        ), cmd
        assert "--user" not in out, cmd
