"""Reading the records of an area for the quality checks (质量检查读取台账): the residents, households,
houses and units located in an org unit as of a day, as the plain records of registry/quality, and the
people elsewhere in the district the cross checks need. Used by :mod:`.quality`."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, func, select, tuple_
from sqlalchemy.orm import Session

from zhizhi.org.models import OrgUnit
from zhizhi.registry import quality as q
from zhizhi.registry.models import (
    House,
    Household,
    HouseholdVersion,
    HouseVersion,
    RegisterUnit,
    RegisterUnitVersion,
    Resident,
    ResidentVersion,
)
from zhizhi.registry.rules import decode_tags
from zhizhi.registry.service.read import as_of_clause

CHUNK = 2000
"""Values per IN list (SQLite allows 32,766 bound parameters per statement)."""


def _located(v: Any, unit: OrgUnit) -> ColumnElement[bool]:
    col = {"district": "district_code", "town": "town_code", "village": "village_code"}.get(
        unit.level, "grid_code"
    )
    return getattr(v, col) == (unit.district_code if unit.level == "district" else unit.code)  # type: ignore[no-any-return]


def _place(row: Any) -> q.Place:
    return q.Place(row.town_code, row.village_code, row.grid_code)


_PERSON_COLS = (
    Resident.id, Resident.citizen_id, Resident.sex, Resident.birth_date, ResidentVersion.name,
    ResidentVersion.phone, ResidentVersion.ethnicity, ResidentVersion.household_id, ResidentVersion.status,
    ResidentVersion.tags, ResidentVersion.address, ResidentVersion.town_code, ResidentVersion.village_code,
    ResidentVersion.grid_code,
)  # fmt: skip


def _person(r: Any) -> q.Person:
    return q.Person(
        r.id, r.citizen_id, r.sex, r.birth_date, r.name, r.phone, r.ethnicity, r.household_id,
        r.status or "active", tuple(decode_tags(r.tags)), r.address, _place(r),
    )  # fmt: skip


def _people(session: Session, on: date, *where: ColumnElement[bool]) -> list[q.Person]:
    stmt = (
        select(*_PERSON_COLS)
        .join(ResidentVersion, ResidentVersion.resident_id == Resident.id)
        .where(as_of_clause(ResidentVersion, on), *where)
        .order_by(Resident.id)
    )
    return [_person(r) for r in session.execute(stmt)]


def namesake_keys(session: Session, district: str, on: date) -> set[tuple[str, str, date]]:
    """(name, sex, birth date) shared by two or more people on the district's register on ``on``."""
    rv = ResidentVersion
    same = (
        select(rv.name, Resident.sex, Resident.birth_date)
        .join(Resident, Resident.id == rv.resident_id)
        .where(
            as_of_clause(rv, on), rv.district_code == district, rv.status == "active", rv.name.is_not(None)
        )
        .group_by(rv.name, Resident.sex, Resident.birth_date)
        .having(func.count() > 1)
    )
    return {(str(n), s, b) for n, s, b in session.execute(same)}


def load(
    session: Session, unit: OrgUnit, on: date, namesakes: set[tuple[str, str, date]] | None = None
) -> q.Registers:
    """The records located in ``unit`` on ``on`` (as currently known), and the people of the district
    the cross checks need: heads of its households living elsewhere, and everyone sharing a name,
    sex and birth date with someone else in the district (possible duplicates; ``namesakes``: the
    shared keys, :func:`namesake_keys`, computed here when not given)."""
    rv, hv, ov, uv = ResidentVersion, HouseholdVersion, HouseVersion, RegisterUnitVersion
    people = _people(session, on, _located(rv, unit))
    households = [
        q.Household(r.household_id, r.number, r.head_id, r.kind, r.status, _place(r))
        for r in session.execute(
            select(
                hv.household_id,
                Household.number,
                hv.head_id,
                hv.kind,
                hv.status,
                hv.town_code,
                hv.village_code,
                hv.grid_code,
            )  # fmt: skip
            .join(Household, Household.id == hv.household_id)
            .where(as_of_clause(hv, on), _located(hv, unit))
            .order_by(hv.household_id)
        )
    ]
    houses = [
        q.House(r.house_id, r.code, r.use, r.structure, r.address, r.status, _place(r))
        for r in session.execute(
            select(
                ov.house_id,
                House.code,
                ov.use,
                ov.structure,
                ov.address,
                ov.status,
                ov.town_code,
                ov.village_code,
                ov.grid_code,
            )  # fmt: skip
            .join(House, House.id == ov.house_id)
            .where(as_of_clause(ov, on), _located(ov, unit))
            .order_by(ov.house_id)
        )
    ]
    units = [
        q.Unit(r.unit_id, r.uscc, r.org_code, r.name, r.industry, r.address, r.status, _place(r))
        for r in session.execute(
            select(
                uv.unit_id,
                RegisterUnit.uscc,
                RegisterUnit.org_code,
                uv.name,
                uv.industry,
                uv.address,
                uv.status,
                uv.town_code,
                uv.village_code,
                uv.grid_code,
            )  # fmt: skip
            .join(RegisterUnit, RegisterUnit.id == uv.unit_id)
            .where(as_of_clause(uv, on), _located(uv, unit))
            .order_by(uv.unit_id)
        )
    ]
    here = {p.id for p in people}
    heads = sorted({h.head for h in households if h.head is not None and h.head not in here})
    elsewhere = []
    for i in range(0, len(heads), CHUNK):
        elsewhere += _people(session, on, Resident.id.in_(heads[i : i + CHUNK]))
    if unit.level == "district":
        return q.Registers(people, households, houses, units, elsewhere)
    # possible duplicates: people elsewhere in the district sharing name, sex and birth date
    keys = namesakes if namesakes is not None else namesake_keys(session, unit.district_code, on)
    mine = sorted({(p.name, p.sex, p.birth) for p in people if p.name} & keys)
    seen = here | {p.id for p in elsewhere}
    for i in range(0, len(mine), CHUNK):
        key = tuple_(rv.name, Resident.sex, Resident.birth_date)
        for p in _people(session, on, rv.district_code == unit.district_code, key.in_(mine[i : i + CHUNK])):
            if p.id not in seen:
                seen.add(p.id)
                elsewhere.append(p)
    return q.Registers(people, households, houses, units, elsewhere)


def _record_area(session: Session, register: str, entity_id: int, on: date) -> OrgUnit | None:
    """The smallest known area (village, else town) of a record on ``on``; None if it has none."""
    table: Any = {"resident": ResidentVersion, "household": HouseholdVersion, "house": HouseVersion,
                  "unit": RegisterUnitVersion}[register]  # fmt: skip
    key = {"resident": "resident_id", "household": "household_id", "house": "house_id", "unit": "unit_id"}
    row = session.execute(
        select(table.village_code, table.town_code).where(
            getattr(table, key[register]) == entity_id, as_of_clause(table, on)
        )
    ).first()
    code = row and (row.village_code or row.town_code)
    return session.scalar(select(OrgUnit).where(OrgUnit.code == code)) if code else None
