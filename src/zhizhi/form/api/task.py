"""Routes of the catalogue (报表目录/准入), form tasks and answers (报表任务/填报), completion, demands made
outside the catalogue (表外要数) and burden statistics (减报表/减时间), under ``/api/v1/forms``.

Every route declares its permission (core/data/permissions.yaml): ``form.read`` to read (catalogue,
tasks, answers, completion, demands outside the catalogue, burden), ``form.catalogue`` to admit and
withdraw, ``form.issue`` to issue, ``form.submit`` to compute, sign and submit an answer and to report
a demand outside the catalogue, ``form.adjust`` to adjust a cell. The services check the same
permissions and apply the data scope: a task or answer outside it is 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from sqlalchemy.orm import Session

from zhizhi.core.access import Actor
from zhizhi.core.http import get_session, permit
from zhizhi.form.schemas import (
    AdjustIn,
    AdmitIn,
    AnswerOut,
    BurdenOut,
    CatalogueEntry,
    CompletionOut,
    ComputeIn,
    MoveIn,
    OutsideDemandIn,
    OutsideDemandOut,
    TaskIn,
    TaskOut,
    WithdrawIn,
)
from zhizhi.form.service import admission, answer, burden, demand, task
from zhizhi.form.service.admission import ADMIT
from zhizhi.form.service.task import ADJUST, ISSUE, READ, SUBMIT

router = APIRouter(prefix="/api/v1/forms", tags=["form 报表"])

MAX_ID = 2**31 - 1
TaskId = Annotated[int, Path(ge=1, le=MAX_ID, description="form task id")]
AnswerId = Annotated[int, Path(ge=1, le=MAX_ID, description="answer id (one town's answer to a task)")]
FormId = Annotated[str, Path(max_length=60, description="form id (GET /api/v1/forms)")]
Period = Annotated[
    str | None, Query(max_length=20, description="a month 2026-11, quarter 2026-Q4 or year 2026")
]


def _client(request: Request) -> str | None:
    return request.client.host if request.client else None


# --- catalogue ---------------------------------------------------------------------------------------


@router.get("/catalogue", response_model=list[CatalogueEntry])
def catalogue(
    session: Session = Depends(get_session, scope="function"), actor: Actor = Depends(permit(READ))
) -> list[dict[str, Any]]:
    """The district's catalogue (报表目录): every shipped form with its admission status (admitted,
    withdrawn, not_admitted), issuing department, legal basis and period type."""
    return admission.catalogue_table(session, actor)


@router.post("/catalogue/{form_id}/admit", response_model=CatalogueEntry)
def admit(
    request: Request,
    form_id: FormId,
    body: AdmitIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(ADMIT)),
) -> dict[str, Any]:
    """Admit a form to the catalogue (准入), with its legal basis (the definition's by default). Only the
    district; audited. 409 when it is admitted already."""
    return admission.admit(session, actor, form_id, body.legal_basis, client=_client(request))


@router.post("/catalogue/{form_id}/withdraw", response_model=CatalogueEntry)
def withdraw(
    request: Request,
    form_id: FormId,
    body: WithdrawIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(ADMIT)),
) -> dict[str, Any]:
    """Withdraw a form from the catalogue (清理出目录) with a reason: no new task may be issued."""
    return admission.withdraw(session, actor, form_id, body.reason, client=_client(request))


# --- tasks ---------------------------------------------------------------------------------------------


@router.post("/tasks", response_model=TaskOut, status_code=201)
def issue_task(
    body: TaskIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(ISSUE)),
) -> dict[str, Any]:
    """Issue an admitted form to towns (every town when ``towns`` is omitted) for a period with a due
    date. A department issues its own forms, the district any; 409 when the form is not admitted
    or a town was already asked for the same form and period."""
    return task.issue(session, actor, body.form_id, body.period, body.due_date, body.towns, body.note)


@router.get("/tasks", response_model=list[TaskOut])
def list_tasks(
    period: Period = None,
    form_id: str | None = Query(None, max_length=60),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(READ)),
) -> list[dict[str, Any]]:
    """Form tasks in the caller's scope (report period within ``period``), with the answers it sees."""
    return task.list_tasks(session, actor, period, form_id)


@router.get("/tasks/{task_id}", response_model=TaskOut)
def get_task(
    task_id: TaskId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(READ)),
) -> dict[str, Any]:
    """One form task; 404 outside the caller's scope."""
    return task.get_task(session, actor, task_id)


