"""The form catalogue of a district (报表目录) and admission (准入): a form enters the catalogue with its
issuing department, legal basis and period before any department may issue it to towns, and may be
withdrawn (清理出目录) when it is no longer needed. Admissions and withdrawals are audited.

Permissions: reading the catalogue needs ``form.read``; admitting and withdrawing need
``form.catalogue`` (the district centre) and the district's data scope.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import audit
from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput
from zhizhi.form import rules
from zhizhi.form.models import FormCatalogueEntry
from zhizhi.form.rules import task as task_rules
from zhizhi.form.service import catalogue, get_form

READ = "form.read"
ADMIT = "form.catalogue"


def entry_of(session: Session, district: str, form_id: str) -> FormCatalogueEntry | None:
    """The catalogue row of ``form_id`` in ``district`` (admitted or withdrawn), or None."""
    return session.scalar(
        select(FormCatalogueEntry).where(
            FormCatalogueEntry.district_code == district, FormCatalogueEntry.form_id == form_id
        )
    )


def require_admitted(session: Session, district: str, form: rules.FormDef) -> FormCatalogueEntry:
    """The admitted catalogue row of ``form``; Conflict (409) when it is not in the district's
    catalogue or was withdrawn: a form outside the catalogue is not issued (报表准入)."""
    e = entry_of(session, district, form.id)
    if e is None or e.status != "admitted":
        why = "was withdrawn from" if e is not None else "is not in"
        raise Conflict(
            f'form "{form.id}" {why} the catalogue (报表目录) of district {district}: '
            "it must be admitted before it is issued"
        )
    return e


def _view(form: rules.FormDef, e: FormCatalogueEntry | None) -> dict[str, Any]:
    return {
        "form_id": form.id,
        "title": form.title,
        "department": form.department,
        "department_name": form.department_name,
        "legal_basis": e.legal_basis if e is not None else form.legal_basis,
        "period": form.period,
        "rows": form.rows,
        "issuable": form.rows != "person",
        "status": e.status if e is not None else "not_admitted",
        "admitted_by": e.admitted_by if e is not None else None,
        "admitted_at": e.admitted_at if e is not None else None,
        "withdrawn_by": e.withdrawn_by if e is not None else None,
        "withdrawn_at": e.withdrawn_at if e is not None else None,
        "withdraw_reason": e.withdraw_reason if e is not None else None,
    }


def catalogue_table(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """The district's catalogue: every shipped form definition with its admission status
    (``admitted`` | ``withdrawn`` | ``not_admitted``), who admitted or withdrew it and when, its
    issuing department, legal basis, period type and whether it can be issued as a task (a roster
    cannot). Ordered by form id."""
    require(actor, READ)
    rows = session.scalars(
        select(FormCatalogueEntry).where(FormCatalogueEntry.district_code == actor.district_code)
    )
    by_id = {e.form_id: e for e in rows}
    return [_view(f, by_id.get(f.id)) for f in sorted(catalogue().values(), key=lambda f: f.id)]


def _district_only(actor: Actor, what: str) -> None:
    require(actor, ADMIT)
    if scope_of(actor).kind != "district":
        raise Forbidden(f"only the district {what} (报表目录 is kept by the district)")


def admit(
    session: Session, actor: Actor, form_id: str, legal_basis: str | None = None, client: str | None = None
) -> dict[str, Any]:
    """Admit form ``form_id`` to the actor's district catalogue (准入), with ``legal_basis`` or the
    definition's; a withdrawn form is admitted again. Writes an audit row (``form.admit``).
    Raises NotFound (unknown form), InvalidInput (no legal basis), Conflict (already admitted),
    Forbidden (permission, or not the district)."""
    _district_only(actor, "admits forms")
    form = get_form(form_id)
    try:
        basis = task_rules.admission_basis(form, legal_basis)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("legal_basis", str(e))]) from None
    now = ztime.utcnow()
    row = entry_of(session, actor.district_code, form.id)
    if row is not None and row.status == "admitted":
        raise Conflict(f'form "{form.id}" is in the catalogue already (admitted by {row.admitted_by})')
    if row is None:
        row = FormCatalogueEntry(district_code=actor.district_code, form_id=form.id)
        session.add(row)
    row.title, row.department, row.legal_basis, row.period = form.title, form.department, basis, form.period
    row.status, row.admitted_by, row.admitted_at = "admitted", actor.username, now
    row.withdrawn_by = row.withdrawn_at = row.withdraw_reason = None
    session.flush()
    audit.record(
        session, actor=actor.username, actor_role=actor.role, action="form.admit", object_type="form",
        object_id=form.id, scope=f"district:{actor.district_code}", client=client,
        detail={"department": form.department, "period": form.period, "legal_basis": basis}, at=now,
    )  # fmt: skip
    return _view(form, row)


def withdraw(
    session: Session, actor: Actor, form_id: str, reason: str, client: str | None = None
) -> dict[str, Any]:
    """Withdraw form ``form_id`` from the catalogue (清理出目录) with a reason (at least 4 characters):
    no new task may be issued; tasks already issued run on. Writes an audit row (``form.withdraw``).
    Raises NotFound, InvalidInput (reason), Conflict (not admitted), Forbidden."""
    _district_only(actor, "withdraws forms")
    form = get_form(form_id)
    try:
        why = task_rules.check_text(reason, "reason", task_rules.workflow().min_reason, 500)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("reason", str(e))]) from None
    row = entry_of(session, actor.district_code, form.id)
    if row is None or row.status != "admitted":
        raise Conflict(f'form "{form.id}" is not admitted to the catalogue; nothing to withdraw')
    now = ztime.utcnow()
    row.status, row.withdrawn_by, row.withdrawn_at = "withdrawn", actor.username, now
    row.withdraw_reason = why
    session.flush()
    audit.record(
        session, actor=actor.username, actor_role=actor.role, action="form.withdraw", object_type="form",
        object_id=form.id, scope=f"district:{actor.district_code}", reason=why, client=client, at=now,
    )  # fmt: skip
    return _view(form, row)
