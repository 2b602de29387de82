"""Fire resources (防火资源): create, change, delete, list, the GeoJSON map layer, and file import.

Scope. Reading (``fire.read``): every role sees all the resources of its own district — they are one
shared operational picture, the nearest team or water point of a fire is often in the next town, and
they hold no personal data except the contact, which always goes out masked. Another district's
resource is "not found" (404). Writing (``fire.manage``, the district center in the shipped table):
within the actor's district (a town-scoped role holding it: its own town). A resource's point must
fall inside the actor's district (its town is where the point falls).

A team belongs to an org unit (``owner_unit_code``): its town center (镇街指挥中心, for a town's
半专业扑火队) or a district department (e.g. 林业局 LYJ for the 专业扑火队) — the unit the one-click
response dispatches. Services flush; the caller commits.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor, mask_name, mask_phone, require, scope_of
from zhizhi.core.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from zhizhi.org import rules as org_rules
from zhizhi.org import service as org
from zhizhi.scenarios.fire import resource_files as files
from zhizhi.scenarios.fire import resources as rules
from zhizhi.scenarios.fire.models import FireResource
from zhizhi.scenarios.fire.resource_schemas import (
    ResourceImportSummary,
    ResourceIn,
    ResourcePatch,
    ResourceRead,
)

MAX_LIST = 10_000


def resource_read(r: FireResource) -> ResourceRead:
    """The API view of a resource: kind and sub-type names, contact masked."""
    pol = rules.default_resource_policy()
    return ResourceRead(
        id=r.id,
        kind=r.kind,
        kind_name=pol.kind(r.kind).name,
        type_name=rules.type_name(r.kind, r.attrs or {}, pol),
        code=r.code,
        name=r.name,
        lon=round(r.lon, 6),
        lat=round(r.lat, 6),
        district_code=r.district_code,
        town_code=r.town_code,
        owner_unit_code=r.owner_unit_code,
        contact_name=mask_name(r.contact_name),
        contact_phone=mask_phone(r.contact_phone),
        address=r.address,
        note=r.note,
        attrs=dict(r.attrs or {}),
        source=r.source,
        updated_at=r.updated_at,
        updated_by=r.updated_by,
    )


# --- reading ----------------------------------------------------------------------------------------------


def district_resources(session: Session, district6: str, kind: str | None = None) -> list[FireResource]:
    """All resources of a district (of one kind), by id. No scope check: callers check."""
    q = select(FireResource).where(FireResource.district_code == district6)
    if kind is not None:
        q = q.where(FireResource.kind == kind)
    return list(session.scalars(q.order_by(FireResource.id)).all())


def _kind(kind: str | None) -> str | None:
    if kind is None:
        return None
    try:
        return rules.default_resource_policy().kind(kind).key
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("kind", str(e))]) from None


def list_resources(
    session: Session,
    actor: Actor,
    kind: str | None = None,
    town_code: str | None = None,
    limit: int = MAX_LIST,
) -> list[ResourceRead]:
    """The resources of the actor's district (of ``kind``; in ``town_code``), by kind then id. Needs
    ``fire.read``. Raises InvalidInput for an unknown kind."""
    require(actor, "fire.read")
    k = _kind(kind)
    q = select(FireResource).where(FireResource.district_code == actor.district_code)
    if k is not None:
        q = q.where(FireResource.kind == k)
    if town_code is not None:
        q = q.where(FireResource.town_code == town_code)
    rows = session.scalars(q.order_by(FireResource.kind, FireResource.id).limit(limit)).all()
    return [resource_read(r) for r in rows]


def get_resource(session: Session, actor: Actor, resource_id: int) -> FireResource:
    """The resource ``resource_id`` of the actor's district; NotFound for another district's (the
    same answer as an unknown id). Needs ``fire.read``."""
    require(actor, "fire.read")
    r = session.get(FireResource, resource_id)
    if r is None or r.district_code != actor.district_code:
        raise NotFound(f"fire resource {resource_id} not found")
    return r


def resources_geojson(session: Session, actor: Actor, kind: str | None = None) -> dict[str, Any]:
    """The resources of the actor's district as a GeoJSON FeatureCollection of Points (WGS-84): one
    map layer per ``kind`` property, with ``kind_name``, ``type_name``, ``name``, ``colour`` (the
    kind's, #RRGGBB), ``town_code``, ``owner_unit_code`` and the kind's attributes. No contact."""
    pol = rules.default_resource_policy()
    feats = []
    for r in list_resources(session, actor, kind):
        props = {
            "id": r.id,
            "kind": r.kind,
            "kind_name": r.kind_name,
            "type_name": r.type_name,
            "name": r.name,
            "code": r.code,
            "colour": pol.kind(r.kind).colour,
            "town_code": r.town_code,
            "owner_unit_code": r.owner_unit_code,
            "attrs": r.attrs,
        }
        geom = {"type": "Point", "coordinates": [r.lon, r.lat]}
        feats.append({"type": "Feature", "id": r.id, "geometry": geom, "properties": props})
    return {"type": "FeatureCollection", "features": feats}


# --- checks shared by create, change and import --------------------------------------------------------


def _check_write(actor: Actor, district6: str, town_code: str | None) -> None:
    require(actor, "fire.manage")
    sc = scope_of(actor)
    if sc.kind == "district" and sc.code == district6:
        return
    if sc.kind == "town" and town_code == sc.code:
        return
    if sc.kind in ("district", "town"):
        raise NotFound("fire resource not found")  # outside the writer's area: as if absent
    raise Forbidden(f'role "{actor.role}" maintains no fire resources (a district or town role does)')


def resolve_owner(session: Session, district6: str, owner: str, cache: dict[str, str] | None = None) -> str:
    """The org unit code of an owner given as a 12-digit town code (→ its town center), a department
    abbreviation (LYJ → ``<district>-LYJ``) or a unit code; it must be a center or department of
    ``district6``. Raises ValueError saying why not."""
    if cache is not None and owner in cache:
        return cache[owner]
    if re.fullmatch(r"\d{12}", owner):
        code = f"{owner}-{org.TOWN_CENTER_SUFFIX}"
    elif re.fullmatch(r"[A-Z][A-Z0-9]{1,15}", owner):
        code = f"{district6}-{owner}"
    else:
        code = owner
    try:
        unit = org.get_unit(session, code)
    except NotFound:
        raise ValueError(
            f'"{owner}": no such unit (give a 12-digit town code, a department abbreviation such as LYJ, '
            "or a unit code)"
        ) from None
    if unit.district_code != district6 or unit.level not in ("center", "department"):
        raise ValueError(f'"{owner}": not a town center or department of district {district6}')
    if cache is not None:
        cache[owner] = unit.code
    return unit.code


def _place(session: Session, district6: str, lon: float, lat: float) -> tuple[str | None, str | None]:
    """(town code, None) of a point inside ``district6``, or (None, why not)."""
    p = org.locator(session).locate(lon, lat)
    if p.district_code != district6:
        where = f"district {p.district_code}" if p.district_code else "no loaded district"
        return None, f"({lon:.6f}, {lat:.6f}) is outside district {district6} (it falls in {where})"
    return p.town_code, None


def _attrs(kind: str, attrs: dict[str, Any]) -> dict[str, Any]:
    given = dict(attrs)
    if isinstance(given.get("type"), str):
        for s in rules.default_resource_policy().kind(kind).subtypes:
            if given["type"] in (s.key, s.name):
                given["type"] = s.key
    clean, errs = rules.check_attrs(kind, given)
    if errs:
        fes = [FieldError(f"attrs.{e.field}", e.reason) for e in errs]
        raise InvalidInput(f"attrs.{errs[0].field}: {errs[0].reason}", fes)
    return clean


def _unique_code(session: Session, district6: str, code: str | None, own_id: int | None) -> None:
    if code is None:
        return
    other = session.scalar(
        select(FireResource.id).where(FireResource.district_code == district6, FireResource.code == code)
    )
    if other is not None and other != own_id:
        raise Conflict(f'code "{code}" is already resource {other} of district {district6}')


# --- create, change, delete -----------------------------------------------------------------------------


def create_resource(session: Session, actor: Actor, data: ResourceIn, source: str = "api") -> FireResource:
    """Register one resource in the actor's district. Needs ``fire.manage``. Raises InvalidInput for an
    unknown kind, bad attributes, a point outside the district, or a team without a valid owner unit;
    Conflict for a code already used in the district."""
    require(actor, "fire.manage")
    kind = _kind(data.kind)
    assert kind is not None
    lon, lat = (data.lon, data.lat) if data.crs == "wgs84" else org_rules.gcj02_to_wgs84(data.lon, data.lat)
    d6 = actor.district_code
    town, why = _place(session, d6, lon, lat)
    if why:
        raise InvalidInput(why, [FieldError("lon", why), FieldError("lat", why)])
    _check_write(actor, d6, town)
    attrs = _attrs(kind, data.attrs)
    owner = _owner(session, d6, kind, data.owner)
    _unique_code(session, d6, data.code, None)
    now = ztime.utcnow()
    r = FireResource(
        kind=kind,
        code=data.code,
        name=data.name,
        lon=lon,
        lat=lat,
        district_code=d6,
        town_code=town,
        owner_unit_code=owner,
        contact_name=data.contact_name,
        contact_phone=data.contact_phone,
        address=data.address,
        note=data.note,
        attrs=attrs,
        source=source[:300],
        created_at=now,
        updated_at=now,
        updated_by=actor.name,
    )
    session.add(r)
    session.flush()
    return r


def _owner(session: Session, d6: str, kind: str, owner: str | None) -> str | None:
    if owner is None:
        if kind == "team":
            why = "a team needs its owner unit (its town center or department): give owner"
            raise InvalidInput(why, [FieldError("owner", why)])
        return None
    try:
        return resolve_owner(session, d6, owner)
    except ValueError as e:
        raise InvalidInput(str(e), [FieldError("owner", str(e))]) from None


def update_resource(session: Session, actor: Actor, resource_id: int, patch: ResourcePatch) -> FireResource:
    """Change the fields given in ``patch`` (``attrs`` replaces the attributes and is checked against
    the resource's kind; a new point is located again). Needs ``fire.manage``; NotFound outside the
    district (or, for a town role, its town)."""
    require(actor, "fire.manage")
    r = get_resource(session, actor, resource_id)
    _check_write(actor, r.district_code, r.town_code)
    given = patch.model_dump(exclude_unset=True)
    if ("lon" in given) != ("lat" in given):
        why = "give lon and lat together"
        raise InvalidInput(why, [FieldError("lon" if "lat" in given else "lat", why)])
    if "lon" in given:
        lon, lat = float(given["lon"]), float(given["lat"])
        if patch.crs == "gcj02":
            lon, lat = org_rules.gcj02_to_wgs84(lon, lat)
        town, why_not = _place(session, r.district_code, lon, lat)
        if why_not:
            raise InvalidInput(why_not, [FieldError("lon", why_not), FieldError("lat", why_not)])
        _check_write(actor, r.district_code, town)
        r.lon, r.lat, r.town_code = lon, lat, town
    if "attrs" in given:
        if given["attrs"] is None:
            raise InvalidInput("attrs cannot be null", [FieldError("attrs", "null")])
        r.attrs = _attrs(r.kind, given["attrs"])
    if "owner" in given:
        r.owner_unit_code = _owner(session, r.district_code, r.kind, given["owner"])
    if "code" in given:
        _unique_code(session, r.district_code, given["code"], r.id)
        r.code = given["code"]
    if "name" in given:
        if given["name"] is None:
            raise InvalidInput("name cannot be null", [FieldError("name", "null")])
        r.name = given["name"]
    for f in ("contact_name", "contact_phone", "address"):
        if f in given:
            setattr(r, f, given[f])
    if "note" in given:
        r.note = given["note"] or ""
    r.updated_at, r.updated_by = ztime.utcnow(), actor.name
    session.flush()
    return r


def delete_resource(session: Session, actor: Actor, resource_id: int) -> None:
    """Delete a resource. Needs ``fire.manage``; NotFound outside the district."""
    require(actor, "fire.manage")
    r = get_resource(session, actor, resource_id)
    _check_write(actor, r.district_code, r.town_code)
    session.delete(r)
    session.flush()


# --- import -----------------------------------------------------------------------------------------------


def import_resources(
    session: Session,
    actor: Actor,
    raw: bytes,
    name: str,
    *,
    fmt: files.Format | None = None,
    kind: str | None = None,
    crs: files.Crs = "wgs84",
) -> ResourceImportSummary:
    """Import a resource file (CSV or GeoJSON, resource_files.py) into the actor's district, all or
    nothing: every field of every row is checked whatever the others' errors (cells, attributes of its
    kind, owner unit, codes unique; the point inside the district when it could be read) and any bad
    row refuses the whole file with an InvalidInput listing each error's line and column, all in one
    pass. A row whose code is already a resource of the district updates it;
    others are created. Needs ``fire.manage``."""
    require(actor, "fire.manage")
    d6 = actor.district_code
    sc = scope_of(actor)
    _check_write(actor, d6, sc.code if sc.kind == "town" else None)
    rows, errs = files.read_resource_file(raw, name, fmt=fmt, kind=kind, crs=crs)
    owners: dict[str, str] = {}
    seen: dict[str, int] = {}
    towns: dict[int, str | None] = {}
    resolved: dict[int, str | None] = {}
    for row in rows:  # bad rows too (resource_files.check_row): their owner and code are checked
        town = why = None
        if row.lon is not None and row.lat is not None:
            town, why = _place(session, d6, row.lon, row.lat)
            if why:
                errs.append(FieldError("lon", why, line=row.line, column="lon"))
            elif sc.kind == "town" and town != sc.code:
                errs.append(FieldError("lon", f"outside your town {sc.code}", line=row.line, column="lon"))
        towns[row.line] = town
        if row.owner is not None:
            try:
                resolved[row.line] = resolve_owner(session, d6, row.owner, owners)
            except ValueError as e:
                errs.append(FieldError("owner", str(e), line=row.line, column="owner"))
        elif row.kind == "team":
            errs.append(FieldError("owner", "a team needs its owner unit", line=row.line, column="owner"))
        if row.code is not None:
            if row.code in seen:
                why = f'code "{row.code}" repeats line {seen[row.code]}'
                errs.append(FieldError("code", why, line=row.line, column="code"))
            seen.setdefault(row.code, row.line)
    existing = {
        r.code: r
        for r in session.scalars(
            select(FireResource).where(FireResource.district_code == d6, FireResource.code.in_(list(seen)))
        ).all()
        if r.code is not None
    }
    for row in rows:
        old = existing.get(row.code) if row.code is not None else None
        if old is not None and row.kind is not None and old.kind != row.kind:
            why = f'code "{row.code}" is a {old.kind} (resource {old.id}), not a {row.kind}'
            errs.append(FieldError("kind", why, line=row.line, column="kind"))
    fmt_used = fmt or files.guess_format(name)
    if errs:
        errs.sort(key=lambda e: (e.line or 0, e.column or ""))
        first = errs[0]
        col = f", column {first.column or first.field}" if first.column or first.field else ""
        where = f"line {first.line}{col}: " if first.line else ""
        raise InvalidInput(
            f"{name}: {len(errs)} error{'s' if len(errs) != 1 else ''}, nothing imported; first: {where}"
            f"{first.reason}",
            errs,
        )
    now = ztime.utcnow()
    created = updated = 0
    by_kind: Counter[str] = Counter()
    for row in rows:
        assert row.kind is not None and row.lon is not None and row.lat is not None  # no errors: read whole
        values = {
            "kind": row.kind,
            "name": row.name,
            "lon": row.lon,
            "lat": row.lat,
            "town_code": towns[row.line],
            "owner_unit_code": resolved.get(row.line),
            "contact_name": row.contact_name,
            "contact_phone": row.contact_phone,
            "address": row.address,
            "note": row.note or "",
            "attrs": row.attrs,
            "source": name[:300],
            "updated_at": now,
            "updated_by": actor.name,
        }
        old = existing.get(row.code) if row.code is not None else None
        if old is not None:
            for k, v in values.items():
                setattr(old, k, v)
            updated += 1
        else:
            session.add(FireResource(code=row.code, district_code=d6, created_at=now, **values))
            created += 1
        by_kind[row.kind] += 1
    session.flush()
    return ResourceImportSummary(
        file=name,
        format=fmt_used,
        crs=crs,
        rows=len(rows),
        created=created,
        updated=updated,
        by_kind=dict(sorted(by_kind.items())),
    )
