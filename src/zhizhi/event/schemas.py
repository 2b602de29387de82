"""Pydantic in/out models of the event domain (事件)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from zhizhi.core import time as ztime

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
EARLIEST = datetime(2000, 1, 1, tzinfo=ztime.LOCAL_TZ)


def no_control_chars(v: str | None) -> str | None:
    """Refuse C0 control characters (NUL etc.; tab, newline and CR are fine): they break XML and
    some databases."""
    if v is not None and _CONTROL.search(v):
        raise ValueError("contains a control character (e.g. NUL); remove it")
    return v


SOURCES = ("grid_app", "web", "open311", "hotline_import", "sensor", "satellite")
Source = Literal["grid_app", "web", "open311", "hotline_import", "sensor", "satellite"]
Urgency = Literal["low", "normal", "high", "urgent"]


class EventCreate(BaseModel):
    """A new report. Give ``lon``/``lat`` (WGS-84 unless ``crs`` is ``gcj02``) or an area code
    (``grid_code``, ``village_code`` or ``town_code``) of a loaded district."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    source: Source = "web"
    category_code: str = Field(min_length=1, max_length=8)
    title: str = Field(min_length=1, max_length=200)
    description: str = Field(default="", max_length=20_000)
    lon: float | None = Field(default=None, ge=-180, le=180)
    lat: float | None = Field(default=None, ge=-90, le=90)
    crs: Literal["wgs84", "gcj02"] = "wgs84"
    address: str | None = Field(default=None, max_length=300)
    grid_code: str | None = None
    village_code: str | None = None
    town_code: str | None = None
    urgency: Urgency | None = None
    reporter_name: str | None = Field(default=None, max_length=64)
    reporter_phone: str | None = Field(default=None, max_length=20)
    reporter_ref: str | None = Field(default=None, max_length=64)
    external_id: str | None = Field(default=None, max_length=64)
    reported_at: datetime | None = None
    is_drill: bool = False

    @field_validator(
        "title", "description", "address", "reporter_name", "reporter_ref", "external_id", "category_code"
    )
    @classmethod
    def _text(cls, v: str | None) -> str | None:
        return no_control_chars(v)

    @field_validator("lon", "lat", mode="before")
    @classmethod
    def _not_bool(cls, v: object) -> object:
        if isinstance(v, bool):
            raise ValueError("must be a number in decimal degrees, not true/false")
        return v

    @field_validator("reported_at")
    @classmethod
    def _when(cls, v: datetime | None) -> datetime | None:
        if v is None:
            return v
        aware = v if v.tzinfo is not None else v.replace(tzinfo=ztime.LOCAL_TZ)
        if aware < EARLIEST:
            raise ValueError("must be on or after 2000-01-01")
        if aware > ztime.utcnow() + timedelta(minutes=5):
            raise ValueError("in the future")
        return v

    @field_validator("reporter_phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        digits = v.replace("-", "").replace(" ", "")
        if not digits.lstrip("+").isdigit() or not 5 <= len(digits) <= 20:
            raise ValueError("phone must be 5-20 digits (dashes and spaces allowed)")
        return digits


class TransitionIn(BaseModel):
    """One move on the loop: ``action`` (accept, reject, register, dispatch, escalate, sign, return, handle,
    verify_pass, verify_fail, close, evaluate, reopen, park, unpark, request_extension,
    approve_extension, deny_extension, supervise, remind) and what that action needs."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)

    action: str = Field(min_length=1, max_length=24)
    comment: str = Field(default="", max_length=5000)
    unit_code: str | None = Field(default=None, description='派遣 target unit code, or "auto" for routing')
    satisfaction: int | None = Field(default=None, ge=1, le=5, description="回访评价 1 (very unhappy) to 5")
    extra_amount: float | None = Field(
        default=None, gt=0, le=1000, description="延期: extra time in the node limit's own unit"
    )
    kind: Literal["leader", "key"] | None = Field(default=None, description="督办 kind when supervising")
    expected_version: int | None = Field(
        default=None, ge=1, le=2**31, description="optimistic lock: 409 if changed"
    )

    @field_validator("comment")
    @classmethod
    def _text(cls, v: str) -> str:
        return no_control_chars(v) or ""


class StepRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    action: str
    from_node: str | None
    to_node: str
    actor_name: str
    actor_role: str
    unit_code: str | None
    target_unit_code: str | None
    comment: str
    limit: str | None
    used: float | None
    overdue: bool
    label: str = Field(default="", description="the row's Chinese label (不予立案, 上传附件, 超时督办 …)")


class EventRead(BaseModel):
    """An event as returned to clients (personal fields masked unless allowed)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    source: str
    external_id: str | None
    category_code: str
    category_name: str | None = None
    title: str
    description: str
    lon: float | None
    lat: float | None
    address: str | None
    location_generated: bool
    out_of_area: bool
    district_code: str
    town_code: str | None
    village_code: str | None
    grid_code: str | None
    reporter_name: str | None
    reporter_phone: str | None
    urgency: str
    node: str
    unit_code: str | None
    suggested_unit_code: str | None
    dispatch_mode: str | None
    reported_at: datetime
    closed_at: datetime | None
    node_entered_at: datetime
    node_deadline: datetime | None
    node_limit: str | None
    due_soon: bool
    overdue: bool
    supervised: bool
    parked: bool
    escalation_level: int
    merged_into_id: int | None
    rework_count: int
    return_count: int
    satisfaction: int | None
    colour: str
    is_drill: bool
    version: int
    held_by_district: bool = False
    """A town center passed it up (上报区级) and the district center dispatches it (the queue's 标记)."""


class EventDetail(EventRead):
    """An event with its timeline and what the caller may do now.

    ``action_labels``: the label of each allowed action at the current node (reject at 待立案 is
    不予立案). ``held_by_district``: a town center passed it up (上报区级) and the district center
    dispatches it. ``auto_unit_code``: the unit 派遣 ``"auto"`` would choose now (权属配置), when the
    caller may dispatch; ``auto_unit_ok``: whether the caller may dispatch there (a town center only
    within its town: otherwise it passes the event up with ``escalate``)."""

    timeline: list[StepRead] = []
    allowed_actions: list[str] = []
    action_labels: dict[str, str] = {}
    auto_unit_code: str | None = None
    auto_unit_ok: bool = False
    attachments: list[dict[str, Any]] = []
    supervisions: list[dict[str, Any]] = []
    tasks: list[dict[str, Any]] = []
    merge_proposals: list[dict[str, Any]] = []


class EventPage(BaseModel):
    total: int
    items: list[EventRead]
    limit: int
    offset: int


class TaskItem(BaseModel):
    """One pre-plan task (联动任务) with what its unit needs to find the event: the event's id, title
    (masked as in the event list), node, category, town and drill flag. ``can_complete``: whether the
    caller may mark it done now (POST /api/v1/tasks/{id}/done). ``done_by``: who marked it done
    (display name and unit), None otherwise; ``overdue``: open and past its deadline now. Times are
    UTC."""

    id: int
    event_id: int
    event_title: str
    event_node: str
    event_category_code: str
    event_town_code: str | None
    event_is_drill: bool
    unit_code: str
    role: str
    task: str
    status: str
    created_at: datetime
    deadline: datetime | None
    done_at: datetime | None
    comment: str
    done_by: str | None = None
    overdue: bool = False
    can_complete: bool


class TaskDoneIn(BaseModel):
    """Body of POST /api/v1/tasks/{id}/done (optional): the completion comment (完成情况说明)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    comment: str = Field("", max_length=4000)


class TaskPage(BaseModel):
    """A page of tasks (GET /api/v1/tasks): ``total`` matching, ``items`` from ``offset``."""

    total: int
    items: list[TaskItem]
    limit: int
    offset: int


class RoutingRuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    category_code: str | None = Field(default=None, max_length=8)
    area_code: str | None = Field(default=None, max_length=16)
    unit_code: str = Field(min_length=1, max_length=40)
    priority: int = Field(default=0, ge=-1000, le=1000)
    note: str = Field(default="", max_length=200)


class RoutingRuleRead(RoutingRuleIn):
    model_config = ConfigDict(from_attributes=True, extra="ignore")

    id: int
    district_code: str
    mode: str


class SupervisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reply: str = Field(min_length=1, max_length=5000)

    @field_validator("reply")
    @classmethod
    def _text(cls, v: str) -> str:
        return no_control_chars(v) or ""
