"""Read-only SQL of the form domain: the indicators of a form's columns over the register version
tables (台账, as of a date and as known at an instant, docs/adr/0005-register-history.md) and over
the events, grouped by the form's row unit (村, 乡镇 or 网格), within the caller's data scope.

One query per register (and per flow column) computes every column of that register at once:
``count(*) FILTER (WHERE …)`` per column, the conditions shared by all columns moved into WHERE so
the scan joins as few rows as possible. Nothing here writes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, exists, false, func, not_, or_, select, true
from sqlalchemy.orm import Session, aliased

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.event.models import Event
from zhizhi.event.rules import Node
from zhizhi.event.service import confidential_condition
from zhizhi.form import rules
from zhizhi.org.models import OrgUnit
from zhizhi.registry.models import (
    HouseholdVersion,
    HouseVersion,
    RegisterUnitVersion,
    Resident,
    ResidentVersion,
)
from zhizhi.registry.rules import birth_cutoff
from zhizhi.registry.service.read import as_of_clause, scope_clause

Counts = dict[str | None, float]
"""Values of one column by row-unit code (None: people or events without a code at that level)."""


@dataclass
class Frame:
    """Where and when a form is computed: the actor (data scope), the org unit the form is for and
    its level, the row level, the statistical date (local) and the knowledge instant (UTC; None:
    now), the period, and the org's village codes by 城乡 class (filled on first use)."""

    actor: Actor
    org_code: str
    org_level: str
    row_level: str
    as_of: date
    known_at: datetime | None
    period: rules.Period
    _areas: dict[str, list[str]] = field(default_factory=dict)

    def location(self, v: Any) -> ColumnElement[bool]:
        """Rows of a version table (or events) located in the org unit."""
        col = {"district": "district_code", "town": "town_code", "village": "village_code"}.get(
            self.org_level, "grid_code"
        )
        return getattr(v, col) == self.org_code  # type: ignore[no-any-return]

    def unit(self, v: Any) -> Any:
        """The row-unit column of a version table (or events)."""
        return getattr(v, f"{self.row_level}_code")

    def area_villages(self, session: Session, area: str) -> list[str]:
        """Codes of the villages in the org whose NBS 城乡划分代码 is 城镇 (1xx) or 乡村 (2xx), or that have
        none (unclassified)."""
        if not self._areas:
            o = OrgUnit
            loc = {
                "district": o.district_code == self.org_code,
                "town": o.town_code == self.org_code,
            }.get(self.org_level, o.code == self.org_code[:12])
            rows = session.execute(select(o.code, o.urban_rural_type).where(o.level == "village", loc)).all()
            self._areas = {"urban": [], "rural": [], "unclassified": []}
            for code, ur in rows:
                kind = {"1": "urban", "2": "rural"}.get((ur or " ")[0], "unclassified")
                self._areas[kind].append(code)
        return self._areas[area]

    def day_end(self, d: date) -> datetime:
        """The UTC instant at the end of local day ``d`` (the next local midnight)."""
        return ztime.to_utc(datetime.combine(d + timedelta(days=1), time(), ztime.LOCAL_TZ))


# --- conditions with identities (to move the shared ones into WHERE) --------------------------------

Cond = tuple[tuple[Any, ...], ColumnElement[bool]]


def _tag(v: Any, code: str) -> ColumnElement[bool]:
    return v.tags.like(f"%|{code}|%")  # type: ignore[no-any-return]


def person_conds(
    p: rules.PersonFilter, v: Any, r: Any, on: date, period: rules.Period, as_of: date
) -> list[Cond]:
    """Conditions selecting the residents of filter ``p`` on date ``on`` (ages in whole years then)."""
    out: list[Cond] = []
    if p.status is not None:
        out.append((("status", p.status), v.status == p.status))
    if p.status_in_period:
        out.append((("status_in", period.start, as_of), v.status_date.between(period.start, as_of)))
    if p.born_in_period:
        out.append((("born_in", period.start, as_of), r.birth_date.between(period.start, as_of)))
    out += [(("tag", t), _tag(v, t)) for t in p.tags]
    if p.any_tags:
        out.append((("any", p.any_tags), or_(*[_tag(v, t) for t in p.any_tags])))
    out += [(("no", t), not_(_tag(v, t))) for t in p.no_tags]
    if p.sex:
        out.append((("sex", p.sex), r.sex == p.sex))
    if p.age:
        lo, hi = p.age
        out.append((("age>=", lo, on), r.birth_date <= birth_cutoff(on, lo)))
        if hi is not None:
            out.append((("age<=", hi, on), r.birth_date > birth_cutoff(on, hi + 1)))
    if p.minority:
        out.append((("minority",), and_(v.ethnicity.is_not(None), v.ethnicity != "01")))
    return out


