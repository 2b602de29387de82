"""Reading the registers (台账查询) as of a date, within the actor's data scope, masked.

Every read is one SQL query over version rows: those valid on ``as_of`` (a local date) and believed
at ``known_at`` (a UTC instant; default: now). A form computed with a given ``(as_of, known_at)``
gives the same numbers whenever it is computed again, whatever was recorded since.

Data scope (core.access.scope_of): district → the district; town → the town; grid → the own grid;
unit (a department, 部门) → residents carrying a tag the department uses (registry/data/tags.yaml),
and on them only its own tags; houses and units of the whole district; households with a member the
department sees. Names, phones and citizen IDs are always masked (core.access.mask_name,
mask_phone; registry.identifiers.mask_citizen_id); ages are given, not birth dates.

Every read needs the permission ``registry.read`` (core/data/permissions.yaml); without it the
functions raise Forbidden naming it, whatever the scope.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, mask_name, mask_phone, mask_text, require, scope_of
from zhizhi.core.errors import FieldError, InvalidInput, NotFound
from zhizhi.registry import rules
from zhizhi.registry.models import Resident, ResidentVersion
from zhizhi.registry.service import history as hist


def _today() -> date:
    return ztime.to_local(ztime.utcnow()).date()


def department_abbr(actor: Actor) -> str:
    """The department abbreviation of a department user (unit code ``500118-MZJ`` → ``MZJ``)."""
    return actor.unit_code.rsplit("-", 1)[-1]


def visible_tags(actor: Actor) -> list[str] | None:
    """Tag codes ``actor`` may see: None (all) for area scopes, the department's own tags for a
    department-scoped user (possibly none)."""
    if scope_of(actor).kind != "unit":
        return None
    return rules.tags_of_department(department_abbr(actor))


def as_of_clause(version: Any, as_of: date, known_at: datetime | None = None) -> ColumnElement[bool]:
    """Version rows of ``version`` valid on ``as_of`` and believed at ``known_at`` (None: now)."""
    conds = [version.valid_from <= as_of, or_(version.valid_to.is_(None), version.valid_to > as_of)]
    if known_at is None:
        conds.append(version.superseded_at.is_(None))
    else:
        if known_at.tzinfo is None:
            raise InvalidInput(
                "known_at must be timezone-aware", errors=[FieldError("known_at", "naive datetime")]
            )
        conds += [
            version.recorded_at <= known_at,
            or_(version.superseded_at.is_(None), version.superseded_at > known_at),
        ]
    return and_(*conds)


def _has_any_tag(v: Any, tags: Sequence[str]) -> ColumnElement[bool]:
    return or_(*[v.tags.like(f"%|{t}|%") for t in tags]) if tags else false()


def scope_clause(
    actor: Actor, v: Any, as_of: date | None = None, known_at: datetime | None = None
) -> ColumnElement[bool]:
    """Restrict version rows of ``v`` (any register) to ``actor``'s data scope (see module doc)."""
    sc = scope_of(actor)
    if sc.kind == "district":
        return v.district_code == sc.code  # type: ignore[no-any-return]
    if sc.kind == "town":
        return v.town_code == sc.code  # type: ignore[no-any-return]
    if sc.kind == "grid":
        return v.grid_code == sc.code  # type: ignore[no-any-return]
    tags = visible_tags(actor) or []
    if v is ResidentVersion:
        return and_(v.district_code == actor.district_code, _has_any_tag(v, tags))
    if v is hist.HOUSEHOLD.version:
        rv = ResidentVersion
        members = select(rv.household_id).where(
            as_of_clause(rv, as_of or _today(), known_at),
            _has_any_tag(rv, tags),
            rv.household_id.is_not(None),
        )
        return and_(v.district_code == actor.district_code, v.household_id.in_(members))
    return v.district_code == actor.district_code  # type: ignore[no-any-return]


# --- residents ---------------------------------------------------------------------------------------


@dataclass
class ResidentFilter:
    """Filters of resident queries; all optional. ``status`` defaults to on the register (在册); None
    means any status. ``tags``: any of these codes. Ages are whole years on the query date."""

    status: str | None = "active"
    town_code: str | None = None
    village_code: str | None = None
    grid_code: str | None = None
    tags: tuple[str, ...] = ()
    min_age: int | None = None
    max_age: int | None = None
    sex: str | None = None
    household_id: int | None = None


