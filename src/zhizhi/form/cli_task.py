"""Commands of the catalogue, form tasks and answers, completion, demands outside the catalogue and
burden statistics: ``zhizhi form catalogue | admit | issue | tasks | answer | adjust | sign | submit |
completion | burden | outside-demand``.

Each acts as ``--as USERNAME`` (an active account: its role and data scope apply, as over HTTP) or,
by default, as the platform of the configured district, like the registry commands. ``--user`` is
the old name of ``--as``, still accepted and hidden from the help. Output is text, or JSON with
``--json``; bad input is one ``error:`` line on stderr and exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import typer

from zhizhi.cli import fail, out, run
from zhizhi.cli_usage import PlainUsage
from zhizhi.core import time as ztime
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_scope

AS_HELP = "act as this user (username); default: the platform of the district"
"""Help of ``--as``, worded as the registry commands' (registry/cli_quality.py)."""
JSON = "print JSON"
STATUS = {"on_time": "按时", "late": "逾期报送", "overdue": "已逾期", "open": "未到期"}


def as_option() -> Any:
    """The ``--as USERNAME`` option of a form command (a fresh one per command)."""
    return typer.Option(None, "--as", help=AS_HELP)


def user_alias() -> Any:
    """``--user``: the old name of ``--as``, accepted so existing scripts keep working, not shown in
    the help."""
    return typer.Option(None, "--user", hidden=True, help="old name of --as")


def who(as_user: str | None, user: str | None) -> str | None:
    """The username a command acts as: ``--as``, else its old name ``--user``, else None (the
    platform). Refuses (exit 2) two different names."""
    if as_user is not None and user is not None and as_user != user:
        fail(f'--as "{as_user[:40]}" and --user "{user[:40]}" name different users; --user is the old '
             "name of --as: give --as only")  # fmt: skip
    return as_user if as_user is not None else user


def _actor(session: Any, user: str | None) -> Any:
    from zhizhi.auth import service as auth
    from zhizhi.event.service import system_actor

    return auth.user_actor(session, user) if user else system_actor(get_settings().district_code)


def today() -> date:
    """Today in Beijing time (core/time.py)."""
    return ztime.to_local(ztime.utcnow()).date()


def day_option(value: str | None, option: str, *, past_only: bool = False) -> date | None:
    """The date given to ``option`` (YYYY-MM-DD), or None when it was not given. With ``past_only``
    a day after today (Beijing time) is refused, naming the option. Bad input exits with code 2."""
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        fail(f'{option} "{value[:30]}" is not a date (YYYY-MM-DD)')
    if past_only:
        from zhizhi.form import rules

        try:
            rules.check_not_future(day, today(), option)
        except ValueError as e:
            fail(str(e))
    return day


def period_started(form_id: str, period: str, option: str = "--period") -> None:
    """Refuse (exit 2, naming ``option``) a period of form ``form_id`` that has not started yet. An
    unknown form or a malformed period is left to the service, whose message names them."""
    from zhizhi.core.errors import NotFound
    from zhizhi.form import rules, service

    try:
        per = rules.parse_period(period, service.get_form(form_id).period)
    except (NotFound, ValueError):
        return
    try:
        rules.check_started(per, today(), option)
    except ValueError as e:
        fail(str(e))


def _act(as_user: str | None, user: str | None, fn: Callable[[Any, Any], Any]) -> Any:
    """Run ``fn(session, actor)`` in one committed transaction as ``--as`` (or its old name
    ``--user``; default the platform), errors as one line."""
    name = who(as_user, user)

    def body() -> Any:
        with session_scope() as s:
            return fn(s, _actor(s, name))

    return run(body)


