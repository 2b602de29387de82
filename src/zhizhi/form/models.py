"""Tables of the form domain (报表): the catalogue (报表目录/准入), form tasks issued to towns, each
town's answer with its timeline and cell adjustments, and demands made outside the catalogue (表外要数).

A form itself is not stored: it is declared as data (form/data/forms/*.yaml) and computed on demand
from the registers (read as of a date and as known at an instant) and the events. An answer stores
the figures it computed with their ``(as_of, known_at)``, so the same numbers can be computed again
(docs/adr/0005-register-history.md); what a person changed is in :class:`FormAdjustment`, never
written over the computed figures. Every render is also an export in the audit log (core/audit/).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhizhi.core.db import Base, UTCDateTime

TS = UTCDateTime()


class FormCatalogueEntry(Base):
    """One form admitted to a district's catalogue (报表目录, 准入): a form must be ``admitted`` before a
    department can issue it. The issuing department, legal basis (法定依据) and period type are copied
    from the definition when admitted (the legal basis may be given at admission when the definition
    has none). ``withdrawn`` (清理出目录) stops new tasks; tasks already issued run on."""

    __tablename__ = "form_catalogue"
    __table_args__ = (UniqueConstraint("district_code", "form_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6))
    form_id: Mapped[str] = mapped_column(String(60))
    title: Mapped[str] = mapped_column(String(200))
    department: Mapped[str] = mapped_column(String(16))
    legal_basis: Mapped[str] = mapped_column(Text)
    period: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(10))
    admitted_by: Mapped[str] = mapped_column(String(64))
    admitted_at: Mapped[datetime] = mapped_column(TS)
    withdrawn_by: Mapped[str | None] = mapped_column(String(64))
    withdrawn_at: Mapped[datetime | None] = mapped_column(TS)
    withdraw_reason: Mapped[str | None] = mapped_column(Text)


class FormTask(Base):
    """A form task (报表任务): a department (or the district) asks towns to answer form ``form_id``
    for ``period`` (canonical text: ``2026-11``, ``2026-Q4``, ``2026``) by ``due_date`` (local date,
    included). One :class:`FormAnswer` per town addressed."""

    __tablename__ = "form_task"
    __table_args__ = (Index("ix_form_task_form_period", "form_id", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    form_id: Mapped[str] = mapped_column(String(60))
    period: Mapped[str] = mapped_column(String(10))
    department: Mapped[str] = mapped_column(String(16))
    issued_by: Mapped[str] = mapped_column(String(64))
    issued_unit: Mapped[str] = mapped_column(String(40))
    issued_at: Mapped[datetime] = mapped_column(TS)
    due_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)


class FormAnswer(Base):
    """One town's answer to a task (填报), moving issued → computed → adjusted → signed → submitted
    (form/rules/task.py). ``rows``: the computed figures (``[{code, name, total, values}]``, values
    by column, None for a blank cell) read as of ``as_of`` and as known at ``known_at``; the figures a
    person changed are :class:`FormAdjustment` rows laid over them. ``late``: submitted after the
    due date. ``cells_auto`` / ``cells_typed``: cells filled by the platform vs typed by hand
    (manual columns and adjusted cells), counted at submission (burden statistics)."""

    __tablename__ = "form_answer"
    __table_args__ = (
        UniqueConstraint("task_id", "town_code"),
        Index("ix_form_answer_town_state", "town_code", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("form_task.id"), index=True)
    town_code: Mapped[str] = mapped_column(String(12))
    state: Mapped[str] = mapped_column(String(10))
    as_of: Mapped[date | None] = mapped_column(Date)
    known_at: Mapped[datetime | None] = mapped_column(TS)
    computed_at: Mapped[datetime | None] = mapped_column(TS)
    computed_by: Mapped[str | None] = mapped_column(String(64))
    rows: Mapped[Any] = mapped_column(JSON, nullable=True)
    signed_by: Mapped[str | None] = mapped_column(String(64))
    signed_at: Mapped[datetime | None] = mapped_column(TS)
    submitted_by: Mapped[str | None] = mapped_column(String(64))
    submitted_at: Mapped[datetime | None] = mapped_column(TS, index=True)
    late: Mapped[bool | None] = mapped_column(Boolean)
    cells_auto: Mapped[int | None] = mapped_column(Integer)
    cells_typed: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer, default=1)


class FormAnswerStep(Base):
    """The timeline of an answer (填报记录): one row per state change (issue, compute, adjust, sign,
    submit), who and when, from and to which state, and a short comment."""

    __tablename__ = "form_answer_step"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("form_answer.id"), index=True)
    at: Mapped[datetime] = mapped_column(TS)
    action: Mapped[str] = mapped_column(String(12))
    from_state: Mapped[str | None] = mapped_column(String(10))
    to_state: Mapped[str] = mapped_column(String(10))
    actor: Mapped[str] = mapped_column(String(64))
    actor_role: Mapped[str] = mapped_column(String(32))
    comment: Mapped[str | None] = mapped_column(Text)


class FormAdjustment(Base):
    """One cell of an answer changed by a person (人工调整), with the reason: row (a unit's code, or
    ``total`` for 合计), column number and key, the value before (computed or an earlier adjustment)
    and after. Also written to the audit log (core.audit.record, action ``form.adjust``)."""

    __tablename__ = "form_adjustment"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    answer_id: Mapped[int] = mapped_column(ForeignKey("form_answer.id"), index=True)
    row_code: Mapped[str] = mapped_column(String(16))
    column_no: Mapped[int] = mapped_column(Integer)
    column_key: Mapped[str] = mapped_column(String(60))
    old_value: Mapped[float | None] = mapped_column(Float)
    new_value: Mapped[float] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(TS)


class OutsideDemand(Base):
    """A demand for data made outside the catalogue (表外要数), reported by a town: who asked
    (``requester``, and the department's abbreviation when it is one), what, on which day, through
    which channel (form/data/workflow.yaml), and optionally how many items and minutes it took."""

    __tablename__ = "form_outside_demand"
    __table_args__ = (Index("ix_form_outside_demand_town_asked", "town_code", "asked_on"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    district_code: Mapped[str] = mapped_column(String(6))
    town_code: Mapped[str] = mapped_column(String(12))
    requester: Mapped[str] = mapped_column(String(100))
    requester_unit: Mapped[str | None] = mapped_column(String(16))
    what: Mapped[str] = mapped_column(Text)
    asked_on: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(16))
    items: Mapped[int | None] = mapped_column(Integer)
    minutes: Mapped[int | None] = mapped_column(Integer)
    reported_by: Mapped[str] = mapped_column(String(64))
    reported_at: Mapped[datetime] = mapped_column(TS)