def _resident_query(
    actor: Actor, as_of: date, f: ResidentFilter | None, known_at: datetime | None
) -> list[ColumnElement[bool]]:
    v, r, f = ResidentVersion, Resident, f or ResidentFilter()
    conds = [as_of_clause(v, as_of, known_at), scope_clause(actor, v, as_of, known_at), r.birth_date <= as_of]
    for col, val in (
        (v.status, f.status), (v.town_code, f.town_code), (v.village_code, f.village_code),
        (v.grid_code, f.grid_code), (r.sex, f.sex), (v.household_id, f.household_id),
    ):  # fmt: skip
        if val is not None:
            conds.append(col == val)
    if f.tags:
        unknown = [t for t in f.tags if t not in rules.tag_catalogue()]
        if unknown:
            raise InvalidInput(
                f"tags: unknown tag {unknown[0]!r}", errors=[FieldError("tags", "unknown tag")]
            )
        conds.append(_has_any_tag(v, f.tags))
    if f.min_age is not None:
        conds.append(r.birth_date <= rules.birth_cutoff(as_of, f.min_age))
    if f.max_age is not None:
        conds.append(r.birth_date > rules.birth_cutoff(as_of, f.max_age + 1))
    return conds


def resident_view(actor: Actor, r: Resident, v: ResidentVersion, as_of: date) -> dict[str, Any]:
    """One resident as shown to ``actor``: masked ID, name and phone; the address with any ID or phone
    number in it masked (core.access.mask_text); age on ``as_of`` instead of the birth date; only
    the tags the actor may see."""
    seen = visible_tags(actor)
    tags = [t for t in rules.decode_tags(v.tags) if seen is None or t in seen]
    return {
        "id": r.id,
        "citizen_id": rules.mask_citizen_id(r.citizen_id),
        "name": mask_name(v.name),
        "sex": r.sex,
        "age": rules.age_on(r.birth_date, as_of),
        "ethnicity": v.ethnicity,
        "phone": mask_phone(v.phone),
        "household_id": v.household_id,
        "relation": v.relation,
        "address": mask_text(v.address),
        "town_code": v.town_code,
        "village_code": v.village_code,
        "grid_code": v.grid_code,
        "status": v.status,
        "status_date": v.status_date.isoformat() if v.status_date else None,
        "tags": tags,
        "valid_from": v.valid_from.isoformat(),
        "valid_to": v.valid_to.isoformat() if v.valid_to else None,
        "generated": r.generated,
    }


