"""A computed form as an xlsx workbook (openpyxl), laid out like an official statistical form.

Sheet "报表": title; 表号, 制定机关 and basis; 填报单位 and 报告期; the header (column groups, indicator
names, units, indicator codes, and the column numbers 甲/乙/1/2/3 … the checks refer to); 合计 then
one row per unit (or one row per person for a roster); the footer 单位负责人 / 统计负责人 / 填表人 (the
user who rendered it) / 报出日期 (when), and where the figures come from. Manual columns are shaded
and left blank. Identifier cells (citizen IDs, phones, division codes) are text cells (``@``) so
Excel never turns an 18-digit ID into a rounded number.
Sheet "校验": every check with its outcome. Sheet "说明": the form's metadata, what it is modelled on,
and for every column whether it is computed (and how) or left for manual entry (and why).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from zhizhi.core import time as ztime
from zhizhi.form import rules

TEXT = "@"
MANUAL_FILL = PatternFill("solid", fgColor="FFF2CC")
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
FAIL_FILL = PatternFill("solid", fgColor="F8CBAD")
THIN = Side(style="thin", color="808080")
BOX = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
CENTER = Alignment(horizontal="center", vertical="center", wrap_text=True)
LEFT = Alignment(horizontal="left", vertical="center", wrap_text=True)
RIGHT = Alignment(horizontal="right", vertical="center", wrap_text=False)
STATUS_ZH = {"pass": "通过", "fail": "不通过", "skipped": "未校验(缺人工填报值)"}
_NUMBERS = "丙丁戊己庚辛"


def _local(result: rules.FormResult) -> str:
    when = result.rendered_at or ztime.utcnow()
    return ztime.to_local(when).strftime("%Y年%m月%d日 %H:%M")


def _merge(ws: Worksheet, row: int, col1: int, col2: int, value: Any, align: Alignment = LEFT) -> None:
    if col2 > col1:
        ws.merge_cells(start_row=row, start_column=col1, end_row=row, end_column=col2)
    cell = ws.cell(row, col1, value)
    cell.alignment = align


def to_xlsx(result: rules.FormResult, tag_labels: Mapping[str, str] | None = None) -> bytes:
    """The workbook of ``result`` as xlsx bytes (see the module docstring). tag_labels: tag code →
    zh-CN label, used to describe computed columns on the 说明 sheet."""
    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = "报表"
    _form_sheet(ws, result)
    _checks_sheet(wb.create_sheet("校验"), result)
    _notes_sheet(wb.create_sheet("说明"), result, tag_labels or {})
    wb.properties.title = result.form.title
    wb.properties.creator = f"zhizhi · {result.rendered_by}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _form_sheet(ws: Worksheet, result: rules.FormResult) -> None:
    form = result.form
    roster = form.rows == "person"
    labels: list[tuple[str, str]] = (
        [("甲", "序号")] if roster else [("甲", rules.ROW_LABELS[form.rows]), ("乙", "代码")]
    )
    first = len(labels) + 1  # first data column
    last = len(labels) + len(form.columns)
    width = max(last, 6)

    ws.cell(1, 1, form.title).font = Font(bold=True, size=16)
    _merge(ws, 1, 1, width, form.title, CENTER)
    ws.row_dimensions[1].height = 30
    meta = [f"表号：{form.form_number or '—'}", f"制定机关：{form.department_name}"]
    if form.approved_by:
        meta.append(f"批准机关及文号：{form.approved_by}")
    _merge(ws, 2, 1, width, "　　".join(meta), RIGHT)
    half = max(width // 2, 1)
    _merge(ws, 3, 1, half, f"填报单位(盖章)：{result.org_name}")
    _merge(
        ws, 3, half + 1, width,
        f"报告期：{result.period.label}　统计时点：{result.as_of.isoformat()}", RIGHT,
    )  # fmt: skip

    grouped = any(c.group for c in form.columns)
    coded = any(c.code for c in form.columns)
    r = 4
    head_rows = []
    if grouped:
        head_rows.append("group")
    head_rows += ["label", "unit"] + (["code"] if coded else []) + ["number"]
    top = r
    name_rows = 2 if grouped else 1  # rows the label-column names span (group + label)
    for j, (num, name) in enumerate(labels, start=1):
        ws.cell(top, j, name)
        if name_rows > 1:
            ws.merge_cells(start_row=top, start_column=j, end_row=top + name_rows - 1, end_column=j)
        ws.cell(top + name_rows, j, "计量单位")
        if coded:
            ws.cell(top + name_rows + 1, j, "指标代码")
        ws.cell(top + len(head_rows) - 1, j, num)
    # column groups: consecutive columns of one group share a merged cell; others span group + label
    c = 0
    cols = list(form.columns)
    while c < len(cols):
        col = cols[c]
        x = first + c
        if grouped and col.group:
            end = c
            while end + 1 < len(cols) and cols[end + 1].group == col.group:
                end += 1
            ws.cell(top, x, col.group)
            if end > c:
                ws.merge_cells(start_row=top, start_column=x, end_row=top, end_column=first + end)
            for k in range(c, end + 1):
                ws.cell(top + 1, first + k, cols[k].label)
            c = end + 1
            continue
        ws.cell(top, x, col.label)
        if grouped:
            ws.merge_cells(start_row=top, start_column=x, end_row=top + 1, end_column=x)
        c += 1
    for k, col in enumerate(cols):
        x = first + k
        ws.cell(top + name_rows, x, col.unit or "—")
        if coded:
            ws.cell(top + name_rows + 1, x, col.code or "")
        ws.cell(top + len(head_rows) - 1, x, col.no)
    for rr in range(top, top + len(head_rows)):
        for x in range(1, last + 1):
            cell = ws.cell(rr, x)
            cell.alignment, cell.border, cell.fill = CENTER, BOX, HEAD_FILL
            cell.font = Font(bold=rr < top + len(head_rows) - 1)
    r = top + len(head_rows)
    ws.freeze_panes = ws.cell(r, first)

    rows = result.rows
    ordered = rows if roster else [x for x in rows if x.total] + [x for x in rows if not x.total]
    for row in ordered:
        if roster and row.total:
            continue
        ws.cell(r, 1, row.name)
        if not roster:
            code = ws.cell(r, 2, row.code or "")
            code.number_format = TEXT
        for k, col in enumerate(cols):
            cell = ws.cell(r, first + k)
            v = row.values[k]
            if v is not None:
                cell.value = str(v) if col.text else v
            if col.text:
                cell.number_format = TEXT
            elif col.decimals:
                cell.number_format = "0." + "0" * col.decimals
            if col.source == "manual":
                cell.fill = MANUAL_FILL
        for x in range(1, last + 1):
            cell = ws.cell(r, x)
            cell.border = BOX
            if row.total:
                cell.font = Font(bold=True)
        r += 1
    if roster:
        total = next((x for x in rows if x.total), None)
        if total is not None:
            _merge(ws, r, 1, last, total.name)
            ws.cell(r, 1).font = Font(bold=True)
            r += 1

    r += 1
    who = result.rendered_by
    footer = (
        f"单位负责人：__________　　统计负责人：__________　　填表人：{who}　　报出日期：{_local(result)}"
    )
    _merge(ws, r, 1, width, footer)
    tally = result.tally()
    manual = "、".join(f"第{c.no}列" for c in form.manual) or "无"
    note = (
        f"说明：本表由 zhizhi 一表通按台账和事件数据自动生成(统计时点 {result.as_of.isoformat()}，"
        f"数据截至 {result.known_at.strftime('%Y-%m-%d %H:%M:%S')} UTC，按此二者可重算出相同数字)；"
        f"黄色底纹为人工填报列({manual})；校验 {tally['pass']} 项通过、{tally['fail']} 项不通过、"
        f"{tally['skipped']} 项待人工填报后校验，详见“校验”表。仿照：{form.source.title}。"
    )
    if roster and not result.full_view:
        note += "个人信息已脱敏。"
    _merge(ws, r + 1, 1, width, note)
    ws.row_dimensions[r + 1].height = 48

    ws.column_dimensions["A"].width = 22 if not roster else 8
    if not roster:
        ws.column_dimensions["B"].width = 15
    for k, col in enumerate(cols):
        w = 22 if col.field in ("citizen_id", "address") else 12 if col.field else 11
        ws.column_dimensions[get_column_letter(first + k)].width = w
    ws.page_setup.orientation = "landscape"
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.page_setup.fitToHeight = 0


def _table(ws: Worksheet, r: int, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> int:
    for j, h in enumerate(header, start=1):
        cell = ws.cell(r, j, h)
        cell.font, cell.fill, cell.border, cell.alignment = Font(bold=True), HEAD_FILL, BOX, CENTER
    for row in rows:
        r += 1
        for j, v in enumerate(row, start=1):
            cell = ws.cell(r, j, v)
            cell.border, cell.alignment = BOX, LEFT
    return r + 1


def _checks_sheet(ws: Worksheet, result: rules.FormResult) -> None:
    tally = result.tally()
    ws.cell(
        1, 1, f"校验结果(勾稽关系)：通过 {tally['pass']}，不通过 {tally['fail']}，未校验 {tally['skipped']}"
    )
    ws.cell(1, 1).font = Font(bold=True)
    rows = []
    for i, c in enumerate(result.checks, start=1):
        vals = " | ".join("—" if v is None else f"{v:g}" for v in c.values)
        basis = "原表载明" if c.basis == "stated" else "据指标定义推定"
        rows.append([i, c.rule, c.row, STATUS_ZH[c.status], vals, basis, c.note or ""])
    _table(ws, 3, ["序号", "校验规则", "行", "结果", "各项数值", "依据", "说明"], rows)
    for i, c in enumerate(result.checks, start=4):
        if c.status == "fail":
            for j in range(1, 8):
                ws.cell(i, j).fill = FAIL_FILL
    for letter, w in zip("ABCDEFG", (6, 40, 18, 18, 24, 14, 40), strict=True):
        ws.column_dimensions[letter].width = w


def _notes_sheet(ws: Worksheet, result: rules.FormResult, tag_labels: Mapping[str, str]) -> None:
    form = result.form
    meta = [
        ("表名", form.title),
        ("表号", form.form_number or "—"),
        ("报表标识", form.id),
        ("制定机关", f"{form.department_name} ({form.department})"),
        ("依据", form.legal_basis or "—"),
        ("报表周期", rules.PERIOD_KINDS[form.period]),
        ("仿照表式", f"{form.source.form} {form.source.title}"),
        ("来源网址", form.source.url),
        ("与原表的差异", form.source.note or "—"),
        ("填报单位", f"{result.org_name} ({result.org_code})"),
        ("报告期", f"{result.period.label} ({result.period.start} 至 {result.period.end})"),
        ("统计时点", result.as_of.isoformat()),
        ("数据截至(UTC)", result.known_at.isoformat()),
        ("填表人", result.rendered_by),
        ("生成时间", _local(result)),
    ]
    if form.rows == "person":
        meta.append(("个人信息", "完整查看(已留痕)" if result.full_view else "已脱敏"))
    for i, (k, v) in enumerate(meta, start=1):
        ws.cell(i, 1, k).font = Font(bold=True)
        ws.cell(i, 2, v).alignment = LEFT
    r = len(meta) + 2
    rows = [
        [c.no, c.label, c.group or "", c.unit or "", c.code or "", rules.column_basis(c, tag_labels),
         c.definition or ""]
        for c in form.columns
    ]  # fmt: skip
    r = _table(ws, r, ["列号", "指标名称", "分组", "计量单位", "指标代码", "取数方式", "指标解释"], rows)
    for line in form.notes:
        r += 1
        ws.cell(r, 1, line).alignment = LEFT
    for letter, w in zip("ABCDEFG", (14, 28, 16, 10, 14, 60, 40), strict=True):
        ws.column_dimensions[letter].width = w
