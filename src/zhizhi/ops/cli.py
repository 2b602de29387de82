"""Commands of the operations domain: ``zhizhi ops …`` (KPIs, rankings, SLA sweep)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import typer

from zhizhi.cli import _typer, fail, out, run
from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_scope
from zhizhi.event.schemas import EARLIEST  # no period or sweep before 2000-01-01 北京时间

ops_app: typer.Typer = _typer("Operations: KPIs (核心绩效), rankings (赛马比拼), SLA sweep.")

# --- ops -------------------------------------------------------------------------------------------


def _district_actor() -> Any:
    from zhizhi.event.service import system_actor

    return system_actor(get_settings().district_code)


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _table(title: str, columns: list[str], rows: list[list[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=title)
    for c in columns:
        t.add_column(c, justify="left" if c in {"代码 code", "名称 name"} else "right")
    for r in rows:
        t.add_row(*[str(x) for x in r])
    Console(width=160).print(t)


def check_period(period: str | None) -> None:
    """Refuse (exit 2) a ``--period`` that is malformed, before 2000 or starting after now; None,
    "" and "all" mean all time."""
    from zhizhi.ops import rules as ops_rules

    if period is None or period.strip() in ("", "all"):
        return
    now = ztime.utcnow()
    this_year = ztime.to_local(now).year
    m = re.match(r"\s*(\d{4})\b", period)
    if m and not EARLIEST.year <= int(m.group(1)) <= this_year:
        fail(f'--period "{period}": the year must be {EARLIEST.year} to {this_year}')
    try:
        start, _ = ops_rules.period_bounds(period)
    except ValueError as e:
        msg = str(e)
        fail(f"--{msg}" if msg.startswith("period ") else f'--period "{period}": {msg}')
    if start > now:
        fail(f'--period "{period}" starts in the future')


PERIOD_HELP = "YYYY, YYYY-MM or YYYY-Qn, from 2000 (omit: all time)"


@ops_app.command("kpis")
def ops_kpis(
    period: str | None = typer.Option(None, help=PERIOD_HELP),
    by: str = typer.Option("town", help="town|village|grid|department|board|post|unit"),
    as_json: bool = typer.Option(False, "--json", help="print the full result as JSON"),
) -> None:
    """Print KPIs (核心绩效) per unit for a period: a table, or JSON with --json."""
    from zhizhi.ops import service

    check_period(period)

    def body() -> None:
        with session_scope() as s:
            data = service.kpis(s, _district_actor(), period, by)
        if as_json:
            out(data)
            return
        rows = []
        for r in [*data["rows"], {"code": "", "name": "合计 total", **data["total"]}]:
            c, k = r["counts"], r["rates"]
            rows.append(
                [
                    r["code"],
                    r["name"],
                    c["reported"],
                    c["registered"],
                    c["closed"],
                    _pct(k["ontime_register_rate"]),
                    _pct(k["accurate_dispatch_rate"]),
                    _pct(k["ontime_handle_rate"]),
                    _pct(k["close_rate"]),
                    _pct(k["ontime_close_rate"]),
                    _pct(k["rework_rate"]),
                    c["overdue"],
                    "—" if k["avg_handle_hours"] is None else f"{k['avg_handle_hours']:.1f}",
                    _pct(k["satisfaction_rate"]),
                ]
            )
        _table(
            f"核心绩效 KPIs · {data['period']} · by {by}",
            [
                "代码 code",
                "名称 name",
                "上报",
                "立案",
                "结案",
                "按时立案率",
                "准确派遣率",
                "按期处置率",
                "结案率",
                "按期结案率",
                "返工率",
                "超期数",
                "平均处置时长h",
                "满意率",
            ],
            rows,
        )

    run(body)


@ops_app.command("rankings")
def ops_rankings(
    period: str | None = typer.Option(None, help=PERIOD_HELP),
    kind: str = typer.Option("town", help="town|department"),
    as_json: bool = typer.Option(False, "--json", help="print the full result as JSON"),
) -> None:
    """Print the 赛马比拼 ranking of towns or departments: a table, or JSON with --json."""
    from zhizhi.ops import service

    check_period(period)

    def body() -> None:
        with session_scope() as s:
            data = service.rankings(s, _district_actor(), period, kind)
        if as_json:
            out(data)
            return
        rows = [
            [
                r["rank"] or "—",
                r["code"],
                r["name"],
                "—" if r["score"] is None else f"{r['score']:.2f}",
                r["reported"],
                _pct(r["rates"]["ontime_close_rate"]),
                _pct(r["rates"]["close_rate"]),
            ]
            for r in data["rows"]
        ]
        _table(
            f"赛马比拼 ranking · {data['period']} · {kind}",
            ["名次", "代码 code", "名称 name", "得分", "上报", "按期结案率", "结案率"],
            rows,
        )

    run(body)


def parse_as_of(as_of: str) -> datetime:
    """Parse ``--as-of`` (ISO 8601; naive = Asia/Shanghai) and refuse (exit 2) a time after now
    + 1 minute or before 2000-01-01."""
    try:
        when = datetime.fromisoformat(as_of)
    except ValueError:
        fail(f'--as-of "{as_of}" is not an ISO date-time (e.g. 2026-11-03T09:00, Beijing time)')
    # compare aware times without converting to UTC: year 1 or 9999 would overflow
    aware = when if when.utcoffset() is not None else when.replace(tzinfo=ztime.LOCAL_TZ)
    if aware > ztime.utcnow() + timedelta(minutes=1):
        fail(f'--as-of "{as_of}": the sweep judges deadlines up to now; --as-of cannot be in the future')
    if aware < EARLIEST:
        fail(f'--as-of "{as_of}": before 2000-01-01; the sweep judges deadlines from then to now')
    return when


@ops_app.command("sweep")
def ops_sweep(
    as_of: str | None = typer.Option(
        None, help="ISO date-time, naive = Beijing time, from 2000-01-01 to now (default now)"
    ),
) -> None:
    """Run the SLA sweep (预警, 超期, 催办, 督办, escalation); idempotent."""
    from zhizhi.event import tasks

    when = parse_as_of(as_of) if as_of else None

    def body() -> None:
        with session_scope() as s:
            out(tasks.sweep(s, when))

    run(body)