def residents_as_of(
    session: Session,
    actor: Actor,
    as_of: date | None = None,
    filters: ResidentFilter | None = None,
    *,
    known_at: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Residents on the register as of ``as_of`` (default today), as known at ``known_at`` (default
    now), within the actor's scope, ordered by id. Returns ``{"as_of", "total", "items"}`` with
    :func:`resident_view` items (masked). Needs ``registry.read``."""
    require(actor, "registry.read")
    as_of = as_of or _today()
    conds = _resident_query(actor, as_of, filters, known_at)
    base = select(Resident, ResidentVersion).join(ResidentVersion, ResidentVersion.resident_id == Resident.id)
    total = session.scalar(select(func.count()).select_from(base.where(*conds).subquery())) or 0
    rows = session.execute(
        base.where(*conds).order_by(Resident.id).limit(max(0, min(limit, 1000))).offset(max(0, offset))
    ).all()
    return {
        "as_of": as_of.isoformat(),
        "total": total,
        "items": [resident_view(actor, r, v, as_of) for r, v in rows],
    }


COUNT_BY = ("total", "town", "village", "grid", "status", "sex", "tag", "age_band")


def count_residents(
    session: Session,
    actor: Actor,
    as_of: date | None = None,
    by: str = "total",
    filters: ResidentFilter | None = None,
    *,
    known_at: datetime | None = None,
    bands: Sequence[str] = rules.DEFAULT_AGE_BANDS,
) -> dict[str, int]:
    """Count residents as of ``as_of`` within the actor's scope, in one SQL query.

    by: ``total`` (``{"total": n}``), ``town``/``village``/``grid``/``status``/``sex`` (one key per
    value present), ``tag`` (every tag the actor may see, zeros included; a person counts once per
    tag), ``age_band`` (each of ``bands``, e.g. ``"0-17"``, ``"80+"``, ages on ``as_of``).
    filters: as :class:`ResidentFilter` (default: status 在册). known_at: see module doc.
    Raises InvalidInput for an unknown ``by``, tag or band; Forbidden without ``registry.read``."""
    require(actor, "registry.read")
    as_of = as_of or _today()
    v, r = ResidentVersion, Resident
    conds = _resident_query(actor, as_of, filters, known_at)
    base = select().select_from(r).join(v, v.resident_id == r.id).where(*conds)
    if by == "total":
        return {"total": session.scalar(base.add_columns(func.count())) or 0}
    column = {
        "town": v.town_code,
        "village": v.village_code,
        "grid": v.grid_code,
        "status": v.status,
        "sex": r.sex,
    }
    if by in column:
        rows = session.execute(
            base.add_columns(column[by], func.count()).group_by(column[by]).order_by(column[by])
        )
        return {str(k): int(n) for k, n in rows}
    sums: dict[str, ColumnElement[Any]] = {}
    if by == "tag":
        seen = visible_tags(actor)
        for code in rules.tag_catalogue():
            if seen is None or code in seen:
                sums[code] = v.tags.like(f"%|{code}|%")
    elif by == "age_band":
        for band in bands:
            try:
                lo, hi = rules.parse_age_band(band)
            except ValueError as e:
                raise InvalidInput(str(e), errors=[FieldError("bands", str(e))]) from None
            cond = r.birth_date <= rules.birth_cutoff(as_of, lo)
            sums[band] = (
                and_(cond, r.birth_date > rules.birth_cutoff(as_of, hi + 1)) if hi is not None else cond
            )
    else:
        raise InvalidInput(
            f'by: "{by}" is not one of {", ".join(COUNT_BY)}', errors=[FieldError("by", "unknown")]
        )
    if not sums:
        return {}
    cols = [func.coalesce(func.sum(case((c, 1), else_=0)), 0) for c in sums.values()]
    row = session.execute(base.add_columns(*cols)).one()
    return {k: int(n) for k, n in zip(sums, row, strict=True)}


def visible_entity(session: Session, actor: Actor, spec: hist.EntitySpec, entity_id: int) -> Any:
    """The latest believed version row of an entity the actor may see, or NotFound (existence of
    records outside the scope does not leak)."""
    v = spec.version
    row = session.scalars(
        select(v)
        .where(getattr(v, spec.fk) == entity_id, v.superseded_at.is_(None), scope_clause(actor, v))
        .order_by(v.valid_from.desc())
        .limit(1)
    ).first()
    if row is None:
        raise NotFound(f"{spec.kind} {entity_id} not found")
    return row


def mask_value(spec: hist.EntitySpec, name: str, value: Any) -> Any:
    if value is None or name not in spec.personal:
        return value
    return (
        mask_phone(value) if name == "phone" else mask_name(value) if name in ("name", "legal_rep") else "***"
    )


def history_of(session: Session, actor: Actor, kind: str, entity_id: int) -> list[dict[str, Any]]:
    """Every recorded change of one entity the actor may see, oldest first: valid_from, recorded_at,
    actor, source, ref, conflict it resolved, and the ``new``/``old`` values (personal ones masked;
    a department sees only its own tags). Raises NotFound outside the scope or for an unknown kind,
    Forbidden without ``registry.read``."""
    require(actor, "registry.read")
    spec = spec_of(kind)
    visible_entity(session, actor, spec, entity_id)
    seen = visible_tags(actor)
    out = []
    for c in hist.load(session, spec, entity_id).changes:

        def shown(values: dict[str, Any]) -> dict[str, Any]:
            return {
                k: mask_value(spec, k, x)
                for k, x in values.items()
                if not (k.startswith("tag:") and seen is not None and k[4:] not in seen)
            }

        out.append(
            {
                "change_id": c.id, "valid_from": c.valid_from.isoformat(),
                "recorded_at": c.recorded_at.isoformat(), "actor": c.actor, "source": c.source,
                "ref": c.ref, "conflict_id": c.conflict_id,
                "new": shown(c.new), "old": shown(c.old),
            }
        )  # fmt: skip
    return out


def provenance_of(
    session: Session, actor: Actor, kind: str, entity_id: int, as_of: date | None = None
) -> dict[str, Any]:
    """Field-level provenance (字段来源) of one entity on ``as_of`` (default today): for each field, the
    source, ref, actor and times of the change that set its value. Raises NotFound outside scope,
    Forbidden without ``registry.read``."""
    require(actor, "registry.read")
    spec = spec_of(kind)
    visible_entity(session, actor, spec, entity_id)
    seen = visible_tags(actor)
    prov = hist.provenance(hist.load(session, spec, entity_id), as_of or _today())
    return {
        k: p for k, p in prov.items() if not (k.startswith("tag:") and seen is not None and k[4:] not in seen)
    }


def spec_of(kind: str) -> hist.EntitySpec:
    if kind not in hist.SPECS:
        raise NotFound(f'unknown register "{kind}" (one of {", ".join(hist.SPECS)})')
    return hist.SPECS[kind]


def entities_as_of(
    session: Session,
    actor: Actor,
    kind: str,
    as_of: date | None = None,
    *,
    village_code: str | None = None,
    grid_code: str | None = None,
    known_at: datetime | None = None,
    limit: int = 100,
    offset: int = 0,
) -> dict[str, Any]:
    """Households, houses or units (``kind``) as of ``as_of`` within the actor's scope, ordered by id:
    ``{"as_of", "total", "items"}``; each item has the entity id, its key (户号, house code, credit
    code), the version's fields (personal ones masked) and the valid interval. Needs
    ``registry.read``."""
    require(actor, "registry.read")
    spec, as_of = spec_of(kind), as_of or _today()
    if spec is hist.RESIDENT:
        raise InvalidInput("use residents_as_of for residents")
    v, ident = spec.version, spec.identity
    conds = [as_of_clause(v, as_of, known_at), scope_clause(actor, v, as_of, known_at)]
    conds += [v.village_code == village_code] if village_code else []
    conds += [v.grid_code == grid_code] if grid_code else []
    base = select(ident, v).join(v, getattr(v, spec.fk) == ident.id).where(*conds)
    total = session.scalar(select(func.count()).select_from(base.subquery())) or 0
    items = []
    for e, row in session.execute(
        base.order_by(ident.id).limit(max(0, min(limit, 1000))).offset(max(0, offset))
    ):
        key = {"household": "number", "house": "code", "unit": "uscc"}[kind]
        item: dict[str, Any] = {"id": e.id, key: getattr(e, key), "generated": e.generated}
        if kind == "unit":
            item["org_code"] = e.org_code
        for c in spec.columns():
            x = getattr(row, c)
            item[c] = mask_value(spec, c, x.isoformat() if isinstance(x, date) else x)
        item["valid_from"], item["valid_to"] = (
            row.valid_from.isoformat(),
            row.valid_to and row.valid_to.isoformat(),
        )
        items.append(item)
    return {"as_of": as_of.isoformat(), "total": total, "items": items}


def count_entities(
    session: Session, actor: Actor, kind: str, as_of: date | None = None, by: str = "village",
    *, known_at: datetime | None = None,
) -> dict[str, int]:  # fmt: skip
    """Households, houses or units on ``as_of`` within scope, counted by ``town``/``village``/``grid``
    or by ``status`` (all statuses), or ``total``. Raises InvalidInput for another ``by``, Forbidden
    without ``registry.read``."""
    require(actor, "registry.read")
    spec, as_of = spec_of(kind), as_of or _today()
    v = spec.version
    conds = [as_of_clause(v, as_of, known_at), scope_clause(actor, v, as_of, known_at)]
    column = {"town": v.town_code, "village": v.village_code, "grid": v.grid_code, "status": v.status}
    if by == "total":
        return {"total": session.scalar(select(func.count()).select_from(v).where(*conds)) or 0}
    if by not in column:
        raise InvalidInput(
            f'by: "{by}" is not one of total, {", ".join(column)}', errors=[FieldError("by", "unknown")]
        )
    rows = session.execute(
        select(column[by], func.count()).where(*conds).group_by(column[by]).order_by(column[by])
    )
    return {str(k): int(n) for k, n in rows}


__all__ = [
    "COUNT_BY", "ResidentFilter", "as_of_clause", "count_entities", "count_residents", "entities_as_of",
    "history_of", "mask_value", "provenance_of", "residents_as_of", "scope_clause", "spec_of",
    "visible_entity", "visible_tags",
]  # fmt: skip
