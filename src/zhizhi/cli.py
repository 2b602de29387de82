"""Command line (命令行): ``zhizhi --help``.

Errors: bad input (a wrong option, an unreadable or invalid file, a refused value) prints one line
``error: <what and why>`` on stderr and exits with code 2; an import may follow that line with
indented lines listing the bad rows. An unexpected internal error prints ``error: internal error
(<ExceptionType>); please report it`` with the place of its traceback (``zhizhi-cli.log`` in
``ZHIZHI_DATA_DIR``) and exits with code 1. No command prints a Python traceback.
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn
from sqlalchemy import func, select
from typer.core import TyperGroup

from zhizhi.cli_usage import PlainUsage
from zhizhi.core.config import get_settings
from zhizhi.core.db import get_engine, session_scope
from zhizhi.core.errors import ZhizhiError

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
    OSError (``<file>: <reason>``), alembic's CommandError (a bad revision), a database without the
    platform's tables, and a SQLite database locked by another process (:data:`DATABASE_BUSY`: e.g.
    the first ``make run`` still loading the district and replaying messages)."""
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
    elif _is_locked(e):
        msg = DATABASE_BUSY
    elif _is_unmigrated(e):
        url = get_settings().database_url
        where = url
        if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
            where = f"{url} (relative to this directory: {Path(url[len('sqlite:///') :]).resolve()})"
        msg = (
            f"the database {where} has no zhizhi tables: run the command in the project directory after "
            "`make run` (or `zhizhi setup`), or set ZHIZHI_DATABASE_URL to the platform's database"
        )
    else:
        return None
    return _one_line(msg)


DATABASE_BUSY = (
    "数据库正忙（首次启动正在载入数据），请稍后重试 — the database is locked by another process "
    "(the first `make run` loads the district and replays messages for a while); try again when it is done"
)
"""The line for a SQLite "database is locked": another process holds the write lock longer than
the busy timeout."""


def _is_locked(e: BaseException) -> bool:
    """Whether ``e`` is SQLite's "database is locked" (or "database table is locked"), raw or
    wrapped by SQLAlchemy."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    inner = getattr(e, "orig", e)
    return isinstance(e, OperationalError | sqlite3.OperationalError) and "is locked" in str(inner).lower()


def _is_unmigrated(e: BaseException) -> bool:
    """Whether ``e`` says a table is missing: the database was never set up (or is the wrong one)."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    text = str(getattr(e, "orig", e)).lower()
    return isinstance(e, OperationalError | ProgrammingError) and (
        "no such table" in text or ("relation" in text and "does not exist" in text)
    )


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
app.add_typer(db_app, name="db")


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
        proxies = get_settings().trusted_proxies.strip()
        # without a configured proxy, X-Forwarded-For is ignored: no one picks their own address
        uvicorn.run(
            application,
            host=host,
            port=port,
            log_level="warning",
            proxy_headers=bool(proxies),
            forwarded_allow_ips=proxies or None,
            timeout_graceful_shutdown=5,  # live-update streams (/api/v1/stream) do not hold a stop
        )

    run(body)


@db_app.command("upgrade", cls=PlainUsage)
def db_upgrade(
    revision: str = typer.Argument("head", metavar="REVISION", help="target revision"),
) -> None:
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
        from zhizhi.event.cli import demo_replay

        demo_replay(limit=None)
    run(_setup_population)
    from zhizhi.auth.cli import ensure_admin

    run(ensure_admin)


def _setup_population() -> None:
    """First run: load the GENERATED synthetic population (ZHIZHI_DEMO_POPULATION people, default
    Yongchuan's census size) unless one is there already."""
    from zhizhi.registry.demo_load import generated_people, load_population

    size = get_settings().demo_population
    if size == 0:
        return
    with session_scope() as s:
        if generated_people(s):
            return
        shown = f"{size:,}" if size else "Yongchuan's 1,148,896 (2020 census)"
        typer.echo(
            f"generating a synthetic population of {shown} people (GENERATED, not real; a few minutes "
            "for the full district; ZHIZHI_DEMO_POPULATION=50000 loads a smaller one, 0 none) …"
        )
        with progress_bar("demo population") as pb:
            result = load_population(
                s, size=size, district=get_settings().district_code, town_done=s.commit, progress=pb
            )
        typer.echo(json.dumps(result.as_dict(), ensure_ascii=False))


def main() -> None:
    """Entry point of the ``zhizhi`` command."""
    app()


# Each domain's commands live in its own cli.py and use the helpers above, so they are imported last.
from zhizhi.auth.cli import audit_app, token_app, user_app  # noqa: E402
from zhizhi.event.cli import demo_app, event_app  # noqa: E402
from zhizhi.form.cli import form_app  # noqa: E402
from zhizhi.ops.cli import ops_app  # noqa: E402
from zhizhi.org.cli import org_app  # noqa: E402
from zhizhi.registry.cli import id_app, registry_app  # noqa: E402
from zhizhi.scenarios.fire.cli import fire_app  # noqa: E402

for _sub, _name in (
    (org_app, "org"),
    (event_app, "event"),
    (ops_app, "ops"),
    (demo_app, "demo"),
    (user_app, "user"),
    (token_app, "token"),
    (audit_app, "audit"),
    (id_app, "id"),
    (registry_app, "registry"),
    (fire_app, "fire"),
    (form_app, "form"),
):
    app.add_typer(_sub, name=_name)

# commands other packages add to an existing group
from zhizhi.registry.cli_demo import register_demo_commands  # noqa: E402
from zhizhi.registry.cli_quality import register_quality_commands  # noqa: E402
from zhizhi.registry.cli_query import registry_query_commands  # noqa: E402

register_demo_commands(demo_app)  # zhizhi demo population
registry_query_commands(registry_app)  # zhizhi registry conflicts/resolve/count/history
register_quality_commands(registry_app)  # zhizhi registry quality
