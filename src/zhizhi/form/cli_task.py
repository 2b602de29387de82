"""Commands of the catalogue, form tasks and answers, completion, demands outside the catalogue and
burden statistics: ``zhizhi form catalogue | admit | issue | tasks | answer | adjust | sign | submit |
completion | burden | outside-demand``.

Each acts as ``--user NAME`` (an active account: its role and data scope apply, as over HTTP) or, by
default, as the platform of the configured district. Output is text, or JSON with ``--json``; bad
input is one ``error:`` line on stderr and exit code 2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import typer

from zhizhi.cli import fail, out, run
from zhizhi.core.config import get_settings
from zhizhi.core.db import session_scope

USER = "act as this account (its role and data scope); default: the platform"
JSON = "print JSON"
STATUS = {"on_time": "按时", "late": "逾期报送", "overdue": "已逾期", "open": "未到期"}


def _actor(session: Any, user: str | None) -> Any:
    from zhizhi.auth import service as auth
    from zhizhi.event.service import system_actor

    return auth.user_actor(session, user) if user else system_actor(get_settings().district_code)


def _day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f'{option} "{value[:30]}" is not a date (YYYY-MM-DD)')


def _act(user: str | None, fn: Callable[[Any, Any], Any]) -> Any:
    """Run ``fn(session, actor)`` in one committed transaction, errors as one line."""

    def body() -> Any:
        with session_scope() as s:
            return fn(s, _actor(s, user))

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
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """The district's form catalogue (报表目录): every shipped form and whether it is admitted."""
        from zhizhi.form.service import admission

        rows = _act(user, admission.catalogue_table)
        if as_json:
            out(rows)
            return
        for r in rows:
            who = f" by {r['admitted_by']}" if r["status"] == "admitted" else ""
            typer.echo(
                f"{r['form_id']:<22} {r['status']:<12} {r['department']:<5} {r['period']:<7} "
                f"{'' if r['issuable'] else '(roster) '}{r['title']}{who}"
            )

    @app.command("admit")
    def admit(
        form: str = typer.Argument(..., metavar="FORM", help="form id (zhizhi form list)"),
        legal_basis: str | None = typer.Option(None, help="法定依据 (default: the definition's)"),
        withdraw: bool = typer.Option(False, "--withdraw", help="withdraw it from the catalogue instead"),
        reason: str | None = typer.Option(None, help="why it is withdrawn (with --withdraw)"),
        user: str | None = typer.Option(None, "--user", help=USER),
    ) -> None:
        """Admit a form to the district's catalogue (准入), or withdraw it (--withdraw --reason)."""
        from zhizhi.form.service import admission

        if withdraw and reason is None:
            fail("--withdraw needs --reason")
        if withdraw:
            e = _act(user, lambda s, a: admission.withdraw(s, a, form, reason or "", client="cli"))
        else:
            e = _act(user, lambda s, a: admission.admit(s, a, form, legal_basis, client="cli"))
        typer.echo(f"{e['form_id']}: {e['status']} ({e['department']}, {e['period']}) · {e['legal_basis']}")

    @app.command("issue")
    def issue(
        form: str = typer.Argument(..., metavar="FORM", help="an admitted form id"),
        period: str = typer.Option(..., help="YYYY-MM, YYYY-Qn or YYYY, by the form's period type"),
        due: str = typer.Option(..., help="due date YYYY-MM-DD (included)"),
        towns: str = typer.Option("all", help="town codes separated by commas, or all"),
        note: str | None = typer.Option(None, help="a note to the towns"),
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Issue a form task to towns (下发): one answer per town, due on --due."""
        from zhizhi.form.service import task

        day = _day(due, "--due")
        assert day is not None
        chosen = None if towns.strip().lower() == "all" else [t for t in towns.split(",") if t.strip()]
        t = _act(user, lambda s, a: task.issue(s, a, form, period, day, chosen, note))
        if as_json:
            out(t)
            return
        n = len(t["answers"])
        typer.echo(f"task {t['id']}: {t['form_id']} {t['period']} to {n} towns, due {t['due_date']}")

    @app.command("tasks")
    def tasks(
        period: str | None = typer.Option(None, help="report periods within this month, quarter or year"),
        form: str | None = typer.Option(None, "--form", help="only this form"),
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Form tasks in your scope with each town's answer (id, state, deadline status)."""
        from zhizhi.form.service import task

        rows = _act(user, lambda s, a: task.list_tasks(s, a, period, form))
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

    @app.command("answer")
    def answer(
        answer_id: int = typer.Argument(..., metavar="ANSWER", help="answer id (zhizhi form tasks)"),
        compute: bool = typer.Option(False, "--compute", help="compute it from the registers first (生成)"),
        as_of: str | None = typer.Option(None, help="statistical date YYYY-MM-DD (with --compute)"),
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Show a town's answer; with --compute, compute it from the registers first."""
        from zhizhi.form.service import answer as answers

        day = _day(as_of, "--as-of")
        if day is not None and not compute:
            fail("--as-of goes with --compute")

        def fn(s: Any, a: Any) -> dict[str, Any]:
            if compute:
                return answers.compute_answer(s, a, answer_id, day)
            return answers.answer_view(s, a, answer_id)

        view = _act(user, fn)
        if as_json:
            out(view)
        else:
            _answer_text(view)

    @app.command("adjust")
    def adjust(
        answer_id: int = typer.Argument(..., metavar="ANSWER", help="answer id"),
        row: str = typer.Option(..., help="unit code of the row, or total (合计)"),
        column: str = typer.Option(..., help="column number or key"),
        value: float = typer.Option(..., help="the figure"),
        reason: str = typer.Option(..., help="why the computed figure is changed (audited)"),
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Change one cell of an answer with a reason (人工调整; audited)."""
        from zhizhi.form.service import answer as answers

        def fn(s: Any, a: Any) -> dict[str, Any]:
            return answers.adjust(s, a, answer_id, row, column, value, reason, client="cli")

        view = _act(user, fn)
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
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Completion per town (完成情况): towns × tasks with each answer's state and deadline status."""
        from zhizhi.form.service import task

        m = _act(user, lambda s, a: task.completion(s, a, period, form))
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
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Burden statistics per town (减报表/减时间): forms answered, submissions, cells filled
        automatically vs typed by hand, demands made outside the catalogue."""
        from zhizhi.form.service import burden

        b = _act(user, lambda s, a: burden.burden(s, a, period))
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
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        """Report a demand for data made outside the catalogue (表外要数), or list them (--list)."""
        from zhizhi.form.service import demand

        if list_:
            rows = _act(user, lambda s, a: demand.list_demands(s, a, period))
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
        day = _day(asked_on, "--asked-on")
        assert day is not None
        d = _act(
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
        user: str | None = typer.Option(None, "--user", help=USER),
        as_json: bool = typer.Option(False, "--json", help=JSON),
    ) -> None:
        from zhizhi.form.service import answer as answers

        fn = answers.sign if move == "sign" else answers.submit
        view = _act(user, lambda s, a: fn(s, a, answer_id))
        if as_json:
            out(view)
        else:
            _answer_text(view)

    command.__doc__ = helps[move]
    app.command(move)(command)
