"""Load a GENERATED population (演示人口) into the registers: ``zhizhi demo population``.

Reads the district's org tree (towns, villages with their NBS urban-rural code, grids with their
generated polygons), shares the people among towns (real 2020 census figures where known,
``data/census/town_population.csv``; the rest by village count, urban communities weighted so the
district's urban share is the census one), generates each town with :func:`demo.generate` and
writes it through the registry service in chunks, one transaction per town. Every row is flagged
``generated`` and recorded with the source ``system:demo-generated``.

Writes use the service's set-based ``bulk_upsert_residents`` / ``bulk_upsert_households`` /
``bulk_upsert_houses`` when the service has them (one call per chunk), else the per-row upserts
(correct, but slow: see bench/demo_population.py).
"""

from __future__ import annotations

import csv
import io
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import shapely
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from zhizhi.core import time as ztime
from zhizhi.core.access import Actor
from zhizhi.core.errors import Conflict, InvalidInput
from zhizhi.org.models import OrgUnit
from zhizhi.registry import demo, service
from zhizhi.registry.models import (
    House,
    Household,
    HouseholdVersion,
    HouseVersion,
    RegisterChange,
    RegisterConflict,
    Resident,
    ResidentVersion,
)

CHUNK = 5000
"""Residents per write call (whole households: a chunk never splits one)."""
PREFIXES_PER_TOWN = 4
"""Two-digit sequence prefixes of the citizen IDs per town (towns get disjoint ones: IDs never collide)."""
VILLAGE_SUFFIXES = ("社区居民委员会", "居民委员会", "村民委员会", "委员会")


@dataclass
class LoadResult:
    """What a load wrote: counts, tags per code, seconds, towns loaded, and the write mode
    (``bulk``: the service's set-based upserts; ``per-row``: one upsert per row)."""

    people: int = 0
    households: int = 0
    houses: int = 0
    tags: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0
    towns: list[str] = field(default_factory=list)
    mode: str = "per-row"
    replaced: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "people": self.people, "households": self.households, "houses": self.houses,
            "tags": dict(sorted(self.tags.items())), "seconds": round(self.seconds, 1),
            "towns": len(self.towns), "mode": self.mode, "replaced_people": self.replaced,
            "generated": True, "source": demo.SOURCE,
        }  # fmt: skip


@dataclass
class _Town:
    code: str
    name: str
    index: int
    villages: list[tuple[str, str, bool, int]]  # code, short name, urban, grids
    grids: dict[str, list[tuple[str, Any]]]  # village code → [(grid code, polygon)]


def system_actor(district: str) -> Actor:
    """The platform acting on its own (district scope) for the demo load."""
    return Actor(None, "system", "系统", "system", f"{district}-CYZX", district)


def _short(name: str) -> str:
    for s in VILLAGE_SUFFIXES:
        if name.endswith(s) and len(name) > len(s):
            return name[: -len(s)] + ("社区" if s.startswith("社区") else "")
    return name


def _towns(session: Session, district: str) -> list[_Town]:
    """The towns of ``district`` with their villages and grids (org tree), by code."""
    units = session.execute(
        select(OrgUnit.code, OrgUnit.name, OrgUnit.level, OrgUnit.urban_rural_type, OrgUnit.geom).where(
            OrgUnit.district_code == district, OrgUnit.level.in_(("town", "village", "grid"))
        )
    ).all()
    towns = sorted((u for u in units if u.level == "town"), key=lambda u: u.code)
    if not towns:
        raise InvalidInput(f"district {district}: no towns in the org tree; run `zhizhi org load` first")
    grids: dict[str, list[tuple[str, Any]]] = {}
    for u in units:
        if u.level == "grid":
            grids.setdefault(u.code[:12], []).append((u.code, shapely.from_wkb(u.geom) if u.geom else None))
    out = []
    for i, t in enumerate(towns):
        vs = sorted(
            (u for u in units if u.level == "village" and u.code[:9] == t.code[:9]), key=lambda u: u.code
        )
        villages = []
        for v in vs:
            urban = (v.urban_rural_type or "")[:1] == "1" if v.urban_rural_type else "村" not in v.name
            if grids.get(v.code):
                villages.append((v.code, _short(v.name), urban, len(grids[v.code])))
        if villages:
            out.append(_Town(t.code, t.name, i, villages, grids))
    return out


