"""Routes of the shipped forms: the list of definitions and a form rendered as xlsx
(``/api/v1/forms``, ``/api/v1/forms/{form_id}/render``). Both need ``form.read``; a roster (one row
per person) needs ``registry.read`` as well, and its unmasked view ``personal.full_view``."""

from __future__ import annotations

from datetime import date, datetime
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor, require
from zhizhi.core.db import write_lock
from zhizhi.core.http import get_session, permit
from zhizhi.form import service
from zhizhi.form.render import to_xlsx
from zhizhi.form.schemas import FormSummary

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

router = APIRouter(prefix="/api/v1/forms", tags=["form 报表"])

READ = "form.read"


@router.get("", response_model=list[FormSummary])
def list_forms(actor: Actor = Depends(permit(READ))) -> list[dict[str, object]]:
    """The form catalogue: every shipped form with its department, period, row level, the real form
    it is modelled on, and how many columns are computed vs left for manual entry."""
    return service.list_forms()


@router.get(
    "/{form_id}/render",
    response_class=Response,
    responses={200: {"content": {XLSX: {}}, "description": "the filled form (xlsx)"}},
)
def render_form(
    request: Request,
    form_id: str = Path(max_length=60, description="form id (GET /api/v1/forms)"),
    org: str = Query(max_length=40, description="org-unit code the form is filled for (town, district …)"),
    period: str = Query(max_length=20, description="YYYY-MM, YYYY-Qn or YYYY, by the form's period type"),
    as_of: date | None = Query(None, description="statistical date within the period (default: its end)"),
    known_at: datetime | None = Query(None, description="read the registers as known at this instant"),
    full: bool = Query(False, description="unmasked names and IDs on a roster (personal.full_view)"),
    reason: str | None = Query(None, max_length=500, description="why a full view is needed"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(READ)),
) -> Response:
    """The form computed for ``org`` and ``period`` as an xlsx workbook (报表, 校验, 说明 sheets).

    An org unit outside the caller's data scope is 404. Every render is an export: an audit row
    (user, form, org, period, dates) is committed before the file is returned. The outcome of the
    form's checks is in the ``X-Form-Checks`` header and the 校验 sheet."""
    client = request.client.host if request.client else None
    if full:
        require(actor, "personal.full_view")
        reason = service.require_reason(reason)
    result = service.compute(session, actor, form_id, org, period, as_of, known_at, full_view=full)
    data = to_xlsx(result, tag_labels=service.context().tags)
    session.commit()  # end the read transaction before taking the write lock
    with write_lock(request.app.state.engine):
        service.record_export(session, actor, result, len(data), reason=reason, client=client)
        session.commit()
    tally = result.tally()
    name = f"{result.form.id}_{result.org_code}_{result.period.text}.xlsx"
    title = f"{result.form.title}_{result.org_name}_{result.period.text}.xlsx"
    return Response(
        data,
        media_type=XLSX,
        headers={
            "Content-Disposition": f"attachment; filename=\"{name}\"; filename*=UTF-8''{quote(title)}",
            "Cache-Control": "no-store",
            "X-Form-Checks": f"pass={tally['pass']}; fail={tally['fail']}; skipped={tally['skipped']}",
        },
    )
