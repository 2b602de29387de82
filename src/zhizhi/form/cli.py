"""Commands of the form domain: ``zhizhi form list | check | render`` (here) and the catalogue, task,
answer, completion, burden and outside-demand commands (form/cli_task.py). Commands that act for a
user take ``--as USERNAME`` (``--user``, its old name, is still accepted), as the registry's do."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from zhizhi.cli import _typer, fail, out, run
from zhizhi.cli_usage import PlainUsage
from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_scope
from zhizhi.form.cli_task import (
    as_option,
    day_option,
    period_started,
    register_task_commands,
    user_alias,
    who,
)

form_app: typer.Typer = _typer(
    "Forms (报表, 一表通): list the catalogue, check a definition, render as xlsx."
)


@form_app.command("list")
def form_list(as_json: bool = typer.Option(False, "--json", help="print the catalogue as JSON")) -> None:
    """List the shipped forms: id, period, rows, department, computed/manual columns, title."""
    from zhizhi.form import service

    def body() -> None:
        forms = service.list_forms()
        if as_json:
            out(forms)
            return
        for f in forms:
            typer.echo(
                f"{f['id']:<24} {f['period']:<7} {f['rows']:<7} {f['department']:<5} "
                f"auto {f['computed']:>2} / manual {f['manual']:>2}  {f['title']}"
            )

    run(body)


@form_app.command("check", cls=PlainUsage)
def form_check(
    path: Path = typer.Argument(..., metavar="FORM.yaml", help="a form definition (YAML) to check"),
) -> None:
    """Check a form definition file: prints its summary, or one error line naming the field."""
    from zhizhi.form import service

    def body() -> None:
        out(service.summary(service.parse_file(path)))

    run(body)


def _instant(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        fail(f'--known-at "{value[:30]}" is not an ISO date-time (e.g. 2026-12-01T09:00, Beijing time)')
    return ztime.to_utc(when if when.tzinfo else when.replace(tzinfo=ztime.LOCAL_TZ))


@form_app.command("render", cls=PlainUsage)
def form_render(
    form: str = typer.Argument(..., metavar="FORM", help="form id (zhizhi form list)"),
    org: str = typer.Option(..., help="org-unit code the form is filled for (a town, the district …)"),
    period: str = typer.Option(
        ..., help="YYYY-MM, YYYY-Qn or YYYY, by the form's period type; the current period or a past one"
    ),
    as_of: str | None = typer.Option(
        None,
        help="statistical date YYYY-MM-DD within the period, today at the latest (default: its end, "
        "or today while it runs)",
    ),
    known_at: str | None = typer.Option(
        None, help="read the registers as known at this ISO time (naive = Beijing time; default now)"
    ),
    as_user: str | None = as_option(),
    user: str | None = user_alias(),
    full: bool = typer.Option(
        False, "--full", help="unmasked names and IDs on a roster (personal.full_view)"
    ),
    reason: str | None = typer.Option(None, help="why a full view is needed (recorded in the audit log)"),
    output: Path = typer.Option(..., "-o", "--output", help="the xlsx file to write"),
    strict: bool = typer.Option(False, "--strict", help="exit with code 1 when a check fails"),
    as_json: bool = typer.Option(False, "--json", help="print the summary as JSON"),
) -> None:
    """Compute a form and write the filled xlsx; print the checks that failed. Every render is an
    export: an audit row (user, form, org, period) is written."""
    from zhizhi.auth import service as auth
    from zhizhi.event.service import system_actor
    from zhizhi.form import service

    name = who(as_user, user)
    period_started(form, period)
    day, instant = day_option(as_of, "--as-of", past_only=True), _instant(known_at)
    if output.suffix.lower() != ".xlsx":
        fail(f"--output {output}: give a file name ending in .xlsx")

    def body() -> dict[str, Any]:
        with session_scope() as s:
            actor = auth.user_actor(s, name) if name else system_actor(get_settings().district_code)
            result, data = service.export(
                s, actor, form, org, period, day, instant, full_view=full, reason=reason, client="cli"
            )
            output.parent.mkdir(parents=True, exist_ok=True)
            output.write_bytes(data)
        tally = result.tally()
        return {
            "form": result.form.id,
            "title": result.form.title,
            "org": f"{result.org_code} {result.org_name}",
            "period": result.period.text,
            "as_of": result.as_of.isoformat(),
            "known_at": result.known_at.isoformat(),
            "rows": sum(1 for r in result.rows if not r.total),
            "columns": {"computed": len(result.form.computed), "manual": len(result.form.manual)},
            "checks": tally,
            "failures": [{"rule": c.rule, "row": c.row, "values": list(c.values)} for c in result.failures],
            "output": str(output),
        }

    summary = run(body)
    if as_json:
        out(summary)
    else:
        t = summary["checks"]
        typer.echo(
            f"{summary['form']} {summary['title']} · {summary['org']} · {summary['period']} "
            f"(as of {summary['as_of']}): {summary['rows']} rows, "
            f"{summary['columns']['computed']} columns computed, {summary['columns']['manual']} manual"
        )
        typer.echo(f"checks: {t['pass']} passed, {t['fail']} failed, {t['skipped']} skipped (manual values)")
        for f in summary["failures"]:
            vals = " | ".join("—" if v is None else f"{v:g}" for v in f["values"])
            typer.echo(f"  FAIL {f['row']}: {f['rule']}  ({vals})")
        typer.echo(f"written: {summary['output']}")
    if strict and summary["failures"]:
        raise typer.Exit(1)


register_task_commands(form_app)  # catalogue, admit, issue, tasks, answer, adjust, sign, submit, …