def _census_towns() -> dict[str, int]:
    """Towns with a 7th-census (2020) resident population in town_population.csv."""
    text = (demo._DIR / "town_population.csv").read_text("utf-8")
    return {
        r["code"]: int(r["population"])
        for r in csv.DictReader(io.StringIO(text))
        if r["is_7th_census_2020"] == "yes" and not r["code"].endswith("000000")
    }


def town_sizes(towns: Sequence[_Town], size: int) -> tuple[dict[str, int], float]:
    """People per town for a district of ``size`` people, and the weight of an urban community
    relative to a rural village. Towns with a 2020 census figure keep their share of the district's
    census population; the others share the rest by their villages, urban ones weighted so that the
    district's urban share equals the census one (facts.csv)."""
    c = demo.census()
    real, urban_share = (
        c.facts["yongchuan_population"],
        c.facts["yongchuan_urban_population"] / c.facts["yongchuan_population"],
    )
    fixed = {
        code: pop * size / real for code, pop in _census_towns().items() if code in {t.code for t in towns}
    }
    rest = [t for t in towns if t.code not in fixed]

    def split(k: float) -> tuple[dict[str, float], float]:
        sizes = dict(fixed)
        wsum = {t.code: sum(k if v[2] else 1.0 for v in t.villages) for t in rest}
        total_w = sum(wsum.values()) or 1.0
        left = max(size - sum(fixed.values()), 0)
        sizes.update({code: left * w / total_w for code, w in wsum.items()})
        urban = 0.0
        for t in towns:
            tw = sum(k if v[2] else 1.0 for v in t.villages)
            urban += sizes[t.code] * sum(k for v in t.villages if v[2]) / tw
        return sizes, urban / max(size, 1)

    lo, hi = 1.0, 1000.0
    for _ in range(60):
        mid = (lo * hi) ** 0.5
        lo, hi = (mid, hi) if split(mid)[1] < urban_share else (lo, mid)
    sizes, _ = split(lo)
    out = {code: int(v) for code, v in sizes.items()}
    for code, _r in sorted(sizes.items(), key=lambda kv: kv[1] - int(kv[1]), reverse=True)[
        : size - sum(out.values())
    ]:
        out[code] += 1
    return out, lo


def _grids(town: _Town, k: float, district_name: str) -> list[demo.Grid]:
    out = []
    for vcode, vname, urban, n in town.villages:
        for gcode, poly in town.grids[vcode]:
            place = f"{district_name}{town.name}{vname}"
            out.append(demo.Grid(gcode, place, urban, poly, (k if urban else 1.0) / n))
    return out


def _existing(session: Session, towns: Iterable[str]) -> int:
    q = (
        select(func.count(func.distinct(Resident.id)))
        .join(ResidentVersion, ResidentVersion.resident_id == Resident.id)
        .where(Resident.generated.is_(True), ResidentVersion.town_code.in_(list(towns)))
    )
    return session.scalar(q) or 0


def generated_people(session: Session) -> int:
    """How many GENERATED residents the registers hold (0: no demo population loaded)."""
    return session.scalar(select(func.count()).select_from(Resident).where(Resident.generated.is_(True))) or 0


def _delete_generated(session: Session, towns: list[str]) -> int:
    """Delete the generated residents, households and houses located in ``towns`` with their history
    (demo data only: real rows are never touched)."""
    n = _existing(session, towns)
    for ident, version, fk, kind in (
        (Resident, ResidentVersion, ResidentVersion.resident_id, "resident"),
        (Household, HouseholdVersion, HouseholdVersion.household_id, "household"),
        (House, HouseVersion, HouseVersion.house_id, "house"),
    ):
        ids = select(fk).where(version.town_code.in_(towns)).where(
            fk.in_(select(ident.id).where(ident.generated.is_(True)))
        ).scalar_subquery()  # fmt: skip
        ids_list = list(session.scalars(select(ident.id).where(ident.id.in_(ids))))
        for part in (ids_list[i : i + 900] for i in range(0, len(ids_list), 900)):
            if kind == "resident":  # households point at their head
                session.execute(delete(HouseholdVersion).where(HouseholdVersion.head_id.in_(part)))
            if kind == "household":
                session.execute(delete(ResidentVersion).where(ResidentVersion.household_id.in_(part)))
            session.execute(delete(version).where(fk.in_(part)))
            for tbl in (RegisterChange, RegisterConflict):
                session.execute(delete(tbl).where(tbl.entity == kind, tbl.entity_id.in_(part)))
            session.execute(delete(ident).where(ident.id.in_(part)))
    session.flush()
    return n


