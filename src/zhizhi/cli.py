"""Command line (命令行): ``zhizhi --help``.

Errors: bad input (a wrong option, an unreadable or invalid file, a refused value) prints one line
``error: <what and why>`` on stderr and exits with code 2; an import may follow that line with
indented lines listing the bad rows. An unexpected internal error prints ``error: internal error
(<ExceptionType>); please report it`` with the place of its traceback (``zhizhi-cli.log`` in
``ZHIZHI_DATA_DIR``) and exits with code 1. No command prints a Python traceback.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from typer.core import TyperGroup

from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.db import get_engine, session_scope
from zhizhi.core.errors import ZhizhiError
from zhizhi.event.schemas import EARLIEST  # no period or sweep before 2000-01-01 北京时间

LOG_NAME = "zhizhi-cli.log"
"""Internal-error tracebacks are appended to this file in ``ZHIZHI_DATA_DIR``."""
MAX_ROW_LINES = 50
"""Bad rows listed under an error line; the rest are counted."""

T = TypeVar("T")


def _one_line(text: str) -> str:
    """``text`` with its line breaks (and the blanks around them) folded into single spaces."""
    return " ".join(text.split()) if "\n" in text or "\r" in text else text


def _validation_message(e: ValidationError) -> str:
    """A pydantic ValidationError as one line: ``<model>: <field>: <reason>; …``. Settings fields
    are named by their environment variable (ZHIZHI_<NAME>)."""
    settings = e.title == "Settings"
    parts = []
    for err in e.errors():
        loc = ".".join(str(p) for p in err["loc"])
        if settings and loc:
            loc = f"ZHIZHI_{loc.upper()}"
        why = str(err["ctx"]["error"]) if err["type"] == "value_error" and "ctx" in err else err["msg"]
        parts.append(f"{loc}: {why}" if loc else why)
    where = "settings (ZHIZHI_* environment variables)" if settings else e.title
    return f"{where}: {'; '.join(parts)}"


def user_error_message(e: BaseException) -> str | None:
    """The one-line message of a user error (bad input or environment), or None for anything else.

    User errors are ZhizhiError (its ``detail``), ValueError including pydantic's ValidationError,
    OSError (``<file>: <reason>``) and alembic's CommandError (a bad revision)."""
    from alembic.util import CommandError

    if isinstance(e, ZhizhiError):
        msg = e.detail
    elif isinstance(e, ValidationError):
        msg = _validation_message(e)
    elif isinstance(e, OSError):
        if e.filename is not None and e.strerror:
            both = f"{e.filename} → {e.filename2}" if e.filename2 is not None else str(e.filename)
            msg = f"{both}: {e.strerror}"
        else:
            msg = str(e) or type(e).__name__
    elif isinstance(e, ValueError | CommandError):
        msg = str(e) or type(e).__name__
    else:
        return None
    return _one_line(msg)


def _log_traceback(e: BaseException) -> Path | None:
    """Append ``e``'s traceback to :data:`LOG_NAME` in the data directory (or the temporary
    directory if that cannot be written); returns the file, None if nothing could be written."""
    try:
        dirs = [Path(get_settings().data_dir)]
    except Exception:  # the settings themselves may be what is broken
        dirs = []
    dirs.append(Path(tempfile.gettempdir()))
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    text = "".join(traceback.format_exception(e))
    for d in dirs:
        try:
            d.mkdir(parents=True, exist_ok=True)
            log = (d / LOG_NAME).resolve()
            with log.open("a", encoding="utf-8") as fh:
                fh.write(f"--- {stamp} zhizhi {' '.join(sys.argv[1:])}\n{text}\n")
            return log
        except OSError:
            continue
    return None


def report(e: BaseException) -> int:
    """Print ``e`` as the CLI's error line(s) on stderr and return the exit code: 2 for a user error
    (:func:`user_error_message`; a ZhizhiError's row errors follow as indented lines), 1 for an
    internal error, whose traceback goes to :func:`_log_traceback`'s file."""
    msg = user_error_message(e)
    if msg is not None:
        typer.echo(f"error: {msg}", err=True)
        rows = [fe for fe in e.errors if fe.line is not None] if isinstance(e, ZhizhiError) else []
        for fe in rows[:MAX_ROW_LINES]:
            typer.echo(f"  {_one_line(str(fe))}", err=True)
        if len(rows) > MAX_ROW_LINES:
            typer.echo(f"  … and {len(rows) - MAX_ROW_LINES} more", err=True)
        return 2
    log = _log_traceback(e)
    where = f"the traceback is in {log}" if log else "the traceback could not be saved"
    typer.echo(f"error: internal error ({type(e).__name__}); please report it ({where})", err=True)
    return 1


