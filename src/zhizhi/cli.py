"""Command line (命令行): ``zhizhi --help``. Errors print one line and exit with code 2."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import typer
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select

from zhizhi.core.config import get_settings
from zhizhi.core.db import get_engine, session_scope
from zhizhi.core.errors import ZhizhiError

app = typer.Typer(
    help="智治 zhizhi: district digital-governance platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
org_app = typer.Typer(
    help="Organisation: districts, towns, villages, grids, units, staff.", no_args_is_help=True
)
event_app = typer.Typer(help="Events on the closed loop: import, routing (权属配置).", no_args_is_help=True)
ops_app = typer.Typer(
    help="Operations: KPIs (核心绩效), rankings (赛马比拼), SLA sweep.", no_args_is_help=True
)
demo_app = typer.Typer(help="Demonstration data: replay real citizen messages.", no_args_is_help=True)
for sub, name in (
    (db_app, "db"),
    (org_app, "org"),
    (event_app, "event"),
    (ops_app, "ops"),
    (demo_app, "demo"),
):
    app.add_typer(sub, name=name)

T = TypeVar("T")


def fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(2)


def run(fn: Callable[[], T]) -> T:
    """Run a command body: a ZhizhiError becomes one line on stderr and exit code 2."""
    try:
        return fn()
    except ZhizhiError as e:
        lines = [str(fe) for fe in e.errors[:50]]
        typer.echo(f"error: {e.detail}", err=True)
        for line in lines:
            typer.echo(f"  {line}", err=True)
        if len(e.errors) > 50:
            typer.echo(f"  … and {len(e.errors) - 50} more", err=True)
        raise typer.Exit(2) from None


def out(obj: Any) -> None:
    typer.echo(json.dumps(obj, ensure_ascii=False, indent=2, default=str))


@contextmanager
def progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A progress bar on stderr (hidden when stderr is not a terminal)."""
    with Progress(
        TextColumn(label),
        BarColumn(),
        TaskProgressColumn(),
        TimeRemainingColumn(),
        transient=True,
        disable=not sys.stderr.isatty(),
    ) as p:
        task = p.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            p.update(task, completed=done, total=total)

        yield update


