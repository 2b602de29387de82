"""Register tables (台账) of 一标三实: residents (实有人口), households (户), houses (实有房屋) and units
(实有单位), with their history.

Each register has an *identity* table (the natural key that deduplicates: citizen ID, 户号, house
code, credit code) and a *version* table of bitemporal rows: the values in force over valid time
``[valid_from, valid_to)`` as believed from ``recorded_at`` until ``superseded_at`` (None: still
believed). Every change is kept in the append-only :class:`RegisterChange` log (who, when, source,
old and new values); version rows are the indexed projection of that log, so an as-of query is one
SQL query. Disagreements between sources are :class:`RegisterConflict` rows. See
docs/adr/0005-register-history.md.

Personal fields: ``citizen_id``, ``name``, ``phone``, ``address`` of residents; ``legal_rep`` and
``phone`` of units; the values inside changes and conflicts. They are masked on every output.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from zhizhi.core.db import Base, UTCDateTime

TS = UTCDateTime()


class _Version:
    """Columns every version row has: valid time (local dates) and recording time (UTC), and where the
    entity is (org-unit codes: district 6 digits, town and village 12, grid 15)."""

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(TS)
    superseded_at: Mapped[datetime | None] = mapped_column(TS)
    address: Mapped[str | None] = mapped_column(String(300))
    district_code: Mapped[str | None] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(12))
    village_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str | None] = mapped_column(String(16))


# --- residents (实有人口) -----------------------------------------------------------------------------


class Resident(Base):
    """A person on the register (人口), one row per citizen ID (公民身份号码, GB 11643, normalized to 18
    characters). ``sex`` and ``birth_date`` are derived from the ID and never change with it.
    ``generated`` marks synthetic people (demo population)."""

    __tablename__ = "resident"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    citizen_id: Mapped[str] = mapped_column(String(18), unique=True)
    sex: Mapped[str] = mapped_column(String(6))
    birth_date: Mapped[date] = mapped_column(Date)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)


class ResidentVersion(_Version, Base):
    """The values of one resident over an interval of valid time (see module docstring).

    ``ethnicity``: GB 3304 code; ``relation``: GB/T 4761 relation to the household head; ``status``:
    active 在册 / moved_out 迁出 / deceased 死亡 since ``status_date``; ``tags``: ``|code|code|``
    (rules.encode_tags) so a tag filter is a portable LIKE.
    """

    __tablename__ = "resident_version"
    __table_args__ = (
        Index("ix_resident_version_town_valid", "town_code", "valid_from"),
        Index("ix_resident_version_grid_valid", "grid_code", "valid_from"),
    )

    resident_id: Mapped[int] = mapped_column(ForeignKey("resident.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(64))
    ethnicity: Mapped[str | None] = mapped_column(String(2))
    phone: Mapped[str | None] = mapped_column(String(20))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("household.id"), index=True)
    relation: Mapped[str | None] = mapped_column(String(2))
    status: Mapped[str | None] = mapped_column(String(10))
    status_date: Mapped[date | None] = mapped_column(Date)
    tags: Mapped[str] = mapped_column(String(400), default="")


# --- households (户) ------------------------------------------------------------------------------------


class Household(Base):
    """A household (户), one row per household number (户号). Members are the residents whose version
    carries this ``household_id``, each with a relation to the head."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)


class HouseholdVersion(_Version, Base):
    """The values of one household over an interval of valid time: head (户主), kind (家庭户/集体户),
    status active or cancelled (注销)."""

    __tablename__ = "household_version"
    __table_args__ = (Index("ix_household_version_town_valid", "town_code", "valid_from"),)

    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    head_id: Mapped[int | None] = mapped_column(ForeignKey("resident.id"))
    kind: Mapped[str | None] = mapped_column(String(12))
    status: Mapped[str | None] = mapped_column(String(10))


# --- houses (实有房屋) ------------------------------------------------------------------------------------


class House(Base):
    """A house or building (房屋), one row per house code (房屋编码 / standard address code)."""

    __tablename__ = "house"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)


class HouseVersion(_Version, Base):
    """The values of one house over an interval of valid time: use (用途) and structure (结构) codes of
    GB/T 17986.1, floors, and a WGS-84 point (lon/lat, degrees)."""

    __tablename__ = "house_version"
    __table_args__ = (Index("ix_house_version_town_valid", "town_code", "valid_from"),)

    house_id: Mapped[int] = mapped_column(ForeignKey("house.id"), index=True)
    use: Mapped[str | None] = mapped_column(String(2))
    structure: Mapped[str | None] = mapped_column(String(2))
    floors: Mapped[int | None] = mapped_column(Integer)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(10))


# --- units (实有单位) -------------------------------------------------------------------------------------


