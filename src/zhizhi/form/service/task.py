"""Form tasks (报表任务): a department (or the district) issues an admitted form to towns for a period
with a due date, one answer per town (service/answer.py: computed, adjusted, signed, submitted); the
district sees completion per town. State rules are pure (form/rules/task.py).

Who sees what (core.access.scope_of): the district every task of the district; a department
(unit scope) the tasks it issued; a town the tasks addressed to it and its own answers; a grid
nothing. A task out of scope is 404.

Permissions (core/data/permissions.yaml): ``form.read`` to read tasks and the completion matrix
(towns, departments, the district, leaders); ``form.issue`` to issue (departments and the district
centre; the service also refuses a town or grid scope, whatever its role); the town's answers need
``form.submit`` and ``form.adjust`` (service/answer.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, mask_text, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.form import rules
from zhizhi.form.models import FormAnswer, FormAnswerStep, FormTask
from zhizhi.form.rules import task as tr
from zhizhi.form.service import get_form
from zhizhi.form.service.admission import require_admitted
from zhizhi.org.models import OrgUnit

READ = "form.read"
"""Read the catalogue, tasks, answers, completion, burden and the demands outside the catalogue."""
ISSUE = "form.issue"
"""Issue a form task to towns (departments, the district)."""
SUBMIT = "form.submit"
"""Compute, sign and submit the town's answer; report a demand made outside the catalogue."""
ADJUST = "form.adjust"
"""Change one computed cell of an answer with a reason (audited)."""


def today() -> date:
    """Today in Beijing time."""
    return ztime.to_local(ztime.utcnow()).date()


def department_of(actor: Actor) -> str:
    """The department abbreviation of a department user (unit ``500118-MZJ`` → ``MZJ``)."""
    return actor.unit_code.rsplit("-", 1)[-1]


def district_towns(session: Session, district: str) -> list[tuple[str, str]]:
    """(code, name) of the towns (镇街) of ``district``, by code."""
    o = OrgUnit
    q = select(o.code, o.name).where(o.level == "town", o.district_code == district).order_by(o.code)
    return [(c, n) for c, n in session.execute(q)]


def town_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """Names of the org units ``codes``."""
    if not codes:
        return {}
    return dict(session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(set(codes)))).all())


def visible(actor: Actor, task: FormTask, town_code: str | None = None) -> bool:
    """Whether ``actor`` sees ``task`` (and, given ``town_code``, that town's answer to it)."""
    sc = scope_of(actor)
    if task.district_code != actor.district_code:
        return False
    if sc.kind == "district":
        return True
    if sc.kind == "unit":
        return task.department == department_of(actor)
    if sc.kind == "town":
        return town_code is None or town_code == sc.code
    return False


def step(
    session: Session, actor: Actor, answer: FormAnswer, action: str, before: str | None, comment: str | None
) -> None:
    session.add(
        FormAnswerStep(
            answer_id=answer.id,
            at=ztime.utcnow(),
            action=action,
            from_state=before,
            to_state=answer.state,
            actor=actor.username,
            actor_role=actor.role,
            comment=comment,
        )  # fmt: skip
    )


# --- issuing ---------------------------------------------------------------------------------------------