# --- serve / db ------------------------------------------------------------------------------------


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="address to listen on"),
    port: int = typer.Option(8000, help="TCP port"),
) -> None:
    """Run the web + API server (API docs at /docs)."""
    import uvicorn

    from zhizhi.app import create_app

    typer.echo(f"zhizhi serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
    uvicorn.run(create_app(), host=host, port=port, log_level="warning")


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Migrate the database (ZHIZHI_DATABASE_URL) to the latest schema."""
    from zhizhi.core.migrate import upgrade

    upgrade(get_engine(), revision)
    typer.echo(f"database at {revision}: {get_engine().url.render_as_string(hide_password=True)}")


@app.command()
def setup(
    replay: bool = typer.Option(True, help="replay the real citizen messages when no events exist"),
) -> None:
    """First-run set-up used by `make run`: migrate, load Yongchuan if empty, replay if no events."""
    from zhizhi.core.migrate import upgrade
    from zhizhi.event.models import Event
    from zhizhi.org import service as org

    upgrade(get_engine())
    district = get_settings().district_code
    with session_scope() as s:
        if not org.is_loaded(s, district):
            typer.echo(f"loading district {district} …")
            with progress_bar("org load") as pb:
                st = org.load_district(s, district, progress=lambda _l, d, t: pb(d, t))
            typer.echo(json.dumps(st, ensure_ascii=False))
        n = s.scalar(select(func.count()).select_from(Event)) or 0
    if replay and n == 0:
        demo_replay(limit=None)


# --- org -------------------------------------------------------------------------------------------


@org_app.command("load")
def org_load(code: str = typer.Option("500118", "--code", help="6-digit district code (Chongqing)")) -> None:
    """Load a district from the shipped data (Yongchuan in detail; other Chongqing districts at
    district level)."""
    from zhizhi.org import service as org

    def body() -> None:
        with session_scope() as s, progress_bar(f"loading {code}") as pb:
            out(org.load_district(s, code, progress=lambda _l, d, t: pb(d, t)))

    run(body)


@org_app.command("stats")
def org_stats() -> None:
    """Print the loaded organisation as JSON (counts per level, generated or real boundaries)."""
    from zhizhi.org import service as org

    with session_scope() as s:
        out(org.stats(s))


@org_app.command("import-boundaries")
def org_import_boundaries(
    file: Path = typer.Argument(..., help="GeoJSON FeatureCollection (WGS-84)"),
    level: str = typer.Option(..., help="town|village|grid"),
) -> None:
    """Replace generated boundaries with real ones (match by code or name; reports what did not match)."""
    from zhizhi.org import service as org

    def body() -> None:
        with session_scope() as s:
            out(org.import_boundaries(s, file, level))

    run(body)


# --- event -----------------------------------------------------------------------------------------


@event_app.command("import")
def event_import(
    file: Path = typer.Argument(..., help="CSV or JSONL file (columns: see docs/domains/event.md)"),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="import good rows, write bad ones to a reject file"
    ),
    reject_file: Path | None = typer.Option(None, help="where rejected rows go (JSONL)"),
    district: str | None = typer.Option(None, help="district for out-of-area rows"),
) -> None:
    """Bulk-import events (one transaction: any bad row → nothing written, every bad row listed)."""
    from zhizhi.event import intake

    def body() -> None:
        with session_scope() as s, progress_bar("importing") as pb:
            res = intake.import_file(
                s, file, district or get_settings().district_code, skip_invalid, reject_file, pb
            )
        out(res.summary())

    run(body)


@event_app.command("routing-add")
def routing_add(
    unit: str = typer.Option(..., help="responsible unit code"),
    category: str | None = typer.Option(None, help="leaf or 大类 code (omit: any)"),
    area: str | None = typer.Option(None, help="town/village/grid code (omit: whole district)"),
    priority: int = typer.Option(0),
    note: str = typer.Option(""),
    district: str | None = typer.Option(None),
) -> None:
    """Add a 权属配置 rule: category × area → responsible unit."""
    from zhizhi.event import service

    def body() -> None:
        with session_scope() as s:
            r = service.add_routing_rule(
                s, district or get_settings().district_code, category, area, unit, priority, note
            )
            out(
                {
                    "id": r.id,
                    "category_code": r.category_code,
                    "area_code": r.area_code,
                    "unit_code": r.unit_code,
                    "mode": r.mode,
                    "priority": r.priority,
                }
            )

    run(body)


@event_app.command("routing-list")
def routing_list(district: str | None = typer.Option(None)) -> None:
    """List the 权属配置 rules."""
    from zhizhi.event.models import RoutingRule

    with session_scope() as s:
        rows = s.scalars(
            select(RoutingRule)
            .where(RoutingRule.district_code == (district or get_settings().district_code))
            .order_by(RoutingRule.id)
        )
        out(
            [
                {
                    "id": r.id,
                    "category_code": r.category_code,
                    "area_code": r.area_code,
                    "unit_code": r.unit_code,
                    "mode": r.mode,
                    "priority": r.priority,
                    "note": r.note,
                }
                for r in rows
            ]
        )


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


@ops_app.command("kpis")
def ops_kpis(
    period: str | None = typer.Option(None, help="YYYY, YYYY-MM or YYYY-Qn (omit: all time)"),
    by: str = typer.Option("town", help="town|village|grid|department|board|unit"),
    as_json: bool = typer.Option(False, "--json", help="print the full result as JSON"),
) -> None:
    """Print KPIs (核心绩效) per unit for a period: a table, or JSON with --json."""
    from zhizhi.ops import service

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
    period: str | None = typer.Option(None, help="YYYY, YYYY-MM or YYYY-Qn"),
    kind: str = typer.Option("town", help="town|department"),
    as_json: bool = typer.Option(False, "--json", help="print the full result as JSON"),
) -> None:
    """Print the 赛马比拼 ranking of towns or departments: a table, or JSON with --json."""
    from zhizhi.ops import service

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


@ops_app.command("sweep")
def ops_sweep(as_of: str | None = typer.Option(None, help="ISO time (default now)")) -> None:
    """Run the SLA sweep (预警, 超期, 催办, 督办, escalation); idempotent."""
    from datetime import datetime

    from zhizhi.event import tasks

    def body() -> None:
        when = None
        if as_of:
            try:
                when = datetime.fromisoformat(as_of)
            except ValueError:
                fail(f'--as-of "{as_of}" is not an ISO date-time')
        with session_scope() as s:
            out(tasks.sweep(s, when))

    run(body)


# --- demo ------------------------------------------------------------------------------------------


@demo_app.command("replay")
def demo_replay(limit: int | None = typer.Option(None, help="replay only the first N messages")) -> None:
    """Import the real citizen messages (2,816 with official replies) and run them through the loop
    with their real reply times; locations are generated (flagged)."""
    from zhizhi.event import replay

    def body() -> None:
        with session_scope() as s, progress_bar("replaying") as pb:
            out(replay.replay(s, get_settings().district_code, limit=limit, progress=pb))

    run(body)


def main() -> None:
    """Entry point of the ``zhizhi`` command."""
    app()