def _area(session: Session, frame: Frame, v: Any, area: str | None) -> list[Cond]:
    if area is None:
        return []
    return [(("area", area), v.village_code.in_(frame.area_villages(session, area)))]


def _split(
    per_column: Sequence[list[Cond]],
) -> tuple[list[ColumnElement[bool]], list[ColumnElement[bool] | None]]:
    """Conditions shared by every column (for WHERE) and each column's remaining condition (None:
    none left, the column counts every row the WHERE keeps)."""
    shared = set.intersection(*(set(k for k, _ in cs) for cs in per_column)) if per_column else set()
    common = [c for k, c in per_column[0] if k in shared] if per_column else []
    rest = []
    for cs in per_column:
        own = [c for k, c in cs if k not in shared]
        rest.append(and_(*own) if own else None)
    return common, rest


def _count(cond: ColumnElement[bool] | None, what: Any = None) -> Any:
    """``count(*)`` (or ``count(DISTINCT what)``) of the rows meeting ``cond`` (FILTER clause)."""
    agg = func.count() if what is None else func.count(distinct(what))
    return agg if cond is None else agg.filter(cond)


def _grouped(session: Session, stmt: Any, n: int) -> list[Counts]:
    out: list[Counts] = [defaultdict(float) for _ in range(n)]
    for row in session.execute(stmt):
        for i in range(n):
            out[i][row[0]] += float(row[i + 1] or 0)
    return out


# --- residents ------------------------------------------------------------------------------------------


def residents(session: Session, frame: Frame, columns: Sequence[rules.Column]) -> dict[int, Counts]:
    """Counts of resident and household-with-members columns as of the statistical date, by row unit;
    flow columns (entered/exited) by :func:`resident_flow`. A household counts once per unit (by 户号)."""
    v, r = ResidentVersion, Resident
    out: dict[int, Counts] = {}
    plain = [c for c in columns if c.measure and c.measure.flow is None]
    if plain:
        per = []
        for c in plain:
            m = c.measure
            assert m is not None and m.person is not None
            conds = person_conds(m.person, v, r, frame.as_of, frame.period, frame.as_of)
            per.append(conds + _area(session, frame, v, m.area))
        common, rest = _split(per)
        aggs = [
            _count(cond, v.household_id) if c.measure and c.measure.kind == "households" else _count(cond)
            for c, cond in zip(plain, rest, strict=True)
        ]
        base = (
            select(frame.unit(v), *aggs)
            .select_from(v)
            .join(r, r.id == v.resident_id)
            .where(*_resident_base(frame, v, r, frame.as_of), *common)
            .group_by(frame.unit(v))
        )
        for c, counts in zip(plain, _grouped(session, base, len(plain)), strict=True):
            out[c.no] = counts
    for c in columns:
        if c.measure and c.measure.flow is not None:
            out[c.no] = resident_flow(session, frame, c.measure)
    return out


def _resident_base(frame: Frame, v: Any, r: Any, on: date) -> list[ColumnElement[bool]]:
    return [
        as_of_clause(v, on, frame.known_at),
        scope_clause(frame.actor, v, on, frame.known_at),
        frame.location(v),
        r.birth_date <= on,
    ]


def household_totals(session: Session, frame: Frame, columns: Sequence[rules.Column]) -> dict[int, float]:
    """Households with a matching member in the whole org unit (the 合计 of a household column is
    counted once, not summed over the rows: a household whose members live in two villages counts
    in each village's row, and the 合计 = 各行之和 check then shows it)."""
    v, r = ResidentVersion, Resident
    out = {}
    for c in columns:
        m = c.measure
        assert m is not None and m.person is not None
        conds = [x for _, x in person_conds(m.person, v, r, frame.as_of, frame.period, frame.as_of)]
        conds += [x for _, x in _area(session, frame, v, m.area)]
        stmt = (
            select(func.count(distinct(v.household_id)))
            .select_from(v)
            .join(r, r.id == v.resident_id)
            .where(*_resident_base(frame, v, r, frame.as_of), *conds, v.household_id.is_not(None))
        )
        out[c.no] = float(session.scalar(stmt) or 0)
    return out


