"""A town's answer to a form task (填报): computed from the registers, reviewed, adjusted cell by cell
with a reason (audited), signed off and submitted (form/rules/task.py for the states). Every move
writes a timeline row (:class:`FormAnswerStep`).

Scope (service/task.py ``visible``): the district sees every answer of the district, a department
the answers to its own tasks (their figures once submitted), a town its own; out of scope is 404.
Only the town answers its own form (the platform may act for it). Permissions: ``form.read`` to
read, ``form.submit`` to compute, sign and submit, ``form.adjust`` to adjust a cell (the town's clerk
and duty officer hold all three).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import audit
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, mask_text, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.event.service import system_actor
from zhizhi.form import rules
from zhizhi.form.models import FormAdjustment, FormAnswer, FormAnswerStep, FormTask
from zhizhi.form.rules import task as tr
from zhizhi.form.service import compute_form, get_form
from zhizhi.form.service.task import ADJUST, READ, SUBMIT, answer_status, step, today, town_names, visible


def _load(session: Session, actor: Actor, answer_id: int) -> tuple[FormAnswer, FormTask]:
    a = session.get(FormAnswer, answer_id)
    task = session.get(FormTask, a.task_id) if a is not None else None
    if a is None or task is None or not visible(actor, task, a.town_code):
        raise NotFound(f"form answer {answer_id} not found")
    return a, task


def _adjusted(session: Session, answer_id: int) -> tuple[list[FormAdjustment], dict[tuple[str, int], float]]:
    adj = list(
        session.scalars(
            select(FormAdjustment).where(FormAdjustment.answer_id == answer_id).order_by(FormAdjustment.id)
        )
    )
    latest = {(x.row_code, x.column_no): x.new_value for x in adj}  # later rows win
    return adj, latest


def _effective(
    session: Session, form: rules.FormDef, a: FormAnswer
) -> tuple[list[tr.StoredRow], list[rules.ResultRow], list[FormAdjustment], dict[tuple[str, int], float]]:
    try:
        stored = tr.rows_from_json(a.rows, form)
    except ValueError as e:
        raise Conflict(str(e)) from None
    adj, latest = _adjusted(session, a.id)
    return stored, tr.effective_rows(form, stored, latest), adj, latest


def answer_view(session: Session, actor: Actor, answer_id: int) -> dict[str, Any]:
    """One answer: task, town, state, deadline status, statistical date and knowledge instant, the
    columns (computed / formula / manual), the rows as they stand (computed figures with the
    adjustments laid over them; a department sees figures only once submitted), the checks, the cell
    tally, the adjustments (reasons masked) and the timeline. NotFound outside the scope."""
    require(actor, READ)
    a, task = _load(session, actor, answer_id)
    form = get_form(task.form_id)
    rows_out: list[dict[str, Any]] | None = None
    checks: dict[str, Any] | None = None
    cells: dict[str, Any] | None = None
    adjustments: list[dict[str, Any]] = []
    figures = a.rows is not None and (scope_of(actor).kind != "unit" or a.state == "submitted")
    if figures:
        stored, rows, adj, latest = _effective(session, form, a)
        rows_out = [
            {
                "code": s.code,
                "name": s.name,
                "total": s.total,
                "values": list(r.values),
                "adjusted": sorted(no for (key, no) in latest if key == s.key),
            }
            for s, r in zip(stored, rows, strict=True)
        ]
        outcome = rules.run_checks(form, rows)
        tally = {"pass": 0, "fail": 0, "skipped": 0}
        for c in outcome:
            tally[c.status] += 1
        failures = [c for c in outcome if c.status == "fail"]
        listed = [{"rule": c.rule, "row": c.row, "values": list(c.values)} for c in failures]
        checks = {**tally, "failures": listed}
        t = tr.tally_cells(form, [s.key for s in stored], latest)
        share = tr.auto_share(t.auto, t.typed)
        cells = {"auto": t.auto, "typed": t.typed, "adjusted": t.adjusted, "auto_share": share}
        adjustments = [
            {
                "id": x.id,
                "row": x.row_code,
                "column": x.column_no,
                "key": x.column_key,
                "old": None if x.old_value is None else tr.as_cell(x.old_value),
                "new": tr.as_cell(x.new_value),
                "reason": mask_text(x.reason),
                "actor": x.actor,
                "at": x.at,
            }  # fmt: skip
            for x in adj
        ]
    steps = session.scalars(
        select(FormAnswerStep).where(FormAnswerStep.answer_id == a.id).order_by(FormAnswerStep.id)
    )
    return {
        "id": a.id,
        "task_id": task.id,
        "form_id": form.id,
        "title": form.title,
        "period": task.period,
        "department": task.department,
        "town_code": a.town_code,
        "town_name": town_names(session, [a.town_code]).get(a.town_code, a.town_code),
        "state": a.state,
        "state_label": tr.workflow().states[a.state],
        "due_date": task.due_date,
        "status": answer_status(task, a, today()),
        "version": a.version,
        "as_of": a.as_of,
        "known_at": a.known_at,
        "computed_at": a.computed_at,
        "computed_by": a.computed_by,
        "signed_by": a.signed_by,
        "signed_at": a.signed_at,
        "submitted_by": a.submitted_by,
        "submitted_at": a.submitted_at,
        "late": a.late,
        "columns": [{"no": c.no, "key": c.key, "label": c.label, "source": c.source} for c in form.columns],
        "rows": rows_out,
        "checks": checks,
        "cells": cells,
        "adjustments": adjustments,
        "steps": [
            {
                "at": s.at,
                "action": s.action,
                "from": s.from_state,
                "to": s.to_state,
                "actor": s.actor,
                "comment": mask_text(s.comment),
            }  # fmt: skip
            for s in steps
        ],
    }


# --- the town's moves --------------------------------------------------------------------------------


def _may_answer(actor: Actor, a: FormAnswer, permission: str) -> None:
    require(actor, permission)
    sc = scope_of(actor)
    if not (sc.kind == "district" or (sc.kind == "town" and sc.code == a.town_code)):
        raise Forbidden("only the town answers its form; a department reads the answer once submitted")


def _move(a: FormAnswer, move: str, expected_version: int | None) -> str:
    if expected_version is not None and expected_version != a.version:
        raise Conflict(
            f"answer {a.id} changed meanwhile (version {a.version}, you expected {expected_version}); "
            "reload it",
            extra={"state": a.state, "version": a.version},
        )
    try:
        return tr.next_state(move, a.state)
    except tr.AnswerStateError as e:
        raise Conflict(str(e), extra={"state": a.state, "version": a.version}) from None


def compute_answer(
    session: Session,
    actor: Actor,
    answer_id: int,
    as_of: date | None = None,
    expected_version: int | None = None,
) -> dict[str, Any]:
    """Compute (生成) the town's answer from the registers and events as they stand now, for the
    task's period and the statistical date ``as_of`` (default: the period's end, or today while it
    runs); the figures are stored with ``(as_of, known_at)`` so they can be computed again. Cells
    adjusted before keep their adjusted values. A form with one row per town (乡镇 rows) is computed
    for the district and the town's own row kept. Returns :func:`answer_view`. Raises NotFound,
    Forbidden, Conflict (state, version), InvalidInput (as_of outside the period or in the future)."""
    a, task = _load(session, actor, answer_id)
    _may_answer(actor, a, SUBMIT)
    to = _move(a, "compute", expected_version)
    form = get_form(task.form_id)
    if form.rows == "town":
        # 乡镇 rows: computed over the district (the platform reads it), only the town's own row kept
        platform = system_actor(task.district_code)
        result = compute_form(session, platform, form, task.district_code, task.period, as_of)
        rows = [r for r in result.rows if r.code == a.town_code]
    else:
        result = compute_form(session, actor, form, a.town_code, task.period, as_of)
        rows = result.rows
    before = a.state
    a.rows = tr.rows_to_json(rows)
    a.as_of, a.known_at = result.as_of, result.known_at
    a.computed_at, a.computed_by = ztime.utcnow(), actor.username
    a.state, a.version = to, a.version + 1
    session.flush()
    when = ztime.to_local(result.known_at).strftime("%Y-%m-%d %H:%M")
    step(session, actor, a, "compute", before, f"统计时点 {result.as_of}, 数据截至 {when}")
    session.flush()
    return answer_view(session, actor, a.id)


def adjust(
    session: Session,
    actor: Actor,
    answer_id: int,
    row: str,
    column: str | int,
    value: float,
    reason: str,
    expected_version: int | None = None,
    client: str | None = None,
) -> dict[str, Any]:
    """Change one cell of the answer (人工调整) — ``row``: a unit code or ``total``/``合计``;
    ``column``: number or key (not a formula column) — to ``value``, with ``reason``. The computed
    figure is kept; the adjustment is laid over it, written to the timeline and to the audit log
    (``form.adjust``). Adjusting a signed answer withdraws the signature. Returns
    :func:`answer_view`. Raises NotFound, Forbidden, Conflict, InvalidInput (row, column, value,
    reason, or the same value again)."""
    a, task = _load(session, actor, answer_id)
    _may_answer(actor, a, ADJUST)
    to = _move(a, "adjust", expected_version)
    form = get_form(task.form_id)
    stored, rows, _, latest = _effective(session, form, a)
    field = "row"
    try:
        r = tr.find_row(stored, row)
        field = "column"
        c = tr.find_column(form, column)
        field = "value"
        v = tr.check_value(value)
        field = "reason"
        why = tr.check_text(reason, "reason", tr.workflow().min_reason, 500)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError(field, str(e))]) from None
    current = rows[stored.index(r)].values[c.no - 1]
    old = float(current) if isinstance(current, int | float) else None
    if old is not None and old == v:
        msg = f"第{c.no}列 {c.label} of {r.name} is {tr.as_cell(v)} already"
        raise InvalidInput(msg, [FieldError("value", msg)])
    now = ztime.utcnow()
    session.add(
        FormAdjustment(
            answer_id=a.id,
            row_code=r.key,
            column_no=c.no,
            column_key=c.key,
            old_value=old,
            new_value=v,
            reason=why,
            actor=actor.username,
            at=now,
        )  # fmt: skip
    )
    before = a.state
    comment = f"第{c.no}列 {c.label} · {r.name}: {'空' if old is None else tr.as_cell(old)} → {tr.as_cell(v)}"
    if before == "signed":
        comment += f" (撤销 {a.signed_by} 的签字)"
        a.signed_by = a.signed_at = None
    a.state, a.version = to, a.version + 1
    session.flush()
    step(session, actor, a, "adjust", before, comment)
    audit.record(
        session, actor=actor.username, actor_role=actor.role, action="form.adjust", object_type="form_answer",
        object_id=a.id, scope=f"town:{a.town_code}", reason=why, client=client,
        detail={"form": form.id, "period": task.period, "row": r.key, "column": c.no, "key": c.key,
                "old": None if old is None else str(tr.as_cell(old)), "new": str(tr.as_cell(v))},
        at=now,
    )  # fmt: skip
    return answer_view(session, actor, a.id)


def sign(
    session: Session, actor: Actor, answer_id: int, expected_version: int | None = None
) -> dict[str, Any]:
    """Sign the answer off (审核签字) as it stands. Refused (409) while a check of the form fails (a
    check touching a blank manual column is skipped, not failed). Returns :func:`answer_view`."""
    a, task = _load(session, actor, answer_id)
    _may_answer(actor, a, SUBMIT)
    to = _move(a, "sign", expected_version)
    form = get_form(task.form_id)
    _, rows, _, _ = _effective(session, form, a)
    failures = [c for c in rules.run_checks(form, rows) if c.status == "fail"]
    if failures:
        first = "; ".join(f"{c.row}: {c.rule}" for c in failures[:3])
        raise Conflict(
            f"the answer fails {len(failures)} check(s) ({first}{' …' if len(failures) > 3 else ''}): "
            "adjust the figures or correct the registers and compute again",
            extra={"state": a.state, "version": a.version},
        )
    before = a.state
    a.state, a.version = to, a.version + 1
    a.signed_by, a.signed_at = actor.username, ztime.utcnow()
    session.flush()
    step(session, actor, a, "sign", before, None)
    session.flush()
    return answer_view(session, actor, a.id)


def submit(
    session: Session, actor: Actor, answer_id: int, expected_version: int | None = None
) -> dict[str, Any]:
    """Submit the signed answer (报送) to the issuing department: final. It is late when today
    (Beijing time) is after the due date. The cells filled automatically and typed by hand are
    counted now (burden statistics). Returns :func:`answer_view`."""
    a, task = _load(session, actor, answer_id)
    _may_answer(actor, a, SUBMIT)
    to = _move(a, "submit", expected_version)
    form = get_form(task.form_id)
    stored, _, _, latest = _effective(session, form, a)
    t = tr.tally_cells(form, [s.key for s in stored], latest)
    now = ztime.utcnow()
    before = a.state
    a.state, a.version = to, a.version + 1
    a.submitted_by, a.submitted_at = actor.username, now
    a.late = tr.is_late(ztime.to_local(now).date(), task.due_date)
    a.cells_auto, a.cells_typed = t.auto, t.typed
    session.flush()
    step(session, actor, a, "submit", before, f"逾期报送 (应于 {task.due_date} 前)" if a.late else None)
    session.flush()
    return answer_view(session, actor, a.id)
