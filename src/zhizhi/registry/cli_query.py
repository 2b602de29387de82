"""Register queries and conflict decisions on the command line (``zhizhi registry …``):
``conflicts``, ``resolve``, ``count``, ``history``.

:func:`registry_query_commands` adds them to a typer app (the ``registry`` group of the root command).
Each command acts as a user: ``--as USERNAME`` (an active account; its role and data scope apply, as
over HTTP), or, for the read commands only, the platform's system actor of the configured district.
A conflict is decided by a person, so ``resolve`` needs ``--as``. Output is JSON on stdout, masked
as the API masks it; bad input is one ``error:`` line on stderr and exit code 2.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import typer

from zhizhi.cli import fail, out, run
from zhizhi.cli_usage import PlainUsage

AS_HELP = "act as this user (username); default: the system actor of the district"
COUNT_BY = ("total", "town", "village", "grid", "status", "sex", "tag", "age_band")
STATUSES = ("active", "moved_out", "deceased", "any")


def _actor(session: Any, username: str | None) -> Any:
    """The acting user (``--as``), or the district's system actor."""
    if username is None:
        from zhizhi.core.config import get_settings
        from zhizhi.event.service import system_actor

        return system_actor(get_settings().district_code)
    from zhizhi.auth.service import user_actor

    return user_actor(session, username)


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        fail(f'{option} "{text}" is not a date (YYYY-MM-DD)')
    if not date(1900, 1, 1) <= day <= date(2199, 12, 31):
        fail(f'{option} "{text}": give a date from 1900-01-01 to 2199-12-31')
    return day


def _instant(text: str | None) -> datetime | None:
    """``--known-at``: ISO 8601; without an offset it is Beijing time."""
    if text is None:
        return None
    from zhizhi.core import time as ztime

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        fail(f'--known-at "{text}" is not an ISO date-time (e.g. 2026-11-30T18:00, Beijing time)')
    if not 1900 <= when.year <= 2199:
        fail(f'--known-at "{text}": give a time from 1900 to 2199')
    return ztime.to_utc(when)


def conflicts(
    status: str = typer.Option("open", help="open | accepted | rejected | all"),
    entity: str | None = typer.Option(None, help="resident | household | house | unit (default: all)"),
    limit: int = typer.Option(100, min=1, max=1000, help="conflicts to print"),
    offset: int = typer.Option(0, min=0, help="skip this many first"),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """List conflicts between sources (数据冲突) in the user's scope, oldest first: JSON {total, items}."""
    if entity is not None and entity not in ("resident", "household", "house", "unit"):
        fail(f'--entity "{entity}": use resident, household, house or unit')

    def body() -> None:
        from zhizhi.core.db import session_scope
        from zhizhi.registry import service

        with session_scope() as s:
            actor = _actor(s, as_user)
            which = None if status == "all" else status
            out(service.list_conflicts(s, actor, which, entity, limit=limit, offset=offset))

    run(body)


def resolve(
    conflict_id: int = typer.Argument(
        ..., min=1, metavar="CONFLICT_ID", help="the conflict's id (zhizhi registry conflicts)"
    ),
    accept: bool | None = typer.Option(
        None, "--accept/--reject", help="accept the proposed value, or keep the current one"
    ),
    note: str | None = typer.Option(None, help="why (up to 300 characters)"),
    as_user: str | None = typer.Option(None, "--as", help="who decides (username): required"),
) -> None:
    """Decide one open conflict: --accept records the proposed value (its provenance is the proposing
    source), --reject keeps the current one. Prints the decided conflict as JSON."""
    if accept is None:
        fail("say --accept or --reject")
    if as_user is None:
        fail("--as USERNAME is required: a conflict is decided by a person with registry.resolve")

    def body() -> None:
        from zhizhi.core.db import session_scope
        from zhizhi.registry import service

        with session_scope() as s:
            actor = _actor(s, as_user)
            out(service.resolve_conflict(s, actor, conflict_id, bool(accept), note))

    run(body)


def count(
    by: str = typer.Option("village", help=" | ".join(COUNT_BY)),
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today, Beijing time)"),
    known_at: str | None = typer.Option(
        None, "--known-at", help="ISO date-time: the register as known then (naive = Beijing time)"
    ),
    status: str | None = typer.Option(None, help="active (default) | moved_out | deceased | any"),
    village: str | None = typer.Option(None, help="12-digit village code"),
    grid: str | None = typer.Option(None, help="15-digit grid code"),
    tag: list[str] = typer.Option([], help="tag code; repeat for any of several"),
    min_age: int | None = typer.Option(None, "--min-age", min=0, max=150),
    max_age: int | None = typer.Option(None, "--max-age", min=0, max=150),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Count residents on a date in the user's scope: JSON {as_of, known_at, by, counts}. The same
    --as-of and --known-at give the same numbers whenever asked again."""
    if by not in COUNT_BY:
        fail(f'--by "{by}": use one of {", ".join(COUNT_BY)}')
    if status is not None and status not in STATUSES:
        fail(f'--status "{status}": use one of {", ".join(STATUSES)}')
    day, when = _day(as_of, "--as-of"), _instant(known_at)

    def body() -> None:
        from zhizhi.core.db import session_scope
        from zhizhi.registry import service
        from zhizhi.registry.service.write import today

        chosen = (None if by == "status" else "active") if status is None else status
        f = service.ResidentFilter(
            status=None if chosen == "any" else chosen, village_code=village, grid_code=grid,
            tags=tuple(tag), min_age=min_age, max_age=max_age,
        )  # fmt: skip
        on = day or today()
        with session_scope() as s:
            counts = service.count_residents(s, _actor(s, as_user), on, by, f, known_at=when)
        out(
            {
                "as_of": on.isoformat(),
                "known_at": when.isoformat() if when else None,
                "by": by,
                "counts": counts,
            }
        )

    run(body)


def history(
    kind: str = typer.Argument(..., metavar="KIND", help="resident | household | house | unit"),
    entity_id: int = typer.Argument(..., min=1, metavar="ID", help="the record's id"),
    as_user: str | None = typer.Option(None, "--as", help=AS_HELP),
) -> None:
    """Print every recorded change of one record, oldest first (who, when, source, the values set and
    the values before; personal values masked) as JSON."""
    if kind not in ("resident", "household", "house", "unit"):
        fail(f'kind "{kind}": use resident, household, house or unit')

    def body() -> None:
        from zhizhi.core.db import session_scope
        from zhizhi.registry import service

        with session_scope() as s:
            out(service.history_of(s, _actor(s, as_user), kind, entity_id))

    run(body)


def registry_query_commands(app: typer.Typer) -> None:
    """Register ``conflicts``, ``resolve``, ``count`` and ``history`` on ``app``."""
    app.command("conflicts")(conflicts)
    app.command("resolve", cls=PlainUsage)(resolve)
    app.command("count")(count)
    app.command("history", cls=PlainUsage)(history)


__all__ = ["registry_query_commands"]