def resident_flow(session: Session, frame: Frame, m: rules.Measure) -> Counts:
    """People who entered (期末 in the filter, 期初 not) or exited (期初 in, 期末 not) the filter over
    the period, by their row unit on the side where they are in it. 期初 is the day before the period,
    期末 the statistical date; each side is read as known at ``known_at``."""
    assert m.person is not None
    r = Resident
    inside, other = aliased(ResidentVersion), aliased(ResidentVersion)
    start, end = frame.period.before_start, frame.as_of
    here, there = (end, start) if m.flow == "entered" else (start, end)
    own = [x for _, x in person_conds(m.person, inside, r, here, frame.period, frame.as_of)]
    own += [x for _, x in _area(session, frame, inside, m.area)]
    theirs = [x for _, x in person_conds(m.person, other, r, there, frame.period, frame.as_of)]
    theirs += [x for _, x in _area(session, frame, other, m.area)]
    was = exists().where(
        other.resident_id == inside.resident_id,
        as_of_clause(other, there, frame.known_at),
        frame.location(other),
        r.birth_date <= there,
        *theirs,
    )
    stmt = (
        select(frame.unit(inside), func.count())
        .select_from(inside)
        .join(r, r.id == inside.resident_id)
        .where(*_resident_base(frame, inside, r, here), *own, not_(was))
        .group_by(frame.unit(inside))
    )
    return _grouped(session, stmt, 1)[0]


# --- households, houses, units ---------------------------------------------------------------------


def _simple(
    session: Session, frame: Frame, v: Any, items: Sequence[tuple[rules.Column, list[Cond], Any]]
) -> dict[int, Counts]:
    """One grouped query over version table ``v`` (active rows as of the date): for each column its
    conditions and its aggregate (None: count rows; else a column to sum)."""
    if not items:
        return {}
    common, rest = _split([conds for _, conds, _ in items])
    aggs = [
        _count(cond)
        if agg is None
        else func.coalesce(func.sum(agg) if cond is None else func.sum(agg).filter(cond), 0)
        for (_, _, agg), cond in zip(items, rest, strict=True)
    ]
    stmt = (
        select(frame.unit(v), *aggs)
        .where(
            as_of_clause(v, frame.as_of, frame.known_at),
            scope_clause(frame.actor, v, frame.as_of, frame.known_at),
            frame.location(v),
            v.status == "active",
            *common,
        )
        .group_by(frame.unit(v))
    )
    return {
        c.no: counts for (c, _, _), counts in zip(items, _grouped(session, stmt, len(items)), strict=True)
    }


def registers(session: Session, frame: Frame, columns: Sequence[rules.Column]) -> dict[int, Counts]:
    """Columns over the household (户), house (房屋) and unit (单位) registers, active as of the date."""
    hh: list[tuple[rules.Column, list[Cond], Any]] = []
    houses: list[tuple[rules.Column, list[Cond], Any]] = []
    units: list[tuple[rules.Column, list[Cond], Any]] = []
    for c in columns:
        m = c.measure
        assert m is not None
        conds: list[Cond]
        if m.kind == "households":
            v: Any = HouseholdVersion
            conds = [(("kind", m.household_kind), v.kind == m.household_kind)] if m.household_kind else []
            hh.append((c, conds + _area(session, frame, v, m.area), None))
        elif m.kind == "houses":
            v = HouseVersion
            conds = [(("use", m.house_use), v.use.in_(m.house_use))] if m.house_use else []
            if m.house_structure:
                conds.append((("structure", m.house_structure), v.structure.in_(m.house_structure)))
            houses.append((c, conds + _area(session, frame, v, m.area), None))
        else:  # units, employees
            v = RegisterUnitVersion
            conds = []
            if m.industry:
                conds.append((("industry", m.industry), or_(*[v.industry.like(f"{i}%") for i in m.industry])))
            if m.min_employees is not None:
                conds.append((("min_emp", m.min_employees), v.employees >= m.min_employees))
            units.append(
                (c, conds + _area(session, frame, v, m.area), v.employees if m.kind == "employees" else None)
            )
    out = _simple(session, frame, HouseholdVersion, hh)
    out |= _simple(session, frame, HouseVersion, houses)
    out |= _simple(session, frame, RegisterUnitVersion, units)
    return out


# --- events and the org tree -----------------------------------------------------------------------------


