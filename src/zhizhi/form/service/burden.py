"""Burden statistics (基层报表负担) per town and period: forms answered, submissions (late ones among
them), cells filled by the platform vs typed by hand, and demands made outside the catalogue
(表外要数) — the figures the district reports as 减报表 (fewer forms, fewer submissions) and 减时间
(fewer cells typed).

Counted by the day things happened, whatever the forms' own periods: a submission by its local
date, a demand outside the catalogue by the day it was made. Cells are counted once, at submission
(form/rules/task.py ``tally_cells``): every cell of a manual column and every adjusted cell is typed,
the rest is automatic.

Permission: ``form.read``; the district sees every town, a town itself, a department the answers
to its own tasks and the demands attributed to it.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import FieldError, Forbidden, InvalidInput
from zhizhi.form.models import FormAnswer, FormTask
from zhizhi.form.rules import task as tr
from zhizhi.form.service import demand
from zhizhi.form.service.task import READ, department_of, district_towns, town_names

COUNTS = (
    "forms_answered", "submissions", "late", "cells_auto", "cells_typed", "outside_demands",
    "outside_items", "outside_minutes",
)  # fmt: skip
"""The figures of each town (and the total), in output order; ``auto_share`` follows them."""


def _utc_midnight(day: Any) -> datetime:
    return datetime.combine(day, time(), tzinfo=ztime.LOCAL_TZ).astimezone(UTC)


def burden(session: Session, actor: Actor, period: str) -> dict[str, Any]:
    """Burden statistics of ``period`` (a month ``2026-11``, quarter ``2026-Q4`` or year ``2026``).

    Returns ``{period, start, end, towns: [{code, name, forms_answered, submissions, late,
    cells_auto, cells_typed, outside_demands, outside_items, outside_minutes, auto_share}], total}``
    where ``forms_answered`` counts distinct forms submitted, ``submissions`` answers submitted,
    ``auto_share`` the % of cells filled automatically (None without cells). Raises InvalidInput (bad
    period), Forbidden (a grid: towns are the unit)."""
    require(actor, READ)
    try:
        p = tr.parse_any_period(period)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("period", str(e))]) from None
    sc = scope_of(actor)
    if sc.kind == "grid":
        raise Forbidden("burden statistics are kept per town (镇街); a grid has no form tasks")
    q = (
        select(FormAnswer.town_code, FormTask.form_id, FormAnswer.late)
        .add_columns(FormAnswer.cells_auto, FormAnswer.cells_typed)
        .join(FormTask, FormTask.id == FormAnswer.task_id)
        .where(
            FormTask.district_code == actor.district_code,
            FormAnswer.state == "submitted",
            FormAnswer.submitted_at >= _utc_midnight(p.start),
            FormAnswer.submitted_at < _utc_midnight(p.end + timedelta(days=1)),
        )
    )  # fmt: skip
    if sc.kind == "town":
        q = q.where(FormAnswer.town_code == sc.code)
    elif sc.kind == "unit":
        q = q.where(FormTask.department == department_of(actor))
    submitted = session.execute(q).all()
    asked = demand.scoped(session, actor, p.start, p.end)
    if sc.kind == "district":
        towns = district_towns(session, actor.district_code)
    else:
        seen = {r[0] for r in submitted} | {d.town_code for d in asked}
        codes = [sc.code] if sc.kind == "town" else sorted(seen)
        names = town_names(session, codes)
        towns = [(c, names.get(c, c)) for c in codes]
    per: dict[str, dict[str, Any]] = {c: dict.fromkeys(COUNTS, 0) for c, _ in towns}
    forms: dict[str, set[str]] = {c: set() for c, _ in towns}
    for town, form_id, late, auto, typed in submitted:
        if town not in per:
            continue
        row = per[town]
        forms[town].add(form_id)
        row["submissions"] += 1
        row["late"] += bool(late)
        row["cells_auto"] += auto or 0
        row["cells_typed"] += typed or 0
    for d in asked:
        if d.town_code in per:
            row = per[d.town_code]
            row["outside_demands"] += 1
            row["outside_items"] += d.items or 0
            row["outside_minutes"] += d.minutes or 0
    total: dict[str, Any] = dict.fromkeys(COUNTS, 0)
    rows = []
    all_forms: set[str] = set()
    for code, name in towns:
        row = per[code]
        row["forms_answered"] = len(forms[code])
        all_forms |= forms[code]
        for k in COUNTS:
            total[k] += row[k]
        share = tr.auto_share(row["cells_auto"], row["cells_typed"])
        rows.append({"code": code, "name": name, **row, "auto_share": share})
    total["forms_answered"] = len(all_forms)  # distinct forms over all towns, not a sum
    total["auto_share"] = tr.auto_share(total["cells_auto"], total["cells_typed"])
    return {"period": p.text, "start": p.start, "end": p.end, "towns": rows, "total": total}
