"""Event tables (事件): events, their timeline, attachments, routing, 督办, merges, pre-plans."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from zhizhi.core.db import Base, UTCDateTime

TS = UTCDateTime()


class Event(Base):
    """One event (事件) on the closed loop (闭环).

    ``unit_code`` is the unit the event is assigned to (set by 派遣, cleared by 回退);
    ``suggested_unit_code`` is what the 权属配置 routing proposed when it was reported.
    The row holds the current node (环节) and the facts the KPIs need (timestamps of each first
    passage, on-time flags, counters); the full history is in :class:`EventStep`. ``version`` is an
    optimistic-lock counter: two actors moving the same event at once, one wins, the other gets 409.
    Personal fields: ``reporter_name``, ``reporter_phone``.

    Indexes serve the hot paths only (scoped lists, the sweep, merges, imports): every index slows the
    bulk intake (docs/benchmarks.md).
    """

    __tablename__ = "event"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        Index("ix_event_town_reported", "town_code", "reported_at"),
        # similar-event merge looks up one category in a latitude band; also serves category filters
        Index("ix_event_category_lat", "category_code", "lat"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str | None] = mapped_column(String(64))
    category_code: Mapped[str] = mapped_column(String(8))
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    address: Mapped[str | None] = mapped_column(String(300))
    location_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    out_of_area: Mapped[bool] = mapped_column(Boolean, default=False)
    district_code: Mapped[str] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str | None] = mapped_column(String(16), index=True)
    reporter_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    reporter_ref: Mapped[str | None] = mapped_column(String(64))
    reporter_name: Mapped[str | None] = mapped_column(String(64))
    reporter_phone: Mapped[str | None] = mapped_column(String(20))
    urgency: Mapped[str] = mapped_column(String(8), default="normal")
    node: Mapped[str] = mapped_column(String(16), index=True)
    unit_code: Mapped[str | None] = mapped_column(String(40), index=True)
    suggested_unit_code: Mapped[str | None] = mapped_column(String(40))
    dispatch_mode: Mapped[str | None] = mapped_column(String(12))
    reported_at: Mapped[datetime] = mapped_column(TS, index=True)
    accepted_at: Mapped[datetime | None] = mapped_column(TS)
    registered_at: Mapped[datetime | None] = mapped_column(TS)
    dispatched_at: Mapped[datetime | None] = mapped_column(TS)
    signed_at: Mapped[datetime | None] = mapped_column(TS)
    handled_at: Mapped[datetime | None] = mapped_column(TS)
    verified_at: Mapped[datetime | None] = mapped_column(TS)
    closed_at: Mapped[datetime | None] = mapped_column(TS)
    evaluated_at: Mapped[datetime | None] = mapped_column(TS)
    node_seq: Mapped[int] = mapped_column(Integer, default=0)
    node_entered_at: Mapped[datetime] = mapped_column(TS)
    node_deadline: Mapped[datetime | None] = mapped_column(TS)
    node_limit: Mapped[str | None] = mapped_column(String(32))
    handle_deadline: Mapped[datetime | None] = mapped_column(TS)
    # when the SLA sweep next needs to look at this event (None: at the next sweep)
    next_check_at: Mapped[datetime | None] = mapped_column(TS, index=True)
    due_soon: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    ever_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    parked: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_level: Mapped[int] = mapped_column(Integer, default=0)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("event.id"), index=True)
    registered_on_time: Mapped[bool | None] = mapped_column(Boolean)
    handled_on_time: Mapped[bool | None] = mapped_column(Boolean)
    closed_on_time: Mapped[bool | None] = mapped_column(Boolean)
    dispatch_count: Mapped[int] = mapped_column(Integer, default=0)
    return_count: Mapped[int] = mapped_column(Integer, default=0)
    rework_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_pending: Mapped[bool] = mapped_column(Boolean, default=False)
    handle_hours: Mapped[float | None] = mapped_column(Float)
    satisfaction: Mapped[int | None] = mapped_column(Integer)
    colour: Mapped[str] = mapped_column(String(8), default="green")
    is_drill: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1)

    # The version is checked on every UPDATE (optimistic lock) but bumped only by people's moves
    # (service.transition, merge), not by the SLA sweep's flag and colour updates, so a console
    # holding an event is not refused just because the sweep recoloured it.
    __mapper_args__ = {"version_id_col": version, "version_id_generator": False}


class EventStep(Base):
    """One row of an event's timeline (流转记录): who moved it from which node to which, when, why,
    and the time used against the node's limit (in the limit's own unit)."""

    __tablename__ = "event_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    at: Mapped[datetime] = mapped_column(TS)
    action: Mapped[str] = mapped_column(String(24))
    from_node: Mapped[str | None] = mapped_column(String(16))
    to_node: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    actor_name: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(24))
    unit_code: Mapped[str | None] = mapped_column(String(40))
    target_unit_code: Mapped[str | None] = mapped_column(String(40))
    comment: Mapped[str] = mapped_column(Text, default="")
    limit: Mapped[str | None] = mapped_column(String(32))
    used: Mapped[float | None] = mapped_column(Float)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Attachment(Base):
    """Metadata of a file attached to an event (附件: before/after photos); bytes live on disk."""

    __tablename__ = "event_attachment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12), default="before")
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(400))
    uploaded_at: Mapped[datetime] = mapped_column(TS)


class RoutingRule(Base):
    """Ownership configuration (权属配置): category × area → responsible unit.

    ``category_code`` may be a 大类 (2 digits), a leaf (4 digits) or NULL (any); ``area_code`` a town,
    village or grid code or NULL (whole district). The most specific match wins, then ``priority``.
    ``mode``: horizontal 横向分拨 (district department) or vertical 纵向交办 (town center).
    """

    __tablename__ = "routing_rule"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    category_code: Mapped[str | None] = mapped_column(String(8))
    area_code: Mapped[str | None] = mapped_column(String(16))
    unit_code: Mapped[str] = mapped_column(String(40))
    mode: Mapped[str] = mapped_column(String(12))
    priority: Mapped[int] = mapped_column(Integer, default=0)
    note: Mapped[str] = mapped_column(String(200), default="")


class Supervision(Base):
    """A 督办 order: ``kind`` overdue 超时督办 (automatic), leader 领导督办, key 重点督办 (by hand).

    Unique per (event, node passage, kind, level) so the SLA sweep can run any number of times.
    """

    __tablename__ = "supervision"
    __table_args__ = (UniqueConstraint("event_id", "node_seq", "kind", "level"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    node_seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    level: Mapped[int] = mapped_column(Integer, default=1)
    reason: Mapped[str] = mapped_column(Text, default="")
    target_unit_code: Mapped[str | None] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(TS)
    issued_by: Mapped[str] = mapped_column(String(64))
    reply_due_at: Mapped[datetime | None] = mapped_column(TS)
    reply: Mapped[str | None] = mapped_column(Text)
    replied_at: Mapped[datetime | None] = mapped_column(TS)
    replied_by: Mapped[str | None] = mapped_column(String(64))


class MergeProposal(Base):
    """A proposed similar-event merge (相似案件合并): same category, near in space and time."""

    __tablename__ = "merge_proposal"
    __table_args__ = (UniqueConstraint("event_id", "parent_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    distance_m: Mapped[float] = mapped_column(Float)
    hours_apart: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), default="proposed")
    created_at: Mapped[datetime] = mapped_column(TS)
    decided_by: Mapped[str | None] = mapped_column(String(64))


class PrePlan(Base):
    """A pre-plan (预案): trigger categories and the (unit, role, task) list it starts."""

    __tablename__ = "preplan"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    trigger_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    tasks: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class EventTask(Base):
    """A task created on an event by a pre-plan, tracked on the same loop (联动任务)."""

    __tablename__ = "event_task"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    preplan_id: Mapped[int | None] = mapped_column(ForeignKey("preplan.id"))
    unit_code: Mapped[str] = mapped_column(String(40), index=True)
    role: Mapped[str] = mapped_column(String(24))
    task: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(TS)
    deadline: Mapped[datetime | None] = mapped_column(TS)
    done_at: Mapped[datetime | None] = mapped_column(TS)
    comment: Mapped[str] = mapped_column(Text, default="")
    # who marked it done (as EventStep records an actor: "display name（unit code）"); None while open
    # or when it closed with its event
    done_by: Mapped[str | None] = mapped_column(String(160))
    # when the SLA sweep noted on the event's timeline that the task is past its deadline (once)
    reminded_at: Mapped[datetime | None] = mapped_column(TS)


class JobRun(Base):
    """One run of a background job (e.g. the SLA sweep 时限巡检): status, counts, errors."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job: Mapped[str] = mapped_column(String(40), index=True)
    started_at: Mapped[datetime] = mapped_column(TS)
    finished_at: Mapped[datetime | None] = mapped_column(TS)
    as_of: Mapped[datetime | None] = mapped_column(TS)
    status: Mapped[str] = mapped_column(String(12), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