def fail(msg: str) -> NoReturn:
    """Refuse bad input: print ``error: <msg>`` on stderr and exit with code 2."""
    typer.echo(f"error: {_one_line(msg)}", err=True)
    raise typer.Exit(2)


def run(fn: Callable[[], T]) -> T:
    """Run a command body: any exception becomes :func:`report`'s line(s) and its exit code (2 for a
    user error, 1 for an internal one), never a traceback."""
    try:
        return fn()
    except (typer.Exit, typer.Abort):
        raise
    except Exception as e:
        raise typer.Exit(report(e)) from None


class OneLineErrors(TyperGroup):
    """The root command: usage errors (unknown option, missing or invalid value) print one
    ``error:`` line with the command's help hint and exit with code 2, and an exception that
    escapes a command is reported by :func:`report`."""

    def main(
        self,
        args: Sequence[str] | None = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except typer.TyperException as e:  # Click's usage errors
            ctx = getattr(e, "ctx", None)
            if type(e).__name__ == "NoArgsIsHelpError":  # `zhizhi` alone: the help page
                typer.echo(e.format_message(), err=True)
                sys.exit(2)
            hint = f" (see: {ctx.command_path} --help)" if ctx is not None else ""
            # typer validates values with pydantic, whose messages may start "Value error, "
            msg = _one_line(e.format_message()).replace("Value error, ", "").rstrip(".")
            typer.echo(f"error: {msg}{hint}", err=True)
            sys.exit(2)
        except typer.Abort:
            typer.echo("error: aborted", err=True)
            sys.exit(1)
        except Exception as e:
            sys.exit(report(e))
        sys.exit(rv if isinstance(rv, int) else 0)


def _typer(help_: str, **kw: Any) -> typer.Typer:
    # rich_markup_mode=None: Click's plain help, where flags show without a value placeholder
    return typer.Typer(help=help_, no_args_is_help=True, rich_markup_mode=None, **kw)


app = _typer(
    "智治 zhizhi: district digital-governance platform.",
    cls=OneLineErrors,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = _typer("Database schema (Alembic migrations).")
org_app = _typer("Organisation: districts, towns, villages, grids, units, staff.")
event_app = _typer("Events on the closed loop: import, routing (权属配置).")
ops_app = _typer("Operations: KPIs (核心绩效), rankings (赛马比拼), SLA sweep.")
demo_app = _typer("Demonstration data: replay real citizen messages.")
for sub, name in (
    (db_app, "db"),
    (org_app, "org"),
    (event_app, "event"),
    (ops_app, "ops"),
    (demo_app, "demo"),
):
    app.add_typer(sub, name=name)


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
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port"),
) -> None:
    """Run the web + API server (API docs at /docs)."""

    def body() -> None:
        import uvicorn

        from zhizhi.app import create_app

        try:
            application = create_app()
        except (ValueError, KeyError, OSError) as e:  # invalid policy data or database settings
            fail(f"cannot start: {user_error_message(e) or e}")
        typer.echo(f"zhizhi serving on http://{host}:{port}  (API docs: http://{host}:{port}/docs)")
        uvicorn.run(application, host=host, port=port, log_level="warning")

    run(body)


@db_app.command("upgrade")
def db_upgrade(revision: str = typer.Argument("head", help="target revision")) -> None:
    """Migrate the database (ZHIZHI_DATABASE_URL) to the latest schema."""
    from alembic.util import CommandError

    from zhizhi.core.migrate import upgrade

    def body() -> None:
        try:
            upgrade(get_engine(), revision)
        except CommandError as e:
            fail(f'revision "{revision}": {e}')
        typer.echo(f"database at {revision}: {get_engine().url.render_as_string(hide_password=True)}")

    run(body)


@app.command()
def setup(
    replay: bool = typer.Option(True, help="replay the real citizen messages when no events exist"),
) -> None:
    """First-run set-up used by `make run`: migrate, load Yongchuan if empty, replay if no events."""
    from zhizhi.core.migrate import upgrade
    from zhizhi.event.models import Event
    from zhizhi.org import service as org

    def body() -> int:
        upgrade(get_engine())
        district = get_settings().district_code
        with session_scope() as s:
            if not org.is_loaded(s, district):
                typer.echo(f"loading district {district} …")
                with progress_bar("org load") as pb:
                    st = org.load_district(s, district, progress=lambda _l, d, t: pb(d, t))
                typer.echo(json.dumps(st, ensure_ascii=False))
            return s.scalar(select(func.count()).select_from(Event)) or 0

    if run(body) == 0 and replay:
        demo_replay(limit=None)
    from zhizhi.auth.cli import ensure_admin

    run(ensure_admin)


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

    def body() -> None:
        with session_scope() as s:
            out(org.stats(s))

    run(body)


@org_app.command("import-boundaries")
def org_import_boundaries(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="GeoJSON FeatureCollection (WGS-84 lon/lat, UTF-8)"
    ),
    level: Literal["town", "village", "grid"] = typer.Option(..., help="the level the features are"),
) -> None:
    """Replace generated boundaries with real ones (match by code or name; reports what did not match)."""
    from zhizhi.org import service as org

    if file.is_dir():
        fail(f"{file}: is a directory, not a GeoJSON file")
    if not file.exists():
        fail(f"{file}: no such file")

    def body() -> None:
        try:
            with session_scope() as s:
                out(org.import_boundaries(s, file, level))
        except ValueError as e:  # the GeoJSON reader names the file by its bare name
            msg = str(e)
            fail(f"{file}: {msg.removeprefix(file.name + ': ')}")

    run(body)


