"""Pydantic models of the form API (报表)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class FormSource(BaseModel):
    """The real form a definition is modelled on (shared/data/forms id or domain/forms.md section)."""

    form: str = Field(examples=["F02"])
    title: str
    url: str


class FormSummary(BaseModel):
    """One form of the catalogue as listed by ``GET /api/v1/forms``."""

    id: str = Field(examples=["mz-dibao-monthly"])
    title: str
    form_number: str | None = Field(None, description="表号, when the source form has one")
    department: str = Field(description="issuing department (org/data/departments.yaml abbr)")
    department_name: str
    period: str = Field(description="month | quarter | year")
    rows: str = Field(description="row level: village | town | grid | person (a roster)")
    org_levels: list[str] = Field(description="org-unit levels the form can be rendered for")
    modelled_on: FormSource
    columns: int
    computed: int = Field(description="columns filled from the registers and events")
    manual: int = Field(description="columns left for manual entry (the registers do not hold them)")
    checks: int = Field(description="cross-column rules (勾稽关系) declared on the form")


# --- catalogue, tasks, answers, outside demands, burden (报表目录、任务、填报、表外要数、负担) ---

_IN = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)
MAX_INT = 2**31 - 1


class CatalogueEntry(BaseModel):
    """One form of the district's catalogue (报表目录) with its admission status."""

    form_id: str
    title: str
    department: str
    department_name: str
    legal_basis: str | None
    period: str
    rows: str
    issuable: bool = Field(description="false for a roster (花名册): rendered, never issued as a task")
    status: str = Field(description="admitted | withdrawn | not_admitted")
    admitted_by: str | None = None
    admitted_at: datetime | None = None
    withdrawn_by: str | None = None
    withdrawn_at: datetime | None = None
    withdraw_reason: str | None = None


class AdmitIn(BaseModel):
    """Admit a form to the catalogue (准入); the legal basis defaults to the definition's."""

    model_config = _IN
    legal_basis: str | None = Field(None, max_length=1000, description="法定依据 (default: the definition's)")


class WithdrawIn(BaseModel):
    """Withdraw a form from the catalogue (清理出目录), with the reason."""

    model_config = _IN
    reason: str = Field(min_length=1, max_length=500)


class TaskIn(BaseModel):
    """Issue a form task to towns (下发报表任务)."""

    model_config = _IN
    form_id: str = Field(min_length=1, max_length=60)
    period: str = Field(min_length=1, max_length=20, description="YYYY-MM, YYYY-Qn or YYYY")
    due_date: date = Field(description="local date, included (late after it)")
    towns: list[str] | None = Field(None, max_length=200, description="town codes; omitted: every town")
    note: str | None = Field(None, max_length=2000)


class TaskAnswerItem(BaseModel):
    """A town's answer as listed under its task."""

    id: int
    town_code: str
    town_name: str
    state: str
    status: str = Field(description="open | overdue | on_time | late")
    submitted_at: datetime | None = None
    late: bool | None = None


class TaskOut(BaseModel):
    """A form task with the answers the caller sees."""

    id: int
    form_id: str
    title: str
    period: str
    department: str
    issued_by: str
    issued_at: datetime
    due_date: date
    note: str | None = None
    answers: list[TaskAnswerItem]


class ComputeIn(BaseModel):
    """Compute the answer (生成) from the registers."""

    model_config = _IN
    as_of: date | None = Field(None, description="statistical date within the period (default: its end)")
    expected_version: int | None = Field(None, ge=1, le=MAX_INT, description="409 if the answer changed")


class AdjustIn(BaseModel):
    """Change one cell with a reason (人工调整, audited)."""

    model_config = _IN
    row: str = Field(min_length=1, max_length=20, description="a unit code, or total / 合计")
    column: str = Field(min_length=1, max_length=60, description="column number or key")
    value: float = Field(description="the figure")
    reason: str = Field(min_length=1, max_length=500)
    expected_version: int | None = Field(None, ge=1, le=MAX_INT)


class MoveIn(BaseModel):
    """Sign (审核签字) or submit (报送) the answer."""

    model_config = _IN
    expected_version: int | None = Field(None, ge=1, le=MAX_INT)


class AnswerOut(BaseModel):
    """One town's answer: state, dates, rows as they stand (computed figures with adjustments laid
    over; a department sees them once submitted), checks, cell tally, adjustments, timeline."""

    model_config = ConfigDict(extra="allow")
    id: int
    task_id: int
    form_id: str
    title: str
    period: str
    town_code: str
    state: str
    status: str
    version: int
    rows: list[dict[str, Any]] | None = None
    checks: dict[str, Any] | None = None
    cells: dict[str, Any] | None = None
    adjustments: list[dict[str, Any]]
    steps: list[dict[str, Any]]


class CompletionOut(BaseModel):
    """Towns × tasks: each cell the answer's state and deadline status (None: not asked)."""

    period: str | None
    today: date
    tasks: list[dict[str, Any]]
    towns: list[dict[str, Any]]
    total: dict[str, int]


class OutsideDemandIn(BaseModel):
    """A demand for data made outside the catalogue (表外要数)."""

    model_config = _IN
    requester: str = Field(min_length=1, max_length=100, description="who asked (unit, office)")
    requester_unit: str | None = Field(None, max_length=16, description="the department's abbreviation")
    what: str = Field(min_length=1, max_length=2000, description="what was asked for")
    asked_on: date
    channel: str = Field(min_length=1, max_length=16, description="form/data/workflow.yaml channels")
    town_code: str | None = Field(None, max_length=12, description="default: your town")
    items: int | None = Field(None, ge=0, le=100_000, description="items (fields, rows) asked for")
    minutes: int | None = Field(None, ge=0, le=100_000, description="time it took")


class OutsideDemandOut(BaseModel):
    """A reported demand outside the catalogue, free text masked."""

    id: int
    town_code: str
    town_name: str
    requester: str
    requester_unit: str | None
    what: str
    asked_on: date
    channel: str
    channel_label: str
    items: int | None
    minutes: int | None
    reported_by: str
    reported_at: datetime


class BurdenOut(BaseModel):
    """Burden statistics per town for a period (减报表/减时间)."""

    period: str
    start: date
    end: date
    towns: list[dict[str, Any]]
    total: dict[str, Any]


# --- data quality of the registers (数据治理; registry routes served here for now) ------------------


class QualityOut(BaseModel):
    """The data quality of an area: score, counts, per-unit rows, problems (masked)."""

    org: str
    name: str
    level: str
    on: date
    score: float | None
    checked: int
    failed: int
    by_dimension: dict[str, int]
    areas: list[dict[str, Any]]
    problems_total: int
    problems: list[dict[str, Any]]


class QualitySendIn(BaseModel):
    """Send one problem to the grid worker as a task."""

    model_config = _IN
    key: str = Field(min_length=5, max_length=64, description="problem key rule:register:id (as listed)")


class QualityRecheckIn(BaseModel):
    """Check an area again and follow up its data-quality tasks."""

    model_config = _IN
    org: str = Field(min_length=6, max_length=16, description="district, town, village or grid code")