def issue(
    session: Session,
    actor: Actor,
    form_id: str,
    period: str,
    due_date: date,
    towns: Sequence[str] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Issue form ``form_id`` for ``period`` to ``towns`` (None or empty: every town of the district)
    with ``due_date`` (local date, included). The form must be admitted to the district's catalogue
    and be one a department may issue (not a roster); a department issues its own forms only. The
    period must have started (the current one or a past one: the towns' answers are computed from the
    registers, which hold nothing of days to come). A town already asked for the same form and period
    is refused (一表一期一次).

    Returns the task as :func:`task_view` shows it. Raises NotFound (form), InvalidInput (period,
    a period not started yet, due date, a town not of the district, a roster), Conflict (not
    admitted; a town asked already), Forbidden (a town or grid; another department's form)."""
    require(actor, ISSUE)
    form = get_form(form_id)
    sc = scope_of(actor)
    if sc.kind == "unit":
        dept = department_of(actor)
        if form.department != dept:
            raise Forbidden(f'form "{form.id}" is issued by {form.department}; your department is {dept}')
    elif sc.kind != "district":
        raise Forbidden("a department or the district issues form tasks; towns and grids answer them")
    try:
        tr.issuable(form)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("form_id", str(e))]) from None
    require_admitted(session, actor.district_code, form)
    on = today()
    try:
        per = rules.parse_period(period, form.period)
        rules.check_started(per, on)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("period", str(e))]) from None
    try:
        tr.check_due(due_date, on)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("due_date", str(e))]) from None
    text = None
    if note is not None and note.strip():
        try:
            text = tr.check_text(note, "note", 1, 2000)
        except ValueError as e:
            raise InvalidInput(str(e), [FieldError("note", str(e))]) from None
    district = dict(district_towns(session, actor.district_code))
    chosen = list(dict.fromkeys(str(t).strip() for t in towns)) if towns else list(district)
    for t in chosen:
        if t not in district:
            msg = f'town "{t[:20]}" is not a town (镇街) of district {actor.district_code}'
            raise InvalidInput(msg, [FieldError("towns", msg)])
    asked = session.execute(
        select(FormAnswer.town_code, FormTask.id)
        .join(FormTask, FormTask.id == FormAnswer.task_id)
        .where(FormTask.form_id == form.id, FormTask.period == per.text, FormAnswer.town_code.in_(chosen))
        .order_by(FormAnswer.town_code)
    ).all()
    if asked:
        t, tid = asked[0]
        more = f" and {len(asked) - 1} more" if len(asked) > 1 else ""
        raise Conflict(
            f'town {t}{more} was already asked for "{form.id}" {per.text} (task {tid}): '
            "a town answers a form once per period"
        )
    task = FormTask(
        district_code=actor.district_code, form_id=form.id, period=per.text, department=form.department,
        issued_by=actor.username, issued_unit=actor.unit_code, issued_at=ztime.utcnow(), due_date=due_date,
        note=text,
    )  # fmt: skip
    session.add(task)
    session.flush()
    for t in chosen:
        a = FormAnswer(task_id=task.id, town_code=t, state="issued", version=1)
        session.add(a)
        session.flush()
        step(session, actor, a, "issue", None, f"{form.department} 下发, {due_date} 前报送")
    session.flush()
    return task_view(session, actor, task)


# --- reading ---------------------------------------------------------------------------------------------


def _answers_of(session: Session, task_ids: Sequence[int]) -> dict[int, list[FormAnswer]]:
    out: dict[int, list[FormAnswer]] = {}
    if not task_ids:
        return out
    for a in session.scalars(
        select(FormAnswer).where(FormAnswer.task_id.in_(task_ids)).order_by(FormAnswer.town_code)
    ):
        out.setdefault(a.task_id, []).append(a)
    return out


def _local_day(at: datetime | None) -> date | None:
    return ztime.to_local(at).date() if at is not None else None


def answer_status(task: FormTask, a: FormAnswer, on: date) -> str:
    """on_time | late | overdue | open (:func:`rules.task.deadline_status`); a submitted answer keeps
    the lateness found when it was submitted."""
    if a.state == "submitted" and a.late is not None:
        return "late" if a.late else "on_time"
    return tr.deadline_status(a.state, task.due_date, on, _local_day(a.submitted_at))


def task_view(
    session: Session, actor: Actor, task: FormTask, answers: Sequence[FormAnswer] | None = None
) -> dict[str, Any]:
    """A task with the answers the actor sees: town, state, deadline status, submission."""
    if answers is None:
        answers = _answers_of(session, [task.id]).get(task.id, [])
    shown = [a for a in answers if visible(actor, task, a.town_code)]
    names = town_names(session, [a.town_code for a in shown])
    form = get_form(task.form_id)
    on = today()
    return {
        "id": task.id,
        "form_id": task.form_id,
        "title": form.title,
        "period": task.period,
        "department": task.department,
        "issued_by": task.issued_by,
        "issued_at": task.issued_at,
        "due_date": task.due_date,
        "note": mask_text(task.note),
        "answers": [
            {
                "id": a.id,
                "town_code": a.town_code,
                "town_name": names.get(a.town_code, a.town_code),
                "state": a.state,
                "status": answer_status(task, a, on),
                "submitted_at": a.submitted_at,
                "late": a.late,
            }
            for a in shown
        ],
    }


def _within(task_period: str, window: rules.Period | None) -> bool:
    if window is None:
        return True
    p = tr.parse_any_period(task_period)
    return window.start <= p.start and p.end <= window.end