# --- event -----------------------------------------------------------------------------------------


@event_app.command("import")
def event_import(
    file: Path = typer.Argument(
        ..., metavar="FILE", help="CSV or JSONL file (columns: see docs/domains/event.md)"
    ),
    skip_invalid: bool = typer.Option(
        False, "--skip-invalid", help="import the good rows, write the bad ones to a reject file"
    ),
    reject_file: Path | None = typer.Option(
        None,
        help="where the rejected rows go (needs --skip-invalid; default: beside FILE, e.g. "
        "calls.csv -> calls.rejects.csv); not FILE itself, not a directory",
    ),
    district: str | None = typer.Option(None, help="district for out-of-area rows"),
) -> None:
    """Bulk-import events from a CSV or JSONL file, in one transaction: any bad row means nothing is
    written, and every bad row is listed (line, column, reason).

    With --skip-invalid the good rows are imported and the bad ones written to a reject file in the
    format of FILE, so it can be fixed and imported as it is: a CSV gets FILE's columns after a first
    column "error" holding each row's reasons (UTF-8 with BOM, for spreadsheets); a JSONL line gets
    an "error" key, and lines that were not JSON objects come last as they were. Import ignores an
    "error" column or key.
    """
    from zhizhi.event import intake

    if reject_file is not None:
        if not skip_invalid:
            fail("--reject-file needs --skip-invalid")
        why = intake.reject_path_problem(file, reject_file)
        if why:
            fail(f"--reject-file {reject_file}: {why}")

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
    priority: int = typer.Option(
        0, min=-1000, max=1000, help="order among equally specific rules (higher wins)"
    ),
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

    def body() -> None:
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

    run(body)


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


# --- demo ------------------------------------------------------------------------------------------


@demo_app.command("replay")
def demo_replay(
    limit: int | None = typer.Option(None, min=1, help="replay only the first N messages"),
) -> None:
    """Import the real citizen messages (2,816 with official replies) and run them through the loop
    with their real reply times; locations are generated (flagged)."""
    from zhizhi.event import replay

    def body() -> None:
        with session_scope() as s, progress_bar("replaying") as pb:
            res = replay.replay(s, get_settings().district_code, limit=limit, progress=pb)
        out(res)

    run(body)


def main() -> None:
    """Entry point of the ``zhizhi`` command."""
    app()


# account commands live with their domain (auth/cli.py); registered last, as they use the helpers above
from zhizhi.auth.cli import audit_app, token_app, user_app  # noqa: E402

app.add_typer(user_app, name="user")
app.add_typer(token_app, name="token")
app.add_typer(audit_app, name="audit")
