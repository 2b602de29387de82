"""Data quality of the registers on the command line (数据治理): ``zhizhi registry quality``,
``quality-send``, ``quality-recheck``.

:func:`register_quality_commands` adds them to a typer app (the ``registry`` group of the root
command). Each acts as ``--as USERNAME`` (an active account: its role and data scope apply, as over
HTTP) or, by default, as the platform of the configured district. Problems are listed masked; bad
input is one ``error:`` line on stderr and exit code 2. Needs ``registry.quality``.

``zhizhi.cli`` (fail, out, run) is imported inside the functions: it imports this module to build the
root command, so importing this module first (a test does) must not need it yet.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import typer

from zhizhi.cli_usage import PlainUsage

AS_HELP = "act as this user (username); default: the platform of the district"
DIMENSION = {"completeness": "完整性", "validity": "有效性", "consistency": "一致性"}


def _actor(session: Any, username: str | None) -> Any:
    if username is None:
        from zhizhi.core.config import get_settings
        from zhizhi.event.service import system_actor

        return system_actor(get_settings().district_code)
    from zhizhi.auth.service import user_actor

    return user_actor(session, username)


def _day(text: str | None) -> date | None:
    from zhizhi.cli import fail

    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f'--on "{text[:30]}" is not a date (YYYY-MM-DD)')


def _score(v: float | None) -> str:
    return "  -  " if v is None else f"{v:5.1f}"


def register_quality_commands(app: typer.Typer) -> None:
    """Add ``quality``, ``quality-send`` and ``quality-recheck`` to ``app`` (``zhizhi registry``)."""

    @app.command("quality")
    def quality(
        org: str = typer.Option(..., "--org", help="district, town, village or grid code"),
        on: str | None = typer.Option(None, "--on", help="check date YYYY-MM-DD (default today)"),
        rule: str | None = typer.Option(None, "--rule", help="list only this rule's problems"),
        limit: int = typer.Option(50, "--limit", min=0, help="problems listed at most"),
        username: str | None = typer.Option(None, "--as", help=AS_HELP),
        as_json: bool = typer.Option(False, "--json", help="print JSON"),
    ) -> None:
        """Quality score of an area and of each unit below it (completeness, validity, consistency;
        registry/data/quality_rules.yaml) and the problems found, masked. Send one to the grid worker
        with `zhizhi registry quality-send KEY`."""
        from zhizhi.cli import out, run
        from zhizhi.core.db import session_scope
        from zhizhi.registry.service import quality as service

        day = _day(on)

        def body() -> dict[str, Any]:
            with session_scope() as s:
                return service.report(s, _actor(s, username), org, day, rule, limit)

        rep = run(body)
        if as_json:
            out(rep)
            return
        dims = ", ".join(f"{DIMENSION[k]} {v}" for k, v in rep["by_dimension"].items())
        typer.echo(
            f"{rep['org']} {rep['name']} on {rep['on']}: score {_score(rep['score']).strip()} · "
            f"{rep['checked']} checks, {rep['failed']} failed ({dims})"
        )
        for a in rep["areas"]:
            code = a["code"] or "-"
            typer.echo(f"  {code:<16} {a['name']:<12} {_score(a['score'])}  {a['failed']:>5}/{a['checked']}")
        shown = len(rep["problems"])
        first = f" (first {shown})" if shown < rep["problems_total"] else ""
        typer.echo(f"problems: {rep['problems_total']}{first}")
        for p in rep["problems"]:
            task = f" [task {p['task']['event_id']} {p['task']['node']}]" if p["task"] else ""
            typer.echo(f"  {p['key']:<40} {p['label']} · {p['subject']}: {p['detail']}{task}")

    @app.command("quality-send", cls=PlainUsage)
    def quality_send(
        key: str = typer.Argument(..., metavar="KEY", help="problem key rule:register:id (as listed)"),
        username: str | None = typer.Option(None, "--as", help=AS_HELP),
    ) -> None:
        """Send one problem to the grid worker as a task on the event loop (dispatched to its grid)."""
        from zhizhi.cli import run
        from zhizhi.core.db import session_scope
        from zhizhi.registry.service import quality as service

        def body() -> dict[str, Any]:
            with session_scope() as s:
                return service.send(s, _actor(s, username), key)

        r = run(body)
        typer.echo(f"sent {r['key']} as event {r['event_id']} ({r['node']}) to {r['unit_code']}")

    @app.command("quality-recheck")
    def quality_recheck(
        org: str = typer.Option(..., "--org", help="district, town, village or grid code"),
        username: str | None = typer.Option(None, "--as", help=AS_HELP),
    ) -> None:
        """Check an area again: tasks whose problem is fixed are closed, handled ones still wrong go
        back for rework. Prints JSON {problems, closed, returned, open}."""
        from zhizhi.cli import out, run
        from zhizhi.core.db import session_scope
        from zhizhi.registry.service import quality as service

        def body() -> dict[str, Any]:
            with session_scope() as s:
                return service.recheck(s, _actor(s, username), org)

        out(run(body))