def scoped_tasks(
    session: Session, actor: Actor, period: str | None = None, form_id: str | None = None
) -> list[FormTask]:
    """Tasks the actor sees, by id: whose report period lies within ``period`` (a month, quarter or
    year; None: any) and of ``form_id`` (None: any). Raises InvalidInput for a bad period."""
    window = None
    if period is not None:
        try:
            window = tr.parse_any_period(period)
        except ValueError as e:
            raise InvalidInput(str(e), [FieldError("period", str(e))]) from None
    sc = scope_of(actor)
    q = select(FormTask).where(FormTask.district_code == actor.district_code).order_by(FormTask.id)
    if form_id is not None:
        q = q.where(FormTask.form_id == form_id)
    if sc.kind == "unit":
        q = q.where(FormTask.department == department_of(actor))
    elif sc.kind == "town":
        q = q.where(FormTask.id.in_(select(FormAnswer.task_id).where(FormAnswer.town_code == sc.code)))
    elif sc.kind != "district":
        return []
    return [t for t in session.scalars(q) if _within(t.period, window)]


def list_tasks(
    session: Session, actor: Actor, period: str | None = None, form_id: str | None = None
) -> list[dict[str, Any]]:
    """The tasks the actor sees (:func:`scoped_tasks`) with their answers (:func:`task_view`)."""
    require(actor, READ)
    tasks = scoped_tasks(session, actor, period, form_id)
    answers = _answers_of(session, [t.id for t in tasks])
    return [task_view(session, actor, t, answers.get(t.id, [])) for t in tasks]


def get_task(session: Session, actor: Actor, task_id: int) -> dict[str, Any]:
    """One task (:func:`task_view`); NotFound when it does not exist or lies outside the scope."""
    require(actor, READ)
    task = session.get(FormTask, task_id)
    sc = scope_of(actor)
    if task is not None and visible(actor, task) and sc.kind == "town":
        mine = select(FormAnswer.id).where(FormAnswer.task_id == task.id, FormAnswer.town_code == sc.code)
        if session.scalar(mine) is None:
            task = None
    if task is None or not visible(actor, task):
        raise NotFound(f"form task {task_id} not found")
    return task_view(session, actor, task)


# --- completion --------------------------------------------------------------------------------------


def completion(
    session: Session, actor: Actor, period: str | None = None, form_id: str | None = None
) -> dict[str, Any]:
    """The completion matrix (完成情况): towns × tasks (those the actor sees, report period within
    ``period``, of ``form_id``), each cell the town's answer state and deadline status (on_time, late,
    overdue, open) or None when the town was not asked; per town and in total: asked, submitted, on
    time, late, overdue. The district sees every town, a department the towns its tasks went to, a
    town itself. Raises Forbidden for a grid (towns are the unit here), InvalidInput (period)."""
    require(actor, READ)
    sc = scope_of(actor)
    if sc.kind == "grid":
        raise Forbidden("completion is shown per town (镇街); a grid has no form tasks")
    tasks = scoped_tasks(session, actor, period, form_id)
    answers = _answers_of(session, [t.id for t in tasks])
    if sc.kind == "district":
        towns = district_towns(session, actor.district_code)
    else:
        seen = {a.town_code for t in tasks for a in answers.get(t.id, []) if visible(actor, t, a.town_code)}
        codes = [sc.code] if sc.kind == "town" else sorted(seen)
        names = town_names(session, codes)
        towns = [(c, names.get(c, c)) for c in codes]
    on = today()
    grid: dict[tuple[str, int], FormAnswer] = {
        (a.town_code, t.id): a for t in tasks for a in answers.get(t.id, []) if visible(actor, t, a.town_code)
    }
    keys = ("asked", "submitted", "on_time", "late", "overdue")
    total = dict.fromkeys(keys, 0)
    rows = []
    for code, name in towns:
        counts = dict.fromkeys(keys, 0)
        cells: list[dict[str, Any] | None] = []
        for t in tasks:
            a = grid.get((code, t.id))
            if a is None:
                cells.append(None)
                continue
            status = answer_status(t, a, on)
            cells.append({"answer_id": a.id, "state": a.state, "status": status})
            counts["asked"] += 1
            counts["submitted"] += a.state == "submitted"
            counts[status] += status in ("on_time", "late", "overdue")
        for k in keys:
            total[k] += counts[k]
        rows.append({"code": code, "name": name, "cells": cells, **counts})
    return {
        "period": period,
        "today": on,
        "tasks": [
            {
                "id": t.id,
                "form_id": t.form_id,
                "title": get_form(t.form_id).title,
                "period": t.period,
                "department": t.department,
                "due_date": t.due_date,
            }  # fmt: skip
            for t in tasks
        ],
        "towns": rows,
        "total": total,
    }