def _answer_text(a: dict[str, Any]) -> None:
    typer.echo(
        f"answer {a['id']} · task {a['task_id']} · {a['form_id']} {a['title']} · {a['period']} · "
        f"{a['town_code']} {a['town_name']}: {a['state']} ({a['state_label']}), due {a['due_date']} "
        f"[{STATUS.get(a['status'], a['status'])}], version {a['version']}"
    )
    if a["as_of"] is not None:
        typer.echo(f"statistical date {a['as_of']}, registers as known at {a['known_at']}")
    if a["cells"] is not None:
        c, t = a["cells"], a["checks"]
        typer.echo(
            f"cells: {c['auto']} automatic, {c['typed']} typed by hand ({c['adjusted']} adjusted here), "
            f"{c['auto_share']}% automatic; checks: {t['pass']} passed, {t['fail']} failed, "
            f"{t['skipped']} skipped"
        )
        for f in t["failures"]:
            typer.echo(f"  FAIL {f['row']}: {f['rule']}")
    for x in a["adjustments"]:
        where = f"{x['row']} col {x['column']} ({x['key']})"
        typer.echo(f"  adjusted {where}: {x['old']} → {x['new']} · {x['reason']}")


def register_task_commands(app: typer.Typer) -> None:
    """Add the catalogue, task, answer, completion, burden and outside-demand commands to ``app``."""

    @app.command("catalogue")
    def catalogue(
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """The district's form catalogue (报表目录): every shipped form and whether it is admitted."""
        from zhizhi.form.service import admission

        rows = _act(as_user, user, admission.catalogue_table)
        if as_json:
            out(rows)
            return
        for r in rows:
            by = f" by {r['admitted_by']}" if r["status"] == "admitted" else ""
            typer.echo(
                f"{r['form_id']:<22} {r['status']:<12} {r['department']:<5} {r['period']:<7} "
                f"{'' if r['issuable'] else '(roster) '}{r['title']}{by}"
            )

    @app.command("admit", cls=PlainUsage)
    def admit(
        form: str = typer.Argument(..., metavar="FORM", help="form id (zhizhi form list)"),
        legal_basis: str | None = typer.Option(None, help="法定依据 (default: the definition's)"),
        withdraw: bool = typer.Option(False, "--withdraw", help="withdraw it from the catalogue instead"),
        reason: str | None = typer.Option(None, help="why it is withdrawn (with --withdraw)"),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
    ) -> None:
        """Admit a form to the district's catalogue (准入), or withdraw it (--withdraw --reason)."""
        from zhizhi.form.service import admission

        if withdraw and reason is None:
            fail("--withdraw needs --reason")
        if withdraw:
            e = _act(as_user, user, lambda s, a: admission.withdraw(s, a, form, reason or "", client="cli"))
        else:
            e = _act(as_user, user, lambda s, a: admission.admit(s, a, form, legal_basis, client="cli"))
        typer.echo(f"{e['form_id']}: {e['status']} ({e['department']}, {e['period']}) · {e['legal_basis']}")

    @app.command("issue", cls=PlainUsage)
    def issue(
        form: str = typer.Argument(..., metavar="FORM", help="an admitted form id"),
        period: str = typer.Option(
            ..., help="YYYY-MM, YYYY-Qn or YYYY, by the form's period type; the current period or a past one"
        ),
        due: str = typer.Option(..., help="due date YYYY-MM-DD (included)"),
        towns: str = typer.Option("all", help="town codes separated by commas, or all"),
        note: str | None = typer.Option(None, help="a note to the towns"),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Issue a form task to towns (下发): one answer per town, due on --due."""
        from zhizhi.form.service import task

        period_started(form, period)
        day = day_option(due, "--due")
        assert day is not None
        chosen = None if towns.strip().lower() == "all" else [t for t in towns.split(",") if t.strip()]
        t = _act(as_user, user, lambda s, a: task.issue(s, a, form, period, day, chosen, note))
        if as_json:
            out(t)
            return
        n = len(t["answers"])
        typer.echo(f"task {t['id']}: {t['form_id']} {t['period']} to {n} towns, due {t['due_date']}")

    @app.command("tasks")
    def tasks(
        period: str | None = typer.Option(None, help="report periods within this month, quarter or year"),
        form: str | None = typer.Option(None, "--form", help="only this form"),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Form tasks in your scope with each town's answer (id, state, deadline status)."""
        from zhizhi.form.service import task

        rows = _act(as_user, user, lambda s, a: task.list_tasks(s, a, period, form))
        if as_json:
            out(rows)
            return
        for t in rows:
            typer.echo(f"task {t['id']} {t['form_id']} {t['period']} ({t['department']}) due {t['due_date']}")
            for a in t["answers"]:
                typer.echo(
                    f"  answer {a['id']:<5} {a['town_code']} {a['town_name']:<8} {a['state']:<9} "
                    f"{STATUS.get(a['status'], a['status'])}"
                )

    @app.command("answer", cls=PlainUsage)
    def answer(
        answer_id: int = typer.Argument(..., metavar="ANSWER", help="answer id (zhizhi form tasks)"),
        compute: bool = typer.Option(False, "--compute", help="compute it from the registers first (生成)"),
        as_of: str | None = typer.Option(
            None, help="statistical date YYYY-MM-DD within the period, today at the latest (with --compute)"
        ),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Show a town's answer; with --compute, compute it from the registers first."""
        from zhizhi.form.service import answer as answers

        day = day_option(as_of, "--as-of", past_only=True)
        if day is not None and not compute:
            fail("--as-of goes with --compute")

        def fn(s: Any, a: Any) -> dict[str, Any]:
            if compute:
                return answers.compute_answer(s, a, answer_id, day)
            return answers.answer_view(s, a, answer_id)

        view = _act(as_user, user, fn)
        if as_json:
            out(view)
        else:
            _answer_text(view)

    @app.command("adjust", cls=PlainUsage)
    def adjust(
        answer_id: int = typer.Argument(..., metavar="ANSWER", help="answer id"),
        row: str = typer.Option(..., help="unit code of the row, or total (合计)"),
        column: str = typer.Option(..., help="column number or key"),
        value: float = typer.Option(..., help="the figure"),
        reason: str = typer.Option(..., help="why the computed figure is changed (audited)"),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Change one cell of an answer with a reason (人工调整; audited)."""
        from zhizhi.form.service import answer as answers

        def fn(s: Any, a: Any) -> dict[str, Any]:
            return answers.adjust(s, a, answer_id, row, column, value, reason, client="cli")

        view = _act(as_user, user, fn)
        if as_json:
            out(view)
        else:
            _answer_text(view)

    for move in ("sign", "submit"):
        _move_command(app, move)

    @app.command("completion")
    def completion(
        period: str | None = typer.Option(None, help="report periods within this month, quarter or year"),
        form: str | None = typer.Option(None, "--form", help="only this form"),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Completion per town (完成情况): towns × tasks with each answer's state and deadline status."""
        from zhizhi.form.service import task

        m = _act(as_user, user, lambda s, a: task.completion(s, a, period, form))
        if as_json:
            out(m)
            return
        listed = [f"{t['id']}={t['form_id']} {t['period']} due {t['due_date']}" for t in m["tasks"]]
        typer.echo("tasks: " + "; ".join(listed))
        for r in m["towns"]:
            cells = " ".join("-" if c is None else f"{c['state']}/{c['status']}" for c in r["cells"])
            typer.echo(
                f"{r['code']} {r['name']:<8} asked {r['asked']} submitted {r['submitted']} "
                f"late {r['late']} overdue {r['overdue']} | {cells}"
            )
        t = m["total"]
        typer.echo(
            f"total: asked {t['asked']}, submitted {t['submitted']} ({t['on_time']} on time, "
            f"{t['late']} late), overdue {t['overdue']}"
        )

    @app.command("burden")
    def burden_cmd(
        period: str = typer.Option(..., help="a month 2026-11, quarter 2026-Q4 or year 2026"),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Burden statistics per town (减报表/减时间): forms answered, submissions, cells filled
        automatically vs typed by hand, demands made outside the catalogue."""
        from zhizhi.form.service import burden

        b = _act(as_user, user, lambda s, a: burden.burden(s, a, period))
        if as_json:
            out(b)
            return
        typer.echo(f"burden {b['period']} ({b['start']} to {b['end']})")
        typer.echo("town          name      forms  subm  late   auto  typed  auto%  outside")
        for r in (*b["towns"], {"code": "total", "name": "合计", **b["total"]}):
            share = "-" if r["auto_share"] is None else f"{r['auto_share']:.1f}"
            typer.echo(
                f"{r['code']:<13} {r['name']:<8} {r['forms_answered']:>5} {r['submissions']:>5} "
                f"{r['late']:>5} {r['cells_auto']:>6} {r['cells_typed']:>6} {share:>6} "
                f"{r['outside_demands']:>8}"
            )

    @app.command("outside-demand")
    def outside_demand(
        requester: str | None = typer.Option(None, help="who asked (unit, office)"),
        what: str | None = typer.Option(None, help="what was asked for"),
        asked_on: str | None = typer.Option(None, "--asked-on", help="the day it was asked, YYYY-MM-DD"),
        channel: str | None = typer.Option(None, help="form/data/workflow.yaml: chat_group, phone, paper …"),
        town: str | None = typer.Option(None, help="the town asked (default: your town)"),
        unit: str | None = typer.Option(None, help="the asking department's abbreviation (e.g. MZJ)"),
        items: int | None = typer.Option(None, help="items asked for"),
        minutes: int | None = typer.Option(None, help="minutes it took"),
        list_: bool = typer.Option(False, "--list", help="list the reports instead (with --period)"),
        period: str | None = typer.Option(None, help="with --list: made within this month, quarter or year"),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Report a demand for data made outside the catalogue (表外要数), or list them (--list)."""
        from zhizhi.form.service import demand

        if list_:
            rows = _act(as_user, user, lambda s, a: demand.list_demands(s, a, period))
            if as_json:
                out(rows)
                return
            for d in rows:
                typer.echo(
                    f"{d['id']:<5} {d['asked_on']} {d['town_code']} {d['town_name']:<8} "
                    f"{d['channel_label']:<8} {d['requester']}: {d['what']}"
                )
            return
        missing = [o for o, v in (("--requester", requester), ("--what", what), ("--asked-on", asked_on),
                                  ("--channel", channel)) if v is None]  # fmt: skip
        if missing:
            fail(f"give {', '.join(missing)} (or --list)")
        day = day_option(asked_on, "--asked-on")
        assert day is not None
        d = _act(
            as_user,
            user,
            lambda s, a: demand.report(
                s, a, requester or "", what or "", day, channel or "", town, unit, items, minutes
            ),
        )
        if as_json:
            out(d)
        else:
            where = f"{d['town_code']} {d['asked_on']} {d['channel_label']}"
            typer.echo(f"recorded {d['id']}: {where} · {d['requester']}")


def _move_command(app: typer.Typer, move: str) -> None:
    """``zhizhi form sign`` / ``zhizhi form submit``."""
    helps = {
        "sign": "Sign an answer off (审核签字); refused while a check of the form fails.",
        "submit": "Submit a signed answer (报送): final; late after the due date.",
    }

    def command(
        answer_id: int = typer.Argument(..., metavar="ANSWER", help="answer id"),
        as_user: str | None = as_option(),
        user: str | None = user_alias(),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        from zhizhi.form.service import answer as answers

        fn = answers.sign if move == "sign" else answers.submit
        view = _act(as_user, user, lambda s, a: fn(s, a, answer_id))
        if as_json:
            out(view)
        else:
            _answer_text(view)

    command.__doc__ = helps[move]
    app.command(move, cls=PlainUsage)(command)
