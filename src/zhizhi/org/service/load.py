"""Loading districts (加载区县): the shipped departments and boards, Chongqing's district outlines,
Yongchuan in detail with generated town, village and grid polygons, and the demo staff accounts."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from typing import Any

import shapely
import yaml
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from zhizhi.core.config import get_settings
from zhizhi.core.errors import InvalidInput, NotFound
from zhizhi.org import rules
from zhizhi.org.models import OrgUnit, Staff
from zhizhi.org.service.locate import invalidate_locator
from zhizhi.org.service.units import stats

DATA = resources.files("zhizhi.org") / "data"
Progress = Callable[[str, int, int], None]

CENTER_SUFFIX = "CYZX"  # 区城运中心 (district city operation & governance center)
TOWN_CENTER_SUFFIX = "ZHZX"  # 镇街基层治理指挥中心


def _csv(path: Any) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@lru_cache
def departments() -> list[dict[str, str]]:
    """District departments (区级部门) shipped as data: ``[{abbr, name, kind}]``."""
    doc = yaml.safe_load((DATA / "departments.yaml").read_text(encoding="utf-8"))
    return list(doc["departments"] if isinstance(doc, dict) else doc)


@lru_cache
def boards() -> list[dict[str, Any]]:
    """The 4 boards (板块) of a town center with their posts (岗位): ``[{key, name, suffix, posts}]``."""
    doc = yaml.safe_load((DATA / "boards.yaml").read_text(encoding="utf-8"))
    return list(doc["boards"] if isinstance(doc, dict) else doc)


def _no_progress(_label: str, _done: int, _total: int) -> None:
    return None


def is_loaded(session: Session, district6: str) -> bool:
    """True when the district ``district6`` (6-digit code) is already in the database."""
    n = session.scalar(
        select(func.count())
        .select_from(OrgUnit)
        .where(OrgUnit.district_code == district6, OrgUnit.level == "district")
    )
    return (n or 0) > 0


def _chongqing_districts() -> dict[str, tuple[dict[str, str], BaseGeometry]]:
    rows = {r["code"]: r for r in _csv(DATA / "chongqing" / "districts.csv")}
    gj = json.loads((DATA / "chongqing" / "districts_wgs84.geojson").read_text(encoding="utf-8"))
    out = {}
    for feat in gj["features"]:
        code = str(feat["properties"]["adcode"])
        if code in rows:
            geom = shape(feat["geometry"])
            # 6 of the shipped outlines self-intersect (九龙坡, 长寿, 铜梁, 潼南, 忠县, 奉节): repair them
            out[code] = (rows[code], geom if geom.is_valid else shapely.make_valid(geom))
    return out


def available_districts() -> list[str]:
    """6-digit codes of the districts whose data is shipped (Yongchuan in detail, the rest of Chongqing
    at district level)."""
    return sorted(_chongqing_districts())


def load_district(
    session: Session,
    district6: str = "500118",
    progress: Progress | None = None,
    grid_area_m2: float | None = None,
    with_staff: bool = True,
) -> dict[str, Any]:
    """Load one district into the org tree; returns :func:`stats` for it.

    ``district6``: 6-digit GB/T 2260 code. Yongchuan (500118) gets towns, villages, generated grids,
    departments, the 4 boards of each town and demo staff; any other Chongqing district gets its
    district node, boundary, center and departments only (no finer public data is shipped).
    Raises NotFound for a district with no shipped data, InvalidInput if it is already loaded.
    """
    progress = progress or _no_progress
    known = _chongqing_districts()
    if district6 not in known:
        raise NotFound(f'no data shipped for district "{district6}"; known: {", ".join(sorted(known))}')
    if is_loaded(session, district6):
        raise InvalidInput(f'district "{district6}" is already loaded')
    row, boundary = known[district6]
    if district6 == "500118":
        gj = json.loads((DATA / "yongchuan" / "boundary_district_wgs84.geojson").read_text(encoding="utf-8"))
        boundary = shape(gj["features"][0]["geometry"])
    district = OrgUnit(
        code=row["code12"],
        name=row["name"],
        level="district",
        district_code=district6,
        geom=shapely.to_wkb(boundary),
        generated=False,
        attrs={},
    )
    pt = boundary.representative_point()
    district.lon, district.lat = pt.x, pt.y
    session.add(district)
    session.flush()
    center = OrgUnit(
        code=f"{district6}-{CENTER_SUFFIX}",
        name=f"{row['name']}城运中心",
        level="center",
        parent_id=district.id,
        district_code=district6,
        attrs={},
    )
    session.add(center)
    for d in departments():
        session.add(
            OrgUnit(
                code=f"{district6}-{d['abbr']}",
                name=d["name"].replace("永川区", row["name"]),
                level="department",
                parent_id=district.id,
                district_code=district6,
                attrs={"abbr": d["abbr"]},
            )
        )
    session.flush()
    if district6 == "500118":
        _load_yongchuan_detail(
            session, district, boundary, progress, grid_area_m2 or get_settings().grid_target_area_m2
        )
    if with_staff:
        create_demo_staff(session, district6)
    session.flush()
    invalidate_locator()
    return stats(session, district6)


def _load_yongchuan_detail(
    session: Session, district: OrgUnit, boundary: BaseGeometry, progress: Progress, grid_area_m2: float
) -> None:
    base = DATA / "yongchuan"
    divisions = _csv(base / "divisions.csv")
    seats = {r["code"]: (float(r["lon"]), float(r["lat"])) for r in _csv(base / "towns_points.csv")}
    vpoints = {
        r["code"]: (float(r["lon"]), float(r["lat"]))
        for r in _csv(base / "villages_points.csv")
        if r["lon"] and r["lat"]
    }
    urtype = {r["code"]: r["ur_code_2016"] for r in _csv(base / "villages_urcode_2016.csv")}
    towns = [r for r in divisions if r["level"] == "town"]
    villages = defaultdict(list)
    for r in divisions:
        if r["level"] == "village":
            villages[r["parent_code"]].append(r)
    # real village points anchor their town, so each lies in its own generated town and village
    anchors = {
        t["code"]: [vpoints[v["code"]] for v in villages[t["code"]] if v["code"] in vpoints] for t in towns
    }
    town_geoms = rules.town_polygons(
        boundary,
        {t["code"]: seats[t["code"]] for t in towns},
        anchors={k: v for k, v in anchors.items() if v},
    )
    total = len(towns)
    for i, t in enumerate(towns):
        progress("towns", i, total)
        tg = town_geoms[t["code"]]
        lon, lat = seats[t["code"]]
        town = OrgUnit(
            code=t["code"],
            name=t["name"],
            level="town",
            parent_id=district.id,
            district_code=district.district_code,
            town_code=t["code"],
            lon=lon,
            lat=lat,
            geom=shapely.to_wkb(tg),
            generated=True,
            attrs={},
        )
        session.add(town)
        session.flush()
        tc = t["code"]
        center = OrgUnit(
            code=f"{tc}-{TOWN_CENTER_SUFFIX}",
            name=f"{t['name']}基层治理指挥中心",
            level="center",
            parent_id=town.id,
            district_code=district.district_code,
            town_code=tc,
            attrs={},
        )
        session.add(center)
        session.flush()
        for b in boards():
            board = OrgUnit(
                code=f"{tc}-{b['suffix']}",
                name=f"{t['name']}{b['name']}板块",
                level="board",
                parent_id=center.id,
                district_code=district.district_code,
                town_code=tc,
                attrs={"board": b["key"]},
            )
            session.add(board)
            session.flush()
            for j, post in enumerate(b.get("posts", []), start=1):
                session.add(
                    OrgUnit(
                        code=f"{tc}-{b['suffix']}-{j:02d}",
                        name=str(post),
                        level="post",
                        parent_id=board.id,
                        district_code=district.district_code,
                        town_code=tc,
                        attrs={"board": b["key"]},
                    )
                )
        vs = villages[tc]
        vgeoms = rules.village_polygons(tg, [(v["code"], vpoints.get(v["code"])) for v in vs])
        for v in vs:
            vg = vgeoms[v["code"]]
            real_pt = vpoints.get(v["code"])
            rp = vg.representative_point()
            vlon, vlat = real_pt if real_pt else (rp.x, rp.y)
            village = OrgUnit(
                code=v["code"],
                name=v["name"],
                level="village",
                parent_id=town.id,
                district_code=district.district_code,
                town_code=tc,
                urban_rural_type=urtype.get(v["code"]) or None,
                lon=vlon,
                lat=vlat,
                geom=shapely.to_wkb(vg),
                generated=True,
                point_generated=real_pt is None,
                attrs={},
            )
            session.add(village)
            session.flush()
            for k, gg in enumerate(rules.grid_polygons(vg, grid_area_m2), start=1):
                gp = gg.representative_point()
                session.add(
                    OrgUnit(
                        code=f"{v['code']}{k:03d}",
                        name=f"{v['name']}第{k}网格",
                        level="grid",
                        parent_id=village.id,
                        district_code=district.district_code,
                        town_code=tc,
                        lon=gp.x,
                        lat=gp.y,
                        geom=shapely.to_wkb(gg),
                        generated=True,
                        point_generated=True,
                        attrs={},
                    )
                )
        session.flush()
    progress("towns", total, total)


def create_demo_staff(session: Session, district6: str) -> int:
    """Create one demo account per working unit (GENERATED people, names say so): a duty officer and a
    chief at the district center, one handler per department, a duty officer per town center, one post
    holder per board and one grid worker per grid. Returns the number created."""
    units = session.scalars(select(OrgUnit).where(OrgUnit.district_code == district6)).all()
    n = 0

    def add(username: str, name: str, role: str, unit: OrgUnit) -> None:
        nonlocal n
        session.add(Staff(username=username, name=name, role=role, org_unit_id=unit.id))
        n += 1

    for u in units:
        if u.level == "center" and u.town_code is None:
            add(f"{district6}.duty", "城运中心值班员(生成)", "center_duty", u)
            add(f"{district6}.chief", "城运中心值班长(生成)", "center_chief", u)
            add(f"{district6}.leader", "区领导(生成)", "leader", u)
        elif u.level == "center":
            add(f"{u.town_code}.duty", f"{u.name}值班员(生成)", "town_duty", u)
        elif u.level == "department":
            add(f"{u.code}.handler", f"{u.name}处置人(生成)", "dept_handler", u)
        elif u.level == "board":
            add(f"{u.code}.staff", f"{u.name}岗位人员(生成)", "board_staff", u)
        elif u.level == "grid":
            add(f"{u.code}.worker", f"{u.name}网格员(生成)", "grid_worker", u)
    add(
        f"{district6}.system",
        "系统",
        "system",
        next(u for u in units if u.level == "center" and u.town_code is None),
    )
    session.flush()
    return n
