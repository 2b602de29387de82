"""KPI export (绩效导出): the figures of ``GET /api/v1/kpis`` (and the 赛马比拼 ranking) as an xlsx
workbook, labelled in zh-CN from ``web/messages/<locale>/kpis.yaml``, with who exported it, when and
over which data scope written on the sheet (the export itself is audited by the route).

Sheet 核心绩效: title, 导出人, 导出时间, 数据范围, 统计期; then one row per unit (code, name, every count
of :data:`zhizhi.ops.rules.COUNT_FIELDS`, every rate of :func:`zhizhi.ops.rules.kpi_rates`) and the
合计 row. Rates are fractions 0-1 formatted as percentages, empty when their denominator is 0.
Sheet 赛马比拼 (towns or departments only): rank, unit, score, reports.
"""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from zhizhi.core import time as ztime
from zhizhi.web import i18n

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEAD_FILL = PatternFill("solid", fgColor="DDEBF7")
TEXT = "@"


def kpi_workbook(
    kpis: dict[str, Any],
    ranking: dict[str, Any] | None,
    *,
    exported_by: str,
    exported_at: datetime,
    scope: str,
) -> bytes:
    """The workbook of one KPI result as xlsx bytes.

    Parameters
    ----------
    kpis : dict
        What :func:`zhizhi.ops.service.kpis` returns (``period``, ``by``, ``rows``, ``total``).
    ranking : dict or None
        What :func:`zhizhi.ops.service.rankings` returns for the same period, or None (no sheet).
    exported_by : str
        Who exported, as shown (name and username).
    exported_at : datetime
        Aware instant of the export; written in 北京时间.
    scope : str
        The data scope the figures cover (``town:500118001000``).

    Returns
    -------
    bytes
        An xlsx file (Office Open XML).
    """
    t = i18n.messages("kpis")
    by_label = t["by"].get(kpis["by"], kpis["by"])
    period = t["sheet"]["all"] if kpis["period"] == "all" else kpis["period"]
    count_keys = list(t["count"])
    rate_keys = list(t["rate"])

    wb = Workbook()
    ws = wb.active
    assert ws is not None
    ws.title = t["sheet"]["kpis"]
    ws.cell(1, 1, t["sheet"]["title"].replace("{period}", period).replace("{by}", by_label)).font = Font(
        bold=True, size=14
    )
    when = ztime.to_local(exported_at).strftime("%Y-%m-%d %H:%M:%S")
    for i, (label, value) in enumerate(
        (
            (t["sheet"]["exported_by"], exported_by),
            (t["sheet"]["exported_at"], when),
            (t["sheet"]["scope"], scope),
            (t["sheet"]["period"], period),
        ),
        start=2,
    ):
        ws.cell(i, 1, label).font = Font(bold=True)
        ws.cell(i, 2, value)
    head = 7
    headers = [t["table"]["code"], t["table"]["name"]]
    headers += [t["count"][k] for k in count_keys] + [t["rate"][k] for k in rate_keys]
    for c, h in enumerate(headers, start=1):
        cell = ws.cell(head, c, h)
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(wrap_text=True, vertical="center")
    rows = [(r["code"], r["name"], r["counts"], r["rates"]) for r in kpis["rows"]]
    rows.append(("", t["table"]["total"], kpis["total"]["counts"], kpis["total"]["rates"]))
    for i, (code, name, counts, rates) in enumerate(rows, start=head + 1):
        ws.cell(i, 1, code).number_format = TEXT
        ws.cell(i, 2, name)
        for j, k in enumerate(count_keys, start=3):
            ws.cell(i, j, counts.get(k))
        for j, k in enumerate(rate_keys, start=3 + len(count_keys)):
            cell = ws.cell(i, j, rates.get(k))
            cell.number_format = "0.00" if k == "avg_handle_hours" else "0.0%"
    ws.cell(head + len(rows) + 2, 1, t["sheet"]["source"])
    ws.column_dimensions["A"].width = 18
    ws.column_dimensions["B"].width = 22
    for c in range(3, len(headers) + 1):
        ws.column_dimensions[get_column_letter(c)].width = 11
    ws.freeze_panes = ws.cell(head + 1, 3)

    if ranking is not None:
        rs = wb.create_sheet(t["sheet"]["ranking"])
        rh = [t["ranking"]["rank"], t["table"]["code"], t["ranking"]["name"], t["ranking"]["score"]]
        rh.append(t["ranking"]["reported"])
        for c, h in enumerate(rh, start=1):
            cell = rs.cell(1, c, h)
            cell.font = Font(bold=True)
            cell.fill = HEAD_FILL
        for i, r in enumerate(ranking["rows"], start=2):
            rs.cell(i, 1, r["rank"] if r["rank"] is not None else t["ranking"]["unranked"])
            rs.cell(i, 2, r["code"]).number_format = TEXT
            rs.cell(i, 3, r["name"])
            rs.cell(i, 4, None if r["score"] is None else round(float(r["score"]), 2))
            rs.cell(i, 5, r["reported"])
        rs.column_dimensions["B"].width = 18
        rs.column_dimensions["C"].width = 22
    wb.properties.title = ws.title
    wb.properties.creator = f"zhizhi · {exported_by}"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


__all__ = ["XLSX", "kpi_workbook"]
