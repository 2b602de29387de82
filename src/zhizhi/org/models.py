"""Organisation tables (组织): divisions, grids, units and staff."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from zhizhi.core.db import Base, UTCDateTime


class OrgUnit(Base):
    """One node of the organisation tree (组织节点).

    ``level`` is one of: district 区县, town 镇街, village 村/社区, grid 网格, department 区级部门,
    board 板块 (one of the 4 of a town), post 岗位, center 指挥中心/城运中心.
    Divisions carry their 12-digit NBS statistical code (统计用区划代码); grids carry the village code
    plus a 3-digit serial. Geometry is WGS-84 WKB; ``generated`` says it is an approximation
    built by zhizhi (no public boundary exists) rather than a surveyed boundary.
    """

    __tablename__ = "org_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    level: Mapped[str] = mapped_column(String(16), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("org_unit.id"), index=True)
    district_code: Mapped[str] = mapped_column(String(6), index=True)
    town_code: Mapped[str | None] = mapped_column(String(12), index=True)
    urban_rural_type: Mapped[str | None] = mapped_column(String(3))
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    geom: Mapped[bytes | None] = mapped_column(LargeBinary)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    point_generated: Mapped[bool] = mapped_column(Boolean, default=False)
    attrs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Staff(Base):
    """A person who works on the loop (工作人员) with one role at one org unit.

    Roles: grid_worker 网格员, grid_leader 网格长, town_duty 镇街指挥中心值班员, board_staff 板块岗位人员,
    dept_handler 部门处置人, center_duty 城运中心值班员, center_chief 城运中心值班长, leader 领导.
    ``phone`` is personal data (masked on output).
    """

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(24), index=True)
    org_unit_id: Mapped[int] = mapped_column(ForeignKey("org_unit.id"), index=True)
    phone: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # account (账号): argon2 hash of the password (None: cannot sign in with a password), lockout
    password_hash: Mapped[str | None] = mapped_column(String(200))
    failed_logins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # confidential event categories (保密类事件, e.g. 2404 未成年人保护) granted to this user in person
    # (nullable, no server default: PostgreSQL cannot compare json values, which Alembic's check needs)
    grants: Mapped[list[str] | None] = mapped_column(JSON, default=list)
