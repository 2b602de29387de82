"""Pure rules of form tasks and answers (form/rules/task.py): states and moves, lateness, cells laid
over computed figures, the automatic/typed tally, admission, policy data. No database."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from zhizhi.form import rules, service
from zhizhi.form.rules import task as tr


def test_every_move_from_every_state() -> None:
    table = {
        (move, state): (tr.next_state(move, state) if state in tr.MOVES[move] else None)
        for move in tr.MOVES
        for state in tr.STATES
    }
    assert {k: v for k, v in table.items() if v is not None} == {
        ("compute", "issued"): "computed",
        ("compute", "computed"): "computed",
        ("compute", "adjusted"): "adjusted",
        ("adjust", "computed"): "adjusted",
        ("adjust", "adjusted"): "adjusted",
        ("adjust", "signed"): "adjusted",
        ("sign", "computed"): "signed",
        ("sign", "adjusted"): "signed",
        ("submit", "signed"): "submitted",
    }
    with pytest.raises(
        tr.AnswerStateError, match="^cannot submit an answer that is adjusted: sign it first$"
    ):
        tr.next_state("submit", "adjusted")
    with pytest.raises(tr.AnswerStateError, match="^cannot compute an answer that is signed: it is signed; "):
        tr.next_state("compute", "signed")
    with pytest.raises(ValueError, match='unknown move "approve"'):
        tr.next_state("approve", "issued")


@pytest.mark.parametrize(
    ("state", "due", "today", "submitted", "status"),
    [
        (
            "submitted",
            date(2026, 12, 5),
            date(2026, 12, 9),
            date(2026, 12, 5),
            "on_time",
        ),  # the due day counts
        ("submitted", date(2026, 12, 5), date(2026, 12, 9), date(2026, 12, 6), "late"),
        ("signed", date(2026, 12, 5), date(2026, 12, 5), None, "open"),
        ("computed", date(2026, 12, 5), date(2026, 12, 6), None, "overdue"),
        ("issued", date(2026, 12, 5), date(2026, 12, 1), None, "open"),
    ],
)
def test_deadline_status(state: str, due: date, today: date, submitted: date | None, status: str) -> None:
    assert tr.deadline_status(state, due, today, submitted) == status


def test_periods_of_any_kind_and_due_dates() -> None:
    p = tr.parse_any_period("2026-Q4")
    assert (p.kind, p.start, p.end) == ("quarter", date(2026, 10, 1), date(2026, 12, 31))
    assert (tr.parse_any_period("2026").end, tr.parse_any_period("2026-02").end) == (
        date(2026, 12, 31),
        date(2026, 2, 28),
    )
    for bad in ("2026-13", "26-11", "", "2026-Q5"):
        with pytest.raises(ValueError, match="give a month .2026-11., a quarter .2026-Q4. or a year .2026."):
            tr.parse_any_period(bad)
    tr.check_due(date(2026, 12, 1), date(2026, 12, 1))
    with pytest.raises(ValueError, match="due date 2026-11-30 is before today .2026-12-01."):
        tr.check_due(date(2026, 11, 30), date(2026, 12, 1))


def test_admission_needs_a_legal_basis_and_rosters_are_not_issued() -> None:
    dibao = service.get_form("mz-dibao-monthly")
    assert tr.admission_basis(dibao, None) == dibao.legal_basis
    assert tr.admission_basis(dibao, "  民政统计报表制度 ") == "民政统计报表制度"
    bare = replace(dibao, legal_basis=None)
    with pytest.raises(ValueError, match='form "mz-dibao-monthly" has no legal basis'):
        tr.admission_basis(bare, " ")
    with pytest.raises(ValueError, match="control characters"):
        tr.admission_basis(bare, "统计法\x07第七条")
    tr.issuable(dibao)
    with pytest.raises(ValueError, match="is a roster"):
        tr.issuable(service.get_form("mz-gaoling-roster"))


def _rows(form: rules.FormDef) -> list[tr.StoredRow]:
    n = len(form.columns)
    tot = [None] * n
    a = [None] * n
    b = [None] * n
    for vals, persons, female in ((tot, 10, 6), (a, 4, 2), (b, 6, 4)):
        vals[form.column(2).no - 1] = persons  # type: ignore[call-overload]
        vals[2] = female  # type: ignore[call-overload]
    return [
        tr.StoredRow(None, "合计", True, tuple(tot)),
        tr.StoredRow("500118100201", "甲村", False, tuple(a)),
        tr.StoredRow("500118100202", "乙村", False, tuple(b)),
    ]


def test_cells_are_addressed_by_row_and_column_and_laid_over_the_figures() -> None:
    form = service.get_form("mz-dibao-monthly")
    rows = _rows(form)
    assert tr.find_row(rows, "合计").key == tr.find_row(rows, "total").key == "total"
    assert tr.find_row(rows, "500118100202").name == "乙村"
    with pytest.raises(
        ValueError, match=r'row "x" is not in this answer \(rows: total, 500118100201, 500118100202\)'
    ):
        tr.find_row(rows, "x")
    assert (
        tr.find_column(form, 3).key == tr.find_column(form, "col3").key == tr.find_column(form, "female").key
    )
    assert tr.find_column(form, "month_total").no == 22
    with pytest.raises(ValueError, match='column "28": form "mz-dibao-monthly" has columns 1-27'):
        tr.find_column(form, "28")
    with pytest.raises(ValueError, match="is computed from other columns"):
        tr.find_column(form, "per_capita")
    with pytest.raises(ValueError, match="give a number"):
        tr.check_value(True)
    with pytest.raises(ValueError, match="give a number"):
        tr.check_value(float("nan"))
    # 当月资金 typed by hand on 甲村: the 人均 formula follows it (万元 → 元 per person)
    adjusted = {("500118100201", 22): 0.5, ("500118100201", 3): 3.0}
    out = tr.effective_rows(form, rows, adjusted)
    assert out[1].values[2] == 3 and isinstance(out[1].values[2], int)
    assert out[1].values[26] == 1250.0  # 0.5 × 10000 / 4
    assert out[2].values[26] is None and out[0].values[2] == 6
    checks = rules.run_checks(form, out)
    fails = [(c.rule, c.row) for c in checks if c.status == "fail"]
    assert fails == [("合计 = 各行之和 (第3列 女性)", "合计")]  # 6 ≠ 3 + 4


def test_cells_typed_by_hand_are_manual_columns_and_adjusted_cells() -> None:
    form = service.get_form("mz-dibao-monthly")  # 27 columns, 18 manual
    keys = ["total", "v1", "v2"]
    t = tr.tally_cells(form, keys, [("v1", 3), ("v1", 22), ("elsewhere", 3)])
    # 3 × 18 manual cells, and the adjusted 女性 cell; 当月资金 (22) is manual anyway, "elsewhere" no row
    assert (t.auto, t.typed, t.adjusted, t.total) == (26, 3 * 18 + 1, 2, 81)
    assert tr.auto_share(t.auto, t.typed) == 32.1
    assert tr.auto_share(0, 0) is None
    population = service.get_form("tj-population-annual")  # every column computed
    assert tr.tally_cells(population, ["500118100000"], []) == tr.CellTally(14, 0, 0)


def test_stored_rows_must_fit_the_definition() -> None:
    form = service.get_form("mz-dibao-monthly")
    raw: list[dict[str, Any]] = [{"code": None, "name": "合计", "total": True, "values": [1, 2]}]
    with pytest.raises(
        ValueError, match='the stored answer has 2 columns, form "mz-dibao-monthly" now has 27'
    ):
        tr.rows_from_json(raw, form)
    computed = [rules.ResultRow(None, "合计", [1] * 27, total=True), rules.ResultRow("v1", "甲村", [2] * 27)]
    back = tr.rows_from_json(tr.rows_to_json(computed), form)
    assert back == [tr.StoredRow(None, "合计", True, (1,) * 27), tr.StoredRow("v1", "甲村", False, (2,) * 27)]
    assert [r.key for r in back] == ["total", "v1"]


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({}, "states: give a label for each of issued, computed, adjusted, signed, submitted"),
        (
            {"states": dict.fromkeys(tr.STATES, "x"), "channels": {"Phone": "电话"}, "min_reason": 4},
            "channels.Phone: a lower-case ASCII key of 2-16 characters",
        ),
        (
            {"states": dict.fromkeys(tr.STATES, "x"), "channels": {"phone": ""}, "min_reason": 4},
            "channels.phone: needs a zh-CN label",
        ),
        (
            {"states": dict.fromkeys(tr.STATES, "x"), "channels": {"phone": "电话"}, "min_reason": 0},
            "min_reason: an integer from 1 to 50",
        ),
    ],
)
def test_a_broken_workflow_file_is_refused_naming_the_key(raw: Any, message: str) -> None:
    with pytest.raises(ValueError) as e:
        tr.parse_workflow(raw, "wf.yaml")
    assert str(e.value) == f"wf.yaml: {message}"


def test_the_shipped_workflow_and_channels() -> None:
    wf = tr.workflow()
    assert list(wf.states) == list(tr.STATES) and wf.min_reason == 4
    assert tr.check_channel("chat_group") == "chat_group"
    with pytest.raises(ValueError, match='channel "fax": use one of chat_group, phone, paper'):
        tr.check_channel("fax")