# --- answers -----------------------------------------------------------------------------------------


@router.get("/answers/{answer_id}", response_model=AnswerOut)
def get_answer(
    answer_id: AnswerId,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(READ)),
) -> dict[str, Any]:
    """One town's answer: state, rows as they stand, checks, cells filled automatically vs by hand,
    adjustments and timeline. A department sees the figures once submitted; 404 outside the scope."""
    return answer.answer_view(session, actor, answer_id)


@router.post("/answers/{answer_id}/compute", response_model=AnswerOut)
def compute_answer(
    answer_id: AnswerId,
    body: ComputeIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(SUBMIT)),
) -> dict[str, Any]:
    """Compute the answer from the registers (生成); adjusted cells keep their values. The town only."""
    return answer.compute_answer(session, actor, answer_id, body.as_of, body.expected_version)


@router.post("/answers/{answer_id}/adjust", response_model=AnswerOut)
def adjust_answer(
    request: Request,
    answer_id: AnswerId,
    body: AdjustIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(ADJUST)),
) -> dict[str, Any]:
    """Change one cell with a reason (人工调整): kept beside the computed figure, on the timeline and in
    the audit log. Adjusting a signed answer withdraws the signature."""
    return answer.adjust(
        session, actor, answer_id, body.row, body.column, body.value, body.reason, body.expected_version,
        client=_client(request),
    )  # fmt: skip


@router.post("/answers/{answer_id}/sign", response_model=AnswerOut)
def sign_answer(
    answer_id: AnswerId,
    body: MoveIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(SUBMIT)),
) -> dict[str, Any]:
    """Sign the answer off (审核签字); 409 while a check of the form fails."""
    return answer.sign(session, actor, answer_id, body.expected_version)


@router.post("/answers/{answer_id}/submit", response_model=AnswerOut)
def submit_answer(
    answer_id: AnswerId,
    body: MoveIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(SUBMIT)),
) -> dict[str, Any]:
    """Submit the signed answer (报送): final; late after the due date."""
    return answer.submit(session, actor, answer_id, body.expected_version)


# --- completion, outside demands, burden ---------------------------------------------------------------


@router.get("/completion", response_model=CompletionOut)
def completion(
    period: Period = None,
    form_id: str | None = Query(None, max_length=60),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(READ)),
) -> dict[str, Any]:
    """Completion per town (完成情况): towns × tasks with each answer's state and deadline status."""
    return task.completion(session, actor, period, form_id)


@router.post("/outside-demands", response_model=OutsideDemandOut, status_code=201)
def report_outside_demand(
    body: OutsideDemandIn,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(SUBMIT)),
) -> dict[str, Any]:
    """Report a demand for data made outside the catalogue (表外要数): who asked, what, when, how."""
    return demand.report(
        session, actor, body.requester, body.what, body.asked_on, body.channel, body.town_code,
        body.requester_unit, body.items, body.minutes,
    )  # fmt: skip


@router.get("/outside-demands", response_model=list[OutsideDemandOut])
def list_outside_demands(
    period: Period = None,
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(READ)),
) -> list[dict[str, Any]]:
    """Demands outside the catalogue reported in the caller's scope, made within ``period``."""
    return demand.list_demands(session, actor, period)


@router.get("/burden", response_model=BurdenOut)
def burden_statistics(
    period: str = Query(max_length=20, description="a month 2026-11, quarter 2026-Q4 or year 2026"),
    session: Session = Depends(get_session, scope="function"),
    actor: Actor = Depends(permit(READ)),
) -> dict[str, Any]:
    """Burden statistics per town (减报表/减时间): forms answered, submissions, cells filled
    automatically vs typed by hand, demands outside the catalogue."""
    return burden.burden(session, actor, period)
