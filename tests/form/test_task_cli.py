"""``zhizhi form catalogue | admit | issue | tasks | answer | adjust | sign | submit | completion | burden
| outside-demand`` on the GENERATED population of 青峰镇: output, and one-line errors with exit code 2."""

from __future__ import annotations

import json
from datetime import timedelta

from zhizhi.core import time as ztime
from zhizhi.form.service import task

from .conftest import TOWN, Population, local_today, next_month
from .test_cli import zz

DUTY = f"{TOWN}.duty"


def test_a_form_task_on_the_command_line(population: Population) -> None:
    code, out, _ = zz("form", "catalogue")
    assert code == 0 and len(out.splitlines()) == 12
    assert "mz-dibao-monthly       not_admitted MZJ   month   城乡居民最低生活保障统计表" in out
    code, out, err = zz("form", "admit", "mz-dibao-monthly", "--as", "500118.chief")
    assert (code, err) == (0, "")
    assert out.startswith("mz-dibao-monthly: admitted (MZJ, month) · 《社会救助暂行办法》")
    due = (task.today() + timedelta(days=1)).isoformat()
    code, out, err = zz("form", "issue", "mz-dibao-monthly", "--period", "2026-11", "--due", due,
                        "--towns", TOWN, "--as", "500118-MZJ.handler")  # fmt: skip
    assert (code, err) == (0, "") and out.endswith(f"mz-dibao-monthly 2026-11 to 1 towns, due {due}\n")
    code, out, _ = zz("form", "tasks", "--as", DUTY, "--json")
    aid = json.loads(out)[0]["answers"][0]["id"]
    code, out, _ = zz("form", "answer", str(aid), "--compute", "--as-of", "2026-11-30", "--as", DUTY)
    assert code == 0 and ": computed (已生成)" in out
    assert "cells: 63 automatic, 126 typed by hand (0 adjusted here), 33.3% automatic" in out
    # --user: the old name of --as, still accepted
    code, out, _ = zz("form", "adjust", str(aid), "--row", "total", "--column", "8", "--value", "2",
                      "--reason", "按评定台账填写", "--user", DUTY)  # fmt: skip
    assert code == 0 and "adjusted total col 8 (labour_full): None → 2 · 按评定台账填写" in out
    for move, state in (("sign", "signed (已审核签字)"), ("submit", "submitted (已报送)")):
        code, out, err = zz("form", move, str(aid), "--as", DUTY)
        assert (code, err) == (0, "") and f": {state}" in out
    code, out, _ = zz("form", "completion", "--period", "2026-11")
    assert code == 0 and out.strip().endswith("total: asked 1, submitted 1 (1 on time, 0 late), overdue 0")
    assert f"{TOWN} 青峰镇      asked 1 submitted 1 late 0 overdue 0 | submitted/on_time" in out
    today = task.today().isoformat()
    code, out, err = zz("form", "outside-demand", "--requester", "区某局", "--what", "统计辖区快递网点",
                        "--asked-on", today, "--channel", "phone", "--items", "3",
                        "--as", DUTY)  # fmt: skip
    assert (code, err) == (0, "") and out.startswith("recorded ") and "电话 · 区某局" in out
    code, out, _ = zz("form", "outside-demand", "--list", "--as", DUTY)
    assert code == 0 and out.strip().endswith("电话       区某局: 统计辖区快递网点")
    month = ztime.to_local(ztime.utcnow()).strftime("%Y-%m")
    code, out, _ = zz("form", "burden", "--period", month, "--json")
    total = json.loads(out)["total"]
    assert (total["submissions"], total["cells_auto"], total["cells_typed"], total["outside_demands"]) == (
        1, 63, 126, 1,
    )  # fmt: skip
    code, out, _ = zz("form", "burden", "--period", month)
    assert code == 0 and "total         合计" in out and "33.3" in out


def test_bad_input_is_one_line_and_exit_2(population: Population) -> None:
    for args, message in (
        (["issue", "mz-dibao-monthly", "--period", "2026-11", "--due", "2026/12/01"],
         'error: --due "2026/12/01" is not a date (YYYY-MM-DD)'),
        (["issue", "mz-dibao-monthly", "--period", "2026-11", "--due", "2099-12-01"],
         'error: form "mz-dibao-monthly" is not in the catalogue (报表目录) of district 500118: it must be '
         "admitted before it is issued"),
        (["adjust", "999999", "--row", "total", "--column", "8", "--value", "2", "--reason", "说明原因"],
         "error: form answer 999999 not found"),
        (["sign", "999999", "--as", "nobody"], 'error: unknown or disabled user "nobody"'),
        (["outside-demand", "--requester", "区某局"],
         "error: give --what, --asked-on, --channel (or --list)"),
        (["admit", "mz-dibao-monthly", "--withdraw"], "error: --withdraw needs --reason"),
        (["burden", "--period", "11/2026"], 'error: period "11/2026": give a month (2026-11), a quarter '
         "(2026-Q4) or a year (2026)"),
        (["answer", "1", "--as-of", "2026-11-30"], "error: --as-of goes with --compute"),
        (["issue", "mz-dibao-monthly", "--period", f"{next_month():%Y-%m}", "--due", "2099-12-01",
          "--as", "500118-MZJ.handler"],
         f"error: --period {next_month():%Y-%m} has not started yet (it starts on {next_month()}; today is "
         f"{local_today()}, Beijing time): a form is filled for the current period or a past one"),
        (["answer", "1", "--compute", "--as-of", str(local_today() + timedelta(days=1)), "--as", DUTY],
         f"error: --as-of {local_today() + timedelta(days=1)} is in the future (today is {local_today()}, "
         "Beijing time): a form is counted as of today or an earlier day"),
    ):  # fmt: skip
        code, out, err = zz("form", *args)
        assert (code, out, err.strip()) == (2, "", message), (args, err)