def _write(
    session: Session, actor: Actor, kind: str, rows: list[dict[str, Any]], on: date, bulk: bool
) -> bool:
    """Write ``rows`` of ``kind`` (resident|household|house): one set-based call when ``bulk`` and the
    service has one, else one upsert per row. Returns whether the bulk path was used."""
    many = getattr(service, f"bulk_upsert_{kind}s", None) if bulk else None
    if many is not None:
        many(session, actor, rows, demo.SOURCE, valid_from=on)
        return True
    one = getattr(service, f"upsert_{kind}")
    for row in rows:
        one(session, actor, row, demo.SOURCE, valid_from=on)
    return False


def _chunks(pop: demo.Population, size: int) -> Iterable[tuple[list[Any], list[Any], list[Any]]]:
    """(households, their residents, their houses) in chunks of about ``size`` residents."""
    by_hh: dict[str, list[dict[str, Any]]] = {}
    for r in pop.residents:
        by_hh.setdefault(r["household_number"], []).append(r)
    hh, res, hs = [], [], []
    for h, house in zip(pop.households, pop.houses, strict=True):
        hh.append(h)
        hs.append(house)
        res += by_hh.get(h["number"], [])
        if len(res) >= size:
            yield hh, res, hs
            hh, res, hs = [], [], []
    if hh:
        yield hh, res, hs


def load_population(
    session: Session,
    *,
    size: int | None = None,
    seed: int = 20201101,
    replace: bool = False,
    town: str | None = None,
    on: date | None = None,
    district: str = "500118",
    district_name: str = "重庆市永川区",
    chunk: int = CHUNK,
    bulk: bool = True,
    town_done: Callable[[], None] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LoadResult:
    """Generate and write a synthetic population of ``district`` (GENERATED people, never real).

    size: people in the district (default: Yongchuan's 2020 census population, facts.csv), or in
    ``town`` when one is given (default: that town's share). seed: RNG seed (same seed, same
    people). replace: delete a generated population already in those towns first (else refuse).
    on: the date ages refer to and the values hold from (default: 1 January of this year, Beijing
    time). town_done: called after each town (the CLI commits there: one transaction per town).
    bulk: use the service's set-based upserts when it has them (False: one upsert per row, slow).
    Returns a :class:`LoadResult`. Raises InvalidInput (no org tree, unknown town, bad size),
    Conflict (a generated population exists and ``replace`` is false).
    """
    t0 = time.perf_counter()
    towns = _towns(session, district)
    if size is not None and size < 1:
        raise InvalidInput("--size: give a number of people >= 1")
    on = on or date(ztime.to_local(ztime.utcnow()).year, 1, 1)
    total = int(demo.census().facts["yongchuan_population"])
    sizes, k = town_sizes(towns, total if (size is None or town) else size)
    if town is not None:
        picked = [t for t in towns if t.code == town]
        if not picked:
            raise InvalidInput(f'--town "{town}": not a town of district {district} with grids')
        towns = picked
        sizes = {town: size if size is not None else sizes[town]}
    codes = [t.code for t in towns]
    result = LoadResult(towns=codes)
    existing = _existing(session, codes)
    if existing and not replace:
        raise Conflict(
            f"{existing} generated people are already on the register in {len(codes)} town(s); "
            "use --replace to generate them again"
        )
    if existing:
        result.replaced = _delete_generated(session, codes)
    actor = system_actor(district)
    want = sum(sizes[c] for c in codes)
    for t in towns:
        n = sizes[t.code]
        if n <= 0:
            continue
        pre = range(1 + PREFIXES_PER_TOWN * t.index, 1 + PREFIXES_PER_TOWN * (t.index + 1))
        pop = demo.generate(n, _grids(t, k, district_name), seed=seed * 1000 + t.index, on=on, prefixes=pre)
        for hh, res, hs in _chunks(pop, chunk):
            _write(session, actor, "house", hs, on, bulk)
            _write(session, actor, "household", hh, on, bulk)
            used = _write(session, actor, "resident", res, on, bulk)
            heads = [{"number": h["number"], "head_citizen_id": pop.heads[h["number"]]} for h in hh]
            _write(session, actor, "household", heads, on, bulk)
            result.mode = "bulk" if used else "per-row"
            result.people += len(res)
            if progress:
                progress(result.people, want)
        session.flush()
        result.households += len(pop.households)
        result.houses += len(pop.houses)
        result.tags.update(pop.tag_counts())
        if town_done:
            town_done()
    result.seconds = time.perf_counter() - t0
    return result