def events(session: Session, frame: Frame, columns: Sequence[rules.Column]) -> dict[int, Counts]:
    """Event columns (事件闭环) by the event's row unit: drills and merged duplicates never count, and
    a confidential category the actor may not see is left out as in every event list. "In the
    period" means from the first day of the period to the end of the statistical date (local)."""
    if not columns:
        return {}
    e = Event
    start = ztime.to_utc(datetime.combine(frame.period.start, time(), ztime.LOCAL_TZ))
    end = frame.day_end(frame.as_of)
    per: list[list[Cond]] = []
    for c in columns:
        m = c.measure
        assert m is not None
        conds: list[Cond] = [(("to", end), e.reported_at < end)]
        if m.reported == "in_period":
            conds.append((("from", start), e.reported_at >= start))
        if m.categories:
            match = [
                e.category_code == x if len(x) > 2 else e.category_code.like(f"{x}%") for x in m.categories
            ]
            conds.append((("cat", m.categories), or_(*match)))
        if m.closed == "in_period":
            conds.append((("closed", "in"), and_(e.closed_at >= start, e.closed_at < end)))
        elif m.closed == "by_period_end":
            conds.append((("closed", "by"), e.closed_at < end))
        elif m.closed == "not_by_period_end":
            conds.append((("closed", "not"), or_(e.closed_at.is_(None), e.closed_at >= end)))
        if m.urgency:
            conds.append((("urgency", m.urgency), e.urgency.in_(m.urgency)))
        if m.overdue is not None:
            conds.append((("overdue", m.overdue), e.ever_overdue.is_(m.overdue)))
        if m.parked is not None:
            conds.append((("parked", m.parked), e.parked.is_(m.parked)))
        per.append(conds)
    common, rest = _split(per)
    hide = confidential_condition(frame.actor)
    stmt = (
        select(frame.unit(e), *[_count(x) for x in rest])
        .where(
            e.is_drill.is_(False),
            e.node != Node.MERGED.value,
            frame.location(e),
            hide if hide is not None else true(),
            *common,
        )
        .group_by(frame.unit(e))
    )
    return {c.no: counts for c, counts in zip(columns, _grouped(session, stmt, len(columns)), strict=True)}


def grids(session: Session, frame: Frame, columns: Sequence[rules.Column]) -> dict[int, Counts]:
    """Grid counts (网格数) from the org tree, by row unit (a grid's village is its first 12 digits)."""
    if not columns:
        return {}
    key = {"village": func.substr(OrgUnit.code, 1, 12), "town": OrgUnit.town_code}.get(
        frame.row_level, OrgUnit.code
    )
    loc = (
        OrgUnit.code.like(f"{frame.org_code}%")
        if frame.org_level in ("village", "grid")
        else frame.location(OrgUnit)
        if frame.org_level == "town"
        else OrgUnit.district_code == frame.org_code
    )
    stmt = select(key, func.count()).where(OrgUnit.level == "grid", loc).group_by(key)
    counts = _grouped(session, stmt, 1)[0]
    return {c.no: counts for c in columns}


# --- rosters (花名册) ------------------------------------------------------------------------------------


def roster(session: Session, frame: Frame, population: rules.PersonFilter) -> list[dict[str, Any]]:
    """The people of a roster as of the statistical date, ordered by village, grid, birth date and id:
    citizen ID, sex, birth date, name, ethnicity, village and grid codes, phone, address (raw: the
    caller masks them)."""
    v, r = ResidentVersion, Resident
    conds = [x for _, x in person_conds(population, v, r, frame.as_of, frame.period, frame.as_of)]
    stmt = (
        select(
            r.citizen_id,
            r.sex,
            r.birth_date,
            v.name,
            v.ethnicity,
            v.village_code,
            v.grid_code,
            v.phone,
            v.address,
        )  # fmt: skip
        .select_from(v)
        .join(r, r.id == v.resident_id)
        .where(*_resident_base(frame, v, r, frame.as_of), *conds)
        .order_by(v.village_code, v.grid_code, r.birth_date, r.id)
    )
    return [dict(row._mapping) for row in session.execute(stmt)]


def unit_names(session: Session, codes: Sequence[str]) -> dict[str, str]:
    """Names of org units by code."""
    if not codes:
        return {}
    return dict(
        session.execute(select(OrgUnit.code, OrgUnit.name).where(OrgUnit.code.in_(list(codes)))).all()
    )


def row_units(session: Session, frame: Frame) -> list[tuple[str, str]]:
    """The form's rows: (code, name) of the units of ``row_level`` under the org, by code."""
    o = OrgUnit
    if frame.row_level == "grid" and frame.org_level == "village":
        loc: ColumnElement[bool] = o.code.like(f"{frame.org_code}%")
    elif frame.org_level == "district":
        loc = o.district_code == frame.org_code
    elif frame.org_level == "town":
        loc = o.town_code == frame.org_code
    else:
        loc = false()
    return [
        (c, n)
        for c, n in session.execute(
            select(o.code, o.name).where(o.level == frame.row_level, loc).order_by(o.code)
        )
    ]