class RegisterUnit(Base):
    """An enterprise or organisation (单位) on the register: unified social credit code (统一社会信用代码,
    GB 32100) when it has one, else the organisation code (组织机构代码, GB 11714, 9 characters as the
    validator normalizes it, without the hyphen; for a unit with a credit code, the one inside it).
    Not an org unit of the platform (those are ``org_unit``)."""

    __tablename__ = "register_unit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uscc: Mapped[str | None] = mapped_column(String(18), unique=True)
    org_code: Mapped[str | None] = mapped_column(String(10), index=True)
    generated: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(TS)


class RegisterUnitVersion(_Version, Base):
    """The values of one unit over an interval of valid time: name, GB/T 4754-2017 industry code,
    legal representative (法定代表人, personal), phone, employees, WGS-84 point, status active/closed."""

    __tablename__ = "register_unit_version"
    __table_args__ = (Index("ix_register_unit_version_town_valid", "town_code", "valid_from"),)

    unit_id: Mapped[int] = mapped_column(ForeignKey("register_unit.id"), index=True)
    name: Mapped[str | None] = mapped_column(String(200))
    industry: Mapped[str | None] = mapped_column(String(5))
    legal_rep: Mapped[str | None] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    employees: Mapped[int | None] = mapped_column(Integer)
    lon: Mapped[float | None] = mapped_column(Float)
    lat: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str | None] = mapped_column(String(10))


# --- history and conflicts ---------------------------------------------------------------------------


class RegisterChange(Base):
    """One recorded change of one entity (append-only, never updated or deleted): the fields it set
    (``new``), their values in force on ``valid_from`` before it (``old``), who recorded it and when,
    and the source (supplier, e.g. ``import:mzj-dibao``, ``grid:500118001001001``, ``dept:MZJ``) with
    an optional ``ref`` (file, batch, task). ``conflict_id``: the conflict this change resolved."""

    __tablename__ = "register_change"
    __table_args__ = (Index("ix_register_change_entity", "entity", "entity_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(12))
    entity_id: Mapped[int] = mapped_column(Integer)
    valid_from: Mapped[date] = mapped_column(Date)
    recorded_at: Mapped[datetime] = mapped_column(TS)
    actor: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(80))
    ref: Mapped[str | None] = mapped_column(String(200))
    new: Mapped[dict[str, Any]] = mapped_column(JSON)
    old: Mapped[dict[str, Any]] = mapped_column(JSON)
    conflict_id: Mapped[int | None] = mapped_column(Integer)


class RegisterConflict(Base):
    """Two sources disagree on one field (数据冲突): the ``current`` value (set by ``current_source`` in
    change ``current_change_id``) stays until a person resolves: ``open`` → ``accepted`` (the
    proposed value is applied by change ``applied_change_id``) or ``rejected``. ``linked`` holds the
    proposed values of fields that go with this one (a status's date, a village's grid and address).
    The entity's location codes are copied so that conflicts are scoped like the register."""

    __tablename__ = "register_conflict"
    __table_args__ = (
        Index("ix_register_conflict_entity", "entity", "entity_id"),
        Index("ix_register_conflict_status_town", "status", "town_code"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    entity: Mapped[str] = mapped_column(String(12))
    entity_id: Mapped[int] = mapped_column(Integer)
    field: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date)
    current: Mapped[Any] = mapped_column(JSON)
    current_source: Mapped[str | None] = mapped_column(String(80))
    current_change_id: Mapped[int | None] = mapped_column(Integer)
    proposed: Mapped[Any] = mapped_column(JSON)
    linked: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    proposed_source: Mapped[str] = mapped_column(String(80))
    proposed_ref: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(TS)
    district_code: Mapped[str | None] = mapped_column(String(6))
    town_code: Mapped[str | None] = mapped_column(String(12))
    grid_code: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(10), default="open")
    resolved_by: Mapped[str | None] = mapped_column(String(64))
    resolved_at: Mapped[datetime | None] = mapped_column(TS)
    note: Mapped[str | None] = mapped_column(String(300))
    applied_change_id: Mapped[int | None] = mapped_column(Integer)


# --- import mappings (导入列映射) ---------------------------------------------------------------------


class ImportMapping(Base):
    """A remembered column mapping of an import source (导入列映射): ``name`` (by default the source's
    key, e.g. ``mzj-dibao``), the register ``kind`` it imports, and ``columns``: normalised header
    text → field (registry.intake.header; ``ignore`` for a column read over). Proposed from the
    header synonyms on the first import and saved when that import is written; later imports of
    the same source use it. Who saved or last changed it and when."""

    __tablename__ = "register_import_mapping"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    kind: Mapped[str] = mapped_column(String(12))
    columns: Mapped[dict[str, str]] = mapped_column(JSON)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(TS)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(TS)
