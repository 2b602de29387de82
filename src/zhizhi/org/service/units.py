"""Loaded org units (组织单元): counts and boundary sources, lookup by code, importing real boundaries
and deleting a district."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

import shapely
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from zhizhi.core.errors import InvalidInput, NotFound
from zhizhi.org import rules
from zhizhi.org.models import OrgUnit, Staff
from zhizhi.org.service.locate import invalidate_locator


def stats(session: Session, district6: str | None = None) -> dict[str, Any]:
    """Counts per level and where each level's boundaries come from, per district.

    Returns ``{"districts": {code6: {"name", "staff", "levels": {level: {"count", "boundary_generated",
    "boundary_real", "no_boundary"}}}}}``: ``boundary_generated`` counts polygons zhizhi built (no
    public boundary exists), ``boundary_real`` ones loaded from a published source.
    """
    has_geom = OrgUnit.geom.is_not(None)
    q = select(OrgUnit.district_code, OrgUnit.level, OrgUnit.generated, has_geom, func.count()).group_by(
        OrgUnit.district_code, OrgUnit.level, OrgUnit.generated, has_geom
    )
    if district6:
        q = q.where(OrgUnit.district_code == district6)
    out: dict[str, Any] = {}
    for d, level, gen, geom, n in session.execute(q):
        lv = out.setdefault(d, {"levels": {}})["levels"].setdefault(
            level, {"count": 0, "boundary_generated": 0, "boundary_real": 0, "no_boundary": 0}
        )
        lv["count"] += n
        lv["no_boundary" if not geom else "boundary_generated" if gen else "boundary_real"] += n
    names = {
        d: n
        for d, n in session.execute(
            select(OrgUnit.district_code, OrgUnit.name).where(OrgUnit.level == "district")
        )
    }
    staff = {
        d: n
        for d, n in session.execute(
            select(OrgUnit.district_code, func.count(Staff.id))
            .join(OrgUnit, Staff.org_unit_id == OrgUnit.id)
            .group_by(OrgUnit.district_code)
        )
    }
    for d, v in out.items():
        v["name"] = names.get(d)
        v["staff"] = staff.get(d, 0)
    return {"districts": dict(sorted(out.items()))}


def get_unit(session: Session, code: str) -> OrgUnit:
    """The org unit with ``code``; raises NotFound naming the code."""
    u = session.scalar(select(OrgUnit).where(OrgUnit.code == code))
    if u is None:
        raise NotFound(f'unknown unit "{code}"')
    return u


def import_boundaries(session: Session, path: Path, level: str) -> dict[str, Any]:
    """Replace generated boundaries of ``level`` (town|village|grid) with real ones from a GeoJSON file.

    Features match by a ``code`` property (12-digit, or 9/6-digit padded) or else by ``name``. Returns
    ``{"matched": [...codes], "unmatched_features": [{index, reason}], "not_covered": [...codes]}``.
    Raises InvalidInput naming the file and feature for unreadable input.
    """
    if level not in {"town", "village", "grid"}:
        raise InvalidInput(f'level must be town, village or grid, not "{level}"')
    feats = rules.load_geojson_features(path)
    units = session.scalars(select(OrgUnit).where(OrgUnit.level == level)).all()
    by_code = {u.code: u for u in units}
    by_name = Counter(u.name for u in units)
    by_name_unit = {u.name: u for u in units if by_name[u.name] == 1}
    matched, unmatched = [], []
    for i, (props, geom) in enumerate(feats):
        raw = str(props.get("code") or props.get("adcode") or "").strip()
        code = raw.ljust(12, "0") if raw.isdigit() and len(raw) in (6, 9) else raw
        unit = by_code.get(code) or by_name_unit.get(str(props.get("name", "")).strip())
        if unit is None:
            unmatched.append(
                {
                    "index": i,
                    "code": raw or None,
                    "name": props.get("name"),
                    "reason": "no unit with this code or (unique) name",
                }
            )
            continue
        unit.geom = shapely.to_wkb(geom)
        unit.generated = False
        matched.append(unit.code)
    session.flush()
    invalidate_locator()
    return {
        "file": str(path),
        "level": level,
        "matched": matched,
        "unmatched_features": unmatched,
        "not_covered": sorted(set(by_code) - set(matched)),
    }


def delete_district(session: Session, district6: str) -> None:
    """Remove a district's org units and staff (tests, re-loads)."""
    ids = select(OrgUnit.id).where(OrgUnit.district_code == district6)
    session.execute(delete(Staff).where(Staff.org_unit_id.in_(ids)))
    session.execute(delete(OrgUnit).where(OrgUnit.district_code == district6))
    invalidate_locator()
