"""The audit log table (审计日志表) and the audited acts."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from zhizhi.core.audit.canonical import HASHED_FIELDS, format_at
from zhizhi.core.db import Base, UTCDateTime


class Action(StrEnum):
    """Audited acts (审计事项). :func:`record` accepts any dotted lower-case name; these are the
    ones the platform writes."""

    personal_full_view = "personal.full_view"
    """完整查看个人信息: personal fields shown unmasked."""
    export = "export"
    """导出: rows written to a file or download."""
    login = "login"
    """登录成功."""
    login_failed = "login_failed"
    """登录失败 (``actor`` is the name that was typed)."""
    token_create = "token.create"
    """签发 API 令牌."""
    grant = "user.grant"
    """授予保密类事件查看权限."""
    revoke_grant = "user.revoke_grant"
    """收回保密类事件查看权限."""


class AuditRow(Base):
    """One audit row (审计记录). Never updated or deleted: see docs/adr/0004-audit-hash-chain.md.

    ``id`` is 1, 2, 3… with no gap, assigned by :func:`record` under the chain lock. ``object_id`` is
    the object's internal id, never a personal identifier (身份证号, phone): the log is kept for
    years and cannot be edited. ``scope`` is the data scope the act covered (``town:500118001``, a
    filter); ``client`` the caller's network address.
    """

    __tablename__ = "audit_log"
    __table_args__ = (
        # safety net under the lock: two rows can never share a predecessor (no fork of the chain)
        UniqueConstraint("prev_hash"),
        Index("ix_audit_log_object", "object_type", "object_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)
    actor_role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(64))
    object_id: Mapped[str | None] = mapped_column(String(64))
    scope: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str | None] = mapped_column(Text)
    client: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[Any] = mapped_column(JSON, nullable=True)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))

    def fields(self) -> dict[str, Any]:
        """This row's canonical fields (the object :func:`canonical_json` writes)."""
        values = [getattr(self, k) for k in HASHED_FIELDS]
        values[1] = format_at(self.at)
        return dict(zip(HASHED_FIELDS, values, strict=True))
